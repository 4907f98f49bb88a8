//! Shared libraries resolved as the dynamic loader resolves them: for every `.so` under
//! /var/task that Python may import, each `DT_NEEDED` soname must be found — in `DT_RPATH` (when
//! there is no `DT_RUNPATH`), `LD_LIBRARY_PATH` from the image's environment, `DT_RUNPATH`
//! (`$ORIGIN` expanded: a wheel's `.libs` directory), the base's `ld.so.conf` directories and the
//! loader's default directories — in /var/task (whose libraries are followed in turn) or in the
//! base's files (read from its layers, trusted to resolve their own needs). A soname nothing
//! provides is Lambda's `cannot open shared object file` for every handler that imports the
//! package; without the base's files it cannot be decided. Reads facts; no I/O.

use super::base::BaseLibraries;
use super::finding::{Code, Finding};
use lamina_install::deps::facts::SoFacts;
use std::collections::{BTreeMap, HashSet};

/// What a `.so` needs that cannot be found, and which object in its closure needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Load {
    Ok,
    Missing { soname: String, by: String },
    Unknown(String),
}

/// Where to look, besides the image's files.
pub struct Search<'a> {
    pub base: Option<&'a BaseLibraries>,
    /// `LD_LIBRARY_PATH` from the image's `Env`.
    pub ld_library_path: Vec<String>,
    /// `x86_64` or `aarch64` (Debian-style multiarch directories).
    pub arch: String,
    /// The base's glibc version is known (catalog, `--glibc`, or read from its libc): glibc's
    /// own libraries are there (the `GLIBC_x.y` check covers them), even when its layers were
    /// not read.
    pub known_glibc: bool,
}

/// The sonames glibc itself installs (every glibc base has them).
const GLIBC_SONAMES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libnsl.so.1",
    "libcrypt.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
];

/// Known fixes: a wheel that links a library the Lambda base lacks, and the one to use instead.
const FIXES: &[(&str, &str)] = &[
    ("opencv-python", "opencv-python-headless"),
    ("opencv_python", "opencv-python-headless"),
    ("opencv-contrib-python", "opencv-contrib-python-headless"),
    ("opencv_contrib_python", "opencv-contrib-python-headless"),
];

/// `/a/./b/../c` → `/a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

impl Search<'_> {
    /// A path in the base (no leading `/`), with short directory symlinks followed.
    fn in_base(&self, abs: &str) -> Option<bool> {
        let base = self.base?;
        let mut p = abs.trim_start_matches('/').to_string();
        for _ in 0..8 {
            if base.files.contains(&p) {
                return Some(true);
            }
            let linked = base.links.iter().find_map(|(link, target)| {
                let rest = p.strip_prefix(link.as_str())?.strip_prefix('/')?;
                let parent = link.rsplit_once('/').map_or("", |(d, _)| d);
                let t = match target.strip_prefix('/') {
                    Some(abs) => abs.to_string(),
                    None if parent.is_empty() => target.clone(),
                    None => format!("{parent}/{target}"),
                };
                Some(
                    normalize(&format!("{t}/{rest}"))
                        .trim_start_matches('/')
                        .to_string(),
                )
            });
            match linked {
                Some(n) if n != p => p = n,
                _ => return Some(false),
            }
        }
        Some(false)
    }

    fn dirs(&self, object: &str, facts: &lamina_install::deps::facts::Dynamic) -> Vec<String> {
        let origin = format!(
            "/var/task/{}",
            object.rsplit_once('/').map_or("", |(d, _)| d)
        );
        let expand = |list: &Option<String>| -> Vec<String> {
            list.iter()
                .flat_map(|l| l.split(':'))
                .filter(|d| !d.is_empty())
                .map(|d| normalize(&d.replace("${ORIGIN}", &origin).replace("$ORIGIN", &origin)))
                .collect()
        };
        let mut dirs = Vec::new();
        if facts.runpath.is_none() {
            dirs.extend(expand(&facts.rpath));
        }
        dirs.extend(self.ld_library_path.iter().map(|d| normalize(d)));
        dirs.extend(expand(&facts.runpath));
        if let Some(b) = self.base {
            dirs.extend(b.conf_dirs.iter().map(|d| normalize(d)));
        }
        let triplet = format!("{}-linux-gnu", self.arch);
        for d in ["/lib64", "/usr/lib64", "/lib", "/usr/lib"] {
            dirs.push(d.to_string());
        }
        dirs.push(format!("/lib/{triplet}"));
        dirs.push(format!("/usr/lib/{triplet}"));
        dirs
    }

    /// Loads `root` (path relative to /var/task) and everything it needs from /var/task.
    fn load(&self, root: &str, sos: &BTreeMap<String, SoFacts>) -> Load {
        // Breadth first, as ld.so loads: the first soname missing is the one it reports.
        let mut queue = std::collections::VecDeque::from([root.to_string()]);
        let mut seen: HashSet<String> = HashSet::new();
        let mut loaded: HashSet<String> = HashSet::new();
        let mut unknown = None;
        while let Some(object) = queue.pop_front() {
            if !seen.insert(object.clone()) {
                continue;
            }
            let Some(SoFacts::Elf { dynamic, .. }) = sos.get(&object) else {
                continue;
            };
            if let Some(s) = &dynamic.soname {
                loaded.insert(s.clone());
            }
            let dirs = self.dirs(&object, dynamic);
            'needed: for soname in &dynamic.needed {
                if loaded.contains(soname)
                    || (self.known_glibc && GLIBC_SONAMES.contains(&soname.as_str()))
                {
                    continue;
                }
                for d in &dirs {
                    let candidate = normalize(&format!("{d}/{soname}"));
                    if let Some(rel) = candidate.strip_prefix("/var/task/") {
                        if sos.contains_key(rel) {
                            queue.push_back(rel.to_string());
                            continue 'needed;
                        }
                        continue;
                    }
                    match self.in_base(&candidate) {
                        Some(true) => continue 'needed,
                        Some(false) => {}
                        None => {
                            unknown.get_or_insert_with(|| format!("/var/task/{object} needs {soname}, which is not in /var/task; the base's layers were not read, so whether the base provides it is not known"));
                            continue 'needed;
                        }
                    }
                }
                return Load::Missing {
                    soname: soname.clone(),
                    by: object,
                };
            }
        }
        unknown.map_or(Load::Ok, Load::Unknown)
    }
}

/// A `.so` Python may import: not a library inside a wheel's `*.libs` directory.
fn is_module(path: &str) -> bool {
    path.ends_with(".so")
        && !path
            .rsplit_once('/')
            .is_some_and(|(d, _)| d.rsplit('/').next().unwrap_or(d).ends_with(".libs"))
}

/// Checks every importable `.so`; one finding per missing soname and wheel, listing the
/// handlers that import the package holding it (`imported`: each handler's imported modules).
pub fn check(
    sos: &BTreeMap<String, SoFacts>,
    search: &Search,
    owner: &dyn Fn(&str) -> Option<(String, String)>,
    imported: &[(String, HashSet<String>)],
    out: &mut Vec<Finding>,
) {
    // One finding per wheel: (its extension module, soname, needed by), more sonames, handlers.
    type Missing = (String, String, String, Vec<String>, Vec<String>);
    let mut missing: BTreeMap<String, Missing> = BTreeMap::new();
    let mut unknown: Vec<(String, Vec<String>)> = Vec::new();
    // Python's extension modules first: they name the failure as Lambda reports it.
    let mut roots: Vec<&String> = sos.keys().filter(|p| is_module(p)).collect();
    roots.sort_by_key(|p| !(p.contains(".cpython-") || p.ends_with(".abi3.so")));
    for root in roots {
        let top = root.split('/').next().unwrap_or(root).to_string();
        let handlers: Vec<String> = imported
            .iter()
            .filter(|(_, mods)| mods.contains(&top))
            .map(|(h, _)| h.clone())
            .collect();
        match search.load(root, sos) {
            Load::Ok => {}
            Load::Missing { soname, by } => {
                let wheel = owner(root).map_or_else(
                    || "the project".into(),
                    |(n, v)| format!("{} {v}", n.replace('_', "-")),
                );
                let e = missing
                    .entry(wheel)
                    .or_insert_with(|| (root.clone(), soname.clone(), by, Vec::new(), Vec::new()));
                if soname != e.1 && !e.3.contains(&soname) {
                    e.3.push(soname);
                }
                for h in handlers {
                    if !e.4.contains(&h) {
                        e.4.push(h);
                    }
                }
            }
            Load::Unknown(why) if !handlers.is_empty() => unknown.push((why, handlers)),
            Load::Unknown(_) => {}
        }
    }
    for (wheel, (root, soname, by, more, handlers)) in missing {
        let via = if by == root {
            String::new()
        } else {
            format!(" (through /var/task/{by})")
        };
        let also = if more.is_empty() {
            String::new()
        } else {
            format!("; its libraries also need {}", more.join(", "))
        };
        let project = wheel.split(' ').next().unwrap_or(&wheel).to_string();
        let all: Vec<&str> = std::iter::once(soname.as_str())
            .chain(more.iter().map(String::as_str))
            .collect();
        let hint = match FIXES.iter().find(|(from, _)| lamina_python::normalize_name(from) == lamina_python::normalize_name(&project)) {
            Some((_, to)) => format!("use {to} instead of {project}: the same modules without the GUI libraries (it bundles what it needs and links none of {})", all.join(", ")),
            None => format!("{project} links {} without bundling it (manylinux allows that) and the base does not have it: add the library to the image (e.g. under /var/task/lib, on Lambda's LD_LIBRARY_PATH) or use a build of {project} that bundles it", all.join(", ")),
        };
        let message = format!(
            "/var/task/{root} ({wheel}) needs {soname}{via}, found neither in /var/task nor in the base: importing it fails with `{soname}: cannot open shared object file: No such file or directory`{also}"
        );
        let f = if handlers.is_empty() {
            Finding::warning(
                Code::ImportModuleError,
                format!("{message} (no handler imports it)"),
            )
        } else {
            Finding::error(Code::ImportModuleError, message)
        };
        out.push(
            f.hint(Some(hint))
                .at(Some(format!("/var/task/{root}")), None)
                .handlers(handlers),
        );
    }
    for (why, handlers) in unknown.into_iter().take(20) {
        out.push(
            Finding::warning(Code::CannotVerify, format!("cannot verify: {why}"))
                .handlers(handlers),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_install::deps::facts::Dynamic;

    fn elf(needed: &[&str], runpath: Option<&str>, soname: Option<&str>) -> SoFacts {
        SoFacts::Elf {
            machine: "x86_64".into(),
            max_glibc: None,
            dynamic: Dynamic {
                needed: needed.iter().map(|s| s.to_string()).collect(),
                rpath: None,
                runpath: runpath.map(str::to_string),
                soname: soname.map(str::to_string),
            },
        }
    }

    #[test]
    fn needed_libraries_are_found_in_origin_runpath_the_path_and_the_base() {
        let mut base = BaseLibraries::default();
        base.files.insert("usr/lib64/libc.so.6".into());
        base.files.insert("usr/lib64/libstdc++.so.6".into());
        base.links.insert("lib64".into(), "usr/lib64".into());
        let search = Search {
            base: Some(&base),
            ld_library_path: vec!["/var/lang/lib".into(), "/lib64".into()],
            arch: "x86_64".into(),
            known_glibc: false,
        };
        let mut sos = BTreeMap::new();
        sos.insert(
            "cv2/cv2.abi3.so".to_string(),
            elf(
                &["libavcodec-1.so", "libstdc++.so.6", "libc.so.6"],
                Some("$ORIGIN/../opencv_python.libs"),
                None,
            ),
        );
        sos.insert(
            "opencv_python.libs/libavcodec-1.so".to_string(),
            elf(&["libGL.so.1"], Some("$ORIGIN"), Some("libavcodec-1.so")),
        );
        sos.insert(
            "ok/_m.cpython-312-x86_64-linux-gnu.so".to_string(),
            elf(&["libc.so.6"], None, None),
        );
        assert_eq!(
            search.load("ok/_m.cpython-312-x86_64-linux-gnu.so", &sos),
            Load::Ok
        );
        assert_eq!(
            search.load("cv2/cv2.abi3.so", &sos),
            Load::Missing {
                soname: "libGL.so.1".into(),
                by: "opencv_python.libs/libavcodec-1.so".into()
            }
        );
        let mut with_gl = BaseLibraries {
            files: base.files.clone(),
            conf_dirs: vec![],
            links: base.links.clone(),
        };
        with_gl.files.insert("usr/lib64/libGL.so.1".into());
        let gl = Search {
            base: Some(&with_gl),
            ld_library_path: search.ld_library_path.clone(),
            arch: "x86_64".into(),
            known_glibc: false,
        };
        assert_eq!(gl.load("cv2/cv2.abi3.so", &sos), Load::Ok);
        // Without the base's files, a soname /var/task lacks is undecided, never a pass.
        let blind = Search {
            base: None,
            ..search
        };
        assert!(matches!(
            blind.load("cv2/cv2.abi3.so", &sos),
            Load::Unknown(_)
        ));
        // A known glibc base has glibc's libraries even unread.
        let known = Search {
            known_glibc: true,
            ..blind
        };
        assert_eq!(
            known.load("ok/_m.cpython-312-x86_64-linux-gnu.so", &sos),
            Load::Ok
        );
        assert!(!is_module("opencv_python.libs/libavcodec-1.so") && is_module("cv2/cv2.abi3.so"));
    }
}
