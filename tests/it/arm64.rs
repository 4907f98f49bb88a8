//! Bytecode for an arm64 image built on this x86_64 machine, with Debian's CPython 3.11: from a
//! two-platform base it is compiled by the amd64 variant's interpreter (the same release); from a
//! single-architecture arm64 base by the arm64 interpreter under qemu-user; both give the same
//! bytes. Without qemu, a single-architecture arm64 base is a clear error and nothing is written.

use crate::support::wheelgen;

use crate::support::*;
use std::fs;
use std::path::Path;
use std::process::Output;

fn build(
    project: &Path,
    cache: &Path,
    base: &Path,
    out: &Path,
    wheels: &Path,
    extra: &[&str],
) -> Output {
    run(lamina(project, cache)
        .args(["build", "--platform", "linux/arm64", "--base"])
        .arg(format!("oci:{}:py311", base.display()))
        .args(["--wheels", wheels.to_str().unwrap(), "-o"])
        .arg(format!("oci:{}:latest", out.display()))
        .args(extra))
}

#[test]
fn arm64_bytecode_from_the_amd64_variant_or_qemu_is_the_same_and_never_from_elsewhere() {
    let t = tempfile::tempdir().unwrap();
    let (index, single) = (t.path().join("index"), t.path().join("single"));
    crate::support::debian_python::build(&t.path().join("work"), &index, &single);
    let project = example_copy(t.path());
    let wheels = t.path().join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    fs::copy(
        repo().join("fixtures/wheels/parity/jmespath-1.0.1-py3-none-any.whl"),
        wheels.join("jmespath-1.0.1-py3-none-any.whl"),
    )
    .unwrap();
    wheelgen::WheelGen::new("legacy", "1.0", "py3-none-any")
        .file("legacy/__init__.py", b"VALUE = 1\n")
        .file("legacy/py2.py", b"print 'python 2'\n")
        .write(&wheels);

    // The two-platform index: the amd64 variant's CPython compiles, natively.
    let o = build(
        &project,
        &t.path().join("c1"),
        &index,
        &t.path().join("out1"),
        &wheels,
        &["--compile-workers", "3"],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("bytecode: compiled by the x86_64 variant's /usr/bin/python3.11 (the same CPython release as the aarch64 image's)"),
        "{err}"
    );
    assert!(
        err.contains("warning: /var/task/legacy/py2.py does not compile, so it has no .pyc"),
        "{err}"
    );
    let via_variant = stdout(&o);

    // The arm64-only base: the arm64 CPython itself, under qemu-aarch64 (installed by test.sh).
    let o = build(
        &project,
        &t.path().join("c2"),
        &single,
        &t.path().join("out2"),
        &wheels,
        &["--compile-workers", "1"],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("bytecode: compiled by the base's /usr/bin/python3.11 under "),
        "{err}"
    );
    assert!(err.contains("qemu-aarch64"), "{err}");
    assert_eq!(
        stdout(&o),
        via_variant,
        "same image, bytecode compiled either way"
    );

    let (manifest, layers) = layout_manifest(&t.path().join("out2"), "latest");
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 3);
    let deps: Vec<String> = read_layer(&layers[1]).into_iter().map(|e| e.path).collect();
    assert!(
        deps.contains(&"var/task/jmespath/__pycache__/lexer.cpython-311.pyc".to_string()),
        "{deps:?}"
    );
    assert!(deps.contains(&"var/task/legacy/__pycache__/__init__.cpython-311.pyc".to_string()));
    assert!(!deps.iter().any(|p| p.contains("py2.cpython")));

    // No qemu and no amd64 variant: an error that says why and how to turn bytecode off; the
    // host's own Python is never used instead.
    let out3 = t.path().join("out3");
    let o = run(lamina(&project, &t.path().join("c3"))
        .args(["build", "--platform", "linux/arm64", "--base"])
        .arg(format!("oci:{}:py311", single.display()))
        .args(["--wheels", wheels.to_str().unwrap(), "-o"])
        .arg(format!("oci:{}:latest", out3.display()))
        .env("PATH", "/nonexistent"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bytecode: the base's /usr/bin/python3.11 is for aarch64 and cannot run on this x86_64 machine: the base has no x86_64 variant; qemu-aarch64 is not installed"),
        "{err}"
    );
    assert!(
        err.contains("hint: ") && err.contains("--no-compile-bytecode"),
        "{err}"
    );
    assert!(!out3.exists(), "nothing written");
    // …and with bytecode off it builds.
    let o = run(lamina(&project, &t.path().join("c3"))
        .args([
            "build",
            "--no-compile-bytecode",
            "--platform",
            "linux/arm64",
            "--base",
        ])
        .arg(format!("oci:{}:py311", single.display()))
        .args(["--wheels", wheels.to_str().unwrap(), "-o"])
        .arg(format!("oci:{}:latest", out3.display()))
        .env("PATH", "/nonexistent"));
    assert!(o.status.success(), "{}", stderr(&o));
}
