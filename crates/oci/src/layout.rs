//! OCI image layout directories (`oci:DIR[:TAG]`) as a source and a sink. Reading resolves a tag
//! (and an index, by platform) to one image whose manifest and config are digest-checked at once
//! and whose layers are read lazily and checked as they stream. Writing never leaves a half-written
//! layout: a new layout is built in a temporary sibling and renamed into place; an existing one gets
//! its blobs first (each renamed into place; one already there is kept only if its bytes match its
//! digest) and its `index.json` replaced last, atomically, under an exclusive lock (flock) on the
//! layout directory, so concurrent builds into one layout lose no tag.

use super::image::{media_type_str, AssembleError, DirBlobs};
use super::{canonical_json, media, Image, Platform, VerifyingReader};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde_json::{json, Value};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{path}: not an OCI image layout (no oci-layout file)")]
    NotALayout { path: PathBuf },
    #[error("{path}")]
    Io { path: PathBuf, source: io::Error },
    /// A layer of the image being written could not be read from where it lives (the base's
    /// layout, the cache, a registry): the cause says which, and why.
    /// (The output it was written to is named by the caller: this may be a temporary directory.)
    /// `digest` is None when the cause names the layer itself (a typed cause does).
    #[error("{}", digest.as_deref().map(|d| format!("layer {d}")).unwrap_or_default())]
    Layer {
        digest: Option<String>,
        source: io::Error,
    },
    #[error("{path}: invalid {what}: {detail}")]
    Invalid {
        path: PathBuf,
        what: String,
        detail: String,
    },
    #[error("{path}: no image tagged '{tag}' (tags: {available})")]
    NoSuchTag {
        path: PathBuf,
        tag: String,
        available: String,
    },
    #[error("{path}: holds several images (tags: {available}); name one as oci:DIR:TAG")]
    Ambiguous { path: PathBuf, available: String },
    #[error("{path}: no image for platform {platform} (it has: {available})")]
    NoPlatform {
        path: PathBuf,
        platform: Platform,
        available: String,
    },
    #[error("{path}: exists and is not an OCI layout; refusing to write into it")]
    NotEmpty { path: PathBuf },
}

use lamina_support::diagnostic::Hint;

impl Hint for LayoutError {
    fn hint(&self) -> Option<String> {
        match self {
            LayoutError::NotALayout { .. } => {
                Some("--base takes oci:DIR[:TAG] pointing at an OCI image layout (skopeo copy … oci:DIR:TAG makes one)".into())
            }
            LayoutError::NoSuchTag { .. } | LayoutError::Ambiguous { .. } => Some("name one of the tags listed, e.g. oci:DIR:TAG".into()),
            LayoutError::NoPlatform { .. } => Some("choose --platform to match the base, or use a base built for that platform".into()),
            LayoutError::Io { source, .. } | LayoutError::Layer { source, .. } => source.hint(),
            LayoutError::NotEmpty { .. } => Some("choose an empty or new directory for --output oci:DIR".into()),
            LayoutError::Invalid { what, .. } if what == "index.json" || what == "image index" || what == "image manifest" => Some(
                "the layout is damaged or was not written as an OCI image layout: copy the base again (skopeo copy … oci:DIR:TAG, or lamina pull)".into(),
            ),
            LayoutError::Invalid { what, .. } if what == "image config" => Some(
                "the base's config does not fit the OCI image-config types, so skopeo and umoci could not read the result: fix or rebuild the base, or use another".into(),
            ),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, what: &str, detail: impl ToString) -> LayoutError {
    LayoutError::Invalid {
        path: path.to_path_buf(),
        what: what.into(),
        detail: detail.to_string(),
    }
}

/// Reads a whole small blob (manifest, index, config), checking its digest and size.
fn read_small_blob(
    blobs: &DirBlobs,
    root: &Path,
    desc: &Descriptor,
) -> Result<Vec<u8>, LayoutError> {
    if desc.size() > 8 * 1024 * 1024 {
        return Err(invalid(
            root,
            "descriptor",
            format!("{} claims {} bytes for JSON", desc.digest(), desc.size()),
        ));
    }
    let what = format!("blob {}", desc.digest());
    let r = blobs.open(desc.digest()).map_err(io_err(root))?;
    let mut v = VerifyingReader::new(r, desc.digest().clone(), Some(desc.size()), what)
        .from_origin(super::Origin::Layout);
    let mut out = Vec::new();
    v.read_to_end(&mut out).map_err(io_err(root))?;
    Ok(out)
}

use super::BlobSource as _;

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .map(String::as_str)
}

fn is_index(media_type: &str) -> bool {
    media_type == media::OCI_INDEX || media_type == media::DOCKER_LIST
}

fn desc_platform(d: &Descriptor) -> String {
    d.platform().as_ref().map_or("unknown".into(), |p| {
        format!("{}/{}", p.os(), p.architecture())
    })
}

/// Picks the entry of an index for `platform`, skipping attestation manifests.
pub fn select_platform<'a>(
    entries: &'a [Descriptor],
    platform: &Platform,
) -> Result<&'a Descriptor, String> {
    let candidates: Vec<&Descriptor> = entries
        .iter()
        .filter(|d| {
            let attestation = d
                .annotations()
                .as_ref()
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .is_some();
            !attestation
        })
        .collect();
    candidates
        .iter()
        .find(|d| {
            d.platform().as_ref().is_some_and(|p| {
                platform.matches(
                    &p.os().to_string(),
                    &p.architecture().to_string(),
                    p.variant().as_deref(),
                )
            })
        })
        .copied()
        .ok_or_else(|| {
            candidates
                .iter()
                .map(|d| desc_platform(d))
                .collect::<Vec<_>>()
                .join(", ")
        })
}

/// Opens `dir` as an OCI layout and resolves `tag` (or its only image) for `platform`.
pub fn read(dir: &Path, tag: Option<&str>, platform: &Platform) -> Result<Image, LayoutError> {
    if !dir.join("oci-layout").is_file() {
        return Err(LayoutError::NotALayout {
            path: dir.to_path_buf(),
        });
    }
    let index_path = dir.join("index.json");
    let index_bytes = fs::read(&index_path).map_err(io_err(&index_path))?;
    let index: ImageIndex =
        super::parse_json(&index_bytes).map_err(|e| invalid(&index_path, "index.json", e))?;
    let tags = || {
        let t: Vec<&str> = index.manifests().iter().filter_map(ref_name).collect();
        if t.is_empty() {
            "none".to_string()
        } else {
            t.join(", ")
        }
    };
    let mut candidates: Vec<&Descriptor> = match tag {
        Some(t) => index
            .manifests()
            .iter()
            .filter(|d| ref_name(d) == Some(t))
            .collect(),
        None => index.manifests().iter().collect(),
    };
    if candidates.is_empty() {
        return Err(match tag {
            Some(t) => LayoutError::NoSuchTag {
                path: dir.into(),
                tag: t.into(),
                available: tags(),
            },
            None => invalid(dir, "index.json", "it lists no images"),
        });
    }
    if candidates.len() > 1 {
        let with_platform: Vec<&Descriptor> = candidates
            .iter()
            .copied()
            .filter(|d| d.platform().is_some())
            .collect();
        if with_platform.len() == candidates.len() {
            let owned: Vec<Descriptor> = with_platform.into_iter().cloned().collect();
            let chosen =
                select_platform(&owned, platform).map_err(|available| LayoutError::NoPlatform {
                    path: dir.into(),
                    platform: platform.clone(),
                    available,
                })?;
            candidates = vec![index
                .manifests()
                .iter()
                .find(|d| d.digest() == chosen.digest())
                .expect("present")];
        } else if tag.is_none() {
            return Err(LayoutError::Ambiguous {
                path: dir.into(),
                available: tags(),
            });
        } else {
            return Err(invalid(
                dir,
                "index.json",
                format!(
                    "tag '{}' names {} images",
                    tag.unwrap_or(""),
                    candidates.len()
                ),
            ));
        }
    }
    let blobs = DirBlobs {
        dir: dir.join("blobs"),
        label: format!("oci:{}", dir.display()),
        kind: crate::Origin::Layout,
    };
    let mut desc = candidates[0].clone();
    for _ in 0..4 {
        let mt = media_type_str(desc.media_type());
        if !is_index(&mt) {
            break;
        }
        let bytes = read_small_blob(&blobs, dir, &desc)?;
        let nested =
            super::parse_json::<ImageIndex>(&bytes).map_err(|e| invalid(dir, "image index", e))?;
        desc = select_platform(nested.manifests(), platform)
            .map_err(|available| LayoutError::NoPlatform {
                path: dir.into(),
                platform: platform.clone(),
                available,
            })?
            .clone();
    }
    let manifest_bytes = read_small_blob(&blobs, dir, &desc)?;
    image_from_manifest(dir, &blobs, manifest_bytes, platform)
}

fn image_from_manifest(
    dir: &Path,
    blobs: &DirBlobs,
    manifest_bytes: Vec<u8>,
    platform: &Platform,
) -> Result<Image, LayoutError> {
    let manifest: ImageManifest =
        super::parse_json(&manifest_bytes).map_err(|e| invalid(dir, "image manifest", e))?;
    let mt = manifest.media_type().as_ref().map(media_type_str);
    let config = read_small_blob(blobs, dir, manifest.config())?;
    let source: Arc<dyn super::BlobSource> = Arc::new(blobs.clone());
    super::image::assemble(
        manifest_bytes,
        &manifest,
        mt.as_deref(),
        config,
        platform,
        source,
    )
    .map_err(|e| match e {
        AssembleError::Invalid { what, detail } => invalid(dir, what, detail),
        AssembleError::Platform { available } => LayoutError::NoPlatform {
            path: dir.into(),
            platform: platform.clone(),
            available,
        },
    })
}

/// Writes `image` into the layout at `dir` under `tag`; creates the layout if needed.
pub fn write(image: &Image, dir: &Path, tag: Option<&str>) -> Result<(), LayoutError> {
    let exists = dir.exists();
    if exists && !dir.join("oci-layout").is_file() {
        let empty = fs::read_dir(dir).map_err(io_err(dir))?.next().is_none();
        if !empty {
            return Err(LayoutError::NotEmpty { path: dir.into() });
        }
        fs::remove_dir(dir).map_err(io_err(dir))?;
    }
    if dir.join("oci-layout").is_file() {
        return write_into(image, dir, tag);
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "layout".into());
    let what = format!(".{name}.lamina-");
    lamina_support::cleanup::remove_stale(&parent, &what);
    let tmp = tempfile::Builder::new()
        .prefix(&lamina_support::cleanup::prefix(&what))
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    let _interrupted = lamina_support::cleanup::register(tmp.path());
    write_atomic(
        &tmp.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    write_into(image, tmp.path(), tag)?;
    lamina_support::hooks::hook("OUTPUT_TEMP");
    let tmp_path = tmp.keep();
    fs::set_permissions(&tmp_path, fs::Permissions::from_mode(0o755)).map_err(io_err(&tmp_path))?;
    match fs::rename(&tmp_path, dir) {
        Ok(()) => Ok(()),
        // Another build created the layout first: add to it, as to any existing layout.
        Err(_) if dir.join("oci-layout").is_file() => {
            let _ = fs::remove_dir_all(&tmp_path);
            write_into(image, dir, tag)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp_path);
            Err(LayoutError::Io {
                path: dir.into(),
                source: e,
            })
        }
    }
}

fn write_into(image: &Image, dir: &Path, tag: Option<&str>) -> Result<(), LayoutError> {
    let blobs = DirBlobs {
        dir: dir.join("blobs"),
        label: format!("oci:{}", dir.display()),
        kind: crate::Origin::Layout,
    };
    lamina_support::cleanup::remove_stale(&blobs.dir.join("sha256"), ".tmp-");
    for layer in &image.layers {
        let dest = blobs.path(layer.digest());
        // A blob already there is kept only if its bytes match its name; a damaged one is replaced.
        if intact(&dest, layer.digest(), layer.size()) {
            continue;
        }
        let layer_err = |source: io::Error| LayoutError::Layer {
            // A typed cause (a digest mismatch, a registry's error, a blob file) names the layer.
            digest: source
                .get_ref()
                .is_none()
                .then(|| layer.digest().to_string()),
            source,
        };
        let mut src = layer.open_verified().map_err(layer_err)?;
        copy_atomic(&mut src, &dest).map_err(|e| match e {
            LayoutError::Io { source, .. } if source.get_ref().is_some() => layer_err(source),
            other => other,
        })?;
    }
    let config = image.config_bytes();
    write_atomic(&blobs.path(image.config_descriptor().digest()), config)?;
    let manifest = image.manifest_bytes();
    let digest = image.digest();
    write_atomic(&blobs.path(&digest), &manifest)?;

    // index.json is read, changed and replaced under an exclusive lock on the layout directory, so
    // concurrent builds into one layout each add their tag and none is lost.
    let lock = fs::File::open(dir).map_err(io_err(dir))?;
    lock.lock().map_err(io_err(dir))?;
    let index_path = dir.join("index.json");
    let mut entries: Vec<Value> = match fs::read(&index_path) {
        Ok(b) => {
            let v: Value =
                super::parse_json(&b).map_err(|e| invalid(&index_path, "index.json", e))?;
            v["manifests"].as_array().cloned().unwrap_or_default()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(LayoutError::Io {
                path: index_path,
                source: e,
            })
        }
    };
    lamina_support::hooks::hook("INDEX_READ");
    entries.retain(|e| e["annotations"][REF_NAME].as_str() != tag);
    let mut entry = json!({"mediaType": image.format.manifest_type(), "digest": digest.to_string(), "size": manifest.len()});
    if let Some(t) = tag {
        entry["annotations"] = json!({ REF_NAME: t });
    }
    entries.push(entry);
    let index = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": entries});
    write_atomic(&index_path, &canonical_json(&index))
}

/// Whether the file at `path` holds exactly the blob `digest` of `size` bytes.
fn intact(path: &Path, digest: &oci_spec::image::Digest, size: u64) -> bool {
    let Ok(f) = fs::File::open(path) else {
        return false;
    };
    if !f.metadata().is_ok_and(|m| m.len() == size) {
        return false;
    }
    let mut v = VerifyingReader::new(
        io::BufReader::with_capacity(256 * 1024, f),
        digest.clone(),
        Some(size),
        String::new(),
    );
    io::copy(&mut v, &mut io::sink()).is_ok()
}

/// Writes bytes to `path` through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    copy_atomic(&mut &bytes[..], path)
}

/// Streams `src` into `path` through a temporary sibling; the rename happens only after the whole
/// stream was read without error (so a digest mismatch leaves nothing behind).
pub fn copy_atomic(src: &mut dyn Read, path: &Path) -> Result<(), LayoutError> {
    let parent = path.parent().expect("blob paths have a parent");
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&lamina_support::cleanup::prefix(".tmp-"))
        .tempfile_in(parent)
        .map_err(io_err(parent))?;
    let _interrupted = lamina_support::cleanup::register(tmp.path());
    io::copy(src, &mut tmp).map_err(io_err(path))?;
    tmp.flush().map_err(io_err(path))?;
    set_mode(tmp.as_file(), 0o644).map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| LayoutError::Io {
        path: path.into(),
        source: e.error,
    })?;
    Ok(())
}

/// Temporary files are created 0600; published files are world-readable like any blob store.
pub fn set_mode(f: &fs::File, mode: u32) -> io::Result<()> {
    f.set_permissions(fs::Permissions::from_mode(mode))
}
