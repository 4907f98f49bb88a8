//! The Lambda gate: findings on stderr, then one `error:` line saying nothing was written.

use super::{snap, Case};

#[test]
fn handler_that_does_not_exist() {
    let c = Case::new();
    let out = c.path().join("out");
    let mut cmd = c.lamina(&[
        "build",
        "--handler",
        "src.functions.nothere.handler",
        "-o",
        &format!("oci:{}:x", out.display()),
    ]);
    let o = snap("gate_handler_missing", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
}

#[test]
fn check_with_a_missing_dependency() {
    let c = Case::new();
    std::fs::write(
        c.project.join("src/functions/campaign/needs.py"),
        "import requests\n\n\ndef handler(event, context):\n    return requests\n",
    )
    .unwrap();
    let mut cmd = c.lamina(&["check", "--handler", "src.functions.campaign.needs.handler"]);
    let o = snap("gate_missing_module", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}
