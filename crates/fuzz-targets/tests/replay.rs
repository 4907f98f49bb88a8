//! Every committed fuzz input (seeds and saved crashers) through its target, on the stable
//! toolchain: a crasher that comes back fails `cargo test`. Each input runs on its own thread with
//! libFuzzer's stack (8 MiB, the main thread's) and a deadline, so a deep recursion or a hang is a
//! failure naming the input rather than a stuck CI. There is no memory limit here: an input that
//! exhausts memory ends the test binary (a failure, without the name; `scripts/fuzz.sh` has
//! libFuzzer's `-rss_limit_mb`).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

#[test]
fn every_target_has_a_corpus_and_every_corpus_a_target() {
    let dirs: std::collections::BTreeSet<String> = std::fs::read_dir(corpus())
        .expect("fuzz/corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let targets: std::collections::BTreeSet<String> = lamina_fuzz_targets::TARGETS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(dirs, targets);
}

#[test]
fn replay_every_corpus_file() {
    let mut replayed = 0;
    for (name, run) in lamina_fuzz_targets::TARGETS {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus().join(name))
            .unwrap_or_else(|e| panic!("fuzz/corpus/{name}: {e}"))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "fuzz/corpus/{name} is empty");
        for file in files {
            let data = std::fs::read(&file).expect("read corpus file");
            let (tx, rx) = mpsc::channel();
            let run = *run;
            let shown = file.display().to_string();
            std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn(move || {
                    let ok = std::panic::catch_unwind(|| run(&data)).is_ok();
                    let _ = tx.send(ok);
                })
                .expect("spawn");
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(true) => replayed += 1,
                Ok(false) => panic!("{shown}: the {name} target panicked"),
                Err(_) => panic!("{shown}: the {name} target did not finish in 120 s"),
            }
        }
    }
    eprintln!("replayed {replayed} corpus files");
    assert!(replayed > 0);
}
