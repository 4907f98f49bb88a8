//! `lamina`: parse, run, print the failure (`lamina_core::diagnostic`: one `error:` line, then its hint). Exit 0 ok, 1 build error, 2 usage error.
//! A closed or full stderr never stops a build (std's `eprintln!` would panic: the two macros below
//! shadow it in every module of this binary and drop what cannot be written). The result on stdout
//! is written by `cli::emit`: a reader that went away (`| head`) ends the run quietly, as ripgrep
//! does; any other write error is an error (exit 1) that repeats the result on stderr.

/// `eprintln!` that ignores a closed or full stderr.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that ignores a closed or full stderr.
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;
mod docs_cmd;
mod flags;
mod init_cmd;
mod progress;
mod report;
mod verify_cmd;

use clap::Parser;

fn main() {
    lamina_core::cleanup::on_signals();
    let cli = cli::Cli::parse();
    if let Err(failure) = cli::run(cli) {
        if let Some(e) = failure.downcast_ref::<cli::StdoutError>() {
            if e.source.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
        eprint!("{}", failure.render());
        std::process::exit(1);
    }
}
