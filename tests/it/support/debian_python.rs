//! Debian's own CPython 3.11 (python3.11-minimal, its standard library and the libraries it
//! needs) for amd64 and arm64, from the .deb files `scripts/test.sh` downloads into
//! `$LAMINA_TEST_DEBS`, unpacked with `dpkg-deb -x` and written as single-layer base images: a
//! two-platform index (like the AWS bases) and a single-architecture arm64 layout.
#![allow(dead_code)]

use lamina_core::oci::image::DirBlobs;
use lamina_core::oci::layer::{EntryKind, LayerWriter, Tree};
use lamina_core::oci::{canonical_json, sha256_digest, Format, Image, Layer};
use oci_spec::image::{Descriptor, MediaType};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub const PACKAGES: [&str; 6] = [
    "python3.11-minimal",
    "libpython3.11-minimal",
    // The rest of the standard library (json, …): the gate reads the base's own stdlib.
    "libpython3.11-stdlib",
    "libc6",
    "zlib1g",
    "libexpat1",
];

pub fn debs_dir() -> PathBuf {
    match std::env::var_os("LAMINA_TEST_DEBS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lamina-test/debs"),
    }
}

/// The .deb files for one architecture (panics, naming the fix, when scripts/test.sh has not
/// fetched them).
fn debs(arch: &str) -> Vec<PathBuf> {
    let dir = debs_dir();
    PACKAGES
        .iter()
        .map(|p| {
            fs::read_dir(&dir)
                .ok()
                .and_then(|rd| {
                    rd.flatten()
                        .map(|e| e.path())
                        .find(|f| {
                            let n = f.file_name().unwrap().to_string_lossy().into_owned();
                            n.starts_with(&format!("{p}_")) && n.ends_with(&format!("_{arch}.deb"))
                        })
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{p}:{arch} is not in {}; run scripts/test.sh (it downloads Debian's python3.11 packages)",
                        dir.display()
                    )
                })
        })
        .collect()
}

fn image_for(arch: &str, work: &Path) -> Image {
    let root = work.join(format!("root-{arch}"));
    fs::create_dir_all(&root).unwrap();
    for deb in debs(arch) {
        let o = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "dpkg-deb -x {}: {}",
            deb.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let mut tree: Tree<PathBuf> = Tree::new();
    for e in walkdir::WalkDir::new(&root)
        .min_depth(1)
        .sort_by_file_name()
    {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let meta = fs::symlink_metadata(e.path()).unwrap();
        let kind = if meta.is_dir() {
            EntryKind::Dir
        } else if meta.file_type().is_symlink() {
            EntryKind::Symlink(
                fs::read_link(e.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )
        } else {
            EntryKind::File {
                source: e.path().to_path_buf(),
                size: meta.len(),
                executable: meta.permissions().mode() & 0o111 != 0,
            }
        };
        tree.insert(&rel, kind).unwrap().ok();
    }
    tree.insert("var/task", EntryKind::Dir).unwrap().ok();
    let blobs = work.join("blobs");
    let mut w = LayerWriter::create(&blobs, &work.join("tmp"), 0, 1).unwrap();
    tree.write(
        &mut w,
        |_,
         p: &PathBuf|
         -> Result<
            Box<dyn std::io::Read + 'static>,
            lamina_core::oci::layer::writer::WriteError,
        > { Ok(Box::new(fs::File::open(p)?)) },
    )
    .unwrap();
    let l = w.finish().unwrap();
    let config = serde_json::json!({
        "architecture": arch, "os": "linux", "created": "1970-01-01T00:00:00Z",
        "config": {"Entrypoint": ["/usr/bin/python3.11"], "WorkingDir": "/var/task", "Env": ["PYTHONPATH=/var/task"]},
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id.to_string()]}
    });
    let layer = Layer {
        descriptor: Descriptor::new(MediaType::ImageLayerGzip, l.size, l.digest.clone()),
        diff_id: l.diff_id.clone(),
        uncompressed_size: Some(l.uncompressed_size),
        file_count: Some(l.file_count),
        blob: Arc::new(DirBlobs {
            dir: blobs,
            label: format!("debian {arch}"),
            kind: lamina_core::oci::Origin::Local,
        }),
    };
    Image::from_parts(Format::Oci, canonical_json(&config), vec![layer], None)
}

/// Writes `index` (tag `py311`: an image index with linux/amd64 and linux/arm64) and `single`
/// (tag `py311`: the arm64 image alone).
pub fn build(work: &Path, index: &Path, single: &Path) {
    let amd = image_for("amd64", work);
    let arm = image_for("arm64", work);
    lamina_core::oci::layout::write(&arm, single, Some("py311")).unwrap();
    lamina_core::oci::layout::write(&amd, index, Some("amd64")).unwrap();
    lamina_core::oci::layout::write(&arm, index, Some("arm64")).unwrap();
    let idx_path = index.join("index.json");
    let idx: serde_json::Value = serde_json::from_slice(&fs::read(&idx_path).unwrap()).unwrap();
    let mut manifests = Vec::new();
    for m in idx["manifests"].as_array().unwrap() {
        let tag = m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap();
        manifests.push(serde_json::json!({
            "mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
            "platform": {"architecture": tag, "os": "linux"}
        }));
    }
    let nested = canonical_json(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests
    }));
    let d = sha256_digest(&nested);
    fs::write(index.join("blobs/sha256").join(d.digest()), &nested).unwrap();
    let top = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": d.to_string(), "size": nested.len(),
            "annotations": {"org.opencontainers.image.ref.name": "py311"}
        }]
    });
    fs::write(idx_path, serde_json::to_vec(&top).unwrap()).unwrap();
}
