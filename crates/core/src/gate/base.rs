//! The base layers whose bytes are here, read back once per digest (cached): Lambda's tar rules
//! (hard links, parents missing from this and all lower layers, duplicate paths), exact
//! uncompressed sizes, and the Python the base ships: its standard library and the packages on
//! its import path outside /var/task (after whiteouts). Never downloads a layer for this.

use super::finding::{Code, Finding, Severity};
use crate::build::Built;
use lamina_analysis::imports::join;
use lamina_analysis::stdlib::Stdlib;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

#[derive(Debug, Default)]
pub struct BaseScan {
    /// Uncompressed size of each base layer, when read.
    pub sizes: Vec<Option<u64>>,
    /// Scans that came from the scan cache.
    pub cached: usize,
    /// Every base layer was read.
    pub complete: bool,
    /// Python files of the base (after whiteouts), when every layer was read.
    pub python: Option<BTreeSet<String>>,
    /// What the dynamic loader can find in the base, when every layer was read.
    pub libraries: Option<BaseLibraries>,
}

/// The base's shared libraries (after whiteouts), `ld.so.conf` directories and short symlinks.
#[derive(Debug, Default)]
pub struct BaseLibraries {
    pub files: BTreeSet<String>,
    pub conf_dirs: Vec<String>,
    pub links: std::collections::BTreeMap<String, String>,
}

/// Applies a layer's entries over the lower layers' files (OCI whiteouts included).
fn overlay(files: &mut BTreeSet<String>, layer: &[String]) {
    for p in layer {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        if name == ".wh..wh..opq" {
            let prefix = format!("{dir}/");
            files.retain(|f| !f.starts_with(&prefix));
        } else if let Some(gone) = name.strip_prefix(".wh.") {
            let target = if dir.is_empty() {
                gone.to_string()
            } else {
                format!("{dir}/{gone}")
            };
            let prefix = format!("{target}/");
            files.retain(|f| *f != target && !f.starts_with(&prefix));
        }
    }
    for p in layer {
        if !p.rsplit('/').next().unwrap_or(p).starts_with(".wh.") {
            files.insert(p.clone());
        }
    }
}

pub fn scan(built: &Built, scan_cache: Option<&Path>, out: &mut Vec<Finding>) -> BaseScan {
    let mut lower_dirs: HashSet<String> = HashSet::new();
    let mut result = BaseScan {
        complete: true,
        ..Default::default()
    };
    let mut python = BTreeSet::new();
    let mut libraries = BaseLibraries::default();
    let mut unscanned = 0;
    for (i, layer) in built
        .image
        .layers
        .iter()
        .enumerate()
        .take(built.base_layers)
    {
        if !layer.blob.is_local(layer.digest()) {
            unscanned += 1;
            result.complete = false;
            result.sizes.push(None);
            continue;
        }
        let s = match crate::gate::scan::scan(layer, scan_cache) {
            Ok(s) => s,
            Err(e) => {
                out.push(Finding::warning(
                    Code::BaseScan,
                    format!("could not read base layer {}: {e}", layer.digest()),
                ));
                result.complete = false;
                result.sizes.push(None);
                continue;
            }
        };
        result.cached += usize::from(s.from_cache);
        let which = format!("base layer {} ({})", i + 1, layer.digest());
        if let Some(h) = s.hardlinks.first() {
            out.push(Finding::error(Code::InvalidImage, format!("{which} has hard links (e.g. /{h}): ImageLayerFailure: UnsupportedImageLayerDetected")));
        }
        let this: HashSet<&String> = s.dirs.iter().collect();
        if let Some(o) = s.orphans.iter().find(|o| {
            o.rsplit_once('/')
                .is_some_and(|(p, _)| !lower_dirs.contains(p) && !this.contains(&p.to_string()))
        }) {
            out.push(Finding::error(Code::InvalidImage, format!("{which}: MissingParentDirectory: Parent directory does not exist for file /{o}")));
        }
        if let Some(d) = s.duplicates.first() {
            out.push(Finding::error(
                Code::InvalidImage,
                format!("{which} holds /{d} more than once"),
            ));
        }
        lower_dirs.extend(s.dirs.iter().cloned());
        overlay(&mut python, &s.python_files);
        overlay(&mut libraries.files, &s.libraries);
        libraries.conf_dirs.extend(s.ld_conf_dirs.iter().cloned());
        libraries.links.extend(s.dir_links.iter().cloned());
        result.sizes.push(Some(s.uncompressed_size));
    }
    if unscanned > 0 {
        out.push(Finding::new(
            Severity::Warning,
            Code::BaseScan,
            format!("{unscanned} base layer(s) not read back (their bytes were never downloaded; `lamina pull` the base to check them and to know its exact size)"),
        ));
    }
    if result.complete {
        result.python = Some(python);
        result.libraries = Some(libraries);
    }
    result
}

/// Where CPython 3.X keeps its standard library in a base, if it is there (`os.py` present).
fn stdlib_dir(files: &BTreeSet<String>, minor: u32) -> Option<String> {
    ["var/lang/lib", "usr/local/lib", "usr/lib"]
        .iter()
        .map(|root| format!("{root}/python3.{minor}"))
        .find(|d| files.contains(&format!("{d}/os.py")))
}

/// CPython minor versions whose standard library the base holds.
pub fn python_minors(files: &BTreeSet<String>) -> Vec<u32> {
    Stdlib::known_minors()
        .chain(15..20)
        .filter(|m| stdlib_dir(files, *m).is_some())
        .collect()
}

/// The base's own standard library for 3.`minor`.
pub fn stdlib(files: &BTreeSet<String>, minor: u32) -> Option<Stdlib> {
    let dir = stdlib_dir(files, minor)?;
    let prefix = format!("{dir}/");
    let rel = files.iter().filter_map(|f| f.strip_prefix(&prefix));
    Some(Stdlib::from_files(minor, &format!("/{dir}"), rel))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Dotted module names importable from the base's import roots outside /var/task and the
/// standard library: `/var/runtime` and `site-packages`.
pub fn runtime_modules(files: &BTreeSet<String>, minor: u32) -> HashSet<String> {
    let roots = [
        "var/runtime".to_string(),
        format!("var/lang/lib/python3.{minor}/site-packages"),
        format!("usr/local/lib/python3.{minor}/site-packages"),
    ];
    let mut out = HashSet::new();
    for root in &roots {
        let prefix = format!("{root}/");
        for f in files.iter().filter_map(|f| f.strip_prefix(&prefix)) {
            let parts: Vec<&str> = f.split('/').collect();
            let (dirs, file) = parts.split_at(parts.len() - 1);
            let stem = file[0].split('.').next().unwrap_or("");
            let mut name = String::new();
            let mut ok = true;
            for d in dirs {
                ok &= is_ident(d);
                if !ok {
                    break;
                }
                name = join(&name, d);
                out.insert(name.clone());
            }
            if ok && is_ident(stem) && stem != "__init__" {
                out.insert(join(&name, stem));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteouts_and_modules() {
        let mut files = BTreeSet::new();
        overlay(
            &mut files,
            &[
                "var/lang/lib/python3.12/os.py".into(),
                "var/lang/lib/python3.12/json/__init__.py".into(),
                "var/lang/lib/python3.12/site-packages/boto3/__init__.py".into(),
                "var/lang/lib/python3.12/site-packages/boto3/session.py".into(),
                "var/runtime/awslambdaric/__init__.py".into(),
                "var/runtime/_native.cpython-312-x86_64-linux-gnu.so".into(),
                "var/runtime/old/thing.py".into(),
            ],
        );
        overlay(&mut files, &["var/runtime/.wh.old".into()]);
        assert_eq!(python_minors(&files), [12]);
        let s = stdlib(&files, 12).unwrap();
        assert!(s.contains("json") && s.contains("os.path") && !s.contains("boto3"));
        let r = runtime_modules(&files, 12);
        for m in ["boto3", "boto3.session", "awslambdaric", "_native"] {
            assert!(r.contains(m), "{m}: {r:?}");
        }
        assert!(!r.contains("old") && !r.contains("old.thing"));
        overlay(&mut files, &["var/runtime/.wh..wh..opq".into()]);
        assert!(!runtime_modules(&files, 12).contains("awslambdaric"));
    }
}
