//! `rxdp status`: per slot, how the program is attached, its maps with
//! their ids and every pin (rxdp's, a `--pin-dir`, pins by name), its
//! jump tables' entries; and `--stats TIME`, run counts over a window.
//! Each checked against the kernel's own view: the slot's program id from
//! netlink, the jump tables' entries read here, the maps' ids from the
//! program's info, run counters from `BPF_OBJ_GET_INFO_BY_FD`.

#[path = "load_common.rs"]
mod common;

use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    device_pins, obj, pinned, printed_prog_id, read_u32, read_u64, rxdp, rxdp_load,
    with_article_jump, xdp, RemovePins,
};
use rxdp_kernel_tests::{bin, require_kernel, unique_name, Ip, VethPair};
use rxdp_syscalls::bpf::{map_info, prog_get_fd_by_id, prog_info};
use rxdp_syscalls::fs::bpffs;

/// The id and name of every map program `prog` uses, by id.
fn maps_of(prog: u32) -> Vec<(u32, String)> {
    let fd = prog_get_fd_by_id(prog).unwrap();
    let info = prog_info(fd.as_fd()).unwrap();
    let mut maps: Vec<(u32, String)> = info
        .map_ids
        .iter()
        .map(|&id| {
            let map = rxdp_syscalls::bpf::map_get_fd_by_id(id).unwrap();
            (id, map_info(map.as_fd()).unwrap().name)
        })
        .collect();
    maps.sort();
    maps
}

#[test]
fn status_shows_maps_pins_by_name_and_in_a_pin_dir_and_the_jump_table() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let dir = format!("{}/{}", bpffs::DEFAULT_MOUNT, unique_name("rxdp-status"));
    let _pins = RemovePins(dir.clone().into());
    let _device = RemovePins(device_pins(dev));
    let object = obj("btf_maps");
    let load = rxdp_load(&[
        &object,
        "--dev",
        dev,
        "--mode",
        "skb",
        "--entry",
        "xdp_btf_entry",
        "--pin-dir",
        &dir,
    ])
    .ok();
    let entry = printed_prog_id(&load.stdout, 2);
    assert_eq!(xdp(pair.root_ifindex()).skb_prog_id, Some(entry));
    let (tail_a, tail_b) = (
        printed_prog_id(&load.stdout, 0),
        printed_prog_id(&load.stdout, 1),
    );
    // The kernel's jump table, read here: what status must show.
    let jmp = pinned(format!("{dir}/jmp").as_ref());
    assert_eq!(read_u32(&jmp, 0), Some(tail_a));
    assert_eq!(read_u32(&jmp, 3), Some(tail_b));

    let text = rxdp(&["status", "--dev", dev]).ok().stdout;
    assert!(
        text.contains(&format!("  skb mode: id {entry} xdp_btf_entry tag ")),
        "{text}"
    );
    assert!(text.contains(" (netlink)\n"), "{text}");
    for (id, name) in maps_of(entry) {
        assert!(
            text.contains(&format!("    map id {id} {name} (")),
            "map {id} {name} missing: {text}"
        );
    }
    // Pins in the --pin-dir, the pin by name among them.
    for name in ["jmp", "counts", "pinned_counter"] {
        assert!(text.contains(&format!("{dir}/{name}")), "{name}: {text}");
    }
    assert!(
        text.contains(&format!(
            "      key 0 -> program id {tail_a} tail_a\n      key 3 -> program id {tail_b} tail_b\n"
        )),
        "{text}"
    );

    let json = rxdp(&["status", "--dev", dev, "--json"]).ok().stdout;
    assert!(
        json.contains(&format!(
            "\"id\":{entry},\"name\":\"xdp_btf_entry\",\"tag\":\""
        )) && json.contains("\"attach\":\"netlink\",\"link\":null,\"link_pins\":[]"),
        "{json}"
    );
    assert!(
        json.contains(&format!(
            "\"entries\":[{{\"key\":0,\"prog_id\":{tail_a},\"name\":\"tail_a\"}},\
             {{\"key\":3,\"prog_id\":{tail_b},\"name\":\"tail_b\"}}]"
        )),
        "{json}"
    );
    assert!(
        json.contains(&format!("\"pins\":[\"{dir}/pinned_counter\"]")),
        "{json}"
    );
    rxdp(&["unload", "--dev", dev]).ok();
    assert_eq!(xdp(pair.root_ifindex()).skb_prog_id, None);
}

/// The kernel's run counters of program `id`.
fn run_counters(id: u32) -> (u64, u64) {
    let info = prog_info(prog_get_fd_by_id(id).unwrap().as_fd()).unwrap();
    (info.run_count, info.run_time_ns)
}

#[test]
fn stats_count_the_runs_of_the_window() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let load = rxdp_load(&with_article_jump(&[
        &object, "--dev", dev, "--mode", "skb",
    ]))
    .ok();
    let entry = printed_prog_id(&load.stdout, 0);
    let counters = pinned(&device_pins(dev).join("skb/counters"));
    let globally_on = std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled")
        .is_ok_and(|text| text.trim() == "1");

    let before = run_counters(entry);
    let status = Command::new(bin("rxdp"))
        .args(["status", "--dev", dev, "--stats", "3s", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let sent_before = read_u64(&counters, 1);
    pair.send_udp(Ip::V4, 7777, 20, 16);
    let output = status.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let json = String::from_utf8_lossy(&output.stdout);
    let seen = read_u64(&counters, 1) - sent_before;
    assert!(seen >= 20, "the tail call counted {seen} packets");
    // The entry's counts over the window: at least the 20 datagrams (and
    // whatever else the peer sent, IPv6 neighbour discovery).
    let start = json
        .find(&format!("{{\"prog_id\":{entry},\"run_count\":"))
        .unwrap_or_else(|| panic!("no stats of {entry}: {json}"));
    let rest = &json[start..];
    let number = |key: &str| -> u64 {
        let at = rest.find(key).unwrap() + key.len();
        rest[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (runs, time) = (number("\"run_count\":"), number("\"run_time_ns\":"));
    assert!(runs >= 20 && time > 0, "{runs} runs, {time} ns: {json}");
    let after = run_counters(entry);
    assert!(
        after.0 - before.0 >= runs,
        "{before:?} -> {after:?}, {runs}"
    );
    let text = rxdp(&["status", "--dev", dev, "--stats", "100ms"])
        .ok()
        .stdout;
    assert!(
        text.contains(&format!("    stats: program id {entry}: ")),
        "{text}"
    );
    // The window closed: the kernel counts no more (unless stats were on
    // for the whole machine before the test).
    if !globally_on {
        let closed = run_counters(entry);
        pair.send_udp(Ip::V4, 7777, 5, 16);
        common::eventually("5 more packets", || {
            read_u64(&counters, 1) >= seen + sent_before + 5
        });
        assert_eq!(run_counters(entry), closed, "stats still counting");
    }
    rxdp(&["unload", "--dev", dev]).ok();
}

/// The name a libxdp component is listed and ordered by: the kernel cuts
/// `xdp_entry_off_prog` to `xdp_entry_off_p` (15 bytes); the program's BTF,
/// read back from the kernel, makes it whole, as libxdp does.
#[test]
fn a_components_name_cut_by_the_kernel_is_made_whole_from_its_btf() {
    if !require_kernel() {
        return;
    }
    // Object::load: nothing pinned, nothing attached.
    let loaded = rxdp::Object::open(obj("xdp_prog_kern_off"))
        .and_then(rxdp::Object::load)
        .unwrap();
    let program = &loaded.loaded().programs[0];
    let info = prog_info(program.fd.as_fd()).unwrap();
    assert_eq!(info.name, "xdp_entry_off_p");
    assert_ne!(info.btf_id, 0);
    assert_eq!(rxdp::libxdp::component_name(&info), "xdp_entry_off_prog");
    // Short names are the kernel's as they are.
    let loaded = rxdp::Object::open(obj("multiprog_count"))
        .and_then(rxdp::Object::load)
        .unwrap();
    let info = prog_info(loaded.loaded().programs[0].fd.as_fd()).unwrap();
    assert_eq!(rxdp::libxdp::component_name(&info), "xdp_count");
}
