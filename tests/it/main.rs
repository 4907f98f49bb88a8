//! The integration tests, one binary: each module is one area (`cargo test --test it build::`
//! runs one). `support` holds what they share: running `lamina`, the real servers (docker-registry,
//! moto, pypiserver), the lying registry for fault injection, and synthetic wheels.

mod support;

mod arm64;
mod attest;
mod build;
mod bytecode;
mod coldstart;
mod corpus;
mod distribution;
mod docs;
mod ecr;
mod editloop;
mod errors;
mod faults;
mod gate;
mod hostile;
mod imports;
mod init;
mod inputs;
mod locks;
mod pipeline;
mod registry;
mod remote;
mod report;
mod repro;
mod runs;
mod secrets;
mod snapshots;
mod verdicts;
mod verify;
mod wheels;
