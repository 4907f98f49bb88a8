//! Image references: `--push`/`--base`/`pull` registry references, `oci:`/`docker-archive:`
//! outputs, and the `Location` that chooses between them.
use lamina_core::location::Location;
use lamina_core::oci::reference::{valid_repository, valid_tag, ImageRef};
use lamina_core::registry::Reference;
use std::path::Path;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let base = Path::new("/work/project");
    if let Ok(r) = Reference::parse(s) {
        let _ = r.to_string();
        let _ = r.reference();
        let _ = r.repo_name();
        let again = r.with_tag(Some("v1"));
        let _ = Reference::parse(&again.to_string());
    }
    if let Ok(r) = ImageRef::parse(s, base) {
        let _ = r.to_string();
    }
    if let Ok(l) = Location::parse(s, base) {
        let _ = l.to_string();
    }
    let _ = valid_repository(s);
    let _ = valid_tag(s);
}
