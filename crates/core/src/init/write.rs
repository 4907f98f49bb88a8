//! Writing `lamina.toml`: the keys `init` translated, in a stable order, each with a comment saying
//! where it came from; written atomically (a temporary file in the same directory, renamed into
//! place), and never over an existing file unless asked to.

use super::InitError;
use crate::config::ecr::{Expire, RepoSettings};
use std::io::Write as _;
use std::path::Path;

/// What goes into `lamina.toml`, with the `file:line` each key came from.
#[derive(Debug, Default)]
pub struct Draft {
    pub sources: Vec<String>,
    pub base: (String, String),
    pub platform: (String, String),
    pub src: (Vec<String>, String),
    pub handler: Option<(String, String)>,
    pub handlers_from: Option<(String, String)>,
    pub wheels: Option<(String, String)>,
    pub lock: Option<(String, String)>,
    /// The push repository, or the line to uncomment (with what is missing).
    pub push: Option<(String, String)>,
    pub push_missing: Option<(String, String)>,
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub ecr: Option<(RepoSettings, String)>,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        q(k)
    }
}

pub fn render(d: &Draft) -> String {
    let mut s = format!(
        "# Written by `lamina init` from {}. Each key says where it came from.\n# Reference: README, \"lamina.toml reference\".\n",
        d.sources.join(" and ")
    );
    let line = |s: &mut String, k: &str, v: String, from: &str| {
        s.push_str(&format!("{k} = {v}    # {from}\n"));
    };
    line(&mut s, "base", q(&d.base.0), &d.base.1);
    line(&mut s, "platform", q(&d.platform.0), &d.platform.1);
    let src: Vec<String> = d.src.0.iter().map(|x| q(x)).collect();
    line(&mut s, "src", format!("[{}]", src.join(", ")), &d.src.1);
    if let Some((h, from)) = &d.handler {
        line(
            &mut s,
            "handler",
            q(h),
            &format!("{from} CMD (the image's Cmd)"),
        );
    }
    if let Some((f, from)) = &d.handlers_from {
        line(&mut s, "handlers_from", q(f), from);
    }
    if let Some((w, from)) = &d.wheels {
        line(&mut s, "wheels", q(w), from);
    }
    if let Some((l, from)) = &d.lock {
        line(&mut s, "lock", q(l), from);
    }
    if let Some((p, from)) = &d.push {
        line(&mut s, "push", q(p), from);
    }
    if let Some((p, why)) = &d.push_missing {
        s.push_str(&format!("# push = {}    # {why}\n", q(p)));
    }
    if !d.env.is_empty() {
        s.push_str("\n[env]    # Dockerfile ENV\n");
        for (k, v) in &d.env {
            s.push_str(&format!("{} = {}\n", key(k), q(v)));
        }
    }
    if !d.labels.is_empty() {
        s.push_str("\n[label]    # Dockerfile LABEL\n");
        for (k, v) in &d.labels {
            s.push_str(&format!("{} = {}\n", q(k), q(v)));
        }
    }
    if let Some((e, from)) = &d.ecr {
        s.push_str(&format!("\n[ecr]    # {from}\n"));
        s.push_str(&format!("create = {}\n", e.create));
        s.push_str(&format!("scan_on_push = {}\n", e.scan_on_push));
        s.push_str(&format!("tag_mutability = {}\n", q(&e.tag_mutability)));
        if let Some(n) = e.keep_last {
            s.push_str(&format!("keep_last = {n}\n"));
            let x = if e.expire == Expire::Any {
                "any"
            } else {
                "untagged"
            };
            s.push_str(&format!("expire = {}\n", q(x)));
        }
        if let Some(k) = &e.kms_key {
            s.push_str(&format!("kms_key = {}\n", q(k)));
        }
    }
    s
}

/// Writes `text` to `path` atomically; an existing file is replaced only with `force`.
pub fn write_atomic(path: &Path, text: &str, force: bool) -> Result<(), InitError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |e: std::io::Error| InitError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".lamina.toml.")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let persisted = if force {
        tmp.persist(path).map(|_| ())
    } else {
        tmp.persist_noclobber(path).map(|_| ())
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            InitError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io(e.error)
        }
    })
}
