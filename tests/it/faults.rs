//! The push and pull protocol against a lying, failing registry: each fault is survived or fails
//! cleanly, a tag never moves to an image whose blobs are not all present, and a rerun after a
//! killed push completes.

use crate::support::fake_registry::Fake;
use crate::support::*;
use std::fs;
use std::path::PathBuf;
use std::process::Output;

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
    let responses = e.project.join("src/shared/responses.py");
    let text = fs::read_to_string(&responses).unwrap();
    fs::write(&responses, format!("{text}# changed\n")).unwrap();

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
    assert!(
        stderr(&o).contains("the registry sent bytes whose digest is"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("damaged"), "{}", stderr(&o));
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

// Issue 10, fault 3: a tag that fails to move puts back every tag this push moved, or says
// exactly which tags moved when that is impossible.
#[test]
fn a_failed_tag_puts_back_the_tags_it_moved() {
    let fake = Fake::start();
    let e = env();
    let target = format!("{}/app:v1", fake.addr);
    let old = digest_of(&e.run(&["--push", &target, "--tag", "latest"]));
    assert_eq!(fake.tag("app", "latest"), Some(old.clone()));
    let responses = e.project.join("src/shared/responses.py");
    let text = fs::read_to_string(&responses).unwrap();
    fs::write(&responses, format!("{text}# changed\n")).unwrap();

    fake.with(|s| {
        s.faults
            .statuses
            .push(("PUT".into(), "/manifests/latest".into(), 500, 100, Some(0)))
    });
    let o = e.run(&["--push", &target, "--tag", "latest"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(stdout(&o).is_empty());
    assert!(err.contains(":latest") && err.contains("HTTP 500"), "{err}");
    assert!(err.contains("v1 was put back"), "{err}");
    assert_eq!(
        fake.tag("app", "v1"),
        Some(old.clone()),
        "v1 is where it was"
    );
    assert_eq!(fake.tag("app", "latest"), Some(old.clone()));

    // Putting v1 back fails too: the error names the tag that moved and where it points now.
    fake.with(|s| {
        s.faults
            .statuses_after
            .push(("PUT".into(), "/manifests/v1".into(), 500, 1, 100))
    });
    let o = e.run(&["--push", &target, "--tag", "latest"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let now = fake.tag("app", "v1").unwrap();
    assert_ne!(now, old);
    assert!(
        err.contains(&format!("tag v1 moved to {now}")) && err.contains(&old),
        "{err}"
    );
    assert_eq!(fake.tag("app", "latest"), Some(old));
}

/// A registry that accepts connections and then stalls: never answers, or trickles its answer.
fn stalling_registry(mode: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let answer: &[u8] = match mode {
                    "silent" => {
                        std::thread::sleep(std::time::Duration::from_secs(600));
                        return;
                    }
                    "trickle-headers" => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
                    _ => b"",
                };
                if mode == "trickle-body" {
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
                    if stream.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                }
                for i in 0.. {
                    let b = answer.get(i).copied().unwrap_or(b' ');
                    if stream.write_all(&[b]).is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            });
        }
    });
    addr
}

/// Waits for a child, killing it (and failing) if it hangs.
fn wait_or_kill(mut child: std::process::Child) -> Output {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() > 120 {
            child.kill().unwrap();
            panic!("lamina hung on a stalled registry");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

// Issue 10, fault 5: a registry that never answers, or trickles, ends in a clear error.
#[test]
fn a_registry_that_stalls_or_trickles_times_out() {
    use std::process::Stdio;
    let e = env();
    for mode in ["silent", "trickle-headers", "trickle-body"] {
        let addr = stalling_registry(mode);
        let child = e
            .cmd(&["--push", &format!("{addr}/app:v1"), "--timeout", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let o = wait_or_kill(child);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{mode}: {err}");
        assert!(
            err.contains(&addr) && err.contains("did not answer in time"),
            "{mode}: {err}"
        );
        assert!(
            err.contains("hint:") && err.contains("--timeout"),
            "{mode}: {err}"
        );
    }
    let addr = stalling_registry("trickle-body");
    let child = lamina(&e.project, &e.t.path().join("cache"))
        .args(["pull", &format!("{addr}/app:v1"), "--timeout", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_or_kill(child);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did not answer in time"),
        "{}",
        stderr(&o)
    );
}

// Issue 10, fault 10 (a pulled base): a damaged blob in the cache is removed, downloaded again,
// and warned about, instead of failing every later build.
#[test]
fn a_damaged_cached_base_blob_is_replaced() {
    let fake = Fake::start();
    let e = env();
    let pushed = digest_of(&e.push(&fake, "v1"));
    let manifest: serde_json::Value =
        fake.with(|s| serde_json::from_slice(&s.manifests[&format!("app:{pushed}")].0).unwrap());
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let cache = e.t.path().join("pulled-cache");
    let build = |out: &str| {
        run(lamina(&e.project, &cache).args([
            "build",
            "--base",
            &format!("{}/app:v1", fake.addr),
            "--python",
            "3.12",
            "--glibc",
            "2.34",
            "-o",
            &format!("oci:{}:x", e.t.path().join(out).display()),
        ]))
    };
    let first = build("o1");
    assert!(first.status.success(), "{}", stderr(&first));
    let blob = cache
        .join("v1/blobs/sha256")
        .join(layer.strip_prefix("sha256:").unwrap());
    let mut bytes = fs::read(&blob).unwrap();
    bytes[10] ^= 0xff;
    fs::write(&blob, bytes).unwrap();
    let o = build("o2");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: the cached blob") && err.contains(&layer),
        "{err}"
    );
    assert_eq!(stdout(&o), stdout(&first));
}
