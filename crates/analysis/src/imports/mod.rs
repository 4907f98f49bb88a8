//! Static import resolution over an image, mirroring CPython's import system as awslambdaric
//! runs it: built-in and frozen modules first, then `/var/task` (the dependency layer overlaid by
//! the source layer: regular packages, extension modules with the target's ABI suffixes, `.py`,
//! sourceless `.pyc`, PEP 420 namespace portions), the standard library of the target version, and
//! the packages the runtime itself provides. `finder` finds one dotted name (and `from m import n`);
//! `graph` walks every module a handler imports at module level, in execution order.
//! No I/O of its own: files come through `TaskTree`.

mod attrs;
mod finder;
mod graph;
#[cfg(test)]
mod tests;

pub use finder::{absolute, Attr, Lookup, Module, Parsed, Space};
pub use graph::{walk, Failure, FailureKind, Walk};

/// `/var/task` as the image will have it (paths relative to it, `/`-separated).
pub trait TaskTree {
    fn is_file(&self, path: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
    /// Entry names directly inside `dir` ("" for /var/task itself).
    fn list(&self, dir: &str) -> Vec<String>;
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// The file comes from the source layer (the user's code), not from a wheel.
    fn is_source(&self, path: &str) -> bool;
}

/// The standard library lamina resolves against.
#[derive(Clone, Debug)]
pub enum StdlibView {
    Known(crate::stdlib::Stdlib),
    /// The target version is unknown: a name in every known version resolves, one in some is
    /// undecided, one in none is missing.
    Unknown,
}

/// What the base provides outside /var/task (boto3 & co. on AWS bases).
#[derive(Clone, Debug)]
pub enum Runtime {
    /// Dotted module names; `exact` when read from the base's files (else top-level names from
    /// the catalog, whose submodules are taken on trust).
    Known {
        modules: std::collections::HashSet<String>,
        exact: bool,
    },
    /// Neither the catalog nor the base's files say.
    Unknown,
}

/// Joins a package and a name.
pub fn join(pkg: &str, name: &str) -> String {
    if pkg.is_empty() {
        name.to_string()
    } else {
        format!("{pkg}.{name}")
    }
}
