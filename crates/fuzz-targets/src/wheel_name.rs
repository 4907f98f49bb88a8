//! Wheel file names (`name-version[-build]-py-abi-platform.whl`), and their ranking for a target.
use lamina_core::python::tags::Target;
use lamina_core::python::wheel_name::WheelName;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(w) = WheelName::parse(s) {
        let _ = w.normalized();
        let _ = w.tag_string();
        let _ = w.tags().count();
        for arch in ["x86_64", "aarch64"] {
            let t = Target {
                minor: 12,
                arch: arch.into(),
                glibc: (2, 34),
                allow_linux: true,
            };
            let _ = t.ranking().rank(&w);
        }
    }
    let _ = lamina_core::python::tags::manylinux_requirement(s);
}
