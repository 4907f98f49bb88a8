//! `Requires-Dist` lines and their environment markers (PEP 508), evaluated for the target: which
//! projects a wheel needs on this Lambda runtime, and which versions of them (PEP 440 specifiers).
//! Requirements, versions, specifiers and `Requires-Dist` markers are parsed and compared by the
//! `pep508_rs`/`pep440_rs` crates. Extras are not installed, so `extra == "…"` is false. Lock
//! files' markers add the set-valued `extras` and `dependency_groups` (PEP 751), which those
//! crates do not know: `evaluate` parses them itself and compares versions with `pep440_rs`.
//! `requires-python` specifiers are checked against the target's CPython (`specifier_contains`).

use super::normalize_name;
use super::tags::Target;
use pep440_rs::{Version, VersionSpecifier, VersionSpecifiers};
use pep508_rs::marker::{MarkerEnvironment, MarkerEnvironmentBuilder};
use pep508_rs::{MarkerTree, VersionOrUrl};
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    /// The requirement as written, for messages.
    pub text: String,
    pub marker: Option<String>,
    /// The versions it accepts (`None`: any version, a URL, or a line PEP 508 cannot parse).
    pub versions: Option<VersionSpecifiers>,
}

impl Requirement {
    /// Whether `version` (a wheel's, as in its file name) is one this requirement accepts. An
    /// unparseable version is accepted: nothing is claimed that cannot be checked.
    pub fn accepts(&self, version: &str) -> bool {
        match (&self.versions, Version::from_str(version)) {
            (Some(spec), Ok(v)) => spec.contains(&v),
            _ => true,
        }
    }
}

/// One `Requires-Dist` value. PEP 508 first; a line it cannot parse (old metadata) still gives
/// its name and marker, with no version constraint.
pub fn parse_requirement(line: &str) -> Option<Requirement> {
    let (req, marker) = match line.split_once(';') {
        Some((r, m)) => (r.trim(), Some(m.trim().to_string())),
        None => (line.trim(), None),
    };
    let parsed = pep508_can_take(line)
        .then(|| pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(line).ok())
        .flatten();
    if let Some(parsed) = parsed {
        return Some(Requirement {
            name: normalize_name(parsed.name.as_ref()),
            text: req.to_string(),
            marker,
            versions: match parsed.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(v)) if !v.is_empty() => Some(v),
                _ => None,
            },
        });
    }
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
        versions: None,
    })
}

/// `pep508_rs` (0.9.2) parses a marker by recursion, a level per parenthesis, with no bound of its
/// own: a line with more opening parentheses than this (an upper bound on that depth, quoted or
/// not) is never handed to it, so a hostile METADATA cannot overflow the stack. Real markers have
/// a few.
const MAX_PARENS_FOR_PEP508: usize = 64;

/// Whether `pep508_rs` may be given `text`: not too deep (above), ASCII only (its marker parser
/// slices the word after an expression by a count of characters taken as bytes, and panics on a
/// multi-byte character there), and no name or extra ending in `.`, `-` or `_` (its parser accepts
/// one, then panics in an `expect` that validates it). Text it is not given is read as text it
/// cannot parse.
fn pep508_can_take(text: &str) -> bool {
    text.is_ascii()
        && text.bytes().filter(|&b| b == b'(').count() <= MAX_PARENS_FOR_PEP508
        && names_end_alphanumeric(text)
}

/// Whether the leading name of a requirement, and each extra in its `[…]`, ends with a letter or
/// digit (as pep508_rs delimits them: a name by any other character, extras by `,`, `]` or
/// white space). A marker alone (no name) passes: its first word is a variable or a quote.
fn names_end_alphanumeric(text: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let ends_ok = |w: &str| !w.ends_with(['.', '-', '_']);
    let text = text.trim_start();
    let name_end = text.find(|c| !is_name_char(c)).unwrap_or(text.len());
    if !ends_ok(&text[..name_end]) {
        return false;
    }
    match text[name_end..].trim_start().strip_prefix('[') {
        Some(extras) => extras
            .split(']')
            .next()
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .all(ends_ok),
        None => true,
    }
}

/// The PEP 508 marker environment of a Lambda CPython target.
fn environment(t: &Target) -> Option<MarkerEnvironment> {
    let (version, full) = (format!("3.{}", t.minor), format!("3.{}.0", t.minor));
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full,
        os_name: "posix",
        platform_machine: &t.arch,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: &full,
        python_version: &version,
        sys_platform: "linux",
    })
    .ok()
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

/// `l op r`. With a version variable on either side, PEP 508 says: a PEP 440 comparison when both
/// sides are versions (`l` against the specifier `op r`), else a string comparison.
fn compare(l: &str, op: &str, r: &str, versions: bool) -> bool {
    if versions && !matches!(op, "in" | "not in" | "===") {
        if let (Ok(v), Ok(spec)) = (
            Version::from_str(l),
            VersionSpecifier::from_str(&format!("{op}{r}")),
        ) {
            return spec.contains(&v);
        }
    }
    match op {
        "==" | "===" => l == r,
        "!=" => l != r,
        "<" => l < r,
        "<=" => l <= r,
        ">" => l > r,
        ">=" => l >= r,
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
    /// Parentheses open around the current atom.
    depth: usize,
}

/// Deeper parentheses than any real marker has make the marker unparseable (the parser recurses
/// once per level; a hostile METADATA or lock must not overflow the stack).
const MAX_NESTING: usize = 32;

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
            if self.depth >= MAX_NESTING {
                return None;
            }
            self.next();
            self.depth += 1;
            let v = self.or()?;
            self.depth -= 1;
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
                    let l = crate::normalize_name(&l);
                    let has = set.iter().any(|s| crate::normalize_name(s) == l);
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

/// Evaluates a `Requires-Dist` marker for the target (PEP 508, with no extras); one `pep508_rs`
/// cannot parse (or is not given: `MAX_PARENS_FOR_PEP508`) goes to `evaluate`, and one neither can
/// parse counts as true (be safe: require it).
pub fn marker_applies(marker: &str, target: &Target) -> bool {
    let tree = pep508_can_take(marker)
        .then(|| MarkerTree::from_str(marker).ok())
        .flatten();
    match (tree, environment(target)) {
        (Some(tree), Some(env)) => tree.evaluate(&env, &[]),
        _ => evaluate(marker, target, &[]).unwrap_or(true),
    }
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
        depth: 0,
    };
    match p.or() {
        Some(v) if p.pos == p.toks.len() => Some(v),
        _ => None,
    }
}

/// Whether `version` satisfies a PEP 440 specifier set such as `>=3.9, !=3.9.1, <4` (as used by
/// `requires-python`). `None` when either cannot be parsed.
pub fn specifier_contains(spec: &str, version: &str) -> Option<bool> {
    let spec = VersionSpecifiers::from_str(spec).ok()?;
    let version = Version::from_str(version).ok()?;
    Some(spec.contains(&version))
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
    fn deeply_nested_parentheses_are_unparseable_not_a_stack_overflow() {
        let t = t();
        let nest = |n: usize| format!("{}python_version > '3'{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(evaluate(&nest(MAX_NESTING), &t, &[]), Some(true));
        assert_eq!(evaluate(&nest(MAX_NESTING + 1), &t, &[]), None);
        // pep508_rs recurses too (it overflowed the stack on the crasher below): it is given at
        // most MAX_PARENS_FOR_PEP508 parentheses, and parses that many.
        let deep = nest(MAX_PARENS_FOR_PEP508);
        assert!(MarkerTree::from_str(&deep).is_ok());
        assert!(marker_applies(&deep, &t));
        let r = parse_requirement(&format!("six >=1.16 ; {deep}")).unwrap();
        assert!(r.versions.is_some());
        assert!(!r.accepts("1.15"));
        // The crash input kept in the fuzz corpus: 30,000 levels in a Requires-Dist marker. The
        // line is read without pep508_rs: its name and marker, no version constraint.
        let crasher = include_str!("../../../fuzz/corpus/metadata/crash-deep-parens");
        let line = crate::wheel::header(crasher, "Requires-Dist")[0];
        let r = parse_requirement(line).unwrap();
        assert_eq!((r.name.as_str(), r.versions.is_none()), ("six", true));
        let marker = r.marker.unwrap();
        assert_eq!(evaluate(&marker, &t, &[]), None);
        // Unparseable counts as applying: the requirement is kept, never silently dropped.
        assert!(marker_applies(&marker, &t));
    }

    #[test]
    fn text_that_pep508_rs_panics_on_is_not_given_to_it() {
        let t = t();
        // The fuzz input (metadata, whole input as a marker): "… and (platform_machine ==
        // \"x86_64\"\u{FFFD} zzz… or …)"; pep508_rs 0.9.2 panicked: "end byte index 58 is not
        // a char boundary" (cursor.rs:40).
        let crasher = include_bytes!("../../../fuzz/corpus/metadata/crash-non-ascii-after-marker");
        let text = String::from_utf8_lossy(crasher);
        assert!(marker_applies(&text, &t));
        assert!(!pep508_can_take(&text));
        let short = "python_version >= \"3.8\" \u{e9}t\u{e9}";
        assert!(marker_applies(short, &t));
        let r = parse_requirement(&format!("six >=1.16 ; {short}")).unwrap();
        assert_eq!((r.name.as_str(), r.versions.is_none()), ("six", true));
        // A name or an extra ending in punctuation: pep508_rs 0.9.2 panicked ("`PackageName`
        // validation should match PEP 508 parsing: InvalidNameError(\"zope.\")", lib.rs:477) on
        // "zope.))testing" in this fuzz input; extras the same way (lib.rs:658).
        let crasher = include_bytes!("../../../fuzz/corpus/metadata/crash-name-ends-in-dot");
        let text = String::from_utf8_lossy(crasher);
        for line in crate::wheel::header(&text, "Requires-Dist") {
            let _ = parse_requirement(line);
        }
        for line in [
            "zope.))testing",
            "zope. >=1",
            "a_ ; python_version > '3'",
            "a[b-] >=1",
            "a [x, y.]",
        ] {
            let r = parse_requirement(line).unwrap();
            assert!(r.versions.is_none(), "{line}");
        }
        let r = parse_requirement("a.b[c-d, e_f] >=1 ; python_version > '3'").unwrap();
        assert_eq!((r.name.as_str(), r.versions.is_some()), ("a-b", true));
        // ASCII text still goes to pep508_rs, versions and all.
        let r = parse_requirement("six >=1.16 ; python_version >= \"3.8\"").unwrap();
        assert!(r.versions.is_some());
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
        assert!(r.accepts("2.0") && !r.accepts("1.34.1"));
    }

    /// PEP 440 ordering, which a list of release numbers got wrong: pre-releases sort before
    /// their release, `.dev0` before everything, and `!=` excludes exactly.
    #[test]
    fn versions_are_pep_440() {
        let r = parse_requirement("protobuf!=3.20.0,!=3.20.1,<6.0.0.dev0,>=3.20.2").unwrap();
        assert!(!r.accepts("3.20.1"));
        assert!(r.accepts("3.20.3") && r.accepts("5.29.3"));
        assert!(!r.accepts("6.0.0rc1") && !r.accepts("6.0.0"));
        let r = parse_requirement("requests>=2.32").unwrap();
        assert!(!r.accepts("2.0.0") && !r.accepts("2.32.0rc1") && r.accepts("2.32.3"));
        // A URL or no specifier accepts any version; so does an unparseable wheel version.
        assert!(parse_requirement("six").unwrap().accepts("0.1"));
        let url = parse_requirement("pkg @ https://example.com/pkg-1.0-py3-none-any.whl").unwrap();
        assert_eq!((url.name.as_str(), url.versions.is_none()), ("pkg", true));
        assert!(parse_requirement("six>=1.5")
            .unwrap()
            .accepts("not a version"));
        let t = t();
        // 3.12 == 3.12.0 (release numbers padded with zeros): [3, 12] < [3, 12, 0] was wrong.
        assert!(!marker_applies("python_version < '3.12.0'", &t));
        assert_eq!(evaluate("python_version < '3.12.0'", &t, &[]), Some(false));
        // A lock marker (parsed here, compared by pep440_rs): 3.12.0 is after 3.12.0rc1.
        // (pep508_rs compares Python versions by their release numbers only.)
        assert_eq!(
            evaluate("python_full_version > '3.12.0rc1'", &t, &[]),
            Some(true)
        );
        assert_eq!(specifier_contains(">=3.12.0rc1", "3.12.0"), Some(true));
        assert_eq!(specifier_contains("<3.12.0.dev0", "3.12.0"), Some(false));
    }
}
