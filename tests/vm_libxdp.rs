//! libxdp's multi-program dispatcher, made by xdp-loader (Debian's
//! xdp-tools, run from the host's files in the guest), read and removed by
//! rxdp: `rxdp status` lists the dispatcher's components — each slot's
//! freplace program, its link, run priority and chain-call actions — as
//! libxdp pins and configures them, and `rxdp unload` detaches the
//! dispatcher and removes its pins, after which `xdp-loader status` shows
//! nothing.
//!
//! VM only (`required-features = ["vm"]`): the host kernel refuses
//! freplace programs, so xdp-loader cannot build a dispatcher there.
//! Checked against the kernel's view (netlink's slot, the pinned programs'
//! and links' info) and xdp-loader's own `status`.

#[path = "load_common.rs"]
mod common;

use std::os::fd::AsFd;
use std::path::Path;

use common::{obj, pinned, rxdp, xdp};
use rxdp_kernel_tests::{require_kernel, run, try_run, VethPair};
use rxdp_syscalls::bpf::{
    link_info, map_get_fd_by_id, map_info, map_lookup_elem, prog_get_fd_by_id, prog_info,
};
use rxdp_syscalls::fs::bpffs;

#[test]
fn rxdp_lists_and_removes_what_xdp_loader_attached() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    // Two components, both at libxdp's default run priority (50).
    run(
        "xdp-loader",
        &[
            "load",
            "-m",
            "skb",
            dev,
            &obj("map_values"),
            &obj("global_data"),
        ],
    );
    let dispatcher = xdp(ifindex)
        .skb_prog_id
        .unwrap_or_else(|| panic!("xdp-loader attached nothing: {:?}", xdp(ifindex)));
    let info = prog_info(prog_get_fd_by_id(dispatcher).unwrap().as_fd()).unwrap();
    assert_eq!(info.name, "xdp_dispatcher");
    // Its config, its one map's value: magic 236, then the version
    // (Debian's libxdp 1.3.1 makes version 2).
    let [config_id] = info.map_ids[..] else {
        panic!("the dispatcher has maps {:?}", info.map_ids)
    };
    let config = map_get_fd_by_id(config_id).unwrap();
    let mut value = vec![0u8; map_info(config.as_fd()).unwrap().value_size as usize];
    assert!(map_lookup_elem(config.as_fd(), &0u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!((value[0], value[2]), (236, 2), "magic and enabled slots");
    let version = value[1];
    let dir = Path::new(bpffs::DEFAULT_MOUNT)
        .join("xdp")
        .join(format!("dispatch-{ifindex}-{dispatcher}"));
    // The components as libxdp pinned them: the kernel's ids and names.
    let component = |slot: usize| {
        let prog = prog_info(pinned(&dir.join(format!("prog{slot}-prog"))).as_fd()).unwrap();
        let link = link_info(pinned(&dir.join(format!("prog{slot}-link"))).as_fd()).unwrap();
        assert_eq!(link.prog_id, prog.id);
        (prog.id, prog.name, link.id)
    };
    let components = [component(0), component(1)];
    let mut names: Vec<&str> = components.iter().map(|(_, n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["xdp_global", "xdp_map_values"]);

    let text = rxdp(&["status", "--dev", dev]).ok().stdout;
    assert!(
        text.contains(&format!("  skb mode: id {dispatcher} xdp_dispatcher tag "))
            && text.contains(&format!(
                "    libxdp dispatcher (version {version}), components pinned in {}/:\n",
                dir.display()
            )),
        "{text}"
    );
    for (slot, (id, name, link)) in components.iter().enumerate() {
        assert!(
            text.contains(&format!(
                "      prog{slot}: program id {id} {name}, run priority 50, chain call actions \
                 XDP_PASS, freplace link id {link}\n"
            )),
            "prog{slot}: {text}"
        );
    }
    let json = rxdp(&["status", "--dev", dev, "--json"]).ok().stdout;
    assert!(
        json.contains(&format!(
            "\"libxdp\":{{\"version\":{version},\"dir\":\"{}\",\"components\":[{{\"slot\":0,\"prog_id\":{},",
            dir.display(),
            components[0].0
        )),
        "{json}"
    );
    // xdp-loader sees the same.
    let theirs = run("xdp-loader", &["status", dev]);
    for (id, name, _) in &components {
        assert!(
            theirs.contains(name.as_str()) && theirs.contains(&id.to_string()),
            "{theirs}"
        );
    }

    // rxdp unload: the dispatcher goes, and libxdp's pins with it.
    let unload = rxdp(&["unload", "--dev", dev]).ok();
    assert!(
        unload
            .stdout
            .contains(&format!("removed {}", dir.display())),
        "{unload:#?}"
    );
    assert_eq!(xdp(ifindex).skb_prog_id, None);
    assert!(!dir.exists(), "{} is left", dir.display());
    for (id, _, _) in &components {
        common::eventually("the component to be freed", || {
            prog_get_fd_by_id(*id).is_err()
        });
    }
    let after = try_run("xdp-loader", &["status", dev]).unwrap_or_else(|e| e);
    assert!(after.contains("<No XDP program loaded!>"), "{after}");
}
