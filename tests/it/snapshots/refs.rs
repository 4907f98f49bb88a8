//! Image references in --base, --output, --push and `pull`: a bad one is a usage error (exit 2)
//! with the forms it could take.

use super::{snap, Case};

fn fails(name: &str, c: &Case, args: &[&str], code: i32) {
    let mut cmd = c.lamina(args);
    let o = snap(name, &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(code), "{name}");
}

#[test]
fn push_reference_with_uppercase() {
    let c = Case::new();
    fails(
        "ref_push_uppercase",
        &c,
        &["build", "--push", "127.0.0.1:5000/App:v1"],
        2,
    );
}

#[test]
fn base_layout_missing() {
    let c = Case::new();
    fails(
        "ref_base_layout_missing",
        &c,
        &["build", "--base", "oci:nothere:v1"],
        1,
    );
}

#[test]
fn base_scheme_typo() {
    let c = Case::new();
    fails(
        "ref_base_scheme_uppercase",
        &c,
        &["build", "--base", "OCI:base"],
        2,
    );
}

#[test]
fn base_in_skopeos_dir_transport() {
    let c = Case::new();
    fails(
        "ref_base_dir_transport",
        &c,
        &["build", "--base", "dir:./base"],
        2,
    );
}

#[test]
fn push_to_a_digest() {
    let c = Case::new();
    let push = format!("127.0.0.1:5000/app@sha256:{}", "a".repeat(64));
    fails("ref_push_digest", &c, &["build", "--push", &push], 2);
}

#[test]
fn push_port_out_of_range() {
    let c = Case::new();
    fails(
        "ref_push_port_99999",
        &c,
        &["build", "--push", "registry.local:99999/app:v1"],
        2,
    );
}

#[test]
fn output_without_a_transport() {
    let c = Case::new();
    fails(
        "ref_output_no_transport",
        &c,
        &["build", "-o", "image.tar"],
        2,
    );
}

#[test]
fn output_is_the_base_itself() {
    let c = Case::new();
    let base = crate::support::standin();
    // A copy of the stand-in base, so that nothing could harm the repository's.
    let copy = c.path().join("base");
    crate::support::copy_tree(&base, &copy);
    let layout = format!("oci:{}:python3.12", copy.display());
    let before = std::fs::read(copy.join("index.json")).unwrap();
    fails(
        "ref_output_is_the_base",
        &c,
        &["build", "--base", &layout, "-o", &layout],
        1,
    );
    assert_eq!(std::fs::read(copy.join("index.json")).unwrap(), before);
}

#[test]
fn pull_reference_bad() {
    let c = Case::new();
    fails("ref_pull_bad", &c, &["pull", "Example.com/App"], 2);
}

#[test]
fn insecure_registry_with_a_scheme() {
    let c = Case::new();
    fails(
        "ref_insecure_registry_scheme",
        &c,
        &[
            "pull",
            "--insecure-registry",
            "http://registry.local:5000",
            "registry.local:5000/app:v1",
        ],
        2,
    );
}

#[test]
fn registry_endpoint_not_http() {
    let c = Case::new();
    fails(
        "ref_registry_endpoint_ftp",
        &c,
        &[
            "pull",
            "--registry-endpoint",
            "registry.local=ftp://user:pw@registry.local",
            "registry.local/app:v1",
        ],
        2,
    );
}

#[test]
fn registry_endpoint_port_out_of_range() {
    let c = Case::new();
    fails(
        "ref_registry_endpoint_port",
        &c,
        &[
            "pull",
            "--registry-endpoint",
            "registry.local=http://127.0.0.1:99999",
            "registry.local/app:v1",
        ],
        2,
    );
}

#[test]
fn base_with_docker_colon() {
    let c = Case::new();
    fails(
        "ref_base_docker_colon",
        &c,
        &["build", "--base", "docker:python:3.12"],
        2,
    );
}

#[test]
fn base_in_lamina_toml_with_uppercase_transport() {
    let c = Case::new();
    c.set("base", "\"OCI:base-images/standin\"");
    fails("ref_base_toml_uppercase", &c, &["build"], 1);
}
