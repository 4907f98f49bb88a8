//! `lamina`: parse, run, print one error chain with a hint. Exit 0 ok, 1 build error, 2 usage error.
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
mod flags;
mod init_cmd;
mod progress;
mod report;

use clap::Parser;

fn main() {
    lamina::cleanup::on_signals();
    let cli = cli::Cli::parse();
    if let Err(err) = cli::run(cli) {
        if let Some(e) = err.downcast_ref::<cli::StdoutError>() {
            if e.source.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
        let mut chain: Vec<String> = Vec::new();
        for cause in err.chain() {
            let msg = cause.to_string();
            // thiserror messages often embed their source's text: print each piece once.
            if chain.last().is_some_and(|prev| prev.contains(&msg)) || msg.is_empty() {
                continue;
            }
            chain.push(msg);
        }
        eprintln!("error: {}", chain.join(": "));
        let hint = err
            .downcast_ref::<cli::StdoutError>()
            .map(|_| "stdout could not take the result (a full disk, or a closed file?): the line is in the error above".to_string())
            .or_else(|| err.chain().find_map(lamina::hint));
        if let Some(h) = hint {
            eprintln!("hint: {h}");
        }
        std::process::exit(1);
    }
}
