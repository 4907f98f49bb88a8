//! Resolving a Lambda handler the way awslambdaric 4.x's `_get_handler` does: split at the last
//! dot (`Runtime.MalformedHandlerName`), refuse built-in module names
//! (`Runtime.BuiltInModuleConflict`), import the module with `/` read as `.` (everything it
//! imports at module level, through `imports::walk`: `Runtime.ImportModuleError`,
//! `Runtime.UserCodeSyntaxError`), then read the attribute (`Runtime.HandlerNotFound`). A
//! namespace package binds nothing. The function must accept `(event, context)`, or the first
//! invocation fails with a `TypeError`. What cannot be decided is `Unverified`, never a pass.

use super::facts::{BindKind, Params};
use super::imports::{self, Attr, FailureKind, Lookup, Module, Parsed, Space, StdlibView, Walk};
use crate::facts::When;
use crate::stdlib::Stdlib;

/// Lambda's name for how a handler fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerError {
    MalformedHandlerName,
    BuiltInModuleConflict,
    ImportModuleError,
    UserCodeSyntaxError,
    HandlerNotFound,
    /// The attribute is not a function taking `(event, context)`: a `TypeError` on invoke.
    NotCallable,
}

impl HandlerError {
    pub fn error_type(self) -> &'static str {
        match self {
            HandlerError::MalformedHandlerName => "Runtime.MalformedHandlerName",
            HandlerError::BuiltInModuleConflict => "Runtime.BuiltInModuleConflict",
            HandlerError::ImportModuleError => "Runtime.ImportModuleError",
            HandlerError::UserCodeSyntaxError => "Runtime.UserCodeSyntaxError",
            HandlerError::HandlerNotFound => "Runtime.HandlerNotFound",
            HandlerError::NotCallable => "TypeError",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failing {
    pub error: HandlerError,
    /// awslambdaric's message (`Unable to import module 'm': No module named 'dotenv'`).
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub hint: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Resolved: where the function was found.
    Ok(String),
    Fails(Failing),
    /// Lamina cannot decide; why.
    Unverified(String),
}

pub struct Resolution {
    /// The module as awslambdaric names it in messages (slashes kept).
    pub module: String,
    pub outcome: Outcome,
    /// What importing the module imports, when it was found.
    pub walk: Option<Walk>,
}

fn fails(error: HandlerError, message: String) -> Failing {
    Failing {
        error,
        message,
        file: None,
        line: None,
        hint: None,
    }
}

/// Built-in module names: the target's, or those built into every known version.
fn is_builtin(space: &Space, name: &str) -> bool {
    match &space.stdlib {
        StdlibView::Known(s) => s.is_builtin(name),
        StdlibView::Unknown => {
            Stdlib::known_minors().all(|m| Stdlib::catalog(m).is_some_and(|s| s.is_builtin(name)))
        }
    }
}

/// Whether `f(event, context)` binds these parameters (decorated functions are not judged).
pub fn call_problem(name: &str, p: &Params) -> Option<String> {
    if p.decorated {
        return None;
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if p.positional < 2 && !p.varargs {
        return Some(format!(
            "{name}() takes {} positional argument{} but 2 were given",
            p.positional,
            plural(p.positional)
        ));
    }
    if p.required > 2 {
        let n = p.required - 2;
        return Some(format!(
            "{name}() missing {n} required positional argument{}",
            plural(n)
        ));
    }
    if p.required_kwonly > 0 {
        let n = p.required_kwonly;
        return Some(format!(
            "{name}() missing {n} required keyword-only argument{}",
            plural(n)
        ));
    }
    None
}

/// The functions a module's top level surely defines that accept `(event, context)`.
fn handler_like(space: &Space, path: &str) -> Vec<String> {
    let Parsed::Ok(f) = &*space.parse(path) else {
        return Vec::new();
    };
    let mut names: Vec<(u32, String)> = f
        .names
        .iter()
        .filter(|(n, b)| {
            b.sure && matches!(&b.kind, BindKind::Function(p) if call_problem(n, p).is_none())
        })
        .map(|(n, b)| (b.line, n.clone()))
        .collect();
    names.sort();
    let preferred = ["handler", "lambda_handler", "main"];
    names.sort_by_key(|(line, n)| (!preferred.contains(&n.as_str()), *line));
    names.into_iter().map(|(_, n)| n).collect()
}

fn not_found_hint(space: &Space, module: &str, m: &Module, function: &str) -> Option<String> {
    let full = imports::join(module, function);
    if let Lookup::Found(sub) = space.find(&full) {
        if let Module::Source { path, .. } = &sub {
            if let Some(best) = handler_like(space, path).first() {
                return Some(format!(
                    "'{function}' is a module, not a function: did you mean {full}.{best}? (/var/task/{path} defines {best})"
                ));
            }
        }
        return Some(format!(
            "'{function}' is a module, not a function: name a function in it ({full}.FUNCTION)"
        ));
    }
    match m {
        Module::Namespace { dirs } => {
            let listed: Vec<String> = dirs
                .iter()
                .flat_map(|d| space.task.list(d))
                .filter_map(|f| f.strip_suffix(".py").map(str::to_string))
                .take(5)
                .collect();
            Some(format!(
                "{module} is a namespace package (a directory without __init__.py): it binds no functions; name a module in it and a function{}",
                if listed.is_empty() { String::new() } else { format!(" (modules there: {})", listed.join(", ")) }
            ))
        }
        Module::Source { path, .. } => {
            let defs = handler_like(space, path);
            let close = defs.iter().find(|d| {
                d.eq_ignore_ascii_case(function)
                    || d.contains(function)
                    || function.contains(d.as_str())
            });
            match (close, defs.is_empty()) {
                (Some(c), _) => Some(format!("did you mean {module}.{c}?")),
                (None, false) => Some(format!(
                    "/var/task/{path} defines {} at its top level",
                    defs.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                )),
                (None, true) => None,
            }
        }
        _ => None,
    }
}

/// Resolves one handler against the image.
pub fn resolve(space: &Space, handler: &str) -> Resolution {
    let Some((modname, function)) = handler.rsplit_once('.') else {
        return Resolution {
            module: handler.to_string(),
            outcome: Outcome::Fails(fails(
                HandlerError::MalformedHandlerName,
                format!("Bad handler '{handler}': not enough values to unpack (expected 2, got 1)"),
            )),
            walk: None,
        };
    };
    let module = modname.replace('/', ".");
    let done = |outcome, walk| Resolution {
        module: modname.to_string(),
        outcome,
        walk,
    };
    if is_builtin(space, modname.split('.').next().unwrap_or("")) {
        return done(
            Outcome::Fails(fails(
                HandlerError::BuiltInModuleConflict,
                format!("Cannot use built-in module {modname} as a handler module"),
            )),
            None,
        );
    }
    let m = match space.find(&module) {
        Lookup::Found(m) => m,
        Lookup::Missing { message, note } => {
            let path = module.replace('.', "/");
            let mut f = fails(
                HandlerError::ImportModuleError,
                format!("Unable to import module '{modname}': {message}"),
            );
            f.hint = note.or_else(|| {
                Some(format!(
                    "lamina looked for /var/task/{path}.py, /var/task/{path}/__init__.py and /var/task/{path}.*.so"
                ))
            });
            return done(Outcome::Fails(f), None);
        }
        Lookup::Unknown(why) => return done(Outcome::Unverified(why), None),
    };
    let walk = imports::walk(space, &module, &m);
    let first = walk
        .failures
        .iter()
        .find(|f| f.when == When::Always)
        .cloned();
    if let Some(f) = first {
        let outcome = match f.kind {
            FailureKind::Import { message, note } => Outcome::Fails(Failing {
                error: HandlerError::ImportModuleError,
                message: format!("Unable to import module '{modname}': {message}"),
                file: Some(f.file),
                line: Some(f.line),
                hint: note,
            }),
            FailureKind::Syntax(p) => Outcome::Fails(Failing {
                error: HandlerError::UserCodeSyntaxError,
                message: format!(
                    "Syntax error in module '{modname}': {} ({}, line {})",
                    p.message,
                    f.file.rsplit('/').next().unwrap_or(&f.file),
                    p.line
                ),
                file: Some(f.file),
                line: Some(p.line),
                hint: None,
            }),
            // Whether the module imports or not, a name its own top level does not bind fails
            // the handler: only its dependencies were undecided.
            FailureKind::Unknown(why) => {
                match attribute(space, &module, modname, &m, function, &walk) {
                    Outcome::Fails(mut f) if f.error == HandlerError::HandlerNotFound => {
                        f.hint = Some(match f.hint {
                        Some(h) => format!("{h} (lamina could not decide an import on the way — {why} — but no import changes what /var/task/{} binds)", f.file.as_deref().unwrap_or("")),
                        None => format!("lamina could not decide an import on the way ({why}), but no import changes what the module binds"),
                    });
                        Outcome::Fails(f)
                    }
                    _ => Outcome::Unverified(why),
                }
            }
        };
        return done(outcome, Some(walk));
    }
    let outcome = attribute(space, &module, modname, &m, function, &walk);
    done(outcome, Some(walk))
}

/// Reads the handler's attribute `function` from the module `module` (`modname` as given).
fn attribute(
    space: &Space,
    module: &str,
    modname: &str,
    m: &Module,
    function: &str,
    walk: &Walk,
) -> Outcome {
    let missing = || {
        let mut f = fails(
            HandlerError::HandlerNotFound,
            format!("Handler '{function}' missing on module '{modname}'"),
        );
        f.hint = not_found_hint(space, module, m, function);
        if let Module::Source { path, .. } = m {
            f.file = Some(path.clone());
        }
        Outcome::Fails(f)
    };
    let not_callable = |what: String| {
        let mut f = fails(HandlerError::NotCallable, what);
        f.hint = not_found_hint(space, module, m, function);
        Outcome::Fails(f)
    };
    let at = match m {
        Module::Source { path, .. } => format!("/var/task/{path}"),
        Module::Namespace { dirs } => format!("/var/task/{}/", dirs[0]),
        _ => module.to_string(),
    };
    match space.attr(module, m, function) {
        Attr::Bound(BindKind::Function(p)) => match call_problem(function, &p) {
            Some(problem) => {
                let mut f = fails(HandlerError::NotCallable, problem);
                f.hint = Some("a handler takes (event, context)".into());
                if let Module::Source { path, .. } = m {
                    f.file = Some(path.clone());
                }
                Outcome::Fails(f)
            }
            None => Outcome::Ok(at),
        },
        Attr::Bound(BindKind::Module(target)) => not_callable(format!(
            "'module' object is not callable ({function} is the module {target})"
        )),
        Attr::Bound(BindKind::FromImport {
            level,
            module: from,
            name,
        }) => {
            let pkg = Space::package_of(module, m);
            match imports::absolute(&pkg, level, from.as_deref()) {
                Ok(src) => match space.find(&src) {
                    Lookup::Found(sm) => match space.attr(&src, &sm, &name) {
                        Attr::Submodule(full, _) => not_callable(format!(
                            "'module' object is not callable ({function} is the module {full})"
                        )),
                        _ => Outcome::Ok(at),
                    },
                    _ => Outcome::Ok(at),
                },
                Err(_) => Outcome::Ok(at),
            }
        }
        Attr::Bound(_) => Outcome::Ok(at),
        Attr::Submodule(full, _) if walk.imported.contains(&full) => not_callable(format!(
            "'module' object is not callable ({function} is the module {full})"
        )),
        Attr::Submodule(..) | Attr::Missing(_) => missing(),
        Attr::Unknown(why) => Outcome::Unverified(why),
        Attr::Unchecked => Outcome::Unverified(match m {
            Module::Compiled { path, .. } => {
                format!("/var/task/{path} is compiled: its attributes cannot be read")
            }
            Module::Stdlib => {
                format!("'{module}' is in the standard library: its attributes are not read")
            }
            _ => format!("'{module}' is provided by the base: its attributes are not read"),
        }),
    }
}
