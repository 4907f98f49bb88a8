//! Amazon ECR: everything the registry client does not know. An ECR host
//! (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`) gets its credentials from `GetAuthorizationToken`
//! (Basic `AWS:<password>`, fetched once per run, so a token whose `expiresAt` is already past, as
//! moto's is, can never cause a refresh loop), using the AWS SDK's default credential chain
//! (environment, profiles, SSO, `credential_process`, container and instance roles). It also makes
//! sure the repository exists, creating it (scan on push, tag mutability, encryption) and putting
//! the lifecycle policy when asked, and refuses to start uploading into a repository that is
//! missing. The ECR API endpoint follows the SDK's own settings (`AWS_ENDPOINT_URL_ECR`).

// The calls (through the AWS SDK) are in `api`, behind the `aws` feature (on by default; the
// fuzz crate builds without it); the host names, errors and policy reading here need no SDK.
#[cfg(feature = "aws")]
mod api;
#[cfg(feature = "aws")]
pub use api::{credentials, prepare_push, Ecr};
#[cfg(not(feature = "aws"))]
pub use no_sdk::{credentials, prepare_push};

/// Without the SDK (the fuzz and replay builds): any ECR host is an error naming the missing
/// feature; other registries need nothing from here.
#[cfg(not(feature = "aws"))]
mod no_sdk {
    use super::{parse_host, EcrError, RepoState};
    use crate::config::ecr::RepoSettings;
    use lamina_registry::auth::Credential;
    use lamina_registry::Reference;

    fn refuse_ecr(host: &str) -> Result<(), EcrError> {
        match parse_host(host) {
            Some(_) => Err(EcrError::NoSdk { host: host.into() }),
            None => Ok(()),
        }
    }

    pub fn credentials(
        hosts: &[&str],
        _profile: Option<&str>,
        _region: Option<&str>,
    ) -> Result<Vec<(String, Credential)>, EcrError> {
        hosts.iter().try_for_each(|h| refuse_ecr(h))?;
        Ok(Vec::new())
    }

    pub fn prepare_push(
        target: &Reference,
        _settings: &RepoSettings,
        _profile: Option<&str>,
        _region: Option<&str>,
        _log: &mut dyn FnMut(String),
    ) -> Result<Option<RepoState>, EcrError> {
        refuse_ecr(&target.host)?;
        Ok(None)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcrHost {
    pub account: String,
    pub region: String,
    pub host: String,
}

/// `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]`.
pub fn parse_host(host: &str) -> Option<EcrHost> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() < 6
        || parts[1] != "dkr"
        || !parts[2].starts_with("ecr")
        || parts[4] != "amazonaws"
    {
        return None;
    }
    if parts[0].len() != 12 || !parts[0].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(EcrHost {
        account: parts[0].into(),
        region: parts[3].into(),
        host: host.into(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    #[error("AWS credentials{}", profile.as_ref().map(|p| format!(" (profile {p})")).unwrap_or_default())]
    Credentials {
        profile: Option<String>,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("--region {given} does not match the registry host's region {host_region}")]
    WrongRegion { given: String, host_region: String },
    #[error("repository '{name}' does not exist in registry {account} ({region})")]
    RepositoryMissing {
        name: String,
        account: String,
        region: String,
    },
    /// The call failed (the SDK's error, kept with its causes).
    #[error("ECR {call}")]
    Api {
        call: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The call answered, but not with what ECR always sends.
    #[error("ECR {call}: {detail}")]
    Answer { call: &'static str, detail: String },
    /// This build of lamina has no AWS SDK (the `aws` feature is off).
    #[error("{host} is an Amazon ECR registry, and this build of lamina has no AWS support")]
    NoSdk { host: String },
}

impl lamina_support::diagnostic::Hint for EcrError {
    fn hint(&self) -> Option<String> {
        match self {
            #[cfg(feature = "aws")]
            EcrError::Credentials { source, .. } if source.is::<crate::aws::ProfileMissing>() => {
                source.downcast_ref::<crate::aws::ProfileMissing>().map(|m| m.hint())
            }
            EcrError::Credentials { .. } => Some(
                "configure AWS credentials: --profile NAME (or AWS_PROFILE), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO (aws sso login), or an instance/container role".into(),
            ),
            EcrError::WrongRegion { .. } => Some("the repository lives in the region its host names; drop --region or push to that region's host".into()),
            EcrError::RepositoryMissing { name, .. } => Some(format!(
                "create it first (aws ecr create-repository --repository-name {name}), or let lamina: [ecr] create = true in lamina.toml or --create-repository"
            )),
            EcrError::Api { .. } => Some(
                "check the network and the AWS endpoint (AWS_ENDPOINT_URL), and that the credentials may call ECR in this region".into(),
            ),
            EcrError::Answer { .. } => None,
            EcrError::NoSdk { .. } => Some("use a lamina built with the `aws` feature (the released binary is), or push to a registry that is not ECR".into()),
        }
    }
}

/// What `ensure_repository` found or did.
#[derive(Debug, Clone)]
pub struct RepoState {
    pub uri: String,
    pub immutable: bool,
    pub created: bool,
    pub policy_put: bool,
    /// Its lifecycle policy expires untagged images (so an untagged push can vanish).
    pub expires_untagged: bool,
}

/// The warning for a push to `target` that sets no tag (`tags` empty): the image is untagged, so
/// a lifecycle rule that expires untagged images deletes it, and a function deployed by its digest
/// then fails. `repo` is what `prepare_push` found, when `target` is an ECR repository.
pub fn untagged_warning(
    target: &lamina_registry::Reference,
    tags: &[String],
    repo: Option<&RepoState>,
) -> Option<String> {
    if !tags.is_empty() {
        return None;
    }
    let fix = "a function deployed by its digest fails once the image is expired; pass --tag (e.g. the git short sha)";
    Some(match repo {
        Some(r) if r.expires_untagged => format!(
            "warning: pushing without a tag to {}, whose lifecycle policy expires untagged images: {fix}",
            r.uri
        ),
        _ => format!(
            "warning: pushing without a tag to {}: the image is untagged, so a lifecycle policy that expires untagged images (expire = \"untagged\", lamina's default) will delete it; {fix}",
            target.repo_name()
        ),
    })
}

/// Whether a lifecycle policy text has an `expire` rule that selects untagged images.
pub fn policy_expires_untagged(text: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    v["rules"].as_array().is_some_and(|rules| {
        rules.iter().any(|r| {
            matches!(
                r["selection"]["tagStatus"].as_str(),
                Some("untagged" | "any")
            ) && r["action"]["type"].as_str() == Some("expire")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts() {
        let h = parse_host("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        assert_eq!(
            (h.account.as_str(), h.region.as_str()),
            ("123456789012", "us-east-1")
        );
        assert!(parse_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").is_some());
        assert!(parse_host("public.ecr.aws").is_none());
        assert!(parse_host("127.0.0.1:5000").is_none());
        assert!(parse_host("12345.dkr.ecr.us-east-1.amazonaws.com").is_none());
    }
}
