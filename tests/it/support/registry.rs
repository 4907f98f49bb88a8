//! Debian's `docker-registry` (the reference distribution implementation) on a free loopback port,
//! in three modes: no auth, htpasswd Basic, and token auth with a small token server here (JWTs
//! signed RS256 by `openssl`, x5c = our self-signed certificate). Stopped on drop. Its access log
//! lets tests count requests (e.g. blob uploads).
#![allow(dead_code)]

use super::http::{self, Reply, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

pub const USER: &str = "AWS";
pub const PASSWORD: &str = "lamina-test-password";
/// What moto's GetAuthorizationToken always answers (base64 of AWS:123456789012-auth-token).
pub const MOTO_PASSWORD: &str = "123456789012-auth-token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    Htpasswd,
    Token,
}

pub struct Registry {
    child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    pub auth: Auth,
    pub password: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sh(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A token server for `docker-registry`'s token auth.
fn start_token_server(dir: &Path, service: &str, issuer: &str) -> String {
    let key = dir.join("token.key");
    let crt = dir.join("token.crt");
    sh(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=lamina-token-issuer",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .stderr(Stdio::null()));
    let der = sh(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&crt));
    let x5c = STANDARD.encode(der);
    let (service, issuer) = (service.to_string(), issuer.to_string());
    http::serve(Arc::new(move |req| {
        let want = format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")));
        if req.header("authorization") != Some(want.as_str()) {
            return Reply::Send(
                Response::new(401).json(serde_json::json!({"details": "bad credentials"})),
            );
        }
        let mut access = Vec::new();
        for scope in req
            .query
            .get("scope")
            .map(|s| s.split(' ').collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let parts: Vec<&str> = scope.splitn(3, ':').collect();
            if parts.len() == 3 {
                access.push(serde_json::json!({"type": parts[0], "name": parts[1], "actions": parts[2].split(',').collect::<Vec<_>>()}));
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]});
        let claims = serde_json::json!({"iss": issuer, "sub": USER, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", rand_u64()), "access": access});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(signing_input.as_bytes())
            .unwrap();
        let sig = child.wait_with_output().unwrap().stdout;
        let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig));
        Reply::Send(
            Response::new(200).json(
                serde_json::json!({"token": token, "access_token": token, "expires_in": 300}),
            ),
        )
    }))
}

fn rand_u64() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        Registry::start_with(auth, PASSWORD)
    }

    /// htpasswd with a given password (moto's ECR token for the ECR tests).
    pub fn start_with(auth: Auth, password: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: {addr}\n  secret: lamina-test-not-secret\n  debug:\n    addr: \"\"\n",
            dir.path().join("data").display()
        );
        match auth {
            Auth::None => {}
            Auth::Htpasswd => {
                let line = sh(Command::new(super::tool_path("htpasswd"))
                    .args(["-Bbn", "-C", "5", USER, password]));
                fs::write(dir.path().join("htpasswd"), line).unwrap();
                cfg.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: lamina-test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                ));
            }
            Auth::Token => {
                let token_addr =
                    start_token_server(dir.path(), "lamina-registry", "lamina-test-issuer");
                cfg.push_str(&format!(
                    "auth:\n  token:\n    realm: http://{token_addr}/token\n    service: lamina-registry\n    issuer: lamina-test-issuer\n    rootcertbundle: {}\n",
                    dir.path().join("token.crt").display()
                ));
            }
        }
        let cfg_path = dir.path().join("config.yml");
        fs::write(&cfg_path, cfg).unwrap();
        let log = dir.path().join("registry.log");
        let child = Command::new(super::tool_path("docker-registry"))
            .arg("serve")
            .arg(&cfg_path)
            // The access log goes to stdout; errors to stderr.
            .stdout(fs::File::create(&log).unwrap())
            .stderr(fs::File::create(dir.path().join("errors.log")).unwrap())
            .spawn()
            .unwrap();
        let reg = Registry {
            child,
            addr,
            dir,
            log,
            auth,
            password: password.to_string(),
        };
        for _ in 0..500 {
            if std::net::TcpStream::connect(&reg.addr).is_ok() {
                return reg;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!(
            "docker-registry did not start: {}",
            fs::read_to_string(reg.dir.path().join("errors.log")).unwrap_or_default()
        );
    }

    /// `--creds` for lamina and skopeo, if this registry wants them.
    pub fn creds(&self) -> Option<String> {
        (self.auth != Auth::None).then(|| format!("{USER}:{}", self.password))
    }

    /// How many access-log lines have this method and a path containing `path_part`.
    pub fn count(&self, method: &str, path_part: &str) -> usize {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains(&format!("\"{method} ")) && l.contains(path_part))
            .count()
    }

    /// skopeo arguments to reach this registry.
    pub fn skopeo_src(&self) -> Vec<String> {
        let mut a = vec!["--src-tls-verify=false".to_string()];
        if let Some(c) = self.creds() {
            a.push(format!("--src-creds={c}"));
        }
        a
    }
    pub fn skopeo_inspect(&self) -> Vec<String> {
        let mut a = vec!["--tls-verify=false".to_string()];
        if let Some(c) = self.creds() {
            a.push(format!("--creds={c}"));
        }
        a
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Uploads `bytes` as a blob of `repo` at the registry `addr` (POST, then one PUT); its digest.
pub fn put_blob(addr: &str, repo: &str, bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let c = reqwest::blocking::Client::new();
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
    let r = c
        .post(format!("http://{addr}/v2/{repo}/blobs/uploads/"))
        .send()
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let loc = if loc.starts_with("http") {
        loc
    } else {
        format!("http://{addr}{loc}")
    };
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = c
        .put(format!("{loc}{sep}digest={digest}"))
        .body(bytes.to_vec())
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    digest
}

/// PUTs a manifest (or index) under `reference` in `repo` at the registry `addr`.
pub fn put_manifest(addr: &str, repo: &str, reference: &str, bytes: &[u8], media_type: &str) {
    let r = reqwest::blocking::Client::new()
        .put(format!("http://{addr}/v2/{repo}/manifests/{reference}"))
        .header("Content-Type", media_type)
        .body(bytes.to_vec())
        .send()
        .unwrap();
    assert!(
        r.status().is_success(),
        "{}: {}",
        r.status(),
        r.text().unwrap()
    );
}
