//! `lamina verify REF`: opens the published image (`REPO@sha256:…`, `REPO:TAG` or `oci:DIR:TAG`;
//! one that does not exist fails before anything is built), builds the image again from the same
//! inputs and flags as `build`, with no cache at all (a private empty cache directory, removed
//! afterwards; no remote cache), and compares: exit 0 only if the manifest digests are equal, else
//! an error naming the first layer and path that differ. It runs no Lambda gate, writes no output
//! and pushes nothing.

use crate::cli::BuildArgs;
use clap::Args;
use lamina_core::diagnostic::{Context, Result};
use lamina_core::pipeline::{self, Purpose};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The published image: REPO@sha256:…, REPO:TAG or oci:DIR:TAG.
    #[arg(value_name = "REF")]
    pub reference: String,
    #[command(flatten)]
    pub build: BuildArgs,
}

pub fn run(args: VerifyArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("the current directory")?;
    let reference = pipeline::verify::target(&args.reference, &cwd)?;
    let printer = crate::cli::Printer::new("verify");
    let b = &args.build;
    for (given, flag) in [
        (b.overrides.sbom.is_some(), "--sbom"),
        (b.overrides.provenance.is_some(), "--provenance"),
    ] {
        if given {
            use clap::CommandFactory;
            crate::cli::Cli::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("lamina verify writes nothing, so {flag} does not apply; lamina sbom REF prints the attached SBOM"),
                )
                .exit();
        }
    }
    let plan = pipeline::plan_for(
        &b.project,
        b.overrides.clone().into(),
        Purpose::Verify,
        &printer,
    )?;
    let conn = b.registry.connection(None);
    let verified = pipeline::verify(&reference, plan, &conn, &printer)?;
    crate::cli::emit(verified.digest.as_ref())?;
    Ok(())
}
