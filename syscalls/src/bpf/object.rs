//! Pinning: `BPF_OBJ_PIN` gives a map, program or link a name in bpffs that
//! keeps it alive after the last fd closes; `BPF_OBJ_GET` opens it again.
//! Errors name the path.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::attr::ObjAttr;
use super::sys::{bpf, bpf_fd, Cmd};
use crate::error::{Error, Result};

fn c_path(op: &'static str, path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::new(op, libc::EINVAL).with_subject(path.display().to_string()))
}

/// Pins `fd` at `path`, which must be on a bpffs and not exist yet (EEXIST).
pub fn obj_pin(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let op = Cmd::ObjPin.name();
    let name = c_path(op, path)?;
    let mut attr = ObjAttr {
        pathname: name.as_ptr() as u64,
        bpf_fd: fd.as_raw_fd() as u32,
        ..ObjAttr::default()
    };
    // SAFETY: `pathname` points to a NUL-terminated string that outlives
    // the call; the kernel only reads it.
    unsafe { bpf(Cmd::ObjPin, &mut attr) }
        .map(drop)
        .map_err(|error| error.with_subject(path.display().to_string()))
}

/// Opens the object pinned at `path` (ENOENT, naming the path, when there
/// is none).
pub fn obj_get(path: &Path) -> Result<OwnedFd> {
    let op = Cmd::ObjGet.name();
    let name = c_path(op, path)?;
    let mut attr = ObjAttr {
        pathname: name.as_ptr() as u64,
        ..ObjAttr::default()
    };
    // SAFETY: `pathname` points to a NUL-terminated string that outlives
    // the call; BPF_OBJ_GET returns a new fd.
    unsafe { bpf_fd(Cmd::ObjGet, &mut attr) }
        .map_err(|error| error.with_subject(path.display().to_string()))
}
