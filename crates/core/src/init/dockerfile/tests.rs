use super::*;
use crate::init::Verdict;

fn read_str(text: &str, files: &[&str]) -> Result<FromDockerfile, InitError> {
    let t = tempfile::tempdir().unwrap();
    for f in files {
        let p = t.path().join(f);
        if f.ends_with('/') {
            std::fs::create_dir_all(&p).unwrap();
        } else {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
    }
    std::fs::write(t.path().join("Dockerfile"), text).unwrap();
    read(&t.path().join("Dockerfile"), "Dockerfile", t.path())
}

fn untranslated(d: &FromDockerfile) -> Vec<(String, String)> {
    d.notes
        .iter()
        .filter(|n| n.verdict == Verdict::NotTranslated)
        .map(|n| (n.at.clone(), n.detail.clone()))
        .collect()
}

#[test]
fn the_lambda_dockerfile_translates() {
    let d = read_str(
        "ARG PY=3.8\nFROM public.ecr.aws/lambda/python:${PY}\nCOPY requirements.txt .\nRUN pip install --upgrade pip && pip install -r requirements.txt --target \"${LAMBDA_TASK_ROOT}\"\nCOPY src ${LAMBDA_TASK_ROOT}/src\nCOPY app.py ./\nENV LOG_LEVEL=INFO APP_HOME=${LAMBDA_TASK_ROOT}/src\nLABEL team=growth\nCMD [\"src.functions.campaign.orchestrator.handler\"]\n",
        &["requirements.txt", "src/", "app.py"],
    )
    .unwrap();
    assert_eq!(d.base, "public.ecr.aws/lambda/python:3.8");
    assert_eq!(d.base_at, "Dockerfile:2");
    assert_eq!(d.srcs, ["src", "app.py"]);
    assert_eq!(
        d.handler,
        Some((
            "src.functions.campaign.orchestrator.handler".into(),
            "Dockerfile:9".into()
        ))
    );
    assert_eq!(d.srcs_at, ["Dockerfile:5", "Dockerfile:6"]);
    assert_eq!(
        d.env,
        [
            ("LOG_LEVEL".to_string(), "INFO".to_string()),
            ("APP_HOME".into(), "/var/task/src".into())
        ]
    );
    assert_eq!(d.labels, [("team".to_string(), "growth".to_string())]);
    assert_eq!(
        d.requirements,
        Some(("requirements.txt".into(), "Dockerfile:4".into()))
    );
    assert!(untranslated(&d).is_empty(), "{:?}", untranslated(&d));
}

#[test]
fn what_has_no_equivalent_is_reported_with_its_line() {
    let d = read_str(
        "FROM public.ecr.aws/lambda/python:3.12 AS build\nRUN echo hi\nFROM public.ecr.aws/lambda/python:3.12-arm64\nRUN yum install -y gcc\nUSER nobody\nCOPY --from=build /x /var/task/x\nCOPY lib ${LAMBDA_TASK_ROOT}\nCOPY src /opt/src\nEXPOSE 8080\nCMD [\"a.b\", \"c\"]\n",
        &["lib/", "src/"],
    )
    .unwrap();
    assert_eq!(d.platform.as_deref(), Some("linux/arm64"));
    let u = untranslated(&d);
    let at: Vec<&str> = u.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        at,
        [
            "Dockerfile:1-2",
            "Dockerfile:4",
            "Dockerfile:5",
            "Dockerfile:6",
            "Dockerfile:7",
            "Dockerfile:8",
            "Dockerfile:9",
            "Dockerfile:10"
        ]
    );
    assert!(u[0].1.contains("multi-stage"), "{u:?}");
    assert!(u[1].1.contains("yum installs system packages"), "{u:?}");
    assert!(u[2].1.contains("non-root user"), "{u:?}");
    assert!(u[4].1.contains("Docker puts lib at /var/task"), "{u:?}");
    assert!(u[7].1.contains("exactly one argument"), "{u:?}");
}

#[test]
fn bad_dockerfiles_are_errors_with_the_line() {
    let e = read_str("# just a comment\nRUN echo\n", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Dockerfile:2: no FROM instruction: this is not a Dockerfile lamina can translate"
    );
    let e = read_str("\nFROM python:3.8-slim\n", &[]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Dockerfile:2: FROM python:3.8-slim: not an AWS Lambda Python base"),
        "{e}"
    );
    let e = read_str("FROM public.ecr.aws/lambda/python:${V}\n", &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("Dockerfile:1: FROM uses ${V}, which has no default"),
        "{e}"
    );
}
