//! Cold start with bytecode, for real: the example with wheels that import heavily (boto3,
//! pydantic, requests, from PyPI via scripts/test.sh) is built on the CPython 3.12 stand-in
//! runtime base and run by podman with a read-only root under awslambdaric. CPython's own
//! `-v` trace (PYTHONVERBOSE) shows every module under /var/task coming from its `.pyc`; the same
//! image without bytecode compiles them all from source. `coldstart_benchmark` (ignored; run by
//! benches/coldstart.sh) measures Init time and compile time; it asserts nothing about time.

use crate::support::lambda_run::{invoke_with, Podman, RunOptions};
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the benchmark's handler imports: the issue's measurement (the traffic-manager set).
const BENCH: &str = "import boto3, requests, pydantic\nimport cryptography.fernet\nimport google.ads.googleads.client\n\n\ndef handler(event, context):\n    return {'ok': True}\n";

const HEAVY: &str = "import os, sys\nimport boto3, pydantic, requests\n\n\nclass Campaign(pydantic.BaseModel):\n    name: str\n\n\ndef handler(event, context):\n    mods = {}\n    for name in ('boto3', 'botocore.session', 'pydantic', 'requests', __name__):\n        m = sys.modules[name]\n        mods[name] = [m.__file__, m.__cached__, os.path.exists(m.__cached__)]\n    return {'modules': mods, 'campaign': Campaign(name=event['name']).name, 'requests': requests.__version__}\n";

fn heavy_wheels() -> PathBuf {
    let dir = match std::env::var_os("LAMINA_TEST_WHEELS") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lamina-test/wheels-heavy")
        }
    };
    assert!(
        dir.join(".complete").is_file(),
        "{} has no wheels; run scripts/test.sh (it downloads boto3, pydantic and requests)",
        dir.display()
    );
    dir
}

/// Builds the example (plus the heavy handler) into a docker-archive and loads it into podman.
fn build_and_load(t: &Path, podman: &Podman, base: &Path, tag: &str, extra: &[&str]) -> String {
    build_and_load_with(t, podman, base, tag, extra, HEAVY, &heavy_wheels())
}

fn build_and_load_with(
    t: &Path,
    podman: &Podman,
    base: &Path,
    tag: &str,
    extra: &[&str],
    handler: &str,
    wheels: &Path,
) -> String {
    let project = t.join(format!("project-{tag}"));
    copy_tree(&example(), &project);
    let _ = fs::remove_dir_all(project.join("build"));
    fs::write(project.join("src/functions/reports/heavy.py"), handler).unwrap();
    let archive = t.join(format!("{tag}.tar"));
    let o = run(lamina(&project, &t.join("cache"))
        .args(["build", "--base"])
        .arg(format!("oci:{}:py312", base.display()))
        .args([
            "--wheels",
            wheels.to_str().unwrap(),
            "--missing-deps",
            "warn",
        ])
        .args(["--handler", "src.functions.reports.heavy.handler", "-o"])
        .arg(format!(
            "docker-archive:{}:lambda/coldstart:{tag}",
            archive.display()
        ))
        .args(extra));
    assert!(o.status.success(), "{}", stderr(&o));
    let loaded = ok(podman.cmd().args(["load", "-i", archive.to_str().unwrap()]));
    assert!(
        loaded.contains(&format!("lambda/coldstart:{tag}")),
        "{loaded}"
    );
    fs::remove_file(archive).unwrap();
    format!("localhost/lambda/coldstart:{tag}")
}

/// (modules under /var/task loaded from .pyc, compiled from source) in a PYTHONVERBOSE trace.
fn loads(trace: &str) -> (usize, usize) {
    let from_pyc = trace
        .lines()
        .filter(|l| l.starts_with("# code object from '/var/task/") && l.ends_with(".pyc'"))
        .count();
    let from_source = trace
        .lines()
        .filter(|l| l.starts_with("# code object from /var/task/"))
        .count();
    (from_pyc, from_source)
}

#[test]
fn a_read_only_container_loads_every_module_from_bytecode() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("base");
    crate::support::lambda_base::build(&t.path().join("base-work"), &base);
    let podman = Podman::new(&t.path().join("podman"));
    let with = build_and_load(t.path(), &podman, &base, "with", &[]);
    let without = build_and_load(
        t.path(),
        &podman,
        &base,
        "without",
        &["--no-compile-bytecode"],
    );

    let trace = t.path().join("trace.txt");
    let opts = RunOptions {
        read_only: true,
        env: vec![("PYTHONVERBOSE".into(), "1".into())],
        stderr: Some(trace.clone()),
    };
    let handler = "src.functions.reports.heavy.handler";
    let answer = invoke_with(&podman, &with, handler, r#"{"name": "spring"}"#, &opts)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(v["campaign"], "spring", "{v}");
    for (name, m) in v["modules"].as_object().unwrap() {
        assert!(
            m[0].as_str().unwrap().starts_with("/var/task/"),
            "{name}: {m}"
        );
        assert!(
            m[1].as_str().unwrap().contains("/__pycache__/") && m[2] == true,
            "{name}: {m}"
        );
    }
    let (with_pyc, source) = loads(&fs::read_to_string(&trace).unwrap());
    assert!(
        with_pyc > 200,
        "boto3, botocore, pydantic, requests and the handler from .pyc: {with_pyc}"
    );
    assert_eq!(source, 0, "nothing under /var/task compiled from source");

    let _ = invoke_with(&podman, &without, handler, r#"{"name": "spring"}"#, &opts)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (pyc, source) = loads(&fs::read_to_string(&trace).unwrap());
    assert_eq!(pyc, 0, "no bytecode in the image without it");
    assert_eq!(source, with_pyc, "the same modules, each compiled at start");
    let _ = podman.cmd().args(["rmi", "-f", &with, &without]).output();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// benches/coldstart.sh: Init time with and without bytecode (read-only root, median of
/// `LAMINA_BENCH_RUNS`, default 7), and what compiling costs a build.
#[test]
#[ignore]
fn coldstart_benchmark() {
    let runs: usize = std::env::var("LAMINA_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let wheels = std::env::var_os("LAMINA_BENCH_WHEELS")
        .map(PathBuf::from)
        .unwrap_or_else(heavy_wheels);
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("base");
    // As on AWS, the base's standard library and runtime have their bytecode: only the image's
    // own modules differ between the two images.
    crate::support::lambda_base::build_with_stdlib_bytecode(&t.path().join("base-work"), &base);
    let podman = Podman::new(&t.path().join("podman"));
    let with = build_and_load_with(t.path(), &podman, &base, "with", &[], BENCH, &wheels);
    let without = build_and_load_with(
        t.path(),
        &podman,
        &base,
        "without",
        &["--no-compile-bytecode"],
        BENCH,
        &wheels,
    );
    let opts = RunOptions {
        read_only: true,
        ..Default::default()
    };
    let handler = "src.functions.reports.heavy.handler";
    let (mut a, mut b) = (Vec::new(), Vec::new());
    // One unmeasured run each: podman copies the image into its storage on the first run.
    for image in [&with, &without] {
        invoke_with(&podman, image, handler, r#"{"name": "x"}"#, &opts)
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    for _ in 0..runs {
        for (image, out) in [(&with, &mut a), (&without, &mut b)] {
            let r = invoke_with(&podman, image, handler, r#"{"name": "x"}"#, &opts)
                .unwrap_or_else(|e| panic!("{e:?}"));
            out.push(r.init.expect("container start and first /next were seen"));
        }
    }
    let (ma, mb) = (median(a.clone()), median(b.clone()));
    println!(
        "init_with_bytecode_runs_ms {:?}",
        a.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    println!(
        "init_without_bytecode_runs_ms {:?}",
        b.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    println!("init_with_bytecode_median_ms {}", ma.as_millis());
    println!("init_without_bytecode_median_ms {}", mb.as_millis());
    println!("init_ratio {:.2}", ma.as_secs_f64() / mb.as_secs_f64());
    let _ = podman.cmd().args(["rmi", "-f", &with, &without]).output();

    // Compile time on a wheel set (LAMINA_BENCH_WHEELS, default the heavy set): lamina's extra
    // time for bytecode (cold cache, then warm) against compileall -j 2 on pip's tree.
    let wheels = std::env::var_os("LAMINA_BENCH_WHEELS")
        .map(PathBuf::from)
        .unwrap_or_else(heavy_wheels);
    let project = example_copy(&t.path().join("compile"));
    let timed = |cache: &str, extra: &[&str]| {
        let start = Instant::now();
        let o = run(lamina(&project, &t.path().join(cache))
            .args(["build", "--base"])
            .arg(format!("oci:{}:py312", base.display()))
            .args([
                "--wheels",
                wheels.to_str().unwrap(),
                "--missing-deps",
                "warn",
                "-o",
            ])
            .arg(format!(
                "oci:{}:latest",
                t.path().join(format!("out-{cache}")).display()
            ))
            .args(extra));
        assert!(o.status.success(), "{}", stderr(&o));
        start.elapsed()
    };
    // Unpack the base's interpreter once (cached per base), so the timings below are compiling.
    timed("warmup", &[]);
    let interp = t.path().join("warmup/v1/interpreters");
    let (mut off, mut on, mut warm, mut warm_off) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..3 {
        off.push(timed(&format!("off{i}"), &["--no-compile-bytecode"]));
        warm_off.push(timed(&format!("off{i}"), &["--no-compile-bytecode"]));
        let cache = t.path().join(format!("on{i}"));
        fs::create_dir_all(cache.join("v1")).unwrap();
        copy_tree(&interp, &cache.join("v1/interpreters"));
        on.push(timed(&format!("on{i}"), &[]));
        warm.push(timed(&format!("on{i}"), &[]));
    }
    let pip_target = t.path().join("pip-target");
    let mut pip =
        std::process::Command::new(crate::support::lambda_base::python().join("bin/python3.12"));
    pip.args([
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        "--no-compile",
        "--target",
    ])
    .arg(&pip_target)
    .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    .env("PIP_ROOT_USER_ACTION", "ignore");
    for e in fs::read_dir(&wheels).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "whl") {
            pip.arg(p);
        }
    }
    ok(&mut pip);
    let mut compileall = Vec::new();
    for _ in 0..3 {
        for e in walkdir::WalkDir::new(&pip_target).contents_first(true) {
            let e = e.unwrap();
            if e.file_name() == "__pycache__" {
                fs::remove_dir_all(e.path()).unwrap();
            }
        }
        let start = Instant::now();
        let o = run(std::process::Command::new(
            crate::support::lambda_base::python().join("bin/python3.12"),
        )
        .args(["-m", "compileall", "-q", "-j", "2", "-s"])
        .arg(&pip_target)
        .args(["-p", "/var/task", "--invalidation-mode", "unchecked-hash"])
        .arg(&pip_target));
        compileall.push(start.elapsed());
        let _ = o;
    }
    let (off, on, warm, ca) = (median(off), median(on), median(warm), median(compileall));
    println!(
        "warm_rebuild_without_bytecode_median_s {:.2}",
        median(warm_off).as_secs_f64()
    );
    let added = on.saturating_sub(off);
    println!("build_without_bytecode_median_s {:.2}", off.as_secs_f64());
    println!("build_with_bytecode_median_s {:.2}", on.as_secs_f64());
    println!(
        "warm_rebuild_with_bytecode_median_s {:.2}",
        warm.as_secs_f64()
    );
    println!("compileall_j2_median_s {:.2}", ca.as_secs_f64());
    println!("compile_added_s {:.2}", added.as_secs_f64());
    println!(
        "compile_ratio_vs_compileall {:.2}",
        added.as_secs_f64() / ca.as_secs_f64()
    );
}
