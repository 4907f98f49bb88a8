//! Wheels lamina refuses: each names the wheel and why, with a hint.

use super::{snap, Case};
use crate::support::wheelgen::WheelGen;
use std::fs;
use std::path::PathBuf;

/// A build whose only wheel directory holds `make(dir)`'s wheels; snapshot `name`.
fn refuses(name: &str, make: impl FnOnce(&PathBuf)) {
    let c = Case::new();
    let dir = c.path().join("wheels");
    fs::create_dir(&dir).unwrap();
    make(&dir);
    c.set("wheels", &format!("\"{}\"", dir.display()));
    let o = snap(name, &mut c.lamina(&["build"]), &[c.path()]);
    assert_eq!(o.status.code(), Some(1), "{name}");
    assert!(!c.project.join("build").exists(), "{name}: nothing written");
}

#[test]
fn not_a_zip() {
    refuses("wheel_not_a_zip", |d| {
        fs::write(d.join("broken-1.0-py3-none-any.whl"), "not a zip").unwrap()
    });
}

#[test]
fn empty_file() {
    refuses("wheel_empty_file", |d| {
        fs::write(d.join("empty-1.0-py3-none-any.whl"), "").unwrap()
    });
}

#[test]
fn entry_escaping_with_dotdot() {
    refuses("wheel_entry_dotdot", |d| {
        WheelGen::new("evil", "1.0", "py3-none-any")
            .file("evil/__init__.py", b"")
            .file("../../etc/evil.py", b"x = 1\n")
            .write(d);
    });
}

#[test]
fn whiteout_entry() {
    refuses("wheel_entry_whiteout", |d| {
        WheelGen::new("evil", "1.0", "py3-none-any")
            .file("evil/__init__.py", b"")
            .file("evil/.wh.secret", b"")
            .write(d);
    });
}

#[test]
fn name_differs_from_metadata() {
    refuses("wheel_name_not_metadata", |d| {
        WheelGen::new("demo_pkg", "1.0", "py3-none-any")
            .file("demo_pkg/__init__.py", b"")
            .metadata("Metadata-Version: 2.1\nName: other\nVersion: 1.0\n")
            .write(d);
    });
}

#[test]
fn bad_file_name() {
    refuses("wheel_bad_file_name", |d| {
        fs::write(d.join("not-a-wheel-name.whl"), "x").unwrap()
    });
}

#[test]
fn source_distribution() {
    refuses("wheel_sdist", |d| {
        fs::write(d.join("demo-1.0.tar.gz"), "x").unwrap()
    });
}
