//! Byte counts as people read them (`12.3 MiB`), for messages and progress lines. Nothing else.

/// Bytes for people: `512 B`, then KiB, MiB, GiB with one decimal (the only unit style lamina
/// prints; JSON carries bytes).
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
