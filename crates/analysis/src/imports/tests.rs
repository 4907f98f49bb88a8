//! The import system and awslambdaric's handler lookup, on in-memory trees: each case is what
//! CPython 3.x does with the same files (the end-to-end test checks the main ones against the
//! real awslambdaric).

use super::*;
use crate::facts::When;
use crate::handler::{resolve, HandlerError, Outcome};
use crate::stdlib::Stdlib;
use std::collections::{BTreeMap, HashSet};

#[derive(Default)]
struct Mem {
    /// path → (text, from the source layer)
    files: BTreeMap<String, (String, bool)>,
}

impl Mem {
    fn src(mut self, path: &str, text: &str) -> Mem {
        self.files.insert(path.into(), (text.into(), true));
        self
    }
    fn dep(mut self, path: &str, text: &str) -> Mem {
        self.files.insert(path.into(), (text.into(), false));
        self
    }
}

impl TaskTree for Mem {
    fn is_file(&self, p: &str) -> bool {
        self.files.contains_key(p)
    }
    fn is_dir(&self, p: &str) -> bool {
        let prefix = format!("{p}/");
        self.files.keys().any(|k| k.starts_with(&prefix))
    }
    fn list(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<String> = self
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        out.dedup();
        out
    }
    fn read(&self, p: &str) -> Option<Vec<u8>> {
        self.files.get(p).map(|(t, _)| t.clone().into_bytes())
    }
    fn is_source(&self, p: &str) -> bool {
        self.files.get(p).is_some_and(|(_, s)| *s)
    }
}

fn space(fs: &Mem, minor: u32) -> Space<'_> {
    let runtime = Runtime::Known {
        modules: ["boto3".to_string()].into_iter().collect::<HashSet<_>>(),
        exact: false,
    };
    Space::new(
        fs,
        StdlibView::Known(Stdlib::catalog(minor).unwrap()),
        runtime,
        Some(minor),
        "x86_64",
    )
}

fn fails(fs: &Mem, minor: u32, handler: &str) -> (HandlerError, String, Option<String>) {
    match resolve(&space(fs, minor), handler).outcome {
        Outcome::Fails(f) => (f.error, f.message, f.hint),
        other => panic!("{handler}: {other:?}"),
    }
}

fn ok(fs: &Mem, minor: u32, handler: &str) {
    match resolve(&space(fs, minor), handler).outcome {
        Outcome::Ok(_) => {}
        other => panic!("{handler}: {other:?}"),
    }
}

const H: &str = "def handler(event, context):\n    return 1\n";

#[test]
fn namespace_packages_bind_no_functions() {
    // src/functions/orders has no __init__.py: a PEP 420 namespace package.
    let fs = Mem::default().src("src/functions/orders/create.py", H).src(
        "src/functions/orders/refund.py",
        "def lambda_handler(e, c):\n    pass\n",
    );
    let (e, msg, hint) = fails(&fs, 12, "src.functions.orders.create");
    assert_eq!(e, HandlerError::HandlerNotFound);
    assert_eq!(
        msg,
        "Handler 'create' missing on module 'src.functions.orders'"
    );
    assert!(
        hint.unwrap()
            .contains("did you mean src.functions.orders.create.handler?"),
        "the forgotten .handler"
    );
    let (e, msg, hint) = fails(&fs, 12, "src.functions.orders.nothing");
    assert_eq!(e, HandlerError::HandlerNotFound);
    assert_eq!(
        msg,
        "Handler 'nothing' missing on module 'src.functions.orders'"
    );
    assert!(hint.unwrap().contains("namespace package"));
    let (_, _, hint) = fails(&fs, 12, "src.functions.orders.refund");
    assert!(hint
        .unwrap()
        .contains("src.functions.orders.refund.lambda_handler"));
    ok(&fs, 12, "src.functions.orders.create.handler");
    ok(&fs, 12, "src/functions/orders/create.handler");
}

#[test]
fn missing_modules_name_the_file_line_and_chain() {
    let fs = Mem::default()
        .src(
            "src/functions/a.py",
            "import json\nfrom src.lib import util\n\ndef handler(e, c):\n    return util.go()\n",
        )
        .src("src/lib/__init__.py", "")
        .src(
            "src/lib/util.py",
            "import os\n\nimport dotenv\n\ndef go():\n    pass\n",
        );
    let s = space(&fs, 12);
    let r = resolve(&s, "src.functions.a.handler");
    let Outcome::Fails(f) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(f.error, HandlerError::ImportModuleError);
    assert_eq!(
        f.message,
        "Unable to import module 'src.functions.a': No module named 'dotenv'"
    );
    assert_eq!(
        (f.file.as_deref(), f.line),
        (Some("src/lib/util.py"), Some(3))
    );
    let w = r.walk.unwrap();
    assert_eq!(w.failures[0].chain, ["src.functions.a", "src.lib.util"]);
    // The transitive import itself resolves when the module exists.
    let fs = fs
        .dep("dotenv/__init__.py", "from .main import load_dotenv\n")
        .dep("dotenv/main.py", "def load_dotenv():\n    pass\n");
    ok(&fs, 12, "src.functions.a.handler");
}

#[test]
fn guarded_conditional_type_checking_and_function_imports_are_not_errors() {
    let fs = Mem::default().src(
        "app.py",
        "import sys\nfrom typing import TYPE_CHECKING\ntry:\n    import dotenv\nexcept ImportError:\n    dotenv = None\nif TYPE_CHECKING:\n    import mypy_boto3_s3\nif sys.argv:\n    import maybe_here\n\ndef handler(e, c):\n    import yaml\n    return 1\n",
    );
    let s = space(&fs, 12);
    let r = resolve(&s, "app.handler");
    assert_eq!(r.outcome, Outcome::Ok("/var/task/app.py".into()));
    let whens: Vec<(String, When)> = r
        .walk
        .unwrap()
        .failures
        .into_iter()
        .map(|f| (f.target, f.when))
        .collect();
    assert!(
        matches!(&whens[0], (t, When::Guarded(_)) if t == "dotenv"),
        "{whens:?}"
    );
    assert_eq!(whens[1], ("mypy_boto3_s3".into(), When::TypeChecking));
    assert_eq!(
        whens[2],
        ("maybe_here".into(), When::Conditional("if sys.argv".into()))
    );
    assert_eq!(
        whens[3],
        ("yaml".into(), When::InFunction("handler".into()))
    );
}

#[test]
fn a_failed_guarded_import_makes_its_fallback_required() {
    let fs = Mem::default().src(
        "app.py",
        "try:\n    import ujson as json\nexcept ImportError:\n    import simplejson as json\n\ndef handler(e, c):\n    return 1\n",
    );
    let (e, msg, _) = fails(&fs, 12, "app.handler");
    assert_eq!(e, HandlerError::ImportModuleError);
    assert_eq!(
        msg,
        "Unable to import module 'app': No module named 'simplejson'"
    );
    let fs = fs.dep("ujson.cpython-312-x86_64-linux-gnu.so", "");
    ok(&fs, 12, "app.handler");
}

#[test]
fn the_standard_library_of_the_target_version() {
    let fs = Mem::default().src("app.py", &format!("import tomllib\n{H}"));
    let (e, msg, _) = fails(&fs, 8, "app.handler");
    assert_eq!(e, HandlerError::ImportModuleError);
    assert_eq!(
        msg,
        "Unable to import module 'app': No module named 'tomllib'"
    );
    ok(&fs, 12, "app.handler");
    // Version checks are decided for the target.
    let fs = Mem::default().src(
        "app.py",
        &format!("import sys\nif sys.version_info >= (3, 11):\n    import tomllib\nelse:\n    import tomli as tomllib\n{H}"),
    );
    ok(&fs, 12, "app.handler");
    let (_, msg, _) = fails(&fs, 9, "app.handler");
    assert!(msg.ends_with("No module named 'tomli'"), "{msg}");
    // distutils left in 3.12; a submodule of a stdlib package must exist too.
    let fs = Mem::default().src(
        "app.py",
        &format!("import distutils.core\nimport xml.etree.ElementTree\n{H}"),
    );
    ok(&fs, 11, "app.handler");
    assert!(fails(&fs, 12, "app.handler")
        .1
        .ends_with("No module named 'distutils'"));
}

#[test]
fn relative_imports_and_init_reexports() {
    let fs = Mem::default()
        .src(
            "pkg/__init__.py",
            "from .impl import handler\nfrom . import sub\nVALUE = 1\n",
        )
        .src("pkg/impl.py", H)
        .src("pkg/bad.py", &format!("from ..other import thing\n{H}"))
        .src("pkg/sub/__init__.py", "")
        .src(
            "pkg/sub/leaf.py",
            &format!("from .. import VALUE\nfrom ..impl import handler as h\n{H}"),
        )
        .src("top.py", &format!("from . import x\n{H}"))
        .src("uses.py", &format!("from pkg import missing_name\n{H}"))
        .src(
            "uses2.py",
            &format!("from pkg.sub import leaf, nothing\n{H}"),
        );
    ok(&fs, 12, "pkg.handler");
    ok(&fs, 12, "pkg.sub.leaf.handler");
    let (_, msg, _) = fails(&fs, 12, "pkg.bad.handler");
    assert!(
        msg.ends_with("attempted relative import beyond top-level package"),
        "{msg}"
    );
    let (_, msg, _) = fails(&fs, 12, "top.handler");
    assert!(
        msg.ends_with("attempted relative import with no known parent package"),
        "{msg}"
    );
    let (_, msg, _) = fails(&fs, 12, "uses.handler");
    assert!(
        msg.ends_with("cannot import name 'missing_name' from 'pkg' (/var/task/pkg/__init__.py)"),
        "{msg}"
    );
    let (_, msg, _) = fails(&fs, 12, "uses2.handler");
    assert!(
        msg.ends_with(
            "cannot import name 'nothing' from 'pkg.sub' (/var/task/pkg/sub/__init__.py)"
        ),
        "{msg}"
    );
}

#[test]
fn namespace_portions_merge_and_lose_to_regular_modules() {
    let fs = Mem::default()
        .src(
            "company/handlers.py",
            &format!("from company.utils import helper\nimport json\nfrom json import loads\n{H}"),
        )
        .dep("company/utils/__init__.py", "def helper():\n    pass\n")
        // A namespace directory named like a stdlib module does not shadow it.
        .src("json/notes.txt", "");
    ok(&fs, 12, "company.handlers.handler");
    let fs = fs.src("x.py", &format!("from company import nope\n{H}"));
    let (_, msg, _) = fails(&fs, 12, "x.handler");
    assert!(
        msg.ends_with("cannot import name 'nope' from 'company' (unknown location)"),
        "{msg}"
    );
}

#[test]
fn extension_modules_need_the_targets_abi() {
    let fs = Mem::default()
        .dep("fast/__init__.py", "from ._speed import go\n")
        .dep("fast/_speed.cpython-311-x86_64-linux-gnu.so", "")
        .src("app.py", &format!("import fast\n{H}"));
    let (e, msg, hint) = fails(&fs, 12, "app.handler");
    assert_eq!(e, HandlerError::ImportModuleError);
    assert!(msg.ends_with("No module named 'fast._speed'"), "{msg}");
    assert!(hint
        .unwrap()
        .contains("_speed.cpython-311-x86_64-linux-gnu.so is for another CPython"));
    ok(&fs, 11, "app.handler");
    let fs = fs.dep("fast/_speed.abi3.so", "");
    ok(&fs, 12, "app.handler");
}

#[test]
fn handler_attributes() {
    let fs = Mem::default()
        .src("one.py", "def handler(event):\n    pass\n")
        .src("mod.py", "import json as handler\n")
        .src("star.py", "from impl import *\n")
        .src("impl.py", &format!("__all__ = ['handler']\n{H}"))
        .src("lazy.py", "def __getattr__(name):\n    return None\n")
        .src(
            "maybe.py",
            "import os\nif os.environ.get('X'):\n    def handler(e, c):\n        return 1\n",
        )
        .src(
            "cls.py",
            "class Handler:\n    def __call__(self, e, c):\n        pass\nhandler = Handler()\n",
        )
        .src(
            "deco.py",
            "import functools\n@functools.lru_cache\ndef handler(x):\n    pass\n",
        );
    let (e, msg, _) = fails(&fs, 12, "one.handler");
    assert_eq!(
        (e, msg.as_str()),
        (
            HandlerError::NotCallable,
            "handler() takes 1 positional argument but 2 were given"
        )
    );
    assert_eq!(fails(&fs, 12, "mod.handler").0, HandlerError::NotCallable);
    ok(&fs, 12, "star.handler");
    ok(&fs, 12, "cls.handler");
    ok(&fs, 12, "deco.handler");
    let s = space(&fs, 12);
    assert!(
        matches!(resolve(&s, "lazy.handler").outcome, Outcome::Unverified(w) if w.contains("__getattr__"))
    );
    assert!(
        matches!(resolve(&s, "maybe.handler").outcome, Outcome::Unverified(w) if w.contains("only on some paths"))
    );
    assert!(matches!(
        resolve(&s, "boto3.client").outcome,
        Outcome::Unverified(_)
    ));
    assert_eq!(
        fails(&fs, 12, "nodots").0,
        HandlerError::MalformedHandlerName
    );
    let (e, msg, _) = fails(&fs, 12, "sys.path.handler");
    assert_eq!(
        (e, msg.as_str()),
        (
            HandlerError::BuiltInModuleConflict,
            "Cannot use built-in module sys.path as a handler module"
        )
    );
}

#[test]
fn syntax_errors_are_per_target_version() {
    let fs = Mem::default()
        .src("app.py", &format!("import lib\n{H}"))
        .src(
            "lib.py",
            "def f(x):\n    match x:\n        case 1:\n            return 1\n",
        );
    ok(&fs, 10, "app.handler");
    let (e, msg, _) = fails(&fs, 9, "app.handler");
    assert_eq!(e, HandlerError::UserCodeSyntaxError);
    assert!(
        msg.starts_with("Syntax error in module 'app':") && msg.ends_with("(lib.py, line 2)"),
        "{msg}"
    );
}

#[test]
fn modules_registered_at_run_time() {
    let fs = Mem::default()
        .dep("six.py", "import sys\nsys.meta_path.append(None)\n")
        .dep("requests/__init__.py", "")
        .dep("requests/packages.py", "import sys\nsys.modules['requests.packages.urllib3'] = None\n")
        .dep("urllib3/__init__.py", "")
        .dep("urllib3/util/__init__.py", "")
        .src("app.py", &format!("from six.moves import urllib\nimport six.moves.urllib.parse\nfrom requests.packages.urllib3.util import x\n{H}"));
    let s = space(&fs, 12);
    let r = resolve(&s, "app.handler");
    // six.moves is taken on trust; requests.packages.urllib3 is urllib3, which lacks `x`.
    let Outcome::Fails(f) = r.outcome else {
        panic!()
    };
    assert!(
        f.message.ends_with(
            "cannot import name 'x' from 'urllib3.util' (/var/task/urllib3/util/__init__.py)"
        ),
        "{}",
        f.message
    );
}

#[test]
fn names_bound_on_some_paths() {
    let fs = Mem::default()
        // urllib3's ssl_: bound in a try whose guarded import resolves, so bound for sure.
        .dep("lib/ssl_.py", "try:\n    import ssl\n    from ssl import SSLContext\nexcept ImportError:\n    OP = 1\n")
        // botocore's compat: the guarded import fails, so the name is not bound.
        .dep("lib/compat.py", "try:\n    import awscrt.auth\n    HAS = True\nexcept ImportError:\n    HAS = False\n")
        // Decided at the top level: a literal flag and the module's own __name__.
        .dep("lib/core.py", "MYPY = False\nif not MYPY:\n    Schema = int\nif __name__ == 'lib.core':\n    from lib import ssl_ as again\nwith __import__('contextlib').suppress(ImportError):\n    import not_there\n")
        .src("a.py", &format!("from lib.ssl_ import SSLContext\nfrom lib.core import Schema, again\n{H}"))
        .src("b.py", &format!("from lib.compat import awscrt\n{H}"));
    ok(&fs, 12, "a.handler");
    let (_, msg, _) = fails(&fs, 12, "b.handler");
    assert!(
        msg.ends_with("cannot import name 'awscrt' from 'lib.compat' (/var/task/lib/compat.py)"),
        "{msg}"
    );
    let r = resolve(&space(&fs, 12), "a.handler");
    let w = r.walk.unwrap();
    assert!(
        w.failures.is_empty(),
        "the suppressed import in a dependency is the library's business: {:?}",
        w.failures
    );
}

#[test]
fn a_changed_sys_path_makes_later_misses_undecided() {
    let fs = Mem::default().src(
        "app.py",
        &format!("import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'vendor'))\nimport requests\n{H}"),
    );
    let s = space(&fs, 12);
    match resolve(&s, "app.handler").outcome {
        Outcome::Unverified(why) => {
            assert!(why.contains("/var/task/app.py:2 changes sys.path"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let fs = Mem::default().src(
        "app.py",
        &format!("import sys\nsys.path += ['/opt/x']\nimport json\n{H}"),
    );
    ok(&fs, 12, "app.handler");
}
