//! What one module's source says about importing it: every `import` / `from … import` with the
//! circumstances it runs in (always, under a condition lamina cannot decide, guarded by `except
//! ImportError`, under `if TYPE_CHECKING`, inside a function), literal dynamic imports, and the
//! names its top level binds (with how sure that is). Conditions on the Python version and the
//! platform are decided for the target (`conditions`). Reads an AST; no I/O, no resolution.

mod calls;
mod flow;
mod walker;

use super::conditions::Env;
use super::source::Lines;
use ruff_python_ast::ModModule;
use std::collections::HashMap;

/// When a statement runs, relative to importing its module.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum When {
    /// Every time the module is imported.
    Always,
    /// Only when a condition lamina cannot decide holds (`if settings.X:`, a loop, an `except`).
    Conditional(String),
    /// In a `try` whose handler catches ImportError: a failure is handled (group = the `try`).
    Guarded(u32),
    /// Under `if TYPE_CHECKING:`: never at run time.
    TypeChecking,
    /// Inside a function body (its name): when it is called, not on import.
    InFunction(String),
}

impl When {
    pub(crate) fn rank(&self) -> u8 {
        match self {
            When::Always => 0,
            When::Conditional(_) => 1,
            When::Guarded(_) => 2,
            When::TypeChecking => 3,
            When::InFunction(_) => 4,
        }
    }
    /// The weaker of two circumstances (a guarded import inside a function is in a function).
    pub fn within(&self, inner: When) -> When {
        if inner.rank() > self.rank() {
            inner
        } else {
            self.clone()
        }
    }
}

/// An import inside an `except` clause runs exactly when the guarded imports of `group` fail.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fallback {
    pub group: u32,
    pub outer: When,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Imported {
    /// `import a.b.c [as x]`
    Module(String),
    /// `from <level dots><module> import names` (`*` for a star import).
    From {
        level: u32,
        module: Option<String>,
        names: Vec<String>,
    },
    /// `importlib.import_module(…)` / `__import__(…)`: the literal name, or None.
    Dynamic(Option<String>),
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportStmt {
    pub line: u32,
    pub what: Imported,
    pub when: When,
    pub fallback: Option<Fallback>,
}

/// A function's parameters, enough to tell whether `f(event, context)` binds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    pub positional: usize,
    pub required: usize,
    pub varargs: bool,
    pub required_kwonly: usize,
    pub decorated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BindKind {
    Function(Params),
    Class,
    /// `import a.b as x` (the module `a.b`) / `import a.b` (the module `a`).
    Module(String),
    /// `from <level><module> import name`: an attribute or a submodule.
    FromImport {
        level: u32,
        module: Option<String>,
        name: String,
    },
    /// Served by the module's `__getattr__` from a lazy-import table: taking the name imports
    /// `<level><module>` (pydantic's `_dynamic_imports`).
    Lazy {
        level: u32,
        module: Option<String>,
    },
    Value,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Binding {
    pub line: u32,
    /// False when bound only on some paths (an undecided `if`, a loop, an `except`).
    pub sure: bool,
    pub kind: BindKind,
    /// Bound in the body of a `try` whose handlers catch only ImportError: sure exactly when
    /// that `try`'s imports (this group) all resolve.
    pub unless_group_fails: Option<u32>,
}

/// `from <level><module> import *` at the top level.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Star {
    pub level: u32,
    pub module: Option<String>,
    pub line: u32,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    pub imports: Vec<ImportStmt>,
    pub names: HashMap<String, Binding>,
    pub stars: Vec<Star>,
    /// A literal `__all__`.
    pub all: Option<Vec<String>>,
    /// Where `__all__` is changed by something other than a literal (`__all__.append(x)`,
    /// `__all__ += other.__all__`): what `import *` binds is then known only at run time.
    #[serde(default)]
    pub all_changed: Option<u32>,
    /// Why the module may have names beyond those bound (`__getattr__`, `globals()`, …).
    pub dynamic: Option<String>,
    /// `__path__` is extended (pkgutil.extend_path, pkg_resources namespaces, edits).
    pub extends_path: bool,
    /// It adds modules at run time (`sys.meta_path` hooks, `sys.modules[…] = …`), like `six`.
    pub registers_modules: bool,
    /// A literal lazy-import table at the top level (`{'Model': (__spec__.parent, '.main')}`,
    /// `{'name': '.module'}`): name → the relative module its `__getattr__` imports for it.
    #[serde(default)]
    pub lazy: HashMap<String, String>,
    /// The first line that changes `sys.path` when the module is imported.
    pub edits_sys_path: Option<u32>,
}

type Scope = HashMap<String, Binding>;

#[derive(Clone)]
struct Ctx {
    when: When,
    fallback: Option<Fallback>,
    /// Bindings land in the module's namespace (not a class or function body).
    module: bool,
    sure: bool,
}

struct Walker<'a> {
    src: &'a str,
    lines: &'a Lines,
    env: Env,
    facts: Facts,
    groups: u32,
}

/// Reads a parsed module named `name` (its `__name__`) for CPython 3.`minor` (None: undecided
/// version checks).
pub fn facts(
    module: &ModModule,
    src: &str,
    lines: &Lines,
    name: Option<&str>,
    minor: Option<u32>,
) -> Facts {
    let mut env = Env::new(minor);
    env.module = name.map(str::to_string);
    let mut w = Walker {
        src,
        lines,
        env,
        facts: Facts::default(),
        groups: 0,
    };
    let ctx = Ctx {
        when: When::Always,
        fallback: None,
        module: true,
        sure: true,
    };
    let mut scope = Scope::new();
    w.body(&module.body, &ctx, &mut scope);
    w.facts.names = scope;
    if w.facts.names.contains_key("__getattr__") && w.facts.dynamic.is_none() {
        w.facts.dynamic = Some("it defines a module __getattr__".into());
    }
    w.facts
}
