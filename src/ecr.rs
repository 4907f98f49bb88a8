//! Amazon ECR: everything the registry client does not know. An ECR host
//! (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`) gets its credentials from `GetAuthorizationToken`
//! (Basic `AWS:<password>`, fetched once per run, so a token whose `expiresAt` is already past, as
//! moto's is, can never cause a refresh loop), using the AWS SDK's default credential chain
//! (environment, profiles, SSO, `credential_process`, container and instance roles). It also makes
//! sure the repository exists, creating it (scan on push, tag mutability, encryption) and putting
//! the lifecycle policy when asked, and refuses to start uploading into a repository that is
//! missing. The ECR API endpoint follows the SDK's own settings (`AWS_ENDPOINT_URL_ECR`).

use crate::config::ecr::{Expire, RepoSettings};
use crate::registry::auth::Credential;
use crate::registry::Reference;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

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
}

impl crate::diagnostic::Hint for EcrError {
    fn hint(&self) -> Option<String> {
        match self {
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

/// Before a push to `target`: when it is an ECR repository, makes sure it exists (created, with
/// its lifecycle policy, when `settings` say so) and logs what was done, and warns about an
/// untagged push into a repository that expires untagged images. `None` for any other registry.
pub fn prepare_push(
    target: &Reference,
    tags: &[String],
    settings: &RepoSettings,
    profile: Option<&str>,
    region: Option<&str>,
    log: &mut dyn FnMut(String),
) -> Result<Option<RepoState>, EcrError> {
    let Some(host) = parse_host(&target.host) else {
        return Ok(None);
    };
    let ecr = Ecr::connect(&host, profile, region)?;
    let state = ecr.ensure_repository(&target.repository, settings)?;
    if state.created {
        log(format!(
            "created ECR repository {} ({} tags, scan on push {})",
            state.uri, settings.tag_mutability, settings.scan_on_push
        ));
    }
    if state.policy_put {
        log(format!(
            "lifecycle policy set: keep the last {} {}",
            settings.keep_last.unwrap_or(0),
            if settings.expire == Expire::Any {
                "images (any tag status: this can expire an image a deployed function still uses)"
            } else {
                "untagged images"
            }
        ));
    }
    if tags.is_empty() && state.expires_untagged {
        log(format!(
            "warning: pushing without a tag to {}, whose lifecycle policy expires untagged images: a function deployed by digest fails once the image is expired; pass --tag (e.g. the git short sha)",
            state.uri
        ));
    }
    Ok(Some(state))
}

/// Registry credentials (`GetAuthorizationToken`) for every ECR host among `hosts`, once each.
pub fn credentials(
    hosts: &[&str],
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<Vec<(String, Credential)>, EcrError> {
    let mut out: Vec<(String, Credential)> = Vec::new();
    for h in hosts {
        if let Some(e) = parse_host(h) {
            if out.iter().any(|(o, _)| o == h) {
                continue;
            }
            let ecr = Ecr::connect(&e, profile, region)?;
            out.push((h.to_string(), ecr.registry_credential()?));
        }
    }
    Ok(out)
}

pub struct Ecr {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_ecr::Client,
    pub host: EcrHost,
    profile: Option<String>,
}

impl Ecr {
    /// Loads the SDK configuration for `host`'s region and checks that credentials resolve.
    pub fn connect(
        host: &EcrHost,
        profile: Option<&str>,
        region: Option<&str>,
    ) -> Result<Ecr, EcrError> {
        if let Some(r) = region {
            if r != host.region {
                return Err(EcrError::WrongRegion {
                    given: r.into(),
                    host_region: host.region.clone(),
                });
            }
        }
        let aws =
            crate::aws::connect(&host.region, profile).map_err(|e| EcrError::Credentials {
                profile: e.profile,
                source: e.source,
            })?;
        let (rt, config, profile_owned) = (aws.rt, aws.config, aws.profile);
        let client = aws_sdk_ecr::Client::new(&config);
        Ok(Ecr {
            rt,
            client,
            host: host.clone(),
            profile: profile_owned,
        })
    }

    /// Registry credentials from GetAuthorizationToken (`AWS:<password>`).
    pub fn registry_credential(&self) -> Result<Credential, EcrError> {
        let out = self
            .rt
            .block_on(self.client.get_authorization_token().send())
            .map_err(|e| self.api_error("GetAuthorizationToken", e))?;
        let data = out
            .authorization_data()
            .first()
            .ok_or_else(|| EcrError::Answer {
                call: "GetAuthorizationToken",
                detail: "no authorization data returned".into(),
            })?;
        let token = data.authorization_token().ok_or_else(|| EcrError::Answer {
            call: "GetAuthorizationToken",
            detail: "no token returned".into(),
        })?;
        let decoded = STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| EcrError::Answer {
                call: "GetAuthorizationToken",
                detail: "the token is not base64 of USER:PASSWORD".into(),
            })?;
        Credential::parse(&decoded).map_err(|e| EcrError::Answer {
            call: "GetAuthorizationToken",
            detail: e,
        })
    }

    fn api_error<E, R>(&self, call: &'static str, e: aws_sdk_ecr::error::SdkError<E, R>) -> EcrError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let text = crate::diagnostic::chain(&e);
        if text.contains("credential") || text.contains("profile") {
            return EcrError::Credentials {
                profile: self.profile.clone(),
                source: Box::new(e),
            };
        }
        EcrError::Api {
            call,
            source: Box::new(e),
        }
    }

    /// Makes sure the repository exists (creating it if `settings.create`) and carries the
    /// configured lifecycle policy. Fails before any upload when it is missing and not created.
    pub fn ensure_repository(
        &self,
        name: &str,
        settings: &RepoSettings,
    ) -> Result<RepoState, EcrError> {
        let described = self.rt.block_on(
            self.client
                .describe_repositories()
                .repository_names(name)
                .send(),
        );
        let (repo, created) = match described {
            Ok(out) => (out.repositories().first().cloned(), false),
            Err(e) => {
                let not_found = e
                    .as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception());
                if !not_found {
                    return Err(self.api_error("DescribeRepositories", e));
                }
                if !settings.create {
                    return Err(EcrError::RepositoryMissing {
                        name: name.into(),
                        account: self.host.account.clone(),
                        region: self.host.region.clone(),
                    });
                }
                let encryption = match &settings.kms_key {
                    Some(k) => EncryptionConfiguration::builder()
                        .encryption_type(EncryptionType::Kms)
                        .kms_key(k)
                        .build(),
                    None => EncryptionConfiguration::builder()
                        .encryption_type(EncryptionType::Aes256)
                        .build(),
                }
                .map_err(|e| EcrError::Api {
                    call: "CreateRepository",
                    source: Box::new(e),
                })?;
                let out = self
                    .rt
                    .block_on(
                        self.client
                            .create_repository()
                            .repository_name(name)
                            .image_tag_mutability(ImageTagMutability::from(
                                settings.tag_mutability.as_str(),
                            ))
                            .image_scanning_configuration(
                                ImageScanningConfiguration::builder()
                                    .scan_on_push(settings.scan_on_push)
                                    .build(),
                            )
                            .encryption_configuration(encryption)
                            .send(),
                    )
                    .map_err(|e| self.api_error("CreateRepository", e))?;
                (out.repository().cloned(), true)
            }
        };
        let repo = repo.ok_or_else(|| EcrError::Answer {
            call: "DescribeRepositories",
            detail: "no repository returned".into(),
        })?;
        let mut policy_put = false;
        let mut expires_untagged = false;
        if let Some(policy) = settings.lifecycle_policy() {
            expires_untagged = policy_expires_untagged(&policy);
            self.rt
                .block_on(
                    self.client
                        .put_lifecycle_policy()
                        .repository_name(name)
                        .lifecycle_policy_text(policy)
                        .send(),
                )
                .map_err(|e| self.api_error("PutLifecyclePolicy", e))?;
            policy_put = true;
        } else if !created {
            // Reading the policy is best effort: a missing permission must not stop a push.
            if let Ok(out) = self.rt.block_on(
                self.client
                    .get_lifecycle_policy()
                    .repository_name(name)
                    .send(),
            ) {
                expires_untagged = out
                    .lifecycle_policy_text()
                    .is_some_and(policy_expires_untagged);
            }
        }
        Ok(RepoState {
            uri: repo.repository_uri().unwrap_or_default().to_string(),
            immutable: repo.image_tag_mutability() == Some(&ImageTagMutability::Immutable),
            created,
            policy_put,
            expires_untagged,
        })
    }
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
