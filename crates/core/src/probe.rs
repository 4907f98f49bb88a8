//! What a base image runs, read from its layers when neither the catalog nor a flag says: the
//! CPython (`python3.X` in /var/lang/bin, /usr/local/bin or /usr/bin) and the glibc (`libc.so.6`:
//! the `libc-2.26.so` it links to on older systems, else the highest `GLIBC_x.y` it defines).
//! Every base layer is streamed once; later layers win. Only used when needed: it reads bytes.

use flate2::read::GzDecoder;
use lamina_analysis::elf;
use lamina_oci::Image;
use std::io::{self, Read};

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseFacts {
    pub python_minor: Option<u32>,
    /// Absolute path of that interpreter in the image.
    pub interpreter: Option<String>,
    pub glibc: Option<(u32, u32)>,
}

const PY_DIRS: [&str; 3] = ["var/lang/bin", "usr/local/bin", "usr/bin"];
use lamina_install::lambda::LIB_DIRS;

fn libc_version_from_name(name: &str) -> Option<(u32, u32)> {
    let v = name.strip_prefix("libc-")?.strip_suffix(".so")?;
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// `probe`, remembered in `cache_dir` by the base's layer digests (layers are immutable, so the
/// answer never changes; reading a base's layers again costs seconds).
pub fn probe_cached(image: &Image, cache_dir: Option<&std::path::Path>) -> io::Result<BaseFacts> {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for l in &image.layers {
        h.update(l.digest().to_string());
        h.update(b"\0");
    }
    let file = cache_dir.map(|d| d.join(format!("probe-v1-{}.json", hex::encode(h.finalize()))));
    if let Some(Ok(bytes)) = file.as_ref().map(std::fs::read) {
        if let Ok(f) = serde_json::from_slice::<BaseFacts>(&bytes) {
            return Ok(f);
        }
    }
    let facts = probe(image)?;
    if let Some(path) = file {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = lamina_oci::layout::write_atomic(
            &path,
            &serde_json::to_vec(&facts).unwrap_or_default(),
        );
    }
    Ok(facts)
}

pub fn probe(image: &Image) -> io::Result<BaseFacts> {
    let mut facts = BaseFacts::default();
    let mut py_rank = usize::MAX;
    for layer in &image.layers {
        let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(layer.open_verified()?)));
        for entry in tar.entries()? {
            let mut entry = entry?;
            let path = entry
                .path()?
                .to_string_lossy()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            if let Some(rank) = PY_DIRS.iter().position(|d| *d == dir) {
                if let Some(minor) = name
                    .strip_prefix("python3.")
                    .and_then(|m| m.parse::<u32>().ok())
                {
                    if rank < py_rank || (rank == py_rank && Some(minor) > facts.python_minor) {
                        py_rank = rank;
                        facts.python_minor = Some(minor);
                        facts.interpreter = Some(format!("/{path}"));
                    }
                }
            }
            if !LIB_DIRS.contains(&dir) {
                continue;
            }
            if let Some(v) = libc_version_from_name(name) {
                facts.glibc = Some(v);
            } else if name == "libc.so.6" {
                if let Some(target) = entry.link_name()? {
                    let t = target.to_string_lossy();
                    if let Some(v) = libc_version_from_name(t.rsplit('/').next().unwrap_or(&t)) {
                        facts.glibc = Some(v);
                    }
                } else if entry.header().entry_type().is_file() && entry.size() < 64 << 20 {
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes)?;
                    if let Some(v) = elf::inspect(&bytes).ok().and_then(|i| i.defines_glibc) {
                        facts.glibc = Some(v);
                    }
                }
            }
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn libc_names() {
        assert_eq!(super::libc_version_from_name("libc-2.26.so"), Some((2, 26)));
        assert_eq!(super::libc_version_from_name("libc.so.6"), None);
    }
}
