//! `os/arch[/variant]` platforms as Lambda knows them (`linux/amd64`, `linux/arm64`).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn linux_amd64() -> Platform {
        Platform {
            os: "linux".into(),
            arch: "amd64".into(),
            variant: None,
        }
    }
    /// Does a descriptor/config platform (os, architecture, variant) denote this platform?
    /// arm64's variant `v8` is implied, as containerd treats it.
    pub fn matches(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.arch != arch {
            return false;
        }
        let norm = |v: Option<&str>| match (arch, v) {
            ("arm64", None) => Some("v8".to_string()),
            (_, v) => v.map(str::to_string),
        };
        match &self.variant {
            None => true,
            Some(_) => norm(self.variant.as_deref()) == norm(variant),
        }
    }
    /// The machine name Python wheel tags and ELF files use.
    pub fn python_machine(&self) -> &str {
        match self.arch.as_str() {
            "amd64" => "x86_64",
            "arm64" => "aarch64",
            other => other,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad =
            || format!("'{s}' is not a platform; Lambda supports linux/amd64 and linux/arm64");
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, v] => (*os, *arch, Some(v.to_string())),
            _ => return Err(bad()),
        };
        let arch = match arch {
            "x86_64" | "amd64" => "amd64",
            "aarch64" | "arm64" => "arm64",
            _ => return Err(bad()),
        };
        if os != "linux" {
            return Err(bad());
        }
        Ok(Platform {
            os: os.into(),
            arch: arch.into(),
            variant,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_lambda_platforms() {
        assert_eq!(
            "linux/amd64".parse::<Platform>().unwrap(),
            Platform::linux_amd64()
        );
        assert_eq!(
            "linux/x86_64".parse::<Platform>().unwrap(),
            Platform::linux_amd64()
        );
        let arm: Platform = "linux/arm64".parse().unwrap();
        assert!(arm.matches("linux", "arm64", Some("v8")));
        assert!(!arm.matches("linux", "amd64", None));
        assert!("windows/amd64".parse::<Platform>().is_err());
        assert!("linux/s390x".parse::<Platform>().is_err());
    }
}
