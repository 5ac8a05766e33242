//! The xdp-tutorial's packet04 lesson (design.md, seed 2): `xdp_entry`
//! writes `{l4_header_offset, l4_protocol, l4_payload_len}` into the XDP
//! metadata and tail-calls `prog/0`, which rxdp puts at key 0 of the prog
//! array by itself. `prog/0` records the metadata of the latest packet per
//! (ethertype, protocol) in `seen` and counts verdicts in `stats`, and
//! prints the seed's trace lines.

#[path = "load_common.rs"]
mod common;

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use common::*;
use rxdp_kernel_tests::{require_kernel, Ip, TcpOutcome, TraceLock, VethPair, ICMP_DATA_LEN};
use rxdp_syscalls::bpf::MapHandle;
use rxdp_syscalls::fs::tracefs::{printk_message, TracePipe};

/// `XDP_PASS`, the index of `stats` prog/0 counts.
const XDP_PASS: u32 = 2;
/// Ethertypes as the frame carries them (network order).
const ETH_P_IP: [u8; 2] = [0x08, 0x00];
const ETH_P_IPV6: [u8; 2] = [0x86, 0xdd];

/// `seen[{h_proto, l4_protocol}]`: (l4_header_offset, l4_protocol,
/// l4_payload_len, count).
fn seen(map: &OwnedFd, ethertype: [u8; 2], protocol: u8) -> Option<(u16, u16, u16, u64)> {
    let handle = MapHandle::new(map.as_fd()).unwrap_or_else(|error| panic!("seen: {error}"));
    let key = [ethertype[0], ethertype[1], protocol, 0];
    let mut value = [0u8; 16];
    let found = handle
        .lookup(&key, &mut value)
        .unwrap_or_else(|error| panic!("seen: {error}"));
    let u16_at = |i: usize| u16::from_ne_bytes([value[i], value[i + 1]]);
    let count = u64::from_ne_bytes(value[8..16].try_into().unwrap_or_default());
    found.then(|| (u16_at(0), u16_at(2), u16_at(4), count))
}

/// Loads the tutorial's object on a new pair in skb mode; checks the
/// automatic `prog/0` entry. Returns the pair and the pin directory.
fn load_tutorial() -> (VethPair, RemovePins) {
    let pair = VethPair::new();
    let dev = pair.root_name().to_string();
    let pins = RemovePins(device_pins(&dev));
    let object = obj("xdp_prog_kern");
    let run = rxdp_load(&[&object, "--dev", &dev, "--mode", "skb"]).ok();
    assert!(
        run.stdout
            .contains("jump: map_fd[0][0] = prog_fd[1] (prog n)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("prog_fd[1] = xdp_prog0 (xdp, id ")
            && run.stdout.contains("section prog/0)"),
        "{}",
        run.stdout
    );
    // The jump table holds prog_fd[1], read back through its pin after exit.
    let jmp_table = pinned(&pins.0.join("skb/jmp_table"));
    assert_eq!(
        read_u32(&jmp_table, 0),
        Some(printed_prog_id(&run.stdout, 1))
    );
    (pair, pins)
}

#[test]
fn metadata_of_udp_tcp_and_icmp_over_ipv4_and_ipv6() {
    if !require_kernel() {
        return;
    }
    let (pair, pins) = load_tutorial();
    let seen_map = pinned(&pins.0.join("skb/seen"));
    let stats = pinned(&pins.0.join("skb/stats"));

    pair.send_udp(Ip::V4, 7777, 3, 4);
    pair.send_udp(Ip::V6, 7777, 2, 4);
    assert_eq!(pair.send_tcp_syn(Ip::V4, 7778), TcpOutcome::Refused);
    assert_eq!(pair.send_icmp_echo(Ip::V4, 2), 2);
    assert_eq!(pair.send_icmp_echo(Ip::V6, 2), 2);
    let icmp_payload = (8 + ICMP_DATA_LEN) as u16;

    let expected = [
        (ETH_P_IP, 17, (34, 17, 12), 3),
        (ETH_P_IPV6, 17, (54, 17, 12), 2),
        // A Linux SYN carries 20 bytes of options: 20 + 20 = 40.
        (ETH_P_IP, 6, (34, 6, 40), 1),
        (ETH_P_IP, 1, (34, 1, icmp_payload), 2),
        (ETH_P_IPV6, 58, (54, 58, icmp_payload), 2),
    ];
    for (ethertype, protocol, (offset, l4, payload), count) in expected {
        let Some((got_offset, got_l4, got_payload, got_count)) =
            seen(&seen_map, ethertype, protocol)
        else {
            panic!("no seen entry for {ethertype:?}/{protocol}");
        };
        assert_eq!(
            (got_offset, got_l4, got_payload),
            (offset, l4, payload),
            "metadata of {ethertype:?}/{protocol}"
        );
        assert!(
            got_count >= count,
            "{ethertype:?}/{protocol}: {got_count} < {count}"
        );
    }
    let passed = read_u64(&stats, XDP_PASS);
    assert!(
        passed >= 10,
        "stats[XDP_PASS] = {passed}, 10 packets were sent"
    );
}

#[test]
fn the_trace_pipe_shows_the_seed_lines() {
    if !require_kernel() {
        return;
    }
    let _lock = TraceLock::acquire();
    let (pair, _pins) = load_tutorial();
    let mut pipe = TracePipe::open().unwrap_or_else(|error| panic!("trace_pipe: {error}"));
    pair.send_udp(Ip::V4, 7777, 1, 4);
    let mut wanted = vec![
        "meta is OK l4_header_offset=34 protocol=17 payload_len=12",
        "this is a UDP packet",
        "returning 2",
    ];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !wanted.is_empty() && Instant::now() < deadline {
        let lines = pipe
            .read_lines(deadline.saturating_duration_since(Instant::now()), 64)
            .unwrap_or_else(|error| panic!("trace_pipe: {error}"));
        for line in &lines {
            if let Some(message) = printk_message(line) {
                wanted.retain(|w| *w != message.trim_end());
            }
        }
    }
    assert!(wanted.is_empty(), "not in the trace pipe: {wanted:?}");
}
