//! `lamina init`: the command line around `lamina_core::init`. The report (what was translated, what
//! was not and what to do instead, warnings) goes to stderr; stdout gets the written file's path.

use clap::Args;
use lamina_core::diagnostic::{Context, Result};
use lamina_core::init::{self, InitOptions, Note, Verdict};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The project directory: where the Dockerfile and serverless.yml are, and lamina.toml goes.
    #[arg(
        short = 'C',
        long = "project-dir",
        value_name = "DIR",
        default_value = "."
    )]
    pub project: PathBuf,
    /// Replace an existing lamina.toml.
    #[arg(long)]
    pub force: bool,
    /// The Serverless stage, for ${opt:stage} and ${sls:stage} (default: provider.stage, else dev).
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// The Serverless region, for ${opt:region} (default: provider.region, else us-east-1).
    #[arg(long, value_name = "NAME")]
    pub region: Option<String>,
    /// The AWS account id of the ECR repository (for push = ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME).
    #[arg(long, value_name = "ID", value_parser = parse_account)]
    pub account: Option<String>,
}

fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err("an AWS account id is 12 digits".into())
    }
}

fn section(title: &str, notes: &[&Note]) {
    if notes.is_empty() {
        return;
    }
    eprintln!("{title}");
    for n in notes {
        eprintln!("  {}  {}", n.at, n.what);
        eprintln!("      -> {}", n.detail);
    }
}

pub fn run(args: InitArgs) -> Result<()> {
    let project = std::path::absolute(&args.project)
        .with_context(|| format!("project directory {}", args.project.display()))?;
    lamina_core::diagnostic::project_dir(&project)?;
    let o = InitOptions {
        force: args.force,
        stage: args.stage,
        region: args.region,
        account: args.account,
    };
    let out = init::init(&project, &o)?;
    let pick = |v: Verdict| {
        out.notes
            .iter()
            .filter(|n| n.verdict == v)
            .collect::<Vec<_>>()
    };
    section("lamina: translated:", &pick(Verdict::Translated));
    section(
        "lamina: not translated (what to do instead):",
        &pick(Verdict::NotTranslated),
    );
    section("lamina: warnings:", &pick(Verdict::Warning));
    eprintln!(
        "lamina: wrote {}; next: lamina check, then lamina build",
        out.path.display()
    );
    crate::cli::emit(&out.path.display().to_string())?;
    Ok(())
}
