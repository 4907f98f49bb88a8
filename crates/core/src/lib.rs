//! lamina's pipeline: a resolved `config::Plan` becomes an image (`build`: base, dependency and
//! source layers), is judged (`gate`: Lambda's failures, found before any sink) and, only when the
//! verdict allows, goes to its sinks (`sink`: OCI layout, docker-archive, registry push). The
//! entry points a program calls are in `pipeline` (`build`, `check`, `verify`, `pull`), each
//! returning a typed outcome; nothing here prints to a terminal or chooses an exit code.
//!
//! ```text
//!  plan (lamina.toml + flags + env, resolved once: config)
//!    ├─ base:   registry | oci layout | cache ──► Image (base)
//!    ├─ deps:   lock | wheels ──► install plan ──► files + .pyc ──► Layer   (lamina-install)
//!    └─ source: project dir (.dockerignore) ──► files + .pyc ──► Layer      (project, build)
//!                     (remote_cache: a hit replaces a layer by its recorded descriptor + facts)
//!  Image::append … with_config ──► gate ──► verdict ──► sinks (only if the verdict allows)
//! ```
//! Dependencies point one way, kept by crate boundaries: `lamina-oci` (the model, layouts,
//! archives, the layer writer) knows no HTTP, Python or AWS; `lamina-registry` speaks the
//! distribution API and knows nothing of Python, AWS or lamina's cache; `lamina-python`
//! (packaging) and `lamina-analysis` (import analysis) know no images; `lamina-install` writes the
//! dependency layer; `lamina-attest` writes SBOMs and provenance from an inventory; this crate wires them, with ECR and CodeArtifact behind the `aws` feature.
//! The re-exports below are the front door for the binary and the tests.

pub use lamina_analysis as analysis;
pub use lamina_attest as attest;
pub use lamina_cache as cache;
pub use lamina_install as install;
pub use lamina_oci as oci;
pub use lamina_python as python;
pub use lamina_registry as registry;
pub use lamina_support::{cleanup, diagnostic, env, human};

pub mod attestation;
#[cfg(feature = "aws")]
pub mod aws;
pub mod base;
pub mod build;
pub mod catalog;
#[cfg(feature = "aws")]
pub mod codeartifact;
pub mod config;
pub mod ecr;
pub mod gate;
pub mod init;
pub mod location;
pub mod output;
pub mod pipeline;
pub mod probe;
pub mod project;
pub mod remote_cache;
pub mod serverless;
pub mod sink;
pub mod sizes;
pub mod verify;
