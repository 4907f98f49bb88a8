//! The dependency layer's inputs: which wheel files (file name and sha256) the layer is made of,
//! and where their bytes come from: a `--wheels` directory, or a lock (`--lock`) whose wheels are
//! on disk, in lamina's wheel cache, or on an index. `inputs` decides *what* without downloading a
//! wheel (a pylock names its wheels and hashes; a requirements file needs each project's index page,
//! remembered in the cache so a warm build asks nothing), so the layer's cache key can be computed
//! from names and hashes alone. `materialize` then supplies the files, downloading in parallel into
//! the content-addressed wheel cache only what is missing; `--offline` refuses to download.

use crate::cache::Cache;
use crate::config::DepsConfig;
use crate::index::{self, IndexError};
use crate::layer::wheels::{self, WheelsError};
use crate::lock::{self, Candidate, Location, Lock, LockError, Need};
use crate::python::tags::{Ranking, Target};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

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
    #[error("{path}: its sha256 is {got}, the lock says {expected}")]
    LocalHash {
        path: PathBuf,
        expected: String,
        got: String,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl DepsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DepsError::Lock(e) => e.hint(),
            DepsError::Index(e) => e.hint(),
            DepsError::Wheels(e) => e.hint(),
            DepsError::Offline { .. } => Some(
                "build once without --offline (same LAMINA_CACHE_DIR) to fill the cache".into(),
            ),
            DepsError::LocalHash { .. } => Some(
                "the file is not the one the lock was written for: replace it, or relock".into(),
            ),
            DepsError::Io { .. } => None,
        }
    }
}

/// The index client, made on first use (a warm build never makes one, so it never looks up
/// credentials such as a CodeArtifact token).
pub struct LazyClient {
    make: Box<dyn Fn() -> Result<index::Client, IndexError> + Send + Sync>,
    cell: std::sync::OnceLock<index::Client>,
}

impl LazyClient {
    pub fn new(make: Box<dyn Fn() -> Result<index::Client, IndexError> + Send + Sync>) -> Self {
        LazyClient {
            make,
            cell: std::sync::OnceLock::new(),
        }
    }

    pub fn get(&self) -> Result<&index::Client, IndexError> {
        if let Some(c) = self.cell.get() {
            return Ok(c);
        }
        let c = (self.make)()?;
        let _ = self.cell.set(c);
        Ok(self.cell.get().expect("just set"))
    }

    /// Requests sent so far (0 if no client was needed).
    pub fn requests(&self) -> u64 {
        self.cell
            .get()
            .map_or(0, |c| c.requests.load(Ordering::Relaxed))
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
    /// From the wheel cache, else downloaded from `url` (no credentials in it).
    Remote { url: String, size: Option<u64> },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DepsError + '_ {
    move |e| DepsError::Io {
        path: path.into(),
        source: e,
    }
}

pub fn sha256_file(path: &Path) -> Result<String, DepsError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h).map_err(io_err(path))?;
    Ok(hex::encode(h.finalize()))
}

/// Runs `f` over `items` on up to `workers` threads; the first error (in item order) wins and
/// stops the workers from starting more.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> Result<R, DepsError> + Sync,
) -> Result<Vec<R>, DepsError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<R, DepsError>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                let r = f(&items[i]);
                if r.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                results.lock().expect("lock")[i] = Some(r);
            });
        }
    });
    let mut out = Vec::new();
    for r in results.into_inner().expect("lock").into_iter().flatten() {
        out.push(r?);
    }
    Ok(out)
}

/// The index URLs, most important first: `--index-url`/`index_url`, else the requirements file's
/// `--index-url`, else `UV_DEFAULT_INDEX` / `UV_INDEX_URL` / `PIP_INDEX_URL`, else PyPI; then the
/// extra indexes from the flags, the file, `UV_INDEX` and `PIP_EXTRA_INDEX_URL`.
pub fn index_urls(deps: &DepsConfig, lock: &Lock, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let from_env = ["UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.trim().is_empty()));
    let primary = deps
        .index_url
        .clone()
        .or_else(|| lock.index_url.clone())
        .or(from_env)
        .unwrap_or_else(|| PYPI.to_string());
    let mut out = vec![primary];
    let mut extra: Vec<String> = deps.extra_index_urls.clone();
    extra.extend(lock.extra_index_urls.iter().cloned());
    for k in ["UV_INDEX", "PIP_EXTRA_INDEX_URL"] {
        for v in env(k).unwrap_or_default().split_whitespace() {
            // UV_INDEX entries may be `name=url`.
            let url = match v.split_once('=') {
                Some((n, u)) if !n.contains(':') => u,
                _ => v,
            };
            extra.push(url.to_string());
        }
    }
    for u in extra {
        if !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// Strips user info from a URL (credentials are applied per host by the client).
fn bare(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
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
        return parallel(&chosen, PARALLEL.min(2), |p| {
            let filename = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            Ok(Input {
                package: crate::python::wheel_name::WheelName::parse(&filename)
                    .map(|w| w.normalized())
                    .unwrap_or_default(),
                sha256: sha256_file(p)?,
                filename,
                origin: Origin::Local {
                    path: p.clone(),
                    verified: true,
                },
            })
        });
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
    let urls = index_urls(deps, &lock, &|k| std::env::var(k).ok());
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
                                m.insert(sha256_file(p)?, (n.clone(), p.clone()));
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
    let resolved = parallel(&lookups, PARALLEL, |(package, version, hashes)| {
        let mut sorted = hashes.clone();
        sorted.sort();
        let key = hex::encode(Sha256::digest(format!(
            "requirement-v1\0{package}\0{version}\0{}",
            sorted.join(",")
        )));
        let cached: Option<Vec<Candidate>> = cache
            .lookup_resolved(&key)
            .and_then(|v| serde_json::from_value(v).ok());
        let candidates = match cached {
            Some(c) => c,
            None if deps.offline => {
                return Err(DepsError::Offline {
                    package: format!("{package}=={version}"),
                    what: "its index page".into(),
                })
            }
            None => {
                let client = client.get()?;
                let mut found = Vec::new();
                for u in &urls {
                    client.remember_url_credentials(u);
                    let Some(files) = client.project_files(u, package)? else {
                        continue;
                    };
                    found = files
                        .into_iter()
                        .filter(|f| f.sha256.as_ref().is_some_and(|h| hashes.contains(h)))
                        .map(|f| Candidate {
                            filename: f.filename,
                            sha256: f.sha256.unwrap_or_default(),
                            url: bare(&f.url),
                            size: f.size,
                            yanked: f.yanked,
                            requires_python: f.requires_python,
                        })
                        .collect();
                    if !found.is_empty() {
                        break;
                    }
                }
                if !found.is_empty() {
                    let v = serde_json::to_value(&found).expect("serializable");
                    cache.record_resolved(&key, &v).map_err(io_err(&cache.tmp_dir()))?;
                }
                found
            }
        };
        let (best, warnings) =
            lock::choose_file(&lock.path, package, version, &candidates, target, ranking)?;
        Ok((package.clone(), best, warnings))
    })?;
    for (package, best, warnings) in resolved {
        for w in warnings {
            log(format!("warning: {w}"));
        }
        out.push(Input {
            package,
            filename: best.filename,
            sha256: best.sha256,
            origin: Origin::Remote {
                url: best.url,
                size: best.size,
            },
        });
    }
    out.sort_by(|a, b| a.package.cmp(&b.package));
    let used: Vec<&str> = out.iter().map(|i| i.filename.as_str()).collect();
    let mut unused: Vec<&String> = local.keys().filter(|n| !used.contains(&n.as_str())).collect();
    unused.sort();
    for n in unused {
        log(format!("warning: {n} left out: the lock does not choose it"));
    }
    Ok(out)
}

/// The paths of the inputs' files, downloading into the wheel cache what is missing there.
pub fn materialize(
    inputs: &[Input],
    cache: &Cache,
    offline: bool,
    client: &LazyClient,
    log: &mut dyn FnMut(String),
) -> Result<Vec<PathBuf>, DepsError> {
    let mut missing = Vec::new();
    let mut paths = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match &input.origin {
            Origin::Local { path, verified } => {
                if !verified {
                    let got = sha256_file(path)?;
                    if got != input.sha256 {
                        return Err(DepsError::LocalHash {
                            path: path.clone(),
                            expected: input.sha256.clone(),
                            got,
                        });
                    }
                }
                paths.push(path.clone());
            }
            Origin::Remote { url, size } => {
                let p = cache.wheel_path(&input.sha256, &input.filename);
                // A cached wheel is used only if it still hashes right; otherwise fetched again.
                if p.is_file() && sha256_file(&p)? == input.sha256 {
                    paths.push(p);
                    continue;
                }
                let _ = std::fs::remove_file(&p);
                if offline {
                    return Err(DepsError::Offline {
                        package: input.package.clone(),
                        what: input.filename.clone(),
                    });
                }
                missing.push((i, url.clone(), *size));
                paths.push(p);
            }
        }
    }
    if missing.is_empty() {
        return Ok(paths);
    }
    let client = client.get()?;
    let before = client.bytes.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    parallel(&missing, PARALLEL, |(i, url, size)| {
        let input = &inputs[*i];
        let what = format!("{} ({})", input.filename, input.package);
        let tmp = client.download(&what, url, &input.sha256, *size, &cache.tmp_dir())?;
        cache
            .store_wheel(tmp, &input.sha256, &input.filename)
            .map_err(io_err(&cache.tmp_dir()))?;
        Ok(())
    })?;
    log(format!(
        "downloaded {} wheel{} ({:.1} MB) in {:.1} s{}",
        missing.len(),
        if missing.len() == 1 { "" } else { "s" },
        (client.bytes.load(Ordering::Relaxed) - before) as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        if missing.len() < inputs.len() {
            format!("; {} from the cache or disk", inputs.len() - missing.len())
        } else {
            String::new()
        }
    ));
    Ok(paths)
}
