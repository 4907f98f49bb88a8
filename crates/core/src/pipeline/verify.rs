//! `verify`: opens the published image (`REPO@sha256:…`, `REPO:TAG` or `oci:DIR:TAG`; one that
//! does not exist fails before anything is built), builds the plan again with no cache at all (a
//! private empty cache directory, removed afterwards; no remote cache) and compares the manifest
//! digests. For a registry image it then checks the attestations attached to it (OCI referrers):
//! an SBOM and the provenance must be there, about this image, equal to the rebuild's (unless
//! `--no-attest` / `attest = false`). It runs no gate, writes no output and pushes nothing.

use super::{Connection, Observer};
use crate::build;
use crate::config::Plan;
use crate::location::Location;
use crate::verify::{self, Mismatch};
use lamina_cache::Cache;
use lamina_support::diagnostic::{Context, Failure, Result};
use oci_spec::image::Digest;
use std::path::Path;

/// A published image these inputs rebuild exactly.
pub struct Verified {
    pub digest: Digest,
    /// The attestations checked (empty for a layout, or with `--no-attest`).
    pub attestations: Vec<crate::attestation::Attached>,
}

const REF_HINT: &str = "pass REPO@sha256:…, REPO:TAG or oci:DIR:TAG";

/// The published image `reference` names (relative layout paths from `cwd`): a registry image
/// or an OCI layout, never a docker-archive.
pub fn target(reference: &str, cwd: &Path) -> Result<Location> {
    let reference = Location::parse(reference, cwd)
        .map_err(|e| Failure::msg(format!("lamina verify REF: {e}"), Some(REF_HINT)))?;
    if let Location::Local(lamina_oci::reference::ImageRef::Archive { .. }) = reference {
        return Err(Failure::msg(
            format!("{reference}: verify compares with a registry image or an OCI layout, not a docker-archive (it has no manifest of its own)"),
            Some(REF_HINT),
        ));
    }
    Ok(reference)
}

/// The published image `reference` (from `target`), rebuilt from `plan`. `Err(Mismatch)` names
/// the first layer and path that differ.
pub fn verify(
    reference: &Location,
    mut plan: Plan,
    conn: &Connection,
    obs: &dyn Observer,
) -> Result<Verified> {
    plan.output = None;
    plan.push = None;
    // No cache at all: everything is read, downloaded and built again into an empty directory.
    let scratch = tempfile::Builder::new()
        .prefix("lamina-verify-")
        .tempdir()
        .context("a private cache directory for the rebuild")?;
    let cache = Cache::open(scratch.path())
        .with_context(|| format!("cache {}", scratch.path().display()))?;
    let mut hosts: Vec<&str> = Vec::new();
    if let Location::Registry(r) = &plan.base {
        hosts.push(&r.host);
    }
    if let Location::Registry(r) = reference {
        hosts.push(&r.host);
    }
    let ecr = conn.ecr_credentials(&hosts)?;
    let creds_host = match reference {
        Location::Registry(r) => Some(r.host.as_str()),
        Location::Local(_) => None,
    };
    let client = conn.client_with(creds_host, ecr, false)?;
    // The published image first: one that does not exist fails before anything is rebuilt.
    let published = match reference {
        Location::Local(r) => {
            lamina_oci::open(r, &plan.platform).with_context(|| format!("{r}"))?
        }
        Location::Registry(r) => {
            lamina_registry::pull::pull(&client, &cache.blobs(), r, &plan.platform)
                .with_context(|| format!("{r}"))?
                .0
        }
    };
    let log = |m: String| obs.line(m);
    log(format!(
        "verify: rebuilding {} with no cache (a private empty cache, removed afterwards)",
        plan.project.display()
    ));
    let base = crate::base::open(&plan, &client, &cache)?;
    let index = super::index_client(conn);
    let variant = base.host_variant.as_ref();
    let built = build::build_with(&plan, base.image, variant, &cache, &index, &mut |m| log(m))?;
    let rebuilt = verify::same_family(&built.image, &published);
    log(format!(
        "verify: rebuilt {} ({} media types), {reference} is {}",
        rebuilt.digest(),
        verify::family(rebuilt.format),
        published.digest()
    ));
    let names = verify::layer_names(
        built.base_layers,
        built.new_layers.iter().map(|n| n.name.clone()),
    );
    let difference = verify::compare(&built.image, &published, &names)?;
    // The attestations, compared with the rebuild's: only once the image itself matched.
    let mut attestations = Vec::new();
    if let (None, Location::Registry(r), true) = (&difference, reference, plan.attest) {
        let inventory = crate::attestation::inventory(&plan, &built)?;
        let checked =
            crate::attestation::verify_attached(&client, r, &published.digest(), &inventory)?;
        for a in &checked.attached {
            log(format!(
                "verify: the attached {} {} is exactly what these inputs produce ({})",
                a.kind,
                a.digest,
                checked.via.name()
            ));
        }
        for o in &checked.others {
            log(format!("verify: also attached, not from these inputs: {o}"));
        }
        attestations = checked.attached;
    }
    drop(cache);
    scratch
        .close()
        .context("removing the rebuild's private cache")?;
    match difference {
        None => {
            log(format!(
                "verify: {reference} is exactly what these inputs build"
            ));
            Ok(Verified {
                digest: rebuilt.digest(),
                attestations,
            })
        }
        Some(what) => Err(Mismatch {
            reference: reference.to_string(),
            what,
        }
        .into()),
    }
}
