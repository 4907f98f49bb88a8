//! `lamina.toml` and the flags that override it, validated into a `Plan`. Unknown keys are errors
//! (a typo must not silently change an image). Flags mirror keys: `--base` ↔ `base`, `--src` ↔
//! `src`, `--handler` ↔ `handler`, `--env` ↔ `[env]`, `--label` ↔ `[label]`, `--platform` ↔
//! `platform`, `--output` ↔ `output`. Repeated flags replace a list key; `--env`/`--label` are merged
//! over the file's tables.

pub mod ecr;
mod error;
mod inputs;
mod overrides;
mod resolve;
mod values;

pub use error::ConfigError;
pub use overrides::Overrides;
pub use values::{
    check_handler, parse_chunk_size, parse_count, parse_glibc, parse_key_value, parse_python,
    parse_size, parse_timeout,
};

use inputs::{archive_name, wheels_input};
pub use inputs::{did_you_mean, WheelsInput, KEYS};

use crate::location::Location;
use lamina_oci::reference::ImageRef;
use lamina_oci::Platform;
use lamina_registry::Reference;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "lamina.toml";
pub const DEFAULT_OUTPUT: &str = "oci:build/image:latest";

#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged, expecting = "a string or a list of strings")]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// What a cannot-verify finding does to the verdict.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnverifiedPolicy {
    Warning,
    Error,
}

/// `lamina.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    base: Option<String>,
    src: Option<OneOrMany>,
    #[serde(alias = "handlers")]
    handler: Option<OneOrMany>,
    /// A serverless.yml whose image functions' `image.command` handlers are added to `handler`.
    handlers_from: Option<String>,
    env: Option<BTreeMap<String, String>>,
    #[serde(alias = "labels")]
    label: Option<BTreeMap<String, String>>,
    platform: Option<String>,
    output: Option<String>,
    wheels: Option<String>,
    lock: Option<String>,
    index_url: Option<String>,
    #[serde(alias = "extra_index_urls")]
    extra_index_url: Option<OneOrMany>,
    push: Option<String>,
    /// The remote layer cache's repository (default: the push repository).
    cache_repo: Option<String>,
    #[serde(alias = "tags")]
    tag: Option<OneOrMany>,
    python: Option<String>,
    glibc: Option<String>,
    allow_bad_record: Option<Vec<String>>,
    max_unpacked_size: Option<SizeValue>,
    allow_linux_tag: Option<bool>,
    compile_bytecode: Option<bool>,
    /// `"error"`: a cannot-verify finding fails the build like an error (`--deny-unverified`);
    /// `"warning"` (the default): it is reported, the result is `unverified`.
    unverified: Option<UnverifiedPolicy>,
    /// Attach an SBOM and a provenance to every pushed image (default true).
    attest: Option<bool>,
    /// `"spdx"` (default) or `"cyclonedx"`.
    sbom_format: Option<String>,
    ecr: Option<ecr::RepoSettings>,
    /// The file this was read from (None: there is no lamina.toml).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(
    untagged,
    expecting = "a size: a whole number of bytes, or a string such as \"500M\" or \"5G\""
)]
enum SizeValue {
    Bytes(u64),
    Text(String),
}

/// Default cap on what the wheels unpack to: Lambda's whole-image limit.
pub const DEFAULT_MAX_UNPACKED: u64 = lamina_install::lambda::MAX_UNCOMPRESSED;

pub use lamina_install::deps::DepsConfig;

/// Everything a build needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub project: PathBuf,
    pub base: Location,
    pub srcs: Vec<String>,
    /// Every handler the image serves: `handler` first (the first is the Cmd), then those of the
    /// `handlers_from` functions not already listed.
    pub handlers: Vec<String>,
    /// For handlers read from serverless.yml: the functions that run each one (`function X
    /// (file:line)`), for messages.
    pub handler_functions: BTreeMap<String, Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub platform: Platform,
    /// Local output; `None` when only pushing.
    pub output: Option<ImageRef>,
    /// The output lamina.toml names (or the default), never copied even when `-o` differs.
    pub usual_output: Option<ImageRef>,
    /// Registry target and the tags to give it (the target's own tag first).
    pub push: Option<(Reference, Vec<String>)>,
    /// The remote layer cache's repository: `cache_repo`, else the push repository; None when
    /// not pushing or with `--no-remote-cache`.
    pub remote_cache: Option<Reference>,
    /// Vendored wheels for the dependency layer, if any.
    pub deps: Option<DepsConfig>,
    /// ECR repository settings (used when pushing to an ECR host).
    pub ecr: ecr::RepoSettings,
    /// `--python` / `python`: the base's CPython minor version, when given.
    pub python: Option<u32>,
    /// Seconds since the epoch for every mtime and `created` (`SOURCE_DATE_EPOCH`, else 0).
    pub epoch: u64,
    /// Ship `.pyc` files compiled by the base's interpreter (`compile_bytecode`, default true).
    pub compile_bytecode: bool,
    /// Interpreter processes compiling at once.
    pub compile_workers: usize,
    /// How long the base's interpreter may take to start, or to compile one module.
    pub compile_timeout: std::time::Duration,
    /// `--force`: an archive output may replace a file that is not a docker-archive.
    pub force: bool,
    /// `--import-check`: also import each handler with a python3.X of the target's version.
    pub import_check: bool,
    /// `--deny-unverified` / `unverified = "error"`: what cannot be verified fails the gate.
    pub deny_unverified: bool,
    /// Push the SBOM and provenance with the image, as OCI referrers (`attest`, `--no-attest`).
    pub attest: bool,
    pub sbom_format: lamina_attest::SbomFormat,
    /// `--sbom FILE` / `--provenance FILE`: also written locally (absolute).
    pub sbom_out: Option<PathBuf>,
    pub provenance_out: Option<PathBuf>,
}

pub fn load_file(project: &Path) -> Result<FileConfig, ConfigError> {
    let path = project.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => match toml::from_str::<FileConfig>(&text) {
            Ok(mut f) => {
                f.source = Some(path);
                Ok(f)
            }
            Err(e) => {
                let unknown_key = e.message().starts_with("unknown field `");
                let suggestion = e
                    .message()
                    .split("unknown field `")
                    .nth(1)
                    .and_then(|r| r.split('`').next())
                    .and_then(|u| did_you_mean(u, KEYS))
                    .map(str::to_string);
                Err(ConfigError::Toml {
                    path,
                    message: toml_message(&text, &e),
                    suggestion,
                    unknown_key,
                })
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(e) => Err(ConfigError::Io { path, source: e }),
    }
}

/// Whether `lamina.toml` has a key of this name (for tools that write the file, such as `init`).
pub fn accepts_key(key: &str) -> bool {
    match toml::from_str::<FileConfig>(&format!("{key} = \"x\"")) {
        Ok(_) => true,
        Err(e) => !e.to_string().contains("unknown field"),
    }
}

/// `line N: KEY: what is wrong`, one line, from a toml error (its own text draws the line with a
/// caret, and for an unknown key lists every valid key, which the hint already does).
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let mut out = String::new();
    if let Some(span) = e.span() {
        let start = span.start.min(text.len());
        let line_no = text[..start].matches('\n').count() + 1;
        out.push_str(&format!("line {line_no}: "));
        let line = text.lines().nth(line_no - 1).unwrap_or("");
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && !key.starts_with('[') {
                out.push_str(&format!("{key}: "));
            }
        }
    }
    let message = e.message().trim();
    let message = message.split(", expected one of").next().unwrap_or(message);
    out.push_str(&one_line(message));
    out
}

fn one_line(s: &str) -> String {
    // toml's messages draw the offending line with a caret; keep the first and last lines.
    let lines: Vec<&str> = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.ends_with('|'))
        .collect();
    lines.join(" ").replace("  ", " ")
}

/// 9999-12-31T23:59:59Z: the last second an RFC 3339 timestamp (four-digit year) can write.
pub const MAX_EPOCH: u64 = 253_402_300_799;

pub fn source_date_epoch() -> Result<u64, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        field: "SOURCE_DATE_EPOCH".into(),
        reason,
    };
    match lamina_support::env::EnvVars::SOURCE_DATE_EPOCH.get() {
        Some(v) if !v.trim().is_empty() => {
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| invalid(format!("'{v}' is not a whole number of seconds")))?;
            if n > MAX_EPOCH {
                return Err(invalid(format!(
                    "{n} is after 9999-12-31T23:59:59Z, the last time RFC 3339 (and so skopeo and umoci) can read"
                )));
            }
            Ok(n)
        }
        _ => Ok(0),
    }
}

impl Plan {
    /// `lamina.toml` (`file`) and the flags (`o`, which win) for the project in `project`,
    /// resolved and checked one section at a time (`resolve::Resolver`), in the order a user
    /// reads them: base, sources, handlers, image config, push and caches, output, dependencies,
    /// ECR. The first invalid field is the error.
    pub fn resolve(
        project: &Path,
        file: FileConfig,
        o: Overrides,
        epoch: u64,
    ) -> Result<Plan, ConfigError> {
        let r = resolve::Resolver {
            project,
            have_file: file.source.is_some(),
        };
        let base = r.base(o.base, file.base)?;
        let srcs = r.srcs(o.src, file.src)?;
        let (handlers, handler_functions) = r.handlers(
            o.handler,
            file.handler,
            o.handlers_from.or(file.handlers_from),
        )?;
        let env = r.env(file.env, o.env)?;
        let mut labels = file.label.unwrap_or_default();
        labels.extend(o.label);
        let platform = r.platform(o.platform, file.platform)?;
        let push = r.push(o.push.or(file.push), o.tags, file.tag)?;
        let cache_repo = r.cache_repo(o.cache_repo.or(file.cache_repo))?;
        let remote_cache = match (&push, o.no_remote_cache) {
            (Some((target, _)), false) => Some(cache_repo.unwrap_or_else(|| target.clone())),
            _ => None,
        };
        let (output, usual_output) = r.output(o.output, file.output, push.is_some())?;
        let python = r.python(o.python, file.python)?;
        let glibc = r.glibc(o.glibc, file.glibc)?;
        let max_unpacked = r.max_unpacked(o.max_unpacked, file.max_unpacked_size)?;
        let allow_bad_record = resolve::project_names(o.allow_bad_record, file.allow_bad_record);
        let mut ecr = file.ecr.unwrap_or_default();
        ecr.create |= o.create_repository;
        if let Some(v) = o.scan_on_push {
            ecr.scan_on_push = v;
        }
        if let Some(v) = o.tag_mutability {
            ecr.tag_mutability = v.as_str().to_string();
        }
        if o.keep_last.is_some() {
            ecr.keep_last = o.keep_last;
        }
        if let Some(v) = o.expire {
            ecr.expire = v;
        }
        ecr.validate().map_err(|e| r.invalid("ecr", e))?;
        let sbom_format = match (o.sbom_format, file.sbom_format) {
            (Some(f), _) => f,
            (None, None) => lamina_attest::SbomFormat::default(),
            (None, Some(s)) => lamina_attest::SbomFormat::parse(&s).ok_or_else(|| {
                r.invalid(
                    "sbom_format",
                    format!("'{s}' is not \"spdx\" or \"cyclonedx\""),
                )
            })?,
        };
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        let deps = r.deps(DepsConfig {
            dir: o.wheels.or(file.wheels).map(|w| r.in_project(&w)),
            lock: o.lock.or(file.lock).map(|l| r.in_project(&l)),
            index_url: o.index_url.or(file.index_url),
            extra_index_urls: resolve::flag_or_file(o.extra_index_urls, file.extra_index_url),
            offline: o.offline,
            python,
            glibc,
            allow_bad_record,
            max_unpacked,
            allow_linux_tag: o.allow_linux_tag || file.allow_linux_tag.unwrap_or(false),
        })?;
        Ok(Plan {
            project: project.into(),
            base,
            srcs,
            handlers,
            handler_functions,
            env,
            labels,
            platform,
            output,
            usual_output,
            push,
            remote_cache,
            deps,
            ecr,
            python,
            epoch,
            compile_bytecode: !o.no_compile_bytecode && file.compile_bytecode.unwrap_or(true),
            force: o.force,
            import_check: o.import_check,
            deny_unverified: o.deny_unverified || file.unverified == Some(UnverifiedPolicy::Error),
            compile_workers: if o.compile_workers > 0 {
                o.compile_workers
            } else {
                std::thread::available_parallelism().map_or(2, |n| n.get())
            },
            compile_timeout: std::time::Duration::from_secs(o.compile_timeout.max(1)),
            attest: !o.no_attest && file.attest.unwrap_or(true),
            sbom_format,
            sbom_out: o.sbom.map(absolute),
            provenance_out: o.provenance.map(absolute),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let e = toml::from_str::<FileConfig>("base = \"oci:x\"\nhandlr = \"a.b\"\n").unwrap_err();
        assert!(
            one_line(&e.to_string()).contains("unknown field `handlr`"),
            "{e}"
        );
        assert_eq!(did_you_mean("handlr", KEYS), Some("handler"));
        assert_eq!(did_you_mean("wheel", KEYS), Some("wheels"));
        assert_eq!(did_you_mean("platfrom", KEYS), Some("platform"));
        assert_eq!(did_you_mean("frobnicate", KEYS), None);
    }

    #[test]
    fn archive_names() {
        assert_eq!(
            archive_name(Path::new("/x/Traffic Manager")),
            "traffic-manager"
        );
        assert_eq!(archive_name(Path::new("/x/app_1.2")), "app_1.2");
        assert_eq!(archive_name(Path::new("/")), "lamina");
    }

    #[test]
    fn flags_override_file() {
        let file: FileConfig = toml::from_str(
            "base = \"oci:b:t\"\nsrc = \"src\"\nhandler = [\"a.h\", \"b.h\"]\n[env]\nA = \"1\"\nB = \"2\"\n",
        )
        .unwrap();
        let o = Overrides {
            handler: vec!["c.h".into()],
            env: vec![("B".into(), "3".into())],
            ..Default::default()
        };
        let p = Plan::resolve(Path::new("/p"), file, o, 7).unwrap();
        assert_eq!(p.handlers, ["c.h"]);
        assert_eq!(p.srcs, ["src"]);
        assert_eq!(p.env.get("B").unwrap(), "3");
        assert_eq!(p.env.get("A").unwrap(), "1");
        assert_eq!(
            p.output,
            Some(ImageRef::Layout {
                dir: "/p/build/image".into(),
                tag: Some("latest".into())
            })
        );
    }

    #[test]
    fn sizes_and_versions() {
        assert_eq!(parse_size("500M").unwrap(), 500_000_000);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_python("3.12").unwrap(), 12);
        assert!(parse_python("2.7").is_err());
        assert_eq!(parse_glibc("2.26").unwrap(), (2, 26));
    }

    #[test]
    fn handler_rules() {
        assert!(check_handler("src.functions.x.handler").is_ok());
        assert!(check_handler("src/functions/x.handler").is_ok());
        assert!(check_handler("").is_err());
        assert!(check_handler("a.b c").is_err());
        assert!(check_handler("nodot").is_err());
        assert!(check_handler("mod.").is_err());
    }
}
