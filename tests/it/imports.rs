//! `lamina check` resolves every import a handler makes at module level before deploy: handlers
//! on namespace packages, missing dependencies (with file, line and the project to install),
//! optional imports, transitive imports through the user's own packages, and the standard library
//! of the target's exact version. tests/runs.rs shows awslambdaric reports the same errors.

use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

struct P {
    t: tempfile::TempDir,
}

impl P {
    fn new(files: &[(&str, &str)]) -> P {
        let t = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = t.path().join("project").join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        fs::create_dir_all(t.path().join("project/src")).unwrap();
        P { t }
    }
    fn dir(&self) -> PathBuf {
        self.t.path().join("project")
    }
    fn check(&self, args: &[&str]) -> Output {
        let base = format!("oci:{}:python3.12", standin().display());
        run(lamina(&self.dir(), &self.t.path().join("cache"))
            .args(["check", "--base", &base, "--src", "src"])
            .args(args))
    }
    fn wheels(&self, names: &[&str]) -> String {
        let d = self.t.path().join("wheels");
        fs::create_dir_all(&d).unwrap();
        for n in names {
            fs::copy(repo().join("fixtures/wheels/parity").join(n), d.join(n)).unwrap();
        }
        d.display().to_string()
    }
}

const H: &str = "def handler(event, context):\n    return 1\n";
const DOTENV: &str = "python_dotenv-1.0.1-py3-none-any.whl";

fn failed(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("nothing was written or pushed"), "{err}");
    err
}

#[test]
fn handlers_on_namespace_packages_are_handler_not_found_with_the_intended_handler() {
    // No __init__.py anywhere: src and src/functions/orders are PEP 420 namespace packages.
    let p = P::new(&[
        ("src/functions/orders/create.py", H),
        ("src/functions/orders/list_all.py", H),
    ]);
    let err = failed(&p.check(&["--handler", "src.functions.orders.create"]));
    assert!(err.contains("error[Runtime.HandlerNotFound]: src.functions.orders.create (the image's Cmd): Handler 'create' missing on module 'src.functions.orders'"), "{err}");
    assert!(err.contains("hint: 'create' is a module, not a function: did you mean src.functions.orders.create.handler? (/var/task/src/functions/orders/create.py defines handler)"), "{err}");
    let err = failed(&p.check(&["--handler", "src.functions.orders.nothing"]));
    assert!(err.contains("error[Runtime.HandlerNotFound]: src.functions.orders.nothing (the image's Cmd): Handler 'nothing' missing on module 'src.functions.orders'"), "{err}");
    assert!(err.contains("src.functions.orders is a namespace package (a directory without __init__.py): it binds no functions") && err.contains("modules there: create, list_all"), "{err}");
    let o = p.check(&["--handler", "src.functions.orders.create.handler"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("the image passes the Lambda checks (1 handler"));
}

#[test]
fn a_missing_dependency_is_import_module_error_naming_file_line_and_project() {
    let p = P::new(&[
        ("requirements.txt", "python-dotenv==1.0.1\n"),
        (
            "src/functions/settings.py",
            &format!("import json\n\nimport dotenv\n\n{H}"),
        ),
    ]);
    let err = failed(&p.check(&["--handler", "src.functions.settings.handler"]));
    // One root cause, one finding: the requirements file nobody passed, with the handlers it fails.
    assert!(err.contains("error[dependency-input]: requirements.txt is next to the project, but no dependency input was given: the image holds none of the packages this requirements file names; so 1 handler fails with No module named … (dotenv)"), "{err}");
    assert!(!err.contains("error[Runtime.ImportModuleError]"), "{err}");
    assert!(err.contains("--wheels") && err.contains("--lock"), "{err}");
    assert!(err.contains("-r requirements.txt"), "{err}");
    assert!(
        err.contains("fetch every missing dependency at once: pip download --only-binary=:all:")
            && err.contains(" python-dotenv"),
        "{err}"
    );
    // With the wheel: resolved (dotenv/__init__.py re-exports from .main), and no dependency-input warning.
    let wheels = p.wheels(&[DOTENV]);
    let o = p.check(&[
        "--handler",
        "src.functions.settings.handler",
        "--wheels",
        &wheels,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the image passes the Lambda checks"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("dependency-input"));
}

#[test]
fn the_same_import_under_try_except_import_error_is_a_warning() {
    let p = P::new(&[(
        "src/functions/settings.py",
        &format!("try:\n    import dotenv\nexcept ImportError:\n    dotenv = None\n\n{H}"),
    )]);
    let o = p.check(&["--handler", "src.functions.settings.handler"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning[optional-import]: /var/task/src/functions/settings.py:2 imports dotenv: No module named 'dotenv'; handled by its except ImportError"), "{err}");
    assert!(!err.contains("error["), "{err}");
}

#[test]
fn transitive_imports_through_the_users_packages_are_followed() {
    let files = [
        ("src/__init__.py", ""),
        ("src/lib/__init__.py", "from .db import connect\n"),
        (
            "src/lib/db.py",
            "from . import config\n\ndef connect():\n    return config.URL\n",
        ),
        (
            "src/lib/config.py",
            "import os\nimport markupsafe\n\nURL = os.environ.get('URL')\n",
        ),
        (
            "src/functions/orders.py",
            &format!("from src.lib import connect\n\n{H}"),
        ),
    ];
    let p = P::new(&files);
    let err = failed(&p.check(&["--handler", "src.functions.orders.handler"]));
    assert!(err.contains("Unable to import module 'src.functions.orders': No module named 'markupsafe' (/var/task/src/lib/config.py:2) (via src.functions.orders → src.lib → src.lib.db → src.lib.config)"), "{err}");
    assert!(
        err.contains("'markupsafe' comes from the markupsafe project")
            || err.contains("add markupsafe"),
        "{err}"
    );
    let wheels =
        p.wheels(&["MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]);
    let o = p.check(&[
        "--handler",
        "src.functions.orders.handler",
        "--wheels",
        &wheels,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("the image passes the Lambda checks"));
}

#[test]
fn a_stdlib_module_newer_than_the_base_is_an_error() {
    let p = P::new(&[("src/app.py", &format!("import tomllib\n\n{H}"))]);
    // python3.8 is not in the catalog here: the base's version comes from --python.
    let err = failed(&p.check(&[
        "--handler",
        "src.app.handler",
        "--python",
        "3.8",
        "--glibc",
        "2.26",
    ]));
    assert!(err.contains("error[Runtime.ImportModuleError]: src.app.handler (the image's Cmd): Unable to import module 'src.app': No module named 'tomllib' (/var/task/src/app.py:1)"), "{err}");
    assert!(err.contains("'tomllib' is in the standard library of CPython 3.11, 3.12, 3.13, 3.14 only; the base runs 3.8; on this base use the tomli backport"), "{err}");
    let o = p.check(&["--handler", "src.app.handler"]);
    assert!(o.status.success(), "3.12 has tomllib: {}", stderr(&o));
}

#[test]
fn python_syntax_the_target_does_not_know_is_a_syntax_error() {
    let p = P::new(&[(
        "src/app.py",
        &format!("def f(x):\n    match x:\n        case 1:\n            return 1\n\n{H}"),
    )]);
    let err = failed(&p.check(&[
        "--handler",
        "src.app.handler",
        "--python",
        "3.9",
        "--glibc",
        "2.26",
    ]));
    assert!(err.contains("error[Runtime.UserCodeSyntaxError]: src.app.handler (the image's Cmd): Syntax error in module 'src.app':"), "{err}");
    assert!(err.contains("(app.py, line 2)"), "{err}");
    assert!(p.check(&["--handler", "src.app.handler"]).status.success());
}

#[test]
fn what_cannot_be_decided_is_never_a_pass() {
    let p = P::new(&[(
        "src/app.py",
        "import importlib, os\nplugin = importlib.import_module(os.environ['PLUGIN'])\n\ndef handler(event, context):\n    import yaml\n    return plugin.run(event)\n",
    )]);
    let o = p.check(&["--handler", "src.app.handler"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning[cannot-verify]: src.app.handler (the image's Cmd): cannot verify: a dynamic import (importlib.import_module / __import__ / runpy.run_module / exec with a computed name) at /var/task/src/app.py:2 is not checked"), "{err}");
    assert!(err.contains("warning[function-import]: /var/task/src/app.py:5 imports yaml: No module named 'yaml'; inside handler(): fails when it is called"), "{err}");
    assert!(err.contains("warning[function-import]: 1 import(s) inside functions in your code were resolved but not followed"), "{err}");
    assert!(err.contains("but 1 thing could not be verified"), "{err}");
    assert!(!err.contains("passes the Lambda checks"), "{err}");
}

#[test]
fn pth_files_and_stdlib_shadows_are_named() {
    let p = P::new(&[("src/app.py", H)]);
    let wheels = p.wheels(&["zope.interface-7.2-cp312-cp312-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]);
    fs::write(p.dir().join("src/typing.py"), "# an old backport\n").unwrap();
    let o = run(lamina(&p.dir(), &p.t.path().join("cache")).args([
        "check",
        "--base",
        &format!("oci:{}:python3.12", standin().display()),
        "--src",
        ".",
        "--handler",
        "src.app.handler",
        "--wheels",
        &wheels,
        "--missing-deps",
        "warn",
    ]));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("warning[pth-file]: /var/task/zope.interface-7.2-py3.12-nspkg.pth is not processed on Lambda"), "{err}");
    let p2 = P::new(&[("src/app.py", H), ("src/typing.py", "")]);
    let o = run(
        lamina(&p2.dir().join("src"), &p2.t.path().join("cache")).args([
            "check",
            "--base",
            &format!("oci:{}:python3.12", standin().display()),
            "--src",
            ".",
            "--handler",
            "app.handler",
        ]),
    );
    let err = stderr(&o);
    assert!(err.contains("warning[shadows-stdlib]: /var/task/typing.py (from your source) shadows the standard library's typing"), "{err}");
    let _ = Path::new("");
}
