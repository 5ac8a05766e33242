//! Attaching, replacing, detaching and querying XDP programs through
//! rtnetlink, as `ip link set dev X xdp ...` does.
//!
//! An attach is an `RTM_SETLINK` request for the interface with one nested
//! attribute:
//!
//! ```text
//! ifinfomsg { AF_UNSPEC, ifi_index }
//! IFLA_XDP | NLA_F_NESTED
//!     IFLA_XDP_FD           s32  the program, or -1 to detach
//!     IFLA_XDP_FLAGS        u32  XDP_FLAGS_*; left out when 0
//!     IFLA_XDP_EXPECTED_FD  s32  with XDP_FLAGS_REPLACE: the program that must
//!                                be attached now (-1: none), or EEXIST
//! ```
//!
//! A device has three slots: generic (skb), native (drv) and offload (hw).
//! Native and generic exclude each other; offload goes with either. The
//! answer to `RTM_GETLINK` reports them in a nested `IFLA_XDP`.

use std::os::fd::{AsRawFd, BorrowedFd};

use bitflags::bitflags;

use super::link::{self, kernel_ifindex, Link};
use super::message::{attr_u32, attr_u8, Attrs, Malformed, Request, RTM_SETLINK};
use super::socket::{transact, Session};
use crate::error::Result;

/// `IFLA_XDP`: the nest of XDP attributes in link messages.
pub(crate) const IFLA_XDP: u16 = 43;
// The attributes inside IFLA_XDP (`IFLA_XDP_*`, uapi linux/if_link.h).
pub(crate) const IFLA_XDP_FD: u16 = 1;
pub(crate) const IFLA_XDP_ATTACHED: u16 = 2;
pub(crate) const IFLA_XDP_FLAGS: u16 = 3;
pub(crate) const IFLA_XDP_PROG_ID: u16 = 4;
pub(crate) const IFLA_XDP_DRV_PROG_ID: u16 = 5;
pub(crate) const IFLA_XDP_SKB_PROG_ID: u16 = 6;
pub(crate) const IFLA_XDP_HW_PROG_ID: u16 = 7;
pub(crate) const IFLA_XDP_EXPECTED_FD: u16 = 8;

bitflags! {
    /// `XDP_FLAGS_*`: how to attach. At most one mode flag; none lets the
    /// kernel choose native when the driver has it, else generic.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct XdpFlags: u32 {
        /// `XDP_FLAGS_UPDATE_IF_NOEXIST`: fail with EBUSY if a program is
        /// attached in that mode.
        const UPDATE_IF_NOEXIST = 1 << 0;
        /// `XDP_FLAGS_SKB_MODE`: generic XDP, after the skb is built; any device.
        const SKB_MODE = 1 << 1;
        /// `XDP_FLAGS_DRV_MODE`: native XDP, in the driver.
        const DRV_MODE = 1 << 2;
        /// `XDP_FLAGS_HW_MODE`: offloaded to the NIC (nfp, netdevsim).
        const HW_MODE = 1 << 3;
        /// `XDP_FLAGS_REPLACE`: replace only the program named by
        /// `IFLA_XDP_EXPECTED_FD`, atomically.
        const REPLACE = 1 << 4;
    }
}

impl XdpFlags {
    /// `XDP_FLAGS_MODES`: the three mode flags.
    pub const MODES: XdpFlags = XdpFlags::SKB_MODE
        .union(XdpFlags::DRV_MODE)
        .union(XdpFlags::HW_MODE);
}

/// `IFLA_XDP_ATTACHED`: what is attached to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum XdpAttached {
    /// `XDP_ATTACHED_NONE`
    #[default]
    None,
    /// `XDP_ATTACHED_DRV`: one program, native.
    Drv,
    /// `XDP_ATTACHED_SKB`: one program, generic.
    Skb,
    /// `XDP_ATTACHED_HW`: one program, offloaded.
    Hw,
    /// `XDP_ATTACHED_MULTI`: programs in more than one slot (offload plus
    /// native or generic).
    Multi,
}

impl XdpAttached {
    fn from_u8(value: u8) -> Option<XdpAttached> {
        Some(match value {
            0 => XdpAttached::None,
            1 => XdpAttached::Drv,
            2 => XdpAttached::Skb,
            3 => XdpAttached::Hw,
            4 => XdpAttached::Multi,
            _ => return None,
        })
    }
}

/// The XDP programs of one device, by kernel program id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XdpState {
    /// `IFLA_XDP_ATTACHED`: which slots are in use.
    pub attached: XdpAttached,
    /// `IFLA_XDP_PROG_ID`: the program, when exactly one is attached.
    pub prog_id: Option<u32>,
    /// `IFLA_XDP_DRV_PROG_ID`: the native slot.
    pub drv_prog_id: Option<u32>,
    /// `IFLA_XDP_SKB_PROG_ID`: the generic slot.
    pub skb_prog_id: Option<u32>,
    /// `IFLA_XDP_HW_PROG_ID`: the offload slot.
    pub hw_prog_id: Option<u32>,
}

impl XdpState {
    /// The program in the slot the mode flag of `flags` names; without a
    /// mode flag, the one program attached (if only one is).
    pub fn prog_id_in(&self, flags: XdpFlags) -> Option<u32> {
        if flags.contains(XdpFlags::SKB_MODE) {
            self.skb_prog_id
        } else if flags.contains(XdpFlags::DRV_MODE) {
            self.drv_prog_id
        } else if flags.contains(XdpFlags::HW_MODE) {
            self.hw_prog_id
        } else {
            self.prog_id
        }
    }
}

/// One device and its XDP programs, from [`query_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkXdp {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name.
    pub name: String,
    /// Its XDP programs.
    pub state: XdpState,
}

/// Attaches the XDP program `prog` to interface `ifindex`.
///
/// With `expected`, the attach is an atomic replace (`XDP_FLAGS_REPLACE` is
/// added): it succeeds only if `expected` is the program attached in that
/// mode now, else fails with EEXIST. `XDP_FLAGS_REPLACE` without `expected`
/// means "only if nothing is attached". The error carries the kernel's
/// explanation ("Native and generic XDP can't be active at the same time").
pub fn attach(
    ifindex: u32,
    prog: BorrowedFd<'_>,
    flags: XdpFlags,
    expected: Option<BorrowedFd<'_>>,
) -> Result<()> {
    Rtnl::new().attach(ifindex, prog, flags, expected)
}

/// A netlink socket kept for a few requests about one device in a row:
/// the attach of a load, the queries before and after it.
#[derive(Debug, Default)]
pub struct Rtnl {
    session: Session,
}

impl Rtnl {
    /// A socket not opened yet: the first request opens it.
    pub fn new() -> Rtnl {
        Rtnl::default()
    }

    /// [`attach`] on this socket.
    pub fn attach(
        &mut self,
        ifindex: u32,
        prog: BorrowedFd<'_>,
        flags: XdpFlags,
        expected: Option<BorrowedFd<'_>>,
    ) -> Result<()> {
        let index = kernel_ifindex("RTM_SETLINK", ifindex)?;
        let request = setlink_xdp(
            index,
            prog.as_raw_fd(),
            flags,
            expected.map(|fd| fd.as_raw_fd()),
        );
        self.session
            .transact(&request, &subject(ifindex, flags))
            .map(drop)
            .map_err(link::name_missing)
    }

    /// [`link::link_by_index`] on this socket.
    pub fn link_by_index(&mut self, ifindex: u32) -> Result<Link> {
        link::link_by_index_on(&mut self.session, ifindex)
    }
}

/// Detaches the XDP program in the slot the mode flag of `flags` names
/// (without one: the only program attached). Detaching an empty slot succeeds.
pub fn detach(ifindex: u32, flags: XdpFlags) -> Result<()> {
    let index = kernel_ifindex("RTM_SETLINK", ifindex)?;
    let request = setlink_xdp(index, -1, flags, None);
    transact(&request, &subject(ifindex, flags))
        .map(drop)
        .map_err(link::name_missing)
}

/// Detaches `expected` from the slot the mode flag of `flags` names, and
/// only it: if another program is attached there now, the kernel refuses
/// with EEXIST ("Active program does not match expected") and leaves it.
pub fn detach_expected(ifindex: u32, flags: XdpFlags, expected: BorrowedFd<'_>) -> Result<()> {
    let index = kernel_ifindex("RTM_SETLINK", ifindex)?;
    let request = setlink_xdp(index, -1, flags, Some(expected.as_raw_fd()));
    transact(&request, &subject(ifindex, flags))
        .map(drop)
        .map_err(link::name_missing)
}

/// The XDP programs attached to interface `ifindex`.
pub fn query(ifindex: u32) -> Result<XdpState> {
    link::link_by_index(ifindex).map(|link| link.xdp)
}

/// Every interface of this network namespace with its XDP programs, by ifindex.
pub fn query_all() -> Result<Vec<LinkXdp>> {
    let links = link::links()?;
    Ok(links
        .into_iter()
        .map(|link| LinkXdp {
            ifindex: link.ifindex,
            name: link.name,
            state: link.xdp,
        })
        .collect())
}

/// How errors name the slot an attach or detach was about:
/// `ifindex 7, hw mode`. The kernel often gives no reason for a refused
/// mode, so the mode itself must show.
fn subject(ifindex: u32, flags: XdpFlags) -> String {
    let modes: Vec<&str> = [
        (XdpFlags::SKB_MODE, "skb"),
        (XdpFlags::DRV_MODE, "drv"),
        (XdpFlags::HW_MODE, "hw"),
    ]
    .into_iter()
    .filter(|&(mode, _)| flags.contains(mode))
    .map(|(_, name)| name)
    .collect();
    if modes.is_empty() {
        link::index_subject(ifindex)
    } else {
        format!("{}, {} mode", link::index_subject(ifindex), modes.join("+"))
    }
}

/// The `RTM_SETLINK` request that puts program `fd` (-1: none) in a slot.
pub(crate) fn setlink_xdp(
    ifindex: i32,
    fd: i32,
    flags: XdpFlags,
    expected_fd: Option<i32>,
) -> Request {
    let flags = match expected_fd {
        Some(_) => flags | XdpFlags::REPLACE,
        None => flags,
    };
    let mut request = Request::new(RTM_SETLINK, 0).ifinfomsg(ifindex);
    request.nested(IFLA_XDP, |xdp| {
        xdp.attr_s32(IFLA_XDP_FD, fd);
        if !flags.is_empty() {
            xdp.attr_u32(IFLA_XDP_FLAGS, flags.bits());
        }
        // The kernel rejects IFLA_XDP_EXPECTED_FD without XDP_FLAGS_REPLACE.
        if flags.contains(XdpFlags::REPLACE) {
            xdp.attr_s32(IFLA_XDP_EXPECTED_FD, expected_fd.unwrap_or(-1));
        }
    });
    request
}

/// Reads the payload of an `IFLA_XDP` attribute of an `RTM_NEWLINK`.
pub(crate) fn parse_xdp(nest: &[u8]) -> std::result::Result<XdpState, Malformed> {
    let mut state = XdpState::default();
    let id = |name, payload| attr_u32(name, payload).map(|id| Some(id).filter(|&id| id != 0));
    for attr in Attrs::new(nest) {
        let (attr_type, payload) = attr?;
        match attr_type {
            IFLA_XDP_ATTACHED => {
                let value = attr_u8("IFLA_XDP_ATTACHED", payload)?;
                state.attached = XdpAttached::from_u8(value)
                    .ok_or_else(|| Malformed(format!("IFLA_XDP_ATTACHED {value}")))?;
            }
            IFLA_XDP_PROG_ID => state.prog_id = id("IFLA_XDP_PROG_ID", payload)?,
            IFLA_XDP_DRV_PROG_ID => state.drv_prog_id = id("IFLA_XDP_DRV_PROG_ID", payload)?,
            IFLA_XDP_SKB_PROG_ID => state.skb_prog_id = id("IFLA_XDP_SKB_PROG_ID", payload)?,
            IFLA_XDP_HW_PROG_ID => state.hw_prog_id = id("IFLA_XDP_HW_PROG_ID", payload)?,
            _ => {}
        }
    }
    // Kernels before 4.19 name a single program only by IFLA_XDP_PROG_ID;
    // put it in the slot IFLA_XDP_ATTACHED names.
    let slot = match state.attached {
        XdpAttached::Drv => Some(&mut state.drv_prog_id),
        XdpAttached::Skb => Some(&mut state.skb_prog_id),
        XdpAttached::Hw => Some(&mut state.hw_prog_id),
        XdpAttached::None | XdpAttached::Multi => None,
    };
    if let Some(slot) = slot {
        if slot.is_none() {
            *slot = state.prog_id;
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: u32 = 1;
    const PORT: u32 = 0x1234;

    /// nlmsghdr of an RTM_SETLINK of `len` bytes, then ifinfomsg for ifindex 7.
    #[rustfmt::skip]
    fn setlink_head(len: u8) -> Vec<u8> {
        vec![
            len, 0, 0, 0,     // nlmsg_len
            19, 0,            // RTM_SETLINK
            5, 0,             // NLM_F_REQUEST | NLM_F_ACK
            1, 0, 0, 0,       // nlmsg_seq 1
            0x34, 0x12, 0, 0, // nlmsg_pid: our port id
            0,                // ifi_family AF_UNSPEC
            0,                // __ifi_pad
            0, 0,             // ifi_type
            7, 0, 0, 0,       // ifi_index 7
            0, 0, 0, 0,       // ifi_flags
            0, 0, 0, 0,       // ifi_change
        ]
    }

    fn encode(fd: i32, flags: XdpFlags, expected: Option<i32>) -> Vec<u8> {
        setlink_xdp(7, fd, flags, expected).encode(SEQ, PORT)
    }

    #[test]
    fn attach_without_flags_leaves_out_ifla_xdp_flags() {
        let mut expected = setlink_head(44);
        #[rustfmt::skip]
        expected.extend_from_slice(&[
            12, 0, 43, 0x80,         // IFLA_XDP | NLA_F_NESTED, 4 + 8
            8, 0, 1, 0, 5, 0, 0, 0,  // IFLA_XDP_FD 5
        ]);
        assert_eq!(encode(5, XdpFlags::empty(), None), expected);
    }

    #[test]
    fn attach_in_each_mode() {
        for (flags, word) in [
            (XdpFlags::SKB_MODE, 2u8),
            (XdpFlags::DRV_MODE, 4),
            (XdpFlags::HW_MODE, 8),
            (XdpFlags::UPDATE_IF_NOEXIST | XdpFlags::SKB_MODE, 3),
            (XdpFlags::UPDATE_IF_NOEXIST | XdpFlags::DRV_MODE, 5),
            (XdpFlags::UPDATE_IF_NOEXIST, 1),
        ] {
            let mut expected = setlink_head(52);
            #[rustfmt::skip]
            expected.extend_from_slice(&[
                20, 0, 43, 0x80,           // IFLA_XDP | NLA_F_NESTED, 4 + 8 + 8
                8, 0, 1, 0, 5, 0, 0, 0,    // IFLA_XDP_FD 5
                8, 0, 3, 0, word, 0, 0, 0, // IFLA_XDP_FLAGS
            ]);
            assert_eq!(encode(5, flags, None), expected, "{flags:?}");
        }
    }

    #[test]
    fn replace_with_expected_fd() {
        let mut expected = setlink_head(60);
        #[rustfmt::skip]
        expected.extend_from_slice(&[
            28, 0, 43, 0x80,         // IFLA_XDP | NLA_F_NESTED, 4 + 3 * 8
            8, 0, 1, 0, 5, 0, 0, 0,  // IFLA_XDP_FD 5
            8, 0, 3, 0, 20, 0, 0, 0, // IFLA_XDP_FLAGS DRV_MODE | REPLACE
            8, 0, 8, 0, 6, 0, 0, 0,  // IFLA_XDP_EXPECTED_FD 6
        ]);
        // REPLACE is implied by the expected fd, and the same when given.
        assert_eq!(encode(5, XdpFlags::DRV_MODE, Some(6)), expected);
        assert_eq!(
            encode(5, XdpFlags::DRV_MODE | XdpFlags::REPLACE, Some(6)),
            expected
        );
    }

    #[test]
    fn replace_without_expected_fd_expects_nothing_attached() {
        let mut expected = setlink_head(60);
        #[rustfmt::skip]
        expected.extend_from_slice(&[
            28, 0, 43, 0x80,
            8, 0, 1, 0, 5, 0, 0, 0,                  // IFLA_XDP_FD 5
            8, 0, 3, 0, 18, 0, 0, 0,                 // IFLA_XDP_FLAGS SKB_MODE | REPLACE
            8, 0, 8, 0, 0xff, 0xff, 0xff, 0xff,      // IFLA_XDP_EXPECTED_FD -1
        ]);
        assert_eq!(
            encode(5, XdpFlags::SKB_MODE | XdpFlags::REPLACE, None),
            expected
        );
    }

    #[test]
    fn detach_sends_fd_minus_one_with_the_mode() {
        let mut expected = setlink_head(52);
        #[rustfmt::skip]
        expected.extend_from_slice(&[
            20, 0, 43, 0x80,
            8, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, // IFLA_XDP_FD -1
            8, 0, 3, 0, 4, 0, 0, 0,             // IFLA_XDP_FLAGS DRV_MODE
        ]);
        assert_eq!(encode(-1, XdpFlags::DRV_MODE, None), expected);
        let mut expected = setlink_head(44);
        #[rustfmt::skip]
        expected.extend_from_slice(&[
            12, 0, 43, 0x80,
            8, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, // IFLA_XDP_FD -1, no flags
        ]);
        assert_eq!(encode(-1, XdpFlags::empty(), None), expected);
    }

    #[test]
    fn every_flag_combination_is_sent_as_given() {
        for bits in 0..32u32 {
            let flags = XdpFlags::from_bits_truncate(bits);
            let bytes = encode(3, flags, None);
            // IFLA_XDP starts at byte 32 (16 nlmsghdr + 16 ifinfomsg); the
            // flags attribute, if any, at 32 + 4 + 8 with its value 4 later.
            let value =
                (bytes.len() > 44).then(|| u32::from_ne_bytes(bytes[48..52].try_into().unwrap()));
            assert_eq!(value, (bits != 0).then_some(bits), "{flags:?}");
            let replace = bits & 16 != 0;
            assert_eq!(
                bytes.len(),
                44 + 8 * (bits != 0) as usize + 8 * replace as usize
            );
        }
    }

    #[test]
    fn query_single_program_fills_its_slot() {
        // What kernels since 4.19 send for one generic program, id 42.
        #[rustfmt::skip]
        let nest: &[u8] = &[
            8, 0, 6, 0, 42, 0, 0, 0, // IFLA_XDP_SKB_PROG_ID
            5, 0, 2, 0, 2, 0, 0, 0,  // IFLA_XDP_ATTACHED XDP_ATTACHED_SKB, padded
            8, 0, 4, 0, 42, 0, 0, 0, // IFLA_XDP_PROG_ID
        ];
        let skb = XdpState {
            attached: XdpAttached::Skb,
            prog_id: Some(42),
            skb_prog_id: Some(42),
            ..XdpState::default()
        };
        assert_eq!(parse_xdp(nest), Ok(skb));
        assert_eq!(skb.prog_id_in(XdpFlags::SKB_MODE), Some(42));
        assert_eq!(skb.prog_id_in(XdpFlags::DRV_MODE), None);
        // Older kernels: IFLA_XDP_ATTACHED and IFLA_XDP_PROG_ID only.
        #[rustfmt::skip]
        let nest: &[u8] = &[
            5, 0, 2, 0, 1, 0, 0, 0,  // XDP_ATTACHED_DRV
            8, 0, 4, 0, 42, 0, 0, 0, // IFLA_XDP_PROG_ID
        ];
        let state = parse_xdp(nest).unwrap();
        assert_eq!(state.drv_prog_id, Some(42));
        assert_eq!(state.skb_prog_id, None);
    }

    #[test]
    fn query_multi_and_none() {
        #[rustfmt::skip]
        let nest: &[u8] = &[
            8, 0, 5, 0, 10, 0, 0, 0, // IFLA_XDP_DRV_PROG_ID
            8, 0, 7, 0, 11, 0, 0, 0, // IFLA_XDP_HW_PROG_ID
            5, 0, 2, 0, 4, 0, 0, 0,  // XDP_ATTACHED_MULTI
        ];
        assert_eq!(
            parse_xdp(nest),
            Ok(XdpState {
                attached: XdpAttached::Multi,
                prog_id: None,
                drv_prog_id: Some(10),
                skb_prog_id: None,
                hw_prog_id: Some(11),
            })
        );
        assert_eq!(
            parse_xdp(&[5, 0, 2, 0, 0, 0, 0, 0]),
            Ok(XdpState::default())
        );
        assert!(parse_xdp(&[5, 0, 2, 0, 9, 0, 0, 0]).is_err()); // no such mode
        assert!(parse_xdp(&[6, 0, 4, 0, 1, 0, 0, 0]).is_err()); // 2-byte id
    }
}
