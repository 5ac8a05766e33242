//! Exclusive locks between rxdp processes, one per thing they take turns
//! on (a device), waited for with a timeout.
//!
//! A lock is a `flock(2)` on a file in `/run/rxdp/`, a directory of root's
//! (or of the user running rxdp) with mode 0700. Nobody else can open the
//! files in it, so nobody else can hold a lock to block root: a lock on
//! something world-readable (a directory of a bpffs mounted 1777) could be
//! taken by any user and held for ever. The lock goes with the open file:
//! a process that dies releases it. The files stay (a few bytes each, in
//! a tmpfs): removing a lock file while another process waits on it would
//! let a third lock a new file of the same name.
//!
//! Waiting polls `LOCK_NB` every few milliseconds until the timeout, so
//! that a signal that asks the load to stop ([`crate::signal`]) ends the
//! wait too; a lock not obtained in time names its holder (its pid from
//! `/proc/locks`, and its command line when readable).

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;

use super::dir::{euid, Dir};
use super::procfs::{command_line, flock_holder};
use super::sys::nix_error;
use crate::error::Error;
use crate::seam;
use crate::signal;

/// Where the lock files are.
pub const LOCK_DIR: &str = "/run/rxdp";

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    _file: Flock<OwnedFd>,
    path: PathBuf,
}

impl Lock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The process holding a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its pid.
    pub pid: u32,
    /// Its command line, when `/proc` lets this process read it.
    pub command: Option<String>,
}

/// Why a lock was not obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// A syscall on the lock directory or file failed.
    #[error("{0}")]
    Sys(Error),
    /// The lock directory or file is not private to root (or this user):
    /// another user could hold the locks in it.
    #[error("{} {what}: another user could hold rxdp's locks there; remove it (rxdp makes it again, mode 0700)", path.display())]
    NotPrivate {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong with it (`has mode 0755`, `is owned by uid 65534`).
        what: String,
    },
    /// Another process held the lock for longer than the timeout.
    #[error("{} is held by {}; waited {} ms", path.display(), holder_text(holder), u64::try_from(waited.as_millis()).unwrap_or(u64::MAX))]
    TimedOut {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
        /// Who holds it, when `/proc/locks` says.
        holder: Option<Holder>,
    },
    /// A signal asked the process to stop while it waited.
    #[error("interrupted by {} while waiting for {}", signal::signal_name(*signal), path.display())]
    Interrupted {
        /// The lock file.
        path: PathBuf,
        /// The signal (`SIGINT`, `SIGTERM`).
        signal: i32,
    },
}

fn holder_text(holder: &Option<Holder>) -> String {
    match holder {
        Some(Holder {
            pid,
            command: Some(command),
        }) => format!("process {pid} ({command})"),
        Some(Holder { pid, command: None }) => format!("process {pid}"),
        None => "another process (which one, /proc/locks does not say)".to_string(),
    }
}

/// `/run/rxdp`, made if missing, checked to be a directory (not a symlink)
/// of root or this user with no access for anyone else. `/run` is root's:
/// the path up to it is trusted.
fn lock_dir() -> Result<Dir, LockError> {
    #[cfg(feature = "fake-kernel")]
    let fake = crate::fake::lock_dir();
    #[cfg(feature = "fake-kernel")]
    let path = fake.as_deref().unwrap_or(Path::new(LOCK_DIR));
    #[cfg(not(feature = "fake-kernel"))]
    let path = Path::new(LOCK_DIR);
    let not_private = |what: String| LockError::NotPrivate {
        path: path.to_path_buf(),
        what,
    };
    let dir = match Dir::open_no_follow(path) {
        Ok(dir) => dir,
        Err(error) if error.errno == libc::ENOENT => {
            let parent = path.parent().unwrap_or(Path::new("/"));
            let name = path.file_name().unwrap_or(OsStr::new("rxdp"));
            match Dir::open(parent).and_then(|run| run.make_dir(name, 0o700)) {
                Err(error) if error.errno != libc::EEXIST => return Err(LockError::Sys(error)),
                _ => {}
            }
            Dir::open_no_follow(path).map_err(LockError::Sys)?
        }
        Err(error) if matches!(error.errno, libc::ELOOP | libc::ENOTDIR) => {
            return Err(not_private("is not a directory (a symlink?)".into()))
        }
        Err(error) => return Err(LockError::Sys(error)),
    };
    let stat = dir.stat().map_err(LockError::Sys)?;
    if stat.uid != 0 && stat.uid != euid() {
        return Err(not_private(format!("is owned by uid {}", stat.uid)));
    }
    if stat.mode & 0o077 != 0 {
        return Err(not_private(format!("has mode {:04o}", stat.mode)));
    }
    Ok(dir)
}

/// Checks `key` names one file in the lock directory.
fn check_key(key: &str) -> Result<(), LockError> {
    if key.is_empty() || key == "." || key == ".." || key.contains(['/', '\0']) {
        return Err(LockError::Sys(
            Error::new("lock", libc::EINVAL).with_subject(format!("lock name {key:?}")),
        ));
    }
    Ok(())
}

/// Opens (creating it, mode 0600) the lock file `key` and checks it is a
/// regular file of root or this user.
fn open_lock_file(dir: &Dir, key: &str) -> Result<(OwnedFd, PathBuf), LockError> {
    let path = dir.join(key);
    let op = "openat";
    let fd = seam::enter(op, || {
        nix::fcntl::openat(
            dir,
            key,
            OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|errno| nix_error(op, errno).with_subject(path.display().to_string()))
    })
    .map_err(LockError::Sys)?;
    let stat =
        nix::sys::stat::fstat(&fd).map_err(|errno| LockError::Sys(nix_error("fstat", errno)))?;
    let kind_ok = stat.st_mode & libc::S_IFMT == libc::S_IFREG;
    if !kind_ok || (stat.st_uid != 0 && stat.st_uid != euid()) {
        return Err(LockError::NotPrivate {
            path,
            what: format!("is not a regular file of root's (uid {})", stat.st_uid),
        });
    }
    Ok((fd, path))
}

/// One attempt: the lock, or the file back when someone else holds it.
fn try_once(fd: OwnedFd, path: &Path) -> Result<Result<Flock<OwnedFd>, OwnedFd>, LockError> {
    let op = "flock";
    seam::enter(op, || {
        match Flock::lock(fd, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Ok(lock)),
            Err((fd, nix::Error::EWOULDBLOCK)) => Ok(Err(fd)),
            Err((_, errno)) => Err(nix_error(op, errno).with_subject(path.display().to_string())),
        }
    })
    .map_err(LockError::Sys)
}

/// Who holds the lock on the open file `fd`.
fn holder_of(fd: &OwnedFd) -> Option<Holder> {
    let stat = nix::sys::stat::fstat(fd).ok()?;
    let pid = flock_holder(stat.st_dev, stat.st_ino)?;
    Some(Holder {
        pid,
        command: command_line(pid),
    })
}

/// Takes the lock `key`, waiting up to `timeout` while another process (or
/// another thread of this one) holds it, and stopping early when a signal
/// asks the process to stop ([`signal::interrupted`]).
pub fn lock(key: &str, timeout: Duration) -> Result<Lock, LockError> {
    check_key(key)?;
    let dir = lock_dir()?;
    let (mut fd, path) = open_lock_file(&dir, key)?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        fd = match try_once(fd, &path)? {
            Ok(lock) => return Ok(Lock { _file: lock, path }),
            Err(fd) => fd,
        };
        if let Some(signal) = signal::interrupted() {
            return Err(LockError::Interrupted { path, signal });
        }
        let waited = start.elapsed();
        if waited >= timeout {
            let holder = holder_of(&fd);
            return Err(LockError::TimedOut {
                path,
                waited,
                holder,
            });
        }
        std::thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Takes the lock `key` if nobody holds it; `None` when someone does.
pub fn try_lock(key: &str) -> Result<Option<Lock>, LockError> {
    check_key(key)?;
    let dir = lock_dir()?;
    let (fd, path) = open_lock_file(&dir, key)?;
    Ok(try_once(fd, &path)?
        .ok()
        .map(|lock| Lock { _file: lock, path }))
}
