//! Comparing a clean rebuild with a published image: equal manifest digests, or the first layer
//! that differs and the first path in it whose type, bytes, mode, size or link target differ (a
//! path present in only one of the two layers counts). It reads both layers' tars to say so. It
//! does not build anything, open registries or decide what "clean" means: the `verify` command
//! does that and hands two `Image`s here.

use lamina_oci::{Format, Image, Layer};
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};

/// Why a published image is not what its inputs build.
#[derive(Debug, thiserror::Error)]
#[error("{reference} is not what these inputs build: {what}")]
pub struct Mismatch {
    pub reference: String,
    pub what: Difference,
}

impl lamina_support::diagnostic::Hint for Mismatch {
    fn hint(&self) -> Option<String> {
        let only_bytecode =
            matches!(&self.what, Difference::Layer { path: Some(p), .. } if is_pyc(&p.path));
        Some(if only_bytecode {
            "the sources are the same but their bytecode is not: the base's interpreter differs, or the image came from a poisoned cache entry; build it with --no-remote-cache and an empty LAMINA_CACHE_DIR and push it again".into()
        } else {
            "most likely the image was built from other inputs or flags (another commit, lock or base); if not, from a poisoned cache entry: build it with --no-remote-cache and an empty LAMINA_CACHE_DIR and push it again".into()
        })
    }
}

/// The first difference found, from the outside in.
#[derive(Debug)]
pub enum Difference {
    /// Another number of layers.
    LayerCount { published: usize, rebuilt: usize },
    /// Layer `index` (0-based) has another digest; `path` is the first entry that differs in it.
    Layer {
        index: usize,
        count: usize,
        name: String,
        published: Digest,
        rebuilt: Digest,
        path: Option<PathDifference>,
    },
    /// Same layers; the config (Cmd, Env, labels, history, …) differs.
    Config { published: Digest, rebuilt: Digest },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::LayerCount { published, rebuilt } => write!(
                f,
                "{published} layers published, {rebuilt} rebuilt"
            ),
            Difference::Layer {
                index,
                count,
                name,
                published,
                rebuilt,
                path,
            } => {
                write!(
                    f,
                    "layer {} of {count} ({name}): {published} published, {rebuilt} rebuilt",
                    index + 1
                )?;
                match path {
                    Some(p) => write!(f, "; first difference: {p}"),
                    None => write!(
                        f,
                        "; every path has the same type, bytes, mode and size (the tar headers differ: order, mtime or owner)"
                    ),
                }
            }
            Difference::Config { published, rebuilt } => write!(
                f,
                "the layers are equal but the config differs ({published} published, {rebuilt} rebuilt): Cmd, Env, labels or history"
            ),
        }
    }
}

/// One path of a layer and how it differs.
#[derive(Debug)]
pub struct PathDifference {
    pub path: String,
    pub how: String,
}

impl fmt::Display for PathDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.how)
    }
}

/// Reading a layer to compare it.
#[derive(Debug, thiserror::Error)]
#[error("reading layer {digest} to compare it")]
pub struct ReadError {
    pub digest: Digest,
    #[source]
    pub source: io::Error,
}

impl lamina_support::diagnostic::Hint for ReadError {}

/// `rebuilt` in the published image's media-type family (a layout written by lamina holds OCI
/// types; conversion changes media-type strings only, never a blob).
pub fn same_family(rebuilt: &Image, published: &Image) -> Image {
    if rebuilt.format == published.format {
        rebuilt.clone()
    } else {
        rebuilt.clone().with_format(published.format)
    }
}

/// `None` when the manifests are equal; else the first difference. `names` names the rebuilt
/// image's layers (`base layer 1`, `dependency layer`, `source layer`).
pub fn compare(
    rebuilt: &Image,
    published: &Image,
    names: &[String],
) -> Result<Option<Difference>, ReadError> {
    let rebuilt = same_family(rebuilt, published);
    if rebuilt.digest() == published.digest() {
        return Ok(None);
    }
    let (r, p) = (&rebuilt.layers, &published.layers);
    for i in 0..r.len().min(p.len()) {
        if r[i].digest() != p[i].digest() {
            let path = first_path_difference(&p[i], &r[i])?;
            return Ok(Some(Difference::Layer {
                index: i,
                count: r.len(),
                name: names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("layer {}", i + 1)),
                published: p[i].digest().clone(),
                rebuilt: r[i].digest().clone(),
                path,
            }));
        }
    }
    if r.len() != p.len() {
        return Ok(Some(Difference::LayerCount {
            published: p.len(),
            rebuilt: r.len(),
        }));
    }
    Ok(Some(Difference::Config {
        published: lamina_oci::sha256_digest(published.config_bytes()),
        rebuilt: lamina_oci::sha256_digest(rebuilt.config_bytes()),
    }))
}

/// What a tar entry is, for comparing: type, mode, size, sha256 of the bytes, link target.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    kind: &'static str,
    mode: u32,
    size: u64,
    sha256: [u8; 32],
    link: Option<String>,
}

/// Every entry of a gzip (or plain) tar layer, in order, by normalised path.
fn entries(layer: &Layer) -> Result<Vec<(String, Entry)>, ReadError> {
    let err = |source| ReadError {
        digest: layer.digest().clone(),
        source,
    };
    use std::io::BufRead as _;
    let mut r = io::BufReader::with_capacity(256 * 1024, layer.open_verified().map_err(err)?);
    let gzip = r.fill_buf().map_err(err)?.starts_with(&[0x1f, 0x8b]);
    let tar_bytes: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar_bytes);
    for e in archive.entries().map_err(err)? {
        let mut e = e.map_err(err)?;
        let h = e.header().clone();
        let path = normalise(&String::from_utf8_lossy(&e.path_bytes()));
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let mut hasher = Sha256::new();
        let size = io::copy(&mut e, &mut hasher).map_err(err)?;
        let kind = match h.entry_type() {
            tar::EntryType::Directory => "directory",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Link => "hardlink",
            tar::EntryType::Regular | tar::EntryType::Continuous => "file",
            _ => "special file",
        };
        out.push((
            path,
            Entry {
                kind,
                mode: h.mode().map_err(err)? & 0o7777,
                size,
                sha256: hasher.finalize().into(),
                link,
            },
        ));
    }
    Ok(out)
}

fn normalise(p: &str) -> String {
    let p = p.trim_start_matches("./").trim_start_matches('/');
    p.trim_end_matches('/').to_string()
}

/// The first path, in the rebuilt layer's order, that differs; then the first only published.
fn first_path_difference(
    published: &Layer,
    rebuilt: &Layer,
) -> Result<Option<PathDifference>, ReadError> {
    let p = entries(published)?;
    let r = entries(rebuilt)?;
    let p_by: HashMap<&str, &Entry> = p.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let r_by: HashMap<&str, &Entry> = r.iter().map(|(k, v)| (k.as_str(), v)).collect();
    // Every difference, in the rebuild's order, then the published image's paths it lacks.
    let mut found: Vec<PathDifference> = Vec::new();
    for (path, re) in &r {
        let how = match p_by.get(path.as_str()) {
            None => Some("only in the rebuild".to_string()),
            Some(pe) => describe(pe, re),
        };
        if let Some(how) = how {
            found.push(PathDifference {
                path: path.clone(),
                how,
            });
        }
    }
    found.extend(
        p.iter()
            .filter(|(k, _)| !r_by.contains_key(k.as_str()))
            .map(|(k, _)| PathDifference {
                path: k.clone(),
                how: "only in the published image".into(),
            }),
    );
    // A `.pyc` differs because its source did: name the cause (a `__pycache__` entry sorts before
    // its `.py`), and say when only bytecode differs.
    let pycs = found.iter().filter(|d| is_pyc(&d.path)).count();
    let first = match found.iter().position(|d| !is_pyc(&d.path)) {
        Some(i) => {
            let mut d = found.swap_remove(i);
            if pycs > 0 {
                d.how = format!("{} (and {pycs} .pyc compiled from the sources)", d.how);
            }
            Some(d)
        }
        None => found.into_iter().next().map(|mut d| {
            d.how = format!("{}; every source is the same, only bytecode differs", d.how);
            d
        }),
    };
    Ok(first)
}

/// `…/__pycache__/<name>.cpython-3X.pyc`.
fn is_pyc(path: &str) -> bool {
    path.ends_with(".pyc") && path.contains("__pycache__/")
}

/// How `published` differs from `rebuilt`, if it does (type, size, bytes, mode, link target).
fn describe(published: &Entry, rebuilt: &Entry) -> Option<String> {
    let short = |h: &[u8; 32]| hex::encode(&h[..6]);
    if published.kind != rebuilt.kind {
        return Some(format!(
            "a {} published, a {} rebuilt",
            published.kind, rebuilt.kind
        ));
    }
    if published.size != rebuilt.size {
        return Some(format!(
            "{} bytes published, {} rebuilt",
            published.size, rebuilt.size
        ));
    }
    if published.sha256 != rebuilt.sha256 {
        return Some(format!(
            "the bytes differ ({} bytes each; sha256 {}… published, {}… rebuilt)",
            published.size,
            short(&published.sha256),
            short(&rebuilt.sha256)
        ));
    }
    if published.mode != rebuilt.mode {
        return Some(format!(
            "mode {:04o} published, {:04o} rebuilt",
            published.mode, rebuilt.mode
        ));
    }
    if published.link != rebuilt.link {
        return Some(format!(
            "links to {} published, {} rebuilt",
            published.link.as_deref().unwrap_or("nothing"),
            rebuilt.link.as_deref().unwrap_or("nothing")
        ));
    }
    None
}

/// Names for a built image's layers: `base layer N` for the base's, then the new layers' names.
pub fn layer_names(base_layers: usize, new: impl Iterator<Item = String>) -> Vec<String> {
    (1..=base_layers)
        .map(|i| format!("base layer {i}"))
        .chain(new.map(|n| format!("{n} layer")))
        .collect()
}

/// The manifest family's name for messages.
pub fn family(f: Format) -> &'static str {
    match f {
        Format::Oci => "OCI",
        Format::Docker => "Docker",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &'static str, mode: u32, bytes: &[u8]) -> Entry {
        Entry {
            kind,
            mode,
            size: bytes.len() as u64,
            sha256: Sha256::digest(bytes).into(),
            link: None,
        }
    }

    #[test]
    fn describe_names_bytes_size_mode_and_type() {
        let a = entry("file", 0o644, b"hello");
        assert_eq!(describe(&a, &entry("file", 0o644, b"hello")), None);
        assert!(describe(&a, &entry("file", 0o644, b"hellO"))
            .unwrap()
            .starts_with("the bytes differ (5 bytes each"));
        assert_eq!(
            describe(&a, &entry("file", 0o644, b"hello!")).unwrap(),
            "5 bytes published, 6 rebuilt"
        );
        assert_eq!(
            describe(&a, &entry("file", 0o755, b"hello")).unwrap(),
            "mode 0644 published, 0755 rebuilt"
        );
        assert_eq!(
            describe(&a, &entry("directory", 0o644, b"hello")).unwrap(),
            "a file published, a directory rebuilt"
        );
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalise("./var/task/"), "var/task");
        assert_eq!(normalise("/var/task/a.py"), "var/task/a.py");
    }
}
