//! The filesystem syscalls std does not offer: statfs(2), mount(2),
//! renameat2(2), getdents64(2) and poll(2). nix wraps statfs, mount and
//! poll; renameat2 (nix has it for glibc only, not musl) and getdents64
//! (nix reads directories only through a `DIR *` that owns a second fd)
//! are called by number. Each goes through the seam and names its path.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::error::{Error, Result};
use crate::seam;

pub(crate) fn c_path(op: &'static str, path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::new(op, libc::EINVAL).with_subject(path.display().to_string()))
}

/// An [`Error`] for `op` from what nix returned.
pub(crate) fn nix_error(op: &'static str, errno: nix::Error) -> Error {
    Error::new(op, errno as i32)
}

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

/// The filesystem magic (`f_type` of statfs(2)) of the filesystem holding
/// `path`; the magics rxdp checks fit in 32 bits.
pub(crate) fn fs_magic(path: &Path) -> Result<u32> {
    #[cfg(feature = "fake-kernel")]
    if let Some(magic) = crate::fake::fs_magic(path) {
        return Ok(magic);
    }
    let op = "statfs";
    seam::enter(op, || {
        nix::sys::statfs::statfs(path)
            .map(|fs| fs.filesystem_type().0 as u32)
            .map_err(|errno| nix_error(op, errno).with_subject(path.display().to_string()))
    })
}

/// The filesystem magic of the filesystem holding the open file `fd`
/// (fstatfs(2)); `path` names it in errors.
pub(crate) fn fd_fs_magic(fd: BorrowedFd<'_>, path: &Path) -> Result<u32> {
    #[cfg(feature = "fake-kernel")]
    if let Some(magic) = crate::fake::fs_magic(path) {
        return Ok(magic);
    }
    let op = "fstatfs";
    seam::enter(op, || {
        nix::sys::statfs::fstatfs(fd)
            .map(|fs| fs.filesystem_type().0 as u32)
            .map_err(|errno| nix_error(op, errno).with_subject(path.display().to_string()))
    })
}

/// mount(2) of a pseudo filesystem (`bpf`, `tracefs`) at `target`.
pub(crate) fn mount(op: &'static str, fs_type: &str, target: &Path, data: &str) -> Result<()> {
    seam::enter(op, || {
        nix::mount::mount(
            Some(fs_type),
            target,
            Some(fs_type),
            nix::mount::MsFlags::empty(),
            Some(data),
        )
        .map_err(|errno| nix_error(op, errno).with_subject(target.display().to_string()))
    })
}

/// `RENAME_EXCHANGE`: swap two existing paths atomically.
pub(crate) const RENAME_EXCHANGE: libc::c_uint = 1 << 1;
/// `RENAME_NOREPLACE`: fail with EEXIST rather than replace the target.
pub(crate) const RENAME_NOREPLACE: libc::c_uint = 1 << 0;

/// renameat2(2) of `from` (relative to `from_dir`, or to the working
/// directory for `AT_FDCWD`) to `to` (relative to `to_dir`), called by
/// number so static musl builds have it too. `subject` names both sides in
/// errors.
pub(crate) fn renameat2(
    from_dir: RawFd,
    from: &CStr,
    to_dir: RawFd,
    to: &CStr,
    flags: libc::c_uint,
    subject: impl FnOnce() -> String,
) -> Result<()> {
    let op = "renameat2";
    seam::enter(op, || {
        // SAFETY: both names are NUL-terminated strings that outlive the
        // call; the directory fds are open (or AT_FDCWD) for its duration.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                from_dir,
                from.as_ptr(),
                to_dir,
                to.as_ptr(),
                flags,
            )
        };
        if rc != 0 {
            return Err(Error::last(op).with_subject(subject()));
        }
        Ok(())
    })
}

/// The type of a directory entry (`d_type` of getdents64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EntryType {
    /// A directory.
    Directory,
    /// A regular file: on bpffs, a pinned map, program or link.
    File,
    /// A symbolic link.
    Symlink,
    /// Anything else, or a filesystem that does not fill `d_type`.
    Other,
}

/// Every entry of the directory open as `fd` but `.` and `..`, read with
/// getdents64(2) on that fd itself: no second fd is opened, so a process
/// out of fds can still list (and remove) what it made.
pub(crate) fn read_dir_fd(
    fd: BorrowedFd<'_>,
    path: &Path,
) -> Result<Vec<(std::ffi::OsString, EntryType)>> {
    let op = "getdents64";
    let named = |error: Error| error.with_subject(path.display().to_string());
    seam::enter(op, || {
        nix::unistd::lseek(fd, 0, nix::unistd::Whence::SeekSet)
            .map_err(|errno| named(nix_error(op, errno)))?;
        let mut entries = Vec::new();
        let mut buffer = vec![0u8; 8192];
        loop {
            // SAFETY: `buffer` is writable for its whole length, which is
            // what the kernel is told; `fd` is an open directory.
            let read = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    fd.as_raw_fd(),
                    buffer.as_mut_ptr(),
                    buffer.len(),
                )
            };
            if read < 0 {
                return Err(named(Error::last(op)));
            }
            if read == 0 {
                return Ok(entries);
            }
            parse_dirents(&buffer[..read as usize], &mut entries);
        }
    })
}

/// `struct linux_dirent64` records: u64 ino, i64 off, u16 reclen, u8 type,
/// then the NUL-terminated name.
fn parse_dirents(mut bytes: &[u8], out: &mut Vec<(std::ffi::OsString, EntryType)>) {
    const NAME: usize = 19;
    while bytes.len() > NAME {
        let reclen = usize::from(u16::from_ne_bytes([bytes[16], bytes[17]]));
        if reclen <= NAME || reclen > bytes.len() {
            return;
        }
        let record = &bytes[..reclen];
        let name = &record[NAME..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        let kind = match record[18] {
            libc::DT_DIR => EntryType::Directory,
            libc::DT_REG => EntryType::File,
            libc::DT_LNK => EntryType::Symlink,
            _ => EntryType::Other,
        };
        if name != b"." && name != b".." {
            out.push((std::ffi::OsStr::from_bytes(name).to_os_string(), kind));
        }
        bytes = &bytes[reclen..];
    }
}

/// poll(2) for input on `fd`: true when readable, false when `timeout`
/// passed (or a signal interrupted the wait) first.
pub(crate) fn poll_readable(
    op: &'static str,
    fd: BorrowedFd<'_>,
    timeout: Duration,
    path: &Path,
) -> Result<bool> {
    let millis = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    let timeout = PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    seam::enter(op, || match nix::poll::poll(&mut fds, timeout) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(fds[0].revents().is_some_and(|events| {
            events.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
        })),
        Err(nix::Error::EINTR) => Ok(false),
        Err(errno) => Err(nix_error(op, errno).with_subject(path.display().to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ino: u64, kind: u8, name: &[u8]) -> Vec<u8> {
        let mut out = ino.to_ne_bytes().to_vec();
        out.extend(0i64.to_ne_bytes());
        let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
        out.extend((reclen as u16).to_ne_bytes());
        out.push(kind);
        out.extend(name);
        out.resize(reclen, 0);
        out
    }

    #[test]
    fn dirents_are_read_without_dot_entries() {
        let mut bytes = record(1, libc::DT_DIR, b".");
        bytes.extend(record(1, libc::DT_DIR, b".."));
        bytes.extend(record(5, libc::DT_REG, b"jmp_table1"));
        bytes.extend(record(6, libc::DT_LNK, b"rxdp:record"));
        bytes.extend(record(7, libc::DT_DIR, b"skb"));
        let mut out = Vec::new();
        parse_dirents(&bytes, &mut out);
        let names: Vec<(&str, EntryType)> = out
            .iter()
            .map(|(name, kind)| (name.to_str().unwrap(), *kind))
            .collect();
        assert_eq!(
            names,
            [
                ("jmp_table1", EntryType::File),
                ("rxdp:record", EntryType::Symlink),
                ("skb", EntryType::Directory)
            ]
        );
        // A record cut short ends the parse instead of reading past it.
        let mut short = Vec::new();
        parse_dirents(&bytes[..bytes.len() - 3], &mut short);
        assert_eq!(short.len(), 2);
    }
}
