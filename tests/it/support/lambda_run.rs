//! Running an image the way Lambda does, here: a Runtime API (2018-06-01) emulator on loopback
//! and podman (runc, vfs, private storage) running the image with `AWS_LAMBDA_RUNTIME_API` set.
//! Options add what the bytecode tests need: a read-only root, extra environment, the
//! container's stderr, and the times Lambda's Init Duration spans (container start → the
//! runtime's first `GET /runtime/invocation/next`).
#![allow(dead_code)]

use super::http::{self, Reply, Response};
use super::tool;
use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

#[derive(Default)]
pub struct Emulator {
    pub events: VecDeque<(String, String)>,
    pub responses: Vec<(String, String)>,
    pub errors: Vec<(String, String)>,
    /// When the runtime first asked for an event.
    pub first_next: Option<SystemTime>,
    /// Close `GET /next` at once when no event is queued (the runtime then exits): one event
    /// per runtime process, for running many handlers in one container.
    pub one_shot: bool,
}

pub fn start_emulator() -> (String, Arc<Mutex<Emulator>>) {
    let state = Arc::new(Mutex::new(Emulator::default()));
    let st = state.clone();
    let addr = http::serve(Arc::new(move |req| {
        let path = req.path.clone();
        if req.method == "GET" && path.ends_with("/runtime/invocation/next") {
            st.lock()
                .unwrap()
                .first_next
                .get_or_insert(SystemTime::now());
            let start = Instant::now();
            loop {
                if let Some((id, body)) = st.lock().unwrap().events.pop_front() {
                    let deadline = SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        + 30_000;
                    return Reply::Send(
                        Response::new(200)
                            .header("Lambda-Runtime-Aws-Request-Id", id)
                            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
                            .header(
                                "Lambda-Runtime-Invoked-Function-Arn",
                                "arn:aws:lambda:us-east-1:123456789012:function:e2e",
                            )
                            .header("Content-Type", "application/json")
                            .body(body),
                    );
                }
                if st.lock().unwrap().one_shot || start.elapsed() > Duration::from_secs(120) {
                    return Reply::Drop;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let body = String::from_utf8_lossy(&req.body()).into_owned();
        let error_type = req
            .header("lambda-runtime-function-error-type")
            .unwrap_or("")
            .to_string();
        let mut s = st.lock().unwrap();
        if path.ends_with("/runtime/init/error") {
            s.errors.push((format!("init {error_type}"), body));
        } else if path.ends_with("/response") {
            s.responses.push((path, body));
        } else if path.ends_with("/error") {
            s.errors.push((format!("invoke {error_type}"), body));
        }
        Reply::Send(Response::new(202).json(serde_json::json!({"status": "OK"})))
    }));
    (addr, state)
}

pub struct Podman {
    dir: PathBuf,
}

impl Podman {
    pub fn new(dir: &Path) -> Podman {
        fs::create_dir_all(dir).unwrap();
        fs::write(
            dir.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        fs::write(
            dir.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n",
                dir.display()
            ),
        )
        .unwrap();
        Podman {
            dir: dir.to_path_buf(),
        }
    }
    pub fn cmd(&self) -> Command {
        let mut c = tool("podman");
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"));
        c
    }
}

#[derive(Default, Clone)]
pub struct RunOptions {
    pub read_only: bool,
    pub env: Vec<(String, String)>,
    /// Where the container's stderr goes (else discarded).
    pub stderr: Option<PathBuf>,
}

/// What a run answered, and when.
pub struct Answer {
    pub body: String,
    /// Container start (podman's State.StartedAt) → the runtime's first GET /next.
    pub init: Option<Duration>,
}

fn started_at(podman: &Podman, name: &str) -> Option<SystemTime> {
    let o = podman
        .cmd()
        .args(["inspect", "--format", "{{.State.StartedAt.UnixNano}}", name])
        .output()
        .ok()?;
    let ns: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_nanos(ns))
}

/// Runs the image with one handler against a fresh emulator; returns when it answered.
pub fn invoke_with(
    podman: &Podman,
    image: &str,
    handler: &str,
    event: &str,
    opts: &RunOptions,
) -> Result<Answer, (String, String)> {
    let (api, emu) = start_emulator();
    let id = format!("req-{}", handler.replace(['.', '/'], "-"));
    emu.lock()
        .unwrap()
        .events
        .push_back((id.clone(), event.to_string()));
    let name = format!("lamina-e2e-{}-{}", std::process::id(), id);
    let mut cmd = podman.cmd();
    cmd.args(["run", "--name", &name, "--network", "host"]);
    if opts.read_only {
        cmd.arg("--read-only");
    }
    cmd.args(["-e", &format!("AWS_LAMBDA_RUNTIME_API={api}")]);
    for (k, v) in &opts.env {
        cmd.args(["-e", &format!("{k}={v}")]);
    }
    cmd.args([image, handler])
        .stdout(std::process::Stdio::null());
    match &opts.stderr {
        Some(p) => cmd.stderr(fs::File::create(p).unwrap()),
        None => cmd.stderr(std::process::Stdio::null()),
    };
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    let result = loop {
        {
            let mut s = emu.lock().unwrap();
            if let Some(i) = s.responses.iter().position(|(p, _)| p.contains(&id)) {
                break Ok(s.responses.remove(i).1);
            }
            if let Some(e) = s.errors.pop() {
                break Err(e);
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no answer from {handler}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let started = started_at(podman, &name);
    let first = emu.lock().unwrap().first_next;
    for _ in 0..50 {
        if podman
            .cmd()
            .args(["rm", "-f", &name])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    emu.lock().unwrap().events.clear();
    result.map(|body| Answer {
        body,
        init: match (started, first) {
            (Some(s), Some(f)) => f.duration_since(s).ok(),
            _ => None,
        },
    })
}

/// Runs every handler once in one container (each in its own awslambdaric process, one after the
/// other, each against its own Runtime API emulator that answers one event): one container
/// instead of one per handler, which on vfs storage copies the whole image each time. Each
/// handler's answer's body, or the error awslambdaric reported (`init Runtime.…`, body).
pub fn invoke_each(
    podman: &Podman,
    image: &str,
    handlers: &[String],
    event: &str,
) -> Vec<Result<String, (String, String)>> {
    let mut emulators = Vec::new();
    let mut script = String::new();
    for (i, h) in handlers.iter().enumerate() {
        let (api, emu) = start_emulator();
        {
            let mut e = emu.lock().unwrap();
            e.one_shot = true;
            e.events.push_back((format!("req-{i}"), event.to_string()));
        }
        script.push_str(&format!(
            "_HANDLER='{h}' AWS_LAMBDA_RUNTIME_API={api} /var/runtime/bootstrap >/dev/null 2>&1\n"
        ));
        emulators.push(emu);
    }
    let o = podman
        .cmd()
        .args([
            "run",
            "--rm",
            "--network",
            "host",
            "--entrypoint",
            "/bin/sh",
        ])
        .args([image, "-c", &script])
        .output()
        .unwrap();
    let _ = o;
    emulators
        .iter()
        .zip(handlers)
        .map(|(emu, h)| {
            let mut s = emu.lock().unwrap();
            if let Some((_, body)) = s.responses.pop() {
                return Ok(body);
            }
            match s.errors.pop() {
                Some(e) => Err(e),
                None => Err((
                    "no answer".into(),
                    format!("{h} neither answered nor reported an error"),
                )),
            }
        })
        .collect()
}
