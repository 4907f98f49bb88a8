//! Registries failing during pull and push: unauthorized, refused, unreachable, 5xx. The cause is
//! the registry's, named, with the hint that fits (never "the layout is damaged").

use super::{snap, Case};
use crate::support::fake_registry::Fake;
use crate::support::*;

/// A fake registry holding the example image as `app:v1`.
fn seeded() -> (Fake, Case) {
    let fake = Fake::start();
    let c = Case::new();
    let o = run(&mut c.lamina(&["build", "--push", &format!("{}/app:v1", fake.addr)]));
    assert!(o.status.success(), "{}", stderr(&o));
    (fake, c)
}

/// The digest of the first layer of `fake`'s `app:v1` (the base's own layer).
fn first_layer(fake: &Fake) -> String {
    let manifest: serde_json::Value =
        fake.with(|s| serde_json::from_slice(&s.manifests["app:v1"].0).unwrap());
    manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Builds from `fake`'s `app:v1` into an OCI layout, with a fresh cache (no bytecode: the layers
/// are first read when the layout is written).
fn build_from(fake: &Fake, c: &Case, name: &str) -> std::process::Output {
    let out = c.path().join("out");
    let mut cmd = lamina(&c.project, &c.path().join("fresh-cache"));
    cmd.args(["build", "--base", &format!("{}/app:v1", fake.addr)])
        .args([
            "--python",
            "3.12",
            "--glibc",
            "2.34",
            "--no-compile-bytecode",
        ])
        .args(["-o", &format!("oci:{}:x", out.display())])
        .env("DOCKER_CONFIG", c.path().join("no-docker-config"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    let o = snap(name, &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1), "{name}");
    assert!(!out.exists(), "{name}: nothing written");
    o
}

/// The issue 11 case: a 401 while a base layer is fetched for `-o oci:DIR` says unauthorized,
/// names the registry and gives the credentials hint; it never says the layout is damaged.
#[test]
fn unauthorized_while_fetching_a_base_layer() {
    let (fake, c) = seeded();
    let layer = first_layer(&fake);
    fake.with(|s| s.faults.basic_auth_on = Some(format!("/blobs/{layer}")));
    let o = build_from(&fake, &c, "pull_layer_unauthorized");
    let err = stderr(&o);
    assert!(
        err.contains(&fake.addr) && err.contains("unauthorized") && err.contains("refused access"),
        "{err}"
    );
    assert!(err.contains("hint: log in to"), "{err}");
    assert!(!err.contains("damaged"), "{err}");
}

#[test]
fn server_error_while_fetching_a_base_layer() {
    let (fake, c) = seeded();
    let layer = first_layer(&fake);
    fake.with(|s| {
        s.faults
            .statuses
            .push(("GET".into(), format!("/blobs/{layer}"), 500, 100, None))
    });
    let o = build_from(&fake, &c, "pull_layer_server_error");
    assert!(!stderr(&o).contains("damaged"));
}

#[test]
fn connection_refused_on_pull() {
    let c = Case::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = c.lamina(&["pull", &format!("127.0.0.1:{port}/app:v1")]);
    let o = snap("pull_connection_refused", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

/// `lamina pull` of `fake`'s `app:v1` with a fresh cache and the given docker config directory.
fn pull(
    fake: &Fake,
    c: &Case,
    name: &str,
    docker_config: &std::path::Path,
) -> std::process::Output {
    let mut cmd = lamina(&c.project, &c.path().join("pull-cache"));
    cmd.args(["pull", &format!("{}/app:v1", fake.addr)])
        .env("DOCKER_CONFIG", docker_config)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    snap(name, &mut cmd, &[c.path()])
}

/// Credentials that cannot be read are named with why, not "none were found".
#[test]
fn auth_file_that_is_not_json_is_named() {
    let (fake, c) = seeded();
    fake.with(|s| s.faults.basic_auth_on = Some("/manifests/".into()));
    let dir = c.path().join("docker");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("config.json"), "{\"auths\": {").unwrap();
    let o = pull(&fake, &c, "auth_file_not_json", &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("config.json: not JSON"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn auth_entry_that_is_not_base64_is_named() {
    let (fake, c) = seeded();
    fake.with(|s| s.faults.basic_auth_on = Some("/manifests/".into()));
    let dir = c.path().join("docker");
    std::fs::create_dir(&dir).unwrap();
    let cfg = serde_json::json!({"auths": {fake.addr.clone(): {"auth": "%%%SECRET%%%"}}});
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    let o = pull(&fake, &c, "auth_entry_not_base64", &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("SECRET"), "{}", stderr(&o));
}

#[test]
fn credential_helper_that_is_missing_is_named() {
    let (fake, c) = seeded();
    fake.with(|s| s.faults.basic_auth_on = Some("/manifests/".into()));
    let dir = c.path().join("docker");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"credsStore": "lamina-test-nothere"}"#,
    )
    .unwrap();
    let o = pull(&fake, &c, "auth_helper_missing", &dir);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn token_realm_that_is_empty() {
    let (fake, c) = seeded();
    fake.with(|s| s.faults.bearer_realm = Some(String::new()));
    let o = pull(&fake, &c, "auth_token_realm_empty", &c.path().join("none"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn blob_whose_bytes_lie() {
    let (fake, c) = seeded();
    let layer = first_layer(&fake);
    fake.with(|s| s.faults.corrupt_blob = Some(layer));
    let o = build_from(&fake, &c, "pull_layer_digest_mismatch");
    assert!(!stderr(&o).contains("damaged"), "{}", stderr(&o));
}

/// A long Retry-After is announced (what is waited for, and how long).
#[test]
fn retry_after_is_announced() {
    let (fake, c) = seeded();
    fake.with(|s| {
        s.faults
            .statuses
            .push(("GET".into(), "/manifests/".into(), 503, 1, Some(2)))
    });
    let o = pull(
        &fake,
        &c,
        "pull_retry_after_announced",
        &c.path().join("none"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn push_whose_manifest_put_fails() {
    let (fake, c) = seeded();
    fake.with(|s| {
        s.faults
            .statuses
            .push(("PUT".into(), "/manifests/".into(), 500, 100, None))
    });
    let mut cmd = c.lamina(&["build", "--push", &format!("{}/app:v2", fake.addr)]);
    let o = snap("push_manifest_server_error", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(fake.tag("app", "v2"), None);
}

#[test]
fn push_unauthorized() {
    let (fake, c) = seeded();
    fake.with(|s| s.faults.basic_auth_on = Some("/v2/".into()));
    let mut cmd = c.lamina(&["build", "--push", &format!("{}/app:v2", fake.addr)]);
    cmd.env("DOCKER_CONFIG", c.path().join("none"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    let o = snap("push_unauthorized", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn push_with_wrong_credentials_prints_no_secret() {
    let (fake, c) = seeded();
    fake.with(|s| s.faults.basic_auth_on = Some("/v2/".into()));
    let mut cmd = c.lamina(&[
        "build",
        "--push",
        &format!("{}/app:v2", fake.addr),
        "--creds",
        "AWS:hunter2SECRET",
    ]);
    let o = snap("push_wrong_credentials", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("hunter2SECRET"));
}

/// A registry that refuses OCI 1.1 artifacts: the push stops before any tag moves, and the hint
/// names --no-attest.
#[test]
fn push_whose_attestations_are_refused() {
    let (fake, c) = seeded();
    fake.with(|s| s.faults.refuse_artifacts = true);
    let mut cmd = c.lamina(&["build", "--push", &format!("{}/app:v2", fake.addr)]);
    let o = snap("push_attestations_refused", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(fake.tag("app", "v2").is_none(), "no tag moved");
}

/// `lamina sbom` for an image pushed without attestations.
#[test]
fn sbom_of_an_image_without_one() {
    let fake = Fake::start();
    let c = Case::new();
    let target = format!("{}/app:v1", fake.addr);
    let o = run(&mut c.lamina(&["build", "--push", &target, "--no-attest"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = snap(
        "sbom_none_attached",
        &mut c.lamina(&["sbom", &target]),
        &[c.path()],
    );
    assert_eq!(o.status.code(), Some(1));
}

/// `verify` of an image pushed without attestations: the missing SBOM is named, with the way to
/// attach one or to check the image alone.
#[test]
fn verify_of_an_image_without_attestations() {
    let fake = Fake::start();
    let c = Case::new();
    let target = format!("{}/app:v1", fake.addr);
    let o = run(&mut c.lamina(&["build", "--push", &target, "--no-attest"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = snap(
        "verify_attestations_missing",
        &mut c.lamina(&["verify", &target]),
        &[c.path()],
    );
    assert_eq!(o.status.code(), Some(1));
}

/// `--sbom` into a directory that does not exist fails before anything is built.
#[test]
fn sbom_file_in_a_missing_directory() {
    let c = Case::new();
    let mut cmd = c.lamina(&["build", "--sbom", "no-such-dir/sbom.json"]);
    let o = snap("sbom_path_missing_directory", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}
