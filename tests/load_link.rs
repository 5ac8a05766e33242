//! `rxdp-load --link`: XDP attached through a BPF link pinned beside the
//! maps, checked in the kernel's own view — the link's id, type, program
//! and interface (`BPF_OBJ_GET_INFO_BY_FD` on the pin, and bpftool), the
//! slot netlink reports, packets counted through the tail call after the
//! loader exited:
//!
//! - the program stays attached after rxdp-load exits, and its tail call
//!   works (the jump table is pinned);
//! - a netlink attach never replaces the link, `--force` included: the
//!   kernel refuses ("Can't replace active BPF XDP link") and rxdp says
//!   what to do;
//! - `--link --force` replaces the program through the same link
//!   (`BPF_LINK_UPDATE`): same link id, new program;
//! - `--link --force` over a program netlink attached is refused, the
//!   program left in place;
//! - `rxdp unload` detaches the link and removes its pin.

#[path = "load_common.rs"]
mod common;

use std::os::fd::AsFd;

use common::{
    device_pins, eventually, obj, pinned, printed_prog_id, read_u64, rxdp, rxdp_load,
    with_article_jump, xdp, RemovePins,
};
use rxdp::xdp_link::LINK_PIN;
use rxdp_kernel_tests::{require_kernel, run, Ip, VethPair};
use rxdp_syscalls::bpf::{
    link_get_fd_by_id, link_get_next_id, link_info, prog_get_fd_by_id, prog_info, LinkInfo,
    LINK_TYPE_XDP,
};

/// The kernel's tag of program `id` (it differs between kernels).
fn tag(id: u32) -> String {
    prog_info(prog_get_fd_by_id(id).unwrap().as_fd())
        .unwrap()
        .tag_hex()
}

/// Every XDP link on `ifindex`, as the kernel lists them.
fn xdp_links(ifindex: u32) -> Vec<LinkInfo> {
    let mut links = Vec::new();
    let mut id = 0;
    while let Some(next) = link_get_next_id(id).unwrap() {
        id = next;
        let Ok(fd) = link_get_fd_by_id(id) else {
            continue;
        };
        let info = link_info(fd.as_fd()).unwrap();
        if info.link_type == LINK_TYPE_XDP && info.ifindex == ifindex {
            links.push(info);
        }
    }
    links
}

#[test]
fn a_link_outlives_the_loader_refuses_netlink_is_replaced_and_unloaded() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let args = |extra: &[&'static str]| {
        let mut args = with_article_jump(&[&object, "--dev", dev, "--mode", "skb"]);
        args.extend_from_slice(extra);
        args
    };

    let load = rxdp_load(&args(&["--link"])).ok();
    let entry = printed_prog_id(&load.stdout, 0);
    // The kernel's view: one XDP link on the device, running our program,
    // pinned where rxdp says; the slot netlink reports is that program.
    let links = xdp_links(ifindex);
    assert_eq!(links.len(), 1, "{links:?}");
    let link = links[0];
    assert_eq!(link.prog_id, entry);
    assert!(
        load.stdout
            .contains(&format!("in skb mode through bpf_link id {}\n", link.id)),
        "{}",
        load.stdout
    );
    let pin = device_pins(dev).join("skb").join(LINK_PIN);
    assert_eq!(link_info(pinned(&pin).as_fd()).unwrap().id, link.id);
    assert_eq!(xdp(ifindex).skb_prog_id, Some(entry));
    // bpftool agrees (Debian's prints no ifindex for XDP links; the info
    // above has it).
    let bpftool = run(
        "bpftool",
        &["link", "show", "id", &link.id.to_string(), "-j"],
    );
    assert!(
        bpftool.contains("\"type\":\"xdp\"") && bpftool.contains(&format!("\"prog_id\":{entry}")),
        "{bpftool}"
    );
    // rxdp-load has exited: the program runs, and tail-calls.
    let counters = pinned(&device_pins(dev).join("skb/counters"));
    pair.send_udp(Ip::V4, 7777, 10, 16);
    eventually("10 packets through the tail call", || {
        read_u64(&counters, 1) >= 10
    });
    let status = rxdp(&["status", "--dev", dev]).ok().stdout;
    assert!(
        status.contains(&format!(
            "  skb mode: id {entry} xdp_prog0 tag {} (bpf_link id {}, pinned {})\n",
            tag(entry),
            link.id,
            pin.display()
        )),
        "{status}"
    );
    let json = rxdp(&["status", "--dev", dev, "--json"]).ok().stdout;
    assert!(
        json.contains(&format!(
            "\"attach\":\"bpf_link\",\"link\":{},\"link_pins\":[\"{}\"]",
            link.id,
            pin.display()
        )),
        "{json}"
    );

    // netlink never replaces the link, --force or not.
    for extra in [&[][..], &["--force"]] {
        let refused = rxdp_load(&args(extra)).failed();
        assert!(
            refused.stderr.contains(
                "RTM_SETLINK failed: Device or resource busy (EBUSY): kernel says \"Can't \
                 replace active BPF XDP link\"; a BPF link holds this XDP slot"
            ) && refused
                .stderr
                .contains("`rxdp-load --link --force` replaces its program"),
            "{refused:#?}"
        );
        assert_eq!(xdp(ifindex).skb_prog_id, Some(entry));
    }
    // A second link without --force: refused, naming the program.
    let busy = rxdp_load(&args(&["--link"])).failed();
    assert!(
        busy.stderr.contains(&format!(
            "already runs XDP program xdp_prog0 (id {entry}, tag {}) in skb mode \
             (EBUSY); use --force",
            tag(entry)
        )),
        "{busy:#?}"
    );

    // --link --force: the same link runs the new program.
    let replace = rxdp_load(&args(&["--link", "--force"])).ok();
    let new_entry = printed_prog_id(&replace.stdout, 0);
    assert!(
        replace.stdout.contains(&format!(
            "through bpf_link id {}, replacing program id {entry}\n",
            link.id
        )),
        "{}",
        replace.stdout
    );
    let links = xdp_links(ifindex);
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!((links[0].id, links[0].prog_id), (link.id, new_entry));
    assert_eq!(xdp(ifindex).skb_prog_id, Some(new_entry));
    assert_eq!(link_info(pinned(&pin).as_fd()).unwrap().prog_id, new_entry);
    let counters = pinned(&device_pins(dev).join("skb/counters"));
    pair.send_udp(Ip::V4, 7777, 5, 16);
    eventually("5 packets through the new tail call", || {
        read_u64(&counters, 1) >= 5
    });

    // unload: the link is detached and its pin gone.
    let unload = rxdp(&["unload", "--dev", dev]).ok();
    assert!(
        unload.stdout.contains(&format!(
            "detached program id {new_entry} from {dev} (skb mode)"
        )),
        "{unload:#?}"
    );
    assert_eq!(xdp(ifindex).skb_prog_id, None);
    assert!(xdp_links(ifindex).is_empty());
    assert!(
        link_get_fd_by_id(link.id).is_err(),
        "link {} still exists",
        link.id
    );
    assert!(!device_pins(dev).exists());
}

#[test]
fn link_force_over_a_netlink_attach_is_refused() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let args = with_article_jump(&[&object, "--dev", dev, "--mode", "skb"]);
    let load = rxdp_load(&args).ok();
    let entry = printed_prog_id(&load.stdout, 0);
    let mut forced = args.clone();
    forced.extend_from_slice(&["--link", "--force"]);
    let refused = rxdp_load(&forced).failed();
    assert!(
        refused.stderr.contains(&format!(
            "attach: {dev} already runs XDP program xdp_prog0 (id {entry}) in skb mode, attached \
             by netlink; --link --force cannot replace it atomically"
        )),
        "{refused:#?}"
    );
    // Left as it was: the netlink program, no link, its pins.
    assert_eq!(xdp(ifindex).skb_prog_id, Some(entry));
    assert!(xdp_links(ifindex).is_empty());
    let status = rxdp(&["status", "--dev", dev]).ok().stdout;
    assert!(
        status.contains(&format!(
            "  skb mode: id {entry} xdp_prog0 tag {} (netlink)\n",
            tag(entry)
        )),
        "{status}"
    );
    // A link made without pins dies with the loader: the program goes.
    rxdp(&["unload", "--dev", dev]).ok();
    let mut unpinned = args.clone();
    unpinned.extend_from_slice(&["--link", "--no-pin"]);
    let run = rxdp_load(&unpinned).ok();
    assert!(run.stderr.contains("--no-pin with --link"), "{run:#?}");
    eventually("the unpinned link to go with its loader", || {
        xdp(ifindex).skb_prog_id.is_none()
    });
    assert!(xdp_links(ifindex).is_empty());
}
