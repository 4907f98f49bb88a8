//! Layers as files are written: the tree a layer holds (`tree`: entries in tar order), the
//! deterministic tar+gzip writer (`writer`) and its parallel gzip backend (`pgzip`). What goes
//! into a layer is decided by the caller.

pub mod pgzip;
pub mod tree;
pub mod writer;

pub use tree::{Entry, EntryKind, Tree};
pub use writer::{LayerWriter, WrittenLayer};
