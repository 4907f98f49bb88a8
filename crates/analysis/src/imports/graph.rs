//! Walking everything a module imports when it is imported, depth first in statement order (the
//! order CPython executes them, so the first failure is the one Lambda reports), following each
//! module under /var/task once per strength of circumstance. Imports inside functions and under
//! `if TYPE_CHECKING` are not followed: in the user's code they are resolved one level and
//! reported; in dependencies they are skipped. A failed guarded import makes its `except`
//! clause's imports run for sure.

use super::finder::{absolute, Attr, Lookup, Module, Parsed, Space};
use super::join;
use crate::facts::{BindKind, Imported, When};
use crate::source::SyntaxProblem;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// ImportError with CPython's text (`No module named 'dotenv'`).
    Import {
        message: String,
        note: Option<String>,
    },
    /// The file does not compile (`Runtime.UserCodeSyntaxError`).
    Syntax(SyntaxProblem),
    /// Lamina cannot decide (a dynamic import, an unknown base, an unreadable file).
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// When the failing statement runs (Always: the import of the handler fails).
    pub when: When,
    /// The file (relative to /var/task) and line of the import, or of the syntax error.
    pub file: String,
    pub line: u32,
    /// The module (or `from` module) being imported.
    pub target: String,
    /// Modules from the handler's module to the one holding the statement.
    pub chain: Vec<String>,
    /// The statement is in the user's code (the source layer), not in a dependency.
    pub in_source: bool,
}

#[derive(Debug, Default)]
pub struct Walk {
    pub failures: Vec<Failure>,
    /// Every module imported (its name), so submodules bound on their parents are known.
    pub imported: HashSet<String>,
    /// Imports inside functions in the user's code (file, line): resolved, not followed.
    pub in_functions: Vec<(String, u32)>,
    /// Modules read and parsed.
    pub modules: usize,
    /// Where an imported module changes `sys.path` (file, line): later misses are undecided.
    pub path_edit: Option<(String, u32)>,
}

struct Walker<'s, 'a> {
    space: &'s Space<'a>,
    seen: HashMap<String, u8>,
    out: Walk,
}

fn rank(w: &When) -> u8 {
    match w {
        When::Always => 0,
        When::Conditional(_) => 1,
        When::Guarded(_) => 2,
        When::TypeChecking => 3,
        When::InFunction(_) => 4,
    }
}

/// Walks the imports of module `name` (found as `module`), as importing it runs them.
pub fn walk(space: &Space, name: &str, module: &Module) -> Walk {
    let mut w = Walker {
        space,
        seen: HashMap::new(),
        out: Walk::default(),
    };
    w.out.imported.insert(name.to_string());
    w.visit(name, module, &When::Always, &[]);
    w.out
}

struct Site<'c> {
    file: &'c str,
    line: u32,
    when: &'c When,
    chain: &'c [String],
    in_source: bool,
    /// Resolve only (function-level and TYPE_CHECKING imports are not followed).
    follow: bool,
}

impl Walker<'_, '_> {
    fn fail(&mut self, site: &Site, target: &str, kind: FailureKind) {
        self.out.failures.push(Failure {
            kind,
            when: site.when.clone(),
            file: site.file.to_string(),
            line: site.line,
            target: target.to_string(),
            chain: site.chain.to_vec(),
            in_source: site.in_source,
        });
    }

    fn visit(&mut self, name: &str, module: &Module, when: &When, chain: &[String]) {
        let Module::Source { path, .. } = module else {
            return;
        };
        let r = rank(when);
        if self.seen.get(name).is_some_and(|seen| *seen <= r) {
            return;
        }
        self.seen.insert(name.to_string(), r);
        let mut chain = chain.to_vec();
        chain.push(name.to_string());
        let parsed = self.space.parse(path);
        let in_source = self.space.task.is_source(path);
        let site = |line| Site {
            file: path,
            line,
            when,
            chain: &chain,
            in_source,
            follow: true,
        };
        let facts = match &*parsed {
            Parsed::Ok(f) => f,
            Parsed::Syntax(p) => {
                self.fail(&site(p.line), name, FailureKind::Syntax(p.clone()));
                return;
            }
            Parsed::Unreadable(why) => {
                let why = format!("/var/task/{path} is not checked: {why}");
                self.fail(&site(1), name, FailureKind::Unknown(why));
                return;
            }
        };
        self.out.modules += 1;
        if let (Some(line), None) = (facts.edits_sys_path, &self.out.path_edit) {
            self.out.path_edit = Some((path.clone(), line));
        }
        let pkg = Space::package_of(name, module);
        let mut failed_groups: HashSet<u32> = HashSet::new();
        for stmt in &facts.imports {
            // An import in the `except` of a failed group runs as the `try` itself did, unless
            // a `try` of its own (inside that `except`) guards it.
            let base = match &stmt.fallback {
                Some(fb)
                    if failed_groups.contains(&fb.group)
                        && !matches!(stmt.when, When::Guarded(g) if g != fb.group) =>
                {
                    fb.outer.clone()
                }
                _ => stmt.when.clone(),
            };
            let eff = when.within(base);
            let follow = rank(&eff) < rank(&When::TypeChecking);
            if !follow {
                if !in_source {
                    continue;
                }
                if matches!(eff, When::InFunction(_)) {
                    self.out.in_functions.push((path.clone(), stmt.line));
                }
            }
            // Optional imports in a dependency are the library's business.
            if !in_source && matches!(eff, When::Guarded(_)) {
                if let When::Guarded(g) = &stmt.when {
                    if self.would_fail(&pkg, &stmt.what) {
                        failed_groups.insert(*g);
                    }
                }
                continue;
            }
            let s = Site {
                file: path,
                line: stmt.line,
                when: &eff,
                chain: &chain,
                in_source,
                follow,
            };
            let before = self.out.failures.len();
            self.statement(&pkg, &stmt.what, &s);
            let failed = self.out.failures[before..]
                .iter()
                .any(|f| matches!(f.kind, FailureKind::Import { .. }));
            if let (true, When::Guarded(g)) = (failed, &stmt.when) {
                failed_groups.insert(*g);
            }
        }
    }

    /// Whether a statement's import fails (without recording anything).
    fn would_fail(&self, pkg: &str, what: &Imported) -> bool {
        let target = match what {
            Imported::Module(n) => n.clone(),
            Imported::From { level, module, .. } => {
                match absolute(pkg, *level, module.as_deref()) {
                    Ok(t) => t,
                    Err(_) => return true,
                }
            }
            Imported::Dynamic(n) => match n {
                Some(n) => n.clone(),
                None => return false,
            },
        };
        matches!(self.space.find(&target), Lookup::Missing { .. })
    }

    fn statement(&mut self, pkg: &str, what: &Imported, s: &Site) {
        match what {
            Imported::Module(n) => {
                self.import(n, s);
            }
            Imported::Dynamic(Some(n)) => {
                self.import(n, s);
            }
            Imported::Dynamic(None) => {
                if s.in_source {
                    let why = format!(
                        "a dynamic import (importlib.import_module / __import__ / runpy.run_module / exec with a computed name) at /var/task/{}:{} is not checked",
                        s.file, s.line
                    );
                    self.fail(s, "?", FailureKind::Unknown(why));
                }
            }
            Imported::From {
                level,
                module,
                names,
            } => {
                let target = match absolute(pkg, *level, module.as_deref()) {
                    Ok(t) => t,
                    Err(message) => {
                        let shown = format!(
                            "{}{}",
                            ".".repeat(*level as usize),
                            module.as_deref().unwrap_or("")
                        );
                        self.fail(
                            s,
                            &shown,
                            FailureKind::Import {
                                message,
                                note: None,
                            },
                        );
                        return;
                    }
                };
                let Some(m) = self.import(&target, s) else {
                    return;
                };
                for n in names.iter().filter(|n| *n != "*") {
                    match self.space.attr(&target, &m, n) {
                        Attr::Submodule(full, sub) => {
                            self.out.imported.insert(full.clone());
                            if s.follow {
                                self.visit(&full, &sub, s.when, s.chain);
                            }
                        }
                        Attr::Missing(message) => self.fail(
                            s,
                            &target,
                            FailureKind::Import {
                                message,
                                note: None,
                            },
                        ),
                        Attr::Unknown(why) => self.fail(s, &target, FailureKind::Unknown(why)),
                        // Taking a lazy name runs the import its module's __getattr__ makes.
                        Attr::Bound(BindKind::Lazy {
                            level,
                            module: lazy,
                        }) => {
                            let tpkg = Space::package_of(&target, &m);
                            if let Ok(t) = absolute(&tpkg, level, lazy.as_deref()) {
                                self.import(&t, s);
                            }
                        }
                        Attr::Bound(_) | Attr::Unchecked => {}
                    }
                }
            }
        }
    }

    /// Imports `dotted` and each parent, following the modules found; the module, if found.
    fn import(&mut self, dotted: &str, s: &Site) -> Option<Module> {
        let mut acc = String::new();
        let mut last = None;
        for part in dotted.split('.') {
            acc = join(&acc, part);
            match self.space.find(&acc) {
                Lookup::Found(m) => {
                    self.out.imported.insert(acc.clone());
                    if s.follow {
                        self.visit(&acc, &m, s.when, s.chain);
                    }
                    last = Some(m);
                }
                Lookup::Missing { message, note } => {
                    // A top-level miss after someone changed sys.path may be found there.
                    let kind = match &self.out.path_edit {
                        Some((file, line)) if !acc.contains('.') => FailureKind::Unknown(format!(
                            "{message} on the image's import path, but /var/task/{file}:{line} changes sys.path, which lamina does not follow"
                        )),
                        _ => FailureKind::Import { message, note },
                    };
                    self.fail(s, dotted, kind);
                    return None;
                }
                Lookup::Unknown(why) => {
                    self.fail(s, dotted, FailureKind::Unknown(why));
                    return None;
                }
            }
        }
        last
    }
}
