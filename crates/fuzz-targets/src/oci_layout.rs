//! An OCI layout's JSON: index.json, a manifest (or nested index) and a config, read by
//! `oci::layout::read` (the same `assemble` and `select_platform` serve registry pulls).
//!
//! Input: index, manifest and config separated by a line `----`. In index and manifest,
//! `@M@`/`@MS@` become the manifest's digest/size and `@C@`/`@CS@` the config's, so mutations
//! reach past the digest checks.
use lamina_core::oci::Platform;
use sha2::{Digest as _, Sha256};

fn split3(data: &[u8]) -> [&[u8]; 3] {
    let mut out: [&[u8]; 3] = [b"", b"", b""];
    let mut rest = data;
    for slot in out.iter_mut().take(2) {
        match rest.windows(6).position(|w| w == b"\n----\n") {
            Some(i) => {
                *slot = &rest[..i];
                rest = &rest[i + 6..];
            }
            None => {
                *slot = rest;
                return out;
            }
        }
    }
    out[2] = rest;
    out
}

fn replace(hay: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from.as_bytes()) {
            out.extend_from_slice(to.as_bytes());
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fn put(blobs: &std::path::Path, bytes: &[u8]) -> String {
    let hex = hex::encode(Sha256::digest(bytes));
    std::fs::write(blobs.join(&hex), bytes).expect("write blob");
    format!("sha256:{hex}")
}

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let [index, manifest, config] = split3(data);
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = dir.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("blobs");
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    let c = put(&blobs, config);
    let manifest = replace(
        &replace(manifest, "@CS@", &config.len().to_string()),
        "@C@",
        &c,
    );
    let m = put(&blobs, &manifest);
    let index = replace(
        &replace(index, "@MS@", &manifest.len().to_string()),
        "@M@",
        &m,
    );
    std::fs::write(dir.path().join("index.json"), &index).expect("index.json");
    for tag in [None, Some("latest")] {
        for platform in [
            Platform::linux_amd64(),
            "linux/arm64".parse().expect("platform"),
        ] {
            if let Ok(image) = lamina_core::oci::layout::read(dir.path(), tag, &platform) {
                let _ = image.platform();
                let _ = image.manifest_bytes();
                let _ = image.uncompressed_size();
                let _ = image.config();
            }
        }
    }
}
