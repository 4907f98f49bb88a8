//! `verify`'s check of the attestations a registry holds for an image: its referrers listed (the
//! API, else the tag schema), each SBOM and provenance fetched (bytes checked against their
//! digests, the manifest's type and size against the list's), and compared byte for byte with
//! what the rebuild produces. The image is proven when one SBOM and one provenance about it equal
//! the rebuild's; other entries (another tool's statement, an older push's provenance) are
//! reported, not failed. No match fails naming the first JSON path that differs.

use super::{kind_of, Attached, AttestError};
use lamina_attest::{
    Inventory, SbomFormat, CYCLONEDX_MEDIA_TYPE, SLSA_PROVENANCE_V1, SPDX_MEDIA_TYPE,
};
use lamina_oci::artifact::Referrer;
use lamina_registry::referrers::{self, Via};
use lamina_registry::{Client, Reference};
use serde_json::Value;

/// More SBOMs and provenances than any build attaches, by far.
const MAX_ATTESTATIONS: usize = 32;

/// What the check found.
pub struct Checked {
    /// The SBOM and the provenance that equal the rebuild's.
    pub attached: Vec<Attached>,
    pub via: Via,
    /// One line per other attestation listed for the image that is not the rebuild's.
    pub others: Vec<String>,
}

/// Whether `r` is a provenance (an in-toto statement not marked as another predicate type).
fn is_provenance(r: &Referrer) -> bool {
    kind_of(&r.artifact_type) == Some("provenance")
        && r.annotations
            .get("in-toto.io/predicate-type")
            .is_none_or(|t| t == SLSA_PROVENANCE_V1)
}

/// The attestations of `subject` in `r`'s repository, against what `inv` produces.
pub fn verify_attached(
    client: &Client,
    r: &Reference,
    subject: &oci_spec::image::Digest,
    inv: &Inventory,
) -> Result<Checked, AttestError> {
    let reference = r.to_string();
    let (list, via) = referrers::list(client, r, subject).map_err(|source| AttestError::Fetch {
        reference: reference.clone(),
        source,
    })?;
    let candidates: Vec<&Referrer> = list
        .iter()
        .filter(|x| kind_of(&x.artifact_type) == Some("sbom") || is_provenance(x))
        .collect();
    // A hostile list must not make verify fetch without end.
    if candidates.len() > MAX_ATTESTATIONS {
        return Err(AttestError::TooMany {
            reference,
            count: candidates.len(),
            max: MAX_ATTESTATIONS,
        });
    }
    let mut checked = Checked {
        attached: Vec::new(),
        via,
        others: Vec::new(),
    };
    for kind in ["sbom", "provenance"] {
        let mut first_failure = None;
        let mut found = false;
        for c in candidates
            .iter()
            .filter(|c| kind_of(&c.artifact_type) == Some(kind))
        {
            match compare(client, r, subject, inv, c) {
                Ok(()) if !found => {
                    found = true;
                    checked.attached.push(Attached {
                        kind,
                        artifact_type: c.artifact_type.clone(),
                        digest: c.digest.to_string(),
                    });
                }
                Ok(()) => checked
                    .others
                    .push(format!("{kind} {} is the same document again", c.digest)),
                Err(what) => {
                    checked.others.push(format!("{kind} {}: {what}", c.digest));
                    first_failure.get_or_insert(what);
                }
            }
        }
        match (found, first_failure) {
            (true, _) => {}
            (false, Some(what)) => return Err(AttestError::Mismatch { reference, what }),
            (false, None) => {
                return Err(AttestError::Missing {
                    reference,
                    missing: if kind == "sbom" { "SBOM" } else { "provenance" }.into(),
                    digest: subject.to_string(),
                })
            }
        }
    }
    Ok(checked)
}

/// One candidate against the rebuild: `Err` says why it is not the rebuild's document.
fn compare(
    client: &Client,
    r: &Reference,
    subject: &oci_spec::image::Digest,
    inv: &Inventory,
    c: &Referrer,
) -> Result<(), String> {
    let kind = kind_of(&c.artifact_type).unwrap_or("document");
    let (doc, about) = referrers::document(client, r, c).map_err(|e| {
        format!(
            "the attached {kind} {} could not be read: {}",
            c.digest,
            lamina_support::diagnostic::chain(&e)
        )
    })?;
    if about.as_ref() != Some(subject) {
        return Err(format!(
            "the {kind} {} is listed as a referrer but its subject is {}, not the image",
            c.digest,
            about.map_or_else(|| "missing".to_string(), |d| d.to_string())
        ));
    }
    let expected = match c.artifact_type.as_str() {
        SPDX_MEDIA_TYPE => inv.sbom(SbomFormat::Spdx),
        CYCLONEDX_MEDIA_TYPE => inv.sbom(SbomFormat::CycloneDx),
        _ => inv.provenance(),
    };
    match difference(&expected, &doc) {
        None => Ok(()),
        Some(what) => Err(format!(
            "the attached {kind} {} differs from the rebuild's: {what}",
            c.digest
        )),
    }
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
