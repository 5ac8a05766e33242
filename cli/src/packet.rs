//! Frames for test runs, and reading them back.
//!
//! [`build`] makes a well-formed Ethernet frame (lengths and checksums
//! right, as a NIC would deliver it) so that a program's parser takes the
//! path it takes for real traffic. [`decode`] describes a frame header by
//! header, checking the checksums, and [`hex_dump`] prints its bytes.
//!
//! The frames, sent from `02:00:00:00:00:01` to `02:00:00:00:00:02`,
//! 198.51.100.1 to 198.51.100.2 (TEST-NET-2) or 2001:db8::1 to
//! 2001:db8::2:
//!
//! - `udp`: IPv4, UDP 40000 → 7777 with the 4 bytes `rxdp` (UDP length 12);
//! - `tcp`: IPv4, a SYN 40000 → 80 with the 20 bytes of options Linux
//!   sends (MSS, SACK permitted, timestamps, window scale): 40 bytes of TCP;
//! - `icmp`: IPv4, an echo request with 56 data bytes, as `ping` sends
//!   (64 bytes of ICMP);
//! - `udp6`: the UDP datagram over IPv6.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The frames `rxdp run --packet` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Udp,
    Tcp,
    Icmp,
    Udp6,
}

impl PacketKind {
    /// `udp`, `tcp`, `icmp`, `udp6`.
    pub fn parse(text: &str) -> Option<PacketKind> {
        Some(match text {
            "udp" => PacketKind::Udp,
            "tcp" => PacketKind::Tcp,
            "icmp" => PacketKind::Icmp,
            "udp6" => PacketKind::Udp6,
            _ => return None,
        })
    }
}

pub const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const SRC_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
pub const DST_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
pub const SRC_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const DST_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
/// The UDP payload: 4 bytes, so that the UDP length is 12.
pub const UDP_PAYLOAD: &[u8; 4] = b"rxdp";
/// Data bytes of the ICMP echo request, as `ping`'s default.
pub const ICMP_DATA_LEN: usize = 56;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;

/// The frame of `kind`.
pub fn build(kind: PacketKind) -> Vec<u8> {
    match kind {
        PacketKind::Udp => ipv4(IPPROTO_UDP, &udp_v4()),
        PacketKind::Tcp => ipv4(IPPROTO_TCP, &tcp_syn()),
        PacketKind::Icmp => ipv4(IPPROTO_ICMP, &icmp_echo()),
        PacketKind::Udp6 => ipv6(IPPROTO_UDP, &udp_v6()),
    }
}

/// Bytes from hex text; spaces, newlines and `:` between bytes are allowed.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if digits.len() % 2 != 0 {
        return Err(format!("{} hex digits: bytes need two each", digits.len()));
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).map_err(|_| "not hex text".to_owned())?;
            u8::from_str_radix(pair, 16).map_err(|_| format!("`{pair}` is not a hex byte"))
        })
        .collect()
}

/// The bytes as lowercase hex, no separators (what `--json` prints).
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `0000  02 00 00 00 00 02 02 00  00 00 00 01 08 00 45 00  ..............E.`
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:04x} ", row * 16);
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, " {b:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  ");
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

// ----------------------------------------------------------------- build

/// The Internet checksum (RFC 1071) of `parts` concatenated.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for byte in parts.iter().flat_map(|p| p.iter().copied()) {
        match odd.take() {
            Some(high) => sum += u32::from(u16::from_be_bytes([high, byte])),
            None => odd = Some(byte),
        }
    }
    if let Some(high) = odd {
        sum += u32::from(u16::from_be_bytes([high, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ethernet(ethertype: u16) -> Vec<u8> {
    let mut frame = Vec::with_capacity(128);
    frame.extend_from_slice(&DST_MAC);
    frame.extend_from_slice(&SRC_MAC);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame
}

fn ipv4(protocol: u8, l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut header = [0u8; 20];
    header[0] = 0x45; // version 4, 5 words of header
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header[6] = 0x40; // don't fragment
    header[8] = 64; // TTL
    header[9] = protocol;
    header[12..16].copy_from_slice(&SRC_V4.octets());
    header[16..20].copy_from_slice(&DST_V4.octets());
    let sum = checksum(&[&header]);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut frame = ethernet(ETH_P_IP);
    frame.extend_from_slice(&header);
    frame.extend_from_slice(l4);
    frame
}

fn ipv6(next_header: u8, l4: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 40];
    header[0] = 0x60; // version 6
    header[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
    header[6] = next_header;
    header[7] = 64; // hop limit
    header[8..24].copy_from_slice(&SRC_V6.octets());
    header[24..40].copy_from_slice(&DST_V6.octets());
    let mut frame = ethernet(ETH_P_IPV6);
    frame.extend_from_slice(&header);
    frame.extend_from_slice(l4);
    frame
}

/// The IPv4 pseudo-header of UDP and TCP checksums.
fn pseudo_v4(protocol: u8, len: usize) -> Vec<u8> {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&SRC_V4.octets());
    pseudo.extend_from_slice(&DST_V4.octets());
    pseudo.extend_from_slice(&[0, protocol]);
    pseudo.extend_from_slice(&(len as u16).to_be_bytes());
    pseudo
}

fn pseudo_v6(next_header: u8, len: usize) -> Vec<u8> {
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&SRC_V6.octets());
    pseudo.extend_from_slice(&DST_V6.octets());
    pseudo.extend_from_slice(&(len as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, next_header]);
    pseudo
}

fn udp(pseudo: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let len = 8 + UDP_PAYLOAD.len();
    let mut udp = Vec::with_capacity(len);
    udp.extend_from_slice(&40000u16.to_be_bytes());
    udp.extend_from_slice(&7777u16.to_be_bytes());
    udp.extend_from_slice(&(len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(UDP_PAYLOAD);
    let sum = match checksum(&[&pseudo(len), &udp]) {
        // 0 means "no checksum" in UDP; a computed 0 is sent as 0xffff.
        0 => 0xffff,
        sum => sum,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    udp
}

fn udp_v4() -> Vec<u8> {
    udp(|len| pseudo_v4(IPPROTO_UDP, len))
}

fn udp_v6() -> Vec<u8> {
    udp(|len| pseudo_v6(IPPROTO_UDP, len))
}

fn tcp_syn() -> Vec<u8> {
    let mut tcp = Vec::with_capacity(40);
    tcp.extend_from_slice(&40000u16.to_be_bytes());
    tcp.extend_from_slice(&80u16.to_be_bytes());
    tcp.extend_from_slice(&1u32.to_be_bytes()); // sequence number
    tcp.extend_from_slice(&0u32.to_be_bytes()); // no ack yet
    tcp.push(10 << 4); // data offset: 10 words (20 of header, 20 of options)
    tcp.push(0x02); // SYN
    tcp.extend_from_slice(&64240u16.to_be_bytes()); // window
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
                                          // Linux's SYN options: MSS 1460, SACK permitted, timestamps, NOP,
                                          // window scale 7.
    tcp.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
    tcp.extend_from_slice(&1u32.to_be_bytes());
    tcp.extend_from_slice(&0u32.to_be_bytes());
    tcp.extend_from_slice(&[1, 3, 3, 7]);
    let sum = checksum(&[&pseudo_v4(IPPROTO_TCP, tcp.len()), &tcp]);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    tcp
}

fn icmp_echo() -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0]; // echo request, code 0, checksum
    icmp.extend_from_slice(&0x1234u16.to_be_bytes()); // identifier
    icmp.extend_from_slice(&1u16.to_be_bytes()); // sequence
    icmp.extend((0..ICMP_DATA_LEN).map(|i| i as u8));
    let sum = checksum(&[&icmp]);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    icmp
}

// ---------------------------------------------------------------- decode

/// One line per header, as far as the frame goes: Ethernet (and VLAN
/// tags), IPv4 or IPv6, UDP, TCP, ICMP or ICMPv6, then what follows.
/// Checksums are checked. A frame cut short says where.
pub fn decode(frame: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(eth) = frame.get(..14) else {
        lines.push(format!(
            "{} bytes: shorter than an Ethernet header",
            frame.len()
        ));
        return lines;
    };
    let mut ethertype = be16(eth, 12);
    lines.push(format!(
        "ethernet {} > {}, type {:#06x}{}",
        mac(&eth[6..12]),
        mac(&eth[..6]),
        ethertype,
        ethertype_name(ethertype)
    ));
    let mut at = 14;
    while ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD {
        let Some(tag) = frame.get(at..at + 4) else {
            lines.push("vlan tag: truncated".to_owned());
            return lines;
        };
        ethertype = be16(tag, 2);
        lines.push(format!(
            "vlan {}, type {:#06x}{}",
            be16(tag, 0) & 0x0fff,
            ethertype,
            ethertype_name(ethertype)
        ));
        at += 4;
    }
    let rest = &frame[at..];
    match ethertype {
        ETH_P_IP => decode_ipv4(rest, &mut lines),
        ETH_P_IPV6 => decode_ipv6(rest, &mut lines),
        _ => lines.push(format!("{} bytes of payload", rest.len())),
    }
    lines
}

fn decode_ipv4(packet: &[u8], lines: &mut Vec<String>) {
    let Some(&first) = packet.first() else {
        lines.push("ipv4: truncated".to_owned());
        return;
    };
    let header_len = usize::from(first & 0x0f) * 4;
    let Some(header) = packet.get(..header_len.max(20)) else {
        lines.push(format!("ipv4: truncated ({} bytes)", packet.len()));
        return;
    };
    let total = usize::from(be16(header, 2));
    let protocol = header[9];
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
    let sum_ok = header_len >= 20 && checksum(&[header]) == 0;
    lines.push(format!(
        "ipv4 {src} > {dst}, proto {protocol}{}, ttl {}, length {total}, header checksum {:#06x} {}",
        protocol_name(protocol),
        header[8],
        be16(header, 10),
        if sum_ok { "ok" } else { "BAD" }
    ));
    let end = total.min(packet.len());
    let l4 = packet.get(header_len..end).unwrap_or_default();
    let pseudo = |len: usize| {
        let mut p = Vec::with_capacity(12);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(&[0, protocol]);
        p.extend_from_slice(&(len as u16).to_be_bytes());
        p
    };
    decode_l4(protocol, l4, &pseudo, lines);
    if packet.len() > total {
        lines.push(format!(
            "{} bytes after the IP packet",
            packet.len() - total
        ));
    }
}

fn decode_ipv6(packet: &[u8], lines: &mut Vec<String>) {
    let Some(header) = packet.get(..40) else {
        lines.push(format!("ipv6: truncated ({} bytes)", packet.len()));
        return;
    };
    let payload_len = usize::from(be16(header, 4));
    let next = header[6];
    let mut src = [0u8; 16];
    src.copy_from_slice(&header[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&header[24..40]);
    lines.push(format!(
        "ipv6 {} > {}, next header {next}{}, hop limit {}, payload length {payload_len}",
        Ipv6Addr::from(src),
        Ipv6Addr::from(dst),
        protocol_name(next),
        header[7]
    ));
    let end = (40 + payload_len).min(packet.len());
    let l4 = packet.get(40..end).unwrap_or_default();
    let pseudo = |len: usize| {
        let mut p = Vec::with_capacity(40);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&(len as u32).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, next]);
        p
    };
    decode_l4(next, l4, &pseudo, lines);
    if packet.len() > 40 + payload_len {
        lines.push(format!(
            "{} bytes after the IP packet",
            packet.len() - 40 - payload_len
        ));
    }
}

fn decode_l4(protocol: u8, l4: &[u8], pseudo: &dyn Fn(usize) -> Vec<u8>, lines: &mut Vec<String>) {
    let ok = |with_pseudo: bool| {
        let sum = if with_pseudo {
            checksum(&[&pseudo(l4.len()), l4])
        } else {
            checksum(&[l4])
        };
        if sum == 0 {
            "ok"
        } else {
            "BAD"
        }
    };
    match protocol {
        IPPROTO_UDP => match l4.get(..8) {
            Some(h) => lines.push(format!(
                "udp {} > {}, length {}, checksum {:#06x} {}, {} bytes of data",
                be16(h, 0),
                be16(h, 2),
                be16(h, 4),
                be16(h, 6),
                if be16(h, 6) == 0 { "(none)" } else { ok(true) },
                l4.len() - 8
            )),
            None => lines.push("udp: truncated".to_owned()),
        },
        IPPROTO_TCP => match l4.get(..20) {
            Some(h) => lines.push(format!(
                "tcp {} > {}, flags [{}], seq {}, header {} bytes, checksum {:#06x} {}, {} bytes of data",
                be16(h, 0),
                be16(h, 2),
                tcp_flags(h[13]),
                u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                usize::from(h[12] >> 4) * 4,
                be16(h, 16),
                ok(true),
                l4.len().saturating_sub(usize::from(h[12] >> 4) * 4)
            )),
            None => lines.push("tcp: truncated".to_owned()),
        },
        IPPROTO_ICMP | IPPROTO_ICMPV6 => match l4.get(..8) {
            Some(h) => lines.push(format!(
                "{} type {} code {}, id {:#06x}, seq {}, checksum {:#06x} {}, {} bytes of data",
                if protocol == IPPROTO_ICMP { "icmp" } else { "icmpv6" },
                h[0],
                h[1],
                be16(h, 4),
                be16(h, 6),
                be16(h, 2),
                ok(protocol == IPPROTO_ICMPV6),
                l4.len() - 8
            )),
            None => lines.push("icmp: truncated".to_owned()),
        },
        _ => lines.push(format!("{} bytes of protocol {protocol}", l4.len())),
    }
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    match bytes.get(at..at + 2) {
        Some(pair) => u16::from_be_bytes([pair[0], pair[1]]),
        None => 0,
    }
}

fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn ethertype_name(ethertype: u16) -> &'static str {
    match ethertype {
        ETH_P_IP => " (ipv4)",
        ETH_P_IPV6 => " (ipv6)",
        ETH_P_8021Q => " (802.1q)",
        ETH_P_8021AD => " (802.1ad)",
        0x0806 => " (arp)",
        _ => "",
    }
}

fn protocol_name(protocol: u8) -> &'static str {
    match protocol {
        IPPROTO_ICMP => " (icmp)",
        IPPROTO_TCP => " (tcp)",
        IPPROTO_UDP => " (udp)",
        IPPROTO_ICMPV6 => " (icmpv6)",
        _ => "",
    }
}

fn tcp_flags(flags: u8) -> String {
    let names = [
        (0x02, 'S'),
        (0x10, '.'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x20, 'U'),
    ];
    names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_lengths_the_tutorial_expects() {
        // Ethernet 14 + IPv4 20: the L4 header starts at 34.
        let udp = build(PacketKind::Udp);
        assert_eq!(udp.len(), 14 + 20 + 12);
        assert_eq!(be16(&udp, 14 + 2), 32, "IPv4 total length");
        assert_eq!(be16(&udp, 34 + 4), 12, "UDP length: payload_len=12");
        assert_eq!(&udp[42..], b"rxdp");
        let icmp = build(PacketKind::Icmp);
        assert_eq!(icmp.len(), 34 + 64, "ICMP: payload_len=64");
        let tcp = build(PacketKind::Tcp);
        assert_eq!(tcp.len(), 34 + 40, "a Linux SYN: payload_len=40");
        let udp6 = build(PacketKind::Udp6);
        assert_eq!(udp6.len(), 14 + 40 + 12);
        assert_eq!(be16(&udp6, 12), ETH_P_IPV6);
        assert_eq!(be16(&udp6, 14 + 4), 12, "IPv6 payload length");
    }

    #[test]
    fn checksums_verify() {
        let udp = build(PacketKind::Udp);
        // The header checksum makes the header sum to 0 (all ones).
        assert_eq!(checksum(&[&udp[14..34]]), 0);
        // RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        assert_eq!(
            checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            !0xddf2
        );
        for kind in [
            PacketKind::Udp,
            PacketKind::Tcp,
            PacketKind::Icmp,
            PacketKind::Udp6,
        ] {
            let lines = decode(&build(kind));
            assert!(
                !lines.iter().any(|l| l.contains("BAD")),
                "{kind:?}: {lines:?}"
            );
            assert_eq!(lines.len(), 3, "{kind:?}: {lines:?}");
        }
    }

    #[test]
    fn decoding_names_every_header() {
        let lines = decode(&build(PacketKind::Udp));
        assert_eq!(
            lines[0],
            "ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, type 0x0800 (ipv4)"
        );
        assert!(
            lines[1].starts_with("ipv4 198.51.100.1 > 198.51.100.2, proto 17 (udp), ttl 64, length 32, header checksum 0x"),
            "{lines:?}"
        );
        assert!(lines[1].ends_with(" ok"), "{lines:?}");
        assert!(
            lines[2].starts_with("udp 40000 > 7777, length 12, checksum 0x")
                && lines[2].ends_with(" ok, 4 bytes of data"),
            "{lines:?}"
        );
        let lines = decode(&build(PacketKind::Tcp));
        assert!(
            lines[2].starts_with("tcp 40000 > 80, flags [S], seq 1, header 40 bytes"),
            "{lines:?}"
        );
        let lines = decode(&build(PacketKind::Udp6));
        assert!(
            lines[1].starts_with("ipv6 2001:db8::1 > 2001:db8::2, next header 17 (udp)"),
            "{lines:?}"
        );
        let lines = decode(&build(PacketKind::Icmp));
        assert!(
            lines[2].starts_with("icmp type 8 code 0, id 0x1234, seq 1"),
            "{lines:?}"
        );
        assert!(lines[2].ends_with("ok, 56 bytes of data"), "{lines:?}");
    }

    #[test]
    fn damaged_and_short_frames() {
        let mut udp = build(PacketKind::Udp);
        udp[42] ^= 0xff;
        assert!(decode(&udp)[2].contains(" BAD, "), "{:?}", decode(&udp));
        assert_eq!(
            decode(&udp[..10]),
            vec!["10 bytes: shorter than an Ethernet header"]
        );
        assert_eq!(decode(&udp[..20])[1], "ipv4: truncated (6 bytes)");
        assert_eq!(decode(&udp[..38])[2], "udp: truncated");
        let mut tagged = udp[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        tagged.extend_from_slice(&udp[12..]);
        let lines = decode(&tagged);
        assert_eq!(lines[1], "vlan 5, type 0x0800 (ipv4)");
        assert!(lines[3].starts_with("udp 40000 > 7777"), "{lines:?}");
    }

    #[test]
    fn hex_in_and_out() {
        assert_eq!(parse_hex("02 00:0a\nFF").unwrap(), vec![2, 0, 10, 255]);
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
        assert_eq!(to_hex(&[0, 0xab]), "00ab");
        let dump = hex_dump(&build(PacketKind::Udp));
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            "0000  02 00 00 00 00 02 02 00  00 00 00 01 08 00 45 00  ..............E."
        );
        assert!(lines[2].starts_with("0020  "), "{dump}");
        assert!(lines[2].ends_with("rxdp"), "{dump}");
    }
}
