//! `--sbom FILE` and `--provenance FILE`: checked before anything is built (a missing directory,
//! a directory, or both flags naming one file is an error up front), and written together after
//! the gate and before any sink, so a failed write pushes nothing and leaves neither file. A
//! regular file (or a new path) is replaced whole through a temporary file (mode 0644); a
//! symlink, FIFO or device (`/dev/stdout`, `>(grype)`) is written through, never replaced.

use super::{AttestError, Attestations};
use crate::config::Plan;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The flag each local file comes from, and where it goes.
fn wanted(plan: &Plan) -> Vec<(&'static str, &PathBuf)> {
    let mut out = Vec::new();
    if let Some(p) = &plan.sbom_out {
        out.push(("--sbom", p));
    }
    if let Some(p) = &plan.provenance_out {
        out.push(("--provenance", p));
    }
    out
}

fn bad(flag: &'static str, path: &Path, why: &str) -> AttestError {
    AttestError::Path {
        flag,
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Whether each file can be written where it is asked for (before the build).
pub fn check_paths(plan: &Plan) -> Result<(), AttestError> {
    let files = wanted(plan);
    if let [(_, a), (_, b)] = files.as_slice() {
        if a == b {
            return Err(bad("--provenance", b, "is also the --sbom file"));
        }
    }
    for (flag, path) in files {
        if path.is_dir() {
            return Err(bad(flag, path, "is a directory"));
        }
        match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) if !dir.is_dir() => {
                return Err(bad(flag, path, "is in a directory that does not exist"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes the files `plan` asks for: every one is ready before any is put in place.
pub fn write(att: &Attestations, plan: &Plan) -> Result<Vec<PathBuf>, AttestError> {
    let mut pending = Vec::new();
    for (flag, path) in wanted(plan) {
        let bytes = if flag == "--sbom" {
            &att.sbom
        } else {
            &att.provenance
        };
        pending.push((path, prepare(path, bytes)?));
    }
    let mut written = Vec::new();
    for (path, p) in pending {
        match p {
            Pending::Replace(tmp) => {
                tmp.persist(path).map_err(|e| AttestError::Write {
                    path: path.clone(),
                    source: e.error,
                })?;
            }
            Pending::Through(bytes) => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(&bytes).map(|_| f))
                    .map_err(|source| AttestError::Write {
                        path: path.clone(),
                        source,
                    })?;
                let _ = f.flush();
            }
        }
        written.push(path.clone());
    }
    Ok(written)
}

enum Pending {
    Replace(tempfile::NamedTempFile),
    Through(Vec<u8>),
}

/// A temporary file holding `bytes` beside `path`, or, for something that is not a regular file,
/// the bytes to write through it.
fn prepare(path: &Path, bytes: &[u8]) -> Result<Pending, AttestError> {
    let err = |source| AttestError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Ok(Pending::Through(bytes.to_vec()));
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(&lamina_support::cleanup::prefix(".tmp-"))
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(err)?;
    }
    Ok(Pending::Replace(tmp))
}
