//! The pipeline as a library (`lamina_core::pipeline`), without the binary: the gate's verdict
//! decides inside `build` whether anything is published. A refused image comes back with its
//! report and nothing published, and its output is never written; an accepted one reaches its
//! sink; `check` publishes nothing whatever the verdict.

use crate::support::*;
use lamina_core::config::Overrides;
use lamina_core::gate::{Severity, Verdict};
use lamina_core::pipeline::{self, Connection, Observer, Purpose};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// An observer that keeps the lines instead of printing them.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl lamina_core::sink::Watch for Lines {
    fn line(&self, msg: String) {
        self.0.lock().unwrap().push(msg);
    }
    fn start(&self, _label: &'static str, _counter: Arc<AtomicU64>) {}
    fn stop(&self) {}
}

impl Observer for Lines {}

/// The example project, writing to `out`, with `handler` as its only handler.
fn plan(project: &Path, out: &Path, handler: &str, purpose: Purpose) -> lamina_core::config::Plan {
    let overrides = Overrides {
        handler: vec![handler.into()],
        output: (purpose == Purpose::Build).then(|| format!("oci:{}:v1", out.display())),
        ..Overrides::default()
    };
    pipeline::plan_for(project, overrides, purpose, &Lines::default()).expect("plan")
}

fn setup() -> (tempfile::TempDir, PathBuf, lamina_core::cache::Cache) {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let cache = lamina_core::cache::Cache::open(&t.path().join("cache")).unwrap();
    (t, project, cache)
}

#[test]
fn a_refused_image_is_returned_for_its_report_and_never_published() {
    let (t, project, cache) = setup();
    let out = t.path().join("refused");
    let plan = plan(
        &project,
        &out,
        "src.functions.campaign.orchestrator.handlr",
        Purpose::Build,
    );
    assert!(plan.output.is_some());
    let obs = Lines::default();
    let outcome = pipeline::build(
        plan,
        &cache,
        &Connection::default(),
        Severity::Error,
        false,
        &obs,
    )
    .expect("a refusal is an outcome, not an error");
    assert_eq!(outcome.verdict, Verdict::Fail);
    let refused = outcome.refused().expect("refused");
    assert_eq!(refused.errors, 1);
    assert!(outcome.published.is_empty());
    assert!(
        !out.exists(),
        "a refused image was written to {}",
        out.display()
    );
    assert!(outcome
        .gate
        .findings
        .iter()
        .any(|f| f.message.contains("handlr")));
}

#[test]
fn an_accepted_image_reaches_its_sink_and_check_publishes_nothing() {
    let (t, project, cache) = setup();
    let out = t.path().join("accepted");
    let handler = "src.functions.campaign.orchestrator.handler";
    let built = plan(&project, &out, handler, Purpose::Build);
    let outcome = pipeline::build(
        built,
        &cache,
        &Connection::default(),
        Severity::Error,
        false,
        &Lines::default(),
    )
    .expect("build");
    assert_eq!(outcome.verdict, Verdict::Pass);
    assert!(outcome.refused().is_none());
    assert_eq!(outcome.published.len(), 1);
    assert_eq!(outcome.line(), outcome.published[0].line);
    assert!(out.join("index.json").is_file());

    let checked = plan(&project, &out, handler, Purpose::Check);
    assert!(checked.output.is_none() && checked.push.is_none());
    let outcome = pipeline::build(
        checked,
        &cache,
        &Connection::default(),
        Severity::Error,
        true,
        &Lines::default(),
    )
    .expect("check");
    assert_eq!(outcome.verdict, Verdict::Pass);
    assert!(outcome.published.is_empty());
}
