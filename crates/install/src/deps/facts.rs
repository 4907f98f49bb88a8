//! What the plan and the gate learned about a dependency layer, kept by the layer's input key so a
//! rebuild with the same wheels (here, or on another runner through the remote cache) plans the
//! layer and runs the gate without opening a wheel: every planned entry (path, size, which wheel,
//! zip entry and RECORD hash), each wheel's METADATA header and top-level names, every `.so`'s ELF
//! machine and GLIBC needs, and the dependency modules the import check parsed. Stored as
//! `facts/<key>.json`, written through a temporary file and a rename (a crashed build leaves no
//! half entry); an entry that does not parse, or has another version, is a miss with a warning.
//! It does not decide when facts may be used: `build` does.

use crate::wheels::{DepsPlan, Src};
use lamina_analysis::imports::Parsed;
use lamina_cache::Cache;
use lamina_oci::layer::tree::{EntryKind, Tree};
use lamina_python::wheel::Wheel;
use lamina_python::wheel_name::WheelName;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Bump when the meaning of a field changes: older entries are then misses. (2: a damaged ELF is
/// `SoFacts::Damaged`, no longer `Nothing`. 3: modules record `all_changed`; `.so` facts hold
/// their `DT_NEEDED`, run paths and soname. 4: modules record lazy-import tables.)
pub const VERSION: u32 = 4;

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct DepsFacts {
    pub version: u32,
    pub wheels: Vec<WheelFacts>,
    /// Every planned entry of the layer, in order.
    pub entries: Vec<EntryFacts>,
    pub warnings: Vec<String>,
    pub unpacked: u64,
    /// Each `.so` under /var/task (path relative to it).
    pub elf: BTreeMap<String, SoFacts>,
    /// Dependency modules the gate parsed (path relative to /var/task).
    pub modules: BTreeMap<String, Parsed>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct WheelFacts {
    pub filename: String,
    pub dist_info: String,
    pub data_dir: String,
    /// METADATA up to its first blank line (the headers: Requires-Dist, …).
    pub metadata: String,
    /// `top_level.txt`, when the wheel has one.
    pub top_level: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EntryFacts {
    pub path: String,
    pub kind: EntryFactKind,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub enum EntryFactKind {
    Dir,
    Symlink(String),
    File {
        size: u64,
        executable: bool,
        /// The wheel that installs it (index into `wheels`), for the size report.
        owner: Option<usize>,
        /// (wheel, zip entry index, RECORD sha256 hex) for files copied from a wheel; none for
        /// files lamina made (RECORD, entry-point scripts), whose bytes are not kept.
        zip: Option<(usize, usize, String)>,
    },
}

/// What the gate needs to know about one shared object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SoFacts {
    Elf {
        machine: String,
        max_glibc: Option<(u32, u32)>,
        /// What the dynamic loader reads: needed sonames, search paths, own soname.
        #[serde(default)]
        dynamic: Dynamic,
    },
    /// Not empty and not ELF.
    NotElf,
    /// An ELF whose headers point outside the file: its needs cannot be checked (a warning).
    Damaged(String),
    /// Empty or unreadable: nothing to report.
    Nothing,
}

/// A shared object's `.dynamic` entries that decide whether it loads.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Dynamic {
    pub needed: Vec<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    pub soname: Option<String>,
}

impl SoFacts {
    /// The most of a `.so` read to learn its facts.
    pub const READ_LIMIT: u64 = 512 << 20;
    /// The most reserved for a file's bytes before they are read (a declared size is not
    /// believed further than this until the bytes are there).
    pub const PREALLOC_LIMIT: u64 = 64 << 20;

    /// Whether the file at `path` is a shared library whose facts the gate checks.
    pub fn applies_to(path: &str) -> bool {
        path.ends_with(".so") || path.contains(".so.")
    }

    pub fn of(bytes: &[u8]) -> SoFacts {
        use lamina_analysis::elf::{inspect, ElfError};
        match inspect(bytes) {
            Ok(i) => SoFacts::Elf {
                machine: i.machine,
                max_glibc: i.max_glibc,
                dynamic: Dynamic {
                    needed: i.needed,
                    rpath: i.rpath,
                    runpath: i.runpath,
                    soname: i.soname,
                },
            },
            Err(ElfError::NotElf) if bytes.is_empty() => SoFacts::Nothing,
            Err(ElfError::NotElf) => SoFacts::NotElf,
            Err(e @ ElfError::Damaged(_)) => SoFacts::Damaged(e.to_string()),
        }
    }
}

/// What the gate learned about the dependency layer's files while checking it.
#[derive(Debug, Default, Clone)]
pub struct Learned {
    pub elf: BTreeMap<String, SoFacts>,
    pub modules: BTreeMap<String, Parsed>,
}

fn metadata_headers(m: &str) -> String {
    let end = m
        .find("\n\n")
        .or_else(|| m.find("\r\n\r\n"))
        .unwrap_or(m.len());
    m[..end].to_string()
}

impl DepsFacts {
    /// Facts from a plan read from the wheels, and what the gate learned about its files.
    pub fn from_plan(plan: &DepsPlan, learned: &Learned) -> DepsFacts {
        let wheels = plan
            .wheels
            .iter()
            .enumerate()
            .map(|(wi, w)| WheelFacts {
                filename: w.name.filename.clone(),
                dist_info: w.dist_info.clone(),
                data_dir: w.data_dir.clone(),
                metadata: metadata_headers(&w.metadata),
                top_level: plan.top_level(wi).map(|s| {
                    let mut v: Vec<String> = s.into_iter().collect();
                    v.sort();
                    v
                }),
            })
            .collect();
        let entries = plan
            .tree
            .iter()
            .map(|(path, kind)| EntryFacts {
                path: path.clone(),
                kind: match kind {
                    EntryKind::Dir => EntryFactKind::Dir,
                    EntryKind::Symlink(t) => EntryFactKind::Symlink(t.clone()),
                    EntryKind::File {
                        source,
                        size,
                        executable,
                    } => EntryFactKind::File {
                        size: *size,
                        executable: *executable,
                        owner: path
                            .strip_prefix("var/task/")
                            .and_then(|rel| plan.owner.get(rel).copied()),
                        zip: match source {
                            Src::Zip {
                                wheel,
                                index,
                                expected,
                            } => Some((*wheel, *index, hex::encode(expected))),
                            Src::Bytes(_) => None,
                        },
                    },
                },
            })
            .collect();
        let mut modules = plan
            .recorded
            .as_ref()
            .map(|r| r.modules.clone())
            .unwrap_or_default();
        modules.extend(learned.modules.clone());
        let mut elf = plan
            .recorded
            .as_ref()
            .map(|r| r.elf.clone())
            .unwrap_or_default();
        elf.extend(learned.elf.clone());
        DepsFacts {
            version: VERSION,
            wheels,
            entries,
            warnings: plan.warnings.clone(),
            unpacked: plan.unpacked,
            elf,
            modules,
        }
    }

    /// The plan these facts describe, its wheels at `paths` (which need not exist: a file is read
    /// only if the gate needs one the facts do not cover).
    pub fn to_plan(&self, paths: &[PathBuf]) -> Option<DepsPlan> {
        if paths.len() != self.wheels.len() {
            return None;
        }
        let mut wheels = Vec::new();
        for (w, path) in self.wheels.iter().zip(paths) {
            wheels.push(Wheel {
                path: path.clone(),
                name: WheelName::parse(&w.filename).ok()?,
                dist_info: w.dist_info.clone(),
                data_dir: w.data_dir.clone(),
                entries: Vec::new(),
                record: HashMap::new(),
                entry_points: Vec::new(),
                metadata: w.metadata.clone(),
            });
        }
        let mut tree: Tree<Src> = Tree::new();
        let mut owner = HashMap::new();
        for e in &self.entries {
            let kind = match &e.kind {
                EntryFactKind::Dir => EntryKind::Dir,
                EntryFactKind::Symlink(t) => EntryKind::Symlink(t.clone()),
                EntryFactKind::File {
                    size,
                    executable,
                    owner: o,
                    zip,
                } => {
                    if let (Some(o), Some(rel)) = (o, e.path.strip_prefix("var/task/")) {
                        owner.insert(rel.to_string(), *o);
                    }
                    let source = match zip {
                        Some((wheel, index, hash)) => Src::Zip {
                            wheel: *wheel,
                            index: *index,
                            expected: hex::decode(hash).ok()?.try_into().ok()?,
                        },
                        None => Src::Bytes(Arc::new(Vec::new())),
                    };
                    EntryKind::File {
                        source,
                        size: *size,
                        executable: *executable,
                    }
                }
            };
            tree.insert(&e.path, kind).ok()?.ok()?;
        }
        Some(DepsPlan {
            wheels,
            tree,
            warnings: self.warnings.clone(),
            unpacked: self.unpacked,
            owner,
            records: Vec::new(),
            recorded: Some(Arc::new(self.clone())),
            elf: BTreeMap::new(),
        })
    }

    /// The facts recorded under `key`, if any. A damaged entry is removed and `warn` told why.
    pub fn load(cache: &Cache, key: &str, warn: &mut dyn FnMut(String)) -> Option<DepsFacts> {
        let path = dir(cache).join(format!("{key}.json"));
        let bytes = std::fs::read(&path).ok()?;
        match serde_json::from_slice::<DepsFacts>(&bytes) {
            Ok(f) if f.version == VERSION => Some(f),
            Ok(_) => None,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                warn(format!(
                    "warning: the cached facts {} do not parse ({e}); removed them, reading the wheels again",
                    path.display()
                ));
                None
            }
        }
    }

    /// Records the facts under `key` (atomically).
    pub fn store(&self, cache: &Cache, key: &str) -> io::Result<()> {
        let d = dir(cache);
        std::fs::create_dir_all(&d)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(&lamina_support::cleanup::prefix(".tmp-"))
            .tempfile_in(cache.tmp_dir())?;
        tmp.write_all(&serde_json::to_vec(self).map_err(io::Error::other)?)?;
        tmp.as_file().sync_all()?;
        tmp.persist(d.join(format!("{key}.json")))
            .map_err(|e| e.error)?;
        Ok(())
    }
}

fn dir(cache: &Cache) -> PathBuf {
    cache.root().join("facts")
}

/// Records what the plan and the gate know about the dependency layer `key`, unless the facts
/// it came from already say all of it.
pub fn remember(cache: &Cache, key: &str, plan: &DepsPlan, learned: &Learned) -> io::Result<()> {
    if let Some(r) = &plan.recorded {
        let new = learned.modules.keys().any(|k| !r.modules.contains_key(k))
            || learned.elf.keys().any(|k| !r.elf.contains_key(k));
        if !new {
            return Ok(());
        }
    }
    DepsFacts::from_plan(plan, learned).store(cache, key)
}
