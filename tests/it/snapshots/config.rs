//! lamina.toml and the flags that override it: each mistake is named with the file or field, in
//! the user's words (never serde's), with a hint.

use super::{snap, Case};
use crate::support::stderr;
use std::fs;

fn build_fails(name: &str, c: &Case, args: &[&str], code: i32) {
    let mut cmd = c.lamina(&["build"]);
    cmd.args(args);
    let o = snap(name, &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(code), "{name}");
    assert!(!c.project.join("build").exists(), "{name}: nothing written");
}

#[test]
fn src_is_a_number() {
    let c = Case::new();
    c.set("src", "5");
    build_fails("config_src_is_a_number", &c, &[], 1);
}

#[test]
fn max_unpacked_size_is_negative() {
    let c = Case::new();
    c.set("max_unpacked_size", "-5");
    build_fails("config_max_unpacked_size_negative", &c, &[], 1);
}

#[test]
fn unknown_key() {
    let c = Case::new();
    c.set("handlr", "\"x.y\"");
    build_fails("config_unknown_key", &c, &[], 1);
}

#[test]
fn lamina_toml_is_a_directory() {
    let c = Case::new();
    fs::remove_file(c.project.join("lamina.toml")).unwrap();
    fs::create_dir(c.project.join("lamina.toml")).unwrap();
    build_fails("config_toml_is_a_directory", &c, &[], 1);
}

#[test]
fn lamina_toml_is_not_utf8() {
    let c = Case::new();
    fs::write(c.project.join("lamina.toml"), b"base = \"\xff\xfe\"\n").unwrap();
    build_fails("config_toml_not_utf8", &c, &[], 1);
}

#[test]
fn project_directory_missing() {
    let c = Case::new();
    build_fails("config_project_dir_missing", &c, &["-C", "nope"], 1);
}

#[test]
fn project_directory_is_a_file() {
    let c = Case::new();
    build_fails(
        "config_project_dir_is_a_file",
        &c,
        &["-C", "lamina.toml"],
        1,
    );
}

#[test]
fn platform_not_lambdas() {
    let c = Case::new();
    c.set("platform", "\"linux/s390x\"");
    build_fails("config_platform_bad", &c, &[], 1);
}

#[test]
fn python_not_a_version() {
    let c = Case::new();
    c.set("python", "\"three\"");
    build_fails("config_python_bad", &c, &[], 1);
}

#[test]
fn env_key_with_a_space() {
    let c = Case::new();
    let path = c.project.join("lamina.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replace("[env]\n", "[env]\n\"LOG LEVEL\" = \"x\"\n"),
    )
    .unwrap();
    build_fails("config_env_key_bad", &c, &[], 1);
}

#[test]
fn source_date_epoch_not_a_number() {
    let c = Case::new();
    let mut cmd = c.lamina(&["build"]);
    cmd.env("SOURCE_DATE_EPOCH", "yesterday");
    let o = snap("config_source_date_epoch_bad", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn no_lamina_toml_and_no_flags() {
    let c = Case::new();
    fs::remove_file(c.project.join("lamina.toml")).unwrap();
    build_fails("config_none", &c, &[], 1);
}

#[test]
fn python_flag_not_a_version() {
    let c = Case::new();
    build_fails("flag_python_bad", &c, &["--python", "3"], 2);
}

#[test]
fn platform_flag_not_lambdas() {
    let c = Case::new();
    build_fails("flag_platform_bad", &c, &["--platform", "windows/amd64"], 2);
}

#[test]
fn creds_without_a_colon_are_not_echoed() {
    let c = Case::new();
    let mut cmd = c.lamina(&["build", "--creds", "nocolonSECRETTOKEN"]);
    let o = snap("flag_creds_bad", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("SECRETTOKEN"));
}
