//! Validates lamina's `--format json` documents against `schema/report.schema.json` with the
//! Python `jsonschema` package from the test venv (`$LAMINA_TEST_VENV`, which scripts/test.sh
//! creates). A missing venv fails loudly.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn python() -> PathBuf {
    let venv = std::env::var_os("LAMINA_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lamina-test/venv")
        });
    let py = venv.join("bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run scripts/test.sh (it creates the test venv with jsonschema)",
        py.display()
    );
    py
}

const CHECK: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
doc = json.load(sys.stdin)
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(str(p) for p in e.path), ":", e.message)
sys.exit(1 if errors else 0)
"#;

/// Panics with every violation if `doc` does not match the schema.
pub fn validate(doc: &str) {
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let mut child = Command::new(python())
        .args(["-c", CHECK])
        .arg(&schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the document does not match schema/report.schema.json:\n{}{}\n--- document:\n{doc}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
