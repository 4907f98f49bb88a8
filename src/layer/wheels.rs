//! The dependency layer: vendored wheels installed into `/var/task` exactly as
//! `pip install --no-deps --target /var/task` lays them out, with no Python. Three steps:
//! `select` chooses the best wheel per project for the target (refusing the rest with reasons),
//! `plan` maps every wheel entry to its destination (scripts, entry points, headers, data,
//! namespace packages merged, conflicts settled, RECORD regenerated), and `write` streams zip entries
//! straight into the layer writer, checking each against RECORD (hash and size) as it goes.

use super::tree::{EntryKind, Tree};
use super::writer::{LayerWriter, WriteError};
use crate::python::tags::{Ranking, Target};
use crate::python::wheel::{open_archive, Archive, Wheel, WheelError};
use crate::python::wheel_name::WheelName;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::source::TASK_ROOT;

#[derive(Debug, thiserror::Error)]
pub enum WheelsError {
    #[error("{dir}: {source}")]
    Dir { dir: PathBuf, source: io::Error },
    #[error("{dir}: no wheels (*.whl) in it")]
    Empty { dir: PathBuf },
    #[error("{file}: a source distribution; lamina installs wheels only")]
    Sdist { file: String },
    #[error("{project}: several versions ({versions}); keep one")]
    Versions { project: String, versions: String },
    #[error("{project}: no wheel fits {target}: {reasons}")]
    NoneFits {
        project: String,
        target: String,
        reasons: String,
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
}

impl WheelsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            WheelsError::Sdist { .. } => Some(
                "build a wheel first (pip wheel --no-deps -w WHEELS_DIR PKG), or download one with pip download --only-binary=:all:".into(),
            ),
            WheelsError::NoneFits { hint, .. } => Some(hint.clone()),
            WheelsError::Versions { .. } => Some("delete the wheels of the versions you do not want".into()),
            WheelsError::Record { wheel, problem, .. } if problem.contains("RECORD") => {
                let project = WheelName::parse(wheel).map(|w| w.normalized()).unwrap_or_else(|_| wheel.clone());
                Some(format!("if you trust this wheel anyway, pass --allow-bad-record {project}"))
            }
            WheelsError::Conflict { .. } => Some("the two projects overlap; install only one of them".into()),
            WheelsError::TooLarge { .. } => Some("raise the limit with --max-unpacked-size if this is expected".into()),
            _ => None,
        }
    }
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

/// Lists `dir`, refuses sdists and returns the chosen wheel of each project, plus warnings for the
/// wheels left out.
pub fn select(
    dir: &Path,
    ranking: &Ranking,
    target: &Target,
) -> Result<(Vec<PathBuf>, Vec<String>), WheelsError> {
    let read = std::fs::read_dir(dir).map_err(|e| WheelsError::Dir {
        dir: dir.into(),
        source: e,
    })?;
    let mut names = Vec::new();
    for e in read {
        let e = e.map_err(|e| WheelsError::Dir {
            dir: dir.into(),
            source: e,
        })?;
        let n = e.file_name().to_string_lossy().into_owned();
        if n.ends_with(".tar.gz")
            || n.ends_with(".tar.bz2")
            || n.ends_with(".tgz")
            || (n.ends_with(".zip") && !n.starts_with('.'))
        {
            return Err(WheelsError::Sdist {
                file: dir.join(&n).display().to_string(),
            });
        }
        if n.ends_with(".whl") {
            names.push(n);
        }
    }
    if names.is_empty() {
        return Err(WheelsError::Empty { dir: dir.into() });
    }
    names.sort();
    let mut projects: BTreeMap<String, Vec<WheelName>> = BTreeMap::new();
    for n in names {
        let w = WheelName::parse(&n).map_err(|e| WheelError::Invalid {
            wheel: n.clone(),
            detail: e.0,
        })?;
        projects.entry(w.normalized()).or_default().push(w);
    }
    let mut chosen = Vec::new();
    let mut warnings = Vec::new();
    for (project, wheels) in projects {
        let mut versions: Vec<&str> = wheels.iter().map(|w| w.version.as_str()).collect();
        versions.sort();
        versions.dedup();
        if versions.len() > 1 {
            return Err(WheelsError::Versions {
                project,
                versions: versions.join(", "),
            });
        }
        let mut fits: Vec<(usize, &WheelName)> = Vec::new();
        let mut reasons = Vec::new();
        for w in &wheels {
            match ranking.rank(w) {
                Ok(r) => fits.push((r, w)),
                Err(why) => reasons.push((w, why)),
            }
        }
        fits.sort_by(|(ra, a), (rb, b)| ra.cmp(rb).then_with(|| b.build.cmp(&a.build)));
        let Some((_, best)) = fits.first() else {
            let text: Vec<String> = reasons
                .iter()
                .map(|(w, why)| format!("{} {why}", w.filename))
                .collect();
            let req = format!("{}=={}", wheels[0].name, wheels[0].version);
            return Err(WheelsError::NoneFits {
                project,
                target: target.to_string(),
                reasons: text.join("; "),
                hint: format!(
                    "fetch a wheel for the base: {}",
                    target.pip_download_hint(&req)
                ),
            });
        };
        for (w, why) in &reasons {
            warnings.push(format!(
                "{} left out: it {why} (using {})",
                w.filename, best.filename
            ));
        }
        for (_, w) in fits.iter().skip(1) {
            warnings.push(format!(
                "{} left out: {} fits better",
                w.filename, best.filename
            ));
        }
        chosen.push(dir.join(&best.filename));
    }
    Ok((chosen, warnings))
}

/// The planned dependency layer.
pub struct DepsPlan {
    pub wheels: Vec<Wheel>,
    pub tree: Tree<Src>,
    pub warnings: Vec<String>,
    pub unpacked: u64,
}

fn record_hash(b: &[u8; 32]) -> String {
    format!("sha256={}", URL_SAFE_NO_PAD.encode(b))
}

fn decode_hash(h: &str) -> Option<[u8; 32]> {
    let b64 = h.strip_prefix("sha256=")?;
    URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .ok()?
        .try_into()
        .ok()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// pip 23.2.1's console/gui script wrapper (distlib's template), with the target interpreter.
pub fn entry_point_script(interpreter: &str, module: &str, attr: &str) -> String {
    let import = attr.split('.').next().unwrap_or(attr);
    format!(
        "#!{interpreter}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom {module} import {import}\nif __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit({attr}())\n"
    )
}

/// Reads a whole zip entry (small ones only: scripts, allowed-bad-record hashing).
fn read_entry(
    zip: &mut Archive,
    wheel: &Wheel,
    index: usize,
    limit: u64,
) -> Result<Vec<u8>, WheelsError> {
    let wname = wheel.name.filename.clone();
    let mut f = zip.by_index(index).map_err(|e| WheelError::Zip {
        wheel: wname.clone(),
        detail: e.to_string(),
    })?;
    let mut out = Vec::new();
    f.by_ref()
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| WheelError::Zip {
            wheel: wname.clone(),
            detail: e.to_string(),
        })?;
    if out.len() as u64 > limit {
        return Err(WheelError::Invalid {
            wheel: wname,
            detail: format!("entry #{index} is larger than {limit} bytes"),
        }
        .into());
    }
    Ok(out)
}

struct Planned {
    dest: String,
    src: Src,
    size: u64,
    executable: bool,
    hash: [u8; 32],
}

/// Plans one wheel: every destination path with its source and hash, and its new RECORD.
fn plan_wheel(
    wi: usize,
    w: &Wheel,
    opts: &WheelsOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<Planned>, WheelsError> {
    let wname = w.name.filename.clone();
    let allow = opts.allow_bad_record.contains(&w.name.normalized());
    let mut zip = open_archive(&w.path)?;
    let ep_names: Vec<&str> = w.entry_points.iter().map(|e| e.name.as_str()).collect();
    let headers_name = w.name.name.replace('_', "-");
    let mut out = Vec::new();
    let mut warned_pycache = false;
    let record_err = |path: &str, problem: String| WheelsError::Record {
        wheel: wname.clone(),
        path: path.into(),
        problem,
    };
    for e in &w.entries {
        let name = e.name.as_str();
        if name.split('/').any(|c| c == "__pycache__") {
            if !warned_pycache {
                warnings.push(format!(
                    "{wname}: skipping __pycache__ entries shipped in the wheel"
                ));
                warned_pycache = true;
            }
            continue;
        }
        let in_dist_info = name
            .strip_prefix(&w.dist_info)
            .and_then(|r| r.strip_prefix('/'));
        if matches!(in_dist_info, Some("RECORD")) {
            continue;
        }
        let signature = matches!(in_dist_info, Some("RECORD.jws") | Some("RECORD.p7s"));
        // RECORD: listed, sha256, right size — unless this wheel is allowed to be wrong.
        let expected = match w.record.get(name) {
            _ if allow => None,
            Some(row) if !signature => {
                let h = decode_hash(&row.hash);
                match (h, row.size) {
                    (Some(h), Some(s)) if s == e.size => Some(h),
                    _ if allow => None,
                    (None, _) => {
                        return Err(record_err(
                            name,
                            format!("RECORD hash '{}' is not a sha256 hash", row.hash),
                        ))
                    }
                    (_, s) => {
                        return Err(record_err(
                            name,
                            format!(
                                "RECORD says {} bytes, the zip holds {}",
                                s.map_or("no size".into(), |s| s.to_string()),
                                e.size
                            ),
                        ))
                    }
                }
            }
            None if !signature && !allow => {
                return Err(record_err(name, "is not listed in RECORD".into()))
            }
            _ => None,
        };
        let (dest, script) = match name.split_once('/') {
            Some((top, rest)) if top == w.data_dir => {
                let (key, rest) = rest.split_once('/').unwrap_or((rest, ""));
                if rest.is_empty() {
                    return Err(WheelError::BadEntry {
                        wheel: wname.clone(),
                        entry: name.into(),
                        reason: "is not inside a .data scheme directory".into(),
                    }
                    .into());
                }
                match key {
                    "purelib" | "platlib" | "data" => (rest.to_string(), false),
                    "headers" => (format!("include/python/{headers_name}/{rest}"), false),
                    "scripts" => {
                        let stem = rest
                            .trim_end_matches(".exe")
                            .trim_end_matches("-script.py")
                            .trim_end_matches(".pya");
                        if ep_names.contains(&stem) {
                            continue;
                        }
                        (format!("bin/{rest}"), true)
                    }
                    other => {
                        return Err(WheelError::BadEntry {
                            wheel: wname.clone(),
                            entry: name.into(),
                            reason: format!("uses unknown .data scheme '{other}'"),
                        }
                        .into())
                    }
                }
            }
            Some((top, _)) if top.ends_with(".data") => {
                return Err(WheelError::BadEntry {
                    wheel: wname.clone(),
                    entry: name.into(),
                    reason: format!("is in a .data directory other than {}", w.data_dir),
                }
                .into())
            }
            _ => (name.to_string(), false),
        };
        if !script && expected.is_none() {
            // An unlisted file, or a wheel allowed a bad RECORD: hash the real bytes (streaming).
            let mut f = zip.by_index(e.index).map_err(|err| WheelError::Zip {
                wheel: wname.clone(),
                detail: err.to_string(),
            })?;
            let mut h = Sha256::new();
            io::copy(&mut f, &mut h).map_err(|err| WheelError::Zip {
                wheel: wname.clone(),
                detail: format!("{name}: {err}"),
            })?;
            let hash: [u8; 32] = h.finalize().into();
            out.push(Planned {
                dest,
                size: e.size,
                src: Src::Zip {
                    wheel: wi,
                    index: e.index,
                    expected: hash,
                },
                executable: e.executable,
                hash,
            });
        } else if script {
            // Read it now: a script may be rewritten, and an unlisted file needs its real hash.
            let bytes = read_entry(&mut zip, w, e.index, 1 << 30)?;
            let actual: [u8; 32] = Sha256::digest(&bytes).into();
            if let Some(exp) = expected {
                if exp != actual {
                    return Err(record_err(name, "does not match its RECORD hash".into()));
                }
            }
            let bytes = if script && bytes.starts_with(b"#!python") {
                let rest = bytes
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(&[][..], |i| &bytes[i + 1..]);
                let mut v = format!("#!{}\n", opts.interpreter).into_bytes();
                v.extend_from_slice(rest);
                v
            } else {
                bytes
            };
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            out.push(Planned {
                dest,
                size: bytes.len() as u64,
                src: Src::Bytes(Arc::new(bytes)),
                executable: e.executable,
                hash,
            });
        } else {
            let hash = expected.expect("checked");
            out.push(Planned {
                dest,
                size: e.size,
                src: Src::Zip {
                    wheel: wi,
                    index: e.index,
                    expected: hash,
                },
                executable: e.executable,
                hash,
            });
        }
    }
    for ep in &w.entry_points {
        let text = entry_point_script(&opts.interpreter, &ep.module, &ep.attr).into_bytes();
        let hash: [u8; 32] = Sha256::digest(&text).into();
        out.push(Planned {
            dest: format!("bin/{}", ep.name),
            size: text.len() as u64,
            src: Src::Bytes(Arc::new(text)),
            executable: true,
            hash,
        });
    }
    let generated = [
        ("INSTALLER", b"lamina\n".to_vec()),
        ("REQUESTED", Vec::new()),
    ];
    for (file, bytes) in generated {
        let hash: [u8; 32] = Sha256::digest(&bytes).into();
        out.push(Planned {
            dest: format!("{}/{file}", w.dist_info),
            size: bytes.len() as u64,
            src: Src::Bytes(Arc::new(bytes)),
            executable: false,
            hash,
        });
    }
    let mut rows: Vec<String> = out
        .iter()
        .map(|p| format!("{},{},{}", csv_field(&p.dest), record_hash(&p.hash), p.size))
        .collect();
    let record_path = format!("{}/RECORD", w.dist_info);
    rows.push(format!("{},,", csv_field(&record_path)));
    rows.sort();
    let record = rows.join("\n") + "\n";
    let bytes = record.into_bytes();
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    out.push(Planned {
        dest: record_path,
        size: bytes.len() as u64,
        src: Src::Bytes(Arc::new(bytes)),
        executable: false,
        hash,
    });
    Ok(out)
}

/// Plans the layer for the chosen wheels (in `select` order).
pub fn plan(paths: &[PathBuf], opts: &WheelsOptions) -> Result<DepsPlan, WheelsError> {
    let wheels: Vec<Wheel> = paths
        .iter()
        .map(|p| Wheel::open(p))
        .collect::<Result<_, _>>()?;
    let mut tree: Tree<Src> = Tree::new();
    tree.insert(TASK_ROOT, EntryKind::Dir).expect("valid").ok();
    let mut owners: HashMap<String, (usize, [u8; 32], bool)> = HashMap::new();
    let mut warnings = Vec::new();
    let mut unpacked = 0u64;
    for (wi, w) in wheels.iter().enumerate() {
        for p in plan_wheel(wi, w, opts, &mut warnings)? {
            if let Some((owner, hash, exec)) = owners.get(&p.dest) {
                if *hash == p.hash && *exec == p.executable {
                    continue; // the same file from two wheels (legacy namespace __init__.py): one entry
                }
                return Err(WheelsError::Conflict {
                    path: format!("{TASK_ROOT}/{}", p.dest),
                    first: wheels[*owner].name.filename.clone(),
                    second: w.name.filename.clone(),
                });
            }
            owners.insert(p.dest.clone(), (wi, p.hash, p.executable));
            unpacked += p.size;
            if unpacked > opts.max_unpacked {
                return Err(WheelsError::TooLarge {
                    total: unpacked,
                    max: opts.max_unpacked,
                });
            }
            let full = format!("{TASK_ROOT}/{}", p.dest);
            let kind = EntryKind::File {
                source: p.src,
                size: p.size,
                executable: p.executable,
            };
            match tree.insert(&full, kind) {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => {
                    return Err(WheelsError::Conflict {
                        path: full,
                        first: "another wheel (as a directory)".into(),
                        second: w.name.filename.clone(),
                    })
                }
            }
        }
    }
    Ok(DepsPlan {
        wheels,
        tree,
        warnings,
        unpacked,
    })
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

/// Writes the planned layer.
pub fn write(plan: &DepsPlan, w: &mut LayerWriter) -> Result<(), WheelsError> {
    let mut archives: Vec<Archive> = plan
        .wheels
        .iter()
        .map(|wh| open_archive(&wh.path))
        .collect::<Result<_, _>>()?;
    for (path, kind) in plan.tree.iter() {
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
                    .map_err(|e| WheelError::Zip {
                        wheel: wh.name.filename.clone(),
                        detail: e.to_string(),
                    })?;
                let mut r = Checked {
                    inner: f,
                    hasher: Sha256::new(),
                    count: 0,
                    size: *size,
                    expected: *expected,
                };
                w.file(path, *executable, *size, &mut r)
                    .map_err(|e| match e {
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
    }
    Ok(())
}
