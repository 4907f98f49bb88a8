//! What the gate can decide, it decides; what it cannot is `unverified`, never a pass (issue 22):
//! a handler missing from its own module fails whatever its dependencies do, names a lazy module
//! promises in `__all__` resolve, nested `try` in an `except` stays optional, an `__all__` changed
//! at run time is undecided rather than missing, and `--deny-unverified` makes undecided fail.

use crate::support::wheelgen::WheelGen;
use crate::support::*;
use std::fs;
use std::path::Path;
use std::process::Output;

/// A package like pydantic: names served by a module `__getattr__`, listed in `__all__`.
fn lazy_wheel(dir: &Path) {
    WheelGen::new("lazypkg", "1.0", "py3-none-any")
        .file(
            "lazypkg/__init__.py",
            b"__all__ = ('Model', 'field')\n_dynamic_imports = {'Model': (__spec__.parent, '.main'), 'field': (__spec__.parent, '.main')}\n\ndef __getattr__(name):\n    from importlib import import_module\n    if name not in _dynamic_imports:\n        raise AttributeError(name)\n    pkg, mod = _dynamic_imports[name]\n    return getattr(import_module(mod, package=pkg), name)\n",
        )
        .file(
            "lazypkg/main.py",
            b"class Model:\n    pass\n\ndef field():\n    return 1\n",
        )
        .write(dir);
    // The same, whose lazily imported module fails to import: taking the name fails.
    WheelGen::new("brokenlazy", "1.0", "py3-none-any")
        .file(
            "brokenlazy/__init__.py",
            b"_dynamic_imports: 'dict[str, tuple[str, str]]' = {'Model': (__spec__.parent, '.main')}\n\ndef __getattr__(name):\n    from importlib import import_module\n    pkg, mod = _dynamic_imports[name]\n    return getattr(import_module(mod, package=pkg), name)\n",
        )
        .file("brokenlazy/main.py", b"import notinstalled\n\nclass Model:\n    pass\n")
        .write(dir);
    // httpx's shape: an optional import inside the `except` of another.
    WheelGen::new("nested", "1.0", "py3-none-any")
        .file(
            "nested/__init__.py",
            b"try:\n    import brotli\nexcept ImportError:\n    try:\n        import brotlicffi as brotli\n    except ImportError:\n        brotli = None\n",
        )
        .write(dir);
    // numpy's shape: `__all__` extended at run time, names reached through `import *`.
    WheelGen::new("grows", "1.0", "py3-none-any")
        .file(
            "grows/__init__.py",
            b"from .types import *\n",
        )
        .file(
            "grows/types.py",
            b"__all__ = ['base']\nbase = 1\nfor _n in ('uint8', 'int8'):\n    globals()[_n] = _n\n    __all__.append(_n)\n",
        )
        .write(dir);
}

/// A scratch directory with the synthetic wheels above in `wheels/`.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let wheels = t.path().join("wheels");
    lazy_wheel(&wheels);
    (t, wheels)
}

/// The `--format json` document on stdout.
fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

fn check(project: &Path, t: &Path, wheels: &Path, extra: &[&str]) -> Output {
    let base = format!("oci:{}:python3.12", standin().display());
    run(lamina(project, &t.join("cache"))
        .args(["check", "--base", &base, "--src", "src", "--wheels"])
        .arg(wheels)
        .args(extra))
}

fn project(t: &Path, files: &[(&str, &str)]) -> std::path::PathBuf {
    let p = t.join("project");
    for (path, text) in files {
        let f = p.join(path);
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(f, text).unwrap();
    }
    p
}

const H: &str = "\n\ndef handler(event, context):\n    return 1\n";

#[test]
fn a_misspelled_handler_fails_even_when_its_module_imports_a_lazy_package() {
    let (t, wheels) = setup();
    let p = project(
        t.path(),
        &[("src/app.py", &format!("from lazypkg import Model{H}"))],
    );
    // The typo: Lambda says HandlerNotFound whatever lazypkg serves.
    let o = check(&p, t.path(), &wheels, &["--handler", "src.app.handlr"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[Runtime.HandlerNotFound]")
            && err.contains("Handler 'handlr' missing on module 'src.app'"),
        "{err}"
    );
    // The right name: Model is promised by lazypkg's __all__, so this is a pass, not "cannot verify".
    let o = check(
        &p,
        t.path(),
        &wheels,
        &["--handler", "src.app.handler", "--format", "json"],
    );
    let d = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(d["result"], "pass", "{d:#}");
    assert_eq!(d["verified"], true, "{d:#}");
    // JSON findings name the project's file beside the image's.
    let o = check(
        &p,
        t.path(),
        &wheels,
        &["--handler", "src.app.handlr", "--format", "json"],
    );
    let d = json(&o);
    let f = &d["findings"][0];
    assert_eq!(f["file"], "/var/task/src/app.py", "{d:#}");
    assert_eq!(f["project_file"], "src/app.py", "{d:#}");
}

#[test]
fn a_lazy_name_imports_what_its_table_names_and_fails_with_it() {
    let (t, wheels) = setup();
    let p = project(
        t.path(),
        &[("src/app.py", &format!("from brokenlazy import Model{H}"))],
    );
    let o = check(&p, t.path(), &wheels, &["--handler", "src.app.handler"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Unable to import module 'src.app': No module named 'notinstalled' (/var/task/brokenlazy/main.py:1)"),
        "{err}"
    );
}

#[test]
fn undecided_is_unverified_in_json_and_fails_under_deny_unverified() {
    let (t, wheels) = setup();
    // `Other` is not promised: lazypkg's __getattr__ may or may not serve it.
    let p = project(
        t.path(),
        &[("src/app.py", &format!("from lazypkg import Other{H}"))],
    );
    let o = check(
        &p,
        t.path(),
        &wheels,
        &["--handler", "src.app.handler", "--format", "json"],
    );
    let d = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(d["result"], "unverified", "{d:#}");
    assert_eq!(d["verified"], false);
    let o = check(
        &p,
        t.path(),
        &wheels,
        &["--handler", "src.app.handler", "--deny-unverified"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "could not be verified and --deny-unverified is set; nothing was written or pushed"
        ),
        "{err}"
    );
    // The same from lamina.toml.
    fs::write(p.join("lamina.toml"), "unverified = \"error\"\n").unwrap();
    let o = check(
        &p,
        t.path(),
        &wheels,
        &["--handler", "src.app.handler", "--format", "json"],
    );
    let d = json(&o);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(d["result"], "fail", "{d:#}");
}

#[test]
fn nested_optional_imports_pass_and_a_runtime_all_is_undecided_not_missing() {
    let (t, wheels) = setup();
    let p = project(
        t.path(),
        &[
            ("src/opt.py", &format!("import nested{H}")),
            ("src/star.py", &format!("from grows import uint8{H}")),
        ],
    );
    let o = check(
        &p,
        t.path(),
        &wheels,
        &["--handler", "src.opt.handler", "--format", "json"],
    );
    let d = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(d["result"], "pass", "{}", stderr(&o));
    // uint8 is added to grows.types.__all__ at run time: not "cannot import name".
    let o = check(&p, t.path(), &wheels, &["--handler", "src.star.handler"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("cannot import name"), "{err}");
    assert!(err.contains("changes __all__ at run time"), "{err}");
}

/// A project built from a lock (pylock.toml, its wheel found in --wheels, offline).
fn locked_project(t: &Path, app: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let wheels = t.join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    let name = "jmespath-1.0.1-py3-none-any.whl";
    fs::copy(
        repo().join("fixtures/wheels/parity").join(name),
        wheels.join(name),
    )
    .unwrap();
    use sha2::Digest;
    let hex = format!(
        "{:x}",
        sha2::Sha256::digest(fs::read(wheels.join(name)).unwrap())
    );
    let p = project(t, &[("src/app.py", app)]);
    fs::write(
        p.join("pylock.toml"),
        format!("lock-version = \"1.0\"\ncreated-by = \"test\"\nrequires-python = \">=3.12\"\n\n[[packages]]\nname = \"jmespath\"\nversion = \"1.0.1\"\n\n[[packages.wheels]]\nname = \"{name}\"\nurl = \"https://files.pythonhosted.org/packages/{name}\"\nhashes = {{ sha256 = \"{hex}\" }}\n"),
    )
    .unwrap();
    (p, wheels)
}

fn check_locked(p: &Path, t: &Path, wheels: &Path) -> String {
    let base = format!("oci:{}:python3.12", standin().display());
    let o = run(lamina(p, &t.join("cache"))
        .args([
            "check",
            "--base",
            &base,
            "--src",
            "src",
            "--lock",
            "pylock.toml",
            "--offline",
        ])
        .args(["--handler", "src.app.handler", "--wheels"])
        .arg(wheels));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    err
}

#[test]
fn fixes_name_the_module_meant_the_projects_real_name_and_the_users_input() {
    let t = tempfile::tempdir().unwrap();
    let (p, wheels) = locked_project(
        t.path(),
        &format!("import jmespath\nimport jmesapth\nfrom google.ads.googleads import client{H}"),
    );
    let err = check_locked(&p, t.path(), &wheels);
    // A typo of a module that is here: no project to add (a typosquatter could own 'jmesapth').
    assert!(
        err.contains(
            "hint: did you mean 'jmespath'? /var/task has jmespath, and no module 'jmesapth'"
        ),
        "{err}"
    );
    assert!(!err.contains("add jmesapth"), "{err}");
    // A namespace is not a project: google.ads comes from google-ads.
    assert!(
        err.contains("'google.ads' comes from the google-ads project"),
        "{err}"
    );
    assert!(!err.contains("add google "), "{err}");
    // Built from a lock: relock, not pip download.
    assert!(err.contains("lock again (uv: `uv add google-ads`"), "{err}");
    assert!(
        err.contains("fetch every missing dependency at once: uv add google-ads"),
        "{err}"
    );
    assert!(!err.contains("pip download"), "{err}");
}

#[test]
fn exec_and_runpy_with_constant_strings_are_resolved_and_find_spec_guards_are_conditional() {
    let t = tempfile::tempdir().unwrap();
    let (p, wheels) = locked_project(
        t.path(),
        &format!("import importlib.util\nimport runpy\nexec(\"import notthere\")\nrunpy.run_module(\"runnot\")\nspec = importlib.util.find_spec(\"maybe\")\nmaybe = __import__(\"maybe\") if spec else None\n{H}"),
    );
    let err = check_locked(&p, t.path(), &wheels);
    assert!(
        err.contains("error[Runtime.ImportModuleError]")
            && err.contains("No module named 'notthere'"),
        "{err}"
    );
    assert!(
        err.contains("imports runnot: No module named 'runnot'"),
        "{err}"
    );
    assert!(
        err.contains("warning[conditional-import]: /var/task/src/app.py:6 imports maybe"),
        "{err}"
    );
    // A computed exec is not checked, so it is never a silent pass.
    let t2 = tempfile::tempdir().unwrap();
    let (p, wheels) = locked_project(
        t2.path(),
        &format!("import os\nexec(os.environ.get('CODE', ''))\n{H}"),
    );
    let base = format!("oci:{}:python3.12", standin().display());
    let o = run(lamina(&p, &t2.path().join("cache"))
        .args([
            "check",
            "--base",
            &base,
            "--src",
            "src",
            "--lock",
            "pylock.toml",
            "--offline",
        ])
        .args([
            "--handler",
            "src.app.handler",
            "--format",
            "json",
            "--wheels",
        ])
        .arg(&wheels));
    let d = json(&o);
    assert_eq!(d["result"], "unverified", "{}", stderr(&o));
}

#[test]
fn a_forgotten_dependency_input_is_one_error_listing_the_handlers_it_fails() {
    let t = tempfile::tempdir().unwrap();
    let code = format!("import requests\nimport yaml\nfrom dotenv import load_dotenv{H}");
    let p = project(
        t.path(),
        &[
            ("requirements.txt", "requests\nPyYAML\npython-dotenv\n"),
            ("src/a.py", &code),
            ("src/b.py", &code),
        ],
    );
    let base = format!("oci:{}:python3.12", standin().display());
    let o = run(lamina(&p, &t.path().join("cache"))
        .args(["check", "--base", &base, "--src", "src", "--format", "json"])
        .args(["--handler", "src.a.handler", "--handler", "src.b.handler"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let d = json(&o);
    let errors: Vec<&serde_json::Value> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{d:#}");
    assert_eq!(errors[0]["code"], "dependency-input", "{d:#}");
    assert_eq!(
        errors[0]["handlers"],
        serde_json::json!(["src.a.handler", "src.b.handler"])
    );
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("so 2 handlers fail with No module named … (requests, yaml, dotenv)"),
        "{d:#}"
    );
}
