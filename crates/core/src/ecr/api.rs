//! The ECR calls, through the AWS SDK: `GetAuthorizationToken` for registry credentials, and the
//! repository checks and creation before a push (`prepare_push`). Host parsing, the errors and the
//! lifecycle-policy reading are the parent module's; nothing here parses registry answers beyond
//! the SDK's own types.

use super::{parse_host, policy_expires_untagged, EcrError, EcrHost, RepoState};
use crate::config::ecr::{Expire, RepoSettings};
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use lamina_registry::auth::Credential;
use lamina_registry::Reference;

/// Before a push to `target`: when it is an ECR repository, makes sure it exists (created, with
/// its lifecycle policy, when `settings` say so) and logs what was done. `None` for any other
/// registry.
pub fn prepare_push(
    target: &Reference,
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
        let text = lamina_support::diagnostic::chain(&e);
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
