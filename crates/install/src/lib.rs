//! The dependency layer, as pip would install it: what to install (`deps`: wheels or a lock, the
//! index, hashes, facts), how each wheel lands in `/var/lang/lib/python3.X/site-packages`
//! (`wheels`: plan, select, write), and bytecode compiled by the base image's own interpreter
//! (`bytecode`, `compiled`). It knows nothing of the CLI, of registries or of AWS; the pipeline
//! (`lamina-core`) decides when a layer is built and where it goes.

pub mod bytecode;
pub mod compiled;
pub mod deps;
pub mod lambda;
pub mod wheels;

pub use lambda::TASK_ROOT;
