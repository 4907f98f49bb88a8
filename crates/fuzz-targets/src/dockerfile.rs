//! The Dockerfile `lamina init` translates: instructions, heredocs, exec form, `${VAR}`, and the
//! translation of FROM/COPY/RUN/ENV/CMD.
use std::collections::BTreeMap;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for i in lamina_core::init::dockerfile::parse::parse(&text) {
        let _ = i.display();
        let _ = lamina_core::init::dockerfile::parse::words(&i.args);
        let _ = lamina_core::init::dockerfile::parse::exec_form(&i.args);
    }
    let vars: BTreeMap<String, String> = [("A".to_string(), "x".to_string())].into();
    let _ = lamina_core::init::dockerfile::parse::substitute(&text, &vars);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, data).expect("write");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    std::fs::write(dir.path().join("requirements.txt"), "six==1.16.0\n").expect("req");
    let _ = lamina_core::init::dockerfile::read(&path, "Dockerfile", dir.path());
}
