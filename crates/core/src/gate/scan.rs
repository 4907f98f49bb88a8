//! Reading a layer back for Lambda's tar rules: hard links, entries whose parent directory exists
//! in neither this layer nor a lower one, duplicate paths, and the uncompressed size. Used by the
//! gate on base layers (lamina's own layers are correct by construction). Results are cached by
//! layer digest, so a base is scanned once per machine.

use flate2::read::GzDecoder;
use lamina_oci::Layer;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io;
use std::path::Path;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerScan {
    pub uncompressed_size: u64,
    /// Every directory the layer creates (for the parent checks of layers above).
    pub dirs: Vec<String>,
    /// Every path the layer creates.
    pub paths_count: u64,
    pub hardlinks: Vec<String>,
    /// Entries whose parent is not a directory of this layer (checked against lower layers later).
    pub orphans: Vec<String>,
    pub duplicates: Vec<String>,
    /// Python files and whiteouts under the interpreter's import roots (`var/lang/lib/`,
    /// `var/runtime/`, `usr/lib/python3.X/`, `usr/local/lib/python3.X/`, `opt/python/`), for the
    /// static import check: the base's standard library and the packages it provides.
    #[serde(default)]
    pub python_files: Vec<String>,
    /// Shared libraries (`*.so*`, whiteouts of them too), for resolving what `.so` files in
    /// /var/task need as the dynamic loader would.
    #[serde(default)]
    pub libraries: Vec<String>,
    /// Directories listed in `etc/ld.so.conf` and `etc/ld.so.conf.d/*.conf`.
    #[serde(default)]
    pub ld_conf_dirs: Vec<String>,
    /// Symbolic links at most three levels deep (`lib64 -> usr/lib64`): (path, target).
    #[serde(default)]
    pub dir_links: Vec<(String, String)>,
    /// Read from the scan cache rather than from the layer (not stored).
    #[serde(skip)]
    pub from_cache: bool,
}

/// Bump when what a scan records changes (older cached scans are then ignored).
const SCAN_VERSION: u32 = 3;

/// Whether `path` is one the import check wants from a base layer.
pub fn is_python_path(path: &str) -> bool {
    let roots = [
        "var/lang/lib/",
        "var/runtime/",
        "opt/python/",
        "usr/lib/python3",
        "usr/local/lib/python3",
    ];
    if !roots.iter().any(|r| path.starts_with(r)) {
        return false;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with(".wh.")
        || name.ends_with(".py")
        || name.ends_with(".so")
        || name.ends_with(".pyc") && !path.contains("__pycache__")
}

const KEEP: usize = 20;

/// Scans a layer (gzip or plain tar), caching the result under `cache_dir/<digest hex>.vN.json`.
pub fn scan(layer: &Layer, cache_dir: Option<&Path>) -> io::Result<LayerScan> {
    let cached =
        cache_dir.map(|d| d.join(format!("{}.v{SCAN_VERSION}.json", layer.digest().digest())));
    if let Some(Ok(bytes)) = cached.as_ref().map(std::fs::read) {
        if let Ok(mut s) = serde_json::from_slice::<LayerScan>(&bytes) {
            s.from_cache = true;
            return Ok(s);
        }
    }
    let reader = io::BufReader::new(layer.open_verified()?);
    let gz = layer.descriptor.media_type().to_string().ends_with("gzip");
    let inner: Box<dyn io::Read> = if gz {
        Box::new(GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut counting = Counter { inner, n: 0 };
    let mut out = LayerScan::default();
    let mut seen = HashSet::new();
    let mut dirs = HashSet::new();
    let mut entries = Vec::new();
    {
        let mut tar = tar::Archive::new(&mut counting);
        for e in tar.entries()? {
            let e = e?;
            let path = e
                .path()?
                .to_string_lossy()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            if path.is_empty() {
                continue;
            }
            let kind = e.header().entry_type();
            if kind == tar::EntryType::Link && out.hardlinks.len() < KEEP {
                out.hardlinks.push(path.clone());
            }
            if kind.is_dir() {
                dirs.insert(path.clone());
            }
            if !seen.insert(path.clone()) && out.duplicates.len() < KEEP {
                out.duplicates.push(path.clone());
            }
            if !kind.is_dir() && is_python_path(&path) {
                out.python_files.push(path.clone());
            }
            let name = path.rsplit('/').next().unwrap_or(&path);
            if !kind.is_dir() && (name.contains(".so.") || name.ends_with(".so")) {
                out.libraries.push(path.clone());
            }
            if kind == tar::EntryType::Symlink && path.matches('/').count() < 3 {
                if let Ok(Some(t)) = e.link_name() {
                    out.dir_links
                        .push((path.clone(), t.to_string_lossy().into_owned()));
                }
            }
            let mut e = e;
            if kind.is_file()
                && (path == "etc/ld.so.conf"
                    || path.starts_with("etc/ld.so.conf.d/") && path.ends_with(".conf"))
                && e.size() < 64 * 1024
            {
                let mut text = String::new();
                if io::Read::read_to_string(&mut e, &mut text).is_ok() {
                    out.ld_conf_dirs.extend(
                        text.lines()
                            .map(|l| l.split('#').next().unwrap_or("").trim())
                            .filter(|l| l.starts_with('/'))
                            .map(|l| l.trim_end_matches('/').to_string()),
                    );
                }
            }
            entries.push(path);
        }
    }
    io::copy(&mut counting, &mut io::sink())?;
    for p in &entries {
        if let Some((parent, _)) = p.rsplit_once('/') {
            if !dirs.contains(parent) && out.orphans.len() < 10_000 {
                out.orphans.push(p.clone());
            }
        }
    }
    out.uncompressed_size = counting.n;
    out.paths_count = entries.len() as u64;
    let mut d: Vec<String> = dirs.into_iter().collect();
    d.sort();
    out.dirs = d;
    if let Some(path) = cached {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
            let _ = lamina_oci::layout::write_atomic(
                &path,
                &serde_json::to_vec(&out).unwrap_or_default(),
            );
        }
    }
    Ok(out)
}

struct Counter<R> {
    inner: R,
    n: u64,
}

impl<R: io::Read> io::Read for Counter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}
