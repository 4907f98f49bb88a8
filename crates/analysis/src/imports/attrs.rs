//! What `from m import n` (and `getattr(m, n)`) finds in a module: a name its top level binds
//! (surely, or when its `try` group's imports resolve), a submodule it falls back to importing, a
//! name a star import brings, or CPython's `cannot import name` error.

use super::finder::{absolute, module_name, Attr, Lookup, Module, Parsed, Space};
use super::join;
use crate::facts::{self, Facts};
use std::collections::HashSet;

/// Attributes every module has.
const MODULE_DUNDERS: &[&str] = &[
    "__name__",
    "__doc__",
    "__file__",
    "__package__",
    "__spec__",
    "__loader__",
    "__builtins__",
    "__cached__",
    "__dict__",
];

impl Space<'_> {
    /// What `from <name> import <attr>` gets from the module `name`, found as `module`.
    pub fn attr(&self, name: &str, module: &Module, attr: &str) -> Attr {
        let sub = || match self.find(&join(name, attr)) {
            Lookup::Found(m) => Some(Ok(m)),
            Lookup::Unknown(why) => Some(Err(why)),
            Lookup::Missing { .. } => None,
        };
        match module {
            Module::Source { path, .. } => {
                let parsed = self.parse(path);
                let Parsed::Ok(f) = &*parsed else {
                    return Attr::Unknown(format!("/var/task/{path} could not be read"));
                };
                if MODULE_DUNDERS.contains(&attr) {
                    return Attr::Bound(facts::BindKind::Value);
                }
                let binding = f.names.get(attr);
                if let Some(b) = binding.filter(|b| b.sure) {
                    return Attr::Bound(b.kind.clone());
                }
                // `from pkg import name` falls back to importing the submodule pkg.name.
                match sub() {
                    Some(Ok(m)) => return Attr::Submodule(join(name, attr), m),
                    Some(Err(why)) => return Attr::Unknown(why),
                    None => {}
                }
                if let Some(b) = binding {
                    match b.unless_group_fails {
                        Some(g) if self.group_resolves(name, module, f, g) => {
                            return Attr::Bound(b.kind.clone())
                        }
                        Some(_) => {}
                        None => {
                            return Attr::Unknown(format!(
                            "'{attr}' is bound in /var/task/{path} (line {}) only on some paths",
                            b.line
                        ))
                        }
                    }
                }
                match self.exports_of_stars(name, module, f, 0) {
                    Ok(names) if names.contains(attr) => {
                        return Attr::Bound(facts::BindKind::Value)
                    }
                    Ok(_) => {}
                    Err(why) => return self.promised(path, f, attr).unwrap_or(Attr::Unknown(why)),
                }
                if let Some(why) = &f.dynamic {
                    return self.promised(path, f, attr).unwrap_or_else(|| {
                        Attr::Unknown(format!("/var/task/{path} may have more names: {why}"))
                    });
                }
                // CPython names the module object, whatever name reached it (an alias).
                Attr::Missing(format!(
                    "cannot import name '{attr}' from '{}' (/var/task/{path})",
                    module_name(path)
                ))
            }
            Module::Namespace { .. } => match sub() {
                Some(Ok(m)) => Attr::Submodule(join(name, attr), m),
                Some(Err(why)) => Attr::Unknown(why),
                None => Attr::Missing(format!(
                    "cannot import name '{attr}' from '{name}' (unknown location)"
                )),
            },
            // Submodules of these are taken on trust, so they say nothing about attributes.
            Module::Runtime { exact: false } | Module::Registered => Attr::Unchecked,
            _ => match sub() {
                Some(Ok(m)) => Attr::Submodule(join(name, attr), m),
                _ => Attr::Unchecked,
            },
        }
    }

    /// A name the module's top level does not bind but that something it cannot read (a star
    /// import from compiled code, a module `__getattr__`) may provide, promised by the module
    /// itself: listed in its literal `__all__` (which `import *` would fail on otherwise), or
    /// declared by its type stub beside it (`m.pyi` for `m.py`, `__init__.pyi`). Lazy-import
    /// tables (pydantic's `_dynamic_imports`, lazy_loader stubs) list their names this way.
    fn promised(&self, path: &str, f: &Facts, attr: &str) -> Option<Attr> {
        if f.dynamic.is_some() {
            if let Some(m) = f.lazy.get(attr) {
                let rest = m.trim_start_matches('.');
                return Some(Attr::Bound(facts::BindKind::Lazy {
                    level: (m.len() - rest.len()) as u32,
                    module: (!rest.is_empty()).then(|| rest.to_string()),
                }));
            }
        }
        let bound = Attr::Bound(facts::BindKind::Value);
        if f.all_changed.is_none() && f.all.as_ref().is_some_and(|a| a.iter().any(|n| n == attr)) {
            return Some(bound);
        }
        let stub = format!("{}.pyi", path.strip_suffix(".py")?);
        if !self.task.is_file(&stub) {
            return None;
        }
        match &*self.parse(&stub) {
            Parsed::Ok(s)
                if s.names.contains_key(attr)
                    || s.all.as_ref().is_some_and(|a| a.iter().any(|n| n == attr)) =>
            {
                Some(bound)
            }
            _ => None,
        }
    }

    /// Whether every import guarded by `try` group `g` of a module resolves (so its handlers
    /// do not run). Module existence and top-level names only: no recursion into other groups.
    fn group_resolves(&self, name: &str, module: &Module, f: &Facts, g: u32) -> bool {
        let pkg = Space::package_of(name, module);
        f.imports
            .iter()
            .filter(|i| i.when == facts::When::Guarded(g))
            .all(|i| match &i.what {
                facts::Imported::Module(m) => matches!(self.find(m), Lookup::Found(_)),
                facts::Imported::Dynamic(_) => false,
                facts::Imported::From { level, module: m, names } => {
                    let Ok(target) = absolute(&pkg, *level, m.as_deref()) else {
                        return false;
                    };
                    let Lookup::Found(tm) = self.find(&target) else {
                        return false;
                    };
                    names.iter().all(|n| {
                        n == "*"
                            || matches!(self.find(&join(&target, n)), Lookup::Found(_))
                            || match &tm {
                                Module::Source { path, .. } => matches!(&*self.parse(path), Parsed::Ok(tf) if tf.names.contains_key(n)),
                                _ => true,
                            }
                    })
                }
            })
    }

    fn exports_of_stars(
        &self,
        name: &str,
        module: &Module,
        f: &Facts,
        depth: usize,
    ) -> Result<HashSet<String>, String> {
        let mut out = HashSet::new();
        let pkg = Space::package_of(name, module);
        for s in &f.stars {
            let target = absolute(&pkg, s.level, s.module.as_deref())?;
            match self.find(&target) {
                Lookup::Found(m) => out.extend(self.exports(&target, &m, depth + 1)?),
                Lookup::Unknown(why) => return Err(why),
                Lookup::Missing { .. } => {}
            }
        }
        Ok(out)
    }

    /// The names `from <name> import *` binds.
    pub fn exports(
        &self,
        name: &str,
        module: &Module,
        depth: usize,
    ) -> Result<HashSet<String>, String> {
        if depth > 16 {
            return Err(format!("star imports nest too deep at '{name}'"));
        }
        match module {
            Module::Source { path, .. } => {
                let parsed = self.parse(path);
                let Parsed::Ok(f) = &*parsed else {
                    return Err(format!("/var/task/{path} could not be read"));
                };
                if let Some(line) = f.all_changed {
                    return Err(format!(
                        "/var/task/{path} changes __all__ at run time (line {line}): what `import *` takes from it is not known"
                    ));
                }
                if let Some(all) = &f.all {
                    return Ok(all.iter().cloned().collect());
                }
                if let Some(why) = &f.dynamic {
                    return Err(format!("/var/task/{path} may have more names: {why}"));
                }
                let mut out: HashSet<String> = f
                    .names
                    .keys()
                    .filter(|n| !n.starts_with('_'))
                    .cloned()
                    .collect();
                out.extend(self.exports_of_stars(name, module, f, depth)?);
                Ok(out)
            }
            Module::Namespace { .. } => Ok(HashSet::new()),
            _ => Err(format!(
                "'{name}' is compiled or outside /var/task: its names are not read"
            )),
        }
    }
}
