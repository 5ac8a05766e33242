//! bpffs, the filesystem of pins: a pinned map or program lives on while its
//! path exists, after every fd is closed.
//!
//! bpffs refuses names that contain a dot (EPERM; dots are kept for the
//! kernel's own use), so pin names and directories must do without.
//!
//! To replace a set of pins at once, the loader pins into a fresh
//! directory and swaps it with the old one (`RENAME_EXCHANGE`): readers see
//! the old set or the new, never a mix. The loader works through
//! [`super::Dir`] (every step relative to an open directory, no symlink
//! followed); the path-based functions here are for tools and tests that
//! handle paths they made themselves.

use std::fs::DirBuilder;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::dir::Dir;
use super::io;
use super::mountinfo::{choose, mount_points};
use super::sys::{c_path, fs_magic, has_fs_magic, mount, renameat2, EntryType, RENAME_EXCHANGE};
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
    #[cfg(feature = "fake-kernel")]
    if let Some(root) = crate::fake::bpffs_root() {
        return Ok(Some(root));
    }
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
    rename_paths(from, to, 0)
}

/// Swaps `a` and `b` atomically (renameat2 `RENAME_EXCHANGE`); both must
/// exist on the same bpffs.
pub fn rename_exchange(a: &Path, b: &Path) -> Result<()> {
    rename_paths(a, b, RENAME_EXCHANGE)
}

fn rename_paths(from: &Path, to: &Path, flags: libc::c_uint) -> Result<()> {
    let from_c = c_path("renameat2", from)?;
    let to_c = c_path("renameat2", to)?;
    renameat2(
        libc::AT_FDCWD,
        &from_c,
        libc::AT_FDCWD,
        &to_c,
        flags,
        || format!("{} -> {}", from.display(), to.display()),
    )
}

/// Removes `path` and everything under it, which must be on a bpffs
/// (EINVAL otherwise). Every step is relative to an open directory and
/// none follows a symlink: a symlink is removed, not followed, wherever it
/// points. A filesystem mounted below `path` stops the removal with EXDEV,
/// naming it.
pub fn remove_dir_all(path: &Path) -> Result<()> {
    let (parent, name) = split(path)?;
    let parent = Dir::open(parent)?;
    if parent.fs_magic()? != BPF_FS_MAGIC {
        return Err(Error::new("remove pins", libc::EINVAL)
            .with_subject(format!("{}: not on a bpffs", path.display())));
    }
    match parent.stat_at(name)? {
        None => Err(Error::new("fstatat", libc::ENOENT).with_subject(path.display().to_string())),
        Some(stat) if stat.kind == EntryType::Directory => remove_tree(&parent, name, stat.dev),
        Some(_) => parent.unlink(name),
    }
}

/// The parent directory and last name of `path`.
fn split(path: &Path) -> Result<(&Path, &std::ffi::OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((
            if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            },
            name,
        )),
        _ => Err(Error::new("remove pins", libc::EINVAL).with_subject(path.display().to_string())),
    }
}

fn remove_tree(parent: &Dir, name: &std::ffi::OsStr, device: u64) -> Result<()> {
    let dir = parent.open_dir(name)?;
    if dir.stat()?.dev != device {
        return Err(Error::new("remove pins", libc::EXDEV).with_subject(format!(
            "{}: another filesystem is mounted there",
            dir.path().display()
        )));
    }
    for (entry, kind) in dir.entries()? {
        if kind == EntryType::Directory {
            remove_tree(&dir, &entry, device)?;
        } else {
            dir.unlink(&entry)?;
        }
    }
    parent.remove_dir(name)
}
