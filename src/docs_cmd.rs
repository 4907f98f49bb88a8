//! `lamina completions SHELL` and `lamina man`: shell completions (clap_complete) and man pages
//! (clap_mangen) generated from the same clap definitions the binary parses with, so they never
//! drift from the flags. The wheel ships them under `share/` (python/lamina.data/, pinned by
//! tests/it/distribution.rs). Nothing here runs a build.

use crate::cli::Cli;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use lamina_core::diagnostic::{Failure, Result};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write lamina.1 and one page per subcommand (lamina-build.1, …) into DIR instead of
    /// printing lamina.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "lamina", &mut out);
    crate::cli::emit(String::from_utf8_lossy(&out).trim_end())?;
    Ok(())
}

pub fn man(args: ManArgs) -> Result<()> {
    match args.out {
        None => {
            let mut out = Vec::new();
            page(command(), &mut out)?;
            crate::cli::emit(String::from_utf8_lossy(&out).trim_end())?;
        }
        Some(dir) => write_pages(&dir)?,
    }
    Ok(())
}

/// The clap command as the pages show it: the package version alone, without the commit, so the
/// shipped pages change with a release, not with every commit.
fn command() -> clap::Command {
    Cli::command().version(env!("CARGO_PKG_VERSION"))
}

fn page(cmd: clap::Command, out: &mut Vec<u8>) -> Result<()> {
    clap_mangen::Man::new(cmd)
        .render(out)
        .map_err(|e| Failure::msg(format!("cannot render the man page: {e}"), None))
}

/// lamina.1, then lamina-SUB.1 for each subcommand but the generated `help`.
fn write_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::msg(
            format!("cannot create {}: {e}", dir.display()),
            Some("pass --out a directory you can write to"),
        )
    })?;
    let mut cmd = command();
    cmd.build();
    let mut pages = vec![("lamina.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("lamina-{}", sub.get_name());
        pages.push((
            format!("{name}.1"),
            sub.clone()
                .display_name(name)
                .bin_name(format!("lamina {}", sub.get_name()))
                .version(env!("CARGO_PKG_VERSION")),
        ));
    }
    for (file, cmd) in pages {
        let mut out = Vec::new();
        page(cmd, &mut out)?;
        let path = dir.join(&file);
        std::fs::write(&path, out).map_err(|e| {
            Failure::msg(
                format!("cannot write {}: {e}", path.display()),
                Some("pass --out a directory you can write to"),
            )
        })?;
    }
    Ok(())
}
