//! Pushing to and pulling from a real registry (Debian's docker-registry) in three auth modes,
//! checked by skopeo; uploads counted from the registry's access log; multi-platform indexes.

use crate::support::registry::{Auth, Registry};
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Env {
    t: tempfile::TempDir,
    project: PathBuf,
    cache: PathBuf,
}

fn env() -> Env {
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let cache = t.path().join("cache");
    Env { t, project, cache }
}

impl Env {
    fn lamina(&self, reg: &Registry, args: &[&str]) -> Output {
        let mut c = lamina(&self.project, &self.cache);
        c.arg("build").args(args);
        if let Some(creds) = reg.creds() {
            c.args(["--creds", &creds]);
        }
        run(&mut c)
    }
    fn push(&self, reg: &Registry, target: &str, extra: &[&str]) -> String {
        let mut args = vec!["--push", target];
        args.extend_from_slice(extra);
        let o = self.lamina(reg, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 1, "{out}");
        out.trim().to_string()
    }
}

fn skopeo_digest(reg: &Registry, reference: &str) -> String {
    let mut c = tool("skopeo");
    c.arg("inspect")
        .args(reg.skopeo_inspect())
        .arg(format!("docker://{reference}"));
    let v: serde_json::Value = serde_json::from_str(&ok(&mut c)).unwrap();
    v["Digest"].as_str().unwrap().to_string()
}

fn roundtrip(auth: Auth) {
    let reg = Registry::start(auth);
    let e = env();
    let target = format!("{}/lambda/app:v1", reg.addr);
    let pushed = e.push(&reg, &target, &["--tag", "latest"]);
    let digest = pushed
        .strip_prefix(&format!("{}/lambda/app@", reg.addr))
        .unwrap_or_else(|| panic!("stdout is REPO@sha256:…, got {pushed}"));
    assert!(digest.starts_with("sha256:") && digest.len() == 71);
    assert_eq!(skopeo_digest(&reg, &target), digest);
    assert_eq!(
        skopeo_digest(&reg, &format!("{}/lambda/app:latest", reg.addr)),
        digest
    );
    // skopeo copy verifies every blob's digest.
    let copy = e.t.path().join("copy");
    let mut c = tool("skopeo");
    c.arg("copy")
        .args(reg.skopeo_src())
        .arg(format!("docker://{target}"))
        .arg(format!("oci:{}:v1", copy.display()));
    ok(&mut c);
    // lamina pulls it back as a base and builds on it (and mounts the shared blobs).
    let second = e.push(
        &reg,
        &format!("{}/lambda/derived:v1", reg.addr),
        &["--base", &target, "--python", "3.12", "--glibc", "2.34"],
    );
    let d2 = second.rsplit_once('@').unwrap().1;
    assert_eq!(
        skopeo_digest(&reg, &format!("{}/lambda/derived:v1", reg.addr)),
        d2
    );
    let mut c = tool("skopeo");
    c.arg("inspect")
        .args(reg.skopeo_inspect())
        .arg(format!("docker://{}/lambda/derived:v1", reg.addr));
    let v: serde_json::Value = serde_json::from_str(&ok(&mut c)).unwrap();
    assert_eq!(
        v["Layers"].as_array().unwrap().len(),
        5,
        "base + dependency + source of the first image, + a dependency and a new source layer"
    );
}

#[test]
fn push_and_pull_without_auth() {
    crate::needs_tools!();
    roundtrip(Auth::None);
}

#[test]
fn push_and_pull_with_htpasswd_basic_auth() {
    crate::needs_tools!();
    roundtrip(Auth::Htpasswd);
}

#[test]
fn push_and_pull_with_token_auth() {
    crate::needs_tools!();
    roundtrip(Auth::Token);
}

#[test]
fn wrong_or_missing_credentials_fail_clearly() {
    crate::needs_tools!();
    for auth in [Auth::Htpasswd, Auth::Token] {
        let reg = Registry::start(auth);
        let e = env();
        let target = format!("{}/lambda/app:v1", reg.addr);
        let o = run(lamina(&e.project, &e.cache)
            .args(["build", "--push", &target])
            .env("HOME", e.t.path()));
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(
            err.contains("refused access") && err.contains("hint: log in to"),
            "{auth:?}: {err}"
        );
        let o = run(lamina(&e.project, &e.cache)
            .args(["build", "--push", &target, "--creds", "AWS:wrong-password"])
            .env("HOME", e.t.path()));
        assert_eq!(o.status.code(), Some(1), "{auth:?}");
        assert!(
            !err.contains("wrong-password") && !stderr(&o).contains("wrong-password"),
            "secrets never printed"
        );
    }
}

#[test]
fn credentials_from_an_auth_file() {
    crate::needs_tools!();
    let reg = Registry::start(Auth::Htpasswd);
    let e = env();
    let auth = e.t.path().join("auth.json");
    let token = base64_encode(&format!(
        "{}:{}",
        crate::support::registry::USER,
        crate::support::registry::PASSWORD
    ));
    fs::write(
        &auth,
        serde_json::json!({"auths": {reg.addr.clone(): {"auth": token}}}).to_string(),
    )
    .unwrap();
    let o = run(lamina(&e.project, &e.cache)
        .args(["build", "--push", &format!("{}/lambda/app:v1", reg.addr)])
        .env("REGISTRY_AUTH_FILE", &auth));
    assert!(o.status.success(), "{}", stderr(&o));
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn second_push_uploads_nothing_and_an_edit_uploads_one_layer() {
    crate::needs_tools!();
    let reg = Registry::start(Auth::None);
    let e = env();
    let target = format!("{}/lambda/app:v1", reg.addr);
    let uploads = |r: &Registry| r.count("PUT", "/v2/lambda/app/blobs/uploads/");
    e.push(&reg, &target, &[]);
    assert_eq!(
        uploads(&reg),
        9,
        "base layer, dependency layer, source layer, config; the SBOM and the provenance (their \
         empty config is the cache entries'); the two layers' remote cache entries and their empty config"
    );
    e.push(&reg, &target, &[]);
    assert_eq!(uploads(&reg), 9, "a second push sends no blob bodies");
    assert_eq!(reg.count("PATCH", "/v2/lambda/app/blobs/uploads/"), 0);
    let responses = e.project.join("src/shared/responses.py");
    let text = fs::read_to_string(&responses).unwrap();
    fs::write(&responses, format!("{text}# edited\n")).unwrap();
    let before_manifests = reg.count("PUT", "/v2/lambda/app/manifests/");
    e.push(&reg, &target, &[]);
    assert_eq!(
        uploads(&reg),
        14,
        "only the new source layer, the config, the new image's SBOM and provenance, and the new source layer's cache entry"
    );
    assert_eq!(
        reg.count("PUT", "/v2/lambda/app/manifests/"),
        before_manifests + 6,
        "the manifest by digest, its two attestations and the referrers tag, then the tag, then the cache entry"
    );
}

#[test]
fn chunked_uploads_work_too() {
    crate::needs_tools!();
    let reg = Registry::start(Auth::None);
    let e = env();
    let target = format!("{}/lambda/chunky:v1", reg.addr);
    let pushed = e.push(&reg, &target, &["--chunk-size", "300"]);
    assert!(
        reg.count("PATCH", "/v2/lambda/chunky/blobs/uploads/") >= 4,
        "several PATCHes"
    );
    assert_eq!(
        skopeo_digest(&reg, &target),
        pushed.rsplit_once('@').unwrap().1
    );
}

/// Pushes an OCI index over `images` (platform, digest, size) under `tag`.
fn put_index(reg: &Registry, repo: &str, tag: &str, images: &[(&str, String, u64)]) {
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|(arch, digest, size)| {
            let mut p = serde_json::json!({"os": "linux", "architecture": arch});
            if *arch == "arm64" {
                p["variant"] = "v8".into();
            }
            serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size, "platform": p})
        })
        .collect();
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    let client = reqwest::blocking::Client::new();
    let resp = client
        .put(format!("http://{}/v2/{repo}/manifests/{tag}", reg.addr))
        .header("Content-Type", "application/vnd.oci.image.index.v1+json")
        .body(index.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
}

fn manifest_size(reg: &Registry, repo: &str, digest: &str) -> u64 {
    let client = reqwest::blocking::Client::new();
    let resp = client
        .get(format!("http://{}/v2/{repo}/manifests/{digest}", reg.addr))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .unwrap();
    resp.bytes().unwrap().len() as u64
}

#[test]
fn pulls_the_right_platform_from_an_index() {
    crate::needs_tools!();
    let reg = Registry::start(Auth::None);
    let e = env();
    let repo = "lambda/multi";
    let amd = e.push(
        &reg,
        &format!("{}/{repo}", reg.addr),
        &["--platform", "linux/amd64"],
    );
    let arm = e.push(
        &reg,
        &format!("{}/{repo}", reg.addr),
        &["--platform", "linux/arm64"],
    );
    let amd = amd.rsplit_once('@').unwrap().1.to_string();
    let arm = arm.rsplit_once('@').unwrap().1.to_string();
    assert_ne!(amd, arm);
    put_index(
        &reg,
        repo,
        "both",
        &[
            ("amd64", amd.clone(), manifest_size(&reg, repo, &amd)),
            ("arm64", arm.clone(), manifest_size(&reg, repo, &arm)),
        ],
    );
    put_index(
        &reg,
        repo,
        "amd-only",
        &[("amd64", amd.clone(), manifest_size(&reg, repo, &amd))],
    );
    let base = format!("{}/{repo}:both", reg.addr);
    for (platform, arch) in [("linux/amd64", "amd64"), ("linux/arm64", "arm64")] {
        let out = e.t.path().join(format!("out-{arch}"));
        let o = e.lamina(
            &reg,
            &[
                "--base",
                &base,
                "--platform",
                platform,
                "--python",
                "3.12",
                "--glibc",
                "2.34",
                "-o",
                &format!("oci:{}:x", out.display()),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let (m, _) = layout_manifest(&out, "x");
        let cfg = blob_json(&out, m["config"]["digest"].as_str().unwrap());
        assert_eq!(cfg["architecture"], arch);
    }
    let o = e.lamina(
        &reg,
        &[
            "--base",
            &format!("{}/{repo}:amd-only", reg.addr),
            "--platform",
            "linux/arm64",
            "--python",
            "3.12",
            "--glibc",
            "2.34",
            "-o",
            "oci:never",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no image for platform linux/arm64 (it has: linux/amd64)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pull_warms_the_cache_for_offline_builds() {
    crate::needs_tools!();
    let reg = Registry::start(Auth::None);
    let e = env();
    let pushed = e.push(&reg, &format!("{}/lambda/base:v1", reg.addr), &[]);
    let o =
        run(lamina(&e.project, &e.cache).args(["pull", &format!("{}/lambda/base:v1", reg.addr)]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), pushed);
    drop(reg); // the registry is gone: a digest-pinned base still builds
    let out = e.t.path().join("offline");
    let o = run(lamina(&e.project, &e.cache).args([
        "build",
        "--base",
        &pushed,
        "--python",
        "3.12",
        "--glibc",
        "2.34",
        "-o",
        &format!("oci:{}:x", out.display()),
    ]));
    assert!(o.status.success(), "offline build: {}", stderr(&o));
    let _ = Path::new(&out);
}
