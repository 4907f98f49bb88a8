//! `lamina`: parse, run, print one error chain with a hint. Exit 0 ok, 1 build error, 2 usage error.

mod cli;
mod init_cmd;
mod progress;
mod report;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = cli::run(cli) {
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
        if let Some(h) = err.chain().find_map(lamina::hint) {
            eprintln!("hint: {h}");
        }
        std::process::exit(1);
    }
}
