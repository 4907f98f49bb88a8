//! A hashed `requirements.txt` (pip's format, `--hash`, options, `${VAR}`), then the choice of
//! wheels for a target.
use std::path::Path;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |k: &str| (k == "TOKEN").then(|| "s3cr3t".to_string());
    crate::select_for_lambda(lamina_core::python::lock::requirements::parse(
        Path::new("/p/requirements.txt"),
        text,
        &env,
    ));
}
