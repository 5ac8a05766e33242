//! Fixtures for rxdp's kernel tests: what every test file in `tests/` uses.
//!
//! ```no_run
//! use rxdp_kernel_tests::{require_kernel, Ip, VethPair};
//!
//! if !require_kernel() {
//!     return;
//! }
//! let pair = VethPair::new(); // root end `a` for XDP, peer `b` in its own netns
//! // ... attach to pair.root_ifindex() ...
//! pair.send_udp(Ip::V4, 7777, 10, 32); // from the peer to pair.root_addr(Ip::V4)
//! // dropping `pair` removes both ends and the namespace, also on panic
//! ```
//!
//! - [`require_kernel`]: root, `ip`, bpffs and tracefs, or a loud failure;
//! - [`Netns`], [`VethPair`]: namespaces and veth pairs that clean up after
//!   themselves, with per-pair subnets (198.51.100.0/24 in /30s, 2001:db8::/32
//!   in /64s) and static neighbours;
//! - [`VethPair::send_udp`], [`VethPair::send_tcp_syn`],
//!   [`VethPair::send_icmp_echo`], [`receive_udp`]: bounded test traffic;
//! - [`run`], [`ip`], [`unique_name`], [`vmlinux_btf_dump`], [`TraceLock`], [`bin`];
//! - [`docs`]: the book's command checker (docs/ console blocks, run and compared);
//! - [`corpus_object`]: the kernel selftest objects of `conformance/subset.tsv`.
//!
//! No `unsafe` here: namespaces and raw sockets go through nix's safe API.

#![forbid(unsafe_code)]

mod cmd;
pub mod docs;
mod kernel;
mod net;
mod traffic;

pub use cmd::{ip, run, try_run, unique_name, vmlinux_btf_dump};
pub use kernel::{bin, corpus_object, require_kernel, TraceLock};
pub use net::{Ip, Netns, VethPair};
pub use traffic::{
    receive_udp, TcpOutcome, ICMP_DATA_LEN, ICMP_REPLY_WAIT, MAX_PACKETS, TCP_TIMEOUT,
};
