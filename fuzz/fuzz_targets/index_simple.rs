//! A package index's project page: PEP 691 JSON and PEP 503 HTML.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reqwest::Url;

fuzz_target!(|data: &[u8]| {
    let base = Url::parse("https://pypi.example/simple/six/").expect("url");
    let _ = lamina::index::simple::parse_json(&base, data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = lamina::index::simple::parse_html(&base, s);
    }
});
