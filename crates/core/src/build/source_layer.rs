//! The source layer: its input key from every file's bytes, and the layer written from the same
//! bytes (a file that changes while it is read fails the build and is never cached). Planning the
//! tree (`.dockerignore`, symlinks) is `project::tree`.

use super::{finish_and_record, BuildError, FromRemote, GZIP_LEVEL, WRITER_VERSION};
use crate::remote_cache::RemoteCache;
use lamina_cache::Cache;
use lamina_install::bytecode::Bytecode;
use lamina_install::compiled::{self, LayerBytecode};
use lamina_oci::layer::{EntryKind, LayerWriter, Tree, WrittenLayer};
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::rc::Rc;

/// The input key of a layer: everything that determines its bytes, including file contents (by
/// their sha256, kept per file so the write can prove it read the same bytes).
fn input_key(tree: &Tree<PathBuf>, epoch: u64) -> Result<(String, FileDigests), BuildError> {
    let mut h = Sha256::new();
    let mut files = FileDigests::new();
    h.update(format!("{WRITER_VERSION}\0gzip{GZIP_LEVEL}\0{epoch}\0"));
    for (path, kind) in tree.iter() {
        h.update(path.as_bytes());
        match kind {
            EntryKind::Dir => h.update(b"\0d\0"),
            EntryKind::Symlink(t) => h.update(format!("\0l\0{t}\0")),
            EntryKind::File {
                source,
                size,
                executable,
            } => {
                h.update(format!("\0f\0{size}\0{executable}\0"));
                let read_err = |e| BuildError::Read {
                    path: source.clone(),
                    source: e,
                };
                let f = File::open(source).map_err(read_err)?;
                let mut fh = Sha256::new();
                let n = io::copy(&mut f.take(*size), &mut fh).map_err(read_err)?;
                if n != *size {
                    return Err(BuildError::Changed {
                        path: source.clone(),
                    });
                }
                let digest: [u8; 32] = fh.finalize().into();
                h.update(digest);
                files.insert(path.clone(), digest);
            }
        }
    }
    Ok((hex::encode(h.finalize()), files))
}

/// Layer path → sha256 of the file's bytes as the input key read them.
type FileDigests = std::collections::HashMap<String, [u8; 32]>;

/// A source file as it streams into the layer: hashed on the way, and compared with the digest the
/// input key was made from once `size` bytes went through. A difference sets `changed` and fails
/// the read, so the layer is never finished, never cached, never shipped.
struct SameBytes {
    inner: io::BufReader<File>,
    hasher: Sha256,
    left: u64,
    expected: [u8; 32],
    source: PathBuf,
    changed: Rc<RefCell<Option<PathBuf>>>,
}

impl Read for SameBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.left = self.left.saturating_sub(n as u64);
        if n > 0 && self.left == 0 {
            let got: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
            if got != self.expected {
                *self.changed.borrow_mut() = Some(self.source.clone());
                return Err(io::Error::other("the file changed while it was read"));
            }
        }
        Ok(n)
    }
}

/// The source layer for `tree`, with the `.pyc` of its modules when `bytecode` is on: (layer,
/// reused, input key, remote entry it came from, its bytecode). The key comes from the sources
/// and the bytecode's key, so a cached layer needs no compiling (nor the base's interpreter).
pub(super) fn write_cached(
    tree: &Tree<PathBuf>,
    bytecode: Option<&Bytecode>,
    epoch: u64,
    cache: &Cache,
    remote: Option<&RemoteCache>,
    log: &mut dyn FnMut(String),
) -> Result<SourceLayer, BuildError> {
    let (mut key, mut digests) = input_key(tree, epoch)?;
    if let Some(b) = bytecode {
        key = hex::encode(Sha256::digest(format!("{key}\0{}", b.key())));
    }
    let note = |cache: &Cache| {
        bytecode
            .and_then(|_| cache.lookup_note::<LayerBytecode>(&key))
            .map(all_cached)
    };
    if let Some(hit) = cache.lookup_layer_or_evict(&key, log) {
        let bc = note(cache);
        return Ok((hit, true, key, None, bc));
    }
    if let Some(hit) = remote.and_then(|r| r.lookup(&key, log)) {
        log(format!("source layer: from the remote cache ({})", hit.tag));
        let bc = bytecode
            .and(
                hit.bytecode
                    .and_then(|v| serde_json::from_value::<LayerBytecode>(v).ok()),
            )
            .map(|mut bc| {
                bc.stats.cached += std::mem::take(&mut bc.stats.compiled);
                bc
            });
        return Ok((hit.layer, true, key, Some((hit.blob, hit.tag)), bc));
    }
    lamina_support::hooks::hook("AFTER_INPUT_KEY");
    let mut with_pyc;
    let mut bc = None;
    let mut tree = tree;
    if let Some(c) = bytecode.map(Bytecode::compiler).transpose()?.flatten() {
        with_pyc = tree.clone();
        let compiled = compiled::add_to_source(&mut with_pyc, c)?;
        // The .pyc files join the digests the write checks (the sources' are the key's).
        digests = input_key(&with_pyc, epoch)?.1;
        cache
            .record_note(&key, &compiled)
            .map_err(|e| BuildError::Cache {
                path: cache.tmp_dir(),
                source: e,
            })?;
        bc = Some(compiled);
        tree = &with_pyc;
    }
    let mut w = LayerWriter::create(&cache.blobs_dir(), &cache.tmp_dir(), epoch, GZIP_LEVEL)?;
    let changed: Rc<RefCell<Option<PathBuf>>> = Rc::default();
    let written = tree.write(
        &mut w,
        |layer_path, path: &PathBuf| -> Result<Box<dyn Read + 'static>, BuildError> {
            let f = File::open(path).map_err(|e| BuildError::Read {
                path: path.clone(),
                source: e,
            })?;
            let size = match tree.get(layer_path) {
                Some(EntryKind::File { size, .. }) => *size,
                _ => 0,
            };
            Ok(Box::new(SameBytes {
                inner: io::BufReader::with_capacity(256 * 1024, f),
                hasher: Sha256::new(),
                left: size,
                expected: digests[layer_path],
                source: path.clone(),
                changed: changed.clone(),
            }))
        },
    );
    if let Some(path) = changed.borrow_mut().take() {
        return Err(BuildError::Changed { path });
    }
    written?;
    let written = finish_and_record(w, &key, cache)?;
    Ok((written, false, key, None, bc))
}

/// A cached layer's bytecode as this build's report says it: nothing compiled, all from the cache.
fn all_cached(mut bc: LayerBytecode) -> LayerBytecode {
    bc.stats.cached += std::mem::take(&mut bc.stats.compiled);
    bc
}

/// (layer, reused, input key, the remote entry it came from, its bytecode).
type SourceLayer = (
    WrittenLayer,
    bool,
    String,
    FromRemote,
    Option<LayerBytecode>,
);
