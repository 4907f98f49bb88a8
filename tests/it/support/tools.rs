//! What the integration tests need from the machine, and skipping without it. `scripts/test.sh`
//! (and so `.ci/run`) installs every tool and asset below and sets `LAMINA_REQUIRE_TOOLS=1`, which
//! turns a missing one into a failure; elsewhere a test that needs them says why it skipped, on
//! the real stderr (the test harness would hide a captured line), and passes without running.

use std::io::Write as _;
use std::sync::OnceLock;

/// Programs looked up on PATH (and /usr/sbin, where Debian puts htpasswd).
const PROGRAMS: &[&str] = &["skopeo", "umoci", "podman", "docker-registry", "htpasswd"];
/// Programs from the test venv (`$LAMINA_TEST_VENV`): moto, pypiserver, uv, the SPDX and
/// CycloneDX tools.
const VENV_PROGRAMS: &[&str] = &[
    "moto_server",
    "pypi-server",
    "uv",
    "pyspdxtools",
    "cyclonedx-py",
];

/// The tools and assets this machine lacks (computed once).
pub fn missing() -> &'static [String] {
    static MISSING: OnceLock<Vec<String>> = OnceLock::new();
    MISSING.get_or_init(|| {
        let mut out: Vec<String> = PROGRAMS
            .iter()
            .filter(|p| super::find_program(p).is_none())
            .map(|p| p.to_string())
            .collect();
        let venv = super::moto::venv();
        out.extend(
            VENV_PROGRAMS
                .iter()
                .filter(|p| !venv.join("bin").join(p).is_file())
                .map(|p| format!("{p} (in {})", venv.display())),
        );
        out
    })
}

/// Whether the current test should skip: true (after saying so) when a tool is missing and
/// `LAMINA_REQUIRE_TOOLS` is not `1`; a panic naming them when it is.
pub fn skip() -> bool {
    let missing = missing();
    if missing.is_empty() {
        return false;
    }
    let list = missing.join(", ");
    if std::env::var("LAMINA_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("LAMINA_REQUIRE_TOOLS=1 but these are not installed: {list} (scripts/test.sh installs them)");
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: needs {list}; scripts/test.sh installs them (LAMINA_REQUIRE_TOOLS=1 makes this a failure)"
    );
    true
}

/// First line of a test that needs the external tools: returns early (a pass) without them.
#[macro_export]
macro_rules! needs_tools {
    () => {
        if $crate::support::tools::skip() {
            return;
        }
    };
}
