//! A hashed `requirements.txt` (pip's format, `--hash`, options, `${VAR}`), then the choice of
//! wheels for a target.
#![no_main]
use lamina::diagnostic::Hint as _;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |k: &str| (k == "TOKEN").then(|| "s3cr3t".to_string());
    match lamina::lock::requirements::parse(Path::new("/p/requirements.txt"), text, &env) {
        Ok(lock) => {
            for arch in ["x86_64", "aarch64"] {
                let target = lamina::python::tags::Target {
                    minor: 12,
                    arch: arch.into(),
                    glibc: (2, 34),
                    allow_linux: false,
                };
                let _ = lamina::lock::select(&lock, &target, &target.ranking());
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.hint();
        }
    }
});
