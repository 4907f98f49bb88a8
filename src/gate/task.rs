//! `/var/task` as the image will have it: the dependency layer's plan overlaid by the source
//! layer's, read without writing either (zip entries, files on disk, bytes lamina made).

use crate::build::Built;
use crate::layer::tree::EntryKind;
use crate::layer::wheels::Src;
use crate::python::imports::TaskTree;
use crate::python::wheel::{open_archive, Archive};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub(crate) enum Content {
    Disk(PathBuf),
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
                EntryKind::File { source, .. } => Content::Disk(source.clone()),
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
        }
    }

    /// Up to `limit` bytes of a file.
    pub fn bytes(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        match &self.files.get(path)?.content {
            Content::Disk(p) => {
                let mut out = Vec::new();
                std::fs::File::open(p)
                    .ok()?
                    .take(limit)
                    .read_to_end(&mut out)
                    .ok()?;
                Some(out)
            }
            Content::Bytes(b) => Some(b.to_vec()),
            Content::Zip { wheel, index } => {
                let (plan, _) = self.built.deps.as_ref()?;
                let mut open = self.archives.lock().ok()?;
                if !open.contains_key(wheel) {
                    open.insert(*wheel, open_archive(&plan.wheels[*wheel].path).ok()?);
                }
                let z = open.get_mut(wheel)?;
                let mut f = z.by_index(*index).ok()?;
                let mut out = Vec::new();
                f.by_ref().take(limit).read_to_end(&mut out).ok()?;
                Some(out)
            }
        }
    }

    /// Every file path (relative to /var/task), sorted.
    pub fn paths(&self) -> Vec<&String> {
        let mut v: Vec<&String> = self.files.keys().collect();
        v.sort();
        v
    }
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
