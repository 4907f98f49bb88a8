//! Test-only pause points. In debug builds (what `cargo test` runs), `hook("NAME")` runs the shell
//! command in `$LAMINA_TEST_HOOK_NAME`, if set, and waits for it: a test uses this to change a file,
//! widen a race or send a signal at an exact point of a build, deterministically. The child's
//! `$PPID` is lamina's pid; it gets no stdio of lamina's. Release builds compile this to nothing, so no environment variable can
//! change what a shipped binary does.

/// Runs the test hook named `name`, if one is set (debug builds only).
#[inline]
pub fn hook(name: &str) {
    #[cfg(debug_assertions)]
    if let Some(cmd) = std::env::var_os(format!("LAMINA_TEST_HOOK_{name}")) {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
