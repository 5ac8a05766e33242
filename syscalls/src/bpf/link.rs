//! `BPF_LINK_CREATE` for XDP: an attachment owned by an fd (kernel 5.9).
//! Unlike a netlink attach, the program is detached when the last reference
//! to the link (fd or pin) goes, and nobody else can replace it meanwhile.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::attr::LinkCreateAttr;
use super::sys::{bpf_fd, Cmd};
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
    };
    // SAFETY: no pointers in this attr; BPF_LINK_CREATE returns a new fd.
    unsafe { bpf_fd(Cmd::LinkCreate, &mut attr) }
        .map_err(|error| error.with_subject(format!("ifindex {ifindex}")))
}
