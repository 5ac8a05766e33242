//! The rtnetlink socket and the one function that exchanges a request for
//! its answer. All of rxdp's netlink syscalls are here.
//!
//! A transaction sends one request and reads until the answer ends. Most
//! open a socket of their own; a [`Session`] keeps one for a few requests
//! in a row (an attach and the query that checks it: six syscalls fewer).
//! Leftovers of an earlier exchange on a kept socket cannot be taken for an
//! answer: replies are matched by sequence number and port.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::socket::{
    bind, getsockname, recv, recvfrom, sendto, setsockopt, socket, AddressFamily, MsgFlags,
    NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use nix::{setsockopt_impl, sockopt_impl};

use super::message::Request;
use super::reply::{Failure, Message, Progress, Reply};
use crate::error::{Error, Result};
use crate::seam;

/// `NETLINK_CAP_ACK` (`SOL_NETLINK`): leave the request's payload out of
/// error messages.
const NETLINK_CAP_ACK: libc::c_int = 10;
/// `NETLINK_EXT_ACK` (`SOL_NETLINK`): add the kernel's explanation
/// (`NLMSGERR_ATTR_MSG`) to error messages. It is the only explanation a
/// user gets for most XDP attach failures.
const NETLINK_EXT_ACK: libc::c_int = 11;

// The two options as nix socket options (nix has none for netlink).
sockopt_impl!(
    /// `NETLINK_EXT_ACK`, on or off.
    ExtAck,
    SetOnly,
    libc::SOL_NETLINK,
    NETLINK_EXT_ACK,
    bool
);
sockopt_impl!(
    /// `NETLINK_CAP_ACK`, on or off.
    CapAck,
    SetOnly,
    libc::SOL_NETLINK,
    NETLINK_CAP_ACK,
    bool
);

/// Replies larger than this are not believed: the kernel's dump datagrams are
/// at most 32 KiB and an error echoes at most rxdp's own small request.
const MAX_DATAGRAM: usize = 1 << 20;

/// Sequence numbers of this process's requests, increasing across sockets
/// so that no two requests share one.
static NEXT_SEQ: AtomicU32 = AtomicU32::new(1);

/// The kernel's address (port id 0), or "assign me one" for `bind`.
fn kernel() -> NetlinkAddr {
    NetlinkAddr::new(0, 0)
}

/// A failed nix call as the error of `op`.
fn failed(op: &'static str) -> impl Fn(nix::Error) -> Error {
    move |errno| Error::new(op, errno as i32)
}

/// Sends `request` and returns the data messages of the answer, or the
/// kernel's refusal as an [`Error`] with `op` the request's uapi name,
/// `subject` what it was about, and `kernel_message` the extended-ack text.
/// One call is one pass through [`seam::enter`].
pub(crate) fn transact(request: &Request, subject: &str) -> Result<Vec<Message>> {
    Session::default().transact(request, subject)
}

/// One socket for several transactions, opened by the first.
#[derive(Debug, Default)]
pub(crate) struct Session {
    socket: Option<Socket>,
}

impl Session {
    /// [`transact`] on this session's socket.
    pub(crate) fn transact(&mut self, request: &Request, subject: &str) -> Result<Vec<Message>> {
        let op = request.op();
        seam::enter(op, || {
            #[cfg(feature = "fake-kernel")]
            if let Some(answer) = super::fake::exchange(request) {
                return answer;
            }
            let socket = match self.socket.take() {
                Some(socket) => socket,
                None => Socket::open(op)?,
            };
            let answer = exchange(&socket, op, request);
            self.socket = Some(socket);
            answer
        })
        .map_err(|error| error.with_subject(subject.to_string()))
    }
}

fn exchange(socket: &Socket, op: &'static str, request: &Request) -> Result<Vec<Message>> {
    let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
    socket.send(op, &request.encode(seq, socket.port))?;
    let mut reply = Reply::new(seq, socket.port);
    let mut buffer = vec![0u8; 8192];
    loop {
        let datagram = socket.recv(op, &mut buffer)?;
        match reply.feed(datagram) {
            Ok(Progress::More) => {}
            Ok(Progress::Done) => return Ok(reply.into_messages()),
            Err(Failure::Kernel { errno, message }) => {
                let error = Error::new(op, errno);
                return Err(match message {
                    Some(message) => error.with_kernel_message(message),
                    None => error,
                });
            }
            Err(Failure::Interrupted) => {
                return Err(Error::new(op, libc::EINTR)
                    .with_kernel_message("the dump was interrupted by a concurrent change"))
            }
            Err(Failure::Malformed(malformed)) => {
                return Err(Error::new(op, libc::EPROTO).with_kernel_message(malformed.to_string()))
            }
        }
    }
}

/// A bound `NETLINK_ROUTE` socket and the port id the kernel gave it.
#[derive(Debug)]
struct Socket {
    fd: OwnedFd,
    port: u32,
}

impl Socket {
    fn open(op: &'static str) -> Result<Socket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .map_err(failed(op))?;
        // Both options are best effort: kernels before 4.12 lack them, and
        // then errors simply come without the explanation.
        let _ = setsockopt(&fd, ExtAck, &true);
        let _ = setsockopt(&fd, CapAck, &true);
        bind(fd.as_raw_fd(), &kernel()).map_err(failed(op))?;
        // The kernel picked our port id at bind; it is the pid only for the
        // first netlink socket of a process, so ask rather than assume.
        let bound: NetlinkAddr = getsockname(fd.as_raw_fd()).map_err(failed(op))?;
        Ok(Socket {
            fd,
            port: bound.pid(),
        })
    }

    fn send(&self, op: &'static str, bytes: &[u8]) -> Result<()> {
        loop {
            match sendto(self.fd.as_raw_fd(), bytes, &kernel(), MsgFlags::empty()) {
                // Netlink sends a datagram whole or not at all.
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => {}
                Err(errno) => return Err(failed(op)(errno)),
            }
        }
    }

    /// Receives the next datagram from the kernel into `buffer`, growing it
    /// to the datagram's size first: `MSG_PEEK | MSG_TRUNC` returns the real
    /// length without consuming the datagram. Datagrams from anyone but the
    /// kernel (port id 0) are dropped.
    fn recv<'b>(&self, op: &'static str, buffer: &'b mut Vec<u8>) -> Result<&'b [u8]> {
        let fd = self.fd.as_raw_fd();
        loop {
            let peek = MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC;
            let wanted = retry(op, || recv(fd, buffer, peek))?;
            if wanted > MAX_DATAGRAM {
                return Err(Error::new(op, libc::EMSGSIZE).with_kernel_message(format!(
                    "a {wanted}-byte netlink reply is larger than any rxdp expects"
                )));
            }
            if wanted > buffer.len() {
                buffer.resize(wanted, 0);
            }
            let (len, sender) = retry(op, || recvfrom::<NetlinkAddr>(fd, buffer))?;
            let Some(sender) = sender else {
                return Err(Error::new(op, libc::EPROTO)
                    .with_kernel_message("a netlink datagram without a sender address"));
            };
            if sender.pid() == 0 {
                return Ok(&buffer[..len.min(buffer.len())]);
            }
        }
    }
}

/// Runs `call` until it is not interrupted (`EINTR`).
fn retry<T>(op: &'static str, mut call: impl FnMut() -> nix::Result<T>) -> Result<T> {
    loop {
        match call() {
            Err(nix::Error::EINTR) => {}
            result => return result.map_err(failed(op)),
        }
    }
}
