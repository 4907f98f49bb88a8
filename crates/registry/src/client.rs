//! The HTTP side of the registry client: where a host's API lives (TLS by default; plain http only
//! for loopback, `--insecure-registry` hosts or `--registry-endpoint` overrides), authentication
//! (a 401 is answered by fetching a Bearer token for the scope, or by Basic credentials, and a
//! cached token that stops working mid-push is refreshed once; redirects are followed by hand,
//! credentials going only to the registry's own origin: `lamina_support::redirect`), and retries (exponential backoff
//! with jitter on 429, 5xx and connection errors, honouring `Retry-After`, a bounded number of
//! tries, then an error that says what was being done), and timeouts (`--timeout`): connecting,
//! each wait for bytes, and a whole request that falls below 16 KiB/s once the timeout has passed,
//! so a registry that never answers, or trickles, ends in an error instead of a hang.

use super::auth::{self, Challenge, Credential};
pub use super::endpoint::check_endpoint;
use super::endpoint::is_loopback;
use super::reply::{stalled, Reply};
pub use super::stats::{Counting, Stats};
use super::{RegistryError, Transfer};
use lamina_support::retry;
use reqwest::blocking::{Client as Http, RequestBuilder};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct ClientOptions {
    /// Hosts that may be reached over plain http.
    pub insecure: Vec<String>,
    /// Host → base URL (`http://127.0.0.1:5000`): traffic goes there, auth and names stay the host's.
    pub endpoints: HashMap<String, String>,
    /// Explicit credentials per host (`--creds` for the push target; ECR tokens).
    pub creds: HashMap<String, Credential>,
    pub max_tries: u32,
    pub retry_base: Duration,
    /// Blob uploads in flight at once.
    pub parallel: usize,
    /// Upload in PATCH chunks of this size instead of one monolithic PUT.
    pub chunk_size: Option<u64>,
    /// Connect within this, never wait longer than this for a byte, and keep up
    /// `reply::MIN_RATE` after it.
    pub timeout: Duration,
    /// Where a notice the user should see now goes (a long wait a registry asked for); nowhere
    /// by default. The client never writes to a terminal itself.
    pub notice: Option<Notice>,
}

/// A sink for notices, one line each, without a prefix.
pub type Notice = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("insecure", &self.insecure)
            .field("endpoints", &self.endpoints)
            .field("creds", &self.creds)
            .field("max_tries", &self.max_tries)
            .field("retry_base", &self.retry_base)
            .field("parallel", &self.parallel)
            .field("chunk_size", &self.chunk_size)
            .field("timeout", &self.timeout)
            .field("notice", &self.notice.is_some())
            .finish()
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            insecure: Vec::new(),
            endpoints: HashMap::new(),
            creds: HashMap::new(),
            max_tries: 5,
            retry_base: Duration::from_millis(250),
            parallel: 4,
            chunk_size: None,
            timeout: Duration::from_secs(60),
            notice: None,
        }
    }
}

/// What a request may do in a repository.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub repository: String,
    pub push: bool,
    /// Another repository read by a cross-repository mount.
    pub mount_from: Option<String>,
}

impl Scope {
    pub fn pull(repository: &str) -> Scope {
        Scope {
            repository: repository.into(),
            push: false,
            mount_from: None,
        }
    }
    pub fn push(repository: &str) -> Scope {
        Scope {
            repository: repository.into(),
            push: true,
            mount_from: None,
        }
    }
    /// The token scopes, space-separated (the cache key).
    pub fn as_str(&self) -> String {
        self.scopes().join(" ")
    }
    pub fn scopes(&self) -> Vec<String> {
        let mut v = vec![format!(
            "repository:{}:{}",
            self.repository,
            if self.push { "pull,push" } else { "pull" }
        )];
        if let Some(from) = &self.mount_from {
            v.push(format!("repository:{from}:pull"));
        }
        v
    }
}

pub struct Client {
    http: Http,
    pub opts: ClientOptions,
    tokens: Mutex<HashMap<(String, String), String>>,
    basic_hosts: Mutex<HashSet<String>>,
    pub stats: Stats,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, RegistryError> {
        let http = Http::builder()
            .connect_timeout(opts.timeout)
            // Until the answer's headers, and then for each read of its body.
            .timeout(opts.timeout)
            .user_agent(concat!("lamina/", env!("CARGO_PKG_VERSION")))
            .redirect(lamina_support::redirect::policy())
            .build()
            .map_err(|e| RegistryError::Http {
                what: "starting the HTTP client".into(),
                source: Transfer::request(e),
            })?;
        Ok(Client {
            http,
            opts,
            tokens: Mutex::new(HashMap::new()),
            basic_hosts: Mutex::new(HashSet::new()),
            stats: Stats::default(),
        })
    }

    /// `scheme://address` for a host.
    pub fn base_url(&self, host: &str) -> String {
        if let Some(e) = self.opts.endpoints.get(host) {
            return e.trim_end_matches('/').to_string();
        }
        if host == super::reference::DOCKER_HUB {
            return "https://registry-1.docker.io".into();
        }
        if is_loopback(host) || self.opts.insecure.iter().any(|h| h == host) {
            format!("http://{host}")
        } else {
            format!("https://{host}")
        }
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("{}{path}", self.base_url(host))
    }

    fn creds(&self, host: &str) -> Option<Credential> {
        self.opts
            .creds
            .get(host)
            .cloned()
            .or_else(|| auth::lookup(host))
    }

    /// Adds what we know to authenticate with; says whether Basic credentials were sent.
    fn authorize(&self, rb: RequestBuilder, host: &str, scope: &Scope) -> (RequestBuilder, bool) {
        if let Some(t) = self
            .tokens
            .lock()
            .expect("lock")
            .get(&(host.to_string(), scope.as_str()))
        {
            return (rb.header(AUTHORIZATION, format!("Bearer {t}")), false);
        }
        if self.basic_hosts.lock().expect("lock").contains(host) {
            if let Some(c) = self.creds(host) {
                return (rb.header(AUTHORIZATION, c.basic()), true);
            }
        }
        (rb, false)
    }

    /// Answers a 401: learns Basic, or fetches a Bearer token for `scope`.
    fn answer_challenge(
        &self,
        what: &str,
        host: &str,
        scope: &Scope,
        header: Option<&str>,
        sent_basic: bool,
    ) -> Result<(), RegistryError> {
        let unauthorized = |detail: String| RegistryError::Unauthorized {
            what: what.into(),
            host: host.into(),
            detail,
        };
        let challenge = header.and_then(auth::parse_challenge).ok_or_else(|| {
            unauthorized("the registry sent no usable WWW-Authenticate challenge".into())
        })?;
        match challenge {
            Challenge::Basic => {
                if self.creds(host).is_none() {
                    let problems = auth::problems(host);
                    return Err(unauthorized(if problems.is_empty() {
                        "the registry wants a user name and password and none were found".into()
                    } else {
                        format!(
                            "the registry wants a user name and password and none could be read: {}",
                            problems.join("; ")
                        )
                    }));
                }
                if sent_basic {
                    return Err(unauthorized("the registry refused the credentials".into()));
                }
                self.basic_hosts
                    .lock()
                    .expect("lock")
                    .insert(host.to_string());
                Ok(())
            }
            Challenge::Bearer {
                realm,
                service,
                scope: _,
            } => {
                let usable = reqwest::Url::parse(&realm)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
                if !usable {
                    return Err(unauthorized(format!(
                        "the registry's Bearer challenge names no usable token service (realm \"{realm}\")"
                    )));
                }
                let mut rb = self.http.get(&realm);
                for sc in scope.scopes() {
                    rb = rb.query(&[("scope", sc)]);
                }
                if let Some(s) = service {
                    rb = rb.query(&[("service", s)]);
                }
                if let Some(c) = self.creds(host) {
                    rb = rb.header(AUTHORIZATION, c.basic());
                }
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let start = Instant::now();
                // The credentials go to the realm the registry named, never to where it redirects.
                let resp = self
                    .follow(rb, &|rb, _, _| rb)
                    .map_err(|e| RegistryError::Http {
                        what: format!("getting a token from {realm}"),
                        source: if e.is_timeout() {
                            stalled(&realm, self.opts.timeout)
                        } else {
                            Transfer::request(e)
                        },
                    })?;
                let resp = Reply::new(resp, start, &realm, self.opts.timeout);
                if !resp.status().is_success() {
                    return Err(unauthorized(format!(
                        "the token service {realm} answered {}",
                        resp.status()
                    )));
                }
                let mut body = Vec::new();
                resp.take(1 << 20)
                    .read_to_end(&mut body)
                    .map_err(|e| unauthorized(format!("reading the token from {realm}: {e}")))?;
                let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                    unauthorized(format!("the token service {realm} sent no JSON: {e}"))
                })?;
                let token = v["token"]
                    .as_str()
                    .or_else(|| v["access_token"].as_str())
                    .ok_or_else(|| {
                        unauthorized(format!("the token service {realm} sent no token"))
                    })?;
                self.tokens
                    .lock()
                    .expect("lock")
                    .insert((host.to_string(), scope.as_str()), token.to_string());
                Ok(())
            }
        }
    }

    /// Sends `rb` and follows its redirects (`lamina_support::redirect`), each hop counted and given only
    /// what `authorize` adds for it.
    fn follow(
        &self,
        rb: RequestBuilder,
        authorize: &dyn Fn(RequestBuilder, &reqwest::Url, bool) -> RequestBuilder,
    ) -> reqwest::Result<reqwest::blocking::Response> {
        let first = rb.build()?;
        let hop = |rb, url: &reqwest::Url, same| {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            Ok::<_, std::convert::Infallible>(authorize(rb, url, same))
        };
        lamina_support::redirect::send(&self.http, first, &hop).map_err(|e| match e {
            lamina_support::redirect::Failed::Send(e) => e,
            lamina_support::redirect::Failed::Authorize(never) => match never {},
        })
    }

    /// Sends a request built by `make` (called again for every try), with auth and retries. Returns
    /// any response that is not 401/429/5xx; the caller judges the status.
    pub fn send(
        &self,
        what: &str,
        host: &str,
        scope: &Scope,
        make: &dyn Fn(&Http) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Reply, RegistryError> {
        self.exchange(what, host, scope, make, self.opts.max_tries)
    }

    /// Like `send`, but a transport error or a 429/5xx ends it at once (auth is still answered):
    /// for requests whose retry must restart a larger sequence (an upload session).
    pub fn send_once(
        &self,
        what: &str,
        host: &str,
        scope: &Scope,
        make: &dyn Fn(&Http) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Reply, RegistryError> {
        self.exchange(what, host, scope, make, 1)
    }

    fn exchange(
        &self,
        what: &str,
        host: &str,
        scope: &Scope,
        make: &dyn Fn(&Http) -> Result<RequestBuilder, RegistryError>,
        max_tries: u32,
    ) -> Result<Reply, RegistryError> {
        let after = |tries: u32| {
            if tries > 1 {
                format!("{what} (after {tries} tries)")
            } else {
                what.to_string()
            }
        };
        let mut tries = 0;
        let mut auth_rounds = 0;
        let mut timeouts = 0;
        loop {
            tries += 1;
            let (rb, sent_basic) = self.authorize(make(&self.http)?, host, scope);
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let start = Instant::now();
            // A hop back to the registry is authorized as the registry; a blob store's is not.
            let hop = |rb, _: &reqwest::Url, same| match same {
                true => self.authorize(rb, host, scope).0,
                false => rb,
            };
            let delay = match self.follow(rb, &hop) {
                // A registry that timed out twice is not answering: say so rather than wait more.
                Err(e) if e.is_timeout() && (timeouts >= 1 || tries >= max_tries) => {
                    return Err(RegistryError::Http {
                        what: after(tries),
                        source: stalled(host, self.opts.timeout),
                    });
                }
                Err(e) => {
                    timeouts += u32::from(e.is_timeout());
                    let text = lamina_support::diagnostic::chain(&e);
                    // A name that does not resolve will not resolve on the next try either.
                    let dns =
                        text.contains("dns error") || text.contains("failed to lookup address");
                    if dns || tries >= max_tries {
                        return Err(if dns || e.is_connect() {
                            RegistryError::Unreachable {
                                what: after(tries),
                                host: host.to_string(),
                                source: e.without_url(),
                                dns,
                            }
                        } else {
                            RegistryError::Http {
                                what: after(tries),
                                source: Transfer::request(e),
                            }
                        });
                    }
                    None
                }
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                    auth_rounds += 1;
                    if auth_rounds > 2 {
                        return Err(RegistryError::Unauthorized {
                            what: what.into(),
                            host: host.into(),
                            detail: "still unauthorized after authenticating".into(),
                        });
                    }
                    // A token that worked before may have expired: forget it and ask again.
                    self.tokens
                        .lock()
                        .expect("lock")
                        .remove(&(host.to_string(), scope.as_str()));
                    let header = resp
                        .headers()
                        .get(WWW_AUTHENTICATE)
                        .and_then(|h| h.to_str().ok())
                        .map(str::to_string);
                    self.answer_challenge(what, host, scope, header.as_deref(), sent_basic)?;
                    tries -= 1;
                    continue;
                }
                Ok(resp) if retry::retryable_status(resp.status()) => {
                    if tries >= max_tries {
                        let resp = Reply::new(resp, start, host, self.opts.timeout);
                        return Err(RegistryError::from_response(&after(tries), resp));
                    }
                    let wait = retry::retry_after(&resp);
                    let notice = self.opts.notice.as_ref();
                    if let Some((w, notice)) = wait.filter(|w| w.as_secs() >= 2).zip(notice) {
                        // A long wait is announced.
                        notice(&format!(
                            "{host} answered {} and asks to wait: waiting {} s{} before try {} of {max_tries}",
                            resp.status(),
                            w.as_secs(),
                            if w.as_secs() >= retry::MAX_RETRY_AFTER { " (lamina's limit)" } else { "" },
                            tries + 1
                        ));
                    }
                    wait
                }
                Ok(resp) => return Ok(Reply::new(resp, start, host, self.opts.timeout)),
            };
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let policy = retry::Policy {
                max_tries,
                base: self.opts.retry_base,
            };
            std::thread::sleep(policy.delay(tries, delay));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_where_allowed() {
        let mut opts = ClientOptions::default();
        opts.insecure.push("registry.internal:5000".into());
        opts.endpoints.insert(
            "123.dkr.ecr.us-east-1.amazonaws.com".into(),
            "http://127.0.0.1:5000/".into(),
        );
        let c = Client::new(opts).unwrap();
        assert_eq!(c.base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(c.base_url("localhost"), "http://localhost");
        assert_eq!(
            c.base_url("registry.internal:5000"),
            "http://registry.internal:5000"
        );
        assert_eq!(c.base_url("public.ecr.aws"), "https://public.ecr.aws");
        assert_eq!(
            c.base_url("123.dkr.ecr.us-east-1.amazonaws.com"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(Scope::push("a/b").as_str(), "repository:a/b:pull,push");
    }

    #[test]
    fn only_literal_loopback_addresses_are_loopback() {
        let c = Client::new(ClientOptions::default()).unwrap();
        for remote in [
            "127.attacker.example",
            "127.0.0.1.nip.io:5000",
            "127.0.0.1.example.com",
            "localhost.example.com",
            "127.0.0.256:5000",
            "[::2]:5000",
        ] {
            assert_eq!(
                c.base_url(remote),
                format!("https://{remote}"),
                "{remote} is not loopback"
            );
        }
        for local in [
            "127.0.0.1",
            "127.1.2.3:5000",
            "localhost:5000",
            "[::1]",
            "[::1]:5000",
        ] {
            assert_eq!(c.base_url(local), format!("http://{local}"), "{local}");
        }
    }
}
