//! The push and pull protocol against a lying, failing registry: each fault is survived or fails
//! cleanly, a tag never moves to an image whose blobs are not all present, and a rerun after a
//! killed push completes.

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::Output;
use support::fake_registry::Fake;
use support::*;

struct Env {
    t: tempfile::TempDir,
    project: PathBuf,
}

fn env() -> Env {
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    Env { t, project }
}

impl Env {
    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = lamina(&self.project, &self.t.path().join("cache"));
        c.arg("build").args(args);
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        run(&mut self.cmd(args))
    }
    fn push(&self, fake: &Fake, tag: &str) -> Output {
        self.run(&["--push", &format!("{}/app:{tag}", fake.addr)])
    }
}

fn digest_of(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o).trim().rsplit_once('@').unwrap().1.to_string()
}

#[test]
fn survives_5xx_and_429_with_retry_after() {
    let fake = Fake::start();
    fake.with(|s| {
        s.faults
            .statuses
            .push(("PUT".into(), "/blobs/uploads/".into(), 500, 2, None));
        s.faults
            .statuses
            .push(("HEAD".into(), "/blobs/".into(), 429, 1, Some(1)));
        s.faults
            .statuses
            .push(("PUT".into(), "/manifests/".into(), 503, 1, None));
    });
    let e = env();
    let o = e.push(&fake, "v1");
    let d = digest_of(&o);
    assert_eq!(fake.tag("app", "v1"), Some(d));
    assert!(stderr(&o).contains("retries"), "{}", stderr(&o));
    assert_eq!(
        fake.with(|s| s.faults.statuses.iter().map(|f| f.3).sum::<u32>()),
        0,
        "every fault was hit"
    );
}

#[test]
fn survives_a_connection_reset_in_the_middle_of_an_upload() {
    let fake = Fake::start();
    fake.with(|s| s.faults.reset_uploads = 2);
    let e = env();
    let d = digest_of(&e.push(&fake, "v1"));
    assert_eq!(fake.tag("app", "v1"), Some(d));
}

#[test]
fn refreshes_a_token_that_expires_in_the_middle_of_a_push() {
    let fake = Fake::start();
    fake.with(|s| s.faults.token_uses = Some(3));
    let e = env();
    let d = digest_of(&e.push(&fake, "v1"));
    assert_eq!(fake.tag("app", "v1"), Some(d));
    assert!(fake.with(|s| s.token_fetches) >= 3, "tokens were refreshed");
}

#[test]
fn a_failed_push_leaves_the_tag_where_it_was() {
    let fake = Fake::start();
    let e = env();
    let old = digest_of(&e.push(&fake, "v1"));
    fs::write(e.project.join("src/shared/responses.py"), "# changed\n").unwrap();

    // No Location header: a clean error, and no manifest sent.
    fake.with(|s| s.faults.no_location = true);
    let manifests_before = fake.count("PUT", "/manifests/");
    let o = e.push(&fake, "v1");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the registry sent no Location header for the upload"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    assert_eq!(
        fake.count("PUT", "/manifests/"),
        manifests_before,
        "the manifest is never sent"
    );
    assert_eq!(fake.tag("app", "v1"), Some(old.clone()));
    fake.with(|s| s.faults.no_location = false);

    // A blob upload that keeps failing: gives up with what it was doing; the tag stays.
    fake.with(|s| {
        s.faults
            .statuses
            .push(("PUT".into(), "/blobs/uploads/".into(), 500, 100, Some(0)))
    });
    let o = e.push(&fake, "v1");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("uploading sha256:") && err.contains("HTTP 500"),
        "{err}"
    );
    assert_eq!(fake.count("PUT", "/manifests/"), manifests_before);
    assert_eq!(fake.tag("app", "v1"), Some(old));
}

#[test]
fn refuses_blobs_and_manifests_that_do_not_match_their_digest() {
    let fake = Fake::start();
    let e = env();
    let pushed = digest_of(&e.push(&fake, "v1"));
    let manifest: serde_json::Value =
        fake.with(|s| serde_json::from_slice(&s.manifests[&format!("app:{pushed}")].0).unwrap());
    // The base layer (the source layer is rebuilt locally and is already in the cache by content).
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // A layer whose bytes lie: the build refuses it and writes nothing.
    fake.with(|s| s.faults.corrupt_blob = Some(layer));
    let out = e.t.path().join("out");
    let fresh = e.t.path().join("fresh-cache");
    let base = format!("{}/app:v1", fake.addr);
    let o = run(lamina(&e.project, &fresh).args([
        "build",
        "--base",
        &base,
        "--python",
        "3.12",
        "--glibc",
        "2.34",
        "-o",
        &format!("oci:{}:x", out.display()),
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    assert!(!out.exists());
    fake.with(|s| s.faults.corrupt_blob = None);

    // A manifest whose Docker-Content-Digest lies.
    fake.with(|s| s.faults.lying_manifest_header = true);
    let o = run(lamina(&e.project, &e.t.path().join("fresh-2")).args([
        "build",
        "--base",
        &base,
        "--python",
        "3.12",
        "--glibc",
        "2.34",
        "-o",
        &format!("oci:{}:x", out.display()),
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the registry sent bytes whose digest is"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn a_rerun_after_a_killed_push_completes() {
    let fake = Fake::start();
    let e = env();
    fake.with(|s| s.faults.stall_uploads = true);
    let mut child = e
        .cmd(&[
            "--push",
            &format!("{}/app:v1", fake.addr),
            "--parallel",
            "1",
        ])
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while fake.with(|s| s.stalled) == 0 {
        assert!(
            start.elapsed().as_secs() < 30,
            "the push never reached an upload"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fake.tag("app", "v1"), None, "a killed push moves no tag");
    fake.with(|s| s.faults.stall_uploads = false);
    let d = digest_of(&e.push(&fake, "v1"));
    assert_eq!(fake.tag("app", "v1"), Some(d));
}

#[test]
fn chunked_uploads_accept_ecrs_201_on_patch() {
    let fake = Fake::start();
    let e = env();
    let o = e.run(&[
        "--push",
        &format!("{}/app:v1", fake.addr),
        "--chunk-size",
        "256",
    ]);
    let d = digest_of(&o);
    assert!(fake.count("PATCH", "/blobs/uploads/") >= 4);
    assert_eq!(fake.tag("app", "v1"), Some(d));
}
