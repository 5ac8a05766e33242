//! A fake kernel for tests (feature `fake-kernel`): the seam's calls go to
//! a replaceable [`Handler`] instead of the kernel.
//!
//! The handler sits where the kernel would: after the choke points have
//! encoded their requests. Each `bpf(2)` call is decoded from the very attr
//! the kernel would have read (its pointers followed the way the kernel
//! follows them) into a [`Call`]; each rtnetlink request from its bytes
//! into a [`NetlinkCall`], and the handler's [`Link`]s are encoded into the
//! `RTM_NEWLINK` messages the real parser reads. So a test through the fake
//! checks the attrs and messages rxdp builds, not a shortcut around them.
//!
//! Objects are told apart as the kernel tells them: by file. A fake map,
//! program or link is a memfd ([`object_fd`]); the handler sees every fd
//! argument as the [`ObjectKey`] (device and inode) of its file, so dups
//! and fds reopened by id or pin are the same object, and a test can ask
//! which fds the code under test still holds ([`is_open`]).
//!
//! The handler is per thread ([`install`]), like Aya's overridable syscall
//! function, so tests run side by side. [`SimKernel`] is a small model of
//! the kernel (maps with contents, programs, pins, XDP slots, links) with
//! failures on demand; a test may write its own [`Handler`].

mod sim;

use std::cell::RefCell;
use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::rc::Rc;

use crate::bpf::{LinkInfo, MapInfo, ProgInfo};
use crate::error::{Error, Result};
use crate::netlink::{Link, XdpAttached, XdpFlags};

pub use sim::{Device, SimKernel};

/// The identity of a kernel object behind an fd: its file's device and
/// inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

/// A `bpf(2)` command as the fake kernel sees it: decoded from its attr.
#[derive(Debug)]
#[non_exhaustive]
pub enum Call<'a> {
    /// `BPF_MAP_CREATE`.
    MapCreate {
        /// `map_type`.
        map_type: u32,
        /// `key_size`.
        key_size: u32,
        /// `value_size`.
        value_size: u32,
        /// `max_entries`.
        max_entries: u32,
        /// `map_flags`.
        flags: u32,
        /// `map_name`.
        name: String,
        /// `map_ifindex` (offload), 0 otherwise.
        ifindex: u32,
    },
    /// `BPF_MAP_LOOKUP_ELEM`: fill `value`; ENOENT when `key` has none.
    MapLookup {
        /// The map.
        map: ObjectKey,
        /// The key, as many bytes as the map's keys.
        key: &'a [u8],
        /// The value buffer, as many bytes as user space's values.
        value: &'a mut [u8],
    },
    /// `BPF_MAP_UPDATE_ELEM`.
    MapUpdate {
        /// The map.
        map: ObjectKey,
        /// The key.
        key: &'a [u8],
        /// The value (for a prog array: a program fd, see [`key_of_raw_fd`]).
        value: &'a [u8],
        /// `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`.
        flags: u64,
    },
    /// `BPF_MAP_DELETE_ELEM`: ENOENT when `key` has none.
    MapDelete {
        /// The map.
        map: ObjectKey,
        /// The key.
        key: &'a [u8],
    },
    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first with `None`)
    /// into `next`; ENOENT at the end.
    MapNextKey {
        /// The map.
        map: ObjectKey,
        /// The key to start after.
        key: Option<&'a [u8]>,
        /// Where the next key goes.
        next: &'a mut [u8],
    },
    /// `BPF_MAP_FREEZE`.
    MapFreeze {
        /// The map.
        map: ObjectKey,
    },
    /// `BPF_PROG_LOAD`.
    ProgLoad {
        /// `prog_type`.
        prog_type: u32,
        /// `prog_name`.
        name: String,
        /// The instructions, 8 bytes each.
        insns: &'a [u8],
        /// `license`.
        license: String,
        /// `prog_ifindex` (offload), 0 otherwise.
        ifindex: u32,
        /// The log buffer, when a log is asked for: a refusal writes the
        /// verifier's words here.
        log: Option<&'a mut [u8]>,
    },
    /// `BPF_BTF_LOAD`.
    BtfLoad {
        /// The raw BTF.
        btf: &'a [u8],
    },
    /// `BPF_OBJ_PIN`.
    ObjPin {
        /// The object.
        object: ObjectKey,
        /// `pathname`.
        path: PathBuf,
    },
    /// `BPF_OBJ_GET`.
    ObjGet {
        /// `pathname`.
        path: PathBuf,
    },
    /// `BPF_OBJ_GET_INFO_BY_FD`: answer [`Answer::Map`], [`Answer::Prog`] or
    /// [`Answer::Link`].
    Info {
        /// The object.
        object: ObjectKey,
    },
    /// `BPF_PROG_GET_FD_BY_ID`.
    ProgById {
        /// The id.
        id: u32,
    },
    /// `BPF_MAP_GET_FD_BY_ID`.
    MapById {
        /// The id.
        id: u32,
    },
    /// `BPF_LINK_CREATE` (XDP).
    LinkCreate {
        /// The program.
        prog: ObjectKey,
        /// `target_ifindex`.
        ifindex: u32,
        /// `flags` (a mode flag or none).
        flags: XdpFlags,
    },
    /// A command the decoder does not know: answer it or refuse it.
    Other {
        /// Its uapi name.
        op: &'static str,
    },
}

/// What a handler answers to a [`Call`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Answer {
    /// Success, no value (updates, pins, freezes).
    Done,
    /// A new fd (create, load, get): made with [`object_fd`], or a dup.
    Fd(OwnedFd),
    /// The info of a map.
    Map(MapInfo),
    /// The info of a program.
    Prog(ProgInfo),
    /// The info of a link.
    Link(LinkInfo),
}

/// An rtnetlink request as the fake kernel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetlinkCall {
    /// `RTM_GETLINK` of one device, by index or name: answer one [`Link`].
    GetLink {
        /// `ifi_index`, when not 0.
        ifindex: Option<u32>,
        /// `IFLA_IFNAME`, when given.
        name: Option<String>,
    },
    /// `RTM_GETLINK` with `NLM_F_DUMP`: answer every device.
    Dump,
    /// `RTM_SETLINK` with `IFLA_XDP`: answer no link.
    SetXdp {
        /// `ifi_index`.
        ifindex: u32,
        /// `IFLA_XDP_FD`'s program, `None` for -1 (detach).
        prog: Option<ObjectKey>,
        /// `IFLA_XDP_FLAGS`.
        flags: XdpFlags,
        /// `IFLA_XDP_EXPECTED_FD`'s program (with `XDP_FLAGS_REPLACE`).
        expected: Option<ObjectKey>,
    },
    /// Anything else.
    Other {
        /// The request's uapi name.
        op: &'static str,
    },
}

/// A kernel stand-in. Errors are [`Error`]s: their `op` is set by the
/// seam, the handler chooses errno and kernel message.
pub trait Handler {
    /// Answers one `bpf(2)` call.
    fn bpf(&mut self, call: Call<'_>) -> Result<Answer>;
    /// Answers one rtnetlink request.
    fn netlink(&mut self, call: NetlinkCall) -> Result<Vec<Link>>;
    /// `(key size, value size)` of a map, as user space passes them (a
    /// per-CPU value is the whole per-CPU array), for decoding element
    /// calls; `None` for an fd that is no map (EBADF).
    fn map_sizes(&self, map: ObjectKey) -> Option<(usize, usize)>;
    /// A directory to treat as the bpffs mount (statfs says `BPF_FS_MAGIC`
    /// for it and below, `bpffs::find_mount` finds it), or `None` to leave
    /// the filesystem alone.
    fn bpffs_root(&self) -> Option<PathBuf> {
        None
    }
    /// A directory to take the device locks in instead of `/run/rxdp`.
    fn lock_dir(&self) -> Option<PathBuf> {
        None
    }
}

thread_local! {
    static HANDLER: RefCell<Option<Rc<RefCell<dyn Handler>>>> = const { RefCell::new(None) };
}

/// Sends this thread's syscalls to `handler` until the guard drops.
pub fn install(handler: Rc<RefCell<dyn Handler>>) -> Installed {
    HANDLER.with(|slot| *slot.borrow_mut() = Some(handler));
    Installed { _private: () }
}

/// While it lives, this thread's syscalls go to the installed handler.
#[derive(Debug)]
pub struct Installed {
    _private: (),
}

impl Drop for Installed {
    fn drop(&mut self) {
        HANDLER.with(|slot| *slot.borrow_mut() = None);
    }
}

/// Whether a handler answers this thread's syscalls.
pub(crate) fn installed() -> bool {
    HANDLER.with(|slot| slot.borrow().is_some())
}

fn handler() -> Option<Rc<RefCell<dyn Handler>>> {
    HANDLER.with(|slot| slot.borrow().clone())
}

/// A new file to stand for a kernel object, and its key.
pub fn object_fd(name: &str) -> Result<(OwnedFd, ObjectKey)> {
    let name = std::ffi::CString::new(format!("rxdp-fake-{name}"))
        .map_err(|_| Error::new("memfd_create", libc::EINVAL))?;
    let fd = nix::sys::memfd::memfd_create(name.as_c_str(), nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|errno| Error::new("memfd_create", errno as i32))?;
    let key = key_of(fd.as_fd())?;
    Ok((fd, key))
}

/// The object behind `fd`.
pub fn key_of(fd: BorrowedFd<'_>) -> Result<ObjectKey> {
    let stat = nix::sys::stat::fstat(fd).map_err(|errno| Error::new("fstat", errno as i32))?;
    Ok(ObjectKey {
        dev: stat.st_dev,
        ino: stat.st_ino,
    })
}

/// The object behind a raw fd number (one inside a map value, say); EBADF
/// when it is not open.
pub fn key_of_raw_fd(fd: RawFd) -> Result<ObjectKey> {
    // fstat(2) on any number is memory-safe: a closed one is EBADF.
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is a valid out-pointer for one `struct stat`; the fd is
    // only looked at, not owned or closed.
    let ret = unsafe { libc::fstat(fd, stat.as_mut_ptr()) };
    if ret < 0 {
        return Err(Error::last("fstat"));
    }
    // SAFETY: fstat returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    Ok(ObjectKey {
        dev: stat.st_dev,
        ino: stat.st_ino,
    })
}

/// Whether `fd` (a number handed out earlier) is still open on `key`'s
/// file: what a test asks to prove that code closed its fds.
pub fn is_open(fd: RawFd, key: ObjectKey) -> bool {
    key_of_raw_fd(fd).is_ok_and(|now| now == key)
}

/// The `bpf(2)` choke point's way out: `Some` when a handler is installed.
pub(crate) fn bpf(cmd: crate::bpf::Cmd, attr: &mut [u8]) -> Option<Result<i64>> {
    let handler = handler()?;
    let result = crate::bpf::fake_call(cmd, attr, |call| handler.borrow_mut().bpf(call));
    Some(result.map_err(|mut error| {
        error.op = cmd.name();
        error
    }))
}

/// `(key, value)` sizes of a map through the installed handler.
pub(crate) fn map_sizes(map: ObjectKey) -> Option<(usize, usize)> {
    handler()?.borrow().map_sizes(map)
}

/// The rtnetlink choke point's way out: `Some` when a handler is installed.
pub(crate) fn netlink(call: NetlinkCall) -> Option<Result<Vec<Link>>> {
    let handler = handler()?;
    let result = handler.borrow_mut().netlink(call);
    Some(result)
}

/// The fake bpffs mount, when the installed handler has one.
pub(crate) fn bpffs_root() -> Option<PathBuf> {
    handler()?.borrow().bpffs_root()
}

/// `BPF_FS_MAGIC` for paths in the fake bpffs; `None`: ask the kernel.
pub(crate) fn fs_magic(path: &std::path::Path) -> Option<u32> {
    let root = bpffs_root()?;
    path.starts_with(&root)
        .then_some(crate::fs::bpffs::BPF_FS_MAGIC)
}

/// The fake lock directory, when the installed handler has one.
pub(crate) fn lock_dir() -> Option<PathBuf> {
    handler()?.borrow().lock_dir()
}

/// An fd answer as the syscall's return value: the fd, now the caller's.
pub(crate) fn fd_result(fd: OwnedFd) -> i64 {
    i64::from(fd.into_raw_fd())
}

/// A C string at a user pointer.
///
/// # Safety
///
/// `ptr` must point to a NUL-terminated string (the `bpf(2)` contract for
/// `pathname` and `license`).
pub(crate) unsafe fn c_string(ptr: u64) -> Result<String> {
    if ptr == 0 {
        return Err(Error::new("bpf", libc::EFAULT));
    }
    // SAFETY: the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr as *const libc::c_char) };
    Ok(text.to_string_lossy().into_owned())
}

/// The `IFLA_XDP_ATTACHED` value of a state.
pub(crate) fn attached_of(state: &crate::netlink::XdpState) -> XdpAttached {
    let slots = [
        (state.drv_prog_id, XdpAttached::Drv),
        (state.skb_prog_id, XdpAttached::Skb),
        (state.hw_prog_id, XdpAttached::Hw),
    ];
    let used: Vec<XdpAttached> = slots
        .iter()
        .filter(|(id, _)| id.is_some())
        .map(|(_, a)| *a)
        .collect();
    match used[..] {
        [] => XdpAttached::None,
        [one] => one,
        _ => XdpAttached::Multi,
    }
}
