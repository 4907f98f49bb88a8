//! The inventory of a build, as the attestations state it: the base by digest (named without any
//! local path), each wheel by name and version from its METADATA, sha256 and declared license
//! (lamina-python decides), the source layer's diff_id, the lock's sha256, and the build
//! parameters that change the output, spelled canonically (`./src/` and `src` are one source).
//! It reads the build's results; it fetches and writes nothing.

use super::AttestError;
use crate::build::Built;
use crate::config::Plan;
use crate::location::Location;
use lamina_attest::{Base, Distribution, Inventory, License, Source};
use lamina_oci::reference::ImageRef;
use lamina_python::license::Declared;
use lamina_python::wheel::header;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What an image's attestations call it: its title label, else `image`.
fn image_name(plan: &Plan) -> String {
    plan.labels
        .get("org.opencontainers.image.title")
        .cloned()
        .unwrap_or_else(|| "image".into())
}

/// A local file's name alone: paths differ between machines.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// The base as the documents name it: a registry reference as written; a local layout or archive
/// by its file name and tag.
fn base_reference(plan: &Plan) -> String {
    let tagged = |name: String, tag: &Option<String>| match tag {
        Some(t) => format!("{name}:{t}"),
        None => name,
    };
    match &plan.base {
        Location::Registry(r) => r.to_string(),
        Location::Local(ImageRef::Layout { dir, tag }) => {
            tagged(format!("oci:{}", file_name(dir)), tag)
        }
        Location::Local(ImageRef::Archive { file, name }) => {
            tagged(format!("docker-archive:{}", file_name(file)), name)
        }
    }
}

/// `./src/` → `src`; `.` stays `.`.
fn canonical_src(s: &str) -> String {
    let parts: Vec<&str> = s
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// METADATA headers by wheel file name (from the wheels read, or the facts recorded for them).
fn metadata_by_file(built: &Built) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Some((deps, _)) = &built.deps else {
        return out;
    };
    for w in &deps.wheels {
        out.insert(file_name(&w.path), w.metadata.clone());
    }
    if let Some(r) = &deps.recorded {
        for w in &r.wheels {
            out.entry(w.filename.clone())
                .or_insert_with(|| w.metadata.clone());
        }
    }
    out
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest as _;
    Ok(hex::encode(sha2::Sha256::digest(std::fs::read(path)?)))
}

fn distribution(file: &str, sha256: &str, meta: &str) -> Distribution {
    let parsed = lamina_python::wheel_name::WheelName::parse(file).ok();
    let first = |key: &str| header(meta, key).first().map(|v| v.to_string());
    Distribution {
        name: first("Name")
            .or_else(|| parsed.as_ref().map(|w| w.name.clone()))
            .unwrap_or_else(|| file.to_string()),
        version: first("Version")
            .or_else(|| parsed.as_ref().map(|w| w.version.clone()))
            .unwrap_or_default(),
        wheel: file.to_string(),
        sha256: sha256.to_string(),
        license: lamina_python::license::declared(meta).map(|d| match d {
            Declared::Expression(e) => License::Expression(e),
            Declared::Text(t) => License::Text(t),
        }),
    }
}

/// Everything the documents say about this build.
pub fn inventory(plan: &Plan, built: &Built) -> Result<Inventory, AttestError> {
    let metadata = metadata_by_file(built);
    let mut distributions: Vec<Distribution> = built
        .wheels
        .iter()
        .map(|(file, sha)| distribution(file, sha, metadata.get(file).map_or("", String::as_str)))
        .collect();
    distributions.sort_by_key(|d| {
        (
            d.name.to_ascii_lowercase(),
            d.version.clone(),
            d.wheel.clone(),
        )
    });
    let source = built.new_layers.iter().find(|l| l.name == "source").map_or(
        Source {
            digest: String::new(),
            files: 0,
        },
        |l| Source {
            digest: l.layer.diff_id.to_string(),
            files: l.layer.file_count as usize,
        },
    );
    let lock = match plan.deps.as_ref().and_then(|d| d.lock.as_ref()) {
        Some(path) => Some((
            file_name(path),
            sha256_file(path).map_err(|source| AttestError::Lock {
                path: path.clone(),
                source,
            })?,
        )),
        None => None,
    };
    let srcs: Vec<String> = plan.srcs.iter().map(|s| canonical_src(s)).collect();
    let mut parameters = BTreeMap::new();
    parameters.insert("handlers".to_string(), json!(plan.handlers));
    parameters.insert("src".to_string(), json!(srcs));
    parameters.insert("env".to_string(), json!(plan.env));
    parameters.insert("labels".to_string(), json!(plan.labels));
    parameters.insert("platform".to_string(), json!(plan.platform.to_string()));
    parameters.insert("compile_bytecode".to_string(), json!(plan.compile_bytecode));
    if let Some(p) = plan.python {
        parameters.insert("python".to_string(), json!(format!("3.{p}")));
    }
    Ok(Inventory {
        image_digest: built.image.digest().to_string(),
        image_name: image_name(plan),
        platform: plan.platform.to_string(),
        base: Base {
            reference: base_reference(plan),
            digest: built.base_digest.to_string(),
        },
        distributions,
        source,
        lock,
        parameters,
        epoch: plan.epoch,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_source_directory_has_one_spelling() {
        for s in ["src", "./src", "src/", "./src/", "src//"] {
            assert_eq!(super::canonical_src(s), "src");
        }
        assert_eq!(super::canonical_src("."), ".");
        assert_eq!(super::canonical_src("./"), ".");
        assert_eq!(super::canonical_src("a/./b"), "a/b");
    }
}
