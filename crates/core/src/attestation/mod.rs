//! The image's attestations: its inventory read off the build (the base by digest, each wheel by
//! name, version, sha256 and declared license, the source layer by diff_id, the lock by sha256,
//! the parameters that change the output), the SBOM and provenance `lamina-attest` writes from
//! it, those documents as OCI artifacts whose subject is the image, the local copies `--sbom` and
//! `--provenance` ask for, and `verify`'s check of what a registry holds against a rebuild. It
//! pushes nothing itself (the registry sink attaches the artifacts) and prints nothing.

mod files;
mod inventory;
mod verify;

pub use files::check_paths;
pub use inventory::inventory;
pub use verify::{difference, verify_attached, Checked};

use crate::build::Built;
use crate::config::Plan;
use lamina_attest::SbomFormat;
use lamina_attest::{
    CYCLONEDX_MEDIA_TYPE, IN_TOTO_MEDIA_TYPE, SLSA_PROVENANCE_V1, SPDX_MEDIA_TYPE,
};
use lamina_oci::artifact::{Artifact, Subject, WRITER_ANNOTATION};
use lamina_oci::Image;
use lamina_registry::RegistryError;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("reading the lock {path} for the provenance")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{flag} {path}: {why}")]
    Path {
        flag: &'static str,
        path: PathBuf,
        why: String,
    },
    #[error("{reference}: {count} SBOMs and provenances are listed for the image; verify reads at most {max}")]
    TooMany {
        reference: String,
        count: usize,
        max: usize,
    },
    #[error("{reference}: reading its attestations")]
    Fetch {
        reference: String,
        source: RegistryError,
    },
    #[error("{reference}: {what}")]
    Mismatch { reference: String, what: String },
    #[error("{reference}: no {missing} is attached (OCI referrers of {digest})")]
    Missing {
        reference: String,
        missing: String,
        digest: String,
    },
}

impl lamina_support::diagnostic::Hint for AttestError {
    fn hint(&self) -> Option<String> {
        match self {
            AttestError::Lock { source, .. } => source.hint(),
            AttestError::Write { .. } | AttestError::Path { .. } => Some(
                "pass --sbom and --provenance two different file paths in a directory you can write to".into(),
            ),
            AttestError::TooMany { .. } => Some(
                "the referrers list was flooded: push the image again with lamina build --push (on a registry without the referrers API this rewrites the sha256-… tag), or inspect the list".into(),
            ),
            AttestError::Fetch { source, .. } => source.hint(),
            AttestError::Mismatch { .. } => Some(
                "the attestations attached to the image are not what these inputs produce (someone changed them, they came from other inputs, or from another lamina version): push the image again with lamina build --push to attach the right ones".into(),
            ),
            AttestError::Missing { .. } => Some(
                "lamina build --push attaches them (unless --no-attest or attest = false); pass --no-attest to verify the image alone".into(),
            ),
        }
    }
}

/// One attached document: what it is, its media type and the artifact manifest's digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attached {
    /// `sbom` or `provenance`.
    pub kind: &'static str,
    pub artifact_type: String,
    pub digest: String,
}

/// The documents of one build.
#[derive(Clone, Debug)]
pub struct Attestations {
    pub format: SbomFormat,
    pub sbom: Vec<u8>,
    pub provenance: Vec<u8>,
}

/// The SBOM (in the plan's format) and the provenance of this build.
pub fn documents(plan: &Plan, built: &Built) -> Result<Attestations, AttestError> {
    // The local files' paths were checked before the build (`check_paths`).
    let inv = inventory(plan, built)?;
    Ok(Attestations {
        format: plan.sbom_format,
        sbom: inv.sbom(plan.sbom_format),
        provenance: inv.provenance(),
    })
}

impl Attestations {
    /// The documents as OCI artifacts about `image` (SBOM first, then provenance).
    pub fn artifacts(&self, image: &Image) -> Vec<Artifact> {
        let subject = Subject {
            media_type: image.format.manifest_type().to_string(),
            digest: image.digest(),
            size: image.manifest_bytes().len() as u64,
        };
        let sbom_notes: BTreeMap<String, String> =
            [(WRITER_ANNOTATION.to_string(), "sbom".to_string())].into();
        let provenance_notes: BTreeMap<String, String> = [
            (
                "in-toto.io/predicate-type".to_string(),
                SLSA_PROVENANCE_V1.to_string(),
            ),
            (WRITER_ANNOTATION.to_string(), "provenance".to_string()),
        ]
        .into();
        vec![
            Artifact {
                artifact_type: self.format.media_type().to_string(),
                document: self.sbom.clone(),
                subject: subject.clone(),
                annotations: sbom_notes,
            },
            Artifact {
                artifact_type: IN_TOTO_MEDIA_TYPE.to_string(),
                document: self.provenance.clone(),
                subject,
                annotations: provenance_notes,
            },
        ]
    }

    /// `--sbom FILE` and `--provenance FILE` (paths checked before the build).
    pub fn write_files(&self, plan: &Plan) -> Result<Vec<PathBuf>, AttestError> {
        files::write(self, plan)
    }
}

/// What kind of document an artifact type is.
pub fn kind_of(artifact_type: &str) -> Option<&'static str> {
    match artifact_type {
        SPDX_MEDIA_TYPE | CYCLONEDX_MEDIA_TYPE => Some("sbom"),
        IN_TOTO_MEDIA_TYPE => Some("provenance"),
        _ => None,
    }
}
