//! The blob side of a push: HEAD, starting an upload session (or a cross-repository mount), the
//! bytes in one streamed PUT or in PATCH chunks, and the commit. `Pusher::ensure_blob` runs them
//! top to bottom and restarts the session when it fails midway.

use super::{check_digest_header, check_status, http_error, short, Pusher, SUCCESS};
use crate::client::Counting;
use crate::reply::transfer_time;
use crate::{RegistryError, Reply};
use lamina_oci::VerifyingReader;
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
    /// The registry host and repository the blob was read from, for a cross-repository mount.
    pub origin: Option<(String, String)>,
}

/// What starting an upload gave.
pub enum Started {
    /// The registry mounted the blob from another repository: nothing to send.
    Mounted,
    /// An upload session: its absolute URL.
    Session(String),
}

impl Pusher<'_> {
    /// Makes one blob present: HEAD → start (mount) → send → commit, the session restarted on a
    /// failure that may pass (bounded tries, backoff).
    pub fn ensure_blob(&self, job: &BlobJob) -> Result<(), RegistryError> {
        if self.blob_exists(&job.digest)? {
            self.client
                .stats
                .blobs_skipped
                .fetch_add(1, Ordering::Relaxed);
            self.log(format!("blob {} already present", short(&job.digest)));
            return Ok(());
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.upload(job) {
                Ok(how) => {
                    self.log(format!(
                        "blob {} {how} ({})",
                        short(&job.digest),
                        lamina_support::human::human(job.size)
                    ));
                    return Ok(());
                }
                Err(e) if attempt < self.client.opts.max_tries && retriable(&e) => {
                    self.client.stats.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(self.client.opts.retry_base * (1 << attempt.min(6)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One upload session: start it (or mount), send the bytes, commit. Says how the blob got there.
    fn upload(&self, job: &BlobJob) -> Result<&'static str, RegistryError> {
        let location = match self.initiate(job)? {
            Started::Mounted => return Ok("mounted"),
            Started::Session(location) => location,
        };
        match self.client.opts.chunk_size {
            None => self.put_monolithic(&location, job)?,
            Some(chunk) => self.put_chunked(location, job, chunk)?,
        }
        self.client
            .stats
            .blobs_uploaded
            .fetch_add(1, Ordering::Relaxed);
        self.client
            .stats
            .bytes_uploaded
            .fetch_add(job.size, Ordering::Relaxed);
        Ok("uploaded")
    }

    /// HEAD: whether the repository has the blob.
    pub fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let what = format!("checking blob {digest} in {}", self.target.repo_name());
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send(&what, &|h| Ok(h.head(&url)))?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        check_status(&what, resp, SUCCESS)?;
        Ok(true)
    }

    /// POST: starts an upload session, asking for a mount when the blob lives in another
    /// repository of this registry (with pull access there, as docker asks).
    pub fn initiate(&self, job: &BlobJob) -> Result<Started, RegistryError> {
        let mut url = self.url("blobs/uploads/");
        let mut scope = self.scope.clone();
        let mut mount = false;
        if let Some((host, from)) = &job.origin {
            if *host == self.target.host && *from != self.target.repository {
                url.push_str(&format!("?mount={}&from={from}", job.digest));
                scope.mount_from = Some(from.clone());
                mount = true;
            }
        }
        let what = format!(
            "starting the upload of {} to {}",
            job.digest,
            self.target.repo_name()
        );
        let resp = self.client.send(&what, &self.target.host, &scope, &|h| {
            Ok(h.post(&url).header(CONTENT_LENGTH, 0))
        })?;
        if mount && resp.status() == StatusCode::CREATED {
            self.client
                .stats
                .blobs_mounted
                .fetch_add(1, Ordering::Relaxed);
            return Ok(Started::Mounted);
        }
        let resp = check_status(&what, resp, &[StatusCode::ACCEPTED])?;
        Ok(Started::Session(self.location(&resp, &what)?))
    }

    /// One PUT `?digest=` streaming the whole blob (verified against its digest as it goes).
    pub fn put_monolithic(&self, location: &str, job: &BlobJob) -> Result<(), RegistryError> {
        let what = self.uploading(job);
        let url = with_digest(location, &job.digest);
        let resp = self.send_once(&what, &|h| {
            let r = Counting {
                inner: self.open_verified(job, &what)?,
                counter: self.client.stats.bytes_sent.clone(),
            };
            Ok(h.put(&url)
                .timeout(transfer_time(self.client.opts.timeout, job.size))
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, job.size)
                .body(Body::sized(r, job.size)))
        })?;
        self.committed(&what, resp, &job.digest)
    }

    /// PATCH chunks of `chunk` bytes (the spec says 202; ECR answers 201), following each new
    /// `Location`, then the closing empty PUT `?digest=`.
    pub fn put_chunked(
        &self,
        mut location: String,
        job: &BlobJob,
        chunk: u64,
    ) -> Result<(), RegistryError> {
        let what = self.uploading(job);
        let mut r = self.open_verified(job, &what)?;
        let mut offset = 0u64;
        loop {
            let mut buf = Vec::with_capacity(chunk as usize);
            (&mut r)
                .take(chunk)
                .read_to_end(&mut buf)
                .map_err(|e| http_error(&what, e))?;
            if buf.is_empty() {
                break;
            }
            let end = offset + buf.len() as u64 - 1;
            let resp = self.send_once(&what, &|h| {
                Ok(h.patch(&location)
                    .timeout(transfer_time(self.client.opts.timeout, buf.len() as u64))
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_RANGE, format!("{offset}-{end}"))
                    .header(CONTENT_LENGTH, buf.len())
                    .body(buf.clone()))
            })?;
            let resp = check_status(&what, resp, &[StatusCode::ACCEPTED, StatusCode::CREATED])?;
            if resp.headers().contains_key(LOCATION) {
                location = self.location(&resp, &what)?;
            }
            offset = end + 1;
        }
        let url = with_digest(&location, &job.digest);
        let resp = self.send_once(&what, &|h| {
            Ok(h.put(&url)
                .timeout(transfer_time(self.client.opts.timeout, job.size))
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, 0))
        })?;
        self.committed(&what, resp, &job.digest)
    }

    /// The closing PUT's answer: 201, and the digest the registry computed is ours.
    fn committed(&self, what: &str, resp: Reply, digest: &Digest) -> Result<(), RegistryError> {
        let resp = check_status(what, resp, &[StatusCode::CREATED])?;
        check_digest_header(&resp, digest, what)
    }

    fn uploading(&self, job: &BlobJob) -> String {
        format!("uploading {} to {}", job.digest, self.target.repo_name())
    }

    /// The blob's bytes, checked against its digest and size as they are read.
    fn open_verified(
        &self,
        job: &BlobJob,
        what: &str,
    ) -> Result<VerifyingReader<Box<dyn Read + Send>>, RegistryError> {
        let r = (job.open)().map_err(|e| http_error(what, e))?;
        Ok(VerifyingReader::new(
            r,
            job.digest.clone(),
            Some(job.size),
            format!("blob {}", job.digest),
        ))
    }

    /// An upload's `Location`, absolute and sent to where this host's traffic goes (its path and
    /// query kept).
    fn location(&self, resp: &Reply, what: &str) -> Result<String, RegistryError> {
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
                match loc.splitn(4, '/').nth(3) {
                    Some(rest) => format!("{}/{rest}", self.client.base_url(&self.target.host)),
                    None => loc.to_string(),
                }
            } else {
                self.client.url(&self.target.host, loc)
            },
        )
    }
}

/// Failures a new upload session may get past.
fn retriable(e: &RegistryError) -> bool {
    match e {
        RegistryError::Http { .. } => true,
        RegistryError::Unreachable { dns, .. } => !dns,
        RegistryError::Status { status, .. } => *status == 429 || *status >= 500 || *status == 404,
        _ => false,
    }
}

/// The `Location` may already carry a query (`?_state=…`): append with `&`.
fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}
