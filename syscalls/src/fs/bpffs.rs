//! bpffs, the filesystem of pins: a pinned map or program lives on while its
//! path exists, after every fd is closed.
//!
//! bpffs refuses names that contain a dot (EPERM; dots are kept for the
//! kernel's own use), so pin names and directories must do without.
//!
//! rxdp pins under `/sys/fs/bpf/<ifname>/`. To replace a set of pins at
//! once, the loader pins into a fresh directory and swaps it with the old
//! one by [`rename_exchange`]: readers see the old set or the new, never a
//! mix.

use std::fs::{DirBuilder, File};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::io;
use super::mountinfo::{choose, mount_points};
use super::sys::{flock_exclusive, fs_magic, has_fs_magic, mount, renameat2, RENAME_EXCHANGE};
use crate::bpf::{obj_get, obj_pin};
use crate::error::{Error, Result};

/// `BPF_FS_MAGIC`: statfs(2)'s `f_type` on a bpffs.
pub const BPF_FS_MAGIC: u32 = 0xcafe_4a11;
/// Where bpffs is mounted by convention (systemd, iproute2, bpftool).
pub const DEFAULT_MOUNT: &str = "/sys/fs/bpf";

/// Where bpffs is mounted in this mount namespace: `/sys/fs/bpf` if it is
/// there, else the first bpffs mounted; `None` when there is none.
///
/// The usual case costs one statfs(2): when `/sys/fs/bpf` is on a bpffs it
/// is the answer, and `/proc/self/mountinfo` (which the kernel writes out
/// line by line for every mount) is only read when it is not.
pub fn find_mount() -> Result<Option<PathBuf>> {
    let default = Path::new(DEFAULT_MOUNT);
    if has_fs_magic(default, BPF_FS_MAGIC)? {
        return Ok(Some(default.to_path_buf()));
    }
    Ok(choose(&mount_points("bpf")?, &[DEFAULT_MOUNT]))
}

/// The bpffs mount, mounting one at `/sys/fs/bpf` (mode 0700) when there is
/// none. Mounting needs CAP_SYS_ADMIN: EPERM otherwise.
pub fn ensure_mounted() -> Result<PathBuf> {
    if let Some(path) = find_mount()? {
        return Ok(path);
    }
    let path = Path::new(DEFAULT_MOUNT);
    mount("mount bpffs", "bpf", path, "mode=0700")?;
    Ok(path.to_path_buf())
}

/// Whether `path` is on a bpffs.
pub fn is_bpffs(path: &Path) -> Result<bool> {
    Ok(fs_magic(path)? == BPF_FS_MAGIC)
}

/// Fails with EINVAL, naming the path, unless `path` is on a bpffs.
fn require_bpffs(op: &'static str, path: &Path) -> Result<()> {
    if is_bpffs(path)? {
        Ok(())
    } else {
        Err(Error::new(op, libc::EINVAL)
            .with_subject(format!("{}: not on a bpffs", path.display())))
    }
}

/// Creates `path` and its missing parents with mode 0700 (pins are for
/// root; bpffs allows only directories, pins and symlinks).
pub fn create_dir_all(path: &Path) -> Result<()> {
    io("mkdir", path, || {
        DirBuilder::new().recursive(true).mode(0o700).create(path)
    })
}

/// Pins `fd` (map, program or link) at `path` (`BPF_OBJ_PIN`); EEXIST when
/// the path exists.
pub fn pin(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    obj_pin(fd, path)
}

/// Opens the object pinned at `path` (`BPF_OBJ_GET`); ENOENT names the path.
pub fn get(path: &Path) -> Result<OwnedFd> {
    obj_get(path)
}

/// Removes the pin at `path` (unlink); on a directory, removes it if empty
/// (rmdir; ENOTEMPTY otherwise). The object lives on while fds to it remain.
pub fn unpin(path: &Path) -> Result<()> {
    let metadata = io("lstat", path, || path.symlink_metadata())?;
    if metadata.is_dir() {
        io("rmdir", path, || std::fs::remove_dir(path))
    } else {
        io("unlink", path, || std::fs::remove_file(path))
    }
}

/// Renames `from` to `to`, replacing `to` if it is a pin or an empty
/// directory (rename(2)).
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    renameat2(from, to, 0)
}

/// Swaps `a` and `b` atomically (renameat2 `RENAME_EXCHANGE`); both must
/// exist on the same bpffs.
pub fn rename_exchange(a: &Path, b: &Path) -> Result<()> {
    renameat2(a, b, RENAME_EXCHANGE)
}

/// An exclusive `flock` on a bpffs directory, released when dropped (the
/// lock goes with the open file). Loaders that take it before attaching
/// and keep it until their pins are in place publish their pins in the
/// order they attached: the pins of the last attached program win.
#[derive(Debug)]
pub struct Lock {
    _dir: File,
}

/// Waits for, then takes, the exclusive lock of the directory `path`.
pub fn lock(path: &Path) -> Result<Lock> {
    let dir = io("open", path, || File::open(path))?;
    flock_exclusive(dir.as_fd(), path)?;
    Ok(Lock { _dir: dir })
}

/// Removes `path` and everything under it, which must be on a bpffs
/// (EINVAL otherwise). Symlinks are removed, not followed; a filesystem
/// mounted below `path` stops the removal with EXDEV, naming it.
pub fn remove_dir_all(path: &Path) -> Result<()> {
    require_bpffs("remove pins", path)?;
    let metadata = io("lstat", path, || path.symlink_metadata())?;
    if !metadata.is_dir() {
        return unpin(path);
    }
    remove_tree(path, metadata.dev())
}

fn remove_tree(dir: &Path, device: u64) -> Result<()> {
    let entries = io("readdir", dir, || {
        std::fs::read_dir(dir)?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<std::io::Result<Vec<_>>>()
    })?;
    for entry in entries {
        let metadata = io("lstat", &entry, || entry.symlink_metadata())?;
        if metadata.dev() != device {
            return Err(Error::new("remove pins", libc::EXDEV).with_subject(format!(
                "{}: another filesystem is mounted there",
                entry.display()
            )));
        }
        if metadata.is_dir() {
            remove_tree(&entry, device)?;
        } else {
            io("unlink", &entry, || std::fs::remove_file(&entry))?;
        }
    }
    io("rmdir", dir, || std::fs::remove_dir(dir))
}
