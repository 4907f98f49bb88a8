//! What Lambda's runtime fixes, named once: where the function's code goes, the image size limit,
//! and the directories its loader searches for shared libraries. Values only; the checks that use
//! them are the gate's (`lamina-core`) and the install's.

/// Where Lambda runs the function's code from (`LAMBDA_TASK_ROOT`), as a path inside a layer.
pub const TASK_ROOT: &str = "var/task";

/// Lambda's limit on an image's uncompressed size: 10 GB (decimal).
pub const MAX_UNCOMPRESSED: u64 = 10 * 1000 * 1000 * 1000;

/// The library directories of a Lambda base, as paths inside its layers: the loader's defaults
/// for both architectures, then the runtime's own (`/var/lang/lib`) and `/usr/local/lib`.
pub const LIB_DIRS: [&str; 10] = [
    "lib64",
    "usr/lib64",
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
    "lib/aarch64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "lib",
    "usr/lib",
    "var/lang/lib",
    "usr/local/lib",
];
