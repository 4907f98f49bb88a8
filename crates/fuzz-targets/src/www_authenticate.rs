//! A registry's `WWW-Authenticate` challenge, and `--creds USER:PASS`.
use lamina_core::registry::auth::{parse_challenge, Credential};

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_challenge(s);
    if let Ok(c) = Credential::parse(s) {
        let _ = c.basic();
    }
}
