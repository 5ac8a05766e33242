//! Test traffic, sent from inside a pair's namespace towards the root end so
//! that it arrives on the XDP interface. Every sender is bounded in packets
//! and in time; none shells out (no `ping` on this machine).

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{
    recv, sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockProtocol,
    SockType, SockaddrIn, SockaddrIn6,
};
use nix::sys::time::{TimeVal, TimeValLike};

use crate::net::{Ip, VethPair};

/// Most packets one call sends: enough for any test, small enough that a
/// mistake cannot flood.
pub const MAX_PACKETS: usize = 10_000;
/// How long a TCP connect attempt waits for an answer.
pub const TCP_TIMEOUT: Duration = Duration::from_millis(500);
/// How long to wait for echo replies after the last request.
pub const ICMP_REPLY_WAIT: Duration = Duration::from_millis(500);
/// Data bytes in an echo request, as `ping` sends by default.
pub const ICMP_DATA_LEN: usize = 56;

/// What a TCP connect attempt ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOutcome {
    /// SYN-ACK: something listens.
    Connected,
    /// RST: the SYN arrived, nothing listens.
    Refused,
    /// No answer within [`TCP_TIMEOUT`]: the SYN (or its answer) was dropped.
    TimedOut,
}

impl VethPair {
    /// Sends `count` UDP datagrams of `payload_len` bytes from the peer to
    /// `port` on the root end. Each payload starts with its sequence number
    /// (u32, big-endian, as far as it fits); the rest is zero. The size must
    /// fit the 1500-byte MTU unfragmented.
    pub fn send_udp(&self, ip: Ip, port: u16, count: usize, payload_len: usize) {
        assert!(
            count <= MAX_PACKETS,
            "send_udp: {count} > {MAX_PACKETS} packets"
        );
        let headers = match ip {
            Ip::V4 => 20 + 8,
            Ip::V6 => 40 + 8,
        };
        assert!(
            payload_len + headers <= 1500,
            "send_udp: a {payload_len}-byte payload does not fit the MTU unfragmented"
        );
        let from = SocketAddr::new(self.peer_addr(ip), 0);
        let to = SocketAddr::new(self.root_addr(ip), port);
        self.netns().run(move || {
            let socket = UdpSocket::bind(from)
                .unwrap_or_else(|error| panic!("send_udp: bind {from}: {error}"));
            let mut payload = vec![0u8; payload_len];
            for seq in 0..count as u32 {
                let stamp = seq.to_be_bytes();
                let n = payload_len.min(4);
                payload[..n].copy_from_slice(&stamp[..n]);
                socket
                    .send_to(&payload, to)
                    .unwrap_or_else(|error| panic!("send_udp: to {to}: {error}"));
            }
        });
    }

    /// Attempts one TCP connection from the peer to `port` on the root end:
    /// a SYN with the usual options (MSS, SACK, timestamps, window scale),
    /// retransmitted by the kernel if needed within [`TCP_TIMEOUT`].
    pub fn send_tcp_syn(&self, ip: Ip, port: u16) -> TcpOutcome {
        let to = SocketAddr::new(self.root_addr(ip), port);
        self.netns()
            .run(move || match TcpStream::connect_timeout(&to, TCP_TIMEOUT) {
                Ok(_) => TcpOutcome::Connected,
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => TcpOutcome::Refused,
                Err(error)
                    if matches!(error.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
                {
                    TcpOutcome::TimedOut
                }
                Err(error) => panic!("send_tcp_syn: to {to}: {error}"),
            })
    }

    /// Sends `count` ICMP (or ICMPv6) echo requests with [`ICMP_DATA_LEN`]
    /// data bytes from the peer to the root end, over a raw socket, and
    /// returns how many echo replies came back within [`ICMP_REPLY_WAIT`]
    /// of the last request.
    pub fn send_icmp_echo(&self, ip: Ip, count: usize) -> usize {
        assert!(
            count <= MAX_PACKETS,
            "send_icmp_echo: {count} > {MAX_PACKETS} packets"
        );
        let to = self.root_addr(ip);
        // The identifier tells our replies from anything else the raw socket sees.
        let id = (std::process::id() as u16) ^ 0x7278;
        self.netns().run(move || {
            let (family, protocol) = match ip {
                Ip::V4 => (AddressFamily::Inet, SockProtocol::Icmp),
                Ip::V6 => (AddressFamily::Inet6, SockProtocol::IcmpV6),
            };
            let socket = socket(family, SockType::Raw, SockFlag::SOCK_CLOEXEC, protocol)
                .unwrap_or_else(|errno| panic!("send_icmp_echo: raw socket: {errno}"));
            let fd = socket.as_raw_fd();
            for seq in 0..count as u16 {
                let request = echo_request(ip, id, seq);
                let sent = match to {
                    std::net::IpAddr::V4(addr) => {
                        let addr = SockaddrIn::from(std::net::SocketAddrV4::new(addr, 0));
                        sendto(fd, &request, &addr, MsgFlags::empty())
                    }
                    std::net::IpAddr::V6(addr) => {
                        let addr = SockaddrIn6::from(std::net::SocketAddrV6::new(addr, 0, 0, 0));
                        sendto(fd, &request, &addr, MsgFlags::empty())
                    }
                };
                sent.unwrap_or_else(|errno| panic!("send_icmp_echo: to {to}: {errno}"));
            }

            let deadline = Instant::now() + ICMP_REPLY_WAIT;
            let mut replies = 0;
            let mut buffer = [0u8; 2048];
            while replies < count {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let timeout = TimeVal::microseconds(left.as_micros().max(1) as i64);
                setsockopt(&socket, sockopt::ReceiveTimeout, &timeout)
                    .unwrap_or_else(|errno| panic!("send_icmp_echo: SO_RCVTIMEO: {errno}"));
                match recv(fd, &mut buffer, MsgFlags::empty()) {
                    Ok(len) => {
                        if is_echo_reply(ip, id, &buffer[..len]) {
                            replies += 1;
                        }
                    }
                    Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
                    Err(errno) => panic!("send_icmp_echo: recv: {errno}"),
                }
            }
            replies
        })
    }
}

/// An echo request: type, code, checksum, identifier, sequence number, data.
/// ICMPv6 checksums cover a pseudo-header the kernel fills in for raw
/// ICMPv6 sockets, so only the IPv4 one is computed here.
fn echo_request(ip: Ip, id: u16, seq: u16) -> Vec<u8> {
    let echo_type = match ip {
        Ip::V4 => 8,   // ICMP_ECHO
        Ip::V6 => 128, // ICMPV6_ECHO_REQUEST
    };
    let mut message = vec![echo_type, 0, 0, 0];
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend((0..ICMP_DATA_LEN).map(|i| i as u8));
    if ip == Ip::V4 {
        let checksum = internet_checksum(&message);
        message[2..4].copy_from_slice(&checksum.to_be_bytes());
    }
    message
}

/// Whether `packet` (with its IPv4 header for IPv4 raw sockets, without for
/// ICMPv6 ones) is an echo reply carrying identifier `id`.
fn is_echo_reply(ip: Ip, id: u16, packet: &[u8]) -> bool {
    let (icmp, reply_type) = match ip {
        Ip::V4 => {
            let header_len = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
            (packet.get(header_len..).unwrap_or(&[]), 0) // ICMP_ECHOREPLY
        }
        Ip::V6 => (packet, 129), // ICMPV6_ECHO_REPLY
    };
    icmp.len() >= 8 && icmp[0] == reply_type && icmp[4..6] == id.to_be_bytes()
}

/// RFC 1071: the ones' complement of the ones' complement sum of 16-bit words.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Receives datagrams on `socket` until `max` have arrived or none arrives
/// for `quiet`; returns how many arrived.
pub fn receive_udp(socket: &UdpSocket, max: usize, quiet: Duration) -> usize {
    socket
        .set_read_timeout(Some(quiet))
        .unwrap_or_else(|error| panic!("receive_udp: set_read_timeout: {error}"));
    let mut buffer = [0u8; 2048];
    let mut received = 0;
    while received < max {
        match socket.recv(&mut buffer) {
            Ok(_) => received += 1,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => panic!("receive_udp: {error}"),
        }
    }
    received
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_an_echo_request_verifies() {
        let request = echo_request(Ip::V4, 0x1234, 1);
        assert_eq!(request.len(), 8 + ICMP_DATA_LEN);
        // Summing a message with its checksum in place gives 0xffff, i.e. 0 complemented.
        assert_eq!(internet_checksum(&request), 0);
        // RFC 1071's example words: 0001 f203 f4f5 f6f7 sum to ddf2, complemented 220d.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
    }

    #[test]
    fn echo_replies_are_told_apart() {
        let mut reply = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        reply.extend_from_slice(&[0, 0, 0, 0, 0x12, 0x34, 0, 1]);
        assert!(is_echo_reply(Ip::V4, 0x1234, &reply));
        assert!(!is_echo_reply(Ip::V4, 0x4321, &reply));
        assert!(!is_echo_reply(Ip::V4, 0x1234, &reply[..24]));
        assert!(is_echo_reply(
            Ip::V6,
            0x1234,
            &[129, 0, 0, 0, 0x12, 0x34, 0, 1]
        ));
        assert!(!is_echo_reply(
            Ip::V6,
            0x1234,
            &[128, 0, 0, 0, 0x12, 0x34, 0, 1]
        ));
        assert!(!is_echo_reply(Ip::V4, 0x1234, &[]));
    }
}
