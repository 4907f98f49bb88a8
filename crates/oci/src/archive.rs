//! `docker-archive:FILE[:NAME:TAG]` as a sink: the `docker save` tarball that `docker load`,
//! `podman load` and `skopeo copy docker-archive:…` accept (`manifest.json`, `<config>.json`,
//! `<diff_id>/layer.tar`). Layers are stored uncompressed, as `docker save` does, and each one is
//! checked against its diff_id while it is decompressed. The file appears only when complete.

use super::layout::set_mode;
use super::{canonical_json, digest_from_hasher, Image};
use flate2::read::GzDecoder;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

impl lamina_support::diagnostic::Hint for ArchiveError {
    fn hint(&self) -> Option<String> {
        match self {
            ArchiveError::Io { source, .. } => source.hint(),
            ArchiveError::Corrupt { .. } => None,
        }
    }
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> ArchiveError + '_ {
    // A layer failing its digest keeps its typed cause: the hint depends on where it came from.
    move |e| ArchiveError::Io {
        path: path.into(),
        source: e,
    }
}

fn header(path: &str, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).expect("short ascii path");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

/// Writes `image` as a docker-archive tarball at `file`, tagged `name` (NAME:TAG) if given.
pub fn write(
    image: &Image,
    file: &Path,
    name: Option<&str>,
    mtime: u64,
) -> Result<(), ArchiveError> {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let err = io_at(file);
    fs::create_dir_all(&parent).map_err(&err)?;
    lamina_support::cleanup::remove_stale(&parent, ".lamina-archive-");
    let tmp = tempfile::Builder::new()
        .prefix(&lamina_support::cleanup::prefix(".lamina-archive-"))
        .tempfile_in(&parent)
        .map_err(&err)?;
    let _interrupted = lamina_support::cleanup::register(tmp.path());
    let mut tar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, tmp));
    let mut layer_paths = Vec::new();
    let mut written = BTreeSet::new();
    for layer in &image.layers {
        let hex = layer.diff_id.digest().to_string();
        let path = format!("{hex}/layer.tar");
        layer_paths.push(path.clone());
        if !written.insert(hex.clone()) {
            continue;
        }
        // The tar header needs the size first: spool the decompressed layer, checking its diff_id.
        // Verify the compressed blob completely first, so a damaged blob is reported as such and
        // not as whatever the decompressor trips over.
        let mut compressed = tempfile::tempfile_in(&parent).map_err(&err)?;
        io::copy(&mut layer.open_verified().map_err(&err)?, &mut compressed).map_err(&err)?;
        compressed.rewind().map_err(&err)?;
        let mut spool = tempfile::tempfile_in(&parent).map_err(&err)?;
        let gz = GzDecoder::new(io::BufReader::new(compressed));
        let mut hashing = HashRead {
            inner: gz,
            hasher: Sha256::new(),
        };
        let size = io::copy(&mut hashing, &mut spool).map_err(&err)?;
        let got = digest_from_hasher(hashing.hasher);
        if got != layer.diff_id {
            return Err(ArchiveError::Corrupt {
                path: file.into(),
                detail: format!(
                    "layer {} decompresses to {got}, not its diff_id {}",
                    layer.digest(),
                    layer.diff_id
                ),
            });
        }
        spool.rewind().map_err(&err)?;
        tar.append(&header(&path, size, mtime), &mut spool)
            .map_err(&err)?;
    }
    let config_name = format!("{}.json", image.config_descriptor().digest().digest());
    let config = image.config_bytes();
    tar.append(&header(&config_name, config.len() as u64, mtime), config)
        .map_err(&err)?;
    let tags: Vec<&str> = name.into_iter().collect();
    let manifest = json!([{ "Config": config_name, "RepoTags": tags, "Layers": layer_paths }]);
    let manifest = canonical_json(&manifest);
    tar.append(
        &header("manifest.json", manifest.len() as u64, mtime),
        &manifest[..],
    )
    .map_err(&err)?;
    let mut out = tar
        .into_inner()
        .map_err(&err)?
        .into_inner()
        .map_err(|e| ArchiveError::Io {
            path: file.into(),
            source: e.into_error(),
        })?;
    out.flush().map_err(&err)?;
    lamina_support::hooks::hook("OUTPUT_TEMP");
    set_mode(out.as_file(), 0o644).map_err(&err)?;
    out.persist(file).map_err(|e| ArchiveError::Io {
        path: file.into(),
        source: e.error,
    })?;
    Ok(())
}

struct HashRead<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
