//! A stand-in Lambda Python runtime base, built for the end-to-end test from what this machine has:
//! the pyenv CPython 3.12 at /var/lang, the real awslambdaric from PyPI at /var/runtime, a busybox
//! `/bin/sh`, the shared libraries all of it needs (found with ldd), a `/lambda-entrypoint.sh`
//! that behaves like AWS's, and `/var/runtime/bootstrap` running `python -m awslambdaric`.
//! Written with lamina's own layer writer into an OCI layout.
#![allow(dead_code)]

use lamina_core::oci::image::DirBlobs;
use lamina_core::oci::layer::{EntryKind, LayerWriter, Tree};
use lamina_core::oci::{canonical_json, Format, Image, Layer};
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
    build_with(work, layout, true, false)
}

/// The runtime base as AWS ships it: the standard library and awslambdaric with their bytecode
/// (unchecked-hash here, since every mtime in a layer is the same), for the cold-start benchmark.
pub fn build_with_stdlib_bytecode(work: &Path, layout: &Path) {
    build_with(work, layout, true, true)
}

/// The same base without awslambdaric and its scripts: just CPython 3.12 with its loader and
/// libraries (enough for lamina to run the base's interpreter), tag `py312`.
pub fn build_python_only(work: &Path, layout: &Path) {
    build_with(work, layout, false, false)
}

/// `python3.12 -m compileall` over `dir` as it will be at `in_image`.
fn compile_tree(py: &Path, dir: &Path, in_image: &str) {
    let o = Command::new(py.join("bin/python3.12"))
        .args([
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
        ])
        .arg(dir)
        .args(["-p", in_image])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.code().is_some(), "compileall {}", dir.display());
}

fn build_with(work: &Path, layout: &Path, with_runtime: bool, stdlib_bytecode: bool) {
    let pyenv = python();
    let py = if stdlib_bytecode {
        let copy = work.join("lang");
        super::copy_tree(&pyenv, &copy);
        for e in walkdir::WalkDir::new(&copy).contents_first(true) {
            let e = e.unwrap();
            if e.file_name() == "__pycache__" {
                fs::remove_dir_all(e.path()).unwrap();
            }
        }
        compile_tree(
            &pyenv,
            &copy.join("lib/python3.12"),
            "/var/lang/lib/python3.12",
        );
        copy
    } else {
        pyenv.clone()
    };
    assert!(
        py.join("bin/python3.12").is_file(),
        "CPython 3.12 not found at {} (set LAMINA_TEST_PY312)",
        py.display()
    );
    // awslambdaric from PyPI, installed as pip --target does.
    let runtime = work.join("runtime");
    fs::create_dir_all(&runtime).unwrap();
    let out = if !with_runtime {
        Command::new("true").output().unwrap()
    } else {
        Command::new(py.join("bin/python3.12"))
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
            .unwrap()
    };
    assert!(
        out.status.success(),
        "pip install awslambdaric: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if stdlib_bytecode {
        for e in walkdir::WalkDir::new(&runtime).contents_first(true) {
            let e = e.unwrap();
            if e.file_name() == "__pycache__" {
                fs::remove_dir_all(e.path()).unwrap();
            }
        }
        compile_tree(&pyenv, &runtime, "/var/runtime");
    }
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
        if skip_stdlib(&rel)
            && !(stdlib_bytecode
                && rel.starts_with("lib/python3.12/")
                && !skip_stdlib(&rel.replace("__pycache__", "x")))
        {
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
        if rel.contains("__pycache__") && !stdlib_bytecode {
            continue;
        }
        add(&mut tree, &format!("var/runtime/{rel}"), e.path());
        if rel.ends_with(".so") {
            ldd_deps(e.path(), &mut libs);
        }
    }
    if with_runtime {
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
    }
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
    // What manylinux wheels may link besides (pydantic-core: librt; grpc: libstdc++, libgcc_s).
    for name in [
        "librt.so.1",
        "libpthread.so.0",
        "libdl.so.2",
        "libutil.so.1",
        "libstdc++.so.6",
        "libgcc_s.so.1",
    ] {
        let p = Path::new("/lib/x86_64-linux-gnu").join(name);
        if p.exists() {
            libs.insert(p);
        }
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
         -> Result<
            Box<dyn std::io::Read + 'static>,
            lamina_core::oci::layer::writer::WriteError,
        > { Ok(Box::new(fs::File::open(p)?)) },
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
            kind: lamina_core::oci::Origin::Local,
        }),
    };
    let image = Image::from_parts(Format::Oci, canonical_json(&config), vec![layer], None);
    lamina_core::oci::layout::write(&image, layout, Some("py312")).unwrap();
}
