//! What an image is made of, written as documents other tools read: an SBOM (SPDX 2.3 JSON by
//! default, CycloneDX 1.6 JSON on request) and an in-toto statement carrying a SLSA provenance v1
//! predicate. Each is a pure function of an [`Inventory`]: the same inventory gives the same bytes
//! (keys sorted, no clock: the only time is the build's `SOURCE_DATE_EPOCH`). The inventory names
//! the image by its manifest digest and a name that does not depend on where it is pushed, so an
//! image copied to another repository or region keeps byte-identical attestations.
//!
//! It knows no registry, no OCI layout and no Python packaging: lamina-core fills the inventory
//! from a build, lamina-oci wraps a document as an artifact, lamina-registry attaches it.

mod cyclonedx;
mod provenance;
mod spdx;

use std::collections::BTreeMap;

/// The SBOM formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SbomFormat {
    #[default]
    Spdx,
    CycloneDx,
}

impl SbomFormat {
    /// The document's media type, also the OCI artifact's `artifactType`.
    pub fn media_type(self) -> &'static str {
        match self {
            SbomFormat::Spdx => SPDX_MEDIA_TYPE,
            SbomFormat::CycloneDx => CYCLONEDX_MEDIA_TYPE,
        }
    }

    /// `spdx` or `cyclonedx` (any case; `spdx-json`, `cyclonedx-json` and `cdx` too).
    pub fn parse(s: &str) -> Option<SbomFormat> {
        match s.to_ascii_lowercase().as_str() {
            "spdx" | "spdx-json" => Some(SbomFormat::Spdx),
            "cyclonedx" | "cyclonedx-json" | "cdx" => Some(SbomFormat::CycloneDx),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "spdx",
            SbomFormat::CycloneDx => "cyclonedx",
        }
    }
}

pub const SPDX_MEDIA_TYPE: &str = "application/spdx+json";
pub const CYCLONEDX_MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";
/// An in-toto statement (what BuildKit and cosign attach provenance as).
pub const IN_TOTO_MEDIA_TYPE: &str = "application/vnd.in-toto+json";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// Everything the documents say, decided by the build's inputs alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Inventory {
    /// The image manifest digest, `sha256:…`.
    pub image_digest: String,
    /// What the documents call the image (the title label, else `image`).
    pub image_name: String,
    /// `linux/amd64`.
    pub platform: String,
    pub base: Base,
    /// Every installed distribution, sorted by name.
    pub distributions: Vec<Distribution>,
    pub source: Source,
    /// The lock file, when the dependencies came from one: its file name and sha256 (hex).
    pub lock: Option<(String, String)>,
    /// The build parameters that change the output (provenance `externalParameters`).
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// `SOURCE_DATE_EPOCH` (0 when unset): the documents' only time.
    pub epoch: u64,
    /// lamina's version.
    pub tool_version: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Base {
    /// `public.ecr.aws/lambda/python:3.12`, or `oci:DIRNAME:TAG` for a local layout.
    pub reference: String,
    /// The base image's manifest digest, `sha256:…`.
    pub digest: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    /// The project name as its wheel spells it (`google_ads` → METADATA's `google-ads`).
    pub name: String,
    pub version: String,
    /// The wheel's file name and its sha256 (hex).
    pub wheel: String,
    pub sha256: String,
    /// What METADATA declares (lamina-python decides): an SPDX expression, or free text.
    pub license: Option<License>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum License {
    Expression(String),
    Text(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The source layer's diff_id (`sha256:…` of its uncompressed tar): the tree as shipped.
    pub digest: String,
    pub files: usize,
}

impl Inventory {
    /// The SBOM in `format`.
    pub fn sbom(&self, format: SbomFormat) -> Vec<u8> {
        match format {
            SbomFormat::Spdx => render(&spdx::document(self)),
            SbomFormat::CycloneDx => render(&cyclonedx::document(self)),
        }
    }

    /// The in-toto statement with the SLSA provenance v1 predicate.
    pub fn provenance(&self) -> Vec<u8> {
        render(&provenance::statement(self))
    }

    fn hex(&self) -> &str {
        self.image_digest
            .strip_prefix("sha256:")
            .unwrap_or(&self.image_digest)
    }

    /// `2023-11-14T22:13:20Z`.
    fn created(&self) -> String {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.epoch);
        humantime::format_rfc3339_seconds(t).to_string()
    }
}

/// `pkg:pypi/google-ads@34.0.0`: the PURL spec writes PyPI names normalized as PEP 503 does
/// (lowercase, each run of `-`, `_`, `.` one `-`) and percent-encodes the version (`+` → `%2B`).
pub fn pypi_purl(name: &str, version: &str) -> String {
    let mut n = String::new();
    for c in name.to_ascii_lowercase().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !n.ends_with('-') {
                n.push('-');
            }
        } else {
            n.push(c);
        }
    }
    format!("pkg:pypi/{n}@{}", purl_encode(version))
}

/// `pkg:oci/python@sha256%3A…?repository_url=public.ecr.aws/lambda/python&tag=3.12` for a
/// registry image; `pkg:oci/NAME@sha256%3A…` for a local layout (no repository to name).
pub fn oci_purl(reference: &str, digest: &str) -> String {
    let reference = reference.split('@').next().unwrap_or(reference);
    let reference = reference.strip_prefix("oci:").unwrap_or(reference);
    // The tag is after the last `:` of the last path segment (a host's port is not a tag).
    let last = reference.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match reference[last..].rsplit_once(':') {
        Some((_, t)) => (&reference[..reference.len() - t.len() - 1], Some(t)),
        None => (reference, None),
    };
    let name = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
    let mut out = format!("pkg:oci/{}@{}", purl_encode(&name), purl_encode(digest));
    let mut query = Vec::new();
    if repo.contains('/') {
        query.push(format!("repository_url={repo}"));
    }
    if let Some(t) = tag {
        query.push(format!("tag={}", purl_encode(t)));
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

/// Percent-encodes what a PURL segment may not hold as is.
fn purl_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Pretty JSON with every object's keys sorted (whatever serde_json's map type) and a final
/// newline: the bytes that are hashed and pushed.
fn render(v: &serde_json::Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&sorted(v)).expect("a JSON value serializes");
    out.push(b'\n');
    out
}

fn sorted(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
