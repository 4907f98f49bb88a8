//! Wheel file names (`name-version[-build]-py-abi-platform.whl`), and their ranking for a target.
#![no_main]
use lamina::python::tags::Target;
use lamina::python::wheel_name::WheelName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
    let _ = lamina::python::tags::manylinux_requirement(s);
});
