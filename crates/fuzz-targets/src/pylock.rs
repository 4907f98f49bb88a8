//! `pylock.toml` (PEP 751), then the choice of wheels for a target.
use std::path::Path;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    crate::select_for_lambda(lamina_core::python::lock::pylock::parse(
        Path::new("/p/pylock.toml"),
        text,
    ));
}
