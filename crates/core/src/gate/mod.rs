//! The Lambda gate: every check an image must pass before any sink sees it, with findings named
//! the way Lambda names the failure. Image rules (`image`), base layers read back (`base`),
//! handlers and every import their modules make at module level (`handlers`, on
//! `lamina_analysis::handler` and `lamina_analysis::imports`), native binaries and the wheels' dependency closure
//! (`native`), the project around the image (`project`), and, on request, importing each handler
//! module with a real CPython (`import_check`). Where lamina cannot decide, the
//! finding says "cannot verify", and the image is not said to pass.

mod base;
mod finding;
mod handlers;
mod image;
pub mod import_check;
mod loader;
mod native;
mod options;
mod project;
pub use project::project_file;
pub mod scan;
mod task;

pub use finding::{merge_handlers, Code, Finding, Severity};
pub use options::GateOptions;
pub use task::{ReadFailed, TaskFs};

use crate::build::Built;
use crate::config::Plan;
use lamina_analysis::imports::{Parsed, Runtime, Space, StdlibView, TaskTree};
use lamina_analysis::stdlib::Stdlib;
use lamina_python::provides::Providers;
use std::path::PathBuf;

/// The gate found errors: nothing is written or pushed.
#[derive(Debug, thiserror::Error)]
#[error("{}; nothing was written or pushed", if *.errors > 0 { format!("{} problem{} would make Lambda reject or fail this image", .errors, if *.errors == 1 { "" } else { "s" }) } else { format!("{} thing{} could not be verified and --deny-unverified is set", .unverified, if *.unverified == 1 { "" } else { "s" }) })]
pub struct GateFailed {
    pub errors: usize,
    /// Cannot-verify findings, when they fail the gate (`--deny-unverified`).
    pub unverified: usize,
}

impl lamina_support::diagnostic::Hint for GateFailed {
    fn hint(&self) -> Option<String> {
        Some(if self.errors > 0 {
            "each problem above says what to fix; `lamina check` runs the same checks again without writing anything".into()
        } else {
            "each cannot-verify warning above says what lamina could not decide; `--import-check` imports the handlers with a real CPython, or drop --deny-unverified (or the unverified = \"error\" key in lamina.toml) to accept them".into()
        })
    }
}
pub const MAX_MANIFEST: usize = 25_400;

/// What the gate found, and what it learnt on the way (for the report).
#[derive(Debug, Default)]
pub struct GateReport {
    pub findings: Vec<Finding>,
    /// Uncompressed size of each base layer, when its bytes were read.
    pub base_sizes: Vec<Option<u64>>,
    /// Base-layer scans that came from the cache.
    pub base_scans_cached: usize,
    /// The CPython version the imports were resolved for, and where its stdlib came from.
    pub python: Option<u32>,
    pub stdlib_from: String,
    /// Python modules read and resolved.
    pub modules_checked: usize,
    /// One command that installs every missing project.
    pub fix: Option<String>,
    /// What the checks learned about the dependency layer's files (for the facts cache).
    pub learned: lamina_install::deps::facts::Learned,
}

/// What the gate decided about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No error, everything decided.
    Pass,
    /// No error, but something could not be decided: not known to pass.
    Unverified,
    /// Errors (or, when denied, undecided checks): nothing is written or pushed.
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Unverified => "unverified",
            Verdict::Fail => "fail",
        }
    }
}

impl GateReport {
    /// The verdict; `deny_unverified` makes undecided checks fail the image.
    pub fn verdict(&self, deny_unverified: bool) -> Verdict {
        match (self.errors(), self.unverified()) {
            (0, 0) => Verdict::Pass,
            (0, _) if !deny_unverified => Verdict::Unverified,
            _ => Verdict::Fail,
        }
    }
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
    pub fn unverified(&self) -> usize {
        self.findings.iter().filter(|f| f.unverified()).count()
    }
}

/// The standard library and the runtime's packages to resolve against, from the base's own
/// files when they are here, else the catalog.
fn import_roots(
    scan: &base::BaseScan,
    opts: &GateOptions,
) -> (Option<u32>, StdlibView, Runtime, String) {
    let files = scan.python.as_ref();
    let base_minors = files.map(base::python_minors).unwrap_or_default();
    let minor = opts
        .python
        .or_else(|| (base_minors.len() == 1).then(|| base_minors[0]));
    let from_base = minor.and_then(|m| Some((m, base::stdlib(files?, m)?)));
    let catalog_runtime = || Runtime::Known {
        modules: opts.runtime_modules.iter().cloned().collect(),
        exact: false,
    };
    match (from_base, minor) {
        (Some((m, s)), _) => {
            let from = match &s.source {
                lamina_analysis::stdlib::StdlibSource::Base(d) => format!("the base's {d}"),
                _ => String::new(),
            };
            let mut modules = base::runtime_modules(files.expect("read"), m);
            if opts.known_base {
                modules.extend(opts.runtime_modules.iter().cloned());
            }
            let runtime = Runtime::Known {
                modules,
                exact: true,
            };
            (Some(m), StdlibView::Known(s), runtime, from)
        }
        (None, Some(m)) => {
            let runtime = if opts.known_base {
                catalog_runtime()
            } else {
                Runtime::Unknown
            };
            match Stdlib::catalog(m) {
                Some(s) => (
                    Some(m),
                    StdlibView::Known(s),
                    runtime,
                    format!("lamina's list for CPython 3.{m}"),
                ),
                None => (Some(m), StdlibView::Unknown, runtime, "unknown".into()),
            }
        }
        (None, None) => {
            let runtime = if opts.known_base {
                catalog_runtime()
            } else {
                Runtime::Unknown
            };
            (
                None,
                StdlibView::Unknown,
                runtime,
                "unknown (the base's Python version is not known)".into(),
            )
        }
    }
}

/// Runs every check; the image passes when no finding is an error. A source file that cannot be
/// read again as the layer has it is an error, never a finding about an empty file.
pub fn check(built: &Built, plan: &Plan, opts: &GateOptions) -> Result<GateReport, ReadFailed> {
    lamina_support::hooks::hook("BEFORE_GATE");
    let mut out = Vec::new();
    // A runtime past AWS's deprecation date still builds, with a warning.
    if let Some(w) = &opts.deprecation {
        out.push(Finding::warning(Code::DeprecatedRuntime, w.clone()));
    }
    let scan = base::scan(built, opts.scan_cache.as_deref(), &mut out);
    let base_size = scan.sizes.iter().copied().sum::<Option<u64>>();
    image::check(built, opts, base_size, &mut out);
    let fs = TaskFs::new(built);
    let (minor, stdlib, runtime, stdlib_from) = import_roots(&scan, opts);
    project::task_root(&fs, &stdlib, &mut out);
    if plan.deps.is_none() {
        project::dependency_inputs(
            &plan.project,
            &plan.srcs,
            minor,
            plan.platform.python_machine(),
            &mut out,
        );
    }
    let space = Space::new(&fs, stdlib, runtime, minor, plan.platform.python_machine());
    let mut learned = lamina_install::deps::facts::Learned::default();
    if let Some(r) = built.deps.as_ref().and_then(|(d, _)| d.recorded.as_ref()) {
        space.preload(r.modules.clone());
    }
    let wheels_dir = plan.deps.as_ref().and_then(|d| d.dir.clone());
    let mut wheel_dirs: Vec<PathBuf> = wheels_dir.iter().cloned().collect();
    for d in ["wheels", "wheelhouse", "vendor", "dist"] {
        wheel_dirs.push(plan.project.join(d));
    }
    let providers = Providers::from_dirs(wheel_dirs.iter().map(PathBuf::as_path));
    let shown_dir = wheels_dir
        .as_ref()
        .map(|d| {
            d.strip_prefix(&plan.project)
                .unwrap_or(d)
                .display()
                .to_string()
        })
        .unwrap_or_else(|| "wheels".into());
    let stats = handlers::check(
        &space,
        &plan.handlers,
        &plan.handler_functions,
        &providers,
        &shown_dir,
        plan.deps.as_ref().and_then(|d| d.lock.as_ref()).map(|l| {
            l.strip_prefix(&plan.project)
                .unwrap_or(l)
                .display()
                .to_string()
        }),
        &mut out,
    );
    if plan.deps.is_none() {
        let top: std::collections::HashSet<String> = fs
            .list("")
            .into_iter()
            .map(|e| e.split('.').next().unwrap_or(&e).to_string())
            .collect();
        project::fold_missing_into_dependency_input(&mut out, &|m| top.contains(m));
    }
    let mut missing = stats.missing_projects;
    let recorded = built.deps.as_ref().and_then(|(d, _)| d.recorded.as_ref());
    for (path, parsed) in space.parsed_files() {
        // Only what reading the file decided (not "could not be read") is worth keeping, and only
        // what the facts cache does not hold already.
        if !fs.is_source(&path)
            && !matches!(*parsed, Parsed::Unreadable(_))
            && !recorded.is_some_and(|r| r.modules.contains_key(&path))
        {
            learned.modules.insert(path, (*parsed).clone());
        }
    }
    let (elf, all_so) = native::check_binaries(&fs, opts, &mut out);
    let env: Vec<String> = built.image.config()["config"]["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let search = loader::Search {
        base: scan.libraries.as_ref(),
        ld_library_path: env
            .iter()
            .filter_map(|e| e.strip_prefix("LD_LIBRARY_PATH="))
            .flat_map(|v| v.split(':').map(str::to_string))
            .filter(|d| !d.is_empty())
            .collect(),
        arch: plan.platform.python_machine().to_string(),
        known_glibc: opts.glibc.is_some(),
    };
    let owner = |path: &str| {
        let (d, _) = built.deps.as_ref()?;
        let w = &d.wheels[*d.owner.get(path)?];
        Some((w.name.name.clone(), w.name.version.clone()))
    };
    loader::check(&all_so, &search, &owner, &stats.imported, &mut out);
    if let Some((deps, target)) = &built.deps {
        learned.elf = elf;
        for m in native::check_closure(deps, target, opts, &mut out) {
            if !missing.contains(&m) {
                missing.push(m);
            }
        }
    }
    if let Some(minor) = opts.import_check {
        out.extend(import_check::check(
            &fs,
            &opts.platform,
            &plan.handlers,
            &opts.runtime_modules,
            minor,
        ));
    }
    let fix = (!missing.is_empty()).then(|| {
        let target = built
            .deps
            .as_ref()
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| lamina_python::tags::Target {
                minor: minor.unwrap_or(12),
                arch: plan.platform.python_machine().to_string(),
                glibc: opts.glibc.unwrap_or((2, 26)),
                allow_linux: false,
            });
        match plan.deps.as_ref().and_then(|d| d.lock.as_ref()) {
            // With a lock, the fix is in the requirements it is made from.
            Some(_) => format!(
                "uv add {} (or add them to requirements.in and run pip-compile --generate-hashes), then lock again",
                missing.join(" ")
            ),
            None => target
                .pip_download_hint(&missing.join(" "))
                .replace("WHEELS_DIR", &shown_dir),
        }
    });
    if let Some(failed) = fs.failure() {
        return Err(failed);
    }
    Ok(GateReport {
        findings: out,
        base_sizes: scan.sizes,
        base_scans_cached: scan.cached,
        python: minor,
        stdlib_from,
        modules_checked: stats.modules,
        fix,
        learned,
    })
}
