//! Stamps the binary with the commit it was built from, for `lamina --version`:
//! `lamina 0.1.0 (1a2b3c4d5e6f 2026-12-05)`. The commit comes from, in order: `LAMINA_COMMIT`
//! (release builds from a tarball), the git checkout being built, the `.cargo_vcs_info.json` that
//! `cargo package` writes (a crates.io install). Without any of them it says `unknown commit`.
//! It never fails the build.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LAMINA_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&dir);
    let stamp = std::env::var("LAMINA_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_string())
        .or_else(|| from_git(dir))
        .or_else(|| from_vcs_info(dir))
        .unwrap_or_else(|| "unknown commit".into());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=LAMINA_VERSION={version} ({stamp})");
}

/// `1a2b3c4d5e6f 2026-12-05` for the checkout's HEAD, if this is a git checkout.
fn from_git(dir: &Path) -> Option<String> {
    let git_dir = dir.join(".git");
    if !git_dir.exists() {
        return None;
    }
    // Rebuild the stamp when HEAD moves (a commit, a checkout): HEAD and the ref it names.
    println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
    if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) {
        if let Some(r) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed={}", git_dir.join(r).display());
        }
    }
    println!(
        "cargo:rerun-if-changed={}",
        git_dir.join("packed-refs").display()
    );
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "-1", "--format=%h %cs", "--abbrev=12"])
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout).ok()?;
    let line = line.trim();
    (out.status.success() && !line.is_empty()).then(|| line.to_string())
}

/// The commit `cargo package` recorded: `{"git": {"sha1": "…"}}`.
fn from_vcs_info(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let at = text.find("\"sha1\"")?;
    let rest = &text[at + 6..];
    let start = rest.find('"')? + 1;
    let hex: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    (hex.len() >= 12).then(|| hex[..12].to_string())
}
