//! `lamina.toml`, read by `config::load_file` as a build reads it.
#![no_main]
use lamina::diagnostic::Hint as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lamina.toml"), data).expect("write");
    if let Err(e) = lamina::config::load_file(dir.path()) {
        let _ = e.to_string();
        let _ = e.hint();
    }
});
