//! `lamina build` end to end: the golden digest, reproducibility across machines-like differences,
//! other tools reading what we write, and the hygiene of every layer read back.

use crate::support::*;
use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The example built on the stand-in base with SOURCE_DATE_EPOCH=1700000000. If this changes, every
/// user's digests change: only update it on purpose, and say why in the commit. (Last changed on
/// purpose by gzip level 6 → 5; before it: sha256:712e32c9….)
const GOLDEN: &str = "sha256:5461ce1bf363cc8e513d3913f1e5ee9ae49e3cdec37f57cd13d3a7b027c4c4ff";
/// The example's source layer. Its uncompressed tar has not changed since the first golden digest
/// (sha256:e1d63ec0…, before the example got its dependency layer): adding a layer below it must
/// not change it. gzip level 5 (was 6, sha256:ca5a3945…) changed its compressed bytes.
const GOLDEN_SOURCE_LAYER: &str =
    "sha256:1c299e541be4af7f075a1b58bf9927d292558d3fdcb12398b2f878867584aad2";
/// The example's dependency layer (the quick-start wheels).
const GOLDEN_DEPS_LAYER: &str =
    "sha256:13c43de65b7da57d4ad00068c8fdb5562bdab4610853cef38ad003766b8767a0";

fn build_example(project: &Path, cache: &Path, out: &Path) -> String {
    let base = format!("oci:{}:python3.12", standin().display());
    let stdout = ok(lamina(project, cache).args([
        "build",
        "--base",
        &base,
        "-o",
        &format!("oci:{}:latest", out.display()),
    ]));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is exactly one line: {stdout:?}");
    lines[0].to_string()
}

#[test]
fn golden_digest_and_reproducible_elsewhere() {
    let t = tempfile::tempdir().unwrap();
    let first = build_example(
        &example_copy(&t.path().join("a")),
        &t.path().join("cache-a"),
        &t.path().join("out-a"),
    );
    assert_eq!(first, GOLDEN, "the example's digest changed");
    let (manifest, _) = layout_manifest(&t.path().join("out-a"), "latest");
    let layers: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(layers[1..], [GOLDEN_DEPS_LAYER, GOLDEN_SOURCE_LAYER]);

    // Another directory, reversed creation order, other mtimes, a restrictive umask's modes, a cold cache.
    let other = t.path().join("b/deeper/project");
    copy_tree(&example(), &other);
    let _ = fs::remove_dir_all(other.join("build"));
    anchor_paths(&other);
    for e in walkdir::WalkDir::new(&other).contents_first(true) {
        let e = e.unwrap();
        let mode = if e.file_type().is_dir() { 0o700 } else { 0o600 };
        fs::set_permissions(e.path(), fs::Permissions::from_mode(mode)).unwrap();
        let f = fs::File::options().read(true).open(e.path()).unwrap();
        f.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567),
        )
        .unwrap();
    }
    let second = build_example(&other, &t.path().join("cache-b"), &t.path().join("out-b"));
    assert_eq!(second, GOLDEN);

    // A warm cache gives the same answer without rewriting the layer.
    let third = build_example(&other, &t.path().join("cache-b"), &t.path().join("out-c"));
    assert_eq!(third, GOLDEN);
}

/// The README's quick start (`lamina build -C examples/traffic-manager`, nothing else) builds a
/// dependency layer from the committed wheels, offline, and prints the golden digest.
#[test]
fn quick_start_builds_a_dependency_layer() {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let o = run(lamina(t.path(), &t.path().join("cache")).args([
        "build",
        "-C",
        project.to_str().unwrap(),
    ]));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(stdout(&o).trim(), GOLDEN);
    assert!(
        err.contains("dependency layer: 2 wheels for CPython 3.12 on x86_64 with glibc 2.34")
            && err.contains(&format!("dependency layer {GOLDEN_DEPS_LAYER}: 31 files"))
            && err.contains("3 layers (1 from the base)"),
        "{err}"
    );
}

#[test]
fn config_keeps_base_and_sets_cmd() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    build_example(&example_copy(t.path()), &t.path().join("cache"), &out);
    let (manifest, layers) = layout_manifest(&out, "latest");
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(layers.len(), 3, "base, dependencies, source");
    for l in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            l["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
    }
    let config = blob_json(&out, manifest["config"]["digest"].as_str().unwrap());
    let c = &config["config"];
    assert_eq!(
        c["Entrypoint"],
        serde_json::json!(["/lambda-entrypoint.sh"])
    );
    assert_eq!(c["WorkingDir"], "/var/task");
    assert_eq!(
        c["Cmd"],
        serde_json::json!(["src.functions.campaign.orchestrator.handler"])
    );
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"LAMBDA_TASK_ROOT=/var/task") && env.contains(&"LOG_LEVEL=INFO"),
        "{env:?}"
    );
    assert_eq!(
        c["Labels"]["org.opencontainers.image.title"],
        "traffic-manager"
    );
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 3);
    let history = config["history"].as_array().unwrap();
    assert_eq!(
        history.len(),
        2,
        "the stand-in, like AWS's bases, has no history; we add one entry per layer"
    );
    assert_eq!(
        history[0]["created_by"],
        "lamina build: pip install --no-deps --target /var/task (2 wheels)"
    );
    assert_eq!(
        history[1]["created_by"],
        "lamina build: COPY src /var/task/src"
    );
}

#[test]
fn every_layer_is_lambda_clean() {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    // Make the source tree awkward: an executable, a symlink inside the tree, a long path.
    let deep = project.join("src/shared/a-very-long-directory-name-that-goes-on/and-on-and-on-past-the-hundred-byte-ustar-limit");
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("data_file_with_a_long_name_too.json"), "{}").unwrap();
    fs::write(project.join("src/shared/run.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(
        project.join("src/shared/run.sh"),
        fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::os::unix::fs::symlink("responses.py", project.join("src/shared/alias.py")).unwrap();
    let out = t.path().join("out");
    build_example(&project, &t.path().join("cache"), &out);
    let (_, layers) = layout_manifest(&out, "latest");
    let entries = read_layer(&layers[2]);
    let mut seen = HashSet::new();
    let mut last = String::new();
    for e in &entries {
        let p = e.path.trim_end_matches('/').to_string();
        assert!(p > last, "sorted, no duplicates: {p} after {last}");
        last = p.clone();
        assert!(seen.insert(p.clone()));
        if let Some((parent, _)) = p.rsplit_once('/') {
            assert!(seen.contains(parent), "parent of {p} comes first");
        }
        assert_ne!(e.kind, tar::EntryType::Link, "no hard links: {p}");
        assert_eq!((e.uid, e.gid), (0, 0), "{p}");
        assert!(e.uname.is_empty() && e.gname.is_empty(), "{p}");
        assert_eq!(e.mtime, 1_700_000_000, "{p}");
        let expected = match e.kind {
            tar::EntryType::Directory => 0o755,
            tar::EntryType::Symlink => 0o777,
            _ if p.ends_with("run.sh") => 0o755,
            _ => 0o644,
        };
        assert_eq!(e.mode, expected, "{p}");
    }
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(&paths[..3], ["var/", "var/task/", "var/task/src/"]);
    let alias = entries
        .iter()
        .find(|e| e.path.ends_with("alias.py"))
        .unwrap();
    assert_eq!(
        (alias.kind, alias.link.as_deref()),
        (tar::EntryType::Symlink, Some("responses.py"))
    );
    assert!(entries
        .iter()
        .any(|e| e.path.ends_with("data_file_with_a_long_name_too.json")));
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with(".md") || p.contains("tests/")),
        ".dockerignore applied: {paths:?}"
    );
    // The gzip header carries neither a name nor a time.
    let gz = fs::read(&layers[2]).unwrap();
    assert_eq!(gz[3] & 0x08, 0, "no FNAME");
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "MTIME 0");
}

#[test]
fn skopeo_and_umoci_accept_the_layout() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let digest = build_example(&example_copy(t.path()), &t.path().join("cache"), &out);
    let src = format!("oci:{}:latest", out.display());
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(tool("skopeo").args(["inspect", &src]))).unwrap();
    assert_eq!(inspect["Digest"], digest.as_str());
    assert_eq!(inspect["Architecture"], "amd64");
    let copy = t.path().join("copy");
    ok(tool("skopeo").args(["copy", &src, &format!("oci:{}:v1", copy.display())]));
    let bundle = t.path().join("bundle");
    ok(tool("umoci").args([
        "unpack",
        "--image",
        &format!("{}:v1", copy.display()),
        bundle.to_str().unwrap(),
    ]));
    let root = bundle.join("rootfs/var/task");
    let body = fs::read_to_string(root.join("src/functions/campaign/orchestrator.py")).unwrap();
    assert_eq!(
        body,
        fs::read_to_string(example().join("src/functions/campaign/orchestrator.py")).unwrap()
    );
    assert!(root.join("src/functions/reports/daily.py").is_file());
    assert!(
        !root.join("src/functions/campaign/notes.md").exists(),
        ".dockerignore'd file in the image"
    );
    assert!(bundle.join("rootfs/lambda-entrypoint.sh").is_file());
    let mode = fs::metadata(root.join("src/shared/responses.py"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn docker_archive_loads_and_docker_base_keeps_docker_types() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let cache = t.path().join("cache");
    let base = format!("oci:{}:python3.12-docker", standin().display());
    let archive = t.path().join("image.tar");
    let digest = ok(lamina(&project, &cache).args([
        "build",
        "--base",
        &base,
        "-o",
        &format!("docker-archive:{}:lambda/app:v1", archive.display()),
    ]));
    assert!(digest.trim().starts_with("sha256:"));
    let loaded = t.path().join("loaded");
    ok(tool("skopeo").args([
        "copy",
        &format!("docker-archive:{}", archive.display()),
        &format!("oci:{}:v1", loaded.display()),
    ]));
    let bundle = t.path().join("bundle");
    ok(tool("umoci").args([
        "unpack",
        "--image",
        &format!("{}:v1", loaded.display()),
        bundle.to_str().unwrap(),
    ]));
    assert!(bundle
        .join("rootfs/var/task/src/functions/webhooks/receiver.py")
        .is_file());
    let inspect = ok(tool("skopeo").args([
        "inspect",
        "--config",
        &format!("docker-archive:{}", archive.display()),
    ]));
    assert!(
        inspect.contains("src.functions.campaign.orchestrator.handler"),
        "{inspect}"
    );

    // The Docker-typed base gives a Docker-typed image: its digest on stdout for the archive is the
    // Docker manifest's; an OCI layout of the same build holds the OCI-typed twin.
    let out = t.path().join("out");
    let oci_digest = ok(lamina(&project, &cache).args([
        "build",
        "--base",
        &base,
        "-o",
        &format!("oci:{}:v1", out.display()),
    ]));
    assert_ne!(
        digest, oci_digest,
        "different media types, different manifest digests"
    );
    let (m, _) = layout_manifest(&out, "v1");
    assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
}

#[test]
fn podman_loads_the_archive() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let archive = t.path().join("image.tar");
    ok(lamina(&project, &t.path().join("cache")).args([
        "build",
        "--base",
        &format!("oci:{}:python3.12", standin().display()),
        "-o",
        &format!("docker-archive:{}:lambda/podman-test:v1", archive.display()),
    ]));
    let storage = t.path().join("storage.conf");
    fs::write(
        &storage,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n",
            t.path().display()
        ),
    )
    .unwrap();
    let out = ok(tool("podman")
        .env("CONTAINERS_STORAGE_CONF", &storage)
        .args(["load", "-i", archive.to_str().unwrap()]));
    assert!(out.contains("lambda/podman-test:v1"), "{out}");
    let images = ok(tool("podman")
        .env("CONTAINERS_STORAGE_CONF", &storage)
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"]));
    assert!(images.contains("lambda/podman-test:v1"), "{images}");
}

#[test]
fn arm64_from_the_index_and_a_clear_error_for_a_missing_platform() {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let cache = t.path().join("cache");
    let out = t.path().join("out");
    let base = format!("oci:{}:python3.12", standin().display());
    ok(lamina(&project, &cache).args([
        "build",
        "--base",
        &base,
        "--platform",
        "linux/arm64",
        "-o",
        &format!("oci:{}:arm", out.display()),
    ]));
    let (m, _) = layout_manifest(&out, "arm");
    let config = blob_json(&out, m["config"]["digest"].as_str().unwrap());
    assert_eq!(config["architecture"], "arm64");

    let docker_base = format!("oci:{}:python3.12-docker", standin().display());
    let o = run(lamina(&project, &cache).args([
        "build",
        "--base",
        &docker_base,
        "--platform",
        "linux/arm64",
        "-o",
        "oci:never",
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no image for platform linux/arm64 (it has: linux/amd64)"),
        "{}",
        stderr(&o)
    );
    assert!(!project.join("never").exists());
}

#[test]
fn entrypoint_in_the_standin_behaves_like_aws() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let bundle = t.path().join("bundle");
    let copy = t.path().join("copy");
    ok(tool("skopeo").args([
        "copy",
        &format!("oci:{}:python3.12", standin().display()),
        &format!("oci:{}:x", copy.display()),
    ]));
    ok(tool("umoci").args([
        "unpack",
        "--image",
        &format!("{}:x", copy.display()),
        bundle.to_str().unwrap(),
    ]));
    let script = bundle.join("rootfs/lambda-entrypoint.sh");
    for args in [vec![], vec!["a.b", "c.d"]] {
        let o = run(std::process::Command::new("sh").arg(&script).args(&args));
        assert_eq!(o.status.code(), Some(142), "{args:?}");
        assert!(
            stderr(&o).contains("entrypoint requires the handler name to be the first argument")
        );
    }
    // With one argument and a runtime API it execs /var/runtime/bootstrap (absent here: 127).
    let o = run(std::process::Command::new("sh")
        .arg(&script)
        .arg("a.b")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"));
    assert_eq!(o.status.code(), Some(127));
}

#[test]
fn standin_script_is_reproducible() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("standin");
    ok(std::process::Command::new("python3")
        .arg(repo().join("base-images/make-standin.py"))
        .arg(&out));
    for e in walkdir::WalkDir::new(&out) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(&out).unwrap();
            assert_eq!(
                fs::read(e.path()).unwrap(),
                fs::read(standin().join(rel)).unwrap(),
                "{}",
                rel.display()
            );
        }
    }
}
