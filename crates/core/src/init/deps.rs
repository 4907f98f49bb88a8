//! The Dockerfile's `pip install -r FILE` in lamina's terms: a lock if the project has one
//! (`pylock.toml`, `pylock.*.toml`, or FILE itself when every requirement is pinned with `==` and
//! carries `--hash`), written as `lock = "…"` when this lamina's `lamina.toml` accepts that key;
//! otherwise the exact command that makes such a lock for the base (uv, wheels only), written
//! beside FILE (or from `requirements.in` into it), never over the team's input, and the way to
//! vendor wheels meanwhile.

use crate::catalog::BaseInfo;
use std::path::Path;

/// The lock file the project already has, if any.
pub fn find_lock(project: &Path, requirements: &str) -> Option<String> {
    let mut pylocks: Vec<String> = std::fs::read_dir(project)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n == "pylock.toml" || (n.starts_with("pylock.") && n.ends_with(".toml"))
                })
                .collect()
        })
        .unwrap_or_default();
    pylocks.sort();
    if let Some(p) = pylocks.into_iter().next() {
        return Some(p);
    }
    let text = std::fs::read_to_string(project.join(requirements)).ok()?;
    hashed(&text).then(|| requirements.to_string())
}

/// Whether every requirement in a requirements file is pinned (`==`) and hashed (`--hash=`).
pub fn hashed(text: &str) -> bool {
    let joined = text.replace("\\\n", " ");
    let mut any = false;
    for line in joined.lines() {
        let line = line.split(" #").next().unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        let spec = line.split(';').next().unwrap_or(line);
        if !spec.contains("==") || !line.contains("--hash=sha256:") {
            return false;
        }
        any = true;
    }
    any
}

/// uv's `--python-platform` for the base: the newest manylinux level uv knows that the base's
/// glibc satisfies (uv offers 2_17 (manylinux2014), 2_28 and 2_31 … 2_40).
pub fn uv_platform(base: Option<&BaseInfo>, arm64: bool) -> String {
    let arch = if arm64 { "aarch64" } else { "x86_64" };
    let minor = base
        .and_then(|b| crate::config::parse_glibc(&b.glibc).ok())
        .map_or(17, |(_, m)| m);
    let level = match minor {
        m if m >= 31 => format!("manylinux_2_{}", m.min(40)),
        m if m >= 28 => "manylinux_2_28".into(),
        _ => "manylinux2014".into(),
    };
    format!("{arch}-{level}")
}

/// Where the lock made from `requirements` goes, and from which input: from `requirements.in`
/// into `requirements.txt` when the project keeps its input there (pip-tools' layout), else from
/// `requirements` into a file beside it (`requirements.lock`), never over the team's own input.
pub fn lock_files(project: &Path, requirements: &str) -> (String, String) {
    let req = Path::new(requirements);
    let input = req.with_extension("in");
    if req.extension().is_some_and(|e| e == "txt") && project.join(&input).is_file() {
        return (input.display().to_string(), requirements.to_string());
    }
    (
        requirements.to_string(),
        req.with_extension("lock").display().to_string(),
    )
}

/// The command that turns `input` into `output`, a hashed lock of wheels only for this base.
pub fn lock_command(input: &str, output: &str, base: Option<&BaseInfo>, arm64: bool) -> String {
    let py = base.map_or("3.X".to_string(), |b| b.python.clone());
    format!(
        "uv pip compile {input} --generate-hashes --only-binary :all: --python-version {py} --python-platform {} -o {output}",
        uv_platform(base, arm64)
    )
}

/// `pip download` of the wheels for this base, into `wheels/`.
pub fn download_command(requirements: &str, base: Option<&BaseInfo>, arm64: bool) -> String {
    let py = base.map_or("3.X".to_string(), |b| b.python.clone());
    let plat = if arm64 {
        "manylinux2014_aarch64"
    } else {
        "manylinux2014_x86_64"
    };
    format!("pip download --only-binary=:all: --platform {plat} --python-version {py} --implementation cp -d wheels -r {requirements}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_requirements_and_uv_platforms() {
        assert!(hashed("# c\n--index-url https://x\nmarkupsafe==2.1.5 \\\n    --hash=sha256:00 \\\n    --hash=sha256:01\n    # via -r requirements.txt\nsix==1.16.0 --hash=sha256:aa ; python_version < '4'\n"));
        assert!(!hashed("markupsafe==2.1.5\n"));
        assert!(!hashed("markupsafe>=2 --hash=sha256:00\n"));
        assert!(!hashed("# nothing\n"));
        let b38 = crate::catalog::lookup("python3.8");
        let b312 = crate::catalog::lookup("python3.12");
        assert_eq!(uv_platform(b38.as_ref(), false), "x86_64-manylinux2014");
        assert_eq!(uv_platform(b312.as_ref(), true), "aarch64-manylinux_2_34");
        assert_eq!(
            lock_command("requirements.txt", "requirements.lock", b38.as_ref(), false),
            "uv pip compile requirements.txt --generate-hashes --only-binary :all: --python-version 3.8 --python-platform x86_64-manylinux2014 -o requirements.lock"
        );
    }

    #[test]
    fn the_lock_never_overwrites_the_input() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(
            lock_files(t.path(), "requirements.txt"),
            ("requirements.txt".into(), "requirements.lock".into())
        );
        std::fs::write(t.path().join("requirements.in"), "boto3\n").unwrap();
        assert_eq!(
            lock_files(t.path(), "requirements.txt"),
            ("requirements.in".into(), "requirements.txt".into())
        );
    }
}
