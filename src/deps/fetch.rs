//! Supplying the dependency layer's wheel files: the index client made on first use, a bounded
//! worker pool, and `materialize`, which checks local files against their hashes, reuses the
//! wheel cache (re-checking each cached file) and downloads the rest in parallel.

use super::{io_err, DepsError, Input, Origin, PARALLEL};
use crate::cache::Cache;
use crate::index::{self, IndexError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The index client, made on first use (a warm build never makes one, so it never looks up
/// credentials such as a CodeArtifact token).
pub struct LazyClient {
    make: Box<dyn Fn() -> Result<index::Client, IndexError> + Send + Sync>,
    cell: std::sync::OnceLock<index::Client>,
    /// Index URLs whose user info applies to their host (also for file URLs stored without it).
    urls: Mutex<Vec<String>>,
}

impl LazyClient {
    pub fn new(make: Box<dyn Fn() -> Result<index::Client, IndexError> + Send + Sync>) -> Self {
        LazyClient {
            make,
            cell: std::sync::OnceLock::new(),
            urls: Mutex::new(Vec::new()),
        }
    }

    /// Makes the user info of these index URLs the credentials of their hosts.
    pub fn remember_urls(&self, urls: &[String]) {
        self.urls.lock().expect("lock").extend(urls.iter().cloned());
        if let Some(c) = self.cell.get() {
            for u in urls {
                c.remember_url_credentials(u);
            }
        }
    }

    pub fn get(&self) -> Result<&index::Client, IndexError> {
        if let Some(c) = self.cell.get() {
            return Ok(c);
        }
        let c = (self.make)()?;
        for u in self.urls.lock().expect("lock").iter() {
            c.remember_url_credentials(u);
        }
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

/// Runs `f` over `items` on up to `workers` threads; the first error (in item order) wins and
/// stops the workers from starting more.
pub(super) fn parallel<T: Sync, R: Send>(
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
                    let got = super::hashes::sha256(cache, path)?;
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
                if p.is_file() && super::hashes::sha256(cache, &p)? == input.sha256 {
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
