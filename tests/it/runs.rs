//! It really runs: lamina builds the example (with real wheels) on a stand-in runtime base (the
//! machine's CPython 3.12 and the real awslambdaric), podman runs it (runc, vfs) with
//! AWS_LAMBDA_RUNTIME_API pointing at a Runtime API emulator here, and every handler answers. A
//! deliberately broken handler makes awslambdaric report exactly the error lamina predicted.

use crate::support::lambda_run::{invoke_with, Podman, RunOptions};
use crate::support::*;
use std::fs;

/// Runs the image with one handler (support::lambda_run: a fresh Runtime API emulator per run, so
/// a stale long poll from an earlier container can never take its event); its answer's body, or
/// the error awslambdaric reported.
fn invoke(
    podman: &Podman,
    image: &str,
    handler: &str,
    event: &str,
) -> Result<String, (String, String)> {
    invoke_with(podman, image, handler, event, &RunOptions::default()).map(|a| a.body)
}

#[test]
fn the_image_really_runs_under_the_lambda_runtime_interface_client() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("base");
    crate::support::lambda_base::build(&t.path().join("base-work"), &base);

    // The example, with a function that uses real wheels from the dependency layer.
    let project = example_copy(t.path());
    fs::write(
        project.join("src/functions/reports/render.py"),
        "import markupsafe\nimport jmespath\nfrom google.protobuf import struct_pb2\n\n\ndef handler(event, context):\n    s = struct_pb2.Struct()\n    s.update({'n': 1})\n    return {'escaped': str(markupsafe.escape(event['html'])), 'picked': jmespath.search('a.b', event), 'proto': s['n']}\n",
    )
    .unwrap();
    let wheels = t.path().join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    for w in [
        "jmespath-1.0.1-py3-none-any.whl",
        "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "protobuf-5.29.3-cp38-abi3-manylinux2014_x86_64.whl",
    ] {
        fs::copy(
            repo().join("fixtures/wheels/parity").join(w),
            wheels.join(w),
        )
        .unwrap();
    }
    let archive = t.path().join("image.tar");
    let handlers = [
        "src.functions.campaign.orchestrator.handler",
        "src.functions.reports.daily.handler",
        "src.functions.webhooks.receiver.handler",
        "src.functions.reports.render.handler",
    ];
    let mut build = lamina(&project, &t.path().join("cache"));
    // No --python/--glibc: lamina reads them from the base (python3.12 and libc.so.6 in its layer).
    build.args([
        "build",
        "--base",
        &format!("oci:{}:py312", base.display()),
        "--wheels",
        wheels.to_str().unwrap(),
    ]);
    for h in handlers {
        build.args(["--handler", h]);
    }
    build.args([
        "-o",
        &format!("docker-archive:{}:lambda/e2e:v1", archive.display()),
    ]);
    let o = run(&mut build);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("read from the base: CPython 3.12 (/var/lang/bin/python3.12), glibc 2."),
        "{}",
        stderr(&o)
    );

    let podman = Podman::new(&t.path().join("podman"));
    let loaded = ok(podman.cmd().args(["load", "-i", archive.to_str().unwrap()]));
    assert!(loaded.contains("lambda/e2e:v1"), "{loaded}");
    let image = "localhost/lambda/e2e:v1";

    let expect = [
        (
            handlers[0],
            r#"{"campaigns": [1, 2, 3]}"#,
            "\\\"scheduled\\\": 3",
        ),
        (handlers[1], r#"{"day": "2026-11-26"}"#, "2026-11-26"),
        (handlers[2], r#"{"body": "x"}"#, "\"statusCode\": 202"),
        (
            handlers[3],
            r#"{"html": "<b>", "a": {"b": 42}}"#,
            "&lt;b&gt;",
        ),
    ];
    for (h, event, needle) in expect {
        let answer =
            invoke(&podman, image, h, event).unwrap_or_else(|e| panic!("{h} failed: {e:?}"));
        assert!(answer.contains(needle), "{h}: {answer}");
        if h == handlers[3] {
            assert!(
                answer.contains("\"picked\": 42") && answer.contains("\"proto\": 1.0"),
                "{answer}"
            );
        }
    }

    // A broken handler: lamina predicts the error, awslambdaric reports the same one.
    let broken = "src.functions.campaign.orchestrator.missing";
    let o = run(lamina(&project, &t.path().join("cache")).args([
        "check",
        "--base",
        &format!("oci:{}:py312", base.display()),
        "--python",
        "3.12",
        "--glibc",
        "2.36",
        "--handler",
        broken,
    ]));
    assert_eq!(o.status.code(), Some(1));
    let predicted = stderr(&o);
    assert!(
        predicted.contains("error[Runtime.HandlerNotFound]"),
        "{predicted}"
    );
    let (kind, body) =
        invoke(&podman, image, broken, "{}").expect_err("the broken handler must fail");
    assert_eq!(kind, "init Runtime.HandlerNotFound", "{body}");
    assert!(
        body.contains("Handler 'missing' missing on module 'src.functions.campaign.orchestrator'"),
        "{body}"
    );
    assert!(
        predicted
            .contains("Handler 'missing' missing on module 'src.functions.campaign.orchestrator'"),
        "{predicted}"
    );
    let _ = podman.cmd().args(["rmi", "-f", image]).output();
}

/// Files of a project whose handlers fail the ways issue 15 names (and two that work).
const PREDICTED: &[(&str, &str)] = &[
    ("src/functions/orders/create.py", "def handler(event, context):\n    return {'created': True}\n"),
    ("src/functions/settings.py", "import json\n\nimport dotenv\n\n\ndef handler(event, context):\n    return 1\n"),
    ("src/functions/optional.py", "try:\n    import dotenv\nexcept ImportError:\n    dotenv = None\n\n\ndef handler(event, context):\n    return {'dotenv': dotenv is not None}\n"),
    ("src/lib/__init__.py", "from .db import connect\n"),
    ("src/lib/db.py", "from . import config\n\n\ndef connect():\n    return config.escaped('<db>')\n"),
    ("src/lib/config.py", "import markupsafe\n\n\ndef escaped(s):\n    return str(markupsafe.escape(s))\n"),
    ("src/lib/broken.py", "import yaml\n"),
    ("src/functions/chain.py", "from src.lib import connect\n\n\ndef handler(event, context):\n    return {'db': connect()}\n"),
    ("src/functions/broken_chain.py", "from src.lib import broken\n\n\ndef handler(event, context):\n    return 1\n"),
    ("src/functions/old_stdlib.py", "import distutils.core\n\n\ndef handler(event, context):\n    return 1\n"),
    ("src/functions/stripped_stdlib.py", "import unittest\n\n\ndef handler(event, context):\n    return 1\n"),
    ("src/functions/one_arg.py", "def handler(event):\n    return 1\n"),
];

#[test]
fn the_error_lamina_predicts_is_the_one_awslambdaric_reports() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("base");
    crate::support::lambda_base::build(&t.path().join("base-work"), &base);
    let base_ref = format!("oci:{}:py312", base.display());
    let project = example_copy(t.path());
    for (path, text) in PREDICTED {
        let p = project.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let wheels = t.path().join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    let markupsafe = "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    fs::copy(
        repo().join("fixtures/wheels/parity").join(markupsafe),
        wheels.join(markupsafe),
    )
    .unwrap();
    let lamina_here = |args: &[&str]| {
        let mut c = lamina(&project, &t.path().join("cache"));
        c.args(args)
            .args(["--base", &base_ref, "--wheels", wheels.to_str().unwrap()]);
        run(&mut c)
    };

    // The handlers that work: lamina passes them, and they answer under awslambdaric.
    let good = [
        ("src.functions.chain.handler", "&lt;db&gt;"),
        ("src.functions.optional.handler", "\"dotenv\": false"),
        ("src.functions.orders.create.handler", "\"created\": true"),
    ];
    let archive = t.path().join("image.tar");
    let mut args = vec!["build".to_string()];
    for (h, _) in good {
        args.extend(["--handler".to_string(), h.to_string()]);
    }
    args.extend([
        "-o".into(),
        format!("docker-archive:{}:lambda/predicted:v1", archive.display()),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = lamina_here(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    // The optional import is a warning, not an error.
    assert!(
        stderr(&o).contains(
            "warning[optional-import]: /var/task/src/functions/optional.py:2 imports dotenv"
        ),
        "{}",
        stderr(&o)
    );
    let podman = Podman::new(&t.path().join("podman"));
    let loaded = ok(podman.cmd().args(["load", "-i", archive.to_str().unwrap()]));
    assert!(loaded.contains("lambda/predicted:v1"), "{loaded}");
    let image = "localhost/lambda/predicted:v1";
    for (h, needle) in good {
        let answer =
            invoke(&podman, image, h, "{}").unwrap_or_else(|e| panic!("{h} failed: {e:?}"));
        assert!(answer.contains(needle), "{h}: {answer}");
    }

    // Each broken handler: lamina's prediction (errorType and errorMessage, from the JSON
    // report) against what awslambdaric posts to the Runtime API.
    let broken = [
        "src.functions.orders.nothing",   // a namespace package binds nothing
        "src.functions.orders.create",    // the forgotten .handler
        "src.functions.settings.handler", // a dependency nobody vendored
        "src.functions.broken_chain.handler", // a missing import two modules down
        "src.functions.old_stdlib.handler", // distutils is gone in 3.12
        "src.functions.stripped_stdlib.handler", // this base's stdlib has no unittest
        "src.functions.one_arg.handler",  // fails on the first invocation
    ];
    for h in broken {
        let o = lamina_here(&["check", "--format", "json", "--handler", h]);
        assert_eq!(o.status.code(), Some(1), "{h}: {}", stderr(&o));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let f = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["severity"] == "error" && f["handler"] == h)
            .unwrap_or_else(|| panic!("{h}: no error predicted: {report}"));
        let (want_type, want_message) = (
            f["lambda_error"].as_str().unwrap().to_string(),
            f["lambda_message"].as_str().unwrap().to_string(),
        );
        let (kind, body) =
            invoke(&podman, image, h, "{}").expect_err("the broken handler must fail");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        // Init errors carry the type in a header too; an invocation error only in the body.
        if want_type == "TypeError" {
            assert!(kind.starts_with("invoke"), "{h}: {kind} {body}");
        } else {
            assert_eq!(kind, format!("init {want_type}"), "{h}: {body}");
        }
        assert_eq!(body["errorType"], want_type, "{h}");
        assert_eq!(body["errorMessage"], want_message, "{h}");
    }
    let _ = podman.cmd().args(["rmi", "-f", image]).output();
}
