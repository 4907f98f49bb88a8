//! A registry's `WWW-Authenticate` challenge, and `--creds USER:PASS`.
#![no_main]
use lamina::registry::auth::{parse_challenge, Credential};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_challenge(s);
    if let Ok(c) = Credential::parse(s) {
        let _ = c.basic();
    }
});
