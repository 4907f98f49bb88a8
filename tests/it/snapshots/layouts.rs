//! Damaged bytes: the hint fits where they came from (the base's layout, lamina's cache).

use super::{snap, Case};
use crate::support::*;
use std::fs;
use std::path::Path;

/// Flips the last byte of blob `digest` in the layout or blob store at `blobs`.
fn flip(blobs: &Path, digest: &str) {
    let blob = blobs.join(digest.strip_prefix("sha256:").unwrap());
    let mut bytes = fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&blob, bytes).unwrap();
}

#[test]
fn base_layout_layer_damaged() {
    let c = Case::new();
    let base = c.path().join("base");
    copy_tree(&standin(), &base);
    let (m, _) = layout_manifest(&base, "python3.12-docker");
    flip(
        &base.join("blobs/sha256"),
        m["layers"][0]["digest"].as_str().unwrap(),
    );
    let out = c.path().join("out");
    let mut cmd = c.lamina(&[
        "build",
        "--base",
        &format!("oci:{}:python3.12-docker", base.display()),
        "-o",
        &format!("oci:{}:x", out.display()),
    ]);
    let o = snap("layout_base_layer_damaged", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
}

#[test]
fn base_layout_index_not_json() {
    let c = Case::new();
    let base = c.path().join("base");
    copy_tree(&standin(), &base);
    fs::write(base.join("index.json"), "{\"manifests\": [1,").unwrap();
    let mut cmd = c.lamina(&[
        "build",
        "--base",
        &format!("oci:{}:python3.12", base.display()),
    ]);
    let o = snap("layout_index_not_json", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn base_layout_index_of_the_wrong_shape() {
    let c = Case::new();
    let base = c.path().join("base");
    copy_tree(&standin(), &base);
    fs::write(
        base.join("index.json"),
        "{\"schemaVersion\": 2, \"manifests\": \"x\"}",
    )
    .unwrap();
    let mut cmd = c.lamina(&[
        "build",
        "--base",
        &format!("oci:{}:python3.12", base.display()),
    ]);
    let o = snap("layout_index_wrong_shape", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

/// A copy of the stand-in base at `dir` whose `python3.12-docker` manifest is edited by `edit` (given a
/// function that stores a blob and returns its digest); the index points at the edited manifest.
fn edited_base(dir: &Path, edit: impl FnOnce(&mut serde_json::Value, &dyn Fn(&[u8]) -> String)) {
    copy_tree(&standin(), dir);
    let put = |bytes: &[u8]| {
        let d = format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
        );
        fs::write(dir.join("blobs/sha256").join(&d[7..]), bytes).unwrap();
        d
    };
    let (mut manifest, _) = layout_manifest(dir, "python3.12-docker");
    edit(&mut manifest, &put);
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let index_path = dir.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    for entry in index["manifests"].as_array_mut().unwrap() {
        if entry["annotations"]["org.opencontainers.image.ref.name"] == "python3.12-docker" {
            entry["digest"] = put(&manifest).into();
            entry["size"] = manifest.len().into();
        }
    }
    fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// `lamina build --base oci:BASE:python3.12-docker -o oci:OUT:x` in case `c`.
fn build_on(c: &Case, base: &Path, out: &Path) -> std::process::Command {
    c.lamina(&[
        "build",
        "--base",
        &format!("oci:{}:python3.12-docker", base.display()),
        "-o",
        &format!("oci:{}:x", out.display()),
    ])
}

// Issue 10: a config of `[1,2,3]` read "no image for linux/amd64 (it has: /)".
#[test]
fn base_config_not_a_json_object() {
    let c = Case::new();
    let base = c.path().join("base");
    edited_base(&base, |m, put| {
        let config = b"[1,2,3]";
        m["config"]["digest"] = put(config).into();
        m["config"]["size"] = config.len().into();
    });
    let out = c.path().join("out");
    let o = snap(
        "layout_config_not_an_object",
        &mut build_on(&c, &base, &out),
        &[c.path()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
}

// Issue 10: a manifest whose layer size lies read "at least 13824 bytes uncompressed; limit 10 GB".
#[test]
fn base_manifest_layer_size_lies() {
    for (name, size) in [
        ("layout_layer_size_too_large", 20_000_000_000u64),
        ("layout_layer_size_too_small", 100),
    ] {
        let c = Case::new();
        let base = c.path().join(name);
        edited_base(&base, |m, _| m["layers"][0]["size"] = size.into());
        let out = c.path().join("out");
        let o = snap(name, &mut build_on(&c, &base, &out), &[c.path()]);
        assert_eq!(o.status.code(), Some(1));
        assert!(!out.exists());
    }
}
