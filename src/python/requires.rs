//! `Requires-Dist` lines and their environment markers (PEP 508), evaluated for the target: which
//! projects a wheel needs on this Lambda runtime. Extras are not installed, so `extra == "…"` is
//! false. Lock files add the set-valued `extras` and `dependency_groups` (PEP 751), and
//! `requires-python` specifiers are checked against the target's CPython (`specifier_contains`).
//! Versions compare by their release numbers, which is all Python versions in markers need.

use super::normalize_name;
use super::tags::Target;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    /// The requirement as written, for messages.
    pub text: String,
    pub marker: Option<String>,
}

pub fn parse_requirement(line: &str) -> Option<Requirement> {
    let (req, marker) = match line.split_once(';') {
        Some((r, m)) => (r.trim(), Some(m.trim().to_string())),
        None => (line.trim(), None),
    };
    let name: String = req
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    if name.is_empty() {
        return None;
    }
    Some(Requirement {
        name: normalize_name(&name),
        text: req.to_string(),
        marker,
    })
}

/// The marker environment of a Lambda CPython target.
fn env_value(var: &str, t: &Target) -> Option<String> {
    Some(match var {
        "python_version" => format!("3.{}", t.minor),
        "python_full_version" | "implementation_version" => format!("3.{}.0", t.minor),
        "os_name" => "posix".into(),
        "sys_platform" => "linux".into(),
        "platform_system" => "Linux".into(),
        "platform_machine" => t.arch.clone(),
        "platform_python_implementation" => "CPython".into(),
        "implementation_name" => "cpython".into(),
        "platform_release" | "platform_version" | "extra" => String::new(),
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Ident(String),
    Op(String),
    LParen,
    RParen,
}

fn lex(s: &str) -> Option<Vec<Tok>> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        match c[i] {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            q @ ('"' | '\'') => {
                let end = c[i + 1..].iter().position(|&x| x == q)? + i + 1;
                out.push(Tok::Str(c[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '<' | '>' | '=' | '!' | '~' => {
                let mut op = String::new();
                while i < c.len() && "<>=!~".contains(c[i]) {
                    op.push(c[i]);
                    i += 1;
                }
                out.push(Tok::Op(op));
            }
            x if x.is_alphanumeric() || x == '_' || x == '.' => {
                let mut w = String::new();
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                    w.push(c[i]);
                    i += 1;
                }
                out.push(match w.as_str() {
                    "in" | "not" | "and" | "or" => Tok::Op(w),
                    _ => Tok::Ident(w),
                });
            }
            _ => return None,
        }
    }
    Some(out)
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.')
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        })
        .collect()
}

fn compare(l: &str, op: &str, r: &str, versions: bool) -> bool {
    use std::cmp::Ordering::*;
    let ord = if versions {
        version_key(l).cmp(&version_key(r))
    } else {
        l.cmp(r)
    };
    match op {
        "==" | "===" => {
            if versions && r.ends_with(".*") {
                let prefix = version_key(r.trim_end_matches(".*"));
                version_key(l).starts_with(&prefix)
            } else {
                ord == Equal
            }
        }
        "!=" => ord != Equal,
        "<" => ord == Less,
        "<=" => ord != Greater,
        ">" => ord == Greater,
        ">=" => ord != Less,
        "~=" => {
            let rk = version_key(r);
            let prefix = &rk[..rk.len().saturating_sub(1)];
            ord != Less && version_key(l).starts_with(prefix)
        }
        "in" => r.contains(l),
        "not in" => !r.contains(l),
        _ => false,
    }
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    target: &'a Target,
    /// Set-valued variables: `extras`, `dependency_groups`.
    sets: &'a [(&'a str, &'a [String])],
}

enum Val {
    Str(String, bool),
    Set(Vec<String>),
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        self.pos += 1;
        self.toks.get(self.pos - 1).cloned()
    }
    fn or(&mut self) -> Option<bool> {
        let mut v = self.and()?;
        while self.peek() == Some(&Tok::Op("or".into())) {
            self.next();
            let r = self.and()?;
            v = v || r;
        }
        Some(v)
    }
    fn and(&mut self) -> Option<bool> {
        let mut v = self.atom()?;
        while self.peek() == Some(&Tok::Op("and".into())) {
            self.next();
            let r = self.atom()?;
            v = v && r;
        }
        Some(v)
    }
    fn value(&mut self) -> Option<Val> {
        match self.next()? {
            Tok::Str(s) => Some(Val::Str(s, false)),
            Tok::Ident(v) => {
                if let Some((_, set)) = self.sets.iter().find(|(n, _)| *n == v) {
                    return Some(Val::Set(set.to_vec()));
                }
                Some(Val::Str(env_value(&v, self.target)?, v.contains("version")))
            }
            _ => None,
        }
    }
    fn atom(&mut self) -> Option<bool> {
        if self.peek() == Some(&Tok::LParen) {
            self.next();
            let v = self.or()?;
            (self.next()? == Tok::RParen).then_some(v)
        } else {
            let l = self.value()?;
            let mut op = match self.next()? {
                Tok::Op(o) => o,
                _ => return None,
            };
            if op == "not" {
                self.next();
                op = "not in".into();
            }
            let r = self.value()?;
            match (l, r) {
                (Val::Str(l, lv), Val::Str(r, rv)) => Some(compare(&l, &op, &r, lv || rv)),
                (Val::Str(l, _), Val::Set(set)) => {
                    let l = crate::python::normalize_name(&l);
                    let has = set.iter().any(|s| crate::python::normalize_name(s) == l);
                    match op.as_str() {
                        "in" => Some(has),
                        "not in" => Some(!has),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
    }
}

/// Evaluates a marker for the target; an unparseable marker counts as true (be safe: require it).
pub fn marker_applies(marker: &str, target: &Target) -> bool {
    evaluate(marker, target, &[]).unwrap_or(true)
}

/// Evaluates a marker with set-valued variables (`extras`, `dependency_groups`); `None` when the
/// marker cannot be parsed.
pub fn evaluate(marker: &str, target: &Target, sets: &[(&str, &[String])]) -> Option<bool> {
    let toks = lex(marker)?;
    let mut p = Parser {
        toks,
        pos: 0,
        target,
        sets,
    };
    match p.or() {
        Some(v) if p.pos == p.toks.len() => Some(v),
        _ => None,
    }
}

/// Whether `version` satisfies a PEP 440 specifier set such as `>=3.9, !=3.9.1, <4` (as used by
/// `requires-python`). `None` when the set cannot be parsed.
pub fn specifier_contains(spec: &str, version: &str) -> Option<bool> {
    let mut all = true;
    for clause in spec.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let split = clause
            .find(|c: char| !"<>=!~".contains(c))
            .unwrap_or(clause.len());
        let (op, v) = clause.split_at(split);
        let v = v.trim();
        if v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".*+!".contains(c))
        {
            return None;
        }
        let ok = match op {
            "==" | "!=" if v.ends_with(".*") => {
                let prefix = version_key(v.trim_end_matches(".*"));
                let mut have = version_key(version);
                have.resize(have.len().max(prefix.len()), 0);
                have.starts_with(&prefix) == (op == "==")
            }
            "==" | "!=" | "===" => {
                let (mut a, mut b) = (version_key(version), version_key(v));
                let n = a.len().max(b.len());
                a.resize(n, 0);
                b.resize(n, 0);
                (a == b) == (op != "!=")
            }
            "<" | "<=" | ">" | ">=" | "~=" => {
                let (mut a, mut b) = (version_key(version), version_key(v));
                let n = a.len().max(b.len());
                a.resize(n, 0);
                b.resize(n, 0);
                match op {
                    "<" => a < b,
                    "<=" => a <= b,
                    ">" => a > b,
                    ">=" => a >= b,
                    _ => {
                        let rk = version_key(v);
                        let prefix = &rk[..rk.len().saturating_sub(1)];
                        a >= b && version_key(version).starts_with(prefix)
                    }
                }
            }
            _ => return None,
        };
        all &= ok;
    }
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Target {
        Target {
            minor: 12,
            arch: "x86_64".into(),
            glibc: (2, 34),
            allow_linux: false,
        }
    }

    #[test]
    fn markers() {
        let t = t();
        assert!(marker_applies("python_version >= \"3.8\"", &t));
        assert!(!marker_applies("python_version < \"3.10\"", &t));
        assert!(!marker_applies("extra == \"socks\"", &t));
        assert!(!marker_applies(
            "sys_platform == \"win32\" or platform_system == \"Darwin\"",
            &t
        ));
        assert!(marker_applies(
            "(python_version >= '3.9' and platform_machine == 'x86_64') or extra == 'x'",
            &t
        ));
        assert!(!marker_applies(
            "platform_python_implementation != 'CPython'",
            &t
        ));
        assert!(marker_applies("python_full_version >= '3.12.0'", &t));
        assert!(marker_applies("python_version == '3.12.*'", &t));
        assert!(!marker_applies("'win' in sys_platform", &t));
    }

    #[test]
    fn sets_and_specifiers() {
        let t = t();
        let groups = vec!["dev".to_string()];
        let sets: [(&str, &[String]); 2] = [("extras", &[]), ("dependency_groups", &groups)];
        assert_eq!(
            evaluate("'dev' in dependency_groups", &t, &sets),
            Some(true)
        );
        assert_eq!(
            evaluate("'docs' in dependency_groups", &t, &sets),
            Some(false)
        );
        assert_eq!(evaluate("'socks' in extras", &t, &sets), Some(false));
        assert_eq!(evaluate("'socks' not in extras", &t, &sets), Some(true));
        assert_eq!(evaluate("python_version <", &t, &sets), None);
        assert_eq!(specifier_contains(">=3.9", "3.12.0"), Some(true));
        assert_eq!(specifier_contains(">=3.12.1", "3.12.0"), Some(false));
        assert_eq!(specifier_contains(">=3.8, <4", "3.12"), Some(true));
        assert_eq!(specifier_contains("!=3.12.*", "3.12.0"), Some(false));
        assert_eq!(specifier_contains("==3.*", "3.12.0"), Some(true));
        assert_eq!(specifier_contains("~=3.9", "3.12.0"), Some(true));
        assert_eq!(specifier_contains("~=3.9.1", "3.12.0"), Some(false));
        assert_eq!(specifier_contains("<3.10", "3.12.0"), Some(false));
        assert_eq!(specifier_contains(">=3.12", "3.12"), Some(true));
        assert_eq!(specifier_contains("", "3.12"), Some(true));
        assert_eq!(specifier_contains("=>3.8", "3.12"), None);
    }

    #[test]
    fn requirements() {
        let r = parse_requirement("charset_normalizer<4,>=2").unwrap();
        assert_eq!(r.name, "charset-normalizer");
        let r = parse_requirement("PySocks!=1.5.7,>=1.5.6; extra == \"socks\"").unwrap();
        assert_eq!(
            (r.name.as_str(), r.marker.as_deref()),
            ("pysocks", Some("extra == \"socks\""))
        );
        let r =
            parse_requirement("google-api-core[grpc] (>=2.0) ; python_version >= '3.7'").unwrap();
        assert_eq!(r.name, "google-api-core");
    }
}
