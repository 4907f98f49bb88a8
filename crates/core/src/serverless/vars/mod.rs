//! Serverless Framework variables, resolved lazily and only as far as asked: `${self:a.b}`,
//! `${opt:stage}`, `${sls:stage}`, `${env:NAME}`, `${param:name}` (from `stages.*.params`),
//! `${aws:region}`, `${file(./x.yml)}` and `${file(./x.yml):a.b}` (paths relative to the service
//! directory, as Serverless resolves them, also from included files), nested variables
//! (`${self:custom.${sls:stage}.x}`) and fallbacks (`${opt:stage, 'dev'}`,
//! `${opt:stage, self:provider.stage}`). A variable whose value only exists at deploy time
//! (`${aws:accountId}`, `${ssm:…}`, `${cf:…}`, CloudFormation's `${AWS::Region}`) or that has no
//! value and no fallback is an error naming the file and line: nothing is ever guessed. A variable
//! met again while it, or the value it names, is being resolved is a cycle ("include cycle at
//! FILE:LINE" when a `${file()}` is part of it).

mod sources;
mod syntax;

use super::yaml::{self, Node, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use syntax::{literal, split_top, split_vars, Part};

#[derive(Debug, thiserror::Error)]
pub enum VarError {
    #[error("{}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{at}: {var} cannot be resolved: {reason}")]
    Unresolved {
        at: String,
        var: String,
        reason: String,
    },
    #[error("{at}: {var}: {} does not exist", full.display())]
    MissingFile {
        at: String,
        var: String,
        full: PathBuf,
    },
    #[error("{at}: {var}: {}", full.display())]
    Io {
        at: String,
        var: String,
        full: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    /// A `${file()}` met again while its own content is being resolved.
    #[error("include cycle at {at}: {message}")]
    Cycle { at: String, message: String },
}

impl lamina_support::diagnostic::Hint for VarError {
    fn hint(&self) -> Option<String> {
        match self {
            VarError::Unresolved { var, .. } if var.contains("opt:") => Some(
                "give the option (lamina init --stage NAME / --region NAME) or a default in the file, e.g. ${opt:stage, 'dev'}".into(),
            ),
            VarError::Unresolved { .. } => Some(
                "lamina reads serverless.yml without deploying: give the value a default (${source:x, 'value'}) or write it out where the handlers need it".into(),
            ),
            VarError::MissingFile { .. } => Some(
                "fix the path: ${file(...)} paths are relative to the directory of serverless.yml, also in included files".into(),
            ),
            VarError::Cycle { .. } => Some(
                "a file cannot include itself, directly or through other files: remove one of these ${file(...)}".into(),
            ),
            VarError::Yaml(_) => Some("fix the YAML at that line (indentation, an unclosed quote or bracket)".into()),
            _ => None,
        }
    }
}

/// What `${opt:…}` sees: the command-line options Serverless would have been given.
pub type Options = BTreeMap<String, String>;

pub struct Resolver {
    dir: PathBuf,
    root: Node,
    opts: Options,
    files: HashMap<PathBuf, Node>,
    /// The variables being resolved, or whose value is being resolved inside (`deep`), outermost
    /// first, each with where it is written: one met again is a cycle.
    active: Vec<(String, String)>,
}

const MAX_DEPTH: usize = 64;

impl Resolver {
    /// Reads the service file (`serverless.yml`); variables are resolved later, on demand.
    pub fn open(path: &Path, opts: Options) -> Result<Resolver, VarError> {
        let shown = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
        let root = yaml::load(path, &shown).map_err(|e| match e {
            yaml::LoadError::Io { path, source } => VarError::Open { path, source },
            yaml::LoadError::Yaml(y) => VarError::Yaml(y),
        })?;
        Ok(Resolver {
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            root,
            opts,
            files: HashMap::new(),
            active: Vec::new(),
        })
    }

    pub fn root(&self) -> Node {
        self.root.clone()
    }

    pub fn service_dir(&self) -> &Path {
        &self.dir
    }

    /// The node with any variable that makes up the whole value resolved (children untouched).
    pub fn shallow(&mut self, n: &Node) -> Result<Node, VarError> {
        let mut cur = n.clone();
        for _ in 0..MAX_DEPTH {
            match &cur.value {
                Value::Scalar { text, .. } if text.contains("${") => {
                    cur = self.string(text, &cur)?;
                }
                _ => return Ok(cur),
            }
        }
        Err(too_deep(n))
    }

    /// The node with every variable inside it resolved. While the value of a variable is resolved
    /// inside, the variable stays active, so an include that includes itself is a cycle, not an
    /// endless descent.
    pub fn deep(&mut self, n: &Node) -> Result<Node, VarError> {
        let var = match &n.value {
            Value::Scalar { text, .. } => match split_vars(text).ok().as_deref() {
                Some([Part::Var(inner)]) => Some(format!("${{{inner}}}")),
                _ => None,
            },
            _ => None,
        };
        let mut r = self.shallow(n)?;
        let inside = var.filter(|_| matches!(r.value, Value::Seq(_) | Value::Map(_)));
        if let Some(v) = inside.clone() {
            self.active.push((v, n.at()));
        }
        let done = self.deep_inside(&mut r);
        if inside.is_some() {
            self.active.pop();
        }
        done.map(|()| r)
    }

    /// Resolves every variable in the children of `n`.
    fn deep_inside(&mut self, n: &mut Node) -> Result<(), VarError> {
        match &mut n.value {
            Value::Seq(items) => {
                for i in items.iter_mut() {
                    *i = self.deep(i)?;
                }
            }
            Value::Map(entries) => {
                for e in entries.iter_mut() {
                    e.value = self.deep(&e.value)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A string value, resolved.
    pub fn text(&mut self, n: &Node) -> Result<Option<String>, VarError> {
        let r = self.shallow(n)?;
        match &r.value {
            Value::Null => Ok(None),
            Value::Scalar { text, .. } => Ok(Some(text.clone())),
            _ => Err(VarError::Invalid {
                at: n.at(),
                message: format!("expected a string, found {}", r.kind()),
            }),
        }
    }

    /// Follows `a.b.c` from `from`, resolving each step; `None` when a key is missing.
    pub fn lookup(&mut self, from: &Node, address: &str) -> Result<Option<Node>, VarError> {
        let mut cur = self.shallow(from)?;
        for seg in address.split('.').filter(|s| !s.is_empty()) {
            let next = match &cur.value {
                Value::Map(_) => cur.get(seg).cloned(),
                Value::Seq(items) => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).cloned()),
                _ => None,
            };
            match next {
                Some(n) => cur = self.shallow(&n)?,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// Resolves every `${…}` in `text` (found at `at`): a value that is one variable becomes the
    /// node it names; otherwise the parts are joined as text.
    fn string(&mut self, text: &str, at: &Node) -> Result<Node, VarError> {
        let parts = split_vars(text).map_err(|m| VarError::Invalid {
            at: at.at(),
            message: format!("{m} in '{text}'"),
        })?;
        if let [Part::Var(inner)] = parts.as_slice() {
            return self.variable(inner, at);
        }
        let mut out = String::new();
        for p in parts {
            match p {
                Part::Text(t) => out.push_str(&t),
                Part::Var(inner) => {
                    let n = self.variable(&inner, at)?;
                    match &n.value {
                        Value::Scalar { text, .. } => out.push_str(text),
                        Value::Null => out.push_str("null"),
                        _ => {
                            return Err(VarError::Invalid {
                                at: at.at(),
                                message: format!(
                                    "${{{inner}}} is {} and cannot be part of a string",
                                    n.kind()
                                ),
                            })
                        }
                    }
                }
            }
        }
        let mut n = at.clone();
        n.value = Value::Scalar {
            text: out,
            plain: false,
        };
        n.tag = None;
        Ok(n)
    }

    /// `${inner}`: the first of its comma-separated alternatives that has a value.
    fn variable(&mut self, inner: &str, at: &Node) -> Result<Node, VarError> {
        let var = format!("${{{inner}}}");
        if let Some(i) = self.active.iter().position(|(v, _)| *v == var) {
            return Err(self.cycle(i, &var, at));
        }
        if self.active.len() >= MAX_DEPTH {
            return Err(too_deep(at));
        }
        self.active.push((var.clone(), at.at()));
        let r = self.alternatives(inner, &var, at);
        self.active.pop();
        r
    }

    /// `var` (at `at`) met again, active since `self.active[from]`: an include cycle when a
    /// `${file()}` is part of it.
    fn cycle(&self, from: usize, var: &str, at: &Node) -> VarError {
        let through: Vec<String> = self.active[from + 1..]
            .iter()
            .map(|(v, a)| format!("{a} {v}"))
            .collect();
        let include = var.starts_with("${file(") || through.iter().any(|t| t.contains("${file("));
        let message = match (include, through.is_empty()) {
            (true, true) => format!("{var} includes itself"),
            (true, false) => format!("{var} is included again, through {}", through.join(", ")),
            (false, true) => format!("{var} refers to itself"),
            (false, false) => format!("{var} refers to itself, through {}", through.join(", ")),
        };
        match include {
            true => VarError::Cycle {
                at: at.at(),
                message,
            },
            false => VarError::Invalid {
                at: at.at(),
                message,
            },
        }
    }

    fn alternatives(&mut self, inner: &str, var: &str, at: &Node) -> Result<Node, VarError> {
        let mut first_miss: Option<VarError> = None;
        for alt in split_top(inner, ',') {
            let alt = alt.trim();
            if let Some(lit) = literal(alt) {
                let mut n = at.clone();
                n.value = lit;
                n.tag = None;
                return Ok(n);
            }
            // Nested variables inside this alternative's address.
            let alt = if alt.contains("${") {
                match self.string(alt, at)?.value {
                    Value::Scalar { text, .. } => text,
                    _ => {
                        return Err(VarError::Invalid {
                            at: at.at(),
                            message: format!("{var}: a nested variable is not a string"),
                        })
                    }
                }
            } else {
                alt.to_string()
            };
            match self.source(&alt, var, at)? {
                Ok(n) => return Ok(n),
                Err(miss) => {
                    first_miss.get_or_insert(miss);
                }
            }
        }
        Err(first_miss.unwrap_or_else(|| VarError::Unresolved {
            at: at.at(),
            var: var.into(),
            reason: "it is empty".into(),
        }))
    }

    /// `${sls:stage}`: the --stage option, else `provider.stage`, else `dev`.
    pub fn stage(&mut self) -> Result<String, VarError> {
        if let Some(s) = self.opts.get("stage") {
            return Ok(s.clone());
        }
        let root = self.root.clone();
        match self.lookup(&root, "provider.stage")? {
            Some(n) => Ok(self.text(&n)?.unwrap_or_else(|| "dev".into())),
            None => Ok("dev".into()),
        }
    }

    /// The region: --region, else `provider.region`, else Serverless's default `us-east-1`.
    pub fn region(&mut self) -> Result<String, VarError> {
        if let Some(s) = self.opts.get("region") {
            return Ok(s.clone());
        }
        let root = self.root.clone();
        match self.lookup(&root, "provider.region")? {
            Some(n) => Ok(self.text(&n)?.unwrap_or_else(|| "us-east-1".into())),
            None => Ok("us-east-1".into()),
        }
    }
}

fn too_deep(n: &Node) -> VarError {
    VarError::Invalid {
        at: n.at(),
        message: "variables nest too deeply (a cycle?)".into(),
    }
}

#[cfg(test)]
mod tests;
