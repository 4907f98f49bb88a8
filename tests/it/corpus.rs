//! No false pass on the packages people ship: a corpus of real wheels (tests/corpus/requirements.txt,
//! pinned by hash, fetched by scripts/test.sh), one handler per package that imports it and touches
//! one name at module level, and the same handler misspelled. The judge is the real runtime:
//! every handler runs under awslambdaric in podman on the stand-in base (a real CPython 3.12 and
//! only the libraries it needs), and lamina's verdict for it (`lamina check --format json`) must
//! agree: 0 false passes, 0 false failures, at most 10 % cannot-verify. The table is written to
//! corpus-table.md in the test target directory (`CARGO_TARGET_TMPDIR`; docs/gate.md shows it).

use crate::support::lambda_run::{invoke_each, Podman};
use crate::support::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The corpus' wheels (`LAMINA_TEST_CORPUS_WHEELS`, else scripts/test.sh's cache).
fn corpus_wheels() -> PathBuf {
    let dir = match std::env::var_os("LAMINA_TEST_CORPUS_WHEELS") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lamina-test/wheels-corpus")
        }
    };
    assert!(
        dir.join(".complete").is_file(),
        "{} has no wheels; run scripts/test.sh (it downloads the corpus)",
        dir.display()
    );
    dir
}

/// (project, module under src/corpus, its source). Each touches one name at module level.
const CASES: &[(&str, &str, &str)] = &[
    (
        "pydantic",
        "pydantic_model",
        "from pydantic import BaseModel\n\nclass Item(BaseModel):\n    name: str\n",
    ),
    (
        "numpy",
        "numpy_array",
        "import numpy\n\nZERO = numpy.zeros(3)\n",
    ),
    (
        "pandas",
        "pandas_frame",
        "import pandas as pd\n\nFrame = pd.DataFrame\n",
    ),
    ("Pillow", "pillow_image", "from PIL import Image\n"),
    ("lxml", "lxml_etree", "from lxml import etree\n"),
    ("orjson", "orjson_dumps", "from orjson import dumps\n"),
    (
        "cryptography",
        "crypto_ed25519",
        "from cryptography.hazmat.primitives.asymmetric import ed25519\n",
    ),
    (
        "psycopg2-binary",
        "psycopg2_connect",
        "from psycopg2 import connect\n",
    ),
    (
        "opencv-python-headless",
        "cv2_headless",
        "import cv2\n\nVERSION = cv2.__version__\n",
    ),
    (
        "SQLAlchemy",
        "sqlalchemy_engine",
        "from sqlalchemy import create_engine\n",
    ),
    ("httpx", "httpx_client", "from httpx import Client\n"),
    ("Jinja2", "jinja2_template", "from jinja2 import Template\n"),
    (
        "MarkupSafe",
        "markupsafe_escape",
        "from markupsafe import escape\n",
    ),
    ("PyYAML", "yaml_safe_load", "from yaml import safe_load\n"),
    (
        "aws-lambda-powertools",
        "powertools_logger",
        "from aws_lambda_powertools import Logger\n",
    ),
    (
        "requests",
        "requests_session",
        "from requests import Session\n",
    ),
    (
        "grpcio",
        "grpc_channel",
        "import grpc\n\nChannel = grpc.insecure_channel\n",
    ),
    (
        "protobuf",
        "protobuf_struct",
        "from google.protobuf import struct_pb2\n",
    ),
    (
        "google-ads",
        "google_ads_client",
        "from google.ads.googleads.client import GoogleAdsClient\n",
    ),
    ("boto3", "boto3_session", "from boto3 import Session\n"),
    (
        "simplejson",
        "simplejson_dumps",
        "from simplejson import dumps\n",
    ),
    ("ujson", "ujson_dumps", "from ujson import dumps\n"),
    (
        "python-dotenv",
        "dotenv_load",
        "from dotenv import load_dotenv\n",
    ),
    ("attrs", "attrs_define", "from attrs import define\n"),
    ("PyJWT", "jwt_encode", "from jwt import encode\n"),
    ("redis", "redis_client", "from redis import Redis\n"),
    (
        "PyMySQL",
        "pymysql_connect",
        "from pymysql import connect\n",
    ),
    ("msgpack", "msgpack_packb", "from msgpack import packb\n"),
    (
        "python-dateutil",
        "dateutil_parser",
        "from dateutil import parser\n",
    ),
    ("anyio", "anyio_run", "from anyio import run\n"),
];

/// The second image: opencv-python (links libGL, which the base lacks) with numpy.
const GL_CASES: &[(&str, &str, &str)] = &[(
    "opencv-python",
    "cv2_gl",
    "import cv2\n\nVERSION = cv2.__version__\n",
)];

const HANDLER: &str = "\n\ndef handler(event, context):\n    return {'ok': True}\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    Unverified,
}

/// Per handler: pass, fail (an error finding names it, or names no handler), or unverified.
fn verdicts(report: &serde_json::Value, handlers: &[String]) -> BTreeMap<String, Verdict> {
    let mut out: BTreeMap<String, Verdict> = handlers
        .iter()
        .map(|h| (h.clone(), Verdict::Pass))
        .collect();
    for f in report["findings"].as_array().unwrap() {
        let named: Vec<String> = f["handlers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| h.as_str().map(str::to_string))
            .chain(f["handler"].as_str().map(str::to_string))
            .collect();
        let hit: Vec<String> = if named.is_empty() {
            handlers.to_vec()
        } else {
            named
        };
        let v = match (f["severity"].as_str(), f["code"].as_str()) {
            (Some("error"), _) => Verdict::Fail,
            (_, Some("cannot-verify")) => Verdict::Unverified,
            _ => continue,
        };
        for h in hit {
            if let Some(slot) = out.get_mut(&h) {
                if *slot != Verdict::Fail {
                    *slot = v;
                }
            }
        }
    }
    out
}

struct Row {
    project: String,
    handler: String,
    runtime: String,
    runtime_ok: bool,
    lamina: Verdict,
}

/// Builds one image from `wheels` with `cases`, asks lamina for its verdicts, runs every handler.
fn judge(
    t: &Path,
    name: &str,
    wheels: &Path,
    cases: &[(&str, &str, &str)],
    base: &Path,
) -> Vec<Row> {
    let project = t.join(name);
    fs::create_dir_all(project.join("src/corpus")).unwrap();
    fs::write(project.join("src/__init__.py"), "").unwrap();
    fs::write(project.join("src/corpus/__init__.py"), "").unwrap();
    fs::write(project.join("src/ok.py"), HANDLER).unwrap();
    let mut handlers = Vec::new();
    for (_, module, code) in cases {
        fs::write(
            project.join(format!("src/corpus/{module}.py")),
            format!("{code}{HANDLER}"),
        )
        .unwrap();
        handlers.push(format!("src.corpus.{module}.handler"));
        handlers.push(format!("src.corpus.{module}.handlr"));
    }
    let cache = t.join("cache");
    let base_ref = format!("oci:{}:py312", base.display());
    let common = |c: &mut std::process::Command| {
        c.args([
            "--base",
            &base_ref,
            "--src",
            "src",
            "--wheels",
            wheels.to_str().unwrap(),
        ])
        .arg("--no-compile-bytecode");
    };
    // lamina's verdict on every handler.
    let mut check = lamina(&project, &cache);
    check.arg("check");
    common(&mut check);
    for h in &handlers {
        check.args(["--handler", h]);
    }
    check.args(["--format", "json"]);
    let o = run(&mut check);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    let verdict = verdicts(&report, &handlers);

    // The image, with a handler that imports nothing (the corpus handlers are given to podman).
    let archive = t.join(format!("{name}.tar"));
    let mut build = lamina(&project, &cache);
    build.arg("build");
    common(&mut build);
    build
        .args(["--handler", "src.ok.handler", "-o"])
        .arg(format!(
            "docker-archive:{}:lambda/{name}:v1",
            archive.display()
        ));
    let o = run(&mut build);
    assert!(o.status.success(), "{}", stderr(&o));
    let podman = Podman::new(&t.join(format!("podman-{name}")));
    ok(podman.cmd().args(["load", "-i", archive.to_str().unwrap()]));
    let image = format!("localhost/lambda/{name}:v1");
    let answers = invoke_each(&podman, &image, &handlers, "{}");
    let mut rows = Vec::new();
    for (i, (h, answer)) in handlers.iter().zip(answers).enumerate() {
        let (runtime, runtime_ok) = match answer {
            Ok(_) => ("ok".to_string(), true),
            Err((kind, body)) => {
                let msg: serde_json::Value =
                    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                let text = msg["errorMessage"].as_str().unwrap_or(&body).to_string();
                let kind = kind.trim_start_matches("init ").to_string();
                (format!("{kind}: {text}"), false)
            }
        };
        rows.push(Row {
            project: cases[i / 2].0.to_string(),
            handler: h.clone(),
            runtime,
            runtime_ok,
            lamina: verdict[h],
        });
    }
    let _ = podman.cmd().args(["rmi", "-af"]).output();
    rows
}

#[test]
fn lamina_agrees_with_the_lambda_runtime_on_a_corpus_of_real_wheels() {
    crate::needs_tools!();
    let all = corpus_wheels();
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("base");
    crate::support::lambda_base::build(&t.path().join("base-work"), &base);
    // Two wheel directories: opencv-python and opencv-python-headless both install cv2.
    let main = t.path().join("wheels-main");
    let gl = t.path().join("wheels-gl");
    for d in [&main, &gl] {
        fs::create_dir_all(d).unwrap();
    }
    for e in fs::read_dir(&all).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if !n.ends_with(".whl") {
            continue;
        }
        if n.starts_with("opencv_python-") {
            std::os::unix::fs::symlink(&p, gl.join(&n)).unwrap();
        } else {
            std::os::unix::fs::symlink(&p, main.join(&n)).unwrap();
            if n.starts_with("numpy-") {
                std::os::unix::fs::symlink(&p, gl.join(&n)).unwrap();
            }
        }
    }
    let mut rows = judge(t.path(), "corpus", &main, CASES, &base);
    rows.extend(judge(t.path(), "gl", &gl, GL_CASES, &base));

    let mut table = String::from(
        "| package | handler | runtime (awslambdaric) | lamina |\n|---|---|---|---|\n",
    );
    let (mut false_pass, mut false_fail, mut unverified) = (vec![], vec![], vec![]);
    for r in &rows {
        let verdict = match r.lamina {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Unverified => "cannot verify",
        };
        let runtime: String = r.runtime.chars().take(110).collect();
        table.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            r.project,
            r.handler.rsplit('.').next().unwrap(),
            runtime.replace('|', "\\|"),
            verdict
        ));
        match (r.runtime_ok, r.lamina) {
            (false, Verdict::Pass) => false_pass.push(&r.handler),
            (true, Verdict::Fail) => false_fail.push(&r.handler),
            (_, Verdict::Unverified) => unverified.push(&r.handler),
            _ => {}
        }
    }
    let share = unverified.len() as f64 * 100.0 / rows.len() as f64;
    table.push_str(&format!(
        "\n{} handlers over {} packages: {} false passes, {} false failures, {} cannot-verify ({share:.1} %).\n",
        rows.len(),
        rows.len() / 2,
        false_pass.len(),
        false_fail.len(),
        unverified.len()
    ));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus-table.md");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    fs::write(&out, &table).unwrap();
    eprintln!("{table}");
    assert!(
        false_pass.is_empty(),
        "false passes: {false_pass:?}\n{table}"
    );
    assert!(
        false_fail.is_empty(),
        "false failures: {false_fail:?}\n{table}"
    );
    assert!(
        share <= 10.0,
        "{share:.1} % cannot-verify: {unverified:?}\n{table}"
    );
}
