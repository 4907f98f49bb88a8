//! A wheel's RECORD (csv), entry_points.txt (ini), and archive member names.
use lamina_core::python::wheel::{check_member, parse_entry_points, parse_record};

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(rows) = parse_record(&text) {
        for name in rows.keys() {
            let _ = check_member(name);
        }
    }
    let _ = parse_entry_points(&text);
    for line in text.lines() {
        let _ = check_member(line);
    }
}
