//! A base layer (gzip or plain tar) as the gate reads it (`lamina_core::gate::scan::scan`: hard links, orphans,
//! duplicates, Python files) and as the bytecode step extracts it (`bytecode::extract::extract`,
//! whiteouts, symlinks and hard links kept inside the scratch root).
use lamina_core::oci::{BlobSource, Layer};
use oci_spec::image::{Descriptor, Digest, MediaType};
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};
use std::str::FromStr;
use std::sync::Arc;

struct Bytes(Arc<Vec<u8>>);

impl BlobSource for Bytes {
    fn open(&self, _digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(io::Cursor::new(self.0.as_ref().clone())))
    }
    fn describe(&self) -> String {
        "fuzz input".into()
    }
}

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let digest =
        Digest::from_str(&format!("sha256:{}", hex::encode(Sha256::digest(data)))).expect("digest");
    let gz = data.starts_with(&[0x1f, 0x8b]);
    let media_type = if gz {
        MediaType::ImageLayerGzip
    } else {
        MediaType::ImageLayer
    };
    let layer = Layer {
        descriptor: Descriptor::new(media_type, data.len() as u64, digest.clone()),
        diff_id: digest,
        uncompressed_size: None,
        file_count: None,
        blob: Arc::new(Bytes(Arc::new(data.to_vec()))),
    };
    let _ = lamina_core::gate::scan::scan(&layer, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let _ = lamina_core::install::bytecode::extract::extract(std::slice::from_ref(&layer), &root);
    // Nothing may land outside the root.
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read tempdir")
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "root")
        .collect();
    assert!(
        outside.is_empty(),
        "extract wrote outside its root: {outside:?}"
    );
}
