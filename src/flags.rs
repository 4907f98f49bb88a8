//! The build flags (clap) that override `lamina.toml`: `build`, `check` and `verify` flatten them
//! into their arguments and hand them to the library as a plain `config::Overrides`. Each value is
//! checked where clap parses it, its error ending in a `hint:` line; values that may hold a secret
//! (`--creds`, `--env`, `--label`, `--registry-endpoint`) are never echoed, not even in their
//! error (clap's own value errors repeat the value, these do not). What a value means, and
//! merging with the file, is lamina-core's `config`.

use lamina_core::config::ecr::{Expire, TagMutability};
use lamina_core::config::{self, Overrides};
use lamina_core::oci::Platform;

fn parse_kv(s: &str) -> Result<(String, String), String> {
    config::parse_key_value(s)
}

fn parse_handler(s: &str) -> Result<String, String> {
    config::check_handler(s).map(|_| s.to_string())
}

/// `--platform`'s parser (also `pull --platform`).
pub fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse()
}

pub const PLATFORM_HINT: &str = "pass --platform linux/amd64 (Lambda's x86_64) or linux/arm64";
const BASE_HINT: &str = "write the base as oci:DIR[:TAG] (an OCI layout) or a registry image such as public.ecr.aws/lambda/python:3.12";
const OUTPUT_HINT: &str = "write the output as oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]; to upload, use --push REPO[:TAG]";
const PUSH_HINT: &str = "write --push as HOST/REPOSITORY[:TAG], lowercase, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";

/// The flags of `build` and `check` that set what `lamina.toml` sets (`--base` ↔ `base`, …), and
/// `--force` and `--import-check`, which only flags set. Their order here is their order in
/// `--help`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct BuildFlags {
    /// Base image: oci:DIR[:TAG] or a registry reference (public.ecr.aws/lambda/python:3.12).
    #[arg(long, value_name = "REF", value_parser = checked(lamina_core::location::check_base, BASE_HINT))]
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
    #[arg(short = 'o', long, value_name = "DEST", value_parser = checked(lamina_core::location::check_output, OUTPUT_HINT))]
    pub output: Option<String>,
    /// Replace an existing --output file even if it is not a docker-archive.
    #[arg(long)]
    pub force: bool,
    /// Push to this registry repository (REPO[:TAG]); stdout is then REPO@sha256:….
    #[arg(long, value_name = "REPO[:TAG]", value_parser = checked(lamina_core::location::check_push, PUSH_HINT))]
    pub push: Option<String>,
    /// Another tag for the pushed image. Repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Repository of the remote layer cache (cache_repo; default: the --push repository).
    #[arg(long = "cache-repo", value_name = "REPO")]
    pub cache_repo: Option<String>,
    /// Neither look layers up in nor record them to the remote layer cache.
    #[arg(long = "no-remote-cache")]
    pub no_remote_cache: bool,
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
    pub extra_index_urls: Vec<String>,
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
    pub max_unpacked: Option<u64>,
    /// Create the ECR repository if it is missing ([ecr] create).
    #[arg(long = "create-repository")]
    pub create_repository: bool,
    /// ECR scan on push for a repository lamina creates ([ecr] scan_on_push).
    #[arg(long = "scan-on-push", value_name = "BOOL")]
    pub scan_on_push: Option<bool>,
    /// MUTABLE or IMMUTABLE tags for a repository lamina creates ([ecr] tag_mutability).
    #[arg(
        long = "tag-mutability",
        value_name = "MUTABLE|IMMUTABLE",
        value_enum,
        ignore_case = true,
        hide_possible_values = true
    )]
    pub tag_mutability: Option<TagMutabilityArg>,
    /// Lifecycle policy: keep the last N images ([ecr] keep_last).
    #[arg(long = "keep-last", value_name = "N")]
    pub keep_last: Option<u32>,
    /// Which images the lifecycle policy counts: untagged (safe, default) or any ([ecr] expire).
    #[arg(
        long,
        value_name = "untagged|any",
        value_enum,
        hide_possible_values = true
    )]
    pub expire: Option<ExpireArg>,
    /// Also import each handler module with a python3.X of the target's version (only the image's
    /// /var/task and the standard library on sys.path). Runs module-level code.
    #[arg(long = "import-check")]
    pub import_check: bool,
    /// Fail (exit 1, nothing written or pushed) when something cannot be verified, as for an
    /// error; unverified = "error" in lamina.toml.
    #[arg(long = "deny-unverified")]
    pub deny_unverified: bool,
    /// Ship no bytecode (no `__pycache__/*.pyc` beside the modules); compile_bytecode = false.
    #[arg(long = "no-compile-bytecode")]
    pub no_compile_bytecode: bool,
    /// Interpreter processes compiling bytecode at once (default: one per core).
    #[arg(
        long = "compile-workers",
        value_name = "N",
        env = lamina_core::env::EnvVars::COMPILE_WORKERS.name(),
        default_value_t = 0
    )]
    pub compile_workers: usize,
    /// Seconds the base's interpreter may take to start, and to compile one module, before the
    /// build fails naming the module (a base whose Python hangs never hangs the build).
    #[arg(
        long = "compile-timeout",
        value_name = "SECONDS",
        env = lamina_core::env::EnvVars::COMPILE_TIMEOUT.name(),
        default_value_t = 300
    )]
    pub compile_timeout: u64,
    /// Push no SBOM or provenance with the image (they are attached as OCI referrers by default;
    /// attest = false). For verify: check the image alone.
    #[arg(long = "no-attest")]
    pub no_attest: bool,
    /// The SBOM's format: spdx (SPDX 2.3 JSON, the default) or cyclonedx (CycloneDX 1.6 JSON);
    /// sbom_format in lamina.toml.
    #[arg(
        long = "sbom-format",
        value_name = "spdx|cyclonedx",
        value_enum,
        hide_possible_values = true
    )]
    pub sbom_format: Option<SbomFormatArg>,
    /// Also write the image's SBOM to FILE.
    #[arg(long, value_name = "FILE")]
    pub sbom: Option<std::path::PathBuf>,
    /// Also write the image's provenance (an in-toto statement, SLSA provenance v1) to FILE.
    #[arg(long, value_name = "FILE")]
    pub provenance: Option<std::path::PathBuf>,
}

/// `--sbom-format spdx|cyclonedx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SbomFormatArg {
    Spdx,
    #[value(name = "cyclonedx", alias = "cdx")]
    CycloneDx,
}

impl From<SbomFormatArg> for lamina_core::attest::SbomFormat {
    fn from(f: SbomFormatArg) -> lamina_core::attest::SbomFormat {
        match f {
            SbomFormatArg::Spdx => lamina_core::attest::SbomFormat::Spdx,
            SbomFormatArg::CycloneDx => lamina_core::attest::SbomFormat::CycloneDx,
        }
    }
}

impl From<BuildFlags> for Overrides {
    fn from(f: BuildFlags) -> Overrides {
        Overrides {
            base: f.base,
            src: f.src,
            handler: f.handler,
            handlers_from: f.handlers_from,
            env: f.env,
            label: f.label,
            platform: f.platform,
            output: f.output,
            force: f.force,
            push: f.push,
            tags: f.tags,
            cache_repo: f.cache_repo,
            no_remote_cache: f.no_remote_cache,
            wheels: f.wheels,
            lock: f.lock,
            index_url: f.index_url,
            extra_index_urls: f.extra_index_urls,
            offline: f.offline,
            python: f.python,
            glibc: f.glibc,
            allow_bad_record: f.allow_bad_record,
            allow_linux_tag: f.allow_linux_tag,
            max_unpacked: f.max_unpacked,
            create_repository: f.create_repository,
            scan_on_push: f.scan_on_push,
            tag_mutability: f.tag_mutability.map(Into::into),
            keep_last: f.keep_last,
            expire: f.expire.map(Into::into),
            import_check: f.import_check,
            deny_unverified: f.deny_unverified,
            no_compile_bytecode: f.no_compile_bytecode,
            compile_workers: f.compile_workers,
            compile_timeout: f.compile_timeout,
            no_attest: f.no_attest,
            sbom_format: f.sbom_format.map(Into::into),
            sbom: f.sbom,
            provenance: f.provenance,
        }
    }
}

/// `--expire untagged|any`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExpireArg {
    Untagged,
    Any,
}

impl From<ExpireArg> for Expire {
    fn from(e: ExpireArg) -> Expire {
        match e {
            ExpireArg::Untagged => Expire::Untagged,
            ExpireArg::Any => Expire::Any,
        }
    }
}

/// `--tag-mutability MUTABLE|IMMUTABLE` (any case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TagMutabilityArg {
    #[value(name = "MUTABLE")]
    Mutable,
    #[value(name = "IMMUTABLE")]
    Immutable,
}

impl From<TagMutabilityArg> for TagMutability {
    fn from(t: TagMutabilityArg) -> TagMutability {
        match t {
            TagMutabilityArg::Mutable => TagMutability::Mutable,
            TagMutabilityArg::Immutable => TagMutability::Immutable,
        }
    }
}

/// A value parser with a `hint:` line. Values that may hold a secret (`--creds`, `--env`, …) are
/// never echoed, not even in their error (clap's own errors repeat the value).
#[derive(Clone)]
pub struct Checked<T> {
    parse: fn(&str) -> Result<T, String>,
    hint: &'static str,
    secret: bool,
}

pub fn checked<T>(parse: fn(&str) -> Result<T, String>, hint: &'static str) -> Checked<T> {
    Checked {
        parse,
        hint,
        secret: false,
    }
}

pub fn secret<T>(parse: fn(&str) -> Result<T, String>, hint: &'static str) -> Checked<T> {
    Checked {
        parse,
        hint,
        secret: true,
    }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Checked<T> {
    type Value = T;
    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = match arg {
            Some(a) => match a.get_long() {
                Some(l) => format!("--{l}"),
                None => format!("<{}>", a.get_id().as_str().to_uppercase()),
            },
            None => "a value".to_string(),
        };
        let result = match value.to_str() {
            Some(v) => (self.parse)(v),
            None => Err("is not UTF-8".to_string()),
        };
        result.map_err(|reason| {
            let unshown = if self.secret {
                " (the value is not shown: it may hold a secret)"
            } else {
                ""
            };
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{flag}: {reason}{unshown}\nhint: {}\n", self.hint),
            )
            .with_cmd(cmd)
        })
    }
}
