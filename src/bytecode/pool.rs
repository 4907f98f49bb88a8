//! A pool of long-lived interpreter processes that compile sources to `.pyc` bytes, exactly as
//! `py_compile` does for `invalidation_mode=UNCHECKED_HASH` and `dfile=<in-image path>`:
//! `compile(source, dfile, "exec", dont_inherit=True, optimize=-1)`, then
//! `_code_to_hash_pyc(code, source_hash(source), False)`, with every one-character string
//! interned first (see the driver) so that no `.pyc` depends on what its worker compiled before.
//! Each worker reads length-prefixed frames
//! on stdin and answers on stdout; one process per worker for the whole build is far cheaper than
//! one per file. The bytes depend only on the interpreter and the input, never on which worker or
//! in which order (a test compares 1 worker against several, and against `compileall`). This
//! module knows nothing of layers or caching (`store`, `mod`).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// The driver each worker runs (`python -S -c DRIVER`). Frame in: u32 path length, u32 source
/// length, path (UTF-8), source. Frame out: one byte (`P` pyc, `E` error, `H` hello), u32 length,
/// payload. The hello line: version, cache tag, magic number (hex), prefix.
const DRIVER: &str = r#"
import sys
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]
import marshal
from importlib.util import source_hash, MAGIC_NUMBER
from importlib._bootstrap_external import _code_to_hash_pyc
import warnings
warnings.simplefilter("ignore")
# One-character strings are process-wide singletons whose "interned" mark sticks once anything
# interns them (a `from m import *` compiled earlier interns "*"), and marshal writes that mark.
# Interning all of them up front makes every .pyc independent of what the worker compiled before.
for i in range(256):
    sys.intern(chr(i))
rd, wr = sys.stdin.buffer, sys.stdout.buffer
def out(kind, data):
    wr.write(kind + len(data).to_bytes(4, "little") + data)
    wr.flush()
out(b"H", "\0".join([sys.version.split()[0], sys.implementation.cache_tag, MAGIC_NUMBER.hex(), sys.prefix]).encode("utf-8", "surrogateescape"))
while True:
    head = rd.read(8)
    if len(head) < 8:
        break
    path = rd.read(int.from_bytes(head[:4], "little")).decode("utf-8", "surrogateescape")
    source = rd.read(int.from_bytes(head[4:], "little"))
    try:
        code = compile(source, path, "exec", dont_inherit=True, optimize=-1)
    except Exception as e:
        line = getattr(e, "lineno", None)
        msg = "%s: %s%s" % (type(e).__name__, getattr(e, "msg", None) or e, " (line %d)" % line if line else "")
        out(b"E", msg.encode("utf-8", "replace"))
        continue
    pin = []
    if sys.version_info < (3, 12):
        # Before 3.12, marshal marks a string for back-references only when something besides the
        # code object holds it: whether the worker happens to hold the same interned name (after
        # importing a codec, say) would change the bytes. Holding every string of the code object
        # makes the marks the same in every process.
        todo = [code]
        while todo:
            o = todo.pop()
            if isinstance(o, str):
                pin.append(o)
            elif isinstance(o, (tuple, frozenset)):
                todo.extend(o)
            elif hasattr(o, "co_consts"):
                todo.extend(o.co_consts)
                todo.extend(o.co_names + o.co_varnames + o.co_freevars + o.co_cellvars)
                todo.extend([o.co_filename, o.co_name, getattr(o, "co_qualname", "")])
    data = bytes(_code_to_hash_pyc(code, source_hash(source), False))
    del code, pin
    out(b"P", data)
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
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

fn read_frame(r: &mut impl Read) -> Result<(u8, Vec<u8>), PoolError> {
    let mut head = [0u8; 5];
    let proto = |e: io::Error| PoolError::Protocol {
        detail: e.to_string(),
    };
    r.read_exact(&mut head).map_err(proto)?;
    let len = u32::from_le_bytes(head[1..].try_into().expect("4 bytes")) as usize;
    let mut data = vec![0u8; len];
    r.read_exact(&mut data).map_err(proto)?;
    Ok((head[0], data))
}

impl Worker {
    fn start(mut cmd: Command, minor: u32) -> Result<(Worker, Hello), PoolError> {
        let mut child = cmd
            .args(["-S", "-c", DRIVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(PoolError::Spawn)?;
        let stdin = BufWriter::new(child.stdin.take().expect("piped"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let hello = match read_frame(&mut stdout) {
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
            Err(_) => {
                let _ = child.kill();
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
        match read_frame(&mut self.stdout)? {
            (b'P', data) => Ok(Ok(data)),
            (b'E', msg) => Ok(Err(String::from_utf8_lossy(&msg).into_owned())),
            (k, _) => Err(PoolError::Protocol {
                detail: format!("unexpected frame {k}"),
            }),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks that the interpreter starts and is the expected CPython; returns what it says.
pub fn hello(cmd: Command, minor: u32) -> Result<Hello, PoolError> {
    Worker::start(cmd, minor).map(|(_, h)| h)
}

/// Compiles with `workers` processes started by `make`. `produce` runs on this thread and hands
/// jobs to `send` (false: the pool has stopped); a bounded queue keeps memory flat while it reads
/// sources lazily. Each result goes to `sink` on a worker's thread as soon as it is ready.
pub fn run<J: Send, E>(
    make: &(dyn Fn() -> Command + Sync),
    minor: u32,
    workers: usize,
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
                let (mut w, h) = match Worker::start(make(), minor) {
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
                            let e = PoolError::Crashed {
                                path,
                                detail: e.to_string(),
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
