//! A directory held open, and everything done inside it relative to its
//! fd: `openat`, `mkdirat`, `fstatat`, `unlinkat`, `readlinkat`,
//! `symlinkat`, `renameat2`, and pins through `/proc/self/fd/N/NAME`.
//!
//! A path is looked up again each time it is used: between two uses
//! another user may swap one of its directories for a symlink (on a bpffs
//! mounted world-writable, as some systems mount `/sys/fs/bpf`, anyone may
//! create names at its top). A [`Dir`] is the directory itself: once
//! opened (with `O_NOFOLLOW` for every step below a trusted start), what
//! happens in it happens there, whatever is renamed meanwhile.
//!
//! This module is the mechanism; what to trust (the owner, the type, rxdp's
//! marker) is the caller's policy, read from [`Stat`].

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::UnlinkatFlags;

use super::sys::{self, nix_error, EntryType, RENAME_EXCHANGE, RENAME_NOREPLACE};
use crate::bpf::{obj_get, obj_pin};
use crate::error::{Error, Result};
use crate::seam;

/// What `fstat`/`fstatat` say about a file, as far as rxdp's checks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Directory, file, symlink or other.
    pub kind: EntryType,
    /// The owner.
    pub uid: u32,
    /// The permission bits and the sticky bit (`0o1777` at most).
    pub mode: u32,
    /// The device of the filesystem it is on.
    pub dev: u64,
    /// Its inode number on that device.
    pub ino: u64,
}

impl Stat {
    fn from(stat: &FileStat) -> Stat {
        let format = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits());
        let kind = if format == SFlag::S_IFDIR {
            EntryType::Directory
        } else if format == SFlag::S_IFREG {
            EntryType::File
        } else if format == SFlag::S_IFLNK {
            EntryType::Symlink
        } else {
            EntryType::Other
        };
        Stat {
            kind,
            uid: stat.st_uid,
            mode: stat.st_mode & 0o7777,
            dev: stat.st_dev,
            ino: stat.st_ino,
        }
    }

    /// Whether users other than the owner may create or remove entries
    /// (group or other write permission).
    pub fn writable_by_others(&self) -> bool {
        self.mode & 0o022 != 0
    }

    /// The sticky bit: others may create entries but not remove or rename
    /// those they do not own.
    pub fn sticky(&self) -> bool {
        self.mode & 0o1000 != 0
    }
}

/// The effective uid of this process.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// An open directory (`O_DIRECTORY`, close-on-exec) and the path it was
/// reached by, for messages.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn c_name(op: &'static str, name: &OsStr, path: &Path) -> Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| Error::new(op, libc::EINVAL).with_subject(path.display().to_string()))
}

impl Dir {
    /// Opens the directory `path`, following symlinks: for places the
    /// system defines (the bpffs mount point, `/run`) and paths a user
    /// names on the command line up to where rxdp starts checking.
    pub fn open(path: &Path) -> Result<Dir> {
        let op = "open";
        seam::enter(op, || {
            nix::fcntl::open(
                path,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map(|fd| Dir {
                fd,
                path: path.to_path_buf(),
            })
            .map_err(|errno| nix_error(op, errno).with_subject(path.display().to_string()))
        })
    }

    /// Opens the directory `path`, its last name not followed if it is a
    /// symlink (ELOOP or ENOTDIR then); the names before it are.
    pub fn open_no_follow(path: &Path) -> Result<Dir> {
        let op = "open";
        seam::enter(op, || {
            nix::fcntl::open(
                path,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map(|fd| Dir {
                fd,
                path: path.to_path_buf(),
            })
            .map_err(|errno| nix_error(op, errno).with_subject(path.display().to_string()))
        })
    }

    /// Takes an exclusive `flock(2)` on this directory, waiting for it; it
    /// is released when the directory closes. libxdp serialises changes to
    /// its dispatchers' pins this way, on its bpffs directory (`xdp/`).
    pub fn lock_exclusive(&self) -> Result<()> {
        let op = "flock";
        seam::enter(op, || loop {
            // SAFETY: flock(2) on an fd this struct owns; no pointers.
            let ret = unsafe { libc::flock(self.fd.as_raw_fd(), libc::LOCK_EX) };
            if ret == 0 {
                return Ok(());
            }
            let error = Error::last(op);
            if error.errno != libc::EINTR {
                return Err(error.with_subject(self.path.display().to_string()));
            }
        })
    }

    /// [`Dir::lock_exclusive`] without waiting: `false` when another
    /// holds the lock.
    pub fn try_lock_exclusive(&self) -> Result<bool> {
        let op = "flock";
        seam::enter(op, || loop {
            // SAFETY: flock(2) on an fd this struct owns; no pointers.
            let ret = unsafe { libc::flock(self.fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if ret == 0 {
                return Ok(true);
            }
            let error = Error::last(op);
            match error.errno {
                libc::EWOULDBLOCK => return Ok(false),
                libc::EINTR => {}
                _ => return Err(error.with_subject(self.path.display().to_string())),
            }
        })
    }

    /// The path this directory was reached by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path()/name`, for messages.
    pub fn join(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.path.join(name.as_ref())
    }

    fn named(&self, name: &OsStr) -> impl Fn(nix::Error, &'static str) -> Error + '_ {
        let subject = self.join(name).display().to_string();
        move |errno, op| nix_error(op, errno).with_subject(subject.clone())
    }

    /// The subdirectory `name`, not following a symlink: ELOOP or ENOTDIR
    /// when `name` is a symlink or not a directory.
    pub fn open_dir(&self, name: impl AsRef<OsStr>) -> Result<Dir> {
        let name = name.as_ref();
        let op = "openat";
        let named = self.named(name);
        seam::enter(op, || {
            nix::fcntl::openat(
                &self.fd,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map(|fd| Dir {
                fd,
                path: self.join(name),
            })
            .map_err(|errno| named(errno, op))
        })
    }

    /// Creates the subdirectory `name` with `mode` (EEXIST if the name is
    /// taken, whatever it is).
    pub fn make_dir(&self, name: impl AsRef<OsStr>, mode: u32) -> Result<()> {
        let name = name.as_ref();
        let op = "mkdirat";
        let named = self.named(name);
        seam::enter(op, || {
            nix::sys::stat::mkdirat(&self.fd, name, Mode::from_bits_truncate(mode))
                .map_err(|errno| named(errno, op))
        })
    }

    /// `fstat` of the directory itself.
    pub fn stat(&self) -> Result<Stat> {
        let op = "fstat";
        seam::enter(op, || {
            nix::sys::stat::fstat(&self.fd)
                .map(|stat| Stat::from(&stat))
                .map_err(|errno| nix_error(op, errno).with_subject(self.path.display().to_string()))
        })
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)` of `name`: what the name itself is;
    /// `None` when there is no such entry.
    pub fn stat_at(&self, name: impl AsRef<OsStr>) -> Result<Option<Stat>> {
        let name = name.as_ref();
        let op = "fstatat";
        let named = self.named(name);
        seam::enter(op, || {
            match nix::sys::stat::fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(stat) => Ok(Some(Stat::from(&stat))),
                Err(nix::Error::ENOENT) => Ok(None),
                Err(errno) => Err(named(errno, op)),
            }
        })
    }

    /// The filesystem magic of the filesystem this directory is on.
    pub fn fs_magic(&self) -> Result<u32> {
        sys::fd_fs_magic(self.fd.as_fd(), &self.path)
    }

    /// The entries but `.` and `..`, sorted by name, read on this fd (no
    /// other fd is opened).
    pub fn entries(&self) -> Result<Vec<(OsString, EntryType)>> {
        let mut entries = sys::read_dir_fd(self.fd.as_fd(), &self.path)?;
        entries.sort();
        Ok(entries)
    }

    /// The target of the symlink `name`; `None` when there is no such
    /// entry; EINVAL when it is not a symlink.
    pub fn read_link(&self, name: impl AsRef<OsStr>) -> Result<Option<OsString>> {
        let name = name.as_ref();
        let op = "readlinkat";
        let named = self.named(name);
        seam::enter(op, || match nix::fcntl::readlinkat(&self.fd, name) {
            Ok(target) => Ok(Some(target)),
            Err(nix::Error::ENOENT) => Ok(None),
            Err(errno) => Err(named(errno, op)),
        })
    }

    /// Creates the symlink `name` pointing at `target` (any text).
    pub fn symlink(&self, target: impl AsRef<OsStr>, name: impl AsRef<OsStr>) -> Result<()> {
        let name = name.as_ref();
        let op = "symlinkat";
        let named = self.named(name);
        seam::enter(op, || {
            nix::unistd::symlinkat(target.as_ref(), &self.fd, name)
                .map_err(|errno| named(errno, op))
        })
    }

    /// Removes the entry `name` that is not a directory (a pin, a symlink).
    pub fn unlink(&self, name: impl AsRef<OsStr>) -> Result<()> {
        let name = name.as_ref();
        let op = "unlinkat";
        let named = self.named(name);
        seam::enter(op, || {
            nix::unistd::unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir)
                .map_err(|errno| named(errno, op))
        })
    }

    /// Removes the empty subdirectory `name` (ENOTEMPTY otherwise).
    pub fn remove_dir(&self, name: impl AsRef<OsStr>) -> Result<()> {
        let name = name.as_ref();
        let op = "rmdir";
        let named = self.named(name);
        seam::enter(op, || {
            nix::unistd::unlinkat(&self.fd, name, UnlinkatFlags::RemoveDir)
                .map_err(|errno| named(errno, op))
        })
    }

    fn rename_to(&self, from: &OsStr, to_dir: &Dir, to: &OsStr, flags: libc::c_uint) -> Result<()> {
        let op = "renameat2";
        let from_c = c_name(op, from, &self.join(from))?;
        let to_c = c_name(op, to, &to_dir.join(to))?;
        sys::renameat2(
            self.fd.as_raw_fd(),
            &from_c,
            to_dir.fd.as_raw_fd(),
            &to_c,
            flags,
            || {
                format!(
                    "{} -> {}",
                    self.join(from).display(),
                    to_dir.join(to).display()
                )
            },
        )
    }

    /// Renames `from` to `to` in `to_dir`, failing with EEXIST when `to`
    /// exists (`RENAME_NOREPLACE`): nothing is ever replaced unseen.
    pub fn rename_new(
        &self,
        from: impl AsRef<OsStr>,
        to_dir: &Dir,
        to: impl AsRef<OsStr>,
    ) -> Result<()> {
        self.rename_to(from.as_ref(), to_dir, to.as_ref(), RENAME_NOREPLACE)
    }

    /// Swaps `a` (here) and `b` (in `b_dir`) atomically
    /// (`RENAME_EXCHANGE`): readers see one or the other, never neither.
    pub fn exchange(&self, a: impl AsRef<OsStr>, b_dir: &Dir, b: impl AsRef<OsStr>) -> Result<()> {
        self.rename_to(a.as_ref(), b_dir, b.as_ref(), RENAME_EXCHANGE)
    }

    /// The path the kernel resolves to `name` in this very directory,
    /// whatever has been renamed since it was opened: `/proc/self/fd/N/NAME`.
    /// For the syscalls that take a path only (`BPF_OBJ_PIN`, `BPF_OBJ_GET`).
    fn fd_path(&self, name: &OsStr) -> PathBuf {
        Path::new("/proc/self/fd")
            .join(self.fd.as_raw_fd().to_string())
            .join(name)
    }

    /// Pins `fd` as `name` here (`BPF_OBJ_PIN`); EEXIST when the name is taken.
    pub fn pin(&self, fd: BorrowedFd<'_>, name: impl AsRef<OsStr>) -> Result<()> {
        let name = name.as_ref();
        obj_pin(fd, &self.fd_path(name))
            .map_err(|error| error.with_subject(self.join(name).display().to_string()))
    }

    /// Opens the object pinned as `name` here (`BPF_OBJ_GET`). The kernel
    /// follows a symlink there: check the name with [`Dir::stat_at`] first.
    pub fn get(&self, name: impl AsRef<OsStr>) -> Result<OwnedFd> {
        let name = name.as_ref();
        obj_get(&self.fd_path(name))
            .map_err(|error| error.with_subject(self.join(name).display().to_string()))
    }
}
