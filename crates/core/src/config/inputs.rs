//! Help for inputs that are almost right: the lamina.toml key a typo meant, what a file given to
//! `--wheels` is, and the image name a docker-archive gets from the project directory.

use std::path::Path;

/// What `--wheels` was pointed at when it is not a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WheelsInput {
    Requirements,
    Lock,
    Wheel,
    Other,
}

impl std::fmt::Display for WheelsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WheelsInput::Requirements => "a requirements file",
            WheelsInput::Lock => "a lock file",
            WheelsInput::Wheel => "a single wheel",
            WheelsInput::Other => "a file",
        })
    }
}

/// Every key lamina.toml accepts (aliases too), for "did you mean".
pub const KEYS: &[&str] = &[
    "attest",
    "base",
    "src",
    "handler",
    "handlers",
    "handlers_from",
    "env",
    "label",
    "labels",
    "platform",
    "output",
    "wheels",
    "lock",
    "index_url",
    "extra_index_url",
    "extra_index_urls",
    "push",
    "cache_repo",
    "tag",
    "tags",
    "python",
    "glibc",
    "allow_bad_record",
    "max_unpacked_size",
    "allow_linux_tag",
    "ecr",
    "sbom_format",
];

/// Levenshtein distance (small strings).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest name to `unknown` among `known`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (distance(&unknown.to_ascii_lowercase(), k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

/// A reference name from the project directory's name (`Traffic Manager` → `traffic-manager`).
pub fn archive_name(project: &Path) -> String {
    let raw = project
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if out.is_empty() {
        "lamina".into()
    } else {
        out
    }
}

/// What a file given to `--wheels` is.
pub fn wheels_input(path: &Path) -> WheelsInput {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".whl") {
        WheelsInput::Wheel
    } else if name.ends_with(".toml") || name.ends_with(".lock") {
        WheelsInput::Lock
    } else if name.ends_with(".txt") || name.ends_with(".in") {
        WheelsInput::Requirements
    } else {
        WheelsInput::Other
    }
}
