//! The smaller points a new user trips over: an unreachable base registry, `--wheels` given a
//! requirements file, a typo in lamina.toml, no lamina.toml at all, a docker-archive without a
//! name, flags that do not apply to `check` or `pull`, an untagged push into a repository whose
//! lifecycle expires untagged images, and every wheel problem reported in one run.

use crate::support::wheelgen;

use crate::support::moto::Moto;
use crate::support::registry::{Auth, Registry, MOTO_PASSWORD};
use crate::support::*;
use std::fs;
use std::path::PathBuf;
use wheelgen::WheelGen;

fn project(t: &tempfile::TempDir) -> PathBuf {
    pushing_project(t.path())
}

#[test]
fn an_unreachable_base_registry_is_said_plainly_with_an_offline_hint() {
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let o = run(lamina(&p, &t.path().join("cache")).args([
        "check",
        "--base",
        "registry.invalid/lambda/python:3.12",
    ]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("registry.invalid is unreachable"), "{err}");
    assert!(err.contains("dns error"), "{err}");
    // Not retried: a name that does not resolve will not resolve on the next try either.
    assert!(!err.contains("tries)"), "{err}");
    assert!(err.contains("hint: registry.invalid does not resolve (no DNS, or offline); to build without the network, `lamina pull` the base once"), "{err}");
    assert!(!err.contains("--insecure-registry"), "{err}");
}

#[test]
fn wheels_pointing_at_a_requirements_file_says_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    fs::write(p.join("requirements.txt"), "requests==2.32.3\n").unwrap();
    let o =
        run(lamina(&p, &t.path().join("cache")).args(["build", "--wheels", "requirements.txt"]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("requirements.txt: a requirements file, not a directory of wheels"),
        "{err}"
    );
    assert!(
        err.contains("hint: vendor the wheels it names first: pip download --only-binary=:all:")
            && err.contains("-r ")
            && err.contains("--wheels wheels")
            && err.contains("--lock FILE"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_gets_did_you_mean() {
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let toml = fs::read_to_string(p.join("lamina.toml")).unwrap();
    fs::write(p.join("lamina.toml"), format!("wheel = \"wheels\"\n{toml}")).unwrap();
    let o = run(lamina(&p, &t.path().join("cache")).args(["check"]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("unknown field `wheel`"), "{err}");
    assert!(
        err.contains("hint: did you mean `wheels`? valid keys:"),
        "{err}"
    );
}

#[test]
fn no_lamina_toml_at_all_is_said_plainly() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("empty");
    fs::create_dir_all(&dir).unwrap();
    let o = run(lamina(&dir, &t.path().join("cache")).args(["build"]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "error: no lamina.toml in {}, and no --base given",
            dir.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("hint: `lamina init` writes lamina.toml from the project's Dockerfile and serverless.yml; or create lamina.toml in the project directory"),
        "{err}"
    );
    // Flags alone work, and say that there is no file.
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("src/app.py"),
        "def handler(event, context):\n    return 1\n",
    )
    .unwrap();
    let o = run(lamina(&dir, &t.path().join("cache")).args([
        "check",
        "--base",
        &format!("oci:{}:python3.12", standin().display()),
        "--src",
        "src",
        "--handler",
        "src.app.handler",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!(
        "lamina: no lamina.toml in {}: using the flags only",
        dir.display()
    )));
}

#[test]
fn a_docker_archive_without_a_name_gets_the_project_name() {
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let archive = t.path().join("image.tar");
    let o = run(lamina(&p, &t.path().join("cache")).args([
        "build",
        "-o",
        &format!("docker-archive:{}", archive.display()),
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut a = tar::Archive::new(fs::File::open(&archive).unwrap());
    let manifest = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find_map(|mut e| {
            (e.path().unwrap().to_string_lossy() == "manifest.json").then(|| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut e, &mut s).unwrap();
                s
            })
        })
        .unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(m[0]["RepoTags"], serde_json::json!(["project:latest"]));
}

#[test]
fn flags_that_do_not_apply_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    for extra in [
        vec!["-o", "oci:out:x"],
        vec!["--push", "127.0.0.1:9/x:y"],
        vec!["--tag", "v1"],
        vec!["--keep-last", "3"],
    ] {
        let o = run(lamina(&p, &t.path().join("cache"))
            .arg("check")
            .args(&extra));
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("lamina check writes and pushes nothing"),
            "{}",
            stderr(&o)
        );
    }
    assert!(!p.join("out").exists());
    for flag in ["--chunk-size=5M", "--parallel=2"] {
        let o = run(lamina(&p, &t.path().join("cache")).args(["pull", "127.0.0.1:9/x:y", flag]));
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        assert!(stderr(&o).contains("unexpected argument"), "{}", stderr(&o));
    }
}

#[test]
fn every_wheel_problem_in_one_run_with_one_fix() {
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let w = t.path().join("wheels");
    for v in ["1.0", "1.2"] {
        WheelGen::new("alpha", v, "py3-none-any")
            .file("alpha/__init__.py", b"")
            .write(&w);
    }
    for v in ["3.0", "2.9"] {
        WheelGen::new("beta", v, "py3-none-any")
            .file("beta/__init__.py", b"")
            .write(&w);
    }
    fs::copy(
        repo().join(
            "fixtures/wheels/wrong-target/MarkupSafe-3.0.2-cp312-cp312-macosx_11_0_arm64.whl",
        ),
        w.join("MarkupSafe-3.0.2-cp312-cp312-macosx_11_0_arm64.whl"),
    )
    .unwrap();
    let o =
        run(lamina(&p, &t.path().join("cache")).args(["check", "--wheels", w.to_str().unwrap()]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("3 projects cannot be installed: alpha: several versions (1.0, 1.2); beta: several versions (2.9, 3.0); markupsafe: no wheel fits"), "{err}");
    assert!(err.contains("--python-version 3.12 --implementation cp -d WHEELS_DIR MarkupSafe==3.0.2; then keep the newest version of each: rm "), "{err}");
    assert!(
        err.contains("alpha-1.0-py3-none-any.whl")
            && err.contains("beta-2.9-py3-none-any.whl")
            && !err.contains("beta-3.0-py3-none-any.whl "),
        "{err}"
    );

    // Missing dependencies: all of them, and one line that fetches them.
    let q = t.path().join("wheels2");
    let meta = "Metadata-Version: 2.1\nName: needy\nVersion: 1.0\nRequires-Dist: requests (>=2)\nRequires-Dist: attrs\n";
    WheelGen::new("needy", "1.0", "py3-none-any")
        .file("needy/__init__.py", b"")
        .metadata(meta)
        .write(&q);
    let o =
        run(lamina(&p, &t.path().join("cache")).args(["check", "--wheels", q.to_str().unwrap()]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("needy 1.0 requires requests (>=2)")
            && err.contains("needy 1.0 requires attrs"),
        "{err}"
    );
    assert!(err.contains(&format!("fetch every missing dependency at once: pip download --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_34_x86_64 --python-version 3.12 --implementation cp -d {} requests>=2 attrs", q.display())), "{err}");
}

#[test]
fn an_untagged_push_warns_when_the_lifecycle_expires_untagged_images() {
    crate::needs_tools!();
    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let t = tempfile::tempdir().unwrap();
    let p = project(&t);
    let moto = Moto::start();
    let reg = Registry::start_with(Auth::Htpasswd, MOTO_PASSWORD);
    moto.python(
        "ecr.create_repository(repositoryName='app')\necr.put_lifecycle_policy(repositoryName='app', lifecyclePolicyText=json.dumps({'rules': [{'rulePriority': 1, 'selection': {'tagStatus': 'untagged', 'countType': 'imageCountMoreThan', 'countNumber': 5}, 'action': {'type': 'expire'}}]}))",
    );
    let push = |target: &str| {
        run(lamina(&p, &t.path().join("cache"))
            .args(["build", "--push", target])
            .env("HOME", t.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_ECR", &moto.endpoint)
            .env(
                "LAMINA_REGISTRY_ENDPOINTS",
                format!("{HOST}=http://{}", reg.addr),
            )
            .env_remove("AWS_PROFILE"))
    };
    let o = push(&format!("{HOST}/app"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: pushing without a tag to 123456789012.dkr.ecr.us-east-1.amazonaws.com/app, whose lifecycle policy expires untagged images"), "{}", stderr(&o));
    let o = push(&format!("{HOST}/app:v1"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("pushing without a tag"),
        "{}",
        stderr(&o)
    );
}
