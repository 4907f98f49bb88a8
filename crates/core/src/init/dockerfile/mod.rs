//! What a Lambda Dockerfile means in lamina's terms: `FROM` becomes the base (it must be an AWS
//! Lambda Python base from the catalog), `COPY`/`ADD` into `/var/task` become `src` entries when
//! lamina lays the files out the same way (`DIR` → `/var/task/DIR`), `CMD` the first handler, `ENV`
//! `[env]`, `LABEL` `[label]`, `ARG` defaults are substituted, and `RUN pip install -r FILE` the
//! dependency step. Every other instruction is reported with the line and what to do instead.
//! It reads files; it writes nothing.

mod copy;
pub mod parse;
mod run;

use super::{InitError, Note};
use crate::catalog;
use parse::{exec_form, substitute, words, Instruction};
use std::collections::BTreeMap;
use std::path::Path;

const TASK: &str = "/var/task";

/// What the Dockerfile says, in lamina's terms.
#[derive(Debug, Default)]
pub struct FromDockerfile {
    pub base: String,
    pub base_at: String,
    pub platform: Option<String>,
    pub srcs: Vec<String>,
    /// The `COPY`/`ADD` lines the `srcs` came from.
    pub srcs_at: Vec<String>,
    /// The handler and its `CMD` line.
    pub handler: Option<(String, String)>,
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    /// `pip install -r FILE`: the requirements file (relative to the build context).
    pub requirements: Option<(String, String)>,
    /// `pip install --find-links DIR` with a directory of the project: vendored wheels.
    pub wheels: Option<String>,
    pub notes: Vec<Note>,
}

/// The environment AWS's Python bases set (lambda-ecr-facts.md §5), for `${…}` in the Dockerfile.
fn base_env() -> BTreeMap<String, String> {
    [
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":/etc/localtime"),
        ("PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"),
        ("LAMBDA_TASK_ROOT", TASK),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Reads the Dockerfile at `path`; `context` is its build context (where `COPY` sources are).
pub fn read(path: &Path, shown: &str, context: &Path) -> Result<FromDockerfile, InitError> {
    let text = std::fs::read_to_string(path).map_err(|e| InitError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let ins = parse::parse(&text);
    let at = |line: usize| format!("{shown}:{line}");
    let froms: Vec<usize> = (0..ins.len())
        .filter(|&i| ins[i].keyword == "FROM")
        .collect();
    let Some(&last) = froms.last() else {
        let first = ins.first().map_or(1, |i| i.line);
        return Err(InitError::Dockerfile {
            at: at(first),
            message: "no FROM instruction: this is not a Dockerfile lamina can translate".into(),
            hint: "a Lambda Dockerfile starts with FROM public.ecr.aws/lambda/python:3.X".into(),
        });
    };
    let mut out = FromDockerfile::default();
    let mut vars = base_env();
    // ARGs before the first FROM, and the stages' aliases, are what FROM lines may use.
    let mut aliases: BTreeMap<String, String> = BTreeMap::new();
    for (idx, i) in ins.iter().enumerate() {
        if i.keyword == "ARG" && idx < froms[0] {
            arg(i, &mut vars);
        }
        if i.keyword == "FROM" {
            let w = words(&substitute(&i.args, &vars).unwrap_or_default());
            if w.len() == 3 && w[1].eq_ignore_ascii_case("as") {
                let target = aliases.get(&w[0]).cloned().unwrap_or_else(|| w[0].clone());
                aliases.insert(w[2].clone(), target);
            }
        }
    }
    let from = &ins[last];
    let fw = substitute(&from.args, &vars).map_err(|v| InitError::Dockerfile {
        at: at(from.line),
        message: format!("FROM uses ${{{v}}}, which has no default"),
        hint: format!("give it one (ARG {v}=…) or write the base out"),
    })?;
    let fw = words(&fw);
    let reference = fw.first().cloned().unwrap_or_default();
    let reference = aliases.get(&reference).cloned().unwrap_or(reference);
    check_base(&reference, &at(from.line))?;
    out.base = reference.clone();
    out.base_at = at(from.line);
    out.notes.push(Note::translated(
        &at(from.line),
        &from.display(),
        format!("base = \"{reference}\""),
    ));
    if let Some(p) = from
        .flag("platform")
        .and_then(|p| substitute(p, &vars).ok())
    {
        out.platform = Some(p);
    } else if reference.ends_with("-arm64") {
        out.platform = Some("linux/arm64".into());
    }
    if froms.len() > 1 {
        out.notes.push(Note::untranslated(
            &format!("{shown}:{}-{}", ins[froms[0]].line, from.line.saturating_sub(1)),
            &format!("{} build stages before the final FROM", froms.len() - 1),
            "multi-stage builds have no lamina equivalent (lamina runs no commands): produce what the earlier stages built beforehand (wheels with pip download or a lock, files into the source tree); only the final stage is translated".into(),
        ));
    }
    let mut workdir = TASK.to_string();
    for i in &ins[last + 1..] {
        let a = at(i.line);
        let shown_i = i.display();
        let args = match substitute(&i.args, &vars) {
            Ok(s) => s,
            Err(v) if i.keyword != "RUN" => {
                out.notes.push(Note::untranslated(&a, &shown_i, format!("${{{v}}} has no value here (no ARG default, no earlier ENV); write the value out")));
                continue;
            }
            Err(_) => i.args.clone(),
        };
        match i.keyword.as_str() {
            "ARG" => {
                arg(i, &mut vars);
                out.notes.push(Note::translated(&a, &shown_i, "its default is substituted where it is used".into()));
            }
            "ENV" => env(i, &args, &a, &mut vars, &mut out),
            "LABEL" => {
                for (k, v) in pairs(&args) {
                    out.labels.push((k.clone(), v.clone()));
                    out.notes.push(Note::translated(&a, &shown_i, format!("[label] \"{k}\" = \"{v}\"")));
                }
            }
            "COPY" | "ADD" => copy::copy(i, &args, &a, &workdir, context, &mut out),
            "CMD" => cmd(&args, &a, &shown_i, &mut out),
            "RUN" => run::run(&args, &a, &shown_i, context, &mut out),
            "WORKDIR" => {
                let w = absolute(&args, &workdir);
                if w == TASK {
                    out.notes.push(Note::translated(&a, &shown_i, "nothing to do: /var/task is the base's WorkingDir".into()));
                } else {
                    out.notes.push(Note::untranslated(&a, &shown_i, "lamina keeps the base's WorkingDir /var/task, where Lambda looks for the handler; put the code under /var/task".into()));
                }
                workdir = w;
            }
            "ENTRYPOINT" => out.notes.push(Note::untranslated(&a, &shown_i, "lamina keeps the base's /lambda-entrypoint.sh (Lambda's runtime interface client); drop the custom entrypoint, or run it from your handler".into())),
            "USER" => out.notes.push(Note::untranslated(&a, &shown_i, "delete it: Lambda runs the function as its own non-root user whatever USER says, and lamina's files are readable by it".into())),
            "EXPOSE" | "VOLUME" | "HEALTHCHECK" | "STOPSIGNAL" | "SHELL" | "ONBUILD" | "MAINTAINER" => out.notes.push(Note::untranslated(&a, &shown_i, format!("delete it: Lambda ignores {} (it honours only ENTRYPOINT, CMD, WORKDIR and ENV)", i.keyword))),
            _ => out.notes.push(Note::untranslated(&a, &shown_i, "not a Dockerfile instruction lamina knows".into())),
        }
    }
    Ok(out)
}

fn arg(i: &Instruction, vars: &mut BTreeMap<String, String>) {
    for w in words(&i.args) {
        match w.split_once('=') {
            Some((k, v)) => {
                let v = substitute(v, vars).unwrap_or_else(|_| v.to_string());
                vars.insert(k.to_string(), v);
            }
            None => {
                vars.entry(w).or_default();
            }
        }
    }
}

/// The catalog must know the base (or it is AWS's Python base pinned by digest).
fn check_base(reference: &str, at: &str) -> Result<(), InitError> {
    if catalog::lookup(reference).is_some() {
        return Ok(());
    }
    if reference.starts_with("public.ecr.aws/lambda/python@sha256:") {
        return Ok(());
    }
    let known: Vec<String> = catalog::all().iter().map(|b| b.python.clone()).collect();
    Err(InitError::Dockerfile {
        at: at.into(),
        message: format!("FROM {reference}: not an AWS Lambda Python base lamina knows"),
        hint: format!(
            "lamina builds on public.ecr.aws/lambda/python:3.X ({}) — the base the Dockerfile would need for Lambda anyway; change FROM (or pass the base to lamina build --base)",
            known.join(", ")
        ),
    })
}

/// `ENV K=V …` or the old `ENV K V`.
fn env(
    i: &Instruction,
    args: &str,
    at: &str,
    vars: &mut BTreeMap<String, String>,
    out: &mut FromDockerfile,
) {
    let kv = if words(args).first().is_some_and(|w| w.contains('=')) {
        pairs(args)
    } else {
        match args.split_once(char::is_whitespace) {
            Some((k, v)) => vec![(k.to_string(), v.trim().to_string())],
            None => Vec::new(),
        }
    };
    for (k, v) in kv {
        vars.insert(k.clone(), v.clone());
        out.notes.push(Note::translated(
            at,
            &i.display(),
            format!("[env] {k} = \"{v}\""),
        ));
        out.env.retain(|(e, _)| *e != k);
        out.env.push((k, v));
    }
}

fn pairs(args: &str) -> Vec<(String, String)> {
    words(args)
        .into_iter()
        .filter_map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn absolute(p: &str, workdir: &str) -> String {
    let p = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{workdir}/{p}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

fn cmd(args: &str, at: &str, shown: &str, out: &mut FromDockerfile) {
    let (items, shell) = match exec_form(args) {
        Some(v) => (v, false),
        None => (words(args), true),
    };
    match items.as_slice() {
        [h] if crate::config::check_handler(h).is_ok() => {
            let mut detail = format!("handler = \"{h}\" (the image's Cmd)");
            if shell {
                detail.push_str("; note: the shell form would have run /bin/sh -c, which Lambda's entrypoint rejects; lamina writes the exec form");
            }
            out.handler = Some((h.clone(), at.to_string()));
            out.notes.push(Note::translated(at, shown, detail));
        }
        [h] => out.notes.push(Note::untranslated(at, shown, format!("'{h}' is not module.function: {}", crate::config::check_handler(h).unwrap_err()))),
        _ => out.notes.push(Note::untranslated(at, shown, format!("Lambda's entrypoint takes exactly one argument, the handler; this CMD has {} (it would exit 142)", items.len()))),
    }
}

#[cfg(test)]
mod tests;
