//! The provenance: an in-toto Statement v1 whose subject is the image manifest digest, with a
//! SLSA provenance v1 predicate. `externalParameters` are the build parameters that change the
//! output; `resolvedDependencies` are the base (by digest), each wheel and the lock (by sha256)
//! and the source tree (the source layer's diff_id). No timestamps, no invocation id, no host:
//! two builds of the same inputs give the same bytes, which is what `lamina verify` checks.

use crate::{oci_purl, pypi_purl, Inventory, SLSA_PROVENANCE_V1};
use serde_json::{json, Value};

/// What `buildType` names: how lamina turns these parameters into an image (docs/attestations.md).
pub const BUILD_TYPE: &str =
    "https://github.com/lamina-build/lamina/blob/main/docs/attestations.md#build-type-v1";
pub const BUILDER_ID: &str = "https://github.com/lamina-build/lamina";

fn digest(d: &str) -> Value {
    json!({ "sha256": d.strip_prefix("sha256:").unwrap_or(d) })
}

pub fn statement(inv: &Inventory) -> Value {
    let mut deps = vec![json!({
        "name": "base",
        "uri": oci_purl(&inv.base.reference, &inv.base.digest),
        "digest": digest(&inv.base.digest),
    })];
    for d in &inv.distributions {
        deps.push(json!({
            "name": d.wheel,
            "uri": pypi_purl(&d.name, &d.version),
            "digest": digest(&d.sha256),
        }));
    }
    if let Some((name, sha)) = &inv.lock {
        deps.push(json!({ "name": name, "digest": digest(sha) }));
    }
    deps.push(json!({ "name": "source", "digest": digest(&inv.source.digest) }));
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": inv.image_name, "digest": digest(&inv.image_digest) }],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": inv.parameters,
                "internalParameters": { "platform": inv.platform, "source_date_epoch": inv.epoch },
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": { "id": BUILDER_ID, "version": { "lamina": inv.tool_version } },
                "metadata": {},
            },
        },
    })
}
