//! `lamina init` on the migration guide's layout (examples/docker-serverless: a Dockerfile on the
//! Python 3.8 base, `.dockerignore`, functions in `sls/functions/*.yml` through `${file()}`, an
//! `AWS::ECR::Repository` keeping the last 10 images with scan on push, the two build scripts):
//! the written `lamina.toml` key by key, then `lamina check` on it against the real
//! docker-registry standing in for public.ecr.aws (the stand-in base pushed as
//! `lambda/python:3.8`), `handlers_from` catching a function whose module does not exist, and
//! bad input failing with the file and line and nothing written.

use crate::support::registry::{Auth, Registry};
use crate::support::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn project(t: &Path) -> PathBuf {
    let p = t.join("infra");
    copy_tree(&repo().join("examples/docker-serverless"), &p);
    p
}

fn init(project: &Path, args: &[&str]) -> Output {
    run(lamina(project, &project.join("../cache"))
        .arg("init")
        .args(["-C", project.to_str().unwrap()])
        .args(args))
}

fn listing(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect()
}

#[test]
fn init_writes_lamina_toml_from_the_teams_layout_key_by_key() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path());
    let o = init(&p, &["--account", "123456789012"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        stdout(&o).trim(),
        p.join("lamina.toml").display().to_string()
    );
    let text = fs::read_to_string(p.join("lamina.toml")).unwrap();
    let v: toml::Table = toml::from_str(&text).unwrap();
    let keys: Vec<&str> = v.keys().map(String::as_str).collect();
    let mut expect = vec![
        "base",
        "ecr",
        "env",
        "handler",
        "handlers_from",
        "platform",
        "push",
        "src",
    ];
    if v.contains_key("lock") {
        expect.push("lock");
        expect.sort();
    }
    assert_eq!(keys, expect, "{text}");
    assert_eq!(v["base"].as_str(), Some("public.ecr.aws/lambda/python:3.8"));
    assert_eq!(v["platform"].as_str(), Some("linux/amd64"));
    assert_eq!(v["src"], toml::Value::Array(vec!["src".into()]));
    assert_eq!(
        v["handler"].as_str(),
        Some("src.functions.campaign.orchestrator.handler")
    );
    assert_eq!(v["handlers_from"].as_str(), Some("serverless.yml"));
    assert_eq!(
        v["push"].as_str(),
        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/traffic-manager-dev")
    );
    assert_eq!(
        v["env"].as_table().unwrap(),
        &toml::from_str::<toml::Table>("LOG_LEVEL = \"INFO\"").unwrap()
    );
    assert_eq!(
        v["ecr"].as_table().unwrap(),
        &toml::from_str::<toml::Table>(
            "create = true\nscan_on_push = true\ntag_mutability = \"MUTABLE\"\nkeep_last = 10\nexpire = \"any\""
        )
        .unwrap()
    );
    // Every key says where it came from.
    assert!(
        text.contains("base = \"public.ecr.aws/lambda/python:3.8\"    # Dockerfile:2"),
        "{text}"
    );
    assert!(
        text.contains("# Dockerfile:10 COPY into /var/task"),
        "{text}"
    );

    // What it translated and what it could not, with files and lines.
    for needle in [
        "sls/functions/campaign.yml:5  function CampaignOrchestrator: image.command",
        "sls/functions/campaign.yml:13  function WebhookReceiver: image.command",
        "sls/functions/reports.yml:5  function DailyReport: image.command",
        "sls/resources/ecr/lambda-repository.yml:9  LambdaRepository.LifecyclePolicy",
        "[ecr] keep_last = 10, expire = \"any\"",
        "scripts/build-and-push-image.sh",
        "scripts/build-and-push-image.ps1",
        "python3.8 is deprecated since 2024-10-14",
        "the next supported version is python3.11",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    if !v.contains_key("lock") {
        // requirements.txt is not hashed: the exact command that locks it for this base.
        assert!(
            err.contains("Dockerfile:6  pip install -r requirements.txt"),
            "{err}"
        );
        // Written beside the team's requirements.txt, never over it; wheels only.
        assert!(err.contains("`uv pip compile requirements.txt --generate-hashes --only-binary :all: --python-version 3.8 --python-platform x86_64-manylinux2014 -o requirements.lock` and set lock = \"requirements.lock\""), "{err}");
    }

    // Again: refused without --force (the file untouched), replaced with it.
    fs::write(p.join("lamina.toml"), "# mine\n").unwrap();
    let o = init(&p, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("lamina.toml: already exists")
            && stderr(&o).contains("hint: keep it, or pass --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        fs::read_to_string(p.join("lamina.toml")).unwrap(),
        "# mine\n"
    );
    let o = init(&p, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = fs::read_to_string(p.join("lamina.toml")).unwrap();
    assert!(
        again.contains("# push = \"ACCOUNT.dkr.ecr.us-east-1.amazonaws.com/traffic-manager-dev\""),
        "{again}"
    );
    let leftovers: Vec<String> = listing(&p)
        .into_iter()
        .filter(|n| n.contains(".lamina.toml."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The registry holding the stand-in as `lambda/python:3.8`, and `lamina` pointed at it for
/// public.ecr.aws.
struct Ecr {
    reg: Registry,
}

impl Ecr {
    fn start() -> Ecr {
        let reg = Registry::start(Auth::None);
        ok(tool("skopeo").args([
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:python3.12", standin().display()),
            &format!("docker://{}/lambda/python:3.8", reg.addr),
        ]));
        Ecr { reg }
    }
    fn lamina(&self, project: &Path, args: &[&str]) -> Command {
        let mut c = lamina(project, &project.join("../cache"));
        c.args(args).env(
            "LAMINA_REGISTRY_ENDPOINTS",
            format!("public.ecr.aws=http://{}", self.reg.addr),
        );
        c
    }
}

#[test]
fn check_passes_on_what_init_wrote_and_handlers_from_catches_a_new_function() {
    crate::needs_tools!();
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path());
    let o = init(&p, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ecr = Ecr::start();
    let o = run(&mut ecr.lamina(&p, &["check"]));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("base public.ecr.aws/lambda/python:3.8"),
        "{err}"
    );
    assert!(
        err.contains("the image passes the Lambda checks (3 handlers, platform linux/amd64)"),
        "{err}"
    );
    assert!(
        err.contains("warning[deprecated-runtime]: python3.8 is deprecated since 2024-10-14"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());

    // A function added to serverless.yml (in an included file) whose module does not exist.
    let mut reports = fs::read_to_string(p.join("sls/functions/reports.yml")).unwrap();
    reports.push_str("\nWeeklyDigest:\n  image:\n    name: lambdaImage\n    command:\n      - src.functions.reports.weekly.handler\n");
    fs::write(p.join("sls/functions/reports.yml"), reports).unwrap();
    let o = run(&mut ecr.lamina(&p, &["check"]));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[Runtime.ImportModuleError]: src.functions.reports.weekly.handler (handler 4; function WeeklyDigest (sls/functions/reports.yml:15)): Unable to import module 'src.functions.reports.weekly'"),
        "{err}"
    );
    // --handlers-from does the same for a lamina.toml without the key.
    let toml = fs::read_to_string(p.join("lamina.toml")).unwrap();
    let without: String = toml
        .lines()
        .filter(|l| !l.starts_with("handlers_from"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(p.join("lamina.toml"), &without).unwrap();
    let o = run(&mut ecr.lamina(&p, &["check"]));
    assert!(
        o.status.success(),
        "only the Cmd is checked without it: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("(1 handler, platform"),
        "{}",
        stderr(&o)
    );
    let o = run(&mut ecr.lamina(&p, &["check", "--handlers-from", "serverless.yml"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("function WeeklyDigest (sls/functions/reports.yml:15)"),
        "{}",
        stderr(&o)
    );
    fs::write(p.join("lamina.toml"), &toml).unwrap();

    // The same handler listed in lamina.toml too: checked once, still named by its function.
    let o = run(&mut ecr.lamina(
        &p,
        &[
            "check",
            "--handler",
            "src.functions.campaign.orchestrator.handler",
            "--handler",
            "src.functions.reports.weekly.handler",
        ],
    ));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        err.matches("src.functions.reports.weekly.handler (")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("(handler 2; function WeeklyDigest"), "{err}");

    // The module written: it passes, and the image's Cmd is still the first handler.
    fs::write(
        p.join("src/functions/reports/weekly.py"),
        "def handler(event, context):\n    return {}\n",
    )
    .unwrap();
    let out = t.path().join("image");
    let o = run(&mut ecr.lamina(&p, &["build", "-o", &format!("oci:{}:v1", out.display())]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("passes the Lambda checks (4 handlers"),
        "{}",
        stderr(&o)
    );
    let (manifest, _) = layout_manifest(&out, "v1");
    let config = blob_json(&out, manifest["config"]["digest"].as_str().unwrap());
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["src.functions.campaign.orchestrator.handler"])
    );
}

/// Bad input: exit 1, one `error:` line naming the file and line, a `hint:`, and nothing written.
fn fails(p: &Path, needles: &[&str]) {
    let before = listing(p);
    let o = init(p, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("\nhint: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    assert!(stdout(&o).is_empty());
    assert_eq!(listing(p), before, "nothing written");
}

#[test]
fn bad_input_names_the_file_and_line_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let d = t.path().join(name);
        fs::create_dir_all(&d).unwrap();
        project(&d)
    };
    let edit = |p: &Path, file: &str, from: &str, to: &str| {
        let f = p.join(file);
        let text = fs::read_to_string(&f).unwrap();
        assert!(text.contains(from), "{file} lacks {from}");
        fs::write(f, text.replacen(from, to, 1)).unwrap();
    };

    // YAML that does not parse.
    let p = fresh("yaml");
    edit(
        &p,
        "sls/functions/campaign.yml",
        "command: [\"src.functions.webhooks.receiver.handler\"]",
        "command: [\"src.functions.webhooks.receiver.handler\"",
    );
    fails(
        &p,
        &[
            "error: sls/functions/campaign.yml:",
            "hint: fix the YAML at that line",
        ],
    );

    // A missing ${file()} target.
    let p = fresh("missing");
    edit(
        &p,
        "serverless.yml",
        "./sls/functions/reports.yml",
        "./sls/functions/report.yml",
    );
    fails(&p, &["error: serverless.yml:24: ${file(./sls/functions/report.yml)}: sls/functions/report.yml does not exist", "relative to the directory of serverless.yml"]);

    // A Dockerfile with no FROM.
    let p = fresh("nofrom");
    edit(
        &p,
        "Dockerfile",
        "FROM public.ecr.aws/lambda/python:3.8\n",
        "",
    );
    fails(
        &p,
        &[
            "error: Dockerfile:4: no FROM instruction",
            "hint: a Lambda Dockerfile starts with FROM",
        ],
    );

    // An unknown base.
    let p = fresh("unknown");
    edit(
        &p,
        "Dockerfile",
        "FROM public.ecr.aws/lambda/python:3.8",
        "FROM python:3.8-slim",
    );
    fails(
        &p,
        &[
            "error: Dockerfile:2: FROM python:3.8-slim: not an AWS Lambda Python base lamina knows",
            "public.ecr.aws/lambda/python:3.X (3.8, 3.9",
        ],
    );

    // A handler behind a variable that only has a value when Serverless deploys.
    let p = fresh("variable");
    edit(
        &p,
        "sls/functions/reports.yml",
        "- src.functions.reports.daily.handler",
        "- ${ssm:/traffic/handler}",
    );
    fails(
        &p,
        &[
            "error: sls/functions/reports.yml:5: ${ssm:/traffic/handler} cannot be resolved",
            "hint: lamina reads serverless.yml without deploying",
        ],
    );
}

#[test]
fn a_hashed_requirements_file_is_a_lock() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path());
    fs::write(
        p.join("requirements.txt"),
        "markupsafe==2.1.5 \\\n    --hash=sha256:00e046b6dd71aa03a41079792f8473dc494d564611a8f89bbbd7cb93295ebdcf\n",
    )
    .unwrap();
    let o = init(&p, &[]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let v: toml::Table =
        toml::from_str(&fs::read_to_string(p.join("lamina.toml")).unwrap()).unwrap();
    match v.get("lock") {
        // This lamina reads locks: the key is written.
        Some(l) => assert_eq!(l.as_str(), Some("requirements.txt")),
        // It does not (yet): said so, with the way to vendor the wheels meanwhile.
        None => assert!(
            err.contains("requirements.txt is a lock, but this lamina cannot build from a lock yet")
                && err.contains("pip download --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.8"),
            "{err}"
        ),
    }
    assert_eq!(
        v.contains_key("lock"),
        lamina_core::config::accepts_key("lock"),
        "lock is written exactly when lamina.toml accepts it"
    );
}

/// What `init` (and every other message) points to exists for a user who has only the binary and
/// the README: each `README, "SECTION"` is a heading there, and no message names a file of this
/// repository (`base-images/…`).
#[test]
fn messages_name_only_readme_sections_that_exist_and_no_repository_file() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let headings: Vec<String> = readme
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim().replace('`', ""))
        .collect();
    let section = regex::Regex::new(r#"README[,:] \\?"([^"\\]+)\\?""#).unwrap();
    let mut named = 0;
    let files = walkdir::WalkDir::new(repo().join("src"))
        .into_iter()
        .chain(walkdir::WalkDir::new(repo().join("crates")));
    for e in files {
        let e = e.unwrap();
        if e.path().extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = fs::read_to_string(e.path()).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let at = format!("{}:{}", e.path().display(), i + 1);
            for c in section.captures_iter(line) {
                let name = c[1].replace("{FILE_NAME}", "lamina.toml");
                named += 1;
                assert!(
                    headings.iter().any(|h| h.starts_with(&name)),
                    "{at}: the README has no section \"{name}\""
                );
            }
            assert!(
                !line.contains("base-images/") || line.contains("include_str!"),
                "{at}: a message names a file of this repository: {line}"
            );
        }
    }
    assert!(named >= 5, "README sections named: {named}");
}
