//! `lamina init`: reads what a Docker + Serverless Lambda project already has (the Dockerfile,
//! `serverless.yml` with its `${file()}` includes, the CloudFormation ECR repository, a lock) and
//! writes the `lamina.toml` that builds the same image, with a note for every line it translated
//! and every line it could not (file and line, and what to do instead). On any error nothing is
//! written; the file is written atomically and never over an existing one without `force`.
//! It reads no network and runs nothing.

pub mod deps;
pub mod dockerfile;
pub mod ecr_resource;
mod service;
pub mod write;

use crate::config;
use crate::serverless::{self, vars};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{at}: {message}")]
    Dockerfile {
        at: String,
        message: String,
        hint: String,
    },
    #[error(transparent)]
    Serverless(#[from] vars::VarError),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: already exists", path.display())]
    Exists { path: PathBuf },
    #[error("{}: no Dockerfile and no serverless.yml to translate", dir.display())]
    Nothing { dir: PathBuf },
    #[error("{}: no Dockerfile{}", dir.display(), if *from_serverless { " (serverless.yml's provider.ecr.images names none that exists)" } else { "" })]
    NoDockerfile { dir: PathBuf, from_serverless: bool },
    #[error("the lamina.toml it would write does not work: {0}")]
    Check(String),
}

impl lamina_support::diagnostic::Hint for InitError {
    fn hint(&self) -> Option<String> {
        match self {
            InitError::Dockerfile { hint, .. } => Some(hint.clone()),
            InitError::Serverless(e) => e.hint(),
            InitError::Exists { .. } => Some("keep it, or pass --force to replace it".into()),
            InitError::Nothing { .. } => Some("run it in the directory with the Dockerfile and serverless.yml (-C DIR)".into()),
            InitError::NoDockerfile { .. } => Some("lamina init takes the base from the Dockerfile's FROM; without one, write lamina.toml by hand (README, \"lamina.toml reference\")".into()),
            InitError::Check(_) => Some("this is a bug in lamina init's translation: please report it with the project's Dockerfile and serverless.yml".into()),
            InitError::Io { .. } => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Translated,
    NotTranslated,
    Warning,
}

/// One line of `init`'s report: where, what was there, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub at: String,
    pub what: String,
    pub verdict: Verdict,
    pub detail: String,
}

impl Note {
    pub fn translated(at: &str, what: &str, detail: String) -> Note {
        Note {
            at: at.into(),
            what: what.into(),
            verdict: Verdict::Translated,
            detail,
        }
    }
    pub fn untranslated(at: &str, what: &str, detail: String) -> Note {
        Note {
            at: at.into(),
            what: what.into(),
            verdict: Verdict::NotTranslated,
            detail,
        }
    }
    pub fn warning(at: &str, what: &str, detail: String) -> Note {
        Note {
            at: at.into(),
            what: what.into(),
            verdict: Verdict::Warning,
            detail,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct InitOptions {
    pub force: bool,
    /// Serverless's `--stage` / `--region`, for `${opt:…}` and `${sls:stage}`.
    pub stage: Option<String>,
    pub region: Option<String>,
    /// The AWS account of the push repository (ECR hosts are named by account).
    pub account: Option<String>,
}

pub struct Outcome {
    pub path: PathBuf,
    pub text: String,
    pub notes: Vec<Note>,
}

fn rel(project: &Path, p: &Path) -> String {
    p.strip_prefix(project).unwrap_or(p).display().to_string()
}

/// Translates the project in `project` and writes its `lamina.toml`.
pub fn init(project: &Path, o: &InitOptions) -> Result<Outcome, InitError> {
    let target = project.join(config::FILE_NAME);
    if target.exists() && !o.force {
        return Err(InitError::Exists { path: target });
    }
    let mut notes = Vec::new();
    let mut d = write::Draft::default();
    let sls_path = ["serverless.yml", "serverless.yaml"]
        .iter()
        .map(|n| project.join(n))
        .find(|p| p.is_file());
    let mut resolver = None;
    if let Some(p) = &sls_path {
        let mut opts = vars::Options::new();
        if let Some(s) = &o.stage {
            opts.insert("stage".into(), s.clone());
        }
        if let Some(r) = &o.region {
            opts.insert("region".into(), r.clone());
        }
        resolver = Some(vars::Resolver::open(p, opts)?);
    }
    // The Dockerfile: where provider.ecr.images says, else ./Dockerfile.
    let images = match resolver.as_mut() {
        Some(r) => serverless::ecr_images(r)?,
        None => Vec::new(),
    };
    let mut dockerfile = project.join("Dockerfile");
    for img in &images {
        let ctx = project.join(img.path.as_deref().unwrap_or("."));
        let file = ctx.join(img.file.as_deref().unwrap_or("Dockerfile"));
        if file.is_file() {
            if !serverless::same_dir(project, img.path.as_deref(), project) {
                notes.push(Note::untranslated(&img.at, &format!("provider.ecr.images.{}.path", img.name), format!("its build context is {}, not this directory: run lamina init there (-C), where the COPY sources are", ctx.display())));
            }
            notes.push(Note::translated(&img.at, &format!("provider.ecr.images.{}", img.name), "built by lamina now: delete provider.ecr.images and deploy with image.uri (README, \"From Docker + Serverless\")".into()));
            dockerfile = file;
            break;
        }
    }
    if !dockerfile.is_file() {
        return Err(if sls_path.is_none() {
            InitError::Nothing {
                dir: project.to_path_buf(),
            }
        } else {
            InitError::NoDockerfile {
                dir: project.to_path_buf(),
                from_serverless: !images.is_empty(),
            }
        });
    }
    let shown = rel(project, &dockerfile);
    d.sources.push(shown.clone());
    let df = dockerfile::read(&dockerfile, &shown, project)?;
    let known = crate::catalog::lookup(&df.base);
    d.base = (df.base.clone(), df.base_at.clone());
    if let Some(w) = known
        .as_ref()
        .and_then(|k| crate::catalog::support_warning(k, &crate::catalog::today()))
    {
        notes.push(Note::warning(&df.base_at, &format!("FROM {}", df.base), w));
    }
    // Platform: FROM --platform or an -arm64 tag, else serverless (images.platform, architecture).
    let mut platform = df.platform.clone().map(|p| (p, df.base_at.clone()));
    if let Some(r) = resolver.as_mut() {
        let root = r.root();
        if let Some(a) = r.lookup(&root, "provider.architecture")? {
            if let Some(arch) = r.text(&a)? {
                let p = if arch == "arm64" {
                    "linux/arm64"
                } else {
                    "linux/amd64"
                };
                platform.get_or_insert((p.into(), format!("{} provider.architecture", a.at())));
            }
        }
        for img in &images {
            if let Some(p) = &img.platform {
                platform.get_or_insert((
                    p.clone(),
                    format!("{} provider.ecr.images.{}.platform", img.at, img.name),
                ));
            }
        }
    }
    d.platform = platform.unwrap_or_else(|| {
        (
            "linux/amd64".into(),
            "Lambda's default architecture, x86_64".into(),
        )
    });
    let arm64 = d.platform.0.ends_with("arm64");
    d.src = (
        df.srcs.clone(),
        format!("{} COPY into /var/task", df.srcs_at.join(", ")),
    );
    if d.src.0.is_empty() {
        notes.push(Note::untranslated(&shown, "no COPY into /var/task", "src = [\".\"] copies the whole directory (minus .dockerignore); narrow it to the code's directories".into()));
        d.src = (
            vec![".".into()],
            "no COPY into /var/task: the whole directory".into(),
        );
    }
    d.handler = df.handler.clone();
    d.env = df.env.clone();
    d.labels = df.labels.clone();
    d.wheels = df
        .wheels
        .clone()
        .map(|w| (w, format!("{shown}: pip --find-links")));
    notes.extend(df.notes.iter().cloned());
    if let Some((req, at)) = &df.requirements {
        dependency_step(project, req, at, known.as_ref(), arm64, &mut d, &mut notes);
    }
    if let (Some(r), Some(p)) = (resolver.as_mut(), &sls_path) {
        let shown_sls = rel(project, p);
        d.sources.push(shown_sls.clone());
        service::service(r, project, &shown_sls, o, &mut d, &mut notes)?;
    }
    if project.join(".dockerignore").is_file() {
        notes.push(Note::translated(
            ".dockerignore",
            ".dockerignore",
            "used as it is: lamina applies Docker's rules to the source layer".into(),
        ));
    }
    service::scripts(project, &mut notes);
    if d.handler.is_none() && d.handlers_from.is_none() {
        notes.push(Note::untranslated(&shown, "no CMD and no image function", "add handler = \"module.function\" to lamina.toml: Lambda needs one for the image's Cmd".into()));
    }
    let text = write::render(&d);
    check(project, &text)?;
    write::write_atomic(&target, &text, o.force)?;
    Ok(Outcome {
        path: target,
        text,
        notes,
    })
}

/// The written file must be one `lamina build` accepts (a handler aside: the user adds it).
fn check(project: &Path, text: &str) -> Result<(), InitError> {
    let file: config::FileConfig =
        toml::from_str(text).map_err(|e| InitError::Check(e.to_string()))?;
    let o = config::Overrides {
        handler: vec!["check.handler".into()],
        ..Default::default()
    };
    match config::Plan::resolve(project, file, o, 0) {
        Ok(_) => Ok(()),
        Err(config::ConfigError::Serverless { source, .. }) => Err(InitError::Serverless(source)),
        Err(e) => Err(InitError::Check(e.to_string())),
    }
}

fn dependency_step(
    project: &Path,
    req: &str,
    at: &str,
    known: Option<&crate::catalog::BaseInfo>,
    arm64: bool,
    d: &mut write::Draft,
    notes: &mut Vec<Note>,
) {
    let what = format!("pip install -r {req}");
    let (lock_in, lock_out) = deps::lock_files(project, req);
    let lock_cmd = deps::lock_command(&lock_in, &lock_out, known, arm64);
    match deps::find_lock(project, req) {
        Some(lock) if config::accepts_key("lock") => {
            notes.push(Note::translated(at, &what, format!("lock = \"{lock}\": the dependency layer comes from the lock, exactly as pip install --no-deps --target /var/task would lay it out")));
            d.lock = Some((lock, format!("{at}: pip install -r {req}")));
        }
        Some(lock) => notes.push(Note::untranslated(at, &what, format!("{lock} is a lock, but this lamina cannot build from a lock yet; vendor its wheels (`{}`) and set wheels = \"wheels\"", deps::download_command(&lock, known, arm64)))),
        None if d.wheels.is_some() => notes.push(Note::translated(at, &what, "the dependency layer comes from the --find-links wheels".into())),
        None => notes.push(Note::untranslated(at, &what, format!(
            "{req} is not a lock (every requirement pinned with == and hashed), so lamina does not use it: make one for this base with `{lock_cmd}`{}",
            if config::accepts_key("lock") { format!(" and set lock = \"{lock_out}\"") } else { format!(", then vendor the wheels (`{}`) and set wheels = \"wheels\"", deps::download_command(req, known, arm64)) }
        ))),
    }
}
