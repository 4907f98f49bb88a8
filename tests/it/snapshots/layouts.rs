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
