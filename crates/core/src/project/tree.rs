//! The source layer's plan: each `--src DIR` is copied to `/var/task/DIR` (`--src .` copies the
//! project's contents into `/var/task`), as the old Dockerfile's `COPY src ${LAMBDA_TASK_ROOT}/src`
//! did. `.dockerignore` at the project root applies with Docker's rules; `__pycache__/`, `*.pyc` and
//! `.git/` are always skipped. Symlinks that stay inside the copied tree are kept as symlinks; one
//! that points outside it (or is absolute) is an error. This module plans; the writer writes.

use super::ignore::{clean, Ignore};
use lamina_oci::layer::tree::{EntryKind, Tree};
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub use lamina_install::TASK_ROOT;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("--src {src}: {path}: no such file or directory")]
    Missing { src: String, path: PathBuf },
    #[error("--src {src}: must be a path inside the project directory {project}")]
    OutsideProject { src: String, project: PathBuf },
    #[error("{path}: symlink to '{target}' points outside {root}")]
    SymlinkEscapes {
        path: PathBuf,
        target: String,
        root: PathBuf,
    },
    #[error("{}: {reason}", lamina_support::diagnostic::shown(path))]
    BadName { path: PathBuf, reason: String },
    #[error(
        "{}: its path in the image is {bytes} bytes; Linux opens paths up to 4,096",
        lamina_support::diagnostic::shown(path)
    )]
    TooLong { path: PathBuf, bytes: usize },
    #[error("{path}: {what} files cannot go into an image")]
    Unsupported { path: PathBuf, what: &'static str },
    #[error("{path}: copied twice with different contents (overlapping --src)")]
    Conflict { path: String },
    #[error("{}", lamina_support::diagnostic::shown(path))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ignore(#[from] super::ignore::IgnoreError),
}

impl lamina_support::diagnostic::Hint for SourceError {
    fn hint(&self) -> Option<String> {
        match self {
            SourceError::SymlinkEscapes { .. } => Some(
                "copy the file into the tree, or make the link relative to a file inside it".into(),
            ),
            SourceError::Missing { .. } => {
                Some("--src paths are relative to the project directory (-C)".into())
            }
            SourceError::OutsideProject { .. } => {
                Some("move the directory into the project, as Docker's COPY requires".into())
            }
            SourceError::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                Some("make it readable by the user running lamina, or exclude it in .dockerignore".into())
            }
            SourceError::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidFilename => {
                Some("the path is longer than Linux allows (4,096 bytes in all, 255 per name): shorten its directory names, or exclude it in .dockerignore".into())
            }
            SourceError::Io { source, .. } => source.hint(),
            SourceError::Ignore(e) => e.hint(),
            SourceError::Unsupported { .. } => Some(
                "a layer holds files, directories and symlinks only: exclude it in .dockerignore (or move it out of the source tree)".into(),
            ),
            SourceError::TooLong { .. } => Some(
                "shorten its directory or file names, or exclude it in .dockerignore".into(),
            ),
            SourceError::BadName { .. } => Some(
                "rename it (UTF-8, no .wh. prefix, under 4096 bytes as a path), or exclude it in .dockerignore".into(),
            ),
            SourceError::Conflict { .. } => Some(
                "two --src directories put different files at the same path: drop one, or exclude the file in one of them".into(),
            ),
        }
    }
}

/// Always skipped, whatever `.dockerignore` says.
fn always_skipped(name: &str, is_dir: bool) -> bool {
    if is_dir {
        name == "__pycache__" || name == ".git"
    } else {
        name.ends_with(".pyc")
    }
}

/// What a walk never copies: exact paths (outputs, the cache) and name prefixes in a directory
/// (an output's temporaries). Directories left empty only because of them are dropped too, so a
/// build's own outputs never change the next build's layer.
#[derive(Debug, Default, Clone)]
pub struct Skip {
    pub paths: Vec<PathBuf>,
    pub prefixes: Vec<(PathBuf, String)>,
}

impl Skip {
    fn skips(&self, path: &Path) -> bool {
        self.paths.iter().any(|p| p == path)
            || self.prefixes.iter().any(|(dir, prefix)| {
                path.parent() == Some(dir.as_path())
                    && path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix.as_str()))
            })
    }
}

/// Plans the source layer. Nothing `skip` names is copied (the build output, the cache).
pub fn plan(project: &Path, srcs: &[String], skip: &Skip) -> Result<Tree<PathBuf>, SourceError> {
    let ignore = Ignore::load(project)?;
    let mut tree: Tree<PathBuf> = Tree::new();
    tree.insert(TASK_ROOT, EntryKind::Dir)
        .expect("valid path")
        .ok();
    for src in srcs {
        let rel = clean(src);
        if rel.starts_with('/') || rel == ".." || rel.starts_with("../") {
            return Err(SourceError::OutsideProject {
                src: src.clone(),
                project: project.into(),
            });
        }
        let root = if rel == "." {
            project.to_path_buf()
        } else {
            project.join(&rel)
        };
        let mut meta = fs::symlink_metadata(&root).map_err(|_| SourceError::Missing {
            src: src.clone(),
            path: root.clone(),
        })?;
        // A --src that is itself a symlink is followed, as Docker's COPY follows its source: to a
        // place inside the project, which is then walked as if named directly.
        let mut root = root;
        if meta.file_type().is_symlink() {
            let target = fs::canonicalize(&root).map_err(|_| SourceError::Missing {
                src: src.clone(),
                path: root.clone(),
            })?;
            let inside = fs::canonicalize(project)
                .ok()
                .and_then(|p| target.strip_prefix(p).ok().map(Path::to_path_buf));
            let Some(inside) = inside else {
                return Err(SourceError::OutsideProject {
                    src: src.clone(),
                    project: project.into(),
                });
            };
            root = project.join(inside);
            meta = fs::symlink_metadata(&root).map_err(|e| SourceError::Io {
                path: root.clone(),
                source: e,
            })?;
        }
        let dest_root = if rel == "." {
            TASK_ROOT.to_string()
        } else {
            format!("{TASK_ROOT}/{rel}")
        };
        if !meta.is_dir() {
            add(&mut tree, &root, &root, &dest_root, &meta)?;
            continue;
        }
        // Directories (as layer paths) that held something skipped: dropped if nothing else is in them.
        let mut hollow: Vec<String> = Vec::new();
        let mut walk = walkdir::WalkDir::new(&root).follow_links(false).into_iter();
        while let Some(item) = walk.next() {
            let item = item.map_err(|e| {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.clone());
                // The OS error alone: walkdir's own message repeats the path and the cause.
                let source = match e.io_error() {
                    Some(io) => std::io::Error::new(io.kind(), io.to_string()),
                    None => std::io::Error::other("a symlink loop"),
                };
                SourceError::Io { path, source }
            })?;
            let path = item.path();
            let is_dir = item.file_type().is_dir();
            if item.depth() > 0 {
                let name = item.file_name().to_string_lossy();
                let ours = skip.skips(path);
                if ours || always_skipped(&name, is_dir) {
                    if is_dir {
                        walk.skip_current_dir();
                    }
                    if ours {
                        let mut dir = path.parent();
                        while let Some(d) = dir.filter(|d| *d != root) {
                            if let Some(rel) = d.strip_prefix(&root).ok().and_then(Path::to_str) {
                                hollow.push(format!("{dest_root}/{rel}"));
                            }
                            dir = d.parent();
                        }
                    }
                    continue;
                }
            }
            let within_project = path
                .strip_prefix(project)
                .expect("walk stays under the project");
            // Matched before anything else is asked of the name: what .dockerignore excludes is
            // never looked at, even when its name is not UTF-8 (matched as Go matches bytes: each
            // invalid byte is one character).
            let project_rel = within_project.to_string_lossy();
            if !project_rel.is_empty() && ignore.is_ignored(&project_rel) {
                if is_dir && !ignore.has_exceptions() {
                    walk.skip_current_dir();
                }
                continue;
            }
            utf8(within_project, path)?;
            let within_root = utf8(path.strip_prefix(&root).expect("under root"), path)?;
            let dest = if within_root.is_empty() {
                dest_root.clone()
            } else {
                format!("{dest_root}/{within_root}")
            };
            if dest.len() >= PATH_MAX {
                return Err(SourceError::TooLong {
                    path: path.into(),
                    bytes: dest.len() + 1,
                });
            }
            let meta = fs::symlink_metadata(path).map_err(|e| SourceError::Io {
                path: path.into(),
                source: e,
            })?;
            add(&mut tree, &root, path, &dest, &meta)?;
        }
        hollow.sort_by_key(|d| std::cmp::Reverse(d.len()));
        for d in hollow {
            tree.remove_if_empty_dir(&d);
        }
    }
    Ok(tree)
}

/// Linux's longest path, with its terminating NUL: `/` + a layer path must be shorter.
const PATH_MAX: usize = 4096;

fn utf8(rel: &Path, full: &Path) -> Result<String, SourceError> {
    rel.to_str()
        .map(str::to_string)
        .ok_or_else(|| SourceError::BadName {
            path: full.into(),
            reason: "file name is not UTF-8".into(),
        })
}

fn add(
    tree: &mut Tree<PathBuf>,
    root: &Path,
    path: &Path,
    dest: &str,
    meta: &fs::Metadata,
) -> Result<(), SourceError> {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File {
            source: path.to_path_buf(),
            size: meta.len(),
            executable: meta.permissions().mode() & 0o111 != 0,
        }
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(|e| SourceError::Io {
            path: path.into(),
            source: e,
        })?;
        let target = target
            .to_str()
            .ok_or_else(|| SourceError::BadName {
                path: path.into(),
                reason: "symlink target is not UTF-8".into(),
            })?
            .to_string();
        let link_dir = path
            .parent()
            .and_then(|p| p.strip_prefix(root).ok())
            .map(|p| p.to_string_lossy().into_owned());
        let joined = match link_dir.as_deref() {
            None | Some("") => target.clone(),
            Some(d) => format!("{d}/{target}"),
        };
        let resolved = clean(&joined);
        let escapes = target.starts_with('/')
            || resolved == ".."
            || resolved.starts_with("../")
            || link_dir_outside(path, root);
        if escapes {
            return Err(SourceError::SymlinkEscapes {
                path: path.into(),
                target,
                root: root.into(),
            });
        }
        EntryKind::Symlink(target)
    } else {
        let what = if ft.is_fifo() {
            "FIFO"
        } else if ft.is_socket() {
            "socket"
        } else {
            "device"
        };
        return Err(SourceError::Unsupported {
            path: path.into(),
            what,
        });
    };
    match tree.insert(dest, kind) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SourceError::Conflict {
            path: format!("/{dest}"),
        }),
        Err(e) => Err(SourceError::BadName {
            path: path.into(),
            reason: e.to_string(),
        }),
    }
}

/// A symlink given directly as `--src` (the root itself) has nothing inside to point to.
fn link_dir_outside(path: &Path, root: &Path) -> bool {
    path == root
}
