//! Wiring the remote layer cache for `build`: which repository, through which client. The cache
//! itself (lookups, entries, recording) is `lamina::remote_cache`.

use lamina::cache::Cache;
use lamina::config::Plan;
use lamina::registry::Client;
use lamina::remote_cache::RemoteCache;
use std::sync::Arc;

/// The remote cache this build uses: `plan.remote_cache` (the push repository unless
/// `cache_repo` names another; none with `--no-remote-cache` or without a push).
pub fn open(plan: &Plan, client: &Arc<Client>, cache: &Cache) -> Option<RemoteCache> {
    let repo = plan.remote_cache.clone()?;
    let (target, _) = plan.push.as_ref()?;
    Some(RemoteCache {
        client: client.clone(),
        repo,
        target: target.clone(),
        blobs: cache.blobs(),
        local: cache.clone(),
        broken: Default::default(),
    })
}
