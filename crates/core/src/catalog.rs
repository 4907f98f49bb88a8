//! The catalog of AWS Lambda Python bases (`crates/core/catalog.toml`, compiled in): which Python,
//! glibc and architectures each one has, and AWS's support dates for each runtime. Later stages use
//! it to choose wheels and check binaries, and the CLI to warn about a deprecated runtime.

use serde::Deserialize;

const CATALOG: &str = include_str!("../catalog.toml");

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
    /// AWS's runtime table: deprecation (no more patches), then no new functions, then no updates.
    /// ISO dates (`2024-10-14`).
    pub deprecated: Option<String>,
    pub block_create: Option<String>,
    pub block_update: Option<String>,
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
    // AWS's dated tags (`3.12.2024.11.22.15`) name the same runtime as `3.12`.
    let r = match r.rsplit_once(':') {
        Some((repo, tag)) if tag.starts_with("3.") && tag.matches('.').count() > 1 => {
            let minor = tag.split('.').nth(1).unwrap_or("");
            format!("{repo}:3.{minor}")
        }
        _ => r.to_string(),
    };
    all().into_iter().find(|b| b.reference == r || b.name == r)
}

/// Today as `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::build::rfc3339(secs)[..10].to_string()
}

/// The warning for building on a runtime AWS has deprecated by `today` (`YYYY-MM-DD`): its dates,
/// the next version still supported and the newest. `None` while it is supported.
pub fn support_warning(b: &BaseInfo, today: &str) -> Option<String> {
    let deprecated = b.deprecated.as_deref().filter(|d| *d <= today)?;
    let minor = |x: &BaseInfo| {
        x.python
            .strip_prefix("3.")
            .and_then(|m| m.parse::<u32>().ok())
    };
    let mut supported: Vec<BaseInfo> = all()
        .into_iter()
        .filter(|x| x.deprecated.as_deref().is_none_or(|d| d > today))
        .collect();
    supported.sort_by_key(minor);
    let when = |d: &Option<String>, what: &str| match d.as_deref() {
        Some(d) if d <= today => format!("{what} refused since {d}"),
        Some(d) => format!("{what} refused from {d}"),
        None => format!("{what} not blocked yet"),
    };
    // The binary is all a user may have: name the base to move to, not a file of this repository.
    let move_to = supported.first().map_or(String::new(), |n| {
        format!(", e.g. base = \"{}\"", n.reference)
    });
    let next = match (supported.first(), supported.last()) {
        (Some(n), Some(l)) if n.name != l.name => format!(
            "the next supported version is {} (deprecated on {}); the newest is {}",
            n.name,
            n.deprecated.as_deref().unwrap_or("no date set"),
            l.name
        ),
        (Some(n), _) => format!("the supported version is {}", n.name),
        _ => "no catalog version is still supported".into(),
    };
    Some(format!(
        "{} is deprecated since {deprecated} (AWS no longer patches it); Lambda: {}, {}; {next}. Move the base to a supported version{move_to}",
        b.name,
        when(&b.block_create, "new functions"),
        when(&b.block_update, "updates"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_facts() {
        let all = all();
        assert_eq!(all.len(), 7);
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
        assert_eq!(
            lookup("public.ecr.aws/lambda/python:3.8").unwrap().glibc,
            "2.26"
        );
        assert_eq!(
            lookup("public.ecr.aws/lambda/python:3.12.2024.11.22.15-x86_64")
                .unwrap()
                .name,
            "python3.12"
        );
        // Every base has its dates, in order.
        for b in &all {
            let (d, c, u) = (
                b.deprecated.as_deref().unwrap(),
                b.block_create.as_deref().unwrap(),
                b.block_update.as_deref().unwrap(),
            );
            assert!(d < c && c < u && d.len() == 10, "{}", b.name);
        }
    }

    #[test]
    fn deprecated_runtimes_warn_with_dates_and_the_next_version() {
        let b38 = lookup("python3.8").unwrap();
        let w = support_warning(&b38, "2026-11-28").unwrap();
        assert!(
            w.starts_with("python3.8 is deprecated since 2024-10-14"),
            "{w}"
        );
        assert!(
            w.contains(
                "Lambda: new functions refused from 2027-02-01, updates refused from 2027-03-03"
            ),
            "{w}"
        );
        assert!(w.contains("the next supported version is python3.11 (deprecated on 2027-06-30); the newest is python3.14"), "{w}");
        // The base to move to, not a file of this repository.
        assert!(
            w.ends_with(
                "Move the base to a supported version, e.g. base = \"public.ecr.aws/lambda/python:3.11\""
            ),
            "{w}"
        );
        let w = support_warning(&b38, "2027-04-01").unwrap();
        assert!(w.contains("updates refused since 2027-03-03"), "{w}");
        assert!(support_warning(&lookup("python3.12").unwrap(), "2026-11-28").is_none());
        assert!(support_warning(&b38, "2024-10-13").is_none());
        assert_eq!(today().len(), 10);
    }
}
