//! Parallel, deterministic gzip (pigz's method). The input is cut into fixed 512 KiB blocks; each
//! block is compressed on its own as raw deflate, primed with the previous block's last 32 KiB as
//! a dictionary (so the ratio stays that of one stream) and ended with a sync flush (byte aligned),
//! the last one with a finish. Concatenated under one gzip header with the CRC32 and size trailer,
//! they form a single ordinary gzip member. Block boundaries depend only on byte offsets, never on
//! the thread count or timing, so the output is identical on every machine. Memory is bounded: at
//! most a few blocks are in flight.

use flate2::{Compress, Compression, FlushCompress, Status};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

pub const BLOCK: usize = 512 * 1024;
const DICT: usize = 32 * 1024;
/// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS "unknown".
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

struct Job {
    index: u64,
    dict: Vec<u8>,
    data: Vec<u8>,
    last: bool,
}

type Done = (u64, io::Result<Vec<u8>>);

/// Compresses one block as raw deflate, primed with `dict`.
pub fn deflate_block(level: u32, dict: &[u8], data: &[u8], last: bool) -> io::Result<Vec<u8>> {
    let err = |e: flate2::CompressError| io::Error::other(format!("deflate: {e}"));
    let mut c = Compress::new(Compression::new(level), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(err)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 1024);
    let mut input = data;
    loop {
        let before = c.total_in();
        let status = c.compress_vec(input, &mut out, flush).map_err(err)?;
        input = &input[(c.total_in() - before) as usize..];
        let done = match status {
            Status::StreamEnd => true,
            _ if !last => input.is_empty() && out.len() < out.capacity(),
            _ => false,
        };
        if done {
            return Ok(out);
        }
        if out.len() == out.capacity() {
            out.reserve(64 * 1024);
        }
    }
}

pub struct ParallelGz<W: Write> {
    out: Option<W>,
    level: u32,
    buf: Vec<u8>,
    dict: Vec<u8>,
    crc: crc32fast::Hasher,
    total: u64,
    submitted: u64,
    written: u64,
    ready: BTreeMap<u64, Vec<u8>>,
    max_in_flight: u64,
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
}

impl<W: Write> ParallelGz<W> {
    /// Starts a gzip stream into `out`, compressing on `threads` worker threads.
    pub fn new(mut out: W, level: u32, threads: usize) -> io::Result<ParallelGz<W>> {
        out.write_all(&HEADER)?;
        let threads = threads.max(1);
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                let tx = done_tx.clone();
                std::thread::spawn(move || loop {
                    let job = match rx.lock().map(|r| r.recv()) {
                        Ok(Ok(job)) => job,
                        _ => return,
                    };
                    let result = deflate_block(level, &job.dict, &job.data, job.last);
                    if tx.send((job.index, result)).is_err() {
                        return;
                    }
                })
            })
            .collect();
        Ok(ParallelGz {
            out: Some(out),
            level,
            buf: Vec::with_capacity(BLOCK),
            dict: Vec::new(),
            crc: crc32fast::Hasher::new(),
            total: 0,
            submitted: 0,
            written: 0,
            ready: BTreeMap::new(),
            max_in_flight: 2 * threads as u64 + 1,
            jobs: Some(job_tx),
            done: done_rx,
            workers,
        })
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(if last { 0 } else { BLOCK }),
        );
        let next_dict = data[data.len().saturating_sub(DICT)..].to_vec();
        let dict = std::mem::replace(&mut self.dict, next_dict);
        let job = Job {
            index: self.submitted,
            dict,
            data,
            last,
        };
        self.submitted += 1;
        self.jobs
            .as_ref()
            .expect("not finished")
            .send(job)
            .map_err(|_| io::Error::other("gzip worker stopped"))?;
        while self.submitted - self.written >= self.max_in_flight {
            self.collect_one()?;
        }
        Ok(())
    }

    /// Waits for one finished block and writes out every block that is now in order.
    fn collect_one(&mut self) -> io::Result<()> {
        let (index, result) = self
            .done
            .recv()
            .map_err(|_| io::Error::other("gzip worker stopped"))?;
        self.ready.insert(index, result?);
        let out = self.out.as_mut().expect("not finished");
        while let Some(block) = self.ready.remove(&self.written) {
            out.write_all(&block)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Ends the stream (last block, CRC32 and size trailer) and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while self.written < self.submitted {
            self.collect_one()?;
        }
        let mut out = self.out.take().expect("not finished");
        out.write_all(&self.crc.clone().finalize().to_le_bytes())?;
        out.write_all(&(self.total as u32).to_le_bytes())?;
        Ok(out)
    }

    pub fn level(&self) -> u32 {
        self.level
    }
}

impl<W: Write> Write for ParallelGz<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.crc.update(&data[..n]);
        self.total += n as u64;
        if self.buf.len() == BLOCK {
            self.submit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ParallelGz<W> {
    fn drop(&mut self) {
        self.jobs.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(n: usize) -> Vec<u8> {
        let mut x: u32 = 12345;
        (0..n)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 3 == 0 {
                    (x >> 24) as u8
                } else {
                    b"lambda layers "[i % 14]
                }
            })
            .collect()
    }

    fn gz(data: &[u8], threads: usize, chunk: usize) -> Vec<u8> {
        let mut g = ParallelGz::new(Vec::new(), 6, threads).unwrap();
        for c in data.chunks(chunk) {
            g.write_all(c).unwrap();
        }
        g.finish().unwrap()
    }

    #[test]
    fn round_trips_and_is_independent_of_threads_and_write_sizes() {
        for n in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 777] {
            let data = sample(n);
            let one = gz(&data, 1, 4096);
            assert_eq!(one, gz(&data, 3, 65_536 + 7), "n={n}");
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&one[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "n={n}");
        }
    }

    #[test]
    fn ratio_close_to_a_single_stream() {
        let data = sample(4 * BLOCK);
        let ours = gz(&data, 2, 1 << 20).len() as f64;
        let mut single = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        single.write_all(&data).unwrap();
        let theirs = single.finish().unwrap().len() as f64;
        assert!(ours / theirs < 1.01, "parallel {ours} vs single {theirs}");
    }
}
