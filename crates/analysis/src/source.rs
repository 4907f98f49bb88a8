//! A Python source file as CPython reads it: bytes decoded by PEP 263 (UTF-8 by default, a BOM, or
//! a `coding:` cookie in the first two lines), then parsed with a real Python parser (Astral's, the
//! one ruff uses) for the target CPython version, so syntax newer than the target (`match` on 3.9)
//! is a syntax error as it is for that interpreter. No I/O.

use ruff_python_ast::{Mod, ModModule, PythonVersion};
use ruff_python_parser::{Mode, ParseOptions};
use ruff_text_size::{Ranged, TextSize};

/// A file CPython would refuse to compile (`SyntaxError`): Lambda's `Runtime.UserCodeSyntaxError`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyntaxProblem {
    pub line: u32,
    pub message: String,
}

/// Why a file cannot be read at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// CPython would raise SyntaxError too (not UTF-8 and no cookie, an undecodable byte).
    Syntax(SyntaxProblem),
    /// An encoding lamina does not decode (CPython might): cannot verify.
    Encoding(String),
    /// Nested deeper than lamina reads (its parser, its walk and the tree's drop recurse once per
    /// level): cannot verify. The estimated depth.
    TooDeep(usize),
}

/// How deep a module may nest, as `nesting` estimates it. Real code stays far below (CPython
/// itself refuses 200 nested brackets and 100 indentation levels).
pub const MAX_NESTING: usize = 400;

/// An upper bound on how deep the syntax tree of `text` nests, from its tokens alone (no tree
/// is built, nothing recurses): within each bracket, every operator, keyword or closed bracket
/// since the last comma may open a level (`a + b + c`, `not not x`, `a.b.c`, `f()()`,
/// `lambda: lambda: x`); each open bracket, f-string and indentation opens one or two more.
pub fn nesting(text: &str) -> usize {
    use ruff_python_ast::token::TokenKind as T;
    let mut lexer = ruff_python_parser::lexer::lex(text, Mode::Module);
    // Operators since the last comma, per open bracket (the statement is the first).
    let mut levels: Vec<usize> = vec![0];
    let mut ops = 0usize;
    let mut indent = 0usize;
    let mut max = 0usize;
    loop {
        match lexer.next_token() {
            T::EndOfFile => break,
            T::Lpar | T::Lsqb | T::Lbrace | T::FStringStart | T::TStringStart => levels.push(0),
            T::Rpar | T::Rsqb | T::Rbrace | T::FStringEnd | T::TStringEnd => {
                if levels.len() > 1 {
                    ops -= levels.pop().unwrap_or(0);
                }
                // What the bracket closed can be called or subscripted again: `f()()()`.
                *levels.last_mut().expect("never empty") += 1;
                ops += 1;
            }
            T::Comma => ops -= std::mem::take(levels.last_mut().expect("never empty")),
            T::Newline | T::Semi => {
                levels.truncate(1);
                levels[0] = 0;
                ops = 0;
            }
            T::Indent => indent += 1,
            T::Dedent => indent = indent.saturating_sub(1),
            T::Name
            | T::Int
            | T::Float
            | T::Complex
            | T::String
            | T::FStringMiddle
            | T::TStringMiddle
            | T::Comment
            | T::NonLogicalNewline
            | T::True
            | T::False
            | T::None
            | T::Ellipsis
            | T::Pass => {}
            _ => {
                *levels.last_mut().expect("never empty") += 1;
                ops += 1;
            }
        }
        max = max.max(ops + 2 * levels.len() + 2 * indent);
    }
    max
}

/// The `coding:` cookie of the first two lines (PEP 263), normalised like CPython does.
fn cookie(bytes: &[u8]) -> Option<String> {
    for (i, line) in bytes.split(|b| *b == b'\n').take(2).enumerate() {
        let line = String::from_utf8_lossy(line);
        let t = line.trim_start_matches([' ', '\t', '\x0c']);
        if !t.starts_with('#') {
            // A second line is only looked at when the first is a comment or blank.
            if i == 0 && !t.trim().is_empty() {
                return None;
            }
            continue;
        }
        if let Some(p) = t.find("coding") {
            let rest = &t[p + 6..];
            if let Some(rest) = rest.strip_prefix([':', '=']) {
                let name: String = rest
                    .trim_start_matches([' ', '\t'])
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if !name.is_empty() {
                    return Some(name.to_ascii_lowercase().replace('_', "-"));
                }
            }
        }
    }
    None
}

/// Decodes a source file as the tokenizer would.
pub fn decode(bytes: &[u8]) -> Result<String, Unreadable> {
    let (bytes, bom) = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let enc = cookie(bytes);
    let utf8 = |b: &[u8]| {
        String::from_utf8(b.to_vec()).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() as u32 + 1;
            Unreadable::Syntax(SyntaxProblem {
                line,
                message: format!(
                    "Non-UTF-8 code starting with '\\x{:02x}' but no encoding declared",
                    bytes[at]
                ),
            })
        })
    };
    match enc.as_deref() {
        None => utf8(bytes),
        Some("utf-8" | "utf8" | "utf-8-sig") => utf8(bytes),
        Some(other) if bom => Err(Unreadable::Syntax(SyntaxProblem {
            line: 1,
            message: format!("encoding problem: {other} with BOM"),
        })),
        Some("latin-1" | "iso-8859-1" | "iso8859-1" | "latin1" | "l1") => {
            Ok(bytes.iter().map(|b| char::from(*b)).collect())
        }
        Some(other) if bytes.is_ascii() => {
            let _ = other;
            Ok(String::from_utf8_lossy(bytes).into_owned())
        }
        Some(other) => Err(Unreadable::Encoding(other.to_string())),
    }
}

/// Line numbers (1-based) for byte offsets.
#[derive(Debug)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }
    pub fn line(&self, offset: TextSize) -> u32 {
        let o = offset.to_usize();
        (self.starts.partition_point(|s| *s <= o)) as u32
    }
    pub fn of(&self, node: &impl Ranged) -> u32 {
        self.line(node.start())
    }
}

/// Parses a module for CPython 3.`minor` (the newest grammar when unknown); a module nested
/// deeper than `MAX_NESTING` is not parsed (`TooDeep`).
pub fn parse(text: &str, minor: Option<u32>) -> Result<(ModModule, Lines), Unreadable> {
    let depth = nesting(text);
    if depth > MAX_NESTING {
        return Err(Unreadable::TooDeep(depth));
    }
    parse_tree(text, minor).map_err(Unreadable::Syntax)
}

fn parse_tree(text: &str, minor: Option<u32>) -> Result<(ModModule, Lines), SyntaxProblem> {
    let mut opts = ParseOptions::from(Mode::Module);
    if let Some(m) = minor.and_then(|m| u8::try_from(m).ok()) {
        opts = opts.with_target_version(PythonVersion { major: 3, minor: m });
    }
    let parsed = ruff_python_parser::parse_unchecked(text, opts);
    let lines = Lines::new(text);
    if let Some(e) = parsed.errors().first() {
        return Err(SyntaxProblem {
            line: lines.line(e.location.start()),
            message: e.error.to_string(),
        });
    }
    if minor.is_some() {
        if let Some(e) = parsed.unsupported_syntax_errors().first() {
            return Err(SyntaxProblem {
                line: lines.line(e.range.start()),
                message: e.to_string(),
            });
        }
    }
    match parsed.into_syntax() {
        Mod::Module(module) => Ok((module, lines)),
        Mod::Expression(_) => unreachable!("Mode::Module parses a module"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_the_tokenizer() {
        assert_eq!(decode(b"x = 1\n").unwrap(), "x = 1\n");
        assert_eq!(decode(b"\xef\xbb\xbfx = 1\n").unwrap(), "x = 1\n");
        assert_eq!(
            decode(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n").unwrap(),
            "# -*- coding: latin-1 -*-\ns = '\u{e9}'\n"
        );
        assert_eq!(
            decode(b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nx = 1\n").unwrap(),
            "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nx = 1\n",
            "ASCII bytes decode the same in any ASCII-compatible codec"
        );
        match decode(b"x = 1\ns = '\xe9'\n") {
            Err(Unreadable::Syntax(p)) => assert_eq!(p.line, 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decode(b"# coding: shift_jis\ns = '\x82\xa0'\n"),
            Err(Unreadable::Encoding("shift-jis".into()))
        );
    }

    fn syntax<T>(r: Result<T, Unreadable>) -> SyntaxProblem {
        match r {
            Err(Unreadable::Syntax(p)) => p,
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("parsed"),
        }
    }

    /// Every way to nest, `n` levels deep.
    fn shapes(n: usize) -> Vec<(&'static str, String)> {
        let r = |s: &str| s.repeat(n);
        vec![
            ("parentheses", format!("x = {}1{}\n", r("("), r(")"))),
            ("lists", format!("x = {}1{}\n", r("["), r("]"))),
            ("not", format!("x = {}y\n", r("not "))),
            ("minus", format!("x = {}y\n", r("-"))),
            ("plus", format!("x = y{}\n", r(" + y"))),
            ("power", format!("x = y{}\n", r(" ** y"))),
            ("attributes", format!("x = y{}\n", r(".a"))),
            ("calls", format!("x = f{}\n", r("()"))),
            ("subscripts", format!("x = f{}\n", r("[0]"))),
            ("lambdas", format!("x = {}1\n", r("lambda: "))),
            ("ternaries", format!("x = {}1\n", r("1 if y else "))),
            ("f-strings", format!("x = {}1{}\n", r("f'{"), r("}'"))),
            ("awaits", format!("async def f():\n    {}y\n", r("await "))),
            (
                "blocks",
                (0..n.min(99))
                    .map(|i| format!("{}if x:\n", " ".repeat(i)))
                    .collect::<String>()
                    + &" ".repeat(n.min(99))
                    + "import deep\n",
            ),
        ]
    }

    #[test]
    fn nesting_within_the_limit_is_read_and_beyond_it_is_not_verified() {
        // Within the limit the tree is built, walked and dropped on a test thread's stack
        // (2 MiB), whatever the shape.
        for (what, text) in shapes(MAX_NESTING / 5) {
            let d = nesting(&text);
            assert!(d <= MAX_NESTING, "{what}: {d}");
            if let Ok((m, lines)) = parse(&text, Some(12)) {
                crate::facts::facts(&m, &text, &lines, Some("m"), Some(12));
            }
        }
        // Beyond it: never parsed, never a syntax error either (CPython might compile it).
        for (what, text) in shapes(20_000) {
            if what == "blocks" {
                continue;
            }
            match parse(&text, Some(12)) {
                Err(Unreadable::TooDeep(d)) => assert!(d > MAX_NESTING, "{what}"),
                other => panic!("{what}: {:?}", other.map(|_| ())),
            }
        }
        // The crash input kept in the fuzz corpus: 80,000 unary minus signs in one
        // expression.
        let crasher = include_bytes!("../../../fuzz/corpus/python_source/crash-deep-nesting");
        let text = decode(crasher).unwrap();
        assert!(matches!(parse(&text, None), Err(Unreadable::TooDeep(_))));
        // Flat data, however long, is not deep.
        let table = format!(
            "T = [{}]\nD = {{{}}}\n",
            "(1, 'a'), ".repeat(50_000),
            "'k': [1], ".repeat(50_000)
        );
        assert!(nesting(&table) < 10, "{}", nesting(&table));
    }

    #[test]
    fn parses_per_target_version() {
        let m = "match x:\n    case 1:\n        pass\n";
        assert!(parse(m, Some(10)).is_ok());
        let e = syntax(parse(m, Some(9)));
        assert_eq!(e.line, 1);
        assert!(e.message.contains("3.9"), "{e:?}");
        let f = "x = f\"{'a' + \"b\"}\"\ntype Point = tuple[float, float]\ndef f[T](x: T) -> T: return x\n";
        assert!(parse(f, Some(12)).is_ok());
        assert!(parse(f, Some(11)).is_err());
        let e = syntax(parse("def f(:\n    pass\n", Some(12)));
        assert_eq!(e.line, 1);
        let (m, lines) = parse("import a\n\n\nimport b\n", Some(12)).unwrap();
        assert_eq!(lines.of(&m.body[1]), 4);
    }
}
