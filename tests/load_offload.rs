//! The offload pair (design.md, seed 3): `xdp_entry_off` must be offloaded
//! (`--mode hw`), which veth cannot do: rxdp says so, with the kernel's
//! errno, and leaves nothing behind. The host half, `xdp_tail`, attaches in
//! driver mode.

#[path = "load_common.rs"]
mod common;

use common::*;
use rxdp_kernel_tests::{require_kernel, VethPair};

#[test]
fn hw_mode_on_veth_fails_clearly_and_leaves_nothing() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("xdp_prog_kern_off");
    let run = rxdp_load(&[&object, "--dev", dev, "--mode", "hw"]).failed();
    assert!(
        run.stderr.starts_with(&format!(
            "rxdp-load: {object}: load programs: prog_fd[0] xdp_entry_off_prog: BPF_PROG_LOAD failed:"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "{dev} cannot offload XDP programs (its driver does not implement BPF offload; only e.g. nfp NICs and netdevsim do); use --mode drv or skb"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(EINVAL)"),
        "the kernel's errno: {}",
        run.stderr
    );
    assert_eq!(xdp(pair.root_ifindex()), Default::default());
    assert!(!device_pins(dev).exists());
}

#[test]
fn the_host_half_attaches_in_drv_mode() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("xdp_prog_kern_off_tail");
    let run = rxdp_load(&[&object, "--dev", dev, "--mode", "drv"]).ok();
    let id = printed_prog_id(&run.stdout, 0);
    let state = xdp(pair.root_ifindex());
    assert_eq!(state.drv_prog_id, Some(id));
    assert_eq!(state.skb_prog_id, None);
    assert_eq!(prog_name(id), "xdp_tail_prog");
    let pins = device_pins(dev).join("drv");
    assert!(pins.join("stats").exists() && pins.join("seen").exists());
}
