//! The dependency layer: vendored wheels installed into `/var/task` exactly as
//! `pip install --no-deps --target /var/task` lays them out, with no Python. Three steps:
//! `select` chooses the best wheel per project for the target (refusing the rest with reasons),
//! `plan` maps every wheel entry to its destination (scripts, entry points, headers, data,
//! namespace packages merged, conflicts settled, RECORD regenerated), and `write` streams zip entries
//! straight into the layer writer, checking each against RECORD (hash and size) as it goes.

mod compile;
mod plan;
mod select;

pub use compile::{compile, Extra};
pub use plan::{
    assemble, entry_point_script, plan, plan_one, record_bytes, DepsPlan, PlannedWheel, WheelRecord,
};
pub use select::select;

use crate::deps::facts::SoFacts;
use lamina_oci::layer::tree::EntryKind;
use lamina_oci::layer::writer::{LayerWriter, WriteError};
use lamina_python::tags::Target;
use lamina_python::wheel::{open_archive, Archive, WheelError};
use lamina_python::wheel_name::WheelName;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::TASK_ROOT;

#[derive(Debug, thiserror::Error)]
pub enum WheelsError {
    #[error("{dir}")]
    Dir { dir: PathBuf, source: io::Error },
    #[error("{dir}: no wheels (*.whl) in it")]
    Empty { dir: PathBuf },
    #[error("{file}: a source distribution; lamina installs wheels only")]
    Sdist { file: String },
    #[error("{project}: several versions ({versions}); keep one")]
    Versions {
        project: String,
        versions: String,
        /// The wheels of all but the newest version.
        older: Vec<String>,
    },
    #[error("{}: no wheel fits {}: {}", .0.project, .0.target, .0.reasons)]
    NoneFits(Box<NoneFits>),
    #[error("{count} projects cannot be installed: {problems}")]
    Several {
        count: usize,
        problems: String,
        hint: String,
    },
    #[error(transparent)]
    Wheel(#[from] WheelError),
    #[error("{wheel}: {path}: {problem}")]
    Record {
        wheel: String,
        path: String,
        problem: String,
    },
    #[error("/{path} is installed by both {first} and {second} with different contents")]
    Conflict {
        path: String,
        first: String,
        second: String,
    },
    #[error("the wheels unpack to {total} bytes, over the limit of {max}")]
    TooLarge { total: u64, max: u64 },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Bytecode(#[from] crate::bytecode::BytecodeError),
}

impl lamina_support::diagnostic::Hint for WheelsError {
    fn hint(&self) -> Option<String> {
        match self {
            WheelsError::Sdist { .. } => Some(
                "build a wheel first (pip wheel --no-deps -w WHEELS_DIR PKG), or download one with pip download --only-binary=:all:".into(),
            ),
            WheelsError::NoneFits(n) => Some(n.hint.clone()),
            WheelsError::Versions { older, .. } => Some(format!(
                "delete the wheels of the versions you do not want (to keep the newest: rm {})",
                older.join(" ")
            )),
            WheelsError::Several { hint, .. } => Some(hint.clone()),
            WheelsError::Record { wheel, problem, .. } if problem.contains("RECORD") => {
                let project = WheelName::parse(wheel).map(|w| w.normalized()).unwrap_or_else(|_| wheel.clone());
                Some(format!("if you trust this wheel anyway, pass --allow-bad-record {project}"))
            }
            WheelsError::Conflict { .. } => Some("the two projects overlap; install only one of them".into()),
            WheelsError::TooLarge { .. } => Some("raise the limit with --max-unpacked-size if this is expected".into()),
            WheelsError::Bytecode(e) => e.hint(),
            WheelsError::Dir { source, .. } => source.hint(),
            WheelsError::Wheel(e) => e.hint(),
            WheelsError::Write(e) => e.hint(),
            _ => None,
        }
    }
}

/// A project none of whose wheels fits the target.
#[derive(Debug)]
pub struct NoneFits {
    pub project: String,
    pub target: String,
    pub reasons: String,
    pub hint: String,
    /// `NAME==VERSION` to fetch.
    pub requirement: String,
}

#[derive(Clone, Debug)]
pub struct WheelsOptions {
    pub target: Target,
    /// Absolute path of the base's interpreter, for `#!python` shebangs and entry points.
    pub interpreter: String,
    /// Normalised project names whose RECORD may be wrong or incomplete.
    pub allow_bad_record: Vec<String>,
    /// Cap on the sum of uncompressed sizes (zip-bomb guard).
    pub max_unpacked: u64,
}

/// What a planned file's bytes come from.
#[derive(Clone, Debug)]
pub enum Src {
    /// Entry `index` of wheel `wheel`, whose sha256 must be `expected`.
    Zip {
        wheel: usize,
        index: usize,
        expected: [u8; 32],
    },
    Bytes(Arc<Vec<u8>>),
}

impl PartialEq for Src {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Src::Zip {
                    wheel: a, index: i, ..
                },
                Src::Zip {
                    wheel: b, index: j, ..
                },
            ) => a == b && i == j,
            (Src::Bytes(a), Src::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

/// A reader that keeps a copy of every byte read through it.
struct Tee<'a, R: Read> {
    inner: R,
    copy: &'a mut Vec<u8>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Streams a zip entry, failing if it is longer or shorter than declared, fails its CRC, or does
/// not hash to what RECORD says. The checks run as the last declared byte is read.
struct Checked<R: Read> {
    inner: R,
    hasher: Sha256,
    count: u64,
    size: u64,
    expected: [u8; 32],
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        if self.count == self.size {
            return Ok(0);
        }
        let want = buf.len().min((self.size - self.count) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(bad(format!(
                "is shorter than its declared {} bytes",
                self.size
            )));
        }
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if self.count == self.size {
            let mut probe = [0u8; 1];
            // Reading past the declared end also makes the zip reader check the entry's CRC.
            match self.inner.read(&mut probe) {
                Ok(0) => {}
                Ok(_) => {
                    return Err(bad(format!(
                        "is longer than its declared {} bytes (zip bomb?)",
                        self.size
                    )))
                }
                Err(e) if e.to_string().contains("larger than its declared") => {
                    return Err(bad(format!(
                        "is longer than its declared {} bytes (zip bomb?)",
                        self.size
                    )))
                }
                Err(e) => return Err(bad(format!("is damaged: {e}"))),
            }
            let got: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
            if got != self.expected {
                return Err(bad("does not match its RECORD hash".into()));
            }
        }
        Ok(n)
    }
}

/// What writing the layer learned on the way: each `.so`'s facts (path relative to /var/task).
pub type SoFactsSeen = BTreeMap<String, SoFacts>;

/// Writes the planned layer.
pub fn write(plan: &DepsPlan, w: &mut LayerWriter) -> Result<SoFactsSeen, WheelsError> {
    write_with(plan, &Extra::default(), w)
}

/// Writes the planned layer with `extra` merged in (bytecode files and the RECORDs that list
/// them), all in one sorted pass.
pub fn write_with(
    plan: &DepsPlan,
    extra: &Extra,
    w: &mut LayerWriter,
) -> Result<SoFactsSeen, WheelsError> {
    let mut seen = SoFactsSeen::new();
    let mut archives: Vec<Archive> = plan
        .wheels
        .iter()
        .map(|wh| open_archive(&wh.path))
        .collect::<Result<_, _>>()?;
    let mut planned = plan.tree.iter().peekable();
    let mut added = extra.files.iter().peekable();
    loop {
        let take_planned = match (planned.peek(), added.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((a, _)), Some((b, _))) => {
                if a == b {
                    added.next(); // a directory both have: written once
                    true
                } else {
                    a < b
                }
            }
        };
        if !take_planned {
            let (path, kind) = added.next().expect("peeked");
            match kind {
                EntryKind::Dir => w.dir(path)?,
                EntryKind::Symlink(t) => w.symlink(path, t)?,
                EntryKind::File {
                    source,
                    size,
                    executable,
                } => {
                    let mut f = std::fs::File::open(source).map_err(WriteError::Io)?;
                    w.file(path, *executable, *size, &mut f)?;
                }
            }
            continue;
        }
        let (path, kind) = planned.next().expect("peeked");
        if let Some(bytes) = extra.replace.get(path.as_str()) {
            w.file(path, false, bytes.len() as u64, &mut &bytes[..])?;
            continue;
        }
        write_entry(plan, &mut archives, path, kind, w, &mut seen)?;
    }
    Ok(seen)
}

fn write_entry(
    plan: &DepsPlan,
    archives: &mut [Archive],
    path: &str,
    kind: &EntryKind<Src>,
    w: &mut LayerWriter,
    seen: &mut SoFactsSeen,
) -> Result<(), WheelsError> {
    match kind {
        EntryKind::Dir => w.dir(path)?,
        EntryKind::Symlink(t) => w.symlink(path, t)?,
        EntryKind::File {
            source: Src::Bytes(b),
            size,
            executable,
        } => w.file(path, *executable, *size, &mut &b[..])?,
        EntryKind::File {
            source:
                Src::Zip {
                    wheel,
                    index,
                    expected,
                },
            size,
            executable,
        } => {
            let wh = &plan.wheels[*wheel];
            let f = archives[*wheel]
                .by_index(*index)
                .map_err(|source| WheelError::Zip {
                    wheel: wh.name.filename.clone(),
                    source,
                })?;
            let mut r = Checked {
                inner: f,
                hasher: Sha256::new(),
                count: 0,
                size: *size,
                expected: *expected,
            };
            let rel = path.strip_prefix("var/task/").unwrap_or(path);
            // A `.so`'s bytes are kept as they pass (sized up front, as far as a declared size is
            // believed before the bytes are there) for its ELF facts.
            let mut copy = (SoFacts::applies_to(rel) && *size <= SoFacts::READ_LIMIT)
                .then(|| Vec::with_capacity((*size).min(SoFacts::PREALLOC_LIMIT) as usize));
            let written = match copy.as_mut() {
                Some(copy) => w.file(path, *executable, *size, &mut Tee { inner: r, copy }),
                None => w.file(path, *executable, *size, &mut r),
            };
            if let (Ok(()), Some(bytes)) = (&written, copy) {
                seen.insert(rel.to_string(), SoFacts::of(&bytes));
            }
            written.map_err(|e| match e {
                WriteError::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
                    WheelsError::Record {
                        wheel: wh.name.filename.clone(),
                        path: path.strip_prefix("var/task/").unwrap_or(path).to_string(),
                        problem: io.to_string(),
                    }
                }
                other => other.into(),
            })?;
        }
    }
    Ok(())
}
