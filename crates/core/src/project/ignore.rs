//! `.dockerignore` with Docker's own rules (moby/patternmatcher and its ignorefile reader): each line
//! is trimmed, `#` lines are comments, a leading `!` makes an exception, patterns are path-cleaned and
//! lose a leading `/`; `*` and `?` never cross `/`, `**` crosses any number of directories; a pattern
//! that matches a parent directory matches everything below it; the last matching pattern wins.
//! Gitignore semantics (unanchored names, trailing-slash directory patterns) deliberately do not apply.

use regex::Regex;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error("{file}:{line}: bad pattern '{pattern}': {reason}")]
    Pattern {
        file: String,
        line: usize,
        pattern: String,
        reason: String,
    },
    #[error("{}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl lamina_support::diagnostic::Hint for IgnoreError {
    fn hint(&self) -> Option<String> {
        match self {
            IgnoreError::Pattern { .. } => Some(
                "fix or remove the line: patterns follow Docker's rules (*, ?, **, [a-z], ! to re-include); escape a literal [ as \\[".into(),
            ),
            IgnoreError::Read { source, .. } if source.kind() == std::io::ErrorKind::IsADirectory => {
                Some(".dockerignore must be a file of patterns, one a line: remove or rename the directory".into())
            }
            IgnoreError::Read { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => {
                Some(".dockerignore must be UTF-8 text: re-save it as UTF-8".into())
            }
            IgnoreError::Read { source, .. } => source.hint(),
        }
    }
}

#[derive(Debug)]
enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regex(Regex),
}

#[derive(Debug)]
struct Pattern {
    exclusion: bool,
    matcher: Matcher,
}

/// The compiled patterns of one `.dockerignore`.
#[derive(Debug, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

/// Lexical path cleaning as Go's `filepath.Clean` does it.
pub fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

fn compile(pattern: &str) -> Result<Matcher, String> {
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let first = i == 0;
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if matches!(kind, Kind::Exact) {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => {
                if i < chars.len() {
                    re.push('\\');
                    re.push(chars[i]);
                    i += 1;
                    kind = Kind::Regex;
                } else {
                    re.push_str("\\\\");
                }
            }
            '[' | ']' => {
                re.push(ch);
                kind = Kind::Regex;
            }
            // Like Go: everything else is copied as is (RE2 and Rust regex share this syntax).
            c => re.push(c),
        }
    }
    Ok(match kind {
        Kind::Exact => Matcher::Exact(pattern.to_string()),
        Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_string()),
        Kind::Suffix => Matcher::Suffix(pattern[2..].to_string()),
        Kind::Regex => {
            re.push('$');
            // regex's own message spans several lines, with a caret; its last line says why.
            Matcher::Regex(Regex::new(&re).map_err(|e| {
                let text = e.to_string();
                let why = text.lines().find_map(|l| l.trim().strip_prefix("error: "));
                why.unwrap_or("not a valid pattern").to_string()
            })?)
        }
    })
}

impl Matcher {
    fn is_match(&self, path: &str) -> bool {
        match self {
            Matcher::Exact(p) => path == p,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Suffix(s) => {
                path.ends_with(s.as_str()) || (s.starts_with('/') && path == &s[1..])
            }
            Matcher::Regex(r) => r.is_match(path),
        }
    }
}

impl Ignore {
    /// Reads `<dir>/.dockerignore`; no file means nothing is ignored.
    pub fn load(dir: &Path) -> Result<Ignore, IgnoreError> {
        let path = dir.join(".dockerignore");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ignore::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ignore::default()),
            Err(source) => Err(IgnoreError::Read { path, source }),
        }
    }

    pub fn parse(text: &str, file: &str) -> Result<Ignore, IgnoreError> {
        let mut patterns = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
            }
            let err = |reason: &str| IgnoreError::Pattern {
                file: file.into(),
                line: n + 1,
                pattern: line.into(),
                reason: reason.into(),
            };
            if p.is_empty() {
                if exclusion {
                    return Err(err("'!' alone is not a pattern"));
                }
                continue;
            }
            let mut cleaned = clean(p);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let matcher = compile(&cleaned).map_err(|e| err(&e))?;
            patterns.push(Pattern { exclusion, matcher });
        }
        Ok(Ignore { patterns })
    }

    /// True when there are `!` exceptions (then an ignored directory must still be walked).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Is `path` (relative to the project root, `/`-separated) ignored? Docker's
    /// `MatchesOrParentMatches`: a pattern also matches when it matches any parent directory.
    pub fn is_ignored(&self, path: &str) -> bool {
        let path = clean(path);
        if path == "." {
            return false;
        }
        let parents: Vec<&str> = match path.rsplit_once('/') {
            Some((parent, _)) => parent.split('/').collect(),
            None => Vec::new(),
        };
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matcher.is_match(&path);
            if !hit {
                for i in 0..parents.len() {
                    if pattern.matcher.is_match(&parents[..=i].join("/")) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> Ignore {
        Ignore::parse(text, ".dockerignore").unwrap()
    }

    #[test]
    fn docker_semantics() {
        let i = ig("# comment\n*.md\n!README.md\ntests\n**/*.log\nbuild/**\n/venv\ndocs/?.txt\n");
        assert!(i.is_ignored("CHANGES.md"));
        assert!(!i.is_ignored("README.md"));
        // `*` does not cross directories (gitignore would ignore this).
        assert!(!i.is_ignored("src/notes.md"));
        assert!(
            i.is_ignored("tests/test_a.py"),
            "a matching parent ignores children"
        );
        assert!(
            !i.is_ignored("src/tests/x.py"),
            "patterns are anchored at the root"
        );
        assert!(i.is_ignored("a/b/c.log"));
        assert!(i.is_ignored("c.log"), "**/ matches zero directories");
        assert!(i.is_ignored("build/x/y"));
        assert!(i.is_ignored("venv/lib/x.py"));
        assert!(i.is_ignored("docs/a.txt"));
        assert!(!i.is_ignored("docs/ab.txt"));
    }

    #[test]
    fn last_match_wins_and_exceptions_reinclude() {
        let i = ig("src\n!src/keep.py\nsrc/keep.py\n");
        assert!(i.is_ignored("src/keep.py"));
        let i = ig("src/**\n!src/functions\n");
        assert!(!i.is_ignored("src/functions"));
        // Parent matching applies to exceptions too: the children come back with the directory.
        assert!(!i.is_ignored("src/functions/a.py"));
        assert!(i.is_ignored("src/other.py"));
        let i = ig("*\n!src\n");
        assert!(
            !i.is_ignored("src/a.py"),
            "an exception on a parent covers children"
        );
        assert!(i.is_ignored("README"));
    }

    #[test]
    fn cleaning_and_escapes() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/x/.."), "/");
        let i = ig("./secrets/\n\\*.txt\nfile[0-9].py\n");
        assert!(i.is_ignored("secrets/key"));
        assert!(i.is_ignored("*.txt"));
        assert!(!i.is_ignored("a.txt"));
        assert!(i.is_ignored("file3.py"));
        assert!(Ignore::parse("!\n", "f").is_err());
    }
}
