//! What an attach of the staged API returns: an [`XdpAttachment`]
//! (rtnetlink) or an [`XdpLink`] (`BPF_LINK_CREATE`).
//!
//! The two differ in who keeps the program on the device:
//!
//! - **rtnetlink**: the device does. The program stays attached after
//!   every fd is closed and the loader has exited, until someone detaches
//!   it. An `XdpAttachment` therefore detaches its program when dropped
//!   or [`detach`](XdpAttachment::detach)ed — only its own program, never
//!   one another tool attached since (`IFLA_XDP_EXPECTED_FD`) — unless
//!   [`keep`](XdpAttachment::keep) says the program is to stay, e.g. in a
//!   loader that exits after attaching (what `rxdp-load` does).
//! - **BPF link**: the link's references do. The kernel detaches the
//!   program when the last fd or pin of the link goes; nobody can replace
//!   it through netlink meanwhile. An `XdpLink` detaches when dropped;
//!   [`pin`](XdpLink::pin) it in bpffs to keep it beyond the process.
//!
//! Either way, a prog array the program tail-calls through is emptied by
//! the kernel when its own last reference goes: a program kept attached
//! after the loader exits needs its jump tables pinned too.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink;
use rxdp_syscalls::Error as SysError;

use crate::options::Mode;
use crate::pipeline::Attached;

/// A program attached to a device through rtnetlink; detached when dropped
/// unless [`kept`](XdpAttachment::keep).
#[derive(Debug)]
pub struct XdpAttachment {
    attached: Attached,
    prog_id: u32,
    /// Our own reference to the program: the expected fd of the detach.
    prog: OwnedFd,
    kept: bool,
}

impl XdpAttachment {
    pub(crate) fn new(attached: Attached, prog_id: u32, prog: OwnedFd) -> XdpAttachment {
        XdpAttachment {
            attached,
            prog_id,
            prog,
            kept: false,
        }
    }

    /// The device, its index, the mode the kernel put the program in, the
    /// program it replaced.
    pub fn attached(&self) -> &Attached {
        &self.attached
    }

    /// The mode the program runs in (`Auto` only when the kernel did not
    /// say).
    pub fn mode(&self) -> Mode {
        self.attached.mode
    }

    /// The attached program's kernel id.
    pub fn prog_id(&self) -> u32 {
        self.prog_id
    }

    /// Detaches the program now. Only ours: `Ok(false)` when another
    /// program has replaced it meanwhile (left alone) or the device is
    /// gone, `Ok(true)` when ours was detached. A program this attach
    /// replaced (`force`) is not put back: the slot is left empty.
    pub fn detach(mut self) -> Result<bool, SysError> {
        self.kept = true;
        self.detach_now()
    }

    fn detach_now(&self) -> Result<bool, SysError> {
        match netlink::detach_expected(
            self.attached.ifindex,
            self.attached.mode.flags(),
            self.prog.as_fd(),
        ) {
            Ok(()) => Ok(true),
            Err(error) if matches!(error.errno, libc::EEXIST | libc::ENODEV) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Leaves the program attached for good: dropping the attachment (or
    /// the process exiting) no longer detaches it; `rxdp unload --dev`,
    /// `ip link set dev X xdp off` or another loader's `--force` will.
    /// Returns where it went.
    pub fn keep(mut self) -> Attached {
        self.kept = true;
        self.attached.clone()
    }
}

impl Drop for XdpAttachment {
    fn drop(&mut self) {
        if !self.kept {
            // Nothing to report to from a drop: a program that could not
            // be detached stays, as it would after a crash.
            let _ = self.detach_now();
        }
    }
}

/// A program attached to a device through a BPF link: detached when the
/// last reference to the link (this fd, or a pin) goes.
#[derive(Debug)]
pub struct XdpLink {
    link: OwnedFd,
    ifname: String,
    ifindex: u32,
    mode: Mode,
    prog_id: u32,
}

impl XdpLink {
    pub(crate) fn new(
        link: OwnedFd,
        ifname: &str,
        ifindex: u32,
        mode: Mode,
        prog_id: u32,
    ) -> XdpLink {
        XdpLink {
            link,
            ifname: ifname.to_string(),
            ifindex,
            mode,
            prog_id,
        }
    }

    /// The device.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Its index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The mode the program runs in (`Auto` when the kernel did not say).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The attached program's kernel id.
    pub fn prog_id(&self) -> u32 {
        self.prog_id
    }

    /// The link's fd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.link.as_fd()
    }

    /// Pins the link at `path` (on bpffs): the program stays attached
    /// after this process exits, until the pin is removed.
    pub fn pin(&self, path: &Path) -> Result<(), SysError> {
        bpffs::pin(self.link.as_fd(), path)
    }

    /// Detaches now: closes the link's fd (the program stays while a pin
    /// of the link exists).
    pub fn detach(self) {
        drop(self);
    }

    /// The link's fd, to keep or pass on: the program stays attached while
    /// it is open.
    pub fn into_fd(self) -> OwnedFd {
        self.link
    }
}
