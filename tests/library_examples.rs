//! The library's examples (`loader/examples/`), each run as a program
//! against a veth pair the harness makes, with the outcome checked from
//! outside: the kernel's view of the device (netlink), packets dropped or
//! passed, counters the example read from typed maps.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rxdp_kernel_tests::{bin, require_kernel, Ip, VethPair};
use rxdp_syscalls::bpf::prog_get_fd_by_id;
use rxdp_syscalls::netlink::{self, XdpFlags};

const PACKETS: usize = 10;

fn obj(name: &str) -> String {
    format!("{}/../progs/obj/{name}.o", env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>/examples/NAME`, built by `cargo build --examples`.
fn example(name: &str) -> PathBuf {
    bin(&format!("examples/{name}"))
}

/// Runs an example to its end; its stdout, or a panic with its stderr.
fn run(name: &str, args: &[&str]) -> String {
    let output = Command::new(example(name))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run example {name}: {error}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "example {name} {args:?} failed ({}):\n{stdout}{stderr}",
        output.status
    );
    stdout
}

/// Starts an example that waits for packets, returns once it printed its
/// first line (it is attached then), sends `PACKETS` UDP datagrams, and
/// returns the first line and the rest of its output.
fn run_with_traffic(name: &str, args: &[&str], pair: &VethPair) -> (String, String) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run example {name}: {error}"));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("read the example's output");
    assert!(!first.is_empty(), "example {name} printed nothing");
    pair.send_udp(Ip::V4, 7777, PACKETS, 4);
    let mut rest = String::new();
    for line in stdout.lines() {
        rest.push_str(&line.expect("read the example's output"));
        rest.push('\n');
    }
    let status = child.wait().expect("wait for the example");
    assert!(
        status.success(),
        "example {name} failed ({status}):\n{first}{rest}"
    );
    (first, rest)
}

/// The number after `word` in `text`.
fn number_after(text: &str, word: &str) -> u64 {
    let rest = text
        .split(word)
        .nth(1)
        .unwrap_or_else(|| panic!("no {word:?} in {text:?}"));
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {word:?} in {text:?}"))
}

#[test]
fn load_lists_the_object_and_leaves_nothing() {
    if !require_kernel() {
        return;
    }
    let out = run("load", &[&obj("tail_kern")]);
    for line in [
        "map_fd[0] jmp_table1 prog_array",
        "map_fd[1] jmp_table2 prog_array",
        "map_fd[2] counters array",
    ] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    let ids = [
        number_after(&out, "prog_fd[0] xdp_prog0 id"),
        number_after(&out, "prog_fd[1] xdp_prog1 id"),
    ];
    // Verified side by side (`Jobs::Auto`): the ids are distinct, in no order.
    assert!(ids[0] > 0 && ids[1] > 0 && ids[0] != ids[1], "{out}");
    // The example has exited: its programs went with its fds (the kernel
    // frees them after an RCU grace period).
    let deadline = Instant::now() + Duration::from_secs(5);
    for id in ids {
        loop {
            match prog_get_fd_by_id(id as u32) {
                Err(error) if error.errno == libc::ENOENT => break,
                Err(error) => panic!("prog id {id}: {error}"),
                Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Ok(_) => panic!("prog id {id} outlived the example"),
            }
        }
    }
}

#[test]
fn set_global_changes_the_verdict_on_the_wire() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    for (verdict, replies) in [("1", 0), ("2", 3)] {
        let out = run("set_global", &[&obj("global_data"), dev, verdict]);
        assert!(
            out.contains(&format!("returns {verdict} on {dev} (skb mode)")),
            "{out}"
        );
        let id = number_after(&out, "xdp_global id") as u32;
        // Kept: still attached after the example exited.
        let state = netlink::query(pair.root_ifindex()).expect("query the device");
        assert_eq!(state.skb_prog_id, Some(id), "{state:?}");
        assert_eq!(
            pair.send_icmp_echo(Ip::V4, 3),
            replies,
            "cfg_verdict = {verdict}"
        );
        netlink::detach(pair.root_ifindex(), XdpFlags::SKB_MODE).expect("detach");
    }
}

#[test]
fn prog_array_tail_calls_while_the_example_holds_it() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let count = PACKETS.to_string();
    let (first, rest) = run_with_traffic("prog_array", &[&obj("tail_kern"), dev, &count], &pair);
    assert!(first.contains(&format!("to {dev}")), "{first}");
    let (entered, reached) = (
        number_after(&rest, "entered"),
        number_after(&rest, "reached"),
    );
    assert!(reached >= PACKETS as u64, "{rest}");
    assert_eq!(
        entered, reached,
        "every packet that entered xdp0 reached xdp1: {rest}"
    );
    assert_eq!(number_after(&rest, "fell through"), 0, "{rest}");
    // detach() took it off the device.
    let state = netlink::query(pair.root_ifindex()).expect("query the device");
    assert_eq!(state.skb_prog_id, None, "{state:?}");
}

#[test]
fn read_map_counts_through_a_link() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let count = PACKETS.to_string();
    let (first, rest) = run_with_traffic("read_map", &[&obj("multi_prog"), dev, &count], &pair);
    assert!(first.contains(&format!("to {dev} in skb mode")), "{first}");
    let id = number_after(&first, "linked id") as u32;
    assert!(number_after(&rest, "hits[0] =") >= PACKETS as u64, "{rest}");
    // The link closed with the example: the kernel detached the program.
    let state = netlink::query(pair.root_ifindex()).expect("query the device");
    assert_ne!(state.skb_prog_id, Some(id), "{state:?}");
    assert_eq!(state.skb_prog_id, None, "{state:?}");
}
