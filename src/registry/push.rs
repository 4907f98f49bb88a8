//! Pushing an image, readable in one function (`push`): every blob is HEADed and skipped when
//! present, mounted across repositories of the same registry when possible, else uploaded
//! monolithically (POST, then one streamed PUT `?digest=`; chunked PATCHes only on request,
//! accepting ECR's 201). Uploads run in parallel, bounded. The config and then the manifest go last,
//! by digest, then each tag, each checked against our digest. The manifest is never sent unless
//! every blob is known to be in the repository, and a tag that fails puts back every tag this push
//! already moved (their previous manifests are read first), so a failed push leaves every tag where
//! it was, or says exactly which tag moved. A rerun uploads only what is missing.

use super::client::Scope;
use super::upload::{check_digest_header, ensure_blob, short, BlobJob};
use super::{Client, Reference, RegistryError};
use crate::oci::{sha256_digest, Image};
use oci_spec::image::Digest;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use std::collections::HashSet;
use std::io::Read;
use std::str::FromStr;
use std::sync::Mutex;

pub type Log<'a> = &'a (dyn Fn(String) + Sync);

/// Pushes `image` to `target`'s repository under `tags` (none: by digest only). Returns the digest.
/// With `immutable_tags`, a tag that already names another image is an error raised before any
/// upload; a tag that already names this image is left alone (immutable registries refuse even
/// the same manifest again).
pub fn push(
    client: &Client,
    image: &Image,
    target: &Reference,
    tags: &[String],
    immutable_tags: bool,
    log: Log,
) -> Result<Digest, RegistryError> {
    let scope = Scope::push(&target.repository);
    let manifest = image.manifest_bytes();
    let digest = sha256_digest(&manifest);
    let media_type = image.format.manifest_type();
    // 0. Where the tags point now (kept, to put them back if a later tag fails).
    let mut to_tag = Vec::new();
    for tag in tags {
        match current_tag(client, target, &scope, tag)? {
            Some(p) if p.digest == digest.to_string() => {
                log(format!("tag {tag} already points at {}", short(&digest)))
            }
            Some(p) if immutable_tags => {
                return Err(RegistryError::TagExists {
                    tag: tag.clone(),
                    repository: target.repo_name(),
                    existing: p.digest,
                });
            }
            prior => to_tag.push((tag.clone(), prior)),
        }
    }
    let mut seen = HashSet::new();
    let mut jobs: Vec<BlobJob> = Vec::new();
    for layer in &image.layers {
        if seen.insert(layer.digest().clone()) {
            jobs.push(BlobJob {
                digest: layer.digest().clone(),
                size: layer.size(),
                open: Box::new(
                    move || Ok(Box::new(layer.open_verified()?) as Box<dyn Read + Send>),
                ),
                origin: layer.blob.origin(),
            });
        }
    }
    // 1. Layers, in parallel.
    let next = Mutex::new(jobs.iter());
    let failure: Mutex<Option<RegistryError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..client.opts.parallel.max(1).min(jobs.len().max(1)) {
            s.spawn(|| loop {
                if failure.lock().expect("lock").is_some() {
                    return;
                }
                let Some(job) = next.lock().expect("lock").next() else {
                    return;
                };
                if let Err(e) = ensure_blob(client, target, &scope, job, log) {
                    failure.lock().expect("lock").get_or_insert(e);
                    return;
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("lock") {
        return Err(e);
    }
    // 2. The config.
    let config = image.config_bytes().to_vec();
    let cd = image.config_descriptor();
    let config_job = BlobJob {
        digest: cd.digest().clone(),
        size: cd.size(),
        open: Box::new(move || {
            Ok(Box::new(std::io::Cursor::new(config.clone())) as Box<dyn Read + Send>)
        }),
        origin: None,
    };
    ensure_blob(client, target, &scope, &config_job, log)?;
    // 3. The manifest by digest (no tag moves yet), then each tag, then a check of every tag. If a
    //    tag fails, the tags this push moved are put back where they were.
    //    (A tag that already names this image proves the manifest is there.)
    if to_tag.len() == tags.len() {
        put_manifest(
            client,
            target,
            &scope,
            digest.as_ref(),
            &manifest,
            media_type,
            &digest,
        )?;
    }
    let mut moved: Vec<(String, Option<Prior>)> = Vec::new();
    for (tag, prior) in to_tag {
        if let Err(e) = put_manifest(client, target, &scope, &tag, &manifest, media_type, &digest) {
            return Err(put_back(client, target, &scope, moved, &digest, e));
        }
        moved.push((tag, prior));
    }
    for tag in tags {
        if let Err(e) = verify_tag(client, target, &scope, tag, media_type, &digest) {
            return Err(put_back(client, target, &scope, moved, &digest, e));
        }
    }
    Ok(digest)
}

/// What a tag named before the push: to put it back.
struct Prior {
    digest: String,
    bytes: Vec<u8>,
    media_type: String,
}

/// Puts every tag in `moved` back to the manifest it named before; returns `failure` with an
/// account of each tag: put back, or moved (and why it could not be put back).
fn put_back(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    moved: Vec<(String, Option<Prior>)>,
    ours: &Digest,
    failure: RegistryError,
) -> RegistryError {
    if moved.is_empty() {
        return failure;
    }
    let mut outcome = Vec::new();
    for (tag, prior) in moved.into_iter().rev() {
        outcome.push(match prior {
            None => format!(
                "tag {tag} moved to {ours} (it did not exist before, and a registry tag cannot be removed safely)"
            ),
            Some(p) => {
                let restored = Digest::from_str(&p.digest).ok().map(|d| {
                    put_manifest(client, target, scope, &tag, &p.bytes, &p.media_type, &d)
                });
                match restored {
                    Some(Ok(())) => format!("tag {tag} was put back to {}", p.digest),
                    Some(Err(e)) => format!(
                        "tag {tag} moved to {ours} and could not be put back to {} ({})",
                        p.digest,
                        crate::error_chain(&e)
                    ),
                    None => format!("tag {tag} moved to {ours} (it pointed at {})", p.digest),
                }
            }
        });
    }
    outcome.reverse();
    RegistryError::TagsRolledBack {
        outcome: outcome.join("; "),
        source: Box::new(failure),
    }
}

fn put_manifest(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    reference: &str,
    bytes: &[u8],
    media_type: &str,
    digest: &Digest,
) -> Result<(), RegistryError> {
    let what = format!("putting the manifest {}:{reference}", target.repo_name());
    let url = client.url(
        &target.host,
        &format!("/v2/{}/manifests/{reference}", target.repository),
    );
    let resp = client.send(&what, &target.host, scope, &|h| {
        Ok(h.put(&url)
            .header(CONTENT_TYPE, media_type)
            .body(bytes.to_vec()))
    })?;
    if !resp.status().is_success() {
        return Err(match RegistryError::from_response(&what, resp) {
            // ECR: "The image tag '…' already exists … cannot be overwritten because the tag is immutable."
            RegistryError::Status { code, message, .. }
                if code == "TAG_INVALID" && message.contains("immutable") =>
            {
                RegistryError::TagExists {
                    tag: reference.into(),
                    repository: target.repo_name(),
                    existing: "another image".into(),
                }
            }
            other => other,
        });
    }
    check_digest_header(&resp, digest, &what)
}

/// The manifest a tag names now, if it exists.
fn current_tag(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    tag: &str,
) -> Result<Option<Prior>, RegistryError> {
    let what = format!("looking up tag {}:{tag}", target.repo_name());
    let url = client.url(
        &target.host,
        &format!("/v2/{}/manifests/{tag}", target.repository),
    );
    let resp = client.send(&what, &target.host, scope, &|h| {
        Ok(h.get(&url).header(ACCEPT, super::pull::MANIFEST_ACCEPT))
    })?;
    match resp.status() {
        StatusCode::NOT_FOUND => Ok(None),
        s if s.is_success() => {
            let media_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
                .unwrap_or_default();
            let mut body = Vec::new();
            resp.take(8 << 20)
                .read_to_end(&mut body)
                .map_err(|e| RegistryError::Http {
                    what: what.clone(),
                    detail: e.to_string(),
                })?;
            let media_type = if media_type.is_empty() {
                serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                    .unwrap_or_else(|| crate::oci::media::OCI_MANIFEST.into())
            } else {
                media_type
            };
            Ok(Some(Prior {
                digest: sha256_digest(&body).to_string(),
                bytes: body,
                media_type,
            }))
        }
        _ => Err(RegistryError::from_response(&what, resp)),
    }
}

/// The tag now resolves to our digest.
fn verify_tag(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    tag: &str,
    media_type: &str,
    digest: &Digest,
) -> Result<(), RegistryError> {
    let what = format!("checking tag {}:{tag}", target.repo_name());
    let url = client.url(
        &target.host,
        &format!("/v2/{}/manifests/{tag}", target.repository),
    );
    let resp = client.send(&what, &target.host, scope, &|h| {
        Ok(h.get(&url).header(ACCEPT, media_type))
    })?;
    if !resp.status().is_success() {
        return Err(RegistryError::from_response(&what, resp));
    }
    let mut body = Vec::new();
    resp.take(8 << 20)
        .read_to_end(&mut body)
        .map_err(|e| RegistryError::Http {
            what: what.clone(),
            detail: e.to_string(),
        })?;
    let got = sha256_digest(&body);
    if got != *digest {
        return Err(RegistryError::Digest {
            what,
            expected: digest.to_string(),
            got: got.to_string(),
        });
    }
    Ok(())
}
