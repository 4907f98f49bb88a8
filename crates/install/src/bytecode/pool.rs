//! A pool of interpreter processes that compile sources to `.pyc` bytes, exactly as `py_compile`
//! does for `invalidation_mode=UNCHECKED_HASH` and `dfile=<in-image path>`:
//! `compile(source, dfile, "exec", dont_inherit=True, optimize=-1)`, then
//! `_code_to_hash_pyc(code, source_hash(source), False)`.
//!
//! marshal's output depends on the state of the whole process: whether it marks an object for
//! back-references follows reference counts, and whether two equal constants are one object can
//! follow what was compiled before. So no file is ever compiled in a process that compiled
//! another: each worker is a pristine parent that starts the interpreter once, then forks one
//! child per file; the child reads one frame, compiles, answers and exits. Every file is compiled
//! in the same process state, the state a fresh interpreter has after the driver's preamble, so
//! the bytes depend only on the interpreter and the input, never on the worker, the order or the
//! cache (`tests/it/repro.rs` compares every file of a large real wheel set with one fresh
//! process per file). Frames: u32 path length, u32 source length, path (UTF-8), source in; one
//! byte (`P` pyc, `E` error, `H` hello, `X` the child died), u32 length, payload out. This module
//! knows nothing of layers or caching (`store`, `mod`).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The driver each worker runs (`python -S -c DRIVER`). The hello payload: version, cache tag,
/// magic number (hex), prefix. The parent never reads a frame (its state must not change from
/// one file to the next): the child reads stdin unbuffered, exactly its own frame.
const DRIVER: &str = r#"
import sys
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]
import gc, os, signal
# lamina's death sends SIGTERM (PR_SET_PDEATHSIG): take every child compiling with us.
signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
from importlib.util import source_hash, MAGIC_NUMBER
from importlib._bootstrap_external import _code_to_hash_pyc
import warnings
warnings.simplefilter("ignore")
# One-character strings are singletons whose "interned" mark sticks once anything interns them,
# and marshal writes that mark: interned, all of them, they are the same for every file.
for i in range(256):
    sys.intern(chr(i))
def readn(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
def out(kind, data):
    data = kind + len(data).to_bytes(4, "little") + data
    while data:
        data = data[os.write(1, data):]
out(b"H", "\0".join([sys.version.split()[0], sys.implementation.cache_tag, MAGIC_NUMBER.hex(), sys.prefix]).encode("utf-8", "surrogateescape"))
# The parent's objects never change again: keep the children's collector off them (fewer pages
# copied on write; no effect on what is compiled).
gc.freeze()
while True:
    pid = os.fork()
    if pid == 0:
        head = readn(8)
        if head is None:
            os._exit(3)
        path = readn(int.from_bytes(head[:4], "little"))
        source = readn(int.from_bytes(head[4:], "little"))
        if path is None or source is None:
            os._exit(3)
        path = path.decode("utf-8", "surrogateescape")
        try:
            code = compile(source, path, "exec", dont_inherit=True, optimize=-1)
        except Exception as e:
            line = getattr(e, "lineno", None)
            msg = "%s: %s%s" % (type(e).__name__, getattr(e, "msg", None) or e, " (line %d)" % line if line else "")
            out(b"E", msg.encode("utf-8", "replace"))
            os._exit(0)
        out(b"P", bytes(_code_to_hash_pyc(code, source_hash(source), False)))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status == 3 << 8:
        break
    if status != 0:
        out(b"X", ("exit status %d" % status).encode())
        break
"#;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("starting the base's interpreter")]
    Spawn(#[source] io::Error),
    #[error("the base's interpreter stopped answering ({detail})")]
    Protocol { detail: String },
    #[error("the base's interpreter stopped while compiling {path} ({detail})")]
    Crashed { path: String, detail: String },
    #[error("the base's interpreter says it is {got}, expected cpython-3{minor}")]
    Version { got: String, minor: u32 },
    #[error("the base's interpreter took over {} s {what}", .after.as_secs())]
    Timeout { what: String, after: Duration },
}

/// What the interpreter said about itself when it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub version: String,
    pub cache_tag: String,
    pub magic: String,
}

/// The result for one source: `.pyc` bytes, or the compile error's message.
pub type Compiled = Result<Vec<u8>, String>;

struct Worker {
    child: Child,
    timeout: Duration,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// Reads one frame, failing with `Timeout` (`what`: what the interpreter was doing) when it does
/// not arrive by `deadline`.
fn read_frame(
    r: &mut BufReader<ChildStdout>,
    deadline: Instant,
    what: &dyn Fn() -> String,
) -> Result<(u8, Vec<u8>), PoolError> {
    let mut head = [0u8; 5];
    read_exact_by(r, &mut head, deadline, what)?;
    let len = u32::from_le_bytes(head[1..].try_into().expect("4 bytes")) as usize;
    let mut data = vec![0u8; len];
    read_exact_by(r, &mut data, deadline, what)?;
    Ok((head[0], data))
}

fn read_exact_by(
    r: &mut BufReader<ChildStdout>,
    buf: &mut [u8],
    deadline: Instant,
    what: &dyn Fn() -> String,
) -> Result<(), PoolError> {
    let proto = |e: io::Error| PoolError::Protocol {
        detail: e.to_string(),
    };
    let mut filled = 0;
    while filled < buf.len() {
        if r.buffer().is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fd = libc::pollfd {
                fd: r.get_ref().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut fd, 1, ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(proto(e));
            }
            if n == 0 {
                return Err(PoolError::Timeout {
                    what: what(),
                    after: Duration::ZERO,
                });
            }
        }
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Err(proto(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(proto(e)),
        }
    }
    Ok(())
}

impl Worker {
    fn start(
        mut cmd: Command,
        minor: u32,
        timeout: Duration,
    ) -> Result<(Worker, Hello), PoolError> {
        // Its own process group (the driver and every child it forks), killed as one; and killed
        // with lamina, even by SIGKILL, through the parent-death signal.
        cmd.process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .args(["-S", "-c", DRIVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(PoolError::Spawn)?;
        let stdin = BufWriter::new(child.stdin.take().expect("piped"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let starting = || "to start".to_string();
        let hello = match read_frame(&mut stdout, Instant::now() + timeout, &starting) {
            Ok((b'H', data)) => {
                let text = String::from_utf8_lossy(&data).into_owned();
                let parts: Vec<&str> = text.split('\0').collect();
                Hello {
                    version: parts.first().unwrap_or(&"").to_string(),
                    cache_tag: parts.get(1).unwrap_or(&"").to_string(),
                    magic: parts.get(2).unwrap_or(&"").to_string(),
                }
            }
            Ok((k, _)) => {
                return Err(PoolError::Protocol {
                    detail: format!("unexpected frame {k}"),
                })
            }
            Err(PoolError::Timeout { what, .. }) => {
                kill_group(&mut child);
                return Err(PoolError::Timeout {
                    what,
                    after: timeout,
                });
            }
            Err(_) => {
                kill_group(&mut child);
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let _ = child.wait();
                let last = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output");
                return Err(PoolError::Protocol {
                    detail: last.to_string(),
                });
            }
        };
        if hello.cache_tag != format!("cpython-3{minor}") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PoolError::Version {
                got: hello.cache_tag,
                minor,
            });
        }
        // stderr is not read again: drop it so a chatty interpreter cannot block on a full pipe.
        drop(child.stderr.take());
        Ok((
            Worker {
                child,
                timeout,
                stdin,
                stdout,
            },
            hello,
        ))
    }

    fn compile(&mut self, path: &str, source: &[u8]) -> Result<Compiled, PoolError> {
        let proto = |e: io::Error| PoolError::Protocol {
            detail: e.to_string(),
        };
        self.stdin
            .write_all(&(path.len() as u32).to_le_bytes())
            .and_then(|_| self.stdin.write_all(&(source.len() as u32).to_le_bytes()))
            .and_then(|_| self.stdin.write_all(path.as_bytes()))
            .and_then(|_| self.stdin.write_all(source))
            .and_then(|_| self.stdin.flush())
            .map_err(proto)?;
        let compiling = || format!("compiling {path}");
        let timeout = self.timeout;
        let frame = read_frame(&mut self.stdout, Instant::now() + timeout, &compiling).map_err(
            |e| match e {
                PoolError::Timeout { what, .. } => PoolError::Timeout {
                    what,
                    after: timeout,
                },
                e => e,
            },
        )?;
        match frame {
            (b'P', data) => Ok(Ok(data)),
            (b'E', msg) => Ok(Err(String::from_utf8_lossy(&msg).into_owned())),
            (b'X', why) => Err(PoolError::Protocol {
                detail: String::from_utf8_lossy(&why).into_owned(),
            }),
            (k, _) => Err(PoolError::Protocol {
                detail: format!("unexpected frame {k}"),
            }),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stdin.flush();
        kill_group(&mut self.child);
    }
}

/// Kills the driver and every process it forked (one process group), and reaps the driver.
fn kill_group(child: &mut Child) {
    // SAFETY: a plain syscall; the group is the child's own (process_group(0)).
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Checks that the interpreter starts and is the expected CPython; returns what it says.
pub fn hello(cmd: Command, minor: u32, timeout: Duration) -> Result<Hello, PoolError> {
    Worker::start(cmd, minor, timeout).map(|(_, h)| h)
}

/// Compiles with `workers` processes started by `make`. `produce` runs on this thread and hands
/// jobs to `send` (false: the pool has stopped); a bounded queue keeps memory flat while it reads
/// sources lazily. Each result goes to `sink` on a worker's thread as soon as it is ready.
pub fn run<J: Send, E>(
    make: &(dyn Fn() -> Command + Sync),
    minor: u32,
    workers: usize,
    timeout: Duration,
    produce: impl FnOnce(&dyn Fn(J, String, Vec<u8>) -> bool) -> Result<(), E>,
    sink: &(dyn Fn(J, Compiled) + Sync),
) -> Result<Result<Hello, PoolError>, E> {
    let workers = workers.max(1);
    let (tx, rx) = mpsc::sync_channel::<(J, String, Vec<u8>)>(workers * 2);
    let rx = Arc::new(Mutex::new(rx));
    let hello: Mutex<Option<Hello>> = Mutex::new(None);
    let first_err: Mutex<Option<PoolError>> = Mutex::new(None);
    let produced = std::thread::scope(|s| {
        for _ in 0..workers {
            let rx = rx.clone();
            let (hello, first_err) = (&hello, &first_err);
            s.spawn(move || {
                let (mut w, h) = match Worker::start(make(), minor, timeout) {
                    Ok(x) => x,
                    Err(e) => {
                        first_err.lock().expect("lock").get_or_insert(e);
                        return;
                    }
                };
                hello.lock().expect("lock").get_or_insert(h);
                loop {
                    let next = rx.lock().expect("lock").recv();
                    let Ok((id, path, source)) = next else {
                        return;
                    };
                    match w.compile(&path, &source) {
                        Ok(r) => sink(id, r),
                        Err(e) => {
                            let e = match e {
                                e @ PoolError::Timeout { .. } => e,
                                e => PoolError::Crashed {
                                    path,
                                    detail: e.to_string(),
                                },
                            };
                            first_err.lock().expect("lock").get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
        // Only the workers hold the receiver now: if they all stop, sending fails at once.
        drop(rx);
        let send = |id: J, path: String, source: Vec<u8>| tx.send((id, path, source)).is_ok();
        let r = produce(&send);
        drop(tx);
        r
    });
    produced?;
    if let Some(e) = first_err.into_inner().expect("lock") {
        return Ok(Err(e));
    }
    Ok(hello
        .into_inner()
        .expect("lock")
        .ok_or(PoolError::Protocol {
            detail: "no worker started".into(),
        }))
}
