//! lamina: AWS Lambda Python container images, assembled as OCI layers without a Docker daemon.
//!
//! ```text
//!  base: oci:DIR[:TAG] ─┐      (base::open: "where is it?")
//!  registry REF ────────┴──► base Image (manifest + config; layers lazy, pulled through the cache)
//!                                 │
//!  wheels dir / lock (+ index) ──► dependency Layer ─┐
//!  project dir (.dockerignore) ──► source Layer ─────┴─► Image::append_layer … with_config(Cmd, Env, labels)
//!                                                                 │  (build::build_with)
//!                                             gate::check (Lambda's failures, before any sink)
//!                                                                 │
//!                            sink::publish_all: oci layout | docker-archive | registry (push)
//! ```
//! Dependencies point inward: `oci` (the model, layouts and archives) knows nothing of HTTP,
//! Python or AWS; `registry` speaks the distribution API on top of it; `ecr` and `codeartifact` add
//! AWS credentials and repositories; `layer` writes deterministic tar+gzip layers; `build` wires a
//! `config::Plan` into an `Image`; `sink` hands the finished image to each place it goes.

#[cfg(feature = "aws")]
pub mod aws;
pub mod base;
pub mod build;
pub mod bytecode;
pub mod cache;
pub mod catalog;
pub mod cleanup;
#[cfg(feature = "aws")]
pub mod codeartifact;
pub mod config;
pub mod deps;
pub mod diagnostic;
pub mod ecr;
pub mod gate;
pub mod hooks;
pub mod index;
pub mod init;
pub mod layer;
pub mod location;
pub mod lock;
pub mod oci;
pub mod output;
pub mod parallel;
pub mod probe;
pub mod python;
pub mod redirect;
pub mod registry;
pub mod remote_cache;
pub mod retry;
pub mod serverless;
pub mod sink;
pub mod sizes;
pub mod verify;
