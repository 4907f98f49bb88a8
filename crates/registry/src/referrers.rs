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
    merge_referrers, parse_referrers, referrers_tag, Artifact, Referrer, EMPTY_CONFIG,
    WRITER_ANNOTATION,
};
use lamina_oci::{media, parse_digest, sha256_digest};
use oci_spec::image::Digest;
use reqwest::header::ACCEPT;
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
        let answered = pusher.put_manifest_answer(
            digest.as_ref(),
            &a.manifest_bytes(),
            media::OCI_MANIFEST,
            &digest,
        )?;
        // The referrers API indexed it only if it names this artifact's subject.
        api &= answered.as_deref() == Some(a.subject.digest.as_ref());
    }
    if api || artifacts.is_empty() {
        return Ok(Via::Api);
    }
    let mut subjects: Vec<&Digest> = Vec::new();
    for a in artifacts {
        if !subjects.contains(&&a.subject.digest) {
            subjects.push(&a.subject.digest);
        }
    }
    for subject in subjects {
        let ours: Vec<Referrer> = artifacts
            .iter()
            .filter(|a| a.subject.digest == *subject)
            .map(Artifact::descriptor)
            .collect();
        update_tag(client, &pusher, target, subject, &ours)?;
    }
    Ok(Via::TagSchema)
}

/// The tag schema, for one subject: read the index, merge ours in, write it, and read it back;
/// another pusher writing the same tag in between loses nothing (the merge is tried again).
fn update_tag(
    client: &Client,
    pusher: &Pusher,
    target: &Reference,
    subject: &Digest,
    ours: &[Referrer],
) -> Result<(), RegistryError> {
    let tag = referrers_tag(subject);
    let what = format!("updating the referrers tag {}:{tag}", target.repo_name());
    for _ in 0..MAX_MERGES {
        let current = tag_bytes(client, target, &tag)?;
        let index = merge_referrers(current.as_deref(), ours, WRITER_ANNOTATION).map_err(
            |detail| RegistryError::Protocol {
                what: what.clone(),
                detail: format!("{detail}: the tag {tag} is not a referrers index (delete it, or push with --no-attest)"),
            },
        )?;
        if current.as_deref() != Some(&index[..]) {
            pusher.put_manifest(&tag, &index, media::OCI_INDEX, &sha256_digest(&index))?;
        }
        let now = tag_bytes(client, target, &tag)?.unwrap_or_default();
        let listed = parse_referrers(&now).unwrap_or_default();
        if ours
            .iter()
            .all(|r| listed.iter().any(|l| l.digest == r.digest))
        {
            pusher.log(format!("tag {tag} lists {} referrers", listed.len()));
            return Ok(());
        }
    }
    Err(RegistryError::Protocol {
        what,
        detail: format!("another writer kept replacing the tag {tag}; tried {MAX_MERGES} times"),
    })
}

/// How often the tag schema's read-merge-write is tried against concurrent writers.
const MAX_MERGES: usize = 5;
/// A referrers list (the API's pages or the tag's index) larger than this is refused.
const MAX_LIST: u64 = 4 << 20;
/// Pages of the referrers API followed (`Link: <…>; rel="next"`).
const MAX_PAGES: usize = 16;

/// The referrers of `subject` in `r`'s repository, and where they were found: the referrers API
/// (every page), or, when it answers 404, the tag schema.
pub fn list(
    client: &Client,
    r: &Reference,
    subject: &Digest,
) -> Result<(Vec<Referrer>, Via), RegistryError> {
    let what = format!("listing the referrers of {}@{subject}", r.repo_name());
    let mut url = client.url(
        &r.host,
        &format!("/v2/{}/referrers/{subject}", r.repository),
    );
    let mut out = Vec::new();
    for page in 0..MAX_PAGES {
        let resp = client.send(&what, &r.host, &Scope::pull(&r.repository), &|h| {
            Ok(h.get(&url).header(ACCEPT, media::OCI_INDEX))
        })?;
        if page == 0 && resp.status() == StatusCode::NOT_FOUND {
            drop(resp);
            return Ok((
                tagged(client, r, subject)?.unwrap_or_default(),
                Via::TagSchema,
            ));
        }
        let resp = check_status(&what, resp, &[StatusCode::OK])?;
        let next = next_page(&resp, client, &r.host);
        let body = read_limited(&what, resp, MAX_LIST)?;
        out.extend(
            parse_referrers(&body).map_err(|detail| RegistryError::Protocol {
                what: what.clone(),
                detail: format!("{detail} (the referrers API must answer an OCI index)"),
            })?,
        );
        match next {
            Some(n) => url = n,
            None => return Ok((out, Via::Api)),
        }
    }
    Err(RegistryError::Protocol {
        what,
        detail: format!("more than {MAX_PAGES} pages of referrers"),
    })
}

/// The `Link: <URL>; rel="next"` of a referrers page, made absolute on the same host.
fn next_page(resp: &crate::Reply, client: &Client, host: &str) -> Option<String> {
    let link = resp.headers().get("link")?.to_str().ok()?;
    let part = link.split(',').find(|p| p.contains("rel=\"next\""))?;
    let target = part
        .split(';')
        .next()?
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    // Another host would get this host's credentials: only same-host paths are followed.
    target
        .strip_prefix('/')
        .map(|path| client.url(host, &format!("/{path}")))
}

/// The tag's bytes, if it exists.
fn tag_bytes(client: &Client, r: &Reference, tag: &str) -> Result<Option<Vec<u8>>, RegistryError> {
    let what = format!("reading the referrers tag {}:{tag}", r.repo_name());
    let url = client.url(&r.host, &format!("/v2/{}/manifests/{tag}", r.repository));
    let resp = client.send(&what, &r.host, &Scope::pull(&r.repository), &|h| {
        Ok(h.get(&url).header(ACCEPT, media::OCI_INDEX))
    })?;
    if resp.status() == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let resp = check_status(&what, resp, SUCCESS)?;
    read_limited(&what, resp, MAX_LIST).map(Some)
}

/// The tag schema's index for `subject`, if the tag exists.
fn tagged(
    client: &Client,
    r: &Reference,
    subject: &Digest,
) -> Result<Option<Vec<Referrer>>, RegistryError> {
    let tag = referrers_tag(subject);
    let Some(body) = tag_bytes(client, r, &tag)? else {
        return Ok(None);
    };
    parse_referrers(&body)
        .map(Some)
        .map_err(|detail| RegistryError::Protocol {
            what: format!("reading the referrers tag {}:{tag}", r.repo_name()),
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
    if referrer.size != 0 && referrer.size != manifest.len() as u64 {
        return Err(RegistryError::Protocol {
            what,
            detail: format!(
                "the referrers list says {} bytes, the manifest has {}",
                referrer.size,
                manifest.len()
            ),
        });
    }
    let m: serde_json::Value =
        lamina_oci::parse_json(&manifest).map_err(|detail| RegistryError::Protocol {
            what: what.clone(),
            detail,
        })?;
    let subject = m["subject"]["digest"].as_str().and_then(parse_digest);
    let kind = m["artifactType"]
        .as_str()
        .or(m["layers"][0]["mediaType"].as_str());
    if kind != Some(referrer.artifact_type.as_str()) {
        return Err(RegistryError::Protocol {
            what,
            detail: format!(
                "the referrers list says {}, the manifest is {}",
                referrer.artifact_type,
                kind.unwrap_or("of no artifact type")
            ),
        });
    }
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
