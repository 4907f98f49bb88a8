//! Redirects, followed by hand. reqwest's own policy keeps `Authorization` on every hop that stays
//! on one host, so a blob store or CDN that redirects once to itself and then again within itself
//! would get the credentials meant for the first host. Both HTTP clients (index and registry) turn
//! automatic redirects off and send every hop as a new request: it carries the first request's
//! headers except credentials and cookies, and the caller adds only what belongs to the hop's own
//! URL. Only GET and HEAD are followed; any other answer is handed back as it is.

use reqwest::blocking::{Client, Request, RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, PROXY_AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};

/// Redirects followed for one request; the answer after that many is returned as it is.
pub const MAX_HOPS: usize = 10;

/// The redirect policy of both clients: none (`send` follows them).
pub fn policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::none()
}

/// Why a request did not get an answer.
#[derive(Debug)]
pub enum Failed<E> {
    /// Sending it (or a hop) failed on the way.
    Send(reqwest::Error),
    /// The caller could not say what credentials a hop gets.
    Authorize(E),
}

/// Whether two URLs have the same scheme, host and port: credentials for one belong to the other.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Where a redirect answer to a request for `from` points: an http(s) URL, without user info.
fn location(from: &Url, resp: &Response) -> Option<Url> {
    let redirect = matches!(
        resp.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    );
    if !redirect {
        return None;
    }
    let value = resp.headers().get(LOCATION)?.to_str().ok()?;
    let mut next = from.join(value).ok()?;
    if !matches!(next.scheme(), "http" | "https") || next.host_str().is_none() {
        return None;
    }
    let _ = next.set_username("");
    let _ = next.set_password(None);
    Some(next)
}

/// Sends `first` (credentials already on it) and follows its redirects. For each hop,
/// `authorize(builder, url, same_origin)` adds the credentials of that URL (`same_origin`: it has
/// the first request's origin); nothing else from the first request's credentials is carried.
pub fn send<E>(
    http: &Client,
    first: Request,
    authorize: &dyn Fn(RequestBuilder, &Url, bool) -> Result<RequestBuilder, E>,
) -> Result<Response, Failed<E>> {
    let method = first.method().clone();
    let origin = first.url().clone();
    let mut headers = first.headers().clone();
    for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
        headers.remove(name);
    }
    let mut url = origin.clone();
    let mut resp = http.execute(first).map_err(Failed::Send)?;
    if method != Method::GET && method != Method::HEAD {
        return Ok(resp);
    }
    for _ in 0..MAX_HOPS {
        let Some(next) = location(&url, &resp) else {
            break;
        };
        let rb = http
            .request(method.clone(), next.clone())
            .headers(headers.clone());
        let rb = authorize(rb, &next, same_origin(&next, &origin)).map_err(Failed::Authorize)?;
        resp = rb.send().map_err(Failed::Send)?;
        url = next;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_origin(&u("http://h/a"), &u("http://h:80/b")));
        assert!(!same_origin(&u("http://h:1/a"), &u("http://h:2/a")));
        assert!(!same_origin(&u("https://h/a"), &u("http://h/a")));
        assert!(!same_origin(&u("http://h/a"), &u("http://g/a")));
    }
}
