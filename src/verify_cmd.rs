//! `lamina verify REF`: opens the published image (`REPO@sha256:…`, `REPO:TAG` or `oci:DIR:TAG`;
//! one that does not exist fails before anything is built), builds the image again from the same
//! inputs and flags as `build`, with no cache at all (a private empty cache directory, removed
//! afterwards; no remote cache), and compares: exit 0 only if the manifest digests are equal, else
//! an error naming the first layer and path that differ. It runs no Lambda gate, writes no output
//! and pushes nothing.

use crate::cli::BuildArgs;
use clap::Args;
use lamina::build;
use lamina::cache::Cache;
use lamina::config::{self, Plan};
use lamina::diagnostic::{Context, Failure, Result};
use lamina::location::Location;
use lamina::oci;
use lamina::registry;
use lamina::verify::{self, Mismatch};

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
    let reference = Location::parse(&args.reference, &cwd).map_err(|e| {
        Failure::msg(
            format!("lamina verify REF: {e}"),
            Some("pass REPO@sha256:…, REPO:TAG or oci:DIR:TAG"),
        )
    })?;
    if let Location::Local(oci::reference::ImageRef::Archive { .. }) = reference {
        return Err(Failure::msg(
            format!("{reference}: verify compares with a registry image or an OCI layout, not a docker-archive (it has no manifest of its own)"),
            Some("pass REPO@sha256:…, REPO:TAG or oci:DIR:TAG"),
        ));
    }
    let b = &args.build;
    let project = std::path::absolute(&b.project)
        .with_context(|| format!("project directory {}", b.project.display()))?;
    lamina::diagnostic::project_dir(&project)?;
    let file = config::load_file(&project)?;
    let mut plan = Plan::resolve(
        &project,
        file,
        b.overrides.clone(),
        config::source_date_epoch()?,
    )?;
    plan.output = None;
    plan.push = None;
    // No cache at all: everything is read, downloaded and built again into an empty directory.
    let scratch = tempfile::Builder::new()
        .prefix("lamina-verify-")
        .tempdir()
        .context("a private cache directory for the rebuild")?;
    let cache = Cache::open(scratch.path())
        .with_context(|| format!("cache {}", scratch.path().display()))?;
    let mut hosts: Vec<&str> = Vec::new();
    if let Location::Registry(r) = &plan.base {
        hosts.push(&r.host);
    }
    if let Location::Registry(r) = &reference {
        hosts.push(&r.host);
    }
    let ecr = b.registry.ecr_credentials(&hosts)?;
    let creds_host = match &reference {
        Location::Registry(r) => Some(r.host.as_str()),
        Location::Local(_) => None,
    };
    let client = b.registry.client_with(creds_host, ecr, None)?;
    // The published image first: one that does not exist fails before anything is rebuilt.
    let published = match &reference {
        Location::Local(r) => oci::open(r, &plan.platform).with_context(|| format!("{r}"))?,
        Location::Registry(r) => {
            registry::pull::pull(&client, &cache, r, &plan.platform)
                .with_context(|| format!("{r}"))?
                .0
        }
    };
    let mut log = |m: String| eprintln!("lamina: {m}");
    log(format!(
        "verify: rebuilding {} with no cache (a private empty cache, removed afterwards)",
        project.display()
    ));
    let base = lamina::base::open(&plan, &client, &cache)?;
    let index = lamina::codeartifact::index_client(b.registry.profile.clone());
    let variant = base.host_variant.as_ref();
    let built = build::build_with(&plan, base.image, variant, &cache, &index, &mut log)?;
    let rebuilt = verify::same_family(&built.image, &published);
    log(format!(
        "verify: rebuilt {} ({} media types), {reference} is {}",
        rebuilt.digest(),
        verify::family(rebuilt.format),
        published.digest()
    ));
    let names = verify::layer_names(
        built.base_layers,
        built.new_layers.iter().map(|n| n.name.clone()),
    );
    let difference = verify::compare(&built.image, &published, &names)?;
    drop(cache);
    scratch
        .close()
        .context("removing the rebuild's private cache")?;
    match difference {
        None => {
            log(format!(
                "verify: {reference} is exactly what these inputs build"
            ));
            crate::cli::emit(rebuilt.digest().as_ref())?;
            Ok(())
        }
        Some(what) => Err(Mismatch {
            reference: reference.to_string(),
            what,
        }
        .into()),
    }
}
