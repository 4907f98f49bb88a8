//! Compiled results on disk, keyed by (interpreter identity, in-image path, sha256 of the source):
//! `<dir>/<first two hex>/<key>.pyc` holds the bytes, `<key>.err` the message of a source that does
//! not compile. An unchanged file is never compiled twice, and the bytes of a whole dependency
//! layer's bytecode never have to sit in memory: layers read them from here. Entries are written
//! to a temporary file and renamed, so an interrupted build leaves no wrong entry. This module does
//! not compile (`pool`) and knows nothing of layers.

use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bump when the bytes produced for the same inputs could change (the driver, the mode).
pub(crate) const FORMAT: &str = "lamina-pyc-v2-unchecked-hash-fork-per-file";

#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    tmp: PathBuf,
    identity: String,
}

/// What the store knows about one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The `.pyc` is at this path, this many bytes long.
    Pyc(PathBuf, u64),
    /// The source does not compile: the interpreter's message.
    Failed(String),
}

impl Store {
    pub fn new(dir: &Path, tmp: &Path, identity: &str) -> Store {
        Store {
            dir: dir.to_path_buf(),
            tmp: tmp.to_path_buf(),
            identity: identity.to_string(),
        }
    }

    fn key(&self, path: &str, sha256: &[u8; 32]) -> (PathBuf, String) {
        let mut h = Sha256::new();
        h.update(format!("{FORMAT}\0{}\0{path}\0", self.identity));
        h.update(sha256);
        let k = hex::encode(h.finalize());
        (self.dir.join(&k[..2]), k)
    }

    pub fn get(&self, path: &str, sha256: &[u8; 32]) -> Option<Entry> {
        let (dir, k) = self.key(path, sha256);
        let pyc = dir.join(format!("{k}.pyc"));
        if let Ok(m) = fs::metadata(&pyc) {
            return Some(Entry::Pyc(pyc, m.len()));
        }
        fs::read_to_string(dir.join(format!("{k}.err")))
            .ok()
            .map(Entry::Failed)
    }

    /// Records a result; returns the entry as stored.
    pub fn put(
        &self,
        path: &str,
        sha256: &[u8; 32],
        result: &Result<Vec<u8>, String>,
    ) -> io::Result<Entry> {
        let (dir, k) = self.key(path, sha256);
        fs::create_dir_all(&dir)?;
        fs::create_dir_all(&self.tmp)?;
        let (name, bytes) = match result {
            Ok(pyc) => (format!("{k}.pyc"), pyc.as_slice()),
            Err(msg) => (format!("{k}.err"), msg.as_bytes()),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&self.tmp)?;
        tmp.write_all(bytes)?;
        let dest = dir.join(name);
        tmp.persist(&dest).map_err(|e| e.error)?;
        Ok(match result {
            Ok(pyc) => Entry::Pyc(dest, pyc.len() as u64),
            Err(msg) => Entry::Failed(msg.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_by_identity_path_and_source() {
        let t = tempfile::tempdir().unwrap();
        let a = Store::new(&t.path().join("s"), &t.path().join("tmp"), "interp-a");
        let b = Store::new(&t.path().join("s"), &t.path().join("tmp"), "interp-b");
        let h = [7u8; 32];
        assert_eq!(a.get("var/task/x.py", &h), None);
        let e = a.put("var/task/x.py", &h, &Ok(b"pyc".to_vec())).unwrap();
        assert_eq!(a.get("var/task/x.py", &h), Some(e));
        assert_eq!(b.get("var/task/x.py", &h), None, "another interpreter");
        assert_eq!(a.get("var/task/y.py", &h), None, "another path");
        assert_eq!(a.get("var/task/x.py", &[8u8; 32]), None, "another source");
        a.put("var/task/bad.py", &h, &Err("SyntaxError".into()))
            .unwrap();
        assert_eq!(
            a.get("var/task/bad.py", &h),
            Some(Entry::Failed("SyntaxError".into()))
        );
    }
}
