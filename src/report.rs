//! What the CLI prints about a build or a check: the layer and size report, the gate's findings,
//! timings and cache use on stderr (one unit style: B below 1 KiB, else KiB/MiB/GiB with one
//! decimal), and with `--format json` one document on stdout (schema: `schema/report.schema.json`,
//! `schema_version` 1), whether the image passed, failed the gate, or the build failed.

use lamina_core::build::Built;
use lamina_core::diagnostic::Failure;
use lamina_core::gate::{self, Finding, GateReport, Severity};
use lamina_core::human::human;
use lamina_core::sink::{Kind, Published};
use lamina_core::sizes::SizeReport;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

pub const SCHEMA_VERSION: u32 = 1;

/// The `--format json` document.
#[derive(Debug, Serialize)]
pub struct Document {
    pub schema_version: u32,
    pub command: &'static str,
    /// `pass`, `fail` (the gate found errors) or `error` (the build did not get that far).
    pub result: &'static str,
    /// False when some check could not be decided (`cannot-verify` findings).
    pub verified: bool,
    pub error: Option<ErrorDoc>,
    /// Fields of a built image (`image`, `digest`, `layers`, …), flattened in.
    #[serde(flatten)]
    pub image: serde_json::Map<String, Value>,
    pub findings: Vec<FindingDoc>,
    pub counts: Counts,
    /// One command that fetches every missing dependency.
    pub fix: Option<String>,
    pub sizes: Option<SizeReport>,
    pub python: Option<PythonDoc>,
    pub timings_ms: Timings,
    pub cache: Option<CacheDoc>,
}

#[derive(Debug, Serialize)]
pub struct ErrorDoc {
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FindingDoc {
    #[serde(flatten)]
    pub finding: Finding,
    pub lambda_error: Option<&'static str>,
    pub handler: Option<String>,
    /// The file in the project (relative to it) that `file` (/var/task/…) was copied from.
    pub project_file: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub unverified: usize,
}

#[derive(Debug, Serialize)]
pub struct PythonDoc {
    pub version: Option<String>,
    pub stdlib: String,
    pub modules_checked: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct Timings {
    pub resolve: Option<u64>,
    pub layers: Option<u64>,
    pub gate: Option<u64>,
    pub write: Option<u64>,
    pub push: Option<u64>,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct CacheDoc {
    /// Each layer lamina makes: reused from the cache, or written now.
    pub layers: Vec<CachedLayer>,
    pub base_layers: usize,
    /// Base layers whose bytes are here (a layout, or pulled into the cache earlier).
    pub base_layers_local: usize,
    pub base_scans_cached: usize,
}

#[derive(Debug, Serialize)]
pub struct CachedLayer {
    pub name: String,
    pub digest: String,
    pub reused: bool,
    /// `built`, `local cache` or `remote cache`.
    pub from: &'static str,
}

impl Document {
    pub fn new(command: &'static str) -> Document {
        Document {
            schema_version: SCHEMA_VERSION,
            command,
            result: "error",
            verified: false,
            error: None,
            image: serde_json::Map::new(),
            findings: Vec::new(),
            counts: Counts::default(),
            fix: None,
            sizes: None,
            python: None,
            timings_ms: Timings::default(),
            cache: None,
        }
    }

    pub fn set_gate(
        &mut self,
        g: &GateReport,
        plan: &lamina_core::config::Plan,
        verdict: gate::Verdict,
    ) {
        self.findings = g
            .findings
            .iter()
            .map(|f| FindingDoc {
                lambda_error: f.code.lambda_error(),
                handler: f.handlers.first().cloned(),
                project_file: gate::project_file(plan, f.file.as_deref()),
                finding: f.clone(),
            })
            .collect();
        self.counts = Counts {
            errors: g.errors(),
            warnings: g.findings.len() - g.errors(),
            unverified: g.unverified(),
        };
        self.fix = g.fix.clone();
        self.verified = g.unverified() == 0;
        self.result = verdict.as_str();
        self.python = Some(PythonDoc {
            version: g.python.map(|m| format!("3.{m}")),
            stdlib: g.stdlib_from.clone(),
            modules_checked: g.modules_checked,
        });
    }

    pub fn set_cache(&mut self, b: &Built, g: &GateReport) {
        self.cache = Some(CacheDoc {
            layers: b
                .new_layers
                .iter()
                .map(|n| CachedLayer {
                    name: n.name.clone(),
                    digest: n.layer.digest.to_string(),
                    reused: n.reused,
                    from: n.from(),
                })
                .collect(),
            base_layers: b.base_layers,
            base_layers_local: b.image.layers[..b.base_layers]
                .iter()
                .filter(|l| l.blob.is_local(l.digest()))
                .count(),
            base_scans_cached: g.base_scans_cached,
        });
    }

    /// Each sink's time: local writes and the push.
    pub fn set_published(&mut self, published: &[Published]) {
        for p in published {
            let ms = Some(ms(p.elapsed));
            match p.kind {
                Kind::Write => self.timings_ms.write = ms,
                Kind::Push => self.timings_ms.push = ms,
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the document serializes")
    }
}

/// An error and its causes on one line, and its hint, as main prints them.
pub fn error_text(err: &Failure) -> (String, Option<String>) {
    (err.message(), err.hint())
}

fn secs(d: Option<u64>) -> Option<String> {
    d.map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
}

pub fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// The layers, sizes and per-project report on stderr.
pub fn sizes(b: &Built, s: &SizeReport) {
    for n in &b.new_layers {
        let l = &n.layer;
        eprintln!(
            "lamina: {} layer {}: {} files, {} tar, {} gzip{}",
            n.name,
            l.digest,
            l.file_count,
            human(l.uncompressed_size),
            human(l.size),
            if n.reused { " (cached)" } else { "" }
        );
    }
    for (name, bc) in &b.bytecode {
        let l = b
            .new_layers
            .iter()
            .find(|n| &n.name == name)
            .map(|n| &n.layer);
        let s = &bc.stats;
        let with = l.map_or(0, |l| l.uncompressed_size);
        eprintln!(
            "lamina: {name} layer bytecode: {} modules ({} compiled, {} from the cache, {} without .pyc), {} of .pyc; tar {} without bytecode, {} with",
            s.modules,
            s.compiled,
            s.cached,
            s.failed.len(),
            human(s.pyc_bytes),
            human(with.saturating_sub(bc.tar_bytes)),
            human(with),
        );
        for (path, msg) in &s.failed {
            eprintln!("lamina: warning: {path} does not compile, so it has no .pyc ({msg})");
        }
    }
    let unpacked = match s.uncompressed_total {
        Some(t) => {
            let pct = t as f64 * 100.0 / s.limit as f64;
            let pct = if pct < 0.1 { "<0.1".to_string() } else { format!("{pct:.1}") };
            format!(
                "{} uncompressed ({pct}% of Lambda's {} GB)",
                human(t),
                s.limit / 1_000_000_000
            )
        }
        None => format!(
            "at least {} uncompressed (base layers not read: `lamina pull` the base for the exact size)",
            human(s.uncompressed_known)
        ),
    };
    eprintln!(
        "lamina: image {}: {} layers ({} from the base), {} compressed, {unpacked}, Cmd {}",
        b.image.digest(),
        b.image.layers.len(),
        b.base_layers,
        human(s.compressed_total),
        b.image.config()["config"]["Cmd"]
    );
    if !s.projects.is_empty() {
        let list: Vec<String> = s
            .projects
            .iter()
            .take(10)
            .map(|p| {
                format!(
                    "{} {} ({}) {}",
                    p.project,
                    p.version,
                    p.wheel,
                    human(p.bytes)
                )
            })
            .collect();
        eprintln!(
            "lamina: largest in the dependency layer: {}",
            list.join(", ")
        );
    }
    for p in &s.projects {
        for o in &p.outside_packages {
            eprintln!(
                "lamina: note: {} {} ({}) put {} ({}, {} file{}) at the top of /var/task, outside its own packages",
                p.project,
                p.version,
                p.wheel,
                o.path,
                human(o.bytes),
                o.files,
                if o.files == 1 { "" } else { "s" }
            );
        }
    }
}

/// The findings, then the verdict line (none for a refused image: its error follows).
pub fn gate(g: &GateReport, handlers: usize, platform: &str, verdict: gate::Verdict) {
    for f in &g.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let also = if f.handlers.len() > 1 {
            format!(" [handlers: {}]", f.handlers.join(", "))
        } else {
            String::new()
        };
        eprintln!("lamina: {level}[{}]: {}{also}", f.code.as_str(), f.message);
        if let Some(h) = &f.hint {
            eprintln!("lamina:   hint: {h}");
        }
    }
    if let Some(fix) = &g.fix {
        eprintln!("lamina: fetch every missing dependency at once: {fix}");
    }
    if verdict == gate::Verdict::Fail {
        return;
    }
    let plural = if handlers == 1 { "" } else { "s" };
    match g.unverified() {
        0 => eprintln!(
            "lamina: the image passes the Lambda checks ({handlers} handler{plural}, platform {platform})"
        ),
        n => eprintln!(
            "lamina: no Lambda error found ({handlers} handler{plural}, platform {platform}), but {n} thing{} could not be verified (the cannot-verify warnings above): the image is not known to pass",
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// Timings and cache use, one line each.
pub fn timings_and_cache(t: &Timings, c: Option<&CacheDoc>) {
    let parts: Vec<String> = [
        ("resolve", t.resolve),
        ("layers", t.layers),
        ("gate", t.gate),
        ("write", t.write),
        ("push", t.push),
    ]
    .iter()
    .filter_map(|(n, d)| secs(*d).map(|s| format!("{n} {s}")))
    .collect();
    eprintln!(
        "lamina: time: {} (total {})",
        parts.join(", "),
        secs(Some(t.total)).unwrap_or_default()
    );
    if let Some(c) = c {
        let layers: Vec<String> = c
            .layers
            .iter()
            .map(|l| {
                format!(
                    "{} layer {}",
                    l.name,
                    match l.from {
                        "remote cache" => "from the remote cache",
                        "local cache" => "from the cache",
                        _ => "written",
                    }
                )
            })
            .collect();
        eprintln!(
            "lamina: cache: {}; base layers local {}/{} (scans cached {})",
            layers.join(", "),
            c.base_layers_local,
            c.base_layers,
            c.base_scans_cached
        );
    }
}

/// The image fields of the JSON document (those of a successful `build --format json` since
/// before the schema had a version: scripts read them), with base layers' uncompressed sizes
/// filled in where they are known.
pub fn image_fields(
    b: &Built,
    plan: &lamina_core::config::Plan,
    published: Option<&Published>,
    image: &str,
    sizes: &SizeReport,
) -> serde_json::Map<String, Value> {
    let pushed = published.and_then(|p| p.pushed.as_ref());
    let layers: Vec<Value> = b
        .image
        .layers
        .iter()
        .zip(&sizes.layers)
        .map(|(l, s)| {
            serde_json::json!({
                "digest": l.digest().to_string(),
                "size": l.size(),
                "media_type": l.descriptor.media_type().to_string(),
                "diff_id": l.diff_id.to_string(),
                "uncompressed_size": s.uncompressed,
            })
        })
        .collect();
    let v = serde_json::json!({
        "image": image,
        "digest": published.map_or_else(|| image.to_string(), |p| p.digest.to_string()),
        "repository": pushed.map(|p| p.repository.clone()),
        "tags": pushed.map(|p| p.tags.clone()).unwrap_or_default(),
        "attestations": pushed.map(|p| p.attached.iter().map(|a| serde_json::json!({
            "kind": a.kind,
            "artifact_type": a.artifact_type,
            "digest": a.digest,
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "referrers": pushed.and_then(|p| p.referrers),
        "output": plan.output.as_ref().map(|o| o.to_string()),
        "platform": b.image.platform(),
        "media_type": b.image.format.manifest_type(),
        "handlers": plan.handlers,
        "compressed_size": sizes.compressed_total,
        "uncompressed_size": sizes.uncompressed_total,
        "layers": layers,
        "bytecode": {
            "note": b.bytecode_note,
            "layers": b.bytecode.iter().map(|(name, bc)| serde_json::json!({
                "layer": name,
                "modules": bc.stats.modules,
                "compiled": bc.stats.compiled,
                "cached": bc.stats.cached,
                "failed": bc.stats.failed.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
                "pyc_bytes": bc.stats.pyc_bytes,
                "tar_bytes": bc.tar_bytes,
            })).collect::<Vec<_>>(),
        },
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The base's line: where it is, its platform, layers and media types.
pub fn base(plan: &lamina_core::config::Plan, image: &lamina_core::oci::Image) {
    let n = image.layers.len();
    eprintln!(
        "lamina: base {} ({}, {n} layer{}, {:?} media types)",
        plan.base,
        image.platform(),
        if n == 1 { "" } else { "s" },
        image.format
    );
}
