//! The one place `bpf(2)` is called.
//!
//! Every command goes through [`bpf`]: it passes the attr member and *its*
//! size (the kernel zero-fills the rest of its `union bpf_attr`), goes through
//! the [`seam`](crate::seam), and retries the two cases the kernel asks
//! callers to retry:
//!
//! - `BPF_PROG_LOAD` failing with EAGAIN (the verifier gave up under memory
//!   pressure or a pending signal) or EINTR: up to [`TRANSIENT_ATTEMPTS`]
//!   attempts in all;
//! - `BPF_MAP_CREATE`/`BPF_PROG_LOAD` failing with EPERM on a kernel that
//!   still charges BPF memory to `RLIMIT_MEMLOCK`: see [`super::memlock`].

use std::os::fd::{FromRawFd, OwnedFd};

use super::attr::Attr;
use super::memlock;
use crate::error::{Error, Result};
use crate::seam;

/// `enum bpf_cmd`: the commands rxdp issues, with their uapi names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    MapCreate,
    MapLookupElem,
    MapUpdateElem,
    MapDeleteElem,
    MapGetNextKey,
    ProgLoad,
    ObjPin,
    ObjGet,
    ProgTestRun,
    ProgGetNextId,
    MapGetNextId,
    ProgGetFdById,
    MapGetFdById,
    ObjGetInfoByFd,
    BtfLoad,
    BtfGetFdById,
    BtfGetNextId,
    MapFreeze,
    LinkCreate,
    LinkUpdate,
    LinkGetFdById,
    LinkGetNextId,
    EnableStats,
    LinkDetach,
    IterCreate,
}

impl Cmd {
    /// The `enum bpf_cmd` value.
    pub(crate) fn number(self) -> libc::c_long {
        match self {
            Cmd::MapCreate => 0,
            Cmd::MapLookupElem => 1,
            Cmd::MapUpdateElem => 2,
            Cmd::MapDeleteElem => 3,
            Cmd::MapGetNextKey => 4,
            Cmd::ProgLoad => 5,
            Cmd::ObjPin => 6,
            Cmd::ObjGet => 7,
            Cmd::ProgTestRun => 10,
            Cmd::ProgGetNextId => 11,
            Cmd::MapGetNextId => 12,
            Cmd::ProgGetFdById => 13,
            Cmd::MapGetFdById => 14,
            Cmd::ObjGetInfoByFd => 15,
            Cmd::BtfLoad => 18,
            Cmd::BtfGetFdById => 19,
            Cmd::BtfGetNextId => 23,
            Cmd::MapFreeze => 22,
            Cmd::LinkCreate => 28,
            Cmd::LinkUpdate => 29,
            Cmd::LinkGetFdById => 30,
            Cmd::LinkGetNextId => 31,
            Cmd::EnableStats => 32,
            Cmd::LinkDetach => 34,
            Cmd::IterCreate => 33,
        }
    }

    /// The uapi name, which is the `op` of every error.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cmd::MapCreate => "BPF_MAP_CREATE",
            Cmd::MapLookupElem => "BPF_MAP_LOOKUP_ELEM",
            Cmd::MapUpdateElem => "BPF_MAP_UPDATE_ELEM",
            Cmd::MapDeleteElem => "BPF_MAP_DELETE_ELEM",
            Cmd::MapGetNextKey => "BPF_MAP_GET_NEXT_KEY",
            Cmd::ProgLoad => "BPF_PROG_LOAD",
            Cmd::ObjPin => "BPF_OBJ_PIN",
            Cmd::ObjGet => "BPF_OBJ_GET",
            Cmd::ProgTestRun => "BPF_PROG_TEST_RUN",
            Cmd::ProgGetNextId => "BPF_PROG_GET_NEXT_ID",
            Cmd::MapGetNextId => "BPF_MAP_GET_NEXT_ID",
            Cmd::ProgGetFdById => "BPF_PROG_GET_FD_BY_ID",
            Cmd::MapGetFdById => "BPF_MAP_GET_FD_BY_ID",
            Cmd::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Cmd::BtfLoad => "BPF_BTF_LOAD",
            Cmd::BtfGetFdById => "BPF_BTF_GET_FD_BY_ID",
            Cmd::BtfGetNextId => "BPF_BTF_GET_NEXT_ID",
            Cmd::MapFreeze => "BPF_MAP_FREEZE",
            Cmd::LinkCreate => "BPF_LINK_CREATE",
            Cmd::LinkUpdate => "BPF_LINK_UPDATE",
            Cmd::LinkGetFdById => "BPF_LINK_GET_FD_BY_ID",
            Cmd::LinkGetNextId => "BPF_LINK_GET_NEXT_ID",
            Cmd::EnableStats => "BPF_ENABLE_STATS",
            Cmd::LinkDetach => "BPF_LINK_DETACH",
            Cmd::IterCreate => "BPF_ITER_CREATE",
        }
    }
}

/// Attempts of a `BPF_PROG_LOAD` that keeps failing with EAGAIN or EINTR.
pub(crate) const TRANSIENT_ATTEMPTS: u32 = 5;

/// Runs `bpf(cmd, attr, size_of::<T>())`: the non-negative result (an fd or
/// 0), or the errno as an [`Error`] named after `cmd`.
///
/// # Safety
///
/// Every pointer in `attr` must be null or valid for the kernel to read (and,
/// for out-buffers, write) as many bytes as the lengths beside it in `attr`
/// say — or, where the kernel takes the length from the object (map keys and
/// values), as many as the object needs — for the duration of the call.
pub(crate) unsafe fn bpf<T: Attr>(cmd: Cmd, attr: &mut T) -> Result<i64> {
    let op = cmd.name();
    let mut attempt = 1;
    let mut raised_memlock = false;
    loop {
        let result = seam::enter(op, || {
            #[cfg(feature = "fake-kernel")]
            if let Some(result) = crate::fake::bpf(cmd, bytemuck::bytes_of_mut(attr)) {
                return result;
            }
            // SAFETY: `attr` is a live, exclusively borrowed `#[repr(C)]` attr
            // member (`T: Attr`) and its size is passed with it; the caller
            // guarantees the pointers inside it (this function's contract).
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_bpf,
                    cmd.number(),
                    attr as *mut T,
                    std::mem::size_of::<T>(),
                )
            };
            if ret < 0 {
                Err(Error::last(op))
            } else {
                Ok(ret)
            }
        });
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let transient = cmd == Cmd::ProgLoad
            && (error.errno == libc::EAGAIN || error.errno == libc::EINTR)
            && attempt < TRANSIENT_ATTEMPTS;
        let memlock_retry = matches!(cmd, Cmd::MapCreate | Cmd::ProgLoad)
            && error.errno == libc::EPERM
            && !error.is_injected()
            && !raised_memlock
            && memlock::allowed()
            && memlock::raise();
        if !(transient || memlock_retry) {
            return Err(error);
        }
        raised_memlock |= memlock_retry;
        attempt += 1;
    }
}

/// [`bpf`] for the commands that return a new file descriptor.
///
/// # Safety
///
/// As for [`bpf`]; and `cmd` must be one whose non-negative result is a new
/// fd owned by the caller (`BPF_MAP_CREATE`, `BPF_PROG_LOAD`, `BPF_OBJ_GET`,
/// `BPF_*_GET_FD_BY_ID`, `BPF_BTF_LOAD`, `BPF_LINK_CREATE`, `BPF_ENABLE_STATS`).
pub(crate) unsafe fn bpf_fd<T: Attr>(cmd: Cmd, attr: &mut T) -> Result<OwnedFd> {
    // SAFETY: the caller upholds `bpf`'s contract.
    let fd = unsafe { bpf(cmd, attr) }?;
    let fd = i32::try_from(fd).map_err(|_| Error::new(cmd.name(), libc::EBADF))?;
    // SAFETY: for these commands the kernel returns a new fd (opened with
    // O_CLOEXEC) that nothing else owns; it becomes owned here exactly once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
