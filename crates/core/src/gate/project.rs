//! What the project around the image says: a requirements or lock file next to it while no
//! dependency input was given (the image would hold none of those packages), `.pth` files in
//! /var/task (Python only processes them in site-packages), and top-level modules that shadow
//! the standard library (the old `typing` and `enum34` wheels).

use super::finding::{Code, Finding};
use super::task::TaskFs;
use lamina_analysis::imports::{StdlibView, TaskTree};
use std::path::Path;

/// Files that declare dependencies, by name, in the project directory and the source roots.
fn dependency_files(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let lock = name == "pylock.toml"
                || (name.starts_with("pylock.") && name.ends_with(".toml"))
                || matches!(name.as_str(), "poetry.lock" | "uv.lock" | "Pipfile.lock");
            let reqs = name.starts_with("requirements") && name.ends_with(".txt");
            let pyproject = name == "pyproject.toml" && declares_dependencies(&e.path());
            (lock || reqs || pyproject).then_some(name)
        })
        .collect();
    out.sort();
    out
}

/// A pyproject.toml with `[project] dependencies` or Poetry dependencies beyond Python itself.
fn declares_dependencies(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(v) = toml::from_str::<toml::Value>(&text) else {
        return false;
    };
    let pep621 = v
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .is_some_and(|a| !a.is_empty());
    let poetry = v
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table())
        .is_some_and(|t| t.keys().any(|k| k != "python"));
    pep621 || poetry
}

/// Warns about dependency files nobody gave lamina.
pub fn dependency_inputs(
    project: &Path,
    srcs: &[String],
    minor: Option<u32>,
    arch: &str,
    out: &mut Vec<Finding>,
) {
    let version = minor.map_or("3.X".to_string(), |m| format!("3.{m}"));
    let mut dirs = vec![(project.to_path_buf(), String::new())];
    for s in srcs.iter().filter(|s| *s != ".") {
        dirs.push((project.join(s), format!("{s}/")));
    }
    for (dir, shown) in dirs {
        for f in dependency_files(&dir) {
            let (how, fetch) = if f.ends_with(".txt") {
                ("requirements file", format!("pip download --only-binary=:all: --platform manylinux2014_{arch} --python-version {version} --implementation cp -d wheels -r {shown}{f}"))
            } else {
                ("dependency declaration", "pip download --only-binary=:all: … -d wheels <its dependencies> (or export a pylock.toml)".to_string())
            };
            out.push(
                Finding::warning(
                    Code::DependencyInput,
                    format!("{shown}{f} is next to the project, but no dependency input was given: the image holds none of the packages this {how} names"),
                )
                .at(Some(dir.join(&f).display().to_string()), None)
                .hint(Some(format!(
                    "vendor the wheels ({fetch}) and build with --wheels wheels, or pass a lock file with --lock FILE"
                ))),
            );
        }
    }
}

/// `.pth` files and standard-library shadows at the top of /var/task.
pub fn task_root(fs: &TaskFs, stdlib: &StdlibView, out: &mut Vec<Finding>) {
    let top = fs.list("");
    let pth: Vec<&String> = top.iter().filter(|n| n.ends_with(".pth")).collect();
    if !pth.is_empty() {
        let names: Vec<String> = pth.iter().map(|n| format!("/var/task/{n}")).collect();
        out.push(
            Finding::warning(
                Code::PthFile,
                format!(
                    "{} {} not processed on Lambda: Python reads .pth files only in site-packages, and /var/task is not one",
                    names.join(", "),
                    if names.len() == 1 { "is" } else { "are" }
                ),
            )
            .hint(Some("packages that rely on them (old-style namespace packages, path hooks) must import without them; `lamina check` resolves imports as if they were absent".into())),
        );
    }
    let StdlibView::Known(s) = stdlib else { return };
    for name in &top {
        let module = name.strip_suffix(".py").or_else(|| {
            fs.is_file(&format!("{name}/__init__.py"))
                .then_some(name.as_str())
        });
        let Some(m) = module else { continue };
        if m.starts_with('_') || s.is_builtin(m) || s.is_frozen(m) || !s.contains(m) {
            continue;
        }
        let from = if fs.is_source(name) || fs.is_source(&format!("{name}/__init__.py")) {
            "your source"
        } else {
            "a wheel"
        };
        out.push(
            Finding::warning(
                Code::ShadowsStdlib,
                format!("/var/task/{name} (from {from}) shadows the standard library's {m}: every `import {m}` on Lambda gets it"),
            )
            .hint(Some(format!("rename it, or drop the wheel that installs it (backports of {m} are not needed on CPython 3.{})", s.minor))),
        );
    }
}

/// Without a dependency input, every `No module named 'x'` a handler hits for a module the image
/// lacks has one root cause: the dependency file next to the project was not given. Those
/// findings become details of the dependency-input finding, which turns into one error listing
/// the handlers they fail (a missing standard-library module keeps its own finding).
pub fn fold_missing_into_dependency_input(out: &mut Vec<Finding>, in_task: &dyn Fn(&str) -> bool) {
    let Some(root) = out.iter().position(|f| f.code == Code::DependencyInput) else {
        return;
    };
    // The module missing, when the image has nothing of its top-level package (not the
    // project's own code).
    let missing_dep = |f: &Finding| {
        let m = f
            .message
            .split("No module named '")
            .nth(1)?
            .split('\'')
            .next()?;
        let top = m.split('.').next().unwrap_or(m);
        (!in_task(top)).then_some(())
    };
    let consequence = |f: &Finding| {
        f.code == Code::ImportModuleError
            && missing_dep(f).is_some()
            && !f
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("standard library") || h.starts_with("did you mean"))
    };
    let mut folded: Vec<Finding> = Vec::new();
    let mut kept: Vec<Finding> = Vec::new();
    for f in out.drain(..) {
        if consequence(&f) {
            folded.push(f);
        } else {
            kept.push(f);
        }
    }
    *out = kept;
    if folded.is_empty() {
        return;
    }
    let mut modules: Vec<String> = Vec::new();
    let mut handlers: Vec<String> = Vec::new();
    let mut details = Vec::new();
    for f in &folded {
        if let Some(m) = f
            .message
            .split("No module named '")
            .nth(1)
            .and_then(|m| m.split('\'').next())
        {
            if !modules.iter().any(|x| x == m) {
                modules.push(m.to_string());
            }
        }
        for h in &f.handlers {
            if !handlers.contains(h) {
                handlers.push(h.clone());
            }
        }
        details.push(f.message.clone());
    }
    let root = &mut out[root];
    root.severity = super::finding::Severity::Error;
    root.message = format!(
        "{}; so {} handler{} fail{} with No module named … ({})",
        root.message,
        handlers.len(),
        if handlers.len() == 1 { "" } else { "s" },
        if handlers.len() == 1 { "s" } else { "" },
        modules.join(", ")
    );
    root.handlers = handlers;
    root.details = details;
}

/// `/var/task/src/app.py` → `src/app.py` when a `src` directory put it there and it is in the
/// project (not a dependency's file): where the user edits what a finding names.
pub fn project_file(plan: &crate::config::Plan, file: Option<&str>) -> Option<String> {
    let rel = file?.strip_prefix("/var/task/")?;
    let from_src = plan.srcs.iter().any(|d| {
        let d = d.trim_end_matches('/');
        d == "." || rel.starts_with(&format!("{d}/"))
    });
    (from_src && plan.project.join(rel).is_file()).then(|| rel.to_string())
}
