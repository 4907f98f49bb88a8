//! The dependency layer: parity with the real `pip install --no-deps --target`, wheel selection for
//! the target with exact refusal messages, and hostile wheels that must fail cleanly.

use crate::support::wheelgen;

use crate::support::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wheelgen::{record_hash, WheelGen};

fn fixtures() -> PathBuf {
    repo().join("fixtures/wheels")
}

/// The example project with its own temp dir, cache and output.
struct Proj {
    t: tempfile::TempDir,
    project: PathBuf,
}

impl Proj {
    fn new() -> Proj {
        let t = tempfile::tempdir().unwrap();
        let project = example_copy(t.path());
        Proj { t, project }
    }
    fn wheels(&self) -> PathBuf {
        self.t.path().join("wheels")
    }
    fn out(&self) -> PathBuf {
        self.t.path().join("out")
    }
    fn build(&self, base_tag: &str, extra: &[&str]) -> Output {
        let base = format!("oci:{}:{base_tag}", standin().display());
        let out = format!("oci:{}:latest", self.out().display());
        let w = self.wheels();
        run(lamina(&self.project, &self.t.path().join("cache"))
            .args([
                "build",
                "--base",
                &base,
                "-o",
                &out,
                "--wheels",
                w.to_str().unwrap(),
            ])
            .args(extra))
    }
    fn ok(&self, extra: &[&str]) -> String {
        let o = self.build("python3.12", extra);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    }
    /// Fails with exit 1, all needles in stderr, and no output written.
    fn fails(&self, base_tag: &str, extra: &[&str], needles: &[&str]) -> String {
        let o = self.build(base_tag, extra);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
        }
        assert!(!self.out().exists(), "no output on failure");
        err
    }
    /// The dependency layer's /var/task as path → (mode, bytes); directories have no bytes.
    fn deps_tree(&self) -> BTreeMap<String, (u32, Option<Vec<u8>>)> {
        let (_, layers) = layout_manifest(&self.out(), "latest");
        assert_eq!(layers.len(), 3, "base, dependencies, source");
        read_layer(&layers[1])
            .into_iter()
            .filter_map(|e| {
                let p = e
                    .path
                    .trim_end_matches('/')
                    .strip_prefix("var/task/")?
                    .to_string();
                let data = (e.kind != tar::EntryType::Directory).then_some(e.data);
                Some((p, (e.mode, data)))
            })
            .collect()
    }
}

fn copy_fixtures(sub: &str, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(fixtures().join(sub)).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A platlib wheel using every `.data` scheme, entry points of both kinds and a `#!python` script.
fn demo_wheel() -> WheelGen {
    WheelGen::new("demo_pkg", "1.0", "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64")
        .file("demo_pkg/__init__.py", b"x = 1\n")
        .file_mode("demo_pkg/tool.sh", b"#!/bin/sh\necho hi\n", 0o100755)
        .file("demo_pkg-1.0.data/scripts/rawscript", b"#!python\nprint('hi')\n")
        .file_mode("demo_pkg-1.0.data/scripts/shscript", b"#!/bin/sh\necho sh\n", 0o100755)
        .file("demo_pkg-1.0.data/scripts/democli", b"#!python\n# setuptools duplicate of the entry point\n")
        .file("demo_pkg-1.0.data/headers/demo.h", b"int x;\n")
        .file("demo_pkg-1.0.data/data/share/demo/file.txt", b"data\n")
        .file("demo_pkg-1.0.data/purelib/extra_mod.py", b"y = 2\n")
        .file("demo_pkg-1.0.data/platlib/plat_mod.py", b"z = 3\n")
        .entry_points("[console_scripts]\ndemocli = demo_pkg.cli:main.run [extra]\n[gui_scripts]\ndemogui = demo_pkg:gui\n")
}

fn walk(root: &Path) -> BTreeMap<String, (u32, Option<Vec<u8>>)> {
    use std::os::unix::fs::PermissionsExt;
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            let data = e.file_type().is_file().then(|| fs::read(e.path()).unwrap());
            (rel, (mode, data))
        })
        .collect()
}

/// pip's intended differences: INSTALLER content, RECORD, direct_url.json, script shebangs.
fn strip_shebang(path: &str, data: &[u8]) -> Vec<u8> {
    if path.starts_with("bin/") && data.starts_with(b"#!") {
        data.splitn(2, |&b| b == b'\n')
            .nth(1)
            .unwrap_or_default()
            .to_vec()
    } else {
        data.to_vec()
    }
}

#[test]
fn parity_with_pip_install_target() {
    let p = Proj::new();
    copy_fixtures("parity", &p.wheels());
    demo_wheel().write(&p.wheels());
    // pip's own --target tree for the same wheels and target.
    let pip_target = p.t.path().join("pip-target");
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-compile",
        "--no-index",
        "--only-binary=:all:",
    ])
    .args([
        "--platform",
        "manylinux_2_34_x86_64",
        "--platform",
        "manylinux2014_x86_64",
    ])
    .args([
        "--platform",
        "manylinux_2_17_x86_64",
        "--platform",
        "manylinux_2_5_x86_64",
    ])
    .args([
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "--target",
    ])
    .arg(&pip_target)
    .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    .env("PIP_ROOT_USER_ACTION", "ignore");
    for e in fs::read_dir(p.wheels()).unwrap() {
        pip.arg(e.unwrap().path());
    }
    ok(&mut pip);
    // The corpus is not a closed set (zope.interface needs setuptools): report, do not fail.
    let stderr = p.ok(&["--missing-deps", "warn"]);
    assert!(
        stderr.contains("8 wheels for CPython 3.12 on x86_64 with glibc 2.34"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("warning[Runtime.ImportModuleError]: zope.interface 7.2 requires setuptools"),
        "{stderr}"
    );

    let ours = p.deps_tree();
    let theirs = walk(&pip_target);
    let intended = |k: &str| {
        k.ends_with("/RECORD") || k.ends_with("/INSTALLER") || k.ends_with("/direct_url.json")
    };
    let mut diffs = Vec::new();
    for k in ours
        .keys()
        .chain(theirs.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if intended(k) {
            continue;
        }
        match (ours.get(k), theirs.get(k)) {
            (Some(_), None) => diffs.push(format!("only lamina: {k}")),
            (None, Some(_)) => diffs.push(format!("only pip: {k}")),
            (Some((ma, da)), Some((mb, db))) => {
                let (da, db) = (
                    da.as_ref().map(|d| strip_shebang(k, d)),
                    db.as_ref().map(|d| strip_shebang(k, d)),
                );
                if da != db {
                    diffs.push(format!("content differs: {k}"));
                }
                if ma != mb {
                    diffs.push(format!("mode differs: {k}: lamina {ma:o}, pip {mb:o}"));
                }
            }
            (None, None) => unreachable!(),
        }
    }
    assert!(
        diffs.is_empty(),
        "differences from pip:\n{}",
        diffs.join("\n")
    );
    assert!(
        theirs.len() > 350,
        "the corpus is exercised ({} paths)",
        theirs.len()
    );

    // The hard cases are really there.
    let file = |k: &str| {
        ours.get(k)
            .unwrap_or_else(|| panic!("{k} missing"))
            .1
            .clone()
            .unwrap()
    };
    assert!(
        file("bin/jp.py").starts_with(b"#!/var/lang/bin/python3.12\n"),
        "#!python rewritten to the base's interpreter"
    );
    assert!(
        file("bin/democli").starts_with(b"#!/var/lang/bin/python3.12\n# -*- coding: utf-8 -*-\n")
    );
    assert!(String::from_utf8(file("bin/democli"))
        .unwrap()
        .contains("from demo_pkg.cli import main\n"));
    assert_eq!(file("bin/shscript"), b"#!/bin/sh\necho sh\n");
    assert!(
        ours.contains_key("include/python/demo-pkg/demo.h")
            && ours.contains_key("share/demo/file.txt")
    );
    assert!(
        ours.contains_key("google/protobuf/__init__.py")
            && ours.contains_key("google/api/http_pb2.py"),
        "namespace merge"
    );
    assert!(!ours.contains_key("google/__init__.py"));
    assert!(ours.contains_key("zope.interface-7.2-py3.12-nspkg.pth"));
    assert_eq!(file("demo_pkg-1.0.dist-info/INSTALLER"), b"lamina\n");
    assert!(!ours.keys().any(|k| k.ends_with("direct_url.json")));

    // Our RECORDs are right: every installed file listed, hashed and sized, paths from /var/task.
    for (k, (_, data)) in &ours {
        if !k.ends_with(".dist-info/RECORD") {
            continue;
        }
        let dist = k.trim_end_matches("/RECORD");
        let text = String::from_utf8(data.clone().unwrap()).unwrap();
        let mut listed = 0;
        for line in text.lines() {
            let f: Vec<&str> = line.rsplitn(3, ',').collect();
            let (size, hash, path) = (f[0], f[1], f[2].trim_matches('"'));
            if path == k.as_str() {
                assert_eq!((hash, size), ("", ""));
                continue;
            }
            let bytes = file(path);
            assert_eq!(hash, record_hash(&bytes), "{path} in {k}");
            assert_eq!(size, bytes.len().to_string());
            listed += 1;
        }
        let own = ours
            .keys()
            .filter(|p| p.starts_with(&format!("{dist}/")) && ours[*p].1.is_some())
            .count();
        assert!(listed >= own - 1, "{k} lists its dist-info files");
    }
}

#[test]
fn deterministic_and_cached() {
    let p = Proj::new();
    copy_fixtures("parity", &p.wheels());
    let warn = ["--missing-deps", "warn"];
    p.ok(&warn);
    let first = p.deps_tree();
    fs::remove_dir_all(p.out()).unwrap();
    fs::remove_dir_all(p.t.path().join("cache")).unwrap();
    p.ok(&warn);
    assert_eq!(first, p.deps_tree());
    fs::remove_dir_all(p.out()).unwrap();
    let err = p.ok(&warn);
    assert!(
        err.contains("dependency layer") && err.contains("(cached)"),
        "{err}"
    );
}

fn one_wrong(file: &str, base_tag: &str, extra: &[&str], needles: &[&str]) {
    let p = Proj::new();
    fs::create_dir_all(p.wheels()).unwrap();
    fs::copy(
        fixtures().join("wrong-target").join(file),
        p.wheels().join(file),
    )
    .unwrap();
    p.fails(base_tag, extra, needles);
}

#[test]
fn refuses_wheels_for_another_target() {
    let hint = "hint: fetch a wheel for the base: pip download --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_34_x86_64 --python-version 3.12 --implementation cp -d WHEELS_DIR MarkupSafe==3.0.2";
    one_wrong(
        "MarkupSafe-3.0.2-cp312-cp312-macosx_11_0_arm64.whl",
        "python3.12",
        &[],
        &["error: dependency layer: markupsafe: no wheel fits CPython 3.12 on x86_64 with glibc 2.34: MarkupSafe-3.0.2-cp312-cp312-macosx_11_0_arm64.whl is for macOS", hint],
    );
    one_wrong(
        "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "python3.12",
        &[],
        &["MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl is for cp311 (ABI cp311); the base runs CPython 3.12 (cp312, abi3 or py3 wheels)", hint],
    );
    one_wrong(
        "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "python3.12",
        &[],
        &["manylinux2014_aarch64.whl is for aarch64, not x86_64", hint],
    );
    one_wrong(
        "MarkupSafe-3.0.2-cp312-cp312-musllinux_1_2_x86_64.whl",
        "python3.12",
        &[],
        &[
            "musllinux_1_2_x86_64.whl is for musl libc (Alpine); Lambda's Amazon Linux uses glibc",
            hint,
        ],
    );
    // The same aarch64 wheel is right for an arm64 build.
    let p = Proj::new();
    fs::create_dir_all(p.wheels()).unwrap();
    let arm = "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl";
    fs::copy(
        fixtures().join("wrong-target").join(arm),
        p.wheels().join(arm),
    )
    .unwrap();
    p.ok(&["--platform", "linux/arm64"]);
}

#[test]
fn refuses_a_newer_glibc_than_the_base_has() {
    let p = Proj::new();
    WheelGen::new("cryptography", "44.0.0", "cp39-abi3-manylinux_2_28_x86_64")
        .file("cryptography/__init__.py", b"")
        .write(&p.wheels());
    p.fails(
        "python3.12",
        &["--python", "3.11", "--glibc", "2.26"],
        &[
            "cryptography-44.0.0-cp39-abi3-manylinux_2_28_x86_64.whl needs glibc 2.28; the base has glibc 2.26",
            "pip download --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_26_x86_64 --python-version 3.11",
        ],
    );
    // On the 3.12 base (glibc 2.34) it is fine.
    p.ok(&[]);
}

#[test]
fn chooses_the_best_of_several_and_reports_the_rest() {
    let p = Proj::new();
    let w = p.wheels();
    WheelGen::new("demo", "1.0", "py3-none-any")
        .file("demo/__init__.py", b"pure = True\n")
        .write(&w);
    WheelGen::new("demo", "1.0", "cp312-cp312-manylinux_2_17_x86_64")
        .file("demo/__init__.py", b"native = True\n")
        .write(&w);
    WheelGen::new("demo", "1.0", "cp312-cp312-macosx_11_0_arm64")
        .file("demo/__init__.py", b"mac = True\n")
        .write(&w);
    fs::copy(
        w.join("demo-1.0-py3-none-any.whl"),
        w.join("demo-1.0-1-py3-none-any.whl"),
    )
    .unwrap();
    let err = p.ok(&[]);
    assert!(err.contains("warning: demo-1.0-cp312-cp312-macosx_11_0_arm64.whl left out: it is for macOS (using demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl)"), "{err}");
    assert!(err.contains("warning: demo-1.0-py3-none-any.whl left out: demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl fits better"), "{err}");
    assert_eq!(
        p.deps_tree()["demo/__init__.py"].1.as_deref(),
        Some(&b"native = True\n"[..])
    );

    // Same tags, different build tags: the higher build wins.
    let q = Proj::new();
    let w = q.wheels();
    WheelGen::new("demo", "1.0", "py3-none-any")
        .file("demo/__init__.py", b"build none\n")
        .write(&w);
    let b2 = WheelGen::new("demo", "1.0", "py3-none-any")
        .file("demo/__init__.py", b"build 2\n")
        .write(&q.t.path().join("b2"));
    fs::rename(b2, w.join("demo-1.0-2-py3-none-any.whl")).unwrap();
    q.ok(&[]);
    assert_eq!(
        q.deps_tree()["demo/__init__.py"].1.as_deref(),
        Some(&b"build 2\n"[..])
    );
}

#[test]
fn two_versions_and_sdists_are_errors() {
    let p = Proj::new();
    WheelGen::new("demo", "1.0", "py3-none-any")
        .file("demo/__init__.py", b"")
        .write(&p.wheels());
    WheelGen::new("demo", "2.0", "py3-none-any")
        .file("demo/__init__.py", b"")
        .write(&p.wheels());
    p.fails(
        "python3.12",
        &[],
        &["demo: several versions (1.0, 2.0); keep one"],
    );
    let q = Proj::new();
    WheelGen::new("demo", "1.0", "py3-none-any")
        .file("demo/__init__.py", b"")
        .write(&q.wheels());
    fs::write(q.wheels().join("other-1.0.tar.gz"), b"sdist").unwrap();
    q.fails(
        "python3.12",
        &[],
        &[
            "other-1.0.tar.gz: a source distribution; lamina installs wheels only",
            "hint: build a wheel first",
        ],
    );
}

#[test]
fn unknown_base_needs_python_and_glibc() {
    let p = Proj::new();
    WheelGen::new("demo", "1.0", "py3-none-any")
        .file("demo/__init__.py", b"")
        .write(&p.wheels());
    let copy = p.t.path().join("base");
    copy_tree(&standin(), &copy);
    let index = fs::read_to_string(copy.join("index.json"))
        .unwrap()
        .replace("python3.12-docker", "custom");
    fs::write(copy.join("index.json"), index).unwrap();
    let base = format!("oci:{}:custom", copy.display());
    let w = p.wheels();
    let build = |extra: &[&str]| {
        run(lamina(&p.project, &p.t.path().join("cache"))
            .args([
                "build",
                "--base",
                &base,
                "--wheels",
                w.to_str().unwrap(),
                "-o",
                "oci:out",
            ])
            .args(extra))
    };
    let o = build(&[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("the base's Python is unknown")
            && err.contains("hint: say what the base runs: --python 3.12 --glibc 2.34"),
        "{err}"
    );
    let o = build(&["--python", "3.12", "--glibc", "2.34"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Rewrites the declared uncompressed size of `entry` (local and central headers) to `size`.
fn patch_declared_size(wheel: &Path, entry: &str, size: u32) {
    let mut b = fs::read(wheel).unwrap();
    let name = entry.as_bytes();
    let mut patched = 0;
    for i in 0..b.len().saturating_sub(50) {
        if b[i..i + 4] == [0x50, 0x4b, 0x03, 0x04] && b[i + 30..].starts_with(name) {
            b[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
        if b[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] && b[i + 46..].starts_with(name) {
            b[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    fs::write(wheel, b).unwrap();
}

fn hostile(g: WheelGen, extra: &[&str], needles: &[&str]) {
    let p = Proj::new();
    g.write(&p.wheels());
    p.fails("python3.12", extra, needles);
}

#[test]
fn hostile_names() {
    let g = |name: &str| {
        WheelGen::new("evil", "1.0", "py3-none-any")
            .file("evil/__init__.py", b"")
            .file(name, b"boom")
    };
    hostile(g("../escape.py"), &[], &["evil-1.0-py3-none-any.whl: entry '../escape.py' contains '..' (it would escape the target)"]);
    hostile(g("evil/../../escape.py"), &[], &["contains '..'"]);
    hostile(
        g("/etc/cron.d/x"),
        &[],
        &["entry '/etc/cron.d/x' is an absolute path"],
    );
    hostile(g("C:/x.py"), &[], &["has a drive letter"]);
    hostile(
        g("evil/.wh.__init__.py"),
        &[],
        &["entry 'evil/.wh.__init__.py' has a '.wh.' component (an OCI whiteout)"],
    );
    hostile(
        g("evil-1.0.data/secrets/x"),
        &[],
        &["uses unknown .data scheme 'secrets'"],
    );
    hostile(
        WheelGen::new("evil", "1.0", "py3-none-any")
            .file("evil/__init__.py", b"")
            .entry_points("[console_scripts]\n../../x = evil:main\n"),
        &[],
        &["entry point name '../../x' would escape bin/"],
    );
}

#[test]
fn bad_record_fails_unless_allowed() {
    let mut g = WheelGen::new("sloppy", "1.0", "py3-none-any")
        .file("sloppy/__init__.py", b"real = 1\n")
        .file("sloppy/big.py", &[b'#'; 100_000]);
    g.record_override.push((
        "sloppy/__init__.py".into(),
        record_hash(b"other = 1\n"),
        "9".into(),
    ));
    let p = Proj::new();
    g.write(&p.wheels());
    p.fails(
        "python3.12",
        &[],
        &[
            "sloppy-1.0-py3-none-any.whl: sloppy/__init__.py: does not match its RECORD hash",
            "hint: if you trust this wheel anyway, pass --allow-bad-record sloppy",
        ],
    );
    p.ok(&["--allow-bad-record", "sloppy"]);
    let tree = p.deps_tree();
    assert_eq!(
        tree["sloppy/__init__.py"].1.as_deref(),
        Some(&b"real = 1\n"[..])
    );
    let record = String::from_utf8(tree["sloppy-1.0.dist-info/RECORD"].1.clone().unwrap()).unwrap();
    assert!(
        record.contains(&format!(
            "sloppy/__init__.py,{},9",
            record_hash(b"real = 1\n")
        )),
        "{record}"
    );

    // A large file whose hash is wrong is caught while streaming.
    let mut g = WheelGen::new("sloppy", "1.0", "py3-none-any")
        .file("sloppy/__init__.py", b"")
        .file("sloppy/big.py", &[b'#'; 100_000]);
    g.record_override
        .push(("sloppy/big.py".into(), record_hash(b"x"), "100000".into()));
    hostile(g, &[], &["sloppy/big.py: does not match its RECORD hash"]);

    let mut g = WheelGen::new("sloppy", "1.0", "py3-none-any")
        .file("sloppy/__init__.py", b"")
        .file("sloppy/extra.py", b"");
    g.unlisted.push("sloppy/extra.py".into());
    hostile(
        g,
        &[],
        &["sloppy-1.0-py3-none-any.whl: sloppy/extra.py: is not listed in RECORD"],
    );
}

#[test]
fn conflicting_and_identical_files_across_wheels() {
    let p = Proj::new();
    WheelGen::new("alpha", "1.0", "py3-none-any")
        .file("shared/mod.py", b"a\n")
        .file("ns/__init__.py", b"")
        .write(&p.wheels());
    WheelGen::new("beta", "1.0", "py3-none-any")
        .file("shared/mod.py", b"b\n")
        .file("ns/__init__.py", b"")
        .write(&p.wheels());
    p.fails("python3.12", &[], &["/var/task/shared/mod.py is installed by both alpha-1.0-py3-none-any.whl and beta-1.0-py3-none-any.whl with different contents"]);
    let q = Proj::new();
    WheelGen::new("alpha", "1.0", "py3-none-any")
        .file("ns/__init__.py", b"")
        .file("ns/a.py", b"")
        .write(&q.wheels());
    WheelGen::new("beta", "1.0", "py3-none-any")
        .file("ns/__init__.py", b"")
        .file("ns/b.py", b"")
        .write(&q.wheels());
    q.ok(&[]);
    let t = q.deps_tree();
    assert!(
        t.contains_key("ns/__init__.py") && t.contains_key("ns/a.py") && t.contains_key("ns/b.py")
    );
}

#[test]
fn corrupt_and_bomb_wheels() {
    let p = Proj::new();
    let path = WheelGen::new("broken", "1.0", "py3-none-any")
        .file("broken/__init__.py", &[7u8; 5000])
        .write(&p.wheels());
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    p.fails(
        "python3.12",
        &[],
        &["broken-1.0-py3-none-any.whl: cannot read it as a zip file"],
    );

    // Declared 10 bytes, holds 100,000: stopped at the declared size.
    let q = Proj::new();
    let mut g = WheelGen::new("bomb", "1.0", "py3-none-any")
        .file("bomb/__init__.py", b"")
        .file("bomb/data.bin", &[0u8; 100_000]);
    g.record_override
        .push(("bomb/data.bin".into(), record_hash(&[0u8; 10]), "10".into()));
    let path = g.write(&q.wheels());
    patch_declared_size(&path, "bomb/data.bin", 10);
    q.fails("python3.12", &[], &["bomb-1.0-py3-none-any.whl: bomb/data.bin: is longer than its declared 10 bytes (zip bomb?)"]);

    // A total over the cap.
    let r = Proj::new();
    WheelGen::new("huge", "1.0", "py3-none-any")
        .file("huge/zeros.bin", &[0u8; 2_000_000])
        .write(&r.wheels());
    r.fails(
        "python3.12",
        &["--max-unpacked-size", "1M"],
        &[
            "the wheels unpack to",
            "over the limit of 1000000",
            "hint: raise the limit with --max-unpacked-size",
        ],
    );
    r.ok(&[]);
}

#[test]
fn symlinks_and_pycache_in_wheels() {
    let p = Proj::new();
    WheelGen::new("linky", "1.0", "py3-none-any")
        .file("linky/__init__.py", b"")
        .file("linky/__pycache__/__init__.cpython-312.pyc", b"junk")
        .symlink("linky/alias.py", "__init__.py")
        .write(&p.wheels());
    let err = p.ok(&[]);
    assert!(err.contains("skipping __pycache__ entries"), "{err}");
    let (_, layers) = layout_manifest(&p.out(), "latest");
    let entries = read_layer(&layers[1]);
    let alias = entries
        .iter()
        .find(|e| e.path == "var/task/linky/alias.py")
        .unwrap();
    assert_eq!(
        alias.kind,
        tar::EntryType::Regular,
        "a zip symlink becomes a regular file, as pip does"
    );
    assert_eq!(alias.data, b"__init__.py");
    assert!(!entries.iter().any(|e| e.path.contains("__pycache__")));
}

#[test]
fn linux_tags_are_opt_in_and_oddities_are_reported() {
    let p = Proj::new();
    let mut g = WheelGen::new("localbuild", "1.0", "cp312-cp312-linux_x86_64")
        .file("localbuild/__init__.py", b"")
        .file("localbuild/Data.txt", b"upper")
        .file("localbuild/data.txt", b"lower");
    g.record_extra
        .push("localbuild/gone.py,sha256=AAAA,1".into());
    g.write(&p.wheels());
    p.fails("python3.12", &[], &["localbuild-1.0-cp312-cp312-linux_x86_64.whl is a local linux_ build with no manylinux glibc promise (accepted only with --allow-linux-tag)"]);
    let err = p.ok(&["--allow-linux-tag"]);
    assert!(err.contains("warning: /var/task/localbuild/Data.txt and /var/task/localbuild/data.txt differ only in case"), "{err}");
    assert!(
        err.contains(
            "RECORD lists 1 file(s) the wheel does not contain (first: localbuild/gone.py)"
        ),
        "{err}"
    );
}
