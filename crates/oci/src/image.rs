//! `Image` and `Layer` as values. An image is a config (raw bytes, edited losslessly as JSON) plus an
//! ordered list of layers; each layer knows its descriptor, its diff_id and where its bytes live
//! (a `BlobSource`), so base layers are only read when a sink needs their bytes. Edits return new
//! values. Manifest bytes are canonical JSON, so the same image always has the same digest.

use super::{canonical_json, sha256_digest, Format, Origin, VerifyingReader};
use oci_spec::image::{Descriptor, Digest, MediaType};
use serde_json::{json, Value};
use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// Somewhere blob bytes can be read from: an OCI layout, a local blob store, later a registry.
pub trait BlobSource: Send + Sync {
    /// Opens the raw bytes of a blob. Callers verify them against the digest while reading.
    fn open(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>>;
    /// Where the bytes come from, for messages (`oci:base-images/standin`).
    fn describe(&self) -> String;
    /// `(registry host, repository)` when the blob lives in a registry (for cross-repo mounts).
    fn origin(&self) -> Option<(String, String)> {
        None
    }
    /// Whether the bytes can be read without a download.
    fn is_local(&self, _digest: &Digest) -> bool {
        true
    }
    /// What kind of store the bytes come from (for the hint when they fail their digest).
    fn kind(&self) -> Origin {
        Origin::Local
    }
}

/// Blobs stored as `<dir>/<algorithm>/<hex>` files (an OCI layout's `blobs/`, lamina's cache).
#[derive(Debug, Clone)]
pub struct DirBlobs {
    pub dir: PathBuf,
    pub label: String,
    pub kind: Origin,
}

/// A blob file that could not be opened (carried in an `io::Error` of the same kind).
#[derive(Debug, thiserror::Error)]
#[error("blob {digest} of {label}: {}", path.display())]
pub struct BlobFileError {
    digest: Digest,
    label: String,
    path: PathBuf,
    source: io::Error,
}

impl DirBlobs {
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join(digest.algorithm().as_ref())
            .join(digest.digest())
    }
}

impl BlobSource for DirBlobs {
    fn open(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        let path = self.path(digest);
        let f = std::fs::File::open(&path).map_err(|source| {
            io::Error::new(
                source.kind(),
                BlobFileError {
                    digest: digest.clone(),
                    label: self.label.clone(),
                    path: path.clone(),
                    source,
                },
            )
        })?;
        Ok(Box::new(io::BufReader::with_capacity(256 * 1024, f)))
    }
    fn describe(&self) -> String {
        self.label.clone()
    }
    fn kind(&self) -> Origin {
        self.kind
    }
}

/// Alias kept for readability at call sites.
pub type Blob = Arc<dyn BlobSource>;

/// One filesystem layer.
#[derive(Clone)]
pub struct Layer {
    /// Media type, digest and size of the compressed blob.
    pub descriptor: Descriptor,
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// Size of the uncompressed tar, when known (always for layers lamina wrote).
    pub uncompressed_size: Option<u64>,
    /// Number of entries that are not directories, when known.
    pub file_count: Option<u64>,
    pub blob: Blob,
}

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layer")
            .field("digest", self.descriptor.digest())
            .field("size", &self.descriptor.size())
            .field("diff_id", &self.diff_id)
            .field("from", &self.blob.describe())
            .finish()
    }
}

impl Layer {
    pub fn digest(&self) -> &Digest {
        self.descriptor.digest()
    }
    pub fn size(&self) -> u64 {
        self.descriptor.size()
    }
    /// The compressed bytes, verified against digest and size as they are read.
    pub fn open_verified(&self) -> io::Result<impl Read> {
        let r = self.blob.open(self.digest())?;
        let what = format!("layer {} from {}", self.digest(), self.blob.describe());
        Ok(
            VerifyingReader::new(r, self.digest().clone(), Some(self.size()), what)
                .from_origin(self.blob.kind()),
        )
    }
}

/// A single-platform image.
#[derive(Clone, Debug)]
pub struct Image {
    pub format: Format,
    config: Vec<u8>,
    pub layers: Vec<Layer>,
    /// Manifest bytes as the source stored them; dropped on any edit.
    raw_manifest: Option<Vec<u8>>,
}

impl Image {
    /// An image read from a source; `raw_manifest` keeps its digest stable when passed through.
    pub fn from_parts(
        format: Format,
        config: Vec<u8>,
        layers: Vec<Layer>,
        raw_manifest: Option<Vec<u8>>,
    ) -> Image {
        Image {
            format,
            config,
            layers,
            raw_manifest,
        }
    }

    pub fn config_bytes(&self) -> &[u8] {
        &self.config
    }

    pub fn config(&self) -> Value {
        serde_json::from_slice(&self.config).expect("config bytes were validated as JSON when set")
    }

    pub fn config_descriptor(&self) -> Descriptor {
        Descriptor::new(
            MediaType::Other(self.format.config_type().into()),
            self.config.len() as u64,
            sha256_digest(&self.config),
        )
    }

    /// `os/architecture[/variant]` from the config.
    pub fn platform(&self) -> String {
        let c = self.config();
        let mut p = format!(
            "{}/{}",
            c["os"].as_str().unwrap_or("unknown"),
            c["architecture"].as_str().unwrap_or("unknown")
        );
        if let Some(v) = c["variant"].as_str() {
            p.push('/');
            p.push_str(v);
        }
        p
    }

    /// The manifest as JSON. Layer media types are the image's family's gzip type.
    pub fn manifest_value(&self) -> Value {
        let layers: Vec<Value> = self
            .layers
            .iter()
            .map(|l| {
                json!({
                    "mediaType": media_type_str(l.descriptor.media_type()),
                    "digest": l.digest().to_string(),
                    "size": l.size(),
                })
            })
            .collect();
        let cd = self.config_descriptor();
        json!({
            "schemaVersion": 2,
            "mediaType": self.format.manifest_type(),
            "config": {
                "mediaType": self.format.config_type(),
                "digest": cd.digest().to_string(),
                "size": cd.size(),
            },
            "layers": layers,
        })
    }

    pub fn manifest_bytes(&self) -> Vec<u8> {
        match &self.raw_manifest {
            Some(raw) => raw.clone(),
            None => canonical_json(&self.manifest_value()),
        }
    }

    pub fn digest(&self) -> Digest {
        sha256_digest(&self.manifest_bytes())
    }

    /// Total size of the uncompressed layers, when every layer's is known.
    pub fn uncompressed_size(&self) -> Option<u64> {
        self.layers.iter().map(|l| l.uncompressed_size).sum()
    }

    /// A new image with the config replaced by `f(config)`, serialised canonically.
    pub fn with_config(mut self, f: impl FnOnce(&mut Value)) -> Image {
        let mut c = self.config();
        f(&mut c);
        self.config = canonical_json(&c);
        self.raw_manifest = None;
        self
    }

    /// The same image in another manifest family: only media-type strings change, never blob bytes,
    /// layer digests or the config digest (this is what `skopeo copy … oci:` does to Docker images).
    pub fn with_format(mut self, format: Format) -> Image {
        if self.format == format {
            return self;
        }
        for l in &mut self.layers {
            let t = media_type_str(l.descriptor.media_type());
            let converted = match (format, t.as_str()) {
                (Format::Oci, super::media::DOCKER_LAYER_GZIP) => super::media::OCI_LAYER_GZIP,
                (Format::Docker, super::media::OCI_LAYER_GZIP) => super::media::DOCKER_LAYER_GZIP,
                _ => continue,
            };
            l.descriptor
                .set_media_type(MediaType::Other(converted.into()));
        }
        self.format = format;
        self.raw_manifest = None;
        self
    }

    /// A new image with `layer` on top: its media type follows the image's family, its diff_id
    /// goes into `rootfs.diff_ids` and one history entry is appended (a null history is tolerated).
    pub fn append_layer(mut self, mut layer: Layer, history: Value) -> Image {
        layer
            .descriptor
            .set_media_type(MediaType::Other(self.format.layer_gzip_type().into()));
        let diff_id = layer.diff_id.to_string();
        self.layers.push(layer);
        self.with_config(|c| {
            if !c["rootfs"].is_object() {
                c["rootfs"] = json!({"type": "layers", "diff_ids": []});
            }
            if !c["rootfs"]["diff_ids"].is_array() {
                c["rootfs"]["diff_ids"] = json!([]);
            }
            c["rootfs"]["diff_ids"]
                .as_array_mut()
                .expect("array")
                .push(Value::String(diff_id));
            if !c["history"].is_array() {
                c["history"] = json!([]);
            }
            c["history"].as_array_mut().expect("array").push(history);
        })
    }
}

/// The media type string as it appears on the wire.
pub fn media_type_str(m: &MediaType) -> String {
    m.to_string()
}

/// Checks a config against the OCI image-config types (what skopeo and umoci read it as), naming
/// the field that does not fit: `config.Env: invalid type: string "x", expected a sequence`.
fn strict_config(cfg: &Value) -> Result<(), String> {
    let Err(e) = serde_json::from_value::<oci_spec::image::ImageConfiguration>(cfg.clone()) else {
        let rootfs = &cfg["rootfs"];
        if rootfs["type"] != "layers" {
            return Err(format!("rootfs.type is {}, not \"layers\"", rootfs["type"]));
        }
        let ids = rootfs["diff_ids"].as_array().into_iter().flatten();
        for (i, id) in ids.enumerate() {
            if id.as_str().and_then(super::parse_digest).is_none() {
                return Err(format!("rootfs.diff_ids[{i}] is {id}, not sha256:<64 hex>"));
            }
        }
        return Ok(());
    };
    // Find the field: each one alone on a minimal valid config.
    let skeleton = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}});
    let fails = |v: Value| serde_json::from_value::<oci_spec::image::ImageConfiguration>(v).err();
    let mut fields: Vec<(String, Value)> = Vec::new();
    if let Some(obj) = cfg.as_object() {
        for (k, v) in obj {
            if k == "config" && v.is_object() {
                for (ck, cv) in v.as_object().into_iter().flatten() {
                    let mut s = skeleton.clone();
                    s["config"] = json!({ ck.as_str(): cv });
                    fields.push((format!("config.{ck}"), s));
                }
            } else {
                let mut s = skeleton.clone();
                s[k.as_str()] = v.clone();
                fields.push((k.clone(), s));
            }
        }
    }
    for (name, v) in fields {
        if let Some(e) = fails(v) {
            return Err(format!("{name}: {}", super::json_problem(&e)));
        }
    }
    Err(super::json_problem(&e))
}

/// Why a manifest and config cannot make an image for the platform asked for.
#[derive(Debug)]
pub enum AssembleError {
    Invalid { what: &'static str, detail: String },
    Platform { available: String },
}

/// An image from a manifest (its raw bytes and parsed form) and its config bytes, for `platform`;
/// the layers' bytes stay in `blob` until a sink reads them. Shared by every source.
pub fn assemble(
    manifest_bytes: Vec<u8>,
    manifest: &oci_spec::image::ImageManifest,
    media_type: Option<&str>,
    config: Vec<u8>,
    platform: &super::Platform,
    blob: Blob,
) -> Result<Image, AssembleError> {
    let invalid = |what, detail: String| AssembleError::Invalid { what, detail };
    let format = Format::of_manifest(media_type).ok_or_else(|| {
        invalid(
            "image manifest",
            format!("unsupported media type {}", media_type.unwrap_or_default()),
        )
    })?;
    let cfg: Value = super::parse_json(&config).map_err(|e| invalid("image config", e))?;
    if !cfg.is_object() {
        return Err(invalid("image config", "is not a JSON object".into()));
    }
    strict_config(&cfg).map_err(|detail| invalid("image config", detail))?;
    let (os, arch) = (
        cfg["os"].as_str().unwrap_or(""),
        cfg["architecture"].as_str().unwrap_or(""),
    );
    if !platform.matches(os, arch, cfg["variant"].as_str()) {
        return Err(AssembleError::Platform {
            available: format!("{os}/{arch}"),
        });
    }
    let diff_ids: Vec<Digest> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().and_then(super::parse_digest))
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != manifest.layers().len() {
        return Err(invalid(
            "image config",
            format!(
                "{} layers but {} rootfs.diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            ),
        ));
    }
    let layers = manifest
        .layers()
        .iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| Layer {
            descriptor: d.clone(),
            diff_id,
            uncompressed_size: None,
            file_count: None,
            blob: blob.clone(),
        })
        .collect();
    Ok(Image::from_parts(
        format,
        config,
        layers,
        Some(manifest_bytes),
    ))
}
