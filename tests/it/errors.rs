//! Bad input: each case exits 1 (2 for command-line usage), names the file or field, and leaves
//! no output behind.

use crate::support::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

struct Case {
    _t: tempfile::TempDir,
    project: PathBuf,
    cache: PathBuf,
    out: PathBuf,
}

fn case() -> Case {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let base = format!("base = \"oci:{}:python3.12\"\n", standin().display());
    let toml = fs::read_to_string(project.join("lamina.toml")).unwrap();
    let toml: String = toml
        .lines()
        .filter(|l| !l.starts_with("base ="))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(project.join("lamina.toml"), base + &toml).unwrap();
    let cache = t.path().join("cache");
    let out = t.path().join("out");
    Case {
        project,
        cache,
        out,
        _t: t,
    }
}

impl Case {
    fn build(&self, args: &[&str]) -> Output {
        let out = format!("oci:{}:latest", self.out.display());
        run(lamina(&self.project, &self.cache)
            .arg("build")
            .args(["-o", &out])
            .args(args))
    }
    /// Asserts the failure: exit code, every `needle` in stderr, one `error:` line, no output.
    fn fails(&self, args: &[&str], code: i32, needles: &[&str]) -> String {
        let o = self.build(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: stderr lacks {n:?}:\n{err}");
        }
        assert!(stdout(&o).is_empty(), "no data on stdout on failure");
        assert!(!self.out.exists(), "no partial output");
        let parent = self.out.parent().unwrap();
        let leftovers: Vec<_> = fs::read_dir(parent)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".out"))
            .collect();
        assert!(leftovers.is_empty(), "temporary output left: {leftovers:?}");
        if code == 1 {
            assert_eq!(
                err.lines().filter(|l| l.starts_with("error: ")).count(),
                1,
                "{err}"
            );
        }
        err
    }
}

#[test]
fn missing_source_directory() {
    let c = case();
    c.fails(
        &["--src", "nope"],
        1,
        &["--src nope", "nope: no such file or directory", "hint:"],
    );
    c.fails(
        &["--src", "../outside"],
        1,
        &["must be a path inside the project"],
    );
}

#[test]
fn unreadable_file() {
    let c = case();
    let secret = c.project.join("src/shared/secret.py");
    fs::write(&secret, "x = 1\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads anything: run as nobody when we are root (as in CI).
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    if is_root {
        for p in [
            c.project.parent().unwrap().parent().unwrap(),
            c.project.parent().unwrap(),
        ] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o777)).unwrap();
        }
        for e in walkdir::WalkDir::new(&c.project) {
            let e = e.unwrap();
            if e.path() != secret {
                let m = if e.file_type().is_dir() { 0o777 } else { 0o644 };
                fs::set_permissions(e.path(), fs::Permissions::from_mode(m)).unwrap();
            }
        }
    }
    let out = format!("oci:{}:latest", c.out.display());
    let mut base = format!("oci:{}:python3.12", standin().display());
    let mut wheels_arg: Vec<String> = Vec::new();
    let mut cmd = if is_root {
        // nobody may not be able to enter the checkout (a 0700 clone directory): give it its own
        // copies of the binary and the stand-in base inside this test's world-readable temp dir.
        let here = c.project.parent().unwrap();
        let bin = here.join("lamina");
        fs::copy(env!("CARGO_BIN_EXE_lamina"), &bin).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        let base_copy = here.join("standin");
        copy_tree(&standin(), &base_copy);
        for e in walkdir::WalkDir::new(&base_copy) {
            let e = e.unwrap();
            let m = if e.file_type().is_dir() { 0o755 } else { 0o644 };
            fs::set_permissions(e.path(), fs::Permissions::from_mode(m)).unwrap();
        }
        base = format!("oci:{}:python3.12", base_copy.display());
        let wheels = here.join("wheels");
        copy_tree(&repo().join("fixtures/wheels/quickstart"), &wheels);
        for e in walkdir::WalkDir::new(&wheels) {
            let e = e.unwrap();
            let m = if e.file_type().is_dir() { 0o755 } else { 0o644 };
            fs::set_permissions(e.path(), fs::Permissions::from_mode(m)).unwrap();
        }
        wheels_arg = vec!["--wheels".to_string(), wheels.display().to_string()];
        let mut s = std::process::Command::new("setpriv");
        s.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        s
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_lamina"))
    };
    let o = run(cmd
        .current_dir(&c.project)
        .env("LAMINA_CACHE_DIR", &c.cache)
        .args(["build", "--base", &base, "-o", &out])
        .args(&wheels_arg));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("secret.py") && err.contains("Permission denied"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert!(!c.out.exists());
}

#[test]
fn symlink_out_of_the_tree() {
    let c = case();
    std::os::unix::fs::symlink("../../lamina.toml", c.project.join("src/shared/escape.py"))
        .unwrap();
    c.fails(
        &[],
        1,
        &[
            "escape.py",
            "symlink to '../../lamina.toml' points outside",
            "hint:",
        ],
    );
    fs::remove_file(c.project.join("src/shared/escape.py")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", c.project.join("src/shared/abs.py")).unwrap();
    c.fails(&[], 1, &["abs.py", "points outside"]);
}

#[test]
fn whiteout_name() {
    let c = case();
    fs::write(c.project.join("src/shared/.wh.responses.py"), "").unwrap();
    c.fails(&[], 1, &[".wh.responses.py", "whiteout"]);
}

#[test]
fn missing_base_layout() {
    let c = case();
    c.fails(
        &["--base", "oci:/nonexistent/layout:v1"],
        1,
        &["/nonexistent/layout", "not an OCI image layout", "hint:"],
    );
    c.fails(
        &["--base", &format!("oci:{}:python9", standin().display())],
        1,
        &["no image tagged 'python9'", "python3.12-docker"],
    );
}

fn corrupt_copy(c: &Case, pick: impl Fn(&serde_json::Value) -> String) -> PathBuf {
    let base = c.project.parent().unwrap().join("corrupt-base");
    copy_tree(&standin(), &base);
    let (m, _) = layout_manifest(&base, "python3.12-docker");
    let digest = pick(&m);
    let blob = base
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    let mut bytes = fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&blob, bytes).unwrap();
    base
}

#[test]
fn corrupt_base_layer_blob() {
    let c = case();
    let base = corrupt_copy(&c, |m| {
        m["layers"][0]["digest"].as_str().unwrap().to_string()
    });
    let r = format!("oci:{}:python3.12-docker", base.display());
    c.fails(&["--base", &r], 1, &["does not match its digest", "hint:"]);
    // The docker-archive sink verifies too, and leaves no file.
    let archive = c.project.parent().unwrap().join("x.tar");
    let o = run(lamina(&c.project, &c.cache).args([
        "build",
        "--base",
        &r,
        "-o",
        &format!("docker-archive:{}", archive.display()),
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does not match its digest"),
        "{}",
        stderr(&o)
    );
    assert!(!archive.exists());
}

#[test]
fn corrupt_base_config_blob() {
    let c = case();
    let base = corrupt_copy(&c, |m| m["config"]["digest"].as_str().unwrap().to_string());
    c.fails(
        &[
            "--base",
            &format!("oci:{}:python3.12-docker", base.display()),
        ],
        1,
        &["does not match its digest"],
    );
}

#[test]
fn bad_handlers() {
    let c = case();
    c.fails(&["--handler", ""], 2, &["--handler", "is empty"]);
    c.fails(
        &["--handler", "src.functions x.handler"],
        2,
        &["contains whitespace"],
    );
    let toml = fs::read_to_string(c.project.join("lamina.toml")).unwrap();
    fs::write(
        c.project.join("lamina.toml"),
        toml.replace("\"src.functions.reports.daily.handler\"", "\"bad handler\""),
    )
    .unwrap();
    c.fails(
        &[],
        1,
        &["handler[1]", "'bad handler' contains whitespace", "hint:"],
    );
    fs::write(
        c.project.join("lamina.toml"),
        toml.replace("\"src.functions.reports.daily.handler\"", "\"\""),
    )
    .unwrap();
    c.fails(&[], 1, &["handler[1]", "is empty"]);
}

#[test]
fn unknown_config_keys() {
    let c = case();
    let path = c.project.join("lamina.toml");
    let toml = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("handlr = \"x.y\"\n{toml}")).unwrap();
    let err = c.fails(
        &[],
        1,
        &[
            "lamina.toml",
            "unknown field `handlr`",
            "hint: did you mean `handler`? valid keys",
        ],
    );
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let c = case();
    c.fails(&["--env", "NOEQUALS"], 2, &["KEY=VALUE"]);
    c.fails(
        &["--platform", "linux/s390x"],
        2,
        &["linux/amd64 and linux/arm64"],
    );
    c.fails(&["--frobnicate"], 2, &["--frobnicate"]);
}

#[test]
fn output_into_a_foreign_directory_is_refused() {
    let c = case();
    let foreign = c.project.join("notalayout");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let o = run(lamina(&c.project, &c.cache).args(["build", "-o", "oci:notalayout"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not an OCI layout; refusing to write into it"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        fs::read_to_string(foreign.join("keep.txt")).unwrap(),
        "mine"
    );
}
