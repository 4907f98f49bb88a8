//! How users get lamina: the Python wheel (`pip install lamina-lambda`, built by scripts/test.sh with
//! maturin into `$LAMINA_TEST_WHEEL_DIR`), installed into a fresh venv with no cargo on PATH and
//! used to push the example; the GitHub Action (action.yml) run step by step the way the runner
//! does (tests/action/runner.py); `--version` naming the commit; the man pages and completions the
//! wheel ships, regenerated from the clap definitions and compared with the committed files.

use crate::support::registry::{Auth, Registry};
use crate::support::{self, ok, pushing_project, repo, run, stderr, stdout};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding the wheel scripts/test.sh built; `None` (after saying why) when this is
/// not a test.sh run, a failure when LAMINA_REQUIRE_TOOLS=1.
fn wheel_dir() -> Option<PathBuf> {
    if support::tools::skip() {
        return None;
    }
    let dir = std::env::var_os("LAMINA_TEST_WHEEL_DIR").map(PathBuf::from);
    match dir {
        Some(d) if d.is_dir() => Some(d),
        _ if std::env::var("LAMINA_REQUIRE_TOOLS").as_deref() == Ok("1") => {
            panic!("LAMINA_REQUIRE_TOOLS=1 but LAMINA_TEST_WHEEL_DIR names no directory (scripts/test.sh builds the wheel with maturin)")
        }
        _ => {
            eprintln!("skipped: LAMINA_TEST_WHEEL_DIR is unset; scripts/test.sh builds the wheel");
            None
        }
    }
}

/// A PATH with the system's directories and nothing else: no ~/.cargo/bin, no rustup.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";

fn system_python() -> PathBuf {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("a system python3 (scripts/test.sh apt-installs python3)")
}

/// `python3 -m venv DIR` and `pip install --no-index --find-links WHEELS lamina-lambda` there, with a
/// PATH that has no cargo; returns the venv.
fn install_wheel(wheels: &Path, at: &Path) -> PathBuf {
    let venv = at.join("venv");
    ok(Command::new(system_python())
        .args(["-m", "venv"])
        .arg(&venv)
        .env("PATH", SYSTEM_PATH));
    ok(Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-index", "--find-links"])
        .arg(wheels)
        .arg("lamina-lambda")
        .env("PATH", SYSTEM_PATH));
    venv
}

fn git_stamp() -> Option<String> {
    let o = Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(["log", "-1", "--format=%h %cs", "--abbrev=12"])
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

#[test]
fn version_names_the_commit() {
    let out = ok(Command::new(env!("CARGO_BIN_EXE_lamina")).arg("--version"));
    let version = env!("CARGO_PKG_VERSION");
    match git_stamp() {
        Some(stamp) => assert_eq!(out.trim(), format!("lamina {version} ({stamp})")),
        None => assert!(out.starts_with(&format!("lamina {version} (")), "{out}"),
    }
}

/// The shipped pages and completions (python/lamina.data/data/share/) equal what this binary
/// generates. After changing a flag: `lamina man --out python/lamina.data/data/share/man/man1`
/// and `lamina completions bash|zsh|fish > …` (the paths below).
#[test]
fn shipped_man_pages_and_completions_match_the_flags() {
    let share = repo().join("python/lamina.data/data/share");
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_lamina");
    ok(Command::new(bin).args(["man", "--out"]).arg(tmp.path()));
    let mut generated: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    generated.sort();
    let mut shipped: Vec<String> = fs::read_dir(share.join("man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    shipped.sort();
    assert_eq!(generated, shipped, "one page per subcommand");
    let stale = "is stale: regenerate it (tests/it/distribution.rs says how)";
    for page in &generated {
        let want = fs::read(tmp.path().join(page)).unwrap();
        let have = fs::read(share.join("man/man1").join(page)).unwrap();
        assert!(want == have, "share/man/man1/{page} {stale}");
    }
    assert!(
        fs::read_to_string(share.join("man/man1/lamina-build.1"))
            .unwrap()
            .contains("\\-\\-deny\\-unverified"),
        "the build page documents its flags"
    );
    for (shell, path) in [
        ("bash", "bash-completion/completions/lamina"),
        ("zsh", "zsh/site-functions/_lamina"),
        ("fish", "fish/vendor_completions.d/lamina.fish"),
    ] {
        let want = ok(Command::new(bin).args(["completions", shell]));
        let have = fs::read_to_string(share.join(path)).unwrap();
        assert!(want == have, "share/{path} {stale}");
        assert!(
            have.contains("deny-unverified"),
            "{shell} completes build's flags"
        );
    }
    let ps = ok(Command::new(bin).args(["completions", "powershell"]));
    assert!(ps.contains("Register-ArgumentCompleter"), "{ps}");
}

/// What a release pins together: action.yml installs the version Cargo.toml builds (the release
/// workflow checks the tag against both).
#[test]
fn the_action_installs_this_version_by_default() {
    let action = fs::read_to_string(repo().join("action.yml")).unwrap();
    let version = action
        .split("\n  version:")
        .nth(1)
        .and_then(|s| s.split("default: \"").nth(1))
        .and_then(|s| s.split('"').next())
        .expect("action.yml has a version input with a quoted default");
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let o = run(Command::new(env!("CARGO_BIN_EXE_lamina")).args(["completions", "tcsh"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{}",
        stderr(&o)
    );
}

/// The wheel, in a venv made by the system's python with no cargo on PATH: `lamina --version`,
/// the man page installed under the venv's share/, and the example built and pushed to a local
/// registry with the same digest the cargo-built binary gives.
#[test]
fn the_wheel_installs_without_rust_and_pushes_the_example() {
    let Some(wheels) = wheel_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let venv = install_wheel(&wheels, tmp.path());
    let no_cargo = Command::new("sh")
        .args(["-c", "command -v cargo rustc"])
        .env(
            "PATH",
            format!("{}:{SYSTEM_PATH}", venv.join("bin").display()),
        )
        .output()
        .unwrap();
    assert!(
        stdout(&no_cargo).trim().is_empty(),
        "cargo is on the PATH the wheel runs with"
    );
    let lamina = venv.join("bin/lamina");
    assert!(lamina.is_file(), "the wheel installs bin/lamina");
    let version = ok(Command::new(&lamina)
        .arg("--version")
        .env("PATH", SYSTEM_PATH));
    assert!(
        version.starts_with(&format!("lamina {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(
        venv.join("share/man/man1/lamina.1").is_file(),
        "the man page is installed"
    );
    assert!(venv
        .join("share/bash-completion/completions/lamina")
        .is_file());

    let reg = Registry::start(Auth::None);
    let project = pushing_project(tmp.path());
    let target = format!("{}/wheel/app:v1", reg.addr);
    let pushed = ok(Command::new(&lamina)
        .args(["build", "--push", &target])
        .current_dir(&project)
        .env("PATH", SYSTEM_PATH)
        .env("LAMINA_CACHE_DIR", tmp.path().join("cache"))
        .env("SOURCE_DATE_EPOCH", support::EPOCH));
    let digest = pushed.trim().rsplit('@').next().unwrap().to_string();
    assert!(digest.starts_with("sha256:"), "{pushed}");
    let inspected = ok(support::tool("skopeo")
        .arg("inspect")
        .args(reg.skopeo_inspect())
        .arg(format!("docker://{target}")));
    let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(
        inspected["Digest"],
        digest.as_str(),
        "the tag names what lamina printed"
    );

    let built =
        ok(support::lamina(&project, &tmp.path().join("cache2"))
            .args(["check", "--format", "json"]));
    let built: serde_json::Value = serde_json::from_str(&built).unwrap();
    assert_eq!(
        built["digest"],
        digest.as_str(),
        "the wheel's lamina is this source tree's lamina"
    );
}

/// action.yml's steps, run as the runner runs a composite action: install from the wheel (pip's
/// arguments point at the local wheel directory), build, push with two tags; the outputs `digest`
/// and `image` name what the registry now holds. An input holding shell syntax stays data.
#[test]
fn the_action_installs_builds_pushes_and_sets_its_outputs() {
    let Some(wheels) = wheel_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start(Auth::None);
    let project = pushing_project(tmp.path());
    let work = tmp.path().join("runner");
    fs::create_dir_all(&work).unwrap();
    let repository = format!("{}/action/app", reg.addr);
    let python = support::moto::venv().join("bin/python");
    let o = run(Command::new(&python)
        .arg(repo().join("tests/action/runner.py"))
        .arg(repo())
        .arg(&work)
        .arg(format!("project-dir={}", project.display()))
        .arg(format!("version={}", env!("CARGO_PKG_VERSION")))
        .arg(format!("push={repository}"))
        .arg("tags=v1, latest")
        .arg(format!(
            "pip-args=--no-index --find-links {}",
            wheels.display()
        ))
        .arg(format!("python={}", system_python().display()))
        .env("PATH", SYSTEM_PATH)
        .env("LAMINA_CACHE_DIR", tmp.path().join("cache"))
        .env("SOURCE_DATE_EPOCH", support::EPOCH));
    assert!(o.status.success(), "{}\n{}", stderr(&o), stdout(&o));
    let result: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(result["skipped"], serde_json::json!(["actions/cache@v4"]));
    let digest = result["outputs"]["digest"].as_str().unwrap().to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{result}"
    );
    assert_eq!(
        result["outputs"]["image"],
        format!("{repository}@{digest}").as_str()
    );
    let report = result["outputs"]["report"].as_str().unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(report["result"], "pass");
    for tag in ["v1", "latest"] {
        let inspected = ok(support::tool("skopeo")
            .arg("inspect")
            .args(reg.skopeo_inspect())
            .arg(format!("docker://{repository}:{tag}")));
        let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
        assert_eq!(inspected["Digest"], digest.as_str(), "tag {tag}");
    }

    // Inputs are data: shell syntax in `tags` and `args` reaches lamina as words, never runs.
    let canary = tmp.path().join("canary");
    let o = run(Command::new(&python)
        .arg(repo().join("tests/action/runner.py"))
        .arg(repo())
        .arg(&work)
        .arg(format!("project-dir={}", project.display()))
        .arg(format!("push={repository}"))
        .arg(format!(
            "tags=v2 $(touch {0}) `touch {0}`",
            canary.display()
        ))
        .arg(format!("args=--label x=1;touch {}", canary.display()))
        .arg(format!(
            "pip-args=--no-index --find-links {}",
            wheels.display()
        ))
        .arg(format!("python={}", system_python().display()))
        .env("PATH", SYSTEM_PATH)
        .env("LAMINA_CACHE_DIR", tmp.path().join("cache")));
    assert!(!o.status.success(), "a tag `$(touch` is refused by lamina");
    assert!(!canary.exists(), "an input ran as shell code");
}
