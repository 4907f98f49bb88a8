//! Branches: `if` chains decided for the target or merged, `try` groups and their fallbacks,
//! the names a branch binds and how sure they are, and module-level constants (`__all__`,
//! `PY2 = …`).

use super::{BindKind, Binding, Ctx, Fallback, Scope, Walker, When};
use crate::conditions;
use ruff_python_ast::{ExceptHandler, Expr, Stmt};
use std::collections::HashMap;

pub(super) fn catches_import_error(h: &ExceptHandler) -> bool {
    let ExceptHandler::ExceptHandler(h) = h;
    let Some(t) = &h.type_ else { return true };
    let names: Vec<&Expr> = match &**t {
        Expr::Tuple(t) => t.elts.iter().collect(),
        e => vec![e],
    };
    names.iter().any(|e| {
        let n = match e {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return true,
        };
        matches!(
            n,
            "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"
        )
    })
}

/// `except ImportError` / `except (ImportError, ModuleNotFoundError)`, nothing broader.
fn catches_only_import_errors(h: &ExceptHandler) -> bool {
    let ExceptHandler::ExceptHandler(h) = h;
    let Some(t) = &h.type_ else { return false };
    let names: Vec<&Expr> = match &**t {
        Expr::Tuple(t) => t.elts.iter().collect(),
        e => vec![e],
    };
    names.iter().all(|e| {
        let n = match e {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        };
        matches!(n, "ImportError" | "ModuleNotFoundError")
    })
}

fn ends_in_raise(body: &[Stmt]) -> bool {
    matches!(body.last(), Some(Stmt::Raise(_)))
}

impl Walker<'_> {
    pub(super) fn branch(&mut self, stmts: &[Stmt], ctx: &Ctx) -> Scope {
        let mut s = Scope::new();
        self.body(stmts, ctx, &mut s);
        s
    }

    /// Merges branch scopes: a name is sure when every branch binds it surely.
    pub(super) fn merge(&self, scope: &mut Scope, branches: Vec<Scope>, complete: bool) {
        let n = branches.len();
        let mut all: HashMap<String, (usize, Binding)> = HashMap::new();
        for b in branches {
            for (name, binding) in b {
                let e = all.entry(name).or_insert((0, binding.clone()));
                if binding.sure {
                    e.0 += 1;
                }
                if e.1.kind != binding.kind {
                    e.1.kind = BindKind::Value;
                }
            }
        }
        for (name, (count, mut b)) in all {
            b.sure = complete && count == n;
            match scope.get(&name) {
                Some(old) if old.sure && !b.sure => {}
                _ => {
                    scope.insert(name, b);
                }
            }
        }
    }

    pub(super) fn nested(&self, ctx: &Ctx, when: When) -> Ctx {
        Ctx {
            when: ctx.when.within(when),
            fallback: ctx.fallback.clone(),
            module: ctx.module,
            sure: ctx.sure,
        }
    }

    pub(super) fn if_chain(
        &mut self,
        clauses: &[(Option<&Expr>, &[Stmt])],
        ctx: &Ctx,
        scope: &mut Scope,
    ) {
        let Some(((test, body), rest)) = clauses.split_first() else {
            return;
        };
        let Some(test) = test else {
            self.body(body, ctx, scope);
            return;
        };
        let tc = conditions::is_type_checking(test);
        match conditions::truth(test, &self.env) {
            Some(true) => self.body(body, ctx, scope),
            Some(false) => {
                if tc {
                    let c = self.nested(ctx, When::TypeChecking);
                    self.branch(body, &c);
                }
                self.if_chain(rest, ctx, scope);
            }
            None => {
                let cond = format!("if {}", self.text(test));
                let c = self.nested(ctx, When::Conditional(cond));
                let first = self.branch(body, &c);
                let mut rest_scope = Scope::new();
                self.if_chain(rest, &c, &mut rest_scope);
                let complete = rest.last().is_some_and(|(t, _)| t.is_none());
                self.merge(scope, vec![first, rest_scope], complete);
            }
        }
    }

    /// `__all__ = [...]`, `__path__ = …`, `NAME = <decidable>` at the top level.
    pub(super) fn note_special(&mut self, target: &Expr, value: &Expr, ctx: &Ctx) {
        let Expr::Name(n) = target else { return };
        if !ctx.module {
            return;
        }
        match n.id.as_str() {
            _ if lazy_table(value).is_some() => {
                self.facts
                    .lazy
                    .extend(lazy_table(value).unwrap_or_default());
            }
            "__all__" => match literal_strings(value) {
                Some(all) => self.facts.all = Some(all),
                None => {
                    self.facts.all_changed =
                        Some(self.lines.line(ruff_text_size::Ranged::start(value)))
                }
            },
            "__path__" => self.facts.extends_path = true,
            "__getattr__" => self.facts.dynamic = Some("it binds a module __getattr__".into()),
            name => {
                let decided = conditions::truth(value, &self.env).filter(|_| {
                    ctx.sure
                        && ctx.when == When::Always
                        && matches!(
                            value,
                            Expr::Compare(_)
                                | Expr::BoolOp(_)
                                | Expr::UnaryOp(_)
                                | Expr::BooleanLiteral(_)
                        )
                });
                match decided {
                    Some(b) => self.env.names.insert(name.to_string(), b),
                    // Bound again to something else: no longer decided.
                    None => self.env.names.remove(name),
                };
            }
        }
    }

    pub(super) fn try_stmt(&mut self, t: &ruff_python_ast::StmtTry, ctx: &Ctx, scope: &mut Scope) {
        let catches = t.handlers.iter().any(catches_import_error);
        self.groups += 1;
        let group = self.groups;
        let guarded = if catches {
            self.nested(ctx, When::Guarded(group))
        } else {
            ctx.clone()
        };
        let body = self.branch(&t.body, &guarded);
        let orelse = self.branch(&t.orelse, &guarded);
        let mut handler_scopes = Vec::new();
        let mut all_bind_or_raise = Vec::new();
        for h in &t.handlers {
            let ExceptHandler::ExceptHandler(eh) = h;
            let mut c = self.nested(ctx, When::Conditional("in an except clause".into()));
            if catches_import_error(h) {
                c.fallback = Some(Fallback {
                    group,
                    outer: ctx.when.clone(),
                });
            }
            let s = self.branch(&eh.body, &c);
            all_bind_or_raise.push((s.clone(), ends_in_raise(&eh.body)));
            handler_scopes.push(s);
        }
        // Names from the body (and else) are sure when every handler binds them or re-raises;
        // when the handlers catch only import errors, also when the guarded imports resolve.
        let only_imports =
            !t.handlers.is_empty() && t.handlers.iter().all(catches_only_import_errors);
        for (name, b) in body.into_iter().chain(orelse) {
            let sure = b.sure
                && all_bind_or_raise
                    .iter()
                    .all(|(s, raises)| *raises || s.get(&name).is_some_and(|x| x.sure));
            let unless = (!sure && b.sure && only_imports).then_some(group);
            scope.insert(
                name,
                Binding {
                    sure,
                    unless_group_fails: unless.or(b.unless_group_fails),
                    ..b
                },
            );
        }
        for s in handler_scopes {
            for (name, b) in s {
                scope.entry(name).or_insert(Binding { sure: false, ..b });
            }
        }
        self.body(&t.finalbody, ctx, scope);
    }
}

/// A dict literal mapping names to the relative modules a lazy `__getattr__` imports them from:
/// values `'.module'`, `(anything, '.module')`, or `(anything, '__module__')` (the name is itself a
/// submodule). None unless every entry has that shape.
pub(super) fn lazy_table(e: &Expr) -> Option<HashMap<String, String>> {
    let Expr::Dict(d) = e else { return None };
    let mut out = HashMap::new();
    for item in &d.items {
        let Some(Expr::StringLiteral(k)) = &item.key else {
            return None;
        };
        let v = match &item.value {
            Expr::StringLiteral(v) => v.value.to_str().to_string(),
            Expr::Tuple(t) => match t.elts.last() {
                Some(Expr::StringLiteral(v)) => v.value.to_str().to_string(),
                _ => return None,
            },
            _ => return None,
        };
        let name = k.value.to_str().to_string();
        let module = match v.as_str() {
            "__module__" => format!(".{name}"),
            m if m.starts_with('.') => m.to_string(),
            _ => return None,
        };
        out.insert(name, module);
    }
    (!out.is_empty()).then_some(out)
}

pub(super) fn literal_strings(e: &Expr) -> Option<Vec<String>> {
    let elts = match e {
        Expr::List(l) => &l.elts,
        Expr::Tuple(t) => &t.elts,
        _ => return None,
    };
    elts.iter()
        .map(|x| match x {
            Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            _ => None,
        })
        .collect()
}
