//! The command line's side of a configuration, as plain data: what each flag of `build`,
//! `check` and `verify` gave (the binary parses them), for `Plan::resolve` to lay over
//! `lamina.toml`. Parsing flags is the binary's job; merging is `config`'s.

use super::ecr::{Expire, TagMutability};
use lamina_oci::Platform;

/// What the command line sets over `lamina.toml` (`--base` ↔ `base`, …), and `--force` and
/// `--import-check`, which only flags set. Empty and `None` mean "not given"; `Default` is a run
/// with no flags at all.
#[derive(Debug, Clone)]
pub struct Overrides {
    /// Base image: oci:DIR[:TAG] or a registry reference (public.ecr.aws/lambda/python:3.12).
    pub base: Option<String>,
    /// Directory to copy to /var/task/DIR (`.` copies the project into /var/task). Repeatable.
    pub src: Vec<String>,
    /// Handler (module.function). Repeatable: the first is the image's Cmd.
    pub handler: Vec<String>,
    /// Also every handler of the serverless.yml functions that deploy this image (image.command,
    /// following ${file()} includes); the handlers listed with --handler / handler come first.
    pub handlers_from: Option<String>,
    /// Environment variable for the image. Repeatable.
    pub env: Vec<(String, String)>,
    /// Image label. Repeatable.
    pub label: Vec<(String, String)>,
    /// linux/amd64 (Lambda's x86_64) or linux/arm64.
    pub platform: Option<Platform>,
    /// Where to write the image: oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG].
    pub output: Option<String>,
    /// Replace an existing --output file even if it is not a docker-archive.
    pub force: bool,
    /// Push to this registry repository (REPO[:TAG]); stdout is then REPO@sha256:….
    pub push: Option<String>,
    /// Another tag for the pushed image. Repeatable.
    pub tags: Vec<String>,
    /// Repository of the remote layer cache (cache_repo; default: the --push repository).
    pub cache_repo: Option<String>,
    /// Neither look layers up in nor record them to the remote layer cache.
    pub no_remote_cache: bool,
    /// Directory of vendored wheels to install into /var/task as one dependency layer.
    pub wheels: Option<String>,
    /// Lock file for the dependency layer: pylock.toml (PEP 751) or a hash-pinned requirements.txt.
    /// With --wheels too, that directory supplies the lock's files (checked against its hashes).
    pub lock: Option<String>,
    /// Package index (simple API) for a requirements lock. Default: the file's --index-url, then
    /// UV_DEFAULT_INDEX / PIP_INDEX_URL, then PyPI.
    pub index_url: Option<String>,
    /// Another index to look in (also PIP_EXTRA_INDEX_URL, UV_INDEX). Repeatable.
    pub extra_index_urls: Vec<String>,
    /// Never download: every locked wheel (and index page) must already be in the cache.
    pub offline: bool,
    /// The base's CPython version (when the catalog does not know the base), e.g. 3.12.
    pub python: Option<u32>,
    /// The base's glibc version (when the catalog does not know the base), e.g. 2.34.
    pub glibc: Option<(u32, u32)>,
    /// Install this project's wheel even if its RECORD is wrong or incomplete. Repeatable.
    pub allow_bad_record: Vec<String>,
    /// Accept linux_<arch> wheels (locally built, no manylinux glibc promise) for the dependency layer.
    pub allow_linux_tag: bool,
    /// Refuse wheels that unpack to more than this (default 10G, Lambda's image limit).
    pub max_unpacked: Option<u64>,
    /// Create the ECR repository if it is missing ([ecr] create).
    pub create_repository: bool,
    /// ECR scan on push for a repository lamina creates ([ecr] scan_on_push).
    pub scan_on_push: Option<bool>,
    /// MUTABLE or IMMUTABLE tags for a repository lamina creates ([ecr] tag_mutability).
    pub tag_mutability: Option<TagMutability>,
    /// Lifecycle policy: keep the last N images ([ecr] keep_last).
    pub keep_last: Option<u32>,
    /// Which images the lifecycle policy counts: untagged (safe, default) or any ([ecr] expire).
    pub expire: Option<Expire>,
    /// Also import each handler module with a python3.X of the target's version (only the image's
    /// /var/task and the standard library on sys.path). Runs module-level code.
    pub import_check: bool,
    /// Fail (exit 1, nothing written or pushed) when something cannot be verified, as for an
    /// error; unverified = "error" in lamina.toml.
    pub deny_unverified: bool,
    /// Ship no bytecode (no `__pycache__/*.pyc` beside the modules); compile_bytecode = false.
    pub no_compile_bytecode: bool,
    /// Interpreter processes compiling bytecode at once (default: one per core).
    pub compile_workers: usize,
    /// Seconds the base's interpreter may take to start, and to compile one module, before the
    /// build fails naming the module (a base whose Python hangs never hangs the build).
    pub compile_timeout: u64,
    /// Push no SBOM or provenance with the image (`attest = false`).
    pub no_attest: bool,
    /// The SBOM format: SPDX 2.3 JSON (default) or CycloneDX 1.6 JSON (`sbom_format`).
    pub sbom_format: Option<lamina_attest::SbomFormat>,
    /// Also write the SBOM to this file (relative to the working directory).
    pub sbom: Option<std::path::PathBuf>,
    /// Also write the provenance (in-toto statement) to this file.
    pub provenance: Option<std::path::PathBuf>,
}

impl Default for Overrides {
    fn default() -> Overrides {
        Overrides {
            base: Default::default(),
            src: Default::default(),
            handler: Default::default(),
            handlers_from: Default::default(),
            env: Default::default(),
            label: Default::default(),
            platform: Default::default(),
            output: Default::default(),
            force: Default::default(),
            push: Default::default(),
            tags: Default::default(),
            cache_repo: Default::default(),
            no_remote_cache: Default::default(),
            wheels: Default::default(),
            lock: Default::default(),
            index_url: Default::default(),
            extra_index_urls: Default::default(),
            offline: Default::default(),
            python: Default::default(),
            glibc: Default::default(),
            allow_bad_record: Default::default(),
            allow_linux_tag: Default::default(),
            max_unpacked: Default::default(),
            create_repository: Default::default(),
            scan_on_push: Default::default(),
            tag_mutability: Default::default(),
            keep_last: Default::default(),
            expire: Default::default(),
            import_check: Default::default(),
            deny_unverified: Default::default(),
            no_compile_bytecode: Default::default(),
            compile_workers: Default::default(),
            compile_timeout: 300,
            no_attest: Default::default(),
            sbom_format: Default::default(),
            sbom: Default::default(),
            provenance: Default::default(),
        }
    }
}

impl Overrides {
    /// The flags that write or push, which `check` never does (the first one given), if any.
    pub fn writes_or_pushes(&self) -> Option<&'static str> {
        if self.output.is_some() {
            Some("-o/--output")
        } else if self.push.is_some() {
            Some("--push")
        } else if !self.tags.is_empty() {
            Some("--tag")
        } else if self.create_repository
            || self.scan_on_push.is_some()
            || self.tag_mutability.is_some()
            || self.keep_last.is_some()
            || self.expire.is_some()
        {
            Some("the ECR repository flags")
        } else if self.force {
            Some("--force")
        } else if self.sbom.is_some() {
            Some("--sbom")
        } else if self.provenance.is_some() {
            Some("--provenance")
        } else {
            None
        }
    }
}
