//! Each local wheel file's sha256, remembered by what changes whenever the file is written to
//! (absolute path, size, mtime to the nanosecond, ctime, inode, device), so an unchanged wheel
//! directory is not hashed again. Entries are `hashes/<sha256 of that stat line>` holding the hex
//! digest, written through a temporary file and a rename; one that does not read as a digest is
//! a miss. It does not check a hash against a lock: callers do.

use lamina_cache::{Cache, Stamp};
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

fn entry(cache: &Cache, path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    let s = Stamp::of(&abs)?;
    let line = format!(
        "{}\0{}\0{}.{}\0{}.{}\0{}\0{}",
        abs.display(),
        s.size,
        s.mtime.0,
        s.mtime.1,
        s.ctime.0,
        s.ctime.1,
        s.ino,
        s.dev
    );
    Some(
        cache
            .root()
            .join("hashes")
            .join(hex::encode(Sha256::digest(line.as_bytes()))),
    )
}

/// The sha256 (lowercase hex) of a local file, from the cache when its stat is unchanged.
pub fn sha256(cache: &Cache, path: &Path) -> Result<String, super::DepsError> {
    let e = entry(cache, path);
    if let Some(e) = &e {
        if let Ok(s) = std::fs::read_to_string(e) {
            if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(s);
            }
        }
    }
    let got = super::sha256_file(path)?;
    // Remember it only if the file did not change while it was read (same stat afterwards).
    if let Some(e) = e.filter(|e| entry(cache, path).as_ref() == Some(e)) {
        let _ = remember(cache, &e, &got);
    }
    Ok(got)
}

fn remember(cache: &Cache, entry: &Path, hex: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(entry.parent().expect("has a parent"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&lamina_support::cleanup::prefix(".tmp-"))
        .tempfile_in(cache.tmp_dir())?;
    tmp.write_all(hex.as_bytes())?;
    tmp.persist(entry).map_err(|e| e.error)?;
    Ok(())
}
