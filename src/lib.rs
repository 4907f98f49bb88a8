//! lamina: AWS Lambda Python container images, assembled as OCI layers without a Docker daemon.
//!
//! ```text
//! source (oci layout) ──► base Image (manifest + config; layers lazy)
//! project dir (.dockerignore) ──► source Layer ──► Image::append_layer … with_config(Cmd, Env, labels)
//!                                                         │
//!                            sink: oci layout | docker-archive ◄┘
//! ```
//! Dependencies point inward: `oci` (the model, sources and sinks) knows nothing of Python or AWS;
//! `layer` writes deterministic tar+gzip layers; `build` wires a `config::Plan` into an `Image`.

pub mod aws;
pub mod base;
pub mod build;
pub mod bytecode;
pub mod cache;
pub mod catalog;
pub mod cleanup;
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
pub mod probe;
pub mod python;
pub mod registry;
pub mod retry;
pub mod serverless;
pub mod sizes;
