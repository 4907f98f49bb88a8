//! The pipeline as library calls: `build` (and `check`: the same run, publishing nothing),
//! `verify` and `pull`, each taking a resolved plan (or reference) and the registry connection,
//! and returning a typed outcome. The gate's verdict decides, here, whether anything is published:
//! a refused image comes back for its report and is never handed to a sink.
//!
//! What happens along the way is told to an `Observer` (log lines, the base, the gate's findings,
//! byte counters): the caller prints; nothing here writes to a terminal or decides an exit code.

pub mod connection;
mod pull;
mod run;
pub mod sbom;
pub mod verify;

pub use connection::Connection;
pub use pull::{pull, Pulled};
pub use run::{build, open_cache, plan_for, Outcome, Purpose, Timings};
pub use sbom::{sbom, Sbom};
pub use verify::{verify, Verified};

use crate::build::Built;
use crate::config::Plan;
use crate::gate::{GateReport, Verdict};
use crate::sizes::SizeReport;
use lamina_oci::Image;

/// The index client for locked wheels: `~/.netrc`, and CodeArtifact tokens through the AWS
/// profile when built with the `aws` feature.
fn index_client(conn: &Connection) -> lamina_install::deps::LazyClient {
    #[cfg(feature = "aws")]
    return crate::codeartifact::index_client(conn.profile.clone());
    #[cfg(not(feature = "aws"))]
    {
        let _ = conn;
        crate::build::netrc_index()
    }
}

/// What a run reports as it goes: the sink's `Watch` (a line; a byte counter started and
/// stopped), and the events below, whose defaults ignore them.
pub trait Observer: crate::sink::Watch {
    /// The base is open (before any layer is built).
    fn base(&self, _plan: &Plan, _image: &Image) {}
    /// A stage has ended (told even when a later stage fails).
    fn stage(&self, _stage: Stage, _took: std::time::Duration) {}
    /// The gate has run: its findings, the size report and the verdict, before it is acted on.
    fn gate(
        &self,
        _plan: &Plan,
        _built: &Built,
        _gate: &GateReport,
        _sizes: &SizeReport,
        _verdict: Verdict,
    ) {
    }
}

/// The stages of a build, as `Observer::stage` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Plan, cache, registry client and base.
    Resolve,
    /// The dependency and source layers.
    Layers,
    /// The Lambda checks.
    Gate,
}
