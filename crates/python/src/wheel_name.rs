//! Wheel file names: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, with compressed tag
//! sets (`cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64`, `py2.py3-none-any`) expanded.
//! Every tag component must be `[A-Za-z0-9_]`, which keeps `../` or `:` out of anything derived.

use super::normalize_name;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelName {
    pub filename: String,
    /// The project name as written in the file name (`zope.interface`, `MarkupSafe`).
    pub name: String,
    pub version: String,
    /// `(leading number, rest)`; `None` sorts below any build tag.
    pub build: Option<(u64, String)>,
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct NameError(pub String);

impl NameError {
    /// Why the name is wrong, without the file name in front (for messages that name it already).
    pub fn reason(&self) -> &str {
        self.0.split_once(": ").map_or(&self.0, |(_, r)| r)
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn tag_set(part: &str, what: &str, filename: &str) -> Result<Vec<String>, NameError> {
    let tags: Vec<String> = part.split('.').map(str::to_string).collect();
    for t in &tags {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(NameError(format!("{filename}: invalid {what} tag '{t}'")));
        }
    }
    Ok(tags)
}

impl WheelName {
    pub fn parse(filename: &str) -> Result<WheelName, NameError> {
        let stem = filename
            .strip_suffix(".whl")
            .ok_or_else(|| NameError(format!("{filename}: not a .whl file name")))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, py, abi, plat) = match parts.as_slice() {
            [n, v, p, a, pl] => (*n, *v, None, *p, *a, *pl),
            [n, v, b, p, a, pl] => (*n, *v, Some(*b), *p, *a, *pl),
            _ => {
                return Err(NameError(format!(
                    "{filename}: a wheel name has 5 or 6 dash-separated parts, this has {}",
                    parts.len()
                )))
            }
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(NameError(format!(
                "{filename}: invalid project name '{name}'"
            )));
        }
        if version.is_empty()
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._+!".contains(c))
        {
            return Err(NameError(format!(
                "{filename}: invalid version '{version}'"
            )));
        }
        let build = match build {
            None => None,
            Some(b) => {
                let digits: String = b.chars().take_while(char::is_ascii_digit).collect();
                if digits.is_empty() || !b.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(NameError(format!(
                        "{filename}: invalid build tag '{b}' (must start with a digit)"
                    )));
                }
                let n = digits
                    .parse()
                    .map_err(|_| NameError(format!("{filename}: build tag '{b}' is too large")))?;
                Some((n, b[digits.len()..].to_string()))
            }
        };
        Ok(WheelName {
            filename: filename.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            build,
            python: tag_set(py, "python", filename)?,
            abi: tag_set(abi, "abi", filename)?,
            platform: tag_set(plat, "platform", filename)?,
        })
    }

    pub fn normalized(&self) -> String {
        normalize_name(&self.name)
    }

    /// Every (python, abi, platform) triple the compressed tag set stands for.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.python.iter().flat_map(move |p| {
            self.abi.iter().flat_map(move |a| {
                self.platform
                    .iter()
                    .map(move |pl| (p.as_str(), a.as_str(), pl.as_str()))
            })
        })
    }

    /// `python-abi-platform` as written in the file name.
    pub fn tag_string(&self) -> String {
        format!(
            "{}-{}-{}",
            self.python.join("."),
            self.abi.join("."),
            self.platform.join(".")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compressed_sets_and_build_tags() {
        let w = WheelName::parse(
            "zope.interface-7.2-cp312-cp312-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(
            (w.name.as_str(), w.version.as_str(), w.normalized()),
            ("zope.interface", "7.2", "zope-interface".into())
        );
        assert_eq!(w.platform.len(), 4);
        assert_eq!(w.tags().count(), 4);
        let b =
            WheelName::parse("mkl_fft-1.3.6-58abc-cp310-cp310-manylinux2014_x86_64.whl").unwrap();
        assert_eq!(b.build, Some((58, "abc".into())));
        let p = WheelName::parse("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(
            p.tags().collect::<Vec<_>>(),
            [("py2", "none", "any"), ("py3", "none", "any")]
        );
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "a-1.0-py3-none-any.zip",
            "a-1.0-py3-none.whl",
            "a-1.0-x-y-py3-none-any.whl",
            "a-1.0-py3-none-../x.whl",
            "a-1.0-py3-none-any:x.whl",
            "a-1.0-b1-py3-none-any.whl",
        ] {
            assert!(WheelName::parse(bad).is_err(), "{bad}");
        }
    }
}
