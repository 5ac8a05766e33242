//! rtnetlink, the part rxdp needs: attach, replace, detach and query XDP
//! programs, and look interfaces up by name or index.
//!
//! - `message`: the bytes of requests and the walk over replies;
//! - `reply`: reading one request's answer (acknowledgement, error with the
//!   kernel's extended-ack text, multi-part dumps);
//! - `socket`: the `NETLINK_ROUTE` socket and the one transaction function,
//!   the only place with syscalls;
//! - `xdp` and `link`: the requests rxdp makes, as typed functions
//!   ([`attach`], [`query`], [`link_by_name`], ...).
//!
//! Every request is one transaction through the crate's seam, named by its
//! uapi message type (`RTM_SETLINK`, `RTM_GETLINK`) in errors.

#[cfg(feature = "fake-kernel")]
mod fake;
mod link;
mod message;
mod reply;
mod socket;
mod xdp;

pub use link::{ifindex, ifname, link_by_index, link_by_name, links, Link};
pub use xdp::{
    attach, detach, detach_expected, query, query_all, LinkXdp, Rtnl, XdpAttached, XdpFlags,
    XdpState,
};
