//! The command line: clap definitions and the wiring from flags to a build and a sink. Data (the
//! manifest digest) goes to stdout; progress and the report go to stderr.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use lamina::build::{self, Built};
use lamina::cache::Cache;
use lamina::config::{self, Overrides, Plan};
use lamina::oci::{self, Platform};
use std::path::PathBuf;

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
    /// Build the image described by lamina.toml (and flags) and write it to --output.
    Build(BuildArgs),
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    config::parse_key_value(s)
}

fn parse_handler(s: &str) -> Result<String, String> {
    config::check_handler(s).map(|_| s.to_string())
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse()
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
    /// Base image, e.g. oci:base-images/standin:python3.12.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Directory to copy to /var/task/DIR (`.` copies the project into /var/task). Repeatable.
    #[arg(long = "src", value_name = "DIR")]
    pub src: Vec<String>,
    /// Handler (module.function). Repeatable: the first is the image's Cmd.
    #[arg(long = "handler", value_name = "HANDLER", value_parser = parse_handler)]
    pub handler: Vec<String>,
    /// Environment variable for the image. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub env: Vec<(String, String)>,
    /// Image label. Repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub label: Vec<(String, String)>,
    /// linux/amd64 (Lambda's x86_64) or linux/arm64.
    #[arg(long, value_name = "OS/ARCH", value_parser = parse_platform)]
    pub platform: Option<Platform>,
    /// Where to write the image: oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG].
    #[arg(short = 'o', long, value_name = "DEST")]
    pub output: Option<String>,
    /// Directory of vendored wheels to install into /var/task as one dependency layer.
    #[arg(long, value_name = "DIR")]
    pub wheels: Option<String>,
    /// The base's CPython version (when the catalog does not know the base), e.g. 3.12.
    #[arg(long, value_name = "3.X", value_parser = config::parse_python)]
    pub python: Option<u32>,
    /// The base's glibc version (when the catalog does not know the base), e.g. 2.34.
    #[arg(long, value_name = "2.Y", value_parser = config::parse_glibc)]
    pub glibc: Option<(u32, u32)>,
    /// Install this project's wheel even if its RECORD is wrong or incomplete. Repeatable.
    #[arg(long = "allow-bad-record", value_name = "PROJECT")]
    pub allow_bad_record: Vec<String>,
    /// Refuse wheels that unpack to more than this (default 10G, Lambda's image limit).
    #[arg(long = "max-unpacked-size", value_name = "SIZE", value_parser = config::parse_size)]
    pub max_unpacked_size: Option<u64>,
}

fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build(args) => run_build(args),
    }
}

fn run_build(args: BuildArgs) -> Result<()> {
    let project = std::path::absolute(&args.project)
        .with_context(|| format!("project directory {}", args.project.display()))?;
    if !project.is_dir() {
        anyhow::bail!("project directory {}: not a directory", project.display());
    }
    let file = config::load_file(&project)?;
    let overrides = Overrides {
        base: args.base,
        src: args.src,
        handler: args.handler,
        env: args.env,
        label: args.label,
        platform: args.platform,
        output: args.output,
        wheels: args.wheels,
        python: args.python,
        glibc: args.glibc,
        allow_bad_record: args.allow_bad_record,
        max_unpacked: args.max_unpacked_size,
    };
    let plan = Plan::resolve(&project, file, overrides, config::source_date_epoch()?)?;
    let cache_root = Cache::default_location();
    let cache =
        Cache::open(&cache_root).with_context(|| format!("cache {}", cache_root.display()))?;
    let mut log = |m: String| eprintln!("lamina: {m}");
    let built = build::build(&plan, &cache, &mut log)?;
    report(&built);
    let digest = oci::write(&built.image, &plan.output, plan.epoch)
        .with_context(|| format!("writing {}", plan.output))?;
    if digest != built.image.digest() {
        eprintln!(
            "lamina: the OCI layout holds the image with OCI media types (same blobs): {digest}"
        );
    }
    eprintln!("lamina: wrote {}", plan.output);
    println!("{digest}");
    Ok(())
}

fn report(b: &Built) {
    for (name, l, reused) in &b.new_layers {
        eprintln!(
            "lamina: {name} layer {}: {} files, {} tar, {} gzip{}",
            l.digest,
            l.file_count,
            human(l.uncompressed_size),
            human(l.size),
            if *reused { " (cached)" } else { "" }
        );
    }
    let total: u64 = b.image.layers.iter().map(|l| l.size()).sum();
    eprintln!(
        "lamina: image {}: {} layers ({} from the base), {} compressed, Cmd {}",
        b.image.digest(),
        b.image.layers.len(),
        b.base_layers,
        human(total),
        b.image.config()["config"]["Cmd"]
    );
}
