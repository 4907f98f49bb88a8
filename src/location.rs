//! Where an image is: a local transport (`oci:DIR[:TAG]`, `docker-archive:FILE[:NAME:TAG]`) or a
//! registry (`docker://REF` or a bare `host/repo[:tag][@digest]`, skopeo's and docker's syntax).
//! Kept apart from `oci` so the image model knows nothing of HTTP.

use crate::oci::reference::ImageRef;
use crate::registry::Reference;
use std::fmt;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(ImageRef),
    Registry(Reference),
}

impl Location {
    pub fn parse(input: &str, base_dir: &Path) -> Result<Location, String> {
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

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(r) => write!(f, "{r}"),
            Location::Registry(r) => write!(f, "{r}"),
        }
    }
}
