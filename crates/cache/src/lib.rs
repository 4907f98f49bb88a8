//! lamina's local cache: content-addressed blobs (`blobs/sha256/<hex>`, OCI-layout shaped), an
//! index from a layer's input key to the layer that those inputs produce, so an unchanged layer is
//! never re-gzipped, and downloaded wheels (`wheels/sha256/<hex>/<file name>`, verified before they
//! are stored) with what the index listed for each locked requirement (`resolved/<key>`). Every
//! write goes through a temporary file and a rename, so a crashed build can leave garbage in `tmp/`
//! (removed by a later run) but never a blob or index entry whose bytes are wrong. A layer blob
//! damaged afterwards is found on lookup (its digest is checked again whenever the file was written
//! to since it was last checked: another size, mtime, ctime or inode), removed, and the layer is
//! built again with a warning.

use lamina_oci::layer::WrittenLayer;
use lamina_oci::{parse_digest, DirBlobs, VerifyingReader};
use serde_json::json;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// `$LAMINA_CACHE_DIR`, else `$XDG_CACHE_HOME/lamina`, else `~/.cache/lamina`; versioned inside.
    /// A variable that is set but empty counts as unset (an empty path would be the current
    /// directory, and a `src = ["."]` image would then contain the cache).
    pub fn default_location() -> PathBuf {
        use lamina_support::env::EnvVars;
        if let Some(d) = EnvVars::LAMINA_CACHE_DIR.get_os() {
            return PathBuf::from(d);
        }
        if let Some(d) = EnvVars::XDG_CACHE_HOME.get_os() {
            return PathBuf::from(d).join("lamina");
        }
        match EnvVars::HOME.get_os() {
            Some(h) => PathBuf::from(h).join(".cache").join("lamina"),
            None => std::env::temp_dir().join("lamina-cache"),
        }
    }

    pub fn open(root: &Path) -> io::Result<Cache> {
        // Absolute: paths under the cache are handed to processes that run in other directories.
        let root = std::path::absolute(root)?.join("v1");
        fs::create_dir_all(root.join("blobs").join("sha256"))?;
        fs::create_dir_all(root.join("tmp"))?;
        fs::create_dir_all(root.join("layers"))?;
        fs::create_dir_all(root.join("wheels").join("sha256"))?;
        fs::create_dir_all(root.join("resolved"))?;
        // What killed builds left behind (kill -9 cannot be caught).
        lamina_support::cleanup::remove_stale(&root.join("tmp"), "layer-");
        lamina_support::cleanup::remove_stale(&root.join("tmp"), ".tmp-");
        // Other temporaries there (wheel downloads) carry no pid: removed once a day old.
        lamina_support::cleanup::remove_stale(&root.join("tmp"), ".tmp");
        lamina_support::cleanup::remove_stale(&root.join("blobs").join("sha256"), ".tmp-");
        Ok(Cache { root })
    }

    /// The cache's directory (what source walks must skip).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// Results of reading base layers back (by layer digest).
    pub fn scans_dir(&self) -> PathBuf {
        self.root.join("scans")
    }

    /// Base images' interpreters, unpacked (by the base's layer digests).
    pub fn interpreters_dir(&self) -> PathBuf {
        self.root.join("interpreters")
    }

    /// Compiled `.pyc` bytes (by interpreter, in-image path and source hash).
    pub fn bytecode_dir(&self) -> PathBuf {
        self.root.join("bytecode")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn blobs(&self) -> DirBlobs {
        DirBlobs {
            dir: self.blobs_dir(),
            label: format!("cache {}", self.root.display()),
            kind: lamina_oci::Origin::Cache,
        }
    }

    /// Where the wheel with this sha256 and file name lives in the cache (present or not).
    pub fn wheel_path(&self, sha256: &str, filename: &str) -> PathBuf {
        self.root
            .join("wheels")
            .join("sha256")
            .join(sha256)
            .join(filename)
    }

    /// Moves a verified download into the wheel cache.
    pub fn store_wheel(
        &self,
        file: tempfile::NamedTempFile,
        sha256: &str,
        filename: &str,
    ) -> io::Result<PathBuf> {
        let dest = self.wheel_path(sha256, filename);
        fs::create_dir_all(dest.parent().expect("has a parent"))?;
        file.persist(&dest).map_err(|e| e.error)?;
        Ok(dest)
    }

    /// What was recorded under `key` in `resolved/`.
    pub fn lookup_resolved(&self, key: &str) -> Option<serde_json::Value> {
        serde_json::from_slice(&fs::read(self.root.join("resolved").join(key)).ok()?).ok()
    }

    pub fn record_resolved(&self, key: &str, v: &serde_json::Value) -> io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(self.tmp_dir())?;
        tmp.write_all(&lamina_oci::canonical_json(v))?;
        tmp.persist(self.root.join("resolved").join(key))
            .map_err(|e| e.error)?;
        Ok(())
    }

    /// Removes what was recorded under `key` in `resolved/` (absent already is fine).
    pub fn forget_resolved(&self, key: &str) {
        let _ = fs::remove_file(self.root.join("resolved").join(key));
    }

    /// The layer recorded for `key`, if its blob is still present and intact.
    pub fn lookup_layer(&self, key: &str) -> Option<WrittenLayer> {
        self.lookup_layer_or_evict(key, &mut |_| {})
    }

    /// The layer recorded for `key`, if its blob is still present and its bytes match its digest.
    /// A damaged entry is removed (so the caller rebuilds the layer) and `warn` is told why.
    pub fn lookup_layer_or_evict(
        &self,
        key: &str,
        warn: &mut dyn FnMut(String),
    ) -> Option<WrittenLayer> {
        let entry = self.root.join("layers").join(key);
        let text = fs::read(&entry).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
        let digest = parse_digest(v["digest"].as_str()?)?;
        let path = self.blobs_dir().join("sha256").join(digest.digest());
        let size = v["size"].as_u64()?;
        // Checked before and not written to since (same stat): no need to hash it again.
        let marker = self.root.join("layers").join(format!("{key}.checked"));
        let stamp = blob_stamp(&path);
        let unchanged = stamp.is_some() && fs::read_to_string(&marker).ok() == stamp;
        let damage = match fs::File::open(&path) {
            Ok(_) if unchanged => None,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => Some(e.to_string()),
            Ok(f) => {
                let mut check = VerifyingReader::new(
                    io::BufReader::new(f),
                    digest.clone(),
                    Some(size),
                    String::new(),
                );
                io::copy(&mut check, &mut io::sink())
                    .err()
                    .map(|_| "its bytes do not match its digest".to_string())
            }
        };
        if let Some(why) = damage {
            let _ = fs::remove_file(&path);
            let _ = fs::remove_file(&entry);
            let _ = fs::remove_file(&marker);
            warn(format!(
                "warning: the cached layer {digest} in {} was damaged ({why}); removed it and built the layer again",
                self.root.display()
            ));
            return None;
        }
        if !unchanged {
            if let Some(stamp) = stamp {
                let _ = self.write_small(&marker, stamp.as_bytes());
            }
        }
        Some(WrittenLayer {
            path,
            digest,
            size,
            diff_id: parse_digest(v["diff_id"].as_str()?)?,
            uncompressed_size: v["uncompressed_size"].as_u64()?,
            file_count: v["file_count"].as_u64()?,
        })
    }

    /// A note kept beside a layer's record (what its bytecode step did, for the report of a
    /// rebuild that reuses the layer).
    pub fn lookup_note<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let text = fs::read(self.root.join("layers").join(format!("{key}.note.json"))).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn record_note<T: serde::Serialize>(&self, key: &str, note: &T) -> io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(self.tmp_dir())?;
        tmp.write_all(&serde_json::to_vec(note).map_err(io::Error::other)?)?;
        tmp.persist(self.root.join("layers").join(format!("{key}.note.json")))
            .map_err(|e| e.error)?;
        Ok(())
    }

    /// Whether this machine saw remote cache entry `tag` in `repo` (it recorded or used it), so a
    /// later build need not ask the registry whether the entry is there.
    pub fn knows_remote_entry(&self, repo: &str, tag: &str) -> bool {
        self.remote_marker(repo, tag).exists()
    }

    /// Notes that remote cache entry `tag` is in `repo`.
    pub fn remember_remote_entry(&self, repo: &str, tag: &str) -> io::Result<()> {
        let path = self.remote_marker(repo, tag);
        fs::create_dir_all(path.parent().expect("has a parent"))?;
        self.write_small(&path, b"")
    }

    fn remote_marker(&self, repo: &str, tag: &str) -> PathBuf {
        use sha2::Digest as _;
        let h = sha2::Sha256::digest(format!("{repo}\0{tag}"));
        self.root.join("remote").join(hex::encode(h))
    }

    /// Remembers that `key` produces `layer` (whose blob is already in the cache).
    pub fn record_layer(&self, key: &str, layer: &WrittenLayer) -> io::Result<()> {
        let v = json!({
            "digest": layer.digest.to_string(),
            "size": layer.size,
            "diff_id": layer.diff_id.to_string(),
            "uncompressed_size": layer.uncompressed_size,
            "file_count": layer.file_count,
        });
        let dir = self.root.join("layers");
        let mut tmp = tempfile::Builder::new()
            .prefix(&lamina_support::cleanup::prefix(".tmp-"))
            .tempfile_in(self.tmp_dir())?;
        tmp.write_all(&lamina_oci::canonical_json(&v))?;
        tmp.persist(dir.join(key)).map_err(|e| e.error)?;
        // Just written from the bytes that made its digest: checked.
        if let Some(stamp) = blob_stamp(&layer.path) {
            let _ = self.write_small(&dir.join(format!("{key}.checked")), stamp.as_bytes());
        }
        Ok(())
    }

    /// Writes a small file atomically (temporary file, then rename).
    fn write_small(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(&lamina_support::cleanup::prefix(".tmp-"))
            .tempfile_in(self.tmp_dir())?;
        tmp.write_all(bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// What changes whenever a file is written to: size, mtime and ctime (seconds, nanoseconds),
/// inode and device. Kept beside a checked blob, a hashed wheel, and a wheel being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub ino: u64,
    pub dev: u64,
}

impl Stamp {
    pub fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(path).ok()?;
        Some(Stamp {
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        })
    }
}

/// A blob's stamp as the `.checked` file holds it.
fn blob_stamp(path: &Path) -> Option<String> {
    let s = Stamp::of(path)?;
    Some(format!(
        "{} {}.{} {}.{} {} {}",
        s.size, s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1, s.ino, s.dev
    ))
}

#[cfg(test)]
mod stamp_tests {
    #[test]
    fn a_write_changes_the_stamp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("blob");
        std::fs::write(&p, b"abc").unwrap();
        let a = super::blob_stamp(&p).unwrap();
        std::fs::write(&p, b"abd").unwrap();
        assert_ne!(super::blob_stamp(&p).unwrap(), a);
    }
}
