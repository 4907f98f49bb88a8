//! Where the base is, answered once: `open` takes a build's `Plan` and returns its base image,
//! whether the base is an OCI layout on disk or a registry reference (pulled through the cache:
//! manifest and config now, layer bytes when read), and the same base for this machine's
//! architecture when bytecode is compiled for another one. It builds nothing and writes nothing.

use crate::config::Plan;
use crate::location::Location;
use lamina_cache::Cache;
use lamina_install::bytecode::interp::host_machine;
use lamina_oci::{self as oci, Image, Platform, TransportError};
use lamina_registry::{self as registry, Client, RegistryError};
use std::sync::Arc;

/// The base image could not be opened. (Returned boxed: a layout error is large.)
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("base image {location}")]
    Local {
        location: String,
        #[source]
        source: TransportError,
    },
    #[error("base image {reference}")]
    Registry {
        reference: String,
        #[source]
        source: RegistryError,
    },
}

impl lamina_support::diagnostic::Hint for OpenError {
    fn hint(&self) -> Option<String> {
        match self {
            OpenError::Local { source, .. } => source.hint(),
            OpenError::Registry { source, .. } => source.hint(),
        }
    }
}

/// A build's base, opened.
pub struct Base {
    pub image: Image,
    /// The same base for this machine's platform, when bytecode is compiled for another
    /// architecture and the base is a multi-platform index that has one.
    pub host_variant: Option<Image>,
}

/// Opens the image at `location` for `platform`, wherever it is.
pub fn open_at(
    location: &Location,
    client: &Arc<Client>,
    cache: &Cache,
    platform: &Platform,
) -> Result<Image, Box<OpenError>> {
    match location {
        Location::Local(r) => oci::open(r, platform).map_err(|source| {
            Box::new(OpenError::Local {
                location: r.to_string(),
                source,
            })
        }),
        Location::Registry(r) => registry::pull::pull(client, &cache.blobs(), r, platform)
            .map(|(image, _)| image)
            .map_err(|source| {
                Box::new(OpenError::Registry {
                    reference: r.to_string(),
                    source,
                })
            }),
    }
}

/// Opens `plan.base` for `plan.platform`, and its host variant when bytecode needs one.
pub fn open(plan: &Plan, client: &Arc<Client>, cache: &Cache) -> Result<Base, Box<OpenError>> {
    let image = open_at(&plan.base, client, cache, &plan.platform)?;
    Ok(Base {
        image,
        host_variant: host_variant(plan, client, cache),
    })
}

/// Bytecode for another architecture: the same base for this machine, if the index has it.
pub fn host_variant(plan: &Plan, client: &Arc<Client>, cache: &Cache) -> Option<Image> {
    if !plan.compile_bytecode || plan.platform.python_machine() == host_machine() {
        return None;
    }
    let host: Option<Platform> = match host_machine() {
        "x86_64" => Some(Platform::linux_amd64()),
        "aarch64" => "linux/arm64".parse().ok(),
        _ => None,
    };
    host.and_then(|p| open_at(&plan.base, client, cache, &p).ok())
}
