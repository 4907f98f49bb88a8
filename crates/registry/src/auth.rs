//! Registry credentials and challenges. `WWW-Authenticate` is parsed into Basic or Bearer
//! (realm/service/scope). Credentials come from, in order: explicit `--creds` for the push target,
//! `$REGISTRY_AUTH_FILE`, podman's `$XDG_RUNTIME_DIR/containers/auth.json`, and Docker's
//! `config.json` (`credHelpers`, `auths`, `credsStore`, running `docker-credential-*` helpers).
//! Secrets are never printed: `Credential`'s Debug output is redacted.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub secret: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({}, <redacted>)", self.username)
    }
}

impl Credential {
    /// `USER:PASS`.
    pub fn parse(s: &str) -> Result<Credential, String> {
        match s.split_once(':') {
            Some((u, p)) if !u.is_empty() => Ok(Credential {
                username: u.into(),
                secret: p.into(),
            }),
            Some(_) => Err("the user name before ':' is empty".into()),
            None => Err("is not USER:PASSWORD: it has no ':'".into()),
        }
    }

    /// The `Authorization: Basic …` value.
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.secret))
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        }),
        _ => None,
    }
}

/// Files that may hold credentials, most specific first.
/// A variable set but empty counts as unset (never a path relative to the current directory).
fn auth_files() -> Vec<PathBuf> {
    use lamina_support::env::EnvVars;
    let mut files = Vec::new();
    if let Some(f) = EnvVars::REGISTRY_AUTH_FILE.get_os() {
        files.push(PathBuf::from(f));
    }
    if let Some(d) = EnvVars::XDG_RUNTIME_DIR.get_os() {
        files.push(PathBuf::from(d).join("containers/auth.json"));
    }
    match EnvVars::DOCKER_CONFIG.get_os() {
        Some(d) => files.push(PathBuf::from(d).join("config.json")),
        None => {
            if let Some(h) = EnvVars::HOME.get_os() {
                files.push(PathBuf::from(h).join(".docker/config.json"));
            }
        }
    }
    files
}

fn host_keys(host: &str) -> Vec<String> {
    let mut keys = vec![
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
        format!("https://{host}/v1/"),
    ];
    if host == super::reference::DOCKER_HUB {
        keys.extend([
            "https://index.docker.io/v1/".to_string(),
            "index.docker.io".to_string(),
        ]);
    }
    keys
}

/// Runs `docker-credential-<helper> get`; says why it gave nothing (never the secret).
fn from_helper(helper: &str, host: &str) -> Result<Option<Credential>, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{program} is not installed (not on PATH)"),
            _ => format!("{program} could not be started ({e})"),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program} failed ({e})"))?;
    if !out.status.success() {
        // "credentials not found in native keychain" is an answer, not a failure.
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("{program} answered something that is not its JSON"))?;
    match (v["Username"].as_str(), v["Secret"].as_str()) {
        (Some(u), Some(p)) => Ok(Some(Credential {
            username: u.into(),
            secret: p.into(),
        })),
        _ => Err(format!("{program} answered without Username and Secret")),
    }
}

fn from_auths_entry(v: &serde_json::Value) -> Result<Option<Credential>, &'static str> {
    if let Some(a) = v["auth"].as_str().filter(|a| !a.is_empty()) {
        let decoded = STANDARD
            .decode(a)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("its \"auth\" is not base64")?;
        return Credential::parse(&decoded)
            .map(Some)
            .map_err(|_| "its \"auth\" is not base64 of USER:PASSWORD");
    }
    Ok(match (v["username"].as_str(), v["password"].as_str()) {
        (Some(u), Some(p)) => Some(Credential {
            username: u.into(),
            secret: p.into(),
        }),
        _ => None,
    })
}

/// Credentials for `host` from the usual files and helpers, if any.
pub fn lookup(host: &str) -> Option<Credential> {
    search(host).0
}

/// Why no credentials were found for `host`: each file or helper that should have given some and
/// failed, and how (no secret in them). Empty when there was simply nothing for this host.
pub fn problems(host: &str) -> Vec<String> {
    search(host).1
}

fn search(host: &str) -> (Option<Credential>, Vec<String>) {
    let mut problems = Vec::new();
    for file in auth_files() {
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        let cfg = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!(
                    "{}: not JSON (line {}, column {})",
                    file.display(),
                    e.line(),
                    e.column()
                ));
                continue;
            }
        };
        for key in host_keys(host) {
            if let Some(helper) = cfg["credHelpers"][&key].as_str() {
                match from_helper(helper, host) {
                    Ok(Some(c)) => return (Some(c), problems),
                    Ok(None) => {}
                    Err(p) => problems.push(format!("{}: credHelpers: {p}", file.display())),
                }
            }
            if let Some(entry) = cfg["auths"].get(&key) {
                match from_auths_entry(entry) {
                    Ok(Some(c)) => return (Some(c), problems),
                    Ok(None) => {}
                    Err(p) => problems.push(format!("{}: auths.\"{key}\": {p}", file.display())),
                }
            }
        }
        if let Some(store) = cfg["credsStore"].as_str() {
            match from_helper(store, host) {
                Ok(Some(c)) => return (Some(c), problems),
                Ok(None) => {}
                Err(p) => problems.push(format!("{}: credsStore: {p}", file.display())),
            }
        }
    }
    (None, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws""#
            ),
            Some(Challenge::Bearer {
                realm: "https://public.ecr.aws/token/".into(),
                service: Some("public.ecr.aws".into()),
                scope: Some("aws".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="lamina-test""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="http://127.0.0.1:5002/token",service="reg",scope="repository:a/b:pull,push""#)
                .map(|c| match c {
                    Challenge::Bearer { scope, .. } => scope,
                    _ => None,
                }),
            Some(Some("repository:a/b:pull,push".into()))
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Credential::parse("AWS:sup3rsecret").unwrap();
        assert!(!format!("{c:?}").contains("sup3rsecret"));
        assert_eq!(c.basic(), "Basic QVdTOnN1cDNyc2VjcmV0");
    }

    #[test]
    fn auths_entries() {
        let v: serde_json::Value = serde_json::json!({"auth": "QVdTOnB3"});
        assert_eq!(
            from_auths_entry(&v).unwrap().unwrap(),
            Credential {
                username: "AWS".into(),
                secret: "pw".into()
            }
        );
    }
}
