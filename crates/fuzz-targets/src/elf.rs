//! ELF headers and `.gnu.version_r`/`.gnu.version_d` of a wheel's native library, and the
//! program headers (`PT_INTERP`, `PT_DYNAMIC`) the bytecode step reads from a base's python.

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let _ = lamina_core::analysis::elf::inspect(data);
    let _ = lamina_core::analysis::elf::program::read(data);
}
