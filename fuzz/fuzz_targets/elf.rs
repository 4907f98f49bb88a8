//! ELF headers and `.gnu.version_r`/`.gnu.version_d` of a wheel's native library.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lamina::python::elf::inspect(data);
});
