//! OCI 1.1 artifacts as values: a document (an SBOM, a provenance statement) wrapped in an image
//! manifest with `artifactType`, the empty config and a `subject` naming the image it is about,
//! and the referrers index (an OCI index of such manifests) that a registry without the referrers
//! API keeps under the `sha256-<hex>` tag. Bytes are canonical JSON, so the same document about the
//! same image is the same manifest digest everywhere. It knows no HTTP: lamina-registry pushes and
//! lists them.

use crate::{canonical_json, media, sha256_digest};
use oci_spec::image::Digest;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The annotation lamina marks its own documents with (`sbom`, `provenance`): a later push of the
/// same image replaces the entries carrying it, and leaves every other entry alone.
pub const WRITER_ANNOTATION: &str = "dev.lamina.attestation";

/// The empty config every artifact manifest carries: the two bytes `{}`.
pub const EMPTY_CONFIG: &[u8] = b"{}";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// What an artifact is about: the subject image's manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

/// One document attached to an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The document's media type, also the manifest's `artifactType`.
    pub artifact_type: String,
    pub document: Vec<u8>,
    pub subject: Subject,
    /// Copied into the manifest and into its referrers-index entry.
    pub annotations: BTreeMap<String, String>,
}

impl Artifact {
    pub fn document_digest(&self) -> Digest {
        sha256_digest(&self.document)
    }

    pub fn manifest_bytes(&self) -> Vec<u8> {
        let mut m = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "artifactType": self.artifact_type,
            "config": {
                "mediaType": EMPTY_MEDIA_TYPE,
                "digest": sha256_digest(EMPTY_CONFIG).to_string(),
                "size": EMPTY_CONFIG.len(),
            },
            "layers": [{
                "mediaType": self.artifact_type,
                "digest": self.document_digest().to_string(),
                "size": self.document.len(),
            }],
            "subject": {
                "mediaType": self.subject.media_type,
                "digest": self.subject.digest.to_string(),
                "size": self.subject.size,
            },
        });
        if !self.annotations.is_empty() {
            m["annotations"] = json!(self.annotations);
        }
        canonical_json(&m)
    }

    pub fn manifest_digest(&self) -> Digest {
        sha256_digest(&self.manifest_bytes())
    }

    /// This artifact's entry in a referrers list.
    pub fn descriptor(&self) -> Referrer {
        Referrer {
            digest: self.manifest_digest(),
            size: self.manifest_bytes().len() as u64,
            artifact_type: self.artifact_type.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

/// One entry of a referrers list (the API's answer, or the tag schema's index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referrer {
    pub digest: Digest,
    pub size: u64,
    pub artifact_type: String,
    pub annotations: BTreeMap<String, String>,
}

/// `sha256-<hex>`: the tag the referrers tag schema keeps a subject's referrers under.
pub fn referrers_tag(subject: &Digest) -> String {
    subject.to_string().replacen(':', "-", 1)
}

/// Parses a referrers index (from the API or the tag schema). Entries that are not image
/// manifests with a valid digest are skipped; a body that is not an index is an error.
pub fn parse_referrers(bytes: &[u8]) -> Result<Vec<Referrer>, String> {
    let v: Value = crate::parse_json(bytes)?;
    let Some(list) = v.get("manifests").and_then(Value::as_array) else {
        return Err("not an image index (no `manifests` list)".into());
    };
    let mut out = Vec::new();
    for m in list {
        let Some(digest) = m["digest"].as_str().and_then(crate::parse_digest) else {
            continue;
        };
        let annotations = m["annotations"]
            .as_object()
            .map(|a| {
                a.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Referrer {
            digest,
            size: m["size"].as_u64().unwrap_or(0),
            artifact_type: m["artifactType"].as_str().unwrap_or("").to_string(),
            annotations,
        });
    }
    Ok(out)
}

/// The referrers index holding `entries` (in order, each digest once).
pub fn referrers_index(entries: &[Referrer]) -> Vec<u8> {
    merge_referrers(None, entries, "").expect("an empty index merges")
}

/// `entry` as an index descriptor.
fn descriptor_json(r: &Referrer) -> Value {
    let mut m = Map::new();
    m.insert("mediaType".into(), json!(media::OCI_MANIFEST));
    m.insert("digest".into(), json!(r.digest.to_string()));
    m.insert("size".into(), json!(r.size));
    m.insert("artifactType".into(), json!(r.artifact_type));
    if !r.annotations.is_empty() {
        m.insert("annotations".into(), json!(r.annotations));
    }
    Value::Object(m)
}

/// The tag schema's index after adding `ours` to `existing` (the tag's current bytes, if any).
/// Entries other tools put there are kept exactly as they were (raw JSON); an entry with the
/// digest of one of ours is replaced by ours (so a mislabelled one is repaired); an entry carrying
/// `owner_key` (the annotation marking the writer's own documents) that is not one of ours is
/// dropped, so a stale or forged attestation of the same writer does not linger. A tag that is
/// not an index is an error.
pub fn merge_referrers(
    existing: Option<&[u8]>,
    ours: &[Referrer],
    owner_key: &str,
) -> Result<Vec<u8>, String> {
    let ours_digests: Vec<String> = ours.iter().map(|r| r.digest.to_string()).collect();
    let mut manifests: Vec<Value> = Vec::new();
    if let Some(bytes) = existing {
        let v: Value = crate::parse_json(bytes)?;
        let Some(list) = v.get("manifests").and_then(Value::as_array) else {
            return Err("not an image index (no `manifests` list)".into());
        };
        for m in list {
            let digest = m["digest"].as_str().unwrap_or("");
            let owned = !owner_key.is_empty() && m["annotations"].get(owner_key).is_some();
            if ours_digests.iter().any(|d| d == digest) || owned {
                continue;
            }
            manifests.push(m.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    for r in ours {
        if seen.insert(r.digest.clone()) {
            manifests.push(descriptor_json(r));
        }
    }
    Ok(canonical_json(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": manifests,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(doc: &[u8]) -> Artifact {
        Artifact {
            artifact_type: "application/spdx+json".into(),
            document: doc.to_vec(),
            subject: Subject {
                media_type: media::OCI_MANIFEST.into(),
                digest: sha256_digest(b"image"),
                size: 5,
            },
            annotations: BTreeMap::new(),
        }
    }

    #[test]
    fn an_artifact_manifest_has_the_empty_config_and_its_subject() {
        let a = artifact(b"{\"x\":1}");
        let m: Value = serde_json::from_slice(&a.manifest_bytes()).unwrap();
        assert_eq!(m["artifactType"], "application/spdx+json");
        assert_eq!(m["config"]["mediaType"], EMPTY_MEDIA_TYPE);
        assert_eq!(
            m["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(m["subject"]["digest"], sha256_digest(b"image").to_string());
        assert_eq!(m["layers"][0]["digest"], a.document_digest().to_string());
        assert_eq!(a.manifest_bytes(), artifact(b"{\"x\":1}").manifest_bytes());
    }

    #[test]
    fn merging_keeps_other_tools_entries_as_they_were_and_replaces_the_writers_own() {
        let mut ours = artifact(b"new").descriptor();
        ours.annotations
            .insert("dev.lamina.attestation".into(), "sbom".into());
        let foreign = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha512:abc", "artifactType": "x", "annotations": {"n": 1}});
        let stale = json!({"mediaType": media::OCI_MANIFEST, "digest": sha256_digest(b"old").to_string(), "size": 1, "annotations": {"dev.lamina.attestation": "sbom"}});
        let mislabelled = json!({"mediaType": media::OCI_MANIFEST, "digest": ours.digest.to_string(), "size": 9, "artifactType": "wrong"});
        let existing = serde_json::to_vec(
            &json!({"schemaVersion": 2, "manifests": [foreign, stale, mislabelled]}),
        )
        .unwrap();
        let merged =
            merge_referrers(Some(&existing), &[ours.clone()], "dev.lamina.attestation").unwrap();
        let v: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(v["manifests"].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(
            v["manifests"][0], foreign,
            "kept byte for byte, non-sha256 digest and all"
        );
        assert_eq!(parse_referrers(&merged).unwrap(), vec![ours]);
        assert!(merge_referrers(Some(b"{\"layers\": []}"), &[], "k").is_err());
    }

    #[test]
    fn the_referrers_index_round_trips_and_keeps_each_digest_once() {
        let (a, b) = (artifact(b"1").descriptor(), artifact(b"2").descriptor());
        let bytes = referrers_index(&[a.clone(), b.clone(), a.clone()]);
        assert_eq!(parse_referrers(&bytes).unwrap(), vec![a, b]);
        assert!(parse_referrers(b"{}").is_err());
        assert_eq!(
            referrers_tag(&sha256_digest(b"")),
            "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
