//! ECR end to end without AWS: moto's server for the ECR API (`AWS_ENDPOINT_URL_ECR`), Debian's
//! docker-registry with moto's token in its htpasswd as the registry, and the ECR host mapped to it
//! with `--registry-endpoint`. Repository state is checked through the ECR API (boto3 on moto).

use crate::support::moto::Moto;
use crate::support::registry::{Auth, Registry, MOTO_PASSWORD};
use crate::support::*;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

struct Env {
    t: tempfile::TempDir,
    project: PathBuf,
    moto: Moto,
    reg: Registry,
}

fn env() -> Env {
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    Env {
        t,
        project,
        moto: Moto::start(),
        reg: Registry::start_with(Auth::Htpasswd, MOTO_PASSWORD),
    }
}

impl Env {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = lamina(&self.project, &self.t.path().join("cache"));
        c.arg("build")
            .args(args)
            .env("HOME", self.t.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_ECR", &self.moto.endpoint)
            .env(
                "LAMINA_REGISTRY_ENDPOINTS",
                format!("{HOST}=http://{}", self.reg.addr),
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CONFIG_FILE")
            .env_remove("AWS_SHARED_CREDENTIALS_FILE");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        run(&mut self.cmd(args))
    }
    fn skopeo_digest(&self, repo_tag: &str) -> String {
        let mut c = tool("skopeo");
        c.args([
            "inspect",
            "--tls-verify=false",
            &format!("--creds=AWS:{MOTO_PASSWORD}"),
            &format!("docker://{}/{repo_tag}", self.reg.addr),
        ]);
        let v: serde_json::Value = serde_json::from_str(&ok(&mut c)).unwrap();
        v["Digest"].as_str().unwrap().to_string()
    }
}

#[test]
fn one_command_from_project_to_a_digest_pinned_image() {
    crate::needs_tools!();
    let e = env();
    let toml = fs::read_to_string(e.project.join("lamina.toml")).unwrap();
    fs::write(
        e.project.join("lamina.toml"),
        format!("{toml}\n[ecr]\ncreate = true\nscan_on_push = true\ntag_mutability = \"IMMUTABLE\"\nkeep_last = 10\nexpire = \"any\"\n"),
    )
    .unwrap();
    let o = e.run(&["--push", &format!("{HOST}/app:v1"), "--tag", "latest"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out.trim();
    let digest = line
        .strip_prefix(&format!("{HOST}/app@"))
        .unwrap_or_else(|| panic!("stdout is exactly <ecr-host>/app@sha256:…: {out:?}"));
    assert_eq!(out.lines().count(), 1);
    assert_eq!(e.skopeo_digest("app:v1"), digest);
    assert_eq!(e.skopeo_digest("app:latest"), digest);
    let err = stderr(&o);
    assert!(
        err.contains("created ECR repository")
            && err.contains("can expire an image a deployed function still uses"),
        "{err}"
    );
    let facts = e.moto.python(
        "r = ecr.describe_repositories(repositoryNames=['app'])['repositories'][0]\n\
         p = json.loads(ecr.get_lifecycle_policy(repositoryName='app')['lifecyclePolicyText'])\n\
         print(json.dumps({'mut': r['imageTagMutability'], 'scan': r['imageScanningConfiguration']['scanOnPush'], 'enc': r['encryptionConfiguration']['encryptionType'], 'rule': p['rules'][0]['selection']}))",
    );
    let v: serde_json::Value = serde_json::from_str(facts.trim()).unwrap();
    assert_eq!(v["mut"], "IMMUTABLE");
    assert_eq!(v["scan"], true);
    assert_eq!(v["enc"], "AES256");
    assert_eq!(
        v["rule"],
        serde_json::json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10})
    );

    // --format json for CI.
    let o = e.run(&["--push", &format!("{HOST}/app:v1"), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["digest"], digest);
    assert_eq!(j["image"], format!("{HOST}/app@{digest}"));
    assert_eq!(j["repository"], format!("{HOST}/app"));
    assert_eq!(
        j["layers"].as_array().unwrap().len(),
        3,
        "base, dependencies, source"
    );

    // An immutable tag that exists with another image: a clear error before any upload; tag untouched.
    let responses = e.project.join("src/shared/responses.py");
    let text = fs::read_to_string(&responses).unwrap();
    fs::write(&responses, format!("{text}# v2\n")).unwrap();
    let uploads = e.reg.count("PUT", "/v2/app/blobs/uploads/");
    let o = e.run(&["--push", &format!("{HOST}/app:v1")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("tag 'v1' already exists in")
            && err.contains("immutable")
            && err.contains("hint: push under a new tag"),
        "{err}"
    );
    assert_eq!(
        e.reg.count("PUT", "/v2/app/blobs/uploads/"),
        uploads,
        "nothing uploaded"
    );
    assert_eq!(
        e.skopeo_digest("app:v1"),
        digest,
        "the existing tag is untouched"
    );
    let o = e.run(&["--push", &format!("{HOST}/app:v2")]);
    assert!(o.status.success(), "a new tag works: {}", stderr(&o));
}

#[test]
fn a_missing_repository_fails_before_any_upload() {
    crate::needs_tools!();
    let e = env();
    let o = e.run(&["--push", &format!("{HOST}/nope:v1")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("repository 'nope' does not exist in registry 123456789012 (us-east-1)"),
        "{err}"
    );
    assert!(err.contains("--create-repository"), "{err}");
    assert_eq!(e.reg.count("POST", "/v2/"), 0, "no upload started");
    assert_eq!(e.reg.count("HEAD", "/v2/"), 0);
    // The flag creates it (mutable, untagged-only lifecycle when keep_last is set).
    let o = e.run(&[
        "--push",
        &format!("{HOST}/nope:v1"),
        "--create-repository",
        "--keep-last",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = e
        .moto
        .python("print(ecr.get_lifecycle_policy(repositoryName='nope')['lifecyclePolicyText'])");
    assert!(
        text.contains("\"tagStatus\": \"untagged\"") || text.contains("\"tagStatus\":\"untagged\""),
        "{text}"
    );
}

#[test]
fn credential_profile_and_region_errors_are_clear() {
    crate::needs_tools!();
    let e = env();
    let target = format!("{HOST}/app:v1");
    let o = run(e
        .cmd(&["--push", &target, "--profile", "does-not-exist"])
        .env("AWS_CONFIG_FILE", e.t.path().join("none")));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(
            "AWS credentials (profile does-not-exist): profile 'does-not-exist' is not defined in "
        ) && err.contains("hint: create it (aws configure --profile does-not-exist"),
        "{err}"
    );

    let o = run(e
        .cmd(&["--push", &target])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_EC2_METADATA_DISABLED", "true"));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("AWS credentials") && err.contains("hint: configure AWS credentials"),
        "{err}"
    );

    let o = e.run(&["--push", &target, "--region", "eu-west-1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("--region eu-west-1 does not match the registry host's region us-east-1"),
        "{}",
        stderr(&o)
    );
    assert_eq!(e.reg.count("POST", "/v2/"), 0);
}

#[test]
fn profiles_from_the_shared_config_work() {
    crate::needs_tools!();
    let e = env();
    let creds = e.t.path().join("credentials");
    fs::write(
        &creds,
        "[traffic-manager]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let o = run(e
        .cmd(&[
            "--push",
            &format!("{HOST}/app:v1"),
            "--profile",
            "traffic-manager",
            "--create-repository",
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_CONFIG_FILE", e.t.path().join("none")));
    assert!(o.status.success(), "{}", stderr(&o));
}
