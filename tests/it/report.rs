//! What CI reads: `--format json` prints one document on stdout whether the image passes, fails
//! the gate, or the build fails, and every document matches `schema/report.schema.json`; the
//! size report names the wheel behind each project, calls out what a wheel put at the top of
//! /var/task outside its packages, and gives exact uncompressed sizes.

use crate::support::schema;
use crate::support::wheelgen;

use crate::support::*;
use std::fs;
use std::io::Read;
use std::path::PathBuf;
use wheelgen::WheelGen;

/// The example, on the stand-in base by absolute path.
fn project(t: &tempfile::TempDir) -> PathBuf {
    let p = example_copy(t.path());
    let toml = fs::read_to_string(p.join("lamina.toml")).unwrap();
    let toml: String = toml
        .lines()
        .filter(|l| !l.starts_with("base ="))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(
        p.join("lamina.toml"),
        format!("base = \"oci:{}:python3.12\"\n{toml}", standin().display()),
    )
    .unwrap();
    p
}

fn json(o: &std::process::Output) -> serde_json::Value {
    let text = stdout(o);
    schema::validate(&text);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn check_prints_one_valid_document_when_it_passes() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let o = run(lamina(&p, &t.path().join("cache")).args(["check", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let d = json(&o);
    assert_eq!(d["schema_version"], 1);
    assert_eq!(d["command"], "check");
    assert_eq!(d["result"], "pass");
    assert_eq!(d["verified"], true);
    assert_eq!(d["counts"]["errors"], 0);
    assert_eq!(d["handlers"].as_array().unwrap().len(), 3);
    assert_eq!(d["python"]["version"], "3.12");
    // The stand-in base is a local layout: its size is known exactly, so the total is too.
    let total = d["uncompressed_size"].as_u64().expect("exact total");
    let sum: u64 = d["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["uncompressed_size"].as_u64().unwrap())
        .sum();
    assert_eq!(total, sum);
    assert!(d["timings_ms"]["gate"].is_u64() && d["timings_ms"]["write"].is_null());
    assert!(!p.join("build").exists(), "check writes nothing");
}

#[test]
fn a_gate_failure_is_a_document_with_every_finding() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    fs::write(
        p.join("src/functions/reports/daily.py"),
        "import yaml\n\n\ndef handler(event, context):\n    return 1\n",
    )
    .unwrap();
    for cmd in ["build", "check"] {
        let o = run(lamina(&p, &t.path().join("cache")).args([
            cmd,
            "--format",
            "json",
            "--handler",
            "src.functions.campaign.orchestrator.handler",
            "--handler",
            "src.functions.reports.daily.handler",
            "--handler",
            "src.functions.campaign.orchestrator.missing",
        ]));
        assert_eq!(o.status.code(), Some(1), "exit codes are unchanged");
        let d = json(&o);
        assert_eq!(d["command"], cmd);
        assert_eq!(d["result"], "fail");
        assert!(d["error"].is_null());
        assert_eq!(d["counts"]["errors"], 2);
        let f = d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["handler"] == "src.functions.reports.daily.handler")
            .unwrap();
        assert_eq!(f["severity"], "error");
        assert_eq!(f["code"], "Runtime.ImportModuleError");
        assert_eq!(f["lambda_error"], "Runtime.ImportModuleError");
        assert_eq!(f["file"], "/var/task/src/functions/reports/daily.py");
        assert_eq!(f["line"], 1);
        assert!(f["message"].as_str().unwrap().contains(
            "Unable to import module 'src.functions.reports.daily': No module named 'yaml'"
        ));
        assert!(f["hint"].as_str().unwrap().contains("pyyaml"));
        assert!(d["fix"].as_str().unwrap().contains("pyyaml"));
        let nf = d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "Runtime.HandlerNotFound")
            .unwrap();
        assert_eq!(nf["handler"], "src.functions.campaign.orchestrator.missing");
        assert_eq!(
            nf["file"],
            "/var/task/src/functions/campaign/orchestrator.py"
        );
    }
    assert!(!p.join("build").exists());
}

#[test]
fn a_build_error_is_a_document_with_message_and_hint() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    fs::write(p.join("requirements.txt"), "requests\n").unwrap();
    let o = run(lamina(&p, &t.path().join("cache")).args([
        "build",
        "--format",
        "json",
        "--wheels",
        "requirements.txt",
    ]));
    assert_eq!(o.status.code(), Some(1));
    let d = json(&o);
    assert_eq!(d["result"], "error");
    let msg = d["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("requirements.txt: a requirements file, not a directory of wheels"),
        "{msg}"
    );
    assert!(d["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("pip download"));
    assert!(d["sizes"].is_null() && d["findings"].as_array().unwrap().is_empty());
    // The same error on stderr, for people.
    assert!(stderr(&o).contains("a requirements file, not a directory of wheels"));
}

#[test]
fn a_successful_build_keeps_its_fields_and_adds_the_report() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let o = run(lamina(&p, &t.path().join("cache")).args(["build", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let d = json(&o);
    assert_eq!(d["result"], "pass");
    for k in [
        "image",
        "digest",
        "repository",
        "tags",
        "output",
        "platform",
        "media_type",
        "handlers",
        "compressed_size",
        "uncompressed_size",
        "layers",
    ] {
        assert!(d.get(k).is_some(), "{k} missing");
    }
    assert_eq!(d["image"], d["digest"]);
    assert!(d["timings_ms"]["write"].is_u64());
    assert_eq!(d["cache"]["layers"][0]["reused"], false);
    let o = run(lamina(&p, &t.path().join("cache")).args(["build", "--format", "json"]));
    let again = json(&o);
    assert_eq!(again["cache"]["layers"][0]["reused"], true);
    assert_eq!(again["digest"], d["digest"]);
}

/// Decompressed size of a gzip blob.
fn tar_size(blob: &std::path::Path) -> u64 {
    let mut gz = flate2::read::GzDecoder::new(fs::File::open(blob).unwrap());
    let mut n = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = gz.read(&mut buf).unwrap();
        if k == 0 {
            return n;
        }
        n += k as u64;
    }
}

#[test]
fn sizes_per_project_with_the_wheel_and_exact_uncompressed_totals() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let wheels = t.path().join("wheels");
    WheelGen::new("sloppy_sdk", "2.1.0", "py3-none-any")
        .file("sloppy_sdk/__init__.py", b"VERSION = '2.1.0'\n")
        .file("sloppy_sdk/client.py", &vec![b'#'; 30_000])
        .file("examples/basic.py", &vec![b'#'; 5_000])
        .file("examples/advanced.py", &vec![b'#'; 5_000])
        .file("tests/test_client.py", b"def test(): pass\n")
        .file("README.md", b"# sloppy\n")
        .write(&wheels);
    fs::copy(
        repo().join("fixtures/wheels/parity/jmespath-1.0.1-py3-none-any.whl"),
        wheels.join("jmespath-1.0.1-py3-none-any.whl"),
    )
    .unwrap();
    let out = t.path().join("out");
    let o = run(lamina(&p, &t.path().join("cache")).args([
        "build",
        "--format",
        "json",
        "--wheels",
        wheels.to_str().unwrap(),
        "-o",
        &format!("oci:{}:v1", out.display()),
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let d = json(&o);
    let projects = d["sizes"]["projects"].as_array().unwrap();
    let sloppy = projects
        .iter()
        .find(|p| p["project"] == "sloppy_sdk")
        .unwrap();
    assert_eq!(sloppy["wheel"], "sloppy_sdk-2.1.0-py3-none-any.whl");
    assert_eq!(sloppy["version"], "2.1.0");
    let outside: Vec<&str> = sloppy["outside_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert_eq!(outside, ["README.md", "examples/", "tests/"]);
    let examples = &sloppy["outside_packages"][1];
    assert_eq!(
        (examples["bytes"].as_u64(), examples["files"].as_u64()),
        (Some(10_000), Some(2))
    );
    let jp = projects
        .iter()
        .find(|p| p["project"] == "jmespath")
        .unwrap();
    assert_eq!(jp["wheel"], "jmespath-1.0.1-py3-none-any.whl");
    assert!(
        jp["outside_packages"].as_array().unwrap().is_empty(),
        "{jp}"
    );
    assert!(sloppy["bytes"].as_u64().unwrap() > 40_000);
    assert!(err.contains("largest in the dependency layer: jmespath 1.0.1 (jmespath-1.0.1-py3-none-any.whl) 68.2 KiB, sloppy_sdk 2.1.0 (sloppy_sdk-2.1.0-py3-none-any.whl)"), "{err}");
    assert!(err.contains("note: sloppy_sdk 2.1.0 (sloppy_sdk-2.1.0-py3-none-any.whl) put examples/ (9.8 KiB, 2 files) at the top of /var/task, outside its own packages"), "{err}");
    // Exact: every layer's uncompressed size is its tar's size, read back from the written image.
    let (_, blobs) = layout_manifest(&out, "v1");
    let sizes: Vec<u64> = blobs.iter().map(|b| tar_size(b)).collect();
    let reported: Vec<u64> = d["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["uncompressed_size"].as_u64().unwrap())
        .collect();
    assert_eq!(reported, sizes);
    assert_eq!(
        d["uncompressed_size"].as_u64().unwrap(),
        sizes.iter().sum::<u64>()
    );
    assert_eq!(d["sizes"]["uncompressed_total"], d["uncompressed_size"]);
    assert!(
        err.contains("uncompressed (<0.1% of Lambda's 10 GB)"),
        "{err}"
    );
    // One unit style on stderr, timings and cache use.
    assert!(!err.contains(" bytes)"), "{err}");
    assert!(
        err.contains("lamina: time: resolve ")
            && err.contains(", layers ")
            && err.contains(", gate ")
            && err.contains(", write "),
        "{err}"
    );
    assert!(
        err.contains(
            "lamina: cache: dependency layer written, source layer written; base layers local 1/1"
        ),
        "{err}"
    );
}
