//! Retrying HTTP exchanges, shared by the registry and the package-index clients: which answers are
//! worth another try (429, 5xx, transport errors), how long to wait (exponential backoff with
//! jitter, or the server's `Retry-After` in seconds, capped at two minutes), and how many tries to
//! make. It knows nothing of either protocol: each client runs its own loop and asks this module.

use reqwest::blocking::Response;
use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub max_tries: u32,
    pub base: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_tries: 5,
            base: Duration::from_millis(250),
        }
    }
}

/// An answer another try may fix: too many requests, or a server error.
pub fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The longest `Retry-After` lamina honours, in seconds.
pub const MAX_RETRY_AFTER: u64 = 120;

/// The server's `Retry-After` (whole seconds), capped at `MAX_RETRY_AFTER`.
pub fn retry_after(resp: &Response) -> Option<Duration> {
    resp.headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(MAX_RETRY_AFTER)))
}

/// A pseudo-random delay between half and one and a half times `ms`.
pub fn jitter(ms: u64) -> u64 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ms / 2 + x % (ms.max(1))
}

impl Policy {
    /// The pause after try number `tries` (1-based) failed: `server` (Retry-After) if given, else
    /// the base doubled per try, with jitter.
    pub fn delay(&self, tries: u32, server: Option<Duration>) -> Duration {
        let backoff = self.base.as_millis() as u64 * (1u64 << (tries.max(1) - 1).min(8));
        server.unwrap_or(Duration::from_millis(jitter(backoff)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_server_wins() {
        let p = Policy {
            max_tries: 5,
            base: Duration::from_millis(100),
        };
        for _ in 0..20 {
            let d1 = p.delay(1, None).as_millis();
            let d3 = p.delay(3, None).as_millis();
            assert!((50..150).contains(&d1), "{d1}");
            assert!((200..600).contains(&d3), "{d3}");
        }
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable_status(StatusCode::BAD_GATEWAY));
        assert!(!retryable_status(StatusCode::NOT_FOUND));
    }
}
