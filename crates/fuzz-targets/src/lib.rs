//! The bodies of lamina's fuzz targets, one module per parser of untrusted input, each a
//! `run(data)` that must never panic, hang or exhaust memory. `fuzz/` (cargo-fuzz, nightly)
//! drives them with libFuzzer (`scripts/fuzz.sh`); `tests/replay.rs` replays every committed
//! corpus file (seeds and saved crashers, `fuzz/corpus/<target>/`) through them on the stable
//! toolchain as an ordinary test, so `cargo test` fails on a regression without instrumentation.

pub mod dockerfile;
pub mod dockerignore;
pub mod elf;
pub mod index_simple;
pub mod lamina_toml;
pub mod layer_tar;
pub mod metadata;
pub mod oci_layout;
pub mod pylock;
pub mod python_source;
pub mod record;
pub mod reference;
pub mod remote_cache_entry;
pub mod requirements;
pub mod serverless;
pub mod wheel_name;
pub mod wheel_zip;
pub mod www_authenticate;

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("dockerfile", dockerfile::run),
    ("dockerignore", dockerignore::run),
    ("elf", elf::run),
    ("index_simple", index_simple::run),
    ("lamina_toml", lamina_toml::run),
    ("layer_tar", layer_tar::run),
    ("metadata", metadata::run),
    ("oci_layout", oci_layout::run),
    ("pylock", pylock::run),
    ("python_source", python_source::run),
    ("record", record::run),
    ("reference", reference::run),
    ("remote_cache_entry", remote_cache_entry::run),
    ("requirements", requirements::run),
    ("serverless", serverless::run),
    ("wheel_name", wheel_name::run),
    ("wheel_zip", wheel_zip::run),
    ("www_authenticate", www_authenticate::run),
];

/// A parsed lock's wheels chosen for both Lambda architectures (CPython 3.12, glibc 2.34); a
/// lock that did not parse is rendered with its hint. Shared by the two lock formats' targets.
fn select_for_lambda(
    parsed: Result<lamina_core::python::lock::Lock, lamina_core::python::lock::LockError>,
) {
    use lamina_core::diagnostic::Hint as _;
    match parsed {
        Ok(lock) => {
            for arch in ["x86_64", "aarch64"] {
                let target = lamina_core::python::tags::Target {
                    minor: 12,
                    arch: arch.into(),
                    glibc: (2, 34),
                    allow_linux: false,
                };
                let _ = lamina_core::python::lock::select(&lock, &target, &target.ranking());
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.hint();
        }
    }
}
