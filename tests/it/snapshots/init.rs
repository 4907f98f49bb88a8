//! `lamina init` without what it translates, and with a `${file()}` include cycle.

use super::{snap, Case};
use std::fs;

#[test]
fn no_dockerfile() {
    let c = Case::new();
    let empty = c.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let mut cmd = c.lamina(&["init", "-C", empty.to_str().unwrap()]);
    let o = snap("init_no_dockerfile", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

/// A `${file()}` that includes itself through another file (inside a function's mapping, which is
/// resolved deep): named where the cycle closes, not a stack overflow.
#[test]
fn include_cycle() {
    let c = Case::new();
    let p = c.path().join("infra");
    crate::support::copy_tree(
        &crate::support::repo().join("examples/docker-serverless"),
        &p,
    );
    let sls = p.join("serverless.yml");
    let text = fs::read_to_string(&sls).unwrap();
    fs::write(
        &sls,
        text.replace("./sls/functions/reports.yml", "./loop.yml"),
    )
    .unwrap();
    fs::write(p.join("loop.yml"), "Loop:\n  image: ${file(./loop2.yml)}\n").unwrap();
    fs::write(
        p.join("loop2.yml"),
        "name: lambdaImage\ncommand: ${file(./loop.yml)}\n",
    )
    .unwrap();
    let mut cmd = c.lamina(&["init", "-C", p.to_str().unwrap()]);
    let o = snap("init_include_cycle", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!p.join("lamina.toml").exists());
}
