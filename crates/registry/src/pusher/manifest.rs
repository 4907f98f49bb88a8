//! The manifest side of a push: PUT a manifest by digest or tag, read what a tag names now (to put
//! it back later), and check that a tag resolves to our digest.

use super::{check_digest_header, check_status, http_error, Pusher, SUCCESS};
use crate::{RegistryError, Reply};
use lamina_oci::sha256_digest;
use oci_spec::image::Digest;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use std::io::Read;

/// What a tag named before the push (to put it back).
pub struct Prior {
    pub digest: String,
    pub bytes: Vec<u8>,
    pub media_type: String,
}

impl Pusher<'_> {
    /// PUT a manifest under `reference` (a digest or a tag). ECR's refusal to move an immutable
    /// tag becomes `TagExists`.
    pub fn put_manifest(
        &self,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        self.put_manifest_answer(reference, bytes, media_type, digest)
            .map(|_| ())
    }

    /// `put_manifest`, returning the registry's `OCI-Subject` answer, if any (it has the
    /// referrers API and indexed the manifest under that subject).
    pub fn put_manifest_answer(
        &self,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
        digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        let what = format!(
            "putting the manifest {}:{reference}",
            self.target.repo_name()
        );
        let url = self.url(&format!("manifests/{reference}"));
        let resp = self.send(&what, &|h| {
            Ok(h.put(&url)
                .header(CONTENT_TYPE, media_type)
                .body(bytes.to_vec()))
        })?;
        let resp = check_status(&what, resp, SUCCESS).map_err(|e| match e {
            // ECR: "The image tag '…' already exists … cannot be overwritten because the tag is immutable."
            RegistryError::Status { code, message, .. }
                if code == "TAG_INVALID" && message.contains("immutable") =>
            {
                RegistryError::TagExists {
                    tag: reference.into(),
                    repository: self.target.repo_name(),
                    existing: "another image".into(),
                }
            }
            other => other,
        })?;
        check_digest_header(&resp, digest, &what)?;
        Ok(resp
            .headers()
            .get("oci-subject")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string))
    }

    /// GET: the manifest a tag names now, if the tag exists.
    pub fn current_tag(&self, tag: &str) -> Result<Option<Prior>, RegistryError> {
        let what = format!("looking up tag {}:{tag}", self.target.repo_name());
        let url = self.url(&format!("manifests/{tag}"));
        let resp = self.send(&what, &|h| {
            Ok(h.get(&url).header(ACCEPT, crate::pull::MANIFEST_ACCEPT))
        })?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check_status(&what, resp, SUCCESS)?;
        let media_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
            .unwrap_or_default();
        let body = read_manifest(&what, resp)?;
        let media_type = if media_type.is_empty() {
            serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                .unwrap_or_else(|| lamina_oci::media::OCI_MANIFEST.into())
        } else {
            media_type
        };
        Ok(Some(Prior {
            digest: sha256_digest(&body).to_string(),
            bytes: body,
            media_type,
        }))
    }

    /// GET: the tag now resolves to `digest`.
    pub fn verify_tag(
        &self,
        tag: &str,
        media_type: &str,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let what = format!("checking tag {}:{tag}", self.target.repo_name());
        let url = self.url(&format!("manifests/{tag}"));
        let resp = self.send(&what, &|h| Ok(h.get(&url).header(ACCEPT, media_type)))?;
        let resp = check_status(&what, resp, SUCCESS)?;
        let got = sha256_digest(&read_manifest(&what, resp)?);
        if got != *digest {
            return Err(RegistryError::Digest {
                what,
                expected: digest.to_string(),
                got: got.to_string(),
            });
        }
        Ok(())
    }
}

/// A manifest body, at most 8 MiB.
fn read_manifest(what: &str, resp: Reply) -> Result<Vec<u8>, RegistryError> {
    let mut body = Vec::new();
    resp.take(8 << 20)
        .read_to_end(&mut body)
        .map_err(|e| http_error(what, e))?;
    Ok(body)
}
