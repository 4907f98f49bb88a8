//! Lock files as a model, with no HTTP: PEP 751 `pylock.toml` (`pylock`) and hash-pinned
//! `requirements.txt` (`requirements`) are parsed into one `Lock`, and `choose` decides, for a
//! target, which packages apply (markers, `requires-python`, `environments`) and which listed wheel
//! each one installs, by the wheels layer's tag ranking. lamina resolves nothing: every package
//! must be pinned and hashed, and anything that is not a wheel is refused before any download.
//! Fetching (the index, downloads, the wheel cache) lives elsewhere.

mod choose;
pub mod pylock;
pub mod requirements;

pub use choose::{choose_file, select, Candidate, Chosen, Need};

use crate::tags::Target;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Pylock,
    Requirements,
}

/// A parsed lock file.
#[derive(Clone, Debug)]
pub struct Lock {
    pub path: PathBuf,
    pub kind: Kind,
    /// `requires-python` of the whole lock (pylock).
    pub requires_python: Option<String>,
    /// `environments`: markers of which at least one must hold (pylock).
    pub environments: Vec<String>,
    /// `default-groups` (pylock): the dependency groups installed by default.
    pub default_groups: Vec<String>,
    pub packages: Vec<Package>,
    /// `--index-url` / `-i` in a requirements file.
    pub index_url: Option<String>,
    /// `--extra-index-url` lines in a requirements file.
    pub extra_index_urls: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Package {
    /// As written in the lock.
    pub name: String,
    pub version: Option<String>,
    pub marker: Option<String>,
    pub requires_python: Option<String>,
    pub source: Source,
}

#[derive(Clone, Debug)]
pub enum Source {
    /// The wheels the lock lists (pylock, or a direct wheel URL in a requirements file).
    Wheels(Vec<LockedWheel>),
    /// A pinned requirement: the index's files whose sha256 is one of these (lowercase hex).
    Hashes(Vec<String>),
    /// Something lamina cannot install (an sdist only, a VCS or directory source, no pin, no
    /// hash): the reason. An error only if the package applies to the target.
    Unusable(String),
}

/// One wheel file a lock names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedWheel {
    pub filename: String,
    pub location: Location,
    pub size: Option<u64>,
    /// Lowercase hex sha256, if the lock gives one.
    pub sha256: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Url(String),
    /// Absolute (made relative to the lock's directory when parsed).
    Path(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: line {line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: line {line}: {file}: a local path is not a requirement lamina can read")]
    LocalPath {
        path: PathBuf,
        line: usize,
        file: String,
        /// The same file as a direct reference (`name @ file:///…`).
        suggestion: String,
    },
    #[error("{path}: {package}: {reason}")]
    Unusable {
        path: PathBuf,
        package: String,
        reason: String,
        hint: String,
    },
    #[error("{path}: {package}: no wheel fits {target}: {reasons}")]
    NoneFits {
        path: PathBuf,
        package: String,
        target: String,
        reasons: String,
        hint: String,
    },
    #[error("{path}: the lock is not for this target: {reason}")]
    WrongEnvironment {
        path: PathBuf,
        reason: String,
        hint: String,
    },
}

impl lamina_support::diagnostic::Hint for LockError {
    fn hint(&self) -> Option<String> {
        match self {
            LockError::Unusable { hint, .. }
            | LockError::NoneFits { hint, .. }
            | LockError::WrongEnvironment { hint, .. } => Some(hint.clone()),
            LockError::Syntax { .. } | LockError::Line { .. } => Some(
                "lamina reads pylock.toml (PEP 751) and pip's requirements format; regenerate the lock with uv or pip-compile".into(),
            ),
            LockError::LocalPath { suggestion, .. } => Some(format!(
                "write it as `{suggestion}` (with its --hash), or put the wheels in a directory and pass --wheels DIR"
            )),
            LockError::Read { .. } => None,
        }
    }
}

impl Lock {
    /// Reads `path`: `pylock.toml` / `pylock.*.toml` as PEP 751, anything else as requirements.
    pub fn read(path: &Path) -> Result<Lock, LockError> {
        let text = std::fs::read_to_string(path).map_err(|e| LockError::Read {
            path: path.into(),
            source: e,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("pylock.") && name.ends_with(".toml") {
            pylock::parse(path, &text)
        } else {
            requirements::parse(path, &text, &lamina_support::env::user_var)
        }
    }
}

/// `x86_64-manylinux_2_28` etc.: uv's `--python-platform` value for the target.
pub fn uv_platform(target: &Target) -> String {
    if target.glibc >= (2, 28) {
        format!("{}-manylinux_2_28", target.arch)
    } else {
        format!("{}-manylinux2014", target.arch)
    }
}

/// The commands that write a usable lock for the target.
pub fn relock_hint(kind: Kind, target: &Target) -> String {
    let common = format!(
        "--python-version 3.{} --python-platform {}",
        target.minor,
        uv_platform(target)
    );
    match kind {
        Kind::Pylock => format!("relock with wheels only: uv pip compile requirements.in --only-binary :all: {common} -o pylock.toml"),
        Kind::Requirements => format!(
            "relock with wheels only: uv pip compile requirements.in --generate-hashes --only-binary :all: {common} -o requirements.txt"
        ),
    }
}

/// Lowercase hex of a sha256 given in a lock, if it is one.
pub fn valid_sha256(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    (s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())).then_some(s)
}

/// The last path segment of a URL, percent-decoded (`…/MarkupSafe-3.0.2-….whl#sha256=…` → the name).
pub fn url_filename(url: &str) -> String {
    let no_frag = url.split(['#', '?']).next().unwrap_or(url);
    percent_decode(no_frag.rsplit('/').next().unwrap_or(no_frag))
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(
            url_filename("http://h/packages/zope.interface-7.2-cp312%2Bx.whl#sha256=ab"),
            "zope.interface-7.2-cp312+x.whl"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert!(valid_sha256("AB").is_none());
        let t = Target {
            minor: 11,
            arch: "aarch64".into(),
            glibc: (2, 26),
            allow_linux: false,
        };
        assert_eq!(uv_platform(&t), "aarch64-manylinux2014");
        assert!(relock_hint(Kind::Requirements, &t).contains("--generate-hashes"));
    }
}
