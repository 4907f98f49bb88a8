//! The AWS SDK setup that lamina's AWS calls share (ECR, CodeArtifact): a runtime, the SDK's
//! default credential chain (environment, profiles, SSO, `credential_process`, container and
//! instance roles) for one Region, and `--profile`, which, as with the AWS CLI, wins over
//! environment credentials (a profile that does not exist is an error, not a silent fallback).
//! Credentials are resolved once up front so that a missing login fails before any work.

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

pub fn connect(region: &str, profile: Option<&str>) -> Result<Aws, CredentialsError> {
    let profile_owned = profile
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
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
    rt.block_on(provider.provide_credentials())
        .map_err(|e| fail(Box::new(e)))?;
    Ok(Aws {
        rt,
        config,
        profile: profile_owned,
    })
}
