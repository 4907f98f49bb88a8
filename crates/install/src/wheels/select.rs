//! Choosing wheels for the target: the best wheel per project (lowest tag rank, then highest build
//! tag); the others are reported; a project with no fitting wheel, two versions of one project, or
//! a source distribution are errors with a hint.

use super::WheelsError;
use lamina_python::tags::{Ranking, Target};
use lamina_python::wheel::WheelError;
use lamina_python::wheel_name::WheelName;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lists `dir`, refuses sdists and returns the chosen wheel of each project, plus warnings for the
/// wheels left out.
pub fn select(
    dir: &Path,
    ranking: &Ranking,
    target: &Target,
) -> Result<(Vec<PathBuf>, Vec<String>), WheelsError> {
    let read = std::fs::read_dir(dir).map_err(|e| WheelsError::Dir {
        dir: dir.into(),
        source: e,
    })?;
    let mut names = Vec::new();
    for e in read {
        let e = e.map_err(|e| WheelsError::Dir {
            dir: dir.into(),
            source: e,
        })?;
        let n = e.file_name().to_string_lossy().into_owned();
        if n.ends_with(".tar.gz")
            || n.ends_with(".tar.bz2")
            || n.ends_with(".tgz")
            || (n.ends_with(".zip") && !n.starts_with('.'))
        {
            return Err(WheelsError::Sdist {
                file: dir.join(&n).display().to_string(),
            });
        }
        if n.ends_with(".whl") {
            names.push(n);
        }
    }
    if names.is_empty() {
        return Err(WheelsError::Empty { dir: dir.into() });
    }
    names.sort();
    let mut projects: BTreeMap<String, Vec<WheelName>> = BTreeMap::new();
    for n in names {
        let w = WheelName::parse(&n).map_err(|e| WheelError::Invalid {
            wheel: n.clone(),
            detail: e.reason().to_string(),
        })?;
        projects.entry(w.normalized()).or_default().push(w);
    }
    let mut chosen = Vec::new();
    let mut warnings = Vec::new();
    // Every project's problem is collected, so one run reports them all.
    let mut problems: Vec<WheelsError> = Vec::new();
    for (project, wheels) in projects {
        let mut versions: Vec<&str> = wheels.iter().map(|w| w.version.as_str()).collect();
        versions.sort();
        versions.dedup();
        if versions.len() > 1 {
            let newest = wheels
                .iter()
                .map(|w| w.version.as_str())
                .max_by(|a, b| compare_versions(a, b))
                .unwrap_or_default()
                .to_string();
            let older: Vec<String> = wheels
                .iter()
                .filter(|w| w.version != newest)
                .map(|w| dir.join(&w.filename).display().to_string())
                .collect();
            problems.push(WheelsError::Versions {
                project,
                versions: versions.join(", "),
                older,
            });
            continue;
        }
        let mut fits: Vec<(usize, &WheelName)> = Vec::new();
        let mut reasons = Vec::new();
        for w in &wheels {
            match ranking.rank(w) {
                Ok(r) => fits.push((r, w)),
                Err(why) => reasons.push((w, why)),
            }
        }
        fits.sort_by(|(ra, a), (rb, b)| ra.cmp(rb).then_with(|| b.build.cmp(&a.build)));
        let Some((_, best)) = fits.first() else {
            let text: Vec<String> = reasons
                .iter()
                .map(|(w, why)| format!("{} {why}", w.filename))
                .collect();
            let req = format!("{}=={}", wheels[0].name, wheels[0].version);
            problems.push(WheelsError::NoneFits(Box::new(super::NoneFits {
                project,
                target: target.to_string(),
                reasons: text.join("; "),
                hint: format!(
                    "fetch a wheel for the base: {}",
                    target.pip_download_hint(&req)
                ),
                requirement: req,
            })));
            continue;
        };
        for (w, why) in &reasons {
            warnings.push(format!(
                "{} left out: it {why} (using {})",
                w.filename, best.filename
            ));
        }
        for (_, w) in fits.iter().skip(1) {
            warnings.push(format!(
                "{} left out: {} fits better",
                w.filename, best.filename
            ));
        }
        chosen.push(dir.join(&best.filename));
    }
    if problems.len() > 1 {
        return Err(several(problems, target));
    }
    if let Some(p) = problems.pop() {
        return Err(p);
    }
    Ok((chosen, warnings))
}

/// One error for several projects' problems, with one command that fixes what can be fetched
/// and one that removes the extra versions.
fn several(problems: Vec<WheelsError>, target: &Target) -> WheelsError {
    let mut fetch = Vec::new();
    let mut remove = Vec::new();
    let mut lines = Vec::new();
    for p in &problems {
        match p {
            WheelsError::NoneFits(n) => {
                fetch.push(n.requirement.clone());
                lines.push(p.to_string());
            }
            WheelsError::Versions {
                project,
                versions,
                older,
            } => {
                remove.extend(older.iter().cloned());
                lines.push(format!("{project}: several versions ({versions})"));
            }
            other => lines.push(other.to_string()),
        }
    }
    let mut hint = Vec::new();
    if !fetch.is_empty() {
        hint.push(format!(
            "fetch wheels for the base: {}",
            target.pip_download_hint(&fetch.join(" "))
        ));
    }
    if !remove.is_empty() {
        hint.push(format!(
            "keep the newest version of each: rm {}",
            remove.join(" ")
        ));
    }
    WheelsError::Several {
        count: problems.len(),
        problems: lines.join("; "),
        hint: hint.join("; then "),
    }
}

/// Orders PEP 440-ish versions by their numeric release parts (then as text).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let nums = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .map_while(|p| p.parse::<u64>().ok())
            .collect()
    };
    nums(a).cmp(&nums(b)).then_with(|| a.cmp(b))
}
