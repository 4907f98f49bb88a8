//! Progress on stderr: on a terminal, one live line (bytes moved so far) under the log lines; when
//! stderr is not a terminal (CI logs), plain lines only.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Progress {
    tty: bool,
    stop: Arc<AtomicBool>,
    lock: Arc<Mutex<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing `label` and the bytes counted in `counter` (terminal only).
    pub fn start(label: &'static str, counter: Arc<AtomicU64>) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let stop = Arc::new(AtomicBool::new(false));
        let lock = Arc::new(Mutex::new(()));
        let handle = tty.then(|| {
            let (stop, lock) = (stop.clone(), lock.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    {
                        let _g = lock.lock().expect("lock");
                        let n = counter.load(Ordering::Relaxed);
                        eprint!("\r\x1b[2Klamina: {label} {}", lamina_core::human::human(n));
                        let _ = std::io::stderr().flush();
                    }
                    std::thread::sleep(Duration::from_millis(150));
                }
            })
        });
        Progress {
            tty,
            stop,
            lock,
            handle,
        }
    }

    /// A log line, printed above the live line.
    pub fn line(&self, msg: &str) {
        let _g = self.lock.lock().expect("lock");
        if self.tty {
            eprintln!("\r\x1b[2Klamina: {msg}");
        } else {
            eprintln!("lamina: {msg}");
        }
    }

    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
            eprint!("\r\x1b[2K");
        }
    }
}
