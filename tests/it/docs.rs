//! The docs name only paths that exist: every repository path in README.md and docs/*.md (in
//! backticks or as a link target, starting with a top-level directory of this repository) is
//! checked against the tree, so a moved file cannot leave a stale pointer behind.

use std::path::Path;

const TOP: &[&str] = &[
    "crates/",
    "src/",
    "tests/",
    "scripts/",
    "fuzz/",
    "base-images/",
    "schema/",
    "examples/",
    "benches/",
    "fixtures/",
    "docs/",
    ".ci/",
    "action.yml",
];

/// Candidate paths in one Markdown text: `code spans` and `](link targets)`.
fn paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [("`", "`"), ("](", ")")] {
        let mut rest = text;
        while let Some(i) = rest.find(open) {
            rest = &rest[i + open.len()..];
            let Some(j) = rest.find(close) else { break };
            let inner = &rest[..j];
            rest = &rest[j + close.len()..];
            let p = inner.split(['#', ' ', ':']).next().unwrap_or("");
            let p = p.trim_start_matches("./");
            if TOP.iter().any(|t| p.starts_with(t))
                && !p.contains(['*', '<', '>', '{', '$'])
                && !p.contains("...")
                && !p.contains('…')
            {
                out.push(p.trim_end_matches(['.', ',']).to_string());
            }
        }
    }
    out
}

#[test]
fn every_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    let mut missing = Vec::new();
    let mut checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read doc");
        // Links inside docs/ are relative to docs/.
        let base = f.parent().expect("parent");
        for p in paths(&text) {
            checked += 1;
            if !root.join(&p).exists() && !base.join(&p).exists() {
                missing.push(format!("{}: {p}", f.strip_prefix(root).unwrap().display()));
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} paths found: is the scanner broken?"
    );
    assert!(
        missing.is_empty(),
        "paths the docs name that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_readme_is_an_index() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let n = readme.lines().count();
    assert!(
        n <= 300,
        "README.md has {n} lines; the rest belongs in docs/"
    );
}

#[test]
fn the_scanner_finds_stale_paths() {
    let found =
        paths("see `crates/nope/src/x.rs` and [the gate](docs/gate.md#verdicts), not `cargo test`");
    assert_eq!(found, ["crates/nope/src/x.rs", "docs/gate.md"]);
}
