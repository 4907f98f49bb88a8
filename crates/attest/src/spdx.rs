//! The SBOM as SPDX 2.3 JSON: the image as the package the document describes; the base image,
//! each installed distribution (PURL, wheel sha256, declared license) and the project source as
//! packages it contains. Files are not listed: SPDX 2.3 requires a SHA-1 per file, which wheels'
//! RECORD files do not carry. `pyspdxtools -i` validates the output (tests/it/attest.rs).

use crate::{pypi_purl, Inventory, License};
use serde_json::{json, Value};

/// SPDX identifiers allow letters, digits, `.` and `-`.
fn spdx_id(kind: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{kind}-{clean}")
}

fn sha256(digest: &str) -> Value {
    json!([{ "algorithm": "SHA256", "checksumValue": digest.strip_prefix("sha256:").unwrap_or(digest) }])
}

pub fn document(inv: &Inventory) -> Value {
    let hex = inv.hex();
    let image_id = "SPDXRef-Image";
    let mut packages = vec![json!({
        "SPDXID": image_id,
        "name": inv.image_name,
        "versionInfo": inv.image_digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "checksums": sha256(&inv.image_digest),
        "primaryPackagePurpose": "CONTAINER",
        "comment": format!("OCI image manifest {} for {}", inv.image_digest, inv.platform),
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": image_id,
    })];
    let mut contains = |id: &str| {
        relationships.push(json!({
            "spdxElementId": image_id,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }))
    };
    let base_id = "SPDXRef-Base";
    packages.push(json!({
        "SPDXID": base_id,
        "name": inv.base.reference,
        "versionInfo": inv.base.digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "checksums": sha256(&inv.base.digest),
        "primaryPackagePurpose": "CONTAINER",
        "comment": "the base image",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": crate::oci_purl(&inv.base.reference, &inv.base.digest),
        }],
    }));
    contains(base_id);
    for d in &inv.distributions {
        let id = spdx_id("Package-pypi", &format!("{}-{}", d.name, d.version));
        let declared = match &d.license {
            Some(License::Expression(e)) => e.clone(),
            _ => "NOASSERTION".into(),
        };
        packages.push(json!({
            "SPDXID": id,
            "name": d.name,
            "versionInfo": d.version,
            "packageFileName": d.wheel,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "checksums": sha256(&d.sha256),
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared,
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": pypi_purl(&d.name, &d.version),
            }],
        }));
        contains(&id);
    }
    let source_id = "SPDXRef-Source";
    packages.push(json!({
        "SPDXID": source_id,
        "name": "source",
        "versionInfo": inv.source.digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "checksums": sha256(&inv.source.digest),
        "primaryPackagePurpose": "SOURCE",
        "comment": format!("the project source layer ({} files); its checksum is the layer's diff_id", inv.source.files),
    }));
    contains(source_id);
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{}@{}", inv.image_name, inv.image_digest),
        "documentNamespace": format!("https://spdx.org/spdxdocs/lamina/{}/sha256-{hex}", inv.image_name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-', "-")),
        "creationInfo": {
            "created": inv.created(),
            "creators": [format!("Tool: lamina-{}", inv.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    })
}
