//! The leaves every lamina crate may use, none of which knows images, Python or AWS: the error
//! model (`diagnostic`: the `Hint` trait, `Failure` and its one rendering), temporaries removed on
//! signals (`cleanup`), test-only pause points (`hooks`), a bounded worker pool (`parallel`),
//! retry policy (`retry`), the redirect policy that keeps credentials on their host (`redirect`),
//! byte counts for people (`human`), and the environment variables lamina reads (`env`).

pub mod cleanup;
pub mod diagnostic;
pub mod env;
pub mod hooks;
pub mod human;
pub mod parallel;
pub mod redirect;
pub mod retry;
