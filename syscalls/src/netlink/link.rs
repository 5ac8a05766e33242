//! Network interfaces: name ↔ index and what `RTM_GETLINK` says about them.
//!
//! Lookups by name go through netlink too (`IFLA_IFNAME` in an
//! `RTM_GETLINK`), so one mechanism answers every question about a link.

use super::message::{
    attr_string, attr_u32, read_i32, read_u16, read_u32, Attrs, Malformed, Request, IFINFOMSG_LEN,
    NLM_F_DUMP, RTM_GETLINK, RTM_NEWLINK,
};
use super::reply::Message;
use super::socket::{transact, Session};
use super::xdp::{parse_xdp, XdpState, IFLA_XDP};
use crate::error::{Error, Result};

/// `IFLA_IFNAME`: the interface name, a NUL-terminated string.
pub(crate) const IFLA_IFNAME: u16 = 3;
/// `IFLA_MTU`: u32.
pub(crate) const IFLA_MTU: u16 = 4;
/// `IFLA_EXT_MASK`: u32 of `RTEXT_FILTER_*`, what to leave out of the answer.
const IFLA_EXT_MASK: u16 = 29;
/// `RTEXT_FILTER_SKIP_STATS`: no `IFLA_STATS`/`IFLA_STATS64` counters, which
/// are most of a link message and of no use here.
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
/// `IFNAMSIZ`: names are at most 15 bytes plus the NUL.
const IFNAMSIZ: usize = 16;
/// A dump that keeps being interrupted by interfaces coming and going is
/// retried this many times before giving up.
const DUMP_ATTEMPTS: usize = 5;

/// One network interface as `RTM_GETLINK` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name.
    pub name: String,
    /// Its MTU.
    pub mtu: u32,
    /// `IFF_*` flags (`IFF_UP` = 0x1, `IFF_LOOPBACK` = 0x8, ...).
    pub flags: u32,
    /// `ARPHRD_*` hardware type (1 = Ethernet, 772 = loopback).
    pub link_type: u16,
    /// The XDP programs attached to it.
    pub xdp: XdpState,
}

impl Link {
    /// Administratively up (`IFF_UP`).
    pub fn is_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }
}

/// The interface with index `ifindex`.
pub fn link_by_index(ifindex: u32) -> Result<Link> {
    link_by_index_on(&mut Session::default(), ifindex)
}

/// [`link_by_index`] on the socket of `session`.
pub(crate) fn link_by_index_on(session: &mut Session, ifindex: u32) -> Result<Link> {
    let subject = index_subject(ifindex);
    let index = kernel_ifindex("RTM_GETLINK", ifindex)?;
    let messages = session
        .transact(&getlink(index, None), &subject)
        .map_err(name_missing)?;
    single_link(messages, &subject)
}

/// The interface named `name`.
pub fn link_by_name(name: &str) -> Result<Link> {
    let subject = format!("interface {name:?}");
    if name.is_empty() || name.len() >= IFNAMSIZ || name.contains('\0') {
        return Err(name_missing(
            Error::new("RTM_GETLINK", libc::ENODEV).with_subject(subject),
        ));
    }
    let messages = transact(&getlink(0, Some(name)), &subject).map_err(name_missing)?;
    single_link(messages, &subject)
}

/// The index of the interface named `name`. A missing interface is ENODEV
/// with the subject `no such interface "name"`.
pub fn ifindex(name: &str) -> Result<u32> {
    link_by_name(name).map(|link| link.ifindex)
}

/// The name of the interface with index `ifindex`.
pub fn ifname(ifindex: u32) -> Result<String> {
    link_by_index(ifindex).map(|link| link.name)
}

/// Every interface of this network namespace, by ifindex.
pub fn links() -> Result<Vec<Link>> {
    let mut attempt = 1;
    let messages = loop {
        match transact(&dump(), "all interfaces") {
            Err(error) if error.errno == libc::EINTR && attempt < DUMP_ATTEMPTS => attempt += 1,
            result => break result?,
        }
    };
    let mut links = messages
        .iter()
        .filter(|message| message.msg_type == RTM_NEWLINK)
        .map(|message| parse_link(&message.payload))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|malformed| malformed_error(malformed, "all interfaces"))?;
    links.sort_by_key(|link| link.ifindex);
    Ok(links)
}

/// `ifindex` as the kernel's `int ifi_index`. Index 0 asks the kernel to look
/// the device up by name instead, so it is refused here.
pub(crate) fn kernel_ifindex(op: &'static str, ifindex: u32) -> Result<i32> {
    match i32::try_from(ifindex) {
        Ok(index) if index > 0 => Ok(index),
        _ => Err(name_missing(
            Error::new(op, libc::ENODEV).with_subject(index_subject(ifindex)),
        )),
    }
}

/// How errors name an interface known by index.
pub(crate) fn index_subject(ifindex: u32) -> String {
    format!("ifindex {ifindex}")
}

/// Says "no such interface" in the subject of an ENODEV.
pub(crate) fn name_missing(mut error: Error) -> Error {
    if error.errno == libc::ENODEV {
        let what = error.subject.take().unwrap_or_default();
        let what = what.strip_prefix("interface ").unwrap_or(&what);
        error.subject = Some(format!("no such interface {what}"));
    }
    error
}

/// `RTM_GETLINK` for one interface, by index or (with index 0) by name.
pub(crate) fn getlink(ifindex: i32, name: Option<&str>) -> Request {
    let mut request = Request::new(RTM_GETLINK, 0).ifinfomsg(ifindex);
    if let Some(name) = name {
        request.attr_str(IFLA_IFNAME, name);
    }
    request.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    request
}

/// `RTM_GETLINK` with `NLM_F_DUMP`: every interface.
pub(crate) fn dump() -> Request {
    let mut request = Request::new(RTM_GETLINK, NLM_F_DUMP).ifinfomsg(0);
    request.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    request
}

fn single_link(messages: Vec<Message>, subject: &str) -> Result<Link> {
    let message = messages
        .iter()
        .find(|message| message.msg_type == RTM_NEWLINK)
        .ok_or_else(|| {
            malformed_error(Malformed("no RTM_NEWLINK in the answer".into()), subject)
        })?;
    parse_link(&message.payload).map_err(|malformed| malformed_error(malformed, subject))
}

fn malformed_error(malformed: Malformed, subject: &str) -> Error {
    Error::new("RTM_GETLINK", libc::EPROTO)
        .with_subject(subject.to_string())
        .with_kernel_message(malformed.to_string())
}

/// Reads an `RTM_NEWLINK` payload: `struct ifinfomsg`, then attributes.
pub(crate) fn parse_link(payload: &[u8]) -> std::result::Result<Link, Malformed> {
    let (Some(link_type), Some(ifindex), Some(flags), Some(attrs)) = (
        read_u16(payload, 2),
        read_i32(payload, 4),
        read_u32(payload, 8),
        payload.get(IFINFOMSG_LEN..),
    ) else {
        return Err(Malformed(format!(
            "RTM_NEWLINK of {} bytes, shorter than ifinfomsg",
            payload.len()
        )));
    };
    let ifindex = u32::try_from(ifindex)
        .map_err(|_| Malformed(format!("RTM_NEWLINK with ifi_index {ifindex}")))?;
    let mut link = Link {
        ifindex,
        name: String::new(),
        mtu: 0,
        flags,
        link_type,
        xdp: XdpState::default(),
    };
    for attr in Attrs::new(attrs) {
        let (attr_type, payload) = attr?;
        match attr_type {
            IFLA_IFNAME => link.name = attr_string(payload),
            IFLA_MTU => link.mtu = attr_u32("IFLA_MTU", payload)?,
            IFLA_XDP => link.xdp = parse_xdp(payload)?,
            _ => {}
        }
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::xdp::XdpAttached;

    #[test]
    fn getlink_by_index() {
        #[rustfmt::skip]
        let expected: &[u8] = &[
            40, 0, 0, 0,      // nlmsg_len 16 + 16 + 8
            18, 0,            // RTM_GETLINK
            5, 0,             // NLM_F_REQUEST | NLM_F_ACK
            9, 0, 0, 0,       // nlmsg_seq 9
            0x34, 0x12, 0, 0, // nlmsg_pid
            0, 0, 0, 0,       // AF_UNSPEC, pad, ifi_type
            7, 0, 0, 0,       // ifi_index 7
            0, 0, 0, 0, 0, 0, 0, 0,
            8, 0, 29, 0,      // IFLA_EXT_MASK
            8, 0, 0, 0,       // RTEXT_FILTER_SKIP_STATS
        ];
        assert_eq!(getlink(7, None).encode(9, 0x1234), expected);
    }

    #[test]
    fn getlink_by_name() {
        #[rustfmt::skip]
        let expected: &[u8] = &[
            52, 0, 0, 0,      // nlmsg_len 16 + 16 + 12 + 8
            18, 0, 5, 0, 9, 0, 0, 0, 0x34, 0x12, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0,       // ifi_index 0: look up by name
            0, 0, 0, 0, 0, 0, 0, 0,
            10, 0, 3, 0,      // IFLA_IFNAME, 4 + 6
            b'v', b'e', b't', b'h', b'0', 0, 0, 0, // "veth0\0" + 2 bytes padding
            8, 0, 29, 0, 8, 0, 0, 0,               // IFLA_EXT_MASK SKIP_STATS
        ];
        assert_eq!(getlink(0, Some("veth0")).encode(9, 0x1234), expected);
    }

    #[test]
    fn dump_request() {
        #[rustfmt::skip]
        let expected: &[u8] = &[
            40, 0, 0, 0,
            18, 0,            // RTM_GETLINK
            5, 3,             // NLM_F_REQUEST | NLM_F_ACK | NLM_F_ROOT | NLM_F_MATCH
            9, 0, 0, 0, 0x34, 0x12, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            8, 0, 29, 0, 8, 0, 0, 0,
        ];
        assert_eq!(dump().encode(9, 0x1234), expected);
    }

    #[test]
    fn parse_newlink_with_xdp() {
        #[rustfmt::skip]
        let payload: &[u8] = &[
            0, 0, 1, 0,              // AF_UNSPEC, pad, ARPHRD_ETHER
            5, 0, 0, 0,              // ifi_index 5
            0x43, 0x10, 1, 0,        // IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP
            0, 0, 0, 0,              // ifi_change
            9, 0, 3, 0, b'r', b'x', b'0', b'a', 0, 0, 0, 0, // IFLA_IFNAME "rx0a"
            8, 0, 4, 0, 0xdc, 0x05, 0, 0,                   // IFLA_MTU 1500
            8, 0, 13, 0, 0, 0, 0, 0,                        // IFLA_PROMISCUITY: ignored
            20, 0, 43, 0,                                   // IFLA_XDP, no NLA_F_NESTED
            5, 0, 2, 0, 2, 0, 0, 0,                         //   XDP_ATTACHED_SKB
            8, 0, 4, 0, 99, 0, 0, 0,                        //   IFLA_XDP_PROG_ID 99
        ];
        let link = parse_link(payload).unwrap();
        assert_eq!(link.ifindex, 5);
        assert_eq!(link.name, "rx0a");
        assert_eq!(link.mtu, 1500);
        assert_eq!(link.link_type, 1);
        assert!(link.is_up());
        assert_eq!(link.xdp.attached, XdpAttached::Skb);
        assert_eq!(link.xdp.skb_prog_id, Some(99));

        assert!(parse_link(&payload[..15]).is_err());
        assert!(parse_link(&payload[..30]).is_err()); // attribute cut short
        let mut negative = payload.to_vec();
        negative[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
        assert!(parse_link(&negative).is_err());
    }

    #[test]
    fn impossible_names_and_indexes_are_enodev_without_a_syscall() {
        let before = crate::seam::syscall_count();
        for name in ["", "sixteen-bytes-xx", "a\0b"] {
            let error = ifindex(name).unwrap_err();
            assert_eq!(error.errno, libc::ENODEV);
            assert_eq!(
                error.subject.as_deref(),
                Some(format!("no such interface {name:?}").as_str())
            );
        }
        let error = ifname(0).unwrap_err();
        assert_eq!(
            error.subject.as_deref(),
            Some("no such interface ifindex 0")
        );
        assert!(ifname(u32::MAX).is_err());
        assert_eq!(crate::seam::syscall_count(), before);
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn one_transaction_is_one_seam_pass_and_can_be_failed() {
        crate::seam::fail_nth(1, libc::EPERM);
        let error = ifindex("lo").unwrap_err();
        crate::seam::clear_fault();
        assert_eq!((error.op, error.errno), ("RTM_GETLINK", libc::EPERM));
        assert_eq!(error.subject.as_deref(), Some("interface \"lo\""));
        let before = crate::seam::syscall_count();
        assert_eq!(ifindex("lo").unwrap(), 1);
        assert_eq!(crate::seam::syscall_count() - before, 1);
    }
}
