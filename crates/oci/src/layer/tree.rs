//! A layer's planned contents: path → entry, kept sorted, with every ancestor directory present.
//! Planning first and writing second is what makes layers sorted, duplicate-free and complete
//! regardless of the order a directory walk or a zip file yields entries.

use super::writer::{check_path, LayerWriter, WriteError};
use std::collections::BTreeMap;
use std::io::Read;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind<S> {
    Dir,
    File {
        source: S,
        size: u64,
        executable: bool,
    },
    Symlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<S> {
    pub path: String,
    pub kind: EntryKind<S>,
}

/// Planned layer contents; `S` says where a file's bytes come from (a path, a zip entry, …).
#[derive(Clone, Debug)]
pub struct Tree<S> {
    entries: BTreeMap<String, EntryKind<S>>,
}

impl<S> Default for Tree<S> {
    fn default() -> Self {
        Tree {
            entries: BTreeMap::new(),
        }
    }
}

impl<S: PartialEq> Tree<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry and its missing ancestors. Returns the existing entry's kind if `path` is
    /// already planned differently (the caller decides whether that is an error).
    pub fn insert(
        &mut self,
        path: &str,
        kind: EntryKind<S>,
    ) -> Result<Result<(), &EntryKind<S>>, WriteError> {
        check_path(path)?;
        // Every insert adds the missing ancestors, so a parent that is a directory already has
        // all of its own: only a new parent needs the walk.
        let parent = path.rsplit_once('/').map(|(p, _)| p);
        let walk = match parent.map(|p| self.entries.get(p)) {
            None | Some(Some(EntryKind::Dir)) => false,
            Some(None) => true,
            Some(Some(_)) => {
                return Err(WriteError::BadPath {
                    path: path.into(),
                    reason: "a parent is planned as a file",
                })
            }
        };
        let mut prefix = String::new();
        let comps: Vec<&str> = if walk {
            path.split('/').collect()
        } else {
            vec![path]
        };
        for comp in &comps[..comps.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
            match self.entries.get(&prefix) {
                None => {
                    self.entries.insert(prefix.clone(), EntryKind::Dir);
                }
                Some(EntryKind::Dir) => {}
                Some(_) => {
                    return Err(WriteError::BadPath {
                        path: path.into(),
                        reason: "a parent is planned as a file",
                    })
                }
            }
        }
        if self.entries.contains_key(path) {
            let existing = &self.entries[path];
            if *existing == kind {
                return Ok(Ok(()));
            }
            return Ok(Err(existing));
        }
        self.entries.insert(path.to_string(), kind);
        Ok(Ok(()))
    }

    /// Removes the directory `path` if nothing is planned inside it.
    pub fn remove_if_empty_dir(&mut self, path: &str) {
        let inside = format!("{path}/");
        let has_children = self
            .entries
            .range(inside.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&inside));
        if !has_children && self.entries.get(path) == Some(&EntryKind::Dir) {
            self.entries.remove(path);
        }
    }

    pub fn get(&self, path: &str) -> Option<&EntryKind<S>> {
        self.entries.get(path)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &EntryKind<S>)> {
        self.entries.iter()
    }

    /// Writes every entry in order; `open` yields the bytes of a file entry.
    pub fn write<E>(
        &self,
        w: &mut LayerWriter,
        mut open: impl FnMut(&str, &S) -> Result<Box<dyn Read + 'static>, E>,
    ) -> Result<(), E>
    where
        E: From<WriteError>,
    {
        for (path, kind) in &self.entries {
            match kind {
                EntryKind::Dir => w.dir(path)?,
                EntryKind::Symlink(target) => w.symlink(path, target)?,
                EntryKind::File {
                    source,
                    size,
                    executable,
                } => {
                    let mut r = open(path, source)?;
                    w.file(path, *executable, *size, &mut r)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_ancestors_and_sorts() {
        let mut t: Tree<u32> = Tree::new();
        t.insert(
            "var/task/b-c",
            EntryKind::File {
                source: 1,
                size: 0,
                executable: false,
            },
        )
        .unwrap()
        .unwrap();
        t.insert(
            "var/task/b/c",
            EntryKind::File {
                source: 2,
                size: 0,
                executable: false,
            },
        )
        .unwrap()
        .unwrap();
        let paths: Vec<&str> = t.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "var",
                "var/task",
                "var/task/b",
                "var/task/b-c",
                "var/task/b/c"
            ]
        );
        assert!(t.insert("var/task/b/c", EntryKind::Dir).unwrap().is_err());
        assert!(t.insert("var/task/b-c/x", EntryKind::Dir).is_err());
    }
}
