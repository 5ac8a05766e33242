//! The filesystem syscalls std does not offer: statfs(2), mount(2),
//! renameat2(2), flock(2) and poll(2). Each goes through the seam and names
//! its path.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::seam;

fn c_path(op: &'static str, path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::new(op, libc::EINVAL).with_subject(path.display().to_string()))
}

/// The filesystem magic (`f_type` of statfs(2)) of the filesystem holding
/// `path`; the magics rxdp checks fit in 32 bits.
/// Whether `path` is on a filesystem with this magic: `false` when it is
/// on another or does not exist; other failures are errors (a probe that
/// swallowed them would hide what went wrong behind a fallback).
pub(crate) fn has_fs_magic(path: &Path, magic: u32) -> Result<bool> {
    match fs_magic(path) {
        Ok(found) => Ok(found == magic),
        Err(error) if error.errno == libc::ENOENT => Ok(false),
        Err(error) => Err(error),
    }
}

pub(crate) fn fs_magic(path: &Path) -> Result<u32> {
    let op = "statfs";
    let name = c_path(op, path)?;
    seam::enter(op, || {
        // SAFETY: all-zero bytes are a valid `struct statfs` (integers only).
        let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `name` is NUL-terminated and `stat` is writable and live.
        if unsafe { libc::statfs(name.as_ptr(), &mut stat) } != 0 {
            return Err(Error::last(op).with_subject(path.display().to_string()));
        }
        Ok(stat.f_type as u32)
    })
}

/// mount(2) of a pseudo filesystem (`bpf`, `tracefs`) at `target`.
pub(crate) fn mount(op: &'static str, fs_type: &str, target: &Path, data: &str) -> Result<()> {
    let named = |error: Error| error.with_subject(target.display().to_string());
    let invalid = || named(Error::new(op, libc::EINVAL));
    let target_c = c_path(op, target)?;
    let fs_type = CString::new(fs_type).map_err(|_| invalid())?;
    let data = CString::new(data).map_err(|_| invalid())?;
    seam::enter(op, || {
        // SAFETY: source, target, type and data are NUL-terminated strings
        // that outlive the call; the kernel only reads them.
        let rc = unsafe {
            libc::mount(
                fs_type.as_ptr(),
                target_c.as_ptr(),
                fs_type.as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            return Err(named(Error::last(op)));
        }
        Ok(())
    })
}

/// `RENAME_EXCHANGE`: swap two existing paths atomically.
pub(crate) const RENAME_EXCHANGE: libc::c_uint = 1 << 1;

/// renameat2(2), called by number so static musl builds have it too.
pub(crate) fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> Result<()> {
    let op = "renameat2";
    let from_c = c_path(op, from)?;
    let to_c = c_path(op, to)?;
    seam::enter(op, || {
        // SAFETY: both paths are NUL-terminated strings that outlive the
        // call; AT_FDCWD makes them relative to the working directory.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                from_c.as_ptr(),
                libc::AT_FDCWD,
                to_c.as_ptr(),
                flags,
            )
        };
        if rc != 0 {
            return Err(Error::last(op).with_subject(format!(
                "{} -> {}",
                from.display(),
                to.display()
            )));
        }
        Ok(())
    })
}

/// flock(2) `LOCK_EX` on `fd`, waiting while another open file holds it;
/// a signal interrupting the wait retries it.
pub(crate) fn flock_exclusive(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let op = "flock";
    seam::enter(op, || loop {
        // SAFETY: `fd` is an open descriptor borrowed for the call; flock
        // touches no memory of this process.
        if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let error = Error::last(op);
        if error.errno != libc::EINTR {
            return Err(error.with_subject(path.display().to_string()));
        }
    })
}

/// poll(2) for input on `fd`: true when readable, false when `timeout`
/// passed (or a signal interrupted the wait) first.
pub(crate) fn poll_readable(
    op: &'static str,
    fd: BorrowedFd<'_>,
    timeout: Duration,
    path: &Path,
) -> Result<bool> {
    let millis = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    seam::enter(op, || {
        // SAFETY: `pollfd` is one valid, writable `struct pollfd` and the
        // count passed is 1.
        let ready = unsafe { libc::poll(&mut pollfd, 1, millis) };
        if ready < 0 {
            let error = Error::last(op);
            if error.errno == libc::EINTR {
                return Ok(false);
            }
            return Err(error.with_subject(path.display().to_string()));
        }
        Ok(ready > 0 && pollfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
    })
}
