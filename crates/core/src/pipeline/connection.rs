//! How a run reaches registries: `--creds`, insecure hosts, endpoint overrides
//! (`--registry-endpoint`, `LAMINA_REGISTRY_ENDPOINTS`), the timeout, the AWS profile and region
//! for ECR, and upload tuning. It builds the registry `Client` a run uses, with ECR credentials
//! for every ECR host involved; it does not parse flags.

use crate::config::{self, Plan};
use crate::location::Location;
use lamina_registry::auth::Credential;
use lamina_registry::{Client, ClientOptions};
use lamina_support::diagnostic::Result;
use lamina_support::env::EnvVars;
use std::sync::Arc;
use std::time::Duration;

/// Everything about reaching registries, as the user gave it.
#[derive(Clone)]
pub struct Connection {
    /// `--creds USER:PASSWORD`, for the registry pushed to (or pulled from).
    pub creds: Option<Credential>,
    /// `--insecure-registry HOST`.
    pub insecure: Vec<String>,
    /// `--registry-endpoint HOST=URL`.
    pub endpoints: Vec<(String, String)>,
    pub timeout: Duration,
    /// AWS profile and region for ECR.
    pub profile: Option<String>,
    pub region: Option<String>,
    /// `--parallel`: blob uploads in flight at once.
    pub parallel: usize,
    /// `--chunk-size`: PATCH chunks instead of one PUT per blob.
    pub chunk_size: Option<u64>,
    /// Where the registry client's notices go (a long wait a registry asked for): the caller's
    /// choice; nowhere when `None`.
    pub notice: Option<lamina_registry::client::Notice>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("creds", &self.creds)
            .field("insecure", &self.insecure)
            .field("endpoints", &self.endpoints.len())
            .field("timeout", &self.timeout)
            .field("profile", &self.profile)
            .field("region", &self.region)
            .field("parallel", &self.parallel)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl Default for Connection {
    fn default() -> Connection {
        Connection {
            creds: None,
            insecure: Vec::new(),
            endpoints: Vec::new(),
            timeout: Duration::from_secs(60),
            profile: None,
            region: None,
            parallel: 4,
            chunk_size: None,
            notice: None,
        }
    }
}

/// `HOST=URL`, the URL checked (http:// or https://, no credentials in it).
pub fn parse_endpoint(s: &str) -> std::result::Result<(String, String), String> {
    let (host, url) = config::parse_key_value(s)?;
    lamina_registry::client::check_endpoint(&url)?;
    Ok((host, url))
}

impl Connection {
    /// ECR credentials for every ECR host among `hosts`.
    pub fn ecr_credentials(&self, hosts: &[&str]) -> Result<Vec<(String, Credential)>> {
        Ok(crate::ecr::credentials(
            hosts,
            self.profile.as_deref(),
            self.region.as_deref(),
        )?)
    }

    /// The client for a build: ECR credentials for an ECR base, target or remote cache, `--creds`
    /// for the target.
    pub fn client_for(&self, plan: &Plan) -> Result<Arc<Client>> {
        let mut hosts: Vec<&str> = Vec::new();
        if let Location::Registry(r) = &plan.base {
            hosts.push(&r.host);
        }
        let target = plan.push.as_ref().map(|(r, _)| r.host.as_str());
        hosts.extend(target);
        if let Some(r) = &plan.remote_cache {
            hosts.push(&r.host);
        }
        let ecr = self.ecr_credentials(&hosts)?;
        self.client_with(target, ecr, true)
    }

    /// A client with `--creds` for `creds_host`, `extra` credentials, and the upload tuning when
    /// it will upload.
    pub fn client_with(
        &self,
        creds_host: Option<&str>,
        extra: Vec<(String, Credential)>,
        uploads: bool,
    ) -> Result<Arc<Client>> {
        let mut opts = ClientOptions {
            insecure: self.insecure.clone(),
            timeout: self.timeout,
            notice: self.notice.clone(),
            ..Default::default()
        };
        if uploads {
            opts.parallel = self.parallel;
            opts.chunk_size = self.chunk_size;
        }
        if let Some(env) = EnvVars::REGISTRY_ENDPOINTS.get() {
            for pair in env.split(',').filter(|p| !p.trim().is_empty()) {
                let (h, u) =
                    parse_endpoint(pair.trim()).map_err(|reason| config::ConfigError::Invalid {
                        field: EnvVars::REGISTRY_ENDPOINTS.name().into(),
                        reason: format!("{reason} (the value is not shown: it may hold a secret)"),
                    })?;
                opts.endpoints.insert(h, u);
            }
        }
        opts.endpoints.extend(self.endpoints.iter().cloned());
        opts.creds.extend(extra);
        if let (Some(c), Some(h)) = (&self.creds, creds_host) {
            opts.creds.insert(h.to_string(), c.clone());
        }
        Ok(Arc::new(Client::new(opts)?))
    }
}
