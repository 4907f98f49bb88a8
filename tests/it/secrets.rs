//! Secrets stay with their host (issue 23): credentials never follow a redirect (index and
//! registry), a token written as a URL's user name and a VCS URL's password are never printed, a
//! signed URL's query is never stored, and an index listing never outlives a failed download.
//! Each test failed on the code before its fix. Servers are in-process fakes on loopback.

use crate::support::fake_registry::Fake;
use crate::support::http::{self, Reply, Response};
use crate::support::*;
use sha2::{Digest as _, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const JMESPATH: &str = "jmespath-1.0.1-py3-none-any.whl";

fn jmespath() -> Vec<u8> {
    fs::read(repo().join("fixtures/wheels/parity").join(JMESPATH)).unwrap()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b}")
}

/// The example project without its wheels, with a private home, cache and output.
struct Case {
    t: tempfile::TempDir,
    project: PathBuf,
}

fn case() -> Case {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    crate::support::drop_keys(&project, &["wheels"]);
    Case { t, project }
}

impl Case {
    fn path(&self, name: &str) -> PathBuf {
        self.t.path().join(name)
    }
    /// A requirements lock pinning jmespath by its hash.
    fn requirements(&self, extra: &str) -> PathBuf {
        let p = self.path("requirements.txt");
        let line = format!(
            "jmespath==1.0.1 --hash=sha256:{}\n",
            sha256_hex(&jmespath())
        );
        fs::write(&p, format!("{extra}{line}")).unwrap();
        p
    }
    fn lamina(&self, cache: &str) -> Command {
        let mut c = lamina(&self.project, &self.path(cache));
        c.env("HOME", self.t.path())
            .env("NETRC", self.path("no-netrc"))
            .env("AWS_CONFIG_FILE", self.path("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("no-aws-creds"))
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for k in [
            "PIP_INDEX_URL",
            "PIP_EXTRA_INDEX_URL",
            "UV_DEFAULT_INDEX",
            "UV_INDEX_URL",
            "UV_INDEX",
            "LAMINA_INDEX_ENDPOINTS",
            "AWS_PROFILE",
            "REGISTRY_AUTH_FILE",
            "DOCKER_CONFIG",
            "XDG_RUNTIME_DIR",
        ] {
            c.env_remove(k);
        }
        c
    }
    /// `lamina build` of the project on the stand-in with `--lock LOCK` and `args`.
    fn build(&self, cache: &str, lock: &Path, args: &[&str]) -> Output {
        let base = format!("oci:{}:python3.12", standin().display());
        let out = format!(
            "oci:{}:latest",
            self.path(&format!("out-{cache}")).display()
        );
        run(self
            .lamina(cache)
            .args(["build", "--base", &base, "-o", &out, "--lock"])
            .arg(lock)
            .args(args))
    }
}

/// Every `(path, Authorization)` a server was asked with.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A server that logs every request and answers with `answer(path)`.
fn logging(answer: impl Fn(&str) -> Response + Send + Sync + 'static) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let addr = http::serve(Arc::new(move |req| {
        s.lock().unwrap().push((
            req.path.clone(),
            req.header("authorization").map(str::to_string),
        ));
        Reply::Send(answer(&req.path))
    }));
    (addr, seen)
}

fn redirect(status: u16, to: &str) -> Response {
    Response::new(status).header("Location", to)
}

// 1. The index: a redirect to another host that redirects again within itself gets no credentials.
#[test]
fn index_credentials_never_follow_a_redirect_to_another_host() {
    let c = case();
    let (elsewhere, hops) = logging(|path| match path {
        "/hop1" => redirect(302, "/hop2"),
        _ => Response::new(404),
    });
    let target = format!("http://{elsewhere}/hop1");
    let (index, asked) = logging(move |path| match path {
        // A redirect within the index keeps its credentials; the next one leaves the host.
        "/simple/jmespath/" => redirect(302, "/moved/jmespath/"),
        "/moved/jmespath/" => redirect(302, &target),
        _ => Response::new(404),
    });
    let url = format!("http://alice:S3CRETpw@{index}/simple/");
    let o = c.build("c", &c.requirements(""), &["--index-url", &url]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("S3CRETpw"), "{err}");
    let want = basic("alice", "S3CRETpw");
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|(_, a)| a.as_deref() == Some(want.as_str())),
        "the index's own requests carry its credentials: {asked:?}"
    );
    let hops = hops.lock().unwrap().clone();
    assert_eq!(
        hops.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["/hop1", "/hop2"]
    );
    assert!(
        hops.iter().all(|(_, a)| a.is_none()),
        "credentials reached another host: {hops:?}"
    );
}

// 1. The registry: a blob GET answered 307 to a blob store that redirects again gets no credentials.
#[test]
fn registry_credentials_never_follow_a_blob_redirect() {
    let c = case();
    let fake = Fake::start();
    let layout = standin();
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "python3.12-docker")
        .unwrap()
        .clone();
    let want = basic("bob", "REGSECRETpw");
    fake.with(|s| {
        for e in fs::read_dir(layout.join("blobs/sha256")).unwrap() {
            let e = e.unwrap();
            let d = format!("sha256:{}", e.file_name().to_string_lossy());
            s.blobs.insert(d, fs::read(e.path()).unwrap());
        }
        let digest = manifest["digest"].as_str().unwrap();
        let bytes = s.blobs[digest].clone();
        let mt = manifest["mediaType"].as_str().unwrap().to_string();
        s.manifests
            .insert("lambda/base:v1".into(), (bytes.clone(), mt.clone()));
        s.manifests
            .insert(format!("lambda/base:{digest}"), (bytes, mt));
        s.faults.require_authorization = Some(want.clone());
    });
    let state = fake.state.clone();
    let (store, hops) = logging(move |path| {
        if let Some(d) = path.strip_prefix("/hop1/") {
            return redirect(307, &format!("/hop2/{d}"));
        }
        let d = path.strip_prefix("/hop2/").unwrap_or_default();
        match state.lock().unwrap().blobs.get(d) {
            Some(b) => Response::new(200).body(b.clone()),
            None => Response::new(404),
        }
    });
    fake.with(|s| s.faults.blob_redirect = Some(format!("http://{store}/hop1")));
    let auth = c.path("auth.json");
    let entry = want.strip_prefix("Basic ").unwrap();
    fs::write(
        &auth,
        serde_json::json!({"auths": {fake.addr.clone(): {"auth": entry}}}).to_string(),
    )
    .unwrap();
    let o = run(c
        .lamina("c")
        .args(["pull", &format!("{}/lambda/base:v1", fake.addr)])
        .env("REGISTRY_AUTH_FILE", &auth));
    assert!(o.status.success(), "{}", stderr(&o));
    let hops = hops.lock().unwrap().clone();
    assert!(
        hops.iter().any(|(p, _)| p.starts_with("/hop2/")),
        "the blobs came from the store: {hops:?}"
    );
    assert!(
        hops.iter().all(|(_, a)| a.is_none()),
        "credentials reached the blob store: {hops:?}"
    );
}

// 2. A URL's user name with no password is a token: never printed (index URL, 401, pylock URL).
#[test]
fn a_token_written_as_the_url_user_name_is_never_printed() {
    let c = case();
    let token = "ghp_TOKEN4c6f2e";
    let (index, _) = logging(|path| match path {
        p if p.starts_with("/denied/") => Response::new(401),
        _ => Response::new(404),
    });
    let reqs = c.requirements("");
    for url in [
        format!("http://{token}@{index}/denied/"),
        format!("http://{token}:@{index}/denied/"),
    ] {
        let o = c.build("c", &reqs, &["--index-url", &url]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("refused the credentials"), "{err}");
        assert!(!err.contains(token), "{err}");
    }
    let pylock = c.path("pylock.toml");
    fs::write(
        &pylock,
        format!(
            "lock-version = \"1.0\"\ncreated-by = \"test\"\n\n[[packages]]\nname = \"jmespath\"\nversion = \"1.0.1\"\n\n[[packages.wheels]]\nurl = \"http://{token}@{index}/files/{JMESPATH}\"\nhashes = {{ sha256 = \"{}\" }}\n",
            sha256_hex(&jmespath())
        ),
    )
    .unwrap();
    let o = c.build("c", &pylock, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 404") && err.contains(JMESPATH), "{err}");
    assert!(!err.contains(token), "{err}");
}

// 3. A VCS requirement's password is never printed, whichever way it is written.
#[test]
fn a_vcs_requirements_password_is_never_printed() {
    let c = case();
    for line in [
        "-e git+https://tok:GITSECRET@git.example/x.git#egg=x\n",
        "x @ git+https://tok:GITSECRET@git.example/x.git\n",
        "git+https://tok:GITSECRET@git.example/x.git#egg=x\n",
    ] {
        let reqs = c.requirements(line);
        let o = c.build("c", &reqs, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{line}: {err}");
        assert!(err.contains("git.example/x.git"), "{line}: {err}");
        assert!(!err.contains("GITSECRET"), "{line}: {err}");
    }
}

/// Every file under `dir`, read whole.
fn all_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else if let Ok(b) = fs::read(&p) {
            out.push((p, b));
        }
    }
    out
}

/// A PEP 691 page for jmespath listing `url` with the real wheel's hash.
fn json_page(url: &str) -> Response {
    let wheel = jmespath();
    let body = serde_json::json!({"meta": {"api-version": "1.1"}, "name": "jmespath",
        "files": [{"filename": JMESPATH, "url": url,
            "hashes": {"sha256": sha256_hex(&wheel)}, "size": wheel.len()}]});
    Response::new(200)
        .header("Content-Type", "application/vnd.pypi.simple.v1+json")
        .body(body.to_string())
}

// 4. A signed URL's query (a secret that expires) is used for the download but never stored.
#[test]
fn a_signed_urls_query_is_never_stored_in_the_cache() {
    let c = case();
    let signed = format!("../../files/{JMESPATH}?X-Amz-Signature=SIGSECRET77&token=TOKSECRET77");
    let (index, asked) = logging(move |path| match path {
        "/simple/jmespath/" => json_page(&signed),
        p if p.ends_with(JMESPATH) => Response::new(200).body(jmespath()),
        _ => Response::new(404),
    });
    let url = format!("http://{index}/simple/");
    let o = c.build("c", &c.requirements(""), &["--index-url", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(asked.lock().unwrap().len(), 2);
    for (p, b) in all_bytes(&c.path("c")) {
        for secret in ["SIGSECRET77", "TOKSECRET77"] {
            assert!(
                !b.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} is in {}",
                p.display()
            );
        }
    }
}

// 5. A listing whose file failed is not kept, and a listing is the index's own: after the index
// is fixed, or with another index, the next build with the same cache works.
#[test]
fn an_index_listing_never_outlives_a_failure_and_is_keyed_by_index() {
    let c = case();
    let fixed = Arc::new(Mutex::new(false));
    let f = fixed.clone();
    let (bad, _) = logging(move |path| match (path, *f.lock().unwrap()) {
        ("/simple/jmespath/", false) => json_page("/broken/jmespath-1.0.1-py3-none-any.whl"),
        ("/simple/jmespath/", true) => json_page(&format!("/files/{JMESPATH}")),
        ("/broken/jmespath-1.0.1-py3-none-any.whl", _) => {
            Response::new(200).body(b"not the wheel".to_vec())
        }
        (p, true) if p.ends_with(JMESPATH) => Response::new(200).body(jmespath()),
        _ => Response::new(404),
    });
    let reqs = c.requirements("");
    let bad_url = format!("http://{bad}/simple/");
    let o = c.build("c", &reqs, &["--index-url", &bad_url]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not the one the lock was written for"),
        "{err}"
    );
    // Another index with the same cache: its own listing, not the failed one's URL.
    let (good, _) = logging(|path| match path {
        "/simple/jmespath/" => json_page(&format!("/files/{JMESPATH}")),
        p if p.ends_with(JMESPATH) => Response::new(200).body(jmespath()),
        _ => Response::new(404),
    });
    let good_url = format!("http://{good}/simple/");
    let o = c.build("c", &reqs, &["--index-url", &good_url]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The first index fixed: the failed listing is not reused either.
    *fixed.lock().unwrap() = true;
    for d in ["wheels", "facts"] {
        fs::remove_dir_all(c.path("c/v1").join(d)).unwrap();
    }
    let o = c.build("c", &reqs, &["--index-url", &bad_url]);
    assert!(o.status.success(), "{}", stderr(&o));
}
