//! Pushing an image, readable in one function (`push`): every blob is HEADed and skipped when
//! present, mounted across repositories of the same registry when possible, else uploaded
//! monolithically (POST, then one streamed PUT `?digest=`; chunked PATCHes only on request,
//! accepting ECR's 201). Uploads run in parallel, bounded. The config and then the manifest go last,
//! then the extra tags, each checked against our digest. The manifest is never sent unless every
//! blob is known to be in the repository, so a failed push leaves every tag where it was, and a
//! rerun uploads only what is missing.

use super::client::Scope;
use super::{Client, Reference, RegistryError};
use crate::oci::{sha256_digest, Image, VerifyingReader};
use oci_spec::image::Digest;
use reqwest::blocking::Body;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use std::collections::HashSet;
use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// One blob to make present in the target repository.
struct BlobJob<'a> {
    digest: Digest,
    size: u64,
    open: Box<dyn Fn() -> std::io::Result<Box<dyn Read + Send>> + Send + Sync + 'a>,
    origin: Option<(String, String)>,
}

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
    // 0. Where the tags point now.
    let mut to_tag = Vec::new();
    for tag in tags {
        match current_tag(client, target, &scope, tag)? {
            Some(d) if d == digest.to_string() => {
                log(format!("tag {tag} already points at {}", short(&digest)))
            }
            Some(d) if immutable_tags => {
                return Err(RegistryError::TagExists {
                    tag: tag.clone(),
                    repository: target.repo_name(),
                    existing: d,
                });
            }
            _ => to_tag.push(tag.clone()),
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
    // 3. The manifest, under each tag that needs it (or by digest alone), then a check of every tag.
    if tags.is_empty() {
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
    for tag in &to_tag {
        put_manifest(client, target, &scope, tag, &manifest, media_type, &digest)?;
    }
    for tag in tags {
        verify_tag(client, target, &scope, tag, media_type, &digest)?;
    }
    Ok(digest)
}

/// HEAD → (mount) → upload, with whole-sequence retries for uploads that fail midway.
fn ensure_blob(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    job: &BlobJob,
    log: Log,
) -> Result<(), RegistryError> {
    let repo = &target.repository;
    let what = format!("checking blob {} in {}", job.digest, target.repo_name());
    let head_url = client.url(&target.host, &format!("/v2/{repo}/blobs/{}", job.digest));
    let resp = client.send(&what, &target.host, scope, &|h| Ok(h.head(&head_url)))?;
    match resp.status() {
        s if s.is_success() => {
            client.stats.blobs_skipped.fetch_add(1, Ordering::Relaxed);
            log(format!("blob {} already present", short(&job.digest)));
            return Ok(());
        }
        StatusCode::NOT_FOUND => {}
        _ => return Err(RegistryError::from_response(&what, resp)),
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match start_and_upload(client, target, scope, job) {
            Ok(mounted) => {
                let how = if mounted { "mounted" } else { "uploaded" };
                log(format!(
                    "blob {} {how} ({} bytes)",
                    short(&job.digest),
                    job.size
                ));
                return Ok(());
            }
            Err(e) if attempt < client.opts.max_tries && retriable(&e) => {
                client.stats.retries.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(client.opts.retry_base * (1 << attempt.min(6)));
            }
            Err(e) => return Err(e),
        }
    }
}

fn retriable(e: &RegistryError) -> bool {
    match e {
        RegistryError::Http { .. } => true,
        RegistryError::Status { status, .. } => *status == 429 || *status >= 500 || *status == 404,
        _ => false,
    }
}

fn short(d: &Digest) -> String {
    format!("sha256:{}", &d.digest()[..12])
}

/// Starts an upload session (or mounts); returns true if the blob was mounted.
fn start_and_upload(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    job: &BlobJob,
) -> Result<bool, RegistryError> {
    let repo = &target.repository;
    let mut post_url = client.url(&target.host, &format!("/v2/{repo}/blobs/uploads/"));
    let mut post_scope = scope.clone();
    if let Some((host, from)) = &job.origin {
        if *host == target.host && from != repo {
            post_url.push_str(&format!("?mount={}&from={from}", job.digest));
            // A mount reads the source repository: ask for pull there too (as docker does).
            post_scope.mount_from = Some(from.clone());
        }
    }
    let what = format!(
        "starting the upload of {} to {}",
        job.digest,
        target.repo_name()
    );
    let resp = client.send(&what, &target.host, &post_scope, &|h| {
        Ok(h.post(&post_url).header(CONTENT_LENGTH, 0))
    })?;
    if resp.status() == StatusCode::CREATED && post_url.contains("mount=") {
        client.stats.blobs_mounted.fetch_add(1, Ordering::Relaxed);
        return Ok(true);
    }
    if resp.status() != StatusCode::ACCEPTED {
        return Err(RegistryError::from_response(&what, resp));
    }
    let location = absolute_location(client, target, &resp, &what)?;
    let what = format!("uploading {} to {}", job.digest, target.repo_name());
    let final_url = match client.opts.chunk_size {
        None => with_digest(&location, &job.digest),
        Some(chunk) => upload_chunks(client, target, scope, job, location, chunk, &what)?,
    };
    let resp = client.send_once(&what, &target.host, scope, &|h| {
        let rb = h
            .put(&final_url)
            .header(CONTENT_TYPE, "application/octet-stream");
        Ok(if client.opts.chunk_size.is_some() {
            rb.header(CONTENT_LENGTH, 0)
        } else {
            let r = (job.open)().map_err(|e| RegistryError::Http {
                what: what.clone(),
                detail: e.to_string(),
            })?;
            let r = VerifyingReader::new(
                r,
                job.digest.clone(),
                Some(job.size),
                format!("blob {}", job.digest),
            );
            let r = super::client::Counting {
                inner: r,
                counter: client.stats.bytes_sent.clone(),
            };
            rb.header(CONTENT_LENGTH, job.size)
                .body(Body::sized(r, job.size))
        })
    })?;
    if resp.status() != StatusCode::CREATED {
        return Err(RegistryError::from_response(&what, resp));
    }
    check_digest_header(&resp, &job.digest, &what)?;
    client.stats.blobs_uploaded.fetch_add(1, Ordering::Relaxed);
    client
        .stats
        .bytes_uploaded
        .fetch_add(job.size, Ordering::Relaxed);
    Ok(false)
}

fn absolute_location(
    client: &Client,
    target: &Reference,
    resp: &reqwest::blocking::Response,
    what: &str,
) -> Result<String, RegistryError> {
    let loc = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RegistryError::Protocol {
            what: what.into(),
            detail: "the registry sent no Location header for the upload".into(),
        })?;
    Ok(
        if loc.starts_with("http://") || loc.starts_with("https://") {
            // Keep the path and query but send it to where this host's traffic goes.
            match loc.splitn(4, '/').nth(3) {
                Some(rest) => format!("{}/{rest}", client.base_url(&target.host)),
                None => loc.to_string(),
            }
        } else {
            client.url(&target.host, loc)
        },
    )
}

/// The `Location` may already carry a query (`?_state=…`): append with `&`.
fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

#[allow(clippy::too_many_arguments)]
fn upload_chunks(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    job: &BlobJob,
    mut location: String,
    chunk: u64,
    what: &str,
) -> Result<String, RegistryError> {
    let mut r = VerifyingReader::new(
        (job.open)().map_err(|e| RegistryError::Http {
            what: what.into(),
            detail: e.to_string(),
        })?,
        job.digest.clone(),
        Some(job.size),
        format!("blob {}", job.digest),
    );
    let mut offset = 0u64;
    loop {
        let mut buf = Vec::with_capacity(chunk as usize);
        (&mut r)
            .take(chunk)
            .read_to_end(&mut buf)
            .map_err(|e| RegistryError::Http {
                what: what.into(),
                detail: e.to_string(),
            })?;
        if buf.is_empty() {
            break;
        }
        let end = offset + buf.len() as u64 - 1;
        let loc = location.clone();
        let resp = client.send_once(what, &target.host, scope, &|h| {
            Ok(h.patch(&loc)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, format!("{offset}-{end}"))
                .header(CONTENT_LENGTH, buf.len())
                .body(buf.clone()))
        })?;
        // The spec says 202; ECR answers 201.
        if resp.status() != StatusCode::ACCEPTED && resp.status() != StatusCode::CREATED {
            return Err(RegistryError::from_response(what, resp));
        }
        if resp.headers().contains_key(LOCATION) {
            location = absolute_location(client, target, &resp, what)?;
        }
        offset = end + 1;
    }
    Ok(with_digest(&location, &job.digest))
}

fn check_digest_header(
    resp: &reqwest::blocking::Response,
    ours: &Digest,
    what: &str,
) -> Result<(), RegistryError> {
    if let Some(theirs) = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    {
        if theirs != ours.to_string() {
            return Err(RegistryError::Digest {
                what: what.into(),
                expected: ours.to_string(),
                got: theirs.into(),
            });
        }
    }
    Ok(())
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

/// The digest a tag names now, if it exists.
fn current_tag(
    client: &Client,
    target: &Reference,
    scope: &Scope,
    tag: &str,
) -> Result<Option<String>, RegistryError> {
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
            let mut body = Vec::new();
            resp.take(8 << 20)
                .read_to_end(&mut body)
                .map_err(|e| RegistryError::Http {
                    what: what.clone(),
                    detail: e.to_string(),
                })?;
            Ok(Some(sha256_digest(&body).to_string()))
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
