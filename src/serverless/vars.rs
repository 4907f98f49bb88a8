//! Serverless Framework variables, resolved lazily and only as far as asked: `${self:a.b}`,
//! `${opt:stage}`, `${sls:stage}`, `${env:NAME}`, `${param:name}` (from `stages.*.params`),
//! `${aws:region}`, `${file(./x.yml)}` and `${file(./x.yml):a.b}` (paths relative to the service
//! directory, as Serverless resolves them, also from included files), nested variables
//! (`${self:custom.${sls:stage}.x}`) and fallbacks (`${opt:stage, 'dev'}`,
//! `${opt:stage, self:provider.stage}`). A variable whose value only exists at deploy time
//! (`${aws:accountId}`, `${ssm:…}`, `${cf:…}`, CloudFormation's `${AWS::Region}`) or that has no
//! value and no fallback is an error naming the file and line: nothing is ever guessed.

use super::yaml::{self, Node, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum VarError {
    #[error("{}: {source}", path.display())]
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
    #[error("{at}: {var}: {}: {source}", full.display())]
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
}

impl VarError {
    pub fn hint(&self) -> Option<String> {
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
    active: Vec<String>,
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

    /// The node with every variable inside it resolved.
    pub fn deep(&mut self, n: &Node) -> Result<Node, VarError> {
        let mut n = self.shallow(n)?;
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
        Ok(n)
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
        if self.active.len() >= MAX_DEPTH || self.active.contains(&var) {
            return Err(VarError::Invalid {
                at: at.at(),
                message: format!("{var} refers to itself"),
            });
        }
        self.active.push(var.clone());
        let r = self.alternatives(inner, &var, at);
        self.active.pop();
        r
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

    /// One `source:address`. `Ok(Err(miss))` means "no value here" (a fallback may follow).
    fn source(
        &mut self,
        expr: &str,
        var: &str,
        at: &Node,
    ) -> Result<Result<Node, VarError>, VarError> {
        let miss = |reason: String| {
            Ok(Err(VarError::Unresolved {
                at: at.at(),
                var: var.into(),
                reason,
            }))
        };
        let scalar = |s: String| {
            let mut n = at.clone();
            n.value = Value::Scalar {
                text: s,
                plain: false,
            };
            n.tag = None;
            n
        };
        if let Some(rest) = expr.strip_prefix("file(") {
            let Some(close) = rest.find(')') else {
                return miss("file( without a closing parenthesis".into());
            };
            let path = unquote(rest[..close].trim());
            let address = rest[close + 1..].strip_prefix(':').unwrap_or("");
            return self.file(path, address, var, at);
        }
        if expr.contains("::") {
            return miss(
                "it is a CloudFormation reference, known only when the stack deploys".into(),
            );
        }
        let Some((src, address)) = expr.split_once(':') else {
            return miss(format!(
                "'{expr}' names no variable source (self:, opt:, env:, file(…), …)"
            ));
        };
        let address = address.trim();
        match src.trim() {
            "self" => {
                let root = self.root.clone();
                match self.lookup(&root, address)? {
                    Some(n) if !n.is_null() => Ok(Ok(n)),
                    _ => miss(format!("serverless.yml has no value at '{address}'")),
                }
            }
            "opt" => match self.opts.get(address) {
                Some(v) => Ok(Ok(scalar(v.clone()))),
                None => miss(format!("no --{address} option was given")),
            },
            "env" => match std::env::var(address) {
                Ok(v) => Ok(Ok(scalar(v))),
                Err(_) => miss(format!("environment variable {address} is not set")),
            },
            "sls" if address == "stage" => Ok(Ok(scalar(self.stage()?))),
            "param" => {
                let stage = self.stage()?;
                let root = self.root.clone();
                for s in [stage.as_str(), "default"] {
                    if let Some(n) = self.lookup(&root, &format!("stages.{s}.params.{address}"))? {
                        if !n.is_null() {
                            return Ok(Ok(n));
                        }
                    }
                }
                miss(format!("no stages.{stage}.params.{address} or stages.default.params.{address} (Dashboard parameters are not read)"))
            }
            "aws" if address == "region" => Ok(Ok(scalar(self.region()?))),
            other => miss(format!(
                "'{other}:' values exist only when Serverless deploys (AWS account, SSM, S3, CloudFormation outputs, …)"
            )),
        }
    }

    fn file(
        &mut self,
        path: &str,
        address: &str,
        var: &str,
        at: &Node,
    ) -> Result<Result<Node, VarError>, VarError> {
        // Named relative to the service directory in messages, as the variable names it.
        let shown: PathBuf = Path::new(path)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        let full = self.dir.join(&shown);
        let ext = full.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "js" | "cjs" | "mjs" | "ts" | "mts" | "cts") {
            return Ok(Err(VarError::Unresolved {
                at: at.at(),
                var: var.into(),
                reason: "lamina does not run JavaScript or TypeScript files".into(),
            }));
        }
        let doc = match self.files.get(&full) {
            Some(d) => d.clone(),
            None => {
                let d = match yaml::load(&full, &shown) {
                    Ok(d) => d,
                    Err(yaml::LoadError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        return Ok(Err(VarError::MissingFile {
                            at: at.at(),
                            var: var.into(),
                            full: shown,
                        }))
                    }
                    Err(yaml::LoadError::Io { source, .. }) => {
                        return Err(VarError::Io {
                            at: at.at(),
                            var: var.into(),
                            full: shown,
                            source,
                        })
                    }
                    Err(yaml::LoadError::Yaml(y)) => return Err(VarError::Yaml(y)),
                };
                self.files.insert(full.clone(), d.clone());
                d
            }
        };
        match self.lookup(&doc, address)? {
            Some(n) => Ok(Ok(n)),
            None => Ok(Err(VarError::Unresolved {
                at: at.at(),
                var: var.into(),
                reason: format!("{} has no value at '{address}'", shown.display()),
            })),
        }
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

enum Part {
    Text(String),
    Var(String),
}

/// Splits text into literal parts and top-level `${…}` variables (nesting allowed).
fn split_vars(text: &str) -> Result<Vec<Part>, String> {
    let b = text.as_bytes();
    let mut parts = Vec::new();
    let (mut i, mut lit) = (0, 0);
    while i + 1 < b.len() {
        if b[i] == b'$' && b[i + 1] == b'{' {
            let mut depth = 0;
            let mut j = i;
            let mut end = None;
            while j < b.len() {
                if b[j] == b'$' && j + 1 < b.len() && b[j + 1] == b'{' {
                    depth += 1;
                    j += 2;
                    continue;
                }
                if b[j] == b'}' {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(j);
                        break;
                    }
                }
                j += 1;
            }
            let end = end.ok_or("an unclosed ${")?;
            if lit < i {
                parts.push(Part::Text(text[lit..i].to_string()));
            }
            parts.push(Part::Var(text[i + 2..end].to_string()));
            i = end + 1;
            lit = i;
        } else {
            i += 1;
        }
    }
    if lit < text.len() {
        parts.push(Part::Text(text[lit..].to_string()));
    }
    Ok(parts)
}

/// Splits at `sep` outside quotes, parentheses and nested `${…}`.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quote) = (0i32, None::<char>);
    let mut prev = '\0';
    for c in s.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, '{') if prev == '$' => depth += 1,
            (None, ')' | '}') => depth -= 1,
            (None, _) if c == sep && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                prev = c;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        prev = c;
    }
    out.push(cur);
    out
}

fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// A fallback written as a value: `'dev'`, `"dev"`, `10`, `true`, `null`.
fn literal(s: &str) -> Option<Value> {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        return Some(Value::Scalar {
            text: s[1..s.len() - 1].to_string(),
            plain: false,
        });
    }
    if s == "null" {
        return Some(Value::Null);
    }
    if s == "true" || s == "false" || (!s.is_empty() && s.parse::<f64>().is_ok()) {
        return Some(Value::Scalar {
            text: s.to_string(),
            plain: true,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(files: &[(&str, &str)], opts: &[(&str, &str)]) -> (tempfile::TempDir, Resolver) {
        let t = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let full = t.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let opts = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = Resolver::open(&t.path().join("serverless.yml"), opts).unwrap();
        (t, r)
    }

    fn get(r: &mut Resolver, address: &str) -> Result<Option<String>, VarError> {
        let root = r.root();
        let n = r.lookup(&root, address)?.unwrap();
        let n = r.deep(&n)?;
        Ok(n.as_str().map(str::to_string))
    }

    #[test]
    fn sources_defaults_and_nesting() {
        let (_t, mut r) = resolver(
            &[
                (
                    "serverless.yml",
                    "service: tm\nprovider:\n  stage: ${opt:stage, 'dev'}\n  region: ${opt:region, \"us-east-1\"}\ncustom:\n  dev: {repo: tm-dev}\n  prod: {repo: tm-prod}\n  x: ${self:custom.${sls:stage}.repo}\n  y: ${self:service}-${sls:stage}\n  z: ${env:LAMINA_TEST_UNSET_VAR, self:custom.y}\n  f: ${file(./sls/c.yml):a.b}\n  g: ${param:p}\n  h: ${aws:region}\nstages:\n  default:\n    params: {p: pv}\n",
                ),
                ("sls/c.yml", "a:\n  b: ${self:service}-file\n"),
            ],
            &[],
        );
        assert_eq!(get(&mut r, "custom.x").unwrap().unwrap(), "tm-dev");
        assert_eq!(get(&mut r, "custom.y").unwrap().unwrap(), "tm-dev");
        assert_eq!(get(&mut r, "custom.z").unwrap().unwrap(), "tm-dev");
        assert_eq!(get(&mut r, "custom.f").unwrap().unwrap(), "tm-file");
        assert_eq!(get(&mut r, "custom.g").unwrap().unwrap(), "pv");
        assert_eq!(get(&mut r, "custom.h").unwrap().unwrap(), "us-east-1");
        let (_t, mut r) = resolver(
            &[("serverless.yml", "provider:\n  stage: ${opt:stage, 'dev'}\ncustom:\n  dev: {repo: a}\n  prod: {repo: b}\n  x: ${self:custom.${sls:stage}.repo}\n")],
            &[("stage", "prod")],
        );
        assert_eq!(get(&mut r, "custom.x").unwrap().unwrap(), "b");
    }

    #[test]
    fn unresolvable_is_an_error_with_the_line() {
        let (_t, mut r) = resolver(
            &[("serverless.yml", "a: 1\nb: ${opt:stage}\nc: ${aws:accountId}\nd: ${file(./nope.yml)}\ne: ${self:e}\nf: !Sub '${AWS::Region}-x'\n")],
            &[],
        );
        let e = get(&mut r, "b").unwrap_err().to_string();
        assert!(
            e.contains("serverless.yml:2")
                && e.contains("${opt:stage}")
                && e.contains("no --stage option"),
            "{e}"
        );
        let e = get(&mut r, "c").unwrap_err().to_string();
        assert!(
            e.contains(":3") && e.contains("only when Serverless deploys"),
            "{e}"
        );
        let e = get(&mut r, "d").unwrap_err();
        assert!(matches!(e, VarError::MissingFile { .. }), "{e}");
        assert!(
            e.to_string().contains("serverless.yml:4")
                && e.to_string().contains("nope.yml does not exist"),
            "{e}"
        );
        assert!(get(&mut r, "e")
            .unwrap_err()
            .to_string()
            .contains("refers to itself"));
        assert!(get(&mut r, "f")
            .unwrap_err()
            .to_string()
            .contains("CloudFormation reference"));
    }
}
