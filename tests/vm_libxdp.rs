//! libxdp's multi-program dispatcher, made by xdp-loader (Debian's
//! xdp-tools, run from the host's files in the guest), read and removed by
//! rxdp: `rxdp status` lists the dispatcher's components — each slot's
//! freplace program, its link, run priority and chain-call actions — as
//! libxdp pins and configures them, and `rxdp unload` detaches the
//! dispatcher and removes its pins, after which `xdp-loader status` shows
//! nothing.
//!
//!
//! And the other way: rxdp adds its program as a component of
//! xdp-loader's dispatcher (`rxdp-load` over a dispatcher, or
//! `--multiprog`), xdp-loader adds to rxdp's, each tool lists and removes
//! what the other made, packets run through both, and a component the
//! verifier refuses leaves the dispatcher as it was.
//!
//! VM only (`required-features = ["vm"]`): the host kernel refuses
//! freplace programs, so xdp-loader cannot build a dispatcher there.
//! Checked against the kernel's view (netlink's slot, the pinned programs'
//! and links' info) and xdp-loader's own `status`.

#[path = "load_common.rs"]
mod common;

use std::io::Write as _;
use std::os::fd::AsFd;
use std::path::Path;

use common::{map_of_program, obj, pinned, read_u64, rxdp, rxdp_load, xdp};
use rxdp_kernel_tests::{require_kernel, run, try_run, Ip, VethPair};
use rxdp_syscalls::bpf::{
    link_info, map_get_fd_by_id, map_info, map_lookup_elem, prog_get_fd_by_id, prog_info,
};
use rxdp_syscalls::fs::bpffs;

/// The tests of this binary one at a time: the kill test counts the
/// kernel's programs by name, which the others load too.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn rxdp_lists_and_removes_what_xdp_loader_attached() {
    if !require_kernel() {
        return;
    }
    let _serial = serial();
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

/// The dispatcher in `ifindex`'s generic slot: its id and name, and its
/// config's bytes.
fn dispatcher_in_slot(ifindex: u32) -> (u32, Vec<u8>) {
    let id = xdp(ifindex)
        .skb_prog_id
        .unwrap_or_else(|| panic!("nothing in the skb slot: {:?}", xdp(ifindex)));
    let info = prog_info(prog_get_fd_by_id(id).unwrap().as_fd()).unwrap();
    assert_eq!(info.name, "xdp_dispatcher", "program {id} in the slot");
    let [config_id] = info.map_ids[..] else {
        panic!("the dispatcher has maps {:?}", info.map_ids)
    };
    let config = map_get_fd_by_id(config_id).unwrap();
    let shape = map_info(config.as_fd()).unwrap();
    // What libxdp 1.3.1 checks before it reads a version-2 config.
    assert_eq!(
        (shape.key_size, shape.value_size, shape.max_entries),
        (4, 124, 1)
    );
    assert_ne!(shape.flags & rxdp_syscalls::bpf::BPF_F_RDONLY_PROG, 0);
    let mut value = vec![0u8; shape.value_size as usize];
    assert!(map_lookup_elem(config.as_fd(), &0u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!((value[0], value[1]), (236, 2), "magic and version");
    (id, value)
}

/// Word `slot` of array `array` of a config (0: chain-call actions, 1:
/// run priorities, 2: program flags).
fn word(config: &[u8], array: usize, slot: usize) -> u32 {
    let at = 4 + 40 * array + 4 * slot;
    u32::from_ne_bytes(config[at..at + 4].try_into().unwrap())
}

/// `<bpffs>/xdp/dispatch-IFINDEX-ID`.
fn dispatch_dir(ifindex: u32, id: u32) -> std::path::PathBuf {
    Path::new(bpffs::DEFAULT_MOUNT)
        .join("xdp")
        .join(format!("dispatch-{ifindex}-{id}"))
}

/// The dispatcher directories of `ifindex`, by name.
fn dispatch_dirs(ifindex: u32) -> Vec<String> {
    let prefix = format!("dispatch-{ifindex}-");
    let mut names: Vec<String> = std::fs::read_dir(Path::new(bpffs::DEFAULT_MOUNT).join("xdp"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The components pinned in `dir`, slot by slot: program id and name,
/// link id; each link runs its program.
fn components(dir: &Path, count: usize) -> Vec<(u32, String, u32)> {
    (0..count)
        .map(|slot| {
            let prog = prog_info(pinned(&dir.join(format!("prog{slot}-prog"))).as_fd()).unwrap();
            let link = link_info(pinned(&dir.join(format!("prog{slot}-link"))).as_fd()).unwrap();
            assert_eq!(
                link.prog_id, prog.id,
                "prog{slot}-link runs prog{slot}-prog"
            );
            (prog.id, prog.name, link.id)
        })
        .collect()
}

/// `runs[key]` of multiprog_count's map, reached through program `prog`.
fn runs(prog: u32, key: u32) -> u64 {
    read_u64(&map_of_program(prog, "runs"), key)
}

/// The packets map_values counted as IPv4 (`stats[1].packets`, the first
/// u64 of its value), reached through program `prog`.
fn ipv4_frames(prog: u32) -> u64 {
    let stats = map_of_program(prog, "stats");
    let mut value = vec![0u8; map_info(stats.as_fd()).unwrap().value_size as usize];
    assert!(map_lookup_elem(stats.as_fd(), &1u32.to_ne_bytes(), &mut value).unwrap());
    u64::from_ne_bytes(value[..8].try_into().unwrap())
}

#[test]
fn rxdp_adds_its_program_to_xdp_loaders_dispatcher() {
    if !require_kernel() {
        return;
    }
    let _serial = serial();
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    run(
        "xdp-loader",
        &["load", "-m", "skb", dev, &obj("map_values")],
    );
    let (theirs_dispatcher, config) = dispatcher_in_slot(ifindex);
    assert_eq!(config[2], 1);
    let old_dir = dispatch_dir(ifindex, theirs_dispatcher);
    let [(map_values, name, _)] = &components(&old_dir, 1)[..] else {
        unreachable!()
    };
    assert_eq!(name, "xdp_map_values");
    let map_values = *map_values;

    // No --multiprog: the slot holds a dispatcher, so rxdp-load adds to it
    // (XDP_RUN_CONFIG of xdp_count: priority 10, chain on PASS and DROP).
    let load = rxdp_load(&[&obj("multiprog_count"), "--dev", dev, "--mode", "skb"]).ok();
    let (dispatcher, config) = dispatcher_in_slot(ifindex);
    assert_ne!(
        dispatcher, theirs_dispatcher,
        "a new dispatcher took the slot"
    );
    assert!(
        load.stdout.contains(&format!(
            "libxdp dispatcher id {dispatcher} replaced id {theirs_dispatcher} on {dev} (skb mode)"
        )),
        "{load:#?}"
    );
    assert!(!old_dir.exists(), "the old dispatcher's pins stay");
    assert_eq!(
        dispatch_dirs(ifindex),
        [format!("dispatch-{ifindex}-{dispatcher}")]
    );
    // Sorted by run priority: rxdp's (10) before xdp-loader's (50).
    assert_eq!(config[2], 2, "slots in use");
    assert_eq!(
        (word(&config, 1, 0), word(&config, 1, 1)),
        (10, 50),
        "run priorities"
    );
    assert_eq!(word(&config, 0, 0), (1 << 31) | (1 << 2) | (1 << 1));
    assert_eq!(word(&config, 0, 1), (1 << 31) | (1 << 2));
    let dir = dispatch_dir(ifindex, dispatcher);
    let now = components(&dir, 2);
    assert_eq!(now[0].1, "xdp_count");
    assert_eq!(
        (now[1].0, now[1].1.as_str()),
        (map_values, "xdp_map_values"),
        "xdp-loader's program is the same program, in slot 1"
    );
    let ours = now[0].0;
    assert!(
        load.stdout.contains(&format!(
            "  prog0: program id {ours} xdp_count, run priority 10, chain call actions \
             XDP_DROP,XDP_PASS, freplace link id {} (added)\n",
            now[0].2
        )),
        "{}",
        load.stdout
    );

    // Both tools list both.
    let theirs = run("xdp-loader", &["status", dev]);
    for (id, name, _) in &now {
        assert!(
            theirs.contains(name.as_str()) && theirs.contains(&id.to_string()),
            "{theirs}"
        );
    }
    let status = rxdp(&["status", "--dev", dev]).ok().stdout;
    assert!(
        status.contains(&format!(
            "      prog0: program id {ours} xdp_count, run priority 10, chain call actions \
             XDP_DROP,XDP_PASS, freplace link id {}\n",
            now[0].2
        )) && status.contains(&format!(
            "      prog1: program id {map_values} xdp_map_values, run priority 50"
        )),
        "{status}"
    );

    // Packets run through both: xdp_count passes, so map_values runs next.
    let (runs_before, ipv4_before) = (runs(ours, 0), ipv4_frames(map_values));
    pair.send_udp(Ip::V4, 9, 10, 32);
    common::eventually("both components to count 10 frames", || {
        runs(ours, 0) >= runs_before + 10 && ipv4_frames(map_values) >= ipv4_before + 10
    });
    assert_eq!(runs(ours, 1), 0, "xdp_count_drop is no component");

    // A third component between them, which drops and chains on nothing
    // (its XDP_RUN_CONFIG), at priority 20 (--prio): frames stop there.
    let third = rxdp_load(&[
        &obj("multiprog_count"),
        "--dev",
        dev,
        "--mode",
        "skb",
        "--entry",
        "xdp_count_drop",
        "--prio",
        "20",
    ])
    .ok();
    let (three, config) = dispatcher_in_slot(ifindex);
    assert!(
        third.stdout.contains(&format!("replaced id {dispatcher}")),
        "{third:#?}"
    );
    assert_eq!(config[2], 3);
    assert_eq!(
        [
            word(&config, 1, 0),
            word(&config, 1, 1),
            word(&config, 1, 2)
        ],
        [10, 20, 50]
    );
    assert_eq!(word(&config, 0, 1), 1 << 31, "no chain-call action");
    let listed = components(&dispatch_dir(ifindex, three), 3);
    assert_eq!(
        (listed[0].0, listed[1].1.as_str(), listed[2].0),
        (ours, "xdp_count_drop", map_values),
        "{listed:?}"
    );
    let dropper = listed[1].0;
    let (ours_before, ipv4_before) = (runs(ours, 0), ipv4_frames(map_values));
    pair.send_udp(Ip::V4, 9, 10, 32);
    common::eventually("the first two components to count 10 frames", || {
        runs(ours, 0) >= ours_before + 10 && runs(dropper, 1) >= 10
    });
    assert_eq!(
        ipv4_frames(map_values),
        ipv4_before,
        "frames after a final XDP_DROP reach no later component"
    );
    // rxdp takes it out again.
    rxdp(&["unload", "--dev", dev, "--id", &dropper.to_string()]).ok();
    let (dispatcher, config) = dispatcher_in_slot(ifindex);
    assert_eq!((config[2], word(&config, 1, 1)), (2, 50));
    let dir = dispatch_dir(ifindex, dispatcher);
    assert_eq!(
        components(&dir, 2).iter().map(|c| c.0).collect::<Vec<_>>(),
        [ours, map_values]
    );
    assert_eq!(
        dispatch_dirs(ifindex),
        [format!("dispatch-{ifindex}-{dispatcher}")]
    );

    // xdp-loader removes rxdp's component; its own stays.
    run("xdp-loader", &["unload", dev, "--id", &ours.to_string()]);
    let (after, config) = dispatcher_in_slot(ifindex);
    assert_ne!(after, dispatcher);
    assert_eq!(config[2], 1);
    let left = components(&dispatch_dir(ifindex, after), 1);
    assert_eq!(left[0].0, map_values);
    assert!(!dir.exists(), "{} stays", dir.display());
    common::eventually("rxdp's component to be freed", || {
        prog_get_fd_by_id(ours).is_err()
    });
    let theirs = run("xdp-loader", &["status", dev]);
    assert!(
        !theirs.contains("xdp_count") && theirs.contains("xdp_map_values"),
        "{theirs}"
    );
    rxdp(&["unload", "--dev", dev]).ok();
    assert_eq!(xdp(ifindex).skb_prog_id, None);
    assert!(dispatch_dirs(ifindex).is_empty());
}

#[test]
fn xdp_loader_adds_to_rxdps_dispatcher() {
    if !require_kernel() {
        return;
    }
    let _serial = serial();
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    // The options override XDP_RUN_CONFIG: priority 70, chain on PASS only.
    let load = rxdp_load(&[
        &obj("multiprog_count"),
        "--dev",
        dev,
        "--mode",
        "skb",
        "--multiprog",
        "--prio",
        "70",
        "--actions",
        "XDP_PASS",
    ])
    .ok();
    let (ours_dispatcher, config) = dispatcher_in_slot(ifindex);
    assert!(
        load.stdout.contains(&format!(
            "attached libxdp dispatcher id {ours_dispatcher} to {dev} (skb mode)"
        )),
        "{load:#?}"
    );
    assert_eq!(config[2], 1);
    assert_eq!(word(&config, 1, 0), 70);
    assert_eq!(word(&config, 0, 0), (1 << 31) | (1 << 2));
    let [(ours, name, _)] = &components(&dispatch_dir(ifindex, ours_dispatcher), 1)[..] else {
        unreachable!()
    };
    assert_eq!(name, "xdp_count");
    let ours = *ours;
    // The lone component replaces the dispatch itself, and runs.
    pair.send_udp(Ip::V4, 9, 10, 32);
    common::eventually("rxdp's component to count 10 frames", || {
        runs(ours, 0) >= 10
    });
    let theirs = run("xdp-loader", &["status", dev]);
    assert!(
        theirs.contains("xdp_count") && theirs.contains(&ours.to_string()),
        "{theirs}"
    );

    // xdp-loader adds to rxdp's dispatcher (priority 50: before ours).
    run(
        "xdp-loader",
        &["load", "-m", "skb", dev, &obj("map_values")],
    );
    let (dispatcher, config) = dispatcher_in_slot(ifindex);
    assert_ne!(dispatcher, ours_dispatcher);
    assert!(
        !dispatch_dir(ifindex, ours_dispatcher).exists(),
        "xdp-loader removed rxdp's dispatcher directory"
    );
    assert_eq!(config[2], 2);
    assert_eq!((word(&config, 1, 0), word(&config, 1, 1)), (50, 70));
    let now = components(&dispatch_dir(ifindex, dispatcher), 2);
    assert_eq!(
        (now[0].1.as_str(), now[1].0),
        ("xdp_map_values", ours),
        "{now:?}"
    );
    let map_values = now[0].0;
    let status = rxdp(&["status", "--dev", dev]).ok().stdout;
    assert!(
        status.contains(&format!(
            "      prog1: program id {ours} xdp_count, run priority 70, chain call actions XDP_PASS"
        )) && status.contains(&format!(
            "      prog0: program id {map_values} xdp_map_values, run priority 50"
        )),
        "{status}"
    );
    let theirs = run("xdp-loader", &["status", dev]);
    assert!(
        theirs.contains("xdp_count") && theirs.contains("xdp_map_values"),
        "{theirs}"
    );
    let before = runs(ours, 0);
    pair.send_udp(Ip::V4, 9, 10, 32);
    common::eventually("both components to count", || {
        runs(ours, 0) >= before + 10 && ipv4_frames(map_values) >= 10
    });

    // rxdp removes xdp-loader's component, rebuilding without it.
    let removed = rxdp(&["unload", "--dev", dev, "--id", &map_values.to_string()]).ok();
    let (last, config) = dispatcher_in_slot(ifindex);
    assert!(
        removed.stdout.contains(&format!(
            "removed component program id {map_values}\nlibxdp dispatcher id {last} replaced id \
             {dispatcher}"
        )),
        "{removed:#?}"
    );
    assert_eq!((config[2], word(&config, 1, 0)), (1, 70));
    assert_eq!(components(&dispatch_dir(ifindex, last), 1)[0].0, ours);
    assert_eq!(
        dispatch_dirs(ifindex),
        [format!("dispatch-{ifindex}-{last}")]
    );
    common::eventually("xdp-loader's component to be freed", || {
        prog_get_fd_by_id(map_values).is_err()
    });
    let theirs = run("xdp-loader", &["status", dev]);
    assert!(
        theirs.contains("xdp_count") && !theirs.contains("xdp_map_values"),
        "{theirs}"
    );

    // The last component: the dispatcher goes with it.
    let gone = rxdp(&["unload", "--dev", dev, "--id", &ours.to_string()]).ok();
    assert!(
        gone.stdout
            .contains(&format!("detached libxdp dispatcher id {last} from {dev}")),
        "{gone:#?}"
    );
    assert_eq!(xdp(ifindex).skb_prog_id, None);
    assert!(dispatch_dirs(ifindex).is_empty());
    let after = try_run("xdp-loader", &["status", dev]).unwrap_or_else(|e| e);
    assert!(after.contains("<No XDP program loaded!>"), "{after}");
}

#[test]
fn a_failed_component_leaves_the_dispatcher_as_it_was() {
    if !require_kernel() {
        return;
    }
    let _serial = serial();
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    run(
        "xdp-loader",
        &["load", "-m", "skb", dev, &obj("map_values")],
    );
    let (dispatcher, config) = dispatcher_in_slot(ifindex);
    let dir = dispatch_dir(ifindex, dispatcher);
    let before = components(&dir, 1);
    let progs_before = common::all_ids(rxdp_syscalls::bpf::prog_get_next_id);

    // The verifier refuses the new component: nothing changes.
    let refused = rxdp_load(&[&obj("verifier_reject"), "--dev", dev, "--mode", "skb"]).failed();
    assert!(
        refused.stderr.contains("xdp_reject"),
        "the error names the program: {refused:#?}"
    );
    // A bad --actions is refused before anything happens.
    let bad = rxdp_load(&[
        &obj("multiprog_count"),
        "--dev",
        dev,
        "--actions",
        "XDP_PASS,XDP_FLY",
    ]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("\"XDP_FLY\" is not an XDP action"),
        "{bad:#?}"
    );
    // A prog array nobody would pin: refused, naming it.
    let tail = rxdp_load(&[&obj("tail_kern"), "--dev", dev, "--mode", "skb"]).failed();
    assert!(
        tail.stderr
            .contains("prog array jmp_table1 would be emptied"),
        "{tail:#?}"
    );
    // Not a component of this dispatcher.
    let absent = rxdp(&["unload", "--dev", dev, "--id", "1"]).failed();
    assert!(
        absent.stderr.contains("is no component of the dispatcher"),
        "{absent:#?}"
    );

    let (still, config_after) = dispatcher_in_slot(ifindex);
    assert_eq!(still, dispatcher, "the same dispatcher is attached");
    assert_eq!(config_after, config);
    assert_eq!(components(&dir, 1), before, "its pins are as they were");
    assert_eq!(
        dispatch_dirs(ifindex),
        [format!("dispatch-{ifindex}-{dispatcher}")]
    );
    common::eventually("the failed loads' programs to be freed", || {
        common::all_ids(rxdp_syscalls::bpf::prog_get_next_id)
            .difference(&progs_before)
            .next()
            .is_none()
    });

    // A slot holding a program that is no dispatcher: --multiprog refuses
    // and leaves it.
    rxdp(&["unload", "--dev", dev]).ok();
    rxdp_load(&[&obj("global_data"), "--dev", dev, "--mode", "skb"]).ok();
    let plain = xdp(ifindex).skb_prog_id.unwrap();
    let no = rxdp_load(&[
        &obj("multiprog_count"),
        "--dev",
        dev,
        "--mode",
        "skb",
        "--multiprog",
    ])
    .failed();
    assert!(no.stderr.contains("no libxdp dispatcher"), "{no:#?}");
    assert_eq!(xdp(ifindex).skb_prog_id, Some(plain));
    assert!(dispatch_dirs(ifindex).is_empty());
    rxdp(&["unload", "--dev", dev]).ok();
}

/// The programs named `names` the kernel holds now, by id.
fn programs_named(names: &[&str]) -> Vec<(u32, String)> {
    common::all_ids(rxdp_syscalls::bpf::prog_get_next_id)
        .into_iter()
        .filter_map(|id| Some((id, common::prog_name_of(id)?)))
        .filter(|(_, name)| names.contains(&name.as_str()))
        .collect()
}

/// The records of dispatcher changes in `<bpffs>/rxdp/`.
fn change_records() -> Vec<String> {
    std::fs::read_dir(Path::new(bpffs::DEFAULT_MOUNT).join("rxdp"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(rxdp::dispatch_record::PREFIX))
                .collect()
        })
        .unwrap_or_default()
}

/// `rxdp-load --multiprog` and `rxdp unload --id`, SIGKILLed at instants
/// spread over their run and aimed at the window their intent record
/// covers, then `rxdp status` or one complete change: each time the slot
/// holds a dispatcher whose directory pins every component, no other directory of the device is left but one rxdp
/// did not make (untouched), no record is left, and xdp-loader lists the
/// components. At the end nothing of the test is left in the kernel.
#[test]
fn killed_dispatcher_changes_leave_nothing_behind() {
    if !require_kernel() {
        return;
    }
    let _serial = serial();
    const NAMES: [&str; 3] = ["xdp_dispatcher", "xdp_count", "xdp_map_values"];
    const RUNS: u32 = 24;
    let before = programs_named(&NAMES);
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    run(
        "xdp-loader",
        &["load", "-m", "skb", dev, &obj("map_values")],
    );
    let (first, _) = dispatcher_in_slot(ifindex);
    let map_values = components(&dispatch_dir(ifindex, first), 1)[0].0;
    // A directory of the device that rxdp did not make (no record names
    // it; no program will have its id): it must stay as it is.
    let foreign = dispatch_dir(ifindex, 4_000_000_000);
    std::fs::create_dir(&foreign).unwrap();
    let held = pinned(&dispatch_dir(ifindex, first).join("prog0-prog"));
    bpffs::pin(held.as_fd(), &foreign.join("prog0-prog")).unwrap();
    drop(held);
    let foreign_name = foreign.file_name().unwrap().to_string_lossy().into_owned();

    let add = [
        obj("multiprog_count"),
        "--dev".into(),
        dev.to_string(),
        "--mode".into(),
        "skb".into(),
        "--multiprog".into(),
    ];
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    // The state: xdp-loader's component and maybe ours; ours's id.
    let ours = || -> Option<u32> {
        let (id, config) = dispatcher_in_slot(ifindex);
        components(&dispatch_dir(ifindex, id), usize::from(config[2]))
            .into_iter()
            .find(|c| c.1 == "xdp_count")
            .map(|c| c.0)
    };
    let change = |ours: Option<u32>| -> std::process::Command {
        let mut command = match ours {
            None => {
                let mut c = std::process::Command::new(rxdp_kernel_tests::bin("rxdp-load"));
                c.args(&add);
                c
            }
            Some(id) => {
                let mut c = std::process::Command::new(rxdp_kernel_tests::bin("rxdp"));
                c.args(["unload", "--dev", dev, "--id", &id.to_string()]);
                c
            }
        };
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    // How long a change takes here (an add and a removal).
    let started = std::time::Instant::now();
    rxdp_load(&add).ok();
    let id = ours().expect("rxdp's component was added");
    rxdp(&["unload", "--dev", dev, "--id", &id.to_string()]).ok();
    let took = started.elapsed() / 2;

    // A quarter of the kills at instants spread over the first 80 % of a
    // change (parsing, loading: nothing to leave). The rest aimed at the
    // window a record covers, which is a few ms of a run: the test
    // watches for the record to appear, then kills after 0 to 4 ms —
    // before the pins, between them, around the swap and the removal
    // (measured in the 6.12 guest with 0 to 8 ms: 9 of 18 left a record,
    // 3 of them after the swap).
    let early = RUNS / 4;
    let mut resolved = 0;
    let mut after_swap = 0;
    for i in 0..RUNS {
        let state = ours();
        let mut child = change(state).spawn().unwrap();
        if i < early {
            std::thread::sleep(took.mul_f64(0.8 * (f64::from(i) + 0.5) / f64::from(early)));
        } else {
            let deadline = std::time::Instant::now() + took * 20;
            while change_records().is_empty()
                && child.try_wait().unwrap().is_none()
                && std::time::Instant::now() < deadline
            {
                std::hint::spin_loop();
            }
            std::thread::sleep(std::time::Duration::from_micros(
                u64::from(i - early) * 4000 / u64::from(RUNS - early),
            ));
        }
        let _ = child.kill();
        let _ = child.wait();
        let left = change_records();
        after_swap += usize::from(left.iter().any(|name| name.ends_with("-swapped")));
        if i % 2 == 0 {
            let status = rxdp(&["status", "--dev", dev, "--json"]).ok().stdout;
            if !left.is_empty() {
                assert!(
                    status.contains("\"outcome\":\"resolved\""),
                    "run {i}: records {left:?}, status: {status}"
                );
                resolved += 1;
            }
        } else {
            let follow = change(ours()).output().unwrap();
            assert!(follow.status.success(), "run {i}: {follow:?}");
            resolved += usize::from(!left.is_empty());
        }
        // The kernel's view: the slot's dispatcher, its pins complete.
        let (id, config) = dispatcher_in_slot(ifindex);
        let count = usize::from(config[2]);
        let listed = components(&dispatch_dir(ifindex, id), count);
        assert!(
            listed.iter().any(|c| c.0 == map_values),
            "run {i}: xdp-loader's component went: {listed:?}"
        );
        let mut expected = [format!("dispatch-{ifindex}-{id}"), foreign_name.clone()];
        expected.sort();
        assert_eq!(dispatch_dirs(ifindex), expected, "run {i}");
        assert_eq!(change_records(), Vec::<String>::new(), "run {i}");
        let theirs = run("xdp-loader", &["status", dev]);
        for (prog, name, _) in &listed {
            assert!(
                theirs.contains(name.as_str()) && theirs.contains(&prog.to_string()),
                "run {i}: {theirs}"
            );
        }
    }
    // Straight to the process's stderr (libtest captures eprintln!), for
    // the figures in the log.
    let _ = writeln!(
        std::io::stderr(),
        "figure: {resolved} of {RUNS} kills left a record that was resolved, {after_swap} of them \
         after the swap (a change takes {took:?})"
    );
    // The kills aimed at the window must land in it, or this test shows
    // nothing of the recovery.
    assert!(
        resolved >= (RUNS - early) as usize / 6,
        "only {resolved} of {RUNS} kills left a record"
    );

    // The directory rxdp did not make is as it was.
    let still = prog_info(pinned(&foreign.join("prog0-prog")).as_fd()).unwrap();
    assert_eq!(still.id, map_values);
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
    rxdp(&["unload", "--dev", dev]).ok();
    std::fs::remove_file(foreign.join("prog0-prog")).unwrap();
    std::fs::remove_dir(&foreign).unwrap();
    assert_eq!(xdp(ifindex).skb_prog_id, None);
    assert!(dispatch_dirs(ifindex).is_empty());
    let left = || -> Vec<(u32, String)> {
        programs_named(&NAMES)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !left().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        left(),
        Vec::new(),
        "programs of the test left in the kernel"
    );
}

/// `--mode auto` (rxdp-load's default) adds to a dispatcher in whichever
/// slot holds it, and builds a new one where the kernel's choice puts it
/// (native on veth); a component whose name the kernel cut is listed by
/// rxdp whole, as xdp-loader lists it.
#[test]
fn auto_mode_adds_where_the_dispatcher_is_and_lists_names_whole() {
    if !require_kernel() {
        return;
    }
    let _serial = serial();
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    // xdp-loader's dispatcher in the generic slot; its one component is
    // `xdp_offload_maps`, which the kernel keeps as `xdp_offload_map`.
    run(
        "xdp-loader",
        &["load", "-m", "skb", dev, &obj("offload_maps")],
    );
    let (theirs, _) = dispatcher_in_slot(ifindex);

    // No --mode, no --multiprog: the native slot is empty, the generic one
    // holds a dispatcher, so the program joins it there.
    let load = rxdp_load(&[&obj("multiprog_count"), "--dev", dev]).ok();
    let (dispatcher, config) = dispatcher_in_slot(ifindex);
    assert_ne!(dispatcher, theirs);
    assert_eq!(xdp(ifindex).drv_prog_id, None, "{load:#?}");
    assert_eq!(config[2], 2, "slots in use");
    let now = components(&dispatch_dir(ifindex, dispatcher), 2);
    assert_eq!(
        (now[0].1.as_str(), now[1].1.as_str()),
        ("xdp_count", "xdp_offload_map"),
        "priority 10 before 50; the kernel's names"
    );
    let status = rxdp(&["status", "--dev", dev]).ok().stdout;
    assert!(
        status.contains(&format!(
            "prog1: program id {} xdp_offload_maps, run priority 50",
            now[1].0
        )),
        "{status}"
    );
    let listed = run("xdp-loader", &["status", dev]);
    assert!(listed.contains("xdp_offload_maps"), "{listed}");
    // The components' maps are listed with the slot: xdp_count's `runs`,
    // xdp_offload_maps' `counters` and `by_ifindex`.
    for (prog, map) in [
        (now[0].0, "runs"),
        (now[1].0, "counters"),
        (now[1].0, "by_ifindex"),
    ] {
        let id = map_info(map_of_program(prog, map).as_fd()).unwrap().id;
        assert!(
            status.contains(&format!("    map id {id} {map} (")),
            "map {map} of program {prog}: {status}"
        );
    }
    rxdp(&["unload", "--dev", dev, "--id", &now[1].0.to_string()]).ok();
    rxdp(&["unload", "--dev", dev, "--id", &now[0].0.to_string()]).ok();
    assert_eq!(
        xdp(ifindex),
        Default::default(),
        "the last component took the dispatcher"
    );
    assert!(
        dispatch_dirs(ifindex).is_empty(),
        "{:?}",
        dispatch_dirs(ifindex)
    );

    // An empty interface, --multiprog in auto mode: veth takes native XDP,
    // so the new dispatcher is there; a second add (no --multiprog) finds it.
    rxdp_load(&[&obj("multiprog_count"), "--dev", dev, "--multiprog"]).ok();
    let state = xdp(ifindex);
    let first = state
        .drv_prog_id
        .unwrap_or_else(|| panic!("no dispatcher in the native slot: {state:?}"));
    assert_eq!(state.skb_prog_id, None, "{state:?}");
    rxdp_load(&[
        &obj("multiprog_count"),
        "--dev",
        dev,
        "--entry",
        "xdp_count_drop",
    ])
    .ok();
    let state = xdp(ifindex);
    let second = state
        .drv_prog_id
        .unwrap_or_else(|| panic!("no dispatcher in the native slot: {state:?}"));
    assert_ne!(second, first, "a new dispatcher took the native slot");
    assert_eq!(state.skb_prog_id, None, "{state:?}");
    let info = prog_info(prog_get_fd_by_id(second).unwrap().as_fd()).unwrap();
    assert_eq!(info.name, "xdp_dispatcher");
    let now = components(&dispatch_dir(ifindex, second), 2);
    let mut names: Vec<&str> = now.iter().map(|(_, n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["xdp_count", "xdp_count_drop"]);
    let listed = run("xdp-loader", &["status", dev]);
    assert!(listed.contains("native"), "{listed}");
    for (id, name, _) in &now {
        assert!(
            listed.contains(name.as_str()) && listed.contains(&id.to_string()),
            "{listed}"
        );
    }
    rxdp(&["unload", "--dev", dev]).ok();
    assert_eq!(xdp(ifindex), Default::default());
    assert!(
        dispatch_dirs(ifindex).is_empty(),
        "{:?}",
        dispatch_dirs(ifindex)
    );
}
