//! The remote layer cache against the real docker-registry (requests counted in its access log):
//! runner A (empty local cache) builds and pushes; runner B (another empty local cache) builds the
//! same inputs from a lock and pushes: B uploads no layer blob, opens no wheel (counted through the
//! debug-only `READ_WHEEL` hook), and pushes A's digest. A cache entry whose layer blob was
//! deleted, or whose descriptor does not parse, is a miss with a warning; one whose descriptor was
//! swapped for another layer's gives a wrong image, and `lamina verify` names the layer.

use crate::support::registry::{Auth, Registry};
use crate::support::*;
use sha2::{Digest as _, Sha256};
use std::fs;
use std::path::PathBuf;
use std::process::Output;

struct Runner {
    cache: PathBuf,
    reads: PathBuf,
}

struct Setup {
    t: tempfile::TempDir,
    project: PathBuf,
    reg: Registry,
}

/// The example, its dependencies from a pylock.toml whose wheels are files next to it.
fn setup() -> Setup {
    let reg = Registry::start(Auth::None);
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let locked = project.join("locked");
    copy_tree(&repo().join("fixtures/wheels/quickstart"), &locked);
    let mut names: Vec<String> = fs::read_dir(&locked)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let wheel = |n: &str| {
        let hash = hex::encode(Sha256::digest(fs::read(locked.join(n)).unwrap()));
        format!("  {{ path = \"locked/{n}\", hashes = {{ sha256 = \"{hash}\" }} }},\n")
    };
    let (markupsafe, dotenv): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.starts_with("MarkupSafe"));
    let mut lock = String::from(
        "lock-version = \"1.0\"\ncreated-by = \"lamina tests\"\nrequires-python = \">=3.12\"\n\n",
    );
    lock += "[[packages]]\nname = \"markupsafe\"\nversion = \"3.0.2\"\nwheels = [\n";
    markupsafe.iter().for_each(|n| lock += &wheel(n));
    lock += "]\n\n[[packages]]\nname = \"python-dotenv\"\nversion = \"1.0.1\"\nwheels = [\n";
    dotenv.iter().for_each(|n| lock += &wheel(n));
    lock += "]\n";
    fs::write(project.join("pylock.toml"), lock).unwrap();
    let toml = fs::read_to_string(project.join("lamina.toml")).unwrap();
    let toml: String = toml
        .lines()
        .map(|l| {
            if l.starts_with("wheels =") {
                "lock = \"pylock.toml\"\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(project.join("lamina.toml"), toml).unwrap();
    Setup { t, project, reg }
}

impl Setup {
    fn runner(&self, name: &str) -> Runner {
        Runner {
            cache: self.t.path().join(format!("cache-{name}")),
            reads: self.t.path().join(format!("reads-{name}")),
        }
    }
    fn repo(&self) -> String {
        format!("{}/lambda/app", self.reg.addr)
    }
    fn push(&self, r: &Runner, tag: &str, extra: &[&str]) -> Output {
        let _ = fs::remove_file(&r.reads);
        let target = format!("{}:{tag}", self.repo());
        run(lamina(&self.project, &r.cache)
            .args(["build", "--push", &target])
            .args(extra)
            .env(
                "LAMINA_TEST_HOOK_READ_WHEEL",
                format!("echo r >> {}", r.reads.display()),
            ))
    }
    fn uploads(&self) -> usize {
        self.reg.count("POST", "/blobs/uploads/") + self.reg.count("PUT", "/blobs/uploads/")
    }
    fn url(&self, path: &str) -> String {
        format!("http://{}/v2/lambda/app/{path}", self.reg.addr)
    }
    fn get_json(&self, path: &str) -> serde_json::Value {
        let r = reqwest::blocking::Client::new()
            .get(self.url(path))
            .header(
                "Accept",
                "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
            )
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        serde_json::from_slice(&r.bytes().unwrap()).unwrap()
    }
    fn upload(&self, bytes: &[u8]) -> String {
        crate::support::registry::put_blob(&self.reg.addr, "lambda/app", bytes)
    }
    /// Replaces the entry blob of cache tag `tag` with `entry` (the manifest otherwise kept).
    fn rewrite_entry(&self, tag: &str, entry: &[u8], layer: Option<&serde_json::Value>) {
        let mut m = self.get_json(&format!("manifests/{tag}"));
        let digest = self.upload(entry);
        m["layers"][0]["digest"] = digest.into();
        m["layers"][0]["size"] = entry.len().into();
        if let Some(l) = layer {
            m["layers"][1] = l.clone();
        }
        crate::support::registry::put_manifest(
            &self.reg.addr,
            "lambda/app",
            tag,
            &serde_json::to_vec(&m).unwrap(),
            "application/vnd.oci.image.manifest.v1+json",
        );
    }
    /// The cache tags in the repository, by kind (`deps`, `src`).
    fn cache_tag(&self, kind: &str) -> String {
        let tags = self.get_json("tags/list");
        tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .find(|t| t.starts_with(&format!("lamina-cache-{kind}-")))
            .unwrap_or_else(|| panic!("no {kind} cache tag in {tags}"))
    }
    fn entry(&self, tag: &str) -> serde_json::Value {
        let m = self.get_json(&format!("manifests/{tag}"));
        assert_eq!(
            m["artifactType"],
            "application/vnd.lamina.layer-cache.v1+json"
        );
        self.get_json(&format!(
            "blobs/{}",
            m["layers"][0]["digest"].as_str().unwrap()
        ))
    }
}

fn reads(r: &Runner) -> usize {
    fs::read_to_string(&r.reads)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn digest_of(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o).trim().rsplit_once('@').unwrap().1.to_string()
}

#[test]
fn a_second_runner_reuses_every_layer_without_uploading_or_reading_a_wheel() {
    crate::needs_tools!();
    let s = setup();
    let a = s.runner("a");
    let first = s.push(&a, "a", &[]);
    let digest_a = digest_of(&first);
    assert!(reads(&a) > 0, "runner A read its wheels");
    let err_a = stderr(&first);
    assert!(err_a.contains("remote cache: recorded"), "{err_a}");
    let deps_entry = s.entry(&s.cache_tag("deps"));
    assert!(deps_entry["facts"]["elf"].as_object().unwrap().len() == 1);
    assert_eq!(deps_entry["key"].as_str().unwrap().len(), 5 + 64);

    let b = s.runner("b");
    let before = s.uploads();
    assert!(before >= 4, "the access log counts runner A's uploads");
    let second = s.push(&b, "b", &[]);
    assert_eq!(digest_of(&second), digest_a, "the same image");
    assert_eq!(s.uploads(), before, "runner B uploaded no blob");
    assert_eq!(reads(&b), 0, "runner B opened no wheel");
    let err_b = stderr(&second);
    assert!(
        err_b.contains("dependency layer: from the remote cache (lamina-cache-deps-")
            && err_b.contains("source layer: from the remote cache (lamina-cache-src-")
            && err_b.contains(
                "cache: dependency layer from the remote cache, source layer from the remote cache"
            )
            && err_b.contains("passes the Lambda checks")
            && !err_b.contains("remote cache: recorded"),
        "{err_b}"
    );
    // The JSON report says where each layer came from.
    let c = s.runner("c");
    let o = s.push(&c, "c", &["--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(d["cache"]["layers"][0]["from"], "remote cache");
    // --no-remote-cache: built from the wheels, and still nothing to upload.
    let n = s.runner("n");
    let before = s.uploads();
    let o = s.push(&n, "n", &["--no-remote-cache"]);
    assert_eq!(digest_of(&o), digest_a);
    assert!(reads(&n) > 0);
    assert_eq!(s.uploads(), before);
    assert!(!stderr(&o).contains("remote cache"), "{}", stderr(&o));
}

#[test]
fn an_entry_whose_blob_was_deleted_or_whose_descriptor_does_not_parse_is_a_miss() {
    crate::needs_tools!();
    let s = setup();
    let digest_a = digest_of(&s.push(&s.runner("a"), "a", &[]));
    // The source layer's blob is deleted from the repository.
    let src_tag = s.cache_tag("src");
    let layer = s.entry(&src_tag)["layer"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reqwest::blocking::Client::new()
        .delete(s.url(&format!("blobs/{layer}")))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // The dependency entry's descriptor does not parse.
    let deps_tag = s.cache_tag("deps");
    s.rewrite_entry(&deps_tag, b"{\"version\": 1, \"key\": ", None);

    let b = s.runner("b");
    let before = s.uploads();
    let o = s.push(&b, "b", &[]);
    assert_eq!(digest_of(&o), digest_a);
    let err = stderr(&o);
    let repo = s.repo();
    assert!(
        err.contains(&format!(
            "warning: remote cache entry {repo}:{src_tag} names layer {layer}, which is not in {repo}; building the layer"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: remote cache entry {repo}:{deps_tag} has a descriptor that does not parse"
        )),
        "{err}"
    );
    assert!(
        reads(&b) > 0,
        "the dependency layer was built from the wheels"
    );
    assert!(
        s.uploads() > before,
        "the deleted source layer was uploaded again"
    );
    // Both entries were written again: a third runner hits both.
    let c = s.runner("c");
    let o = s.push(&c, "c", &[]);
    assert_eq!(digest_of(&o), digest_a);
    assert_eq!(reads(&c), 0, "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("warning: remote cache"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_swapped_descriptor_gives_a_wrong_image_that_verify_names() {
    crate::needs_tools!();
    let s = setup();
    let digest_a = digest_of(&s.push(&s.runner("a"), "a", &[]));
    // The source entry now describes the dependency layer (a well-formed lie).
    let deps_tag = s.cache_tag("deps");
    let src_tag = s.cache_tag("src");
    let deps = s.entry(&deps_tag);
    let mut src = s.entry(&src_tag);
    for k in ["layer", "diff_id", "uncompressed_size", "file_count"] {
        src[k] = deps[k].clone();
    }
    let deps_manifest = s.get_json(&format!("manifests/{deps_tag}"));
    s.rewrite_entry(
        &src_tag,
        &serde_json::to_vec(&src).unwrap(),
        Some(&deps_manifest["layers"][1]),
    );
    let o = s.push(&s.runner("b"), "b", &[]);
    let poisoned = digest_of(&o);
    assert_ne!(poisoned, digest_a, "the poisoned entry changed the image");
    let o = run(lamina(&s.project, &s.t.path().join("cache-v"))
        .args(["verify", &format!("{}:b", s.repo())]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "error: {}:b is not what these inputs build: layer 3 of 3 (source layer)",
            s.repo()
        )),
        "{err}"
    );
    let o = run(lamina(&s.project, &s.t.path().join("cache-v"))
        .args(["verify", &format!("{}:a", s.repo())]));
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_warm_runner_does_not_ask_again_about_entries_it_recorded_or_used() {
    crate::needs_tools!();
    let s = setup();
    let a = s.runner("a");
    let first = s.push(&a, "a1", &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let asked = |s: &Setup| {
        s.reg.count("HEAD", "/manifests/lamina-cache-")
            + s.reg.count("GET", "/manifests/lamina-cache-deps-")
    };
    let before = asked(&s);
    // A source edit: the dependency layer comes from the local cache and its entry, which this
    // runner recorded, is not asked about; the new source layer is looked up once and recorded.
    let src = s.project.join("src/functions/campaign/orchestrator.py");
    let mut text = fs::read_to_string(&src).unwrap();
    text.push_str("\nEDITED = 1\n");
    fs::write(&src, text).unwrap();
    let second = s.push(&a, "a2", &[]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(asked(&s), before, "no question about the dependency entry");
    assert!(
        stderr(&second).contains("remote cache: recorded"),
        "{}",
        stderr(&second)
    );
    // Another runner that has never seen the entry asks (and uses it).
    let b = s.runner("b");
    let third = s.push(&b, "b", &[]);
    assert!(
        stderr(&third).contains("dependency layer: from the remote cache"),
        "{}",
        stderr(&third)
    );
    assert!(asked(&s) > before);
}

/// An entry is checked against the registry before use: a size that is not the blob's, or a
/// media type lamina never writes, is a miss with a warning and the layer is built again, so the
/// pushed manifest never declares a wrong size (found by a hostile test: +5 bytes was pushed).
#[test]
fn an_entry_with_a_wrong_size_or_media_type_is_a_miss_and_the_layer_is_rebuilt() {
    crate::needs_tools!();
    let s = setup();
    let digest_a = digest_of(&s.push(&s.runner("a"), "a", &[]));
    let src_tag = s.cache_tag("src");
    let mut src = s.entry(&src_tag);
    let size = src["layer"]["size"].as_u64().unwrap();
    src["layer"]["size"] = (size + 5).into();
    s.rewrite_entry(&src_tag, &serde_json::to_vec(&src).unwrap(), None);
    let deps_tag = s.cache_tag("deps");
    let mut deps = s.entry(&deps_tag);
    deps["layer"]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+zstd".into();
    s.rewrite_entry(&deps_tag, &serde_json::to_vec(&deps).unwrap(), None);

    let b = s.runner("b");
    let o = s.push(&b, "b", &[]);
    assert_eq!(digest_of(&o), digest_a, "{}", stderr(&o));
    let err = stderr(&o);
    let repo = s.repo();
    let layer = src["layer"]["digest"].as_str().unwrap();
    assert!(
        err.contains(&format!(
            "warning: remote cache entry {repo}:{src_tag} says layer {layer} is {} bytes; {repo} has it at {size} bytes; building the layer",
            size + 5
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: remote cache entry {repo}:{deps_tag} names a layer of media type \"application/vnd.oci.image.layer.v1.tar+zstd\""
        )),
        "{err}"
    );
    assert!(
        reads(&b) > 0,
        "the dependency layer was built from the wheels"
    );
}

/// An entry whose diff_id lies (the blob is right, the config would not be) is caught when the
/// layer's bytes are read: here by a layout written beside the push. The build fails naming the
/// entry, and nothing is pushed under the tag.
#[test]
fn an_entry_whose_diff_id_lies_fails_when_its_bytes_are_read() {
    crate::needs_tools!();
    let s = setup();
    digest_of(&s.push(&s.runner("a"), "a", &[]));
    let src_tag = s.cache_tag("src");
    let mut src = s.entry(&src_tag);
    let honest = src["diff_id"].as_str().unwrap().to_string();
    let lie = format!(
        "{}{}",
        &honest[..honest.len() - 1],
        if honest.ends_with('0') { '1' } else { '0' }
    );
    src["diff_id"] = lie.clone().into();
    s.rewrite_entry(&src_tag, &serde_json::to_vec(&src).unwrap(), None);
    let layout = s.t.path().join("layout-b");
    let o = s.push(
        &s.runner("b"),
        "b",
        &["-o", &format!("oci:{}:b", layout.display())],
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("remote cache entry {src_tag}: layer "))
            && err.contains(&format!("the entry says its diff_id is {lie}")),
        "{err}"
    );
    let r = reqwest::blocking::Client::new()
        .head(s.url("manifests/b"))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "nothing pushed under b");
}
