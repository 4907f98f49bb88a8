//! The standard library of one CPython minor version, as names: the modules compiled into the
//! interpreter (`sys.builtin_module_names`), the frozen ones, and every importable module and
//! package (dotted). From a list compiled in (`crates/analysis/stdlib/3.X.txt`, written by
//! `crates/analysis/stdlib/make-stdlib-lists.py` from real CPythons), or from a base's own
//! `lib/python3.X` directory when its bytes are here. Names only: attributes are not known.

use std::collections::HashSet;

const LISTS: [(u32, &str); 7] = [
    (8, include_str!("../stdlib/3.8.txt")),
    (9, include_str!("../stdlib/3.9.txt")),
    (10, include_str!("../stdlib/3.10.txt")),
    (11, include_str!("../stdlib/3.11.txt")),
    (12, include_str!("../stdlib/3.12.txt")),
    (13, include_str!("../stdlib/3.13.txt")),
    (14, include_str!("../stdlib/3.14.txt")),
];

/// Where a standard-library listing came from (for messages and the report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StdlibSource {
    /// The compiled-in list for 3.X.
    Catalog,
    /// The base's own `lib/python3.X` directory (plus the compiled-in builtin names).
    Base(String),
}

#[derive(Clone, Debug)]
pub struct Stdlib {
    pub minor: u32,
    pub source: StdlibSource,
    builtin: HashSet<String>,
    frozen: HashSet<String>,
    modules: HashSet<String>,
}

impl Stdlib {
    /// The compiled-in list for CPython 3.`minor`, if lamina has one (3.8 to 3.14).
    pub fn catalog(minor: u32) -> Option<Stdlib> {
        let (_, text) = LISTS.iter().find(|(m, _)| *m == minor)?;
        let mut s = Stdlib {
            minor,
            source: StdlibSource::Catalog,
            builtin: HashSet::new(),
            frozen: HashSet::new(),
            modules: HashSet::new(),
        };
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            match line.split_once(' ') {
                Some(("builtin", n)) => {
                    s.builtin.insert(n.to_string());
                }
                Some(("frozen", n)) => {
                    s.frozen.insert(n.to_string());
                }
                Some(("module", n)) => {
                    s.modules.insert(n.to_string());
                }
                _ => {}
            }
        }
        Some(s)
    }

    /// Minor versions with a compiled-in list.
    pub fn known_minors() -> impl Iterator<Item = u32> {
        LISTS.iter().map(|(m, _)| *m)
    }

    /// The stdlib as a base holds it: `files` are paths relative to `lib/python3.X` (`os.py`,
    /// `email/__init__.py`, `lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so`). Builtin, frozen
    /// and alias names (`os.path`) come from the compiled-in list of the same version.
    pub fn from_files<'a>(minor: u32, dir: &str, files: impl Iterator<Item = &'a str>) -> Stdlib {
        let known = Stdlib::catalog(minor);
        let mut modules = HashSet::new();
        let files: Vec<&str> = files.collect();
        let inits: HashSet<&str> = files
            .iter()
            .filter_map(|f| f.strip_suffix("/__init__.py"))
            .collect();
        for f in &files {
            if let Some(so) = f.strip_prefix("lib-dynload/") {
                if !so.contains('/') && so.ends_with(".so") {
                    modules.insert(so.split('.').next().unwrap_or(so).to_string());
                }
                continue;
            }
            if f.split('/')
                .any(|c| c == "__pycache__" || c == "site-packages")
            {
                continue;
            }
            let Some(stem) = f.strip_suffix(".py") else {
                continue;
            };
            let (pkg, name) = match stem.rsplit_once('/') {
                Some((p, n)) => (p, n),
                None => ("", stem),
            };
            // Every enclosing directory must be a package.
            let mut ok = true;
            let mut acc = String::new();
            for part in pkg.split('/').filter(|p| !p.is_empty()) {
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(part);
                ok &= inits.contains(acc.as_str());
            }
            if !ok {
                continue;
            }
            let dotted = pkg.replace('/', ".");
            if name == "__init__" {
                if !dotted.is_empty() {
                    modules.insert(dotted);
                }
            } else if dotted.is_empty() {
                modules.insert(name.to_string());
            } else {
                modules.insert(format!("{dotted}.{name}"));
            }
        }
        let (builtin, frozen) = match &known {
            Some(k) => {
                // Aliases that exist only in sys.modules (os.path) when their parent is here.
                for m in &k.modules {
                    if let Some((parent, _)) = m.rsplit_once('.') {
                        if modules.contains(parent) && !m.contains("._") {
                            let as_file = format!("{}.py", m.replace('.', "/"));
                            let as_pkg = format!("{}/__init__.py", m.replace('.', "/"));
                            if !files.contains(&as_file.as_str())
                                && !files.contains(&as_pkg.as_str())
                                && is_alias(m)
                            {
                                modules.insert(m.clone());
                            }
                        }
                    }
                }
                (k.builtin.clone(), k.frozen.clone())
            }
            None => (HashSet::new(), HashSet::new()),
        };
        Stdlib {
            minor,
            source: StdlibSource::Base(dir.to_string()),
            builtin,
            frozen,
            modules,
        }
    }

    /// `sys.builtin_module_names` holds `name`.
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(name)
    }

    /// Found by the frozen importer, before anything on sys.path.
    pub fn is_frozen(&self, name: &str) -> bool {
        self.frozen.contains(name)
    }

    /// `import dotted` finds a standard-library module (built-in, frozen or on disk).
    pub fn contains(&self, dotted: &str) -> bool {
        self.modules.contains(dotted)
            || self.builtin.contains(dotted)
            || self.frozen.contains(dotted)
    }

    /// Top-level module names (for shadowing checks).
    pub fn top_level(&self) -> impl Iterator<Item = &str> {
        self.modules
            .iter()
            .chain(self.builtin.iter())
            .filter(|m| !m.contains('.'))
            .map(String::as_str)
    }

    /// The newest and oldest catalog versions that have `dotted`, for hints ("added in 3.11").
    pub fn versions_with(dotted: &str) -> Vec<u32> {
        Stdlib::known_minors()
            .filter(|m| Stdlib::catalog(*m).is_some_and(|s| s.contains(dotted)))
            .collect()
    }
}

/// Modules that CPython registers in sys.modules without a file of that name.
fn is_alias(dotted: &str) -> bool {
    matches!(dotted, "os.path" | "collections.abc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_per_version() {
        let s8 = Stdlib::catalog(8).unwrap();
        let s12 = Stdlib::catalog(12).unwrap();
        assert!(!s8.contains("tomllib") && s12.contains("tomllib"));
        assert!(s8.contains("distutils") && !s12.contains("distutils"));
        assert!(s12.contains("os.path") && s12.contains("email.mime.text"));
        assert!(s12.is_builtin("sys") && !s12.is_builtin("json"));
        assert!(s12.contains("sys") && s12.contains("_ssl"));
        assert!(!s12.contains("winreg") && !s12.contains("numpy"));
        assert!(s12.is_frozen("os") && !s8.is_frozen("os"));
        let s14 = Stdlib::catalog(14).unwrap();
        assert!(s14.contains("annotationlib") && s14.contains("collections.abc"));
        assert!(!Stdlib::catalog(13).unwrap().contains("annotationlib"));
        assert!(Stdlib::catalog(7).is_none());
        assert_eq!(Stdlib::versions_with("tomllib"), [11, 12, 13, 14]);
    }

    #[test]
    fn from_a_base_directory() {
        let files = [
            "os.py",
            "json/__init__.py",
            "json/decoder.py",
            "lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so",
            "site-packages/boto3/__init__.py",
            "nopkg/x.py",
            "__pycache__/os.cpython-312.pyc",
        ];
        let s = Stdlib::from_files(12, "/var/lang/lib/python3.12", files.into_iter());
        assert!(s.contains("os") && s.contains("json.decoder") && s.contains("_ssl"));
        assert!(s.contains("os.path"), "alias registered by os");
        assert!(s.contains("sys"), "builtin from the compiled-in list");
        assert!(!s.contains("boto3") && !s.contains("nopkg.x") && !s.contains("tomllib"));
    }
}
