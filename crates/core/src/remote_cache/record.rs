//! Writing remote cache entries after a push: the entry's JSON blob, the empty config and the
//! artifact manifest tagged by the layer's key, for every new layer that did not come from the
//! cache. Looking entries up is the parent module's job.

use super::*;

impl RemoteCache {
    /// Records that `key` produces `layer` (whose blob the push put in the target repository).
    pub fn record(
        &self,
        key: &str,
        layer: &WrittenLayer,
        facts: &dyn Fn() -> Option<DepsFacts>,
        bytecode: Option<Value>,
        log: &(dyn Fn(String) + Sync),
    ) -> Result<Option<String>, RegistryError> {
        let tag = tag_for(key);
        let repo_name = self.repo.repo_name();
        // An entry already there is left alone (unless this build found it missing or unusable);
        // one this machine recorded or used before is not even asked about.
        if !self.broken.lock().expect("lock").contains(key)
            && (self.local.knows_remote_entry(&repo_name, &tag)
                || self.head(&format!("manifests/{tag}"), &self.repo)?)
        {
            let _ = self.local.remember_remote_entry(&repo_name, &tag);
            return Ok(None);
        }
        let facts = facts();
        let entry = Entry {
            version: VERSION,
            key: key.to_string(),
            layer: LayerDescriptor {
                media_type: media::OCI_LAYER_GZIP.into(),
                digest: layer.digest.to_string(),
                size: layer.size,
            },
            diff_id: layer.diff_id.to_string(),
            uncompressed_size: layer.uncompressed_size,
            file_count: layer.file_count,
            facts,
            bytecode,
        };
        let entry_bytes = serde_json::to_vec(&entry).expect("an entry serializes");
        let entry_digest = sha256_digest(&entry_bytes);
        let empty_digest = sha256_digest(EMPTY);
        let quiet = |_: String| {};
        let pusher = Pusher::new(&self.client, &self.repo, &quiet);
        for (digest, bytes) in [(&entry_digest, &entry_bytes[..]), (&empty_digest, EMPTY)] {
            let owned = bytes.to_vec();
            pusher.ensure_blob(&BlobJob {
                digest: digest.clone(),
                size: bytes.len() as u64,
                open: Box::new(move || {
                    Ok(Box::new(std::io::Cursor::new(owned.clone())) as Box<dyn Read + Send>)
                }),
                origin: None,
            })?;
        }
        if self.repo != self.target {
            let path = layer.path.clone();
            let target = (self.target.host.clone(), self.target.repository.clone());
            pusher.ensure_blob(&BlobJob {
                digest: layer.digest.clone(),
                size: layer.size,
                open: Box::new(move || {
                    let f = std::fs::File::open(&path)?;
                    Ok(Box::new(f) as Box<dyn Read + Send>)
                }),
                origin: Some(target),
            })?;
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": {"mediaType": EMPTY_TYPE, "digest": empty_digest.to_string(), "size": EMPTY.len()},
            "layers": [
                {"mediaType": ENTRY_TYPE, "digest": entry_digest.to_string(), "size": entry_bytes.len()},
                {"mediaType": media::OCI_LAYER_GZIP, "digest": layer.digest.to_string(), "size": layer.size},
            ],
            "annotations": {"dev.lamina.cache.key": key},
        });
        let bytes = lamina_oci::canonical_json(&manifest);
        let digest = sha256_digest(&bytes);
        pusher.put_manifest(&tag, &bytes, media::OCI_MANIFEST, &digest)?;
        let _ = self.local.remember_remote_entry(&repo_name, &tag);
        log(format!("remote cache: recorded {repo_name}:{tag}"));
        Ok(Some(tag))
    }

    /// Records every new layer of `built` that did not come from this cache (after its push).
    pub fn record_built(
        &self,
        built: &crate::build::Built,
        learned: &lamina_install::deps::facts::Learned,
        log: &(dyn Fn(String) + Sync),
    ) {
        for n in &built.new_layers {
            if n.remote.is_some() {
                continue;
            }
            let (name, layer, key) = (&n.name, &n.layer, &n.key);
            // Only computed when the entry is written.
            let facts = || match (name.as_str(), &built.deps) {
                ("dependency", Some((plan, _))) => Some(DepsFacts::from_plan(plan, learned)),
                _ => None,
            };
            let bytecode = built
                .bytecode
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, bc)| serde_json::to_value(bc).ok());
            if let Err(e) = self.record(key, layer, &facts, bytecode, log) {
                log(format!(
                    "warning: the {name} layer was not recorded in the remote cache {}: {}",
                    self.repo.repo_name(),
                    lamina_support::diagnostic::chain(&e)
                ));
            }
        }
    }
}
