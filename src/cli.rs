//! The command line: clap definitions and the wiring from flags to a base (a layout or a registry),
//! a build, and the sinks (a local layout or archive, a registry push). Data goes to stdout: the
//! manifest digest, or `REPO@sha256:…` after a push; progress and the report go to stderr.

use crate::flags::{checked, secret};
use crate::report;
use clap::{Args, Parser, Subcommand};
use lamina::build;
use lamina::cache::Cache;
use lamina::config::{self, Overrides, Plan};
use lamina::diagnostic::{Context, Result};
use lamina::location::Location;
use lamina::oci::{self, Image, Platform};
use lamina::registry::auth::Credential;
use lamina::registry::{self, Client, ClientOptions, Reference};
use lamina::sizes::human;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
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
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    config::parse_key_value(s)
}

fn parse_endpoint(s: &str) -> Result<(String, String), String> {
    let (host, url) = config::parse_key_value(s)?;
    lamina::registry::client::check_endpoint(&url)?;
    Ok((host, url))
}

const PLATFORM_HINT: &str = "pass --platform linux/amd64 (Lambda's x86_64) or linux/arm64";
const BASE_HINT: &str = "write the base as oci:DIR[:TAG] (an OCI layout) or a registry image such as public.ecr.aws/lambda/python:3.12";
const OUTPUT_HINT: &str = "write the output as oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]; to upload, use --push REPO[:TAG]";
const PUSH_HINT: &str = "write --push as HOST/REPOSITORY[:TAG], lowercase, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";
const PULL_HINT: &str = "write a registry image as HOST/REPOSITORY[:TAG][@sha256:DIGEST], e.g. public.ecr.aws/lambda/python:3.12";

fn parse_handler(s: &str) -> Result<String, String> {
    config::check_handler(s).map(|_| s.to_string())
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse()
}

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
    fn ecr_credentials(&self, hosts: &[&str]) -> Result<Vec<(String, Credential)>> {
        let mut out = Vec::new();
        for h in hosts {
            if let Some(e) = lamina::ecr::parse_host(h) {
                if out.iter().any(|(o, _)| o == h) {
                    continue;
                }
                let ecr =
                    lamina::ecr::Ecr::connect(&e, self.profile.as_deref(), self.region.as_deref())?;
                out.push((h.to_string(), ecr.registry_credential()?));
            }
        }
        Ok(out)
    }

    fn client(&self, creds_host: Option<&str>) -> Result<Arc<Client>> {
        self.client_with(creds_host, Vec::new(), None)
    }

    fn client_with(
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
    /// Base image: oci:DIR[:TAG] or a registry reference (public.ecr.aws/lambda/python:3.12).
    #[arg(long, value_name = "REF", value_parser = checked(lamina::location::check_base, BASE_HINT))]
    pub base: Option<String>,
    /// Directory to copy to /var/task/DIR (`.` copies the project into /var/task). Repeatable.
    #[arg(long = "src", value_name = "DIR")]
    pub src: Vec<String>,
    /// Handler (module.function). Repeatable: the first is the image's Cmd.
    #[arg(long = "handler", value_name = "HANDLER", value_parser = checked(parse_handler, "a handler is module.function, e.g. --handler src.app.handler"))]
    pub handler: Vec<String>,
    /// Also every handler of the serverless.yml functions that deploy this image (image.command,
    /// following ${file()} includes); the handlers listed with --handler / handler come first.
    #[arg(long = "handlers-from", value_name = "FILE")]
    pub handlers_from: Option<String>,
    /// Environment variable for the image. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = secret(parse_kv, "pass --env KEY=VALUE, e.g. --env LOG_LEVEL=INFO"))]
    pub env: Vec<(String, String)>,
    /// Image label. Repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = secret(parse_kv, "pass --label KEY=VALUE, e.g. --label team=traffic"))]
    pub label: Vec<(String, String)>,
    /// linux/amd64 (Lambda's x86_64) or linux/arm64.
    #[arg(long, value_name = "OS/ARCH", value_parser = checked(parse_platform, PLATFORM_HINT))]
    pub platform: Option<Platform>,
    /// Where to write the image: oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG].
    #[arg(short = 'o', long, value_name = "DEST", value_parser = checked(lamina::location::check_output, OUTPUT_HINT))]
    pub output: Option<String>,
    /// Replace an existing --output file even if it is not a docker-archive.
    #[arg(long)]
    pub force: bool,
    /// Push to this registry repository (REPO[:TAG]); stdout is then REPO@sha256:….
    #[arg(long, value_name = "REPO[:TAG]", value_parser = checked(lamina::location::check_push, PUSH_HINT))]
    pub push: Option<String>,
    /// Another tag for the pushed image. Repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Directory of vendored wheels to install into /var/task as one dependency layer.
    #[arg(long, value_name = "DIR")]
    pub wheels: Option<String>,
    /// Lock file for the dependency layer: pylock.toml (PEP 751) or a hash-pinned requirements.txt.
    /// With --wheels too, that directory supplies the lock's files (checked against its hashes).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<String>,
    /// Package index (simple API) for a requirements lock. Default: the file's --index-url, then
    /// UV_DEFAULT_INDEX / PIP_INDEX_URL, then PyPI.
    #[arg(long = "index-url", value_name = "URL")]
    pub index_url: Option<String>,
    /// Another index to look in (also PIP_EXTRA_INDEX_URL, UV_INDEX). Repeatable.
    #[arg(long = "extra-index-url", value_name = "URL")]
    pub extra_index_url: Vec<String>,
    /// Never download: every locked wheel (and index page) must already be in the cache.
    #[arg(long)]
    pub offline: bool,
    /// The base's CPython version (when the catalog does not know the base), e.g. 3.12.
    #[arg(long, value_name = "3.X", value_parser = checked(config::parse_python, "pass the base's CPython minor version, e.g. --python 3.12"))]
    pub python: Option<u32>,
    /// The base's glibc version (when the catalog does not know the base), e.g. 2.34.
    #[arg(long, value_name = "2.Y", value_parser = checked(config::parse_glibc, "pass the base's glibc version, e.g. --glibc 2.34 (Amazon Linux 2023)"))]
    pub glibc: Option<(u32, u32)>,
    /// Install this project's wheel even if its RECORD is wrong or incomplete. Repeatable.
    #[arg(long = "allow-bad-record", value_name = "PROJECT")]
    pub allow_bad_record: Vec<String>,
    /// Accept linux_<arch> wheels (locally built, no manylinux glibc promise) for the dependency layer.
    #[arg(long = "allow-linux-tag")]
    pub allow_linux_tag: bool,
    /// Refuse wheels that unpack to more than this (default 10G, Lambda's image limit).
    #[arg(long = "max-unpacked-size", value_name = "SIZE", value_parser = checked(config::parse_size, "pass a size such as 500M or 5G (K/M/G are powers of 1000, KiB/MiB/GiB of 1024)"))]
    pub max_unpacked_size: Option<u64>,
    /// Create the ECR repository if it is missing ([ecr] create).
    #[arg(long = "create-repository")]
    pub create_repository: bool,
    /// ECR scan on push for a repository lamina creates ([ecr] scan_on_push).
    #[arg(long = "scan-on-push", value_name = "BOOL")]
    pub scan_on_push: Option<bool>,
    /// MUTABLE or IMMUTABLE tags for a repository lamina creates ([ecr] tag_mutability).
    #[arg(long = "tag-mutability", value_name = "MUTABLE|IMMUTABLE")]
    pub tag_mutability: Option<String>,
    /// Lifecycle policy: keep the last N images ([ecr] keep_last).
    #[arg(long = "keep-last", value_name = "N")]
    pub keep_last: Option<u32>,
    /// Which images the lifecycle policy counts: untagged (safe, default) or any ([ecr] expire).
    #[arg(long, value_name = "untagged|any", value_parser = parse_expire)]
    pub expire: Option<lamina::config::ecr::Expire>,
    /// Also import each handler module with a python3.X of the target's version (only the image's
    /// /var/task and the standard library on sys.path). Runs module-level code.
    #[arg(long = "import-check")]
    pub import_check: bool,
    /// Ship no bytecode (no `__pycache__/*.pyc` beside the modules); compile_bytecode = false.
    #[arg(long = "no-compile-bytecode")]
    pub no_compile_bytecode: bool,
    /// Interpreter processes compiling bytecode at once (default: one per core).
    #[arg(
        long = "compile-workers",
        value_name = "N",
        env = "LAMINA_COMPILE_WORKERS",
        default_value_t = 0
    )]
    pub compile_workers: usize,
    /// Dependencies missing from the wheels: error (default) or warn.
    #[arg(long = "missing-deps", value_name = "error|warn", default_value = "error", value_parser = ["error", "warn"])]
    pub missing_deps: String,
    /// Output format on stdout: text (the digest or REPO@sha256:…) or json (digest, tags, sizes, layers).
    #[arg(long, value_name = "text|json", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

fn parse_expire(s: &str) -> Result<lamina::config::ecr::Expire, String> {
    match s {
        "any" => Ok(lamina::config::ecr::Expire::Any),
        "untagged" => Ok(lamina::config::ecr::Expire::Untagged),
        _ => Err(format!("'{s}' is not untagged or any")),
    }
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
    }
}

fn open_cache() -> Result<Cache> {
    let root = Cache::default_location();
    Cache::open(&root).with_context(|| format!("cache {}", root.display()))
}

/// Opens the base wherever it is.
fn open_base(
    base: &Location,
    client: &Arc<Client>,
    cache: &Cache,
    platform: &Platform,
) -> Result<Image> {
    Ok(match base {
        Location::Local(r) => oci::open(r, platform).with_context(|| format!("base image {r}"))?,
        Location::Registry(r) => {
            registry::pull::pull(client, cache, r, platform)
                .with_context(|| format!("base image {r}"))?
                .0
        }
    })
}

/// Flags that write or push, which `check` never does.
fn check_refuses(args: &BuildArgs) -> Option<&'static str> {
    if args.output.is_some() {
        Some("-o/--output")
    } else if args.push.is_some() {
        Some("--push")
    } else if !args.tags.is_empty() {
        Some("--tag")
    } else if args.create_repository
        || args.scan_on_push.is_some()
        || args.tag_mutability.is_some()
        || args.keep_last.is_some()
        || args.expire.is_some()
    {
        Some("the ECR repository flags")
    } else if args.force {
        Some("--force")
    } else if args.upload.chunk_size.is_some() {
        Some("--chunk-size")
    } else {
        None
    }
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
    let json = args.format == "json";
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

fn build_and_report(args: BuildArgs, check_only: bool, doc: &mut report::Document) -> Result<()> {
    let t_resolve = Instant::now();
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
    let overrides = Overrides {
        base: args.base,
        src: args.src,
        handler: args.handler,
        handlers_from: args.handlers_from,
        env: args.env,
        label: args.label,
        platform: args.platform,
        output: args.output,
        push: args.push,
        tags: args.tags,
        wheels: args.wheels,
        lock: args.lock,
        index_url: args.index_url,
        extra_index_urls: args.extra_index_url,
        offline: args.offline,
        python: args.python,
        glibc: args.glibc,
        allow_bad_record: args.allow_bad_record,
        max_unpacked: args.max_unpacked_size,
        allow_linux_tag: args.allow_linux_tag,
        create_repository: args.create_repository,
        scan_on_push: args.scan_on_push,
        tag_mutability: args.tag_mutability,
        keep_last: args.keep_last,
        expire: args.expire,
        no_compile_bytecode: args.no_compile_bytecode,
        compile_workers: args.compile_workers,
    };
    let mut plan = Plan::resolve(&project, file, overrides, config::source_date_epoch()?)?;
    if check_only {
        plan.output = None;
        plan.push = None;
    } else {
        lamina::output::check(&plan, args.force)?;
    }
    let cache = open_cache()?;
    // ECR: credentials for ECR hosts, and the repository checked (or created) before any upload.
    let mut ecr_hosts: Vec<&str> = Vec::new();
    if let Location::Registry(r) = &plan.base {
        ecr_hosts.push(&r.host);
    }
    let mut immutable_tags = false;
    let mut repo_uri = None;
    if let Some((target, tags)) = plan.push.as_ref() {
        ecr_hosts.push(&target.host);
        if let Some(host) = lamina::ecr::parse_host(&target.host) {
            let ecr = lamina::ecr::Ecr::connect(
                &host,
                args.registry.profile.as_deref(),
                args.registry.region.as_deref(),
            )?;
            let state = ecr.ensure_repository(&target.repository, &plan.ecr)?;
            if state.created {
                eprintln!(
                    "lamina: created ECR repository {} ({} tags, scan on push {})",
                    state.uri, plan.ecr.tag_mutability, plan.ecr.scan_on_push
                );
            }
            if state.policy_put {
                eprintln!(
                    "lamina: lifecycle policy set: keep the last {} {}",
                    plan.ecr.keep_last.unwrap_or(0),
                    if plan.ecr.expire == lamina::config::ecr::Expire::Any {
                        "images (any tag status: this can expire an image a deployed function still uses)"
                    } else {
                        "untagged images"
                    }
                );
            }
            if tags.is_empty() && state.expires_untagged {
                eprintln!(
                    "lamina: warning: pushing without a tag to {}, whose lifecycle policy expires untagged images: a function deployed by digest fails once the image is expired; pass --tag (e.g. the git short sha)",
                    state.uri
                );
            }
            immutable_tags = state.immutable;
            repo_uri = Some(state.uri);
        }
    }
    let ecr_creds = args.registry.ecr_credentials(&ecr_hosts)?;
    let client = args.registry.client_with(
        plan.push.as_ref().map(|(r, _)| r.host.as_str()),
        ecr_creds,
        Some(&args.upload),
    )?;
    let base = open_base(&plan.base, &client, &cache, &plan.platform)?;
    doc.timings_ms.resolve = Some(report::ms(t_resolve.elapsed()));
    let mut log = |m: String| eprintln!("lamina: {m}");
    log(format!(
        "base {} ({}, {} layer{}, {:?} media types)",
        plan.base,
        base.platform(),
        base.layers.len(),
        if base.layers.len() == 1 { "" } else { "s" },
        base.format
    ));
    // Bytecode for another architecture: the same base for this machine, if the index has it.
    let host_variant = if plan.compile_bytecode
        && plan.platform.python_machine() != lamina::bytecode::interp::host_machine()
    {
        let host: Option<Platform> = match lamina::bytecode::interp::host_machine() {
            "x86_64" => Some(Platform::linux_amd64()),
            "aarch64" => "linux/arm64".parse().ok(),
            _ => None,
        };
        host.and_then(|p| open_base(&plan.base, &client, &cache, &p).ok())
    } else {
        None
    };
    let profile = args.registry.profile.clone();
    let index = lamina::deps::LazyClient::new(Box::new(move || {
        lamina::index::Client::new(
            Box::new(IndexCredentials {
                netrc: lamina::index::Netrc::load(),
                profile: profile.clone(),
            }),
            lamina::retry::Policy::default(),
        )
    }));
    let t_layers = Instant::now();
    let built = build::build_with(&plan, base, host_variant.as_ref(), &cache, &index, &mut log)?;
    doc.timings_ms.layers = Some(report::ms(t_layers.elapsed()));
    if index.requests() > 0 {
        log(format!("package index: {} requests", index.requests()));
    }
    if args.import_check
        && built.deps.is_none()
        && plan.python.is_none()
        && build::catalog_entry(&plan).is_none()
    {
        eprintln!("lamina: warning[import-check]: skipped: the base's Python version is unknown (pass --python 3.X)");
    }
    let t_gate = Instant::now();
    let opts = gate_options(&built, &plan, &args.missing_deps, args.import_check);
    let g = lamina::gate::check(&built, &plan, &opts)?;
    doc.timings_ms.gate = Some(report::ms(t_gate.elapsed()));
    let sizes = lamina::sizes::report(&built, &g.base_sizes);
    report::sizes(&built, &sizes);
    doc.image = report::image_fields(
        &built,
        &plan,
        None,
        None,
        built.image.digest().as_ref(),
        &sizes,
    );
    doc.sizes = Some(sizes);
    doc.set_gate(&g);
    doc.set_cache(&built, &g);
    let verdict = report::gate(&g, plan.handlers.len(), &plan.platform.to_string());
    if verdict.is_err() || check_only {
        return verdict;
    }
    let mut stdout_line = built.image.digest().to_string();
    let mut pushed = None;
    if let Some(out) = &plan.output {
        let t_write = Instant::now();
        let digest =
            oci::write(&built.image, out, plan.epoch).with_context(|| format!("writing {out}"))?;
        doc.timings_ms.write = Some(report::ms(t_write.elapsed()));
        if digest != built.image.digest() {
            eprintln!("lamina: the OCI layout holds the image with OCI media types (same blobs): {digest}");
        }
        eprintln!("lamina: wrote {out}");
        stdout_line = digest.to_string();
    }
    if let Some((target, tags)) = &plan.push {
        let t_push = Instant::now();
        let progress = crate::progress::Progress::start("pushing", client.stats.bytes_sent.clone());
        let log = |m: String| progress.line(&m);
        let result =
            registry::push::push(&client, &built.image, target, tags, immutable_tags, &log);
        progress.finish();
        let digest = result.with_context(|| format!("pushing to {}", target.repo_name()))?;
        doc.timings_ms.push = Some(report::ms(t_push.elapsed()));
        let s = &client.stats;
        eprintln!(
            "lamina: pushed {}@{digest}{}: {} blobs uploaded ({}), {} already present, {} mounted, {} retries",
            target.repo_name(),
            if tags.is_empty() { String::new() } else { format!(" as {}", tags.join(", ")) },
            s.blobs_uploaded.load(Ordering::Relaxed),
            human(s.bytes_uploaded.load(Ordering::Relaxed)),
            s.blobs_skipped.load(Ordering::Relaxed),
            s.blobs_mounted.load(Ordering::Relaxed),
            s.retries.load(Ordering::Relaxed),
        );
        stdout_line = format!("{}@{digest}", target.repo_name());
        pushed = Some((target, tags, digest));
    }
    warn_from(&client);
    if let Some(sizes) = &doc.sizes {
        doc.image = report::image_fields(&built, &plan, pushed, repo_uri, &stdout_line, sizes);
    }
    if args.format != "json" {
        emit(&stdout_line)?;
    }
    Ok(())
}

/// What the gate needs to know about the base and the flags.
fn gate_options(
    built: &build::Built,
    plan: &Plan,
    missing_deps: &str,
    import_check: bool,
) -> lamina::gate::GateOptions {
    let known = build::catalog_entry(plan);
    let (runtime_packages, runtime_modules) = if known.is_some() {
        lamina::catalog::runtime_packages()
    } else {
        (Vec::new(), Vec::new())
    };
    let glibc = built.deps.as_ref().map(|(_, t)| t.glibc).or_else(|| {
        known
            .as_ref()
            .and_then(|k| config::parse_glibc(&k.glibc).ok())
    });
    let python = built
        .deps
        .as_ref()
        .map(|(_, t)| t.minor)
        .or(plan.python)
        .or_else(|| {
            known
                .as_ref()
                .and_then(|k| config::parse_python(&k.python).ok())
        });
    let deprecation = known
        .as_ref()
        .and_then(|k| lamina::catalog::support_warning(k, &lamina::catalog::today()));
    lamina::gate::GateOptions {
        platform: plan.platform.clone(),
        missing_deps: if missing_deps == "warn" {
            lamina::gate::Severity::Warning
        } else {
            lamina::gate::Severity::Error
        },
        runtime_packages,
        runtime_modules,
        known_base: known.is_some(),
        glibc,
        python,
        scan_cache: Some(
            lamina::cache::Cache::open(&lamina::cache::Cache::default_location())
                .map(|c| c.scans_dir())
                .unwrap_or_default(),
        )
        .filter(|p| !p.as_os_str().is_empty()),
        import_check: import_check.then_some(python).flatten(),
        // Name the catalog base only when its glibc is the one checked against (not overridden).
        base_name: known
            .filter(|k| config::parse_glibc(&k.glibc).ok() == glibc)
            .map_or_else(
                || "the base".to_string(),
                |k| format!("the {} base", k.name),
            ),
        deprecation,
    }
}

/// Index credentials: a CodeArtifact host gets a token through the AWS chain (and `--profile`),
/// any other host its `~/.netrc` entry. URL user info is handled by the index client itself.
struct IndexCredentials {
    netrc: lamina::index::Netrc,
    profile: Option<String>,
}

impl lamina::index::credentials::Source for IndexCredentials {
    fn lookup(&self, host: &str) -> Result<Option<lamina::index::Credential>, String> {
        if let Some(ca) = lamina::codeartifact::parse_host(host) {
            return lamina::codeartifact::credential(&ca, self.profile.as_deref())
                .map(Some)
                .map_err(|e| e.0);
        }
        Ok(self.netrc.lookup(host))
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
fn emit(line: &str) -> Result<(), StdoutError> {
    use io::Write as _;
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|source| StdoutError {
            line: line.to_string(),
            source,
        })
}
