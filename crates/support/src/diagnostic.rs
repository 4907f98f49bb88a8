//! What a user reads when a command fails: the `Hint` each error type gives, the `Failure` that
//! carries an error (and any context lines) up to `main`, and the one rendering of it:
//! `error: a: b: c` from the `source()` chain, then `hint: …`.
//!
//! It keeps no list of error types. A value becomes a `Failure` only if its type implements both
//! `std::error::Error` and `Hint` (the compiler checks this at every `?` in the command layer), and
//! a type that wraps a typed cause returns that cause's hint. Messages never embed their source, so
//! the chain is printed as it is: nothing is de-duplicated. It does not choose exit codes.

use std::error::Error as StdError;
use std::fmt;

/// The next step for the user, one line, for this error; `None` where nothing useful can be said.
/// An error wrapping a typed cause returns the cause's hint unless it knows better.
pub trait Hint {
    fn hint(&self) -> Option<String> {
        None
    }
}

/// An error that can reach the user: an error with a hint, movable across threads.
pub trait Diagnostic: StdError + Hint + Send + Sync + 'static {}
impl<T: StdError + Hint + Send + Sync + 'static> Diagnostic for T {}

/// A failed command: an error that says what to do next, possibly behind context lines.
pub struct Failure(Box<dyn Diagnostic>);

pub type Result<T, E = Failure> = std::result::Result<T, E>;

impl<E: Diagnostic> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(Box::new(e))
    }
}

impl Failure {
    /// A failure that is only a message (no typed cause), with an optional hint.
    pub fn msg(text: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure::from(Message {
            text: text.into(),
            hint: hint.map(str::to_string),
        })
    }

    /// The outermost error.
    pub fn error(&self) -> &(dyn StdError + 'static) {
        &*self.0
    }

    /// The first error in the chain of type `T`.
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        let mut cur = Some(self.error());
        while let Some(e) = cur {
            if let Some(t) = e.downcast_ref::<T>() {
                return Some(t);
            }
            cur = e.source();
        }
        None
    }

    /// `a: b: c`: each error of the chain, outermost first.
    pub fn message(&self) -> String {
        chain(self.error())
    }

    pub fn hint(&self) -> Option<String> {
        self.0.hint()
    }

    /// What `main` prints on stderr: the `error:` line and, where there is one, the `hint:` line.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message());
        if let Some(h) = self.hint() {
            out.push_str(&format!("hint: {h}\n"));
        }
        out
    }
}

/// An error and its causes on one line, outermost first (`connecting: Connection refused`).
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur = Some(e);
    while let Some(c) = cur {
        let s = one_line(&c.to_string());
        if !s.is_empty() {
            parts.push(s);
        }
        cur = c.source();
    }
    parts.join(": ")
}

/// A message that spans lines (the AWS SDK lists what it tried, one per line) on one line.
fn one_line(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(line);
    }
    out
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// A plain message, for failures found by the command layer itself.
#[derive(Debug)]
pub struct Message {
    text: String,
    hint: Option<String>,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl StdError for Message {}

impl Hint for Message {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

/// What was being done when a failure happened (`pulling REPO`), in front of its cause.
#[derive(Debug)]
pub struct Contextual {
    context: String,
    source: Failure,
}

impl fmt::Display for Contextual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl StdError for Contextual {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.error())
    }
}

impl Hint for Contextual {
    fn hint(&self) -> Option<String> {
        self.source.hint()
    }
}

/// `.context(…)` / `.with_context(|| …)` on results whose error can reach the user.
pub trait Context<T> {
    fn context<C: fmt::Display>(self, context: C) -> Result<T>;
    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T>;
}

impl<T, E: Into<Failure>> Context<T> for std::result::Result<T, E> {
    fn context<C: fmt::Display>(self, context: C) -> Result<T> {
        self.with_context(|| context)
    }
    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|e| {
            Failure::from(Contextual {
                context: f().to_string(),
                source: e.into(),
            })
        })
    }
}

/// Returns early with a message failure: `bail!("{dir}: not a directory")`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::diagnostic::Failure::msg(format!($($arg)*), None))
    };
}

/// A typed error carried where only an `io::Error` fits (a `Read`, a `BlobSource`): its message,
/// its causes and its hint survive the trip (`io::Error` shows this error's message and returns
/// this error's source as its own).
#[derive(Debug)]
pub struct Carried(Box<dyn Diagnostic>);

impl Carried {
    pub fn io(e: impl Diagnostic) -> std::io::Error {
        Carried::io_kind(std::io::ErrorKind::Other, e)
    }

    /// The carried error itself.
    pub fn inner(&self) -> &(dyn StdError + 'static) {
        &*self.0
    }

    /// `io` with a kind of the caller's choosing (`InvalidData` for bytes that fail their digest).
    pub fn io_kind(kind: std::io::ErrorKind, e: impl Diagnostic) -> std::io::Error {
        std::io::Error::new(kind, Carried(Box::new(e)))
    }
}

impl fmt::Display for Carried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for Carried {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl Hint for Carried {
    fn hint(&self) -> Option<String> {
        self.0.hint()
    }
}

/// Checks that `-C`/`--project` names a directory that exists.
pub fn project_dir(dir: &std::path::Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Failure::msg(
            format!("project directory {}: not a directory", dir.display()),
            Some("-C/--project takes the directory that holds lamina.toml (or the handler's code), not a file"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::msg(
            format!("project directory {}: no such directory", dir.display()),
            Some("-C/--project takes an existing directory: the one that holds lamina.toml (or the handler's code)"),
        )),
        Err(e) => Err(Failure::from(Contextual {
            context: format!("project directory {}", dir.display()),
            source: Failure::from(e),
        })),
    }
}

/// `path` for a message: whole, or its first and last 100 bytes around `…` when it is longer
/// than fits a line (a path over Linux's 4,096 bytes, say).
pub fn shown(path: &std::path::Path) -> String {
    let s = path.display().to_string();
    if s.len() <= 240 {
        return s;
    }
    let mut head = 100;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - 100;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}…{}", &s[..head], &s[tail..])
}

/// Hints for the operating system's own errors, by kind (the path is in the error around them).
impl Hint for std::io::Error {
    fn hint(&self) -> Option<String> {
        use std::io::ErrorKind as K;
        if let Some(inner) = self.get_ref() {
            if let Some(c) = inner.downcast_ref::<Carried>() {
                return c.hint();
            }
        }
        let h = match self.kind() {
            K::StorageFull | K::QuotaExceeded => "the disk is full: free some space (or point LAMINA_CACHE_DIR / the output elsewhere) and run again",
            K::PermissionDenied => "check the permissions of the path named above (the user running lamina must be able to read it, and to write where it writes)",
            K::NotADirectory => "a part of the path named above is a file, not a directory",
            K::IsADirectory => "the path named above is a directory where a file is expected",
            K::ReadOnlyFilesystem => "the path named above is on a read-only file system: write somewhere else",
            K::NotFound => "check that the path named above exists",
            K::InvalidFilename => "the path named above is longer than Linux allows (4,096 bytes in all, 255 per name): shorten its directory or file names",
            _ => return None,
        };
        Some(h.into())
    }
}

/// A boxed error (returned boxed because it is large) hints as itself.
impl<T: Hint + ?Sized> Hint for Box<T> {
    fn hint(&self) -> Option<String> {
        (**self).hint()
    }
}

impl Hint for serde_json::Error {}
impl Hint for std::fmt::Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_path_is_shown_by_its_head_and_tail() {
        let short = std::path::Path::new("/a/b.py");
        assert_eq!(shown(short), "/a/b.py");
        let long = format!("/{}/é{}", "d".repeat(300), "f".repeat(98));
        let s = shown(std::path::Path::new(&long));
        assert!(s.starts_with(&format!("/{}", "d".repeat(98))), "{s}");
        assert!(
            s.contains('…') && s.ends_with(&format!("é{}", "f".repeat(98))),
            "{s}"
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading x")]
    struct Outer {
        source: std::io::Error,
    }
    impl Hint for Outer {
        fn hint(&self) -> Option<String> {
            self.source.hint()
        }
    }

    #[test]
    fn renders_the_chain_once_with_the_causes_hint() {
        let e = Outer {
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        let f: Result<()> = Err(e).context("building");
        let text = f.unwrap_err().render();
        assert_eq!(
            text,
            "error: building: reading x: permission denied\nhint: check the permissions of the path named above (the user running lamina must be able to read it, and to write where it writes)\n"
        );
    }
}
