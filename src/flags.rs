//! Flag values checked where clap parses them, each error ending in a `hint:` line. Values that may
//! hold a secret (`--creds`, `--env`, `--label`, `--registry-endpoint`) are never echoed, not even
//! in their error: clap's own value errors repeat the value, these do not.

/// A value parser with a `hint:` line. Values that may hold a secret (`--creds`, `--env`, …) are
/// never echoed, not even in their error (clap's own errors repeat the value).
#[derive(Clone)]
pub struct Checked<T> {
    parse: fn(&str) -> Result<T, String>,
    hint: &'static str,
    secret: bool,
}

pub fn checked<T>(parse: fn(&str) -> Result<T, String>, hint: &'static str) -> Checked<T> {
    Checked {
        parse,
        hint,
        secret: false,
    }
}

pub fn secret<T>(parse: fn(&str) -> Result<T, String>, hint: &'static str) -> Checked<T> {
    Checked {
        parse,
        hint,
        secret: true,
    }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Checked<T> {
    type Value = T;
    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = match arg {
            Some(a) => match a.get_long() {
                Some(l) => format!("--{l}"),
                None => format!("<{}>", a.get_id().as_str().to_uppercase()),
            },
            None => "a value".to_string(),
        };
        let result = match value.to_str() {
            Some(v) => (self.parse)(v),
            None => Err("is not UTF-8".to_string()),
        };
        result.map_err(|reason| {
            let unshown = if self.secret {
                " (the value is not shown: it may hold a secret)"
            } else {
                ""
            };
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{flag}: {reason}{unshown}\nhint: {}\n", self.hint),
            )
            .with_cmd(cmd)
        })
    }
}
