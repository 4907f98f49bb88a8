//! The project directory as Docker would `COPY` it: `.dockerignore` patterns with Docker's
//! semantics (`ignore`) and the walk that turns the project's `src` paths into a layer's tree
//! (`tree`). It does not compile or write anything.

pub mod ignore;
pub mod tree;
