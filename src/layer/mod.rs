//! Layers lamina writes: the one deterministic tar→gzip writer (`writer`), the tree of entries a layer
//! is made from (`tree`), the project source walk (`source`) and Docker's ignore rules (`ignore`).

pub mod compiled;
pub mod ignore;
pub mod pgzip;
pub mod scan;
pub mod source;
pub mod tree;
pub mod wheels;
pub mod writer;

pub use tree::{Entry, EntryKind, Tree};
pub use writer::{LayerWriter, WrittenLayer};
