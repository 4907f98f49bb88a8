//! Bytecode for the dependency layer, as pip's compile step leaves it: every installed `.py`
//! (packages, `.data` files and scripts alike) gets its `.pyc`, and each wheel's RECORD lists the
//! `.pyc` files of its sources as `path,,` rows (no hash, no size: what pip writes). Sources are
//! read from the wheels only when the store does not have their bytecode yet, and each is checked
//! against its RECORD hash before it is compiled, so a lying wheel can never put wrong bytecode
//! in the cache. The `.pyc` bytes stay in the cache; the layer streams them from there.

use super::plan::record_bytes;
use super::{DepsPlan, Src, WheelsError};
use crate::bytecode::{self, Compiler, Entry, Module};
use crate::compiled::{add_pyc, tar_len, LayerBytecode};
use lamina_oci::layer::tree::{EntryKind, Tree};
use lamina_python::wheel::{open_archive, Archive, WheelError};
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;

/// What bytecode adds to the dependency layer: new files (in the cache) and rewritten RECORDs.
#[derive(Default)]
pub struct Extra {
    pub files: Tree<PathBuf>,
    pub replace: HashMap<String, Vec<u8>>,
}

/// Compiles every `.py` in the plan; returns what to add to the layer and the report.
pub fn compile(plan: &DepsPlan, c: &Compiler) -> Result<(Extra, LayerBytecode), WheelsError> {
    let mut modules = Vec::new();
    let mut sources: Vec<&Src> = Vec::new();
    for (path, kind) in plan.tree.iter() {
        if let EntryKind::File { source, .. } = kind {
            if !bytecode::is_source(path) {
                continue;
            }
            let sha256 = match source {
                Src::Zip { expected, .. } => *expected,
                Src::Bytes(b) => Sha256::digest(&b[..]).into(),
            };
            modules.push(Module {
                path: path.clone(),
                sha256,
            });
            sources.push(source);
        }
    }
    let index: HashMap<&str, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.as_str(), i))
        .collect();
    let mut archives: Vec<Option<Archive>> = plan.wheels.iter().map(|_| None).collect();
    let read = |m: &Module| -> Result<Vec<u8>, WheelsError> {
        match sources[index[m.path.as_str()]] {
            Src::Bytes(b) => Ok(b.to_vec()),
            Src::Zip { wheel, index, .. } => {
                let wh = &plan.wheels[*wheel];
                if archives[*wheel].is_none() {
                    archives[*wheel] = Some(open_archive(&wh.path)?);
                }
                let zip = archives[*wheel].as_mut().expect("opened");
                let mut f = zip.by_index(*index).map_err(|source| WheelError::Zip {
                    wheel: wh.name.filename.clone(),
                    source,
                })?;
                let mut bytes = Vec::with_capacity(f.size() as usize);
                f.read_to_end(&mut bytes)
                    .map_err(|source| WheelError::Entry {
                        at: format!("{}: {}", wh.name.filename, m.path),
                        source,
                    })?;
                if <[u8; 32]>::from(Sha256::digest(&bytes)) != m.sha256 {
                    return Err(WheelsError::Record {
                        wheel: wh.name.filename.clone(),
                        path: m.path.trim_start_matches("var/task/").to_string(),
                        problem: "does not match its RECORD hash".into(),
                    });
                }
                Ok(bytes)
            }
        }
    };
    let (entries, stats) = c.compile(&modules, read)?;
    let mut extra = Extra::default();
    let mut compiled: HashSet<String> = HashSet::new();
    let mut tar_bytes = 0u64;
    for (m, e) in modules.iter().zip(entries) {
        if let Entry::Pyc(file, size) = e {
            let pyc = bytecode::pyc_path(&m.path, c.minor());
            tar_bytes += tar_len(&pyc, size);
            add_pyc(&mut extra.files, &pyc, file, size)?;
            compiled.insert(m.path.clone());
        }
    }
    for (path, kind) in extra.files.iter() {
        if matches!(kind, EntryKind::Dir) && plan.tree.get(path).is_none() {
            tar_bytes += tar_len(&format!("{path}/"), 0);
        }
    }
    for r in &plan.records {
        let mut rows = r.rows.clone();
        for s in &r.sources {
            if compiled.contains(&format!("{}/{s}", super::TASK_ROOT)) {
                rows.push(format!(
                    "{},,",
                    csv_field(&bytecode::pyc_path(s, c.minor()))
                ));
            }
        }
        if rows.len() == r.rows.len() {
            continue;
        }
        let old = record_bytes(&r.rows).len() as u64;
        let new = record_bytes(&rows);
        tar_bytes += tar_len(&r.path, new.len() as u64) - tar_len(&r.path, old);
        extra.replace.insert(r.path.clone(), new);
    }
    Ok((extra, LayerBytecode { stats, tar_bytes }))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
