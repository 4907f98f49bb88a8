//! The CloudFormation ECR repository of a Serverless service (`AWS::ECR::Repository` under
//! `resources`, also from `${file()}` includes) in lamina's terms: `RepositoryName` names the push
//! repository, `ImageScanningConfiguration.ScanOnPush`, `ImageTagMutability`, a KMS
//! `EncryptionConfiguration` and a one-rule "keep the last N" `LifecyclePolicy` become `[ecr]`.
//! Whatever else it sets is reported, with what to do instead.

use super::Note;
use crate::config::ecr::{Expire, RepoSettings};
use crate::serverless::vars::{Resolver, VarError};
use crate::serverless::yaml::{Node, Value};

pub struct EcrResource {
    pub logical_id: String,
    pub at: String,
    /// The repository name, when it resolves without deploying.
    pub name: Option<String>,
    pub settings: RepoSettings,
    pub notes: Vec<Note>,
}

/// Every `AWS::ECR::Repository` in `resources`, in file order.
pub fn find(r: &mut Resolver) -> Result<Vec<EcrResource>, VarError> {
    let root = r.root();
    let Some(res) = r.lookup(&root, "resources")? else {
        return Ok(Vec::new());
    };
    let parts: Vec<Node> = match &res.value {
        Value::Seq(items) => items.clone(),
        _ => vec![res.clone()],
    };
    let mut out = Vec::new();
    for p in parts {
        let p = r.shallow(&p)?;
        let Some(resources) = p.get("Resources") else {
            continue;
        };
        let resources = r.shallow(resources)?;
        for e in resources.entries() {
            let v = r.shallow(&e.value)?;
            let ty = match v.get("Type") {
                Some(t) => r.text(t)?,
                None => None,
            };
            if ty.as_deref() == Some("AWS::ECR::Repository") {
                let at = format!("{}:{}", v.file.display(), e.line);
                out.push(translate(r, &e.key, &at, &v)?);
            }
        }
    }
    Ok(out)
}

fn translate(r: &mut Resolver, id: &str, at: &str, v: &Node) -> Result<EcrResource, VarError> {
    let mut out = EcrResource {
        logical_id: id.to_string(),
        at: at.to_string(),
        name: None,
        settings: RepoSettings {
            create: true,
            ..RepoSettings::default()
        },
        notes: Vec::new(),
    };
    let what = |k: &str| format!("{id}.{k}");
    let props = match v.get("Properties") {
        Some(p) => r.shallow(p)?,
        None => return Ok(out),
    };
    for e in props.entries() {
        let at = format!("{}:{}", props.file.display(), e.line);
        let node = &e.value;
        match e.key.as_str() {
            "RepositoryName" => match plain_text(r, node) {
                Ok(name) => {
                    out.notes.push(Note::translated(&at, &what("RepositoryName"), format!("the push repository: {name}")));
                    out.name = Some(name);
                }
                Err(why) => out.notes.push(Note::untranslated(&at, &what("RepositoryName"), format!("{why}; write the repository into push = \"ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME\" yourself"))),
            },
            "ImageScanningConfiguration" => {
                let n = r.deep(node)?;
                match n.get("ScanOnPush").and_then(Node::as_bool) {
                    Some(b) => {
                        out.settings.scan_on_push = b;
                        out.notes.push(Note::translated(&at, &what("ImageScanningConfiguration.ScanOnPush"), format!("[ecr] scan_on_push = {b}")));
                    }
                    None => out.notes.push(Note::untranslated(&at, &what("ImageScanningConfiguration"), "ScanOnPush is not true or false".into())),
                }
            }
            "ImageTagMutability" => match plain_text(r, node) {
                Ok(m) if m == "MUTABLE" || m == "IMMUTABLE" => {
                    out.notes.push(Note::translated(&at, &what("ImageTagMutability"), format!("[ecr] tag_mutability = \"{m}\"")));
                    out.settings.tag_mutability = m;
                }
                Ok(m) => out.notes.push(Note::untranslated(&at, &what("ImageTagMutability"), format!("'{m}' is not MUTABLE or IMMUTABLE (exclusion filters are not supported); set the repository up with the AWS CLI"))),
                Err(why) => out.notes.push(Note::untranslated(&at, &what("ImageTagMutability"), why)),
            },
            "LifecyclePolicy" => {
                let n = r.shallow(node)?;
                let text = match n.get("LifecyclePolicyText") {
                    Some(t) => plain_text(r, t),
                    None => Err("no LifecyclePolicyText".to_string()),
                };
                match text.and_then(|t| lifecycle(&t)) {
                    Ok((keep, expire)) => {
                        out.settings.keep_last = Some(keep);
                        out.settings.expire = expire;
                        let status = if expire == Expire::Any { "any" } else { "untagged" };
                        out.notes.push(Note::translated(&at, &what("LifecyclePolicy"), format!("[ecr] keep_last = {keep}, expire = \"{status}\"")));
                        if expire == Expire::Any {
                            out.notes.push(Note::warning(&at, &what("LifecyclePolicy"), "tagStatus \"any\" counts every image, so it can expire one a deployed function (a version or an alias) still runs, and that function then fails; kept as you had it. Consider expire = \"untagged\" with a unique tag per push (README, \"Amazon ECR\")".to_string()));
                        }
                    }
                    Err(why) => out.notes.push(Note::untranslated(&at, &what("LifecyclePolicy"), format!("{why}; lamina writes one rule (keep the last N images, untagged or any): set anything else with aws ecr put-lifecycle-policy"))),
                }
            }
            "EncryptionConfiguration" => {
                let n = r.deep(node);
                let kms = n.as_ref().ok().and_then(|n| {
                    (n.get("EncryptionType").and_then(Node::as_str) == Some("KMS"))
                        .then(|| n.get("KmsKey").and_then(Node::as_str).map(str::to_string))
                });
                match (n, kms) {
                    (Ok(n), None) if n.get("EncryptionType").and_then(Node::as_str) == Some("AES256") => out.notes.push(Note::translated(&at, &what("EncryptionConfiguration"), "AES256 is lamina's default".into())),
                    (Ok(_), Some(Some(k))) if !k.contains("${") => {
                        out.notes.push(Note::translated(&at, &what("EncryptionConfiguration"), format!("[ecr] kms_key = \"{k}\"")));
                        out.settings.kms_key = Some(k);
                    }
                    _ => out.notes.push(Note::untranslated(&at, &what("EncryptionConfiguration"), "not a plain AES256 or KMS key; create the repository with the AWS CLI and set create = false".into())),
                }
            }
            other => out.notes.push(Note::untranslated(&at, &what(other), "lamina does not manage it; set it once with the AWS CLI (aws ecr …), or keep this resource in CloudFormation and set [ecr] create = false".into())),
        }
    }
    Ok(out)
}

/// A string value: Serverless variables resolved; `!Sub` accepted when nothing of
/// CloudFormation's is left in it; other intrinsic functions are deploy-time values.
fn plain_text(r: &mut Resolver, n: &Node) -> Result<String, String> {
    let tagged_ok = matches!(n.tag.as_deref(), None | Some("!Sub") | Some("!!str"));
    if !tagged_ok {
        return Err(format!(
            "{} is a CloudFormation function, known only at deploy time",
            n.tag.as_deref().unwrap_or("")
        ));
    }
    if let Value::Map(_) = n.value {
        return Err("a CloudFormation function (Fn::…/Ref), known only at deploy time".into());
    }
    match r.text(n) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err("it is empty".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `{"rules":[{…"countType":"imageCountMoreThan","countNumber":N,"tagStatus":…}]}` → (N, expire).
fn lifecycle(text: &str) -> Result<(u32, Expire), String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("LifecyclePolicyText is not JSON ({e})"))?;
    let rules = v["rules"]
        .as_array()
        .ok_or("LifecyclePolicyText has no rules")?;
    let [rule] = rules.as_slice() else {
        return Err(format!("it has {} rules", rules.len()));
    };
    let sel = &rule["selection"];
    if sel["countType"] != "imageCountMoreThan" || rule["action"]["type"] != "expire" {
        return Err(
            "its rule is not \"keep the last N images\" (countType imageCountMoreThan)".into(),
        );
    }
    let n = sel["countNumber"]
        .as_u64()
        .filter(|n| *n > 0 && *n <= u32::MAX as u64)
        .ok_or("countNumber is not a positive number")?;
    let expire = match sel["tagStatus"].as_str() {
        Some("any") => Expire::Any,
        Some("untagged") => Expire::Untagged,
        other => {
            return Err(format!(
                "tagStatus {other:?} selects tagged images by prefix"
            ))
        }
    };
    Ok((n as u32, expire))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keep_last_rules() {
        let t = r#"{"rules":[{"rulePriority":1,"description":"Keep last 10 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}"#;
        assert_eq!(
            super::lifecycle(t).unwrap(),
            (10, crate::config::ecr::Expire::Any)
        );
        assert!(super::lifecycle(r#"{"rules":[]}"#)
            .unwrap_err()
            .contains("0 rules"));
        assert!(super::lifecycle("nope").is_err());
    }
}
