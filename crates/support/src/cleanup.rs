//! Temporaries that must not outlive the run that made them. Every temporary beside an output or in
//! the cache is named `<prefix><pid>-<random>` and registered while it exists; on SIGINT, SIGTERM or
//! SIGHUP the registered ones are removed and the process exits with 128 + the signal number. What
//! a `kill -9` leaves is removed by a later run (`remove_stale`): a temporary whose pid is not
//! running on this machine, or that is older than a day. This module knows nothing of images.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Temporaries of this process that exist right now.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// The write end of the pipe the signal handler wakes the cleanup thread with.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// Older than this, a temporary is stale whoever made it.
const STALE_AGE: Duration = Duration::from_secs(24 * 3600);

/// A registered temporary: removed on a signal while this value lives.
#[derive(Debug)]
pub struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = live.iter().rposition(|p| *p == self.0) {
            live.swap_remove(i);
        }
    }
}

/// Removes `path` (a file or a directory) if this process is interrupted before the value drops.
pub fn register(path: &Path) -> Registered {
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
    Registered(path.to_path_buf())
}

/// The start of a temporary's name: `<what><pid>-` (tempfile adds the random part).
pub fn prefix(what: &str) -> String {
    format!("{what}{}-", std::process::id())
}

fn remove(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            // Another thread may still be writing into it: try a few times.
            for _ in 0..3 {
                if fs::remove_dir_all(path).is_ok() || !path.exists() {
                    break;
                }
            }
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = WAKE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local byte.
        unsafe {
            libc::write(fd, (&b as *const u8).cast(), 1);
        }
    }
}

/// Installs the SIGINT/SIGTERM/SIGHUP handlers (once, at start-up).
pub fn on_signals() {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 fills the two-element array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    WAKE.store(fds[1], Ordering::Relaxed);
    let reader = fds[0];
    std::thread::spawn(move || {
        let mut b = 0u8;
        loop {
            // SAFETY: reads one byte into a live local.
            let n = unsafe { libc::read(reader, (&mut b as *mut u8).cast(), 1) };
            if n == 1 {
                break;
            }
            if n == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return;
            }
        }
        let live: Vec<PathBuf> = LIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for p in &live {
            remove(p);
        }
        let name = match i32::from(b) {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            _ => "SIGHUP",
        };
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "lamina: interrupted ({name}); removed {} temporar{}, nothing was written",
            live.len(),
            if live.len() == 1 { "y" } else { "ies" }
        );
        // SAFETY: ends the process without running destructors the other threads still use.
        unsafe { libc::_exit(128 + i32::from(b)) }
    });
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a plain handler and an empty mask is valid.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn running(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes the temporaries named `<what><pid>-…` in `dir` that earlier runs left: their process is
/// not running, or they are older than a day. Returns how many were removed.
pub fn remove_stale(dir: &Path, what: &str) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let own = std::process::id() as i32;
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(what)) else {
            continue;
        };
        let pid = rest
            .split_once('-')
            .and_then(|(p, _)| p.parse::<i32>().ok())
            .filter(|p| *p > 0);
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > STALE_AGE);
        let dead = pid.is_some_and(|p| p != own && !running(p));
        if dead || (old && pid != Some(own)) {
            remove(&e.path());
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_means_a_dead_pid_or_a_day_old() {
        let t = tempfile::tempdir().unwrap();
        let mine = t.path().join(prefix(".x.lamina-") + "aaa");
        let dead = t.path().join(".x.lamina-999999999-bbb");
        let other = t.path().join(".y.lamina-999999999-ccc");
        let old = t.path().join(".x.lamina-ddd");
        let young = t.path().join(".x.lamina-eee");
        for p in [&mine, &dead, &other, &old, &young] {
            fs::create_dir(p).unwrap();
        }
        let f = fs::File::open(&old).unwrap();
        f.set_modified(SystemTime::now() - 2 * STALE_AGE).unwrap();
        assert_eq!(remove_stale(t.path(), ".x.lamina-"), 2);
        assert!(mine.exists() && other.exists() && young.exists());
        assert!(!dead.exists() && !old.exists());
    }
}
