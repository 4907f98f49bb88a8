//! Bytecode compiled by the base's own interpreter: the same bytes as `compileall`, the same file
//! names as pip's compile step, syntax errors reported and skipped, independent of the number of
//! workers and of the order files are compiled, cached per file, and off when asked or when the
//! base has no Python.

use crate::support::wheelgen;

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use wheelgen::WheelGen;

/// The CPython 3.12 stand-in base (no runtime): built once into cargo's test scratch directory
/// and kept between runs (it depends only on this machine's CPython 3.12).
pub(crate) fn python_base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let done = scratch.join("python-base-v1");
        if done.join("layout/index.json").is_file() {
            return done.join("layout");
        }
        let dir = tempfile::Builder::new()
            .prefix("python-base-")
            .tempdir_in(&scratch)
            .unwrap();
        crate::support::lambda_base::build_python_only(
            &dir.path().join("work"),
            &dir.path().join("layout"),
        );
        fs::remove_dir_all(dir.path().join("work")).unwrap();
        // Another test binary may have finished first: either copy is the same.
        let _ = fs::rename(dir.keep(), &done);
        done.join("layout")
    })
}

fn py312() -> PathBuf {
    crate::support::lambda_base::python().join("bin/python3.12")
}

/// A wheel with what pip compiles and what it cannot: a syntax error, `.data` files and scripts.
fn tricky_wheel() -> WheelGen {
    WheelGen::new("tricky", "1.0", "py3-none-any")
        .file("tricky/__init__.py", b"from .core import VALUE\n")
        .file(
            "tricky/core.py",
            b"# -*- coding: latin-1 -*-\nVALUE = '\xe9t\xe9'\nSEEN = {'a', 'b', 'c', 'd'}\n",
        )
        .file("tricky/py2.py", b"print 'python 2'\n")
        .file("tricky/data.txt", b"not python\n")
        .file(
            "tricky-1.0.data/scripts/tool.py",
            b"#!python\nimport tricky\n",
        )
        .file("tricky-1.0.data/data/share/tricky/hook.py", b"HOOK = 1\n")
}

struct Proj {
    t: tempfile::TempDir,
    project: PathBuf,
}

impl Proj {
    fn new() -> Proj {
        let t = tempfile::tempdir().unwrap();
        let project = example_copy(t.path());
        let wheels = t.path().join("wheels");
        fs::create_dir_all(&wheels).unwrap();
        for w in [
            "jmespath-1.0.1-py3-none-any.whl",
            "python_dotenv-1.0.1-py3-none-any.whl",
            "protobuf-5.29.3-cp38-abi3-manylinux2014_x86_64.whl",
            "googleapis_common_protos-1.66.0-py2.py3-none-any.whl",
        ] {
            fs::copy(
                repo().join("fixtures/wheels/parity").join(w),
                wheels.join(w),
            )
            .unwrap();
        }
        tricky_wheel().write(&wheels);
        Proj { t, project }
    }
    fn wheels(&self) -> PathBuf {
        self.t.path().join("wheels")
    }
    fn build_in(&self, cache: &Path, out: &Path, extra: &[&str]) -> Output {
        run(lamina(&self.project, cache)
            .args(["build", "--base"])
            .arg(format!("oci:{}:py312", python_base().display()))
            .args(["--wheels", self.wheels().to_str().unwrap(), "-o"])
            .arg(format!("oci:{}:latest", out.display()))
            .args(extra))
    }
    fn ok(&self, cache: &str, out: &str, extra: &[&str]) -> (String, String) {
        let o = self.build_in(&self.t.path().join(cache), &self.t.path().join(out), extra);
        assert!(o.status.success(), "{}", stderr(&o));
        (stdout(&o).trim().to_string(), stderr(&o))
    }
}

/// path → bytes of every regular file in a layout's new layers (dependency and source).
fn files(layout: &Path) -> BTreeMap<String, Vec<u8>> {
    let (_, layers) = layout_manifest(layout, "latest");
    let mut out = BTreeMap::new();
    for l in &layers[1..] {
        for e in read_layer(l) {
            if e.kind == tar::EntryType::Regular {
                out.insert(e.path, e.data);
            }
        }
    }
    out
}

fn pycs(files: &BTreeMap<String, Vec<u8>>) -> BTreeSet<String> {
    files
        .keys()
        .filter(|k| k.ends_with(".pyc"))
        .cloned()
        .collect()
}

#[test]
fn same_bytes_as_compileall_same_names_as_pip() {
    let p = Proj::new();
    let (_, err) = p.ok("cache", "out", &["--missing-deps", "warn"]);
    assert!(
        err.contains("bytecode: compiled by the base's /var/lang/bin/python3.12"),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: /var/task/tricky/py2.py does not compile, so it has no .pyc (SyntaxError"
        ),
        "{err}"
    );
    let ours = files(&p.t.path().join("out"));
    let ours_pyc = pycs(&ours);
    assert!(ours_pyc.contains("var/task/tricky/__pycache__/core.cpython-312.pyc"));
    assert!(ours_pyc
        .contains("var/task/src/functions/campaign/__pycache__/orchestrator.cpython-312.pyc"));
    assert!(
        !ours_pyc.iter().any(|p| p.contains("py2.")),
        "no .pyc for a syntax error"
    );

    // Bytes: compileall, run by the same CPython over the same sources laid out in a directory.
    let tree = p.t.path().join("tree");
    for (path, data) in &ours {
        if path.ends_with(".pyc") {
            continue;
        }
        let dest = tree.join(path.strip_prefix("var/task/").unwrap());
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(dest, data).unwrap();
    }
    let o = run(Command::new(py312())
        .args(["-m", "compileall", "-q", "-s"])
        .arg(&tree)
        .args(["-p", "/var/task", "--invalidation-mode", "unchecked-hash"])
        .arg(&tree));
    assert_eq!(
        o.status.code(),
        Some(1),
        "py2.py fails to compile: {}",
        stdout(&o)
    );
    let mut compared = 0;
    let mut pairs = String::new();
    for e in walkdir::WalkDir::new(&tree) {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(&tree)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !rel.ends_with(".pyc") {
            continue;
        }
        let key = format!("var/task/{rel}");
        let mine = ours
            .get(&key)
            .unwrap_or_else(|| panic!("compileall wrote {rel}, lamina did not"));
        if mine != &fs::read(e.path()).unwrap() {
            let ours_file = p.t.path().join(format!("ours-{compared}.pyc"));
            fs::write(&ours_file, mine).unwrap();
            pairs.push_str(&format!(
                "{}\n{}\n",
                ours_file.display(),
                e.path().display()
            ));
        }
        compared += 1;
    }
    // compileall's bytes depend on its own history in one place: whether a one-character string
    // was interned before (lamina interns them all first, see pool.rs). Anything else differing
    // is a failure: same header, same code objects, same file names, and the only differing
    // bytes are marshal's interned/not-interned type codes of the same string.
    fs::write(p.t.path().join("pairs.txt"), &pairs).unwrap();
    let check = r#"
import marshal, sys
SAME = {frozenset(p) for p in [(0x7a, 0x5a), (0xfa, 0xda), (0x61, 0x41), (0xe1, 0xc1), (0x75, 0x74), (0xf5, 0xf4)]}
lines = open(sys.argv[1]).read().split()
for a, b in zip(lines[::2], lines[1::2]):
    x, y = open(a, "rb").read(), open(b, "rb").read()
    assert x[:16] == y[:16] and len(x) == len(y), b
    assert all(i == j or frozenset((i, j)) in SAME for i, j in zip(x, y)), b
    cx, cy = marshal.loads(x[16:]), marshal.loads(y[16:])
    assert cx == cy and cx.co_filename == cy.co_filename, b
print(len(lines) // 2)
"#;
    let differing = ok(Command::new(py312())
        .arg("-c")
        .arg(check)
        .arg(p.t.path().join("pairs.txt")));
    eprintln!(
        "{compared} .pyc compared with compileall, {} differ only in interned marks",
        differing.trim()
    );
    assert_eq!(compared, ours_pyc.len(), "the same set as compileall");
    assert!(compared > 150, "{compared}");

    // Names and RECORD rows: pip install --no-deps --target with its compile step on.
    let pip_target = p.t.path().join("pip");
    let mut pip = Command::new(py312());
    pip.args([
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        "--target",
    ])
    .arg(&pip_target)
    .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    .env("PIP_ROOT_USER_ACTION", "ignore");
    for e in fs::read_dir(p.wheels()).unwrap() {
        pip.arg(e.unwrap().path());
    }
    ok(&mut pip);
    let mut theirs = BTreeSet::new();
    let mut their_rows = BTreeSet::new();
    for e in walkdir::WalkDir::new(&pip_target) {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(&pip_target)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel.ends_with(".pyc") {
            theirs.insert(format!("var/task/{rel}"));
        }
        if rel.ends_with(".dist-info/RECORD") {
            for line in fs::read_to_string(e.path()).unwrap().lines() {
                if line.contains(".pyc,") {
                    // pip's paths are relative to lib/python inside --target (scripts and data
                    // files are ../../): lamina's are relative to /var/task, where they really are.
                    their_rows.insert(line.trim_start_matches("../../").to_string());
                }
            }
        }
    }
    let deps_pyc: BTreeSet<String> = ours_pyc
        .iter()
        .filter(|p| !p.starts_with("var/task/src/"))
        .cloned()
        .collect();
    let diff: Vec<_> = deps_pyc.symmetric_difference(&theirs).collect();
    assert!(
        diff.is_empty(),
        "the .pyc names pip writes differ: {diff:?}"
    );
    assert!(
        theirs.contains("var/task/bin/__pycache__/tool.cpython-312.pyc"),
        "pip compiles scripts"
    );
    assert!(
        theirs.contains("var/task/share/tricky/__pycache__/hook.cpython-312.pyc"),
        "and data files"
    );
    let mut our_rows = BTreeSet::new();
    for (k, data) in &ours {
        if k.ends_with(".dist-info/RECORD") {
            for line in String::from_utf8(data.clone()).unwrap().lines() {
                if line.contains(".pyc,") {
                    our_rows.insert(line.to_string());
                }
            }
        }
    }
    assert!(
        their_rows.iter().all(|r| r.ends_with(",,")),
        "pip lists .pyc files without hash or size"
    );
    let diff: Vec<_> = our_rows.symmetric_difference(&their_rows).collect();
    assert!(
        diff.is_empty(),
        "RECORD rows for the .pyc files differ: {diff:?}"
    );
    assert_eq!(our_rows.len(), theirs.len());
}

#[test]
fn reproducible_with_one_worker_or_several_and_cached_per_file() {
    let p = Proj::new();
    // Two clean builds in different directories and caches: 1 worker, then 3.
    let (one, err1) = p.ok(
        "cache-a",
        "out-a",
        &["--missing-deps", "warn", "--compile-workers", "1"],
    );
    let copy = p.t.path().join("elsewhere");
    copy_tree(&p.project, &copy);
    let o = run(lamina(&copy, &p.t.path().join("cache-b"))
        .args(["build", "--base"])
        .arg(format!("oci:{}:py312", python_base().display()))
        .args([
            "--wheels",
            p.wheels().to_str().unwrap(),
            "--missing-deps",
            "warn",
            "-o",
        ])
        .arg(format!("oci:{}:latest", p.t.path().join("out-b").display()))
        .env("LAMINA_COMPILE_WORKERS", "3"));
    assert!(o.status.success(), "{}", stderr(&o));
    if stdout(&o).trim() != one {
        let (a, b) = (
            files(&p.t.path().join("out-a")),
            files(&p.t.path().join("out-b")),
        );
        let diff: Vec<_> = a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        panic!("1 and 3 workers differ in {diff:?}");
    }
    assert!(err1.contains("dependency layer bytecode: 144 modules (143 compiled, 0 from the cache, 1 without .pyc)"), "{err1}");
    assert_eq!(
        err1.matches("does not compile").count(),
        1,
        "one warning for the one bad file: {err1}"
    );

    // Warm rebuild: both layers from the cache, nothing compiled.
    let (again, err) = p.ok("cache-a", "out-a", &["--missing-deps", "warn"]);
    assert_eq!(again, one);
    assert!(
        err.contains("source layer bytecode: 10 modules (0 compiled, 10 from the cache"),
        "{err}"
    );
    assert_eq!(err.matches("(cached)").count(), 2, "{err}");
    assert!(err.contains("dependency layer bytecode: 144 modules (143 compiled, 0 from the cache, 1 without .pyc)"), "the report survives the cache: {err}");

    // A one-file edit recompiles that file only.
    let f = p.project.join("src/functions/reports/daily.py");
    let mut text = fs::read_to_string(&f).unwrap();
    text.push_str("\nEDITED = True\n");
    fs::write(&f, text).unwrap();
    let (edited, err) = p.ok("cache-a", "out-a", &["--missing-deps", "warn"]);
    assert_ne!(edited, one);
    assert!(
        err.contains(
            "source layer bytecode: 10 modules (1 compiled, 9 from the cache, 0 without .pyc)"
        ),
        "{err}"
    );

    // Off: no .pyc anywhere, the report says why, and the image differs.
    let (off, err) = p.ok(
        "cache-a",
        "out-off",
        &["--missing-deps", "warn", "--no-compile-bytecode"],
    );
    assert_ne!(off, edited);
    assert!(err.contains("no bytecode: turned off"), "{err}");
    assert!(pycs(&files(&p.t.path().join("out-off"))).is_empty());
    fs::write(
        p.project.join("lamina.toml"),
        "compile_bytecode = false\n".to_string()
            + &fs::read_to_string(p.project.join("lamina.toml")).unwrap(),
    )
    .unwrap();
    let (off2, _) = p.ok("cache-a", "out-off2", &["--missing-deps", "warn"]);
    assert_eq!(off2, off, "compile_bytecode = false in lamina.toml");
}

#[test]
fn a_base_without_python_gets_no_bytecode_and_one_line_saying_so() {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let o = run(lamina(&project, &t.path().join("cache"))
        .args(["build", "--base"])
        .arg(format!("oci:{}:python3.12", standin().display())));
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(" bytecode")).collect();
    assert_eq!(
        lines,
        ["lamina: no bytecode: the base has no python3.X (in /var/lang/bin, /usr/local/bin or /usr/bin)"],
        "{err}"
    );
    assert!(pycs(&files(&project.join("build/image"))).is_empty());
}

/// The pool's bytes do not depend on the number of workers, the order, or what else a worker
/// compiled before (marshal's FLAG_REF depends on reference counts): the standard library's
/// sources compiled by 1 worker in order, by 3 in reverse, and each by a fresh process.
#[test]
fn bytes_do_not_depend_on_workers_order_or_history() {
    use lamina_core::install::bytecode::pool;
    use std::sync::Mutex;
    let lib = crate::support::lambda_base::python().join("lib/python3.12");
    let mut sources: Vec<(String, Vec<u8>)> = [
        "json/decoder.py",
        "json/encoder.py",
        "enum.py",
        "dataclasses.py",
        "typing.py",
        "email/utils.py",
        "string.py",
        "argparse.py",
    ]
    .iter()
    .map(|r| {
        (
            format!("/var/lang/lib/python3.12/{r}"),
            fs::read(lib.join(r)).unwrap(),
        )
    })
    .collect();
    // The base's interpreter as lamina runs it: its stdlib has no .pyc, so nothing has interned
    // "*" before a compiled file does.
    let image = lamina_core::oci::open(
        &lamina_core::oci::reference::ImageRef::Layout {
            dir: python_base().to_path_buf(),
            tag: Some("py312".into()),
        },
        &lamina_core::oci::Platform::linux_amd64(),
    )
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let lamina_core::install::bytecode::Found::Python(interp) =
        lamina_core::install::bytecode::interp::for_image(
            &image,
            &scratch.path().join("i"),
            &scratch.path().join("tmp"),
        )
        .unwrap()
    else {
        panic!("the base has a python")
    };
    let make = || interp.command(None);
    let compile = |jobs: &[(String, Vec<u8>)], workers: usize| -> BTreeMap<String, Vec<u8>> {
        let out = Mutex::new(BTreeMap::new());
        let sink = |i: usize, r: pool::Compiled| {
            out.lock().unwrap().insert(jobs[i].0.clone(), r.unwrap());
        };
        pool::run(
            &make,
            12,
            workers,
            std::time::Duration::from_secs(300),
            |send| {
                for (i, (p, s)) in jobs.iter().enumerate() {
                    assert!(send(i, p.clone(), s.clone()));
                }
                Ok::<(), ()>(())
            },
            &sink,
        )
        .unwrap()
        .unwrap();
        out.into_inner().unwrap()
    };
    let serial = compile(&sources, 1);
    sources.reverse();
    let parallel = compile(&sources, 3);
    assert!(serial == parallel, "1 worker in order vs 3 in reverse");
    for s in &sources {
        let alone = compile(std::slice::from_ref(s), 1);
        assert!(alone[&s.0] == serial[&s.0], "{} alone", s.0);
    }
    // History: a worker that first compiled a `from m import *` (which interns "*").
    let mut with_star = vec![(
        "/var/task/star.py".to_string(),
        b"from os import *\n".to_vec(),
    )];
    with_star.extend(sources.iter().cloned());
    let after_star = compile(&with_star, 1);
    for s in &sources {
        assert!(after_star[&s.0] == serial[&s.0], "{} after import *", s.0);
    }
    // And they are what py_compile writes for the same dfile, once one-character strings are
    // interned as the driver does.
    let t = tempfile::tempdir().unwrap();
    let cfile = t.path().join("out.pyc");
    let code = format!(
        "import sys, py_compile; [sys.intern(chr(i)) for i in range(256)]; py_compile.compile({:?}, cfile={:?}, dfile='/var/lang/lib/python3.12/typing.py', doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)",
        lib.join("typing.py").display(),
        cfile.display()
    );
    ok(Command::new(py312()).args(["-c", &code]));
    assert!(
        fs::read(&cfile).unwrap() == serial["/var/lang/lib/python3.12/typing.py"],
        "py_compile"
    );
}

/// Processes whose environment names `marker` (the fake base's directory): the interpreter and
/// every child it forked.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let env = fs::read(e.path().join("environ")).unwrap_or_default();
        if String::from_utf8_lossy(&env).contains(marker) {
            out.push(pid);
        }
    }
    out
}

/// Waits (bounded) until no process names `marker`; returns those left.
fn gone(marker: &str) -> Vec<u32> {
    for _ in 0..100 {
        let left = processes_with(marker);
        if left.is_empty() {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    processes_with(marker)
}

/// A base whose Python hangs: at start-up (its `encodings` sleeps), or while compiling one module
/// (a codec it names sleeps). The real interpreter with the base's modules shadowed by
/// `PYTHONPATH` (a directory that also marks its processes).
fn hanging_python(dir: &Path, at_start: bool) -> impl Fn() -> Command + Sync {
    let enc = dir.join("encodings");
    if at_start {
        fs::create_dir_all(&enc).unwrap();
        fs::write(enc.join("__init__.py"), "import time\ntime.sleep(3600)\n").unwrap();
    } else {
        copy_tree(
            &crate::support::lambda_base::python().join("lib/python3.12/encodings"),
            &enc,
        );
        fs::write(enc.join("slowcodec.py"), "import time\ntime.sleep(3600)\n").unwrap();
    }
    let dir = dir.to_path_buf();
    move || {
        let mut c = Command::new(py312());
        c.env_clear()
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONPATH", &dir);
        c
    }
}

fn compile_with(
    make: &(dyn Fn() -> Command + Sync),
    timeout: std::time::Duration,
) -> Result<(), lamina_core::install::bytecode::pool::PoolError> {
    let jobs = [
        ("/var/task/fine.py", b"X = 1\n".to_vec()),
        (
            "/var/task/slow.py",
            b"# coding: slowcodec\nX = 1\n".to_vec(),
        ),
    ];
    lamina_core::install::bytecode::pool::run(
        make,
        12,
        1,
        timeout,
        |send| {
            for (i, (p, s)) in jobs.iter().enumerate() {
                if !send(i, p.to_string(), s.clone()) {
                    break;
                }
            }
            Ok::<(), ()>(())
        },
        &|_, _| {},
    )
    .unwrap()
    .map(|_| ())
}

/// A base whose interpreter hangs never hangs the build: start-up and each module have a
/// deadline, the error names the module, and the interpreter and its forked child are gone.
#[test]
fn a_hanging_interpreter_times_out_naming_the_module_and_leaves_no_process() {
    let t = tempfile::tempdir().unwrap();
    let at_start = t.path().join("hangs-at-start");
    let make = hanging_python(&at_start, true);
    let e = compile_with(&make, std::time::Duration::from_secs(2)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the base's interpreter took over 2 s to start"
    );
    assert_eq!(gone(&at_start.display().to_string()), Vec::<u32>::new());

    let in_compile = t.path().join("hangs-in-compile");
    let make = hanging_python(&in_compile, false);
    let e = compile_with(&make, std::time::Duration::from_secs(2)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the base's interpreter took over 2 s compiling /var/task/slow.py"
    );
    assert_eq!(gone(&in_compile.display().to_string()), Vec::<u32>::new());
}

/// Run by the next test in a process of its own, which it then kills with SIGKILL.
#[test]
#[ignore = "a helper: runs only when LAMINA_TEST_HANG_DIR is set"]
fn hang_helper() {
    if let Some(dir) = std::env::var_os("LAMINA_TEST_HANG_DIR") {
        let make = hanging_python(Path::new(&dir), false);
        let _ = compile_with(&make, std::time::Duration::from_secs(3600));
    }
}

/// A build killed with SIGKILL (a CI timeout) leaves no interpreter behind: the parent-death
/// signal takes the driver, which takes every child it forked.
#[test]
fn a_killed_build_leaves_no_interpreter_behind() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("killed");
    let marker = dir.display().to_string();
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "bytecode::hang_helper",
            "--ignored",
            "--nocapture",
        ])
        .env("LAMINA_TEST_HANG_DIR", &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The driver and its child compiling slow.py: two processes besides the helper.
    let mut seen = 0;
    for _ in 0..300 {
        seen = processes_with(&marker)
            .into_iter()
            .filter(|&p| p != helper.id())
            .count();
        if seen >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        seen >= 2,
        "the interpreter never started compiling ({seen})"
    );
    helper.kill().unwrap();
    helper.wait().unwrap();
    assert_eq!(gone(&marker), Vec::<u32>::new(), "orphans after SIGKILL");
}

/// The base's Python runs isolated: code added to its `encodings` (run at every start) can write
/// no file on the build machine, not even under /tmp, and reaches no port on the machine, while
/// the build still compiles. The compiler is set up as a build sets it up (`bytecode::lazy`).
#[test]
fn the_bases_python_writes_nothing_on_the_host_and_reaches_no_network() {
    use std::net::TcpListener;
    let t = tempfile::tempdir().unwrap();
    let image = lamina_core::oci::open(
        &lamina_core::oci::reference::ImageRef::Layout {
            dir: python_base().to_path_buf(),
            tag: Some("py312".into()),
        },
        &lamina_core::oci::Platform::linux_amd64(),
    )
    .unwrap();
    let cache = lamina_core::cache::Cache::open(&t.path().join("cache")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let escaped = t.path().join("escaped");
    let tmp_marker = format!("/tmp/lamina-sandbox-{}", std::process::id());
    let _ = fs::remove_file(&tmp_marker);
    // Unpack the base's interpreter into this cache, then add hostile code to its encodings.
    let b = lamina_core::install::bytecode::lazy(
        &image,
        None,
        &cache,
        1,
        std::time::Duration::from_secs(60),
    );
    let lamina_core::install::bytecode::Found::Python(interp) =
        lamina_core::install::bytecode::interp::for_image(
            &image,
            &cache.interpreters_dir(),
            &cache.tmp_dir(),
        )
        .unwrap()
    else {
        panic!("the base has a python")
    };
    let enc = interp
        .root
        .join("var/lang/lib/python3.12/encodings/__init__.py");
    let mut code = fs::read_to_string(&enc).unwrap();
    code += &format!(
        "\nfor _p in ({:?}, {:?}):\n    try:\n        open(_p, 'w').write('escaped')\n    except Exception:\n        pass\ntry:\n    import _socket\n    _s = _socket.socket()\n    _s.settimeout(2)\n    _s.connect(('127.0.0.1', {port}))\nexcept Exception:\n    pass\n",
        escaped.display().to_string(),
        tmp_marker
    );
    fs::write(&enc, code).unwrap();
    let compiler = b.compiler().unwrap().expect("python");
    let modules = [lamina_core::install::bytecode::Module {
        path: "var/task/m.py".into(),
        sha256: [7; 32],
    }];
    let (entries, stats) = compiler
        .compile(&modules, |_| {
            Ok::<_, lamina_core::install::bytecode::BytecodeError>(b"X = 1\n".to_vec())
        })
        .unwrap();
    assert_eq!((entries.len(), stats.compiled), (1, 1));
    assert!(
        !escaped.exists(),
        "the base's Python wrote {}",
        escaped.display()
    );
    assert!(
        !Path::new(&tmp_marker).exists(),
        "the base's Python wrote {tmp_marker}"
    );
    assert!(
        listener.accept().is_err(),
        "the base's Python connected to 127.0.0.1:{port}"
    );
    assert!(compiler.how.contains(", isolated ("), "{}", compiler.how);
}
