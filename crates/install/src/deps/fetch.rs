//! Supplying the dependency layer's wheel files: the index client made on first use, and
//! `materialize_and_plan`, which checks local files against their hashes, reuses the wheel cache
//! (re-checking each cached file), downloads the rest in parallel, and plans each wheel as soon as
//! it is on disk.

use super::{io_err, DepsError, Input, Listing, Origin, PARALLEL};
use crate::wheels::{self, DepsPlan, WheelsOptions};
use lamina_cache::Cache;
use lamina_python::index::{self, IndexError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// What one input needs before it can be planned.
enum Job {
    /// A file on disk, to be hashed first unless already `verified`.
    Local { verified: bool },
    /// In the wheel cache: used if it still hashes right, else downloaded again.
    Cached {
        url: String,
        size: Option<u64>,
        listing: Option<Listing>,
    },
    Download {
        url: String,
        size: Option<u64>,
        listing: Option<Listing>,
    },
}

/// The inputs' files and the layer's plan. Each wheel is checked, downloaded into the wheel cache
/// if missing there, and planned as soon as it is on disk, while other wheels still download.
pub fn materialize_and_plan(
    inputs: &[Input],
    cache: &Cache,
    offline: bool,
    lazy: &LazyClient,
    opts: &WheelsOptions,
    log: &mut dyn FnMut(String),
) -> Result<(Vec<PathBuf>, DepsPlan), DepsError> {
    let mut jobs = Vec::new();
    let mut paths = Vec::new();
    for input in inputs {
        match &input.origin {
            Origin::Local { path, verified } => {
                jobs.push(Job::Local {
                    verified: *verified,
                });
                paths.push(path.clone());
            }
            Origin::Remote { url, size, listing } => {
                let p = cache.wheel_path(&input.sha256, &input.filename);
                let (url, size, listing) = (url.clone(), *size, listing.clone());
                if p.is_file() {
                    jobs.push(Job::Cached { url, size, listing });
                } else if offline {
                    return Err(offline_err(input));
                } else {
                    jobs.push(Job::Download { url, size, listing });
                }
                paths.push(p);
            }
        }
    }
    let downloads = jobs
        .iter()
        .filter(|j| matches!(j, Job::Download { .. }))
        .count();
    let downloaded = |lazy: &LazyClient| {
        lazy.cell
            .get()
            .map_or(0, |c| c.bytes.load(Ordering::Relaxed))
    };
    let before = downloaded(lazy);
    let started = std::time::Instant::now();
    let fetched = AtomicUsize::new(0);
    let last_fetch = Mutex::new(None::<std::time::Instant>);
    let workers = if downloads > 0 {
        PARALLEL
    } else {
        lamina_support::parallel::cores().min(PARALLEL)
    };
    let parts = lamina_support::parallel::map(&jobs, workers, |i, job| {
        let input = &inputs[i];
        let path = &paths[i];
        let url = match job {
            Job::Local { verified: true, .. } => None,
            Job::Local { .. } => {
                let got = super::hashes::sha256(cache, path)?;
                if got != input.sha256 {
                    return Err(DepsError::LocalHash {
                        path: path.clone(),
                        expected: input.sha256.clone(),
                        got,
                    });
                }
                None
            }
            // A cached wheel is used only if it still hashes right; otherwise fetched again.
            Job::Cached { listing, .. } if super::hashes::sha256(cache, path)? == input.sha256 => {
                if let Some(l) = listing {
                    l.keep(cache)?;
                }
                None
            }
            Job::Cached { url, size, listing } | Job::Download { url, size, listing } => {
                Some((url, *size, listing))
            }
        };
        if let Some((url, size, listing)) = url {
            let _ = std::fs::remove_file(path);
            if offline {
                return Err(offline_err(input));
            }
            let client = lazy.get()?;
            let what = format!("{} ({})", input.filename, input.package);
            let got = client.download(&what, url, &input.sha256, size, &cache.tmp_dir());
            // The listing is kept only once its file is here; a file that failed drops it.
            let tmp = got.map_err(|e| {
                if let Some(l) = listing {
                    l.drop_from(cache);
                }
                mislabelled(e, input, url)
            })?;
            cache
                .store_wheel(tmp, &input.sha256, &input.filename)
                .map_err(io_err(&cache.tmp_dir()))?;
            if let Some(l) = listing {
                l.keep(cache)?;
            }
            fetched.fetch_add(1, Ordering::Relaxed);
            *last_fetch.lock().expect("lock") = Some(std::time::Instant::now());
        }
        Ok(wheels::plan_one(i, path, opts)?)
    })?;
    let fetched = fetched.into_inner();
    if fetched > 0 {
        let bytes = downloaded(lazy) - before;
        let took = last_fetch
            .into_inner()
            .expect("lock")
            .map_or(0.0, |t| (t - started).as_secs_f64());
        log(format!(
            "downloaded {} wheel{} ({:.1} MB) in {:.1} s{}",
            fetched,
            if fetched == 1 { "" } else { "s" },
            bytes as f64 / 1e6,
            took,
            if fetched < inputs.len() {
                format!("; {} from the cache or disk", inputs.len() - fetched)
            } else {
                String::new()
            }
        ));
    }
    let plan = wheels::assemble(parts, opts)?;
    Ok((paths, plan))
}

/// A download that is not the locked file, from a URL that names another wheel than the one
/// listed: the index mislabelled it (said as such, not only as a hash mismatch).
fn mislabelled(e: IndexError, input: &Input, url: &str) -> DepsError {
    let served = lamina_python::lock::url_filename(url);
    match e {
        IndexError::Hash { .. } | IndexError::Size { .. }
            if served.ends_with(".whl") && served != input.filename =>
        {
            DepsError::Mislabelled {
                listed: input.filename.clone(),
                served,
                source: e,
            }
        }
        e => e.into(),
    }
}

fn offline_err(input: &Input) -> DepsError {
    DepsError::Offline {
        package: input.package.clone(),
        what: input.filename.clone(),
    }
}
