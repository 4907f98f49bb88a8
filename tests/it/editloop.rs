//! The edit loop's local facts cache: after a source edit, a warm rebuild plans the dependency
//! layer and runs the gate from what the first build learned (file list, RECORD hashes, ELF
//! needs, METADATA, parsed dependency modules) and from the wheel hashes kept by file stat, so it
//! opens no wheel (counted through the debug-only `READ_WHEEL` hook) and gives the digest a cold
//! build gives. A damaged facts entry is a miss with a warning.

use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};

struct Loop {
    t: tempfile::TempDir,
    project: PathBuf,
    reads: PathBuf,
}

fn setup() -> Loop {
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    // A handler that imports a dependency, so the gate parses a module from a wheel.
    let f = project.join("src/functions/campaign/orchestrator.py");
    let text = fs::read_to_string(&f).unwrap();
    fs::write(&f, format!("import dotenv\n{text}")).unwrap();
    let reads = t.path().join("wheel-reads");
    Loop { t, project, reads }
}

impl Loop {
    /// Builds into `oci:<tmp>/<tag>` with `cache`; returns (digest, stderr, wheel reads).
    fn build(&self, cache: &Path, tag: &str) -> (String, String, usize) {
        let _ = fs::remove_file(&self.reads);
        let out = self.t.path().join("out");
        let o = run(lamina(&self.project, cache)
            .args(["build", "-o", &format!("oci:{}:{tag}", out.display())])
            .env(
                "LAMINA_TEST_HOOK_READ_WHEEL",
                format!("echo r >> {}", self.reads.display()),
            ));
        assert!(o.status.success(), "{}", stderr(&o));
        let reads = fs::read_to_string(&self.reads)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        (stdout(&o).trim().to_string(), stderr(&o), reads)
    }
    fn edit(&self) {
        let f = self.project.join("src/functions/reports/daily.py");
        let mut text = fs::read_to_string(&f).unwrap();
        text.push_str("\nEDITED = 1\n");
        fs::write(&f, text).unwrap();
    }
}

fn facts_files(cache: &Path) -> Vec<PathBuf> {
    fs::read_dir(cache.join("v1/facts"))
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

#[test]
fn a_warm_rebuild_after_a_source_edit_opens_no_wheel_and_gives_the_cold_digest() {
    let l = setup();
    let cache = l.t.path().join("cache");
    let (_, _, cold_reads) = l.build(&cache, "v1");
    assert!(cold_reads > 0, "the hook counts wheel reads");
    let facts = facts_files(&cache);
    assert_eq!(facts.len(), 1);
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&facts[0]).unwrap()).unwrap();
    assert!(
        v["modules"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("dotenv/")),
        "the gate's parse of the dependency module is kept: {}",
        v["modules"]
    );
    assert!(v["elf"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.starts_with("markupsafe/")));

    l.edit();
    let (warm, err, warm_reads) = l.build(&cache, "v2");
    assert_eq!(warm_reads, 0, "no wheel opened or hashed: {err}");
    assert!(
        err.contains("dependency layer from the cache, source layer written"),
        "{err}"
    );
    assert!(err.contains("passes the Lambda checks"), "{err}");
    let (cold, _, _) = l.build(&l.t.path().join("cold-cache"), "v3");
    assert_eq!(
        warm, cold,
        "the warm rebuild is the image a cold build makes"
    );

    // A wheel whose stat changed is hashed again (and, unchanged, still hits).
    let wheel = fs::read_dir(repo().join("fixtures/wheels/quickstart"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("python_dotenv"))
        .unwrap();
    let copy_dir = l.t.path().join("wheels");
    copy_tree(wheel.parent().unwrap(), &copy_dir);
    let toml = fs::read_to_string(l.project.join("lamina.toml")).unwrap();
    let toml: String = toml
        .lines()
        .map(|line| {
            if line.starts_with("wheels =") {
                format!("wheels = \"{}\"\n", copy_dir.display())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    fs::write(l.project.join("lamina.toml"), toml).unwrap();
    let (first, _, reads) = l.build(&cache, "v4");
    assert_eq!(first, cold);
    assert_eq!(
        reads, 2,
        "the two chosen wheels in a new directory: each hashed once, none opened"
    );
    let (_, _, reads) = l.build(&cache, "v5");
    assert_eq!(reads, 0);
}

#[test]
fn a_damaged_facts_entry_is_a_miss_with_a_warning() {
    let l = setup();
    let cache = l.t.path().join("cache");
    let (digest, _, _) = l.build(&cache, "v1");
    let facts = facts_files(&cache);
    fs::write(&facts[0], b"{\"version\": 1, \"wheels\": [tru").unwrap();
    let (again, err, reads) = l.build(&cache, "v2");
    assert_eq!(again, digest);
    assert!(
        err.contains("warning: the cached facts ") && err.contains("do not parse"),
        "{err}"
    );
    assert!(reads > 0, "the wheels were read again");
    // The entry was written again, whole.
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&facts[0]).unwrap()).unwrap();
    assert_eq!(v["version"], lamina_core::install::deps::facts::VERSION);
    let (_, err, reads) = l.build(&cache, "v3");
    assert_eq!(reads, 0, "{err}");
    assert!(!err.contains("warning: the cached facts"));
}

#[test]
fn the_gate_checks_each_so_as_the_layer_has_it_learned_while_writing_not_read_again() {
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let wheels = t.path().join("wheels");
    copy_tree(&repo().join("fixtures/wheels/quickstart"), &wheels);
    let toml = fs::read_to_string(project.join("lamina.toml")).unwrap();
    let toml: String = toml
        .lines()
        .map(|l| match l.starts_with("wheels =") {
            true => format!("wheels = \"{}\"\n", wheels.display()),
            false => format!("{l}\n"),
        })
        .collect();
    fs::write(project.join("lamina.toml"), toml).unwrap();
    let find = |arch: &str| {
        fs::read_dir(&wheels)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                n.starts_with("MarkupSafe") && n.contains(arch)
            })
            .unwrap()
    };
    // Once the layer is written, the x86_64 wheel's file gets the aarch64 wheel's bytes: a gate
    // that read the `.so` from the wheel again would judge bytes the layer does not hold.
    let swap = format!(
        "cp {} {}",
        find("aarch64").display(),
        find("x86_64").display()
    );
    let o = run(lamina(&project, &t.path().join("cache"))
        .args([
            "build",
            "-o",
            &format!("oci:{}:x", t.path().join("out").display()),
        ])
        .env("LAMINA_TEST_HOOK_BEFORE_GATE", swap));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("passes the Lambda checks"),
        "{}",
        stderr(&o)
    );
    let facts = facts_files(&t.path().join("cache"));
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&facts[0]).unwrap()).unwrap();
    let elf = &v["elf"]["markupsafe/_speedups.cpython-312-x86_64-linux-gnu.so"];
    assert_eq!(elf["Elf"]["machine"], "x86_64", "{}", v["elf"]);
}
