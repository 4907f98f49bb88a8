//! METADATA (email headers), its Requires-Dist lines (PEP 508) and their environment markers, and
//! Requires-Python specifiers, as the wheel planner and the lock readers evaluate them.
use lamina_core::python::requires::{
    evaluate, marker_applies, parse_requirement, specifier_contains,
};
use lamina_core::python::tags::Target;
use lamina_core::python::wheel::header;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let target = Target {
        minor: 12,
        arch: "x86_64".into(),
        glibc: (2, 34),
        allow_linux: false,
    };
    let extras = vec!["socks".to_string()];
    let sets: [(&str, &[String]); 2] = [("extras", &extras), ("dependency_groups", &[])];
    let versions = header(&text, "Version");
    for line in header(&text, "Requires-Dist") {
        // PEP 508 requirements through pep508_rs (or the fallback), specifiers through pep440_rs.
        if let Some(r) = parse_requirement(line) {
            for v in &versions {
                let _ = r.accepts(v);
            }
            if let Some(m) = &r.marker {
                let _ = marker_applies(m, &target);
                let _ = evaluate(m, &target, &sets);
            }
        }
    }
    for spec in header(&text, "Requires-Python") {
        let _ = specifier_contains(spec, "3.12");
    }
    let _ = header(&text, "Name");
    // The whole input as one marker (pep508_rs, then lamina's lock-marker parser) and one
    // specifier set too (markers come from lock files).
    let _ = marker_applies(&text, &target);
    let _ = evaluate(&text, &target, &sets);
    let _ = specifier_contains(&text, "3.12.1");
}
