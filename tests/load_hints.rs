//! XDP hints: xdp_hints.o calls `bpf_xdp_metadata_rx_hash`, so rxdp loads
//! it bound to the device it attaches to (`BPF_F_XDP_DEV_BOUND_ONLY` with
//! `prog_ifindex`), and veth, which implements rx_hash in native mode,
//! gives it the hash of each frame: the kfunc's return value (0), the
//! hash (non-zero) and the count of frames are read back from its map
//! after UDP sent through the pair.
//!
//! What the kernel refuses, measured here (6.18), and how rxdp says it:
//! generic mode ("Can't attach device-bound programs in generic mode"),
//! a load with no device (rxdp refuses first, naming the kfunc), and
//! `BPF_PROG_TEST_RUN` of a device-bound program (EINVAL) — `rxdp run`
//! without `--dev` runs the program with the hints calls answering
//! `-EOPNOTSUPP`, as on a device without hints.

#[path = "load_common.rs"]
mod common;

use common::{
    device_pins, eventually, obj, pinned, printed_prog_id, read_u64, rxdp, rxdp_load, xdp,
    RemovePins,
};
use rxdp_kernel_tests::{require_kernel, Ip, VethPair};

/// Whether the kernel has the XDP hints kfuncs (6.3; the 6.1 guest has
/// not): its BTF names them.
fn kernel_has_hints() -> bool {
    let btf = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let name = b"bpf_xdp_metadata_rx_hash\0";
    btf.windows(name.len()).any(|window| window == name)
}

/// On a kernel without the hints kfuncs, the load says which one is
/// missing, and nothing is attached.
fn refused_without_hints(pair: &VethPair, object: &str) {
    let run = rxdp_load(&[object, "--dev", pair.root_name()]).failed();
    assert!(
        run.stderr.contains(
            "kernel function bpf_xdp_metadata_rx_hash (called by xdp_rx_hash) is not in the \
             kernel's BTF"
        ),
        "{run:#?}"
    );
    assert_eq!(xdp(pair.root_ifindex()).drv_prog_id, None);
    assert_eq!(xdp(pair.root_ifindex()).skb_prog_id, None);
}

/// `-EOPNOTSUPP` as the program stores it: a u64.
const MINUS_EOPNOTSUPP: u64 = (-95i64) as u64;

#[test]
fn a_hints_program_on_veth_reads_the_rx_hash() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    let _pins = RemovePins(device_pins(dev));
    let object = obj("xdp_hints");
    if !kernel_has_hints() {
        refused_without_hints(&pair, &object);
        return;
    }

    // Generic mode: the kernel's refusal, in its words.
    let skb = rxdp_load(&[&object, "--dev", dev, "--mode", "skb"]).failed();
    assert!(
        skb.stderr
            .contains("kernel says \"Can't attach device-bound programs in generic mode\""),
        "{skb:#?}"
    );
    assert_eq!(xdp(ifindex).skb_prog_id, None);

    // auto: native on veth, bound to it.
    let load = rxdp_load(&[&object, "--dev", dev]).ok();
    let id = printed_prog_id(&load.stdout, 0);
    assert!(load.stdout.contains("in drv mode"), "{}", load.stdout);
    assert_eq!(xdp(ifindex).drv_prog_id, Some(id));
    let hints = pinned(&device_pins(dev).join("drv/hints"));
    pair.send_udp(Ip::V4, 7777, 10, 16);
    eventually("10 frames with their hash", || read_u64(&hints, 3) >= 10);
    assert_eq!(read_u64(&hints, 1), 0, "the kfunc's return value");
    assert_ne!(read_u64(&hints, 0), 0, "the rx hash");
    assert_eq!(
        read_u64(&hints, 2),
        read_u64(&hints, 3),
        "frames without a hash"
    );

    // A device-bound program is not test-run by the kernel: said plainly.
    let bound = rxdp(&[
        "run", &object, "--entry", "0", "--packet", "udp", "--dev", dev,
    ])
    .failed();
    assert!(
        bound.stderr.contains(&format!(
            "it is bound to ifindex {ifindex} for its XDP hints kfuncs, and the kernel test-runs \
             no device-bound program"
        )) && bound
            .stderr
            .contains("BPF_PROG_TEST_RUN failed: Invalid argument (EINVAL)"),
        "{bound:#?}"
    );
    rxdp(&["unload", "--dev", dev]).ok();
    assert_eq!(xdp(ifindex).drv_prog_id, None);
}

#[test]
fn without_a_device_the_load_is_refused_and_run_answers_eopnotsupp() {
    if !require_kernel() {
        return;
    }
    let object = obj("xdp_hints");
    if !kernel_has_hints() {
        refused_without_hints(&VethPair::new(), &object);
        return;
    }
    let refused = rxdp_load(&[&object]).failed();
    assert!(
        refused.stderr.contains(
            "load programs: prog_fd[0] xdp_rx_hash calls bpf_xdp_metadata_rx_hash, an XDP hints \
             kfunc: the kernel runs it only in a program bound to the device it reads hints \
             from; name the device (--dev IF)"
        ),
        "{refused:#?}"
    );
    let run = rxdp(&[
        "run",
        &object,
        "--entry",
        "0",
        "--packet",
        "udp",
        "--show-map",
        "hints",
        "--json",
    ])
    .ok();
    assert!(run.stdout.contains("\"verdict\":\"XDP_PASS\""), "{run:#?}");
    // hints[1], the kfunc's answer: -EOPNOTSUPP; [2] one frame, [3] none
    // with a hash.
    for (key, value) in [(1, MINUS_EOPNOTSUPP), (2, 1), (3, 0)] {
        assert!(
            run.stdout
                .contains(&format!("{{\"key\":{key},\"value\":{value}}}")),
            "hints[{key}] = {value}: {run:#?}"
        );
    }
    assert!(
        run.stderr
            .contains("note: calls of bpf_xdp_metadata_rx_hash answer -EOPNOTSUPP in this run"),
        "{run:#?}"
    );
}
