//! Finding one module the way CPython's import system would on the target, and reading what a
//! `from m import n` gets: an attribute bound in `m`, a submodule, or an ImportError with CPython's
//! own text. Parsed modules are cached by path.

use super::{join, Runtime, StdlibView, TaskTree};
use crate::facts::{self, Facts};
use crate::source::{self, SyntaxProblem, Unreadable};
use crate::stdlib::Stdlib;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Where a module was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Module {
    /// A `.py` file under /var/task (`package` for an `__init__.py`).
    Source { path: String, package: bool },
    /// An extension module or a sourceless `.pyc`: it exists, its names are unknown.
    Compiled { path: String, package: bool },
    /// A PEP 420 namespace package: these directories, no `__init__`.
    Namespace { dirs: Vec<String> },
    /// The standard library (built-in, frozen or on disk).
    Stdlib,
    /// A package the runtime provides outside /var/task (exact: read from the base's files).
    Runtime { exact: bool },
    /// A module a package registers at run time (`six.moves`): taken on trust.
    Registered,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(Module),
    /// CPython's ImportError text, and what lamina noticed nearby (a wrong-ABI extension).
    Missing {
        message: String,
        note: Option<String>,
    },
    /// Lamina cannot decide; why.
    Unknown(String),
}

/// What `from m import n` (or `getattr(m, n)`) finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attr {
    /// A name `m`'s top level binds.
    Bound(facts::BindKind),
    Submodule(String, Module),
    Missing(String),
    Unknown(String),
    /// `m` is compiled, standard or the runtime's: its attributes are not checked.
    Unchecked,
}

/// A module's source, read (kept in the facts cache for dependency modules).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Parsed {
    Ok(Facts),
    Syntax(SyntaxProblem),
    Unreadable(String),
}

pub struct Space<'a> {
    pub task: &'a dyn TaskTree,
    pub stdlib: StdlibView,
    pub runtime: Runtime,
    pub minor: Option<u32>,
    /// `x86_64` or `aarch64`, for extension-module suffixes.
    pub arch: String,
    parsed: RefCell<HashMap<String, Rc<Parsed>>>,
    found: RefCell<HashMap<String, Lookup>>,
}

fn path_join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The dotted name of a module file under /var/task (`a/b/__init__.py` → `a.b`).
pub fn module_name(path: &str) -> String {
    let stem = path.strip_suffix("/__init__.py").unwrap_or(path);
    let stem = stem.strip_suffix(".py").unwrap_or(stem);
    stem.replace('/', ".")
}

/// Modules that well-known packages register at run time, which no file holds: `six.moves`
/// (six's meta-path importer; vendored copies too) and `requests.packages.X` (an alias of X).
fn registered(space: &Space, parent: &str, tail: &str) -> Option<Lookup> {
    if (parent == "six" || parent.ends_with(".six")) && tail == "moves" {
        return Some(Lookup::Found(Module::Registered));
    }
    if parent == "requests.packages" {
        return Some(space.find(tail));
    }
    if let Some(rest) = parent.strip_prefix("requests.packages.") {
        return Some(space.find(&join(rest, tail)));
    }
    None
}

/// `from .. import x` in `package`: the absolute name, or CPython's ImportError text.
pub fn absolute(package: &str, level: u32, module: Option<&str>) -> Result<String, String> {
    if level == 0 {
        return Ok(module.unwrap_or_default().to_string());
    }
    if package.is_empty() {
        return Err("attempted relative import with no known parent package".into());
    }
    let parts: Vec<&str> = package.split('.').collect();
    let up = level as usize - 1;
    if up >= parts.len() {
        return Err("attempted relative import beyond top-level package".into());
    }
    let base = parts[..parts.len() - up].join(".");
    Ok(match module {
        Some(m) => join(&base, m),
        None => base,
    })
}

impl<'a> Space<'a> {
    pub fn new(
        task: &'a dyn TaskTree,
        stdlib: StdlibView,
        runtime: Runtime,
        minor: Option<u32>,
        arch: &str,
    ) -> Space<'a> {
        Space {
            task,
            stdlib,
            runtime,
            minor,
            arch: arch.to_string(),
            parsed: RefCell::new(HashMap::new()),
            found: RefCell::new(HashMap::new()),
        }
    }

    /// Results of parsing recorded by an earlier build (the facts cache): `parse` returns them
    /// without reading the file.
    pub fn preload(&self, recorded: impl IntoIterator<Item = (String, Parsed)>) {
        let mut m = self.parsed.borrow_mut();
        for (path, p) in recorded {
            m.insert(path, Rc::new(p));
        }
    }

    /// Every file parsed (or preloaded) so far, by path under /var/task.
    pub fn parsed_files(&self) -> Vec<(String, Rc<Parsed>)> {
        self.parsed
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Reads and parses a file under /var/task (cached).
    pub fn parse(&self, path: &str) -> Rc<Parsed> {
        if let Some(p) = self.parsed.borrow().get(path) {
            return p.clone();
        }
        let read = |bytes: &[u8]| -> Result<Facts, Unreadable> {
            let text = source::decode(bytes)?;
            let (module, lines) = source::parse(&text, self.minor)?;
            let name = module_name(path);
            Ok(facts::facts(
                &module,
                &text,
                &lines,
                Some(&name),
                self.minor,
            ))
        };
        let result = match self.task.read(path).map(|b| read(&b)) {
            None => Parsed::Unreadable("it could not be read".into()),
            Some(Ok(facts)) => Parsed::Ok(facts),
            Some(Err(Unreadable::Syntax(p))) => Parsed::Syntax(p),
            Some(Err(Unreadable::Encoding(e))) => {
                Parsed::Unreadable(format!("it is written in the {e} encoding"))
            }
            Some(Err(Unreadable::TooDeep(depth))) => Parsed::Unreadable(format!(
                "it nests about {depth} levels deep, more than lamina reads ({})",
                source::MAX_NESTING
            )),
        };
        let rc = Rc::new(result);
        self.parsed
            .borrow_mut()
            .insert(path.to_string(), rc.clone());
        rc
    }

    /// The package a module's relative imports start from.
    pub fn package_of(name: &str, module: &Module) -> String {
        match module {
            Module::Source { package: true, .. }
            | Module::Compiled { package: true, .. }
            | Module::Namespace { .. } => name.to_string(),
            _ => name.rsplit_once('.').map_or("", |(p, _)| p).to_string(),
        }
    }

    fn ext_suffixes(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(m) = self.minor {
            v.push(format!(".cpython-3{m}-{}-linux-gnu.so", self.arch));
        }
        v.push(".abi3.so".into());
        v.push(".so".into());
        v
    }

    /// What a FileFinder on `dir` returns for `name`: package, module, or namespace portion.
    fn in_dir(&self, dir: &str, name: &str) -> Option<Result<Module, String>> {
        let base = path_join(dir, name);
        let t = self.task;
        let mut namespace = false;
        if t.is_dir(&base) {
            for s in self.ext_suffixes() {
                let p = format!("{base}/__init__{s}");
                if t.is_file(&p) {
                    return Some(Ok(Module::Compiled {
                        path: p,
                        package: true,
                    }));
                }
            }
            if t.is_file(&format!("{base}/__init__.py")) {
                return Some(Ok(Module::Source {
                    path: format!("{base}/__init__.py"),
                    package: true,
                }));
            }
            if t.is_file(&format!("{base}/__init__.pyc")) {
                return Some(Ok(Module::Compiled {
                    path: format!("{base}/__init__.pyc"),
                    package: true,
                }));
            }
            namespace = true;
        }
        for s in self.ext_suffixes() {
            let p = format!("{base}{s}");
            if t.is_file(&p) {
                return Some(Ok(Module::Compiled {
                    path: p,
                    package: false,
                }));
            }
        }
        if t.is_file(&format!("{base}.py")) {
            return Some(Ok(Module::Source {
                path: format!("{base}.py"),
                package: false,
            }));
        }
        if t.is_file(&format!("{base}.pyc")) {
            return Some(Ok(Module::Compiled {
                path: format!("{base}.pyc"),
                package: false,
            }));
        }
        if namespace {
            return Some(Ok(Module::Namespace { dirs: vec![base] }));
        }
        if self.minor.is_none() {
            let prefix = format!("{name}.cpython-3");
            let tail = format!("-{}-linux-gnu.so", self.arch);
            if t.list(dir)
                .iter()
                .any(|f| f.starts_with(&prefix) && f.ends_with(&tail))
            {
                return Some(Err(format!(
                    "/var/task/{base}.cpython-3….so exists, but the base's Python version is unknown"
                )));
            }
        }
        None
    }

    /// Extension modules next to where `name` was looked for that the target cannot load.
    fn wrong_abi(&self, dir: &str, name: &str) -> Option<String> {
        let prefix = format!("{name}.");
        self.task
            .list(dir)
            .into_iter()
            .find(|f| f.starts_with(&prefix) && f.ends_with(".so"))
            .map(|f| {
                let target = self.minor.map_or(String::new(), |m| {
                    format!(
                        " (the target loads {name}.cpython-3{m}-{}-linux-gnu.so, .abi3.so or .so)",
                        self.arch
                    )
                });
                format!(
                    "/var/task/{} is for another CPython or architecture{target}",
                    path_join(dir, &f)
                )
            })
    }

    fn stdlib_has(&self, dotted: &str) -> Option<bool> {
        match &self.stdlib {
            StdlibView::Known(s) => Some(s.contains(dotted)),
            StdlibView::Unknown => {
                let n = Stdlib::versions_with(dotted).len();
                let all = Stdlib::known_minors().count();
                match n {
                    0 => Some(false),
                    n if n == all => Some(true),
                    _ => None,
                }
            }
        }
    }

    fn missing(&self, message: String, note: Option<String>) -> Lookup {
        match (&self.runtime, note) {
            (Runtime::Unknown, None) => Lookup::Unknown(format!(
                "{message} in /var/task or the standard library, and what the base itself provides is unknown"
            )),
            (_, note) => Lookup::Missing { message, note },
        }
    }

    fn runtime_has(&self, dotted: &str) -> Option<Module> {
        match &self.runtime {
            Runtime::Known { modules, exact } => {
                let top = dotted.split('.').next().unwrap_or(dotted);
                let hit = modules.contains(dotted) || (!exact && modules.contains(top));
                hit.then_some(Module::Runtime { exact: *exact })
            }
            Runtime::Unknown => None,
        }
    }

    fn find_top(&self, name: &str) -> Lookup {
        if let StdlibView::Known(s) = &self.stdlib {
            if s.is_builtin(name) || s.is_frozen(name) {
                return Lookup::Found(Module::Stdlib);
            }
        }
        let local = self.in_dir("", name);
        match &local {
            Some(Ok(m)) if !matches!(m, Module::Namespace { .. }) => {
                return Lookup::Found(m.clone())
            }
            Some(Err(why)) => return Lookup::Unknown(why.clone()),
            _ => {}
        }
        match self.stdlib_has(name) {
            Some(true) => return Lookup::Found(Module::Stdlib),
            None => {
                let v: Vec<String> = Stdlib::versions_with(name)
                    .iter()
                    .map(|m| format!("3.{m}"))
                    .collect();
                return Lookup::Unknown(format!(
                    "'{name}' is in the standard library of CPython {} only, and the base's Python version is unknown",
                    v.join(", ")
                ));
            }
            Some(false) => {}
        }
        if let Some(m) = self.runtime_has(name) {
            return Lookup::Found(m);
        }
        if let Some(Ok(ns)) = local {
            return Lookup::Found(ns);
        }
        self.missing(
            format!("No module named '{name}'"),
            self.wrong_abi("", name),
        )
    }

    fn find_sub(&self, parent_name: &str, parent: &Module, tail: &str) -> Lookup {
        let full = join(parent_name, tail);
        let not_pkg = || Lookup::Missing {
            message: format!("No module named '{full}'; '{parent_name}' is not a package"),
            note: None,
        };
        match parent {
            Module::Source { path, package } => {
                let registers = matches!(&*self.parse(path), Parsed::Ok(f) if f.registers_modules);
                let extends = matches!(&*self.parse(path), Parsed::Ok(f) if f.extends_path);
                if *package {
                    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                    match self.in_dir(dir, tail) {
                        Some(Ok(m)) => return Lookup::Found(m),
                        Some(Err(why)) => return Lookup::Unknown(why),
                        None => {}
                    }
                    if extends {
                        if let Some(m) = self.runtime_has(&full) {
                            return Lookup::Found(m);
                        }
                    }
                }
                if let Some(l) = registered(self, parent_name, tail) {
                    return l;
                }
                if registers {
                    return Lookup::Unknown(format!(
                        "'{parent_name}' ({path}) adds modules at run time (sys.meta_path / sys.modules), so '{full}' may exist"
                    ));
                }
                if !package {
                    return not_pkg();
                }
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                self.missing(format!("No module named '{full}'"), self.wrong_abi(dir, tail))
            }
            Module::Compiled { path, package } => {
                if !package {
                    return not_pkg();
                }
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                match self.in_dir(dir, tail) {
                    Some(Ok(m)) => Lookup::Found(m),
                    _ => Lookup::Unknown(format!("'{parent_name}' is a compiled package")),
                }
            }
            Module::Namespace { dirs } => {
                let mut portions = Vec::new();
                for d in dirs {
                    match self.in_dir(d, tail) {
                        Some(Ok(Module::Namespace { dirs })) => portions.extend(dirs),
                        Some(Ok(m)) => return Lookup::Found(m),
                        Some(Err(why)) => return Lookup::Unknown(why),
                        None => {}
                    }
                }
                if let Some(m) = self.runtime_has(&full) {
                    return Lookup::Found(m);
                }
                if !portions.is_empty() {
                    return Lookup::Found(Module::Namespace { dirs: portions });
                }
                let note = dirs.iter().find_map(|d| self.wrong_abi(d, tail));
                self.missing(format!("No module named '{full}'"), note)
            }
            Module::Stdlib => match self.stdlib_has(&full) {
                Some(true) => Lookup::Found(Module::Stdlib),
                Some(false) => Lookup::Missing {
                    message: format!("No module named '{full}'"),
                    note: None,
                },
                None => Lookup::Unknown(format!(
                    "'{full}' exists in some CPython versions only, and the base's Python version is unknown"
                )),
            },
            Module::Registered => Lookup::Found(Module::Registered),
            Module::Runtime { exact } => match self.runtime_has(&full) {
                Some(m) => Lookup::Found(m),
                None if !exact => Lookup::Found(Module::Runtime { exact: false }),
                None => Lookup::Missing {
                    message: format!("No module named '{full}'"),
                    note: None,
                },
            },
        }
    }

    /// Finds an absolute dotted module (importing its parents first, as CPython does).
    pub fn find(&self, dotted: &str) -> Lookup {
        if let Some(l) = self.found.borrow().get(dotted) {
            return l.clone();
        }
        let l = match dotted.rsplit_once('.') {
            None => self.find_top(dotted),
            Some((parent, tail)) => match self.find(parent) {
                Lookup::Found(p) => self.find_sub(parent, &p, tail),
                other => other,
            },
        };
        self.found
            .borrow_mut()
            .insert(dotted.to_string(), l.clone());
        l
    }
}
