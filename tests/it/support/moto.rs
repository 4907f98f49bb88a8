//! moto's server (the ECR API, on loopback) for the ECR tests, from the venv the test command makes
//! (`$LAMINA_TEST_VENV`, default `~/.cache/lamina-test/venv`), and boto3 from the same venv to
//! assert what lamina did through the real ECR API shapes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

pub fn venv() -> PathBuf {
    match std::env::var_os("LAMINA_TEST_VENV") {
        Some(v) => PathBuf::from(v),
        None => {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lamina-test/venv")
        }
    }
}

impl Moto {
    pub fn start() -> Moto {
        let bin = venv().join("bin/moto_server");
        assert!(
            bin.is_file(),
            "{} is missing; run the README's test command (it installs moto[server] in a venv)",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let m = Moto { child, endpoint };
        let client = reqwest::blocking::Client::new();
        for _ in 0..300 {
            if client
                .get(format!("{}/moto-api/", m.endpoint))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return m;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto_server did not start");
    }

    /// Runs a Python snippet with boto3 against this moto; `ecr` is a client. Returns stdout.
    pub fn python(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json\necr = boto3.client('ecr', region_name='us-east-1', endpoint_url='{}', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}\n",
            self.endpoint
        );
        let out = Command::new(venv().join("bin/python"))
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
