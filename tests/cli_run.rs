//! `rxdp run`: programs run with `BPF_PROG_TEST_RUN` on the frames rxdp
//! builds, with and without jump-table entries, read back through the
//! JSON output (verdict, frame, metadata length, map contents).
//!
//! The verdicts are what each program's source says: multi_prog.c's three
//! programs return PASS, DROP and TX; btf_maps.c's entry tail-calls
//! `jmp[0]` = `tail_a` (DROP) from its `__array(values)` initialiser;
//! tail_kern.c's xdp0 falls through to PASS unless `jmp_table1[78]` holds
//! xdp1 (which also passes, and counts in `counters[1]`); iproute2_maps.c's
//! entry jumps to key 0, `1/0` = `tail_0` (PASS, counts in
//! `glob_counter`), or to `tail_1` (DROP) when `--map` puts it there.
//!
//! Tests of programs that call `bpf_trace_printk` hold the [`TraceLock`],
//! so that their lines never land in another test's reading of the pipe.

#[path = "load_common.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::{field, obj, pinned, read_u64, rxdp, with_article_jump};
use rxdp_cli::packet::{self, PacketKind};
use rxdp_kernel_tests::{require_kernel, TraceLock};

/// `rxdp run OBJ ARGS... --json`, which must succeed: its JSON line.
fn run_json(object: &str, args: &[&str]) -> String {
    let mut all = vec!["run", object];
    all.extend_from_slice(args);
    all.push("--json");
    let run = rxdp(&all).ok();
    assert!(run.stdout.ends_with("}\n"), "{run:?}");
    run.stdout
}

fn frame_hex(kind: PacketKind) -> String {
    packet::to_hex(&packet::build(kind))
}

#[test]
fn multi_prog_verdicts_follow_each_program() {
    if !require_kernel() {
        return;
    }
    let object = obj("multi_prog");
    for (entry, verdict, retval) in [
        ("xdp_first", "XDP_PASS", "2"),
        ("xdp_second", "XDP_DROP", "1"),
        ("xdp_third", "XDP_TX", "3"),
    ] {
        let json = run_json(&object, &["--entry", entry, "--packet", "udp"]);
        assert_eq!(field(&json, "verdict"), verdict, "{entry}: {json}");
        assert_eq!(field(&json, "retval"), retval, "{entry}: {json}");
        // The programs do not touch the frame.
        assert_eq!(field(&json, "data_out"), frame_hex(PacketKind::Udp));
        assert_eq!(field(&json, "repeat"), "1");
        assert_eq!(field(&json, "data_meta_len"), "0");
        field(&json, "duration_ns")
            .parse::<u32>()
            .unwrap_or_else(|_| panic!("duration_ns in {json}"));
    }
    // --repeat times separately; the verdict is the same.
    let json = run_json(
        &object,
        &[
            "--entry",
            "xdp_third",
            "--packet",
            "tcp",
            "--repeat",
            "1000",
        ],
    );
    assert_eq!(field(&json, "verdict"), "XDP_TX", "{json}");
    assert_eq!(field(&json, "repeat"), "1000", "{json}");
    // The text output names the verdict and decodes the frame.
    let run = rxdp(&["run", &object, "--entry", "2", "--packet", "icmp"]).ok();
    assert!(
        run.stdout
            .starts_with("prog_fd[2] xdp_third (section xdp): XDP_TX (retval 3)\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  icmp type 8 code 0, id 0x1234, seq 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn tail_kern_falls_through_without_the_entry_and_jumps_with_it() {
    if !require_kernel() {
        return;
    }
    let _trace = TraceLock::acquire();
    let object = obj("tail_kern");
    // counters: [0] xdp0 ran, [1] xdp1 reached, [2] fall-through.
    let json = run_json(
        &object,
        &[
            "--entry",
            "xdp0",
            "--packet",
            "udp",
            "--show-map",
            "counters",
        ],
    );
    assert_eq!(field(&json, "verdict"), "XDP_PASS", "{json}");
    assert!(
        json.contains(r#""counters":[{"key":0,"value":1},{"key":1,"value":0},{"key":2,"value":1},{"key":3,"value":0}]"#),
        "{json}"
    );
    let json = run_json(
        &object,
        &with_article_jump(&["--entry", "0", "--packet", "udp", "--show-map", "counters"]),
    );
    assert_eq!(field(&json, "verdict"), "XDP_PASS", "{json}");
    assert!(
        json.contains(r#""counters":[{"key":0,"value":1},{"key":1,"value":1},{"key":2,"value":0},{"key":3,"value":0}]"#),
        "the tail call reached xdp1: {json}"
    );
    let run = rxdp(&with_article_jump(&[
        "run", &object, "--entry", "0", "--packet", "udp",
    ]))
    .ok();
    assert!(
        run.stdout
            .contains("jump: map_fd[0] jmp_table1[78] = prog_fd[1] xdp_prog1 (explicit)\n"),
        "{}",
        run.stdout
    );
}

/// A pinned map's value at `key` now; `None` when the pin is not there.
fn pinned_value(path: &Path, key: u32) -> Option<u64> {
    path.exists().then(|| read_u64(&pinned(path), key))
}

#[test]
fn btf_maps_entry_drops_through_tail_a_and_leaves_no_pin() {
    if !require_kernel() {
        return;
    }
    let pin = Path::new("/sys/fs/bpf/pinned_counter");
    let existed = pin.exists();
    let json = run_json(
        &obj("btf_maps"),
        &[
            "--entry",
            "xdp_btf_entry",
            "--packet",
            "udp",
            "--show-map",
            "counts",
        ],
    );
    assert_eq!(field(&json, "verdict"), "XDP_DROP", "{json}");
    // counts: [0] the entry ran, [1] the tail call fell through.
    assert!(
        json.contains(r#""counts":[{"key":0,"value":1},{"key":1,"value":0}]"#),
        "{json}"
    );
    if !existed {
        assert!(!pin.exists(), "rxdp run left {} pinned", pin.display());
    }
    // jmp[3] is tail_b (XDP_TX); put it at 0 instead.
    let json = run_json(
        &obj("btf_maps"),
        &[
            "--entry",
            "xdp_btf_entry",
            "--map",
            "jmp",
            "--key",
            "0",
            "--prog",
            "tail_b",
            "--packet",
            "udp",
        ],
    );
    assert_eq!(field(&json, "verdict"), "XDP_TX", "{json}");
}

#[test]
fn iproute2_entry_follows_its_id_key_sections() {
    if !require_kernel() {
        return;
    }
    let object = obj("iproute2_maps");
    let globals = PathBuf::from("/sys/fs/bpf/tc/globals");
    let pin = globals.join("glob_counter");
    let tc_existed = Path::new("/sys/fs/bpf/tc").exists();
    // Shared with whatever else uses the pin: count from its value now.
    let before = pinned_value(&pin, 0);
    let json = run_json(
        &object,
        &[
            "--entry",
            "xdp_iproute2_entry",
            "--packet",
            "udp",
            "--show-map",
            "glob_counter",
            "--show-map",
            "obj_counter",
        ],
    );
    assert_eq!(field(&json, "verdict"), "XDP_PASS", "{json}");
    let counted = json
        .split_once(r#""glob_counter":[{"key":0,"value":"#)
        .and_then(|(_, rest)| rest.split_once('}'))
        .and_then(|(value, _)| value.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("glob_counter[0] in {json}"));
    assert_eq!(
        counted,
        before.unwrap_or(0) + 1,
        "1/0 (tail_0) ran once: {json}"
    );
    match before {
        Some(_) => assert!(pin.exists(), "a pin rxdp reused must stay"),
        None => assert!(!pin.exists(), "rxdp run left {} pinned", pin.display()),
    }
    if !tc_existed {
        assert!(
            !Path::new("/sys/fs/bpf/tc").exists(),
            "rxdp run left /sys/fs/bpf/tc behind"
        );
    }
    // An explicit entry wins over the section's: tail_1 drops.
    let json = run_json(
        &object,
        &[
            "--entry",
            "xdp_iproute2_entry",
            "--map",
            "jmp_map",
            "--key",
            "0",
            "--prog",
            "tail_1",
            "--packet",
            "udp",
        ],
    );
    assert_eq!(field(&json, "verdict"), "XDP_DROP", "{json}");
}

#[test]
fn the_tutorial_entry_leaves_its_metadata_in_front_of_the_frame() {
    if !require_kernel() {
        return;
    }
    let _trace = TraceLock::acquire();
    let object = obj("xdp_prog_kern");
    // struct meta_info: l4_header_offset, l4_protocol, l4_payload_len, pad
    // (u16 each, little endian), as progs/README.md lists them.
    for (kind, kind_name, meta) in [
        (PacketKind::Udp, "udp", "220011000c000000"),
        (PacketKind::Tcp, "tcp", "2200060028000000"),
        (PacketKind::Icmp, "icmp", "2200010040000000"),
        (PacketKind::Udp6, "udp6", "360011000c000000"),
    ] {
        let json = run_json(
            &object,
            &[
                "--entry",
                "xdp_entry",
                "--packet",
                kind_name,
                "--show-map",
                "stats",
            ],
        );
        assert_eq!(field(&json, "verdict"), "XDP_PASS", "{kind_name}: {json}");
        // The kernel copies data_out from data_meta: metadata, then frame.
        assert_eq!(field(&json, "data_meta_len"), "8", "{kind_name}: {json}");
        assert_eq!(
            field(&json, "data_out"),
            format!("{meta}{}", frame_hex(kind)),
            "{kind_name}"
        );
        // prog/0 (automatic key 0) ran and counted XDP_PASS.
        assert!(
            json.contains(
                r#""stats":[{"key":0,"value":0},{"key":1,"value":0},{"key":2,"value":1},"#
            ),
            "{kind_name}: {json}"
        );
    }
}

#[test]
fn the_offload_pair_hands_the_metadata_over_in_the_frame() {
    if !require_kernel() {
        return;
    }
    let _trace = TraceLock::acquire();
    let original = frame_hex(PacketKind::Udp);
    // xdp_entry_off prepends struct meta_info to the frame itself
    // (bpf_xdp_adjust_head), as an offloaded program must.
    let first = run_json(
        &obj("xdp_prog_kern_off"),
        &["--entry", "xdp_entry_off", "--packet", "udp"],
    );
    assert_eq!(field(&first, "verdict"), "XDP_PASS", "{first}");
    assert_eq!(field(&first, "data_meta_len"), "0", "{first}");
    let handed = field(&first, "data_out");
    assert_eq!(handed, format!("220011000c000000{original}"), "{first}");
    // xdp_tail reads and strips it: the frame comes out as it went in.
    let second = run_json(
        &obj("xdp_prog_kern_off_tail"),
        &[
            "--entry",
            "xdp_tail",
            "--packet-hex",
            handed,
            "--show-map",
            "stats",
        ],
    );
    assert_eq!(field(&second, "verdict"), "XDP_PASS", "{second}");
    assert_eq!(field(&second, "data_out"), original, "{second}");
    assert!(
        second.contains(r#""stats":[{"key":0,"value":0},{"key":1,"value":0},{"key":2,"value":1},"#),
        "{second}"
    );
}

#[test]
fn refusals_are_errors_not_runs() {
    if !require_kernel() {
        return;
    }
    let run = rxdp(&[
        "run",
        &obj("verifier_reject"),
        "--entry",
        "xdp_reject",
        "--packet",
        "udp",
    ])
    .failed();
    assert!(
        run.stderr.contains("at verifier_reject.c:22")
            && run.stderr.contains("(insn 1: r2 = *(u8 *)(r1 +12))"),
        "{}",
        run.stderr
    );
    let run = rxdp(&[
        "run",
        &obj("sections"),
        "--entry",
        "socket_0",
        "--packet",
        "udp",
    ])
    .failed();
    assert!(
        run.stderr
            .contains("is a socket_filter program; rxdp run runs XDP programs"),
        "{}",
        run.stderr
    );
    let run = rxdp(&[
        "run",
        &obj("tail_kern"),
        "--entry",
        "xdp9",
        "--packet",
        "udp",
    ])
    .failed();
    assert!(run.stderr.contains("xdp9"), "{}", run.stderr);
}
