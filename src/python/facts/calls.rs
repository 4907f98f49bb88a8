//! The calls in a statement that matter for imports: literal dynamic imports, edits of the
//! module's namespace, `__path__` extensions and import hooks (not inside lambdas).

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

pub(super) enum Call {
    Import(Option<String>),
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
            let call = match name.as_str() {
                "import_module" | "__import__" => {
                    Some(Call::Import(first_literal.filter(|n| !n.starts_with('.'))))
                }
                "globals" | "vars" => Some(Call::Namespace(format!("it calls {name}()"))),
                "exec" => Some(Call::Namespace("it calls exec()".into())),
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
