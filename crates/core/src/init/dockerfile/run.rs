//! `RUN` lines: lamina runs no commands, so each command of a `RUN` (split at `&&`, `||`, `;`) is
//! either the dependency step (`pip install -r FILE`, optionally `--find-links DIR`), something
//! lamina makes unnecessary (upgrading pip), or reported with what to do instead (system packages,
//! anything else).

use super::parse::words;
use super::FromDockerfile;
use crate::init::Note;
use std::path::Path;

enum Cmd {
    Requirements(String),
    PipSelf,
    PipPackages(Vec<String>),
    System(String),
    Other(String),
}

fn split_commands(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in s.split('\n') {
        let mut rest = line;
        loop {
            let cut = ["&&", "||", ";"]
                .iter()
                .filter_map(|sep| rest.find(sep).map(|p| (p, sep.len())))
                .min();
            match cut {
                Some((p, n)) => {
                    out.push(rest[..p].trim().to_string());
                    rest = &rest[p + n..];
                }
                None => {
                    out.push(rest.trim().to_string());
                    break;
                }
            }
        }
    }
    out.retain(|c| !c.is_empty());
    out
}

fn classify(cmd: &str, context: &Path, wheels: &mut Option<String>) -> Cmd {
    let mut w = words(cmd);
    while w
        .first()
        .is_some_and(|x| x == "sudo" || (x.contains('=') && !x.starts_with('-')))
    {
        w.remove(0);
    }
    let prog = w
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .unwrap_or_default();
    let pip_args: Option<&[String]> =
        if prog.starts_with("pip") && w.get(1).is_some_and(|a| a == "install") {
            Some(&w[2..])
        } else if prog.starts_with("python")
            && w.get(1).is_some_and(|a| a == "-m")
            && w.get(2).is_some_and(|a| a == "pip")
            && w.get(3).is_some_and(|a| a == "install")
        {
            Some(&w[4..])
        } else {
            None
        };
    if let Some(args) = pip_args {
        let mut req = None;
        let mut packages = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let value = |i: &mut usize| -> Option<String> {
                *i += 1;
                args.get(*i).cloned()
            };
            if a == "-r" || a == "--requirement" {
                req = value(&mut i);
            } else if let Some(v) = a
                .strip_prefix("--requirement=")
                .or_else(|| a.strip_prefix("-r").filter(|v| !v.is_empty()))
            {
                req = Some(v.to_string());
            } else if a == "-f" || a == "--find-links" {
                if let Some(d) = value(&mut i) {
                    if context.join(&d).is_dir() {
                        *wheels =
                            Some(d.trim_start_matches("./").trim_end_matches('/').to_string());
                    }
                }
            } else if let Some(d) = a.strip_prefix("--find-links=") {
                if context.join(d).is_dir() {
                    *wheels = Some(d.trim_start_matches("./").trim_end_matches('/').to_string());
                }
            } else if matches!(
                a.as_str(),
                "-t" | "--target"
                    | "-c"
                    | "--constraint"
                    | "-i"
                    | "--index-url"
                    | "--extra-index-url"
                    | "--platform"
                    | "--python-version"
                    | "--implementation"
                    | "--abi"
                    | "--prefix"
                    | "--root"
            ) {
                i += 1;
            } else if !a.starts_with('-') {
                packages.push(a.clone());
            }
            i += 1;
        }
        return match (req, packages.as_slice()) {
            (Some(r), _) => Cmd::Requirements(r),
            (None, [p]) if p == "pip" || p == "setuptools" || p == "wheel" => Cmd::PipSelf,
            (None, p)
                if p.iter()
                    .all(|p| matches!(p.as_str(), "pip" | "setuptools" | "wheel"))
                    && !p.is_empty() =>
            {
                Cmd::PipSelf
            }
            (None, p) => Cmd::PipPackages(p.to_vec()),
        };
    }
    match prog.as_str() {
        "yum" | "dnf" | "microdnf" | "rpm" | "apt-get" | "apt" | "apk" | "amazon-linux-extras" => {
            Cmd::System(prog)
        }
        _ => Cmd::Other(cmd.to_string()),
    }
}

pub fn run(args: &str, at: &str, shown: &str, context: &Path, out: &mut FromDockerfile) {
    let mut wheels = None;
    for c in split_commands(args) {
        match classify(&c, context, &mut wheels) {
            Cmd::Requirements(r) => {
                if let Some((prev, _)) = &out.requirements {
                    out.notes.push(Note::untranslated(at, shown, format!("a second requirements file ({r}; {prev} came first): merge them into one lock")));
                } else {
                    out.requirements = Some((r.trim_start_matches("./").to_string(), at.to_string()));
                    // The note is written by `init`, once it knows whether there is a lock.
                }
            }
            Cmd::PipSelf => out.notes.push(Note::translated(at, shown, format!("`{c}`: nothing to do, lamina installs wheels without pip"))),
            Cmd::PipPackages(p) => out.notes.push(Note::untranslated(at, shown, format!("pip install {}: add {} to the requirements (and lock them) so the dependency layer has them", p.join(" "), if p.len() == 1 { "it" } else { "them" }))),
            Cmd::System(tool) => out.notes.push(Note::untranslated(at, shown, format!("{tool} installs system packages, which needs a running container: lamina has none. Use manylinux wheels that bundle their native libraries (most do), vendor a library's .so files under /var/task/lib (on LD_LIBRARY_PATH), or build a base image that has it and use it as the base"))),
            Cmd::Other(c) => out.notes.push(Note::untranslated(at, shown, format!("`{c}`: lamina runs no commands at build time; do it before lamina build (the source tree is copied as it is) or drop it"))),
        }
    }
    if let Some(w) = wheels {
        out.notes.push(Note::translated(
            at,
            shown,
            format!("wheels = \"{w}\" (pip's --find-links directory)"),
        ));
        out.wheels = Some(w);
    }
}
