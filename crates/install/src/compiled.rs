//! Bytecode in a layer: the `.pyc` entries of a source tree (`add_to_source`), what they add to
//! the layer's tar (`tar_len`, computed exactly as the writer lays entries out, so the report can
//! give the size without bytecode without writing the layer twice), and the per-layer summary.
//! Which interpreter compiles, and how, is `crate::bytecode`'s business.

use crate::bytecode::{self, BytecodeError, Compiler, Entry, Module, Stats};
use lamina_oci::layer::tree::{EntryKind, Tree};
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

/// What bytecode did to one layer.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerBytecode {
    pub stats: Stats,
    /// Bytes the bytecode adds to the uncompressed tar (files, `__pycache__` dirs, RECORD rows).
    pub tar_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CompiledError {
    #[error("{path}")]
    Read { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Bytecode(#[from] BytecodeError),
    #[error(transparent)]
    Write(#[from] lamina_oci::layer::writer::WriteError),
}

impl lamina_support::diagnostic::Hint for CompiledError {
    fn hint(&self) -> Option<String> {
        match self {
            CompiledError::Read { source, .. } => source.hint(),
            CompiledError::Bytecode(e) => e.hint(),
            CompiledError::Write(e) => e.hint(),
        }
    }
}

/// Bytes one entry takes in the tar the writer produces: a 512-byte header (plus a GNU long-name
/// entry for paths over 100 bytes) and the data padded to 512. Directories are passed with their
/// trailing `/`, as the writer names them.
pub fn tar_len(path: &str, size: u64) -> u64 {
    let pad = |n: u64| n.div_ceil(512) * 512;
    let long = if path.len() > 100 {
        512 + pad(path.len() as u64 + 1)
    } else {
        0
    };
    long + 512 + pad(size)
}

/// Adds a `.pyc` beside every `.py` file of a source tree (symlinked sources are left to compile
/// at import). Sources are hashed here; only those the store lacks are read again and compiled.
pub fn add_to_source(
    tree: &mut Tree<PathBuf>,
    c: &Compiler,
) -> Result<LayerBytecode, CompiledError> {
    let read_all = |path: &PathBuf| -> Result<Vec<u8>, CompiledError> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| CompiledError::Read {
                path: path.clone(),
                source: e,
            })?;
        Ok(bytes)
    };
    let mut modules = Vec::new();
    let mut files = Vec::new();
    for (path, kind) in tree.iter() {
        if let EntryKind::File { source, .. } = kind {
            if bytecode::is_source(path) {
                let bytes = read_all(source)?;
                modules.push(Module {
                    path: path.clone(),
                    sha256: Sha256::digest(&bytes).into(),
                });
                files.push(source.clone());
            }
        }
    }
    let read = |m: &Module| -> Result<Vec<u8>, CompiledError> {
        let i = modules_index(&modules, &m.path);
        let bytes = read_all(&files[i])?;
        if <[u8; 32]>::from(Sha256::digest(&bytes)) != m.sha256 {
            return Err(CompiledError::Read {
                path: files[i].clone(),
                source: io::Error::other("changed while the layer was built"),
            });
        }
        Ok(bytes)
    };
    let (entries, stats) = c.compile(&modules, read)?;
    let mut tar_bytes = 0;
    for (m, e) in modules.iter().zip(entries) {
        if let Entry::Pyc(file, size) = e {
            let pyc = bytecode::pyc_path(&m.path, c.minor());
            let dir = pyc.rsplit_once('/').map(|(d, _)| d.to_string());
            if let Some(d) = dir.filter(|d| tree.get(d).is_none()) {
                tar_bytes += tar_len(&format!("{d}/"), 0);
            }
            tar_bytes += tar_len(&pyc, size);
            add_pyc(tree, &pyc, file, size)?;
        }
    }
    Ok(LayerBytecode { stats, tar_bytes })
}

/// Puts a compiled module's `.pyc` (where the compiler wrote it, `file`) into `tree` at `pyc`;
/// an entry already there is kept.
pub(crate) fn add_pyc(
    tree: &mut Tree<PathBuf>,
    pyc: &str,
    file: PathBuf,
    size: u64,
) -> Result<(), lamina_oci::layer::writer::WriteError> {
    let kind = EntryKind::File {
        source: file,
        size,
        executable: false,
    };
    tree.insert(pyc, kind)?.ok();
    Ok(())
}

fn modules_index(modules: &[Module], path: &str) -> usize {
    modules
        .binary_search_by(|m| m.path.as_str().cmp(path))
        .expect("modules are in tree order")
}

#[cfg(test)]
mod tests {
    use super::tar_len;
    use lamina_oci::layer::LayerWriter;

    #[test]
    fn tar_len_matches_the_writer() {
        let t = tempfile::tempdir().unwrap();
        let size_of = |entries: &[(&str, usize)]| {
            let mut w = LayerWriter::create(t.path(), &t.path().join("tmp"), 0, 1).unwrap();
            w.dir("var").unwrap();
            for (p, n) in entries {
                w.file(p, false, *n as u64, &mut &vec![b'x'; *n][..])
                    .unwrap();
            }
            w.finish().unwrap().uncompressed_size
        };
        let long = format!("var/{}", "a".repeat(120));
        let exact = format!("var/{}", "b".repeat(96));
        let base = size_of(&[]);
        for (p, n) in [
            ("var/x.pyc", 0usize),
            ("var/y.pyc", 513),
            (long.as_str(), 1000),
            (exact.as_str(), 7),
        ] {
            assert_eq!(size_of(&[(p, n)]) - base, tar_len(p, n as u64), "{p} {n}");
        }
    }
}
