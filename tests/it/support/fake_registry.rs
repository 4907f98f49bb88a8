//! An in-process registry that lies and fails on purpose (after ggcr's `pkg/registry` and
//! rust-oci-client's digest tests): 5xx and 429 with Retry-After, connections dropped halfway
//! through an upload, tokens that expire mid-push, a missing `Location`, bytes that do not match
//! their digest, and stalls. Like a real registry it refuses a manifest whose blobs are missing.
#![allow(dead_code)]

use super::http::{self, Reply, Request, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Faults {
    /// (method, path part, status, times left, Retry-After seconds)
    pub statuses: Vec<(String, String, u16, u32, Option<u32>)>,
    /// (method, path part, status, requests let through first, then times failed)
    pub statuses_after: Vec<(String, String, u16, u32, u32)>,
    /// Drop the connection halfway through the next N blob PUT bodies.
    pub reset_uploads: u32,
    /// Hold blob PUTs (never answer) while set.
    pub stall_uploads: bool,
    /// Require Bearer tokens that each work for this many requests.
    pub token_uses: Option<u32>,
    pub no_location: bool,
    /// Serve these bytes instead of the real ones for a blob digest.
    pub corrupt_blob: Option<String>,
    /// Serve manifests with a Docker-Content-Digest that does not match the bytes.
    pub lying_manifest_header: bool,
    /// Answer 401 with a Basic challenge to every request whose path contains this.
    pub basic_auth_on: Option<String>,
    /// Answer every request with 401 and a Bearer challenge naming this realm.
    pub bearer_realm: Option<String>,
    /// Answer 401 with a Basic challenge unless the request carries this `Authorization` value.
    pub require_authorization: Option<String>,
    /// Answer blob GETs with `307 Location: <this>/<digest>` (a blob store elsewhere).
    pub blob_redirect: Option<String>,
    /// Serve the OCI 1.1 referrers API: `OCI-Subject` on a manifest PUT that has a subject, and
    /// `GET /v2/<repo>/referrers/<digest>` (docker-registry 2.8 has neither).
    pub referrers_api: bool,
    /// Refuse every manifest that has an `artifactType` (a registry without OCI 1.1 artifacts).
    pub refuse_artifacts: bool,
}

#[derive(Default)]
pub struct State {
    pub blobs: HashMap<String, Vec<u8>>,
    /// "repo:reference" → (bytes, media type)
    pub manifests: HashMap<String, (Vec<u8>, String)>,
    uploads: HashMap<String, Vec<u8>>,
    next: u64,
    tokens: HashMap<String, u32>,
    pub token_fetches: u32,
    pub faults: Faults,
    /// "METHOD path" of every request.
    pub log: Vec<String>,
    pub stalled: u32,
}

pub struct Fake {
    pub addr: String,
    pub state: Arc<Mutex<State>>,
}

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn err(status: u16, code: &str) -> Reply {
    Reply::Send(
        Response::new(status)
            .json(serde_json::json!({"errors": [{"code": code, "message": code}]})),
    )
}

impl Fake {
    pub fn start() -> Fake {
        let state = Arc::new(Mutex::new(State::default()));
        let addr_cell: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
        let (st, ac) = (state.clone(), addr_cell.clone());
        let addr = http::serve(Arc::new(move |req| handle(&st, &ac.lock().unwrap(), req)));
        *addr_cell.lock().unwrap() = addr.clone();
        Fake { addr, state }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn count(&self, method: &str, part: &str) -> usize {
        self.with(|s| {
            s.log
                .iter()
                .filter(|l| l.starts_with(&format!("{method} ")) && l.contains(part))
                .count()
        })
    }

    pub fn tag(&self, repo: &str, tag: &str) -> Option<String> {
        self.with(|s| {
            s.manifests
                .get(&format!("{repo}:{tag}"))
                .map(|(b, _)| sha(b))
        })
    }
}

fn handle(state: &Arc<Mutex<State>>, addr: &str, req: &mut Request) -> Reply {
    let line = format!("{} {}", req.method, req.path);
    {
        let mut s = state.lock().unwrap();
        s.log.push(line.clone());
        if req.path == "/token" {
            s.token_fetches += 1;
            let t = format!("tok-{}", s.token_fetches);
            let uses = s.faults.token_uses.unwrap_or(u32::MAX);
            s.tokens.insert(t.clone(), uses);
            return Reply::Send(Response::new(200).json(serde_json::json!({"token": t})));
        }
        if s.faults.token_uses.is_some() {
            let tok = req
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::to_string);
            let ok = match tok.and_then(|t| s.tokens.get_mut(&t)) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            };
            if !ok {
                let challenge = format!("Bearer realm=\"http://{addr}/token\",service=\"fake\"");
                return Reply::Send(
                    Response::new(401)
                        .header("WWW-Authenticate", challenge)
                        .json(serde_json::json!({"errors": [{"code": "UNAUTHORIZED"}]})),
                );
            }
        }
        if let Some(realm) = &s.faults.bearer_realm {
            let challenge = format!("Bearer realm=\"{realm}\",service=\"fake\"");
            return Reply::Send(
                Response::new(401)
                    .header("WWW-Authenticate", challenge)
                    .json(serde_json::json!({"errors": [{"code": "UNAUTHORIZED"}]})),
            );
        }
        if s.faults
            .basic_auth_on
            .as_ref()
            .is_some_and(|p| req.path.contains(p.as_str()))
        {
            return Reply::Send(
                Response::new(401)
                    .header("WWW-Authenticate", "Basic realm=\"fake\"")
                    .json(serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})),
            );
        }
        if s.faults
            .require_authorization
            .as_ref()
            .is_some_and(|want| req.header("authorization") != Some(want.as_str()))
        {
            return Reply::Send(
                Response::new(401)
                    .header("WWW-Authenticate", "Basic realm=\"fake\"")
                    .json(serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})),
            );
        }
        let mut fault = None;
        for f in s.faults.statuses.iter_mut() {
            if req.method == f.0 && req.path.contains(&f.1) && f.3 > 0 {
                f.3 -= 1;
                fault = Some((f.2, f.4));
                break;
            }
        }
        for f in s.faults.statuses_after.iter_mut() {
            if fault.is_none() && req.method == f.0 && req.path.contains(&f.1) {
                if f.3 > 0 {
                    f.3 -= 1;
                } else if f.4 > 0 {
                    f.4 -= 1;
                    fault = Some((f.2, Some(0)));
                }
            }
        }
        if let Some((status, retry_after)) = fault {
            if req.method == "PUT" || req.method == "PATCH" {
                let _ = req.body();
            }
            let mut r = Response::new(status).json(
                serde_json::json!({"errors": [{"code": "TOOMANYREQUESTS", "message": "injected"}]}),
            );
            if let Some(ra) = retry_after {
                r = r.header("Retry-After", ra.to_string());
            }
            return Reply::Send(r);
        }
    }
    if req.path == "/v2/" || req.path == "/v2" {
        return Reply::Send(Response::new(200));
    }
    let path = req.path.clone();
    let Some(rest) = path.strip_prefix("/v2/") else {
        return err(404, "NOT_FOUND");
    };
    if let Some((repo, tail)) = rest.split_once("/blobs/uploads") {
        return uploads(state, repo, tail, req);
    }
    if let Some((_repo, digest)) = rest.split_once("/blobs/") {
        let s = state.lock().unwrap();
        let Some(b) = s.blobs.get(digest) else {
            return err(404, "BLOB_UNKNOWN");
        };
        if let Some(to) = &s.faults.blob_redirect {
            return Reply::Send(Response::new(307).header("Location", format!("{to}/{digest}")));
        }
        let mut body = b.clone();
        if s.faults.corrupt_blob.as_deref() == Some(digest) {
            body[0] ^= 0xff;
        }
        return Reply::Send(
            Response::new(200)
                .header("Docker-Content-Digest", digest)
                .body(body),
        );
    }
    if let Some((repo, reference)) = rest.split_once("/manifests/") {
        return manifests(state, repo, reference, req);
    }
    if let Some((repo, subject)) = rest.split_once("/referrers/") {
        if state.lock().unwrap().faults.referrers_api {
            return referrers(state, repo, subject);
        }
    }
    err(404, "NOT_FOUND")
}

fn uploads(state: &Arc<Mutex<State>>, repo: &str, tail: &str, req: &mut Request) -> Reply {
    match req.method.as_str() {
        "POST" => {
            let mut s = state.lock().unwrap();
            if let (Some(d), Some(_from)) = (req.query.get("mount"), req.query.get("from")) {
                if s.blobs.contains_key(d) {
                    return Reply::Send(
                        Response::new(201).header("Docker-Content-Digest", d.clone()),
                    );
                }
            }
            s.next += 1;
            let id = format!("u{}", s.next);
            s.uploads.insert(id.clone(), Vec::new());
            let mut r = Response::new(202).header("Range", "0-0");
            if !s.faults.no_location {
                r = r.header(
                    "Location",
                    format!("/v2/{repo}/blobs/uploads/{id}?_state=abc"),
                );
            }
            Reply::Send(r)
        }
        "PATCH" => {
            let id = tail.trim_start_matches('/').to_string();
            let body = req.body();
            let mut s = state.lock().unwrap();
            let Some(u) = s.uploads.get_mut(&id) else {
                return err(404, "BLOB_UPLOAD_UNKNOWN");
            };
            u.extend_from_slice(&body);
            let end = u.len().saturating_sub(1);
            // ECR's quirk: 201 instead of 202.
            Reply::Send(
                Response::new(201)
                    .header(
                        "Location",
                        format!("/v2/{repo}/blobs/uploads/{id}?_state=def"),
                    )
                    .header("Range", format!("0-{end}")),
            )
        }
        "PUT" => {
            let id = tail.trim_start_matches('/').to_string();
            {
                let mut s = state.lock().unwrap();
                if s.faults.reset_uploads > 0 && req.content_length() > 1 {
                    s.faults.reset_uploads -= 1;
                    drop(s);
                    let mut half = vec![0u8; req.content_length() / 2];
                    let _ = std::io::Read::read_exact(&mut req.reader, &mut half);
                    return Reply::Drop;
                }
                if s.faults.stall_uploads {
                    s.stalled += 1;
                    drop(s);
                    while state.lock().unwrap().faults.stall_uploads {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    return Reply::Drop;
                }
            }
            let body = req.body();
            let mut s = state.lock().unwrap();
            let Some(mut data) = s.uploads.remove(&id) else {
                return err(404, "BLOB_UPLOAD_UNKNOWN");
            };
            data.extend_from_slice(&body);
            let want = req.query.get("digest").cloned().unwrap_or_default();
            if sha(&data) != want {
                return err(400, "DIGEST_INVALID");
            }
            s.blobs.insert(want.clone(), data);
            Reply::Send(
                Response::new(201)
                    .header("Docker-Content-Digest", want.clone())
                    .header("Location", format!("/v2/{repo}/blobs/{want}")),
            )
        }
        _ => err(405, "UNSUPPORTED"),
    }
}

/// The referrers API: every manifest of `repo` whose subject is `subject`, as an OCI index.
fn referrers(state: &Arc<Mutex<State>>, repo: &str, subject: &str) -> Reply {
    let s = state.lock().unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (key, (body, mt)) in &s.manifests {
        let Some((r, _)) = key.split_once(':') else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            continue;
        };
        if r == repo && v["subject"]["digest"] == subject {
            seen.insert(
                sha(body),
                serde_json::json!({
                    "mediaType": mt,
                    "digest": sha(body),
                    "size": body.len(),
                    "artifactType": v["artifactType"],
                    "annotations": v.get("annotations").cloned().unwrap_or(serde_json::json!({})),
                }),
            );
        }
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": seen.into_values().collect::<Vec<_>>(),
    });
    Reply::Send(
        Response::new(200)
            .header("Content-Type", "application/vnd.oci.image.index.v1+json")
            .body(serde_json::to_vec(&index).unwrap()),
    )
}

fn manifests(state: &Arc<Mutex<State>>, repo: &str, reference: &str, req: &mut Request) -> Reply {
    let key = format!("{repo}:{reference}");
    match req.method.as_str() {
        "PUT" => {
            let body = req.body();
            let mt = req.header("content-type").unwrap_or("").to_string();
            let mut s = state.lock().unwrap();
            let v: serde_json::Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(_) => return err(400, "MANIFEST_INVALID"),
            };
            let mut needed = vec![v["config"]["digest"].as_str().unwrap_or("").to_string()];
            needed.extend(
                v["layers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l["digest"].as_str().map(str::to_string)),
            );
            // An index has no config and no layers; a manifest needs every blob it names.
            let index = v["mediaType"] == "application/vnd.oci.image.index.v1+json";
            if needed
                .iter()
                .any(|d| !(s.blobs.contains_key(d) || index && d.is_empty()))
            {
                return err(400, "MANIFEST_BLOB_UNKNOWN");
            }
            if s.faults.refuse_artifacts && v.get("artifactType").is_some() {
                return err(400, "MANIFEST_INVALID");
            }
            let d = sha(&body);
            s.manifests.insert(key, (body.clone(), mt.clone()));
            s.manifests.insert(format!("{repo}:{d}"), (body, mt));
            let mut r = Response::new(201).header("Docker-Content-Digest", d);
            if let (true, Some(subject)) = (s.faults.referrers_api, v["subject"]["digest"].as_str())
            {
                r = r.header("OCI-Subject", subject);
            }
            Reply::Send(r)
        }
        "GET" | "HEAD" => {
            let s = state.lock().unwrap();
            let Some((body, mt)) = s.manifests.get(&key) else {
                return err(404, "MANIFEST_UNKNOWN");
            };
            let digest = if s.faults.lying_manifest_header {
                sha(b"something else")
            } else {
                sha(body)
            };
            Reply::Send(
                Response::new(200)
                    .header("Content-Type", mt.clone())
                    .header("Docker-Content-Digest", digest)
                    .body(body.clone()),
            )
        }
        _ => err(405, "UNSUPPORTED"),
    }
}
