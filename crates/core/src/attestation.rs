//! The image's attestations: its inventory read off the build (the base by digest, each wheel by
//! name, version, sha256 and declared license, the source layer by diff_id, the lock by sha256,
//! the parameters that change the output), the SBOM and provenance `lamina-attest` writes from
//! it, those documents as OCI artifacts whose subject is the image, the local copies `--sbom` and
//! `--provenance` ask for, and `verify`'s check of what a registry holds against a rebuild. It
//! pushes nothing itself (the registry sink attaches the artifacts) and prints nothing.

use crate::build::Built;
use crate::config::Plan;
use crate::location::Location;
use lamina_attest::{Base, Distribution, Inventory, SbomFormat, Source};
use lamina_attest::{
    CYCLONEDX_MEDIA_TYPE, IN_TOTO_MEDIA_TYPE, SLSA_PROVENANCE_V1, SPDX_MEDIA_TYPE,
};
use lamina_oci::artifact::{Artifact, Subject};
use lamina_oci::reference::ImageRef;
use lamina_oci::Image;
use lamina_registry::referrers::{self, Via};
use lamina_registry::{Client, Reference, RegistryError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

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
            AttestError::Write { .. } => Some("pass --sbom / --provenance a path in a directory you can write to".into()),
            AttestError::Fetch { source, .. } => source.hint(),
            AttestError::Mismatch { .. } => Some(
                "the attestations attached to the image are not what these inputs produce: someone changed them, or they came from other inputs; push the image again with lamina build --push to attach the right ones".into(),
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

/// What an image's attestations call it: its title label, else `image`.
fn image_name(plan: &Plan) -> String {
    plan.labels
        .get("org.opencontainers.image.title")
        .cloned()
        .unwrap_or_else(|| "image".into())
}

/// The base as the documents name it: a registry reference as written; a local layout by its
/// directory's name (not its path, which differs between machines).
fn base_reference(plan: &Plan) -> String {
    match &plan.base {
        Location::Registry(r) => r.to_string(),
        Location::Local(ImageRef::Layout { dir, tag }) => format!(
            "oci:{}{}",
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            tag.as_deref().map_or_else(String::new, |t| format!(":{t}"))
        ),
        Location::Local(other) => other.to_string(),
    }
}

/// METADATA headers by wheel file name (from the wheels read, or the facts recorded for them).
fn metadata_by_file(built: &Built) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Some((deps, _)) = &built.deps else {
        return out;
    };
    for w in &deps.wheels {
        if let Some(f) = w.path.file_name() {
            out.insert(f.to_string_lossy().into_owned(), w.metadata.clone());
        }
    }
    if let Some(r) = &deps.recorded {
        for w in &r.wheels {
            out.entry(w.filename.clone())
                .or_insert_with(|| w.metadata.clone());
        }
    }
    out
}

fn header<'a>(metadata: &'a str, key: &str) -> Option<&'a str> {
    metadata
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest as _;
    Ok(hex::encode(sha2::Sha256::digest(std::fs::read(path)?)))
}

/// Everything the documents say about this build.
pub fn inventory(plan: &Plan, built: &Built) -> Result<Inventory, AttestError> {
    let metadata = metadata_by_file(built);
    let mut distributions: Vec<Distribution> = built
        .wheels
        .iter()
        .map(|(file, sha256)| {
            let meta = metadata.get(file).map(String::as_str).unwrap_or("");
            let parsed = lamina_python::wheel_name::WheelName::parse(file).ok();
            let name = header(meta, "Name")
                .map(str::to_string)
                .or_else(|| parsed.as_ref().map(|w| w.name.clone()))
                .unwrap_or_else(|| file.clone());
            let version = header(meta, "Version")
                .map(str::to_string)
                .or_else(|| parsed.as_ref().map(|w| w.version.clone()))
                .unwrap_or_default();
            Distribution {
                name,
                version,
                wheel: file.clone(),
                sha256: sha256.clone(),
                license: lamina_attest::declared_license(meta),
            }
        })
        .collect();
    distributions.sort_by(|a, b| {
        (a.name.to_ascii_lowercase(), &a.version, &a.wheel).cmp(&(
            b.name.to_ascii_lowercase(),
            &b.version,
            &b.wheel,
        ))
    });
    let source = built
        .new_layers
        .iter()
        .find(|l| l.name == "source")
        .map(|l| Source {
            digest: l.layer.diff_id.to_string(),
            files: l.layer.file_count as usize,
        })
        .unwrap_or(Source {
            digest: String::new(),
            files: 0,
        });
    let lock = match plan.deps.as_ref().and_then(|d| d.lock.as_ref()) {
        Some(path) => Some((
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            sha256_file(path).map_err(|source| AttestError::Lock {
                path: path.clone(),
                source,
            })?,
        )),
        None => None,
    };
    let mut parameters = BTreeMap::new();
    parameters.insert("handlers".to_string(), json!(plan.handlers));
    parameters.insert("src".to_string(), json!(plan.srcs));
    parameters.insert("env".to_string(), json!(plan.env));
    parameters.insert("labels".to_string(), json!(plan.labels));
    parameters.insert("platform".to_string(), json!(plan.platform.to_string()));
    parameters.insert("compile_bytecode".to_string(), json!(plan.compile_bytecode));
    if let Some(p) = plan.python {
        parameters.insert("python".to_string(), json!(format!("3.{p}")));
    }
    Ok(Inventory {
        image_digest: built.image.digest().to_string(),
        image_name: image_name(plan),
        platform: plan.platform.to_string(),
        base: Base {
            reference: base_reference(plan),
            digest: built.base_digest.to_string(),
        },
        distributions,
        source,
        lock,
        parameters,
        epoch: plan.epoch,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// The SBOM (in the plan's format) and the provenance of this build.
pub fn documents(plan: &Plan, built: &Built) -> Result<Attestations, AttestError> {
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
        let provenance_notes: BTreeMap<String, String> = [(
            "in-toto.io/predicate-type".to_string(),
            SLSA_PROVENANCE_V1.to_string(),
        )]
        .into();
        vec![
            Artifact {
                artifact_type: self.format.media_type().to_string(),
                document: self.sbom.clone(),
                subject: subject.clone(),
                annotations: BTreeMap::new(),
            },
            Artifact {
                artifact_type: IN_TOTO_MEDIA_TYPE.to_string(),
                document: self.provenance.clone(),
                subject,
                annotations: provenance_notes,
            },
        ]
    }

    /// `--sbom FILE` and `--provenance FILE`, each written whole (a temporary file renamed).
    pub fn write_files(&self, plan: &Plan) -> Result<Vec<PathBuf>, AttestError> {
        let mut written = Vec::new();
        for (path, bytes) in [
            (&plan.sbom_out, &self.sbom),
            (&plan.provenance_out, &self.provenance),
        ] {
            if let Some(path) = path {
                write_whole(path, bytes)?;
                written.push(path.clone());
            }
        }
        Ok(written)
    }
}

fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), AttestError> {
    use std::io::Write as _;
    let err = |source| AttestError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(&lamina_support::cleanup::prefix(".tmp-"))
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// What kind of document an artifact type is.
pub fn kind_of(artifact_type: &str) -> Option<&'static str> {
    match artifact_type {
        SPDX_MEDIA_TYPE | CYCLONEDX_MEDIA_TYPE => Some("sbom"),
        IN_TOTO_MEDIA_TYPE => Some("provenance"),
        _ => None,
    }
}

/// More SBOMs and provenances than any build attaches, by far.
const MAX_ATTESTATIONS: usize = 32;

/// The attestations of `subject` in `r`'s repository, each compared with what `inv` produces:
/// at least one SBOM and the provenance must be there, each equal byte for byte, each about
/// `subject`. Returns what was checked and how the registry keeps referrers.
pub fn verify_attached(
    client: &Client,
    r: &Reference,
    subject: &oci_spec::image::Digest,
    inv: &Inventory,
) -> Result<(Vec<Attached>, Via), AttestError> {
    let reference = r.to_string();
    let fetch = |source| AttestError::Fetch {
        reference: reference.clone(),
        source,
    };
    let (list, via) = referrers::list(client, r, subject).map_err(fetch)?;
    // A hostile list must not make verify fetch without end.
    let known = list
        .iter()
        .filter(|x| kind_of(&x.artifact_type).is_some())
        .count();
    if known > MAX_ATTESTATIONS {
        return Err(AttestError::Mismatch {
            reference,
            what: format!("{known} attestations are listed for {subject}; verify reads at most {MAX_ATTESTATIONS}"),
        });
    }
    let mut checked = Vec::new();
    let mut seen_sbom = false;
    let mut seen_provenance = false;
    for referrer in &list {
        let Some(kind) = kind_of(&referrer.artifact_type) else {
            continue;
        };
        let (doc, about) = referrers::document(client, r, referrer).map_err(fetch)?;
        if about.as_ref() != Some(subject) {
            return Err(AttestError::Mismatch {
                reference,
                what: format!(
                    "the {kind} {} is listed as a referrer but its subject is {}, not the image",
                    referrer.digest,
                    about.map_or_else(|| "missing".to_string(), |d| d.to_string())
                ),
            });
        }
        let expected = match referrer.artifact_type.as_str() {
            SPDX_MEDIA_TYPE => inv.sbom(SbomFormat::Spdx),
            CYCLONEDX_MEDIA_TYPE => inv.sbom(SbomFormat::CycloneDx),
            _ => inv.provenance(),
        };
        if let Some(what) = difference(&expected, &doc) {
            return Err(AttestError::Mismatch {
                reference,
                what: format!(
                    "the attached {kind} {} differs from the rebuild's: {what}",
                    referrer.digest
                ),
            });
        }
        seen_sbom |= kind == "sbom";
        seen_provenance |= kind == "provenance";
        checked.push(Attached {
            kind,
            artifact_type: referrer.artifact_type.clone(),
            digest: referrer.digest.to_string(),
        });
    }
    let missing = match (seen_sbom, seen_provenance) {
        (true, true) => None,
        (false, false) => Some("SBOM or provenance"),
        (false, true) => Some("SBOM"),
        (true, false) => Some("provenance"),
    };
    if let Some(missing) = missing {
        return Err(AttestError::Missing {
            reference,
            missing: missing.into(),
            digest: subject.to_string(),
        });
    }
    Ok((checked, via))
}

/// Where two JSON documents first differ (`packages[3].versionInfo: "1.0" here, "1.1" attached`),
/// or `None` when the bytes are equal.
pub fn difference(expected: &[u8], got: &[u8]) -> Option<String> {
    if expected == got {
        return None;
    }
    let (Ok(e), Ok(g)) = (
        serde_json::from_slice::<Value>(expected),
        serde_json::from_slice::<Value>(got),
    ) else {
        return Some("the attached document is not JSON".into());
    };
    Some(
        first_difference(&e, &g, "").unwrap_or_else(|| "the same JSON, written differently".into()),
    )
}

fn first_difference(e: &Value, g: &Value, at: &str) -> Option<String> {
    let short = |v: &Value| {
        let s = v.to_string();
        if s.chars().count() > 80 {
            format!("{}…", s.chars().take(80).collect::<String>())
        } else {
            s
        }
    };
    match (e, g) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match b.get(k) {
                    None => return Some(format!("{path}: missing from the attached one")),
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, &path) {
                            return Some(d);
                        }
                    }
                }
            }
            b.keys().find(|k| !a.contains_key(*k)).map(|k| {
                format!(
                    "{}{k}: only in the attached one",
                    if at.is_empty() {
                        String::new()
                    } else {
                        format!("{at}.")
                    }
                )
            })
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                if let Some(d) = first_difference(v, w, &format!("{at}[{i}]")) {
                    return Some(d);
                }
            }
            (a.len() != b.len())
                .then(|| format!("{at}: {} entries here, {} attached", a.len(), b.len()))
        }
        _ if e == g => None,
        _ => Some(format!(
            "{at}: {} from these inputs, {} attached",
            short(e),
            short(g)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::difference;

    #[test]
    fn a_difference_names_the_first_path_that_differs() {
        let a = br#"{"packages":[{"name":"a","versionInfo":"1.0"}],"x":1}"#;
        let b = br#"{"packages":[{"name":"a","versionInfo":"1.1"}],"x":1}"#;
        assert_eq!(
            difference(a, b).unwrap(),
            r#"packages[0].versionInfo: "1.0" from these inputs, "1.1" attached"#
        );
        assert_eq!(difference(a, a), None);
        assert_eq!(
            difference(a, b"nope").unwrap(),
            "the attached document is not JSON"
        );
        let c = br#"{"packages":[],"x":1}"#;
        assert_eq!(
            difference(a, c).unwrap(),
            "packages: 1 entries here, 0 attached"
        );
    }
}
