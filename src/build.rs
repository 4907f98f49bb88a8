//! `build(plan) -> Image`: the base, then the source layer, then the config (Cmd, Env, labels,
//! history, created). Layers are written to the cache, keyed by their inputs, so an unchanged source
//! tree is never re-compressed. Nothing here writes to the output: sinks do that afterwards.

use crate::bytecode::{self, BytecodeError, Compiler, Setup};
use crate::cache::Cache;
use crate::catalog;
use crate::config::DepsConfig;
use crate::config::Plan;
use crate::layer::compiled::{self, CompiledError, LayerBytecode};
use crate::layer::{source, wheels, EntryKind, LayerWriter, Tree, WrittenLayer};
use crate::location::Location;
use crate::oci::reference::ImageRef;
use crate::oci::{Image, Layer};
use crate::python::tags::Target;
use oci_spec::image::{Descriptor, MediaType};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

/// gzip level for new layers. Part of every layer's identity: changing it changes digests.
pub const GZIP_LEVEL: u32 = 6;
/// Bump when the bytes the writer produces for the same inputs change.
const WRITER_VERSION: &str = "lamina-layer-v2-pgzip";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("source layer")]
    Source(#[from] source::SourceError),
    #[error("source layer: {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("source layer")]
    Write(#[from] crate::layer::writer::WriteError),
    #[error("cache {path}")]
    Cache { path: PathBuf, source: io::Error },
    #[error("dependency layer")]
    Wheels(#[from] wheels::WheelsError),
    #[error("dependency layer")]
    Deps(#[source] Box<crate::deps::DepsError>),
    #[error("dependency layer: the base's Python is unknown ({base} is not in the catalog, and no python3.X or libc.so.6 was found in it)")]
    UnknownTarget { base: String },
    #[error("dependency layer: {path}")]
    WheelRead { path: PathBuf, source: io::Error },
    #[error("{path}: changed while the build read it; nothing was cached")]
    Changed { path: PathBuf },
    #[error(transparent)]
    Bytecode(#[from] BytecodeError),
    #[error("source layer: bytecode")]
    SourceBytecode(#[from] CompiledError),
}

impl crate::diagnostic::Hint for BuildError {
    fn hint(&self) -> Option<String> {
        match self {
            BuildError::Source(e) => e.hint(),
            BuildError::Bytecode(e) => e.hint(),
            BuildError::Wheels(e) => e.hint(),
            BuildError::Deps(e) => e.hint(),
            BuildError::UnknownTarget { .. } => Some(
                "say what the base runs: --python 3.12 --glibc 2.34 (or python/glibc in lamina.toml)".into(),
            ),
            BuildError::Changed { .. } => Some(
                "something wrote to this file during the build: let it finish (or exclude the file in .dockerignore), then build again".into(),
            ),
            BuildError::Read { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                Some("make the file readable, or exclude it in .dockerignore".into())
            }
            BuildError::Read { source, .. }
            | BuildError::Cache { source, .. }
            | BuildError::WheelRead { source, .. } => source.hint(),
            BuildError::Write(e) => e.hint(),
            BuildError::SourceBytecode(e) => e.hint(),
        }
    }
}

impl From<crate::deps::DepsError> for BuildError {
    fn from(e: crate::deps::DepsError) -> BuildError {
        BuildError::Deps(Box::new(e))
    }
}

/// What the build did, for the report on stderr and the gate.
pub struct Built {
    pub image: Image,
    pub base_layers: usize,
    /// The source layer's planned contents (for the gate's handler checks).
    pub source_tree: Tree<PathBuf>,
    /// The dependency layer's plan and the target it was chosen for.
    pub deps: Option<(wheels::DepsPlan, Target)>,
    /// The layers this build added (dependency, source), in order.
    pub new_layers: Vec<NewLayer>,
    /// Bytecode per new layer (by name), when it was compiled.
    pub bytecode: Vec<(String, LayerBytecode)>,
    /// One line on bytecode: who compiled it, or why there is none.
    pub bytecode_note: String,
}

/// A layer this build added.
pub struct NewLayer {
    /// `dependency` or `source`.
    pub name: String,
    pub layer: WrittenLayer,
    /// Found in the cache by its input key (not written again).
    pub reused: bool,
}

/// RFC 3339 UTC time, to the second, for seconds since the epoch (`1970-01-01T00:00:00Z`).
/// `SOURCE_DATE_EPOCH` is refused beyond 9999-12-31T23:59:59Z (`config::source_date_epoch`).
pub fn rfc3339(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Builds on `base` (already opened from `plan.base` by the caller: a layout, a registry, …),
/// fetching locked wheels with an index client that reads only `~/.netrc` for credentials.
pub fn build(
    plan: &Plan,
    base: Image,
    cache: &Cache,
    log: &mut dyn FnMut(String),
) -> Result<Built, BuildError> {
    let index = crate::deps::LazyClient::new(Box::new(|| {
        crate::index::Client::new(
            Box::new(crate::index::Netrc::load()),
            crate::retry::Policy::default(),
        )
    }));
    build_with(plan, base, None, cache, &index, log)
}

/// `build`, with the caller's index client for locked wheels (credentials, CodeArtifact).
/// `host_variant` is the same base for this machine's platform, when `plan.platform` is another
/// architecture and the base is a multi-platform index that has one (for compiling bytecode).
pub fn build_with(
    plan: &Plan,
    base: Image,
    host_variant: Option<&Image>,
    cache: &Cache,
    index: &crate::deps::LazyClient,
    log: &mut dyn FnMut(String),
) -> Result<Built, BuildError> {
    let base_layers = base.layers.len();

    let skip = crate::output::never_copied(plan, cache);
    let (compiler, bytecode_note) = if plan.compile_bytecode {
        match bytecode::setup(&base, host_variant, cache, plan.compile_workers)? {
            Setup::On(c) => {
                let note = format!("bytecode: compiled by {} (unchecked-hash .pyc)", c.how);
                (Some(c), note)
            }
            Setup::Off(why) => (None, format!("no bytecode: {why}")),
        }
    } else {
        (
            None,
            "no bytecode: turned off (--no-compile-bytecode / compile_bytecode = false)".into(),
        )
    };
    log(bytecode_note.clone());
    let compiler = compiler.as_deref();
    let mut image = base;
    let mut new_layers = Vec::new();
    let mut bytecode_done = Vec::new();
    let mut deps_info = None;
    if let Some(deps) = &plan.deps {
        let DepsLayer {
            layer,
            wheels: count,
            reused,
            plan: deps_plan,
            target,
            bytecode: bc,
        } = deps_layer(plan, deps, &image, compiler, cache, index, log)?;
        deps_info = Some((deps_plan, target));
        let history = json!({
            "created": rfc3339(plan.epoch),
            "created_by": format!(
                "lamina build: pip install --no-deps --target /var/task ({count} wheels){}",
                if compiler.is_some() { "; compileall --invalidation-mode unchecked-hash" } else { "" }
            ),
            "comment": "dependency layer",
        });
        image = image.append_layer(cache_layer(&layer, cache), history);
        if let Some(bc) = bc {
            bytecode_done.push(("dependency".to_string(), bc));
        }
        new_layers.push(NewLayer {
            name: "dependency".into(),
            layer,
            reused,
        });
    }
    let tree = source::plan(&plan.project, &plan.srcs, &skip)?;
    let (src_layer, reused) = match compiler {
        Some(c) => {
            let mut with_pyc = tree.clone();
            let bc = compiled::add_to_source(&mut with_pyc, c)?;
            bytecode_done.push(("source".to_string(), bc));
            write_cached(&with_pyc, plan.epoch, cache, log)?
        }
        None => write_cached(&tree, plan.epoch, cache, log)?,
    };

    let created = rfc3339(plan.epoch);
    let copies: Vec<String> = plan
        .srcs
        .iter()
        .map(|s| {
            if s == "." {
                "COPY . /var/task/".to_string()
            } else {
                format!("COPY {s} /var/task/{s}")
            }
        })
        .collect();
    let history = json!({"created": created, "created_by": format!("lamina build: {}", copies.join("; ")), "comment": "source layer"});
    let image = image
        .append_layer(cache_layer(&src_layer, cache), history)
        .with_config(|c| edit_config(c, plan, &created));
    new_layers.push(NewLayer {
        name: "source".into(),
        layer: src_layer,
        reused,
    });
    Ok(Built {
        image,
        base_layers,
        source_tree: tree,
        deps: deps_info,
        new_layers,
        bytecode: bytecode_done,
        bytecode_note,
    })
}

fn cache_layer(l: &WrittenLayer, cache: &Cache) -> Layer {
    Layer {
        descriptor: Descriptor::new(MediaType::ImageLayerGzip, l.size, l.digest.clone()),
        diff_id: l.diff_id.clone(),
        uncompressed_size: Some(l.uncompressed_size),
        file_count: Some(l.file_count),
        blob: Arc::new(cache.blobs()),
    }
}

/// The catalog entry the base names, if any (`oci:DIR:python3.12`, `public.ecr.aws/lambda/python:3.12`).
pub fn catalog_entry(plan: &Plan) -> Option<catalog::BaseInfo> {
    match &plan.base {
        Location::Local(ImageRef::Layout { tag: Some(t), .. }) => {
            catalog::lookup(t).or_else(|| t.split('-').next().and_then(catalog::lookup))
        }
        Location::Registry(r) => catalog::lookup(&r.with_tag(r.tag.as_deref()).to_string()),
        _ => None,
    }
}

/// The wheel target: explicit python/glibc first, else the catalog entry the base names
/// (`oci:DIR:python3.12`; a registry reference once registries are sources).
pub fn target_for(
    plan: &Plan,
    deps: &DepsConfig,
    base: &Image,
    cache_dir: Option<&std::path::Path>,
    log: &mut dyn FnMut(String),
) -> Result<(Target, String), BuildError> {
    let known = match &plan.base {
        Location::Local(ImageRef::Layout { tag: Some(t), .. }) => {
            catalog::lookup(t).or_else(|| t.split('-').next().and_then(catalog::lookup))
        }
        Location::Registry(r) => catalog::lookup(&r.with_tag(r.tag.as_deref()).to_string()),
        _ => None,
    };
    let unknown = || BuildError::UnknownTarget {
        base: plan.base.to_string(),
    };
    // Neither the catalog nor flags: read the base's own python3.X and libc.
    let mut probed = crate::probe::BaseFacts::default();
    if known.is_none() && (deps.python.is_none() || deps.glibc.is_none()) {
        probed = crate::probe::probe_cached(base, cache_dir).map_err(|e| BuildError::Read {
            path: PathBuf::from(plan.base.to_string()),
            source: e,
        })?;
        log(format!(
            "read from the base: {}, {}",
            probed
                .python_minor
                .map_or("no python3.X found".into(), |m| format!(
                    "CPython 3.{m} ({})",
                    probed.interpreter.clone().unwrap_or_default()
                )),
            probed
                .glibc
                .map_or("no libc.so.6 found".into(), |(a, b)| format!(
                    "glibc {a}.{b}"
                ))
        ));
    }
    let minor = match (deps.python, &known) {
        (Some(m), _) => m,
        (None, Some(k)) => crate::config::parse_python(&k.python).expect("catalog is valid"),
        (None, None) => probed.python_minor.ok_or_else(unknown)?,
    };
    let glibc = match (deps.glibc, &known) {
        (Some(g), _) => g,
        (None, Some(k)) => crate::config::parse_glibc(&k.glibc).expect("catalog is valid"),
        (None, None) => probed.glibc.ok_or_else(unknown)?,
    };
    let interpreter = match (&known, &probed.interpreter) {
        (Some(k), _) if k.python == format!("3.{minor}") => k.interpreter.clone(),
        (_, Some(i)) if probed.python_minor == Some(minor) => i.clone(),
        _ => format!("/var/lang/bin/python3.{minor}"),
    };
    let target = Target {
        minor,
        arch: plan.platform.python_machine().to_string(),
        glibc,
        allow_linux: deps.allow_linux_tag,
    };
    Ok((target, interpreter))
}

/// The dependency layer and what went into it.
struct DepsLayer {
    layer: WrittenLayer,
    /// How many wheels it installs.
    wheels: usize,
    /// Found in the cache by its input key.
    reused: bool,
    plan: wheels::DepsPlan,
    target: Target,
    /// Its bytecode, when compiled (from the cache's note on a hit).
    bytecode: Option<LayerBytecode>,
}

fn deps_layer(
    plan: &Plan,
    deps: &DepsConfig,
    base: &Image,
    compiler: Option<&Compiler>,
    cache: &Cache,
    index: &crate::deps::LazyClient,
    log: &mut dyn FnMut(String),
) -> Result<DepsLayer, BuildError> {
    let (target, interpreter) = target_for(plan, deps, base, Some(&cache.scans_dir()), log)?;
    let ranking = target.ranking();
    let inputs = crate::deps::inputs(deps, &target, &ranking, cache, index, log)?;
    let opts = wheels::WheelsOptions {
        target: target.clone(),
        interpreter,
        allow_bad_record: deps.allow_bad_record.clone(),
        max_unpacked: deps.max_unpacked,
    };
    // The input key: each wheel's file name and sha256 (a lock gives both without the bytes) and
    // everything that shapes the layout. The same wheels give the same key from any source.
    let mut h = Sha256::new();
    h.update(format!(
        "{WRITER_VERSION}\0deps\0gzip{GZIP_LEVEL}\0{}\0{:?}\0",
        plan.epoch, opts
    ));
    if let Some(c) = compiler {
        h.update(c.key());
    }
    for i in &inputs {
        h.update(format!("{}\0{}\0", i.filename, i.sha256));
    }
    let key = format!("deps-{}", hex::encode(h.finalize()));
    crate::hooks::hook("AFTER_DEPS_KEY");
    log(format!(
        "dependency layer: {} wheels for {target}",
        inputs.len()
    ));
    let chosen = crate::deps::materialize(&inputs, cache, deps.offline, index, log)?;
    // Planning is cheap (zip directories, metadata) and the gate needs it even on a cache hit.
    let deps_plan = wheels::plan(&chosen, &opts)?;
    for w in &deps_plan.warnings {
        log(format!("warning: {w}"));
    }
    if let Some(hit) = cache.lookup_layer_or_evict(&key, log) {
        let bc = compiler.and_then(|_| cache.lookup_note(&key));
        return Ok(DepsLayer {
            layer: hit,
            wheels: chosen.len(),
            reused: true,
            plan: deps_plan,
            target,
            bytecode: bc,
        });
    }
    let extra = match compiler {
        Some(c) => Some(wheels::compile(&deps_plan, c)?),
        None => None,
    };
    // Key and layer from the same bytes: after the write, each wheel still hashes to what the key
    // was made from, and did not change while the layer read it.
    let before = stat_all(&chosen);
    let mut w = LayerWriter::create(&cache.blobs_dir(), &cache.tmp_dir(), plan.epoch, GZIP_LEVEL)?;
    let result = match &extra {
        Some((files, _)) => wheels::write_with(&deps_plan, files, &mut w),
        None => wheels::write(&deps_plan, &mut w),
    };
    let after = stat_all(&chosen);
    for (i, p) in chosen.iter().enumerate() {
        let same = after[i] == before[i]
            && crate::deps::sha256_file(p).is_ok_and(|h| h == inputs[i].sha256);
        if !same {
            return Err(BuildError::Changed { path: p.clone() });
        }
    }
    result?;
    let bc = extra.map(|(_, bc)| bc);
    if let Some(bc) = &bc {
        cache.record_note(&key, bc).map_err(|e| BuildError::Cache {
            path: cache.tmp_dir(),
            source: e,
        })?;
    }
    let written = finish_and_record(w, &key, cache)?;
    Ok(DepsLayer {
        layer: written,
        wheels: chosen.len(),
        reused: false,
        plan: deps_plan,
        target,
        bytecode: bc,
    })
}

/// What changes whenever a file is written to: size, mtime, ctime, inode and device.
fn stat_all(paths: &[PathBuf]) -> Vec<Option<[i64; 7]>> {
    use std::os::unix::fs::MetadataExt;
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some([
                m.size() as i64,
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
                m.ino() as i64,
                m.dev() as i64,
            ])
        })
        .collect()
}

/// Sets Cmd to the first handler, merges Env and Labels, sets `created`. Everything else in the
/// base's config (Entrypoint, WorkingDir, unknown fields) is kept as it was.
fn edit_config(c: &mut Value, plan: &Plan, created: &str) {
    if !c["config"].is_object() {
        c["config"] = json!({});
    }
    let cfg = &mut c["config"];
    cfg["Cmd"] = json!([plan.handlers[0]]);
    if !plan.env.is_empty() {
        let mut env: Vec<Value> = cfg["Env"].as_array().cloned().unwrap_or_default();
        for (k, v) in &plan.env {
            let entry = Value::String(format!("{k}={v}"));
            let prefix = format!("{k}=");
            match env
                .iter()
                .position(|e| e.as_str().is_some_and(|s| s.starts_with(&prefix)))
            {
                Some(i) => env[i] = entry,
                None => env.push(entry),
            }
        }
        cfg["Env"] = Value::Array(env);
    }
    if !plan.labels.is_empty() {
        if !cfg["Labels"].is_object() {
            cfg["Labels"] = json!({});
        }
        for (k, v) in &plan.labels {
            cfg["Labels"][k] = Value::String(v.clone());
        }
    }
    c["created"] = Value::String(created.into());
}

/// The input key of a layer: everything that determines its bytes, including file contents (by
/// their sha256, kept per file so the write can prove it read the same bytes).
fn input_key(tree: &Tree<PathBuf>, epoch: u64) -> Result<(String, FileDigests), BuildError> {
    let mut h = Sha256::new();
    let mut files = FileDigests::new();
    h.update(format!("{WRITER_VERSION}\0gzip{GZIP_LEVEL}\0{epoch}\0"));
    for (path, kind) in tree.iter() {
        h.update(path.as_bytes());
        match kind {
            EntryKind::Dir => h.update(b"\0d\0"),
            EntryKind::Symlink(t) => h.update(format!("\0l\0{t}\0")),
            EntryKind::File {
                source,
                size,
                executable,
            } => {
                h.update(format!("\0f\0{size}\0{executable}\0"));
                let read_err = |e| BuildError::Read {
                    path: source.clone(),
                    source: e,
                };
                let f = File::open(source).map_err(read_err)?;
                let mut fh = Sha256::new();
                let n = io::copy(&mut f.take(*size), &mut fh).map_err(read_err)?;
                if n != *size {
                    return Err(BuildError::Changed {
                        path: source.clone(),
                    });
                }
                let digest: [u8; 32] = fh.finalize().into();
                h.update(digest);
                files.insert(path.clone(), digest);
            }
        }
    }
    Ok((hex::encode(h.finalize()), files))
}

/// Layer path → sha256 of the file's bytes as the input key read them.
type FileDigests = std::collections::HashMap<String, [u8; 32]>;

/// A source file as it streams into the layer: hashed on the way, and compared with the digest the
/// input key was made from once `size` bytes went through. A difference sets `changed` and fails
/// the read, so the layer is never finished, never cached, never shipped.
struct SameBytes {
    inner: io::BufReader<File>,
    hasher: Sha256,
    left: u64,
    expected: [u8; 32],
    source: PathBuf,
    changed: Rc<RefCell<Option<PathBuf>>>,
}

impl Read for SameBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.left = self.left.saturating_sub(n as u64);
        if n > 0 && self.left == 0 {
            let got: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
            if got != self.expected {
                *self.changed.borrow_mut() = Some(self.source.clone());
                return Err(io::Error::other("the file changed while it was read"));
            }
        }
        Ok(n)
    }
}

fn write_cached(
    tree: &Tree<PathBuf>,
    epoch: u64,
    cache: &Cache,
    log: &mut dyn FnMut(String),
) -> Result<(WrittenLayer, bool), BuildError> {
    let (key, digests) = input_key(tree, epoch)?;
    if let Some(hit) = cache.lookup_layer_or_evict(&key, log) {
        return Ok((hit, true));
    }
    crate::hooks::hook("AFTER_INPUT_KEY");
    let mut w = LayerWriter::create(&cache.blobs_dir(), &cache.tmp_dir(), epoch, GZIP_LEVEL)?;
    let changed: Rc<RefCell<Option<PathBuf>>> = Rc::default();
    let written = tree.write(
        &mut w,
        |layer_path, path: &PathBuf| -> Result<Box<dyn Read + 'static>, BuildError> {
            let f = File::open(path).map_err(|e| BuildError::Read {
                path: path.clone(),
                source: e,
            })?;
            let size = match tree.get(layer_path) {
                Some(EntryKind::File { size, .. }) => *size,
                _ => 0,
            };
            Ok(Box::new(SameBytes {
                inner: io::BufReader::with_capacity(256 * 1024, f),
                hasher: Sha256::new(),
                left: size,
                expected: digests[layer_path],
                source: path.clone(),
                changed: changed.clone(),
            }))
        },
    );
    if let Some(path) = changed.borrow_mut().take() {
        return Err(BuildError::Changed { path });
    }
    written?;
    Ok((finish_and_record(w, &key, cache)?, false))
}

/// Completes a layer and remembers that `key` produces it.
fn finish_and_record(w: LayerWriter, key: &str, cache: &Cache) -> Result<WrittenLayer, BuildError> {
    let written = w.finish()?;
    cache
        .record_layer(key, &written)
        .map_err(|e| BuildError::Cache {
            path: cache.tmp_dir(),
            source: e,
        })?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_known_values() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        // The last second SOURCE_DATE_EPOCH may name.
        assert_eq!(super::rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }
}
