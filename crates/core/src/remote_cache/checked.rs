//! A remote cache entry's layer bytes, checked against the entry's `diff_id` the first time they
//! are read: the entry's descriptor was checked against the registry when it was looked up (size,
//! media type, digest), but its `diff_id` goes into the image's config and only the bytes can
//! confirm it. This module does not download (the inner source does) and decides nothing else.

use lamina_oci::{BlobSource, Origin};
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};

/// `inner`'s blob, whose uncompressed bytes must hash to `diff_id`.
pub struct DiffIdChecked {
    pub inner: Arc<dyn BlobSource>,
    pub diff_id: Digest,
    /// The cache entry's tag, for the message.
    pub tag: String,
    checked: OnceLock<()>,
}

impl DiffIdChecked {
    pub fn new(inner: Arc<dyn BlobSource>, diff_id: Digest, tag: String) -> DiffIdChecked {
        DiffIdChecked {
            inner,
            diff_id,
            tag,
            checked: OnceLock::new(),
        }
    }

    fn check(&self, digest: &Digest) -> io::Result<()> {
        let mut gz = flate2::read::MultiGzDecoder::new(self.inner.open(digest)?);
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = gz.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let got = format!("sha256:{}", hex::encode(h.finalize()));
        if got != self.diff_id.to_string() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "remote cache entry {}: layer {digest} unpacks to {got}, the entry says its diff_id is {}",
                    self.tag, self.diff_id
                ),
            ));
        }
        Ok(())
    }
}

impl BlobSource for DiffIdChecked {
    fn open(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        if self.checked.get().is_none() {
            self.check(digest)?;
            let _ = self.checked.set(());
        }
        self.inner.open(digest)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn origin(&self) -> Option<(String, String)> {
        self.inner.origin()
    }
    fn is_local(&self, digest: &Digest) -> bool {
        self.inner.is_local(digest)
    }
    fn kind(&self) -> Origin {
        self.inner.kind()
    }
}
