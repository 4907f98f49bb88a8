//! The command line: clap definitions and the wiring from flags to a base (a layout or a registry),
//! a build, and the sinks (a local layout or archive, a registry push). Data goes to stdout: the
//! manifest digest, or `REPO@sha256:…` after a push; progress and the report go to stderr.

use crate::report;
use clap::{Args, Parser, Subcommand, ValueEnum};
use lamina::build;
use lamina::cache::Cache;
use lamina::config::flags::{checked, parse_platform, secret, PLATFORM_HINT};
use lamina::config::{self, Overrides, Plan};
use lamina::diagnostic::{Context, Result};
use lamina::gate::{GateOptions, Severity};
use lamina::location::Location;
use lamina::oci::Platform;
use lamina::registry::auth::Credential;
use lamina::registry::{self, Client, ClientOptions, Reference};
use lamina::sizes::human;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "lamina",
    version,
    about = "Build AWS Lambda Python container images without Docker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build the image described by lamina.toml (and flags); write it to --output and/or --push it.
    Build(Box<BuildArgs>),
    /// Run every Lambda check of a build (handlers, binaries, dependencies, image rules) and print
    /// the size report, without writing or pushing anything.
    Check(Box<BuildArgs>),
    /// Pull an image (manifest, config and layers) into lamina's cache, for offline builds.
    Pull(Box<PullArgs>),
    /// Write lamina.toml from the project's Dockerfile, serverless.yml (functions, ECR resource)
    /// and lock, reporting every line it could not translate.
    Init(Box<crate::init_cmd::InitArgs>),
    /// Rebuild from the inputs with no cache at all (local or remote) and compare with a published
    /// image (REPO@sha256:…, REPO:TAG or oci:DIR:TAG): exit 0 only if the digests are equal.
    Verify(Box<crate::verify_cmd::VerifyArgs>),
}

fn parse_endpoint(s: &str) -> Result<(String, String), String> {
    let (host, url) = config::parse_key_value(s)?;
    lamina::registry::client::check_endpoint(&url)?;
    Ok((host, url))
}

const PULL_HINT: &str = "write a registry image as HOST/REPOSITORY[:TAG][@sha256:DIGEST], e.g. public.ecr.aws/lambda/python:3.12";

#[derive(Args, Debug, Clone)]
pub struct RegistryArgs {
    /// Credentials for the registry pushed to (or pulled from, for `pull`): USER:PASSWORD.
    /// Without it, ~/.docker/config.json, $REGISTRY_AUTH_FILE and podman's auth.json are read.
    #[arg(long, value_name = "USER:PASSWORD", value_parser = secret(Credential::parse, "pass --creds USER:PASSWORD (e.g. --creds AWS:$TOKEN), or log in with docker login or podman login"))]
    pub creds: Option<Credential>,
    /// Allow plain http to this registry (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST", value_parser = checked(lamina::location::check_insecure, "pass the registry's HOST[:PORT] alone, e.g. --insecure-registry registry.local:5000 (no http://, no path)"))]
    pub insecure: Vec<String>,
    /// Send HOST's registry traffic to URL, naming and authenticating it as HOST (e.g. an ECR host
    /// to http://127.0.0.1:5000). Repeatable; also LAMINA_REGISTRY_ENDPOINTS=HOST=URL,…
    #[arg(long = "registry-endpoint", value_name = "HOST=URL", value_parser = secret(parse_endpoint, "pass --registry-endpoint HOST=URL with an http:// or https:// URL, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com=http://127.0.0.1:5000"))]
    pub endpoints: Vec<(String, String)>,
    /// Give up on a registry that makes no progress: connecting, waiting for an answer, or a
    /// request that takes longer than this (plus time for its bytes at 16 KiB/s). 30s, 2m, 90.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = checked(config::parse_timeout, "pass a duration such as 30s, 2m or 90 (seconds)"))]
    pub timeout: std::time::Duration,
    /// AWS profile for ECR registries (else AWS_PROFILE, else the default chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region for ECR (must match the registry host's; by default taken from it).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// Flags that only matter when uploading (not for `pull`).
#[derive(Args, Debug, Clone)]
pub struct UploadArgs {
    /// Upload blobs in PATCH chunks of SIZE instead of one monolithic PUT.
    #[arg(long = "chunk-size", value_name = "SIZE", value_parser = checked(config::parse_chunk_size, "pass a size such as 5M, or leave --chunk-size out for one streamed upload per blob"))]
    pub chunk_size: Option<u64>,
    /// Blob uploads in flight at once.
    #[arg(long, value_name = "N", default_value = "4", value_parser = checked(config::parse_count, "pass --parallel N with N at least 1 (the default is 4)"))]
    pub parallel: usize,
}

impl RegistryArgs {
    /// ECR credentials for every ECR host among `hosts`.
    pub(crate) fn ecr_credentials(&self, hosts: &[&str]) -> Result<Vec<(String, Credential)>> {
        Ok(lamina::ecr::credentials(
            hosts,
            self.profile.as_deref(),
            self.region.as_deref(),
        )?)
    }

    /// ECR: the push target's repository checked (or created) before any upload; a push with no
    /// tag warned about.
    fn prepare_push(
        &self,
        plan: &Plan,
        log: &mut dyn FnMut(String),
    ) -> Result<Option<lamina::ecr::RepoState>> {
        let Some((target, tags)) = &plan.push else {
            return Ok(None);
        };
        let (profile, region) = (self.profile.as_deref(), self.region.as_deref());
        let repo = lamina::ecr::prepare_push(target, &plan.ecr, profile, region, log)?;
        if let Some(w) = lamina::ecr::untagged_warning(target, tags, repo.as_ref()) {
            log(w);
        }
        Ok(repo)
    }

    /// The client for a build: ECR credentials for an ECR base or target, `--creds` for the target.
    fn client_for(&self, plan: &Plan, upload: &UploadArgs) -> Result<Arc<Client>> {
        let mut hosts: Vec<&str> = Vec::new();
        if let Location::Registry(r) = &plan.base {
            hosts.push(&r.host);
        }
        let target = plan.push.as_ref().map(|(r, _)| r.host.as_str());
        hosts.extend(target);
        if let Some(r) = &plan.remote_cache {
            hosts.push(&r.host);
        }
        let ecr = self.ecr_credentials(&hosts)?;
        self.client_with(target, ecr, Some(upload))
    }

    fn client(&self, creds_host: Option<&str>) -> Result<Arc<Client>> {
        self.client_with(creds_host, Vec::new(), None)
    }

    pub(crate) fn client_with(
        &self,
        creds_host: Option<&str>,
        extra: Vec<(String, Credential)>,
        upload: Option<&UploadArgs>,
    ) -> Result<Arc<Client>> {
        let mut opts = ClientOptions {
            insecure: self.insecure.clone(),
            timeout: self.timeout,
            ..Default::default()
        };
        if let Some(u) = upload {
            opts.parallel = u.parallel;
            opts.chunk_size = u.chunk_size;
        }
        if let Ok(env) = std::env::var("LAMINA_REGISTRY_ENDPOINTS") {
            for pair in env.split(',').filter(|p| !p.trim().is_empty()) {
                let (h, u) =
                    parse_endpoint(pair.trim()).map_err(|reason| config::ConfigError::Invalid {
                        field: "LAMINA_REGISTRY_ENDPOINTS".into(),
                        reason: format!("{reason} (the value is not shown: it may hold a secret)"),
                    })?;
                opts.endpoints.insert(h, u);
            }
        }
        opts.endpoints.extend(self.endpoints.iter().cloned());
        opts.creds.extend(extra);
        if let (Some(c), Some(h)) = (&self.creds, creds_host) {
            opts.creds.insert(h.to_string(), c.clone());
        }
        Ok(Arc::new(Client::new(opts)?))
    }
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Project directory holding lamina.toml; relative paths are taken from here.
    #[arg(
        short = 'C',
        long = "project-dir",
        value_name = "DIR",
        default_value = "."
    )]
    pub project: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Dependencies missing from the wheels: error (default) or warn.
    #[arg(
        long = "missing-deps",
        value_name = "error|warn",
        default_value = "error",
        value_enum
    )]
    pub missing_deps: MissingDeps,
    /// Output format on stdout: text (the digest or REPO@sha256:…) or json (digest, tags, sizes, layers).
    #[arg(long, value_name = "text|json", default_value = "text", value_enum)]
    pub format: Format,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

/// `--missing-deps`: how severe a dependency missing from the wheels is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MissingDeps {
    Error,
    Warn,
}

impl From<MissingDeps> for Severity {
    fn from(m: MissingDeps) -> Severity {
        match m {
            MissingDeps::Error => Severity::Error,
            MissingDeps::Warn => Severity::Warning,
        }
    }
}

/// `--format`: what stdout gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    // The digest, or `REPO@sha256:…` after a push. (No doc comments here: they would change
    // `--help`.)
    Text,
    // One JSON document (`schema/report.schema.json`).
    Json,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Registry reference, e.g. public.ecr.aws/lambda/python:3.12.
    #[arg(value_parser = checked(lamina::location::check_pull, PULL_HINT))]
    pub reference: String,
    #[arg(long, value_name = "OS/ARCH", value_parser = checked(parse_platform, PLATFORM_HINT), default_value = "linux/amd64")]
    pub platform: Platform,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build(args) => run_build(*args, false),
        Command::Check(args) => run_build(*args, true),
        Command::Pull(args) => run_pull(*args),
        Command::Init(args) => crate::init_cmd::run(*args),
        Command::Verify(args) => crate::verify_cmd::run(*args),
    }
}

fn open_cache() -> Result<Cache> {
    let root = Cache::default_location();
    Cache::open(&root).with_context(|| format!("cache {}", root.display()))
}

/// `check` writes and pushes nothing: a flag that would is a usage error.
fn check_refuses(args: &BuildArgs) -> Option<&'static str> {
    args.overrides
        .writes_or_pushes()
        .or_else(|| args.upload.chunk_size.is_some().then_some("--chunk-size"))
}

fn run_build(args: BuildArgs, check_only: bool) -> Result<()> {
    if check_only {
        if let Some(flag) = check_refuses(&args) {
            use clap::CommandFactory;
            Cli::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("lamina check writes and pushes nothing, so {flag} does not apply; use lamina build"),
                )
                .exit();
        }
    }
    let json = args.format == Format::Json;
    let mut doc = report::Document::new(if check_only { "check" } else { "build" });
    let start = Instant::now();
    let result = build_and_report(args, check_only, &mut doc);
    doc.timings_ms.total = report::ms(start.elapsed());
    if doc.timings_ms.layers.is_some() {
        report::timings_and_cache(&doc.timings_ms, doc.cache.as_ref());
    }
    if let Err(e) = &result {
        if e.downcast_ref::<lamina::gate::GateFailed>().is_none() {
            let (message, hint) = report::error_text(e);
            doc.result = "error";
            doc.error = Some(report::ErrorDoc { message, hint });
        }
    }
    if json {
        emit(&doc.to_json())?;
    }
    result
}

/// The project directory, lamina.toml and the flags, resolved into a plan (for `check`: with no
/// output and no push).
fn resolve_plan(args: &BuildArgs, check_only: bool) -> Result<Plan> {
    let project = std::path::absolute(&args.project)
        .with_context(|| format!("project directory {}", args.project.display()))?;
    lamina::diagnostic::project_dir(&project)?;
    let file = config::load_file(&project)?;
    if file.source.is_none() {
        eprintln!(
            "lamina: no {} in {}: using the flags only",
            config::FILE_NAME,
            project.display()
        );
    }
    let overrides = args.overrides.clone();
    let mut plan = Plan::resolve(&project, file, overrides, config::source_date_epoch()?)?;
    if check_only {
        plan.output = None;
        plan.push = None;
    } else {
        lamina::output::check(&plan)?;
    }
    Ok(plan)
}

fn build_and_report(args: BuildArgs, check_only: bool, doc: &mut report::Document) -> Result<()> {
    let t_resolve = Instant::now();
    let plan = resolve_plan(&args, check_only)?;
    let cache = open_cache()?;
    let mut log = |m: String| eprintln!("lamina: {m}");
    let repo = args.registry.prepare_push(&plan, &mut log)?;
    let client = args.registry.client_for(&plan, &args.upload)?;
    let base = lamina::base::open(&plan, &client, &cache)?;
    doc.timings_ms.resolve = Some(report::ms(t_resolve.elapsed()));
    report::base(&plan, &base.image);
    let index = lamina::codeartifact::index_client(args.registry.profile.clone());
    let t_layers = Instant::now();
    let variant = base.host_variant.as_ref();
    let remote = crate::remote::open(&plan, &client, &cache);
    let built = build::build_with_remote(
        &plan,
        base.image,
        variant,
        &cache,
        &index,
        remote.as_ref(),
        &mut log,
    )?;
    doc.timings_ms.layers = Some(report::ms(t_layers.elapsed()));
    if index.requests() > 0 {
        log(format!("package index: {} requests", index.requests()));
    }
    let learned = gate(&built, &plan, args.missing_deps, &cache, doc)?;
    if check_only {
        return Ok(());
    }
    match lamina::output::ignore_build_dir(&plan) {
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
    let sinks = lamina::sink::for_plan(&plan, &client, repo.as_ref());
    let published = lamina::sink::publish_all(&built.image, &sinks, &Watch::default())?;
    // After the push, so an entry never names a blob the registry does not hold.
    if let Some(r) = remote
        .as_ref()
        .filter(|_| published.iter().any(|p| p.pushed.is_some()))
    {
        r.record_built(&built, &learned, &|m| eprintln!("lamina: {m}"));
    }
    warn_from(&client);
    doc.set_published(&published);
    let line = published
        .last()
        .map_or_else(|| built.image.digest().to_string(), |p| p.line.clone());
    if let Some(sizes) = &doc.sizes {
        let pushed = published.iter().find(|p| p.pushed.is_some());
        doc.image = report::image_fields(&built, &plan, pushed, &line, sizes);
    }
    if args.format == Format::Text {
        emit(&line)?;
    }
    // The process ends next: freeing the plan's tens of thousands of entries one by one would
    // only delay the exit.
    std::mem::forget(built);
    Ok(())
}

/// Runs the gate, prints its findings and the size report, fills the document's gate part, and
/// keeps what the gate learned about the dependency layer in the local facts cache (returned too,
/// for the remote cache's entries).
fn gate(
    built: &build::Built,
    plan: &Plan,
    missing_deps: MissingDeps,
    cache: &Cache,
    doc: &mut report::Document,
) -> Result<lamina::deps::facts::Learned> {
    let t_gate = Instant::now();
    let opts = GateOptions::for_build(built, plan, missing_deps.into());
    if let Some(why) = opts.import_check_skipped(plan) {
        eprintln!("lamina: warning[import-check]: {why}");
    }
    let mut g = lamina::gate::check(built, plan, &opts)?;
    doc.timings_ms.gate = Some(report::ms(t_gate.elapsed()));
    if let (Some((deps, _)), Some(key)) = (&built.deps, &built.deps_key) {
        if let Err(e) = lamina::deps::facts::remember(cache, key, deps, &g.learned) {
            eprintln!("lamina: warning: the dependency layer's facts were not cached: {e}");
        }
    }
    let sizes = lamina::sizes::report(built, &g.base_sizes);
    report::sizes(built, &sizes);
    let digest = built.image.digest();
    doc.image = report::image_fields(built, plan, None, digest.as_ref(), &sizes);
    doc.sizes = Some(sizes);
    doc.set_gate(&g, plan);
    doc.set_cache(built, &g);
    report::gate(
        &g,
        plan.handlers.len(),
        &plan.platform.to_string(),
        plan.deny_unverified,
    )?;
    Ok(std::mem::take(&mut g.learned))
}

/// The CLI's view of sinks at work: log lines on stderr, a live byte count on a terminal.
#[derive(Default)]
struct Watch(std::sync::Mutex<Option<crate::progress::Progress>>);

impl lamina::sink::Watch for Watch {
    fn line(&self, msg: String) {
        match &*self.0.lock().expect("lock") {
            Some(p) => p.line(&msg),
            None => eprintln!("lamina: {msg}"),
        }
    }
    fn start(&self, label: &'static str, counter: Arc<AtomicU64>) {
        *self.0.lock().expect("lock") = Some(crate::progress::Progress::start(label, counter));
    }
    fn stop(&self) {
        if let Some(p) = self.0.lock().expect("lock").take() {
            p.finish();
        }
    }
}

fn run_pull(args: PullArgs) -> Result<()> {
    let r = Reference::parse(
        args.reference
            .strip_prefix("docker://")
            .unwrap_or(&args.reference),
    )?;
    let cache = open_cache()?;
    let client = args.registry.client(Some(&r.host))?;
    let (image, digest) = registry::pull::pull(&client, &cache, &r, &args.platform)
        .with_context(|| format!("pulling {r}"))?;
    let progress = crate::progress::Progress::start("pulling", client.stats.bytes_received.clone());
    for layer in &image.layers {
        let mut reader = layer
            .open_verified()
            .with_context(|| format!("pulling layer {}", layer.digest()))?;
        let n = io::copy(&mut reader, &mut io::sink())
            .with_context(|| format!("pulling layer {}", layer.digest()))?;
        progress.line(&format!("layer {} ({}) cached", layer.digest(), human(n)));
    }
    progress.finish();
    eprintln!(
        "lamina: {r} ({}) is in the cache; a build with --base {}@{digest} works offline",
        image.platform(),
        r.repo_name()
    );
    warn_from(&client);
    emit(&format!("{}@{digest}", r.repo_name()))?;
    Ok(())
}

/// Warnings the registry client collected (a damaged cached blob that was replaced).
fn warn_from(client: &Client) {
    for w in client.stats.warnings.lock().expect("lock").drain(..) {
        eprintln!("lamina: warning: {w}");
    }
}

/// The result could not be written to stdout.
#[derive(Debug, thiserror::Error)]
#[error("writing the result to stdout: {line}")]
pub struct StdoutError {
    pub line: String,
    #[source]
    pub source: io::Error,
}

impl lamina::diagnostic::Hint for StdoutError {
    fn hint(&self) -> Option<String> {
        Some("stdout could not take the result (a full disk, or a closed file?): the line is in the error above".into())
    }
}

/// Writes the one result line to stdout, and says so when it cannot (never a panic).
pub(crate) fn emit(line: &str) -> Result<(), StdoutError> {
    use io::Write as _;
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|source| StdoutError {
            line: line.to_string(),
            source,
        })
}
