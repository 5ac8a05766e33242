//! The article's scenario (design.md, seed 1): two legacy prog arrays,
//! `xdp0` tail-calling key 78 of the first. After
//! `rxdp-load tail_kern.o --map 0 --key 78 --prog 1 --dev X` has exited,
//! real packets must reach `xdp1` through the tail call and never fall
//! through — which is what the pins are for. `counters` says what ran:
//! [0] xdp0 entered, [1] xdp1 reached, [2] fell through.

#[path = "load_common.rs"]
mod common;

use common::*;
use rxdp_kernel_tests::{require_kernel, Ip, VethPair};

const PACKETS: usize = 20;

/// Runs the article's command in `mode` (`None`: auto) and checks the
/// counters after the loader exited. `expected` is the mode the kernel
/// should report.
fn article(mode: Option<&str>, expected: &str) {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let mut args = with_article_jump(&[&object, "--dev", dev]);
    if let Some(mode) = mode {
        args.extend(["--mode", mode]);
    }
    let run = rxdp_load(&args).ok();
    assert!(
        run.stdout
            .contains("jump: map_fd[0][78] = prog_fd[1] (explicit)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "attached prog_fd[0] to {dev} (ifindex {}) in {expected} mode",
            pair.root_ifindex()
        )),
        "{}",
        run.stdout
    );
    let pin_dir = device_pins(dev).join(expected);
    assert!(
        run.stdout
            .contains(&format!("pinned maps in {}/", pin_dir.display())),
        "{}",
        run.stdout
    );
    // The loader has exited: what follows runs on the pins alone.
    let state = xdp(pair.root_ifindex());
    let attached = match expected {
        "skb" => state.skb_prog_id,
        _ => state.drv_prog_id,
    };
    assert_eq!(attached, Some(printed_prog_id(&run.stdout, 0)));

    pair.send_udp(Ip::V4, 7777, PACKETS, 4);
    let counters = pinned(&pin_dir.join("counters"));
    eventually("xdp1 to count every packet", || {
        read_u64(&counters, 1) >= PACKETS as u64
    });
    let (entered, reached, fell) = (
        read_u64(&counters, 0),
        read_u64(&counters, 1),
        read_u64(&counters, 2),
    );
    assert_eq!(
        entered, reached,
        "every packet that entered xdp0 reached xdp1"
    );
    assert_eq!(fell, 0, "no packet fell through the tail call");
}

#[test]
fn article_in_skb_mode() {
    article(Some("skb"), "skb");
}

#[test]
fn article_in_drv_mode() {
    article(Some("drv"), "drv");
}

#[test]
fn article_in_auto_mode_lands_in_drv_on_veth() {
    article(None, "drv");
}

/// Without pins the kernel empties the jump table when rxdp-load exits:
/// the failure the article worked around with `sleep(50)`. rxdp warns, and
/// the counters (reached through the program's map ids) show the tail call
/// falling through.
#[test]
fn without_pins_the_tail_call_falls_through_after_exit() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let run = rxdp_load(&with_article_jump(&[
        &object, "-d", dev, "-m", "skb", "--no-pin",
    ]))
    .ok();
    assert!(
        run.stderr
            .contains("warning: --no-pin: the kernel empties prog array jmp_table1"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("pinned maps"), "{}", run.stdout);
    assert!(!device_pins(dev).exists());
    let counters = map_of_program(printed_prog_id(&run.stdout, 0), "counters");
    // The kernel empties the table in a work item it queues when the last
    // reference goes (prog_array_map_clear): on a busy machine frames sent
    // just after rxdp-load exited may still reach xdp1. Probe until one
    // falls through; from then on none may reach it.
    eventually("the jump table to be emptied", || {
        pair.send_udp(Ip::V4, 7777, 1, 4);
        read_u64(&counters, 2) > 0
    });
    let reached_before = read_u64(&counters, 1);
    let fell_before = read_u64(&counters, 2);
    pair.send_udp(Ip::V4, 7777, PACKETS, 4);
    eventually("every packet to fall through", || {
        read_u64(&counters, 2) >= fell_before + PACKETS as u64
    });
    assert_eq!(
        read_u64(&counters, 1),
        reached_before,
        "xdp1 is not reached once the kernel has emptied the jump table"
    );
}
