//! A registry's answer whose body must keep arriving. reqwest bounds each wait for bytes by the
//! client's timeout; a `Reply` also fails a body that trickles: once the timeout has passed, the
//! bytes read so far must keep up `MIN_RATE`. Errors say which host did not answer in time.

use reqwest::blocking::Response;
use std::io::Read;
use std::time::{Duration, Instant};

/// The throughput a request must keep up once `timeout` has passed (a trickle is a stall).
pub const MIN_RATE: u64 = 16 * 1024;

/// How long a request with a body of `bytes` may take: the timeout, plus the body at `MIN_RATE`.
pub fn transfer_time(timeout: Duration, bytes: u64) -> Duration {
    timeout + Duration::from_secs(bytes / MIN_RATE)
}

pub(super) fn stalled(host: &str, timeout: Duration) -> super::Transfer {
    super::Transfer::Stalled {
        host: host.to_string(),
        secs: timeout.as_secs(),
    }
}

/// An answer whose body must keep arriving: a wait for bytes longer than the timeout fails, and so
/// does a body that arrives slower than `MIN_RATE` once the timeout has passed (a trickle).
pub struct Reply {
    inner: Response,
    start: Instant,
    read: u64,
    timeout: Duration,
    host: String,
}

impl Reply {
    pub(super) fn new(inner: Response, start: Instant, host: &str, timeout: Duration) -> Reply {
        Reply {
            inner,
            start,
            read: 0,
            timeout,
            host: host.to_string(),
        }
    }

    fn stall(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            stalled(&self.host, self.timeout),
        )
    }
}

impl std::ops::Deref for Reply {
    type Target = Response;
    fn deref(&self) -> &Response {
        &self.inner
    }
}

impl Read for Reply {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| {
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.get_ref()
                    .and_then(|i| i.downcast_ref::<reqwest::Error>())
                    .is_some_and(reqwest::Error::is_timeout);
            if timed_out {
                self.stall()
            } else {
                e
            }
        })?;
        self.read += n as u64;
        let elapsed = self.start.elapsed();
        if n > 0 && elapsed > self.timeout {
            let owed = (elapsed - self.timeout).as_secs_f64() * MIN_RATE as f64;
            if (self.read as f64) < owed {
                return Err(self.stall());
            }
        }
        Ok(n)
    }
}
