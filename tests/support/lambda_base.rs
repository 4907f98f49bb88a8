//! A stand-in Lambda Python runtime base, built for the end-to-end test from what this machine has:
//! the pyenv CPython 3.12 at /var/lang, the real awslambdaric from PyPI at /var/runtime, a busybox
//! `/bin/sh`, the shared libraries all of it needs (found with ldd), a `/lambda-entrypoint.sh`
//! that behaves like AWS's, and `/var/runtime/bootstrap` running `python -m awslambdaric`.
//! Written with lamina's own layer writer into an OCI layout.
#![allow(dead_code)]

use lamina::layer::{EntryKind, LayerWriter, Tree};
use lamina::oci::image::DirBlobs;
use lamina::oci::{canonical_json, Format, Image, Layer};
use oci_spec::image::{Descriptor, MediaType};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub const PYTHON_HOME: &str = "/root/.pyenv/versions/3.12.1";

pub fn python() -> PathBuf {
    match std::env::var_os("LAMINA_TEST_PY312") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(PYTHON_HOME),
    }
}

const ENTRYPOINT: &str = "#!/bin/sh\nif [ $# -ne 1 ]; then\n  echo \"entrypoint requires the handler name to be the first argument\" 1>&2\n  exit 142\nfi\nexport _HANDLER=\"$1\"\nif [ -z \"${AWS_LAMBDA_RUNTIME_API}\" ]; then\n  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap\nelse\n  exec /var/runtime/bootstrap\nfi\n";
const BOOTSTRAP: &str = "#!/bin/sh\nexport PYTHONPATH=/var/task:/var/runtime\nexport AWS_EXECUTION_ENV=AWS_Lambda_python3.12\nexec /var/lang/bin/python3.12 -m awslambdaric \"$_HANDLER\"\n";

fn skip_stdlib(rel: &str) -> bool {
    let first = rel.split('/').nth(2).unwrap_or("");
    rel.contains("__pycache__")
        || (rel.starts_with("lib/python3.12/")
            && matches!(
                first,
                "test"
                    | "idlelib"
                    | "tkinter"
                    | "turtledemo"
                    | "site-packages"
                    | "ensurepip"
                    | "lib2to3"
                    | "unittest"
                    | "pydoc_data"
            )
            || rel.starts_with("lib/python3.12/config-"))
        || rel.starts_with("lib/pkgconfig")
        || rel.starts_with("include/")
        || rel.starts_with("share/")
        || rel.ends_with(".a")
}

fn add(tree: &mut Tree<PathBuf>, dest: &str, src: &Path) {
    let meta = fs::symlink_metadata(src).unwrap();
    let kind = if meta.is_dir() {
        EntryKind::Dir
    } else if meta.file_type().is_symlink() {
        EntryKind::Symlink(fs::read_link(src).unwrap().to_string_lossy().into_owned())
    } else {
        EntryKind::File {
            source: src.to_path_buf(),
            size: meta.len(),
            executable: meta.permissions().mode() & 0o111 != 0,
        }
    };
    tree.insert(dest, kind).unwrap().ok();
}

fn ldd_deps(file: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(o) = Command::new("ldd").arg(file).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.trim().split(' ').next().unwrap_or("").to_string(),
            None => line.trim().split(' ').next().unwrap_or("").to_string(),
        };
        if path.starts_with('/') && !path.starts_with(PYTHON_HOME) {
            out.insert(PathBuf::from(path));
        }
    }
}

/// Builds the runtime base into `layout` under tag `py312`; `work` is scratch space.
pub fn build(work: &Path, layout: &Path) {
    let py = python();
    assert!(
        py.join("bin/python3.12").is_file(),
        "CPython 3.12 not found at {} (set LAMINA_TEST_PY312)",
        py.display()
    );
    // awslambdaric from PyPI, installed as pip --target does.
    let runtime = work.join("runtime");
    let out = Command::new(py.join("bin/python3.12"))
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--target",
        ])
        .arg(&runtime)
        .arg("awslambdaric==4.2.2")
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install awslambdaric: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scripts = work.join("scripts");
    fs::create_dir_all(&scripts).unwrap();
    for (name, text) in [
        ("lambda-entrypoint.sh", ENTRYPOINT),
        ("bootstrap", BOOTSTRAP),
    ] {
        fs::write(scripts.join(name), text).unwrap();
        fs::set_permissions(scripts.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut tree: Tree<PathBuf> = Tree::new();
    let mut libs = BTreeSet::new();
    for e in walkdir::WalkDir::new(&py).min_depth(1) {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(&py)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if skip_stdlib(&rel) {
            continue;
        }
        add(&mut tree, &format!("var/lang/{rel}"), e.path());
        if e.file_type().is_file()
            && (rel.ends_with(".so") || rel.contains(".so.") || rel.starts_with("bin/python3.12"))
        {
            ldd_deps(e.path(), &mut libs);
        }
    }
    for e in walkdir::WalkDir::new(&runtime).min_depth(1) {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(&runtime)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel.contains("__pycache__") {
            continue;
        }
        add(&mut tree, &format!("var/runtime/{rel}"), e.path());
        if rel.ends_with(".so") {
            ldd_deps(e.path(), &mut libs);
        }
    }
    add(
        &mut tree,
        "var/runtime/bootstrap",
        &scripts.join("bootstrap"),
    );
    add(
        &mut tree,
        "lambda-entrypoint.sh",
        &scripts.join("lambda-entrypoint.sh"),
    );
    tree.insert("var/task", EntryKind::Dir).unwrap().ok();
    tree.insert("tmp", EntryKind::Dir).unwrap().ok();
    add(&mut tree, "bin/busybox", Path::new("/bin/busybox"));
    for applet in ["sh", "cat", "ls", "env"] {
        tree.insert(
            &format!("bin/{applet}"),
            EntryKind::Symlink("busybox".into()),
        )
        .unwrap()
        .ok();
    }
    for lib in libs {
        let real = fs::canonicalize(&lib).unwrap();
        let name = lib.file_name().unwrap().to_string_lossy().into_owned();
        let dest = if lib.starts_with("/lib64") {
            format!("lib64/{name}")
        } else {
            format!("lib/x86_64-linux-gnu/{name}")
        };
        add(&mut tree, &dest, &real);
    }
    let blobs = work.join("blobs");
    let mut w = LayerWriter::create(&blobs, &work.join("tmp"), 0, 6).unwrap();
    tree.write(
        &mut w,
        |_,
         p: &PathBuf|
         -> Result<Box<dyn std::io::Read + 'static>, lamina::layer::writer::WriteError> {
            Ok(Box::new(fs::File::open(p)?))
        },
    )
    .unwrap();
    let l = w.finish().unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
        "config": {
            "Entrypoint": ["/lambda-entrypoint.sh"],
            "Env": ["PATH=/var/lang/bin:/bin", "LD_LIBRARY_PATH=/var/lang/lib:/lib/x86_64-linux-gnu:/lib64", "LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime", "LANG=C.UTF-8"],
            "WorkingDir": "/var/task"
        },
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id.to_string()]}
    });
    let layer = Layer {
        descriptor: Descriptor::new(MediaType::ImageLayerGzip, l.size, l.digest.clone()),
        diff_id: l.diff_id.clone(),
        uncompressed_size: Some(l.uncompressed_size),
        file_count: Some(l.file_count),
        blob: Arc::new(DirBlobs {
            dir: blobs,
            label: "e2e base".into(),
        }),
    };
    let image = Image::from_parts(Format::Oci, canonical_json(&config), vec![layer], None);
    lamina::oci::layout::write(&image, layout, Some("py312")).unwrap();
}
