//! The AWS SDK setup that lamina's AWS calls share (ECR, CodeArtifact): a runtime, the SDK's
//! default credential chain (environment, profiles, SSO, `credential_process`, container and
//! instance roles) for one Region, and `--profile`, which, as with the AWS CLI, wins over
//! environment credentials (a profile that does not exist is an error, not a silent fallback).
//! Credentials are resolved once up front so that a missing login fails before any work; a named
//! profile that the shared files do not define is said so, with the profiles they do define.

use std::path::PathBuf;

/// A loaded SDK configuration and the runtime to drive its calls.
pub struct Aws {
    pub rt: tokio::runtime::Runtime,
    pub config: aws_config::SdkConfig,
    /// `--profile`, else `AWS_PROFILE`.
    pub profile: Option<String>,
}

/// Why credentials could not be had (never containing a secret): the SDK's error, with its causes.
#[derive(Debug)]
pub struct CredentialsError {
    pub profile: Option<String>,
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// A named profile that neither shared AWS file defines.
#[derive(Debug, thiserror::Error)]
#[error("profile '{profile}' is not defined in {} or {} ({})", config.display(), credentials.display(), match defined.is_empty() {
    true => "they define no profile".to_string(),
    false => format!("they define: {}", defined.join(", ")),
})]
pub struct ProfileMissing {
    pub profile: String,
    pub config: PathBuf,
    pub credentials: PathBuf,
    pub defined: Vec<String>,
}

impl ProfileMissing {
    pub fn hint(&self) -> String {
        format!(
            "create it (aws configure --profile {p}, or aws configure sso --profile {p}), or pass a profile those files define: --profile NAME (or AWS_PROFILE)",
            p = self.profile
        )
    }
}

/// The shared files as the SDK finds them: `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`,
/// else `~/.aws/config` and `~/.aws/credentials`.
fn shared_files() -> (PathBuf, PathBuf) {
    let home = lamina_support::env::EnvVars::HOME
        .get_os()
        .map(PathBuf::from)
        .unwrap_or_default();
    let file = |var: lamina_support::env::EnvVar, name: &str| {
        var.get_os()
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".aws").join(name))
    };
    (
        file(lamina_support::env::EnvVars::AWS_CONFIG_FILE, "config"),
        file(
            lamina_support::env::EnvVars::AWS_SHARED_CREDENTIALS_FILE,
            "credentials",
        ),
    )
}

/// The profiles a shared file's section headers name: `[default]`, `[profile NAME]`, `[NAME]`
/// (not `[sso-session …]` or `[services …]`).
fn profiles_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']'))
        .map(str::trim)
        .filter(|h| !h.starts_with("sso-session ") && !h.starts_with("services "))
        .map(|h| h.strip_prefix("profile ").unwrap_or(h).trim().to_string())
        .collect()
}

/// `profile` when neither shared file defines it.
fn profile_missing(profile: &str) -> Option<ProfileMissing> {
    let (config, credentials) = shared_files();
    let mut defined: Vec<String> = [&config, &credentials]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| profiles_in(&t))
        .collect();
    defined.sort();
    defined.dedup();
    (!defined.iter().any(|d| d == profile)).then(|| ProfileMissing {
        profile: profile.to_string(),
        config,
        credentials,
        defined,
    })
}

pub fn connect(region: &str, profile: Option<&str>) -> Result<Aws, CredentialsError> {
    let profile_owned = profile
        .map(str::to_string)
        .or_else(|| lamina_support::env::EnvVars::AWS_PROFILE.get());
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| CredentialsError {
        profile: profile_owned.clone(),
        source,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the AWS runtime: {e}").into()))?;
    let config = rt.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()));
        if let Some(p) = profile {
            let creds = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(p)
                .build();
            loader = loader.profile_name(p).credentials_provider(creds);
        }
        loader.load().await
    });
    use aws_sdk_ecr::config::ProvideCredentials as _;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| fail("no credential provider is configured".into()))?;
    rt.block_on(provider.provide_credentials()).map_err(|e| {
        // The SDK says only "the credential provider was not enabled" for a profile no file has.
        match profile_owned.as_deref().and_then(profile_missing) {
            Some(missing) => fail(Box::new(missing)),
            None => fail(Box::new(e)),
        }
    })?;
    Ok(Aws {
        rt,
        config,
        profile: profile_owned,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn profiles_in_the_shared_files() {
        assert_eq!(
            super::profiles_in("[default]\nregion = x\n[profile dev]\n[ prod ]\n[sso-session corp]\n[services s]\n"),
            ["default", "dev", "prod"]
        );
    }
}
