//! Image references on the command line: `oci:DIR[:TAG]` (skopeo's syntax: the path ends at the first
//! colon) and `docker-archive:FILE[:NAME:TAG]`. Registry references join them in their own module.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRef {
    /// An OCI image layout directory and an optional tag (`org.opencontainers.image.ref.name`).
    Layout { dir: PathBuf, tag: Option<String> },
    /// A `docker save`-style tarball and the `NAME:TAG` it carries.
    Archive { file: PathBuf, name: Option<String> },
}

#[derive(Debug, thiserror::Error)]
#[error("'{input}' is not an image reference: {reason}")]
pub struct RefError {
    pub input: String,
    pub reason: String,
}

impl lamina_support::diagnostic::Hint for RefError {
    fn hint(&self) -> Option<String> {
        Some("use oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]".into())
    }
}

impl ImageRef {
    /// Parses a reference; relative paths are taken relative to `base_dir`.
    pub fn parse(input: &str, base_dir: &Path) -> Result<ImageRef, RefError> {
        let err = |reason: &str| RefError {
            input: input.into(),
            reason: reason.into(),
        };
        let abs = |p: &str| {
            if Path::new(p).is_absolute() {
                PathBuf::from(p)
            } else {
                base_dir.join(p)
            }
        };
        if let Some(rest) = input.strip_prefix("oci:") {
            let (dir, tag) = match rest.split_once(':') {
                Some((d, t)) => (d, Some(t)),
                None => (rest, None),
            };
            if dir.is_empty() {
                return Err(err("the directory is empty"));
            }
            if let Some(t) = tag {
                if !valid_tag(t) {
                    return Err(err(
                        "a tag is 1-128 characters of [A-Za-z0-9_.-], not starting with . or -",
                    ));
                }
            }
            return Ok(ImageRef::Layout {
                dir: abs(dir),
                tag: tag.map(str::to_string),
            });
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            let (file, name) = match rest.split_once(':') {
                Some((f, n)) => (f, Some(n)),
                None => (rest, None),
            };
            if file.is_empty() {
                return Err(err("the file name is empty"));
            }
            if let Some(n) = name {
                if n.contains('@') {
                    return Err(err(
                        "the name must be NAME:TAG, not a digest (an archive names its image by tag)",
                    ));
                }
                let (repo, tag) = n
                    .rsplit_once(':')
                    .ok_or_else(|| err("the name must be NAME:TAG"))?;
                if !valid_tag(tag) || !valid_repository(repo) {
                    return Err(err(
                        "the name must be NAME:TAG: lowercase path components such as lambda/app, optionally after a registry host (localhost:5000/app:v1)",
                    ));
                }
            }
            return Ok(ImageRef::Archive {
                file: abs(file),
                name: name.map(str::to_string),
            });
        }
        Err(err("unknown transport"))
    }
}

/// A repository name as docker's reference grammar has it: `[host[:port]/]component(/component)*`,
/// each component `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
pub fn valid_repository(name: &str) -> bool {
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let domain = parts.remove(0);
        let (host, port) = match domain.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        };
        let host_ok = !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !host_ok || !port_ok {
            return false;
        }
    }
    !parts.is_empty() && parts.iter().all(|c| valid_component(c))
}

fn valid_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator: `.`, `_`, `__`, or a run of `-`, always between alphanumerics.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => i += if b.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || !b.get(i).is_some_and(|&x| alnum(x)) {
            return false;
        }
    }
    true
}

pub fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && !t.starts_with(['.', '-'])
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Layout { dir, tag: Some(t) } => write!(f, "oci:{}:{t}", dir.display()),
            ImageRef::Layout { dir, tag: None } => write!(f, "oci:{}", dir.display()),
            ImageRef::Archive {
                file,
                name: Some(n),
            } => write!(f, "docker-archive:{}:{n}", file.display()),
            ImageRef::Archive { file, name: None } => {
                write!(f, "docker-archive:{}", file.display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_transports() {
        let b = Path::new("/p");
        assert_eq!(
            ImageRef::parse("oci:out:v1", b).unwrap(),
            ImageRef::Layout {
                dir: "/p/out".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            ImageRef::parse("oci:/abs", b).unwrap(),
            ImageRef::Layout {
                dir: "/abs".into(),
                tag: None
            }
        );
        assert_eq!(
            ImageRef::parse("docker-archive:a.tar:lambda/app:v1", b).unwrap(),
            ImageRef::Archive {
                file: "/p/a.tar".into(),
                name: Some("lambda/app:v1".into())
            }
        );
        assert!(ImageRef::parse("oci:", b).is_err());
        assert!(ImageRef::parse("oci:x:bad tag", b).is_err());
        assert!(ImageRef::parse("docker-archive:a.tar:noTagHere", b).is_err());
        for bad in [
            "a.tar:name:tag:extra",
            "a.tar:name@sha256:abc",
            "a.tar:Name:v1",
            "a.tar:na..me:v1",
            "a.tar:-app:v1",
            "a.tar:app_:v1",
            "a.tar:localhost:5000:v1",
            "a.tar:host:port/app:v1",
        ] {
            assert!(
                ImageRef::parse(&format!("docker-archive:{bad}"), b).is_err(),
                "{bad}"
            );
        }
        for good in [
            "a.tar:app:v1",
            "a.tar:lambda/app:v1",
            "a.tar:localhost:5000/team/app:v1",
            "a.tar:registry.example.com/a__b/c-d.e:v1",
            "a.tar:a---b:1",
        ] {
            assert!(
                ImageRef::parse(&format!("docker-archive:{good}"), b).is_ok(),
                "{good}"
            );
        }
        assert!(ImageRef::parse("zip:x", b).is_err());
    }
}
