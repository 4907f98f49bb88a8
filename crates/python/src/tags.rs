//! Which wheels run on a target (CPython 3.X, an architecture, a glibc), in pip's order of preference
//! (pypa/packaging `tags.py`: `cpython_tags` then `compatible_tags`), and why the others do not.
//! A wheel's rank is the best position of any of its expanded tags; lower is better.

use super::wheel_name::WheelName;
use std::collections::HashMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// CPython 3.`minor`.
    pub minor: u32,
    /// `x86_64` or `aarch64`.
    pub arch: String,
    /// glibc `(major, minor)`.
    pub glibc: (u32, u32),
    /// Accept `linux_<arch>` wheels (locally built, no manylinux promise).
    pub allow_linux: bool,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CPython 3.{} on {} with glibc {}.{}",
            self.minor, self.arch, self.glibc.0, self.glibc.1
        )
    }
}

/// Why a wheel does not fit the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    Platform(String),
    Python(String),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Platform(s) | Mismatch::Python(s) => f.write_str(s),
        }
    }
}

/// Legacy manylinux aliases: `manylinux_2_17` is `manylinux2014`, and so on.
fn legacy_alias(glibc_minor: u32, arch: &str) -> Option<String> {
    match glibc_minor {
        17 => Some(format!("manylinux2014_{arch}")),
        12 if matches!(arch, "x86_64" | "i686") => Some(format!("manylinux2010_{arch}")),
        5 if matches!(arch, "x86_64" | "i686") => Some(format!("manylinux1_{arch}")),
        _ => None,
    }
}

/// glibc minor that a manylinux platform tag requires, and its architecture.
pub fn manylinux_requirement(tag: &str) -> Option<((u32, u32), String)> {
    for (legacy, minor) in [
        ("manylinux2014_", 17),
        ("manylinux2010_", 12),
        ("manylinux1_", 5),
    ] {
        if let Some(arch) = tag.strip_prefix(legacy) {
            return Some(((2, minor), arch.to_string()));
        }
    }
    let rest = tag.strip_prefix("manylinux_")?;
    let mut it = rest.splitn(3, '_');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some(((major, minor), it.next()?.to_string()))
}

impl Target {
    fn min_glibc_minor(&self) -> u32 {
        if matches!(self.arch.as_str(), "x86_64" | "i686") {
            5
        } else {
            17
        }
    }

    /// Platform tags, most preferred first.
    pub fn platforms(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (major, top) = self.glibc;
        if major == 2 {
            let mut minor = top;
            while minor >= self.min_glibc_minor() {
                out.push(format!("manylinux_2_{minor}_{}", self.arch));
                if let Some(alias) = legacy_alias(minor, &self.arch) {
                    out.push(alias);
                }
                if minor == 0 {
                    break;
                }
                minor -= 1;
            }
        }
        if self.allow_linux {
            out.push(format!("linux_{}", self.arch));
        }
        out
    }

    /// Every supported (python, abi, platform), most preferred first.
    pub fn supported(&self) -> Vec<(String, String, String)> {
        let x = self.minor;
        let cp = format!("cp3{x}");
        let plats = self.platforms();
        let mut out = Vec::new();
        for abi in [cp.clone(), "abi3".into(), "none".into()] {
            for p in &plats {
                out.push((cp.clone(), abi.clone(), p.clone()));
            }
        }
        for m in (2..x).rev() {
            for p in &plats {
                out.push((format!("cp3{m}"), "abi3".into(), p.clone()));
            }
        }
        let mut pys = vec![format!("py3{x}"), "py3".to_string()];
        pys.extend((0..x).rev().map(|m| format!("py3{m}")));
        for py in &pys {
            for p in &plats {
                out.push((py.clone(), "none".into(), p.clone()));
            }
        }
        out.push((cp, "none".into(), "any".into()));
        for py in &pys {
            out.push((py.clone(), "none".into(), "any".into()));
        }
        out
    }

    pub fn ranking(&self) -> Ranking {
        let map = self
            .supported()
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, i))
            .collect();
        Ranking {
            map,
            target: self.clone(),
        }
    }

    /// The `pip download` line that fetches wheels for this target.
    pub fn pip_download_hint(&self, requirement: &str) -> String {
        let mut platforms = vec![format!("manylinux2014_{}", self.arch)];
        if self.glibc.1 > 17 {
            platforms.push(format!("manylinux_2_{}_{}", self.glibc.1, self.arch));
        }
        let flags: Vec<String> = platforms
            .iter()
            .map(|p| format!("--platform {p}"))
            .collect();
        format!(
            "pip download --only-binary=:all: {} --python-version 3.{} --implementation cp -d WHEELS_DIR {requirement}",
            flags.join(" "),
            self.minor
        )
    }
}

/// A precomputed tag → priority map for one target.
pub struct Ranking {
    map: HashMap<(String, String, String), usize>,
    target: Target,
}

impl Ranking {
    /// The wheel's rank (lower is better), or why it cannot be installed.
    pub fn rank(&self, w: &WheelName) -> Result<usize, Mismatch> {
        let best = w
            .tags()
            .filter_map(|(p, a, pl)| {
                self.map
                    .get(&(p.to_string(), a.to_string(), pl.to_string()))
                    .copied()
            })
            .min();
        best.ok_or_else(|| self.explain(w))
    }

    fn explain(&self, w: &WheelName) -> Mismatch {
        let t = &self.target;
        let plats = t.platforms();
        let platform_ok = w.platform.iter().any(|p| p == "any" || plats.contains(p));
        if !platform_ok {
            let p = &w.platform[0];
            let what = if p.starts_with("macosx") {
                "is for macOS".to_string()
            } else if p.starts_with("win") {
                "is for Windows".to_string()
            } else if p.starts_with("musllinux") {
                "is for musl libc (Alpine); Lambda's Amazon Linux uses glibc".to_string()
            } else if let Some((need, arch)) = w
                .platform
                .iter()
                .filter_map(|p| manylinux_requirement(p))
                .min()
            {
                if arch != t.arch {
                    format!("is for {arch}, not {}", t.arch)
                } else {
                    format!(
                        "needs glibc {}.{}; the base has glibc {}.{}",
                        need.0, need.1, t.glibc.0, t.glibc.1
                    )
                }
            } else if let Some(arch) = p.strip_prefix("linux_") {
                if arch == t.arch {
                    "is a local linux_ build with no manylinux glibc promise (accepted only with --allow-linux-tag)".to_string()
                } else {
                    format!("is for {arch}, not {}", t.arch)
                }
            } else {
                format!("has platform tag {p}, which is not Linux {}", t.arch)
            };
            return Mismatch::Platform(what);
        }
        let pys = w.python.join(".");
        let abis = w.abi.join(".");
        Mismatch::Python(format!(
            "is for {pys} (ABI {abis}); the base runs CPython 3.{} (cp3{}, abi3 or py3 wheels)",
            t.minor, t.minor
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(minor: u32, arch: &str, glibc: u32) -> Target {
        Target {
            minor,
            arch: arch.into(),
            glibc: (2, glibc),
            allow_linux: false,
        }
    }

    #[test]
    fn platform_lists_like_packaging() {
        let p = target(12, "x86_64", 34).platforms();
        assert_eq!(
            &p[..3],
            [
                "manylinux_2_34_x86_64",
                "manylinux_2_33_x86_64",
                "manylinux_2_32_x86_64"
            ]
        );
        let i = p.iter().position(|x| x == "manylinux_2_17_x86_64").unwrap();
        assert_eq!(p[i + 1], "manylinux2014_x86_64");
        assert_eq!(
            p[p.len() - 2..],
            ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
        );
        assert_eq!(p.len(), 30 + 3);
        let a = target(11, "aarch64", 26).platforms();
        assert_eq!(a.first().unwrap(), "manylinux_2_26_aarch64");
        assert_eq!(
            a[a.len() - 2..],
            ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
        );
        assert_eq!(a.len(), 11);
    }

    #[test]
    fn supported_order() {
        let s = target(12, "x86_64", 26).supported();
        let n = target(12, "x86_64", 26).platforms().len();
        let key = |p: &str, a: &str, pl: &str| {
            s.iter()
                .position(|t| t == &(p.into(), a.into(), pl.into()))
                .unwrap()
        };
        assert_eq!(key("cp312", "cp312", "manylinux_2_26_x86_64"), 0);
        assert_eq!(key("cp312", "abi3", "manylinux_2_26_x86_64"), n);
        assert!(
            key("cp39", "abi3", "manylinux2014_x86_64")
                > key("cp311", "abi3", "manylinux_2_5_x86_64")
        );
        assert!(key("py3", "none", "manylinux1_x86_64") < key("cp312", "none", "any"));
        assert!(key("cp312", "none", "any") < key("py312", "none", "any"));
        assert_eq!(
            s.last().unwrap(),
            &("py30".into(), "none".into(), "any".into())
        );
    }

    #[test]
    fn explains_mismatches() {
        let r = target(12, "x86_64", 26).ranking();
        let why = |f: &str| {
            r.rank(&WheelName::parse(f).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert!(why("a-1-cp312-cp312-macosx_11_0_arm64.whl").contains("macOS"));
        assert!(why("a-1-cp312-cp312-musllinux_1_2_x86_64.whl").contains("musl"));
        assert!(
            why("a-1-cp312-cp312-manylinux2014_aarch64.whl").contains("is for aarch64, not x86_64")
        );
        assert_eq!(
            why("a-1-cp39-abi3-manylinux_2_28_x86_64.whl"),
            "needs glibc 2.28; the base has glibc 2.26"
        );
        assert!(why("a-1-cp311-cp311-manylinux2014_x86_64.whl").contains("is for cp311"));
        assert!(why("a-1-cp313-abi3-manylinux2014_x86_64.whl").contains("CPython 3.12"));
        assert!(r
            .rank(&WheelName::parse("a-1-cp38-abi3-manylinux2014_x86_64.whl").unwrap())
            .is_ok());
        assert!(r
            .rank(&WheelName::parse("a-1-py2.py3-none-any.whl").unwrap())
            .is_ok());
    }
}
