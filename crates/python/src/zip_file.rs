//! The file under a wheel's zip reader: positioned reads (`pread`) through one small buffer that
//! survives seeks landing inside it. The zip reader seeks to every entry's local header and then
//! to its data; a `BufReader` throws its buffer away on each seek and refills all of it, so a
//! wheel of ten thousand small files was read many times over. Entries installed in path order
//! are mostly adjacent in the file, so one buffer fill serves several of them. It only reads.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// Bytes read ahead per fill. Reads at least this large bypass the buffer.
const FILL: usize = 64 * 1024;

pub struct ZipFile {
    file: File,
    len: u64,
    /// The logical position.
    pos: u64,
    /// File offset of `buf[0]`.
    start: u64,
    buf: Vec<u8>,
}

impl ZipFile {
    pub fn new(file: File) -> io::Result<ZipFile> {
        let len = file.metadata()?.len();
        Ok(ZipFile {
            file,
            len,
            pos: 0,
            start: 0,
            buf: Vec::new(),
        })
    }

    /// `buf[..]` as far as it covers `pos`, or `None`.
    fn buffered(&self) -> Option<&[u8]> {
        let off = self.pos.checked_sub(self.start)?;
        let off = usize::try_from(off).ok()?;
        (off < self.buf.len()).then(|| &self.buf[off..])
    }

    fn read_at_full(&self, out: &mut [u8], at: u64) -> io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            match self.file.read_at(&mut out[n..], at + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

impl Read for ZipFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if let Some(have) = self.buffered() {
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        if out.len() >= FILL {
            let n = self.read_at_full(out, self.pos)?;
            self.pos += n as u64;
            return Ok(n);
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(FILL, 0);
        let got = self.read_at_full(&mut buf, self.pos);
        let got = match got {
            Ok(n) => n,
            Err(e) => {
                buf.clear();
                self.buf = buf;
                return Err(e);
            }
        };
        buf.truncate(got);
        self.start = self.pos;
        self.buf = buf;
        let n = got.min(out.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ZipFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn reads_like_the_file_across_seeks() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut t = tempfile::NamedTempFile::new().unwrap();
        t.write_all(&data).unwrap();
        let mut z = ZipFile::new(t.reopen().unwrap()).unwrap();
        let mut x: u64 = 99;
        for _ in 0..2000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let at = (x >> 33) % (data.len() as u64 + 10);
            let want = [1usize, 30, 4096, FILL - 1, FILL, 3 * FILL][(x % 6) as usize];
            let from = match x % 3 {
                0 => SeekFrom::Start(at),
                1 => SeekFrom::Current(at as i64 - z.stream_position().unwrap() as i64),
                _ => SeekFrom::End(at as i64 - data.len() as i64),
            };
            assert_eq!(z.seek(from).unwrap(), at);
            let mut got = vec![0u8; want];
            let n = z.read(&mut got).unwrap();
            let end = (at as usize + want).min(data.len());
            let expected = data.get(at as usize..end).unwrap_or(&[]);
            assert!(n <= want && (n > 0 || expected.is_empty()), "at {at}");
            assert_eq!(&got[..n], &expected[..n], "at {at} want {want}");
            assert_eq!(z.stream_position().unwrap(), at + n as u64);
        }
        assert!(z.seek(SeekFrom::Current(-(i64::MAX))).is_err());
    }
}
