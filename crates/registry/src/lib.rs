//! The registry client (distribution HTTP API): references, credentials and challenges, pulls with
//! a content-addressed cache, and pushes that never move a tag to an incomplete image. It knows
//! nothing of AWS or Python; ECR supplies credentials and endpoints through `ClientOptions`.

pub mod auth;
pub mod client;
mod endpoint;
pub mod pull;
pub mod push;
pub mod pusher;
pub mod reference;
pub mod referrers;
pub mod reply;
mod stats;

pub use client::{Client, ClientOptions, Scope};
pub use reference::Reference;
pub use reply::Reply;

use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request or its answer failed on the way (reset, timeout, a body that stopped).
    #[error("{what}")]
    Http { what: String, source: Transfer },
    /// No connection to the registry at all (the name does not resolve, nothing listens, …).
    #[error("{what}: {host} is unreachable")]
    Unreachable {
        what: String,
        host: String,
        source: reqwest::Error,
        dns: bool,
    },
    #[error("{what}: HTTP {status}{}{}", if code.is_empty() { String::new() } else { format!(" {code}") }, if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status {
        what: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{what}: unauthorized: {host} refused access: {detail}")]
    Unauthorized {
        what: String,
        host: String,
        detail: String,
    },
    #[error("{what}: the registry sent bytes whose digest is {got}, not {expected}")]
    Digest {
        what: String,
        expected: String,
        got: String,
    },
    #[error("{what}: {detail}")]
    Protocol { what: String, detail: String },
    #[error("{reference}: no image for platform {platform} (it has: {available})")]
    NoPlatform {
        reference: String,
        platform: String,
        available: String,
    },
    #[error("cache {path}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Reference(#[from] reference::ReferenceError),
    #[error("setting the tags failed; {outcome}")]
    TagsRolledBack {
        outcome: String,
        source: Box<RegistryError>,
    },
    /// The attestations could not be attached; no tag moved.
    #[error("attaching the SBOM and provenance (OCI referrers); no tag was moved")]
    Attach { source: Box<RegistryError> },
    #[error("tag '{tag}' already exists in {repository} (pointing at {existing}) and tags there are immutable")]
    TagExists {
        tag: String,
        repository: String,
        existing: String,
    },
}

impl RegistryError {
    /// Builds an error from a failed response, reading the spec's `{"errors":[…]}` body if any.
    pub fn from_response(what: &str, resp: Reply) -> RegistryError {
        let status = resp.status().as_u16();
        let mut body = String::new();
        let _ = resp.take(64 * 1024).read_to_string(&mut body);
        let (code, message) = match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(v) => (
                v["errors"][0]["code"].as_str().unwrap_or("").to_string(),
                v["errors"][0]["message"].as_str().unwrap_or("").to_string(),
            ),
            Err(_) => (String::new(), summary(status, &body)),
        };
        RegistryError::Status {
            what: what.into(),
            status,
            code,
            message,
        }
    }
}

/// A body that is not the API's JSON, for a one-line message: an HTML page (a proxy's or load
/// balancer's error page) is named by its status's reason, never pasted; other text by its first
/// line, cut at 200 characters.
fn summary(status: u16, body: &str) -> String {
    let text = body.trim();
    if text.starts_with('<') {
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error");
        return format!("{reason} (an HTML page, not the registry's API: a proxy or load balancer may have answered)");
    }
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// Whether a transport error is TLS spoken to a plain-http server.
fn plain_http(e: &reqwest::Error) -> bool {
    let text = lamina_support::diagnostic::chain(e);
    text.contains("InvalidContentType")
        || text.contains("wrong version number")
        || text.contains("http") && text.contains("https")
}

const PLAIN_HTTP_HINT: &str =
    "a plain-http registry must be named in --insecure-registry HOST[:PORT] (no scheme)";

/// Why a request or its answer failed on the way.
#[derive(Debug, thiserror::Error)]
pub enum Transfer {
    #[error(transparent)]
    Request(reqwest::Error),
    #[error(transparent)]
    Io(std::io::Error),
    #[error("{host} did not answer in time (--timeout {secs}s)")]
    Stalled { host: String, secs: u64 },
}

impl Transfer {
    /// A transport error, without its URL (the operation names what was asked, and an endpoint
    /// URL could carry user info).
    pub fn request(e: reqwest::Error) -> Transfer {
        Transfer::Request(e.without_url())
    }
}

const TIMEOUT_HINT: &str = "check that the registry is up and reachable (and any proxy between), or allow more time with --timeout, e.g. --timeout 5m";

impl Hint for Transfer {
    fn hint(&self) -> Option<String> {
        match self {
            Transfer::Stalled { .. } => Some(TIMEOUT_HINT.into()),
            Transfer::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                Some(TIMEOUT_HINT.into())
            }
            Transfer::Io(e) => e.hint(),
            Transfer::Request(e) if e.is_timeout() => Some(TIMEOUT_HINT.into()),
            Transfer::Request(e) => plain_http(e).then(|| PLAIN_HTTP_HINT.into()),
        }
    }
}

use lamina_support::diagnostic::Hint;

impl Hint for RegistryError {
    fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Unauthorized { host, .. } => Some(format!(
                "log in to {host} (docker login / podman login write the credentials lamina reads), or pass --creds USER:PASSWORD"
            )),
            RegistryError::Status { status: 404, .. } => Some("check the repository and tag".into()),
            RegistryError::Status { status, .. } if *status == 429 || *status >= 500 => Some(
                "the registry failed on every try: try again later, and check the registry's status (or any proxy in between)".into(),
            ),
            RegistryError::Http { source, .. } => source.hint(),
            RegistryError::Cache { source, .. } => source.hint(),
            RegistryError::Reference(e) => e.hint(),
            RegistryError::Unreachable { source, .. } if plain_http(source) => {
                Some(PLAIN_HTTP_HINT.into())
            }
            RegistryError::Unreachable { host, dns, .. } => Some(format!(
                "{}to build without the network, `lamina pull` the base once while {host} is reachable and then build with the digest it prints (--base REPO@sha256:…), or use a local base (--base oci:DIR:TAG); behind a proxy, set HTTPS_PROXY",
                if *dns { format!("{host} does not resolve (no DNS, or offline); ") } else { String::new() }
            )),
            RegistryError::Digest { .. } => Some("the registry or something between us and it altered the bytes; nothing was used".into()),
            RegistryError::TagExists { .. } => Some(
                "push under a new tag, e.g. --tag $(git rev-parse --short HEAD); the existing tag was left untouched".into(),
            ),
            RegistryError::TagsRolledBack { outcome, .. } if outcome.contains("moved to") => Some(
                "the tags named as moved point at the new image: push the previous digest to them to move them back, or push again once the registry works".into(),
            ),
            RegistryError::TagsRolledBack { source, .. } => source
                .hint()
                .or_else(|| Some("no tag moved; push again once the registry works".into())),
            RegistryError::Attach { source } => Some(match source.hint() {
                Some(h) => format!("{h}; or push without attestations: --no-attest (attest = false in lamina.toml)"),
                None => "the registry refused the OCI 1.1 artifacts: push without attestations with --no-attest (attest = false in lamina.toml)".into(),
            }),
            RegistryError::NoPlatform { .. } => Some("choose --platform to match the base, or use a base built for that platform".into()),
            _ => None,
        }
    }
}
