//! Every environment variable lamina reads, named once (uv's `EnvVars`): lamina's own, and those of
//! the tools whose files it reads (pip, uv, docker, podman, the AWS SDK). It only names and reads
//! them; what a value means is its reader's business. `get`/`get_os` treat a variable set but
//! empty as unset (an empty path would be the current directory); `raw_os` keeps it, for the
//! variables where empty means something (`NETRC=""`: no netrc file). Test-only hooks
//! (`LAMINA_TEST_HOOK_*`, debug builds) are `hooks`' business and are not listed here.

use std::ffi::OsString;

/// One environment variable, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar(&'static str);

impl EnvVar {
    pub const fn name(self) -> &'static str {
        self.0
    }

    /// The value, if set, non-empty and UTF-8.
    pub fn get(self) -> Option<String> {
        std::env::var(self.0).ok().filter(|v| !v.is_empty())
    }

    /// The value, if set and non-empty (paths need not be UTF-8).
    pub fn get_os(self) -> Option<OsString> {
        std::env::var_os(self.0).filter(|v| !v.is_empty())
    }

    /// The value if set, empty or not.
    pub fn raw_os(self) -> Option<OsString> {
        std::env::var_os(self.0)
    }
}

/// The variables, grouped by what reads them.
pub struct EnvVars;

impl EnvVars {
    // lamina's own.
    /// The cache directory (else `$XDG_CACHE_HOME/lamina`, else `~/.cache/lamina`).
    pub const LAMINA_CACHE_DIR: EnvVar = EnvVar("LAMINA_CACHE_DIR");
    /// `HOST=URL,…`: send a registry's traffic elsewhere (as `--registry-endpoint`).
    pub const REGISTRY_ENDPOINTS: EnvVar = EnvVar("LAMINA_REGISTRY_ENDPOINTS");
    /// `HOST=URL,…`: send a package index's traffic elsewhere.
    pub const INDEX_ENDPOINTS: EnvVar = EnvVar("LAMINA_INDEX_ENDPOINTS");
    /// The CPython `--import-check` runs (else PATH, pyenv, /usr/bin).
    pub const LAMINA_PYTHON: EnvVar = EnvVar("LAMINA_PYTHON");
    /// Bytecode compile workers and per-file timeout.
    pub const COMPILE_WORKERS: EnvVar = EnvVar("LAMINA_COMPILE_WORKERS");
    pub const COMPILE_TIMEOUT: EnvVar = EnvVar("LAMINA_COMPILE_TIMEOUT");
    // Reproducible builds.
    pub const SOURCE_DATE_EPOCH: EnvVar = EnvVar("SOURCE_DATE_EPOCH");
    // Package indexes, as pip and uv read them.
    pub const PIP_INDEX_URL: EnvVar = EnvVar("PIP_INDEX_URL");
    pub const PIP_EXTRA_INDEX_URL: EnvVar = EnvVar("PIP_EXTRA_INDEX_URL");
    pub const UV_INDEX_URL: EnvVar = EnvVar("UV_INDEX_URL");
    pub const UV_DEFAULT_INDEX: EnvVar = EnvVar("UV_DEFAULT_INDEX");
    pub const UV_INDEX: EnvVar = EnvVar("UV_INDEX");
    pub const NETRC: EnvVar = EnvVar("NETRC");
    // Registry credentials, as docker and podman keep them.
    pub const REGISTRY_AUTH_FILE: EnvVar = EnvVar("REGISTRY_AUTH_FILE");
    pub const DOCKER_CONFIG: EnvVar = EnvVar("DOCKER_CONFIG");
    pub const XDG_RUNTIME_DIR: EnvVar = EnvVar("XDG_RUNTIME_DIR");
    // AWS, as the SDK reads them.
    pub const AWS_PROFILE: EnvVar = EnvVar("AWS_PROFILE");
    pub const AWS_CONFIG_FILE: EnvVar = EnvVar("AWS_CONFIG_FILE");
    pub const AWS_SHARED_CREDENTIALS_FILE: EnvVar = EnvVar("AWS_SHARED_CREDENTIALS_FILE");
    // The machine.
    pub const HOME: EnvVar = EnvVar("HOME");
    pub const PATH: EnvVar = EnvVar("PATH");
    pub const PYENV_ROOT: EnvVar = EnvVar("PYENV_ROOT");
    pub const XDG_CACHE_HOME: EnvVar = EnvVar("XDG_CACHE_HOME");
}

/// A variable the user names (`${env:NAME}` in serverless.yml, `${NAME}` in requirements files).
pub fn user_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
