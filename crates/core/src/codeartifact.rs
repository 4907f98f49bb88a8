//! AWS CodeArtifact as a package index: a `DOMAIN-ACCOUNT.d.codeartifact.REGION.amazonaws.com`
//! host gets its password from `GetAuthorizationToken` (user `aws`), through the same credential
//! chain and `--profile` as ECR pushes (`crate::aws`), once per run and only when the index is
//! actually contacted. The API endpoint follows the SDK's settings (`AWS_ENDPOINT_URL_CODEARTIFACT`).
//! The token is a secret: it is only ever handed to the index client as a credential.

use lamina_python::index::Credential;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub domain: String,
    pub owner: String,
    pub region: String,
}

/// `DOMAIN-ACCOUNT.d.codeartifact.REGION.amazonaws.com[:port]` (the domain may contain `-`).
pub fn parse_host(host: &str) -> Option<Host> {
    let host = host.split(':').next()?;
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() < 6 || parts[1] != "d" || parts[2] != "codeartifact" || parts[4] != "amazonaws" {
        return None;
    }
    let (domain, owner) = parts[0].rsplit_once('-')?;
    if domain.is_empty() || owner.len() != 12 || !owner.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(Host {
        domain: domain.into(),
        owner: owner.into(),
        region: parts[3].into(),
    })
}

/// A CodeArtifact failure, never containing the token.
#[derive(Debug)]
pub struct TokenError(pub String);

/// The Basic credential (`aws`, token) for a CodeArtifact repository host.
pub fn credential(host: &Host, profile: Option<&str>) -> Result<Credential, TokenError> {
    let aws = crate::aws::connect(&host.region, profile).map_err(|e| {
        TokenError(format!(
            "AWS credentials{}: {}",
            e.profile
                .map(|p| format!(" (profile {p})"))
                .unwrap_or_default(),
            lamina_support::diagnostic::chain(&*e.source)
        ))
    })?;
    let client = aws_sdk_codeartifact::Client::new(&aws.config);
    let out = aws
        .rt
        .block_on(
            client
                .get_authorization_token()
                .domain(&host.domain)
                .domain_owner(&host.owner)
                .send(),
        )
        .map_err(|e| {
            TokenError(format!(
                "CodeArtifact GetAuthorizationToken for domain {} ({}): {}",
                host.domain,
                host.owner,
                lamina_support::diagnostic::chain(&e)
            ))
        })?;
    let token = out
        .authorization_token()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError("CodeArtifact returned no token".into()))?;
    Ok(Credential {
        username: "aws".into(),
        password: token.to_string(),
    })
}

/// Index credentials for a build: a CodeArtifact host gets a token through the AWS chain (and
/// `profile`), any other host its `~/.netrc` entry. URL user info is the index client's own job.
pub struct IndexCredentials {
    netrc: lamina_python::index::Netrc,
    profile: Option<String>,
}

impl lamina_python::index::credentials::Source for IndexCredentials {
    fn lookup(&self, host: &str) -> Result<Option<Credential>, String> {
        if let Some(ca) = parse_host(host) {
            return credential(&ca, self.profile.as_deref())
                .map(Some)
                .map_err(|e| e.0);
        }
        Ok(self.netrc.lookup(host))
    }
}

/// The index client for locked wheels, made on first use: `~/.netrc`, and CodeArtifact tokens
/// through `profile` (`--profile`).
pub fn index_client(profile: Option<String>) -> lamina_install::deps::LazyClient {
    lamina_install::deps::LazyClient::new(Box::new(move || {
        lamina_python::index::Client::new(
            Box::new(IndexCredentials {
                netrc: lamina_python::index::Netrc::load(),
                profile: profile.clone(),
            }),
            lamina_support::retry::Policy::default(),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let h = parse_host("my-team-123456789012.d.codeartifact.eu-west-1.amazonaws.com").unwrap();
        assert_eq!(
            (h.domain.as_str(), h.owner.as_str(), h.region.as_str()),
            ("my-team", "123456789012", "eu-west-1")
        );
        assert!(parse_host("pypi.org").is_none());
        assert!(parse_host("team-1234.d.codeartifact.us-east-1.amazonaws.com").is_none());
        assert!(parse_host("123456789012.dkr.ecr.us-east-1.amazonaws.com").is_none());
    }
}
