//! Where a variable's value comes from: `self:`, `opt:`, `env:`, `sls:stage`, `param:`,
//! `aws:region` and `file(…)` (read once, relative to the service directory). Deploy-time sources
//! (`aws:accountId`, `ssm:`, `cf:`, `s3:`, CloudFormation's `AWS::…`) have no value here.

use super::syntax::unquote;
use super::yaml::{self, Node, Value};
use super::{Resolver, VarError};
use std::path::{Path, PathBuf};

impl Resolver {
    /// One `source:address`. `Ok(Err(miss))` means "no value here" (a fallback may follow).
    pub(super) fn source(
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
            "env" => match lamina_support::env::user_var(address).ok_or(()) {
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
}
