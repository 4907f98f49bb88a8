//! The push writer: a `Pusher` holds what every request of one push shares (the client, the target
//! repository, the push scope and the progress log) and has one method per request of the
//! distribution API's push side: HEAD a blob, start an upload (or mount), a monolithic PUT, PATCH
//! chunks and their closing PUT, a manifest PUT, and reading a tag back. `ensure_blob` is the
//! protocol for one blob, top to bottom: HEAD (skip if there), then a new upload session (a mount
//! when the blob lives in another repository of the same registry), the bytes, and the commit,
//! the whole session restarted when it fails midway (`blob`); the manifest requests are in
//! `manifest`. Each answer is judged by `check_status`. What to push, in which order, and putting
//! tags back is `push`'s job, not this module's.

mod blob;
mod manifest;

pub use blob::{BlobJob, Started};
pub use manifest::Prior;

use super::client::Scope;
use super::{Client, Reference, RegistryError, Reply};
use oci_spec::image::Digest;
use reqwest::blocking::{Client as Http, RequestBuilder};
use reqwest::StatusCode;

/// Where progress lines go (one line per blob: skipped, mounted or uploaded).
pub type Log<'a> = &'a (dyn Fn(String) + Sync);

/// Any 2xx answer RFC 9110 defines: where the spec names one code and registries vary.
pub(crate) const SUCCESS: &[StatusCode] = &[
    StatusCode::OK,
    StatusCode::CREATED,
    StatusCode::ACCEPTED,
    StatusCode::NON_AUTHORITATIVE_INFORMATION,
    StatusCode::NO_CONTENT,
    StatusCode::RESET_CONTENT,
    StatusCode::PARTIAL_CONTENT,
];

/// The requests of one push to one repository.
pub struct Pusher<'a> {
    client: &'a Client,
    target: &'a Reference,
    scope: Scope,
    log: Log<'a>,
}

impl<'a> Pusher<'a> {
    pub fn new(client: &'a Client, target: &'a Reference, log: Log<'a>) -> Pusher<'a> {
        Pusher {
            client,
            target,
            scope: Scope::push(&target.repository),
            log,
        }
    }

    pub fn client(&self) -> &Client {
        self.client
    }

    pub fn log(&self, line: String) {
        (self.log)(line)
    }

    /// `…/v2/<repository>/<path>` on the target's host.
    pub(crate) fn url(&self, path: &str) -> String {
        self.client.url(
            &self.target.host,
            &format!("/v2/{}/{path}", self.target.repository),
        )
    }

    /// A request with auth and retries, in the push scope.
    pub(crate) fn send(
        &self,
        what: &str,
        make: &dyn Fn(&Http) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Reply, RegistryError> {
        self.client.send(what, &self.target.host, &self.scope, make)
    }

    /// A request tried once (its retry restarts the upload session), in the push scope.
    fn send_once(
        &self,
        what: &str,
        make: &dyn Fn(&Http) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Reply, RegistryError> {
        self.client
            .send_once(what, &self.target.host, &self.scope, make)
    }
}

/// The answer when its status is one of `expected`, else the registry's error for it.
pub fn check_status(
    what: &str,
    resp: Reply,
    expected: &[StatusCode],
) -> Result<Reply, RegistryError> {
    if expected.contains(&resp.status()) {
        Ok(resp)
    } else {
        Err(RegistryError::from_response(what, resp))
    }
}

/// A `Docker-Content-Digest` answer header, when sent, names our digest.
fn check_digest_header(resp: &Reply, ours: &Digest, what: &str) -> Result<(), RegistryError> {
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

fn http_error(what: &str, e: std::io::Error) -> RegistryError {
    RegistryError::Http {
        what: what.into(),
        source: super::Transfer::Io(e),
    }
}

/// `sha256:` and the first 12 hex digits, for progress lines.
pub fn short(d: &Digest) -> String {
    format!("sha256:{}", &d.digest()[..12])
}
