//! XDP through a BPF link (`BPF_LINK_CREATE`, kernel 5.9), `rxdp-load
//! --link`: the attachment is a kernel object with an id, alive while an
//! fd or a pin holds it. rxdp pins it beside the maps as [`LINK_PIN`], so
//! the program stays attached after the loader exits and goes with the
//! pins; a loader that dies before pinning it leaves nothing attached (its
//! fd was the only reference).
//!
//! What the kernel does (measured on 6.18):
//! - netlink cannot replace or detach a program a link attached, not even
//!   with `XDP_FLAGS_REPLACE`: EBUSY, "Can't replace active BPF XDP link";
//! - `BPF_LINK_CREATE` on a slot netlink filled: EBUSY, "XDP program
//!   already attached";
//! - `BPF_LINK_UPDATE` swaps the link's program atomically; with
//!   `BPF_F_REPLACE` and an old program that is no longer the link's: EPERM.

use std::os::fd::{AsFd, OwnedFd};

use rxdp_syscalls::bpf::{link_get_fd_by_id, link_get_next_id, link_info, LinkInfo, LINK_TYPE_XDP};
use rxdp_syscalls::Error as SysError;

/// The name of the link's pin in a pin directory. The `:` keeps it apart
/// from map pins, whose names never hold one.
pub const LINK_PIN: &str = "rxdp:link";

/// Every XDP link attached to a device, with an fd of it, in id order
/// (`BPF_LINK_GET_NEXT_ID` needs `CAP_SYS_ADMIN`). Links that go away
/// meanwhile are skipped.
pub fn all() -> Result<Vec<(LinkInfo, OwnedFd)>, SysError> {
    let mut links = Vec::new();
    let mut id = 0;
    while let Some(next) = link_get_next_id(id)? {
        id = next;
        let fd = match link_get_fd_by_id(id) {
            Ok(fd) => fd,
            Err(error) if error.errno == libc::ENOENT => continue,
            Err(error) => return Err(error),
        };
        let info = link_info(fd.as_fd())?;
        if info.link_type == LINK_TYPE_XDP && info.ifindex != 0 {
            links.push((info, fd));
        }
    }
    Ok(links)
}

/// The XDP link on `ifindex` that runs program `prog`, opened, with its id.
pub(crate) fn find(ifindex: u32, prog: u32) -> Result<Option<(u32, OwnedFd)>, SysError> {
    Ok(all()?
        .into_iter()
        .find(|(info, _)| info.ifindex == ifindex && info.prog_id == prog)
        .map(|(info, fd)| (info.id, fd)))
}
