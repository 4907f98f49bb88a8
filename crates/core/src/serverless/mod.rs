//! What lamina reads from a Serverless Framework service (`serverless.yml`): the functions that
//! deploy a container image and the handler each one runs (`image.command`), and the images the
//! service builds (`provider.ecr.images`). Functions may be split into other files and pulled in
//! with `${file(...)}` (also as a list of files); variables are resolved as far as the handlers
//! need (see `vars`). It does not deploy, call AWS, or read anything a deploy would produce.

pub mod vars;
pub mod yaml;

use std::path::{Path, PathBuf};
use vars::{Resolver, VarError};
use yaml::{Node, Value};

/// One function of the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    /// `file:line` of the function's definition.
    pub at: String,
    pub kind: FunctionKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FunctionKind {
    /// A `.zip` function (`handler:`); it does not run an image.
    Zip,
    /// Runs an image: which one (`image.name`, or the string form), the handler in
    /// `image.command` (`None`: the image's own Cmd) and where that command is.
    Image {
        image: ImageUse,
        handler: Option<(String, String)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageUse {
    /// A `provider.ecr.images` key.
    Named(String),
    /// `image.uri` (or a URI string): built elsewhere, e.g. by lamina.
    Uri,
}

/// A `provider.ecr.images` entry: an image Serverless builds with Docker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcrImage {
    pub name: String,
    pub at: String,
    /// The build context, relative to the service directory (`path`, default `./`).
    pub path: Option<String>,
    /// The Dockerfile name (`file`, default `Dockerfile`).
    pub file: Option<String>,
    pub platform: Option<String>,
    pub uri: Option<String>,
}

/// A handler that a function of the service runs, and where that was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceHandler {
    pub handler: String,
    pub function: String,
    pub at: String,
}

/// The service's functions, in file order (lists of `${file()}` includes merged in order).
pub fn functions(r: &mut Resolver) -> Result<Vec<Function>, VarError> {
    let root = r.root();
    let Some(fns) = r.lookup(&root, "functions")? else {
        return Ok(Vec::new());
    };
    let mut entries = Vec::new();
    match &fns.value {
        Value::Null => {}
        Value::Map(e) => entries.extend(e.iter().cloned()),
        Value::Seq(items) => {
            for item in items {
                let m = r.shallow(item)?;
                match &m.value {
                    Value::Map(e) => entries.extend(e.iter().cloned()),
                    Value::Null => {}
                    _ => {
                        return Err(invalid(
                            &m,
                            format!(
                            "functions: each list item must be a mapping of functions, found {}",
                            m.kind()
                        ),
                        ))
                    }
                }
            }
        }
        _ => {
            return Err(invalid(
                &fns,
                format!("functions must be a mapping, found {}", fns.kind()),
            ))
        }
    }
    let mut out = Vec::new();
    for e in entries {
        let f = r.shallow(&e.value)?;
        let at = format!("{}:{}", f.file.display(), e.line);
        let image = match f.get("image") {
            Some(i) => Some(r.shallow(i)?),
            None => None,
        };
        let kind = match image {
            None => FunctionKind::Zip,
            Some(img) => function_image(r, &e.key, &img)?,
        };
        out.push(Function {
            name: e.key.clone(),
            at,
            kind,
        });
    }
    Ok(out)
}

fn function_image(r: &mut Resolver, name: &str, img: &Node) -> Result<FunctionKind, VarError> {
    match &img.value {
        Value::Scalar { text, .. } => Ok(FunctionKind::Image {
            image: if text.contains('/') || text.contains('@') {
                ImageUse::Uri
            } else {
                ImageUse::Named(text.clone())
            },
            handler: None,
        }),
        Value::Map(_) => {
            let image = match img.get("name") {
                Some(n) if img.get("uri").is_none() => match r.text(n)? {
                    Some(s) => ImageUse::Named(s),
                    None => ImageUse::Uri,
                },
                _ => ImageUse::Uri,
            };
            let handler = match img.get("command") {
                None => None,
                Some(c) => {
                    let c = r.deep(c)?;
                    let items: Vec<&Node> = match &c.value {
                        Value::Seq(items) => items.iter().collect(),
                        Value::Scalar { .. } => vec![&c],
                        Value::Null => Vec::new(),
                        Value::Map(_) => {
                            return Err(invalid(
                                &c,
                                format!(
                                "function {name}: image.command must be a list holding the handler"
                            ),
                            ))
                        }
                    };
                    match items.as_slice() {
                        [] => None,
                        [one] => match one.as_str() {
                            Some(h) => Some((h.to_string(), one.at())),
                            None => return Err(invalid(one, format!("function {name}: the handler in image.command must be a string"))),
                        },
                        _ => return Err(invalid(&c, format!(
                            "function {name}: image.command has {} items; Lambda's entrypoint takes exactly one, the handler (it exits 142 otherwise)",
                            items.len()
                        ))),
                    }
                }
            };
            Ok(FunctionKind::Image { image, handler })
        }
        _ => Err(invalid(
            img,
            format!(
                "function {name}: image must be a name or a mapping, found {}",
                img.kind()
            ),
        )),
    }
}

fn invalid(n: &Node, message: String) -> VarError {
    VarError::Invalid {
        at: n.at(),
        message,
    }
}

/// `provider.ecr.images`.
pub fn ecr_images(r: &mut Resolver) -> Result<Vec<EcrImage>, VarError> {
    let root = r.root();
    let Some(images) = r.lookup(&root, "provider.ecr.images")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in images.entries() {
        let v = r.shallow(&e.value)?;
        let field = |r: &mut Resolver, k: &str| -> Result<Option<String>, VarError> {
            match v.get(k) {
                Some(n) => r.text(n),
                None => Ok(None),
            }
        };
        out.push(EcrImage {
            name: e.key.clone(),
            at: format!("{}:{}", v.file.display(), e.line),
            path: field(r, "path")?,
            file: field(r, "file")?,
            platform: field(r, "platform")?,
            uri: field(r, "uri")?,
        });
    }
    Ok(out)
}

/// Whether an image built from `context` (relative to the service directory) is built from
/// `project` (the directory lamina builds).
pub fn same_dir(service_dir: &Path, context: Option<&str>, project: &Path) -> bool {
    let ctx = service_dir.join(context.unwrap_or("."));
    match (std::fs::canonicalize(&ctx), std::fs::canonicalize(project)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The handlers of every function that deploys the image built from `project`: functions naming a
/// `provider.ecr.images` entry whose build context is `project`, and functions with an
/// `image.uri` (an image built elsewhere, such as by lamina). Functions without a command run
/// the image's Cmd and add no handler.
pub fn handlers(path: &Path, project: &Path) -> Result<Vec<ServiceHandler>, VarError> {
    let mut r = Resolver::open(path, vars::Options::new())?;
    let images = ecr_images(&mut r)?;
    let dir: PathBuf = r.service_dir().to_path_buf();
    let mut out = Vec::new();
    for f in functions(&mut r)? {
        let FunctionKind::Image { image, handler } = f.kind else {
            continue;
        };
        let ours = match &image {
            ImageUse::Uri => true,
            ImageUse::Named(n) => match images.iter().find(|i| &i.name == n) {
                Some(i) => i.uri.is_some() || same_dir(&dir, i.path.as_deref(), project),
                None => true,
            },
        };
        if let (true, Some((h, at))) = (ours, handler) {
            out.push(ServiceHandler {
                handler: h,
                function: f.name,
                at,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_from_included_files() {
        let t = tempfile::tempdir().unwrap();
        let w = |p: &str, s: &str| {
            let f = t.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, s).unwrap();
        };
        w(
            "serverless.yml",
            "service: tm\nprovider:\n  name: aws\n  ecr:\n    images:\n      lambdaImage:\n        path: ./\n      adminImage:\n        path: ./admin\nfunctions:\n  - ${file(./sls/functions/a.yml)}\n  - ${file(./sls/functions/b.yml)}\n",
        );
        w(
            "sls/functions/a.yml",
            "A:\n  image:\n    name: lambdaImage\n    command:\n      - src.a.handler\nZ:\n  handler: z.handler\n",
        );
        w(
            "sls/functions/b.yml",
            "B:\n  image:\n    name: lambdaImage\n    command: ['${self:custom.h, \"src.b.handler\"}']\nC:\n  image: lambdaImage\nD:\n  image:\n    name: other\n    command: [src.d.handler]\nE:\n  image:\n    name: adminImage\n    command: [admin.e.handler]\n",
        );
        let hs = handlers(&t.path().join("serverless.yml"), t.path()).unwrap();
        let names: Vec<(&str, &str)> = hs
            .iter()
            .map(|h| (h.function.as_str(), h.handler.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("A", "src.a.handler"),
                ("B", "src.b.handler"),
                ("D", "src.d.handler")
            ]
        );
        assert!(hs[0].at.ends_with("sls/functions/a.yml:5"), "{}", hs[0].at);
    }
}
