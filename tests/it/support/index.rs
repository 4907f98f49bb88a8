//! A real package index for the lock tests: pypiserver (from PyPI, in `$LAMINA_TEST_VENV`) serving
//! a directory of wheels on a free loopback port, optionally behind an htpasswd file; its request
//! log lets tests count requests. And the real `uv`, from the same venv, to write the locks.
#![allow(dead_code)]

use super::moto::venv;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct PyPiServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PyPiServer {
    /// Serves copies of `wheels`; with `auth`, every request needs that user and password.
    pub fn start(wheels: &[PathBuf], auth: Option<(&str, &str)>) -> PyPiServer {
        let bin = venv().join("bin/pypi-server");
        assert!(
            bin.is_file(),
            "{} is missing; run scripts/test.sh (it installs pypiserver into the test venv)",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let packages = dir.path().join("packages");
        fs::create_dir_all(&packages).unwrap();
        for w in wheels {
            fs::copy(w, packages.join(w.file_name().unwrap())).unwrap();
        }
        let log = dir.path().join("requests.log");
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["run", "-p", &port.to_string(), "-i", "127.0.0.1"])
            .args(["--disable-fallback", "--hash-algo", "sha256", "-v"])
            .args(["--backend", "simple-dir"])
            .arg("--log-file")
            .arg(&log);
        if let Some((user, password)) = auth {
            let htpasswd = dir.path().join("htpasswd");
            let out = Command::new(super::tool_path("htpasswd"))
                .arg("-bc")
                .arg(&htpasswd)
                .args([user, password])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            cmd.arg("-P")
                .arg(&htpasswd)
                .args(["-a", "download,list,update"]);
        } else {
            cmd.args(["-P", ".", "-a", "."]);
        }
        let child = cmd
            .arg(&packages)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = PyPiServer {
            child,
            port,
            dir,
            log,
        };
        let client = reqwest::blocking::Client::new();
        for _ in 0..400 {
            if client
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .is_ok()
            {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("pypi-server did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/simple/", self.port)
    }

    pub fn packages(&self) -> PathBuf {
        self.dir.path().join("packages")
    }

    /// Requests the server logged so far, health checks excluded.
    pub fn requests(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"GET ") && !l.contains("/health"))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for PyPiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real `uv` from the test venv, never downloading a Python or reading user config.
pub fn uv(work: &Path) -> Command {
    let bin = venv().join("bin/uv");
    assert!(
        bin.is_file(),
        "{} is missing; run scripts/test.sh (it installs uv into the test venv)",
        bin.display()
    );
    let mut c = Command::new(bin);
    c.current_dir(work)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_NO_CONFIG", "1")
        .env("UV_CACHE_DIR", work.join(".uv-cache"))
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .env_remove("PIP_INDEX_URL");
    c
}

/// `uv pip compile IN -o OUT --index-url INDEX` plus `extra` flags (the target: e.g.
/// `--python-version 3.12 --python-platform x86_64-manylinux_2_28`). Returns the lock's path.
pub fn compile(work: &Path, input: &str, out: &str, index: &str, extra: &[&str]) -> PathBuf {
    let o = uv(work)
        .args(["pip", "compile", input, "-o", out, "--index-url", index])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "uv pip compile failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    work.join(out)
}
