//! `BPF_LINK_CREATE`: attachments owned by an fd (kernel 5.7; XDP 5.9).
//! Unlike a netlink attach, the program is detached when the last reference
//! to the link (fd or pin) goes, and nobody else can replace it meanwhile.
//! And `BPF_ITER_CREATE`, which turns an iterator's link into a file to read.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::attr::{IterCreateAttr, LinkCreateAttr, LinkUpdateAttr, OneU32Attr};
use super::sys::{bpf, bpf_fd, Cmd};
use super::types::ATTACH_XDP;
use crate::error::Result;
use crate::netlink::XdpFlags;

/// Attaches the XDP program `prog` to interface `ifindex` through a BPF link
/// (`attach_type` `BPF_XDP`). `flags` may hold one mode
/// (`SKB_MODE`/`DRV_MODE`/`HW_MODE`; none lets the kernel pick native when
/// the driver has it); `UPDATE_IF_NOEXIST` and `REPLACE` do not apply to
/// links. EBUSY when a program is already attached by netlink or link.
pub fn link_create_xdp(prog: BorrowedFd<'_>, ifindex: u32, flags: XdpFlags) -> Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type: ATTACH_XDP,
        flags: flags.bits(),
        ..LinkCreateAttr::default()
    };
    // SAFETY: no pointers in this attr; BPF_LINK_CREATE returns a new fd.
    unsafe { bpf_fd(Cmd::LinkCreate, &mut attr) }
        .map_err(|error| error.with_subject(format!("ifindex {ifindex}")))
}

/// `BPF_F_REPLACE`: `BPF_LINK_UPDATE` only if the link runs `old_prog_fd`.
const BPF_F_REPLACE: u32 = 1 << 2;

/// Replaces the program `link` runs with `prog`, atomically: with
/// `expected`, only if the link still runs that program (EPERM otherwise:
/// someone replaced it meanwhile). The link keeps its id, its pins and its
/// attach point; there is no moment without a program.
pub fn link_update(
    link: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    expected: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let mut attr = LinkUpdateAttr {
        link_fd: link.as_raw_fd() as u32,
        new_prog_fd: prog.as_raw_fd() as u32,
        flags: if expected.is_some() { BPF_F_REPLACE } else { 0 },
        old_prog_fd: expected.map_or(0, |fd| fd.as_raw_fd() as u32),
    };
    // SAFETY: no pointers in this attr.
    unsafe { bpf(Cmd::LinkUpdate, &mut attr) }.map(drop)
}

/// Detaches `link` from its attach point now (kernel 5.9), whoever else
/// holds it (pins, other fds): they keep a link that runs nothing.
pub fn link_detach(link: BorrowedFd<'_>) -> Result<()> {
    let mut attr = OneU32Attr {
        value: link.as_raw_fd() as u32,
    };
    // SAFETY: no pointers in this attr.
    unsafe { bpf(Cmd::LinkDetach, &mut attr) }.map(drop)
}

/// `BPF_STATS_RUN_TIME` (`enum bpf_stats_type`).
const BPF_STATS_RUN_TIME: u32 = 0;

/// `BPF_ENABLE_STATS` of run time and run count (kernel 5.8): every
/// program's `run_time_ns` and `run_cnt` count while the returned fd (or
/// `kernel.bpf_stats_enabled` = 1) lives. Needs `CAP_SYS_ADMIN`.
pub fn enable_stats() -> Result<OwnedFd> {
    let mut attr = OneU32Attr {
        value: BPF_STATS_RUN_TIME,
    };
    // SAFETY: no pointers in this attr; BPF_ENABLE_STATS returns a new fd.
    unsafe { bpf_fd(Cmd::EnableStats, &mut attr) }
}

/// A link of `attach_type` (`enum bpf_attach_type`) for `prog` — or, for
/// `BPF_STRUCT_OPS` (44), for a struct_ops map — to `target` (a cgroup, a
/// program to extend; none for iterators, tracing and struct_ops), with
/// `target_btf_id` for `freplace` into a function of `target` (0: the one
/// the program was loaded for).
pub fn link_create(
    prog: BorrowedFd<'_>,
    target: Option<BorrowedFd<'_>>,
    attach_type: u32,
    target_btf_id: u32,
) -> Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_ifindex: target.map_or(0, |fd| fd.as_raw_fd() as u32),
        attach_type,
        target_btf_id,
        ..LinkCreateAttr::default()
    };
    // SAFETY: no pointers in this attr (no iterator parameters);
    // BPF_LINK_CREATE returns a new fd.
    unsafe { bpf_fd(Cmd::LinkCreate, &mut attr) }
        .map_err(|error| error.with_subject(format!("attach type {attach_type}")))
}

/// A new file reading the iterator whose link is `link`
/// (`BPF_ITER_CREATE`): each `read` runs the program over the next objects.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut attr = IterCreateAttr {
        link_fd: link.as_raw_fd() as u32,
        flags: 0,
    };
    // SAFETY: no pointers in this attr; BPF_ITER_CREATE returns a new fd.
    unsafe { bpf_fd(Cmd::IterCreate, &mut attr) }
}
