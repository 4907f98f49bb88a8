//! Where plain http is allowed: only literal loopback addresses (and hosts named for it
//! elsewhere), and what a `--registry-endpoint` URL must look like.

/// Only the literal loopback addresses: `localhost`, an IPv4 address in 127.0.0.0/8 and `[::1]`,
/// with or without a port. A name that merely starts with "127." (`127.0.0.1.nip.io`) is remote.
pub(super) fn is_loopback(host: &str) -> bool {
    let h = match host.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') =>
        {
            h
        }
        _ => host,
    };
    if h == "localhost" {
        return true;
    }
    if let Some(v6) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    }
    h.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a `--registry-endpoint` URL before any request: http(s), a host, a port that exists. The
/// URL is never echoed (it may carry user info).
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("the URL is not valid ({e})"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!(
            "the URL's scheme is {}; a registry endpoint is http:// or https://",
            u.scheme()
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(())
}
