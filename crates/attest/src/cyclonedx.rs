//! The SBOM as CycloneDX 1.6 JSON: the image as `metadata.component` (a container), the base, each
//! installed distribution (PURL, wheel SHA-256, declared license: an SPDX expression, else the
//! License text as a name) and the source as components, and one dependency entry tying them to
//! the image. The serial number is derived from the image digest, so it is stable. The
//! cyclonedx-python-lib JSON validator checks the output (tests/it/attest.rs).

use crate::{pypi_purl, Inventory, License};
use serde_json::{json, Value};

/// `urn:uuid:` from the first 32 hex digits of the image digest, shaped as a version-4 UUID.
fn serial(hex: &str) -> String {
    let mut h: Vec<char> = format!("{hex:0<32}").chars().take(32).collect();
    h[12] = '4';
    h[16] = match h[16] {
        '0' | '4' | '8' | 'c' => '8',
        '1' | '5' | '9' | 'd' => '9',
        '2' | '6' | 'a' | 'e' => 'a',
        _ => 'b',
    };
    let s: String = h.into_iter().collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

fn sha256(digest: &str) -> Value {
    json!([{ "alg": "SHA-256", "content": digest.strip_prefix("sha256:").unwrap_or(digest) }])
}

pub fn document(inv: &Inventory) -> Value {
    let mut components = vec![json!({
        "type": "container",
        "bom-ref": "base",
        "name": inv.base.reference,
        "version": inv.base.digest,
        "hashes": sha256(&inv.base.digest),
        "description": "the base image",
        "purl": crate::oci_purl(&inv.base.reference, &inv.base.digest),
    })];
    let mut depends = vec!["base".to_string()];
    for d in &inv.distributions {
        let purl = pypi_purl(&d.name, &d.version);
        let mut c = json!({
            "type": "library",
            "bom-ref": purl,
            "name": d.name,
            "version": d.version,
            "purl": purl,
            "hashes": sha256(&d.sha256),
            "properties": [{ "name": "lamina:wheel", "value": d.wheel }],
        });
        match &d.license {
            Some(License::Expression(e)) => c["licenses"] = json!([{ "expression": e }]),
            Some(License::Text(t)) => c["licenses"] = json!([{ "license": { "name": t } }]),
            None => {}
        }
        depends.push(purl);
        components.push(c);
    }
    components.push(json!({
        "type": "file",
        "bom-ref": "source",
        "name": "source",
        "version": inv.source.digest,
        "hashes": sha256(&inv.source.digest),
        "description": format!("the project source layer ({} files); its hash is the layer's diff_id", inv.source.files),
    }));
    depends.push("source".into());
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial(inv.hex()),
        "version": 1,
        "metadata": {
            "timestamp": inv.created(),
            "tools": { "components": [{ "type": "application", "name": "lamina", "version": inv.tool_version }] },
            "component": {
                "type": "container",
                "bom-ref": "image",
                "name": inv.image_name,
                "version": inv.image_digest,
                "hashes": sha256(&inv.image_digest),
                "properties": [{ "name": "lamina:platform", "value": inv.platform }],
            },
        },
        "components": components,
        "dependencies": [{ "ref": "image", "dependsOn": depends }],
    })
}
