use super::*;
use serde_json::Value;

fn inventory() -> Inventory {
    Inventory {
        image_digest: format!("sha256:{}", "ab".repeat(32)),
        image_name: "traffic-manager".into(),
        platform: "linux/amd64".into(),
        base: Base {
            reference: "public.ecr.aws/lambda/python:3.12".into(),
            digest: format!("sha256:{}", "cd".repeat(32)),
        },
        distributions: vec![
            Distribution {
                name: "google_ads".into(),
                version: "34.0.0".into(),
                wheel: "google_ads-34.0.0-py3-none-any.whl".into(),
                sha256: "ef".repeat(32),
                license: Some(License::Expression("Apache-2.0".into())),
            },
            Distribution {
                name: "odd".into(),
                version: "1.0".into(),
                wheel: "odd-1.0-py3-none-any.whl".into(),
                sha256: "01".repeat(32),
                license: Some(License::Text("Proprietary, see LICENSE".into())),
            },
        ],
        source: Source {
            digest: format!("sha256:{}", "23".repeat(32)),
            files: 7,
        },
        lock: Some(("uv.lock".into(), "45".repeat(32))),
        parameters: [("handlers".to_string(), serde_json::json!(["app.handler"]))].into(),
        epoch: 1_700_000_000,
        tool_version: "0.1.0".into(),
    }
}

/// (Same bytes for the same inputs across processes and machines: tests/it/repro.rs.)
#[test]
fn documents_change_with_any_input() {
    let inv = inventory();
    let mut other = inventory();
    other.distributions[0].sha256 = "ee".repeat(32);
    assert_ne!(inv.sbom(SbomFormat::Spdx), other.sbom(SbomFormat::Spdx));
    assert_ne!(inv.provenance(), other.provenance());
}

#[test]
fn spdx_lists_base_distributions_and_source_under_the_image() {
    let doc: Value = serde_json::from_slice(&inventory().sbom(SbomFormat::Spdx)).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 5, "image, base, 2 distributions, source");
    let ads = &packages[2];
    assert_eq!(
        ads["externalRefs"][0]["referenceLocator"],
        "pkg:pypi/google-ads@34.0.0"
    );
    assert_eq!(ads["licenseDeclared"], "Apache-2.0");
    assert_eq!(
        packages[3]["licenseDeclared"], "NOASSERTION",
        "free text is no SPDX expression"
    );
    assert_eq!(doc["relationships"].as_array().unwrap().len(), 5);
}

#[test]
fn cyclonedx_keeps_free_text_licenses_as_names_and_a_stable_serial() {
    let doc: Value = serde_json::from_slice(&inventory().sbom(SbomFormat::CycloneDx)).unwrap();
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(
        doc["serialNumber"],
        "urn:uuid:abababab-abab-4bab-abab-abababababab"
    );
    assert_eq!(
        doc["components"][2]["licenses"][0]["license"]["name"],
        "Proprietary, see LICENSE"
    );
    assert_eq!(
        doc["dependencies"][0]["dependsOn"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn provenance_names_the_image_and_every_resolved_input() {
    let st: Value = serde_json::from_slice(&inventory().provenance()).unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["subject"][0]["digest"]["sha256"], "ab".repeat(32));
    assert_eq!(st["predicateType"], SLSA_PROVENANCE_V1);
    let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = deps.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "base",
            "google_ads-34.0.0-py3-none-any.whl",
            "odd-1.0-py3-none-any.whl",
            "uv.lock",
            "source"
        ]
    );
}

#[test]
fn purls_are_normalized_and_encoded() {
    assert_eq!(
        pypi_purl("Zope.Interface", "7.2"),
        "pkg:pypi/zope-interface@7.2"
    );
    assert_eq!(
        pypi_purl("a__b-.c", "2.1.0+cpu"),
        "pkg:pypi/a-b-c@2.1.0%2Bcpu"
    );
    assert_eq!(
        oci_purl("public.ecr.aws/lambda/python:3.12", "sha256:ab"),
        "pkg:oci/python@sha256%3Aab?repository_url=public.ecr.aws/lambda/python&tag=3.12"
    );
    assert_eq!(
        oci_purl("oci:standin:python3.12", "sha256:ab"),
        "pkg:oci/standin@sha256%3Aab?tag=python3.12"
    );
    assert_eq!(
        oci_purl("127.0.0.1:5000/team/base@sha256:ab", "sha256:ab"),
        "pkg:oci/base@sha256%3Aab?repository_url=127.0.0.1:5000/team/base"
    );
}
