//! Making one blob present in a repository: HEAD (skip if there), else a cross-repository mount
//! when the blob lives in another repository of the same registry, else a monolithic upload (POST,
//! then one streamed PUT `?digest=`, the `Location` query kept) or, on request, PATCH chunks
//! (ECR's 201 accepted). An upload that fails midway is restarted from a new session.

use super::client::Scope;
use super::push::Log;
use super::reply::transfer_time;
use super::{Client, Reference, RegistryError};
use crate::oci::VerifyingReader;
use oci_spec::image::Digest;
use reqwest::blocking::Body;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use std::io::Read;
use std::sync::atomic::Ordering;

/// One blob to make present in the target repository.
pub struct BlobJob<'a> {
    pub digest: Digest,
    pub size: u64,
    pub open: Box<dyn Fn() -> std::io::Result<Box<dyn Read + Send>> + Send + Sync + 'a>,
    pub origin: Option<(String, String)>,
}

/// HEAD → (mount) → upload, with whole-sequence retries for uploads that fail midway.
pub fn ensure_blob(
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
                    "blob {} {how} ({})",
                    short(&job.digest),
                    crate::sizes::human(job.size)
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
        RegistryError::Unreachable { dns, .. } => !dns,
        RegistryError::Status { status, .. } => *status == 429 || *status >= 500 || *status == 404,
        _ => false,
    }
}

pub fn short(d: &Digest) -> String {
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
            .timeout(transfer_time(client.opts.timeout, job.size))
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
    resp: &super::Reply,
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
                .timeout(transfer_time(client.opts.timeout, buf.len() as u64))
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

pub fn check_digest_header(
    resp: &super::Reply,
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
