//! Registry image references: the docker grammar `[host[:port]/]path[:tag][@sha256:…]`, with Docker
//! Hub's normalisation (`python` → `docker.io/library/python`). A first component is a host when it
//! has a `.` or `:` or is `localhost`.

use lamina_oci::parse_digest;
use oci_spec::image::Digest;
use std::fmt;

pub const DOCKER_HUB: &str = "docker.io";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `public.ecr.aws`, `127.0.0.1:5000`, `docker.io`.
    pub host: String,
    /// `lambda/python`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error)]
#[error("'{input}' is not an image reference: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl lamina_support::diagnostic::Hint for ReferenceError {
    fn hint(&self) -> Option<String> {
        Some("write a registry image as [HOST[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], lowercase (e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1), or a local one as oci:DIR[:TAG]".into())
    }
}

/// `name[:port]` or `[ipv6][:port]`, with a port of 1-65535.
fn check_host(host: &str) -> Result<(), String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.starts_with('[') || n.ends_with(']') => (n, Some(p)),
        _ => (host, None),
    };
    if let Some(p) = port {
        if !p.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(format!(
                "the registry host '{host}' has port '{p}'; a port is a number from 1 to 65535"
            ));
        }
    }
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let ipv6 = name.starts_with('[') && name.ends_with(']');
    if name.is_empty() || !(plain || ipv6) {
        return Err(format!("'{name}' is not a registry host name"));
    }
    Ok(())
}

fn valid_path_component(c: &str) -> bool {
    // [a-z0-9]+ separated by `.`, `_`, `__` or runs of `-`.
    !c.is_empty()
        && c.chars().all(|ch| {
            ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
        })
        && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
}

impl Reference {
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        let err = |reason: &str| ReferenceError {
            input: input.into(),
            reason: reason.into(),
        };
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => (
                r,
                Some(parse_digest(d).ok_or_else(|| err("the digest must be sha256:<64 hex>"))?),
            ),
            None => (input, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => {
                (&rest[..i], Some(rest[i + 1..].to_string()))
            }
            _ => (rest, None),
        };
        if let Some(t) = &tag {
            if !lamina_oci::reference::valid_tag(t) {
                return Err(err(
                    "a tag is 1-128 characters of [A-Za-z0-9_.-], not starting with . or -",
                ));
            }
        }
        let (host, path) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        check_host(&host).map_err(|r| err(&r))?;
        let repository = if host == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if repository.is_empty() || !repository.split('/').all(valid_path_component) {
            return Err(err("the repository must be lowercase letters, digits and separators (. _ -) between slashes"));
        }
        Ok(Reference {
            host,
            repository,
            tag,
            digest,
        })
    }

    /// `tag` or `sha256:…` — what goes after `/manifests/`.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// `host/repository` (Docker Hub names shown in full).
    pub fn repo_name(&self) -> String {
        format!("{}/{}", self.host, self.repository)
    }

    pub fn with_tag(&self, tag: Option<&str>) -> Reference {
        Reference {
            tag: tag.map(str::to_string),
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repo_name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_and_normalisation() {
        let r = Reference::parse("public.ecr.aws/lambda/python:3.12").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("public.ecr.aws", "lambda/python", Some("3.12"))
        );
        let r = Reference::parse("python").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference()),
            ("docker.io", "library/python", "latest".into())
        );
        let r = Reference::parse("127.0.0.1:5000/app").unwrap();
        assert_eq!((r.host.as_str(), r.tag.clone()), ("127.0.0.1:5000", None));
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("localhost/x/y:v1@{d}")).unwrap();
        assert_eq!((r.host.as_str(), r.reference()), ("localhost", d.clone()));
        let r = Reference::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/traffic-manager:v1")
            .unwrap();
        assert_eq!(
            r.to_string(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/traffic-manager:v1"
        );
        for bad in [
            "Upper/case",
            "host/a//b",
            "x@sha256:abc",
            "x:bad tag",
            "host/-a",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
