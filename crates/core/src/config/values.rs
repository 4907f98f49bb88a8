//! The value syntaxes lamina.toml and the flags share: sizes, counts, durations, Python and glibc
//! versions, handlers and `KEY=VALUE` pairs. Each parser returns the reason a value is wrong,
//! without echoing values that may be secrets; the field is named by its caller.

/// `123`, `500M`, `5G`, `5GiB`, `10GB` → bytes (K/M/G are powers of 1000, Ki/Mi/Gi of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 500M, 5G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000 * 1000,
        "g" | "gb" => 1000 * 1000 * 1000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        _ => return Err(format!("'{s}' is not a size (e.g. 500M, 5G)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// `--chunk-size`: a size of at least one byte (0 would upload nothing, then fail the digest).
pub fn parse_chunk_size(s: &str) -> Result<u64, String> {
    match parse_size(s)? {
        0 => Err("must be at least 1 byte".into()),
        n => Ok(n),
    }
}

/// A count of at least 1 (`--parallel`).
pub fn parse_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// `90`, `90s`, `2m`, `1h` → a duration of at least one second (`--timeout`).
pub fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("'{s}' is not a duration such as 30s or 2m");
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => return Err(bad()),
    }
    .ok_or_else(bad)?;
    if secs == 0 {
        return Err("must be at least 1s".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// `3.12` → 12.
pub fn parse_python(s: &str) -> Result<u32, String> {
    match s.trim().strip_prefix("3.").and_then(|m| m.parse().ok()) {
        Some(m) => Ok(m),
        None => Err(format!("'{s}' is not a CPython 3 version such as 3.12")),
    }
}

/// `2.34` → (2, 34).
pub fn parse_glibc(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{s}' is not a glibc version such as 2.34");
    let (a, b) = s.trim().split_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

/// Checks a handler string as the Lambda runtime will split it (full resolution comes later).
pub fn check_handler(h: &str) -> Result<(), String> {
    if h.is_empty() {
        return Err("is empty".into());
    }
    if h.chars().any(char::is_whitespace) {
        return Err(format!("'{h}' contains whitespace"));
    }
    match h.rsplit_once('.') {
        Some((m, f)) if !m.is_empty() && !f.is_empty() => Ok(()),
        _ => Err(format!(
            "'{h}' is not module.function (Lambda fails with Runtime.MalformedHandlerName)"
        )),
    }
}

/// Parses `K=V` for `--env` and `--label`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.chars().any(char::is_whitespace) => {
            Ok((k.into(), v.into()))
        }
        // The value is not echoed: it may be a secret.
        Some(_) => Err("is not KEY=VALUE: the name before '=' is empty or has spaces".into()),
        None => Err("is not KEY=VALUE: it has no '='".into()),
    }
}
