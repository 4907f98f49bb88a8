//! Running the base's interpreter isolated from the build machine, as bubblewrap does, where Linux
//! allows it: new user, mount, network, IPC and UTS namespaces; the unpacked base (and nothing
//! else) as the root, read-only; a private tmpfs on `/tmp`; no network but an unconfigured
//! loopback. The interpreter then runs by its in-image paths. This module only prepares and
//! applies the isolation in the child between fork and exec; whether a build uses it (and what the
//! report says when it cannot) is `mod`'s.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Everything the child needs, made before the fork (nothing is allocated after it).
pub struct Sandbox {
    root: CString,
    tmp: Option<CString>,
    uid_map: CString,
    gid_map: CString,
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other)
}

impl Sandbox {
    /// The isolation for an interpreter unpacked at `root` (gives it a `/tmp` to mount on).
    pub fn for_root(root: &Path) -> io::Result<Sandbox> {
        let tmp = root.join("tmp");
        let tmp = match std::fs::symlink_metadata(&tmp) {
            Ok(m) if m.is_dir() => Some(cstr(&tmp)?),
            Ok(_) => None,
            Err(_) => std::fs::create_dir(&tmp)
                .ok()
                .map(|_| cstr(&tmp))
                .transpose()?,
        };
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(Sandbox {
            root: cstr(root)?,
            tmp,
            uid_map: CString::new(format!("0 {uid} 1")).expect("no NUL"),
            gid_map: CString::new(format!("0 {gid} 1")).expect("no NUL"),
        })
    }

    /// Applies it to the calling process: only between fork and exec (async-signal-safe calls).
    pub fn apply(&self) -> io::Result<()> {
        let check = |r: libc::c_int| {
            if r != 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        let flags = libc::CLONE_NEWUSER
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS;
        // SAFETY: plain syscalls on NUL-terminated strings made before the fork.
        unsafe {
            check(libc::unshare(flags))?;
            write_file(c"/proc/self/setgroups", c"deny")?;
            write_file(c"/proc/self/uid_map", &self.uid_map)?;
            write_file(c"/proc/self/gid_map", &self.gid_map)?;
            let none = std::ptr::null();
            check(libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                none as _,
            ))?;
            let root = self.root.as_ptr();
            check(libc::mount(
                root,
                root,
                none,
                libc::MS_BIND | libc::MS_REC,
                none as _,
            ))?;
            check(libc::mount(
                none,
                root,
                none,
                libc::MS_BIND
                    | libc::MS_REMOUNT
                    | libc::MS_RDONLY
                    | libc::MS_NOSUID
                    | libc::MS_NODEV,
                none as _,
            ))?;
            if let Some(tmp) = &self.tmp {
                check(libc::mount(
                    c"tmpfs".as_ptr(),
                    tmp.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    c"size=64m,mode=1777".as_ptr() as _,
                ))?;
            }
            check(libc::chroot(root))?;
            check(libc::chdir(c"/".as_ptr()))?;
        }
        Ok(())
    }
}

/// Writes `data` to `path` (open, write, close).
unsafe fn write_file(path: &std::ffi::CStr, data: &std::ffi::CStr) -> io::Result<()> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let bytes = data.to_bytes();
    let n = libc::write(fd, bytes.as_ptr() as *const libc::c_void, bytes.len());
    let err = io::Error::last_os_error();
    libc::close(fd);
    if n != bytes.len() as isize {
        return Err(err);
    }
    Ok(())
}
