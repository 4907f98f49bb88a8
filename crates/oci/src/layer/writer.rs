//! The deterministic layer writer. One streaming pass: tar → sha256 (diff_id) → gzip → sha256 (digest)
//! → a temporary file, renamed to its digest when complete. Nothing is held in memory but buffers.
//!
//! Lambda tar hygiene is enforced here, for every layer: strictly increasing paths (sorted, no
//! duplicates), a directory entry before anything inside it, no hard links, uid/gid 0 with empty
//! user/group names, modes normalised (dirs 0755; files 0644, or 0755 with any execute bit), one fixed
//! mtime, and a gzip header with neither file name nor mtime. Paths that are absolute, contain `..`,
//! `.` or empty components, or a `.wh.` (OCI whiteout) component are refused.

use super::pgzip::ParallelGz;
use crate::HashingWriter;
use oci_spec::image::Digest;
use std::collections::HashSet;
use std::fs;
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("'{path}' cannot go into a layer: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error(
        "'{path}' comes after '{last}': layer entries must be added in sorted order, once each"
    )]
    Order { path: String, last: String },
    #[error("'{path}' has no directory entry for its parent '{parent}'")]
    NoParent { path: String, parent: String },
    #[error("{path}: changed while the layer was written (expected {expected} bytes, read {got})")]
    Changed {
        path: String,
        expected: u64,
        got: u64,
    },
    #[error("writing layer")]
    Io(#[from] io::Error),
}

impl lamina_support::diagnostic::Hint for WriteError {
    fn hint(&self) -> Option<String> {
        match self {
            WriteError::BadPath { .. } => Some("rename the file, or exclude it in .dockerignore".into()),
            WriteError::Changed { .. } => Some(
                "something wrote to this file during the build: let it finish (or exclude the file in .dockerignore), then build again".into(),
            ),
            WriteError::Io(e) => e.hint(),
            WriteError::Order { .. } | WriteError::NoParent { .. } => None,
        }
    }
}

type Sink = HashingWriter<ParallelGz<HashingWriter<BufWriter<NamedTempFile>>>>;

/// A layer that has been written: its blob is at `path`, named by its digest.
#[derive(Clone, Debug)]
pub struct WrittenLayer {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    pub file_count: u64,
}

pub struct LayerWriter {
    _interrupted: lamina_support::cleanup::Registered,
    tar: tar::Builder<Sink>,
    blobs_dir: PathBuf,
    mtime: u64,
    last: Option<String>,
    dirs: HashSet<String>,
    files: u64,
}

/// Checks a layer path (relative, `/`-separated, no trailing slash).
pub fn check_path(path: &str) -> Result<(), WriteError> {
    let bad = |reason| {
        Err(WriteError::BadPath {
            path: path.into(),
            reason,
        })
    };
    if path.is_empty() {
        return bad("empty path");
    }
    if path.starts_with('/') {
        return bad("absolute path");
    }
    if path.contains('\0') {
        return bad("NUL byte in name");
    }
    for comp in path.split('/') {
        match comp {
            "" => return bad("empty path component"),
            "." | ".." => return bad("'.' or '..' component"),
            c if c.starts_with(".wh.") => {
                return bad("'.wh.' component (an OCI whiteout would delete base files)")
            }
            _ => {}
        }
    }
    Ok(())
}

fn parent_of(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(p, _)| p)
}

impl LayerWriter {
    /// Starts a layer whose blob will land in `blobs_dir/sha256/`; temporary bytes go to `tmp_dir`.
    pub fn create(
        blobs_dir: &Path,
        tmp_dir: &Path,
        mtime: u64,
        level: u32,
    ) -> Result<LayerWriter, WriteError> {
        fs::create_dir_all(tmp_dir)?;
        let file = tempfile::Builder::new()
            .prefix(&lamina_support::cleanup::prefix("layer-"))
            .tempfile_in(tmp_dir)?;
        let interrupted = lamina_support::cleanup::register(file.path());
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8);
        let gz = ParallelGz::new(
            HashingWriter::new(BufWriter::with_capacity(1 << 20, file)),
            level,
            threads,
        )?;
        let mut tar = tar::Builder::new(HashingWriter::new(gz));
        tar.follow_symlinks(false);
        Ok(LayerWriter {
            _interrupted: interrupted,
            tar,
            blobs_dir: blobs_dir.into(),
            mtime,
            last: None,
            dirs: HashSet::new(),
            files: 0,
        })
    }

    fn admit(&mut self, path: &str) -> Result<(), WriteError> {
        check_path(path)?;
        if let Some(last) = &self.last {
            if path <= last.as_str() {
                return Err(WriteError::Order {
                    path: path.into(),
                    last: last.clone(),
                });
            }
        }
        if let Some(parent) = parent_of(path) {
            if !self.dirs.contains(parent) {
                return Err(WriteError::NoParent {
                    path: path.into(),
                    parent: parent.into(),
                });
            }
        }
        self.last = Some(path.to_string());
        Ok(())
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(self.mtime);
        h.set_size(size);
        // new_gnu() leaves the name fields empty: user and group names stay "".
        h
    }

    pub fn dir(&mut self, path: &str) -> Result<(), WriteError> {
        self.admit(path)?;
        let mut h = self.header(tar::EntryType::Directory, 0o755, 0);
        self.tar
            .append_data(&mut h, format!("{path}/"), io::empty())?;
        self.dirs.insert(path.to_string());
        Ok(())
    }

    /// A regular file of exactly `size` bytes read from `data`; `executable` if any x bit was set.
    pub fn file(
        &mut self,
        path: &str,
        executable: bool,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), WriteError> {
        self.admit(path)?;
        let mode = if executable { 0o755 } else { 0o644 };
        let mut h = self.header(tar::EntryType::Regular, mode, size);
        let mut counted = CountingReader {
            inner: data.take(size),
            count: 0,
        };
        self.tar.append_data(&mut h, path, &mut counted)?;
        if counted.count != size {
            return Err(WriteError::Changed {
                path: path.into(),
                expected: size,
                got: counted.count,
            });
        }
        self.files += 1;
        Ok(())
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> Result<(), WriteError> {
        self.admit(path)?;
        let mut h = self.header(tar::EntryType::Symlink, 0o777, 0);
        self.tar.append_link(&mut h, path, target)?;
        self.files += 1;
        Ok(())
    }

    /// Finishes the tar and gzip streams and moves the blob to `sha256/<digest>`.
    pub fn finish(self) -> Result<WrittenLayer, WriteError> {
        let files = self.files;
        let tar_hashing = self.tar.into_inner()?;
        let (gz, diff_id, uncompressed_size) = tar_hashing.finish();
        let gz_hashing = gz.finish()?;
        let (buf, digest, size) = gz_hashing.finish();
        let tmp = buf.into_inner().map_err(|e| e.into_error())?;
        let dir = self.blobs_dir.join("sha256");
        fs::create_dir_all(&dir)?;
        let path = dir.join(digest.digest());
        crate::layout::set_mode(tmp.as_file(), 0o644)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(WrittenLayer {
            path,
            digest,
            size,
            diff_id,
            uncompressed_size,
            file_count: files,
        })
    }
}

/// Counts bytes actually delivered, so a file that shrank mid-build is caught (tar pads short data).
struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_paths() {
        for p in [
            "/abs",
            "a/../b",
            "a//b",
            ".wh.x",
            "a/.wh..wh..opq",
            "./a",
            "",
        ] {
            assert!(check_path(p).is_err(), "{p}");
        }
        for p in ["var", "var/task/a.py", "a/.whx", "a/b.wh.c"] {
            assert!(check_path(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn enforces_order_and_parents() {
        let t = tempfile::tempdir().unwrap();
        let mut w = LayerWriter::create(t.path(), &t.path().join("tmp"), 0, 6).unwrap();
        assert!(matches!(
            w.file("var/x", false, 0, &mut io::empty()),
            Err(WriteError::NoParent { .. })
        ));
        w.dir("var").unwrap();
        assert!(matches!(w.dir("var"), Err(WriteError::Order { .. })));
        w.file("var/a", false, 3, &mut &b"abc"[..]).unwrap();
        assert!(matches!(
            w.file("var/b", false, 4, &mut &b"abc"[..]),
            Err(WriteError::Changed { .. })
        ));
    }

    #[test]
    fn same_entries_same_digest() {
        let t = tempfile::tempdir().unwrap();
        let build = |sub: &str| {
            let mut w =
                LayerWriter::create(&t.path().join(sub), &t.path().join("tmp"), 42, 6).unwrap();
            w.dir("var").unwrap();
            w.file("var/a", true, 2, &mut &b"hi"[..]).unwrap();
            w.symlink("var/b", "a").unwrap();
            w.finish().unwrap()
        };
        let (a, b) = (build("one"), build("two"));
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.diff_id, b.diff_id);
        assert_eq!(a.file_count, 2);
        assert_eq!(a.uncompressed_size % 512, 0);
        let gz = fs::read(&a.path).unwrap();
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "no FNAME flag");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip mtime is zero");
    }
}
