//! What the user reads, pinned whole: each case runs the `lamina` binary and snapshots its exit code,
//! its stdout and its whole stderr (insta; the `.snap` files are in `tests/it/snapshots/`), so a
//! cause printed twice, a lost hint or a Rust internal leaking fails a test. Filters replace what
//! changes between runs (temporary directories, the repository path, ports, digests, durations).
//! Every failure is also checked here: one `error:` line, no cause repeated in it, nothing on stdout.
//! A new or changed snapshot fails (scripts/test.sh sets INSTA_UPDATE=no); to accept one on
//! purpose: `INSTA_UPDATE=always cargo test --test it snapshots::`, then review the diff.

mod config;
mod ecr;
mod friction;
mod gate;
mod help;
mod init;
mod inputs;
mod layouts;
mod refs;
mod registry;
mod wheels;

use crate::support::*;
use regex::Regex;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory with a copy of the example project (based on the stand-in layout).
pub struct Case {
    pub t: tempfile::TempDir,
    pub project: PathBuf,
    pub cache: PathBuf,
}

impl Case {
    pub fn new() -> Case {
        let t = tempfile::tempdir().unwrap();
        let project = pushing_project(t.path());
        let cache = t.path().join("cache");
        Case { t, project, cache }
    }

    pub fn path(&self) -> &Path {
        self.t.path()
    }

    /// `lamina ARGS` in the project, with this case's cache.
    pub fn lamina(&self, args: &[&str]) -> Command {
        let mut c = lamina(&self.project, &self.cache);
        c.args(args);
        c
    }

    /// Replaces `key = …` in lamina.toml (or adds it at the top).
    pub fn set(&self, key: &str, value: &str) {
        let path = self.project.join("lamina.toml");
        let text = fs::read_to_string(&path).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(path, format!("{key} = {value}\n{kept}")).unwrap();
    }
}

/// The text a run leaves for the user, with what varies between runs replaced.
fn render(o: &Output, roots: &[&Path]) -> String {
    let text = format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        o.status
            .code()
            .map_or("signal".to_string(), |c| c.to_string()),
        stdout(o),
        stderr(o)
    );
    let mut text = text;
    for root in roots {
        for form in [root.to_path_buf(), root.canonicalize().unwrap_or_default()] {
            let s = form.display().to_string();
            if s.len() > 1 {
                text = text.replace(&s, "[TMP]");
            }
        }
    }
    text = text.replace(&repo().display().to_string(), "[REPO]");
    let filters = [
        (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
        (r"sha256:[0-9a-f]{12}\b", "sha256:[SHORT]"),
        (r"(127\.0\.0\.1|localhost|\[::1\]):\d{5}\b", "$1:[PORT]"),
        (r"\b\d+\.\d+ ?s\b", "[TIME]"),
        (r"\b\d+ ?ms\b", "[TIME]"),
        (r"\.tmp[A-Za-z0-9]{6}", ".tmp[RAND]"),
    ];
    for (re, with) in filters {
        text = Regex::new(re)
            .unwrap()
            .replace_all(&text, with)
            .into_owned();
    }
    text
}

/// Checks what every failure must be, then compares the whole output with snapshot `name`.
pub fn check(name: &str, o: &Output, roots: &[&Path]) {
    let err = stderr(o);
    if !o.status.success() {
        assert!(
            stdout(o).is_empty(),
            "{name}: stdout on failure: {}",
            stdout(o)
        );
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{name}: one error: line\n{err}");
        let after: Vec<&str> = err
            .lines()
            .skip_while(|l| !l.starts_with("error: "))
            .skip(1)
            .collect();
        assert!(
            after.is_empty() || (after.len() == 1 && after[0].starts_with("hint: ")),
            "{name}: the error is one line, then at most its hint\n{err}"
        );
        let parts: Vec<&str> = errors[0]["error: ".len()..].split(": ").collect();
        // The AWS SDK lists each provider it tried with this phrase: its words, not a cause twice.
        let aws_list = "the credential provider was not enabled";
        for (i, p) in parts
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.starts_with(aws_list))
        {
            let again = parts[i + 1..].iter().any(|q| q == p);
            assert!(
                !(again && p.len() >= 12),
                "{name}: '{p}' printed twice\n{err}"
            );
        }
        assert!(
            err.lines().filter(|l| l.starts_with("hint: ")).count() <= 1,
            "{name}: one hint at most\n{err}"
        );
    }
    for leak in [
        "OneOrMany",
        "SizeValue",
        "serde failed",
        "untagged enum",
        "panicked",
    ] {
        assert!(!err.contains(leak), "{name}: Rust internals leak: {err}");
    }
    let text = render(o, roots);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/it/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// Runs `c` and checks its output against snapshot `name`; `roots` are replaced by `[TMP]`.
pub fn snap(name: &str, c: &mut Command, roots: &[&Path]) -> Output {
    let o = run(c);
    check(name, &o, roots);
    o
}
