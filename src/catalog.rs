//! The catalog of AWS Lambda Python bases (`base-images/catalog.toml`, compiled in): which Python,
//! glibc and architectures each one has. Later stages use it to choose wheels and check binaries.

use serde::Deserialize;

const CATALOG: &str = include_str!("../base-images/catalog.toml");

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BaseInfo {
    pub name: String,
    pub reference: String,
    pub python: String,
    pub os: String,
    pub glibc: String,
    pub architectures: Vec<String>,
    pub interpreter: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    runtime_packages: Vec<String>,
    runtime_modules: Vec<String>,
    base: Vec<BaseInfo>,
}

/// Distributions (normalised names) and import names the AWS Python runtimes ship.
pub fn runtime_packages() -> (Vec<String>, Vec<String>) {
    let c = toml::from_str::<Catalog>(CATALOG).expect("the compiled-in catalog is valid (tested)");
    (c.runtime_packages, c.runtime_modules)
}

/// Every known base, oldest Python first.
pub fn all() -> Vec<BaseInfo> {
    toml::from_str::<Catalog>(CATALOG)
        .expect("the compiled-in catalog is valid (tested)")
        .base
}

/// The catalog entry for a reference such as `public.ecr.aws/lambda/python:3.12` (a `-arm64` or
/// `-x86_64` tag suffix and a `@sha256:` pin are ignored) or a name such as `python3.12`.
pub fn lookup(reference: &str) -> Option<BaseInfo> {
    let r = reference.split('@').next().unwrap_or(reference);
    let r = r
        .strip_suffix("-arm64")
        .or_else(|| r.strip_suffix("-x86_64"))
        .unwrap_or(r);
    all().into_iter().find(|b| b.reference == r || b.name == r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_facts() {
        let all = all();
        assert_eq!(all.len(), 6);
        for b in &all {
            let minor: u32 = b.python.strip_prefix("3.").unwrap().parse().unwrap();
            let expect = if minor <= 11 {
                ("Amazon Linux 2", "2.26")
            } else {
                ("Amazon Linux 2023", "2.34")
            };
            assert_eq!((b.os.as_str(), b.glibc.as_str()), expect, "{}", b.name);
            assert_eq!(b.architectures, ["amd64", "arm64"]);
            assert_eq!(b.interpreter, format!("/var/lang/bin/python{}", b.python));
        }
        assert_eq!(
            lookup("public.ecr.aws/lambda/python:3.12-arm64")
                .unwrap()
                .glibc,
            "2.34"
        );
        assert_eq!(lookup("python3.11").unwrap().glibc, "2.26");
        assert!(lookup("public.ecr.aws/lambda/nodejs:20").is_none());
    }
}
