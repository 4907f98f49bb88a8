//! The calls in a statement that matter for imports: literal dynamic imports
//! (`importlib.import_module`, `__import__`, `runpy.run_module`, the imports in a literal
//! `exec`), edits of the module's namespace, `__path__` extensions and import hooks (not inside
//! lambdas). A call in one branch of a conditional expression or after `and`/`or` runs only
//! sometimes (`__import__("x") if importlib.util.find_spec("x") else None`).

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub(super) enum Call {
    /// The module's name when it is a constant; whether the call runs only sometimes.
    Import(Option<String>, bool),
    Namespace(String),
    ExtendPath,
    MetaPath,
    /// `sys.path` changed (insert/append/extend, site.addsitedir).
    SysPath,
    /// `__all__.append(…)` / `.extend` / `.insert` / `.remove`: its value is known only at run time.
    AllChanged,
}

/// Finds the calls in a statement that matter for imports (not inside lambdas).
#[derive(Default)]
pub(super) struct CallFinder {
    pub calls: Vec<(ruff_text_size::TextSize, Call)>,
    /// Inside a branch of a conditional expression or a short-circuit operand.
    conditional: usize,
}

/// The modules a literal `exec` source imports (`import a.b`, `from a import b`), or None when
/// it does not parse.
fn exec_imports(src: &str) -> Option<Vec<String>> {
    use ruff_python_ast::Stmt;
    let parsed = ruff_python_parser::parse_module(src).ok()?;
    let mut out = Vec::new();
    for stmt in &parsed.syntax().body {
        match stmt {
            Stmt::Import(i) => out.extend(i.names.iter().map(|a| a.name.to_string())),
            Stmt::ImportFrom(f) if f.level == 0 => {
                if let Some(m) = &f.module {
                    out.push(m.to_string());
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// `sys.path.<method>` (the call's function).
fn is_sys_path(func: &Expr) -> bool {
    matches!(func, Expr::Attribute(m) if matches!(&*m.value,
        Expr::Attribute(p) if p.attr.as_str() == "path"
            && matches!(&*p.value, Expr::Name(n) if n.id.as_str() == "sys")))
}

impl<'a> Visitor<'a> for CallFinder {
    fn visit_expr(&mut self, e: &'a Expr) {
        match e {
            Expr::Lambda(_) => return,
            Expr::If(x) => {
                self.visit_expr(&x.test);
                self.conditional += 1;
                self.visit_expr(&x.body);
                self.visit_expr(&x.orelse);
                self.conditional -= 1;
                return;
            }
            Expr::BoolOp(b) => {
                if let Some((first, rest)) = b.values.split_first() {
                    self.visit_expr(first);
                    self.conditional += 1;
                    rest.iter().for_each(|v| self.visit_expr(v));
                    self.conditional -= 1;
                }
                return;
            }
            Expr::Attribute(a) if a.attr.as_str() == "meta_path" => {
                self.calls.push((a.start(), Call::MetaPath));
            }
            _ => {}
        }
        if let Expr::Call(c) = e {
            let name = match &*c.func {
                Expr::Name(n) => n.id.to_string(),
                Expr::Attribute(a) => a.attr.to_string(),
                _ => String::new(),
            };
            let first_literal = match c.arguments.args.first() {
                Some(Expr::StringLiteral(s)) => Some(s.value.to_str().to_string()),
                _ => None,
            };
            let sometimes = self.conditional > 0;
            let call = match name.as_str() {
                "import_module" | "__import__" | "run_module" => Some(Call::Import(
                    first_literal.filter(|n| !n.starts_with('.')),
                    sometimes,
                )),
                "globals" | "vars" => Some(Call::Namespace(format!("it calls {name}()"))),
                "exec" => {
                    // What a literal source imports is checked; a computed one is not known.
                    match first_literal.as_deref().map(exec_imports) {
                        Some(Some(mods)) => {
                            for m in mods {
                                self.calls
                                    .push((c.start(), Call::Import(Some(m), sometimes)));
                            }
                        }
                        _ => self.calls.push((c.start(), Call::Import(None, sometimes))),
                    }
                    Some(Call::Namespace("it calls exec()".into()))
                }
                "setattr"
                    if matches!(c.arguments.args.first(), Some(Expr::Subscript(s))
                        if matches!(&*s.value, Expr::Attribute(a) if a.attr.as_str() == "modules")) =>
                {
                    Some(Call::Namespace(
                        "it sets attributes on sys.modules[…]".into(),
                    ))
                }
                "extend_path" | "declare_namespace" => Some(Call::ExtendPath),
                "insert" | "append" | "extend" | "remove" if is_sys_path(&c.func) => {
                    Some(Call::SysPath)
                }
                "addsitedir" => Some(Call::SysPath),
                "append" | "extend" | "insert" | "remove" if matches!(&*c.func, Expr::Attribute(a) if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "__all__")) => {
                    Some(Call::AllChanged)
                }
                _ => None,
            };
            if let Some(call) = call {
                self.calls.push((c.start(), call));
            }
        }
        visitor::walk_expr(self, e);
    }
}
