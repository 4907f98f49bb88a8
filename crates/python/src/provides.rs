//! Which project (the name `pip` installs) provides an import name: read from wheels at hand
//! (`top_level.txt`, else the top-level names in `RECORD`), else a small table of well-known
//! names that differ (`dotenv` → `python-dotenv`), else the import name itself.

use super::wheel::open_archive;
use super::wheel_name::WheelName;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Import names whose project is called something else.
const KNOWN: &[(&str, &str)] = &[
    ("attr", "attrs"),
    ("bs4", "beautifulsoup4"),
    ("Crypto", "pycryptodome"),
    ("cv2", "opencv-python-headless"),
    ("dateutil", "python-dateutil"),
    ("dns", "dnspython"),
    ("docx", "python-docx"),
    ("dotenv", "python-dotenv"),
    ("fitz", "pymupdf"),
    ("git", "gitpython"),
    ("google.ads", "google-ads"),
    ("google.api_core", "google-api-core"),
    ("google.auth", "google-auth"),
    ("google.genai", "google-genai"),
    ("google.generativeai", "google-generativeai"),
    ("google.oauth2", "google-auth"),
    ("google.protobuf", "protobuf"),
    ("google.rpc", "googleapis-common-protos"),
    ("google.type", "googleapis-common-protos"),
    ("googleapiclient", "google-api-python-client"),
    ("grpc", "grpcio"),
    ("jose", "python-jose"),
    ("jwt", "pyjwt"),
    ("kafka", "kafka-python"),
    ("magic", "python-magic"),
    ("multipart", "python-multipart"),
    ("MySQLdb", "mysqlclient"),
    ("nacl", "pynacl"),
    ("OpenSSL", "pyopenssl"),
    ("PIL", "pillow"),
    ("pkg_resources", "setuptools"),
    ("psycopg2", "psycopg2-binary"),
    ("pptx", "python-pptx"),
    ("serial", "pyserial"),
    ("skimage", "scikit-image"),
    ("sklearn", "scikit-learn"),
    ("slugify", "python-slugify"),
    ("snowflake.connector", "snowflake-connector-python"),
    ("socks", "pysocks"),
    ("websocket", "websocket-client"),
    ("yaml", "pyyaml"),
    ("zmq", "pyzmq"),
];

/// Namespace packages many projects share: never the answer on their own (`google` is not the
/// project behind `google.ads`).
const NAMESPACES: &[&str] = &[
    "google",
    "azure",
    "zope",
    "backports",
    "jaraco",
    "sphinxcontrib",
    "ruamel",
    "opentelemetry",
];

/// Standard-library modules with a backport on PyPI, for bases older than the module.
const BACKPORTS: &[(&str, &str)] = &[
    ("tomllib", "tomli"),
    ("zoneinfo", "backports.zoneinfo"),
    ("graphlib", "graphlib-backport"),
    ("importlib.metadata", "importlib-metadata"),
    ("importlib.resources", "importlib-resources"),
];

#[derive(Debug, Default)]
pub struct Providers {
    /// Import name → project, from wheels lamina could read (read on the first question, so a
    /// gate that finds nothing missing opens no wheel).
    from_wheels: std::sync::OnceLock<HashMap<String, String>>,
    dirs: Vec<std::path::PathBuf>,
}

fn top_names(path: &Path) -> Option<(String, Vec<String>)> {
    let file = path.file_name()?.to_string_lossy().into_owned();
    let name = WheelName::parse(&file).ok()?;
    let mut z = open_archive(path).ok()?;
    let names: Vec<String> = z
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.to_string())
        .collect();
    let mut read = |entry: &str| -> Option<String> {
        let mut s = String::new();
        z.by_name(entry)
            .ok()?
            .take(1 << 20)
            .read_to_string(&mut s)
            .ok()?;
        Some(s)
    };
    if let Some(tl) = names
        .iter()
        .find(|n| n.ends_with(".dist-info/top_level.txt"))
    {
        if let Some(text) = read(tl) {
            let tops: Vec<String> = text
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect();
            return Some((super::normalize_name(&name.name), tops));
        }
    }
    let mut tops: Vec<String> = names
        .iter()
        .filter(|n| !n.contains(".dist-info/") && !n.contains(".data/"))
        .filter_map(|n| {
            let top = n.split('/').next()?;
            let top = top.strip_suffix(".py").unwrap_or(top);
            let top = top.split('.').next()?;
            (!top.is_empty()).then(|| top.to_string())
        })
        .collect();
    tops.sort();
    tops.dedup();
    Some((super::normalize_name(&name.name), tops))
}

impl Providers {
    /// The wheels in `dirs` (missing directories are skipped), read when first needed.
    pub fn from_dirs<'a>(dirs: impl Iterator<Item = &'a Path>) -> Providers {
        Providers {
            from_wheels: std::sync::OnceLock::new(),
            dirs: dirs.map(Path::to_path_buf).collect(),
        }
    }

    fn wheel_tops(&self) -> &HashMap<String, String> {
        self.from_wheels.get_or_init(|| {
            let mut m = HashMap::new();
            for d in &self.dirs {
                let Ok(rd) = std::fs::read_dir(d) else {
                    continue;
                };
                for e in rd.flatten() {
                    let path = e.path();
                    if path.extension().is_some_and(|x| x == "whl") {
                        if let Some((project, tops)) = top_names(&path) {
                            for t in tops {
                                m.entry(t).or_insert_with(|| project.clone());
                            }
                        }
                    }
                }
            }
            m
        })
    }

    /// The project to install for `import <dotted>`, and whether lamina knows it (rather than guessing the import name).
    pub fn project(&self, dotted: &str) -> (String, bool) {
        let top = dotted.split('.').next().unwrap_or(dotted);
        let two: String = dotted.split('.').take(2).collect::<Vec<_>>().join(".");
        let namespace = NAMESPACES.contains(&top);
        if !namespace {
            if let Some(p) = self.wheel_tops().get(top) {
                return (p.clone(), true);
            }
        }
        for key in [two.as_str(), top] {
            if let Some((_, p)) = KNOWN.iter().find(|(m, _)| *m == key) {
                return (p.to_string(), true);
            }
        }
        if namespace {
            // google.cloud.storage → google-cloud-storage; azure.storage → azure-storage.
            let parts: Vec<&str> = dotted.split('.').collect();
            let depth = if parts.get(1) == Some(&"cloud") { 3 } else { 2 };
            let name = parts[..depth.min(parts.len())].join("-");
            return (super::normalize_name(&name), false);
        }
        (super::normalize_name(top), false)
    }

    /// Whether `top` is a namespace many projects share (`google`).
    pub fn is_namespace(top: &str) -> bool {
        NAMESPACES.contains(&top)
    }

    /// Every import name the wheels at hand and lamina's table know.
    pub fn known_names(&self) -> impl Iterator<Item = &str> {
        self.wheel_tops()
            .keys()
            .map(String::as_str)
            .chain(KNOWN.iter().map(|(m, _)| *m))
    }

    /// A PyPI backport of a standard-library module, if there is one.
    pub fn backport(dotted: &str) -> Option<&'static str> {
        let two: String = dotted.split('.').take(2).collect::<Vec<_>>().join(".");
        let top = dotted.split('.').next().unwrap_or(dotted);
        BACKPORTS
            .iter()
            .find(|(m, _)| *m == two || *m == top)
            .map(|(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_for_imports() {
        let p = Providers::default();
        assert_eq!(p.project("dotenv"), ("python-dotenv".into(), true));
        assert_eq!(p.project("yaml.loader"), ("pyyaml".into(), true));
        assert_eq!(
            p.project("google.protobuf.struct_pb2"),
            ("protobuf".into(), true)
        );
        assert_eq!(
            p.project("requests_toolbelt"),
            ("requests-toolbelt".into(), false)
        );
        assert_eq!(Providers::backport("tomllib"), Some("tomli"));
        assert_eq!(
            Providers::backport("importlib.metadata"),
            Some("importlib-metadata")
        );
        assert_eq!(Providers::backport("json"), None);
        // A namespace is never the project: google.ads is google-ads, not google.
        assert_eq!(
            p.project("google.ads.googleads.client"),
            ("google-ads".into(), true)
        );
        assert_eq!(
            p.project("google.cloud.storage"),
            ("google-cloud-storage".into(), false)
        );
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/wheels/parity");
        let p = Providers::from_dirs([dir.as_path()].into_iter());
        assert_eq!(p.project("dotenv.main"), ("python-dotenv".into(), true));
        assert_eq!(p.project("markupsafe"), ("markupsafe".into(), true));
    }
}
