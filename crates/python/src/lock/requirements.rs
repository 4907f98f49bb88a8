//! Hash-pinned `requirements.txt` in pip's format: `\` continuation lines joined, comments stripped,
//! `${VAR}` expanded, `name[extras]==version ; marker --hash=sha256:…` requirements, and the global
//! `--index-url` / `-i` and `--extra-index-url` lines. Options that change what is installed in
//! ways lamina cannot follow (`-e`, `-r`, `-c`, `--find-links`) are errors; harmless ones
//! (`--require-hashes`, `--only-binary`, `--trusted-host`, `--pre`, …) are accepted. A requirement
//! without an exact `==` pin or without a sha256 hash is kept as unusable (an error if it applies).

use super::{valid_sha256, Kind, Location, Lock, LockError, LockedWheel, Package, Source};
use std::path::Path;

/// pip's logical lines: continuation joined, comments removed, with the first physical line number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if cur.is_empty() {
            start = i + 1;
        }
        let line = raw.trim_end_matches('\r');
        if let Some(body) = line.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
            continue;
        }
        cur.push_str(line);
        out.push((start, strip_comment(&std::mem::take(&mut cur))));
    }
    if !cur.is_empty() {
        out.push((start, strip_comment(&cur)));
    }
    out.retain(|(_, l)| !l.trim().is_empty());
    out
}

/// pip: `#` at the start of a line or after whitespace starts a comment.
fn strip_comment(line: &str) -> String {
    let b = line.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            return line[..i].trim().to_string();
        }
    }
    line.trim().to_string()
}

/// `${NAME}` (upper-case, digits, `_`) from the environment, as pip expands it.
fn expand(line: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j)
                if after[..j]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    && j > 0 =>
            {
                out.push_str(&env(&after[..j]).unwrap_or_default());
                rest = &after[j + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits `--opt=value` / `--opt value` into (option, value).
fn option(line: &str) -> (String, String) {
    let (opt, rest) = match line.find(['=', ' ', '\t']) {
        Some(i) => (&line[..i], line[i + 1..].trim()),
        None => (line, ""),
    };
    (
        opt.to_string(),
        rest.trim_start_matches('=').trim().to_string(),
    )
}

pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Lock, LockError> {
    let mut lock = Lock {
        path: path.into(),
        kind: Kind::Requirements,
        requires_python: None,
        environments: Vec::new(),
        default_groups: Vec::new(),
        packages: Vec::new(),
        index_url: None,
        extra_index_urls: Vec::new(),
    };
    for (n, line) in logical_lines(text) {
        let line = expand(&line, env);
        // A quoted line may hold a URL with a password or token: never printed.
        let err = |message: String| LockError::Line {
            path: path.into(),
            line: n,
            message: crate::index::hide_userinfo(&message),
        };
        if line.starts_with('-') {
            let (opt, value) = option(&line);
            match opt.as_str() {
                "-i" | "--index-url" => lock.index_url = Some(value),
                "--extra-index-url" => lock.extra_index_urls.push(value),
                "--no-index" => return Err(err("--no-index: lamina needs an index or a lock that names its wheels (pass --wheels DIR for a local directory)".into())),
                "-f" | "--find-links" => return Err(err(format!("--find-links is not supported ({value}); serve the files as an index, or pass --wheels DIR"))),
                "-r" | "--requirement" | "-c" | "--constraint" => return Err(err(format!("{opt} {value}: nested requirement files are not supported; compile everything into one hashed file"))),
                "-e" | "--editable" => return Err(err(format!("{value}: an editable install is a local source, not a wheel"))),
                "--require-hashes" | "--only-binary" | "--prefer-binary" | "--trusted-host"
                | "--pre" | "--no-binary" | "--use-feature" | "--config-settings" => {}
                other => return Err(err(format!("unknown option {other}"))),
            }
            continue;
        }
        if let Some(e) = local_path(path, n, &line) {
            return Err(e);
        }
        let mut package = requirement(path, &line).map_err(err)?;
        if let Source::Unusable(reason) = &mut package.source {
            *reason = crate::index::hide_userinfo(reason);
        }
        lock.packages.push(package);
    }
    Ok(lock)
}

/// A line that names a file on disk (`./x-1.0-py3-none-any.whl --hash=…`), which pip installs
/// but a lock cannot describe portably: refused with the direct reference that says the same.
fn local_path(path: &Path, line: usize, text: &str) -> Option<LockError> {
    let first = text.split_whitespace().next()?;
    let pathlike = ["./", "../", "/", "~"].iter().any(|p| first.starts_with(p))
        || (first.ends_with(".whl") && !first.contains(['@', ':']));
    if !pathlike {
        return None;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = std::path::absolute(dir.join(first)).unwrap_or_else(|_| dir.join(first));
    let base = file.file_name().unwrap_or_default().to_string_lossy();
    let name =
        crate::wheel_name::WheelName::parse(&base).map_or_else(|_| "NAME".to_string(), |w| w.name);
    Some(LockError::LocalPath {
        path: path.into(),
        line,
        file: first.to_string(),
        suggestion: format!("{name} @ file://{}", file.display()),
    })
}

fn requirement(path: &Path, line: &str) -> Result<Package, String> {
    // Pull out the --hash options wherever they are.
    let mut hashes = Vec::new();
    let mut other_algos = false;
    let mut words = Vec::new();
    let mut it = line.split_whitespace().peekable();
    while let Some(w) = it.next() {
        let value = if w == "--hash" {
            it.next().unwrap_or("").to_string()
        } else if let Some(v) = w.strip_prefix("--hash=") {
            v.to_string()
        } else if w.starts_with("--") {
            return Err(format!("option {w} on a requirement line is not supported"));
        } else {
            words.push(w);
            continue;
        };
        match value.split_once(':') {
            Some(("sha256", h)) => {
                hashes.push(valid_sha256(h).ok_or_else(|| format!("'{h}' is not a sha256 digest"))?)
            }
            Some(_) => other_algos = true,
            None => return Err(format!("--hash={value} is not ALGORITHM:DIGEST")),
        }
    }
    let spec = words.join(" ");
    let (req, marker) = match spec.split_once(';') {
        Some((r, m)) => (r.trim().to_string(), Some(m.trim().to_string())),
        None => (spec.trim().to_string(), None),
    };
    let name: String = req
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    if name.is_empty() {
        return Err(format!("'{req}' is not a requirement"));
    }
    let rest = req[name.len()..].trim();
    // Drop extras: they only matter for resolution, which the lock already did.
    let rest = match rest.strip_prefix('[') {
        Some(r) => r.split_once(']').map(|(_, a)| a.trim()).unwrap_or(""),
        None => rest,
    };
    let mut version = None;
    let source = if let Some(url) = rest.strip_prefix('@') {
        let url = url.trim();
        let filename = super::url_filename(url);
        if !filename.ends_with(".whl") || url.contains("git+") {
            Source::Unusable(format!("a direct reference to {url}, not a wheel"))
        } else if hashes.is_empty() {
            Source::Unusable("no --hash=sha256:… given".into())
        } else {
            let location = match url.strip_prefix("file://") {
                Some(p) => Location::Path(path.parent().unwrap_or(Path::new(".")).join(p)),
                None => Location::Url(url.to_string()),
            };
            Source::Wheels(
                hashes
                    .iter()
                    .map(|h| LockedWheel {
                        filename: filename.clone(),
                        location: location.clone(),
                        size: None,
                        sha256: Some(h.clone()),
                    })
                    .collect(),
            )
        }
    } else {
        let pinned = rest
            .strip_prefix("===")
            .or_else(|| rest.strip_prefix("=="))
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains([',', '*', '<', '>', '!', '~', ' ']));
        match pinned {
            None => Source::Unusable(if rest.is_empty() {
                "not pinned (no ==VERSION)".into()
            } else {
                format!("not pinned to one version ({rest})")
            }),
            Some(v) => {
                version = Some(v.to_string());
                if hashes.is_empty() {
                    Source::Unusable(if other_algos {
                        "only non-sha256 hashes are given; lamina checks sha256".into()
                    } else {
                        "no --hash=sha256:… given".into()
                    })
                } else {
                    Source::Hashes(hashes)
                }
            }
        }
    };
    Ok(Package {
        name,
        version,
        marker,
        requires_python: None,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "02e2e4cc71b5bcab88332eebf907519190dd9e6e82107fa7f83b1003a6252980";
    const H2: &str = "f7b63ef50f1b690dddf550d03497b66d609393b40b564ed0d674909a68ebf16a";

    fn parse_str(text: &str) -> Result<Lock, LockError> {
        parse(Path::new("/p/requirements.txt"), text, &|k| {
            (k == "TOKEN").then(|| "s3cret".to_string())
        })
    }

    #[test]
    fn pip_compile_output() {
        let text = format!(
            "# generated\n--index-url https://u:${{TOKEN}}@idx.example/simple\n--extra-index-url=https://other/simple\n\njmespath==1.0.1 \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{H2}\n    # via boto3\ncolorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:{H1}\nRequests[socks]==2.32.3 --hash=sha256:{H2}  # trailing comment\n"
        );
        let l = parse_str(&text).unwrap();
        assert_eq!(
            l.index_url.as_deref(),
            Some("https://u:s3cret@idx.example/simple")
        );
        assert_eq!(l.extra_index_urls, ["https://other/simple"]);
        assert_eq!(l.packages.len(), 3);
        let j = &l.packages[0];
        assert_eq!(
            (j.name.as_str(), j.version.as_deref()),
            ("jmespath", Some("1.0.1"))
        );
        assert!(matches!(&j.source, Source::Hashes(h) if h == &[H1.to_string(), H2.to_string()]));
        assert_eq!(
            l.packages[1].marker.as_deref(),
            Some("sys_platform == 'win32'")
        );
        assert_eq!(l.packages[2].name, "Requests");
        assert!(matches!(&l.packages[2].source, Source::Hashes(h) if h.len() == 1));
    }

    #[test]
    fn unusable_entries_and_errors() {
        let l = parse_str(&format!(
            "a>=1 --hash=sha256:{H1}\nb==1\nc\nd==1 --hash=md5:abcd\ne @ git+https://x/e.git\nf @ https://x/f-1-py3-none-any.whl --hash=sha256:{H1}\n"
        ))
        .unwrap();
        let reasons: Vec<String> = l
            .packages
            .iter()
            .map(|p| match &p.source {
                Source::Unusable(r) => r.clone(),
                Source::Wheels(w) => format!("wheel {}", w[0].filename),
                Source::Hashes(_) => "hashes".into(),
            })
            .collect();
        assert!(
            reasons[0].contains("not pinned to one version (>=1)"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("no --hash"), "{reasons:?}");
        assert!(reasons[2].contains("not pinned"), "{reasons:?}");
        assert!(reasons[3].contains("non-sha256"), "{reasons:?}");
        assert!(reasons[4].contains("not a wheel"), "{reasons:?}");
        assert_eq!(reasons[5], "wheel f-1-py3-none-any.whl");
        let e = parse_str("-r base.txt\n").unwrap_err();
        assert!(e.to_string().contains("line 1: -r base.txt"), "{e}");
        let e = parse_str("\n-e .\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse_str("x==1 --hash=sha256:nothex\n").unwrap_err();
        assert!(e.to_string().contains("not a sha256"), "{e}");
    }
}
