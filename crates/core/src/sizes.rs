//! How big the image is and why: each layer compressed and uncompressed (exact where its bytes
//! are here), the total against Lambda's 10 GB, and the dependency layer per project (the wheel
//! each file came from), with what a wheel put at the top of /var/task outside its own packages
//! (`examples/`, `tests/`, `docs/`) called out. Bytes throughout; the CLI picks the units.

use crate::build::Built;
use serde::Serialize;
use std::collections::BTreeMap;

/// Top-level names that are not a project's importable code.
const NOT_PACKAGES: &[&str] = &[
    "tests",
    "test",
    "testing",
    "examples",
    "example",
    "docs",
    "doc",
    "benchmarks",
    "benchmark",
    "samples",
    "sample",
    "scripts",
    "tools",
    "demo",
    "demos",
];

#[derive(Clone, Debug, Serialize)]
pub struct LayerSize {
    /// `base 1`, `dependency`, `source`.
    pub name: String,
    pub digest: String,
    pub compressed: u64,
    /// Exact tar size, when known.
    pub uncompressed: Option<u64>,
    /// Reused from lamina's cache (new layers) or read from local bytes (base layers).
    pub cached: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Outside {
    /// The top-level entry under /var/task (`examples/`, `LICENSE`).
    pub path: String,
    pub bytes: u64,
    pub files: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProjectSize {
    pub project: String,
    pub version: String,
    pub wheel: String,
    pub bytes: u64,
    pub files: u64,
    /// What it put at the top of /var/task outside its own packages.
    pub outside_packages: Vec<Outside>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SizeReport {
    pub layers: Vec<LayerSize>,
    pub compressed_total: u64,
    /// Exact, when every layer's uncompressed size is known.
    pub uncompressed_total: Option<u64>,
    /// The sum of the known uncompressed sizes (a lower bound when some are unknown).
    pub uncompressed_known: u64,
    pub limit: u64,
    pub projects: Vec<ProjectSize>,
    /// Bytes of the user's files in the source layer.
    pub source_bytes: u64,
}

fn is_code(path: &str) -> bool {
    [".py", ".so", ".pyi", ".pth", ".pyc"]
        .iter()
        .any(|e| path.ends_with(e))
        || path.contains(".so.")
}

/// Per-project sizes of the dependency layer, largest first.
pub fn projects(built: &Built) -> Vec<ProjectSize> {
    let Some((plan, _)) = &built.deps else {
        return Vec::new();
    };
    let mut files: BTreeMap<String, u64> = BTreeMap::new();
    for (path, kind) in plan.tree.iter() {
        if let (Some(rel), lamina_oci::layer::EntryKind::File { size, .. }) =
            (path.strip_prefix("var/task/"), kind)
        {
            files.insert(rel.to_string(), *size);
        }
    }
    // Each file to its wheel in one pass (files stay in path order within a wheel).
    let mut by_wheel: Vec<Vec<(&String, u64)>> = vec![Vec::new(); plan.wheels.len()];
    for (p, s) in &files {
        if let Some(mine) = plan.owner.get(p).and_then(|&wi| by_wheel.get_mut(wi)) {
            mine.push((p, *s));
        }
    }
    let mut out = Vec::new();
    for (wi, (w, mine)) in plan.wheels.iter().zip(by_wheel).enumerate() {
        let declared = plan.top_level(wi);
        // Top-level entries: their bytes, file count, and whether they hold Python code.
        let mut tops: BTreeMap<String, (u64, u64, bool, bool)> = BTreeMap::new();
        for (p, size) in &mine {
            let (top, is_dir) = match p.split_once('/') {
                Some((t, _)) => (t.to_string(), true),
                None => (p.to_string(), false),
            };
            let e = tops.entry(top).or_insert((0, 0, false, is_dir));
            e.0 += size;
            e.1 += 1;
            e.2 |= is_code(p);
        }
        let mut outside = Vec::new();
        for (top, (bytes, count, code, is_dir)) in &tops {
            if *top == w.dist_info || top == "bin" || top == "include" {
                continue;
            }
            let stem = top.split('.').next().unwrap_or(top);
            let listed = declared
                .as_ref()
                .is_some_and(|d| d.contains(top) || d.contains(stem));
            let flagged = NOT_PACKAGES.contains(&top.as_str()) || (!listed && !code);
            if flagged {
                outside.push(Outside {
                    path: if *is_dir {
                        format!("{top}/")
                    } else {
                        top.clone()
                    },
                    bytes: *bytes,
                    files: *count,
                });
            }
        }
        out.push(ProjectSize {
            project: w.name.name.clone(),
            version: w.name.version.clone(),
            wheel: w.name.filename.clone(),
            bytes: mine.iter().map(|(_, s)| s).sum(),
            files: mine.len() as u64,
            outside_packages: outside,
        });
    }
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.project.cmp(&b.project)));
    out
}

/// The whole size report; `base_sizes` are the base layers' uncompressed sizes the gate read.
pub fn report(built: &Built, base_sizes: &[Option<u64>]) -> SizeReport {
    let mut layers = Vec::new();
    let mut new = built.new_layers.iter();
    for (i, l) in built.image.layers.iter().enumerate() {
        let (name, uncompressed, cached) = if i < built.base_layers {
            let known = base_sizes.get(i).copied().flatten().or(l.uncompressed_size);
            (
                format!("base {}", i + 1),
                known,
                l.blob.is_local(l.digest()),
            )
        } else {
            match new.next() {
                Some(n) => (n.name.clone(), Some(n.layer.uncompressed_size), n.reused),
                None => (format!("layer {}", i + 1), l.uncompressed_size, false),
            }
        };
        layers.push(LayerSize {
            name,
            digest: l.digest().to_string(),
            compressed: l.size(),
            uncompressed,
            cached,
        });
    }
    let uncompressed_total = layers.iter().map(|l| l.uncompressed).sum::<Option<u64>>();
    let source_bytes = built
        .source_tree
        .iter()
        .filter_map(|(_, k)| match k {
            lamina_oci::layer::EntryKind::File { size, .. } => Some(*size),
            _ => None,
        })
        .sum();
    SizeReport {
        compressed_total: layers.iter().map(|l| l.compressed).sum(),
        uncompressed_known: layers.iter().filter_map(|l| l.uncompressed).sum(),
        uncompressed_total,
        limit: lamina_install::lambda::MAX_UNCOMPRESSED,
        projects: projects(built),
        source_bytes,
        layers,
    }
}
