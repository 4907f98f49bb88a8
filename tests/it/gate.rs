//! The Lambda gate: each finding on crafted inputs, reported with Lambda's own error names, and
//! nothing written or pushed when the image would fail.

use crate::support::wheelgen;

use crate::support::*;
use lamina_core::analysis::elf;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use wheelgen::WheelGen;

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
    fn run(&self, cmd: &str, base: &str, extra: &[&str]) -> Output {
        let out = format!("oci:{}:latest", self.out().display());
        let mut c = lamina(&self.project, &self.t.path().join("cache"));
        c.args([cmd, "--base", base]);
        if cmd == "build" {
            c.args(["-o", &out]);
        }
        run(c.args(extra))
    }
    fn standin(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", standin().display())
    }
    fn fails(&self, base: &str, extra: &[&str], needles: &[&str]) -> String {
        let o = self.run("build", base, extra);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
        }
        assert!(err.contains("nothing was written or pushed"), "{err}");
        assert!(!self.out().exists());
        err
    }
}

#[test]
fn handlers_resolve_as_awslambdaric_resolves_them() {
    let p = Proj::new();
    let base = p.standin("python3.12");
    p.fails(&base, &["--handler", "src.functions.campaign.orchestrator.handler", "--handler", "src.functions.nothere.handler"], &[
        "error[Runtime.ImportModuleError]: src.functions.nothere.handler (handler 2): Unable to import module 'src.functions.nothere': No module named 'src.functions.nothere'",
        "/var/task/src/functions/nothere.py",
    ]);
    p.fails(&base, &["--handler", "src.functions.campaign.orchestrator.main"], &[
        "error[Runtime.HandlerNotFound]: src.functions.campaign.orchestrator.main (the image's Cmd): Handler 'main' missing on module 'src.functions.campaign.orchestrator'",
    ]);
    p.fails(
        &base,
        &["--handler", "time.sleep"],
        &["error[Runtime.BuiltInModuleConflict]"],
    );
    let o = p.run("build", &base, &["--handler", "nodots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Runtime.MalformedHandlerName"),
        "{}",
        stderr(&o)
    );
    // Slash paths resolve too. The runtime's boto3 exists on an AWS base, but with only the
    // catalog's word for it (the stand-in has no Python) its attributes cannot be read: the
    // build goes on, and lamina does not say the image passes.
    let o = p.run(
        "build",
        &base,
        &[
            "--handler",
            "src/functions/reports/daily.handler",
            "--handler",
            "boto3.client",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning[cannot-verify]: boto3.client (handler 2): cannot verify: 'boto3' is provided by the base: its attributes are not read"), "{err}");
    assert!(
        err.contains("no Lambda error found (2 handlers, platform linux/amd64), but 1 thing could not be verified"),
        "{err}"
    );
    assert!(!err.contains("passes the Lambda checks"), "{err}");
    let o = p.run(
        "build",
        &base,
        &["--handler", "src/functions/reports/daily.handler"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the image passes the Lambda checks (1 handler, platform linux/amd64)")
    );
}

#[test]
fn lamina_check_writes_nothing() {
    let p = Proj::new();
    let o = p.run("check", &p.standin("python3.12"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("passes the Lambda checks (3 handlers"));
    assert!(stdout(&o).is_empty());
    assert!(!p.out().exists());
    let o = p.run("check", &p.standin("python3.12"), &["--handler", "src.x.y"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Runtime.ImportModuleError"));
}

/// The native library inside the real aarch64 MarkupSafe wheel.
fn aarch64_so() -> Vec<u8> {
    let f = repo().join("fixtures/wheels/wrong-target/MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl");
    let mut z = zip::ZipArchive::new(fs::File::open(f).unwrap()).unwrap();
    let name = z
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(".so"))
        .unwrap()
        .to_string();
    let mut out = Vec::new();
    z.by_name(&name).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// A library on this machine that needs a newer glibc than 2.26 (Debian 12 has 2.36).
fn newer_glibc_so() -> (PathBuf, (u32, u32)) {
    let mut dirs = vec![
        PathBuf::from("/usr/lib/x86_64-linux-gnu"),
        PathBuf::from("/lib/x86_64-linux-gnu"),
    ];
    dirs.retain(|d| d.is_dir());
    for d in dirs {
        let mut entries: Vec<PathBuf> = fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().contains(".so"))
            .collect();
        entries.sort();
        for p in entries {
            let Ok(meta) = fs::metadata(&p) else { continue };
            if !meta.is_file() || meta.len() > 4 << 20 {
                continue;
            }
            let bytes = fs::read(&p).unwrap();
            if let Ok(info) = elf::inspect(&bytes) {
                if info.max_glibc.is_some_and(|g| g > (2, 26)) && info.machine == "x86_64" {
                    return (p, info.max_glibc.unwrap());
                }
            }
        }
    }
    panic!("no library needing glibc > 2.26 found on this machine");
}

#[test]
fn binaries_for_the_wrong_machine_are_caught() {
    let p = Proj::new();
    // Tagged for x86_64, carrying aarch64 code (a mislabeled or hand-assembled wheel).
    WheelGen::new("markupsafe", "3.0.2", "cp312-cp312-manylinux_2_17_x86_64")
        .file("markupsafe/__init__.py", b"")
        .file(
            "markupsafe/_speedups.cpython-312-x86_64-linux-gnu.so",
            &aarch64_so(),
        )
        .write(&p.wheels());
    p.fails(&p.standin("python3.12"), &["--wheels", p.wheels().to_str().unwrap()], &[
        "error[Runtime.ImportModuleError]: /var/task/markupsafe/_speedups.cpython-312-x86_64-linux-gnu.so is aarch64 code; the function runs x86_64 (invalid ELF header / exec format error)",
    ]);
    // A macOS-style non-ELF .so.
    let q = Proj::new();
    WheelGen::new("fake", "1.0", "cp312-cp312-manylinux_2_17_x86_64")
        .file("fake/_x.so", b"\xcf\xfa\xed\xfe not elf")
        .write(&q.wheels());
    q.fails(
        &q.standin("python3.12"),
        &["--wheels", q.wheels().to_str().unwrap()],
        &["is not an ELF file (invalid ELF header)"],
    );
}

#[test]
fn arm64_builds_check_aarch64_binaries() {
    let p = Proj::new();
    let arm = "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl";
    fs::create_dir_all(p.wheels()).unwrap();
    fs::copy(
        repo().join("fixtures/wheels/wrong-target").join(arm),
        p.wheels().join(arm),
    )
    .unwrap();
    let o = p.run(
        "build",
        &p.standin("python3.12"),
        &[
            "--platform",
            "linux/arm64",
            "--wheels",
            p.wheels().to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("platform linux/arm64"));
}

#[test]
fn a_so_needing_a_newer_glibc_than_its_tag_promises() {
    let (lib, need) = newer_glibc_so();
    let p = Proj::new();
    WheelGen::new("liar", "1.0", "cp311-cp311-manylinux2014_x86_64")
        .file("liar/__init__.py", b"")
        .file(
            "liar/_native.cpython-311-x86_64-linux-gnu.so",
            &fs::read(&lib).unwrap(),
        )
        .write(&p.wheels());
    let msg = format!("/var/task/liar/_native.cpython-311-x86_64-linux-gnu.so needs GLIBC_{}.{}; the base has glibc 2.26", need.0, need.1);
    p.fails(
        &p.standin("python3.12-docker"),
        &[
            "--wheels",
            p.wheels().to_str().unwrap(),
            "--python",
            "3.11",
            "--glibc",
            "2.26",
        ],
        &[&msg, "version `GLIBC_"],
    );
    // On a base with a new enough glibc it is fine.
    let o = p.run(
        "build",
        &p.standin("python3.12-docker"),
        &[
            "--wheels",
            p.wheels().to_str().unwrap(),
            "--python",
            "3.11",
            "--glibc",
            "2.40",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = Path::new(&lib);
}

#[test]
fn missing_dependencies_are_reported() {
    let p = Proj::new();
    WheelGen::new("app_lib", "1.0", "py3-none-any")
        .file("app_lib/__init__.py", b"")
        .write(&p.wheels());
    // A wheel whose METADATA carries requirements, some with markers.
    let meta = "Metadata-Version: 2.1\nName: needy\nVersion: 1.0\nRequires-Dist: app-lib>=1.0\nRequires-Dist: requests (>=2)\nRequires-Dist: boto3\nRequires-Dist: pywin32 ; sys_platform == \"win32\"\nRequires-Dist: pysocks ; extra == \"socks\"\nRequires-Dist: importlib-metadata ; python_version < \"3.8\"\n";
    let g2 = WheelGen::new("needy", "1.0", "py3-none-any").file("needy/__init__.py", b"");
    write_with_metadata(&g2, &p.wheels(), meta);
    p.fails(&p.standin("python3.12"), &["--wheels", p.wheels().to_str().unwrap()], &[
        "error[Runtime.ImportModuleError]: needy 1.0 requires requests (>=2), which is neither among the wheels nor in the Lambda runtime",
    ]);
    let o = p.run(
        "build",
        &p.standin("python3.12"),
        &[
            "--wheels",
            p.wheels().to_str().unwrap(),
            "--missing-deps",
            "warn",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning[Runtime.ImportModuleError]: needy 1.0 requires requests"),
        "{err}"
    );
    for satisfied in [
        "boto3",
        "app-lib",
        "pywin32",
        "pysocks",
        "importlib-metadata",
    ] {
        assert!(
            !err.contains(&format!("requires {satisfied}")),
            "{satisfied} must not be reported: {err}"
        );
    }
    assert!(err.contains("largest in the dependency layer:"), "{err}");
}

/// Real PyPI metadata: googleapis-common-protos 1.66.0 requires `protobuf!=3.20.0,!=3.20.1,…,
/// <6.0.0.dev0,>=3.20.2`; protobuf 3.20.1 (a real wheel) is installed but not accepted, 5.29.3 is.
#[test]
fn a_wheel_whose_version_a_requirement_refuses_is_reported() {
    let p = Proj::new();
    fs::create_dir_all(p.wheels()).unwrap();
    let wheels = repo().join("fixtures/wheels");
    let protos = "googleapis_common_protos-1.66.0-py2.py3-none-any.whl";
    fs::copy(wheels.join("parity").join(protos), p.wheels().join(protos)).unwrap();
    let old = "protobuf-3.20.1-py2.py3-none-any.whl";
    fs::copy(wheels.join("unmet-version").join(old), p.wheels().join(old)).unwrap();
    let spec = "protobuf!=3.20.0,!=3.20.1,!=4.21.1,!=4.21.2,!=4.21.3,!=4.21.4,!=4.21.5,<6.0.0.dev0,>=3.20.2";
    let msg = format!("error[Runtime.ImportModuleError]: protobuf 3.20.1 does not satisfy {spec} (required by googleapis_common_protos 1.66.0)");
    // The one fetch line names the requirement too.
    let fix = format!(" {spec}\n");
    let fetch = "fetch every missing dependency at once: pip download";
    let base = p.standin("python3.12");
    let dir = p.wheels();
    let wheels_arg = ["--wheels", dir.to_str().unwrap()];
    let err = p.fails(&base, &wheels_arg, &[&msg, fetch, &fix]);
    assert!(!err.contains("neither among the wheels"), "{err}");
    // The version the requirement accepts passes.
    fs::remove_file(p.wheels().join(old)).unwrap();
    let good = "protobuf-5.29.3-cp38-abi3-manylinux2014_x86_64.whl";
    fs::copy(wheels.join("parity").join(good), p.wheels().join(good)).unwrap();
    let o = p.run("build", &base, &["--wheels", p.wheels().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("does not satisfy"), "{}", stderr(&o));
}

/// Writes a wheel whose own METADATA replaces the generator's default one.
fn write_with_metadata(g: &WheelGen, dir: &Path, meta: &str) -> PathBuf {
    let meta = meta.as_bytes().to_vec();
    let path = g.write(dir);
    // Re-pack: drop the generated METADATA and RECORD, add ours with a correct RECORD.
    let mut z = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
    let mut keep: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        if name.ends_with("/METADATA") || name.ends_with("/RECORD") {
            continue;
        }
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        keep.push((name, b));
    }
    drop(z);
    let di = g.dist_info();
    keep.push((format!("{di}/METADATA"), meta));
    let mut record = String::new();
    for (n, b) in &keep {
        record.push_str(&format!("{n},{},{}\n", wheelgen::record_hash(b), b.len()));
    }
    record.push_str(&format!("{di}/RECORD,,\n"));
    keep.push((format!("{di}/RECORD"), record.into_bytes()));
    let mut w = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    for (n, b) in keep {
        w.start_file(n, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, &b).unwrap();
    }
    w.finish().unwrap();
    path
}

#[test]
fn uncompressed_layer_types_in_the_base_are_refused() {
    let p = Proj::new();
    let base = p.t.path().join("base");
    copy_tree(&standin(), &base);
    // Make the Docker-typed base claim an uncompressed OCI layer (a mixed, unsupported manifest).
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(base.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "python3.12-docker")
        .unwrap();
    let old = entry["digest"].as_str().unwrap().to_string();
    let blob = |d: &str| {
        base.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(blob(&old)).unwrap()).unwrap();
    m["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
    let bytes = serde_json::to_vec(&m).unwrap();
    let new = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    fs::write(blob(&new), &bytes).unwrap();
    let text = fs::read_to_string(base.join("index.json"))
        .unwrap()
        .replace(&old, &new)
        .replace("\"size\":423", &format!("\"size\":{}", bytes.len()));
    fs::write(base.join("index.json"), text).unwrap();
    p.fails(&format!("oci:{}:python3.12-docker", base.display()), &[], &[
        "error[InvalidImage]: layer sha256:",
        "has media type application/vnd.oci.image.layer.v1.tar in a Docker manifest: uncompressed layers are rejected (UnsupportedImageLayerDetected)",
    ]);
}

#[test]
fn import_check_imports_the_handler_modules() {
    if lamina_core::gate::import_check::find_python(12).is_none() {
        panic!("the import check test needs a python3.12 (pyenv's 3.12 on this machine kind)");
    }
    let p = Proj::new();
    // A syntax error after the def and a missing import: the static check sees both now, and
    // importing the modules with a real CPython 3.12 agrees.
    fs::write(
        p.project.join("src/functions/reports/daily.py"),
        "def handler(event, context):\n    return 1\n\nx = (\n",
    )
    .unwrap();
    fs::write(
        p.project.join("src/functions/webhooks/receiver.py"),
        "import requests_that_are_missing\n\n\ndef handler(event, context):\n    return 1\n",
    )
    .unwrap();
    fs::write(
        p.project.join("src/functions/uses_boto.py"),
        "import boto3\n\n\ndef handler(event, context):\n    return 1\n",
    )
    .unwrap();
    let base = p.standin("python3.12");
    let o = p.run("check", &base, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[Runtime.UserCodeSyntaxError]: src.functions.reports.daily.handler (handler 2): Syntax error in module 'src.functions.reports.daily'"), "{err}");
    assert!(err.contains("(daily.py, line 5)"), "{err}");
    assert!(err.contains("error[Runtime.ImportModuleError]: src.functions.webhooks.receiver.handler (handler 3): Unable to import module 'src.functions.webhooks.receiver': No module named 'requests_that_are_missing' (/var/task/src/functions/webhooks/receiver.py:1)"), "{err}");
    let o = p.run(
        "check",
        &base,
        &[
            "--import-check",
            "--handler",
            "src.functions.campaign.orchestrator.handler",
            "--handler",
            "src.functions.reports.daily.handler",
            "--handler",
            "src.functions.webhooks.receiver.handler",
            "--handler",
            "src.functions.uses_boto.handler",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[Runtime.UserCodeSyntaxError]: Syntax error in module 'src.functions.reports.daily'"), "{err}");
    assert!(err.contains("error[Runtime.ImportModuleError]: Unable to import module 'src.functions.webhooks.receiver': No module named 'requests_that_are_missing'"), "{err}");
    assert!(err.contains("warning[Runtime.ImportModuleError]: Unable to import module 'src.functions.uses_boto': No module named 'boto3'") && err.contains("the Lambda runtime provides it"), "{err}");
    assert!(
        !err.contains("src.functions.campaign.orchestrator'"),
        "the good handler imports cleanly: {err}"
    );
    // Two from the static check, the same two from importing with CPython.
    assert_eq!(err.matches("error[").count(), 4, "{err}");
    assert_eq!(err.matches("(imported with ").count(), 3, "{err}");
}

/// An OCI layout whose one layer is `tar_bytes` (gzipped here), tagged `bad`.
fn layout_from_tar(dir: &Path, tar_bytes: Vec<u8>) -> String {
    use sha2::Digest as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    std::io::Write::write_all(&mut gz, &tar_bytes).unwrap();
    let gz = gz.finish().unwrap();
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&gz)));
    let diff_id = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&tar_bytes)));
    let blobs = dir.join("src-blobs");
    fs::create_dir_all(blobs.join("sha256")).unwrap();
    fs::write(blobs.join("sha256").join(&digest[7..]), &gz).unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/lambda-entrypoint.sh"]}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}});
    let layer = lamina_core::oci::Layer {
        descriptor: oci_spec::image::Descriptor::new(
            oci_spec::image::MediaType::ImageLayerGzip,
            gz.len() as u64,
            lamina_core::oci::parse_digest(&digest).unwrap(),
        ),
        diff_id: lamina_core::oci::parse_digest(&diff_id).unwrap(),
        uncompressed_size: None,
        file_count: None,
        blob: std::sync::Arc::new(lamina_core::oci::DirBlobs {
            dir: blobs,
            label: "test".into(),
            kind: lamina_core::oci::Origin::Local,
        }),
    };
    let image = lamina_core::oci::Image::from_parts(
        lamina_core::oci::Format::Oci,
        lamina_core::oci::canonical_json(&config),
        vec![layer],
        None,
    );
    lamina_core::oci::layout::write(&image, &dir.join("layout"), Some("bad")).unwrap();
    format!("oci:{}:bad", dir.join("layout").display())
}

fn tar_of(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        h.set_size(0);
        if kind.is_hard_link() {
            b.append_link(&mut h, path, link).unwrap();
        } else {
            b.append_data(&mut h, path, std::io::empty()).unwrap();
        }
    }
    b.into_inner().unwrap()
}

#[test]
fn base_layers_with_hard_links_or_missing_parents_are_refused() {
    use tar::EntryType::{Directory, Link, Regular};
    let p = Proj::new();
    let linked = layout_from_tar(
        &p.t.path().join("b1"),
        tar_of(&[
            ("usr/", Directory, ""),
            ("usr/a", Regular, ""),
            ("usr/b", Link, "usr/a"),
        ]),
    );
    p.fails(
        &linked,
        &["--python", "3.12", "--glibc", "2.34"],
        &[
            "error[InvalidImage]: base layer 1",
            "has hard links (e.g. /usr/b): ImageLayerFailure: UnsupportedImageLayerDetected",
        ],
    );
    let orphan = layout_from_tar(
        &p.t.path().join("b2"),
        tar_of(&[("opt/x/y.txt", Regular, "")]),
    );
    p.fails(
        &orphan,
        &["--python", "3.12", "--glibc", "2.34"],
        &["MissingParentDirectory: Parent directory does not exist for file /opt/x/y.txt"],
    );
    let fine = layout_from_tar(
        &p.t.path().join("b3"),
        tar_of(&[
            ("opt/", Directory, ""),
            ("opt/x/", Directory, ""),
            ("opt/x/y.txt", Regular, ""),
        ]),
    );
    let o = p.run("check", &fine, &["--python", "3.12", "--glibc", "2.34"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
