//! `serverless.yml`: the YAML (anchors, aliases, merge keys, tags), its `${…}` variables, and the
//! functions, images and handlers `lamina init` and `handlers_from` read from it.

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("serverless.yml");
    std::fs::write(&path, data).expect("write");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lamina_core::serverless::yaml::parse(text, &path);
    }
    if let Ok(mut r) = lamina_core::serverless::vars::Resolver::open(&path, Default::default()) {
        let _ = lamina_core::serverless::functions(&mut r);
        let _ = lamina_core::serverless::ecr_images(&mut r);
        let _ = r.stage();
        let _ = r.region();
        let _ = lamina_core::init::ecr_resource::find(&mut r);
    }
    let _ = lamina_core::serverless::handlers(&path, dir.path());
}
