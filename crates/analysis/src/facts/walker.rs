//! The walk over a module's statements: imports and bindings recorded with the circumstances
//! they run in; compound statements hand their branches to `flow`.

use super::calls::{Call, CallFinder};
use super::flow::literal_strings;
use super::{BindKind, Binding, Ctx, ImportStmt, Imported, Params, Scope, Star, Walker, When};
use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

/// `sys.path` itself.
fn is_sys_path(a: &ruff_python_ast::ExprAttribute) -> bool {
    a.attr.as_str() == "path" && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "sys")
}

impl Walker<'_> {
    pub(super) fn text(&self, node: &impl Ranged) -> String {
        let t = self.src[node.range()]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if t.chars().count() > 60 {
            format!("{}…", t.chars().take(57).collect::<String>())
        } else {
            t
        }
    }

    pub(super) fn bind(&self, scope: &mut Scope, ctx: &Ctx, name: &str, line: u32, kind: BindKind) {
        if ctx.module && ctx.when.rank() < When::TypeChecking.rank() {
            scope.insert(
                name.to_string(),
                Binding {
                    line,
                    sure: ctx.sure,
                    kind,
                    unless_group_fails: None,
                },
            );
        }
    }

    pub(super) fn bind_target(&mut self, scope: &mut Scope, ctx: &Ctx, target: &Expr, line: u32) {
        match target {
            Expr::Name(n) => self.bind(scope, ctx, n.id.as_str(), line, BindKind::Value),
            Expr::Tuple(t) => t
                .elts
                .iter()
                .for_each(|e| self.bind_target(scope, ctx, e, line)),
            Expr::List(t) => t
                .elts
                .iter()
                .for_each(|e| self.bind_target(scope, ctx, e, line)),
            Expr::Starred(s) => self.bind_target(scope, ctx, &s.value, line),
            Expr::Attribute(a) if is_sys_path(a) => self.edits_path(ctx, line),
            Expr::Subscript(s) => {
                if let Expr::Attribute(a) = &*s.value {
                    if is_sys_path(a) {
                        self.edits_path(ctx, line);
                    }
                    if a.attr.as_str() == "modules" {
                        self.facts.registers_modules = true;
                        let own = matches!(&*s.slice, Expr::Name(n) if n.id.as_str() == "__name__");
                        if own && ctx.module {
                            self.facts.dynamic = Some("it replaces itself in sys.modules".into());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn edits_path(&mut self, ctx: &Ctx, line: u32) {
        if ctx.when.rank() < When::TypeChecking.rank() {
            self.facts.edits_sys_path.get_or_insert(line);
        }
    }

    pub(super) fn import(&mut self, ctx: &Ctx, line: u32, what: Imported) {
        self.facts.imports.push(ImportStmt {
            line,
            what,
            when: ctx.when.clone(),
            fallback: ctx.fallback.clone(),
        });
    }

    /// Calls evaluated where `ctx` says: literal dynamic imports, namespace edits.
    pub(super) fn scan_exprs(&mut self, ctx: &Ctx, node: &Stmt) {
        let mut f = CallFinder::default();
        f.visit_stmt(node);
        self.record_calls(ctx, f);
    }

    pub(super) fn record_calls(&mut self, ctx: &Ctx, f: CallFinder) {
        for (line_at, call) in f.calls {
            let line = self.lines.line(line_at);
            match call {
                Call::Import(name, false) => self.import(ctx, line, Imported::Dynamic(name)),
                Call::Import(name, true) => {
                    let c = Ctx {
                        when: ctx
                            .when
                            .within(When::Conditional("in a conditional expression".into())),
                        ..ctx.clone()
                    };
                    self.import(&c, line, Imported::Dynamic(name))
                }
                Call::Namespace(why) if ctx.module => self.facts.dynamic = Some(why),
                Call::ExtendPath => self.facts.extends_path = true,
                Call::MetaPath => self.facts.registers_modules = true,
                Call::SysPath if ctx.when.rank() < When::TypeChecking.rank() => {
                    self.facts.edits_sys_path.get_or_insert(line);
                }
                Call::SysPath => {}
                Call::Namespace(_) => {}
                // Wherever it happens (a function may run at import): `__all__` is not literal.
                Call::AllChanged => self.facts.all_changed = Some(line),
            }
        }
    }

    /// The expressions a compound statement evaluates where it stands (not its body).
    pub(super) fn scan_header(&mut self, ctx: &Ctx, s: &Stmt) {
        let mut f = CallFinder::default();
        match s {
            Stmt::FunctionDef(d) => {
                d.decorator_list
                    .iter()
                    .for_each(|x| f.visit_expr(&x.expression));
                let p = &d.parameters;
                for a in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
                    if let Some(e) = &a.default {
                        f.visit_expr(e);
                    }
                }
            }
            Stmt::ClassDef(c) => {
                c.decorator_list
                    .iter()
                    .for_each(|x| f.visit_expr(&x.expression));
                if let Some(a) = &c.arguments {
                    a.args.iter().for_each(|x| f.visit_expr(x));
                    a.keywords.iter().for_each(|k| f.visit_expr(&k.value));
                }
            }
            Stmt::If(i) => f.visit_expr(&i.test),
            Stmt::With(w) => w.items.iter().for_each(|i| f.visit_expr(&i.context_expr)),
            Stmt::For(x) => f.visit_expr(&x.iter),
            Stmt::While(x) => f.visit_expr(&x.test),
            Stmt::Match(m) => f.visit_expr(&m.subject),
            _ => {}
        }
        self.record_calls(ctx, f);
    }

    pub(super) fn body(&mut self, stmts: &[Stmt], ctx: &Ctx, scope: &mut Scope) {
        for s in stmts {
            self.stmt(s, ctx, scope);
        }
    }

    /// Walks `stmts` into a scope of its own (a branch), with `sure` as given.
    pub(super) fn stmt(&mut self, s: &Stmt, ctx: &Ctx, scope: &mut Scope) {
        let line = self.lines.of(s);
        match s {
            Stmt::Import(i) => {
                for a in &i.names {
                    let name = a.name.to_string();
                    self.import(ctx, line, Imported::Module(name.clone()));
                    let (bound, module) = match &a.asname {
                        Some(asn) => (asn.to_string(), name),
                        None => {
                            let top = name.split('.').next().unwrap_or(&name).to_string();
                            (top.clone(), top)
                        }
                    };
                    self.bind(scope, ctx, &bound, line, BindKind::Module(module));
                }
            }
            Stmt::ImportFrom(f) => {
                let module = f.module.as_ref().map(|m| m.to_string());
                let names: Vec<String> = f.names.iter().map(|a| a.name.to_string()).collect();
                self.import(
                    ctx,
                    line,
                    Imported::From {
                        level: f.level,
                        module: module.clone(),
                        names: names.clone(),
                    },
                );
                for a in &f.names {
                    let name = a.name.to_string();
                    if name == "*" {
                        if ctx.module && ctx.when.rank() < When::TypeChecking.rank() {
                            self.facts.stars.push(Star {
                                level: f.level,
                                module: module.clone(),
                                line,
                            });
                        }
                        continue;
                    }
                    let bound = a.asname.as_ref().map_or(name.clone(), |n| n.to_string());
                    let kind = BindKind::FromImport {
                        level: f.level,
                        module: module.clone(),
                        name,
                    };
                    self.bind(scope, ctx, &bound, line, kind);
                }
                if module.as_deref().is_some_and(|m| m == "pkgutil") {
                    self.facts.extends_path |= names.iter().any(|n| n == "extend_path");
                }
            }
            Stmt::FunctionDef(f) => {
                let p = &f.parameters;
                let positional = p.posonlyargs.len() + p.args.len();
                let defaults = p
                    .posonlyargs
                    .iter()
                    .chain(p.args.iter())
                    .filter(|a| a.default.is_some())
                    .count();
                let params = Params {
                    positional,
                    required: positional - defaults,
                    varargs: p.vararg.is_some(),
                    required_kwonly: p.kwonlyargs.iter().filter(|a| a.default.is_none()).count(),
                    decorated: !f.decorator_list.is_empty(),
                };
                self.scan_header(ctx, s);
                self.bind(
                    scope,
                    ctx,
                    f.name.as_str(),
                    line,
                    BindKind::Function(params),
                );
                let inner = Ctx {
                    when: ctx.when.within(When::InFunction(f.name.to_string())),
                    fallback: None,
                    module: false,
                    sure: false,
                };
                self.body(&f.body, &inner, &mut Scope::new());
            }
            Stmt::ClassDef(c) => {
                self.scan_header(ctx, s);
                let inner = Ctx {
                    module: false,
                    ..ctx.clone()
                };
                self.body(&c.body, &inner, &mut Scope::new());
                self.bind(scope, ctx, c.name.as_str(), line, BindKind::Class);
            }
            Stmt::If(i) => {
                self.scan_header(ctx, s);
                let mut clauses: Vec<(Option<&Expr>, &[Stmt])> = vec![(Some(&*i.test), &i.body)];
                for c in &i.elif_else_clauses {
                    clauses.push((c.test.as_ref(), &c.body));
                }
                self.if_chain(&clauses, ctx, scope);
            }
            Stmt::Try(t) => self.try_stmt(t, ctx, scope),
            Stmt::With(w) => {
                self.scan_header(ctx, s);
                let suppress = w.items.iter().any(|it| match &it.context_expr {
                    Expr::Call(c) => {
                        let f = match &*c.func {
                            Expr::Name(n) => n.id.as_str(),
                            Expr::Attribute(a) => a.attr.as_str(),
                            _ => "",
                        };
                        f == "suppress"
                            && c.arguments.args.iter().any(|a| {
                                matches!(a, Expr::Name(n) if matches!(n.id.as_str(), "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"))
                            })
                    }
                    _ => false,
                });
                for it in &w.items {
                    if let Some(v) = &it.optional_vars {
                        self.bind_target(scope, ctx, v, line);
                    }
                }
                if suppress {
                    self.groups += 1;
                    let c = Ctx {
                        sure: false,
                        ..self.nested(ctx, When::Guarded(self.groups))
                    };
                    self.body(&w.body, &c, scope);
                } else {
                    self.body(&w.body, ctx, scope);
                }
            }
            Stmt::For(_) | Stmt::While(_) | Stmt::Match(_) => {
                self.scan_header(ctx, s);
                let (what, bodies): (&str, Vec<&[Stmt]>) = match s {
                    Stmt::For(f) => ("a for loop", vec![&f.body, &f.orelse]),
                    Stmt::While(w) => ("a while loop", vec![&w.body, &w.orelse]),
                    Stmt::Match(m) => (
                        "a match case",
                        m.cases.iter().map(|c| &c.body[..]).collect(),
                    ),
                    _ => unreachable!(),
                };
                let c = Ctx {
                    sure: false,
                    ..self.nested(ctx, When::Conditional(format!("in {what}")))
                };
                if let Stmt::For(f) = s {
                    self.bind_target(scope, &c, &f.target, line);
                }
                for b in bodies {
                    self.body(b, &c, scope);
                }
            }
            Stmt::Assign(a) => {
                self.scan_exprs(ctx, s);
                for t in &a.targets {
                    self.bind_target(scope, ctx, t, line);
                    self.note_special(t, &a.value, ctx);
                }
            }
            Stmt::AnnAssign(a) => {
                self.scan_exprs(ctx, s);
                if let Some(value) = &a.value {
                    self.bind_target(scope, ctx, &a.target, line);
                    if ctx.module {
                        if let Some(t) = super::flow::lazy_table(value) {
                            self.facts.lazy.extend(t);
                        }
                    }
                }
            }
            Stmt::AugAssign(a) => {
                self.scan_exprs(ctx, s);
                if let Expr::Attribute(t) = &*a.target {
                    if is_sys_path(t) {
                        self.edits_path(ctx, line);
                    }
                }
                if let Expr::Name(n) = &*a.target {
                    match n.id.as_str() {
                        "__path__" => self.facts.extends_path = true,
                        "__all__" => match (&mut self.facts.all, literal_strings(&a.value)) {
                            (Some(all), Some(more)) => all.extend(more),
                            _ => self.facts.all_changed = Some(line),
                        },
                        _ => {}
                    }
                }
            }
            Stmt::TypeAlias(t) => self.bind_target(scope, ctx, &t.name, line),
            Stmt::Delete(d) => {
                for t in &d.targets {
                    if let Expr::Name(n) = t {
                        if ctx.module {
                            scope.remove(n.id.as_str());
                        }
                    }
                }
            }
            _ => self.scan_exprs(ctx, s),
        }
    }
}
