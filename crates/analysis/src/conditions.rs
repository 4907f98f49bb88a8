//! Deciding, without running anything, the conditions that guard imports at a module's top level:
//! `sys.version_info` comparisons, `sys.platform`, `os.name`, `platform.system()`, `TYPE_CHECKING`,
//! `__debug__`, `not`/`and`/`or`, and module-level names assigned from such expressions
//! (`PY2 = sys.version_info[0] == 2`). Anything else is undecided (`None`).

use ruff_python_ast::{
    BoolOp, CmpOp, Expr, ExprAttribute, ExprCall, ExprCompare, ExprName, Number, UnaryOp,
};
use std::collections::HashMap;

/// What the code runs on: the target CPython and Linux (Lambda).
#[derive(Clone, Debug)]
pub struct Env {
    pub minor: Option<u32>,
    /// Module-level names bound to a decided value (`PY3 = sys.version_info >= (3,)`).
    pub names: HashMap<String, bool>,
    /// The module's `__name__`.
    pub module: Option<String>,
}

impl Env {
    pub fn new(minor: Option<u32>) -> Env {
        Env {
            minor,
            names: HashMap::new(),
            module: None,
        }
    }
}

/// Whether `e` is `TYPE_CHECKING` or `<module>.TYPE_CHECKING`.
pub fn is_type_checking(e: &Expr) -> bool {
    match e {
        Expr::Name(ExprName { id, .. }) => id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(ExprAttribute { attr, .. }) => attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr.as_str())),
        _ => None,
    }
}

/// A value the evaluator understands.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Bool(bool),
    Int(i64),
    Str(String),
    Tuple(Vec<Val>),
    /// Part of a value that is not known (the micro version).
    Unknown,
}

fn cmp_vals(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Unknown, _) | (_, Val::Unknown) => None,
        (Val::Tuple(x), Val::Tuple(y)) => {
            for (p, q) in x.iter().zip(y) {
                match cmp_vals(p, q)? {
                    std::cmp::Ordering::Equal => continue,
                    o => return Some(o),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}

fn version_info(env: &Env) -> Option<Val> {
    let m = i64::from(env.minor?);
    // (3, minor, micro, releaselevel, serial): only the first two are known.
    let mut v = vec![Val::Int(3), Val::Int(m)];
    v.extend([Val::Unknown, Val::Unknown, Val::Unknown]);
    Some(Val::Tuple(v))
}

fn value(e: &Expr, env: &Env) -> Option<Val> {
    match e {
        Expr::BooleanLiteral(b) => Some(Val::Bool(b.value)),
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => i.as_i64().map(Val::Int),
            _ => None,
        },
        Expr::StringLiteral(s) => Some(Val::Str(s.value.to_str().to_string())),
        Expr::Tuple(t) => t
            .elts
            .iter()
            .map(|x| value(x, env))
            .collect::<Option<Vec<_>>>()
            .map(Val::Tuple),
        Expr::Name(n) if n.id.as_str() == "__debug__" => Some(Val::Bool(true)),
        Expr::Name(n) if n.id.as_str() == "TYPE_CHECKING" => Some(Val::Bool(false)),
        Expr::Name(n) if n.id.as_str() == "__name__" => env.module.clone().map(Val::Str),
        Expr::Name(n) => env.names.get(n.id.as_str()).map(|b| Val::Bool(*b)),
        Expr::Attribute(_) => match dotted(e)?.as_str() {
            "sys.version_info" => version_info(env),
            "sys.version_info.major" => Some(Val::Int(3)),
            "sys.version_info.minor" => env.minor.map(|m| Val::Int(i64::from(m))),
            "sys.platform" => Some(Val::Str("linux".into())),
            "os.name" => Some(Val::Str("posix".into())),
            "sys.byteorder" => Some(Val::Str("little".into())),
            d if d.ends_with(".TYPE_CHECKING") => Some(Val::Bool(false)),
            _ => None,
        },
        Expr::Subscript(s) if dotted(&s.value).as_deref() == Some("sys.version_info") => {
            let Val::Tuple(v) = version_info(env)? else {
                return None;
            };
            match &*s.slice {
                Expr::NumberLiteral(n) => match &n.value {
                    Number::Int(i) => v.get(usize::try_from(i.as_i64()?).ok()?).cloned(),
                    _ => None,
                },
                Expr::Slice(sl) if sl.lower.is_none() && sl.step.is_none() => {
                    let upper = match sl.upper.as_deref() {
                        Some(Expr::NumberLiteral(n)) => match &n.value {
                            Number::Int(i) => usize::try_from(i.as_i64()?).ok()?,
                            _ => return None,
                        },
                        _ => return None,
                    };
                    (upper <= 2).then(|| Val::Tuple(v[..upper].to_vec()))
                }
                _ => None,
            }
        }
        Expr::Call(ExprCall {
            func, arguments, ..
        }) => {
            let f = dotted(func)?;
            if f == "platform.system" && arguments.args.is_empty() {
                return Some(Val::Str("Linux".into()));
            }
            if let (Some(obj), Expr::Attribute(a)) = (f.strip_suffix(".startswith"), &**func) {
                if obj != "sys.platform" && obj != "os.name" {
                    return None;
                }
                let Val::Str(s) = value(&a.value, env)? else {
                    return None;
                };
                let prefixes: Vec<String> = match arguments.args.first()? {
                    Expr::StringLiteral(p) => vec![p.value.to_str().to_string()],
                    Expr::Tuple(t) => t
                        .elts
                        .iter()
                        .map(|x| match x {
                            Expr::StringLiteral(p) => Some(p.value.to_str().to_string()),
                            _ => None,
                        })
                        .collect::<Option<_>>()?,
                    _ => return None,
                };
                return Some(Val::Bool(
                    prefixes.iter().any(|p| s.starts_with(p.as_str())),
                ));
            }
            None
        }
        // Exactly the forms `truth` handles itself (so the two never call each other in a loop).
        Expr::Compare(_) | Expr::BoolOp(_) => truth(e, env).map(Val::Bool),
        Expr::UnaryOp(u) if u.op == UnaryOp::Not => truth(e, env).map(Val::Bool),
        _ => None,
    }
}

fn compare(c: &ExprCompare, env: &Env) -> Option<bool> {
    let mut left = value(&c.left, env)?;
    for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
        let r = value(right, env)?;
        let ok = match op {
            CmpOp::In | CmpOp::NotIn => {
                let Val::Tuple(items) = &r else { return None };
                let found = items.contains(&left);
                if *op == CmpOp::In {
                    found
                } else {
                    !found
                }
            }
            CmpOp::Is | CmpOp::IsNot => return None,
            _ => {
                let o = cmp_vals(&left, &r)?;
                match op {
                    CmpOp::Eq => o.is_eq(),
                    CmpOp::NotEq => o.is_ne(),
                    CmpOp::Lt => o.is_lt(),
                    CmpOp::LtE => o.is_le(),
                    CmpOp::Gt => o.is_gt(),
                    CmpOp::GtE => o.is_ge(),
                    _ => return None,
                }
            }
        };
        if !ok {
            return Some(false);
        }
        left = r;
    }
    Some(true)
}

/// The truth of a condition on Lambda, if it can be decided statically.
pub fn truth(e: &Expr, env: &Env) -> Option<bool> {
    match e {
        Expr::Compare(c) => compare(c, env),
        Expr::UnaryOp(u) if u.op == UnaryOp::Not => truth(&u.operand, env).map(|b| !b),
        Expr::BoolOp(b) => {
            let vals: Vec<Option<bool>> = b.values.iter().map(|v| truth(v, env)).collect();
            match b.op {
                BoolOp::And if vals.contains(&Some(false)) => Some(false),
                BoolOp::Or if vals.contains(&Some(true)) => Some(true),
                _ if vals.iter().all(Option::is_some) => Some(b.op == BoolOp::And),
                _ => None,
            }
        }
        _ => match value(e, env)? {
            Val::Bool(b) => Some(b),
            Val::Int(i) => Some(i != 0),
            Val::Str(s) => Some(!s.is_empty()),
            Val::Tuple(t) => Some(!t.is_empty()),
            Val::Unknown => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str, minor: Option<u32>) -> Option<bool> {
        let parsed = ruff_python_parser::parse_expression(src).unwrap();
        let mut env = Env::new(minor);
        env.names.insert("PY2".into(), false);
        truth(parsed.expr(), &env)
    }

    #[test]
    fn decides_versions_and_platforms() {
        assert_eq!(eval("sys.version_info >= (3, 8)", Some(12)), Some(true));
        assert_eq!(eval("sys.version_info < (3, 11)", Some(8)), Some(true));
        assert_eq!(eval("sys.version_info < (3, 11)", Some(12)), Some(false));
        assert_eq!(eval("sys.version_info[0] == 2", Some(12)), Some(false));
        assert_eq!(eval("sys.version_info[:2] >= (3, 9)", Some(9)), Some(true));
        assert_eq!(eval("sys.version_info >= (3, 12, 1)", Some(12)), None);
        assert_eq!(eval("sys.version_info > (3, 12)", Some(12)), Some(true));
        assert_eq!(eval("sys.version_info >= (3, 13)", Some(12)), Some(false));
        assert_eq!(eval("sys.version_info.minor >= 10", Some(9)), Some(false));
        assert_eq!(eval("sys.version_info >= (3, 8)", None), None);
        assert_eq!(eval("sys.platform == 'win32'", None), Some(false));
        assert_eq!(eval("sys.platform.startswith('linux')", None), Some(true));
        assert_eq!(
            eval("sys.platform.startswith(('win', 'cygwin'))", None),
            Some(false)
        );
        assert_eq!(eval("os.name == 'nt'", None), Some(false));
        assert_eq!(eval("platform.system() == 'Windows'", None), Some(false));
        assert_eq!(
            eval("sys.platform in ('linux', 'darwin')", None),
            Some(true)
        );
        assert_eq!(eval("not TYPE_CHECKING", None), Some(true));
        assert_eq!(eval("typing.TYPE_CHECKING", None), Some(false));
        assert_eq!(eval("PY2", None), Some(false));
        assert_eq!(eval("PY2 or os.environ.get('X')", None), None);
        assert_eq!(eval("PY2 and os.environ.get('X')", None), Some(false));
        assert_eq!(eval("os.environ.get('X')", Some(12)), None);
        assert_eq!(eval("settings.DEBUG", Some(12)), None);
        assert_eq!(eval("x + 1", Some(12)), None);
        assert_eq!(eval("[a for a in b]", Some(12)), None);
        assert_eq!(eval("not (a - b)", Some(12)), None);
        assert_eq!(eval("-x", Some(12)), None);
        assert_eq!(eval("~sys.version_info[0]", Some(12)), None);
    }
}
