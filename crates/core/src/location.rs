//! Where an image is: a local transport (`oci:DIR[:TAG]`, `docker-archive:FILE[:NAME:TAG]`) or a
//! registry (`docker://REF` or a bare `host/repo[:tag][@digest]`, skopeo's and docker's syntax).
//! Kept apart from `oci` so the image model knows nothing of HTTP.

use lamina_oci::reference::ImageRef;
use lamina_registry::Reference;
use std::fmt;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(ImageRef),
    Registry(Reference),
}

impl Location {
    pub fn parse(input: &str, base_dir: &Path) -> Result<Location, String> {
        transport_typo(input)?;
        if input.starts_with("oci:") || input.starts_with("docker-archive:") {
            return ImageRef::parse(input, base_dir)
                .map(Location::Local)
                .map_err(|e| e.to_string());
        }
        let r = input.strip_prefix("docker://").unwrap_or(input);
        Reference::parse(r)
            .map(Location::Registry)
            .map_err(|e| e.to_string())
    }
}

/// skopeo's transport names: `OCI:dir`, `dir:…` or `docker:x` are not registry hosts.
const TRANSPORTS: &[&str] = &[
    "oci",
    "docker-archive",
    "oci-archive",
    "dir",
    "docker-daemon",
    "containers-storage",
    "docker",
];

/// Refuses a transport lamina does not read, or one written in the wrong case, rather than taking
/// it for a registry (which would end in DNS retries and a misleading hint).
fn transport_typo(input: &str) -> Result<(), String> {
    let Some((scheme, rest)) = input.split_once(':') else {
        return Ok(());
    };
    if scheme == "oci"
        || scheme == "docker-archive"
        || (scheme == "docker" && rest.starts_with("//"))
    {
        return Ok(());
    }
    let lower = scheme.to_ascii_lowercase();
    if !TRANSPORTS.contains(&lower.as_str()) {
        return Ok(());
    }
    Err(match lower.as_str() {
        "oci" | "docker-archive" => {
            format!("'{input}': the transport is written '{lower}:' (lowercase)")
        }
        "docker" => format!("'{input}': a registry image is written docker://REF or plain REF"),
        _ => format!(
            "'{input}': lamina does not read skopeo's {lower}: transport; copy it to an OCI layout first (skopeo copy {lower}:… oci:DIR:TAG), or write a Docker Hub image as docker://{scheme}:{rest}"
        ),
    })
}

/// `--base`: checks the form only (relative paths are resolved against the project later).
pub fn check_base(input: &str) -> Result<String, String> {
    Location::parse(input, Path::new(".")).map(|_| input.to_string())
}

/// `--output`: an OCI layout or a docker-archive (form only).
pub fn check_output(input: &str) -> Result<String, String> {
    transport_typo(input)?;
    ImageRef::parse(input, Path::new("."))
        .map(|_| input.to_string())
        .map_err(|e| e.to_string())
}

/// `--push`: a registry repository, with a tag or none, never a digest (form only).
pub fn check_push(input: &str) -> Result<String, String> {
    transport_typo(input)?;
    let r = input.strip_prefix("docker://").unwrap_or(input);
    let r = Reference::parse(r).map_err(|e| e.to_string())?;
    if r.digest.is_some() {
        return Err(format!("'{input}': push to REPO[:TAG], not to a digest"));
    }
    Ok(input.to_string())
}

/// `pull REF`: a registry image (form only).
pub fn check_pull(input: &str) -> Result<String, String> {
    transport_typo(input)?;
    let r = input.strip_prefix("docker://").unwrap_or(input);
    Reference::parse(r).map_err(|e| e.to_string())?;
    Ok(input.to_string())
}

/// `--insecure-registry`: a HOST[:PORT], as registry references name it (no scheme, no path).
pub fn check_insecure(input: &str) -> Result<String, String> {
    // Not echoed: a URL written here could carry user info.
    if let Some((scheme, _)) = input.split_once("://") {
        return Err(format!(
            "the value has a scheme ({scheme}://); name the host alone"
        ));
    }
    if input.contains('/') || input.contains('@') {
        return Err("the value has a path or user info; name the host alone".into());
    }
    Reference::parse(&format!("{input}/x"))
        .map(|_| input.to_string())
        .map_err(|e| e.reason)
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(r) => write!(f, "{r}"),
            Location::Registry(r) => write!(f, "{r}"),
        }
    }
}
