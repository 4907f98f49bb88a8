//! `--help` of lamina and of each subcommand, whole.

use super::snap;
use crate::support::*;

fn help(name: &str, args: &[&str]) {
    let t = tempfile::tempdir().unwrap();
    let mut c = lamina(t.path(), &t.path().join("cache"));
    c.args(args).env("COLUMNS", "100");
    let o = snap(name, &mut c, &[t.path()]);
    assert!(o.status.success());
}

#[test]
fn lamina_help() {
    help("help_lamina", &["--help"]);
}

#[test]
fn build_help() {
    help("help_build", &["build", "--help"]);
}

#[test]
fn check_help() {
    help("help_check", &["check", "--help"]);
}

#[test]
fn pull_help() {
    help("help_pull", &["pull", "--help"]);
}

#[test]
fn init_help() {
    help("help_init", &["init", "--help"]);
}

#[test]
fn sbom_help() {
    help("help_sbom", &["sbom", "--help"]);
}

#[test]
fn verify_help() {
    help("help_verify", &["verify", "--help"]);
}

#[test]
fn completions_help() {
    help("help_completions", &["completions", "--help"]);
}
