//! A whole wheel file: the zip, its .dist-info, RECORD hashes and sizes, and the install plan
//! (`lamina_install::wheels::plan`), as for a wheel downloaded from an index.
//!
//! The file is named after the first `NAME-VERSION.dist-info/` in the zip, so mutated real wheels
//! get past the file-name check and into the contents.
use lamina_core::install::wheels::{plan, WheelsOptions};
use lamina_core::python::tags::Target;
use std::io::Cursor;

fn file_name(data: &[u8]) -> String {
    let fallback = "pkg-1.0-py3-none-any.whl".to_string();
    let Ok(z) = zip::ZipArchive::new(Cursor::new(data)) else {
        return fallback;
    };
    for n in z.file_names().filter_map(Result::ok) {
        if let Some((top, _)) = n.split_once(".dist-info/") {
            if let Some((name, version)) = top.rsplit_once('-') {
                if !name.is_empty()
                    && !version.is_empty()
                    && !name.contains(['/', '\0'])
                    && !version.contains(['/', '\0'])
                {
                    return format!("{name}-{version}-py3-none-any.whl");
                }
            }
        }
    }
    fallback
}

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(file_name(data));
    if std::fs::write(&path, data).is_err() {
        return; // a name the file system refuses
    }
    let opts = WheelsOptions {
        target: Target {
            minor: 12,
            arch: "x86_64".into(),
            glibc: (2, 34),
            allow_linux: false,
        },
        interpreter: "/var/lang/bin/python3.12".into(),
        allow_bad_record: Vec::new(),
        max_unpacked: 64 * 1024 * 1024,
    };
    let _ = plan(&[path], &opts);
}
