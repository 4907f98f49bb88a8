//! One wheel file as pip sees it: its name, its `.dist-info` (WHEEL, RECORD, METADATA, entry points),
//! and its zip entries, validated. Names that escape the target (`..`, absolute, drive letters,
//! backslashes, control characters) or carry `.wh.` components are refused here, before any byte is
//! installed. Nothing is extracted: entries are read later, streamed, by index.

use super::normalize_name;
use super::wheel_name::WheelName;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub type Archive = zip::ZipArchive<super::zip_file::ZipFile>;

#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error("{wheel}: {detail}")]
    Invalid { wheel: String, detail: String },
    #[error("{wheel}: entry '{entry}' {reason}")]
    BadEntry {
        wheel: String,
        entry: String,
        reason: String,
    },
    #[error("{wheel}: cannot read it as a zip file")]
    Zip {
        wheel: String,
        source: zip::result::ZipError,
    },
    /// Reading one entry (`WHEEL-FILE: ENTRY`) failed.
    #[error("{at}")]
    Entry { at: String, source: std::io::Error },
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

const REFETCH: &str = "download the wheel again from its index (pip download --only-binary=:all: …) or build it again (pip wheel --no-deps …); lamina installs only well-formed wheels (PEP 427)";

impl lamina_support::diagnostic::Hint for WheelError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            WheelError::BadEntry { .. } => "the wheel would write outside its install directory or hide files (.wh.): do not install it; get the wheel from its publisher".into(),
            WheelError::Zip { .. } | WheelError::Entry { .. } => format!("the file is damaged or not a wheel: {REFETCH}"),
            WheelError::Invalid { .. } => REFETCH.into(),
            WheelError::Io { source, .. } => return source.hint(),
        })
    }
}

/// One regular file inside the wheel.
#[derive(Clone, Debug)]
pub struct WheelEntry {
    pub index: usize,
    pub name: String,
    pub size: u64,
    pub executable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    /// `sha256=<urlsafe base64>` or empty.
    pub hash: String,
    pub size: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub module: String,
    /// `attr` or `attr.sub` (what is called).
    pub attr: String,
}

#[derive(Debug)]
pub struct Wheel {
    pub path: PathBuf,
    pub name: WheelName,
    /// `zope.interface-7.2.dist-info`
    pub dist_info: String,
    /// `zope.interface-7.2.data`
    pub data_dir: String,
    pub entries: Vec<WheelEntry>,
    pub record: HashMap<String, RecordRow>,
    pub entry_points: Vec<EntryPoint>,
    pub metadata: String,
}

const MAX_META: u64 = 16 * 1024 * 1024;

/// Checks an archive member name; returns it without a leading `./`.
pub fn check_member(name: &str) -> Result<String, String> {
    if name.chars().any(|c| c.is_control()) {
        return Err("has a control character in its name".into());
    }
    if name.contains('\\') {
        return Err("has a backslash in its name".into());
    }
    if name.starts_with('/') {
        return Err("is an absolute path (it would escape the target)".into());
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Err("has a drive letter (it would escape the target)".into());
    }
    let mut comps = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => continue,
            ".." => return Err("contains '..' (it would escape the target)".into()),
            c if c.starts_with(".wh.") => {
                return Err("has a '.wh.' component (an OCI whiteout)".into())
            }
            c => comps.push(c),
        }
    }
    if comps.is_empty() {
        return Err("has an empty name".into());
    }
    Ok(comps.join("/"))
}

/// Parses RECORD (Python's default csv dialect: `,` separated, `"` quoting).
pub fn parse_record(text: &str) -> Result<HashMap<String, RecordRow>, String> {
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut cur)),
                (c, _) => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 3 {
            return Err(format!(
                "RECORD line {} has {} fields, not 3",
                n + 1,
                fields.len()
            ));
        }
        let path = fields[0]
            .trim_start_matches('/')
            .trim_start_matches("./")
            .to_string();
        let size = match fields[2].trim() {
            "" => None,
            s => Some(
                s.parse()
                    .map_err(|_| format!("RECORD line {}: size '{s}' is not a number", n + 1))?,
            ),
        };
        out.insert(
            path,
            RecordRow {
                hash: fields[1].trim().to_string(),
                size,
            },
        );
    }
    Ok(out)
}

/// `[console_scripts]` and `[gui_scripts]` of entry_points.txt.
pub fn parse_entry_points(text: &str) -> Result<Vec<EntryPoint>, String> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].trim().to_string();
            continue;
        }
        if section != "console_scripts" && section != "gui_scripts" {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| format!("entry point line '{line}' has no '='"))?;
        let name = name.trim().to_string();
        if name.is_empty() || name.contains(['/', '\\']) || name == ".." || name == "." {
            return Err(format!("entry point name '{name}' would escape bin/"));
        }
        let value = value.split('[').next().unwrap_or("").trim();
        let (module, attr) = value
            .split_once(':')
            .ok_or_else(|| format!("entry point '{name}' = '{value}' is not module:attr"))?;
        let ident = |s: &str| {
            !s.is_empty()
                && s.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        };
        if !ident(module.trim()) || !ident(attr.trim()) {
            return Err(format!(
                "entry point '{name}' = '{value}' is not module:attr"
            ));
        }
        out.push(EntryPoint {
            name,
            module: module.trim().into(),
            attr: attr.trim().into(),
        });
    }
    Ok(out)
}

/// A header field of METADATA/WHEEL (email-header format).
pub fn header<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
        .collect()
}

pub fn open_archive(path: &Path) -> Result<Archive, WheelError> {
    lamina_support::hooks::hook("READ_WHEEL");
    let f = File::open(path).map_err(|e| WheelError::Io {
        path: path.into(),
        source: e,
    })?;
    let f = super::zip_file::ZipFile::new(f).map_err(|e| WheelError::Io {
        path: path.into(),
        source: e,
    })?;
    zip::ZipArchive::new(f).map_err(|e| WheelError::Zip {
        wheel: file_name(path),
        source: e,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Wheel {
    pub fn open(path: &Path) -> Result<Wheel, WheelError> {
        let wheel = file_name(path);
        let invalid = |detail: String| WheelError::Invalid {
            wheel: wheel.clone(),
            detail,
        };
        let name = WheelName::parse(&wheel).map_err(|e| invalid(e.reason().to_string()))?;
        let mut zip = open_archive(path)?;
        let mut entries: Vec<WheelEntry> = Vec::new();
        let mut seen: HashMap<String, (u32, u64)> = HashMap::new();
        for index in 0..zip.len() {
            let f = zip.by_index_raw(index).map_err(|e| WheelError::Zip {
                wheel: wheel.clone(),
                source: e,
            })?;
            let raw = String::from_utf8_lossy(f.name_raw()).into_owned();
            let clean = check_member(&raw).map_err(|reason| WheelError::BadEntry {
                wheel: wheel.clone(),
                entry: raw.clone(),
                reason,
            })?;
            if f.is_dir() {
                continue;
            }
            if let Some(prev) = seen.get(&clean) {
                if *prev != (f.crc32(), f.size()) {
                    return Err(WheelError::BadEntry {
                        wheel,
                        entry: raw,
                        reason: "appears twice with different contents".into(),
                    });
                }
                continue;
            }
            seen.insert(clean.clone(), (f.crc32(), f.size()));
            // pip's `zip_item_is_executable`: the raw mode must say "regular file" and have an x bit
            // (protobuf's entries carry 0o777 without a file type: pip installs them 0644).
            let mode = f.external_attributes() >> 16;
            let executable = mode & 0o170000 == 0o100000 && mode & 0o111 != 0;
            entries.push(WheelEntry {
                index,
                name: clean,
                size: f.size(),
                executable,
            });
        }
        let mut dist_infos: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.name.split_once('/').map(|(top, _)| top))
            .filter(|t| t.ends_with(".dist-info"))
            .collect();
        dist_infos.sort();
        dist_infos.dedup();
        let dist_info = match dist_infos.as_slice() {
            [one] => one.to_string(),
            [] => return Err(invalid("has no .dist-info directory".into())),
            many => {
                return Err(invalid(format!(
                    "has {} .dist-info directories: {}",
                    many.len(),
                    many.join(", ")
                )))
            }
        };
        let stem = dist_info.trim_end_matches(".dist-info");
        let (di_name, di_version) = stem
            .rsplit_once('-')
            .ok_or_else(|| invalid(format!("{dist_info} is not NAME-VERSION.dist-info")))?;
        if normalize_name(di_name) != name.normalized() || di_version != name.version {
            return Err(invalid(format!(
                "{dist_info} does not match the file name ({} {})",
                name.name, name.version
            )));
        }
        let mut read_meta = |file: &str, required: bool| -> Result<Option<String>, WheelError> {
            let full = format!("{dist_info}/{file}");
            let Some(e) = entries.iter().find(|e| e.name == full) else {
                return if required {
                    Err(invalid(format!("has no {full}")))
                } else {
                    Ok(None)
                };
            };
            if e.size > MAX_META {
                return Err(invalid(format!(
                    "{full} is {} bytes; refusing to read it",
                    e.size
                )));
            }
            let mut f = zip.by_index(e.index).map_err(|err| WheelError::Zip {
                wheel: wheel.clone(),
                source: err,
            })?;
            let mut s = String::new();
            f.by_ref()
                .take(MAX_META)
                .read_to_string(&mut s)
                .map_err(|source| WheelError::Entry {
                    at: format!("{wheel}: {full}"),
                    source,
                })?;
            Ok(Some(s))
        };
        let wheel_meta = read_meta("WHEEL", true)?.unwrap_or_default();
        let record_text = read_meta("RECORD", true)?.unwrap_or_default();
        let metadata = read_meta("METADATA", true)?.unwrap_or_default();
        let eps = read_meta("entry_points.txt", false)?;
        match header(&wheel_meta, "Wheel-Version").first() {
            Some(v) if v.split('.').next() == Some("1") || v.starts_with("0.") => {}
            Some(v) => {
                return Err(invalid(format!(
                    "Wheel-Version {v} is not supported (only 1.x)"
                )))
            }
            None => return Err(invalid(format!("{dist_info}/WHEEL has no Wheel-Version"))),
        }
        if let (Some(n), Some(v)) = (
            header(&metadata, "Name").first(),
            header(&metadata, "Version").first(),
        ) {
            if normalize_name(n) != name.normalized() || *v != name.version {
                return Err(invalid(format!(
                    "METADATA says {n} {v}, the file name says {} {}",
                    name.name, name.version
                )));
            }
        }
        let record = parse_record(&record_text).map_err(|e| invalid(format!("{dist_info}/{e}")))?;
        let entry_points = match eps {
            Some(t) => parse_entry_points(&t)
                .map_err(|e| invalid(format!("{dist_info}/entry_points.txt: {e}")))?,
            None => Vec::new(),
        };
        let data_dir = format!("{stem}.data");
        Ok(Wheel {
            path: path.into(),
            name,
            dist_info,
            data_dir,
            entries,
            record,
            entry_points,
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert_eq!(check_member("./a/b.py").unwrap(), "a/b.py");
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\b",
            "a/.wh.b",
            "x\0y",
            "",
        ] {
            assert!(check_member(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn record_csv() {
        let r = parse_record("a.py,sha256=abc,3\n\"we,ird.py\",sha256=x,1\nd/RECORD,,\n").unwrap();
        assert_eq!(r["we,ird.py"].size, Some(1));
        assert_eq!(
            r["d/RECORD"],
            RecordRow {
                hash: String::new(),
                size: None
            }
        );
        assert!(parse_record("a,b\n").is_err());
    }

    #[test]
    fn entry_points() {
        let e = parse_entry_points("[console_scripts]\ncli = pkg.cli:main.run [extra]\n[other]\nx = y:z\n[gui_scripts]\ng=pkg:gui\n").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].module.as_str(), e[0].attr.as_str()),
            ("pkg.cli", "main.run")
        );
        assert!(parse_entry_points("[console_scripts]\n../evil = a:b\n").is_err());
        assert!(parse_entry_points("[console_scripts]\nx = a b:c\n").is_err());
    }
}
