//! `COPY` and `ADD`: lamina copies a project path P to `/var/task/P`, so a copy translates to
//! `src` when Docker would put the files at the same place; otherwise it is reported with where
//! Docker puts them. Copies out of other stages, URLs and archives have no equivalent.

use super::parse::{exec_form, words, Instruction};
use super::{absolute, FromDockerfile, TASK};
use crate::init::Note;
use std::path::Path;

fn clean_rel(s: &str) -> String {
    let s = s.trim_start_matches("./").trim_end_matches('/');
    if s.is_empty() {
        ".".into()
    } else {
        s.to_string()
    }
}

/// `*`/`?` patterns of one path segment, matched against the context's top-level names.
fn expand(src: &str, context: &Path) -> Vec<String> {
    if !src.contains(['*', '?']) || src.contains('/') {
        return vec![src.to_string()];
    }
    let re = format!(
        "^{}$",
        regex::escape(src)
            .replace("\\*", "[^/]*")
            .replace("\\?", "[^/]")
    );
    let Ok(re) = regex::Regex::new(&re) else {
        return vec![src.to_string()];
    };
    let mut names: Vec<String> = std::fs::read_dir(context)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| re.is_match(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub(super) fn copy(
    i: &Instruction,
    args: &str,
    at: &str,
    workdir: &str,
    context: &Path,
    out: &mut FromDockerfile,
) {
    let shown = i.display();
    if i.flag("from").is_some() {
        out.notes.push(Note::untranslated(at, &shown, "COPY --from copies out of another build stage: build those files beforehand and put them in the source tree".into()));
        return;
    }
    let w = exec_form(args).unwrap_or_else(|| words(args));
    if w.len() < 2 {
        out.notes.push(Note::untranslated(
            at,
            &shown,
            "needs a source and a destination".into(),
        ));
        return;
    }
    let dest_raw = &w[w.len() - 1];
    let dest = absolute(dest_raw, workdir);
    let dest_is_dir = dest_raw.ends_with('/') || dest == TASK || w.len() > 2;
    let mut done = Vec::new();
    for pattern in &w[..w.len() - 1] {
        if pattern.contains("://")
            || (i.keyword == "ADD" && (pattern.ends_with(".tar") || pattern.contains(".tar.")))
        {
            out.notes.push(Note::untranslated(
                at,
                &shown,
                "ADD of a URL or an archive: download or unpack it into the source tree first"
                    .into(),
            ));
            continue;
        }
        for src in expand(pattern, context) {
            let rel = clean_rel(&src);
            let meta = std::fs::metadata(context.join(&rel));
            let is_dir = meta.as_ref().is_ok_and(|m| m.is_dir());
            if meta.is_err() {
                out.notes.push(Note::untranslated(
                    at,
                    &shown,
                    format!("{rel} is not in the project"),
                ));
                continue;
            }
            if out
                .requirements
                .as_ref()
                .is_some_and(|(r, _)| clean_rel(r) == rel)
                || rel.ends_with("requirements.txt")
            {
                out.notes.push(Note::translated(
                    at,
                    &shown,
                    format!("{rel} feeds the dependency step; it is not part of the source layer"),
                ));
                continue;
            }
            // Where Docker puts it, and where lamina would put `src = [rel]`.
            let docker = if is_dir || !dest_is_dir {
                dest.clone()
            } else {
                let base = rel.rsplit('/').next().unwrap_or(&rel);
                format!("{}/{base}", dest.trim_end_matches('/'))
            };
            let lamina = if rel == "." {
                TASK.to_string()
            } else {
                format!("{TASK}/{rel}")
            };
            if docker == lamina {
                if !out.srcs.contains(&rel) {
                    out.srcs.push(rel.clone());
                }
                done.push(rel);
            } else if !dest.starts_with(TASK) {
                out.notes.push(Note::untranslated(at, &shown, format!("lamina adds files only under /var/task (this copies {rel} to {docker}); put what the function needs in the source tree")));
            } else {
                out.notes.push(Note::untranslated(at, &shown, format!("Docker puts {rel} at {docker}, but lamina copies a source path P to /var/task/P: move the files so the path matches (or use src = [\".\"] with a .dockerignore)")));
            }
        }
    }
    if !done.is_empty() {
        out.srcs_at.push(at.to_string());
        let list: Vec<String> = done.iter().map(|s| format!("\"{s}\"")).collect();
        let mut detail = format!("src += [{}]", list.join(", "));
        if i.flag("chown").is_some() || i.flag("chmod").is_some() {
            detail.push_str(
                " (--chown/--chmod dropped: lamina writes root-owned files every user can read)",
            );
        }
        out.notes.push(Note::translated(at, &shown, detail));
    }
}
