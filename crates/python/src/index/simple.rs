//! The simple repository API's project page, parsed: the JSON form (PEP 691,
//! `application/vnd.pypi.simple.v1+json`, `meta.api-version` 1.x) and the HTML form (PEP 503
//! anchors with `#sha256=` fragments, `data-requires-python`, `data-yanked`). File URLs are made
//! absolute against the page's URL. No I/O here.

use reqwest::Url;

pub const JSON: &str = "application/vnd.pypi.simple.v1+json";
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// One file on a project page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    pub filename: String,
    /// Absolute.
    pub url: String,
    /// Lowercase hex, when the index gives it.
    pub sha256: Option<String>,
    pub requires_python: Option<String>,
    /// The reason (possibly empty) when yanked.
    pub yanked: Option<String>,
    pub size: Option<u64>,
}

fn absolute(base: &Url, href: &str) -> Result<Url, String> {
    base.join(href)
        .map_err(|e| format!("bad file URL '{href}': {e}"))
}

fn sha256_of(url: &Url) -> Option<String> {
    let frag = url.fragment()?;
    let h = frag.strip_prefix("sha256=")?;
    crate::lock::valid_sha256(h)
}

fn without_fragment(mut url: Url) -> String {
    url.set_fragment(None);
    url.to_string()
}

/// Parses a PEP 691 JSON page.
pub fn parse_json(base: &Url, body: &[u8]) -> Result<Vec<IndexFile>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let api = v["meta"]["api-version"].as_str().unwrap_or("1.0");
    if !api.starts_with("1.") && api != "1" {
        return Err(format!(
            "simple API version {api} is not supported (lamina reads 1.x)"
        ));
    }
    let files = v["files"]
        .as_array()
        .ok_or("no \"files\" list in the project page")?;
    let mut out = Vec::new();
    for f in files {
        let filename = f["filename"].as_str().ok_or("a file without a filename")?;
        let url = absolute(base, f["url"].as_str().ok_or("a file without a url")?)?;
        let sha256 = f["hashes"]["sha256"]
            .as_str()
            .and_then(crate::lock::valid_sha256)
            .or_else(|| sha256_of(&url));
        let yanked = match &f["yanked"] {
            serde_json::Value::Bool(true) => Some(String::new()),
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        };
        out.push(IndexFile {
            filename: filename.to_string(),
            url: without_fragment(url),
            sha256,
            requires_python: f["requires-python"].as_str().map(str::to_string),
            yanked,
            size: f["size"].as_u64(),
        });
    }
    Ok(out)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(end) = after.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let ent = &after[1..end];
        let c = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The attributes of one start tag's inside (`a href="…" data-yanked`).
fn attributes(tag: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let c: Vec<char> = tag.chars().collect();
    let mut i = 0;
    while i < c.len() {
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < c.len() && !c[i].is_whitespace() && c[i] != '=' {
            i += 1;
        }
        let name: String = c[start..i].iter().collect::<String>().to_ascii_lowercase();
        if name.is_empty() {
            i += 1;
            continue;
        }
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        if i < c.len() && c[i] == '=' {
            i += 1;
            while i < c.len() && c[i].is_whitespace() {
                i += 1;
            }
            let value: String = if i < c.len() && (c[i] == '"' || c[i] == '\'') {
                let q = c[i];
                i += 1;
                let s = i;
                while i < c.len() && c[i] != q {
                    i += 1;
                }
                let v = c[s..i.min(c.len())].iter().collect();
                i += 1;
                v
            } else {
                let s = i;
                while i < c.len() && !c[i].is_whitespace() {
                    i += 1;
                }
                c[s..i].iter().collect()
            };
            out.push((name, Some(unescape(&value))));
        } else {
            out.push((name, None));
        }
    }
    out
}

/// `files` read from a page as HTML, unless none were found in a body that is no HTML page at
/// all (JSON served as `text/html`, or UTF-16): then the error says so, instead of a project
/// that seems to have no files.
pub fn not_misread(
    files: Vec<IndexFile>,
    ctype: &str,
    body: &[u8],
) -> Result<Vec<IndexFile>, String> {
    if !files.is_empty() {
        return Ok(files);
    }
    let utf16 = body.starts_with(&[0xff, 0xfe]) || body.starts_with(&[0xfe, 0xff]);
    let why = if utf16 || body.contains(&0) {
        "the body is not UTF-8 (UTF-16?)"
    } else if String::from_utf8_lossy(body)
        .trim_start()
        .starts_with(['{', '['])
    {
        "the body is JSON: a PEP 691 page is served as application/vnd.pypi.simple.v1+json"
    } else {
        return Ok(files);
    };
    let ctype = if ctype.is_empty() { "none" } else { ctype };
    Err(format!(
        "the page listed 0 files (Content-Type {ctype}; {why})"
    ))
}

/// Parses a PEP 503 HTML page.
pub fn parse_html(base: &Url, body: &str) -> Result<Vec<IndexFile>, String> {
    let mut out = Vec::new();
    let lower = body.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("<a") {
        let start = pos + i + 2;
        if !lower[start..].starts_with(|c: char| c.is_whitespace()) {
            pos = start;
            continue;
        }
        let Some(end) = lower[start..].find('>').map(|e| start + e) else {
            break;
        };
        let attrs = attributes(&body[start..end]);
        let close = lower[end..].find("</a").map_or(body.len(), |c| end + c);
        let text = unescape(body[end + 1..close].trim());
        pos = end;
        let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let Some(Some(href)) = get("href") else {
            continue;
        };
        let url = absolute(base, &href)?;
        let filename = if text.is_empty() || text.contains('<') {
            crate::lock::url_filename(url.path())
        } else {
            text
        };
        out.push(IndexFile {
            filename,
            sha256: sha256_of(&url),
            url: without_fragment(url),
            requires_python: get("data-requires-python").flatten(),
            yanked: get("data-yanked").map(Option::unwrap_or_default),
            size: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "02e2e4cc71b5bcab88332eebf907519190dd9e6e82107fa7f83b1003a6252980";

    #[test]
    fn html_like_pypiserver_and_warehouse() {
        let base = Url::parse("http://127.0.0.1:9/simple/jmespath/").unwrap();
        let page = format!(
            "<html><body><h1>Links</h1>\n<a href=\"/packages/jmespath-1.0.1-py3-none-any.whl#sha256={H}\">jmespath-1.0.1-py3-none-any.whl</a><br>\n<A HREF='../../files/jmespath-0.9.tar.gz' data-requires-python=\"&gt;=3.7\" data-yanked=\"\">jmespath-0.9.tar.gz</A>\n<a href=\"x.whl\" data-yanked=\"bad &amp; broken\"></a></body></html>"
        );
        let files = parse_html(&base, &page).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[0].url,
            "http://127.0.0.1:9/packages/jmespath-1.0.1-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some(H));
        assert_eq!(files[0].yanked, None);
        assert_eq!(files[1].url, "http://127.0.0.1:9/files/jmespath-0.9.tar.gz");
        assert_eq!(files[1].requires_python.as_deref(), Some(">=3.7"));
        assert_eq!(files[1].yanked.as_deref(), Some(""));
        assert_eq!(files[2].filename, "x.whl");
        assert_eq!(files[2].yanked.as_deref(), Some("bad & broken"));
    }

    #[test]
    fn json_pages() {
        let base = Url::parse("https://idx/simple/jmespath/").unwrap();
        let page = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": "jmespath",
            "files": [
                {"filename": "jmespath-1.0.1-py3-none-any.whl", "url": "../../f/jmespath-1.0.1-py3-none-any.whl",
                 "hashes": {"sha256": H.to_uppercase()}, "requires-python": ">=3.7", "yanked": false, "size": 20256},
                {"filename": "jmespath-1.0.0.tar.gz", "url": "https://cdn/x.tar.gz", "hashes": {}, "yanked": "oops"}
            ]
        });
        let files = parse_json(&base, page.to_string().as_bytes()).unwrap();
        assert_eq!(
            files[0].url,
            "https://idx/f/jmespath-1.0.1-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some(H));
        assert_eq!(files[0].size, Some(20256));
        assert_eq!(files[1].yanked.as_deref(), Some("oops"));
        assert_eq!(files[1].sha256, None);
        let e = parse_json(&base, br#"{"meta":{"api-version":"2.0"},"files":[]}"#).unwrap_err();
        assert!(e.contains("2.0"), "{e}");
    }
}
