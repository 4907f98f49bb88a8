//! The text of Serverless variables: where each `${…}` starts and ends (they nest), the
//! comma-separated alternatives inside one, and fallbacks written as values (`'dev'`, `10`).

use super::Value;

pub enum Part {
    Text(String),
    Var(String),
}

/// Splits text into literal parts and top-level `${…}` variables (nesting allowed).
pub fn split_vars(text: &str) -> Result<Vec<Part>, String> {
    let b = text.as_bytes();
    let mut parts = Vec::new();
    let (mut i, mut lit) = (0, 0);
    while i + 1 < b.len() {
        if b[i] == b'$' && b[i + 1] == b'{' {
            let mut depth = 0;
            let mut j = i;
            let mut end = None;
            while j < b.len() {
                if b[j] == b'$' && j + 1 < b.len() && b[j + 1] == b'{' {
                    depth += 1;
                    j += 2;
                    continue;
                }
                if b[j] == b'}' {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(j);
                        break;
                    }
                }
                j += 1;
            }
            let end = end.ok_or("an unclosed ${")?;
            if lit < i {
                parts.push(Part::Text(text[lit..i].to_string()));
            }
            parts.push(Part::Var(text[i + 2..end].to_string()));
            i = end + 1;
            lit = i;
        } else {
            i += 1;
        }
    }
    if lit < text.len() {
        parts.push(Part::Text(text[lit..].to_string()));
    }
    Ok(parts)
}

/// Splits at `sep` outside quotes, parentheses and nested `${…}`.
pub fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quote) = (0i32, None::<char>);
    let mut prev = '\0';
    for c in s.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, '{') if prev == '$' => depth += 1,
            (None, ')' | '}') => depth -= 1,
            (None, _) if c == sep && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                prev = c;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        prev = c;
    }
    out.push(cur);
    out
}

pub fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// A fallback written as a value: `'dev'`, `"dev"`, `10`, `true`, `null`.
pub fn literal(s: &str) -> Option<Value> {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        return Some(Value::Scalar {
            text: s[1..s.len() - 1].to_string(),
            plain: false,
        });
    }
    if s == "null" {
        return Some(Value::Null);
    }
    if s == "true" || s == "false" || (!s.is_empty() && s.parse::<f64>().is_ok()) {
        return Some(Value::Scalar {
            text: s.to_string(),
            plain: true,
        });
    }
    None
}
