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
