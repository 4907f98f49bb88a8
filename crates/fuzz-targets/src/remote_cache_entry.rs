//! A remote cache entry as a registry serves it (untrusted JSON: the layer descriptor and, for a
//! dependency layer, the plan and gate facts), then the dependency plan rebuilt from those facts.
use std::path::PathBuf;

/// One input, as libFuzzer and the replay test hand it over.
pub fn run(data: &[u8]) {
    let Ok(entry) = serde_json::from_slice::<lamina_core::remote_cache::Entry>(data) else {
        return;
    };
    let Some(facts) = entry.facts else {
        return;
    };
    // The wheels need not exist: the plan reads a file only when the gate asks for one.
    let paths: Vec<PathBuf> = (0..facts.wheels.len().min(4096))
        .map(|i| PathBuf::from(format!("/nonexistent/w{i}.whl")))
        .collect();
    if let Some(plan) = facts.to_plan(&paths) {
        for (path, _) in plan.tree.iter() {
            let _ = plan
                .owner
                .get(path.strip_prefix("var/task/").unwrap_or(path));
        }
        for wi in 0..plan.wheels.len() {
            let _ = plan.top_level(wi);
        }
    }
}
