//! `lamina sbom REF`: the SBOM attached to a registry image, as it is stored (the document's own
//! bytes, verified against their digest). REF may be a tag (resolved to the manifest for the
//! platform) or a digest. It rebuilds nothing and compares nothing: `verify` does that.

use super::Connection;
use crate::attestation::kind_of;
use lamina_attest::SbomFormat;
use lamina_cache::Cache;
use lamina_oci::Platform;
use lamina_registry::{referrers, Reference};
use lamina_support::diagnostic::{Context, Failure, Result};

/// The SBOM found, and where.
pub struct Sbom {
    pub document: Vec<u8>,
    pub artifact_type: String,
    /// The image it is about: `REPO@sha256:…`.
    pub subject: String,
    /// The artifact manifest's digest.
    pub digest: String,
}

/// The SBOM attached to `reference` (in `format` when given; else SPDX, then CycloneDX).
pub fn sbom(
    reference: &str,
    format: Option<SbomFormat>,
    platform: &Platform,
    cache: &Cache,
    conn: &Connection,
) -> Result<Sbom> {
    let r = Reference::parse(reference.strip_prefix("docker://").unwrap_or(reference))?;
    let ecr = conn.ecr_credentials(&[r.host.as_str()])?;
    let client = conn.client_with(Some(&r.host), ecr, false)?;
    // The manifest the reference names; an index is resolved for the platform.
    let (_, media_type, digest) =
        lamina_registry::pull::fetch_manifest(&client, &cache.blobs(), &r, &r.reference())
            .with_context(|| format!("{r}"))?;
    let digest = if media_type == lamina_oci::media::OCI_INDEX
        || media_type == lamina_oci::media::DOCKER_LIST
    {
        lamina_registry::pull::pull(&client, &cache.blobs(), &r, platform)
            .with_context(|| format!("{r}"))?
            .1
    } else {
        digest
    };
    let (list, via) = referrers::list(&client, &r, &digest)
        .with_context(|| format!("{}@{digest}", r.repo_name()))?;
    let wanted: Vec<SbomFormat> = match format {
        Some(f) => vec![f],
        None => vec![SbomFormat::Spdx, SbomFormat::CycloneDx],
    };
    // lamina's own first (marked), then by digest: the same answer for the same list.
    let mut ordered: Vec<_> = list.iter().collect();
    ordered.sort_by_key(|x| {
        (
            !x.annotations
                .contains_key(lamina_oci::artifact::WRITER_ANNOTATION),
            x.digest.to_string(),
        )
    });
    let found = wanted.iter().find_map(|f| {
        ordered
            .iter()
            .find(|x| x.artifact_type == f.media_type())
            .copied()
    });
    let Some(found) = found else {
        let other: Vec<&str> = list
            .iter()
            .filter(|x| kind_of(&x.artifact_type) == Some("sbom"))
            .map(|x| x.artifact_type.as_str())
            .collect();
        let what = match format {
            Some(f) => format!("no {} SBOM", f.name()),
            None => "no SBOM".to_string(),
        };
        let hint = if other.is_empty() {
            "push the image with lamina build --push (attestations are on by default)".to_string()
        } else {
            format!("it has {}: ask for it with --format", other.join(", "))
        };
        return Err(Failure::msg(
            format!(
                "{}@{digest}: {what} is attached ({} referrers found via the {})",
                r.repo_name(),
                list.len(),
                via.name()
            ),
            Some(&hint),
        ));
    };
    let (document, about) = referrers::document(&client, &r, found)
        .with_context(|| format!("{}@{digest}", r.repo_name()))?;
    if about.as_ref() != Some(&digest) {
        return Err(Failure::msg(
            format!(
                "{}@{digest}: the SBOM {} listed for it names another subject",
                r.repo_name(),
                found.digest
            ),
            Some(
                "the registry's referrers list is wrong or was tampered with; push the image again",
            ),
        ));
    }
    if serde_json::from_slice::<serde_json::Value>(&document).is_err() {
        return Err(Failure::msg(
            format!(
                "{}@{digest}: the SBOM {} is not JSON; nothing was printed",
                r.repo_name(),
                found.digest
            ),
            Some("the registry holds something else under the SBOM's digest; push the image again"),
        ));
    }
    Ok(Sbom {
        document,
        artifact_type: found.artifact_type.clone(),
        subject: format!("{}@{digest}", r.repo_name()),
        digest: found.digest.to_string(),
    })
}
