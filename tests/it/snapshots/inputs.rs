//! The source tree: .dockerignore, names and files that cannot go into an image.

use super::{snap, Case};
use std::fs;

fn build_fails(name: &str, c: &Case) {
    let o = snap(name, &mut c.lamina(&["build"]), &[c.path()]);
    assert_eq!(o.status.code(), Some(1), "{name}");
    assert!(!c.project.join("build").exists(), "{name}: nothing written");
}

#[test]
fn dockerignore_bad_pattern() {
    let c = Case::new();
    fs::write(c.project.join(".dockerignore"), "*.md\nsrc/[\n").unwrap();
    build_fails("source_dockerignore_bad_pattern", &c);
}

#[test]
fn dockerignore_is_a_directory() {
    let c = Case::new();
    let _ = fs::remove_file(c.project.join(".dockerignore"));
    fs::create_dir(c.project.join(".dockerignore")).unwrap();
    build_fails("source_dockerignore_is_a_directory", &c);
}

#[test]
fn fifo_in_the_source() {
    let c = Case::new();
    let fifo = c.project.join("src/pipe");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    build_fails("source_fifo", &c);
}

#[test]
fn name_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let c = Case::new();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname.py");
    fs::write(c.project.join("src").join(name), "x = 1\n").unwrap();
    build_fails("source_name_not_utf8", &c);
}

#[test]
fn symlink_out_of_the_tree() {
    let c = Case::new();
    std::os::unix::fs::symlink("/etc/passwd", c.project.join("src/passwd")).unwrap();
    build_fails("source_symlink_escapes", &c);
}

#[test]
fn src_missing() {
    let c = Case::new();
    let o = snap(
        "source_src_missing",
        &mut c.lamina(&["build", "--src", "nothere"]),
        &[c.path()],
    );
    assert_eq!(o.status.code(), Some(1));
}

/// `--src LINK` where LINK is a symlink to a directory of the project is followed (Docker's COPY
/// follows its source), not refused as pointing outside.
#[test]
fn src_given_as_a_symlink_is_followed() {
    let c = Case::new();
    std::os::unix::fs::symlink("src", c.project.join("srclink")).unwrap();
    let out = c.path().join("out");
    let o = crate::support::run(&mut c.lamina(&[
        "build",
        "--src",
        "src",
        "--src",
        "srclink",
        "-o",
        &format!("oci:{}:x", out.display()),
    ]));
    assert!(o.status.success(), "{}", crate::support::stderr(&o));
    let (_, layers) = crate::support::layout_manifest(&out, "x");
    let entries = crate::support::read_layer(layers.last().unwrap());
    assert!(
        entries.iter().any(|e| e
            .path
            .ends_with("var/task/srclink/functions/campaign/orchestrator.py")),
        "the link's target is copied under the link's name"
    );
}

/// Nested directories under `src` (names of at most 200 bytes) down to one whose path is `len`
/// bytes: on disk when `image` is false, in the image (`/var/task/src/…`) when it is true.
fn deep_dir(c: &Case, len: usize, image: bool) -> std::path::PathBuf {
    let src = c.project.join("src");
    let prefix = if image {
        "/var/task/src".len()
    } else {
        src.as_os_str().len()
    };
    let mut dir = src.clone();
    let mut at = prefix;
    while at < len {
        let n = (len - at - 1).min(200);
        assert!(n > 0, "cannot reach exactly {len} bytes");
        dir.push("d".repeat(n));
        at += n + 1;
    }
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Creates `name` in `dir` by a relative path (its whole path may be over Linux's limit).
fn touch_in(dir: &std::path::Path, name: &str) {
    let ok = std::process::Command::new("touch")
        .arg(name)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Runs `lamina build` in `c`, with each run of `d`s in stderr cut to `d…` (their count depends
/// on the length of the temporary directory), then checks it against snapshot `name`.
fn build_fails_with_deep_paths(name: &str, c: &Case) {
    let mut o = crate::support::run(&mut c.lamina(&["build"]));
    let err = String::from_utf8(o.stderr).unwrap();
    o.stderr = regex::Regex::new("d{2,}")
        .unwrap()
        .replace_all(&err, "d…")
        .into_owned()
        .into_bytes();
    super::check(name, &o, &[c.path()]);
    assert_eq!(o.status.code(), Some(1), "{name}");
    assert!(!c.project.join("build").exists(), "{name}: nothing written");
}

// Issue 10: paths over 4,096 bytes. In the image: refused before the file is looked at.
#[test]
fn path_too_long_in_the_image() {
    let c = Case::new();
    let dir = deep_dir(&c, 3900, true);
    touch_in(&dir, &"f".repeat(255));
    build_fails_with_deep_paths("source_path_too_long_in_image", &c);
}

// On this machine: the file's path fits in the image but not in Linux's limit here.
#[test]
fn path_too_long_on_disk() {
    let c = Case::new();
    let dir = deep_dir(&c, 4000, false);
    touch_in(&dir, &"f".repeat(100));
    build_fails_with_deep_paths("source_path_too_long_on_disk", &c);
}

// Issue 10: an unreadable directory in the source tree. Root reads anything, so when the tests
// run as root (as in CI) lamina runs as nobody, from copies of itself and of the stand-in base in
// this test's directory (nobody may not be able to enter the checkout); the same copies are used
// otherwise, so the snapshot is one.
#[test]
fn unreadable_directory() {
    use std::os::unix::fs::PermissionsExt;
    let c = Case::new();
    let here = c.path();
    let bin = here.join("lamina");
    fs::copy(env!("CARGO_BIN_EXE_lamina"), &bin).unwrap();
    let base = here.join("standin");
    crate::support::copy_tree(&crate::support::standin(), &base);
    // nobody may not be able to enter the checkout (a 0700 clone): the wheels are copied too.
    let wheels = here.join("wheels");
    crate::support::copy_tree(
        &crate::support::repo().join("fixtures/wheels/quickstart"),
        &wheels,
    );
    let private = c.project.join("src/private");
    fs::create_dir(&private).unwrap();
    fs::write(private.join("key.py"), "x = 1\n").unwrap();
    for e in walkdir::WalkDir::new(here) {
        let e = e.unwrap();
        let m = if e.file_type().is_dir() { 0o777 } else { 0o755 };
        fs::set_permissions(e.path(), fs::Permissions::from_mode(m)).unwrap();
    }
    fs::set_permissions(&private, fs::Permissions::from_mode(0o000)).unwrap();
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let mut cmd = if is_root {
        let mut s = std::process::Command::new("setpriv");
        s.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        s
    } else {
        std::process::Command::new(&bin)
    };
    cmd.current_dir(&c.project)
        .env("LAMINA_CACHE_DIR", &c.cache)
        .args([
            "build",
            "--base",
            &format!("oci:{}:python3.12", base.display()),
            "--wheels",
            &wheels.display().to_string(),
        ]);
    let o = snap("source_directory_unreadable", &mut cmd, &[here]);
    fs::set_permissions(&private, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!c.project.join("build").exists(), "nothing written");
}
