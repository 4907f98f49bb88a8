//! What a lock installs on a target. `select` keeps the packages whose `marker` holds for the
//! target (CPython 3.X, `linux`, the platform's machine; `extras` empty, `dependency_groups` the
//! lock's `default-groups`), checks `requires-python` and `environments`, and picks each package's
//! best listed wheel by the wheels layer's tag ranking; requirements-file entries become lookups
//! for the index. `choose_file` makes the same choice among the index's files whose hash the lock
//! lists: yanked files only when nothing else fits (with a warning), sdists never.

use super::{relock_hint, Kind, Location, Lock, LockError, Source};
use crate::normalize_name;
use crate::requires::{evaluate, specifier_contains};
use crate::tags::{Ranking, Target};
use crate::wheel_name::WheelName;

/// A wheel chosen from the lock itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// Normalized project name.
    pub package: String,
    pub filename: String,
    pub sha256: String,
    pub size: Option<u64>,
    pub location: Location,
}

/// One thing the lock needs installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    Chosen(Chosen),
    /// A requirement: the index's file for `package==version` whose sha256 is in `hashes`.
    Lookup {
        package: String,
        version: String,
        hashes: Vec<String>,
    },
}

impl Need {
    pub fn package(&self) -> &str {
        match self {
            Need::Chosen(c) => &c.package,
            Need::Lookup { package, .. } => package,
        }
    }
}

/// A file the index lists for a requirement, already matched to one of the lock's hashes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub filename: String,
    pub sha256: String,
    /// Absolute, without credentials.
    pub url: String,
    pub size: Option<u64>,
    /// The yank reason (possibly empty) if the file is yanked.
    pub yanked: Option<String>,
    pub requires_python: Option<String>,
}

fn python(target: &Target) -> String {
    format!("3.{}.0", target.minor)
}

/// The packages that apply to `target`, each as a chosen wheel or an index lookup, plus notes
/// (skipped packages, unreadable markers) for the log.
pub fn select(
    lock: &Lock,
    target: &Target,
    ranking: &Ranking,
) -> Result<(Vec<Need>, Vec<String>), LockError> {
    let hint = || relock_hint(lock.kind, target);
    let wrong = |reason: String| LockError::WrongEnvironment {
        path: lock.path.clone(),
        reason,
        hint: hint(),
    };
    if let Some(rp) = &lock.requires_python {
        if specifier_contains(rp, &python(target)) == Some(false) {
            return Err(wrong(format!(
                "requires-python {rp} excludes the base's CPython 3.{}",
                target.minor
            )));
        }
    }
    let sets: [(&str, &[String]); 2] =
        [("extras", &[]), ("dependency_groups", &lock.default_groups)];
    if !lock.environments.is_empty()
        && !lock
            .environments
            .iter()
            .any(|m| evaluate(m, target, &sets).unwrap_or(true))
    {
        return Err(wrong(format!(
            "none of its environments ({}) is CPython 3.{} on Linux {}",
            lock.environments.join("; "),
            target.minor,
            target.arch
        )));
    }
    let mut needs: Vec<Need> = Vec::new();
    // The packages in `needs`, for a linear duplicate check (a lock can have 100,000 entries).
    let mut needed = std::collections::HashSet::new();
    let mut notes = Vec::new();
    let mut unusable: Vec<(String, String)> = Vec::new();
    for p in &lock.packages {
        if let Some(m) = &p.marker {
            match evaluate(m, target, &sets) {
                Some(false) => {
                    notes.push(format!(
                        "{}: skipped, its marker ({m}) is false for {target}",
                        p.name
                    ));
                    continue;
                }
                Some(true) => {}
                None => notes.push(format!(
                    "warning: {}: marker '{m}' could not be read; installing it",
                    p.name
                )),
            }
        }
        if let Some(rp) = &p.requires_python {
            if specifier_contains(rp, &python(target)) == Some(false) {
                unusable.push((
                    p.name.clone(),
                    format!(
                        "requires Python {rp}; the base runs CPython 3.{}",
                        target.minor
                    ),
                ));
                continue;
            }
        }
        let package = normalize_name(&p.name);
        if needed.contains(&package) {
            unusable.push((
                p.name.clone(),
                "listed twice for this target; a lock must pin one version".into(),
            ));
            continue;
        }
        needed.insert(package.clone());
        match &p.source {
            Source::Unusable(reason) => unusable.push((p.name.clone(), reason.clone())),
            Source::Hashes(hashes) => needs.push(Need::Lookup {
                package,
                version: p.version.clone().unwrap_or_default(),
                hashes: hashes.clone(),
            }),
            Source::Wheels(wheels) => {
                let mut fits = Vec::new();
                let mut reasons = Vec::new();
                for w in wheels {
                    let name = WheelName::parse(&w.filename).map_err(|e| LockError::Syntax {
                        path: lock.path.clone(),
                        message: format!("package {}: {}", p.name, e.0),
                    })?;
                    match ranking.rank(&name) {
                        Ok(r) => fits.push((r, name.build.clone(), w)),
                        Err(why) => reasons.push(format!("{} {why}", w.filename)),
                    }
                }
                fits.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
                let Some((_, _, best)) = fits.first() else {
                    return Err(LockError::NoneFits {
                        path: lock.path.clone(),
                        package: p.name.clone(),
                        target: target.to_string(),
                        reasons: reasons.join("; "),
                        hint: hint(),
                    });
                };
                let Some(sha256) = best.sha256.clone() else {
                    unusable.push((
                        p.name.clone(),
                        format!("{} has no sha256 hash in the lock", best.filename),
                    ));
                    continue;
                };
                needs.push(Need::Chosen(Chosen {
                    package,
                    filename: best.filename.clone(),
                    sha256,
                    size: best.size,
                    location: best.location.clone(),
                }));
            }
        }
    }
    if let Some((package, reason)) = unusable.first() {
        let more: Vec<&str> = unusable[1..].iter().map(|(p, _)| p.as_str()).collect();
        let also = if more.is_empty() {
            String::new()
        } else {
            format!(" (also unusable: {})", more.join(", "))
        };
        return Err(LockError::Unusable {
            path: lock.path.clone(),
            package: package.clone(),
            reason: format!("{reason}{also}"),
            hint: hint(),
        });
    }
    needs.sort_by(|a, b| a.package().cmp(b.package()));
    Ok((needs, notes))
}

/// The best of `candidates` (the index's files matching the lock's hashes) for the target.
pub fn choose_file(
    lock_path: &std::path::Path,
    package: &str,
    version: &str,
    candidates: &[Candidate],
    target: &Target,
    ranking: &Ranking,
) -> Result<(Candidate, Vec<String>), LockError> {
    let hint = relock_hint(Kind::Requirements, target);
    let mut fits = Vec::new();
    let mut reasons = Vec::new();
    for c in candidates {
        if !c.filename.ends_with(".whl") {
            reasons.push(format!("{} is a source distribution", c.filename));
            continue;
        }
        let Ok(name) = WheelName::parse(&c.filename) else {
            reasons.push(format!("{} is not a valid wheel name", c.filename));
            continue;
        };
        if let Some(rp) = &c.requires_python {
            if specifier_contains(rp, &python(target)) == Some(false) {
                reasons.push(format!("{} requires Python {rp}", c.filename));
                continue;
            }
        }
        match ranking.rank(&name) {
            Ok(r) => fits.push((c.yanked.is_some(), r, name.build.clone(), c)),
            Err(why) => reasons.push(format!("{} {why}", c.filename)),
        }
    }
    fits.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.cmp(&b.1))
            .then_with(|| b.2.cmp(&a.2))
    });
    let Some((yanked, _, _, best)) = fits.first() else {
        let only_sdists =
            !candidates.is_empty() && candidates.iter().all(|c| !c.filename.ends_with(".whl"));
        if only_sdists {
            return Err(LockError::Unusable {
                path: lock_path.into(),
                package: format!("{package}=={version}"),
                reason: "only a source distribution matches the listed hashes, no wheel".into(),
                hint,
            });
        }
        return Err(LockError::NoneFits {
            path: lock_path.into(),
            package: format!("{package}=={version}"),
            target: target.to_string(),
            reasons: if reasons.is_empty() {
                "no file on the index has a listed hash".into()
            } else {
                reasons.join("; ")
            },
            hint,
        });
    };
    let mut warnings = Vec::new();
    if *yanked {
        warnings.push(format!(
            "{} is yanked{}; installing it because the lock pins it",
            best.filename,
            best.yanked
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    Ok(((*best).clone(), warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{pylock, requirements};
    use lamina_support::diagnostic::Hint as _;
    use std::path::Path;

    fn target() -> Target {
        Target {
            minor: 12,
            arch: "x86_64".into(),
            glibc: (2, 34),
            allow_linux: false,
        }
    }

    fn h(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn markers_requires_python_and_tags() {
        let text = format!(
            r#"lock-version = "1.0"
requires-python = ">=3.9"
default-groups = ["default"]
[[packages]]
name = "old"
marker = "python_full_version < '3.10'"
wheels = [{{ url = "http://x/old-1-py3-none-any.whl", hashes = {{ sha256 = "{a}" }} }}]
[[packages]]
name = "win"
marker = "sys_platform == 'win32'"
sdist = {{ url = "http://x/win-1.tar.gz" }}
[[packages]]
name = "dev-only"
marker = "'dev' in dependency_groups"
wheels = [{{ url = "http://x/dev_only-1-py3-none-any.whl", hashes = {{ sha256 = "{a}" }} }}]
[[packages]]
name = "Crypto.Thing"
wheels = [
  {{ url = "http://x/crypto_thing-1-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hashes = {{ sha256 = "{a}" }} }},
  {{ url = "http://x/crypto_thing-1-cp39-abi3-manylinux_2_34_x86_64.whl", hashes = {{ sha256 = "{b}" }} }},
  {{ url = "http://x/crypto_thing-1-cp39-abi3-macosx_11_0_arm64.whl", hashes = {{ sha256 = "{c}" }} }},
]
"#,
            a = h('a'),
            b = h('b'),
            c = h('c')
        );
        let lock = pylock::parse(Path::new("pylock.toml"), &text).unwrap();
        let t = target();
        let (needs, notes) = select(&lock, &t, &t.ranking()).unwrap();
        assert_eq!(needs.len(), 1, "{needs:?}");
        match &needs[0] {
            Need::Chosen(c) => {
                assert_eq!(c.package, "crypto-thing");
                assert_eq!(
                    c.filename,
                    "crypto_thing-1-cp39-abi3-manylinux_2_34_x86_64.whl"
                );
                assert_eq!(c.sha256, h('b'));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(notes.len(), 3, "{notes:?}");
        // glibc 2.26 (python3.11 bases): the manylinux2014 wheel.
        let old = Target {
            minor: 11,
            glibc: (2, 26),
            ..t.clone()
        };
        let (needs, _) = select(&lock, &old, &old.ranking()).unwrap();
        assert!(matches!(&needs[0], Need::Chosen(c) if c.sha256 == h('a')));
        // Python 3.9: the old package applies too.
        let py39 = Target {
            minor: 9,
            ..t.clone()
        };
        let (needs, _) = select(&lock, &py39, &py39.ranking()).unwrap();
        assert_eq!(needs.len(), 2);
        let arm = Target {
            arch: "aarch64".into(),
            ..t.clone()
        };
        let e = select(&lock, &arm, &arm.ranking()).unwrap_err();
        assert!(e.to_string().contains("Crypto.Thing: no wheel fits"), "{e}");
        assert!(e
            .hint()
            .unwrap()
            .contains("--python-platform aarch64-manylinux_2_28"));
        let py38 = Target { minor: 8, ..t };
        let e = select(&lock, &py38, &py38.ranking()).unwrap_err();
        assert!(e.to_string().contains("requires-python >=3.9"), "{e}");
    }

    #[test]
    fn unusable_only_when_it_applies() {
        let text = format!(
            "ok==1 --hash=sha256:{}\nwinonly==1 ; sys_platform == 'win32'\nloose>=2\n",
            h('a')
        );
        let lock = requirements::parse(Path::new("requirements.txt"), &text, &|_| None).unwrap();
        let t = target();
        let e = select(&lock, &t, &t.ranking()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "requirements.txt: loose: not pinned to one version (>=2)"
        );
        assert!(e.hint().unwrap().contains("--generate-hashes"));
    }

    #[test]
    fn index_files() {
        let t = target();
        let c = |f: &str, y: Option<&str>| Candidate {
            filename: f.into(),
            sha256: h('a'),
            url: format!("http://x/{f}"),
            size: None,
            yanked: y.map(str::to_string),
            requires_python: None,
        };
        let p = Path::new("requirements.txt");
        let (best, w) = choose_file(
            p,
            "m",
            "1",
            &[
                c("m-1.tar.gz", None),
                c("m-1-cp312-cp312-manylinux_2_17_x86_64.whl", Some("broken")),
                c("m-1-py3-none-any.whl", None),
            ],
            &t,
            &t.ranking(),
        )
        .unwrap();
        assert_eq!(best.filename, "m-1-py3-none-any.whl");
        assert!(w.is_empty());
        let (best, w) = choose_file(
            p,
            "m",
            "1",
            &[c(
                "m-1-cp312-cp312-manylinux_2_17_x86_64.whl",
                Some("broken"),
            )],
            &t,
            &t.ranking(),
        )
        .unwrap();
        assert!(best.yanked.is_some());
        assert!(w[0].contains("yanked (broken)"), "{w:?}");
        let e = choose_file(p, "m", "1", &[c("m-1.tar.gz", None)], &t, &t.ranking()).unwrap_err();
        assert!(
            e.to_string().contains("m==1: only a source distribution"),
            "{e}"
        );
        let e = choose_file(p, "m", "1", &[], &t, &t.ranking()).unwrap_err();
        assert!(
            e.to_string()
                .contains("no file on the index has a listed hash"),
            "{e}"
        );
    }
}
