//! `.dockerignore`: the patterns, compiled, then matched. Input: the file, a line `----`, then
//! paths to match (one per line).
use lamina_core::project::ignore::{clean, Ignore};

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (file, paths) = text
        .split_once("\n----\n")
        .unwrap_or((&text, "a/b.py\nsrc\n.git/x"));
    let Ok(ignore) = Ignore::parse(file, ".dockerignore") else {
        return;
    };
    let _ = ignore.has_exceptions();
    for p in paths.lines().take(64) {
        let _ = clean(p);
        let _ = ignore.is_ignored(p);
    }
}
