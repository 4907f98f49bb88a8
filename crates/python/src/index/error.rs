//! What can go wrong talking to an index, each with the hint that fits: a transport failure, a
//! status, credentials refused or missing, a download that is not the locked file, a page that
//! cannot be read.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The request or its answer failed on the way (the cause kept with its own causes).
    #[error("{what}")]
    Http {
        what: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{what}: HTTP {status}")]
    Status { what: String, status: u16 },
    #[error("{what}: {host} {}", if *sent { "refused the credentials" } else { "wants credentials and none were found" })]
    Unauthorized {
        what: String,
        host: String,
        sent: bool,
    },
    #[error("{what}: the download's sha256 is {got}, the lock says {expected}")]
    Hash {
        what: String,
        expected: String,
        got: String,
    },
    #[error("{what}: the download is {got} bytes, the lock says {expected}")]
    Size {
        what: String,
        expected: u64,
        got: u64,
    },
    #[error("{what}: {detail}")]
    Page { what: String, detail: String },
    #[error("credentials for {host}: {detail}")]
    Credentials { host: String, detail: String },
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl lamina_support::diagnostic::Hint for IndexError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            IndexError::Unauthorized { host, .. } => format!(
                "give credentials for {host}: a `machine {} login USER password …` line in ~/.netrc ($NETRC), user info in the index URL, or for CodeArtifact AWS credentials (--profile)",
                host.split(':').next().unwrap_or(host)
            ),
            IndexError::Status { status: 404, .. } => {
                "the index does not have this file or project: check --index-url, or relock".into()
            }
            IndexError::Hash { .. } | IndexError::Size { .. } => {
                "the file is not the one the lock was written for (changed on the index, or altered on the way); nothing was installed".into()
            }
            IndexError::Http { .. } | IndexError::Status { .. } => {
                "check the index URL and the network; a build whose wheels are all cached works with --offline".into()
            }
            IndexError::Page { .. } => {
                "the index served a page lamina cannot read: check --index-url (a PEP 503 or PEP 691 simple index), or tell the index's operator".into()
            }
            IndexError::Credentials { .. } => {
                "configure AWS credentials: --profile NAME (or AWS_PROFILE), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, or a role".into()
            }
            _ => return None,
        })
    }
}
