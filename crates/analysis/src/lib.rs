//! Static analysis of what Lambda will run, without running it: Python source parsed into facts
//! (`source`, `facts`), the conditions that guard imports (`conditions`), import resolution over
//! an image's files (`imports`), handlers (`handler`), the standard library's module names
//! (`stdlib`) and what a native binary needs from the loader (`elf`, the one ELF reader). It reads
//! bytes it is given; it knows nothing of layers, images, registries or AWS.

pub mod conditions;
pub mod elf;
pub mod facts;
pub mod handler;
pub mod imports;
pub mod source;
pub mod stdlib;
