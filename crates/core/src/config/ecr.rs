//! `[ecr]` in lamina.toml: the settings of an ECR repository lamina creates or maintains (scan on
//! push, tag mutability, lifecycle policy, encryption), as plain data, and the lifecycle policy
//! text they describe. Talking to ECR is `crate::ecr`'s job; this module knows no AWS SDK.

use serde::Deserialize;

/// `expire` / `--expire untagged|any`: which images the lifecycle policy counts.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Expire {
    /// Count only untagged images (what the Serverless Framework does): safe for deployed functions.
    #[default]
    Untagged,
    /// Count every image: can delete one a deployed function still uses.
    Any,
}

/// `--tag-mutability MUTABLE|IMMUTABLE` (any case). The file's `tag_mutability` stays a string,
/// checked by `RepoSettings::validate` with its own message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagMutability {
    Mutable,
    Immutable,
}

impl TagMutability {
    /// The spelling ECR and lamina.toml use.
    pub fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
        }
    }
}

/// `[ecr]` in lamina.toml.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RepoSettings {
    #[serde(default)]
    pub create: bool,
    #[serde(default = "yes")]
    pub scan_on_push: bool,
    #[serde(default = "mutable")]
    pub tag_mutability: String,
    pub keep_last: Option<u32>,
    #[serde(default)]
    pub expire: Expire,
    /// `AES256` (default) or a KMS key ARN/alias for `KMS`.
    pub kms_key: Option<String>,
}

fn yes() -> bool {
    true
}
fn mutable() -> String {
    "MUTABLE".into()
}

impl Default for RepoSettings {
    fn default() -> Self {
        RepoSettings {
            create: false,
            scan_on_push: true,
            tag_mutability: mutable(),
            keep_last: None,
            expire: Expire::Untagged,
            kms_key: None,
        }
    }
}

impl RepoSettings {
    pub fn validate(&self) -> Result<(), String> {
        match self.tag_mutability.as_str() {
            "MUTABLE" | "IMMUTABLE" => {}
            other => {
                return Err(format!(
                    "ecr.tag_mutability: '{other}' is not MUTABLE or IMMUTABLE"
                ))
            }
        }
        if self.keep_last == Some(0) {
            return Err("ecr.keep_last: must be at least 1".into());
        }
        Ok(())
    }

    /// The lifecycle policy text, if one is configured.
    pub fn lifecycle_policy(&self) -> Option<String> {
        let n = self.keep_last?;
        let (status, what) = match self.expire {
            Expire::Any => ("any", "images"),
            Expire::Untagged => ("untagged", "untagged images"),
        };
        Some(
            serde_json::json!({"rules": [{
                "rulePriority": 1,
                "description": format!("Keep last {n} {what}"),
                "selection": {"tagStatus": status, "countType": "imageCountMoreThan", "countNumber": n},
                "action": {"type": "expire"}
            }]})
            .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_policies() {
        let s = RepoSettings {
            keep_last: Some(10),
            expire: Expire::Any,
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&s.lifecycle_policy().unwrap()).unwrap();
        assert_eq!(v["rules"][0]["selection"]["tagStatus"], "any");
        assert_eq!(v["rules"][0]["selection"]["countNumber"], 10);
        let s = RepoSettings {
            keep_last: Some(5),
            ..Default::default()
        };
        assert!(s
            .lifecycle_policy()
            .unwrap()
            .contains("\"tagStatus\":\"untagged\""));
        assert!(RepoSettings::default().lifecycle_policy().is_none());
        assert!(RepoSettings {
            tag_mutability: "SOMETIMES".into(),
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
