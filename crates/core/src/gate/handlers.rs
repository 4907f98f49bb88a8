//! Every handler resolved as awslambdaric resolves it, and everything its module imports at
//! module level resolved against the image (`lamina_analysis::handler`, `lamina_analysis::imports`), turned into
//! findings: Lambda's error where Lambda would fail, a warning where an import is optional,
//! conditional, under `TYPE_CHECKING` or inside a function, and "cannot verify" where lamina
//! cannot decide. Findings about dependencies' own optional or undecidable imports are summed up
//! in one line each.

use super::finding::{Code, Finding, Severity};
use lamina_analysis::facts::When;
use lamina_analysis::handler::{self, HandlerError, Outcome};
use lamina_analysis::imports::{Failure, FailureKind, Space};
use lamina_analysis::stdlib::Stdlib;
use lamina_python::provides::Providers;

/// What the handler checks found beyond their findings.
#[derive(Debug, Default)]
pub struct HandlerStats {
    /// Modules read and parsed, over all handlers.
    pub modules: usize,
    /// Projects to install (for one `pip download` line).
    pub missing_projects: Vec<String>,
    /// Each handler and the modules importing its module imports (for the loader check).
    pub imported: Vec<(String, std::collections::HashSet<String>)>,
}

fn code_of(e: HandlerError) -> Code {
    match e {
        HandlerError::MalformedHandlerName => Code::MalformedHandlerName,
        HandlerError::BuiltInModuleConflict => Code::BuiltInModuleConflict,
        HandlerError::ImportModuleError => Code::ImportModuleError,
        HandlerError::UserCodeSyntaxError => Code::UserCodeSyntaxError,
        HandlerError::HandlerNotFound => Code::HandlerNotFound,
        HandlerError::NotCallable => Code::HandlerTypeError,
    }
}

struct Ctx<'a> {
    space: &'a Space<'a>,
    providers: &'a Providers,
    /// `-d DIR` for the install hint (the wheels directory in use, else `wheels`).
    wheels_dir: String,
    /// The lock file given to `--lock` (as shown): the fix is then to relock.
    lock: Option<String>,
    stats: HandlerStats,
}

impl Ctx<'_> {
    /// What to do about `No module named '<target>'`.
    fn missing_hint(&mut self, target: &str) -> Option<String> {
        let minor = self.space.minor;
        let versions = Stdlib::versions_with(target);
        if !versions.is_empty() {
            let have: Vec<String> = versions.iter().map(|m| format!("3.{m}")).collect();
            let backport = Providers::backport(target)
                .map(|b| format!("; on this base use the {b} backport"))
                .unwrap_or_default();
            return Some(format!(
                "'{target}' is in the standard library of CPython {} only; the base runs {}{backport}",
                have.join(", "),
                minor.map_or("another version".into(), |m| format!("3.{m}"))
            ));
        }
        let top = target.split('.').next().unwrap_or(target);
        // A typo of something here is a typo, not a project to add (a typosquatter's name).
        if let Some(close) = self.close_name(top) {
            return Some(close);
        }
        let (project, known) = self.providers.project(target);
        if !self.stats.missing_projects.contains(&project) {
            self.stats.missing_projects.push(project.clone());
        }
        let shown = if Providers::is_namespace(top) {
            target.split('.').take(2).collect::<Vec<_>>().join(".")
        } else {
            top.to_string()
        };
        let from = if known {
            format!("'{shown}' comes from the {project} project: ")
        } else {
            String::new()
        };
        Some(match &self.lock {
            Some(lock) => format!(
                "{from}add {project} to the requirements {lock} is locked from and lock again (uv: `uv add {project}` then `uv export --format pylock.toml -o pylock.toml`, or `uv pip compile --generate-hashes requirements.in -o requirements.txt`; pip-tools: add it to requirements.in, then `pip-compile --generate-hashes`)"
            ),
            None => format!(
                "{from}add {project} to the dependencies: put its wheel in {dir} (pip download --only-binary=:all: … -d {dir} {project}) and build with --wheels {dir}",
                dir = self.wheels_dir,
            ),
        })
    }

    /// "did you mean 'requests'?" for `reqeusts`: a module in /var/task, else an import name
    /// lamina knows (the wheels at hand, its table), within a small edit distance.
    fn close_name(&self, top: &str) -> Option<String> {
        let near = |cands: &mut dyn Iterator<Item = String>| -> Option<String> {
            let limit = if top.chars().count() <= 4 { 1 } else { 2 };
            let mut best: Option<(usize, String)> = None;
            for c in cands {
                if c == top || c.starts_with('_') {
                    continue;
                }
                let d = distance(&c.to_lowercase(), &top.to_lowercase());
                if d <= limit && best.as_ref().is_none_or(|(bd, bc)| (d, &c) < (*bd, bc)) {
                    best = Some((d, c));
                }
            }
            best.map(|(_, c)| c)
        };
        let here = self.space.task.list("").into_iter().filter_map(|e| {
            let stem = e.split('.').next().unwrap_or(&e).to_string();
            (!e.ends_with(".dist-info") && !e.ends_with(".libs") && !stem.is_empty())
                .then_some(stem)
        });
        if let Some(c) = near(&mut here.into_iter()) {
            return Some(format!(
                "did you mean '{c}'? /var/task has {c}, and no module '{top}'"
            ));
        }
        let known = self
            .providers
            .known_names()
            .map(|n| n.split('.').next().unwrap_or(n).to_string())
            .collect::<Vec<_>>();
        near(&mut known.into_iter()).map(|c| {
            let (project, _) = self.providers.project(&c);
            format!("did you mean '{c}' (the {project} project)? lamina knows no project that provides '{top}'")
        })
    }

    fn failure_hint(&mut self, f: &Failure) -> Option<String> {
        match &f.kind {
            FailureKind::Import { message, note } => {
                if let Some(n) = note {
                    return Some(n.clone());
                }
                // The whole name imported (google.ads.googleads), when the missing module is a
                // part of it (google): a namespace's project is found by its deeper names.
                message
                    .strip_prefix("No module named '")
                    .and_then(|m| m.split('\'').next())
                    .map(|m| {
                        if f.target.starts_with(&format!("{m}.")) {
                            f.target.clone()
                        } else {
                            m.to_string()
                        }
                    })
                    .and_then(|m| self.missing_hint(&m))
            }
            _ => None,
        }
    }
}

/// Levenshtein distance (short names only: top-level module names).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn chain_text(chain: &[String]) -> String {
    if chain.len() > 1 {
        format!(" (via {})", chain.join(" → "))
    } else {
        String::new()
    }
}

/// Checks every handler; appends findings; returns stats.
pub fn check(
    space: &Space,
    handlers: &[String],
    functions: &std::collections::BTreeMap<String, Vec<String>>,
    providers: &Providers,
    wheels_dir: &str,
    lock: Option<String>,
    out: &mut Vec<Finding>,
) -> HandlerStats {
    let mut cx = Ctx {
        space,
        providers,
        wheels_dir: wheels_dir.to_string(),
        lock,
        stats: HandlerStats::default(),
    };
    let mut found = Vec::new();
    let mut dep_unverified: Vec<String> = Vec::new();
    let mut dep_conditional: Vec<String> = Vec::new();
    let (mut dep_unverified_by, mut dep_conditional_by): (Vec<String>, Vec<String>) =
        Default::default();
    let mut in_functions: std::collections::HashSet<(String, u32)> = Default::default();
    for (i, h) in handlers.iter().enumerate() {
        let which = if i == 0 {
            "the image's Cmd".to_string()
        } else {
            format!("handler {}", i + 1)
        };
        // For handlers read from serverless.yml: the functions that run them.
        let which = match functions.get(h) {
            Some(f) => format!("{which}; {}", f.join(", ")),
            None => which,
        };
        let r = handler::resolve(space, h);
        // The first failure that always happens is what the handler's own outcome reports.
        let first = r
            .walk
            .as_ref()
            .and_then(|w| w.failures.iter().position(|x| x.when == When::Always));
        match &r.outcome {
            Outcome::Ok(_) => {}
            Outcome::Fails(f) => {
                let code = code_of(f.error);
                let mut hint = f.hint.clone();
                if let Some(w) = &r.walk {
                    if let Some(x) = first.map(|i| &w.failures[i]) {
                        if hint.is_none() {
                            hint = cx.failure_hint(&x.clone());
                        }
                    }
                }
                if f.error == HandlerError::ImportModuleError && hint.is_none() {
                    if let Some(m) = f.message.split("No module named '").nth(1) {
                        hint = cx.missing_hint(m.split('\'').next().unwrap_or(m));
                    }
                }
                let site = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!(" (/var/task/{file}:{line})"),
                    _ => String::new(),
                };
                let chain = first
                    .and_then(|i| r.walk.as_ref().map(|w| w.failures[i].chain.clone()))
                    .unwrap_or_default();
                found.push(
                    Finding::error(
                        code,
                        format!("{h} ({which}): {}{site}{}", f.message, chain_text(&chain)),
                    )
                    .hint(hint)
                    .at(f.file.as_ref().map(|p| format!("/var/task/{p}")), f.line)
                    .handler(h)
                    .chain(chain)
                    .lambda_message(&f.message),
                );
            }
            Outcome::Unverified(why) => found.push(
                Finding::warning(
                    Code::CannotVerify,
                    format!("{h} ({which}): cannot verify: {why}"),
                )
                .handler(h),
            ),
        }
        let Some(walk) = r.walk else { continue };
        cx.stats.imported.push((h.clone(), walk.imported.clone()));
        cx.stats.modules += walk.modules;
        in_functions.extend(walk.in_functions.iter().cloned());
        for (k, f) in walk.failures.iter().enumerate() {
            if Some(k) == first {
                continue;
            }
            let site = format!("/var/task/{}:{}", f.file, f.line);
            let what = match &f.kind {
                FailureKind::Import { message, .. } => message.clone(),
                FailureKind::Syntax(p) => format!("syntax error: {}", p.message),
                FailureKind::Unknown(why) => why.clone(),
            };
            let unknown = matches!(f.kind, FailureKind::Unknown(_));
            if !f.in_source && (unknown || f.when != When::Always) {
                let line = format!("{} ({site}): {what}", f.target);
                // Undecided where it always runs: the handler is not verified. Under a condition,
                // it is what a conditional import is (its condition may never hold).
                let (bucket, hit) = if unknown && f.when == When::Always {
                    (&mut dep_unverified, &mut dep_unverified_by)
                } else {
                    (&mut dep_conditional, &mut dep_conditional_by)
                };
                if !bucket.contains(&line) {
                    bucket.push(line);
                }
                if !hit.contains(h) {
                    hit.push(h.clone());
                }
                continue;
            }
            let (sev, code, how) = match (&f.when, unknown) {
                (_, true) => (
                    Severity::Warning,
                    Code::CannotVerify,
                    "cannot verify".to_string(),
                ),
                (When::Always, false) => (
                    Severity::Error,
                    match f.kind {
                        FailureKind::Syntax(_) => Code::UserCodeSyntaxError,
                        _ => Code::ImportModuleError,
                    },
                    "also fails".to_string(),
                ),
                (When::Conditional(c), _) => (
                    Severity::Warning,
                    Code::ConditionalImport,
                    format!("fails if it runs ({c})"),
                ),
                (When::Guarded(_), _) => (
                    Severity::Warning,
                    Code::OptionalImport,
                    "handled by its except ImportError".to_string(),
                ),
                (When::TypeChecking, _) => (
                    Severity::Warning,
                    Code::TypeCheckingImport,
                    "under if TYPE_CHECKING, never runs".to_string(),
                ),
                (When::InFunction(func), _) => (
                    Severity::Warning,
                    Code::FunctionImport,
                    format!("inside {func}(): fails when it is called"),
                ),
            };
            let hint = if unknown { None } else { cx.failure_hint(f) };
            found.push(
                Finding::new(
                    sev,
                    code,
                    format!(
                        "{site} imports {}: {what}; {how}{}",
                        f.target,
                        chain_text(&f.chain)
                    ),
                )
                .hint(hint)
                .at(Some(format!("/var/task/{}", f.file)), Some(f.line))
                .handler(h)
                .chain(f.chain.clone()),
            );
        }
    }
    out.extend(super::finding::merge_handlers(found));
    let summary = |items: &[String]| {
        let shown: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
        format!(
            "{}{}",
            shown.join("; "),
            if items.len() > 3 { "; …" } else { "" }
        )
    };
    if !dep_unverified.is_empty() {
        out.push(
            Finding::warning(
                Code::CannotVerify,
                format!(
                    "{} import(s) inside the dependencies could not be checked: {}",
                    dep_unverified.len(),
                    summary(&dep_unverified)
                ),
            )
            .details(dep_unverified.clone())
            .handlers(dep_unverified_by),
        );
    }
    if !dep_conditional.is_empty() {
        out.push(Finding::warning(Code::ConditionalImport, format!(
            "{} conditional import(s) inside the dependencies do not resolve (they fail only if their condition holds): {}",
            dep_conditional.len(),
            summary(&dep_conditional)
        )).details(dep_conditional.clone()).handlers(dep_conditional_by));
    }
    if !in_functions.is_empty() {
        out.push(Finding::warning(Code::FunctionImport, format!(
            "{} import(s) inside functions in your code were resolved but not followed: they run when the function is called",
            in_functions.len()
        )));
    }
    cx.stats
}
