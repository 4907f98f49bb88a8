//! The dependency layer's inputs: which wheel files (file name and sha256) the layer is made of,
//! and where their bytes come from: a `--wheels` directory, or a lock (`--lock`) whose wheels are
//! on disk, in lamina's wheel cache, or on an index. `inputs` decides *what* without downloading a
//! wheel (a pylock names its wheels and hashes; a requirements file needs each project's index page,
//! remembered in the cache so a warm build asks nothing), so the layer's cache key can be computed
//! from names and hashes alone. `materialize_and_plan` then supplies the files, downloading in
//! parallel into the content-addressed wheel cache only what is missing (`--offline` refuses to
//! download), and plans each wheel as soon as it is there.

pub mod facts;
mod fetch;
mod hashes;
mod resolve;

pub use fetch::{materialize_and_plan, LazyClient};
pub use resolve::{index_urls, Listing};

use crate::wheels::{self, WheelsError};
use lamina_cache::Cache;
use lamina_python::index::IndexError;
use lamina_python::lock::{self, Candidate, Location, Lock, LockError, Need};
use lamina_python::tags::{Ranking, Target};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The dependency layer's inputs.
#[derive(Debug, Clone, Default)]
pub struct DepsConfig {
    /// `--wheels`: a directory of wheels (with a lock: a local source for the lock's files).
    pub dir: Option<PathBuf>,
    /// `--lock`: pylock.toml or a hashed requirements.txt.
    pub lock: Option<PathBuf>,
    /// `--index-url` / `index_url`.
    pub index_url: Option<String>,
    /// `--extra-index-url` / `extra_index_url`.
    pub extra_index_urls: Vec<String>,
    /// `--offline`: never go to the network for wheels.
    pub offline: bool,
    pub python: Option<u32>,
    pub glibc: Option<(u32, u32)>,
    pub allow_bad_record: Vec<String>,
    pub max_unpacked: u64,
    /// Accept `linux_<arch>` wheels (locally built; no manylinux glibc promise).
    pub allow_linux_tag: bool,
}

/// Downloads in flight at once.
pub const PARALLEL: usize = 8;
pub const PYPI: &str = "https://pypi.org/simple";

#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Wheels(#[from] WheelsError),
    #[error("{package}: {what} is not in the cache, and --offline forbids the network")]
    Offline { package: String, what: String },
    /// A download that failed its check, from a URL whose file name is not the one listed.
    #[error("the index listed {served} as {listed}")]
    Mislabelled {
        listed: String,
        served: String,
        source: IndexError,
    },
    #[error("{package}: no such project on {indexes}")]
    NoProject { package: String, indexes: String },
    #[error("{path}: its sha256 is {got}, the lock says {expected}")]
    LocalHash {
        path: PathBuf,
        expected: String,
        got: String,
    },
    #[error("{path}")]
    Io { path: PathBuf, source: io::Error },
}

impl lamina_support::diagnostic::Hint for DepsError {
    fn hint(&self) -> Option<String> {
        match self {
            DepsError::Lock(e) => e.hint(),
            DepsError::Index(e) => e.hint(),
            DepsError::Wheels(e) => e.hint(),
            DepsError::Offline { .. } => Some(
                "build once without --offline (same LAMINA_CACHE_DIR and index URLs) to fill the cache".into(),
            ),
            DepsError::Mislabelled { .. } => Some(
                "the index mislabelled the file (its link names one wheel, its URL serves another); nothing was installed: tell the index's operator, or use another index".into(),
            ),
            DepsError::NoProject { .. } => Some(
                "check the project's name in the lock and the index URL (--index-url; --extra-index-url for another index that has it)".into(),
            ),
            DepsError::LocalHash { .. } => Some(
                "the file is not the one the lock was written for: replace it, or relock".into(),
            ),
            DepsError::Io { .. } => None,
        }
    }
}

/// One wheel of the layer.
#[derive(Clone, Debug)]
pub struct Input {
    /// Normalized project name.
    pub package: String,
    pub filename: String,
    /// Lowercase hex.
    pub sha256: String,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub enum Origin {
    /// A file on disk; `verified` once its hash has been computed here.
    Local { path: PathBuf, verified: bool },
    /// From the wheel cache, else downloaded from `url` (no credentials in it); `listing` when
    /// the URL came from an index page.
    Remote {
        url: String,
        size: Option<u64>,
        listing: Option<Listing>,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DepsError + '_ {
    move |e| DepsError::Io {
        path: path.into(),
        source: e,
    }
}

pub fn sha256_file(path: &Path) -> Result<String, DepsError> {
    lamina_support::hooks::hook("READ_WHEEL");
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h).map_err(io_err(path))?;
    Ok(hex::encode(h.finalize()))
}

/// Where each input's file is, or would be once materialized (a local path, else the wheel cache).
pub fn wheel_paths(inputs: &[Input], cache: &Cache) -> Vec<PathBuf> {
    inputs
        .iter()
        .map(|i| match &i.origin {
            Origin::Local { path, .. } => path.clone(),
            Origin::Remote { .. } => cache.wheel_path(&i.sha256, &i.filename),
        })
        .collect()
}

/// Records the listings of inputs whose files are in the wheel cache (checked when they were
/// stored): for a layer found in a cache, which downloads nothing.
pub fn keep_listings(inputs: &[Input], cache: &Cache) -> Result<(), DepsError> {
    for i in inputs {
        if let Origin::Remote {
            listing: Some(l), ..
        } = &i.origin
        {
            if cache.wheel_path(&i.sha256, &i.filename).is_file() {
                l.keep(cache)?;
            }
        }
    }
    Ok(())
}

/// What the dependency layer is made of, decided without downloading a wheel.
pub fn inputs(
    deps: &DepsConfig,
    target: &Target,
    ranking: &Ranking,
    cache: &Cache,
    client: &LazyClient,
    log: &mut dyn FnMut(String),
) -> Result<Vec<Input>, DepsError> {
    let Some(lock_path) = &deps.lock else {
        let dir = deps.dir.as_ref().expect("a dependency input");
        let (chosen, warnings) = wheels::select(dir, ranking, target)?;
        for w in &warnings {
            log(format!("warning: {w}"));
        }
        return lamina_support::parallel::map(
            &chosen,
            lamina_support::parallel::cores().min(PARALLEL),
            |_, p| {
                let filename = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                Ok(Input {
                    package: lamina_python::wheel_name::WheelName::parse(&filename)
                        .map(|w| w.normalized())
                        .unwrap_or_default(),
                    sha256: hashes::sha256(cache, p)?,
                    filename,
                    origin: Origin::Local {
                        path: p.clone(),
                        verified: true,
                    },
                })
            },
        );
    };
    let lock = Lock::read(lock_path)?;
    let (needs, notes) = lock::select(&lock, target, ranking)?;
    for n in notes {
        log(n);
    }
    // A --wheels directory next to a lock is a local source for the lock's files.
    let mut local: HashMap<String, PathBuf> = HashMap::new();
    if let Some(dir) = &deps.dir {
        let rd = std::fs::read_dir(dir).map_err(io_err(dir))?;
        for e in rd {
            let e = e.map_err(io_err(dir))?;
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(".whl") {
                local.insert(n, e.path());
            }
        }
    }
    let mut local_hashes: Option<HashMap<String, (String, PathBuf)>> = None;
    let urls = index_urls(deps, &lock, &lamina_support::env::user_var);
    client.remember_urls(&urls);
    let mut out = Vec::new();
    let mut lookups = Vec::new();
    for need in needs {
        match need {
            Need::Chosen(c) => {
                let origin = match (&c.location, local.get(&c.filename)) {
                    (Location::Path(p), _) => Origin::Local {
                        path: p.clone(),
                        verified: false,
                    },
                    (Location::Url(_), Some(p)) => Origin::Local {
                        path: p.clone(),
                        verified: false,
                    },
                    (Location::Url(u), None) => Origin::Remote {
                        url: u.clone(),
                        size: c.size,
                        listing: None,
                    },
                };
                out.push(Input {
                    package: c.package,
                    filename: c.filename,
                    sha256: c.sha256,
                    origin,
                });
            }
            Need::Lookup {
                package,
                version,
                hashes,
            } => {
                if !local.is_empty() {
                    let lh = match &mut local_hashes {
                        Some(m) => m,
                        None => {
                            let mut m = HashMap::new();
                            for (n, p) in &local {
                                m.insert(hashes::sha256(cache, p)?, (n.clone(), p.clone()));
                            }
                            local_hashes.insert(m)
                        }
                    };
                    let found: Vec<Candidate> = hashes
                        .iter()
                        .filter_map(|h| lh.get(h).map(|(n, p)| (h, n, p)))
                        .map(|(h, n, p)| Candidate {
                            filename: n.clone(),
                            sha256: h.clone(),
                            url: p.display().to_string(),
                            size: None,
                            yanked: None,
                            requires_python: None,
                        })
                        .collect();
                    if let Ok((best, _)) =
                        lock::choose_file(&lock.path, &package, &version, &found, target, ranking)
                    {
                        out.push(Input {
                            package,
                            filename: best.filename,
                            sha256: best.sha256,
                            origin: Origin::Local {
                                path: PathBuf::from(best.url),
                                verified: true,
                            },
                        });
                        continue;
                    }
                }
                lookups.push((package, version, hashes));
            }
        }
    }
    // Requirements: the index's files with a listed hash (remembered per requirement).
    let resolved =
        lamina_support::parallel::map(&lookups, PARALLEL, |_, (package, version, hashes)| {
            resolve::lookup(
                &resolve::Lookup {
                    lock: &lock,
                    urls: &urls,
                    offline: deps.offline,
                    target,
                    ranking,
                },
                package,
                version,
                hashes,
                cache,
                client,
            )
        })?;
    for r in resolved {
        for w in r.warnings {
            log(format!("warning: {w}"));
        }
        out.push(Input {
            package: r.package,
            filename: r.best.filename,
            sha256: r.best.sha256,
            origin: Origin::Remote {
                url: r.best.url,
                size: r.best.size,
                listing: Some(r.listing),
            },
        });
    }
    out.sort_by(|a, b| a.package.cmp(&b.package));
    let used: Vec<&str> = out.iter().map(|i| i.filename.as_str()).collect();
    let mut unused: Vec<&String> = local
        .keys()
        .filter(|n| !used.contains(&n.as_str()))
        .collect();
    unused.sort();
    for n in unused {
        log(format!(
            "warning: {n} left out: the lock does not choose it"
        ));
    }
    Ok(out)
}
