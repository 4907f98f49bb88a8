//! PEP 751 `pylock.toml`: `lock-version` 1.x, `requires-python`, `environments`, `default-groups`,
//! and `[[packages]]` with their `marker`, `requires-python` and `[[packages.wheels]]` (`name`,
//! `url` or `path`, `size`, `hashes`). A package with only a `vcs`, `directory`, `archive` or
//! `sdist` source is kept as unusable (an error only if it applies to the target). Unknown keys
//! (`[tool]`, `upload-time`, `dependencies`, …) are ignored, as the spec allows.

use super::{valid_sha256, Kind, Location, Lock, LockError, LockedWheel, Package, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct File {
    lock_version: Option<String>,
    #[serde(default)]
    environments: Vec<String>,
    requires_python: Option<String>,
    #[serde(default)]
    default_groups: Vec<String>,
    #[serde(default)]
    packages: Vec<Pkg>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Pkg {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    requires_python: Option<String>,
    vcs: Option<toml::Value>,
    directory: Option<toml::Value>,
    archive: Option<toml::Value>,
    sdist: Option<toml::Value>,
    wheels: Option<Vec<Wheel>>,
}

#[derive(Deserialize)]
struct Wheel {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    size: Option<u64>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

pub fn parse(path: &Path, text: &str) -> Result<Lock, LockError> {
    let syntax = |message: String| LockError::Syntax {
        path: path.into(),
        message,
    };
    let f: File = toml::from_str(text).map_err(|e| {
        syntax(
            e.to_string()
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.contains('|'))
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    match f.lock_version.as_deref() {
        Some(v) if v == "1" || v.starts_with("1.") => {}
        Some(v) => {
            return Err(syntax(format!(
                "lock-version {v} is not supported (lamina reads 1.x)"
            )))
        }
        None => return Err(syntax("no lock-version: not a PEP 751 lock".into())),
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut packages = Vec::new();
    for p in f.packages {
        let source = match &p.wheels {
            Some(ws) if !ws.is_empty() => {
                let mut out = Vec::new();
                for w in ws {
                    out.push(wheel(dir, &p.name, w).map_err(syntax)?);
                }
                Source::Wheels(out)
            }
            _ => Source::Unusable(
                if p.vcs.is_some() {
                    "a VCS source, not a wheel"
                } else if p.directory.is_some() {
                    "a local directory, not a wheel"
                } else if p.sdist.is_some() || p.archive.is_some() {
                    "only a source distribution is locked, no wheel"
                } else {
                    "no wheels are listed"
                }
                .to_string(),
            ),
        };
        packages.push(Package {
            name: p.name,
            version: p.version,
            marker: p.marker,
            requires_python: p.requires_python,
            source,
        });
    }
    Ok(Lock {
        path: path.into(),
        kind: Kind::Pylock,
        requires_python: f.requires_python,
        environments: f.environments,
        default_groups: f.default_groups,
        packages,
        index_url: None,
        extra_index_urls: Vec::new(),
    })
}

fn wheel(dir: &Path, package: &str, w: &Wheel) -> Result<LockedWheel, String> {
    let location = match (&w.url, &w.path) {
        (_, Some(p)) => Location::Path(dir.join(p)),
        (Some(u), None) => Location::Url(u.clone()),
        (None, None) => {
            return Err(format!(
                "package {package}: a wheel with neither url nor path"
            ))
        }
    };
    let filename = match (&w.name, &location) {
        (Some(n), _) => n.clone(),
        (None, Location::Url(u)) => super::url_filename(u),
        (None, Location::Path(p)) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if !filename.ends_with(".whl") || filename.contains('/') {
        return Err(format!(
            "package {package}: '{filename}' is not a wheel file name"
        ));
    }
    let sha256 = match w.hashes.get("sha256") {
        Some(h) => Some(
            valid_sha256(h)
                .ok_or_else(|| format!("package {package}: '{h}' is not a sha256 digest"))?,
        ),
        None => None,
    };
    Ok(LockedWheel {
        filename,
        location,
        size: w.size,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.12"

[[packages]]
name = "markupsafe"
version = "3.0.2"
wheels = [{ url = "http://127.0.0.1:1/packages/MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hashes = { sha256 = "E17C96C14E19278594AA4841EC148115F9C7615A47382ECB6B82BD8FEA3AB0C8" } }]

[[packages]]
name = "colorama"
version = "0.4.6"
marker = "sys_platform == 'win32'"
sdist = { url = "https://x/colorama-0.4.6.tar.gz", hashes = { sha256 = "08695f5cb7ed6e0531a20572697297273c47b8cae5a63ffc6d6ed5c201be6e44" } }

[[packages]]
name = "local"
version = "1"
[[packages.wheels]]
path = "wheels/local-1-py3-none-any.whl"
hashes = {}

[tool.uv]
anything = 1
"#;

    #[test]
    fn parses_uv_output() {
        let l = parse(Path::new("/p/pylock.toml"), LOCK).unwrap();
        assert_eq!(l.requires_python.as_deref(), Some(">=3.12"));
        assert_eq!(l.packages.len(), 3);
        match &l.packages[0].source {
            Source::Wheels(w) => {
                assert!(w[0].filename.starts_with("MarkupSafe-3.0.2-cp312"));
                assert!(w[0].sha256.as_deref().unwrap().starts_with("e17c96"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&l.packages[1].source, Source::Unusable(r) if r.contains("source distribution"))
        );
        match &l.packages[2].source {
            Source::Wheels(w) => {
                assert_eq!(
                    w[0].location,
                    Location::Path("/p/wheels/local-1-py3-none-any.whl".into())
                );
                assert_eq!(w[0].sha256, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_other_versions_and_garbage() {
        let e = parse(Path::new("pylock.toml"), "lock-version = \"2.0\"\n").unwrap_err();
        assert!(e.to_string().contains("lock-version 2.0"), "{e}");
        let e = parse(Path::new("pylock.toml"), "[[packages]]\nname=1\n").unwrap_err();
        assert!(e.to_string().starts_with("pylock.toml: "), "{e}");
        let e = parse(
            Path::new("pylock.toml"),
            "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nwheels = [{ url = \"http://x/a.tar.gz\", hashes = {} }]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a wheel file name"), "{e}");
    }
}
