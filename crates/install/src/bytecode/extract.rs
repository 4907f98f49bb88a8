//! Unpacks from a base image's layers only what running its CPython needs: `bin/python3*`,
//! `libpython3*`, the standard library (`lib/python3.X`, without site-packages and tests) under
//! `/var/lang`, `/usr/local` and `/usr`, and the shared libraries and loaders at the top of the
//! usual library directories. Layers are applied in order with OCI whiteouts (`.wh.NAME`,
//! `.wh..wh..opq`). Nothing is written outside the target directory: symlinks are followed only
//! inside it, and absolute symlink targets are rewritten relative so they resolve inside it too.
//! This module does not choose or run the interpreter (see `interp`).

use flate2::read::GzDecoder;
use lamina_oci::Layer;
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Where an interpreter may live (`<prefix>/bin/python3.X`), in the order they are preferred.
pub const PREFIXES: [&str; 3] = ["var/lang", "usr/local", "usr"];

/// Library directories the loader is pointed at (plus `<prefix>/lib`).
pub fn lib_dirs(machine: &str) -> Vec<String> {
    let triplet = format!("{machine}-linux-gnu");
    vec![
        "lib64".into(),
        "usr/lib64".into(),
        format!("lib/{triplet}"),
        format!("usr/lib/{triplet}"),
        "lib".into(),
        "usr/lib".into(),
    ]
}

use crate::lambda::LIB_DIRS as ALL_LIB_DIRS;

const SKIP_STDLIB: [&str; 9] = [
    "site-packages",
    "dist-packages",
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "config-",
];

fn is_stdlib_dir(name: &str) -> bool {
    name.strip_prefix("python3.")
        .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether an image path is something the interpreter may need.
pub fn wanted(path: &str) -> bool {
    if ALL_LIB_DIRS.contains(&path) {
        return true; // the directory itself, or a symlink such as lib64 -> usr/lib64
    }
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if ALL_LIB_DIRS.contains(&dir) && (name.contains(".so") || name.starts_with("ld-")) {
        return true;
    }
    for prefix in PREFIXES {
        let Some(rest) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let mut parts = rest.splitn(3, '/');
        let (a, b, c) = (parts.next(), parts.next(), parts.next());
        match (a, b, c) {
            (Some("bin"), Some(n), None) if n.starts_with("python3") => return true,
            (Some("lib" | "lib64"), None, None) => return true,
            (Some("lib" | "lib64"), Some(n), None) => {
                return n.starts_with("libpython3") || is_stdlib_dir(n)
            }
            (Some("lib" | "lib64"), Some(n), Some(inner)) if is_stdlib_dir(n) => {
                let first = inner.split('/').next().unwrap_or("");
                return !SKIP_STDLIB.iter().any(|s| first.starts_with(s));
            }
            _ => {}
        }
    }
    false
}

/// Resolves `rel` (an image path) to a real path under `root`, following symlinks that stay
/// inside `root`. With `create`, missing directories are created. `None` if it would escape.
pub fn resolve(root: &Path, rel: &str, create: bool) -> Option<PathBuf> {
    let mut todo: Vec<String> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .rev()
        .map(str::to_string)
        .collect();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(comp) = todo.pop() {
        if comp == ".." {
            cur.pop()?;
            continue;
        }
        let candidate = cur
            .iter()
            .fold(root.to_path_buf(), |p, c| p.join(c))
            .join(&comp);
        let last = todo.is_empty();
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = fs::read_link(&candidate).ok()?;
                if target.is_absolute() {
                    cur.clear();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(s) => todo.push(s.to_string_lossy().into_owned()),
                        Component::ParentDir => todo.push("..".into()),
                        _ => {}
                    }
                }
            }
            Ok(_) => cur.push(comp),
            Err(_) if create && !last => {
                fs::create_dir(&candidate).ok()?;
                cur.push(comp);
            }
            Err(_) => cur.push(comp),
        }
    }
    Some(cur.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
}

fn remove(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Where a new entry at `rel` goes: its parent resolved (and created) inside `root`.
fn place(root: &Path, rel: &str) -> Option<PathBuf> {
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let dir = if parent.is_empty() {
        root.to_path_buf()
    } else {
        let d = resolve(root, &format!("{parent}/"), true)?;
        if !d.is_dir() {
            fs::create_dir_all(&d).ok()?;
        }
        d
    };
    Some(dir.join(name))
}

/// Applies every layer, bottom first, to `root`.
pub fn extract(layers: &[Layer], root: &Path) -> io::Result<()> {
    fs::create_dir_all(root)?;
    for layer in layers {
        let mut reader = io::BufReader::with_capacity(256 * 1024, layer.open_verified()?);
        // By the bytes, not the media type: a manifest may mislabel a layer (the gate says so).
        let gz = io::BufRead::fill_buf(&mut reader)?.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn Read> = if gz {
            Box::new(GzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        apply(inner, root)?;
    }
    Ok(())
}

fn apply(layer: impl Read, root: &Path) -> io::Result<()> {
    let mut written: HashSet<String> = HashSet::new();
    let mut tar = tar::Archive::new(layer);
    for entry in tar.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let path = raw
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if path.is_empty() || path.split('/').any(|c| c == "..") {
            continue;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if name == ".wh..wh..opq" {
            // Opaque directory: what lower layers put there is gone.
            if let Some(d) = resolve(root, dir, false).filter(|d| d.is_dir()) {
                for child in fs::read_dir(&d)?.flatten() {
                    let rel = format!("{dir}/{}", child.file_name().to_string_lossy());
                    if !written.contains(&rel) {
                        remove(&child.path());
                    }
                }
            }
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let rel = if dir.is_empty() {
                hidden.to_string()
            } else {
                format!("{dir}/{hidden}")
            };
            if let Some(p) = place(root, &rel) {
                remove(&p);
            }
            continue;
        }
        if !wanted(&path) {
            continue;
        }
        let kind = entry.header().entry_type();
        let Some(dest) = place(root, &path) else {
            continue;
        };
        written.insert(path.clone());
        if kind.is_dir() {
            if fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_dir()) {
                remove(&dest);
            }
            fs::create_dir_all(&dest)?;
            continue;
        }
        remove(&dest);
        if kind.is_symlink() {
            let Some(target) = entry.link_name()? else {
                continue;
            };
            let t = target.to_string_lossy().into_owned();
            let t = match t.strip_prefix('/') {
                // Absolute targets point into the image: make them relative to stay in `root`.
                Some(abs) => format!(
                    "{}{abs}",
                    "../".repeat(dir.split('/').filter(|c| !c.is_empty()).count())
                ),
                None => t,
            };
            std::os::unix::fs::symlink(t, &dest)?;
        } else if kind == tar::EntryType::Link {
            let Some(target) = entry.link_name()? else {
                continue;
            };
            let t = target
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            if let Some(src) = resolve(root, &t, false).filter(|p| p.is_file()) {
                fs::copy(src, &dest)?;
            }
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let exec = entry.header().mode().unwrap_or(0o644) & 0o111 != 0;
            let mut f = fs::File::create(&dest)?;
            io::copy(&mut entry, &mut f)?;
            f.set_permissions(fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_what_the_interpreter_needs() {
        for p in [
            "var/lang/bin/python3.12",
            "var/lang/lib/libpython3.12.so.1.0",
            "var/lang/lib/python3.12/os.py",
            "var/lang/lib/python3.12/encodings/cp1252.py",
            "usr/lib/python3.11/lib-dynload/_struct.cpython-311-aarch64-linux-gnu.so",
            "lib64/ld-linux-x86-64.so.2",
            "usr/lib64/libc.so.6",
            "lib/ld-linux-aarch64.so.1",
            "lib64",
        ] {
            assert!(wanted(p), "{p}");
        }
        for p in [
            "var/lang/lib/python3.12/site-packages/boto3/__init__.py",
            "var/lang/lib/python3.12/test/test_os.py",
            "usr/lib/python3/dist-packages/apt/__init__.py",
            "usr/lib64/gconv/UTF-16.so",
            "etc/passwd",
            "var/task/app.py",
        ] {
            assert!(!wanted(p), "{p}");
        }
    }

    #[test]
    fn resolve_stays_inside() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("usr/lib64")).unwrap();
        std::os::unix::fs::symlink("usr/lib64", root.join("lib64")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("usr/etc")).unwrap();
        assert_eq!(
            resolve(root, "lib64/libc.so.6", false).unwrap(),
            root.join("usr/lib64/libc.so.6")
        );
        // An absolute link is taken inside the root, never to the host's /etc.
        assert_eq!(
            resolve(root, "usr/etc/passwd", false).unwrap(),
            root.join("etc/passwd")
        );
        assert!(resolve(root, "../x", false).is_none());
    }
}
