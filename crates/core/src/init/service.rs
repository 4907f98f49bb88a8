//! The Serverless side of `init`: each function's handler (read again at build time through
//! `handlers_from`), the ECR repository resource turned into `[ecr]` and the push repository, and
//! the old build-and-push scripts that `lamina build` replaces.

use super::{ecr_resource, rel, write, InitError, InitOptions, Note};
use crate::serverless::{self, vars, FunctionKind, ImageUse};
use std::path::Path;

/// The functions, the ECR resource and the push repository.
pub(super) fn service(
    r: &mut vars::Resolver,
    project: &Path,
    shown: &str,
    o: &InitOptions,
    d: &mut write::Draft,
    notes: &mut Vec<Note>,
) -> Result<(), InitError> {
    let fns = serverless::functions(r)?;
    let images = serverless::ecr_images(r)?;
    let dir = r.service_dir().to_path_buf();
    let mut any = false;
    for f in &fns {
        // A function deploying another provider.ecr.images entry (built from elsewhere).
        if let FunctionKind::Image {
            image: ImageUse::Named(n),
            ..
        } = &f.kind
        {
            if let Some(i) = images.iter().find(|i| &i.name == n) {
                if i.uri.is_none() && !serverless::same_dir(&dir, i.path.as_deref(), project) {
                    notes.push(Note::untranslated(
                        &f.at,
                        &format!("function {}", f.name),
                        format!("it deploys image {n}, built from {}: not this image, so not checked here", i.path.as_deref().unwrap_or(".")),
                    ));
                    continue;
                }
            }
        }
        match &f.kind {
            FunctionKind::Zip => notes.push(Note::untranslated(
                &f.at,
                &format!("function {}", f.name),
                "a .zip function (handler:), not deployed from this image: left as it is".into(),
            )),
            FunctionKind::Image {
                handler: Some((h, at)),
                image,
            } => {
                any = true;
                let via = match image {
                    ImageUse::Named(n) => format!("image {n}"),
                    ImageUse::Uri => "image.uri".into(),
                };
                notes.push(Note::translated(at, &format!("function {}: image.command", f.name), format!("{h} ({via}): read at build time through handlers_from, so the gate checks it")));
            }
            FunctionKind::Image { handler: None, .. } => notes.push(Note::translated(
                &f.at,
                &format!("function {}", f.name),
                "no image.command: it runs the image's Cmd (the first handler)".into(),
            )),
        }
    }
    if any {
        d.handlers_from = Some((
            shown.to_string(),
            "every image function's image.command".into(),
        ));
    }
    let mut repos = ecr_resource::find(r)?;
    if repos.len() > 1 {
        for extra in &repos[1..] {
            notes.push(Note::untranslated(
                &extra.at,
                &extra.logical_id,
                format!(
                    "a second ECR repository; lamina pushes to one ({})",
                    repos[0].logical_id
                ),
            ));
        }
    }
    if let Some(repo) = (!repos.is_empty()).then(|| repos.remove(0)) {
        notes.extend(repo.notes.iter().cloned());
        notes.push(Note::translated(&repo.at, &format!("{} (AWS::ECR::Repository)", repo.logical_id), "lamina creates and configures the repository before the first push ([ecr]); remove the resource from CloudFormation with DeletionPolicy: Retain first (README, \"From Docker + Serverless\")".into()));
        let region = r.region()?;
        if let Some(name) = &repo.name {
            let host_repo = |acct: &str| format!("{acct}.dkr.ecr.{region}.amazonaws.com/{name}");
            match &o.account {
                Some(a) => {
                    d.push = Some((
                        host_repo(a),
                        format!("{} RepositoryName; region {region}; --account", repo.at),
                    ))
                }
                None => {
                    d.push_missing = Some((
                        host_repo("ACCOUNT"),
                        "set your AWS account id (or run lamina init --account ID)".into(),
                    ));
                    notes.push(Note::untranslated(&repo.at, "push repository", format!("the AWS account is not in the project: uncomment push = \"{}\" with your account id (aws sts get-caller-identity), or rerun with --account", host_repo("ACCOUNT"))));
                }
            }
        }
        d.ecr = Some((
            repo.settings.clone(),
            format!("{} ({})", repo.at, repo.logical_id),
        ));
    }
    Ok(())
}

/// The old build-and-push scripts: replaced by `lamina build`.
pub(super) fn scripts(project: &Path, notes: &mut Vec<Note>) {
    let Ok(dir) = std::fs::read_dir(project.join("scripts")) else {
        return;
    };
    let mut found: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("sh" | "ps1")))
        .filter(|p| {
            std::fs::read_to_string(p)
                .is_ok_and(|t| t.contains("docker build") || t.contains("docker push"))
        })
        .map(|p| rel(project, &p))
        .collect();
    found.sort();
    for s in found {
        notes.push(Note::translated(&s, &s, "replaced by `lamina build` (it logs in to ECR, builds and pushes, no Docker): delete it".into()));
    }
}
