//! `pull`: a registry image (manifest, config and every layer) into lamina's cache, each blob
//! checked against its digest, so a build with `--base REPO@sha256:…` works offline afterwards.

use super::run::warn_from;
use super::{Connection, Observer};
use lamina_cache::Cache;
use lamina_oci::Platform;
use lamina_registry::Reference;
use lamina_support::diagnostic::{Context, Result};
use lamina_support::human::human;
use oci_spec::image::Digest;
use std::io;

/// What `pull` cached.
pub struct Pulled {
    pub reference: Reference,
    pub digest: Digest,
    /// The platform of the image pulled (`linux/amd64`).
    pub platform: String,
}

impl Pulled {
    /// stdout's line: `REPO@sha256:…`.
    pub fn line(&self) -> String {
        format!("{}@{}", self.reference.repo_name(), self.digest)
    }
}

/// Pulls `reference` (`HOST/REPO[:TAG][@DIGEST]`, `docker://` allowed) for `platform` into `cache`,
/// every layer read through its digest check.
pub fn pull(
    reference: &str,
    platform: &Platform,
    cache: &Cache,
    conn: &Connection,
    obs: &dyn Observer,
) -> Result<Pulled> {
    let r = Reference::parse(reference.strip_prefix("docker://").unwrap_or(reference))?;
    let client = conn.client_with(Some(&r.host), Vec::new(), false)?;
    let (image, digest) = lamina_registry::pull::pull(&client, &cache.blobs(), &r, platform)
        .with_context(|| format!("pulling {r}"))?;
    obs.start("pulling", client.stats.bytes_received.clone());
    let layers = (|| -> Result<()> {
        for layer in &image.layers {
            let mut reader = layer
                .open_verified()
                .with_context(|| format!("pulling layer {}", layer.digest()))?;
            let n = io::copy(&mut reader, &mut io::sink())
                .with_context(|| format!("pulling layer {}", layer.digest()))?;
            obs.line(format!("layer {} ({}) cached", layer.digest(), human(n)));
        }
        Ok(())
    })();
    obs.stop();
    layers?;
    obs.line(format!(
        "{r} ({}) is in the cache; a build with --base {}@{digest} works offline",
        image.platform(),
        r.repo_name()
    ));
    warn_from(&client, obs);
    Ok(Pulled {
        platform: image.platform(),
        reference: r,
        digest,
    })
}
