//! Pushing an image, readable in one function (`push`): every blob is HEADed and skipped when
//! present, mounted across repositories of the same registry when possible, else uploaded
//! monolithically (POST, then one streamed PUT `?digest=`; chunked PATCHes only on request,
//! accepting ECR's 201). Uploads run in parallel, bounded. The config and then the manifest go last,
//! by digest, then the attestations that name it (OCI referrers, `referrers`), then each tag,
//! each checked against our digest. The manifest is never sent unless
//! every blob is known to be in the repository, and a tag that fails puts back every tag this push
//! already moved (their previous manifests are read first), so a failed push leaves every tag where
//! it was, or says exactly which tag moved. A rerun uploads only what is missing. Each request is a
//! method of `pusher::Pusher`; this module only orders them.

use super::pusher::{short, BlobJob, Prior, Pusher};
use super::{Client, Reference, RegistryError};
use lamina_oci::{sha256_digest, Image};
use oci_spec::image::Digest;
use std::collections::HashSet;
use std::io::Read;
use std::str::FromStr;
use std::sync::Mutex;

pub use super::pusher::Log;

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
    push_with(client, image, target, tags, immutable_tags, &[], log).map(|(d, _)| d)
}

/// `push`, attaching `artifacts` (documents whose subject is this image) once the image is in
/// the repository by digest and before any tag moves: a failed attachment leaves every tag where
/// it was. Returns the digest and, with artifacts, how the registry keeps referrers.
pub fn push_with(
    client: &Client,
    image: &Image,
    target: &Reference,
    tags: &[String],
    immutable_tags: bool,
    artifacts: &[lamina_oci::artifact::Artifact],
    log: Log,
) -> Result<(Digest, Option<crate::referrers::Via>), RegistryError> {
    let pusher = Pusher::new(client, target, log);
    let manifest = image.manifest_bytes();
    let digest = sha256_digest(&manifest);
    let media_type = image.format.manifest_type();
    // 0. Where the tags point now (kept, to put them back if a later tag fails).
    let mut to_tag = Vec::new();
    for tag in tags {
        match pusher.current_tag(tag)? {
            Some(p) if p.digest == digest.to_string() => {
                pusher.log(format!("tag {tag} already points at {}", short(&digest)))
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
    // 1. Layers, in parallel (each: HEAD, then mount or upload).
    ensure_blobs(&pusher, &layer_jobs(image))?;
    // 2. The config.
    let config = image.config_bytes().to_vec();
    let cd = image.config_descriptor();
    pusher.ensure_blob(&BlobJob {
        digest: cd.digest().clone(),
        size: cd.size(),
        open: Box::new(move || {
            Ok(Box::new(std::io::Cursor::new(config.clone())) as Box<dyn Read + Send>)
        }),
        origin: None,
    })?;
    // 3. The manifest by digest (no tag moves yet), then each tag, then a check of every tag. If a
    //    tag fails, the tags this push moved are put back where they were.
    //    (A tag that already names this image proves the manifest is there.)
    if to_tag.len() == tags.len() || !artifacts.is_empty() {
        pusher.put_manifest(digest.as_ref(), &manifest, media_type, &digest)?;
    }
    // 4. The attestations, about the manifest now in the repository; still no tag has moved.
    let via = match artifacts {
        [] => None,
        _ => Some(
            crate::referrers::attach(client, target, artifacts, log).map_err(|e| {
                RegistryError::Attach {
                    source: Box::new(e),
                }
            })?,
        ),
    };
    let mut moved: Vec<(String, Option<Prior>)> = Vec::new();
    for (tag, prior) in to_tag {
        if let Err(e) = pusher.put_manifest(&tag, &manifest, media_type, &digest) {
            return Err(put_back(&pusher, moved, &digest, e));
        }
        moved.push((tag, prior));
    }
    for tag in tags {
        if let Err(e) = pusher.verify_tag(tag, media_type, &digest) {
            return Err(put_back(&pusher, moved, &digest, e));
        }
    }
    Ok((digest, via))
}

/// One job per distinct layer blob, read back verified, with where it came from (for mounts).
fn layer_jobs(image: &Image) -> Vec<BlobJob<'_>> {
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
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
    jobs
}

/// Makes every blob present, `parallel` at a time; the first failure stops the others from
/// starting new blobs and is returned.
fn ensure_blobs(pusher: &Pusher, jobs: &[BlobJob]) -> Result<(), RegistryError> {
    let next = Mutex::new(jobs.iter());
    let failure: Mutex<Option<RegistryError>> = Mutex::new(None);
    let workers = pusher.client().opts.parallel.max(1).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if failure.lock().expect("lock").is_some() {
                    return;
                }
                let Some(job) = next.lock().expect("lock").next() else {
                    return;
                };
                if let Err(e) = pusher.ensure_blob(job) {
                    failure.lock().expect("lock").get_or_insert(e);
                    return;
                }
            });
        }
    });
    match failure.into_inner().expect("lock") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Puts every tag in `moved` back to the manifest it named before; returns `failure` with an
/// account of each tag: put back, or moved (and why it could not be put back).
fn put_back(
    pusher: &Pusher,
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
                let restored = Digest::from_str(&p.digest).ok().map(|d| pusher.put_manifest(&tag, &p.bytes, &p.media_type, &d));
                match restored {
                    Some(Ok(())) => format!("tag {tag} was put back to {}", p.digest),
                    Some(Err(e)) => format!(
                        "tag {tag} moved to {ours} and could not be put back to {} ({})",
                        p.digest,
                        lamina_support::diagnostic::chain(&e)
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
