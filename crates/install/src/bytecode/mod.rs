//! Bytecode for the image: every `.py` a layer installs gets
//! `__pycache__/<stem>.cpython-3X.pyc` beside it, as pip's compile step names them, in PEP 552's
//! unchecked-hash mode (nothing in an image changes after the build, and the interpreter then
//! needs neither a `stat` nor a source hash at import). The compiler is the base image's own
//! CPython (`interp`), never the build machine's; results are cached per source (`store`) and
//! compiled by a pool of long-lived processes (`pool`). This module decides which interpreter
//! runs and compiles a list of modules; the layers decide which files are modules.

pub mod extract;
pub mod interp;
pub mod pool;
pub mod sandbox;
pub mod store;

pub use interp::{Found, InterpError, Interpreter};
use lamina_cache::Cache;
use lamina_oci::Image;
use sha2::{Digest as _, Sha256};
use std::path::PathBuf;
use std::sync::Mutex;
pub use store::Entry;

#[derive(Debug, thiserror::Error)]
pub enum BytecodeError {
    #[error("bytecode")]
    Interp(#[from] InterpError),
    #[error("bytecode: the base's {python} is for {machine} and cannot run on this {host} machine: {why}")]
    CannotRun {
        python: String,
        machine: String,
        host: String,
        why: String,
    },
    #[error("bytecode")]
    Pool(#[from] pool::PoolError),
    #[error("bytecode: cache {path}")]
    Store {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl lamina_support::diagnostic::Hint for BytecodeError {
    fn hint(&self) -> Option<String> {
        match self {
            BytecodeError::CannotRun { machine, .. } => Some(format!(
                "install qemu-user (qemu-{machine}), or build from a multi-platform base that also has this machine's variant, or turn bytecode off with --no-compile-bytecode (compile_bytecode = false in lamina.toml)"
            )),
            // Reading the base (a registry, the cache) failed: that cause's hint fits, not ours.
            BytecodeError::Interp(InterpError::Io { source, .. }) if source.get_ref().is_some() => {
                source.hint()
            }
            BytecodeError::Store { source, .. } => source.hint(),
            BytecodeError::Pool(pool::PoolError::Timeout { .. }) => Some(
                "the base's Python hangs or is very slow (a changed encodings or site module?): check the base, give it more time with --compile-timeout SECONDS (LAMINA_COMPILE_TIMEOUT), or turn bytecode off with --no-compile-bytecode".into(),
            ),
            _ => Some("turn bytecode off with --no-compile-bytecode (compile_bytecode = false in lamina.toml)".into()),
        }
    }
}

/// A source to compile: its path in the layer (`var/task/pkg/mod.py`) and the sha256 of its bytes.
#[derive(Clone, Debug)]
pub struct Module {
    pub path: String,
    pub sha256: [u8; 32],
}

/// What compiling a layer's modules did, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub modules: usize,
    /// `.pyc` files compiled by this build.
    pub compiled: usize,
    /// `.pyc` files taken from the cache.
    pub cached: usize,
    /// (in-image path, message) of sources that do not compile: no `.pyc` for them.
    pub failed: Vec<(String, String)>,
    /// Total bytes of the `.pyc` files.
    pub pyc_bytes: u64,
}

/// Whether a layer path is a module pip would compile (`*.py`).
pub fn is_source(path: &str) -> bool {
    path.ends_with(".py")
}

/// `var/task/pkg/mod.py` → `var/task/pkg/__pycache__/mod.cpython-312.pyc` (`cache_from_source`).
pub fn pyc_path(source: &str, minor: u32) -> String {
    let (dir, name) = source.rsplit_once('/').unwrap_or(("", source));
    let stem = name.strip_suffix(".py").unwrap_or(name);
    let file = format!("__pycache__/{stem}.cpython-3{minor}.pyc");
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

/// The interpreter chosen for a build, and how it runs here.
pub struct Compiler {
    pub interp: Interpreter,
    qemu: Option<PathBuf>,
    store: store::Store,
    workers: usize,
    timeout: std::time::Duration,
    /// The isolation it runs in, when this machine allows it.
    sandbox: Option<std::sync::Arc<sandbox::Sandbox>>,
    /// For the report: whose interpreter, and how it runs.
    pub how: String,
}

/// Bytecode for this build: a compiler, or why there is none.
pub enum Setup {
    On(Box<Compiler>),
    Off(String),
}

/// Bytecode for one build, decided lazily. Its key (what every layer key that holds bytecode
/// includes) comes from the base's manifest alone: its config digest and layer digests determine
/// its interpreter's bytes. The interpreter is unpacked from the base's layers, which may have to
/// be downloaded, only when something must be compiled, so a build whose layers all come from a
/// cache never reads the base.
pub struct Bytecode {
    key: String,
    base: Image,
    host_variant: Option<Image>,
    interpreters: PathBuf,
    tmp: PathBuf,
    store: PathBuf,
    workers: usize,
    timeout: std::time::Duration,
    setup: std::sync::OnceLock<Setup>,
}

/// The bytecode of a build on `base`. `host_variant` is the same base for this machine's platform,
/// when the base is a multi-platform index that has one.
pub fn lazy(
    base: &Image,
    host_variant: Option<&Image>,
    cache: &Cache,
    workers: usize,
    timeout: std::time::Duration,
) -> Bytecode {
    let mut h = Sha256::new();
    h.update(format!("lamina-bytecode-v2\0{}\0", store::FORMAT));
    h.update(lamina_oci::sha256_digest(base.config_bytes()).to_string());
    for l in &base.layers {
        h.update(format!("\0{}", l.digest()));
    }
    Bytecode {
        key: format!("bytecode-unchecked-hash\0{}", hex::encode(h.finalize())),
        base: base.clone(),
        host_variant: host_variant.cloned(),
        interpreters: cache.interpreters_dir(),
        tmp: cache.tmp_dir(),
        store: cache.bytecode_dir(),
        workers: workers.max(1),
        timeout,
        setup: std::sync::OnceLock::new(),
    }
}

impl Bytecode {
    /// What a layer's input key must include for its bytecode.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The compiler, unpacking the base's interpreter if this machine has not yet; `None` when the
    /// base has no Python.
    pub fn compiler(&self) -> Result<Option<&Compiler>, BytecodeError> {
        Ok(match self.setup()? {
            Setup::On(c) => Some(c),
            Setup::Off(_) => None,
        })
    }

    /// The setup, unpacking the base's interpreter if needed.
    pub fn setup(&self) -> Result<&Setup, BytecodeError> {
        if let Some(s) = self.setup.get() {
            return Ok(s);
        }
        let find = |i: &Image| interp::for_image(i, &self.interpreters, &self.tmp).map(Some);
        let s = self.decide(&find)?.expect("found by unpacking");
        Ok(self.setup.get_or_init(|| s))
    }

    /// The setup when it is known without reading the base: decided already, or from what this
    /// machine unpacked before.
    pub fn known(&self) -> Option<&Setup> {
        if let Some(s) = self.setup.get() {
            return Some(s);
        }
        let find = |i: &Image| Ok(interp::cached(i, &self.interpreters));
        let s = self.decide(&find).ok()??;
        Some(self.setup.get_or_init(|| s))
    }

    /// One line for the report: who compiled, why there is no bytecode, or that none was needed.
    pub fn note(&self) -> String {
        match self.known() {
            Some(Setup::On(c)) => format!("bytecode: compiled by {} (unchecked-hash .pyc)", c.how),
            Some(Setup::Off(why)) => format!("no bytecode: {why}"),
            None => {
                "bytecode: every layer came from a cache; the base's interpreter was not needed"
                    .into()
            }
        }
    }

    /// Whether the layers this bytecode keys hold `.pyc` files; `compiled` says a layer's cache
    /// entry recorded compiling (which only a base with Python does), sparing the base's bytes.
    pub fn has_python(&self, compiled: bool) -> Result<bool, BytecodeError> {
        match self.known() {
            Some(s) => Ok(matches!(s, Setup::On(_))),
            None if compiled => Ok(true),
            None => Ok(matches!(self.setup()?, Setup::On(_))),
        }
    }

    /// Finds the base's interpreter (`find`: `None` when it cannot say without reading the base)
    /// and a way to run it here.
    fn decide(
        &self,
        find: &dyn Fn(&Image) -> Result<Option<Found>, InterpError>,
    ) -> Result<Option<Setup>, BytecodeError> {
        let target = match find(&self.base)? {
            None => return Ok(None),
            Some(Found::NoPython) => {
                return Ok(Some(Setup::Off(
                    "the base has no python3.X (in /var/lang/bin, /usr/local/bin or /usr/bin)"
                        .into(),
                )))
            }
            Some(Found::Python(i)) => *i,
        };
        let host = interp::host_machine();
        let make = |interp: Interpreter, qemu: Option<PathBuf>, how: String| {
            let store = store::Store::new(&self.store, &self.tmp, &interp.identity);
            let mut c = Compiler {
                interp,
                qemu,
                store,
                workers: self.workers,
                timeout: self.timeout,
                sandbox: None,
                how,
            };
            c.isolate();
            Some(Setup::On(Box::new(c)))
        };
        if target.machine == host && cfg!(target_os = "linux") {
            let how = format!("the base's {}", target.python);
            return Ok(make(target, None, how));
        }
        let mut why = Vec::new();
        if !cfg!(target_os = "linux") {
            why.push("this is not a Linux machine".to_string());
        } else if let Some(v) = &self.host_variant {
            match find(v)? {
                None => return Ok(None),
                Some(Found::Python(v)) if v.machine == host => {
                    if v.minor == target.minor && v.stdlib == target.stdlib {
                        let how = format!(
                            "the {} variant's {} (the same CPython release as the {} image's)",
                            v.machine, v.python, target.machine
                        );
                        return Ok(make(*v, None, how));
                    }
                    why.push(format!(
                        "the base's {host} variant has another CPython ({} with a different standard library)",
                        v.python
                    ));
                }
                _ => why.push(format!("the base's {host} variant has no usable python3.X")),
            }
        } else {
            why.push(format!("the base has no {host} variant"));
        }
        if cfg!(target_os = "linux") {
            match interp::find_qemu(&target.machine) {
                Some(q) => {
                    let how = format!("the base's {} under {}", target.python, q.display());
                    return Ok(make(target, Some(q), how));
                }
                None => why.push(format!("qemu-{} is not installed", target.machine)),
            }
        }
        Err(BytecodeError::CannotRun {
            python: target.python.clone(),
            machine: target.machine.clone(),
            host: host.to_string(),
            why: why.join("; "),
        })
    }
}

impl Compiler {
    pub fn minor(&self) -> u32 {
        self.interp.minor
    }

    fn command(&self) -> std::process::Command {
        match &self.sandbox {
            Some(s) => self.interp.isolated_command(s.clone()),
            None => self.interp.command(self.qemu.as_deref()),
        }
    }

    /// Runs the interpreter isolated from now on when this machine allows it (one start to find
    /// out), and says which in `how`.
    fn isolate(&mut self) {
        let why_not = if self.qemu.is_some() {
            "it runs under qemu".to_string()
        } else {
            match sandbox::Sandbox::for_root(&self.interp.root) {
                Err(e) => e.to_string(),
                Ok(s) => {
                    let cmd = self.interp.isolated_command(std::sync::Arc::new(s));
                    match pool::hello(cmd, self.interp.minor, self.timeout) {
                        Ok(_) => {
                            self.sandbox = sandbox::Sandbox::for_root(&self.interp.root)
                                .ok()
                                .map(std::sync::Arc::new);
                            self.how +=
                                ", isolated (no network, the base read-only, a private /tmp)";
                            return;
                        }
                        Err(e) => lamina_support::diagnostic::chain(&e),
                    }
                }
            }
        };
        self.how += &format!(", not isolated ({why_not})");
    }

    /// Checks that the interpreter runs and returns its version (`3.12.1`).
    pub fn version(&self) -> Result<String, BytecodeError> {
        Ok(pool::hello(self.command(), self.interp.minor, self.timeout)?.version)
    }

    /// One entry per module, in order: from the store, or compiled now (sources read with
    /// `read`, on this thread, only for the modules the store does not have).
    pub fn compile<E: From<BytecodeError>>(
        &self,
        modules: &[Module],
        mut read: impl FnMut(&Module) -> Result<Vec<u8>, E>,
    ) -> Result<(Vec<Entry>, Stats), E> {
        let mut entries: Vec<Option<Entry>> = modules
            .iter()
            .map(|m| self.store.get(&m.path, &m.sha256))
            .collect();
        let misses: Vec<usize> = (0..modules.len())
            .filter(|&i| entries[i].is_none())
            .collect();
        let mut stats = Stats {
            modules: modules.len(),
            ..Default::default()
        };
        let was_cached: Vec<bool> = entries.iter().map(Option::is_some).collect();
        if !misses.is_empty() {
            let done: Mutex<Vec<(usize, Entry)>> = Mutex::new(Vec::with_capacity(misses.len()));
            let store_err: Mutex<Option<std::io::Error>> = Mutex::new(None);
            let sink = |i: usize, r: pool::Compiled| {
                let m = &modules[i];
                match self.store.put(&m.path, &m.sha256, &r) {
                    Ok(e) => done.lock().expect("lock").push((i, e)),
                    Err(e) => {
                        store_err.lock().expect("lock").get_or_insert(e);
                    }
                }
            };
            let make = || self.command();
            let workers = self.workers.min(misses.len());
            pool::run(
                &make,
                self.interp.minor,
                workers,
                self.timeout,
                |send| {
                    for &i in &misses {
                        let source = read(&modules[i])?;
                        if !send(i, format!("/{}", modules[i].path), source) {
                            break;
                        }
                    }
                    Ok::<(), E>(())
                },
                &sink,
            )?
            .map_err(BytecodeError::from)?;
            if let Some(e) = store_err.into_inner().expect("lock") {
                return Err(BytecodeError::Store {
                    path: PathBuf::from("bytecode"),
                    source: e,
                }
                .into());
            }
            for (i, e) in done.into_inner().expect("lock") {
                entries[i] = Some(e);
            }
        }
        let mut out = Vec::with_capacity(entries.len());
        for ((m, e), cached) in modules.iter().zip(entries).zip(was_cached) {
            let e = e.ok_or_else(|| {
                BytecodeError::from(pool::PoolError::Protocol {
                    detail: format!("no result for /{}", m.path),
                })
            })?;
            match &e {
                Entry::Pyc(_, size) => {
                    stats.pyc_bytes += size;
                    if cached {
                        stats.cached += 1;
                    } else {
                        stats.compiled += 1;
                    }
                }
                Entry::Failed(msg) => stats.failed.push((format!("/{}", m.path), msg.clone())),
            }
            out.push(e);
        }
        Ok((out, stats))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_as_cache_from_source() {
        assert_eq!(
            super::pyc_path("var/task/pkg/mod.py", 12),
            "var/task/pkg/__pycache__/mod.cpython-312.pyc"
        );
        assert_eq!(
            super::pyc_path("var/task/a.b.py", 9),
            "var/task/__pycache__/a.b.cpython-39.pyc"
        );
        assert!(super::is_source("x/__init__.py") && !super::is_source("x/a.pyi"));
    }
}
