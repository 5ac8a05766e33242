//! The rtnetlink half of the fake kernel ([`crate::fake`]): a request's
//! bytes decoded into a [`NetlinkCall`], the handler's links encoded into
//! the `RTM_NEWLINK` messages [`super::link::parse_link`] reads.

use super::link::{IFLA_IFNAME, IFLA_MTU};
use super::message::{
    read_i32, Attrs, Request, IFINFOMSG_LEN, NLM_F_DUMP, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK,
};
use super::reply::Message;
use super::xdp::{
    IFLA_XDP, IFLA_XDP_ATTACHED, IFLA_XDP_DRV_PROG_ID, IFLA_XDP_EXPECTED_FD, IFLA_XDP_FD,
    IFLA_XDP_FLAGS, IFLA_XDP_HW_PROG_ID, IFLA_XDP_PROG_ID, IFLA_XDP_SKB_PROG_ID,
};
use super::{Link, XdpAttached, XdpFlags};
use crate::error::{Error, Result};
use crate::fake::{attached_of, key_of_raw_fd, NetlinkCall};

/// The exchange of `request` with the installed fake kernel, if any.
pub(crate) fn exchange(request: &Request) -> Option<Result<Vec<Message>>> {
    let op = request.op();
    let call = match decode(request) {
        Ok(call) => call,
        Err(error) => return Some(Err(error)),
    };
    let links = crate::fake::netlink(call)?;
    Some(
        links
            .map(|links| links.iter().map(encode).collect())
            .map_err(|mut error| {
                error.op = op;
                error
            }),
    )
}

fn decode(request: &Request) -> Result<NetlinkCall> {
    let op = request.op();
    let body = request.body();
    let ifindex = read_i32(body, 4).ok_or_else(|| Error::new(op, libc::EINVAL))?;
    let attrs = body.get(IFINFOMSG_LEN..).unwrap_or_default();
    let malformed = |_| Error::new(op, libc::EINVAL);
    match request.msg_type() {
        RTM_GETLINK if request.flags() & NLM_F_DUMP == NLM_F_DUMP => Ok(NetlinkCall::Dump),
        RTM_GETLINK => {
            let mut name = None;
            for attr in Attrs::new(attrs) {
                let (attr_type, payload) = attr.map_err(malformed)?;
                if attr_type == IFLA_IFNAME {
                    let end = payload
                        .iter()
                        .position(|&b| b == 0)
                        .unwrap_or(payload.len());
                    name = Some(String::from_utf8_lossy(&payload[..end]).into_owned());
                }
            }
            Ok(NetlinkCall::GetLink {
                ifindex: u32::try_from(ifindex).ok().filter(|&i| i != 0),
                name,
            })
        }
        RTM_SETLINK => {
            let (mut prog, mut flags, mut expected) = (None, XdpFlags::empty(), None);
            for attr in Attrs::new(attrs) {
                let (attr_type, nest) = attr.map_err(malformed)?;
                if attr_type != IFLA_XDP {
                    continue;
                }
                for inner in Attrs::new(nest) {
                    let (inner_type, payload) = inner.map_err(malformed)?;
                    let value = read_i32(payload, 0).ok_or_else(|| Error::new(op, libc::EINVAL))?;
                    let object = |fd: i32| match fd {
                        -1 => Ok(None),
                        fd => key_of_raw_fd(fd)
                            .map(Some)
                            .map_err(|_| Error::new(op, libc::EBADF)),
                    };
                    match inner_type {
                        IFLA_XDP_FD => prog = object(value)?,
                        IFLA_XDP_FLAGS => flags = XdpFlags::from_bits_retain(value as u32),
                        IFLA_XDP_EXPECTED_FD => expected = object(value)?,
                        _ => {}
                    }
                }
            }
            Ok(NetlinkCall::SetXdp {
                ifindex: ifindex as u32,
                prog,
                flags,
                expected,
            })
        }
        _ => Ok(NetlinkCall::Other { op }),
    }
}

/// `RTM_NEWLINK` of `link`: ifinfomsg, name, MTU, the XDP nest.
fn encode(link: &Link) -> Message {
    let mut message = Request::new(RTM_NEWLINK, 0).ifinfomsg(link.ifindex as i32);
    message.attr_str(IFLA_IFNAME, &link.name);
    message.attr_u32(IFLA_MTU, link.mtu);
    let state = link.xdp;
    let attached = attached_of(&state);
    message.nested(IFLA_XDP, |xdp| {
        xdp.attr(IFLA_XDP_ATTACHED, &[attached_byte(attached)]);
        let single = match attached {
            XdpAttached::Drv => state.drv_prog_id,
            XdpAttached::Skb => state.skb_prog_id,
            XdpAttached::Hw => state.hw_prog_id,
            _ => None,
        };
        for (attr_type, id) in [
            (IFLA_XDP_PROG_ID, single),
            (IFLA_XDP_DRV_PROG_ID, state.drv_prog_id),
            (IFLA_XDP_SKB_PROG_ID, state.skb_prog_id),
            (IFLA_XDP_HW_PROG_ID, state.hw_prog_id),
        ] {
            if let Some(id) = id {
                xdp.attr_u32(attr_type, id);
            }
        }
    });
    let mut payload = message.body().to_vec();
    payload[2..4].copy_from_slice(&link.link_type.to_ne_bytes());
    payload[8..12].copy_from_slice(&link.flags.to_ne_bytes());
    Message {
        msg_type: RTM_NEWLINK,
        payload,
    }
}

fn attached_byte(attached: XdpAttached) -> u8 {
    match attached {
        XdpAttached::None => 0,
        XdpAttached::Drv => 1,
        XdpAttached::Skb => 2,
        XdpAttached::Hw => 3,
        XdpAttached::Multi => 4,
    }
}
