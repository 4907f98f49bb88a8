//! A package index's project page: PEP 691 JSON and PEP 503 HTML.
use reqwest::Url;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let base = Url::parse("https://pypi.example/simple/six/").expect("url");
    let _ = lamina_core::python::index::simple::parse_json(&base, data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = lamina_core::python::index::simple::parse_html(&base, s);
    }
}
