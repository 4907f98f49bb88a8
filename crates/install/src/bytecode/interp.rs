//! The base image's own CPython, made runnable on the build machine without a container: its files
//! are unpacked (`extract`) into lamina's cache, keyed by the base's layer digests, and it is run
//! through the base's own dynamic loader (`PT_INTERP`, with `--library-path` pointing into the
//! unpacked tree, `--inhibit-cache`, and `PYTHONHOME`), so neither the host's glibc nor its Python
//! is involved. Before it is ever run, every library it needs (`DT_NEEDED`, transitively) must be
//! found in the unpacked base, or the host's could be loaded silently. Another architecture runs
//! under `qemu-<machine>` when it is installed. Its identity (a hash of every unpacked file) is part
//! of the input key of every layer it compiles. This module does not compile anything (`pool`).

use super::extract::{self, lib_dirs, resolve, PREFIXES};
use lamina_analysis::elf::program;
use lamina_oci::Image;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A base's interpreter, unpacked and checked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Interpreter {
    /// In-image path, e.g. `/var/lang/bin/python3.12`.
    pub python: String,
    pub minor: u32,
    /// In-image `PYTHONHOME` (`/var/lang`).
    pub home: String,
    /// In-image loader path (`PT_INTERP`), if the binary is dynamic.
    pub loader: Option<String>,
    /// In-image directories given to the loader's `--library-path`.
    pub library_path: Vec<String>,
    /// ELF machine of the interpreter: `x86_64` or `aarch64`.
    pub machine: String,
    /// sha256 over every unpacked file: the compiler's identity.
    pub identity: String,
    /// sha256 over the standard library's `.py` files (same CPython release on two architectures).
    pub stdlib: String,
    /// Where it was unpacked (not serialised).
    #[serde(skip)]
    pub root: PathBuf,
}

/// Why a base's interpreter cannot run here.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    #[error("{python} needs {library}, which is not in the base image")]
    MissingLibrary { python: String, library: String },
    #[error("{python}'s loader {loader} is not in the base image")]
    MissingLoader { python: String, loader: String },
    #[error("{python} is not a 64-bit little-endian ELF program")]
    NotElf { python: String },
    #[error("unpacking the base's interpreter into {dir}")]
    Io { dir: PathBuf, source: io::Error },
}

/// What the base has: an interpreter, or the reason there is none.
pub enum Found {
    Python(Box<Interpreter>),
    NoPython,
}

#[derive(Serialize, Deserialize)]
struct Record {
    interpreter: Option<Interpreter>,
}

fn machine_name(m: u16) -> String {
    match m {
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        other => format!("machine {other}"),
    }
}

/// Where a base's interpreter is unpacked under `dir`: by the digests of its layers.
fn unpacked_dir(image: &Image, dir: &Path) -> PathBuf {
    let mut h = Sha256::new();
    h.update("lamina-interpreter-v1\0");
    for l in &image.layers {
        h.update(l.digest().to_string());
        h.update("\0");
    }
    dir.join(hex::encode(h.finalize()))
}

/// What this machine learned about the base's interpreter before, without reading the base.
pub fn cached(image: &Image, dir: &Path) -> Option<Found> {
    let final_dir = unpacked_dir(image, dir);
    let bytes = fs::read(final_dir.join("interpreter.json")).ok()?;
    let r = serde_json::from_slice::<Record>(&bytes).ok()?;
    Some(match r.interpreter {
        Some(mut i) => {
            i.root = final_dir.join("root");
            Found::Python(Box::new(i))
        }
        None => Found::NoPython,
    })
}

/// Unpacks (once per base, cached under `dir`) and checks the base's interpreter.
pub fn for_image(image: &Image, dir: &Path, tmp: &Path) -> Result<Found, InterpError> {
    if let Some(found) = cached(image, dir) {
        return Ok(found);
    }
    let final_dir = unpacked_dir(image, dir);
    let io_err = |source| InterpError::Io {
        dir: final_dir.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_err)?;
    fs::create_dir_all(tmp).map_err(io_err)?;
    // Unpack into a temporary directory and rename it into place only when complete: an
    // interrupted build never leaves a half-unpacked interpreter behind.
    let work = tempfile::Builder::new()
        .prefix("interp-")
        .tempdir_in(tmp)
        .map_err(io_err)?;
    let root = work.path().join("root");
    extract::extract(&image.layers, &root).map_err(io_err)?;
    let found = inspect(&root)?;
    let record = Record {
        interpreter: found.clone(),
    };
    fs::write(
        work.path().join("interpreter.json"),
        serde_json::to_vec_pretty(&record).expect("json"),
    )
    .map_err(io_err)?;
    let staged = work.keep();
    if fs::rename(&staged, &final_dir).is_err() {
        // Another build got there first: use theirs.
        let _ = fs::remove_dir_all(&staged);
    }
    Ok(match found {
        Some(mut i) => {
            i.root = final_dir.join("root");
            Found::Python(Box::new(i))
        }
        None => Found::NoPython,
    })
}

/// The preferred `python3.X` in the unpacked tree (`/var/lang/bin` first, highest X).
fn choose(root: &Path) -> Option<(String, u32)> {
    for prefix in PREFIXES {
        let bin = root.join(prefix).join("bin");
        let Some(real) = resolve(root, &format!("{prefix}/bin"), false) else {
            continue;
        };
        let _ = bin;
        let mut best: Option<u32> = None;
        for e in fs::read_dir(&real).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(m) = name
                .strip_prefix("python3.")
                .and_then(|m| m.parse::<u32>().ok())
            {
                let file = resolve(root, &format!("{prefix}/bin/{name}"), false);
                if file.is_some_and(|f| f.is_file()) && best.is_none_or(|b| m > b) {
                    best = Some(m);
                }
            }
        }
        if let Some(m) = best {
            return Some((format!("{prefix}/bin/python3.{m}"), m));
        }
    }
    None
}

fn inspect(root: &Path) -> Result<Option<Interpreter>, InterpError> {
    let Some((python, minor)) = choose(root) else {
        return Ok(None);
    };
    let prefix = python
        .trim_end_matches(&format!("/bin/python3.{minor}"))
        .to_string();
    let io_err = |source| InterpError::Io {
        dir: root.to_path_buf(),
        source,
    };
    let exe = resolve(root, &python, false).expect("chosen inside root");
    let bytes = fs::read(&exe).map_err(io_err)?;
    let dynamic = program::read(&bytes).ok_or_else(|| InterpError::NotElf {
        python: format!("/{python}"),
    })?;
    let machine = machine_name(dynamic.machine);
    let mut library_path = vec![format!("{prefix}/lib"), format!("{prefix}/lib64")];
    library_path.extend(lib_dirs(&machine));
    library_path.retain(|d| resolve(root, d, false).is_some_and(|p| p.is_dir()));
    library_path.dedup();
    if let Some(loader) = &dynamic.interp {
        if !resolve(root, loader, false).is_some_and(|p| p.is_file()) {
            return Err(InterpError::MissingLoader {
                python: format!("/{python}"),
                loader: loader.clone(),
            });
        }
    }
    // Every library, transitively, must come from the base: the loader would otherwise fall back
    // to the host's default directories.
    let mut todo = dynamic.needed.clone();
    let mut seen = std::collections::HashSet::new();
    while let Some(lib) = todo.pop() {
        if !seen.insert(lib.clone()) {
            continue;
        }
        let interp_name = dynamic.interp.as_deref().and_then(|i| i.rsplit('/').next());
        if Some(lib.as_str()) == interp_name {
            continue;
        }
        let found = library_path.iter().find_map(|d| {
            let p = resolve(root, &format!("{d}/{lib}"), false)?;
            let b = fs::read(&p).ok()?;
            let dy = program::read(&b)?;
            (dy.machine == dynamic.machine).then_some(dy)
        });
        match found {
            Some(dy) => todo.extend(dy.needed),
            None => {
                return Err(InterpError::MissingLibrary {
                    python: format!("/{python}"),
                    library: lib,
                })
            }
        }
    }
    let (identity, stdlib) =
        fingerprints(root, &format!("{prefix}/lib/python3.{minor}")).map_err(io_err)?;
    Ok(Some(Interpreter {
        python: format!("/{python}"),
        minor,
        home: format!("/{prefix}"),
        loader: dynamic.interp.clone(),
        library_path: library_path.iter().map(|d| format!("/{d}")).collect(),
        machine,
        identity,
        stdlib,
        root: root.to_path_buf(),
    }))
}

/// (every file, the stdlib's `.py` files) hashed in path order.
fn fingerprints(root: &Path, stdlib: &str) -> io::Result<(String, String)> {
    let mut all = Sha256::new();
    let mut lib = Sha256::new();
    let mut entries: Vec<_> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)?;
    entries.retain(|e| e.depth() > 0);
    for e in entries {
        let rel = e
            .path()
            .strip_prefix(root)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        all.update(rel.as_bytes());
        if e.file_type().is_symlink() {
            all.update(b"\0l\0");
            all.update(fs::read_link(e.path())?.to_string_lossy().as_bytes());
        } else if e.file_type().is_file() {
            let data = fs::read(e.path())?;
            let h = Sha256::digest(&data);
            all.update(b"\0f\0");
            all.update(h);
            let in_lib = rel.strip_prefix(stdlib).and_then(|r| r.strip_prefix('/'));
            if let Some(r) = in_lib.filter(|r| {
                r.ends_with(".py") && !r.contains("__pycache__") && !r.starts_with("_sysconfigdata")
            }) {
                lib.update(r.as_bytes());
                lib.update(h);
            }
        } else {
            all.update(b"\0d\0");
        }
        all.update(b"\n");
    }
    Ok((hex::encode(all.finalize()), hex::encode(lib.finalize())))
}

/// This machine's ELF machine name.
pub fn host_machine() -> &'static str {
    std::env::consts::ARCH
}

/// `qemu-<machine>` (or `-static`) on PATH.
pub fn find_qemu(machine: &str) -> Option<PathBuf> {
    let path = lamina_support::env::EnvVars::PATH.raw_os()?;
    for name in [format!("qemu-{machine}"), format!("qemu-{machine}-static")] {
        for d in std::env::split_paths(&path) {
            let p = d.join(&name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

impl Interpreter {
    fn host_path(&self, in_image: &str) -> PathBuf {
        resolve(&self.root, in_image, false)
            .unwrap_or_else(|| self.root.join(in_image.trim_start_matches('/')))
    }

    /// The command that runs this interpreter here (through `qemu`, when given), with a clean
    /// environment: only `PYTHONHOME`, a fixed hash seed and no bytecode writing.
    pub fn command(&self, qemu: Option<&Path>) -> Command {
        let python = self.root.join(self.python.trim_start_matches('/'));
        let mut cmd = match qemu {
            Some(q) => {
                let mut c = Command::new(q);
                c.arg("-L").arg(&self.root);
                c
            }
            None => match &self.loader {
                Some(l) => Command::new(self.host_path(l)),
                None => Command::new(&python),
            },
        };
        if let (Some(_), Some(l)) = (qemu, &self.loader) {
            cmd.arg(self.host_path(l));
        }
        if self.loader.is_some() {
            let dirs: Vec<String> = self
                .library_path
                .iter()
                .map(|d| self.host_path(d).to_string_lossy().into_owned())
                .collect();
            cmd.arg("--inhibit-cache")
                .arg("--library-path")
                .arg(dirs.join(":"))
                .arg(&python);
        }
        cmd.env_clear()
            .env(
                "PYTHONHOME",
                self.root.join(self.home.trim_start_matches('/')),
            )
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONNOUSERSITE", "1")
            .current_dir(&self.root);
        cmd
    }

    /// The command that runs this interpreter isolated (`sandbox`): inside the unpacked base, by
    /// its in-image paths, with the same clean environment.
    pub fn isolated_command(&self, sandbox: std::sync::Arc<super::sandbox::Sandbox>) -> Command {
        let mut cmd = match &self.loader {
            Some(l) => {
                let mut c = Command::new(l);
                c.arg("--inhibit-cache")
                    .arg("--library-path")
                    .arg(self.library_path.join(":"))
                    .arg(&self.python);
                c
            }
            None => Command::new(&self.python),
        };
        cmd.env_clear()
            .env("PYTHONHOME", &self.home)
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONNOUSERSITE", "1")
            .current_dir(&self.root);
        // SAFETY: `apply` makes only async-signal-safe calls on data made before the fork.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || sandbox.apply());
        }
        cmd
    }
}
