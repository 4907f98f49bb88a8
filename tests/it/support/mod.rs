//! Shared test support: running the `lamina` binary, copying the example, reading layers back, and
//! requiring the external tools (skopeo, umoci, podman) that `.ci/run` installs.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const EPOCH: &str = "1700000000";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn standin() -> PathBuf {
    repo().join("base-images/standin")
}

pub fn example() -> PathBuf {
    repo().join("examples/traffic-manager")
}

/// `lamina` with a private cache, a fixed SOURCE_DATE_EPOCH, run in `cwd`.
pub fn lamina(cwd: &Path, cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lamina"));
    c.current_dir(cwd)
        .env("LAMINA_CACHE_DIR", cache)
        .env("SOURCE_DATE_EPOCH", EPOCH);
    c
}

pub fn run(c: &mut Command) -> Output {
    c.output().expect("spawn")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a successful command and returns its stdout; panics with both streams otherwise.
pub fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(
        o.status.success(),
        "{c:?} failed: {}\n{}",
        stderr(&o),
        stdout(&o)
    );
    stdout(&o)
}

pub mod debian_python;
pub mod fake_registry;
pub mod http;
pub mod index;
pub mod lambda_base;
pub mod lambda_run;
pub mod moto;
pub mod registry;
pub mod schema;
pub mod tools;
pub mod wheelgen;

/// Where a program is: on PATH, else in /usr/sbin, /usr/bin or /sbin (Debian puts htpasswd in
/// /usr/sbin).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The full path of a tool; a missing one fails loudly (.ci/run installs them).
pub fn tool_path(name: &str) -> PathBuf {
    find_program(name).unwrap_or_else(|| {
        panic!("{name} is not installed; run the README's test command (it apt-installs it)")
    })
}

/// An external tool the tests rely on. Missing tools fail loudly: .ci/run installs them.
pub fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "{name} is not installed; run the README's test command (it apt-installs skopeo, umoci, podman)");
    Command::new(name)
}

/// Recursively copies a directory (files, dirs, symlinks).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = fs::read_dir(from).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.file_name()));
    for e in entries {
        let ft = e.file_type().unwrap();
        let dest = to.join(e.file_name());
        if ft.is_dir() {
            copy_tree(&e.path(), &dest);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(e.path()).unwrap(), &dest).unwrap();
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// The example project copied to `dir` (without its build output).
pub fn example_copy(dir: &Path) -> PathBuf {
    let p = dir.join("project");
    copy_tree(&example(), &p);
    let _ = fs::remove_dir_all(p.join("build"));
    anchor_paths(&p);
    p
}

/// Points a copied example's `../../` paths (the stand-in base, the quick-start wheels) back into
/// this repository, so the copy builds wherever it is.
pub fn anchor_paths(project: &Path) {
    let toml = project.join("lamina.toml");
    let text = fs::read_to_string(&toml).unwrap();
    let repo = repo();
    fs::write(
        &toml,
        text.replace("\"oci:../../", &format!("\"oci:{}/", repo.display()))
            .replace("\"../../", &format!("\"{}/", repo.display())),
    )
    .unwrap();
}

/// Removes the `KEY = …` lines of a project's lamina.toml for each of `keys`.
pub fn drop_keys(project: &Path, keys: &[&str]) {
    let path = project.join("lamina.toml");
    let text = fs::read_to_string(&path).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !keys.iter().any(|k| l.starts_with(&format!("{k} ="))))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(path, kept).unwrap();
}

/// The example copied to `dir`, based on the stand-in and without a local output (for pushes).
pub fn pushing_project(dir: &Path) -> PathBuf {
    let project = example_copy(dir);
    let toml = fs::read_to_string(project.join("lamina.toml")).unwrap();
    let toml: String = toml
        .lines()
        .filter(|l| !l.starts_with("output =") && !l.starts_with("base ="))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(
        project.join("lamina.toml"),
        format!("base = \"oci:{}:python3.12\"\n{toml}", standin().display()),
    )
    .unwrap();
    project
}

/// One tar entry as read back from a layer.
#[derive(Debug, Clone)]
pub struct TarEntry {
    pub path: String,
    pub kind: tar::EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: Vec<u8>,
    pub gname: Vec<u8>,
    pub mtime: u64,
    pub link: Option<String>,
    pub data: Vec<u8>,
}

/// Reads every entry of a gzip layer blob.
pub fn read_layer(blob: &Path) -> Vec<TarEntry> {
    let f = fs::File::open(blob).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let link = e
            .link_name()
            .unwrap()
            .map(|l| l.to_string_lossy().into_owned());
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(TarEntry {
            path,
            kind: h.entry_type(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            uname: h.username_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
            gname: h.groupname_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
            mtime: h.mtime().unwrap(),
            link,
            data,
        });
    }
    out
}

/// The manifest of `tag` in an OCI layout, and the path of each layer blob.
pub fn layout_manifest(dir: &Path, tag: &str) -> (serde_json::Value, Vec<PathBuf>) {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no tag {tag} in {}", dir.display()))
        .clone();
    let blob = |d: &str| {
        dir.join("blobs/sha256")
            .join(d.strip_prefix("sha256:").unwrap())
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(blob(entry["digest"].as_str().unwrap())).unwrap())
            .unwrap();
    let layers = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob(l["digest"].as_str().unwrap()))
        .collect();
    (manifest, layers)
}

pub fn blob_json(dir: &Path, digest: &str) -> serde_json::Value {
    let p = dir
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}
