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
pub mod build;
pub mod bytecode;
pub mod cache;
pub mod catalog;
pub mod cleanup;
pub mod codeartifact;
pub mod config;
pub mod deps;
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

/// An error and its causes on one line, each cause once (`connect: Connection refused`).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts.join(": ")
}

/// The `hint:` for the first error in a chain that has one.
pub fn hint(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let h = if let Some(e) = e.downcast_ref::<bytecode::BytecodeError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<build::BuildError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<config::ConfigError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<oci::TransportError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<oci::layout::LayoutError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<layer::source::SourceError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<deps::DepsError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<layer::wheels::WheelsError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<registry::RegistryError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<ecr::EcrError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<init::InitError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<serverless::vars::VarError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<output::OutputError>() {
            e.hint()
        } else {
            None
        };
        if h.is_some() {
            return h;
        }
        cur = e.source();
    }
    None
}
