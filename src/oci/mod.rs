//! The image model: digests, media types, descriptors, `Image`/`Layer` values, and where images come
//! from (sources) and go to (sinks). It knows no HTTP, no AWS and no Python.

pub mod archive;
pub mod image;
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

/// A reader that checks, at end of stream, that the bytes had the expected digest and size. A
/// mismatch surfaces as an `io::ErrorKind::InvalidData` error so a copy fails before it is renamed
/// into place.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    expected: Digest,
    expected_size: Option<u64>,
    what: String,
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
            done: false,
        }
    }
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
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} does not match its digest: expected {} ({} bytes), got {} ({} bytes)",
                        self.what,
                        self.expected,
                        self.expected_size.map_or("?".into(), |s| s.to_string()),
                        got,
                        self.count
                    ),
                ));
            }
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if self.expected_size.is_some_and(|s| self.count > s) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is longer than its descriptor says ({} bytes)",
                    self.what,
                    self.expected_size.unwrap()
                ),
            ));
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

/// Opening a source or writing a sink, whatever the transport.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error("{0} cannot be read as a base image yet; use an OCI layout (oci:DIR[:TAG])")]
    NotASource(String),
}

impl TransportError {
    pub fn hint(&self) -> Option<String> {
        match self {
            TransportError::Layout(e) => e.hint(),
            TransportError::NotASource(_) => {
                Some("skopeo copy docker-archive:FILE oci:DIR:TAG converts it".into())
            }
            TransportError::Archive(_) => None,
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

/// Writes an image to a sink reference and returns the manifest digest as written there. An OCI
/// layout always gets OCI media types (skopeo and umoci ignore Docker manifests in a layout, and
/// `skopeo copy … oci:` converts the same way); a docker-archive has no manifest of its own.
/// `mtime` is used for the archive's own entries.
pub fn write(image: &Image, r: &reference::ImageRef, mtime: u64) -> Result<Digest, TransportError> {
    match r {
        reference::ImageRef::Layout { dir, tag } => {
            let image = image.clone().with_format(Format::Oci);
            layout::write(&image, dir, tag.as_deref())?;
            Ok(image.digest())
        }
        reference::ImageRef::Archive { file, name } => {
            archive::write(image, file, name.as_deref(), mtime)?;
            Ok(image.digest())
        }
    }
}
