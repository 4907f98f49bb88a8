//! The command line: clap definitions and the wiring from flags to a base (a layout or a registry),
//! a build, and the sinks (a local layout or archive, a registry push). Data goes to stdout: the
//! manifest digest, or `REPO@sha256:…` after a push; progress and the report go to stderr.

use crate::flags::{checked, parse_platform, secret, BuildFlags, PLATFORM_HINT};
use crate::report;
use clap::{Args, Parser, Subcommand, ValueEnum};
use lamina_core::build::Built;
use lamina_core::config::{self, Overrides, Plan};
use lamina_core::diagnostic::Result;
use lamina_core::gate::{GateFailed, GateReport, Severity, Verdict};
use lamina_core::oci::Platform;
use lamina_core::pipeline::{self, connection::parse_endpoint, Connection, Purpose, Stage};
use lamina_core::registry::auth::Credential;
use lamina_core::sizes::SizeReport;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "lamina",
    version = env!("LAMINA_VERSION"),
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
    /// Print shell completions for lamina (bash, zsh, fish, powershell, elvish), e.g.
    /// `lamina completions bash > ~/.local/share/bash-completion/completions/lamina`.
    Completions(crate::docs_cmd::CompletionsArgs),
    /// Print lamina's man page (roff), or write one page per subcommand with --out DIR.
    Man(crate::docs_cmd::ManArgs),
    /// Print the SBOM attached to a registry image (REPO:TAG or REPO@sha256:…), as stored.
    Sbom(Box<SbomArgs>),
}

#[derive(Args, Debug)]
pub struct SbomArgs {
    /// The image: REPO:TAG or REPO@sha256:….
    #[arg(value_name = "REF", value_parser = checked(lamina_core::location::check_pull, PULL_HINT))]
    pub reference: String,
    /// Which SBOM: spdx or cyclonedx (default: SPDX if attached, else CycloneDX).
    #[arg(
        long,
        value_name = "spdx|cyclonedx",
        value_enum,
        hide_possible_values = true
    )]
    pub format: Option<crate::flags::SbomFormatArg>,
    /// For a tag naming a multi-platform index: which image's SBOM.
    #[arg(long, value_name = "OS/ARCH", value_parser = checked(parse_platform, PLATFORM_HINT), default_value = "linux/amd64")]
    pub platform: Platform,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

const PULL_HINT: &str = "write a registry image as HOST/REPOSITORY[:TAG][@sha256:DIGEST], e.g. public.ecr.aws/lambda/python:3.12";

#[derive(Args, Debug, Clone)]
pub struct RegistryArgs {
    /// Credentials for the registry pushed to (or pulled from, for `pull`): USER:PASSWORD.
    /// Without it, ~/.docker/config.json, $REGISTRY_AUTH_FILE and podman's auth.json are read.
    #[arg(long, value_name = "USER:PASSWORD", value_parser = secret(Credential::parse, "pass --creds USER:PASSWORD (e.g. --creds AWS:$TOKEN), or log in with docker login or podman login"))]
    pub creds: Option<Credential>,
    /// Allow plain http to this registry (loopback always is). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST", value_parser = checked(lamina_core::location::check_insecure, "pass the registry's HOST[:PORT] alone, e.g. --insecure-registry registry.local:5000 (no http://, no path)"))]
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
    /// How this run reaches registries, with the upload tuning when it uploads.
    pub(crate) fn connection(&self, upload: Option<&UploadArgs>) -> Connection {
        let mut c = Connection {
            creds: self.creds.clone(),
            insecure: self.insecure.clone(),
            endpoints: self.endpoints.clone(),
            timeout: self.timeout,
            profile: self.profile.clone(),
            region: self.region.clone(),
            ..Connection::default()
        };
        if let Some(u) = upload {
            c.parallel = u.parallel;
            c.chunk_size = u.chunk_size;
        }
        c.notice = Some(Arc::new(|m: &str| eprintln!("lamina: {m}")));
        c
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
    pub overrides: BuildFlags,
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
    #[arg(value_parser = checked(lamina_core::location::check_pull, PULL_HINT))]
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
        Command::Completions(args) => crate::docs_cmd::completions(args),
        Command::Man(args) => crate::docs_cmd::man(args),
        Command::Sbom(args) => run_sbom(*args),
    }
}

fn run_sbom(args: SbomArgs) -> Result<()> {
    let cache = pipeline::open_cache()?;
    let conn = args.registry.connection(None);
    let found = pipeline::sbom(
        &args.reference,
        args.format.map(Into::into),
        &args.platform,
        &cache,
        &conn,
    )?;
    eprintln!(
        "lamina: the {} SBOM {} attached to {}",
        found.artifact_type, found.digest, found.subject
    );
    emit(String::from_utf8_lossy(&found.document).trim_end())?;
    Ok(())
}

/// `check` writes and pushes nothing: a flag that would is a usage error.
fn check_refuses(args: &BuildArgs) -> Option<&'static str> {
    Overrides::from(args.overrides.clone())
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
    let printer = Printer::new(if check_only { "check" } else { "build" });
    let start = Instant::now();
    let result = build_and_report(&args, check_only, &printer);
    let mut doc = printer.doc.into_inner().expect("lock");
    let result = result.and_then(|outcome| {
        if let Some(refused) = outcome.refused() {
            return Err(refused.into());
        }
        doc.set_published(&outcome.published);
        let line = outcome.line();
        if !check_only {
            let pushed = outcome.published.iter().find(|p| p.pushed.is_some());
            doc.image =
                report::image_fields(&outcome.built, &outcome.plan, pushed, &line, &outcome.sizes);
        }
        // The process ends next: freeing the plan's tens of thousands of entries one by one
        // would only delay the exit.
        std::mem::forget(outcome);
        Ok((!check_only).then_some(line))
    });
    // stdout's line as soon as it is known, before the time and cache lines on stderr.
    let result = result.and_then(|line| match line {
        Some(line) if !json => emit(&line).map_err(Into::into),
        _ => Ok(()),
    });
    doc.timings_ms.total = report::ms(start.elapsed());
    if doc.timings_ms.layers.is_some() {
        report::timings_and_cache(&doc.timings_ms, doc.cache.as_ref());
    }
    if let Err(e) = &result {
        if e.downcast_ref::<GateFailed>().is_none() {
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

fn build_and_report(
    args: &BuildArgs,
    check_only: bool,
    printer: &Printer,
) -> Result<pipeline::Outcome> {
    let purpose = if check_only {
        Purpose::Check
    } else {
        Purpose::Build
    };
    let t_plan = Instant::now();
    let plan = pipeline::plan_for(
        &args.project,
        args.overrides.clone().into(),
        purpose,
        printer,
    )?;
    let cache = pipeline::open_cache()?;
    *printer.plan_took.lock().expect("lock") = t_plan.elapsed();
    let conn = args.registry.connection(Some(&args.upload));
    let missing = args.missing_deps.into();
    pipeline::build(plan, &cache, &conn, missing, check_only, printer)
}

/// The terminal's side of a run: log lines on stderr (a live byte count on a terminal), the
/// base line, the findings and sizes as the pipeline reports them, and the JSON document filled
/// in as it goes (so a run that fails late still reports what it did).
pub(crate) struct Printer {
    doc: std::sync::Mutex<report::Document>,
    progress: std::sync::Mutex<Option<crate::progress::Progress>>,
    /// Resolving the plan and opening the cache, which the "resolve" time includes.
    plan_took: std::sync::Mutex<std::time::Duration>,
}

impl Printer {
    pub(crate) fn new(command: &'static str) -> Printer {
        Printer {
            doc: std::sync::Mutex::new(report::Document::new(command)),
            progress: Default::default(),
            plan_took: Default::default(),
        }
    }
}

impl lamina_core::sink::Watch for Printer {
    fn line(&self, msg: String) {
        match &*self.progress.lock().expect("lock") {
            Some(p) => p.line(&msg),
            None => eprintln!("lamina: {msg}"),
        }
    }
    fn start(&self, label: &'static str, counter: Arc<AtomicU64>) {
        *self.progress.lock().expect("lock") =
            Some(crate::progress::Progress::start(label, counter));
    }
    fn stop(&self) {
        if let Some(p) = self.progress.lock().expect("lock").take() {
            p.finish();
        }
    }
}

impl pipeline::Observer for Printer {
    fn base(&self, plan: &Plan, image: &lamina_core::oci::Image) {
        report::base(plan, image);
    }

    fn stage(&self, stage: Stage, took: std::time::Duration) {
        let mut doc = self.doc.lock().expect("lock");
        match stage {
            Stage::Resolve => {
                let before = *self.plan_took.lock().expect("lock");
                doc.timings_ms.resolve = Some(report::ms(before + took));
            }
            Stage::Layers => doc.timings_ms.layers = Some(report::ms(took)),
            Stage::Gate => doc.timings_ms.gate = Some(report::ms(took)),
        }
    }

    fn gate(
        &self,
        plan: &Plan,
        built: &Built,
        g: &GateReport,
        sizes: &SizeReport,
        verdict: Verdict,
    ) {
        report::sizes(built, sizes);
        {
            let mut doc = self.doc.lock().expect("lock");
            let digest = built.image.digest();
            doc.image = report::image_fields(built, plan, None, digest.as_ref(), sizes);
            doc.sizes = Some(sizes.clone());
            doc.set_gate(g, plan, verdict);
            doc.set_cache(built, g);
        }
        report::gate(g, plan.handlers.len(), &plan.platform.to_string(), verdict);
    }
}

fn run_pull(args: PullArgs) -> Result<()> {
    let printer = Printer::new("pull");
    let conn = args.registry.connection(None);
    let cache = pipeline::open_cache()?;
    let pulled = pipeline::pull(&args.reference, &args.platform, &cache, &conn, &printer)?;
    emit(&pulled.line())?;
    Ok(())
}

/// The result could not be written to stdout.
#[derive(Debug, thiserror::Error)]
#[error("writing the result to stdout: {line}")]
pub struct StdoutError {
    pub line: String,
    #[source]
    pub source: io::Error,
}

impl lamina_core::diagnostic::Hint for StdoutError {
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
