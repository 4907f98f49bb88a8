//! Locked requirements on the index: which indexes to ask (flags, the file, the environment
//! variables pip and uv users set), and for each requirement the index's files whose sha256 the
//! lock lists, remembered in the cache so that a warm or `--offline` build asks nothing.

use super::DepsConfig;
use super::{io_err, DepsError, PYPI};
use lamina_cache::Cache;
use lamina_python::lock::{self, Candidate, Lock};
use lamina_python::tags::{Ranking, Target};
use lamina_support::env::EnvVars;
use sha2::{Digest as _, Sha256};

/// What every lookup shares.
pub(super) struct Lookup<'a> {
    pub lock: &'a Lock,
    pub urls: &'a [String],
    pub offline: bool,
    pub target: &'a Target,
    pub ranking: &'a Ranking,
}

/// The index URLs, most important first: `--index-url`/`index_url`, else the requirements file's
/// `--index-url`, else `UV_DEFAULT_INDEX` / `UV_INDEX_URL` / `PIP_INDEX_URL`, else PyPI; then the
/// extra indexes from the flags, the file, `UV_INDEX` and `PIP_EXTRA_INDEX_URL`.
pub fn index_urls(
    deps: &DepsConfig,
    lock: &Lock,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let from_env = [
        EnvVars::UV_DEFAULT_INDEX,
        EnvVars::UV_INDEX_URL,
        EnvVars::PIP_INDEX_URL,
    ]
    .iter()
    .find_map(|k| env(k.name()).filter(|v| !v.trim().is_empty()));
    let primary = deps
        .index_url
        .clone()
        .or_else(|| lock.index_url.clone())
        .or(from_env)
        .unwrap_or_else(|| PYPI.to_string());
    let mut out = vec![primary];
    let mut extra: Vec<String> = deps.extra_index_urls.clone();
    extra.extend(lock.extra_index_urls.iter().cloned());
    for k in [EnvVars::UV_INDEX, EnvVars::PIP_EXTRA_INDEX_URL] {
        for v in env(k.name()).unwrap_or_default().split_whitespace() {
            // UV_INDEX entries may be `name=url`.
            let url = match v.split_once('=') {
                Some((n, u)) if !n.contains(':') => u,
                _ => v,
            };
            extra.push(url.to_string());
        }
    }
    for u in extra {
        if !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// Strips user info from a URL (credentials are applied per host by the client).
fn bare(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// The best file for `package==version` among the index's files with a listed hash, with the
/// listing it came from (recorded in the cache only once its file is there: `Listing`).
pub(super) fn lookup(
    l: &Lookup,
    package: &str,
    version: &str,
    hashes: &[String],
    cache: &Cache,
    client: &super::LazyClient,
) -> Result<Resolved, DepsError> {
    let mut sorted = hashes.to_vec();
    sorted.sort();
    // Keyed by the indexes asked too: another --index-url never reuses this one's listing.
    let indexes: Vec<String> = l.urls.iter().map(|u| bare(u)).collect();
    let key = hex::encode(Sha256::digest(format!(
        "requirement-v2\0{package}\0{version}\0{}\0{}",
        sorted.join(","),
        indexes.join("\0")
    )));
    let cached: Option<Vec<Candidate>> = cache
        .lookup_resolved(&key)
        .and_then(|v| serde_json::from_value(v).ok());
    let mut record = None;
    let candidates = match cached {
        Some(c) => c,
        None if l.offline => {
            return Err(DepsError::Offline {
                package: format!("{package}=={version}"),
                what: "its index page".into(),
            })
        }
        None => {
            let client = client.get()?;
            let mut found = Vec::new();
            let mut listed = false;
            for u in l.urls {
                let Some(files) = client.project_files(u, package)? else {
                    continue;
                };
                listed = true;
                found = files
                    .into_iter()
                    .filter(|f| f.sha256.as_ref().is_some_and(|h| hashes.contains(h)))
                    .map(|f| Candidate {
                        filename: f.filename,
                        sha256: f.sha256.unwrap_or_default(),
                        url: bare(&f.url),
                        size: f.size,
                        yanked: f.yanked,
                        requires_python: f.requires_python,
                    })
                    .collect();
                if !found.is_empty() {
                    break;
                }
            }
            if !listed {
                return Err(DepsError::NoProject {
                    package: format!("{package}=={version}"),
                    indexes: l
                        .urls
                        .iter()
                        .map(|u| lamina_python::index::redact(u))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            // A signed URL's query is a secret that expires: such a listing is never stored.
            let signed = found.iter().any(|c| c.url.contains('?'));
            if !found.is_empty() && !signed {
                record = Some(serde_json::to_value(&found).expect("serializable"));
            }
            found
        }
    };
    let (best, warnings) = lock::choose_file(
        &l.lock.path,
        package,
        version,
        &candidates,
        l.target,
        l.ranking,
    )?;
    Ok(Resolved {
        package: package.to_string(),
        best,
        warnings,
        listing: Listing { key, record },
    })
}

/// A requirement's chosen file and the listing it was chosen from.
pub(super) struct Resolved {
    pub package: String,
    pub best: Candidate,
    pub warnings: Vec<String>,
    pub listing: Listing,
}

/// The index listing (`resolved/<key>` in the cache) an input's URL came from. It is written
/// (`record`, when it came from the index this run) only once the file it names is in the wheel
/// cache, and removed when that file fails: a cached listing never outlives a failure.
#[derive(Clone, Debug)]
pub struct Listing {
    pub key: String,
    pub record: Option<serde_json::Value>,
}

impl Listing {
    /// The file is there and checked: the listing may be reused.
    pub fn keep(&self, cache: &Cache) -> Result<(), DepsError> {
        match &self.record {
            Some(v) => cache
                .record_resolved(&self.key, v)
                .map_err(io_err(&cache.tmp_dir())),
            None => Ok(()),
        }
    }

    /// The file failed: the next build asks the index again.
    pub fn drop_from(&self, cache: &Cache) {
        cache.forget_resolved(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn index_precedence() {
        let text = "--index-url https://file/simple\n--extra-index-url https://file-extra/simple\n";
        let lock =
            lamina_python::lock::requirements::parse(Path::new("r.txt"), text, &|_| None).unwrap();
        let env = |k: &str| match k {
            "PIP_INDEX_URL" => Some("https://pip/simple".to_string()),
            "UV_DEFAULT_INDEX" => Some("https://uv/simple".to_string()),
            "PIP_EXTRA_INDEX_URL" => Some("https://e1/simple https://e2/simple".to_string()),
            "UV_INDEX" => Some("internal=https://e3/simple".to_string()),
            _ => None,
        };
        let mut deps = DepsConfig::default();
        assert_eq!(
            index_urls(&deps, &lock, &env),
            [
                "https://file/simple",
                "https://file-extra/simple",
                "https://e3/simple",
                "https://e1/simple",
                "https://e2/simple"
            ]
        );
        deps.index_url = Some("https://flag/simple".into());
        assert_eq!(index_urls(&deps, &lock, &env)[0], "https://flag/simple");
        let bare =
            lamina_python::lock::requirements::parse(Path::new("r.txt"), "", &|_| None).unwrap();
        assert_eq!(
            index_urls(&DepsConfig::default(), &bare, &env)[0],
            "https://uv/simple"
        );
        assert_eq!(index_urls(&DepsConfig::default(), &bare, &|_| None), [PYPI]);
    }
}
