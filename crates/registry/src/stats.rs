//! What the registry client counts (requests, retries, bytes each way, warnings), and the reader
//! that feeds the byte counters for live progress.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Request counters, for reports and tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub blobs_uploaded: AtomicU64,
    pub bytes_uploaded: AtomicU64,
    pub blobs_skipped: AtomicU64,
    pub blobs_mounted: AtomicU64,
    pub retries: AtomicU64,
    /// Bytes streamed so far (uploads and downloads), for live progress.
    pub bytes_sent: std::sync::Arc<AtomicU64>,
    pub bytes_received: std::sync::Arc<AtomicU64>,
    /// Things the user should know that did not stop the run (a damaged cached blob replaced).
    pub warnings: Mutex<Vec<String>>,
}

/// Counts bytes read through it into a shared counter (progress display).
pub struct Counting<R> {
    pub inner: R,
    pub counter: std::sync::Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
