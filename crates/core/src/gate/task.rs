//! `/var/task` as the image will have it: the dependency layer's plan overlaid by the source
//! layer's, read without writing either (zip entries, files on disk, bytes lamina made).
//! A source file that can no longer be read, or whose size is not the one the layer recorded, is
//! kept as a `ReadFailed` (never an empty file), for the gate to fail with.

use crate::build::Built;
use lamina_analysis::imports::TaskTree;
use lamina_install::deps::facts::SoFacts;
use lamina_install::wheels::Src;
use lamina_oci::layer::tree::EntryKind;
use lamina_python::wheel::{open_archive, Archive};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A source file the gate could not read again, or read with another size than the layer's.
#[derive(Debug, thiserror::Error)]
pub enum ReadFailed {
    #[error("{}: deleted or changed during the build; the checks could not read it again", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: changed during the build (the image has {expected} bytes of it, the file now {got})", path.display())]
    Changed {
        path: PathBuf,
        expected: u64,
        got: u64,
    },
}

impl lamina_support::diagnostic::Hint for ReadFailed {
    fn hint(&self) -> Option<String> {
        Some(
            "nothing was written or pushed; run the build again once the files stop changing"
                .into(),
        )
    }
}

pub(crate) enum Content {
    Disk { path: PathBuf, size: u64 },
    Zip { wheel: usize, index: usize },
    Bytes(Arc<Vec<u8>>),
}

pub(crate) struct File {
    pub content: Content,
    /// From the source layer (the user's code).
    pub source: bool,
}

pub struct TaskFs<'a> {
    pub(crate) files: HashMap<String, File>,
    pub(crate) dirs: HashSet<String>,
    children: HashMap<String, BTreeSet<String>>,
    built: &'a Built,
    /// Open wheels (reading a zip's directory once, not once per file).
    archives: Mutex<HashMap<usize, Archive>>,
    /// The first source file that could not be read as the layer has it.
    failed: Mutex<Option<ReadFailed>>,
}

fn parent_and_name(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

impl<'a> TaskFs<'a> {
    pub fn new(built: &'a Built) -> TaskFs<'a> {
        let mut files = HashMap::new();
        let mut dirs = HashSet::new();
        if let Some((plan, _)) = &built.deps {
            for (path, kind) in plan.tree.iter() {
                let Some(rel) = path.strip_prefix("var/task/") else {
                    continue;
                };
                let content = match kind {
                    EntryKind::Dir => {
                        dirs.insert(rel.to_string());
                        continue;
                    }
                    EntryKind::File {
                        source: Src::Zip { wheel, index, .. },
                        ..
                    } => Content::Zip {
                        wheel: *wheel,
                        index: *index,
                    },
                    EntryKind::File {
                        source: Src::Bytes(b),
                        ..
                    } => Content::Bytes(b.clone()),
                    EntryKind::Symlink(_) => continue,
                };
                files.insert(
                    rel.to_string(),
                    File {
                        content,
                        source: false,
                    },
                );
            }
        }
        for (path, kind) in built.source_tree.iter() {
            let Some(rel) = path.strip_prefix("var/task/") else {
                continue;
            };
            let content = match kind {
                EntryKind::Dir => {
                    dirs.insert(rel.to_string());
                    continue;
                }
                EntryKind::File { source, size, .. } => Content::Disk {
                    path: source.clone(),
                    size: *size,
                },
                EntryKind::Symlink(_) => Content::Bytes(Arc::new(Vec::new())),
            };
            files.insert(
                rel.to_string(),
                File {
                    content,
                    source: true,
                },
            );
        }
        let mut children: HashMap<String, BTreeSet<String>> = HashMap::new();
        for p in files.keys().chain(dirs.iter()) {
            let (parent, name) = parent_and_name(p);
            children
                .entry(parent.to_string())
                .or_default()
                .insert(name.to_string());
        }
        TaskFs {
            files,
            dirs,
            children,
            built,
            archives: Mutex::new(HashMap::new()),
            failed: Mutex::new(None),
        }
    }

    /// Up to `limit` bytes of a file.
    pub fn bytes(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        match &self.files.get(path)?.content {
            Content::Disk { path, size } => match read_disk(path, *size, limit) {
                Ok(out) => Some(out),
                Err(e) => {
                    if let Ok(mut failed) = self.failed.lock() {
                        failed.get_or_insert(e);
                    }
                    None
                }
            },
            Content::Bytes(b) => Some(b.to_vec()),
            Content::Zip { wheel, index } => {
                let (plan, _) = self.built.deps.as_ref()?;
                let mut open = self.archives.lock().ok()?;
                if !open.contains_key(wheel) {
                    open.insert(*wheel, open_archive(&plan.wheels[*wheel].path).ok()?);
                }
                let z = open.get_mut(wheel)?;
                let mut f = z.by_index(*index).ok()?;
                // Sized up front: growing by doubling held 3x a large `.so` at once.
                let mut out =
                    Vec::with_capacity(f.size().min(limit).min(SoFacts::PREALLOC_LIMIT) as usize);
                f.by_ref().take(limit).read_to_end(&mut out).ok()?;
                Some(out)
            }
        }
    }

    /// The first source file that could not be read as the layer has it, if any.
    pub fn failure(&self) -> Option<ReadFailed> {
        self.failed.lock().ok()?.take()
    }

    /// What the facts cache recorded about a dependency `.so` (not one the source layer replaces).
    pub fn recorded_so(&self, path: &str) -> Option<SoFacts> {
        if self.files.get(path)?.source {
            return None;
        }
        let (plan, _) = self.built.deps.as_ref()?;
        match &plan.recorded {
            Some(recorded) => recorded.elf.get(path).cloned(),
            None => plan.elf.get(path).cloned(),
        }
    }

    /// Every file path (relative to /var/task), sorted.
    pub fn paths(&self) -> Vec<&String> {
        let mut v: Vec<&String> = self.files.keys().collect();
        v.sort();
        v
    }
}

/// Up to `limit` bytes of a source file, which must still have the size the layer recorded (as
/// far as `limit` lets this read see).
fn read_disk(path: &std::path::Path, size: u64, limit: u64) -> Result<Vec<u8>, ReadFailed> {
    let unreadable = |source| ReadFailed::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let want = size.min(limit);
    let mut out = Vec::new();
    std::fs::File::open(path)
        .map_err(unreadable)?
        .take(want + 1)
        .read_to_end(&mut out)
        .map_err(unreadable)?;
    let got = out.len() as u64;
    if (size <= limit && got != size) || (size > limit && got <= limit) {
        return Err(ReadFailed::Changed {
            path: path.to_path_buf(),
            expected: size,
            got,
        });
    }
    out.truncate(want as usize);
    Ok(out)
}

impl TaskTree for TaskFs<'_> {
    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(path)
    }
    fn list(&self, dir: &str) -> Vec<String> {
        self.children
            .get(dir)
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
    }
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.bytes(path, 64 << 20)
    }
    fn is_source(&self, path: &str) -> bool {
        self.files.get(path).is_some_and(|f| f.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_file_is_read_as_the_layer_has_it_or_not_at_all() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.py");
        std::fs::write(&p, b"x = 1\n").unwrap();
        assert_eq!(read_disk(&p, 6, 64).unwrap(), b"x = 1\n");
        assert_eq!(read_disk(&p, 6, 3).unwrap(), b"x =");
        assert!(matches!(
            read_disk(&p, 5, 64),
            Err(ReadFailed::Changed { got: 6, .. })
        ));
        // Past the limit, only a file now shorter than the limit is seen to have changed.
        assert_eq!(read_disk(&p, 9, 3).unwrap(), b"x =");
        assert!(matches!(
            read_disk(&p, 100, 50),
            Err(ReadFailed::Changed { got: 6, .. })
        ));
        std::fs::remove_file(&p).unwrap();
        assert!(matches!(
            read_disk(&p, 6, 64),
            Err(ReadFailed::Unreadable { .. })
        ));
    }
}
