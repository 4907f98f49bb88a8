//! OCI 1.1 referrers, both ways a registry may keep them. `attach` pushes artifacts (documents
//! about an image, `lamina_oci::artifact`) by digest; a registry with the referrers API says so
//! with `OCI-Subject` on each manifest PUT, and for any other the `sha256-<hex>` tag's index is
//! read, extended and written back (the referrers tag schema). `list` reads them back from
//! `GET /v2/<name>/referrers/<digest>`, falling back to that tag. `document` fetches one
//! artifact's document, verified against its manifest. The image's own tags are never touched.

use crate::client::Scope;
use crate::pusher::{check_status, BlobJob, Log, Pusher, SUCCESS};
use crate::{Client, Reference, RegistryError};
use lamina_oci::artifact::{
    parse_referrers, referrers_index, referrers_tag, Artifact, Referrer, EMPTY_CONFIG,
};
use lamina_oci::{media, parse_digest, sha256_digest};
use oci_spec::image::Digest;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use std::io::Read;

/// How the registry keeps referrers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The referrers API (`OCI-Subject` on push, `GET …/referrers/<digest>`).
    Api,
    /// The referrers tag schema: an index under `sha256-<hex>`.
    TagSchema,
}

impl Via {
    pub fn name(self) -> &'static str {
        match self {
            Via::Api => "referrers API",
            Via::TagSchema => "referrers tag schema",
        }
    }
}

/// Documents are small; a larger answer is refused.
const MAX_DOCUMENT: u64 = 64 << 20;

fn bytes_job(bytes: Vec<u8>) -> BlobJob<'static> {
    BlobJob {
        digest: sha256_digest(&bytes),
        size: bytes.len() as u64,
        open: Box::new(move || {
            Ok(Box::new(std::io::Cursor::new(bytes.clone())) as Box<dyn Read + Send>)
        }),
        origin: None,
    }
}

/// Pushes each artifact (its empty config, its document, its manifest by digest) into `target`'s
/// repository and makes it findable from its subject. Returns how the registry keeps referrers.
pub fn attach(
    client: &Client,
    target: &Reference,
    artifacts: &[Artifact],
    log: Log,
) -> Result<Via, RegistryError> {
    let pusher = Pusher::new(client, target, log);
    let mut api = true;
    for a in artifacts {
        pusher.ensure_blob(&bytes_job(EMPTY_CONFIG.to_vec()))?;
        pusher.ensure_blob(&bytes_job(a.document.clone()))?;
        let digest = a.manifest_digest();
        let indexed = pusher.put_manifest_answer(
            digest.as_ref(),
            &a.manifest_bytes(),
            media::OCI_MANIFEST,
            &digest,
        )?;
        api &= indexed;
    }
    if api || artifacts.is_empty() {
        return Ok(Via::Api);
    }
    // The tag schema, one index per subject: what is there, plus ours.
    let mut by_subject: Vec<(&Digest, Vec<Referrer>)> = Vec::new();
    for a in artifacts {
        match by_subject.iter_mut().find(|(s, _)| **s == a.subject.digest) {
            Some((_, list)) => list.push(a.descriptor()),
            None => by_subject.push((&a.subject.digest, vec![a.descriptor()])),
        }
    }
    for (subject, ours) in by_subject {
        let tag = referrers_tag(subject);
        let mut entries = tagged(client, target, subject)?.unwrap_or_default();
        let before = entries.len();
        for r in ours {
            if !entries.iter().any(|e| e.digest == r.digest) {
                entries.push(r);
            }
        }
        if entries.len() == before {
            pusher.log(format!("tag {tag} already lists these referrers"));
            continue;
        }
        let index = referrers_index(&entries);
        pusher.put_manifest(&tag, &index, media::OCI_INDEX, &sha256_digest(&index))?;
        pusher.log(format!("tag {tag} lists {} referrers", entries.len()));
    }
    Ok(Via::TagSchema)
}

/// The referrers of `subject` in `r`'s repository, and where they were found.
pub fn list(
    client: &Client,
    r: &Reference,
    subject: &Digest,
) -> Result<(Vec<Referrer>, Via), RegistryError> {
    let what = format!("listing the referrers of {}@{subject}", r.repo_name());
    let url = client.url(
        &r.host,
        &format!("/v2/{}/referrers/{subject}", r.repository),
    );
    let resp = client.send(&what, &r.host, &Scope::pull(&r.repository), &|h| {
        Ok(h.get(&url).header(ACCEPT, media::OCI_INDEX))
    })?;
    let is_index = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(media::OCI_INDEX));
    if resp.status() == StatusCode::OK && is_index {
        let body = read_limited(&what, resp, MAX_DOCUMENT)?;
        let list = parse_referrers(&body).map_err(|detail| RegistryError::Protocol {
            what: what.clone(),
            detail,
        })?;
        return Ok((list, Via::Api));
    }
    // No API (404, or an answer that is not an index): the tag schema.
    drop(resp);
    Ok((
        tagged(client, r, subject)?.unwrap_or_default(),
        Via::TagSchema,
    ))
}

/// The tag schema's index for `subject`, if the tag exists.
fn tagged(
    client: &Client,
    r: &Reference,
    subject: &Digest,
) -> Result<Option<Vec<Referrer>>, RegistryError> {
    let tag = referrers_tag(subject);
    let what = format!("reading the referrers tag {}:{tag}", r.repo_name());
    let url = client.url(&r.host, &format!("/v2/{}/manifests/{tag}", r.repository));
    let resp = client.send(&what, &r.host, &Scope::pull(&r.repository), &|h| {
        Ok(h.get(&url).header(ACCEPT, media::OCI_INDEX))
    })?;
    if resp.status() == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let resp = check_status(&what, resp, SUCCESS)?;
    let body = read_limited(&what, resp, 8 << 20)?;
    parse_referrers(&body)
        .map(Some)
        .map_err(|detail| RegistryError::Protocol {
            what,
            detail: format!("{detail}; the tag {tag} is not a referrers index"),
        })
}

/// The document an artifact manifest carries (its one layer), both verified by digest, and the
/// subject the manifest names.
pub fn document(
    client: &Client,
    r: &Reference,
    referrer: &Referrer,
) -> Result<(Vec<u8>, Option<Digest>), RegistryError> {
    let what = format!("getting the artifact {}@{}", r.repo_name(), referrer.digest);
    let manifest = get_verified(client, r, "manifests", &referrer.digest, 8 << 20, &what)?;
    let m: serde_json::Value =
        lamina_oci::parse_json(&manifest).map_err(|detail| RegistryError::Protocol {
            what: what.clone(),
            detail,
        })?;
    let subject = m["subject"]["digest"].as_str().and_then(parse_digest);
    let Some(digest) = m["layers"][0]["digest"].as_str().and_then(parse_digest) else {
        return Err(RegistryError::Protocol {
            what,
            detail: "the artifact manifest has no document layer".into(),
        });
    };
    let body = get_verified(client, r, "blobs", &digest, MAX_DOCUMENT, &what)?;
    Ok((body, subject))
}

fn get_verified(
    client: &Client,
    r: &Reference,
    kind: &str,
    digest: &Digest,
    max: u64,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    let url = client.url(&r.host, &format!("/v2/{}/{kind}/{digest}", r.repository));
    let resp = client.send(what, &r.host, &Scope::pull(&r.repository), &|h| {
        Ok(h.get(&url).header(ACCEPT, media::OCI_MANIFEST))
    })?;
    let resp = check_status(what, resp, &[StatusCode::OK])?;
    let body = read_limited(what, resp, max)?;
    let got = sha256_digest(&body);
    if got != *digest {
        return Err(RegistryError::Digest {
            what: what.into(),
            expected: digest.to_string(),
            got: got.to_string(),
        });
    }
    Ok(body)
}

fn read_limited(what: &str, resp: crate::Reply, max: u64) -> Result<Vec<u8>, RegistryError> {
    let mut body = Vec::new();
    resp.take(max + 1)
        .read_to_end(&mut body)
        .map_err(|e| RegistryError::Http {
            what: what.into(),
            source: crate::Transfer::Io(e),
        })?;
    if body.len() as u64 > max {
        return Err(RegistryError::Protocol {
            what: what.into(),
            detail: format!("the answer is larger than {max} bytes"),
        });
    }
    Ok(body)
}
