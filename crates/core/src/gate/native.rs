//! Native code and metadata in the dependency layer: every `.so`'s ELF machine and `GLIBC_x.y`
//! needs against the base, and every wheel's `Requires-Dist` (markers evaluated for the target)
//! met by another wheel (in a version its specifiers accept) or by the runtime.

use super::finding::{Code, Finding};
use super::task::TaskFs;
use super::GateOptions;
use lamina_analysis::imports::TaskTree;
use lamina_install::deps::facts::SoFacts;
use lamina_python::requires::{marker_applies, parse_requirement};
use lamina_python::wheel::header;
use std::collections::{BTreeMap, HashMap};

/// Checks every `.so` (from the facts cache when recorded); returns what it found out about the
/// dependency layer's ones (for the facts cache), and about all of them (for the loader check).
pub fn check_binaries(
    fs: &TaskFs,
    opts: &GateOptions,
    out: &mut Vec<Finding>,
) -> (BTreeMap<String, SoFacts>, BTreeMap<String, SoFacts>) {
    let want = opts.platform.python_machine().to_string();
    let mut paths: Vec<&String> = fs.files.keys().filter(|p| SoFacts::applies_to(p)).collect();
    paths.sort();
    let mut learned = BTreeMap::new();
    let mut all = BTreeMap::new();
    for path in paths {
        let fact = match fs.recorded_so(path) {
            Some(f) => f,
            None => {
                let Some(bytes) = fs.bytes(path, SoFacts::READ_LIMIT) else {
                    continue;
                };
                SoFacts::of(&bytes)
            }
        };
        if !fs.is_source(path) {
            learned.insert(path.clone(), fact.clone());
        }
        all.insert(path.clone(), fact.clone());
        let (machine, max_glibc) = match fact {
            SoFacts::Elf {
                machine, max_glibc, ..
            } => (machine, max_glibc),
            SoFacts::NotElf => {
                out.push(Finding::error(Code::ImportModuleError, format!("/var/task/{path} is not an ELF file (invalid ELF header): a library built for another OS?")));
                continue;
            }
            SoFacts::Damaged(why) => {
                // Not verified, so never a pass by silence.
                out.push(Finding::warning(
                    Code::ImportModuleError,
                    format!("/var/task/{path}: {why}; its machine and glibc needs are not checked"),
                ));
                continue;
            }
            SoFacts::Nothing => continue,
        };
        if machine != want {
            out.push(Finding::error(Code::ImportModuleError, format!("/var/task/{path} is {machine} code; the function runs {want} (invalid ELF header / exec format error)")));
        }
        if let (Some(need), Some(have)) = (max_glibc, opts.glibc) {
            if need > have {
                out.push(Finding::error(
                    Code::ImportModuleError,
                    format!("/var/task/{path} needs GLIBC_{}.{}; {} has glibc {}.{} (version `GLIBC_{}.{}' not found)", need.0, need.1, opts.base_name, have.0, have.1, need.0, need.1),
                ));
            }
        }
    }
    (learned, all)
}

/// Requirements no wheel and not the runtime meets, and those met by a wheel whose version the
/// requirement does not accept; each is a finding. Returns them (for the one `pip download` line
/// that fixes them all). The runtime's packages carry no version here: they are taken as they are.
pub fn check_closure(
    deps: &lamina_install::wheels::DepsPlan,
    target: &lamina_python::tags::Target,
    opts: &GateOptions,
    out: &mut Vec<Finding>,
) -> Vec<String> {
    let installed: HashMap<String, &lamina_python::wheel_name::WheelName> = deps
        .wheels
        .iter()
        .map(|w| (w.name.normalized(), &w.name))
        .collect();
    let mut missing: Vec<String> = Vec::new();
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
            if let Some(have) = installed.get(&req.name) {
                if !req.accepts(&have.version) {
                    let spec = requirement_spec(&req.text);
                    out.push(Finding::new(
                        opts.missing_deps,
                        Code::ImportModuleError,
                        format!(
                            "{} {} does not satisfy {spec} (required by {} {})",
                            have.name, have.version, w.name.name, w.name.version
                        ),
                    ));
                    if !missing.contains(&spec) {
                        missing.push(spec);
                    }
                }
                continue;
            }
            if opts
                .runtime_packages
                .iter()
                .any(|r| lamina_python::normalize_name(r) == req.name)
            {
                continue;
            }
            out.push(Finding::new(
                opts.missing_deps,
                Code::ImportModuleError,
                format!("{} {} requires {}, which is neither among the wheels nor in the Lambda runtime (No module named …)", w.name.name, w.name.version, req.text),
            ));
            let spec = requirement_spec(&req.text);
            if !missing.contains(&spec) {
                missing.push(spec);
            }
        }
    }
    missing
}

/// `requests (>=2) ; extra == "x"` → `requests>=2` (what `pip download` takes).
fn requirement_spec(text: &str) -> String {
    let t = text.split(';').next().unwrap_or(text).trim();
    let t: String = t
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | ' '))
        .collect();
    t
}
