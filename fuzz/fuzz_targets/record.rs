//! libFuzzer entry for `lamina_fuzz_targets::record` (the body, and its doc, live there).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lamina_fuzz_targets::record::run(data));
