//! Dockerfile syntax: instructions with the line they start on, as BuildKit's parser splits them
//! (the `# escape=` directive, line continuations, comment lines inside continuations, heredocs),
//! shell-like word splitting (quotes, the exec-form JSON array) and `$VAR` / `${VAR}` /
//! `${VAR:-default}` / `${VAR:+alt}` substitution. Nothing here knows what an instruction means.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the instruction's first line.
    pub line: usize,
    /// Upper-cased keyword (`FROM`, `COPY`, …).
    pub keyword: String,
    /// Leading `--name=value` flags (FROM, COPY, ADD, RUN).
    pub flags: Vec<(String, String)>,
    /// The rest, after the keyword and flags, continuations joined.
    pub args: String,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The instruction as written (keyword, flags, arguments), on one line, for messages.
    pub fn display(&self) -> String {
        let mut s = self.keyword.clone();
        for (n, v) in &self.flags {
            s.push_str(&format!(" --{n}={v}"));
        }
        if !self.args.is_empty() {
            s.push(' ');
            s.push_str(&self.args);
        }
        if s.chars().count() > 100 {
            let cut: String = s.chars().take(97).collect();
            return format!("{cut}...");
        }
        s
    }
}

/// Splits a Dockerfile into instructions.
pub fn parse(text: &str) -> Vec<Instruction> {
    let lines: Vec<&str> = text.lines().collect();
    let mut escape = '\\';
    // Parser directives: only comment lines at the very top.
    for l in &lines {
        let t = l.trim();
        let Some(d) = t.strip_prefix('#') else { break };
        let d = d.trim().to_ascii_lowercase();
        if let Some(v) = d.strip_prefix("escape=") {
            if let Some(c) = v.trim().chars().next() {
                escape = c;
            }
        } else if !d.starts_with("syntax=") && !d.starts_with("check=") {
            break;
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let first = lines[i].trim_start();
        i += 1;
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        let mut joined = String::new();
        let mut cur = first.trim_end().to_string();
        loop {
            if let Some(stripped) = cur.strip_suffix(escape) {
                joined.push_str(stripped);
                // The next non-comment line continues this one.
                while i < lines.len() && lines[i].trim_start().starts_with('#') {
                    i += 1;
                }
                if i >= lines.len() {
                    break;
                }
                cur = lines[i].trim_end().to_string();
                i += 1;
            } else {
                joined.push_str(&cur);
                break;
            }
        }
        // Heredocs (`RUN <<EOF` … `EOF`): their bodies belong to the instruction.
        for marker in heredoc_markers(&joined) {
            let (strip_tabs, word) = marker;
            while i < lines.len() {
                let l = lines[i];
                i += 1;
                let cmp = if strip_tabs {
                    l.trim_start_matches('\t')
                } else {
                    l
                };
                if cmp == word {
                    break;
                }
                joined.push('\n');
                joined.push_str(l);
            }
        }
        let (keyword, rest) = match joined.find(char::is_whitespace) {
            Some(p) => (&joined[..p], joined[p..].trim_start()),
            None => (joined.as_str(), ""),
        };
        let mut rest = rest.to_string();
        let mut flags = Vec::new();
        while let Some(f) = rest.strip_prefix("--") {
            let end = f.find(char::is_whitespace).unwrap_or(f.len());
            let (name, value) = f[..end].split_once('=').unwrap_or((&f[..end], ""));
            flags.push((name.to_string(), value.to_string()));
            rest = f[end..].trim_start().to_string();
        }
        out.push(Instruction {
            line: start + 1,
            keyword: keyword.to_ascii_uppercase(),
            flags,
            args: rest.trim_end().to_string(),
        });
    }
    out
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` markers in an instruction's first line.
fn heredoc_markers(s: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(p) = rest.find("<<") {
        let mut t = &rest[p + 2..];
        let strip = t.starts_with('-');
        if strip {
            t = &t[1..];
        }
        let t = t.trim_start_matches(['"', '\'']);
        let word: String = t
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() && word.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            out.push((strip, word));
        }
        rest = &rest[p + 2..];
    }
    out
}

/// The exec form (`["a", "b"]`) as its strings, or `None` for the shell form.
pub fn exec_form(args: &str) -> Option<Vec<String>> {
    if !args.trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(args.trim()).ok()
}

/// Shell-like words: whitespace-separated, with '…' and "…" quoting and backslash escapes.
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut chars = s.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    any = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Substitutes `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` from `vars`. A variable that
/// is not defined and has no default is an error naming it.
pub fn substitute(s: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' && s[i + 1..].starts_with('$') {
            out.push('$');
            chars.next();
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        let rest = &s[i + 1..];
        if let Some(body) = rest.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in '{s}'"))?;
            let expr = &body[..end];
            let (name, op) = match expr.find(':') {
                Some(p) => (&expr[..p], Some(&expr[p + 1..])),
                None => (expr, None),
            };
            let value = vars.get(name).filter(|v| !v.is_empty());
            let v = match (op, value) {
                (Some(o), None) if o.starts_with('-') => o[1..].to_string(),
                (Some(o), Some(_)) if o.starts_with('+') => o[1..].to_string(),
                (Some(o), None) if o.starts_with('+') => String::new(),
                (_, Some(v)) => v.clone(),
                (_, None) if vars.contains_key(name) => String::new(),
                _ => return Err(name.to_string()),
            };
            out.push_str(&v);
            for _ in 0..end + 2 {
                chars.next();
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                out.push('$');
                continue;
            }
            out.push_str(vars.get(&name).ok_or_else(|| name.clone())?);
            for _ in 0..name.len() {
                chars.next();
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_continuations_and_heredocs() {
        let d = parse("# syntax=docker/dockerfile:1\nARG V=3.8\nFROM --platform=linux/arm64 public.ecr.aws/lambda/python:${V}\n\nRUN pip install \\\n  # a comment\n  -r requirements.txt\nRUN <<EOF\necho hi\nEOF\nCMD [ \"src.app.handler\" ]\n");
        let kw: Vec<(&str, usize)> = d.iter().map(|i| (i.keyword.as_str(), i.line)).collect();
        assert_eq!(
            kw,
            [("ARG", 2), ("FROM", 3), ("RUN", 5), ("RUN", 8), ("CMD", 11)]
        );
        assert_eq!(d[1].flag("platform"), Some("linux/arm64"));
        assert_eq!(d[2].args, "pip install   -r requirements.txt");
        assert_eq!(exec_form(&d[4].args).unwrap(), ["src.app.handler"]);
        let d = parse("# escape=`\nFROM x\nRUN a `\n  b\n");
        assert_eq!(d[1].args, "a   b");
    }

    #[test]
    fn words_and_substitution() {
        assert_eq!(
            words("a 'b c' \"d\\\"e\" f\\ g"),
            ["a", "b c", "d\"e", "f g"]
        );
        let vars: BTreeMap<String, String> = [("A", "1"), ("E", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            substitute("x$A-${A}-${B:-d}-${A:+y}-${E}", &vars).unwrap(),
            "x1-1-d-y-"
        );
        assert_eq!(substitute("${B}", &vars).unwrap_err(), "B");
        assert_eq!(substitute("\\$A", &vars).unwrap(), "$A");
    }
}
