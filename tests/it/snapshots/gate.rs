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

/// Writes `src/functions/campaign/late.py` (a handler) and returns the build command for it, with
/// `hook` run just before the gate reads the source files again.
fn late_handler(c: &Case, hook: &str, out: &std::path::Path) -> std::process::Command {
    std::fs::write(
        c.project.join("src/functions/campaign/late.py"),
        "def handler(event, context):\n    return 1\n",
    )
    .unwrap();
    let mut cmd = c.lamina(&[
        "build",
        "--handler",
        "src.functions.campaign.late.handler",
        "-o",
        &format!("oci:{}:x", out.display()),
    ]);
    cmd.env("LAMINA_TEST_HOOK_BEFORE_GATE", hook);
    cmd
}

// Issue 10: a handler file deleted after the layers were made and before the gate read it again
// was read as an empty file ("binds no 'handler'"). It is now named, unreadable, never a pass.
#[test]
fn handler_file_deleted_during_the_build() {
    let c = Case::new();
    let out = c.path().join("out");
    let late = c.project.join("src/functions/campaign/late.py");
    let mut cmd = late_handler(&c, &format!("rm '{}'", late.display()), &out);
    let o = snap("gate_source_deleted_during_build", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists(), "nothing written");
}

// The same file rewritten with other bytes in the same window: the gate does not check bytes the
// image does not have.
#[test]
fn handler_file_changed_during_the_build() {
    let c = Case::new();
    let out = c.path().join("out");
    let late = c.project.join("src/functions/campaign/late.py");
    let mut cmd = late_handler(&c, &format!("echo 'x = 2' >> '{}'", late.display()), &out);
    let o = snap("gate_source_changed_during_build", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn build_with_deny_unverified_and_an_undecided_import() {
    let c = Case::new();
    std::fs::write(
        c.project.join("src/functions/campaign/plugin.py"),
        "import importlib, os\n\nPLUGIN = importlib.import_module(os.environ['PLUGIN'])\n\n\ndef handler(event, context):\n    return PLUGIN\n",
    )
    .unwrap();
    let out = c.path().join("out");
    let mut cmd = c.lamina(&[
        "build",
        "--deny-unverified",
        "--handler",
        "src.functions.campaign.plugin.handler",
        "-o",
        &format!("oci:{}:x", out.display()),
    ]);
    let o = snap("gate_deny_unverified", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
}
