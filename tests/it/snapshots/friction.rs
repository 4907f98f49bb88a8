//! What a new user met (issue 23, "Messages and friction"), each failure pinned whole: a project
//! the index does not have, a local wheel path in requirements, a registry's HTML error page, and a
//! plain-http registry reached over https; and what a build that succeeds says (a remote cache
//! entry too large, an index under a cache tag, an untagged push, the `build/` it keeps out of
//! git), checked line by line.

use super::{snap, Case};
use crate::support::fake_registry::Fake;
use crate::support::http::{self, Reply, Response};
use crate::support::*;
use std::fs;
use std::sync::Arc;

/// A hash no fixture wheel has (the project's own wheels must not answer for it).
const HASH: &str = "abababababababababababababababababababababababababababababababab";

/// `lamina build --lock requirements.txt ARGS` with `text` as the requirements, no credentials.
fn build_lock(c: &Case, name: &str, text: &str, args: &[&str]) {
    let reqs = c.path().join("requirements.txt");
    fs::write(&reqs, text).unwrap();
    let mut cmd = c.lamina(&["build", "--lock"]);
    cmd.arg(&reqs)
        .args(args)
        .env("HOME", c.path())
        .env("NETRC", c.path().join("no-netrc"))
        .env_remove("PIP_INDEX_URL")
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX");
    let o = snap(name, &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1), "{name}");
}

#[test]
fn a_project_the_index_does_not_have() {
    let c = Case::new();
    let addr = http::serve(Arc::new(|_| Reply::Send(Response::new(404))));
    // The index URL's user name is a token: redacted like a password.
    let url = format!("http://ghp_notprinted@{addr}/simple/");
    build_lock(
        &c,
        "index_no_such_project",
        &format!("jmespathh==1.0.1 --hash=sha256:{HASH}\n"),
        &["--index-url", &url],
    );
}

/// An index whose jmespath page is `body`, served as `text/html`.
fn html_index(body: Vec<u8>) -> String {
    let addr = http::serve(Arc::new(move |req| {
        Reply::Send(match req.path.as_str() {
            "/simple/jmespath/" => Response::new(200)
                .header("Content-Type", "text/html")
                .body(body.clone()),
            _ => Response::new(404),
        })
    }));
    format!("http://{addr}/simple/")
}

#[test]
fn a_page_that_is_not_html_says_it_listed_no_files() {
    let json = format!(
        "{{\"meta\": {{\"api-version\": \"1.1\"}}, \"name\": \"jmespath\", \"files\": [{{\"filename\": \"jmespath-1.0.1-py3-none-any.whl\", \"url\": \"x.whl\", \"hashes\": {{\"sha256\": \"{HASH}\"}}}}]}}"
    );
    let html = "<html><body><a href=\"x/jmespath-1.0.1-py3-none-any.whl\">jmespath-1.0.1-py3-none-any.whl</a></body></html>";
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(html.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    for (name, body) in [
        ("index_json_page_served_as_html", json.into_bytes()),
        ("index_utf16_page", utf16),
    ] {
        let c = Case::new();
        let url = html_index(body);
        build_lock(
            &c,
            name,
            &format!("jmespath==1.0.1 --hash=sha256:{HASH}\n"),
            &["--index-url", &url],
        );
    }
}

#[test]
fn an_index_that_serves_another_wheel_than_its_link_names() {
    let c = Case::new();
    let html = "<html><body><a href=\"/files/evil-6.6-py3-none-any.whl\">jmespath-1.0.1-py3-none-any.whl</a></body></html>";
    let addr = http::serve(Arc::new(move |req| {
        Reply::Send(match req.path.as_str() {
            "/simple/jmespath/" => Response::new(200)
                .header("Content-Type", "text/html")
                .body(html.replace("-any.whl\"", &format!("-any.whl#sha256={HASH}\""))),
            "/files/evil-6.6-py3-none-any.whl" => Response::new(200).body(b"PK evil".to_vec()),
            _ => Response::new(404),
        })
    }));
    build_lock(
        &c,
        "index_mislabelled_wheel",
        &format!("jmespath==1.0.1 --hash=sha256:{HASH}\n"),
        &["--index-url", &format!("http://{addr}/simple/")],
    );
}

#[test]
fn a_local_wheel_path_in_requirements() {
    let c = Case::new();
    build_lock(
        &c,
        "lock_local_wheel_path",
        &format!("./wheels/jmespath-1.0.1-py3-none-any.whl --hash=sha256:{HASH}\n"),
        &[],
    );
}

#[test]
fn a_registrys_html_error_page_is_summarised() {
    let c = Case::new();
    let page = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let addr = http::serve(Arc::new(move |_| {
        Reply::Send(
            Response::new(403)
                .header("Content-Type", "text/html")
                .body(page),
        )
    }));
    let o = snap(
        "pull_html_error_page",
        &mut c.lamina(&["pull", &format!("{addr}/lambda/base:v1")]),
        &[c.path()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("<center>"));
}

/// A plain-http server as nginx or Go's net/http is one: whatever arrives (here a TLS
/// handshake), it answers in plain HTTP.
fn plain_http_server() -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    addr
}

#[test]
fn a_plain_http_registry_reached_over_https_names_insecure_registry() {
    let c = Case::new();
    let addr = plain_http_server();
    let mut cmd = c.lamina(&["pull", "registry.example:5000/lambda/base:v1"]);
    cmd.arg("--registry-endpoint")
        .arg(format!("registry.example:5000=https://{addr}"))
        .env("DOCKER_CONFIG", c.path().join("no-docker-config"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    let o = snap("pull_plain_http_registry", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}

/// Runner A pushes (recording the cache entries); then the dependency entry's blob is said to be
/// 300 MB and an index is pushed under the source entry's tag; runner B (an empty local cache)
/// names both as what they are, builds both layers and pushes the same image.
#[test]
fn an_oversized_entry_blob_and_an_index_under_a_cache_tag_are_named() {
    let c = Case::new();
    let fake = Fake::start();
    let target = format!("{}/app:v1", fake.addr);
    let push = |cache: &str| {
        let mut cmd = lamina(&c.project, &c.path().join(cache));
        cmd.args(["build", "--push", &target]);
        run(&mut cmd)
    };
    let a = push("cache-a");
    assert!(a.status.success(), "{}", stderr(&a));
    let tag = |kind: &str| {
        fake.with(|s| {
            s.manifests
                .keys()
                .find_map(|k| k.strip_prefix(&format!("app:lamina-cache-{kind}-")))
                .map(|hex| format!("lamina-cache-{kind}-{hex}"))
                .unwrap_or_else(|| panic!("no {kind} entry"))
        })
    };
    let (deps, src) = (tag("deps"), tag("src"));
    fake.with(|s| {
        let (bytes, mt) = s.manifests[&format!("app:{deps}")].clone();
        let mut m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        m["layers"][0]["size"] = 300_000_000u64.into();
        s.manifests
            .insert(format!("app:{deps}"), (serde_json::to_vec(&m).unwrap(), mt));
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []});
        s.manifests.insert(
            format!("app:{src}"),
            (
                serde_json::to_vec(&index).unwrap(),
                "application/vnd.oci.image.index.v1+json".into(),
            ),
        );
    });
    let b = push("cache-b");
    let err = stderr(&b);
    assert!(b.status.success(), "{err}");
    assert_eq!(stdout(&b), stdout(&a));
    let repo = format!("{}/app", fake.addr);
    assert!(
        err.contains(&format!("warning: remote cache entry {repo}:{deps} has an entry blob of 300000000 bytes, too large (an entry is at most 64 MiB); building the layer")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: remote cache entry {repo}:{src} is an image index, not a lamina cache entry"
        )),
        "{err}"
    );
}

/// A digest is written `REPO@sha256:…` in messages, never `REPO:sha256:…`.
#[test]
fn a_digest_reference_is_printed_with_at() {
    let c = Case::new();
    let fake = Fake::start();
    let r = format!("{}/lambda/base@sha256:{HASH}", fake.addr);
    let o = snap(
        "pull_digest_missing",
        &mut c.lamina(&["pull", &r]),
        &[c.path()],
    );
    assert_eq!(o.status.code(), Some(1));
}

/// `lamina verify` of an image the registry does not have fails before rebuilding anything.
#[test]
fn verify_of_a_missing_image_fails_before_rebuilding() {
    let c = Case::new();
    let fake = Fake::start();
    let r = format!("{}/app:v9", fake.addr);
    let o = snap(
        "verify_reference_missing",
        &mut c.lamina(&["verify", &r]),
        &[c.path()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("rebuilding"), "{}", stderr(&o));
}

/// `push = "REPO"` with no tag: the image is pushed untagged, and said so with what an
/// `expire = "untagged"` lifecycle policy does to it; with a tag, no such warning.
#[test]
fn an_untagged_push_says_a_lifecycle_policy_will_delete_it() {
    let c = Case::new();
    let fake = Fake::start();
    let repo = format!("{}/app", fake.addr);
    c.set("push", &format!("\"{repo}\""));
    let o = run(&mut c.lamina(&["build"]));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("lamina: warning: pushing without a tag to {repo}: the image is untagged, so a lifecycle policy that expires untagged images (expire = \"untagged\", lamina's default) will delete it; a function deployed by its digest fails once the image is expired; pass --tag (e.g. the git short sha)\n")),
        "{err}"
    );
    let o = run(&mut c.lamina(&["build", "--tag", "v1"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("without a tag"), "{}", stderr(&o));
}

/// The default output, `build/` inside the project: lamina creates it with a `.gitignore` that
/// keeps it out of git, says so, and never copies that file into the image (a source walk of
/// "." gives the same image before and after it exists).
#[test]
fn a_build_directory_lamina_creates_is_kept_out_of_git() {
    let c = Case::new();
    c.set("src", "[\".\"]");
    // The example's .dockerignore leaves build/ out already: without it, only lamina skips it.
    fs::remove_file(c.project.join(".dockerignore")).unwrap();
    let first = run(&mut c.lamina(&["build"]));
    assert!(first.status.success(), "{}", stderr(&first));
    let ignore = c.project.join("build/.gitignore");
    let text = fs::read_to_string(&ignore).unwrap();
    assert!(text.lines().any(|l| l == "*"), "{text}");
    assert!(
        stderr(&first).contains(&format!(
            "lamina: wrote {}: build/ is build output, kept out of git\n",
            ignore.display()
        )),
        "{}",
        stderr(&first)
    );
    let second = run(&mut c.lamina(&["build"]));
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stdout(&second), stdout(&first), "the same image");
    assert!(
        !stderr(&second).contains(".gitignore"),
        "{}",
        stderr(&second)
    );
}
