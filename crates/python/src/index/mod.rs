//! A package-index client (the simple repository API) that knows nothing of images: a project's
//! files from a JSON page (PEP 691) or its HTML fallback (PEP 503), and file downloads streamed to a
//! temporary file while their sha256 and size are checked. Credentials are sent as Basic auth to
//! the host they belong to (URL user info, then a `credentials::Source`: netrc, CodeArtifact…),
//! on every hop of a redirect too (`lamina_support::redirect`: never the first host's to another).
//! Requests are retried with backoff on 429, 5xx and dropped connections (`lamina_support::retry`); every
//! request is counted. `LAMINA_INDEX_ENDPOINTS=HOST=URL,…` sends a host's traffic elsewhere while
//! credentials stay the host's (tests, proxies).

pub mod credentials;
mod error;
pub mod simple;

pub use credentials::{hide_userinfo, redact, Credential, Netrc};
pub use error::IndexError;
pub use simple::IndexFile;

use credentials::{host_key, userinfo};
use lamina_support::retry;
use reqwest::blocking::{Client as Http, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub struct Client {
    http: Http,
    policy: retry::Policy,
    endpoints: HashMap<String, String>,
    source: Box<dyn credentials::Source>,
    known: Mutex<HashMap<String, Option<Credential>>>,
    /// Requests sent (every try), for the report and tests.
    pub requests: AtomicU64,
    /// Wheel bytes downloaded.
    pub bytes: AtomicU64,
}

/// What went wrong with one try.
/// A download whose connection broke partway.
#[derive(Debug, thiserror::Error)]
#[error("the connection broke after {count} bytes")]
struct Broke {
    count: u64,
    source: std::io::Error,
}

enum Failure {
    /// Another try may help; the server's `Retry-After` if any.
    Retry(IndexError, Option<Duration>),
    Fatal(IndexError),
}

fn transport(what: &str, e: reqwest::Error) -> IndexError {
    // reqwest puts the URL in its messages; ours is already in `what`, redacted.
    let e = e.without_url();
    IndexError::Http {
        what: what.into(),
        source: Box::new(e),
    }
}

impl Client {
    pub fn new(
        source: Box<dyn credentials::Source>,
        policy: retry::Policy,
    ) -> Result<Client, IndexError> {
        let http = Http::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(None)
            .user_agent(concat!("lamina/", env!("CARGO_PKG_VERSION")))
            .redirect(lamina_support::redirect::policy())
            .build()
            .map_err(|e| IndexError::Http {
                what: "starting the HTTP client".into(),
                source: Box::new(e),
            })?;
        let mut endpoints = HashMap::new();
        if let Some(env) = lamina_support::env::EnvVars::INDEX_ENDPOINTS.get() {
            for pair in env.split(',').filter(|p| !p.trim().is_empty()) {
                if let Some((h, u)) = pair.trim().split_once('=') {
                    endpoints.insert(h.to_string(), u.trim_end_matches('/').to_string());
                }
            }
        }
        Ok(Client {
            http,
            policy,
            endpoints,
            source,
            known: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// Remembers the user info of an index URL for its host, so that file URLs on that host
    /// (and later runs' URLs stored without credentials) get them too.
    pub fn remember_url_credentials(&self, url: &str) {
        if let Some((u, c)) = Url::parse(url)
            .ok()
            .and_then(|u| userinfo(&u).map(|c| (u, c)))
        {
            self.known
                .lock()
                .expect("lock")
                .insert(host_key(&u), Some(c));
        }
    }

    fn credential(&self, url: &Url) -> Result<Option<Credential>, IndexError> {
        if let Some(c) = userinfo(url) {
            return Ok(Some(c));
        }
        let host = host_key(url);
        // Held during the lookup: parallel requests to one host ask the source once.
        let mut known = self.known.lock().expect("lock");
        if let Some(c) = known.get(&host) {
            return Ok(c.clone());
        }
        let c = self
            .source
            .lookup(&host)
            .map_err(|detail| IndexError::Credentials {
                host: host.clone(),
                detail,
            })?;
        known.insert(host, c.clone());
        Ok(c)
    }

    /// One GET, without retries: the URL rewritten for an endpoint override, credentials added.
    fn get_once(&self, what: &str, url: &str, accept: &str) -> Result<(Response, bool), Failure> {
        let fatal = |detail: String| {
            Failure::Fatal(IndexError::Http {
                what: what.into(),
                source: detail.into(),
            })
        };
        let parsed = Url::parse(url).map_err(|e| fatal(format!("not a URL: {e}")))?;
        let cred = self.credential(&parsed).map_err(Failure::Fatal)?;
        let mut target = parsed.clone();
        let _ = target.set_username("");
        let _ = target.set_password(None);
        target.set_fragment(None);
        if let Some(e) = self.endpoints.get(&host_key(&parsed)) {
            let mut moved = Url::parse(e).map_err(|e| fatal(e.to_string()))?;
            moved.set_path(target.path());
            moved.set_query(target.query());
            target = moved;
        }
        let mut rb = self.http.get(target).header(ACCEPT, accept);
        if let Some(c) = &cred {
            rb = rb.header(AUTHORIZATION, c.basic());
        }
        let first = rb.build().map_err(|e| fatal(e.without_url().to_string()))?;
        // Each hop of a redirect gets the credentials of its own host, never the first one's
        // (a hop back to the first request's origin is that host's, whatever its name there).
        let sent = std::cell::Cell::new((host_key(&parsed), cred.is_some()));
        let hop = |rb: reqwest::blocking::RequestBuilder, url: &Url, same: bool| {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let c = match same {
                true => cred.clone(),
                false => self.credential(url)?,
            };
            sent.set((
                if same {
                    host_key(&parsed)
                } else {
                    host_key(url)
                },
                c.is_some(),
            ));
            Ok(match c {
                Some(c) => rb.header(AUTHORIZATION, c.basic()),
                None => rb,
            })
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp =
            lamina_support::redirect::send(&self.http, first, &hop).map_err(|e| match e {
                lamina_support::redirect::Failed::Send(e) => {
                    Failure::Retry(transport(what, e), None)
                }
                lamina_support::redirect::Failed::Authorize(e) => Failure::Fatal(e),
            })?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let (host, sent) = sent.take();
            return Err(Failure::Fatal(IndexError::Unauthorized {
                what: what.into(),
                host,
                sent,
            }));
        }
        if retry::retryable_status(status) {
            let after = retry::retry_after(&resp);
            return Err(Failure::Retry(
                IndexError::Status {
                    what: what.into(),
                    status: status.as_u16(),
                },
                after,
            ));
        }
        Ok((resp, cred.is_some()))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the tries run out.
    fn with_retries<T>(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, IndexError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt() {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(e, after)) => {
                    if tries >= self.policy.max_tries {
                        return Err(match e {
                            IndexError::Http { source, .. } => IndexError::Http {
                                what: format!("{what} (after {tries} tries)"),
                                source,
                            },
                            IndexError::Status { status, .. } => IndexError::Status {
                                what: format!("{what} (after {tries} tries)"),
                                status,
                            },
                            other => other,
                        });
                    }
                    std::thread::sleep(self.policy.delay(tries, after));
                }
            }
        }
    }

    /// The files of `project` on the index at `index_url`; `None` if the index does not have it.
    pub fn project_files(
        &self,
        index_url: &str,
        project: &str,
    ) -> Result<Option<Vec<IndexFile>>, IndexError> {
        let base = format!(
            "{}/{}/",
            index_url.trim_end_matches('/'),
            crate::normalize_name(project)
        );
        let what = format!("reading {} from {}", project, redact(&base));
        let page = |detail: String| IndexError::Page {
            what: what.clone(),
            detail,
        };
        let base_url = Url::parse(&base).map_err(|e| page(format!("not a URL: {e}")))?;
        let mut accept = simple::ACCEPT;
        loop {
            let got = self.with_retries(&what, || {
                let (resp, _) = self.get_once(&what, &base, accept)?;
                let status = resp.status();
                let ctype = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let final_url = resp.url().clone();
                let mut body = Vec::new();
                if status.is_success() {
                    resp.take(64 << 20).read_to_end(&mut body).map_err(|e| {
                        Failure::Retry(
                            IndexError::Http {
                                what: what.clone(),
                                source: Box::new(e),
                            },
                            None,
                        )
                    })?;
                }
                Ok((status, ctype, final_url, body))
            })?;
            let (status, ctype, final_url, body) = got;
            // Relative links resolve against where the page really is (after redirects), keeping
            // the configured host so that credentials and endpoint overrides still apply.
            let mut resolve = base_url.clone();
            if !self.endpoints.contains_key(&host_key(&base_url))
                && final_url.host_str() == base_url.host_str()
            {
                resolve.set_path(final_url.path());
            }
            match status {
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::NOT_ACCEPTABLE if accept != "text/html" => {
                    accept = "text/html";
                    continue;
                }
                s if !s.is_success() => {
                    return Err(IndexError::Status {
                        what,
                        status: s.as_u16(),
                    })
                }
                _ => {}
            }
            let files = if ctype.starts_with(simple::JSON) {
                simple::parse_json(&resolve, &body)
            } else {
                simple::parse_html(&resolve, &String::from_utf8_lossy(&body))
                    .and_then(|files| simple::not_misread(files, &ctype, &body))
            }
            .map_err(page)?;
            return Ok(Some(files));
        }
    }

    /// Downloads `url` into a new temporary file in `tmp_dir`, checking size and sha256 while it
    /// streams. On a mismatch the partial file is deleted and nothing is returned. `what` names
    /// the file and package for messages.
    pub fn download(
        &self,
        what: &str,
        url: &str,
        sha256: &str,
        size: Option<u64>,
        tmp_dir: &Path,
    ) -> Result<tempfile::NamedTempFile, IndexError> {
        let what = format!("downloading {what} from {}", redact(url));
        let io = |e: std::io::Error| {
            Failure::Fatal(IndexError::Io {
                path: tmp_dir.into(),
                source: e,
            })
        };
        self.with_retries(&what, || {
            let (resp, _) = self.get_once(&what, url, "*/*")?;
            let status = resp.status();
            if !status.is_success() {
                return Err(Failure::Fatal(IndexError::Status {
                    what: what.clone(),
                    status: status.as_u16(),
                }));
            }
            let mut tmp = tempfile::NamedTempFile::new_in(tmp_dir).map_err(io)?;
            let mut hasher = Sha256::new();
            let mut count = 0u64;
            let mut reader = resp;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        return Err(Failure::Retry(
                            IndexError::Http {
                                what: what.clone(),
                                source: Box::new(Broke { count, source: e }),
                            },
                            None,
                        ))
                    }
                };
                count += n as u64;
                self.bytes.fetch_add(n as u64, Ordering::Relaxed);
                if let Some(expected) = size.filter(|s| count > *s) {
                    return Err(Failure::Fatal(IndexError::Size {
                        what: what.clone(),
                        expected,
                        got: count,
                    }));
                }
                hasher.update(&buf[..n]);
                tmp.write_all(&buf[..n]).map_err(io)?;
            }
            if let Some(expected) = size.filter(|s| count != *s) {
                return Err(Failure::Fatal(IndexError::Size {
                    what: what.clone(),
                    expected,
                    got: count,
                }));
            }
            let got = hex::encode(hasher.finalize());
            if got != sha256 {
                return Err(Failure::Fatal(IndexError::Hash {
                    what: what.clone(),
                    expected: sha256.into(),
                    got,
                }));
            }
            tmp.as_file().sync_all().map_err(io)?;
            Ok(tmp)
        })
    }
}
