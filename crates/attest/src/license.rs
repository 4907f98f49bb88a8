//! A distribution's license as METADATA declares it: `License-Expression` (PEP 639) as it is;
//! else a `License` field or a `Classifier: License :: …` that names one well-known SPDX license;
//! else the `License` text (CycloneDX keeps it as a name; SPDX says NOASSERTION). It guesses
//! nothing from the license files.

use crate::License;

/// Trove classifiers (and `License` values) that name exactly one SPDX license.
const KNOWN: &[(&str, &str)] = &[
    ("MIT License", "MIT"),
    ("MIT", "MIT"),
    ("Apache Software License", "Apache-2.0"),
    ("Apache 2.0", "Apache-2.0"),
    ("Apache-2.0", "Apache-2.0"),
    ("Apache License 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("BSD-3-Clause", "BSD-3-Clause"),
    ("BSD-2-Clause", "BSD-2-Clause"),
    ("ISC License (ISCL)", "ISC"),
    ("ISC", "ISC"),
    ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    ("MPL-2.0", "MPL-2.0"),
    ("Python Software Foundation License", "PSF-2.0"),
    ("PSF-2.0", "PSF-2.0"),
    ("The Unlicense (Unlicense)", "Unlicense"),
    (
        "GNU Lesser General Public License v3 (LGPLv3)",
        "LGPL-3.0-only",
    ),
    ("GNU General Public License v3 (GPLv3)", "GPL-3.0-only"),
    ("GNU General Public License v2 (GPLv2)", "GPL-2.0-only"),
];

fn known(text: &str) -> Option<&'static str> {
    let t = text.trim();
    KNOWN.iter().find(|(k, _)| *k == t).map(|(_, id)| *id)
}

/// The declared license from METADATA's header block.
pub fn declared(metadata: &str) -> Option<License> {
    let mut license_text = None;
    let mut classifiers = Vec::new();
    for line in metadata.lines() {
        if line.is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.to_ascii_lowercase().as_str() {
            "license-expression" if !value.is_empty() => {
                return Some(License::Expression(value.to_string()))
            }
            "license" if !value.is_empty() && license_text.is_none() => {
                license_text = Some(value.to_string())
            }
            "classifier" => {
                if let Some(rest) = value.strip_prefix("License :: ") {
                    let last = rest.rsplit(" :: ").next().unwrap_or(rest);
                    if let Some(id) = known(last) {
                        classifiers.push(id);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(id) = license_text.as_deref().and_then(known) {
        return Some(License::Expression(id.to_string()));
    }
    classifiers.sort_unstable();
    classifiers.dedup();
    match (classifiers.as_slice(), license_text) {
        ([one], _) => Some(License::Expression(one.to_string())),
        (_, Some(text)) => Some(License::Text(text.lines().next().unwrap_or("").to_string())),
        _ => None,
    }
}
