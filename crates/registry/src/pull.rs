//! Pulling: a manifest by tag or digest (an index resolves to the `--platform` entry; attestation
//! entries are skipped), every manifest, config and blob checked against its digest, and all of it
//! kept in lamina's content-addressed cache, so a base pinned by digest builds offline after one
//! pull. Layers stay lazy: their bytes are fetched only when a sink asks for them.

use super::client::Scope;
use super::{Client, Reference, RegistryError};
use lamina_oci::image::{AssembleError, DirBlobs};
use lamina_oci::layout::{copy_atomic, select_platform, LayoutError};
use lamina_oci::{
    media, parse_digest, sha256_digest, BlobSource, Image, Platform, VerifyingReader,
};
use lamina_support::diagnostic::Carried;
use oci_spec::image::{Digest, ImageIndex, ImageManifest};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;
use std::io::{self, Read};
use std::sync::Arc;

pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
const MAX_MANIFEST: u64 = 8 * 1024 * 1024;

/// Blobs of one repository, fetched on demand into the cache.
pub struct RegistryBlobs {
    pub client: Arc<Client>,
    pub host: String,
    pub repository: String,
    pub cache: DirBlobs,
    /// Cached blobs already checked against their digest in this run.
    pub checked: std::sync::Mutex<std::collections::HashSet<Digest>>,
}

impl RegistryBlobs {
    /// Makes sure the blob is in the cache (downloading and verifying it if needed).
    pub fn fetch(&self, digest: &Digest, size: Option<u64>) -> Result<(), RegistryError> {
        let path = self.cache.path(digest);
        if path.is_file() {
            // Checked once per run: a damaged cached blob is removed and downloaded again.
            if self.checked.lock().expect("lock").contains(digest) {
                return Ok(());
            }
            match self.cache.open(digest).and_then(|r| {
                let mut v = VerifyingReader::new(r, digest.clone(), size, String::new());
                io::copy(&mut v, &mut io::sink())
            }) {
                Ok(_) => {
                    self.checked.lock().expect("lock").insert(digest.clone());
                    return Ok(());
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    self.client.stats.warnings.lock().expect("lock").push(format!(
                        "the cached blob {digest} ({}) was damaged ({}); removed it and downloaded it again",
                        path.display(),
                        if e.kind() == io::ErrorKind::InvalidData { "its bytes do not match its digest".to_string() } else { e.to_string() }
                    ));
                }
            }
        }
        let what = format!(
            "downloading {digest} from {}/{}",
            self.host, self.repository
        );
        let url = self.client.url(
            &self.host,
            &format!("/v2/{}/blobs/{digest}", self.repository),
        );
        let resp = self
            .client
            .send(&what, &self.host, &Scope::pull(&self.repository), &|h| {
                Ok(h.get(&url))
            })?;
        if !resp.status().is_success() {
            return Err(RegistryError::from_response(&what, resp));
        }
        let resp = super::client::Counting {
            inner: resp,
            counter: self.client.stats.bytes_received.clone(),
        };
        let mut verified = VerifyingReader::new(
            resp,
            digest.clone(),
            size,
            format!("blob {digest} from {}/{}", self.host, self.repository),
        )
        .from_origin(lamina_oci::Origin::Registry);
        copy_atomic(&mut verified, &path).map_err(|e| match e {
            LayoutError::Io { source, .. } if lamina_oci::mismatch_of(&source).is_some() => {
                let m = lamina_oci::mismatch_of(&source).expect("checked");
                RegistryError::Digest {
                    what,
                    expected: digest.to_string(),
                    got: m.got.as_ref().map_or_else(
                        || format!("more than {} bytes", m.got_size),
                        |g| format!("{g} ({} bytes)", m.got_size),
                    ),
                }
            }
            LayoutError::Io { source, .. } if source.kind() == io::ErrorKind::TimedOut => {
                RegistryError::Http {
                    what,
                    source: super::Transfer::Io(source),
                }
            }
            LayoutError::Io { path, source } => RegistryError::Cache { path, source },
            other => RegistryError::Cache {
                path,
                source: io::Error::other(other),
            },
        })
    }
}

impl BlobSource for RegistryBlobs {
    fn open(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        self.fetch(digest, None).map_err(Carried::io)?;
        self.cache.open(digest)
    }
    fn kind(&self) -> lamina_oci::Origin {
        // Bytes are checked as they are downloaded; a later mismatch is the cache's.
        lamina_oci::Origin::Cache
    }
    fn describe(&self) -> String {
        format!("{}/{}", self.host, self.repository)
    }
    fn origin(&self) -> Option<(String, String)> {
        Some((self.host.clone(), self.repository.clone()))
    }
    fn is_local(&self, digest: &Digest) -> bool {
        self.cache.path(digest).is_file()
    }
}

fn media_type_of(bytes: &[u8], header: Option<&str>) -> String {
    let from_body = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_string));
    from_body
        .or_else(|| header.map(|h| h.split(';').next().unwrap_or(h).trim().to_string()))
        .unwrap_or_else(|| media::OCI_MANIFEST.into())
}

/// A manifest (or index) by tag or digest, verified, cached by digest.
pub fn fetch_manifest(
    client: &Client,
    blobs: &DirBlobs,
    r: &Reference,
    reference: &str,
) -> Result<(Vec<u8>, String, Digest), RegistryError> {
    let pinned = parse_digest(reference);
    if let Some(d) = &pinned {
        if let Ok(bytes) = std::fs::read(blobs.path(d)) {
            if sha256_digest(&bytes) == *d {
                let mt = media_type_of(&bytes, None);
                return Ok((bytes, mt, d.clone()));
            }
        }
    }
    // `REPO@sha256:…` for a digest, `REPO:TAG` for a tag: the forms the user writes.
    let sep = if pinned.is_some() { '@' } else { ':' };
    let what = format!("getting manifest {}{sep}{reference}", r.repo_name());
    let url = client.url(
        &r.host,
        &format!("/v2/{}/manifests/{reference}", r.repository),
    );
    let resp = client.send(&what, &r.host, &Scope::pull(&r.repository), &|h| {
        Ok(h.get(&url).header(ACCEPT, MANIFEST_ACCEPT))
    })?;
    if !resp.status().is_success() {
        return Err(RegistryError::from_response(&what, resp));
    }
    let header_digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut bytes = Vec::new();
    resp.take(MAX_MANIFEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| RegistryError::Http {
            what: what.clone(),
            source: super::Transfer::Io(e),
        })?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(RegistryError::Protocol {
            what,
            detail: "the manifest is larger than 8 MiB".into(),
        });
    }
    let digest = sha256_digest(&bytes);
    let expected = pinned
        .map(|d| d.to_string())
        .or(header_digest.filter(|h| h.starts_with("sha256:")));
    if let Some(e) = expected {
        if e != digest.to_string() {
            return Err(RegistryError::Digest {
                what,
                expected: e,
                got: digest.to_string(),
            });
        }
    }
    copy_atomic(&mut &bytes[..], &blobs.path(&digest)).map_err(|e| RegistryError::Cache {
        path: blobs.path(&digest),
        source: match e {
            LayoutError::Io { source, .. } => source,
            other => io::Error::other(other),
        },
    })?;
    let mt = media_type_of(&bytes, content_type.as_deref());
    Ok((bytes, mt, digest))
}

/// Pulls `r` for `platform`: manifest and config now, layers when needed.
pub fn pull(
    client: &Arc<Client>,
    blobs: &DirBlobs,
    r: &Reference,
    platform: &Platform,
) -> Result<(Image, Digest), RegistryError> {
    let (mut bytes, mut mt, mut digest) = fetch_manifest(client, blobs, r, &r.reference())?;
    if mt == media::OCI_INDEX || mt == media::DOCKER_LIST {
        let index =
            lamina_oci::parse_json::<ImageIndex>(&bytes).map_err(|e| RegistryError::Protocol {
                what: format!("reading the index of {r}"),
                detail: e,
            })?;
        let chosen = select_platform(index.manifests(), platform).map_err(|available| {
            RegistryError::NoPlatform {
                reference: r.to_string(),
                platform: platform.to_string(),
                available,
            }
        })?;
        (bytes, mt, digest) = fetch_manifest(client, blobs, r, chosen.digest().as_ref())?;
    }
    let what = format!("reading the manifest of {r}");
    let manifest =
        lamina_oci::parse_json::<ImageManifest>(&bytes).map_err(|e| RegistryError::Protocol {
            what: what.clone(),
            detail: e,
        })?;
    let source = Arc::new(RegistryBlobs {
        client: client.clone(),
        host: r.host.clone(),
        repository: r.repository.clone(),
        cache: blobs.clone(),
        checked: Default::default(),
    });
    source.fetch(manifest.config().digest(), Some(manifest.config().size()))?;
    let mut config = Vec::new();
    let cfg_path = blobs.path(manifest.config().digest());
    VerifyingReader::new(
        std::fs::File::open(&cfg_path).map_err(|e| RegistryError::Cache {
            path: cfg_path.clone(),
            source: e,
        })?,
        manifest.config().digest().clone(),
        Some(manifest.config().size()),
        "config".into(),
    )
    .read_to_end(&mut config)
    .map_err(|e| RegistryError::Cache {
        path: cfg_path,
        source: e,
    })?;
    let blob: Arc<dyn BlobSource> = source;
    let image =
        lamina_oci::image::assemble(bytes, &manifest, Some(mt.as_str()), config, platform, blob)
            .map_err(|e| match e {
                AssembleError::Invalid { what: part, detail } => RegistryError::Protocol {
                    what: format!("{what}: {part}"),
                    detail,
                },
                AssembleError::Platform { available } => RegistryError::NoPlatform {
                    reference: r.to_string(),
                    platform: platform.to_string(),
                    available,
                },
            })?;
    Ok((image, digest))
}
