//! `Plan::resolve`'s sections, one small resolver each: a flag wins over its `lamina.toml` key,
//! the value is checked, and a bad one is a `ConfigError` naming its field. Without a lamina.toml
//! a missing required value names the flag to pass instead. It reads no environment variable and
//! no file but `handlers_from`'s serverless.yml.

use super::{
    archive_name, check_handler, parse_glibc, parse_python, parse_size, wheels_input, ConfigError,
    DepsConfig, OneOrMany, SizeValue, DEFAULT_MAX_UNPACKED, DEFAULT_OUTPUT,
};
use crate::location::Location;
use lamina_oci::reference::ImageRef;
use lamina_oci::Platform;
use lamina_registry::Reference;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, ConfigError>;

/// For each handler read from serverless.yml, the functions that run it (for messages).
pub(super) type HandlerFunctions = BTreeMap<String, Vec<String>>;

/// The project being resolved, and whether it has a lamina.toml.
pub(super) struct Resolver<'a> {
    pub project: &'a Path,
    pub have_file: bool,
}

/// The flag's values when any were given, else the file's.
pub(super) fn flag_or_file(flag: Vec<String>, file: Option<OneOrMany>) -> Vec<String> {
    if flag.is_empty() {
        file.map(OneOrMany::into_vec).unwrap_or_default()
    } else {
        flag
    }
}

/// `--allow-bad-record` and `allow_bad_record`, as normalized project names.
pub(super) fn project_names(flag: Vec<String>, file: Option<Vec<String>>) -> Vec<String> {
    flag.iter()
        .chain(file.unwrap_or_default().iter())
        .map(|n| lamina_python::normalize_name(n))
        .collect()
}

impl Resolver<'_> {
    pub fn invalid(&self, field: &str, reason: String) -> ConfigError {
        ConfigError::Invalid {
            field: field.into(),
            reason,
        }
    }

    fn no_config(&self, flag: &'static str) -> ConfigError {
        ConfigError::NoConfig {
            dir: self.project.into(),
            flag,
        }
    }

    /// A path from the file or a flag: absolute as given, else inside the project.
    pub fn in_project(&self, p: &str) -> PathBuf {
        if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            self.project.join(p)
        }
    }

    pub fn base(&self, flag: Option<String>, file: Option<String>) -> Result<Location> {
        let base = match flag.or(file) {
            Some(b) => b,
            None if !self.have_file => return Err(self.no_config("--base")),
            None => return Err(self.invalid("base", "no base image given".into())),
        };
        Location::parse(&base, self.project).map_err(|reason| ConfigError::Reference {
            field: "base".into(),
            reason,
        })
    }

    pub fn srcs(&self, flag: Vec<String>, file: Option<OneOrMany>) -> Result<Vec<String>> {
        let srcs = flag_or_file(flag, file);
        if srcs.is_empty() {
            if !self.have_file {
                return Err(self.no_config("--src"));
            }
            return Err(self.invalid("src", "no source directory given".into()));
        }
        Ok(srcs)
    }

    /// `handler` (flags win), then those of `handlers_from`'s image functions not already listed,
    /// with the functions that run each one.
    pub fn handlers(
        &self,
        flag: Vec<String>,
        file: Option<OneOrMany>,
        from: Option<String>,
    ) -> Result<(Vec<String>, HandlerFunctions)> {
        let mut handlers = flag_or_file(flag, file);
        for (i, h) in handlers.iter().enumerate() {
            check_handler(h).map_err(|r| self.invalid(&format!("handler[{i}]"), r))?;
        }
        let mut functions = HandlerFunctions::new();
        if let Some(from) = from {
            let path = self.project.join(&from);
            let found = crate::serverless::handlers(&path, self.project).map_err(|e| {
                ConfigError::Serverless {
                    field: "handlers_from".into(),
                    source: e,
                }
            })?;
            if found.is_empty() {
                return Err(self.invalid(
                    "handlers_from",
                    format!("{from}: no function runs this image with an image.command"),
                ));
            }
            for f in found {
                check_handler(&f.handler)
                    .map_err(|r| self.invalid(&format!("handlers_from: {}", f.at), r))?;
                if !handlers.contains(&f.handler) {
                    handlers.push(f.handler.clone());
                }
                functions
                    .entry(f.handler)
                    .or_default()
                    .push(format!("function {} ({})", f.function, f.at));
            }
        }
        if handlers.is_empty() && !self.have_file {
            return Err(self.no_config("--handler"));
        }
        if handlers.is_empty() {
            return Err(self.invalid(
                "handler",
                "no handler given; Lambda needs Cmd = [handler]".into(),
            ));
        }
        Ok((handlers, functions))
    }

    /// The file's `env` (names checked), then `--env` over it.
    pub fn env(
        &self,
        file: Option<BTreeMap<String, String>>,
        flag: Vec<(String, String)>,
    ) -> Result<BTreeMap<String, String>> {
        let mut env = file.unwrap_or_default();
        if let Some(k) = env
            .keys()
            .find(|k| k.is_empty() || k.contains('=') || k.chars().any(char::is_whitespace))
        {
            return Err(self.invalid(
                &format!("env.{k}"),
                "not a valid environment variable name".into(),
            ));
        }
        env.extend(flag);
        Ok(env)
    }

    pub fn platform(&self, flag: Option<Platform>, file: Option<String>) -> Result<Platform> {
        Ok(match (flag, file) {
            (Some(p), _) => p,
            (None, Some(s)) => s.parse().map_err(|e| self.invalid("platform", e))?,
            (None, None) => Platform::linux_amd64(),
        })
    }

    /// The push target (`REPO[:TAG]`, never a digest) and every tag to give it, its own first.
    pub fn push(
        &self,
        push: Option<String>,
        flag_tags: Vec<String>,
        file_tags: Option<OneOrMany>,
    ) -> Result<Option<(Reference, Vec<String>)>> {
        let Some(p) = push else {
            return Ok(None);
        };
        let r = Reference::parse(p.strip_prefix("docker://").unwrap_or(&p)).map_err(|e| {
            ConfigError::Reference {
                field: "push".into(),
                reason: e.to_string(),
            }
        })?;
        if r.digest.is_some() {
            return Err(self.invalid("push", "push to REPO[:TAG], not to a digest".into()));
        }
        let mut tags: Vec<String> = r.tag.iter().cloned().collect();
        for t in flag_or_file(flag_tags, file_tags) {
            if !lamina_oci::reference::valid_tag(&t) {
                return Err(self.invalid("tag", format!("'{t}' is not a valid tag")));
            }
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        Ok(Some((r.with_tag(None), tags)))
    }

    /// `cache_repo`: a repository, without a tag or digest.
    pub fn cache_repo(&self, repo: Option<String>) -> Result<Option<Reference>> {
        let Some(c) = repo else {
            return Ok(None);
        };
        let r = Reference::parse(c.strip_prefix("docker://").unwrap_or(&c)).map_err(|e| {
            ConfigError::Reference {
                field: "cache_repo".into(),
                reason: e.to_string(),
            }
        })?;
        if r.digest.is_some() || r.tag.is_some() {
            return Err(self.invalid(
                "cache_repo",
                "name a repository (REPO), without a tag or digest".into(),
            ));
        }
        Ok(Some(r))
    }

    /// The local output (none when only pushing) and lamina.toml's usual output, which stays
    /// lamina's even when `-o` writes elsewhere (a source walk of "." must not copy it).
    pub fn output(
        &self,
        flag: Option<String>,
        file: Option<String>,
        pushing: bool,
    ) -> Result<(Option<ImageRef>, Option<ImageRef>)> {
        let usual = ImageRef::parse(file.as_deref().unwrap_or(DEFAULT_OUTPUT), self.project).ok();
        let out = match (flag.or(file), pushing) {
            (Some(o), _) => Some(o),
            (None, false) => Some(DEFAULT_OUTPUT.to_string()),
            (None, true) => None,
        };
        let output = match out {
            None => None,
            Some(s) => Some(
                ImageRef::parse(&s, self.project).map_err(|e| ConfigError::Ref {
                    field: "output".into(),
                    source: e,
                })?,
            ),
        };
        // A docker-archive without NAME:TAG still gets a name, or `docker load` leaves it untagged.
        let output = output.map(|o| match o {
            ImageRef::Archive { file, name: None } => ImageRef::Archive {
                file,
                name: Some(format!("{}:latest", archive_name(self.project))),
            },
            other => other,
        });
        Ok((output, usual))
    }

    pub fn python(&self, flag: Option<u32>, file: Option<String>) -> Result<Option<u32>> {
        Ok(match (flag, file) {
            (Some(p), _) => Some(p),
            (None, Some(s)) => Some(parse_python(&s).map_err(|e| self.invalid("python", e))?),
            (None, None) => None,
        })
    }

    pub fn glibc(
        &self,
        flag: Option<(u32, u32)>,
        file: Option<String>,
    ) -> Result<Option<(u32, u32)>> {
        Ok(match (flag, file) {
            (Some(g), _) => Some(g),
            (None, Some(s)) => Some(parse_glibc(&s).map_err(|e| self.invalid("glibc", e))?),
            (None, None) => None,
        })
    }

    pub fn max_unpacked(&self, flag: Option<u64>, file: Option<SizeValue>) -> Result<u64> {
        Ok(match (flag, file) {
            (Some(m), _) => m,
            (None, Some(SizeValue::Bytes(b))) => b,
            (None, Some(SizeValue::Text(t))) => {
                parse_size(&t).map_err(|e| self.invalid("max_unpacked_size", e))?
            }
            (None, None) => DEFAULT_MAX_UNPACKED,
        })
    }

    /// The dependency inputs, when there are wheels or a lock; `--wheels` must be a directory.
    pub fn deps(&self, deps: DepsConfig) -> Result<Option<DepsConfig>> {
        if let Some(d) = deps.dir.as_ref().filter(|d| d.is_file()) {
            return Err(ConfigError::WheelsNotADirectory {
                path: d.clone(),
                what: wheels_input(d),
            });
        }
        Ok((deps.dir.is_some() || deps.lock.is_some()).then_some(deps))
    }
}
