//! A build's local outputs (`-o`) as the rest of the build sees them: what a source walk must never
//! copy (every output, the temporaries written beside it, the cache), and the checks made before
//! anything is built: an output inside a `--src` directory is refused, and so is replacing a file
//! that is not a docker-archive unless `--force` is given; and a `build/` directory created in the
//! project for an output gets a `.gitignore` that keeps it out of git. Writing outputs is the
//! sinks' job (`oci::layout`, `oci::archive`); this module only decides where they may go.

use crate::config::Plan;
use crate::project::ignore::clean;
use crate::project::tree::Skip;
use lamina_cache::Cache;
use lamina_oci::reference::ImageRef;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("output {path} is inside the source directory '{src}': it would replace or join the files copied into the image")]
    InsideSource { path: PathBuf, src: String },
    #[error("output {path} exists and is not a docker-archive; refusing to replace it")]
    NotAnArchive { path: PathBuf },
    #[error("output {output} is the base image itself; writing it would replace the base")]
    IsTheBase { output: String },
}

impl lamina_support::diagnostic::Hint for OutputError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            OutputError::InsideSource { .. } => "write the output outside the --src directories, e.g. -o docker-archive:build/app.tar".into(),
            OutputError::NotAnArchive { .. } => "choose another file, or pass --force to replace it".into(),
            OutputError::IsTheBase { .. } => "write to another directory or another tag, e.g. -o oci:build/image:latest".into(),
        })
    }
}

/// The path an output occupies: a layout's directory or an archive's file.
fn output_path(r: &ImageRef) -> &Path {
    match r {
        ImageRef::Layout { dir, .. } => dir,
        ImageRef::Archive { file, .. } => file,
    }
}

/// `path` with its deepest existing ancestor resolved (symlinks), the rest appended as written.
fn resolved(path: &Path) -> PathBuf {
    let path = PathBuf::from(clean(&path.to_string_lossy()));
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            return rest.iter().rev().fold(c, |acc: PathBuf, n| acc.join(n));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(p), Some(n)) => {
                rest.push(n.to_os_string());
                existing = p;
            }
            _ => return path,
        }
    }
}

/// Refuses an output inside a `--src` directory (other than `.`, whose walk skips outputs) and, without
/// `--force`, an archive output that would replace a file that is not a docker-archive.
pub fn check(plan: &Plan) -> Result<(), OutputError> {
    let force = plan.force;
    let Some(out) = &plan.output else {
        return Ok(());
    };
    let path = output_path(out);
    let at = resolved(path);
    if let (
        ImageRef::Layout { dir, tag },
        crate::location::Location::Local(ImageRef::Layout {
            dir: base_dir,
            tag: base_tag,
        }),
    ) = (out, &plan.base)
    {
        if tag == base_tag && at == resolved(base_dir) {
            return Err(OutputError::IsTheBase {
                output: format!(
                    "oci:{}{}",
                    dir.display(),
                    tag.as_ref().map_or(String::new(), |t| format!(":{t}"))
                ),
            });
        }
    }
    for src in &plan.srcs {
        let rel = clean(src);
        if rel == "." {
            continue;
        }
        if at.starts_with(resolved(&plan.project.join(&rel))) {
            return Err(OutputError::InsideSource {
                path: path.to_path_buf(),
                src: src.clone(),
            });
        }
    }
    if let ImageRef::Archive { file, .. } = out {
        let is_file = std::fs::symlink_metadata(file).is_ok_and(|m| m.is_file());
        if is_file && !force && !is_docker_archive(file) {
            return Err(OutputError::NotAnArchive { path: file.clone() });
        }
    }
    Ok(())
}

/// What lamina writes into a `build/` directory it creates in the project: everything in it is
/// build output, kept out of git (as `python -m venv` does for a virtual environment).
const BUILD_GITIGNORE: &str =
    "# Written by lamina: build/ holds build output, never committed.\n*\n";

/// The project's `build/` directory and its `.gitignore`.
fn build_dir(plan: &Plan) -> (PathBuf, PathBuf) {
    let dir = plan.project.join("build");
    let ignore = dir.join(".gitignore");
    (dir, ignore)
}

/// Before an output is written inside the project's `build/` directory, when that directory does
/// not exist yet: creates it with a `.gitignore` that keeps it out of git. Returns the file
/// written; a `build/` that exists is left as it is.
pub fn ignore_build_dir(plan: &Plan) -> Result<Option<PathBuf>, (PathBuf, std::io::Error)> {
    let Some(out) = &plan.output else {
        return Ok(None);
    };
    let (dir, ignore) = build_dir(plan);
    let (dir_at, at) = (resolved(&dir), resolved(output_path(out)));
    if at == dir_at || !at.starts_with(&dir_at) || std::fs::symlink_metadata(&dir).is_ok() {
        return Ok(None);
    }
    std::fs::create_dir_all(&dir).map_err(|e| (dir.clone(), e))?;
    std::fs::write(&ignore, BUILD_GITIGNORE).map_err(|e| (ignore.clone(), e))?;
    Ok(Some(ignore))
}

/// A tarball with a `manifest.json` entry (what `docker save` and lamina write).
fn is_docker_archive(file: &Path) -> bool {
    let Ok(f) = std::fs::File::open(file) else {
        return false;
    };
    let mut tar = tar::Archive::new(f);
    let Ok(entries) = tar.entries_with_seek() else {
        return false;
    };
    for e in entries {
        let Ok(e) = e else { return false };
        if e.path().is_ok_and(|p| p == Path::new("manifest.json")) {
            return true;
        }
    }
    false
}

/// What the source walk must never copy: the output, its temporaries, and the cache.
pub fn never_copied(plan: &Plan, cache: &Cache) -> Skip {
    let project = resolved(&plan.project);
    // Paths as the walk sees them (under the project as given), even through symlinks.
    let as_walked = |p: &Path| -> PathBuf {
        match resolved(p).strip_prefix(&project) {
            Ok(rel) => plan.project.join(rel),
            Err(_) => p.to_path_buf(),
        }
    };
    let mut skip = Skip::default();
    for out in plan.output.iter().chain(&plan.usual_output) {
        let path = as_walked(output_path(out));
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            let temp = match out {
                ImageRef::Layout { .. } => format!(".{}.lamina-", name.to_string_lossy()),
                ImageRef::Archive { .. } => ".lamina-archive-".to_string(),
            };
            skip.prefixes.push((parent.to_path_buf(), temp));
        }
        skip.paths.push(path);
    }
    skip.paths.push(as_walked(cache.root()));
    // The `.gitignore` lamina wrote into `build/` is not the project's (a walk of "." skips it).
    let (_, ignore) = build_dir(plan);
    if std::fs::read(&ignore).is_ok_and(|b| b == BUILD_GITIGNORE.as_bytes()) {
        skip.paths.push(ignore);
    }
    skip
}
