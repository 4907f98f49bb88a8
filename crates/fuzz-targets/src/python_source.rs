//! Python source as the gate reads it: the encoding cookie, the parser for a target version, and
//! the import facts (imports, guards, names bound, `sys.path` changes).
use lamina_core::analysis::{facts, source};

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(text) = source::decode(data) else {
        return;
    };
    for minor in [Some(8), Some(12), None] {
        if let Ok((module, lines)) = source::parse(&text, minor) {
            let _ = facts::facts(&module, &text, &lines, Some("pkg.mod"), minor);
        }
    }
}
