//! The rtnetlink socket and the one function that exchanges a request for
//! its answer. All of rxdp's netlink syscalls are here.
//!
//! A transaction sends one request and reads until the answer ends. Most
//! open a socket of their own; a [`Session`] keeps one for a few requests
//! in a row (an attach and the query that checks it: six syscalls fewer).
//! Leftovers of an earlier exchange on a kept socket cannot be taken for an
//! answer: replies are matched by sequence number and port.

use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use super::message::Request;
use super::reply::{Failure, Message, Progress, Reply};
use crate::error::{Error, Result};
use crate::seam;

/// `SOL_NETLINK`: the socket-option level of netlink options.
const SOL_NETLINK: libc::c_int = 270;
/// `NETLINK_CAP_ACK`: leave the request's payload out of error messages.
const NETLINK_CAP_ACK: libc::c_int = 10;
/// `NETLINK_EXT_ACK`: add the kernel's explanation (`NLMSGERR_ATTR_MSG`) to
/// error messages. It is the only explanation a user gets for most XDP
/// attach failures.
const NETLINK_EXT_ACK: libc::c_int = 11;

/// Replies larger than this are not believed: the kernel's dump datagrams are
/// at most 32 KiB and an error echoes at most rxdp's own small request.
const MAX_DATAGRAM: usize = 1 << 20;

/// Sequence numbers of this process's requests, increasing across sockets
/// so that no two requests share one.
static NEXT_SEQ: AtomicU32 = AtomicU32::new(1);

/// `struct sockaddr_nl`, declared here because libc's has a private field.
#[repr(C)]
struct SockaddrNl {
    nl_family: libc::sa_family_t,
    nl_pad: u16,
    /// Port id: the kernel's is 0; a bound socket's is assigned by the kernel.
    nl_pid: u32,
    nl_groups: u32,
}

const _: () = assert!(size_of::<SockaddrNl>() == size_of::<libc::sockaddr_nl>());

impl SockaddrNl {
    /// The kernel's address, or "assign me one" for `bind`.
    fn kernel() -> SockaddrNl {
        SockaddrNl {
            nl_family: libc::AF_NETLINK as libc::sa_family_t,
            nl_pad: 0,
            nl_pid: 0,
            nl_groups: 0,
        }
    }
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
        // SAFETY: socket(2) takes no pointers; the result is checked below.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(Error::last(op));
        }
        // SAFETY: `raw` is a new, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        // Both options are best effort: kernels before 4.12 lack them, and
        // then errors simply come without the explanation.
        for option in [NETLINK_EXT_ACK, NETLINK_CAP_ACK] {
            let on: libc::c_int = 1;
            // SAFETY: `on` is a live c_int and the length passed is its size.
            let _ = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    SOL_NETLINK,
                    option,
                    (&on as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
        }

        let local = SockaddrNl::kernel();
        // SAFETY: `local` is a live sockaddr_nl and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&local as *const SockaddrNl).cast(),
                size_of::<SockaddrNl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::last(op));
        }

        // The kernel picked our port id at bind; it is the pid only for the
        // first netlink socket of a process, so ask rather than assume.
        let mut bound = SockaddrNl::kernel();
        let mut len = size_of::<SockaddrNl>() as libc::socklen_t;
        // SAFETY: `bound` is writable for `len` bytes and `len` is a live socklen_t.
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut bound as *mut SockaddrNl).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(Error::last(op));
        }
        Ok(Socket {
            fd,
            port: bound.nl_pid,
        })
    }

    fn send(&self, op: &'static str, bytes: &[u8]) -> Result<()> {
        let kernel = SockaddrNl::kernel();
        loop {
            // SAFETY: `bytes` and `kernel` are live for the call and the
            // lengths passed are theirs.
            let sent = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    0,
                    (&kernel as *const SockaddrNl).cast(),
                    size_of::<SockaddrNl>() as libc::socklen_t,
                )
            };
            if sent >= 0 {
                // Netlink sends a datagram whole or not at all.
                return Ok(());
            }
            let error = Error::last(op);
            if error.errno != libc::EINTR {
                return Err(error);
            }
        }
    }

    /// Receives the next datagram from the kernel into `buffer`, growing it
    /// to the datagram's size first: `MSG_PEEK | MSG_TRUNC` returns the real
    /// length without consuming the datagram. Datagrams from anyone but the
    /// kernel (port id 0) are dropped.
    fn recv<'b>(&self, op: &'static str, buffer: &'b mut Vec<u8>) -> Result<&'b [u8]> {
        loop {
            let (wanted, _) = self.recv_once(op, buffer, libc::MSG_PEEK | libc::MSG_TRUNC)?;
            if wanted > MAX_DATAGRAM {
                return Err(Error::new(op, libc::EMSGSIZE).with_kernel_message(format!(
                    "a {wanted}-byte netlink reply is larger than any rxdp expects"
                )));
            }
            if wanted > buffer.len() {
                buffer.resize(wanted, 0);
            }
            let (len, sender) = self.recv_once(op, buffer, 0)?;
            if sender == 0 {
                return Ok(&buffer[..len.min(buffer.len())]);
            }
        }
    }

    /// One `recvfrom`: the length (the real one with `MSG_TRUNC`) and the
    /// sender's port id. Retries on `EINTR`.
    fn recv_once(&self, op: &'static str, buffer: &mut [u8], flags: i32) -> Result<(usize, u32)> {
        loop {
            let mut sender = SockaddrNl::kernel();
            let mut len = size_of::<SockaddrNl>() as libc::socklen_t;
            // SAFETY: `buffer` is writable for its length, `sender` for `len`
            // bytes, and `len` is a live socklen_t.
            let received = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                    flags,
                    (&mut sender as *mut SockaddrNl).cast(),
                    &mut len,
                )
            };
            if received >= 0 {
                return Ok((received as usize, sender.nl_pid));
            }
            let error = Error::last(op);
            if error.errno != libc::EINTR {
                return Err(error);
            }
        }
    }
}
