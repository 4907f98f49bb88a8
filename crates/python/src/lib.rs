//! Python packaging knowledge: wheel file names and compatibility tags (`wheel_name`, `tags`), a
//! wheel's contents as pip sees them (`wheel`), `Requires-Dist` and markers (`requires`), which
//! project provides an import name (`provides`), the simple-index client (`index`) and locks
//! (`lock`: pylock.toml, hashed requirements), and the license METADATA declares (`license`). It knows nothing of layers, images or registries,
//! and does not read Python source (that is `lamina-analysis`).

pub mod index;
pub mod license;
pub mod lock;
pub mod provides;
pub mod requires;
pub mod tags;
pub mod wheel;
pub mod wheel_name;
mod zip_file;

/// PEP 503 name normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn normalizes() {
        assert_eq!(super::normalize_name("zope.interface"), "zope-interface");
        assert_eq!(super::normalize_name("MarkupSafe"), "markupsafe");
        assert_eq!(
            super::normalize_name("googleapis_common__protos"),
            "googleapis-common-protos"
        );
    }
}
