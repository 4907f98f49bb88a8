//! A distribution's license as its METADATA declares it, for the SBOM: `License-Expression`
//! (PEP 639) as written; else a `License` field that is exactly one well-known SPDX identifier or
//! a name that says the version (`Apache 2.0`, `MIT License`); else `License ::` classifiers, when
//! every one of them names exactly one SPDX license (a classifier without a version, such as
//! "Apache Software License" or "BSD License", names none); else the `License` text. It reads
//! the header block only and guesses nothing from license files.

use crate::wheel::header;

/// What METADATA declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Declared {
    /// An SPDX license expression.
    Expression(String),
    /// Free text that is not one (the `License` field's first line).
    Text(String),
}

/// `License` values and classifier names that name exactly one SPDX license, version included.
const EXACT: &[(&str, &str)] = &[
    ("MIT", "MIT"),
    ("MIT License", "MIT"),
    ("MIT-0", "MIT-0"),
    ("Apache-2.0", "Apache-2.0"),
    ("Apache 2.0", "Apache-2.0"),
    ("Apache License 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("Apache License Version 2.0", "Apache-2.0"),
    ("BSD-2-Clause", "BSD-2-Clause"),
    ("BSD-3-Clause", "BSD-3-Clause"),
    ("3-Clause BSD License", "BSD-3-Clause"),
    ("ISC", "ISC"),
    ("ISC License (ISCL)", "ISC"),
    ("MPL-2.0", "MPL-2.0"),
    ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    ("PSF-2.0", "PSF-2.0"),
    ("Unlicense", "Unlicense"),
    ("The Unlicense (Unlicense)", "Unlicense"),
    ("0BSD", "0BSD"),
    ("Zero-Clause BSD (0BSD)", "0BSD"),
];

fn exact(text: &str) -> Option<&'static str> {
    let t = text.trim();
    EXACT.iter().find(|(k, _)| *k == t).map(|(_, id)| *id)
}

/// The declared license from METADATA's header block.
pub fn declared(metadata: &str) -> Option<Declared> {
    if let Some(e) = header(metadata, "License-Expression")
        .into_iter()
        .find(|v| !v.is_empty())
    {
        return Some(Declared::Expression(e.to_string()));
    }
    let text = header(metadata, "License")
        .into_iter()
        .find(|v| !v.is_empty());
    if let Some(id) = text.and_then(exact) {
        return Some(Declared::Expression(id.to_string()));
    }
    let classifiers: Vec<&str> = header(metadata, "Classifier")
        .into_iter()
        .filter_map(|c| c.strip_prefix("License :: "))
        .map(|c| c.rsplit(" :: ").next().unwrap_or(c))
        .collect();
    let ids: Option<Vec<&str>> = classifiers.iter().map(|c| exact(c)).collect();
    if let Some(mut ids) = ids.filter(|ids| !ids.is_empty()) {
        ids.sort_unstable();
        ids.dedup();
        if let [one] = ids.as_slice() {
            return Some(Declared::Expression(one.to_string()));
        }
    }
    text.map(|t| Declared::Text(t.lines().next().unwrap_or("").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: &str) -> Option<Declared> {
        declared(m)
    }

    #[test]
    fn only_what_metadata_says_exactly() {
        assert_eq!(
            d("Name: a\nLicense-Expression: MIT OR Apache-2.0\nLicense: x\n"),
            Some(Declared::Expression("MIT OR Apache-2.0".into()))
        );
        assert_eq!(
            d("License: MIT\n"),
            Some(Declared::Expression("MIT".into()))
        );
        assert_eq!(
            d("License: Apache 2.0\n"),
            Some(Declared::Expression("Apache-2.0".into()))
        );
        // A classifier without a version names no SPDX license; a mix is not reduced to one.
        assert_eq!(
            d("Classifier: License :: OSI Approved :: Apache Software License\n"),
            None
        );
        assert_eq!(
            d("Classifier: License :: OSI Approved :: BSD License\nClassifier: License :: OSI Approved :: MIT License\n"),
            None
        );
        assert_eq!(
            d("Classifier: License :: OSI Approved :: MIT License\n"),
            Some(Declared::Expression("MIT".into()))
        );
        assert_eq!(
            d("License: Apache License\nClassifier: License :: OSI Approved :: Apache Software License\n"),
            Some(Declared::Text("Apache License".into()))
        );
        assert_eq!(
            d("Name: a\n\nLicense: MIT\n"),
            None,
            "the body is not a header"
        );
    }
}
