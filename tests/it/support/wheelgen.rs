//! Builds synthetic wheels for tests: a correct RECORD by default, and knobs to make them hostile.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

pub fn record_hash(data: &[u8]) -> String {
    format!("sha256={}", URL_SAFE_NO_PAD.encode(Sha256::digest(data)))
}

pub struct WheelGen {
    pub name: String,
    pub version: String,
    pub tag: String,
    /// (archive name, bytes, unix mode)
    pub files: Vec<(String, Vec<u8>, u32)>,
    pub symlinks: Vec<(String, String)>,
    /// Archive names left out of RECORD.
    pub unlisted: Vec<String>,
    /// RECORD rows replaced: archive name → (hash, size).
    pub record_override: Vec<(String, String, String)>,
    pub entry_points: Option<String>,
    /// Extra RECORD rows (for files the wheel does not contain).
    pub record_extra: Vec<String>,
    /// METADATA in place of the generated one.
    pub metadata: Option<String>,
}

impl WheelGen {
    pub fn new(name: &str, version: &str, tag: &str) -> WheelGen {
        WheelGen {
            name: name.into(),
            version: version.into(),
            tag: tag.into(),
            files: Vec::new(),
            symlinks: Vec::new(),
            unlisted: Vec::new(),
            record_override: Vec::new(),
            entry_points: None,
            record_extra: Vec::new(),
            metadata: None,
        }
    }

    pub fn file(mut self, name: &str, data: &[u8]) -> Self {
        self.files.push((name.into(), data.to_vec(), 0o100644));
        self
    }

    pub fn file_mode(mut self, name: &str, data: &[u8], mode: u32) -> Self {
        self.files.push((name.into(), data.to_vec(), mode));
        self
    }

    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        self.symlinks.push((name.into(), target.into()));
        self
    }

    /// Replaces the generated METADATA (to declare Requires-Dist and the like).
    pub fn metadata(mut self, text: &str) -> Self {
        self.metadata = Some(text.into());
        self
    }

    pub fn entry_points(mut self, text: &str) -> Self {
        self.entry_points = Some(text.into());
        self
    }

    pub fn dist_info(&self) -> String {
        format!("{}-{}.dist-info", self.name, self.version)
    }

    pub fn filename(&self) -> String {
        format!("{}-{}-{}.whl", self.name, self.version, self.tag)
    }

    /// Writes the wheel into `dir` and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let di = self.dist_info();
        let mut files = self.files.clone();
        let (py, abi, plat) = {
            let parts: Vec<&str> = self.tag.rsplitn(3, '-').collect();
            (
                parts[2].to_string(),
                parts[1].to_string(),
                parts[0].to_string(),
            )
        };
        let pure = plat == "any";
        let mut wheel =
            format!("Wheel-Version: 1.0\nGenerator: lamina-tests\nRoot-Is-Purelib: {pure}\n");
        for p in py.split('.') {
            for a in abi.split('.') {
                for pl in plat.split('.') {
                    wheel.push_str(&format!("Tag: {p}-{a}-{pl}\n"));
                }
            }
        }
        files.push((format!("{di}/WHEEL"), wheel.into_bytes(), 0o100644));
        let metadata = self.metadata.clone().unwrap_or_else(|| {
            format!(
                "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
                self.name, self.version
            )
        });
        files.push((format!("{di}/METADATA"), metadata.into_bytes(), 0o100644));
        if let Some(ep) = &self.entry_points {
            files.push((
                format!("{di}/entry_points.txt"),
                ep.clone().into_bytes(),
                0o100644,
            ));
        }
        let mut record = String::new();
        for (name, data, _) in &files {
            if self.unlisted.contains(name) {
                continue;
            }
            if let Some((_, h, s)) = self.record_override.iter().find(|(n, _, _)| n == name) {
                record.push_str(&format!("{name},{h},{s}\n"));
            } else {
                record.push_str(&format!("{name},{},{}\n", record_hash(data), data.len()));
            }
        }
        for (name, target) in &self.symlinks {
            record.push_str(&format!(
                "{name},{},{}\n",
                record_hash(target.as_bytes()),
                target.len()
            ));
        }
        for row in &self.record_extra {
            record.push_str(&format!("{row}\n"));
        }
        record.push_str(&format!("{di}/RECORD,,\n"));
        files.push((format!("{di}/RECORD"), record.into_bytes(), 0o100644));
        let path = dir.join(self.filename());
        let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, data, mode) in &files {
            let opts = SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .external_attributes(*mode << 16);
            z.start_file(name.as_str(), opts).unwrap();
            z.write_all(data).unwrap();
        }
        for (name, target) in &self.symlinks {
            z.add_symlink(name.as_str(), target.as_str(), SimpleFileOptions::default())
                .unwrap();
        }
        z.finish().unwrap();
        path
    }
}
