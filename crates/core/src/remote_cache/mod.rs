//! The remote layer cache: a layer's input key → the layer, kept in a registry repository so every
//! runner that can reach it shares what any runner built. An entry is an OCI artifact: an image
//! manifest with `artifactType` `application/vnd.lamina.layer-cache.v1+json`, the empty config,
//! and two layers: a small JSON blob (the layer's descriptor, diff_id, uncompressed size, file
//! count, and for the dependency layer the facts the gate needs) and the layer blob itself (so the
//! registry keeps it, and ECR can mount it into another repository). It is tagged
//! `lamina-cache-<kind>-<key hex>`: tagged, so an "expire untagged" lifecycle rule never deletes a
//! live entry, and with a prefix a "keep the last N" rule can leave out (`tagPrefixList`).
//!
//! `lookup` answers a hit only when the entry parses, names this key, and its layer blob is in the
//! push repository (or in the cache repository, to be mounted); anything else is a miss with a
//! warning, never an error. `record` writes an entry after a push. Nothing here decides whether a
//! cached layer is trustworthy: `lamina verify` rebuilds without any cache to check that.

mod checked;
mod record;

use lamina_install::deps::facts::DepsFacts;
use lamina_oci::layer::WrittenLayer;
use lamina_oci::{media, parse_digest, sha256_digest, Blob, DirBlobs};
use lamina_registry::client::Scope;
use lamina_registry::pull::RegistryBlobs;
use lamina_registry::pusher::{BlobJob, Pusher};
use lamina_registry::{Client, Reference, RegistryError};
use oci_spec::image::Digest;
use reqwest::header::ACCEPT;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::Arc;

pub const ARTIFACT_TYPE: &str = "application/vnd.lamina.layer-cache.v1+json";
pub const ENTRY_TYPE: &str = "application/vnd.lamina.layer-cache.entry.v1+json";
pub const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Every cache tag starts with this (for lifecycle rules' `tagPrefixList`).
pub const TAG_PREFIX: &str = "lamina-cache-";
const EMPTY: &[u8] = b"{}";
const VERSION: u32 = 1;
/// The largest entry blob (or manifest) read: an entry is a few KiB to a few MiB of JSON.
const MAX_ENTRY: u64 = 64 << 20;

/// What an entry says about one layer.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Entry {
    pub version: u32,
    pub key: String,
    pub layer: LayerDescriptor,
    pub diff_id: String,
    pub uncompressed_size: u64,
    pub file_count: u64,
    /// The dependency layer's plan and gate facts.
    pub facts: Option<DepsFacts>,
    /// The bytecode note kept beside a compiled layer.
    pub bytecode: Option<Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LayerDescriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// A layer found in the remote cache.
pub struct Hit {
    pub layer: WrittenLayer,
    /// Where its bytes are (read only if a sink needs them locally).
    pub blob: Blob,
    pub facts: Option<DepsFacts>,
    pub bytecode: Option<Value>,
    pub tag: String,
}

/// The tag an input key is kept under: `lamina-cache-deps-<hex>` or `lamina-cache-src-<hex>`.
pub fn tag_for(key: &str) -> String {
    match key.strip_prefix("deps-") {
        Some(hex) => format!("{TAG_PREFIX}deps-{hex}"),
        None => format!("{TAG_PREFIX}src-{key}"),
    }
}

/// The remote cache in `repo`, for images pushed to `target`.
pub struct RemoteCache {
    pub client: Arc<Client>,
    pub repo: Reference,
    pub target: Reference,
    /// Where downloaded blobs would go (lamina's cache).
    pub blobs: DirBlobs,
    /// lamina's cache, which remembers the entries this machine saw (recorded or used), so an
    /// unchanged layer is not asked about again on every build.
    pub local: lamina_cache::Cache,
    /// Keys whose entry was there but unusable, or not there: recorded after the push without
    /// asking again.
    pub broken: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl RemoteCache {
    /// The remote cache a build uses: `plan.remote_cache` (the push repository unless `cache_repo`
    /// names another; none with `--no-remote-cache` or without a push).
    pub fn for_plan(
        plan: &crate::config::Plan,
        client: &std::sync::Arc<lamina_registry::Client>,
        cache: &lamina_cache::Cache,
    ) -> Option<RemoteCache> {
        let repo = plan.remote_cache.clone()?;
        let (target, _) = plan.push.as_ref()?;
        Some(RemoteCache {
            client: client.clone(),
            repo,
            target: target.clone(),
            blobs: cache.blobs(),
            local: cache.clone(),
            broken: Default::default(),
        })
    }

    /// The entry for `key`, if one is usable; a broken one is a miss and `warn` says why.
    pub fn lookup(&self, key: &str, warn: &mut dyn FnMut(String)) -> Option<Hit> {
        let tag = tag_for(key);
        let miss = |why: String, warn: &mut dyn FnMut(String)| {
            self.broken.lock().expect("lock").insert(key.to_string());
            warn(format!(
                "warning: remote cache entry {}:{tag} {why}; building the layer",
                self.repo.repo_name()
            ));
            None
        };
        let manifest = match self.get(&format!("manifests/{tag}"), &self.repo, true) {
            Ok(Some(b)) => b,
            Ok(None) => {
                self.broken.lock().expect("lock").insert(key.to_string());
                return None;
            }
            Err(e) => {
                return miss(
                    format!(
                        "could not be read ({})",
                        lamina_support::diagnostic::chain(&e)
                    ),
                    warn,
                )
            }
        };
        let m: Value = match serde_json::from_slice(&manifest) {
            Ok(v) => v,
            Err(e) => return miss(format!("is not a manifest ({e})"), warn),
        };
        if let Some(why) = not_an_entry(&m) {
            return miss(why, warn);
        }
        let descriptor = m["layers"]
            .as_array()
            .and_then(|l| l.iter().find(|d| d["mediaType"] == ENTRY_TYPE));
        let Some(entry_digest) = descriptor
            .and_then(|d| d["digest"].as_str())
            .and_then(parse_digest)
        else {
            return miss("has no entry blob".into(), warn);
        };
        if let Some(size) = descriptor
            .and_then(|d| d["size"].as_u64())
            .filter(|s| *s > MAX_ENTRY)
        {
            return miss(
                format!(
                    "has an entry blob of {size} bytes, too large (an entry is at most 64 MiB)"
                ),
                warn,
            );
        }
        let bytes = match self.get(&format!("blobs/{entry_digest}"), &self.repo, false) {
            Ok(Some(b)) if sha256_digest(&b) == entry_digest => b,
            Ok(Some(_)) => {
                return miss(
                    "has an entry blob that does not match its digest".into(),
                    warn,
                )
            }
            Ok(None) => {
                return miss(
                    "names an entry blob the registry does not have".into(),
                    warn,
                )
            }
            Err(e) => {
                return miss(
                    format!(
                        "could not be read ({})",
                        lamina_support::diagnostic::chain(&e)
                    ),
                    warn,
                )
            }
        };
        let entry: Entry = match serde_json::from_slice(&bytes) {
            Ok(e) => e,
            Err(e) => return miss(format!("has a descriptor that does not parse ({e})"), warn),
        };
        if entry.version != VERSION || entry.key != key {
            return miss("was written for another key or version".into(), warn);
        }
        let (Some(digest), Some(diff_id)) = (
            parse_digest(&entry.layer.digest),
            parse_digest(&entry.diff_id),
        ) else {
            return miss("has a descriptor that does not parse (digest)".into(), warn);
        };
        // Only what lamina writes: a gzip layer (the media type goes into the pushed manifest).
        if entry.layer.media_type != media::OCI_LAYER_GZIP {
            return miss(
                format!(
                    "names a layer of media type {:?}, not {}",
                    entry.layer.media_type,
                    media::OCI_LAYER_GZIP
                ),
                warn,
            );
        }
        // The layer blob must be where the push will look for it.
        let mut found = None;
        for repo in [&self.target, &self.repo] {
            match self.blob_size(repo, &digest) {
                // The size goes into the pushed manifest: it must be the registry's.
                Ok(Some(Some(size))) if size != entry.layer.size => {
                    return miss(
                        format!(
                            "says layer {digest} is {} bytes; {} has it at {size} bytes",
                            entry.layer.size,
                            repo.repo_name()
                        ),
                        warn,
                    )
                }
                Ok(Some(_)) => {
                    found = Some(repo.clone());
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    return miss(
                        format!(
                            "could not be checked ({})",
                            lamina_support::diagnostic::chain(&e)
                        ),
                        warn,
                    )
                }
            }
            if self.repo == self.target {
                break;
            }
        }
        let Some(holder) = found else {
            return miss(
                format!(
                    "names layer {digest}, which is not in {}",
                    self.target.repo_name()
                ),
                warn,
            );
        };
        let blob: Blob = Arc::new(checked::DiffIdChecked::new(
            Arc::new(RegistryBlobs {
                client: self.client.clone(),
                host: holder.host.clone(),
                repository: holder.repository.clone(),
                cache: self.blobs.clone(),
                checked: Default::default(),
            }),
            diff_id.clone(),
            tag.clone(),
        ));
        let _ = self
            .local
            .remember_remote_entry(&self.repo.repo_name(), &tag);
        Some(Hit {
            layer: WrittenLayer {
                path: self.blobs.path(&digest),
                digest,
                size: entry.layer.size,
                diff_id,
                uncompressed_size: entry.uncompressed_size,
                file_count: entry.file_count,
            },
            blob,
            facts: entry.facts,
            bytecode: entry.bytecode,
            tag,
        })
    }

    /// GET `/v2/<repo>/<path>`: the body, or None on 404.
    fn get(
        &self,
        path: &str,
        repo: &Reference,
        manifest: bool,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let what = format!("reading the remote cache {}", repo.repo_name());
        let url = self
            .client
            .url(&repo.host, &format!("/v2/{}/{path}", repo.repository));
        let resp = self
            .client
            .send(&what, &repo.host, &Scope::pull(&repo.repository), &|h| {
                let r = h.get(&url);
                // An index too, so one pushed under a cache tag is named, not a 404.
                Ok(if manifest {
                    r.header(ACCEPT, lamina_registry::pull::MANIFEST_ACCEPT)
                } else {
                    r
                })
            })?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(RegistryError::from_response(&what, resp));
        }
        let mut out = Vec::new();
        resp.take(MAX_ENTRY + 1)
            .read_to_end(&mut out)
            .map_err(|e| RegistryError::Http {
                what: what.clone(),
                source: lamina_registry::Transfer::Io(e),
            })?;
        if out.len() as u64 > MAX_ENTRY {
            return Err(RegistryError::Protocol {
                what,
                detail: format!("{path} is too large (over 64 MiB)"),
            });
        }
        Ok(Some(out))
    }

    /// HEAD of a blob: `None` when it is not there, else its size when the registry said it.
    fn blob_size(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Option<Option<u64>>, RegistryError> {
        self.head_len(&format!("blobs/{digest}"), repo)
    }

    /// HEAD `/v2/<repo>/<path>`: whether it is there.
    fn head(&self, path: &str, repo: &Reference) -> Result<bool, RegistryError> {
        Ok(self.head_len(path, repo)?.is_some())
    }

    /// HEAD `/v2/<repo>/<path>`: `None` when it is not there, else its `Content-Length`, if any.
    fn head_len(&self, path: &str, repo: &Reference) -> Result<Option<Option<u64>>, RegistryError> {
        let what = format!("checking {path} in {}", repo.repo_name());
        let url = self
            .client
            .url(&repo.host, &format!("/v2/{}/{path}", repo.repository));
        let resp = self
            .client
            .send(&what, &repo.host, &Scope::pull(&repo.repository), &|h| {
                let r = h.head(&url);
                Ok(if path.starts_with("manifests/") {
                    r.header(ACCEPT, media::OCI_MANIFEST)
                } else {
                    r
                })
            })?;
        match resp.status() {
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok()),
            )),
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            _ => Err(RegistryError::from_response(&what, resp)),
        }
    }
}

/// Why the manifest under a cache tag is no entry at all (an image or index pushed under a
/// `lamina-cache-` tag), if it is not.
fn not_an_entry(m: &Value) -> Option<String> {
    let mt = m["mediaType"].as_str().unwrap_or_default();
    if mt == media::OCI_INDEX || mt == media::DOCKER_LIST || m["manifests"].is_array() {
        return Some("is an image index, not a lamina cache entry (an image was pushed under the cache's tag)".into());
    }
    (m["artifactType"] != ARTIFACT_TYPE).then(|| {
        format!(
            "is not a lamina cache entry (artifactType {}, not {ARTIFACT_TYPE})",
            m["artifactType"]
        )
    })
}

/// A dependency layer from the remote cache: the layer, its plan, its bytecode note, its blob
/// and the entry's tag.
pub type DepsHit = (
    WrittenLayer,
    lamina_install::wheels::DepsPlan,
    Option<lamina_install::compiled::LayerBytecode>,
    Option<(Blob, String)>,
);

/// The dependency layer `key` from the remote cache, with the plan its facts describe and its
/// bytecode note; an entry without usable facts is a miss with a warning.
pub fn lookup_deps(
    remote: &RemoteCache,
    key: &str,
    inputs: &[lamina_install::deps::Input],
    cache: &lamina_cache::Cache,
    log: &mut dyn FnMut(String),
) -> Option<DepsHit> {
    let hit = remote.lookup(key, log)?;
    let plan = hit
        .facts
        .as_ref()
        .and_then(|f| f.to_plan(&lamina_install::deps::wheel_paths(inputs, cache)));
    let Some(plan) = plan else {
        log(format!(
            "warning: remote cache entry {}:{} has no usable facts about the wheels; building the layer",
            remote.repo.repo_name(),
            hit.tag
        ));
        return None;
    };
    log(format!(
        "dependency layer: from the remote cache ({})",
        hit.tag
    ));
    let bc = hit.bytecode.and_then(|v| serde_json::from_value(v).ok());
    Some((hit.layer, plan, bc, Some((hit.blob, hit.tag))))
}
