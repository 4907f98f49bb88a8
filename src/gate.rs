//! The Lambda gate: every check an image must pass before any sink sees it, with findings named
//! the way Lambda names the failure. Image structure (one single-platform manifest, gzip layers of
//! the manifest's family, `Cmd` exactly one string, the platform asked for, size limits), handlers
//! (resolved as awslambdaric resolves them), native binaries in the dependency layer (ELF machine
//! and `GLIBC_x.y` needs against the base), and the dependency closure of the wheels. Also the
//! size report (largest packages), so "image too large" is answered before a push.

use crate::build::Built;
use crate::config::Plan;
use crate::layer::tree::EntryKind;
use crate::layer::wheels::Src;
use crate::oci::{media, Platform};
use crate::python::elf;
use crate::python::handler::{self, ModuleFs};
use crate::python::requires::{marker_applies, parse_requirement};
use crate::python::wheel::{header, open_archive};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

pub const MAX_UNCOMPRESSED: u64 = 10 * 1000 * 1000 * 1000;
pub const MAX_MANIFEST: usize = 25_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub severity: Severity,
    /// Lambda's name for the failure (`Runtime.HandlerNotFound`, `InvalidImage`, …).
    pub code: String,
    pub message: String,
}

pub struct GateOptions {
    pub platform: Platform,
    /// Missing dependencies are errors (default) or warnings.
    pub missing_deps: Severity,
    /// Distributions and import names the base's runtime already has.
    pub runtime_packages: Vec<String>,
    pub runtime_modules: Vec<String>,
    /// The base's glibc, when known (from the catalog or `--glibc`).
    pub glibc: Option<(u32, u32)>,
    pub base_name: String,
    /// `--import-check`: the target's CPython minor version.
    pub import_check: Option<u32>,
    /// Where base-layer scans are cached.
    pub scan_cache: Option<PathBuf>,
}

enum Content {
    Disk(PathBuf),
    Zip { wheel: usize, index: usize },
    Bytes(Arc<Vec<u8>>),
}

/// `/var/task` as the image will have it: the dependency layer, overlaid by the source layer.
struct TaskFs<'a> {
    files: HashMap<String, (Content, u64)>,
    dirs: HashSet<String>,
    built: &'a Built,
    runtime_modules: &'a [String],
}

impl<'a> TaskFs<'a> {
    fn new(built: &'a Built, runtime_modules: &'a [String]) -> TaskFs<'a> {
        let mut files = HashMap::new();
        let mut dirs = HashSet::new();
        if let Some((plan, _)) = &built.deps {
            for (path, kind) in plan.tree.iter() {
                let Some(rel) = path.strip_prefix("var/task/") else {
                    continue;
                };
                match kind {
                    EntryKind::Dir => {
                        dirs.insert(rel.to_string());
                    }
                    EntryKind::File {
                        source: Src::Zip { wheel, index, .. },
                        size,
                        ..
                    } => {
                        files.insert(
                            rel.to_string(),
                            (
                                Content::Zip {
                                    wheel: *wheel,
                                    index: *index,
                                },
                                *size,
                            ),
                        );
                    }
                    EntryKind::File {
                        source: Src::Bytes(b),
                        size,
                        ..
                    } => {
                        files.insert(rel.to_string(), (Content::Bytes(b.clone()), *size));
                    }
                    EntryKind::Symlink(_) => {}
                }
            }
        }
        for (path, kind) in built.source_tree.iter() {
            let Some(rel) = path.strip_prefix("var/task/") else {
                continue;
            };
            match kind {
                EntryKind::Dir => {
                    dirs.insert(rel.to_string());
                }
                EntryKind::File { source, size, .. } => {
                    files.insert(rel.to_string(), (Content::Disk(source.clone()), *size));
                }
                EntryKind::Symlink(_) => {
                    files.insert(rel.to_string(), (Content::Bytes(Arc::new(Vec::new())), 0));
                }
            }
        }
        TaskFs {
            files,
            dirs,
            built,
            runtime_modules,
        }
    }

    fn bytes(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        match &self.files.get(path)?.0 {
            Content::Disk(p) => std::fs::read(p).ok(),
            Content::Bytes(b) => Some(b.to_vec()),
            Content::Zip { wheel, index } => {
                let (plan, _) = self.built.deps.as_ref()?;
                let mut z = open_archive(&plan.wheels[*wheel].path).ok()?;
                let mut f = z.by_index(*index).ok()?;
                let mut out = Vec::new();
                f.by_ref().take(limit).read_to_end(&mut out).ok()?;
                Some(out)
            }
        }
    }
}

impl ModuleFs for TaskFs<'_> {
    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(path)
    }
    fn extension(&self, dir: &str, stem: &str) -> Option<String> {
        let prefix = if dir.is_empty() {
            format!("{stem}.")
        } else {
            format!("{dir}/{stem}.")
        };
        self.files
            .keys()
            .find(|k| {
                k.starts_with(&prefix) && k.ends_with(".so") && !k[prefix.len()..].contains('/')
            })
            .map(|k| format!("/var/task/{k}"))
    }
    fn read(&self, path: &str) -> Option<String> {
        self.bytes(path, 16 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
    fn runtime_package(&self, name: &str) -> bool {
        self.runtime_modules.iter().any(|m| m == name)
    }
}

fn err(code: &str, message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        code: code.into(),
        message,
    }
}

/// Runs every check; the image passes when no finding is an error.
pub fn check(built: &Built, plan: &Plan, opts: &GateOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let base_size = check_base_layers(built, opts, &mut out);
    check_image(built, opts, base_size, &mut out);
    let fs = TaskFs::new(built, &opts.runtime_modules);
    for (i, h) in plan.handlers.iter().enumerate() {
        if let Err(e) = handler::resolve(&fs, h) {
            let which = if i == 0 {
                "the image's Cmd".to_string()
            } else {
                format!("handler {}", i + 1)
            };
            let functions = plan
                .handler_functions
                .get(h)
                .map(|f| format!("; {}", f.join(", ")))
                .unwrap_or_default();
            out.push(err(
                e.error_type,
                format!("{h} ({which}{functions}): {}", e.message),
            ));
        }
    }
    if let Some((deps, target)) = &built.deps {
        check_binaries(&fs, opts, &mut out);
        check_closure(deps, target, opts, &mut out);
    }
    if let Some(minor) = opts.import_check {
        out.extend(run_import_check(&fs, plan, opts, minor));
    }
    out
}

fn run_import_check(fs: &TaskFs, plan: &Plan, opts: &GateOptions, minor: u32) -> Vec<Finding> {
    let skip = |m: String| {
        vec![Finding {
            severity: Severity::Warning,
            code: "import-check".into(),
            message: m,
        }]
    };
    let host = std::env::consts::ARCH;
    if opts.platform.python_machine() != host {
        return skip(format!(
            "skipped: the image is {} and this machine is {host}",
            opts.platform
        ));
    }
    let Some(python) = crate::import_check::find_python(minor) else {
        return skip(format!(
            "skipped: no python3.{minor} on this machine (set LAMINA_PYTHON)"
        ));
    };
    let dir = match tempfile::Builder::new()
        .prefix("lamina-import-check-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => return skip(format!("skipped: {e}")),
    };
    for d in &fs.dirs {
        let _ = std::fs::create_dir_all(dir.path().join(d));
    }
    for path in fs.files.keys() {
        let dest = dir.path().join(path);
        if let Some(parent) = dest.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Some(bytes) = fs.bytes(path, 1 << 30) {
            if std::fs::write(&dest, bytes).is_err() {
                return skip(format!("skipped: could not write {}", dest.display()));
            }
        }
    }
    crate::import_check::run(&python, dir.path(), &plan.handlers, &opts.runtime_modules)
}

/// Reads back the base layers whose bytes are already here (never downloads one for this):
/// hard links, parents missing from this and all lower layers, duplicate paths. Returns the base's
/// uncompressed size when every base layer was read.
fn check_base_layers(built: &Built, opts: &GateOptions, out: &mut Vec<Finding>) -> Option<u64> {
    let mut lower_dirs: HashSet<String> = HashSet::new();
    let mut total = Some(0u64);
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
            total = None;
            continue;
        }
        let s = match crate::layer::scan::scan(layer, opts.scan_cache.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: "base-scan".into(),
                    message: format!("could not read base layer {}: {e}", layer.digest()),
                });
                total = None;
                continue;
            }
        };
        let which = format!("base layer {} ({})", i + 1, layer.digest());
        if let Some(h) = s.hardlinks.first() {
            out.push(err("InvalidImage", format!("{which} has hard links (e.g. /{h}): ImageLayerFailure: UnsupportedImageLayerDetected")));
        }
        let this: HashSet<&String> = s.dirs.iter().collect();
        if let Some(o) = s.orphans.iter().find(|o| {
            o.rsplit_once('/')
                .is_some_and(|(p, _)| !lower_dirs.contains(p) && !this.contains(&p.to_string()))
        }) {
            out.push(err("InvalidImage", format!("{which}: MissingParentDirectory: Parent directory does not exist for file /{o}")));
        }
        if let Some(d) = s.duplicates.first() {
            out.push(err(
                "InvalidImage",
                format!("{which} holds /{d} more than once"),
            ));
        }
        lower_dirs.extend(s.dirs.iter().cloned());
        total = total.map(|t| t + s.uncompressed_size);
    }
    if unscanned > 0 {
        out.push(Finding {
            severity: Severity::Warning,
            code: "base-scan".into(),
            message: format!("{unscanned} base layer(s) not read back (their bytes were never downloaded; `lamina pull` the base to check them)"),
        });
    }
    total
}

fn check_image(built: &Built, opts: &GateOptions, base_size: Option<u64>, out: &mut Vec<Finding>) {
    let image = &built.image;
    let cfg = image.config();
    let (os, arch) = (
        cfg["os"].as_str().unwrap_or(""),
        cfg["architecture"].as_str().unwrap_or(""),
    );
    if !opts.platform.matches(os, arch, cfg["variant"].as_str()) {
        out.push(err("Launch error", format!("the image is {os}/{arch} but the function is {} (fork/exec /lambda-entrypoint.sh: exec format error)", opts.platform)));
    }
    let cmd = &cfg["config"]["Cmd"];
    if cmd
        .as_array()
        .map(|a| a.len() != 1 || !a[0].is_string())
        .unwrap_or(true)
    {
        out.push(err(
            "Runtime.ExitError",
            format!(
                "Cmd is {cmd}; the entrypoint needs exactly one argument, the handler (exit 142)"
            ),
        ));
    }
    if cfg["config"]["Entrypoint"]
        .as_array()
        .is_none_or(|a| a.is_empty())
    {
        out.push(Finding {
            severity: Severity::Warning,
            code: "Entrypoint".into(),
            message: "the base sets no Entrypoint; AWS bases use /lambda-entrypoint.sh".into(),
        });
    }
    let gzip = image.format.layer_gzip_type();
    for l in &image.layers {
        let t = l.descriptor.media_type().to_string();
        if t != gzip {
            let why = if t == media::OCI_LAYER_TAR || t.ends_with(".tar") {
                "uncompressed layers are rejected (UnsupportedImageLayerDetected)"
            } else {
                "Lambda accepts only gzip layers of the manifest's own family"
            };
            out.push(err(
                "InvalidImage",
                format!(
                    "layer {} has media type {t} in a {:?} manifest: {why}",
                    l.digest(),
                    image.format
                ),
            ));
        }
    }
    let manifest_len = image.manifest_bytes().len();
    if manifest_len > MAX_MANIFEST {
        out.push(Finding { severity: Severity::Warning, code: "ImageManifest".into(), message: format!("the manifest is {manifest_len} bytes; AWS advises under {MAX_MANIFEST} (fewer layers)") });
    }
    let compressed: u64 = image.layers.iter().map(|l| l.size()).sum();
    let ours: u64 = image
        .layers
        .iter()
        .skip(built.base_layers)
        .map(|l| l.uncompressed_size.unwrap_or(l.size()))
        .sum();
    let base_compressed: u64 = image
        .layers
        .iter()
        .take(built.base_layers)
        .map(|l| l.size())
        .sum();
    let known = ours + base_size.unwrap_or(base_compressed);
    if known > MAX_UNCOMPRESSED || compressed > MAX_UNCOMPRESSED {
        out.push(err("InvalidImage", format!("the image is at least {known} bytes uncompressed; Lambda's limit is {MAX_UNCOMPRESSED} (10 GB)")));
    }
}

fn check_binaries(fs: &TaskFs, opts: &GateOptions, out: &mut Vec<Finding>) {
    let want = opts.platform.python_machine().to_string();
    let mut paths: Vec<&String> = fs
        .files
        .keys()
        .filter(|p| p.ends_with(".so") || p.contains(".so."))
        .collect();
    paths.sort();
    for path in paths {
        let Some(bytes) = fs.bytes(path, 512 << 20) else {
            continue;
        };
        let Some(info) = elf::inspect(&bytes) else {
            if !elf::is_elf(&bytes) && !bytes.is_empty() {
                out.push(err("Runtime.ImportModuleError", format!("/var/task/{path} is not an ELF file (invalid ELF header): a library built for another OS?")));
            }
            continue;
        };
        if info.machine != want {
            out.push(err("Runtime.ImportModuleError", format!("/var/task/{path} is {} code; the function runs {want} (invalid ELF header / exec format error)", info.machine)));
        }
        if let (Some(need), Some(have)) = (info.max_glibc, opts.glibc) {
            if need > have {
                out.push(err(
                    "Runtime.ImportModuleError",
                    format!("/var/task/{path} needs GLIBC_{}.{}; {} has glibc {}.{} (version `GLIBC_{}.{}' not found)", need.0, need.1, opts.base_name, have.0, have.1, need.0, need.1),
                ));
            }
        }
    }
}

fn check_closure(
    deps: &crate::layer::wheels::DepsPlan,
    target: &crate::python::tags::Target,
    opts: &GateOptions,
    out: &mut Vec<Finding>,
) {
    let installed: HashSet<String> = deps.wheels.iter().map(|w| w.name.normalized()).collect();
    for w in &deps.wheels {
        for line in header(&w.metadata, "Requires-Dist") {
            let Some(req) = parse_requirement(line) else {
                continue;
            };
            if req
                .marker
                .as_deref()
                .is_some_and(|m| !marker_applies(m, target))
            {
                continue;
            }
            if installed.contains(&req.name)
                || opts
                    .runtime_packages
                    .iter()
                    .any(|r| crate::python::normalize_name(r) == req.name)
            {
                continue;
            }
            out.push(Finding {
                severity: opts.missing_deps,
                code: "Runtime.ImportModuleError".into(),
                message: format!("{} {} requires {}, which is neither among the wheels nor in the Lambda runtime (No module named …)", w.name.name, w.name.version, req.text),
            });
        }
    }
}

/// The largest top-level packages of the dependency layer, by installed bytes.
pub fn largest_packages(built: &Built, n: usize) -> Vec<(String, u64)> {
    let Some((plan, _)) = &built.deps else {
        return Vec::new();
    };
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for (path, kind) in plan.tree.iter() {
        if let (Some(rel), EntryKind::File { size, .. }) = (path.strip_prefix("var/task/"), kind) {
            let top = rel.split('/').next().unwrap_or(rel).to_string();
            *sizes.entry(top).or_default() += size;
        }
    }
    let mut v: Vec<(String, u64)> = sizes.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v
}
