//! What the CLI prints about a build: sizes for people, the layer report and the gate's findings
//! on stderr, and the `--format json` object on stdout.

use anyhow::Result;
use lamina::build::{self, Built};
use lamina::config::{self, Plan};
use lamina::gate;
use lamina::registry::Reference;

pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Prints the gate's findings and the size report; fails if any finding is an error.
pub fn gate(built: &Built, plan: &Plan, missing_deps: &str, import_check: bool) -> Result<()> {
    let known = build::catalog_entry(plan);
    let (runtime_packages, runtime_modules) = if known.is_some() {
        lamina::catalog::runtime_packages()
    } else {
        (Vec::new(), Vec::new())
    };
    let glibc = built.deps.as_ref().map(|(_, t)| t.glibc).or_else(|| {
        known
            .as_ref()
            .and_then(|k| config::parse_glibc(&k.glibc).ok())
    });
    let opts = gate::GateOptions {
        platform: plan.platform.clone(),
        missing_deps: if missing_deps == "warn" {
            gate::Severity::Warning
        } else {
            gate::Severity::Error
        },
        runtime_packages,
        runtime_modules,
        glibc,
        // Name the catalog base only when its glibc is the one checked against (not overridden).
        scan_cache: Some(
            lamina::cache::Cache::open(&lamina::cache::Cache::default_location())
                .map(|c| c.scans_dir())
                .unwrap_or_default(),
        )
        .filter(|p| !p.as_os_str().is_empty()),
        import_check: import_check
            .then(|| {
                built
                    .deps
                    .as_ref()
                    .map(|(_, t)| t.minor)
                    .or(plan.python)
                    .or_else(|| {
                        known
                            .as_ref()
                            .and_then(|k| config::parse_python(&k.python).ok())
                    })
            })
            .flatten(),
        base_name: known
            .filter(|k| config::parse_glibc(&k.glibc).ok() == glibc)
            .map_or_else(
                || "the base".to_string(),
                |k| format!("the {} base", k.name),
            ),
    };
    let mut findings = gate::check(built, plan, &opts);
    // A runtime past AWS's deprecation date still builds, with a warning.
    if let Some(w) = build::catalog_entry(plan)
        .and_then(|k| lamina::catalog::support_warning(&k, &lamina::catalog::today()))
    {
        findings.insert(
            0,
            gate::Finding {
                severity: gate::Severity::Warning,
                code: "deprecated-runtime".into(),
                message: w,
            },
        );
    }
    let top = gate::largest_packages(built, 10);
    if !top.is_empty() {
        let list: Vec<String> = top
            .iter()
            .map(|(n, s)| format!("{n} {}", human(*s)))
            .collect();
        eprintln!(
            "lamina: largest in the dependency layer: {}",
            list.join(", ")
        );
    }
    let mut errors = 0;
    for f in &findings {
        let level = match f.severity {
            gate::Severity::Error => {
                errors += 1;
                "error"
            }
            gate::Severity::Warning => "warning",
        };
        eprintln!("lamina: {level}[{}]: {}", f.code, f.message);
    }
    if errors > 0 {
        anyhow::bail!("{errors} problem{} would make Lambda reject or fail this image; nothing was written or pushed", if errors == 1 { "" } else { "s" });
    }
    eprintln!(
        "lamina: the image passes the Lambda checks ({} handler{}, platform {})",
        plan.handlers.len(),
        if plan.handlers.len() == 1 { "" } else { "s" },
        plan.platform
    );
    Ok(())
}

/// `--format json`: what CI needs in one object.
pub fn json_report(
    b: &Built,
    plan: &Plan,
    pushed: Option<(&Reference, &Vec<String>, oci_spec::image::Digest)>,
    repo_uri: Option<String>,
    image: &str,
) -> String {
    let layers: Vec<serde_json::Value> = b
        .image
        .layers
        .iter()
        .map(|l| {
            serde_json::json!({
                "digest": l.digest().to_string(),
                "size": l.size(),
                "media_type": l.descriptor.media_type().to_string(),
                "diff_id": l.diff_id.to_string(),
                "uncompressed_size": l.uncompressed_size,
            })
        })
        .collect();
    let compressed: u64 = b.image.layers.iter().map(|l| l.size()).sum();
    let v = serde_json::json!({
        "image": image,
        "digest": pushed.as_ref().map_or_else(|| image.to_string(), |(_, _, d)| d.to_string()),
        "repository": pushed.as_ref().map(|(r, _, _)| repo_uri.clone().unwrap_or_else(|| r.repo_name())),
        "tags": pushed.as_ref().map(|(_, t, _)| (*t).clone()).unwrap_or_default(),
        "output": plan.output.as_ref().map(|o| o.to_string()),
        "platform": b.image.platform(),
        "media_type": b.image.format.manifest_type(),
        "handlers": plan.handlers,
        "compressed_size": compressed,
        "uncompressed_size": b.image.uncompressed_size(),
        "layers": layers,
    });
    serde_json::to_string_pretty(&v).expect("json")
}

pub fn report(b: &Built) {
    for (name, l, reused) in &b.new_layers {
        eprintln!(
            "lamina: {name} layer {}: {} files, {} tar, {} gzip{}",
            l.digest,
            l.file_count,
            human(l.uncompressed_size),
            human(l.size),
            if *reused { " (cached)" } else { "" }
        );
    }
    let total: u64 = b.image.layers.iter().map(|l| l.size()).sum();
    eprintln!(
        "lamina: image {}: {} layers ({} from the base), {} compressed, Cmd {}",
        b.image.digest(),
        b.image.layers.len(),
        b.base_layers,
        human(total),
        b.image.config()["config"]["Cmd"]
    );
}
