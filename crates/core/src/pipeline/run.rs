//! `build` and `check`: plan → cache → ECR repository → client → base → layers (remote cache
//! consulted) → gate → verdict → sinks → remote-cache entries. The order is the contract: the
//! gate runs before any sink, a refused image reaches none, and a remote-cache entry is recorded
//! only after a push, so it never names a blob the registry does not hold.

use super::{Connection, Observer, Stage};
use crate::build::{self, Built};
use crate::config::{self, Overrides, Plan};
use crate::gate::{self, GateFailed, GateOptions, GateReport, Severity, Verdict};
use crate::remote_cache::RemoteCache;
use crate::sink::Published;
use crate::sizes::SizeReport;
use lamina_cache::Cache;
use lamina_support::diagnostic::{Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long each stage took.
#[derive(Debug, Default, Clone)]
pub struct Timings {
    pub resolve: Option<Duration>,
    pub layers: Option<Duration>,
    pub gate: Option<Duration>,
}

/// What a build (or check) did. A refused image is here for its report; `published` is then
/// empty and `refused()` says why.
pub struct Outcome {
    pub plan: Plan,
    pub built: Built,
    pub gate: GateReport,
    pub sizes: SizeReport,
    pub verdict: Verdict,
    /// One entry per sink, in order; empty for `check` and for a refused image.
    pub published: Vec<Published>,
    pub timings: Timings,
}

impl Outcome {
    /// The gate's refusal, when the verdict is `Fail`.
    pub fn refused(&self) -> Option<GateFailed> {
        (self.verdict == Verdict::Fail).then(|| GateFailed {
            errors: self.gate.errors(),
            unverified: self.gate.unverified(),
        })
    }

    /// stdout's line: the last sink's (`REPO@sha256:…` after a push), else the image digest.
    pub fn line(&self) -> String {
        self.published
            .last()
            .map_or_else(|| self.built.image.digest().to_string(), |p| p.line.clone())
    }
}

/// What a plan is resolved for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Outputs checked before anything is built.
    Build,
    /// No output and no push; says when there is no lamina.toml.
    Check,
    /// No output and no push, silently (the comparison is the result).
    Verify,
}

/// The project directory, lamina.toml and the flags, resolved into a plan for `purpose`.
pub fn plan_for(
    project: &Path,
    overrides: Overrides,
    purpose: Purpose,
    obs: &dyn Observer,
) -> Result<Plan> {
    let project = std::path::absolute(project)
        .with_context(|| format!("project directory {}", project.display()))?;
    lamina_support::diagnostic::project_dir(&project)?;
    let file = config::load_file(&project)?;
    if file.source.is_none() && purpose != Purpose::Verify {
        obs.line(format!(
            "no {} in {}: using the flags only",
            config::FILE_NAME,
            project.display()
        ));
    }
    let mut plan = Plan::resolve(&project, file, overrides, config::source_date_epoch()?)?;
    if purpose == Purpose::Build {
        crate::output::check(&plan)?;
        crate::attestation::check_paths(&plan)?;
    } else {
        plan.output = None;
        plan.push = None;
    }
    Ok(plan)
}

/// Builds `plan`, runs the gate and, unless `check_only` or the verdict refuses the image,
/// publishes it to every sink the plan names. `missing_deps` is the severity of a dependency
/// missing from the wheels.
pub fn build(
    plan: Plan,
    cache: &Cache,
    conn: &Connection,
    missing_deps: Severity,
    check_only: bool,
    obs: &dyn Observer,
) -> Result<Outcome> {
    let mut timings = Timings::default();
    let t_resolve = Instant::now();
    let log = |m: String| obs.line(m);
    let repo = prepare_push(&plan, conn, &log)?;
    let client = conn.client_for(&plan)?;
    let base = crate::base::open(&plan, &client, cache)?;
    timings.resolve = Some(t_resolve.elapsed());
    obs.stage(Stage::Resolve, t_resolve.elapsed());
    obs.base(&plan, &base.image);
    let index = super::index_client(conn);
    let t_layers = Instant::now();
    let remote = RemoteCache::for_plan(&plan, &client, cache);
    let built = build::build_with_remote(
        &plan,
        base.image,
        base.host_variant.as_ref(),
        cache,
        &index,
        remote.as_ref(),
        &mut |m| log(m),
    )?;
    timings.layers = Some(t_layers.elapsed());
    obs.stage(Stage::Layers, t_layers.elapsed());
    if index.requests() > 0 {
        log(format!("package index: {} requests", index.requests()));
    }

    let t_gate = Instant::now();
    let opts = GateOptions::for_build(&built, &plan, missing_deps);
    if let Some(why) = opts.import_check_skipped(&plan) {
        log(format!("warning[import-check]: {why}"));
    }
    let mut report = gate::check(&built, &plan, &opts)?;
    timings.gate = Some(t_gate.elapsed());
    obs.stage(Stage::Gate, t_gate.elapsed());
    if let (Some((deps, _)), Some(key)) = (&built.deps, &built.deps_key) {
        if let Err(e) = lamina_install::deps::facts::remember(cache, key, deps, &report.learned) {
            log(format!(
                "warning: the dependency layer's facts were not cached: {e}"
            ));
        }
    }
    let sizes = crate::sizes::report(&built, &report.base_sizes);
    let verdict = report.verdict(plan.deny_unverified);
    obs.gate(&plan, &built, &report, &sizes, verdict);
    let learned = std::mem::take(&mut report.learned);
    let mut outcome = Outcome {
        plan,
        built,
        gate: report,
        sizes,
        verdict,
        published: Vec::new(),
        timings,
    };
    if check_only || verdict == Verdict::Fail {
        return Ok(outcome);
    }

    let plan = &outcome.plan;
    match crate::output::ignore_build_dir(plan) {
        Ok(Some(f)) => log(format!(
            "wrote {}: build/ is build output, kept out of git",
            f.display()
        )),
        Ok(None) => {}
        Err((f, e)) => log(format!(
            "warning: {}: {e} (add build/ to .gitignore)",
            f.display()
        )),
    }
    // The SBOM and provenance: attached to a push (unless turned off), written where asked.
    let wanted = (plan.attest && plan.push.is_some())
        || plan.sbom_out.is_some()
        || plan.provenance_out.is_some();
    let attestations = match wanted {
        true => Some(crate::attestation::documents(plan, &outcome.built)?),
        false => None,
    };
    let artifacts = match (&attestations, plan.attest) {
        (Some(a), true) => a.artifacts(&outcome.built.image),
        _ => Vec::new(),
    };
    // The local copies first, like the local output: a failed write pushes nothing.
    if let Some(a) = &attestations {
        for f in a.write_files(plan)? {
            log(format!("wrote {}", f.display()));
        }
    }
    let sinks = crate::sink::for_plan(plan, &client, repo.as_ref(), artifacts);
    outcome.published = crate::sink::publish_all(&outcome.built.image, &sinks, obs)?;
    // After the push, so an entry never names a blob the registry does not hold.
    if let Some(r) = remote
        .as_ref()
        .filter(|_| outcome.published.iter().any(|p| p.pushed.is_some()))
    {
        r.record_built(&outcome.built, &learned, &|m| log(m));
    }
    warn_from(&client, obs);
    Ok(outcome)
}

/// lamina's cache where the environment puts it (`LAMINA_CACHE_DIR`, `XDG_CACHE_HOME`, `~/.cache`).
pub fn open_cache() -> Result<Cache> {
    let root = Cache::default_location();
    Cache::open(&root).with_context(|| format!("cache {}", root.display()))
}

/// ECR: the push target's repository checked (or created) before any upload; a push with no tag
/// warned about.
fn prepare_push(
    plan: &Plan,
    conn: &Connection,
    log: &dyn Fn(String),
) -> Result<Option<crate::ecr::RepoState>> {
    let Some((target, tags)) = &plan.push else {
        return Ok(None);
    };
    let (profile, region) = (conn.profile.as_deref(), conn.region.as_deref());
    let repo = crate::ecr::prepare_push(target, &plan.ecr, profile, region, &mut |m| log(m))?;
    if let Some(w) = crate::ecr::untagged_warning(target, tags, repo.as_ref()) {
        log(w);
    }
    Ok(repo)
}

/// Warnings the registry client collected (a damaged cached blob that was replaced).
pub(super) fn warn_from(client: &lamina_registry::Client, obs: &dyn Observer) {
    for w in client.stats.warnings.lock().expect("lock").drain(..) {
        obs.line(format!("warning: {w}"));
    }
}
