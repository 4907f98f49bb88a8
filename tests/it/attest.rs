//! Every pushed image carries its SBOM and provenance as OCI 1.1 referrers, never in an index the
//! image's tags name. The SBOMs are judged by the official tools (pyspdxtools, the CycloneDX
//! library's JSON schema validator) and their package list by `cyclonedx-py environment` over
//! pip's own `--target` install of the same wheels. Attaching, discovering and `verify` run
//! against the real docker-registry (the referrers tag schema) and against a registry that serves
//! the referrers API (the in-process fake: no such registry is installable here); a tampered or
//! missing attestation fails `verify`; a registry that refuses artifacts moves no tag. The image
//! pushed with its attestations still boots under awslambdaric in podman.

use crate::support::fake_registry::Fake;
use crate::support::lambda_run::{invoke_with, Podman, RunOptions};
use crate::support::registry::{put_blob, put_manifest, Auth, Registry};
use crate::support::*;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Command;

fn venv_bin(name: &str) -> std::path::PathBuf {
    moto::venv().join("bin").join(name)
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(b))
}

/// The example with the whole traffic-manager wheel set (34 real wheels) as its dependencies.
fn traffic_project(dir: &Path) -> std::path::PathBuf {
    let project = pushing_project(dir);
    let wheels = project.join("traffic-wheels");
    fs::create_dir_all(&wheels).unwrap();
    for e in fs::read_dir(crate::repro::traffic_wheels()).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().ends_with(".whl") {
            fs::copy(e.path(), wheels.join(e.file_name())).unwrap();
        }
    }
    drop_keys(&project, &["wheels"]);
    let toml = fs::read_to_string(project.join("lamina.toml")).unwrap();
    fs::write(
        project.join("lamina.toml"),
        format!("wheels = \"traffic-wheels\"\n{toml}"),
    )
    .unwrap();
    project
}

/// (name, version) of each Python distribution an SBOM lists, sorted.
fn listed(sbom: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = if sbom["spdxVersion"].is_string() {
        sbom["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| {
                p["externalRefs"][0]["referenceLocator"]
                    .as_str()
                    .is_some_and(|l| l.starts_with("pkg:pypi/"))
            })
            .map(|p| {
                (
                    p["name"].as_str().unwrap().into(),
                    p["versionInfo"].as_str().unwrap().into(),
                )
            })
            .collect()
    } else {
        sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "library")
            .map(|c| {
                (
                    c["name"].as_str().unwrap().into(),
                    c["version"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    out.sort();
    out
}

#[test]
fn the_sboms_pass_the_official_validators_and_list_what_pip_installs() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let project = traffic_project(t.path());
    let cache = t.path().join("cache");
    let (spdx, cdx) = (
        t.path().join("sbom.spdx.json"),
        t.path().join("sbom.cdx.json"),
    );
    let out = format!("oci:{}:x", t.path().join("out").display());
    for (file, format) in [(&spdx, "spdx"), (&cdx, "cyclonedx")] {
        ok(lamina(&project, &cache)
            .args([
                "build",
                "--missing-deps",
                "warn",
                "-o",
                &out,
                "--sbom-format",
                format,
                "--sbom",
            ])
            .arg(file));
    }
    // SPDX 2.3: the SPDX tools' validator.
    let o = run(Command::new(venv_bin("pyspdxtools")).arg("-i").arg(&spdx));
    assert!(
        o.status.success(),
        "pyspdxtools: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    // CycloneDX 1.6: the CycloneDX library's strict JSON schema validator.
    let o = run(Command::new(venv_bin("python")).args([
        "-c",
        "import sys\nfrom cyclonedx.validation.json import JsonStrictValidator\nfrom cyclonedx.schema import SchemaVersion\ne = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\nsys.exit(str(e) if e else 0)",
    ]).arg(&cdx));
    assert!(
        o.status.success(),
        "CycloneDX: {}{}",
        stdout(&o),
        stderr(&o)
    );

    // pip's own install of the same wheels, listed by cyclonedx-py.
    let target = t.path().join("target");
    ok(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-index",
        ])
        .args([
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
        ])
        .args([
            "--platform",
            "manylinux2014_x86_64",
            "--platform",
            "manylinux_2_17_x86_64",
            "--platform",
            "manylinux_2_28_x86_64",
        ])
        .arg("--target")
        .arg(&target)
        .args(
            fs::read_dir(project.join("traffic-wheels"))
                .unwrap()
                .map(|e| e.unwrap().path()),
        ));
    let bare = t.path().join("bare");
    ok(Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare));
    let env_bom = t.path().join("environment.json");
    ok(Command::new(venv_bin("cyclonedx-py"))
        .args(["environment", "--of", "JSON", "-o"])
        .arg(&env_bom)
        .arg(bare.join("bin/python"))
        .env("PYTHONPATH", &target));
    let pip: Value = serde_json::from_slice(&fs::read(&env_bom).unwrap()).unwrap();
    let mut want: Vec<(String, String)> = pip["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(want.len(), 34, "{want:?}");
    for file in [&spdx, &cdx] {
        let sbom: Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        assert_eq!(
            listed(&sbom),
            want,
            "{}: the names and versions pip installed",
            file.display()
        );
    }
    let sbom: Value = serde_json::from_slice(&fs::read(&spdx).unwrap()).unwrap();
    let ads = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "google-ads")
        .unwrap();
    assert_eq!(
        ads["externalRefs"][0]["referenceLocator"],
        "pkg:pypi/google-ads@34.0.0"
    );
    let wheel =
        fs::read(project.join("traffic-wheels/google_ads-34.0.0-py3-none-any.whl")).unwrap();
    assert_eq!(
        ads["checksums"][0]["checksumValue"],
        sha256_hex(&wheel).as_str(),
        "the wheel's sha256"
    );
    // Licenses as METADATA declares them: an SPDX expression where it gives (or maps to) one;
    // google-ads says only "Apache License" (no version): no SPDX guess, CycloneDX keeps the text.
    let license = |name: &str| {
        sbom["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["licenseDeclared"]
            .clone()
    };
    assert_eq!(license("grpcio"), "Apache-2.0", "License-Expression");
    assert_eq!(license("cryptography"), "Apache-2.0 OR BSD-3-Clause");
    assert_eq!(license("google-auth"), "Apache-2.0", "License: Apache 2.0");
    assert_eq!(ads["licenseDeclared"], "NOASSERTION");
    let cdx: Value = serde_json::from_slice(&fs::read(&cdx).unwrap()).unwrap();
    let ads = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "google-ads")
        .unwrap();
    assert_eq!(ads["licenses"][0]["license"]["name"], "Apache License");
}

/// A raw `GET /v2/<repo>/manifests/<reference>` from docker-registry.
fn manifest(reg: &Registry, repo: &str, reference: &str) -> (u16, Vec<u8>) {
    let r = reqwest::blocking::Client::new()
        .get(format!(
            "http://{}/v2/{repo}/manifests/{reference}",
            reg.addr
        ))
        .header(
            "Accept",
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
        )
        .send()
        .unwrap();
    (r.status().as_u16(), r.bytes().unwrap().to_vec())
}

#[test]
fn attestations_ride_the_referrers_tag_schema_verify_checks_them_and_the_image_still_boots() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let reg = Registry::start(Auth::None);
    let base = t.path().join("base");
    crate::support::lambda_base::build(&t.path().join("base-work"), &base);
    let project = pushing_project(t.path());
    let toml = fs::read_to_string(project.join("lamina.toml")).unwrap();
    let toml = toml.replace(
        &format!("base = \"oci:{}:python3.12\"", standin().display()),
        &format!("base = \"oci:{}:py312\"", base.display()),
    );
    fs::write(project.join("lamina.toml"), toml).unwrap();
    let cache = t.path().join("cache");
    let repo = "lambda/attested";
    let target = format!("{}/{repo}:v1", reg.addr);
    let sbom_file = t.path().join("sbom.json");
    let out = ok(lamina(&project, &cache)
        .args([
            "build", "--push", &target, "--tag", "latest", "--format", "json", "--sbom",
        ])
        .arg(&sbom_file));
    let report: Value = serde_json::from_str(&out).unwrap();
    let digest = report["digest"].as_str().unwrap().to_string();
    assert_eq!(report["referrers"], "referrers tag schema");
    let attached = report["attestations"].as_array().unwrap();
    let kinds: Vec<&str> = attached
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["sbom", "provenance"]);

    // The image's tags name the single-platform image manifest, never an index.
    for tag in ["v1", "latest"] {
        let (status, body) = manifest(&reg, repo, tag);
        assert_eq!(status, 200);
        let m: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            m["mediaType"], "application/vnd.oci.image.manifest.v1+json",
            "{tag}"
        );
        assert!(m.get("manifests").is_none() && m.get("artifactType").is_none());
        assert_eq!(format!("sha256:{}", sha256_hex(&body)), digest, "{tag}");
    }
    // The referrers tag: an index of the two artifacts, each about the image.
    let referrers_tag = digest.replace(':', "-");
    let (status, body) = manifest(&reg, repo, &referrers_tag);
    assert_eq!(status, 200);
    let index: Value = serde_json::from_slice(&body).unwrap();
    let listed: Vec<(&str, &str)> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["artifactType"].as_str().unwrap(),
                m["digest"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                "application/spdx+json",
                attached[0]["digest"].as_str().unwrap()
            ),
            (
                "application/vnd.in-toto+json",
                attached[1]["digest"].as_str().unwrap()
            )
        ]
    );
    let (_, artifact) = manifest(&reg, repo, attached[1]["digest"].as_str().unwrap());
    let artifact: Value = serde_json::from_slice(&artifact).unwrap();
    assert_eq!(artifact["subject"]["digest"], digest.as_str());
    assert_eq!(
        artifact["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );

    // `lamina sbom` prints the attached SBOM: the bytes --sbom wrote.
    let printed = ok(lamina(&project, &cache).args(["sbom", &target]));
    assert_eq!(
        printed.trim_end(),
        fs::read_to_string(&sbom_file).unwrap().trim_end()
    );
    let o = run(lamina(&project, &cache).args(["sbom", &target, "--format", "cyclonedx"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no cyclonedx SBOM is attached")
            && stderr(&o).contains("hint: it has application/spdx+json"),
        "{}",
        stderr(&o)
    );

    // verify: the image and both attestations equal the rebuild's.
    let o = run(lamina(&project, &cache).args(["verify", &target]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the attached sbom") && stderr(&o).contains("the attached provenance"),
        "{}",
        stderr(&o)
    );

    // Tampered: the SBOM in the referrers index replaced by one that claims another version.
    let doc = fs::read_to_string(&sbom_file)
        .unwrap()
        .replace("\"versionInfo\": \"3.0.2\"", "\"versionInfo\": \"3.0.3\"");
    assert!(doc.contains("3.0.3"), "the example's MarkupSafe is 3.0.2");
    let doc_digest = put_blob(&reg.addr, repo, doc.as_bytes());
    let empty = put_blob(&reg.addr, repo, b"{}");
    let mut forged: Value =
        serde_json::from_slice(&manifest(&reg, repo, attached[0]["digest"].as_str().unwrap()).1)
            .unwrap();
    forged["layers"][0]["digest"] = doc_digest.clone().into();
    forged["layers"][0]["size"] = doc.len().into();
    assert_eq!(forged["config"]["digest"], empty.as_str());
    let forged = serde_json::to_vec(&forged).unwrap();
    let forged_digest = format!("sha256:{}", sha256_hex(&forged));
    put_manifest(
        &reg.addr,
        repo,
        &forged_digest,
        &forged,
        "application/vnd.oci.image.manifest.v1+json",
    );
    let mut tampered = index.clone();
    tampered["manifests"][0]["digest"] = forged_digest.clone().into();
    tampered["manifests"][0]["size"] = forged.len().into();
    put_manifest(
        &reg.addr,
        repo,
        &referrers_tag,
        &serde_json::to_vec(&tampered).unwrap(),
        "application/vnd.oci.image.index.v1+json",
    );
    let o = run(lamina(&project, &cache).args(["verify", &target]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "the attached sbom {forged_digest} differs from the rebuild's: packages["
        )) && stderr(&o).contains(r#""3.0.2" from these inputs, "3.0.3" attached"#),
        "{}",
        stderr(&o)
    );

    // Missing: the referrers index emptied.
    let mut none = index.clone();
    none["manifests"] = serde_json::json!([]);
    put_manifest(
        &reg.addr,
        repo,
        &referrers_tag,
        &serde_json::to_vec(&none).unwrap(),
        "application/vnd.oci.image.index.v1+json",
    );
    let o = run(lamina(&project, &cache).args(["verify", &target]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no SBOM is attached") && stderr(&o).contains("--no-attest"),
        "{}",
        stderr(&o)
    );
    let o = run(lamina(&project, &cache).args(["verify", &target, "--no-attest"]));
    assert!(o.status.success(), "{}", stderr(&o));

    // Mislabelled: the SBOM's entry names the provenance's manifest; `sbom` refuses to print it.
    let mut swapped = index.clone();
    swapped["manifests"][0]["digest"] = attached[1]["digest"].clone();
    swapped["manifests"][0]["size"] = index["manifests"][1]["size"].clone();
    // And another tool's entry (no lamina annotation), which a push must keep.
    let foreign = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": forged_digest,
        "size": forged.len(),
        "artifactType": "application/vnd.example.scan+json",
        "annotations": {"org.example.tool": "scanner"},
    });
    swapped["manifests"]
        .as_array_mut()
        .unwrap()
        .insert(0, foreign.clone());
    put_manifest(
        &reg.addr,
        repo,
        &referrers_tag,
        &serde_json::to_vec(&swapped).unwrap(),
        "application/vnd.oci.image.index.v1+json",
    );
    let o = run(lamina(&project, &cache).args(["sbom", &target]));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("the referrers list says application/spdx+json, the manifest is application/vnd.in-toto+json"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty(), "nothing printed");
    // Pushing again repairs lamina's own entries and keeps the other tool's as it was.
    ok(lamina(&project, &cache).args(["build", "--push", &target, "--tag", "latest"]));
    let (_, body) = manifest(&reg, repo, &referrers_tag);
    let repaired: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(repaired["manifests"][0], foreign, "{repaired}");
    assert_eq!(
        repaired["manifests"].as_array().unwrap().len(),
        3,
        "{repaired}"
    );
    let o = run(lamina(&project, &cache).args(["verify", &target]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(lamina(&project, &cache).args(["verify", &target, "--sbom", "x.json"]));
    assert_eq!(
        o.status.code(),
        Some(2),
        "verify writes nothing: {}",
        stderr(&o)
    );

    // Lambda's view: the tag still runs under awslambdaric.
    let podman = Podman::new(&t.path().join("podman"));
    ok(podman
        .cmd()
        .args(["pull", "--tls-verify=false", &format!("docker://{target}")]));
    let answer = invoke_with(
        &podman,
        &target,
        "src.functions.reports.daily.handler",
        r#"{"day": "2026-12-05"}"#,
        &RunOptions::default(),
    )
    .unwrap_or_else(|e| panic!("the pushed image did not run: {e:?}"));
    assert!(answer.body.contains("2026-12-05"), "{}", answer.body);
}

#[test]
fn attestations_use_the_referrers_api_where_the_registry_has_one() {
    let fake = Fake::start();
    fake.with(|s| s.faults.referrers_api = true);
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let cache = t.path().join("cache");
    let target = format!("{}/team/app:v1", fake.addr);
    let out = ok(lamina(&project, &cache).args([
        "build",
        "--push",
        &target,
        "--format",
        "json",
        "--no-remote-cache",
    ]));
    let report: Value = serde_json::from_str(&out).unwrap();
    let digest = report["digest"].as_str().unwrap().to_string();
    assert_eq!(report["referrers"], "referrers API");
    assert_eq!(report["attestations"].as_array().unwrap().len(), 2);
    assert_eq!(
        fake.tag("team/app", "v1").as_deref(),
        Some(digest.as_str()),
        "the tag names the image"
    );
    assert!(
        fake.tag("team/app", &digest.replace(':', "-")).is_none(),
        "no referrers tag on a registry with the API"
    );
    assert_eq!(
        fake.count("GET", "/referrers/"),
        0,
        "a push only reads OCI-Subject"
    );
    let printed = ok(lamina(&project, &cache).args(["sbom", &target]));
    assert!(
        printed.contains("\"spdxVersion\": \"SPDX-2.3\""),
        "{printed}"
    );
    let o = run(lamina(&project, &cache).args(["verify", &target]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(referrers API)"), "{}", stderr(&o));
    assert!(fake.count("GET", &format!("/v2/team/app/referrers/{digest}")) >= 2);
}

#[test]
fn a_registry_that_refuses_artifacts_moves_no_tag_and_no_attest_pushes_none() {
    let fake = Fake::start();
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let cache = t.path().join("cache");
    let target = format!("{}/team/app:v1", fake.addr);
    let first = ok(lamina(&project, &cache).args([
        "build",
        "--push",
        &target,
        "--no-attest",
        "--no-remote-cache",
    ]));
    let first = first.trim().rsplit('@').next().unwrap().to_string();
    assert!(
        fake.with(|s| s
            .manifests
            .values()
            .all(|(b, _)| !String::from_utf8_lossy(b).contains("artifactType"))),
        "--no-attest pushes no artifact"
    );
    fake.with(|s| s.faults.refuse_artifacts = true);
    let f = project.join("src/shared/responses.py");
    fs::write(&f, format!("{}# edited\n", fs::read_to_string(&f).unwrap())).unwrap();
    let o = run(lamina(&project, &cache).args(["build", "--push", &target, "--no-remote-cache"]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("attaching the SBOM and provenance (OCI referrers); no tag was moved"),
        "{err}"
    );
    assert!(
        err.contains("hint:") && err.contains("--no-attest"),
        "{err}"
    );
    assert_eq!(
        fake.tag("team/app", "v1").as_deref(),
        Some(first.as_str()),
        "v1 still names the first image"
    );
    let before = fake.count("PUT", "/manifests/");
    for (args, why) in [
        (
            vec!["--sbom", "missing-dir/sbom.json"],
            "is in a directory that does not exist",
        ),
        (vec!["--sbom", "."], "is a directory"),
        (
            vec!["--sbom", "same.json", "--provenance", "same.json"],
            "is also the --sbom file",
        ),
    ] {
        let o = run(lamina(&project, &cache)
            .args([
                "build",
                "--push",
                &target,
                "--no-remote-cache",
                "--no-attest",
            ])
            .args(&args));
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).contains(why) && stderr(&o).contains("hint:"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(
        fake.count("PUT", "/manifests/"),
        before,
        "a bad --sbom path pushes nothing"
    );
    assert!(stdout(&o).is_empty(), "no result line for a failed push");
}

/// `--sbom` through a symlink writes the file it names (the link stays), and a new file is
/// readable by others (0644), as any build output.
#[test]
fn local_documents_are_written_through_links_and_readable() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let real = t.path().join("real.json");
    fs::write(&real, "old").unwrap();
    let link = t.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let prov = t.path().join("provenance.json");
    ok(lamina(&project, &t.path().join("cache"))
        .args(["build", "--sbom"])
        .arg(&link)
        .arg("--provenance")
        .arg(&prov));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(&real).unwrap().contains("SPDX-2.3"));
    assert_eq!(
        fs::metadata(&prov).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let p: Value = serde_json::from_slice(&fs::read(&prov).unwrap()).unwrap();
    assert_eq!(p["predicateType"], "https://slsa.dev/provenance/v1");
}
