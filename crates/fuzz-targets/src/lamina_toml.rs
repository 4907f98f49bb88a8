//! `lamina.toml`, read by `config::load_file` as a build reads it.
use lamina_core::diagnostic::Hint as _;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lamina.toml"), data).expect("write");
    if let Err(e) = lamina_core::config::load_file(dir.path()) {
        let _ = e.to_string();
        let _ = e.hint();
    }
}
