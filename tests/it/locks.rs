//! Dependencies straight from a lock: locks written by the real `uv` against a real index
//! (pypiserver on loopback, real wheels from fixtures/), built into the same image as `--wheels`
//! of the same files; markers; a warm cache that makes no request; `--offline`; netrc and
//! CodeArtifact credentials; and faults (a tampered hash, 404, persistent 500, truncated
//! downloads) that fail with nothing written. Fault injection uses an in-process JSON index.

use crate::support::http::{self, Reply, Response};
use crate::support::index::{compile, PyPiServer};
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const WHEELS: [&str; 5] = [
    "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "googleapis_common_protos-1.66.0-py2.py3-none-any.whl",
    "jmespath-1.0.1-py3-none-any.whl",
    "protobuf-5.29.3-cp38-abi3-manylinux2014_x86_64.whl",
    "python_dotenv-1.0.1-py3-none-any.whl",
];
const REQS_IN: &str = "jmespath\nMarkupSafe\ngoogleapis-common-protos\npython-dotenv\n";
const TARGET: [&str; 4] = [
    "--python-version",
    "3.12",
    "--python-platform",
    "x86_64-manylinux_2_28",
];

fn wheel_paths() -> Vec<PathBuf> {
    WHEELS
        .iter()
        .map(|w| repo().join("fixtures/wheels/parity").join(w))
        .collect()
}

/// A project (the example) with its own temp dir; caches and outputs are named per build.
struct Run {
    t: tempfile::TempDir,
    project: PathBuf,
}

impl Run {
    fn new() -> Run {
        let t = tempfile::tempdir().unwrap();
        let project = example_copy(t.path());
        // The lock (or --wheels) given per build is the only dependency input.
        crate::support::drop_keys(&project, &["wheels"]);
        fs::write(t.path().join("req.in"), REQS_IN).unwrap();
        Run { t, project }
    }
    fn work(&self) -> &Path {
        self.t.path()
    }
    fn cache(&self, name: &str) -> PathBuf {
        self.t.path().join(format!("cache-{name}"))
    }
    fn out(&self, name: &str) -> PathBuf {
        self.t.path().join(format!("out-{name}"))
    }
    fn cmd(&self, cache: &str, out: &str, args: &[&str]) -> std::process::Command {
        let base = format!("oci:{}:python3.12", standin().display());
        let mut c = lamina(&self.project, &self.cache(cache));
        c.args(["build", "--base", &base, "-o"])
            .arg(format!("oci:{}:latest", self.out(out).display()))
            .args(args)
            .env("NETRC", self.t.path().join("no-netrc"))
            .env("HOME", self.t.path())
            .env("AWS_CONFIG_FILE", self.t.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.t.path().join("no-aws-creds"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for k in [
            "PIP_INDEX_URL",
            "PIP_EXTRA_INDEX_URL",
            "UV_DEFAULT_INDEX",
            "UV_INDEX_URL",
            "UV_INDEX",
            "LAMINA_INDEX_ENDPOINTS",
            "AWS_PROFILE",
        ] {
            c.env_remove(k);
        }
        c
    }
    /// A successful build's digest.
    fn digest(&self, cache: &str, out: &str, args: &[&str]) -> String {
        ok(&mut self.cmd(cache, out, args)).trim().to_string()
    }
    /// A failed build: exit 1, a hint, no output, no wheel or temporary file left in the cache
    /// except `keep` (wheels that were legitimately downloaded). Returns stderr.
    fn fails(&self, cache: &str, out: &str, args: &[&str], needles: &[&str]) -> String {
        let o = run(&mut self.cmd(cache, out, args));
        self.check_failed(&o, cache, out, needles)
    }
    fn check_failed(&self, o: &Output, cache: &str, out: &str, needles: &[&str]) -> String {
        let err = stderr(o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
        }
        assert!(err.contains("hint: "), "no hint:\n{err}");
        assert!(!self.out(out).exists(), "no output on failure");
        let tmp = self.cache(cache).join("v1/tmp");
        let left: Vec<_> = fs::read_dir(&tmp).map_or(Vec::new(), |d| d.collect());
        assert!(left.is_empty(), "temporary files left in {}", tmp.display());
        err
    }
    /// File names in the wheel cache.
    fn cached_wheels(&self, cache: &str) -> Vec<String> {
        let root = self.cache(cache).join("v1/wheels/sha256");
        let mut out = Vec::new();
        for d in fs::read_dir(root).into_iter().flatten().flatten() {
            for f in fs::read_dir(d.path()).unwrap().flatten() {
                out.push(f.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        out
    }
    fn wheels_dir(&self) -> PathBuf {
        let d = self.t.path().join("wheels");
        fs::create_dir_all(&d).unwrap();
        for w in wheel_paths() {
            fs::copy(&w, d.join(w.file_name().unwrap())).unwrap();
        }
        d
    }
    /// Paths in the dependency layer of output `out`.
    fn deps_paths(&self, out: &str) -> Vec<String> {
        let (_, layers) = layout_manifest(&self.out(out), "latest");
        assert_eq!(layers.len(), 3, "base, dependencies, source");
        read_layer(&layers[1]).into_iter().map(|e| e.path).collect()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn locks_give_the_same_image_as_wheels_and_a_warm_build_asks_nothing() {
    crate::needs_tools!();
    let r = Run::new();
    let server = PyPiServer::start(&wheel_paths(), None);
    let pylock = compile(r.work(), "req.in", "pylock.toml", &server.url(), &TARGET);
    let mut hashed = TARGET.to_vec();
    hashed.push("--generate-hashes");
    let reqs = compile(
        r.work(),
        "req.in",
        "requirements.txt",
        &server.url(),
        &hashed,
    );
    let wheels = r.wheels_dir();
    let from_wheels = r.digest("w", "w", &["--wheels", s(&wheels)]);

    let before = server.requests().len();
    let o = run(&mut r.cmd("p", "p", &["--lock", s(&pylock)]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        from_wheels,
        "pylock.toml gives the --wheels image"
    );
    assert!(stderr(&o).contains("downloaded 5 wheels"), "{}", stderr(&o));
    let new: Vec<String> = server.requests()[before..].to_vec();
    assert_eq!(
        new.len(),
        5,
        "one download per wheel, no index page: {new:#?}"
    );
    assert!(new.iter().all(|l| l.contains("GET /packages/")), "{new:#?}");

    let before = server.requests().len();
    let url = server.url();
    let from_reqs = r.digest("r", "r", &["--lock", s(&reqs), "--index-url", &url]);
    assert_eq!(
        from_reqs, from_wheels,
        "requirements.txt gives the --wheels image"
    );
    let new = server.requests()[before..].to_vec();
    assert_eq!(
        new.iter().filter(|l| l.contains("GET /simple/")).count(),
        5,
        "{new:#?}"
    );
    assert_eq!(r.cached_wheels("r").len(), 5);

    // Warm caches: no request at all, same image.
    let before = server.requests().len();
    assert_eq!(r.digest("p", "p2", &["--lock", s(&pylock)]), from_wheels);
    assert_eq!(
        r.digest("r", "r2", &["--lock", s(&reqs), "--index-url", &url]),
        from_wheels
    );
    assert_eq!(
        server.requests().len(),
        before,
        "a warm build asks the index nothing"
    );

    // A cached wheel that no longer hashes right is fetched again (only that one), never used,
    // when the layer has to be written again (a cached layer needs no wheel).
    let damaged = |cache: &str| {
        fs::remove_dir_all(r.cache(cache).join("v1/layers")).unwrap();
        let root = r.cache(cache).join("v1/wheels/sha256");
        let dir = fs::read_dir(root).unwrap().flatten().next().unwrap().path();
        let file = fs::read_dir(dir).unwrap().flatten().next().unwrap().path();
        let mut bytes = fs::read(&file).unwrap();
        bytes[10] ^= 0xff;
        fs::write(&file, bytes).unwrap();
    };
    damaged("p");
    let before = server.requests().len();
    let o = run(&mut r.cmd("p", "p4", &["--lock", s(&pylock)]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), from_wheels);
    assert!(
        stderr(&o).contains("downloaded 1 wheel (") && stderr(&o).contains("4 from the cache"),
        "{}",
        stderr(&o)
    );
    let new = server.requests()[before..].to_vec();
    assert_eq!(new.len(), 1, "{new:#?}");

    // With the server gone, --offline builds from the cache; an empty cache fails clearly.
    drop(server);
    assert_eq!(
        r.digest("p", "p3", &["--lock", s(&pylock), "--offline"]),
        from_wheels
    );
    assert_eq!(
        // Listings are the index's own: offline, the same --index-url finds them.
        r.digest(
            "r",
            "r3",
            &["--lock", s(&reqs), "--index-url", &url, "--offline"]
        ),
        from_wheels
    );
    r.fails(
        "empty",
        "e",
        &["--lock", s(&pylock), "--offline"],
        &["not in the cache, and --offline forbids the network"],
    );
    // So does a damaged cached wheel.
    damaged("r");
    r.fails(
        "r",
        "r5",
        &["--lock", s(&reqs), "--index-url", &url, "--offline"],
        &["not in the cache, and --offline forbids the network"],
    );
    r.fails(
        "empty2",
        "e2",
        &["--lock", s(&reqs), "--offline"],
        &["its index page is not in the cache"],
    );
    // Wheels named by `path` are read relative to the lock.
    let by_path = r.work().join("pylock.paths.toml");
    let text = fs::read_to_string(&pylock).unwrap();
    let text = text
        .lines()
        .map(|l| match (l.find("url = \""), l.find("/packages/")) {
            (Some(a), Some(b)) => format!("{}path = \"wheels/{}", &l[..a], &l[b + 10..]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("path = \"wheels/jmespath-1.0.1-py3-none-any.whl\""),
        "{text}"
    );
    fs::write(&by_path, text).unwrap();
    assert_eq!(
        r.digest("path", "path", &["--lock", s(&by_path), "--offline"]),
        from_wheels
    );
    // --wheels together with a lock: the directory supplies the lock's files, no network needed.
    assert_eq!(
        r.digest(
            "both",
            "b",
            &["--lock", s(&pylock), "--wheels", s(&wheels), "--offline"]
        ),
        from_wheels
    );
}

#[test]
fn markers_skip_packages_for_other_platforms_and_pythons() {
    crate::needs_tools!();
    let r = Run::new();
    let server = PyPiServer::start(&wheel_paths(), None);
    fs::write(
        r.work().join("req.in"),
        "MarkupSafe\njmespath ; python_version < \"3.10\"\npython-dotenv ; sys_platform == \"win32\"\n",
    )
    .unwrap();
    let universal = ["--universal", "--python-version", "3.9"];
    let pylock = compile(r.work(), "req.in", "pylock.toml", &server.url(), &universal);
    let text = fs::read_to_string(&pylock).unwrap();
    assert!(
        text.contains("marker = \"sys_platform == 'win32'\""),
        "{text}"
    );
    let mut hashed = universal.to_vec();
    hashed.push("--generate-hashes");
    let reqs = compile(
        r.work(),
        "req.in",
        "requirements.txt",
        &server.url(),
        &hashed,
    );
    let url = server.url();
    for (name, args) in [
        ("p", vec!["--lock", s(&pylock)]),
        ("r", vec!["--lock", s(&reqs), "--index-url", &url]),
    ] {
        let o = run(&mut r.cmd(name, name, &args));
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert!(err.contains("jmespath: skipped"), "{err}");
        assert!(err.contains("python-dotenv: skipped"), "{err}");
        let paths = r.deps_paths(name);
        assert!(
            paths.iter().any(|p| p == "var/task/markupsafe/__init__.py"),
            "{paths:?}"
        );
        assert!(
            !paths
                .iter()
                .any(|p| p.contains("jmespath") || p.contains("dotenv")),
            "{paths:?}"
        );
    }
}

#[test]
fn tampered_hash_404_and_unpinned_fail_before_anything_is_written() {
    crate::needs_tools!();
    let r = Run::new();
    let server = PyPiServer::start(&wheel_paths(), None);
    let pylock = compile(r.work(), "req.in", "pylock.toml", &server.url(), &TARGET);
    let mut hashed = TARGET.to_vec();
    hashed.push("--generate-hashes");
    let reqs = compile(
        r.work(),
        "req.in",
        "requirements.txt",
        &server.url(),
        &hashed,
    );
    let real = "02e2e4cc71b5bcab88332eebf907519190dd9e6e82107fa7f83b1003a6252980"; // jmespath
    let fake = "1".repeat(64);
    let text = fs::read_to_string(&pylock).unwrap();
    assert!(text.contains(real));
    let tampered = r.work().join("pylock.tampered.toml");
    fs::write(&tampered, text.replace(real, &fake)).unwrap();
    let err = r.fails(
        "t",
        "t",
        &["--lock", s(&tampered)],
        &[
            "jmespath-1.0.1-py3-none-any.whl (jmespath)",
            "/packages/jmespath-1.0.1-py3-none-any.whl",
            real,
            &fake,
        ],
    );
    assert!(
        err.contains("not the one the lock was written for"),
        "{err}"
    );
    assert!(
        !r.cached_wheels("t")
            .iter()
            .any(|w| w.starts_with("jmespath")),
        "a mismatching download is deleted: {:?}",
        r.cached_wheels("t")
    );

    let rt = r.work().join("requirements-tampered.txt");
    fs::write(&rt, fs::read_to_string(&reqs).unwrap().replace(real, &fake)).unwrap();
    let url = server.url();
    r.fails(
        "t2",
        "t2",
        &["--lock", s(&rt), "--index-url", &url],
        &[
            "jmespath==1.0.1: no wheel fits",
            "no file on the index has a listed hash",
        ],
    );

    // Unpinned or unhashed: refused before any request.
    let before = server.requests().len();
    let loose = r.work().join("requirements-loose.txt");
    fs::write(&loose, format!("jmespath>=1 --hash=sha256:{real}\n")).unwrap();
    let err = r.fails(
        "u",
        "u",
        &["--lock", s(&loose), "--index-url", &url],
        &[
            "jmespath: not pinned to one version (>=1)",
            "uv pip compile",
            "--python-platform x86_64-manylinux_2_28 ",
        ],
    );
    assert!(err.contains("--generate-hashes"), "{err}");
    assert_eq!(
        server.requests().len(),
        before,
        "nothing asked before the lock is valid"
    );

    // A file the index no longer has: 404.
    fs::remove_file(server.packages().join(WHEELS[2])).unwrap();
    r.fails(
        "n",
        "n",
        &["--lock", s(&pylock)],
        &["jmespath-1.0.1-py3-none-any.whl", "HTTP 404"],
    );
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    /// The first request for a file answers 503, later ones work.
    Once,
    Always500,
    Truncate,
}

/// A PEP 691 JSON index over the fixture wheels whose file downloads misbehave on demand.
fn json_index(mode: Arc<Mutex<Fault>>, hits: Arc<AtomicUsize>) -> String {
    use sha2::{Digest as _, Sha256};
    let files: Vec<(String, Vec<u8>)> = wheel_paths()
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(p).unwrap(),
            )
        })
        .collect();
    let addr = http::serve(Arc::new(move |req| {
        if let Some(project) = req
            .path
            .strip_prefix("/simple/")
            .map(|p| p.trim_end_matches('/'))
        {
            let list: Vec<serde_json::Value> = files
                .iter()
                .filter(|(n, _)| {
                    let stem = n
                        .split('-')
                        .next()
                        .unwrap()
                        .to_lowercase()
                        .replace(['_', '.'], "-");
                    stem == project
                })
                .map(|(n, b)| {
                    serde_json::json!({"filename": n, "url": format!("../../files/{n}"),
                        "hashes": {"sha256": hex::encode(Sha256::digest(b))}, "size": b.len()})
                })
                .collect();
            if list.is_empty() {
                return Reply::Send(Response::new(404));
            }
            let body =
                serde_json::json!({"meta": {"api-version": "1.1"}, "name": project, "files": list});
            return Reply::Send(
                Response::new(200)
                    .header("Content-Type", "application/vnd.pypi.simple.v1+json")
                    .body(body.to_string()),
            );
        }
        let Some(name) = req.path.strip_prefix("/files/") else {
            return Reply::Send(Response::new(404));
        };
        let Some((_, bytes)) = files.iter().find(|(n, _)| n == name) else {
            return Reply::Send(Response::new(404));
        };
        let n = hits.fetch_add(1, Ordering::SeqCst);
        match *mode.lock().unwrap() {
            Fault::None => Reply::Send(Response::new(200).body(bytes.clone())),
            Fault::Once if n == 0 => Reply::Send(Response::new(503).header("Retry-After", "0")),
            Fault::Once => Reply::Send(Response::new(200).body(bytes.clone())),
            Fault::Always500 => Reply::Send(Response::new(500).body("boom")),
            Fault::Truncate => {
                Reply::Truncate(Response::new(200).body(bytes.clone()), bytes.len() / 2)
            }
        }
    }));
    format!("http://{addr}/simple/")
}

#[test]
fn json_index_with_retries_and_faults_that_fail_cleanly() {
    crate::needs_tools!();
    let r = Run::new();
    let server = PyPiServer::start(&wheel_paths(), None);
    let mut hashed = TARGET.to_vec();
    hashed.push("--generate-hashes");
    let reqs = compile(
        r.work(),
        "req.in",
        "requirements.txt",
        &server.url(),
        &hashed,
    );
    drop(server);
    let wheels = r.wheels_dir();
    let from_wheels = r.digest("w", "w", &["--wheels", s(&wheels)]);
    let mode = Arc::new(Mutex::new(Fault::None));
    let hits = Arc::new(AtomicUsize::new(0));
    let index = json_index(mode.clone(), hits.clone());
    let lock = ["--lock", s(&reqs), "--index-url", &index];

    assert_eq!(
        r.digest("ok", "ok", &lock),
        from_wheels,
        "JSON pages, relative URLs"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 5);

    *mode.lock().unwrap() = Fault::Once;
    hits.store(0, Ordering::SeqCst);
    assert_eq!(
        r.digest("once", "once", &lock),
        from_wheels,
        "a 503 is retried"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 6);

    *mode.lock().unwrap() = Fault::Always500;
    r.fails(
        "500",
        "500",
        &lock,
        &["HTTP 500", "after 5 tries", "/files/"],
    );
    assert!(r.cached_wheels("500").is_empty());

    *mode.lock().unwrap() = Fault::Truncate;
    r.fails(
        "cut",
        "cut",
        &lock,
        &["the connection broke after", "after 5 tries"],
    );
    assert!(r.cached_wheels("cut").is_empty());
}

#[test]
fn netrc_credentials_for_an_index_that_requires_them() {
    crate::needs_tools!();
    let r = Run::new();
    let password = "netrc-pw-9f2c";
    let server = PyPiServer::start(&wheel_paths(), Some(("alice", password)));
    let authed = format!("http://alice:{password}@127.0.0.1:{}/simple/", server.port);
    let mut hashed = TARGET.to_vec();
    hashed.push("--generate-hashes");
    let reqs = compile(r.work(), "req.in", "requirements.txt", &authed, &hashed);
    let pylock = compile(r.work(), "req.in", "pylock.toml", &authed, &TARGET);
    assert!(!fs::read_to_string(&pylock).unwrap().contains(password));
    let url = server.url();

    let err = r.fails(
        "none",
        "none",
        &["--lock", s(&reqs), "--index-url", &url],
        &["wants credentials and none were found", "~/.netrc"],
    );
    assert!(!err.contains(password));

    let netrc = r.work().join("netrc");
    fs::write(
        &netrc,
        format!("machine 127.0.0.1\n  login alice\n  password {password}\n"),
    )
    .unwrap();
    for (name, args) in [
        ("r", vec!["--lock", s(&reqs), "--index-url", &url]),
        ("p", vec!["--lock", s(&pylock)]),
    ] {
        let o = run(r.cmd(name, name, &args).env("NETRC", &netrc));
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!stderr(&o).contains(password) && !stdout(&o).contains(password));
    }
    // Credentials in the index URL work too, and are never printed.
    let o = run(&mut r.cmd("u", "u", &["--lock", s(&reqs), "--index-url", &authed]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains(password));
    // The cache keeps file URLs without credentials; the index URL's user info still applies.
    // (The recorded facts go too: with them, a rebuild needs no wheel at all.)
    fs::remove_dir_all(r.cache("u").join("v1/wheels")).unwrap();
    fs::remove_dir_all(r.cache("u").join("v1/facts")).unwrap();
    let o = run(&mut r.cmd("u", "u2", &["--lock", s(&reqs), "--index-url", &authed]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("downloaded 5 wheels"), "{}", stderr(&o));
    for (p, b) in all_bytes(&r.cache("u")) {
        assert!(
            !b.windows(password.len()).any(|w| w == password.as_bytes()),
            "the password is in {}",
            p.display()
        );
    }

    fs::write(&netrc, "machine 127.0.0.1 login alice password wrong\n").unwrap();
    let o = run(r
        .cmd("bad", "bad", &["--lock", s(&reqs), "--index-url", &url])
        .env("NETRC", &netrc));
    r.check_failed(&o, "bad", "bad", &["refused the credentials"]);
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

#[test]
fn codeartifact_token_from_the_aws_chain_never_printed() {
    crate::needs_tools!();
    let r = Run::new();
    let token = "eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0.lamina-secret-token";
    let server = PyPiServer::start(&wheel_paths(), Some(("aws", token)));
    let calls = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(Mutex::new(token.to_string()));
    let (c, a) = (calls.clone(), answer.clone());
    // The CodeArtifact API: POST /v1/authorization-token?domain=…&domain-owner=…, SigV4-signed.
    let api = http::serve(Arc::new(move |req| {
        let signed = req.header("authorization").is_some_and(|h| {
            h.starts_with("AWS4-HMAC-SHA256") && h.contains("/codeartifact/aws4_request")
        });
        if req.method != "POST"
            || req.path != "/v1/authorization-token"
            || req.query.get("domain").map(String::as_str) != Some("lamina-test")
            || req.query.get("domain-owner").map(String::as_str) != Some("123456789012")
            || !signed
        {
            return Reply::Send(
                Response::new(400)
                    .header("x-amzn-errortype", "ValidationException")
                    .json(serde_json::json!({"message": "unexpected request"})),
            );
        }
        c.fetch_add(1, Ordering::SeqCst);
        let t = a.lock().unwrap().clone();
        Reply::Send(
            Response::new(200)
                .json(serde_json::json!({"authorizationToken": t, "expiration": 1893456000})),
        )
    }));
    let host = "lamina-test-123456789012.d.codeartifact.us-east-1.amazonaws.com";
    let authed = format!("http://aws:{token}@127.0.0.1:{}/simple/", server.port);
    let mut hashed = TARGET.to_vec();
    hashed.push("--generate-hashes");
    let reqs = compile(r.work(), "req.in", "requirements.txt", &authed, &hashed);
    let index = format!("https://{host}/simple/");
    let build = |name: &str| {
        let mut c = r.cmd(name, name, &["--lock", s(&reqs), "--index-url", &index]);
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL_CODEARTIFACT", format!("http://{api}"))
            .env(
                "LAMINA_INDEX_ENDPOINTS",
                format!("{host}=http://127.0.0.1:{}", server.port),
            );
        run(&mut c)
    };
    let o = build("ca");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one token per run");
    for text in [stdout(&o), stderr(&o)] {
        assert!(
            !text.contains(token) && !text.contains("lamina-secret"),
            "{text}"
        );
    }
    for (p, b) in all_bytes(&r.cache("ca")) {
        assert!(
            !b.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is in {}",
            p.display()
        );
    }
    // Warm: no token needed, nothing asked.
    let before = server.requests().len();
    let o = build("ca");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests().len(), before);

    // A token the index refuses: a clean failure that prints neither token.
    *answer.lock().unwrap() = "wrong-lamina-token".into();
    let o = build("bad");
    let err = r.check_failed(&o, "bad", "bad", &["refused the credentials", host]);
    assert!(
        !err.contains("wrong-lamina-token") && !err.contains(token),
        "{err}"
    );
}

/// A 300,000-line lock (100,000 hashed requirements) is read and checked whole. (It took over
/// 100 s before the duplicate check became a set lookup; how the time grows with the lock's size
/// is measured by benches/lockparse.sh, not here: tests are not timed.)
#[test]
fn a_300000_line_lock_is_read_and_checked_whole() {
    let r = Run::new();
    let hash = "ab".repeat(32);
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!(
            "pkg{i}==1.0 \\\n    --hash=sha256:{hash} \\\n    --hash=sha256:{hash}\n"
        ));
    }
    let lock = r.work().join("big.txt");
    fs::write(&lock, text).unwrap();
    // --offline stops at the first index page, after the whole lock was read and checked.
    r.fails(
        "big",
        "big",
        &["--lock", s(&lock), "--offline"],
        &["pkg0==1.0: its index page is not in the cache"],
    );
}
