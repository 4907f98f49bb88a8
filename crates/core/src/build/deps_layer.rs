//! The dependency layer: the wheel target for the base (flags, the catalog, or the base itself),
//! the layer's input key from the wheels' names and hashes, and the layer, from the local cache,
//! the remote cache or written. Choosing and fetching wheels is `deps`; installing them is
//! `lamina_install::wheels`.

use super::{finish_and_record, BuildError, FromRemote, GZIP_LEVEL, WRITER_VERSION};
use crate::catalog;
use crate::config::{DepsConfig, Plan};
use crate::location::Location;
use crate::remote_cache::RemoteCache;
use lamina_cache::Cache;
use lamina_install::bytecode::Bytecode;
use lamina_install::compiled::LayerBytecode;
use lamina_install::wheels;
use lamina_oci::layer::{LayerWriter, WrittenLayer};
use lamina_oci::reference::ImageRef;
use lamina_oci::Image;
use lamina_python::tags::Target;
use sha2::{Digest as _, Sha256};
use std::path::PathBuf;

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
pub(super) struct DepsLayer {
    pub layer: WrittenLayer,
    /// How many wheels it installs.
    pub wheels: usize,
    /// Found in a cache by its input key.
    pub reused: bool,
    pub plan: wheels::DepsPlan,
    pub target: Target,
    /// Its bytecode, when compiled (from the cache's note on a hit).
    pub bytecode: Option<LayerBytecode>,
    /// Its input key.
    pub key: String,
    /// The remote cache entry it came from, if it did.
    pub from: FromRemote,
    /// Each wheel: file name and sha256 (hex), in layer order (for the SBOM and provenance).
    pub inputs: Vec<(String, String)>,
}

pub(super) fn deps_layer(
    plan: &Plan,
    deps: &DepsConfig,
    base: &Image,
    bytecode: Option<&Bytecode>,
    (cache, remote): (&Cache, Option<&RemoteCache>),
    index: &lamina_install::deps::LazyClient,
    log: &mut dyn FnMut(String),
) -> Result<DepsLayer, BuildError> {
    let (target, interpreter) = target_for(plan, deps, base, Some(&cache.scans_dir()), log)?;
    let ranking = target.ranking();
    let inputs = lamina_install::deps::inputs(deps, &target, &ranking, cache, index, log)?;
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
    if let Some(b) = bytecode {
        h.update(b.key());
    }
    for i in &inputs {
        h.update(format!("{}\0{}\0", i.filename, i.sha256));
    }
    let key = format!("deps-{}", hex::encode(h.finalize()));
    lamina_support::hooks::hook("AFTER_DEPS_KEY");
    log(format!(
        "dependency layer: {} wheels for {target}",
        inputs.len()
    ));
    // A cached layer with its recorded facts needs no wheel at all (not even on disk).
    if let Some((hit, deps_plan)) = facts_hit(&key, &inputs, cache, log) {
        lamina_install::deps::keep_listings(&inputs, cache)?;
        return Ok(DepsLayer {
            layer: hit,
            wheels: inputs.len(),
            reused: true,
            plan: deps_plan,
            target,
            bytecode: bytecode.and_then(|_| cache.lookup_note(&key)),
            key,
            from: None,
            inputs: named(&inputs),
        });
    }
    if let Some((layer, deps_plan, bc, from)) =
        remote.and_then(|r| crate::remote_cache::lookup_deps(r, &key, &inputs, cache, log))
    {
        for w in &deps_plan.warnings {
            log(format!("warning: {w}"));
        }
        lamina_install::deps::keep_listings(&inputs, cache)?;
        return Ok(DepsLayer {
            layer,
            wheels: inputs.len(),
            reused: true,
            plan: deps_plan,
            target,
            bytecode: bytecode.and(bc),
            key,
            from,
            inputs: named(&inputs),
        });
    }
    // Planning is cheap (zip directories, metadata) and the gate needs it even on a cache hit.
    let (chosen, mut deps_plan) = lamina_install::deps::materialize_and_plan(
        &inputs,
        cache,
        deps.offline,
        index,
        &opts,
        log,
    )?;
    for w in &deps_plan.warnings {
        log(format!("warning: {w}"));
    }
    if let Some(hit) = cache.lookup_layer_or_evict(&key, log) {
        let bc = bytecode.and_then(|_| cache.lookup_note(&key));
        return Ok(DepsLayer {
            layer: hit,
            wheels: chosen.len(),
            reused: true,
            plan: deps_plan,
            target,
            bytecode: bc,
            key,
            from: None,
            inputs: named(&inputs),
        });
    }
    let extra = match bytecode.map(Bytecode::compiler).transpose()?.flatten() {
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
    lamina_support::parallel::map(&chosen, lamina_support::parallel::cores(), |i, p| {
        let same = after[i] == before[i]
            && lamina_install::deps::sha256_file(p).is_ok_and(|h| h == inputs[i].sha256);
        match same {
            true => Ok(()),
            false => Err(BuildError::Changed { path: p.clone() }),
        }
    })?;
    deps_plan.elf = result?;
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
        key,
        from: None,
        inputs: named(&inputs),
    })
}

fn named(inputs: &[lamina_install::deps::Input]) -> Vec<(String, String)> {
    inputs
        .iter()
        .map(|i| (i.filename.clone(), i.sha256.clone()))
        .collect()
}

/// The cached layer for `key` and the plan its recorded facts describe, when both are there.
fn facts_hit(
    key: &str,
    inputs: &[lamina_install::deps::Input],
    cache: &Cache,
    log: &mut dyn FnMut(String),
) -> Option<(WrittenLayer, wheels::DepsPlan)> {
    let facts = lamina_install::deps::facts::DepsFacts::load(cache, key, log)?;
    let hit = cache.lookup_layer_or_evict(key, log)?;
    let deps_plan = facts.to_plan(&lamina_install::deps::wheel_paths(inputs, cache))?;
    for w in &deps_plan.warnings {
        log(format!("warning: {w}"));
    }
    Some((hit, deps_plan))
}

/// What changes whenever a file is written to: size, mtime, ctime, inode and device.
fn stat_all(paths: &[PathBuf]) -> Vec<Option<lamina_cache::Stamp>> {
    paths.iter().map(|p| lamina_cache::Stamp::of(p)).collect()
}
