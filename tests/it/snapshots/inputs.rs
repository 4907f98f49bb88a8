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
