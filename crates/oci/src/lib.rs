//! The image model: digests, media types, descriptors, `Image`/`Layer` values, and where images come
//! from (sources) and go to (sinks). It knows no HTTP, no AWS and no Python.

pub mod archive;
pub mod artifact;
pub mod image;
pub mod layer;
pub mod layout;
pub mod platform;
pub mod reference;

use oci_spec::image::Digest;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read, Write};
use std::str::FromStr;

pub use image::{Blob, BlobSource, DirBlobs, Image, Layer};
pub use platform::Platform;

/// Media types, both families. Lambda accepts either, but never a mix.
pub mod media {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

/// Which manifest family an image uses; config and layer media types follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Oci,
    Docker,
}

impl Format {
    pub fn manifest_type(self) -> &'static str {
        match self {
            Format::Oci => media::OCI_MANIFEST,
            Format::Docker => media::DOCKER_MANIFEST,
        }
    }
    pub fn config_type(self) -> &'static str {
        match self {
            Format::Oci => media::OCI_CONFIG,
            Format::Docker => media::DOCKER_CONFIG,
        }
    }
    pub fn layer_gzip_type(self) -> &'static str {
        match self {
            Format::Oci => media::OCI_LAYER_GZIP,
            Format::Docker => media::DOCKER_LAYER_GZIP,
        }
    }
    /// The family a manifest media type belongs to; a missing type (umoci writes none) is OCI.
    pub fn of_manifest(media_type: Option<&str>) -> Option<Format> {
        match media_type {
            None | Some(media::OCI_MANIFEST) => Some(Format::Oci),
            Some(media::DOCKER_MANIFEST) => Some(Format::Docker),
            _ => None,
        }
    }
}

/// Parses an OCI JSON document (index, manifest, config), saying what is wrong in the user's words:
/// where the JSON breaks, or which value does not fit (never serde's type names).
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| json_problem(&e))
}

/// A serde_json error in the user's words.
pub fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("not valid JSON (line {}, column {})", e.line(), e.column())
        }
        Category::Data => {
            let text = e.to_string();
            // "invalid type: sequence, expected struct ImageIndex at line 1 column 0"
            let mut what = text.split(" at line ").next().unwrap_or(&text).to_string();
            if let Some(i) = what
                .find(", expected struct ")
                .or_else(|| what.find(", expected enum "))
            {
                what.truncate(i);
                what.push_str(", expected a JSON object");
            }
            if e.line() == 0 {
                what
            } else {
                format!("{what} (line {}, column {})", e.line(), e.column())
            }
        }
        Category::Io => e.to_string(),
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> Digest {
    digest_from_hasher(Sha256::new_with_prefix(bytes))
}

pub fn digest_from_hasher(h: Sha256) -> Digest {
    let s = format!("sha256:{}", hex::encode(h.finalize()));
    Digest::from_str(&s).expect("a sha256 hex string is a valid digest")
}

/// Parses `sha256:<64 hex>`; anything else is refused (we only ever write sha256).
pub fn parse_digest(s: &str) -> Option<Digest> {
    let hex = s.strip_prefix("sha256:")?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    Digest::from_str(s).ok()
}

/// Canonical JSON bytes: object keys sorted, no insignificant whitespace. Digests of configs and
/// manifests must not depend on HashMap iteration order or on serde_json's feature flags.
pub fn canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    let v = serde_json::to_value(value).expect("serialising an in-memory value cannot fail");
    let mut out = Vec::new();
    write_canonical(&v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(k).expect("string"));
                out.push(b':');
                write_canonical(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        other => out.extend(serde_json::to_vec(other).expect("scalar")),
    }
}

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, digest_from_hasher(self.hasher), self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Where bytes come from, so that bytes failing their digest get the fix that fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An OCI layout given as the base (`oci:DIR`).
    Layout,
    /// lamina's own cache.
    Cache,
    /// A registry, over the network.
    Registry,
    /// Anything else (a file being uploaded, bytes in memory).
    Local,
}

/// Bytes whose digest or size is not the one their descriptor names.
#[derive(Debug, thiserror::Error)]
#[error("{what} does not match its digest: expected {expected} ({} bytes), got {}", expected_size.map_or("?".into(), |s| s.to_string()), got.as_ref().map_or(format!("more than {got_size} bytes"), |g| format!("{g} ({got_size} bytes)")))]
pub struct DigestMismatch {
    pub what: String,
    pub expected: Digest,
    pub expected_size: Option<u64>,
    /// `None` when the stream ran past the expected size (it was not read to its end).
    pub got: Option<Digest>,
    pub got_size: u64,
    pub origin: Origin,
}

impl lamina_support::diagnostic::Hint for DigestMismatch {
    fn hint(&self) -> Option<String> {
        Some(match self.origin {
            Origin::Layout => "the base layout is damaged; copy the base again (skopeo copy or lamina pull)".into(),
            Origin::Cache => "an entry of lamina's cache is damaged: remove the cache directory (LAMINA_CACHE_DIR, or ~/.cache/lamina) and build again".into(),
            Origin::Registry => "the registry, or something between us and it, altered the bytes; nothing was used: try again, or check any proxy in between".into(),
            Origin::Local => return None,
        })
    }
}

/// A reader that checks, at end of stream, that the bytes had the expected digest and size. A
/// mismatch surfaces as an `io::ErrorKind::InvalidData` error carrying a `DigestMismatch`, so a
/// copy fails before it is renamed into place.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    expected: Digest,
    expected_size: Option<u64>,
    what: String,
    origin: Origin,
    done: bool,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>, what: String) -> Self {
        VerifyingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            expected,
            expected_size,
            what,
            origin: Origin::Local,
            done: false,
        }
    }

    /// Says where the bytes come from (for the hint of a mismatch).
    pub fn from_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    fn mismatch(&self, got: Option<Digest>) -> io::Error {
        Carried::io_kind(
            io::ErrorKind::InvalidData,
            DigestMismatch {
                what: self.what.clone(),
                expected: self.expected.clone(),
                expected_size: self.expected_size,
                got,
                got_size: self.count,
                origin: self.origin,
            },
        )
    }
}

/// The `DigestMismatch` an I/O error carries, if it is one.
pub fn mismatch_of(e: &io::Error) -> Option<&DigestMismatch> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<Carried>())
        .and_then(|c| c.inner().downcast_ref::<DigestMismatch>())
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let got = digest_from_hasher(std::mem::take(&mut self.hasher));
            self.done = true;
            let size_bad = self.expected_size.is_some_and(|s| s != self.count);
            if got != self.expected || size_bad {
                return Err(self.mismatch(Some(got)));
            }
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if self.expected_size.is_some_and(|s| self.count > s) {
            return Err(self.mismatch(None));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"z":[{"y":1,"x":2}],"c":"é"}}"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            r#"{"a":{"c":"é","z":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn verifying_reader_rejects_wrong_bytes() {
        let good = sha256_digest(b"hello");
        let mut ok = VerifyingReader::new(&b"hello"[..], good.clone(), Some(5), "blob".into());
        io::copy(&mut ok, &mut io::sink()).unwrap();
        let mut bad = VerifyingReader::new(&b"hellO"[..], good, Some(5), "blob x".into());
        let err = io::copy(&mut bad, &mut io::sink()).unwrap_err();
        assert!(
            err.to_string().contains("blob x does not match its digest"),
            "{err}"
        );
    }

    #[test]
    fn parse_digest_is_strict() {
        assert!(parse_digest(&format!("sha256:{}", "a".repeat(64))).is_some());
        assert!(parse_digest(&format!("sha256:{}", "A".repeat(64))).is_none());
        assert!(parse_digest("sha256:abc").is_none());
        assert!(parse_digest(&format!("sha512:{}", "a".repeat(64))).is_none());
    }
}

/// Opening a local source or writing a local sink (`lamina_core::sink`), whatever the transport.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error("{0} cannot be read as a base image yet")]
    NotASource(String),
}

use lamina_support::diagnostic::{Carried, Hint};

impl Hint for TransportError {
    fn hint(&self) -> Option<String> {
        match self {
            TransportError::Layout(e) => e.hint(),
            TransportError::NotASource(_) => Some(
                "use an OCI layout as the base (oci:DIR[:TAG]); skopeo copy docker-archive:FILE oci:DIR:TAG converts it".into(),
            ),
            TransportError::Archive(e) => e.hint(),
        }
    }
}

/// An image from a source reference.
pub fn open(r: &reference::ImageRef, platform: &Platform) -> Result<Image, TransportError> {
    match r {
        reference::ImageRef::Layout { dir, tag } => {
            Ok(layout::read(dir, tag.as_deref(), platform)?)
        }
        other => Err(TransportError::NotASource(other.to_string())),
    }
}
