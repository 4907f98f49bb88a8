//! Planning the dependency layer as `pip install --no-deps --target` lays it out: `.data` schemes,
//! `#!python` shebangs, entry-point wrappers, headers, namespace packages merged, identical files
//! deduped, conflicts refused, RECORD checked and regenerated relative to `/var/task`.

use super::{Src, WheelsError, WheelsOptions, TASK_ROOT};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lamina_oci::layer::tree::{EntryKind, Tree};
use lamina_python::wheel::{open_archive, Archive, Wheel, WheelError};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The planned dependency layer.
pub struct DepsPlan {
    pub wheels: Vec<Wheel>,
    pub tree: Tree<Src>,
    pub warnings: Vec<String>,
    pub unpacked: u64,
    /// Which wheel (index into `wheels`) installs each file (path relative to /var/task).
    pub owner: HashMap<String, usize>,
    /// Each wheel's RECORD, so bytecode can be added to it (pip lists `.pyc` files as `path,,`).
    pub records: Vec<WheelRecord>,
    /// Set when the plan comes from the facts cache rather than from reading the wheels.
    pub recorded: Option<Arc<crate::deps::facts::DepsFacts>>,
    /// Each `.so`'s facts (path relative to /var/task), learned from its bytes as the layer was
    /// written, so the gate need not inflate them again. Empty when the layer came from a cache.
    pub elf: std::collections::BTreeMap<String, crate::deps::facts::SoFacts>,
}

impl DepsPlan {
    /// Wheel `wi`'s `top_level.txt` names (recorded, or read from the wheel).
    pub fn top_level(&self, wi: usize) -> Option<std::collections::HashSet<String>> {
        if let Some(r) = &self.recorded {
            return r
                .wheels
                .get(wi)?
                .top_level
                .as_ref()
                .map(|v| v.iter().cloned().collect());
        }
        top_level_txt(&self.wheels.get(wi)?.path)
    }
}

fn top_level_txt(path: &std::path::Path) -> Option<std::collections::HashSet<String>> {
    let mut z = open_archive(path).ok()?;
    let name = z
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(".dist-info/top_level.txt"))?
        .to_string();
    let mut s = String::new();
    z.by_name(&name)
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut s)
        .ok()?;
    Some(
        s.lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
    )
}

/// A wheel's regenerated RECORD: its layer path, its rows, and the `.py` files it installs.
#[derive(Clone, Debug)]
pub struct WheelRecord {
    pub path: String,
    pub rows: Vec<String>,
    /// Paths relative to `/var/task`.
    pub sources: Vec<String>,
}

/// RECORD's bytes for its rows: sorted, one per line.
pub fn record_bytes(rows: &[String]) -> Vec<u8> {
    let mut rows = rows.to_vec();
    rows.sort();
    (rows.join("\n") + "\n").into_bytes()
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
    let mut f = zip.by_index(index).map_err(|source| WheelError::Zip {
        wheel: wname.clone(),
        source,
    })?;
    let entry = f.name().map(|n| n.to_string()).unwrap_or_default();
    let mut out = Vec::new();
    f.by_ref()
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|source| WheelError::Entry {
            at: format!("{wname}: {entry}"),
            source,
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

impl Planned {
    /// A file whose bytes lamina holds (a rewritten script, a wrapper, INSTALLER, RECORD, …).
    fn bytes(dest: String, bytes: Vec<u8>, executable: bool) -> Planned {
        let hash: [u8; 32] = Sha256::digest(&bytes).into();
        Planned {
            dest,
            size: bytes.len() as u64,
            src: Src::Bytes(Arc::new(bytes)),
            executable,
            hash,
        }
    }
}

/// Plans one wheel: every destination path with its source and hash, and its new RECORD.
fn plan_wheel(
    wi: usize,
    w: &Wheel,
    opts: &WheelsOptions,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Planned>, WheelRecord), WheelsError> {
    let wname = w.name.filename.clone();
    let allow = opts.allow_bad_record.contains(&w.name.normalized());
    let mut zip = open_archive(&w.path)?;
    let ep_names: Vec<&str> = w.entry_points.iter().map(|e| e.name.as_str()).collect();
    let headers_name = w.name.name.replace('_', "-");
    let mut out = Vec::new();
    let mut warned_pycache = false;
    // RECORD rows naming files the wheel does not have (harmless for installing; worth knowing).
    let present: std::collections::HashSet<&str> =
        w.entries.iter().map(|e| e.name.as_str()).collect();
    let mut ghosts: Vec<&String> = w
        .record
        .keys()
        .filter(|k| !present.contains(k.as_str()) && !k.ends_with('/'))
        .collect();
    ghosts.sort();
    if let Some(first) = ghosts.first() {
        warnings.push(format!(
            "{wname}: RECORD lists {} file(s) the wheel does not contain (first: {first})",
            ghosts.len()
        ));
    }
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
        if script {
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
            out.push(Planned::bytes(dest, bytes, e.executable));
        } else {
            let hash = match expected {
                Some(h) => h,
                None => {
                    // An unlisted file, or a wheel allowed a bad RECORD: hash the real bytes (streaming).
                    let mut f = zip.by_index(e.index).map_err(|source| WheelError::Zip {
                        wheel: wname.clone(),
                        source,
                    })?;
                    let mut h = Sha256::new();
                    io::copy(&mut f, &mut h).map_err(|source| WheelError::Entry {
                        at: format!("{wname}: {name}"),
                        source,
                    })?;
                    h.finalize().into()
                }
            };
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
        out.push(Planned::bytes(format!("bin/{}", ep.name), text, true));
    }
    let generated = [
        ("INSTALLER", b"lamina\n".to_vec()),
        ("REQUESTED", Vec::new()),
    ];
    for (file, bytes) in generated {
        out.push(Planned::bytes(
            format!("{}/{file}", w.dist_info),
            bytes,
            false,
        ));
    }
    let mut rows: Vec<String> = out
        .iter()
        .map(|p| format!("{},{},{}", csv_field(&p.dest), record_hash(&p.hash), p.size))
        .collect();
    let record_path = format!("{}/RECORD", w.dist_info);
    rows.push(format!("{},,", csv_field(&record_path)));
    let record = WheelRecord {
        path: format!("{TASK_ROOT}/{record_path}"),
        sources: out
            .iter()
            .filter(|p| crate::bytecode::is_source(&p.dest))
            .map(|p| p.dest.clone())
            .collect(),
        rows,
    };
    out.push(Planned::bytes(
        record_path,
        record_bytes(&record.rows),
        false,
    ));
    Ok((out, record))
}

/// One wheel opened and planned on its own: the part of planning that can start as soon as the
/// wheel is on disk (while others still download), and run beside the other wheels'.
pub struct PlannedWheel {
    wheel: Wheel,
    planned: Vec<Planned>,
    record: WheelRecord,
    warnings: Vec<String>,
}

/// Opens and plans the wheel at `path`, which will be wheel number `wi` of the layer.
pub fn plan_one(wi: usize, path: &Path, opts: &WheelsOptions) -> Result<PlannedWheel, WheelsError> {
    let wheel = Wheel::open(path)?;
    let mut warnings = Vec::new();
    let (planned, record) = plan_wheel(wi, &wheel, opts, &mut warnings)?;
    Ok(PlannedWheel {
        wheel,
        planned,
        record,
        warnings,
    })
}

/// Plans the layer for the chosen wheels (in `select` order), a wheel per core at a time.
pub fn plan(paths: &[PathBuf], opts: &WheelsOptions) -> Result<DepsPlan, WheelsError> {
    let parts =
        lamina_support::parallel::map(paths, lamina_support::parallel::cores().min(8), |wi, p| {
            plan_one(wi, p, opts)
        })?;
    assemble(parts, opts)
}

/// Merges the wheels planned by `plan_one` (numbered 0, 1, … in this order) into one layer plan.
pub fn assemble(parts: Vec<PlannedWheel>, opts: &WheelsOptions) -> Result<DepsPlan, WheelsError> {
    let mut tree: Tree<Src> = Tree::new();
    tree.insert(TASK_ROOT, EntryKind::Dir).expect("valid").ok();
    let mut owners: HashMap<String, (usize, [u8; 32], bool)> = HashMap::new();
    let mut warnings = Vec::new();
    let mut unpacked = 0u64;
    let mut records = Vec::new();
    let mut wheels: Vec<Wheel> = Vec::with_capacity(parts.len());
    for (wi, part) in parts.into_iter().enumerate() {
        let w = part.wheel;
        warnings.extend(part.warnings);
        records.push(part.record);
        for p in part.planned {
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
        wheels.push(w);
    }
    // Lambda's file system is case-sensitive, but a developer's (macOS, Windows) often is not:
    // two paths that differ only in case behave differently there than in the image.
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (path, _) in tree.iter() {
        if let Some(other) = seen.insert(path.to_lowercase(), path) {
            warnings.push(format!("/{other} and /{path} differ only in case"));
        }
    }
    let owner = owners.into_iter().map(|(p, (w, _, _))| (p, w)).collect();
    Ok(DepsPlan {
        wheels,
        tree,
        warnings,
        unpacked,
        owner,
        records,
        recorded: None,
        elf: Default::default(),
    })
}
