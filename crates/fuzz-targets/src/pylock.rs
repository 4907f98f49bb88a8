//! `pylock.toml` (PEP 751), then the choice of wheels for a target.
use lamina_core::diagnostic::Hint as _;
use std::path::Path;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match lamina_core::lock::pylock::parse(Path::new("/p/pylock.toml"), text) {
        Ok(lock) => {
            for arch in ["x86_64", "aarch64"] {
                let target = lamina_core::python::tags::Target {
                    minor: 12,
                    arch: arch.into(),
                    glibc: (2, 34),
                    allow_linux: false,
                };
                let _ = lamina_core::lock::select(&lock, &target, &target.ranking());
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.hint();
        }
    }
}
