//! ECR (moto's API server): a missing repository, missing credentials, a wrong region, an ECR API
//! that cannot be reached. Each fails before any upload, named, with a hint.

use super::{snap, Case};
use crate::support::moto::Moto;
use std::process::Command;

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// `lamina build --push HOST/…` against moto's ECR API; the registry itself is never reached.
fn push(c: &Case, endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = c.lamina(&["build"]);
    cmd.args(args)
        .env("HOME", c.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_ECR", endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "LAMINA_REGISTRY_ENDPOINTS",
            format!("{HOST}=http://127.0.0.1:9"),
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE");
    cmd
}

#[test]
fn repository_missing() {
    crate::needs_tools!();
    let moto = Moto::start();
    let c = Case::new();
    let mut cmd = push(&c, &moto.endpoint, &["--push", &format!("{HOST}/nope:v1")]);
    let o = snap("ecr_repository_missing", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn no_credentials() {
    crate::needs_tools!();
    let moto = Moto::start();
    let c = Case::new();
    let mut cmd = push(&c, &moto.endpoint, &["--push", &format!("{HOST}/app:v1")]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let o = snap("ecr_no_credentials", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn wrong_region() {
    let c = Case::new();
    let mut cmd = push(
        &c,
        "http://127.0.0.1:9",
        &["--push", &format!("{HOST}/app:v1"), "--region", "eu-west-1"],
    );
    let o = snap("ecr_wrong_region", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn api_unreachable() {
    let c = Case::new();
    let mut cmd = push(
        &c,
        "http://127.0.0.1:9",
        &["--push", &format!("{HOST}/app:v1")],
    );
    let o = snap("ecr_api_unreachable", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

/// `--profile` naming a profile no shared file defines: said so, with the files and the profiles
/// they define, not the SDK's "the credential provider was not enabled".
#[test]
fn profile_missing() {
    let c = Case::new();
    let aws = c.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        "[default]\nregion = us-east-1\n[profile dev]\n",
    )
    .unwrap();
    let mut cmd = push(
        &c,
        "http://127.0.0.1:9",
        &["--push", &format!("{HOST}/app:v1"), "--profile", "prod"],
    );
    let o = snap("ecr_profile_missing", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}
