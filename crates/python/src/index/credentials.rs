//! Index credentials as users already keep them: user info in an index URL
//! (`https://user:pass@host/simple`), `~/.netrc` (or `$NETRC`), and whatever else a caller plugs in
//! (CodeArtifact tokens come from the CLI's wiring, not from here). Secrets never reach output:
//! `Credential`'s Debug is redacted and `redact` strips passwords and query strings from URLs
//! before they appear in a message.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Url;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({}, <redacted>)", self.username)
    }
}

impl Credential {
    /// The `Authorization: Basic …` value.
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// Where credentials for a host come from, beyond a URL's own user info.
pub trait Source: Send + Sync {
    /// Credentials for `host` (`name` or `name:port`), if any. `Err` when a lookup that applies
    /// failed (e.g. an AWS call), as a message without secrets.
    fn lookup(&self, host: &str) -> Result<Option<Credential>, String>;
}

/// `host` or `host:port` of a URL, as credentials and endpoint overrides are keyed.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// The user info of a URL, percent-decoded (a user with an empty password is kept, as pip does).
pub fn userinfo(url: &Url) -> Option<Credential> {
    if url.username().is_empty() {
        return None;
    }
    Some(Credential {
        username: crate::lock::percent_decode(url.username()),
        password: crate::lock::percent_decode(url.password().unwrap_or("")),
    })
}

/// A URL for messages: no password, no query string (signed URLs carry secrets there). A user
/// name with no password is a token (`https://ghp_…@host/`) and is hidden too, as pip hides it.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            } else if !u.username().is_empty() {
                let _ = u.set_username("***");
            }
            if u.query().is_some() {
                u.set_query(None);
            }
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => match url.rsplit_once('@') {
            Some((_, rest)) => format!("***@{rest}"),
            None => url.split('?').next().unwrap_or(url).to_string(),
        },
    }
}

/// `text` with the user info of every URL in it (`scheme://user:pass@host`) replaced by `***`: for
/// messages that quote a line which may hold a URL (`-e git+https://tok:pw@host/x.git`).
pub fn hide_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || "/?#()'\"".contains(c))
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `~/.netrc` entries: `machine NAME login USER password PASS`, and `default`.
#[derive(Clone, Default)]
pub struct Netrc {
    machines: HashMap<String, Credential>,
    default: Option<Credential>,
}

impl Netrc {
    /// `$NETRC`, else `~/.netrc`; an absent or unreadable file is no credentials.
    pub fn load() -> Netrc {
        let path = lamina_support::env::EnvVars::NETRC
            .raw_os()
            .map(PathBuf::from)
            .or_else(|| {
                lamina_support::env::EnvVars::HOME
                    .get_os()
                    .map(|h| PathBuf::from(h).join(".netrc"))
            });
        path.and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| Netrc::parse(&t))
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> Netrc {
        let mut out = Netrc::default();
        let mut toks = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(str::split_whitespace);
        let mut current: Option<Option<String>> = None; // Some(None) = default
        let (mut login, mut password) = (String::new(), String::new());
        let flush = |out: &mut Netrc, cur: &Option<Option<String>>, l: &str, p: &str| {
            if let Some(m) = cur {
                let c = Credential {
                    username: l.to_string(),
                    password: p.to_string(),
                };
                match m {
                    Some(name) => {
                        out.machines.entry(name.clone()).or_insert(c);
                    }
                    None => out.default = out.default.take().or(Some(c)),
                }
            }
        };
        while let Some(t) = toks.next() {
            match t {
                "machine" | "default" => {
                    flush(&mut out, &current, &login, &password);
                    login.clear();
                    password.clear();
                    current = Some(if t == "machine" {
                        toks.next().map(str::to_string)
                    } else {
                        None
                    });
                }
                "login" => login = toks.next().unwrap_or("").to_string(),
                "password" => password = toks.next().unwrap_or("").to_string(),
                "account" => {
                    toks.next();
                }
                "macdef" => break,
                _ => {}
            }
        }
        flush(&mut out, &current, &login, &password);
        out
    }

    /// The entry for `host` (`name:port` tries the bare name too), else `default`.
    pub fn lookup(&self, host: &str) -> Option<Credential> {
        let bare = host
            .rsplit_once(':')
            .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        self.machines
            .get(host)
            .or_else(|| self.machines.get(bare))
            .or(self.default.as_ref())
            .cloned()
    }
}

impl Source for Netrc {
    fn lookup(&self, host: &str) -> Result<Option<Credential>, String> {
        Ok(Netrc::lookup(self, host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_entries() {
        let n = Netrc::parse(
            "# comment\nmachine 127.0.0.1 login alice password s3cret\nmachine idx.example\n  login bob\n  password p w\ndefault login anon password x\n",
        );
        let c = n.lookup("127.0.0.1:8080").unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "s3cret")
        );
        assert_eq!(n.lookup("idx.example").unwrap().username, "bob");
        assert_eq!(n.lookup("other").unwrap().username, "anon");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn urls() {
        let u = Url::parse(
            "https://aws:tok%2Fen@d-1.d.codeartifact.us-east-1.amazonaws.com:8443/pypi/r/simple/",
        )
        .unwrap();
        let c = userinfo(&u).unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("aws", "tok/en")
        );
        assert_eq!(
            host_key(&u),
            "d-1.d.codeartifact.us-east-1.amazonaws.com:8443"
        );
        let r = redact("https://aws:tok@h/x.whl?X-Amz-Signature=abc#sha256=1");
        assert_eq!(r, "https://aws:***@h/x.whl");
        assert_eq!(redact("not a url user:pw@h"), "***@h");
        assert_eq!(redact("http://ghp_tok@h/simple/"), "http://***@h/simple/");
        assert_eq!(
            hide_userinfo("-e git+https://tok:pw@h/x.git#egg=x, (+https://t@h/y) http://h/@z"),
            "-e git+https://***@h/x.git#egg=x, (+https://***@h/y) http://h/@z"
        );
        assert_eq!(redact("http://ghp_tok:@h/x.whl"), "http://***@h/x.whl");
    }
}
