//! What the gate is told besides the image and the plan: the target's Python and glibc, what the
//! base's runtime provides (from the catalog), how severe a missing dependency is, and whether to
//! run the import check (`for_build` decides all of it from a build, including when the import
//! check must be skipped). It runs no check itself.

use crate::build::{catalog_entry, Built};
use crate::catalog;
use crate::config::{parse_glibc, parse_python, Plan};
use lamina_cache::Cache;
use lamina_oci::Platform;
use std::path::PathBuf;

use super::Severity;

pub struct GateOptions {
    pub platform: Platform,
    /// Missing dependencies are errors (default) or warnings.
    pub missing_deps: Severity,
    /// Distributions and import names the base's runtime has, per the catalog (empty when the
    /// catalog does not know the base).
    pub runtime_packages: Vec<String>,
    pub runtime_modules: Vec<String>,
    /// The catalog knows the base.
    pub known_base: bool,
    /// The base's glibc, when known (from the catalog or `--glibc`).
    pub glibc: Option<(u32, u32)>,
    pub base_name: String,
    /// The target's CPython minor version, when known (catalog, `--python`, the base).
    pub python: Option<u32>,
    /// `--import-check`: the target's CPython minor version.
    pub import_check: Option<u32>,
    /// Where base-layer scans are cached.
    pub scan_cache: Option<PathBuf>,
    /// The catalog's warning for a runtime past AWS's deprecation date.
    pub deprecation: Option<String>,
}

impl GateOptions {
    /// The options for `built` from `plan`: the target's Python and glibc from the dependency
    /// layer's target, else the flags, else the catalog entry the base names.
    pub fn for_build(built: &Built, plan: &Plan, missing_deps: Severity) -> GateOptions {
        let known = catalog_entry(plan);
        let (runtime_packages, runtime_modules) = if known.is_some() {
            catalog::runtime_packages()
        } else {
            (Vec::new(), Vec::new())
        };
        let glibc = built
            .deps
            .as_ref()
            .map(|(_, t)| t.glibc)
            .or_else(|| known.as_ref().and_then(|k| parse_glibc(&k.glibc).ok()));
        let python = built
            .deps
            .as_ref()
            .map(|(_, t)| t.minor)
            .or(plan.python)
            .or_else(|| known.as_ref().and_then(|k| parse_python(&k.python).ok()));
        let deprecation = known
            .as_ref()
            .and_then(|k| catalog::support_warning(k, &catalog::today()));
        GateOptions {
            platform: plan.platform.clone(),
            missing_deps,
            runtime_packages,
            runtime_modules,
            known_base: known.is_some(),
            glibc,
            python,
            scan_cache: Some(
                Cache::open(&Cache::default_location())
                    .map(|c| c.scans_dir())
                    .unwrap_or_default(),
            )
            .filter(|p| !p.as_os_str().is_empty()),
            import_check: plan.import_check.then_some(python).flatten(),
            // Name the catalog base only when its glibc is the one checked against (not overridden).
            base_name: known
                .filter(|k| parse_glibc(&k.glibc).ok() == glibc)
                .map_or_else(
                    || "the base".to_string(),
                    |k| format!("the {} base", k.name),
                ),
            deprecation,
        }
    }

    /// Why `--import-check` was asked for but will not run before the gate even starts (the
    /// base's Python version is unknown); the import check says itself why it skips later.
    pub fn import_check_skipped(&self, plan: &Plan) -> Option<&'static str> {
        (plan.import_check && self.python.is_none())
            .then_some("skipped: the base's Python version is unknown (pass --python 3.X)")
    }
}
