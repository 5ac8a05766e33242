//! Hardware offload on netdevsim, the kernel's simulated NIC that takes
//! offloaded XDP programs and maps: the seed's assignment 2 (the packet04
//! entry offloaded, its tail native, on one device), offloaded maps, forced
//! replacement, a device that refuses, and `--mode auto` never offloading.
//!
//! VM only (`required-features = ["vm"]` in tests/Cargo.toml): the host
//! kernel has no netdevsim; `make vm-test` runs this in the 6.1 and 6.12
//! guests (vm/README.md). Every check is the kernel's own view: netlink's
//! XDP slots, `BPF_OBJ_GET_INFO_BY_FD`'s `ifindex`, bpftool, and
//! netdevsim's debugfs (`/sys/kernel/debug/netdevsim/netdevsimID/`).
//! netdevsim does not run offloaded programs on frames, so what the
//! offloaded entry does to a frame is shown with `rxdp run` on the same
//! object, whose instructions are the offloaded ones (same kernel tag).

#[path = "load_common.rs"]
mod common;

use std::io::Write as _;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use rxdp_kernel_tests::{require_kernel, run, VethPair};
use rxdp_syscalls::bpf::{map_get_fd_by_id, map_info, prog_get_fd_by_id, prog_info, MapHandle};
use rxdp_syscalls::netlink::XdpAttached;

/// `BPF_MAP_TYPE_HASH`, `BPF_MAP_TYPE_ARRAY` (uapi).
const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_ARRAY: u32 = 2;

/// One netdevsim device with one port, made for one test and removed with
/// everything on it (programs, maps, rxdp's pins of it) when dropped.
struct Netdevsim {
    id: u32,
    dev: String,
    ifindex: u32,
}

impl Netdevsim {
    /// `echo "ID 1" > /sys/bus/netdevsim/new_device`, ID unique among the
    /// processes alive (pid × 64 + a counter).
    fn new() -> Netdevsim {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = std::process::id() * 64 + NEXT.fetch_add(1, Ordering::Relaxed) % 64;
        write_file(
            Path::new("/sys/bus/netdevsim/new_device"),
            &format!("{id} 1"),
        );
        let net = PathBuf::from(format!("/sys/bus/netdevsim/devices/netdevsim{id}/net"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let dev = loop {
            if let Some(name) = entry_names(&net).into_iter().next() {
                break name;
            }
            assert!(Instant::now() < deadline, "netdevsim{id} made no netdev");
            std::thread::sleep(Duration::from_millis(10));
        };
        let ifindex = read_file(&PathBuf::from(format!("/sys/class/net/{dev}/ifindex")))
            .parse()
            .unwrap_or_else(|error| panic!("ifindex of {dev}: {error}"));
        Netdevsim { id, dev, ifindex }
    }

    /// A file of the device's debugfs directory.
    fn debugfs(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/sys/kernel/debug/netdevsim/netdevsim{}", self.id)).join(name)
    }

    /// A file of the port's debugfs directory.
    fn port_debugfs(&self, name: &str) -> PathBuf {
        self.debugfs("ports/0").join(name)
    }

    /// What the port has offloaded: `bpf_offloaded_id` (0 for nothing).
    fn offloaded_id(&self) -> u32 {
        read_file(&self.port_debugfs("bpf_offloaded_id"))
            .parse()
            .unwrap_or_else(|error| panic!("bpf_offloaded_id: {error}"))
    }

    /// The ids of the programs bound to the device (`bpf_bound_progs/*/id`),
    /// sorted. A program being freed removes its entry from a kernel worker
    /// after its id is gone: an entry listed may be gone when its `id` is
    /// read, and is then no longer bound.
    fn bound_programs(&self) -> Vec<u32> {
        let dir = self.debugfs("bpf_bound_progs");
        let mut ids: Vec<u32> =
            entry_names(&dir)
                .iter()
                .filter_map(|entry| {
                    let path = dir.join(entry).join("id");
                    match std::fs::read_to_string(&path) {
                        Ok(text) => Some(text.trim().parse().unwrap_or_else(|error| {
                            panic!("{}: {text:?}: {error}", path.display())
                        })),
                        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                        Err(error) => panic!("{}: {error}", path.display()),
                    }
                })
                .collect();
        ids.sort_unstable();
        ids
    }

    /// Makes the device accept or refuse something (a `bpf_*_accept`
    /// debugfs switch).
    fn accept(&self, path: &Path, yes: bool) {
        write_file(path, if yes { "Y" } else { "N" });
    }
}

impl Drop for Netdevsim {
    fn drop(&mut self) {
        let pins = device_pins(&self.dev);
        if pins.symlink_metadata().is_ok() {
            if let Err(error) = std::fs::remove_dir_all(&pins) {
                eprintln!("cleanup: {}: {error}", pins.display());
            }
        }
        if let Err(error) = std::fs::write("/sys/bus/netdevsim/del_device", self.id.to_string()) {
            eprintln!("cleanup: del_device {}: {error}", self.id);
        }
    }
}

fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

fn read_file(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .trim()
        .to_string()
}

/// The kernel's `BPF_OBJ_GET_INFO_BY_FD` of program `id`: (ifindex, map ids).
fn prog_binding(id: u32) -> (u32, Vec<u32>) {
    let prog = prog_get_fd_by_id(id).unwrap_or_else(|error| panic!("program {id}: {error}"));
    let info = prog_info(prog.as_fd()).unwrap_or_else(|error| panic!("program {id}: {error}"));
    (info.ifindex, info.map_ids)
}

/// Waits until program `id` is gone from the kernel (freed after its last
/// reference, which the detach or the loader's exit dropped).
fn gone(id: u32) {
    eventually(&format!("program {id} to be freed"), || {
        prog_get_fd_by_id(id).is_err_and(|error| error.errno == libc::ENOENT)
    });
}

/// The id rxdp-load printed for the map named `name` (`map_fd[1] = counters
/// (array, id 42)`).
fn printed_map_named(stdout: &str, name: &str) -> u32 {
    let index = stdout
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("map_fd[")?;
            let (index, rest) = rest.split_once("] = ")?;
            rest.starts_with(&format!("{name} ("))
                .then(|| index.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no map {name} in:\n{stdout}"));
    printed_map_id(stdout, index)
}

/// The `MODE mode: id ID NAME tag TAG` lines of `rxdp status --dev DEV`.
fn status_slots(dev: &str) -> Vec<String> {
    let run = rxdp(&["status", "--dev", dev]).ok();
    run.stdout
        .lines()
        .filter(|line| line.trim_start().contains(" mode: id "))
        .map(|line| line.trim().to_string())
        .collect()
}

/// The tag `rxdp status` prints for the program in `mode` on `dev`.
fn status_tag(dev: &str, mode: &str) -> String {
    let slots = status_slots(dev);
    let line = slots
        .iter()
        .find(|line| line.starts_with(&format!("{mode} mode: ")))
        .unwrap_or_else(|| panic!("no {mode} program in {slots:?}"));
    line.rsplit(" tag ").next().unwrap_or_default().to_string()
}

#[test]
fn the_seed_offload_pair_runs_hw_and_drv_on_one_device() {
    if !require_kernel() {
        return;
    }
    let nsim = Netdevsim::new();
    let dev = nsim.dev.as_str();
    let entry = obj("xdp_prog_kern_off");
    let tail = obj("xdp_prog_kern_off_tail");

    // The seed's two commands: the entry offloaded, the tail native.
    let started = Instant::now();
    let hw = rxdp_load(&[&entry, "--dev", dev, "--mode", "hw"]).ok();
    let hw_took = started.elapsed();
    let hw_id = printed_prog_id(&hw.stdout, 0);
    let started = Instant::now();
    let drv = rxdp_load(&[&tail, "--dev", dev, "--mode", "drv"]).ok();
    let drv_took = started.elapsed();
    let drv_id = printed_prog_id(&drv.stdout, 0);

    // Both attached together, each in its slot.
    let state = xdp(nsim.ifindex);
    assert_eq!(state.attached, XdpAttached::Multi, "{state:?}");
    assert_eq!(state.hw_prog_id, Some(hw_id), "{state:?}");
    assert_eq!(state.drv_prog_id, Some(drv_id), "{state:?}");
    assert_eq!(state.skb_prog_id, None, "{state:?}");
    // The entry is bound to the device, the tail to none.
    assert_eq!(prog_binding(hw_id).0, nsim.ifindex);
    assert_eq!(prog_binding(drv_id).0, 0);
    assert_eq!(prog_name(hw_id), "xdp_entry_off_p");
    assert_eq!(prog_name(drv_id), "xdp_tail_prog");
    // The device's own view: the entry is what it runs.
    assert_eq!(nsim.offloaded_id(), hw_id);
    assert_eq!(nsim.bound_programs(), vec![hw_id]);
    let bpftool = run("bpftool", &["prog", "show", "id", &hw_id.to_string()]);
    assert!(
        bpftool.contains(&format!("offloaded_to {dev}")),
        "bpftool: {bpftool}"
    );
    // The tail's maps are pinned under drv/; the entry has none.
    assert_eq!(
        entry_names(&device_pins(dev).join("drv")),
        ["seen", "stats"]
    );

    // rxdp status lists both.
    let slots = status_slots(dev);
    assert_eq!(slots.len(), 2, "{slots:?}");
    assert!(
        slots
            .iter()
            .any(|line| line.starts_with(&format!("hw mode: id {hw_id} xdp_entry_off_p tag "))),
        "{slots:?}"
    );
    assert!(
        slots
            .iter()
            .any(|line| line.starts_with(&format!("drv mode: id {drv_id} xdp_tail_prog tag "))),
        "{slots:?}"
    );

    // What the offloaded instructions do to a frame: the same object's
    // entry, run on the host, puts struct meta_info in front of a UDP frame
    // (l4 offset 34, protocol 17, payload 12) and passes it; its kernel tag
    // is the offloaded program's, so the instructions are the same.
    let pair = VethPair::new();
    let _veth_pins = RemovePins(device_pins(pair.root_name()));
    rxdp_load(&[&entry, "--dev", pair.root_name(), "--mode", "skb"]).ok();
    assert_eq!(status_tag(pair.root_name(), "skb"), status_tag(dev, "hw"));
    let ran = rxdp(&[
        "run",
        &entry,
        "--entry",
        "xdp_entry_off",
        "--packet",
        "udp",
        "--json",
    ])
    .ok();
    assert_eq!(field(&ran.stdout, "verdict"), "XDP_PASS", "{}", ran.stdout);
    assert!(
        field(&ran.stdout, "data_out").starts_with("220011000c000000"),
        "the metadata in front of the frame: {}",
        ran.stdout
    );

    // rxdp unload removes both, and the pins.
    let started = Instant::now();
    rxdp(&["unload", "--dev", dev]).ok();
    let unload_took = started.elapsed();
    // Straight to the process's stderr (libtest captures eprintln!), for
    // the README's figures: whole rxdp-load/rxdp processes, under TCG.
    let _ = writeln!(
        std::io::stderr(),
        "figure: offload pair on netdevsim: rxdp-load hw {hw_took:?}, rxdp-load drv {drv_took:?}, rxdp unload of both {unload_took:?}"
    );
    assert_eq!(xdp(nsim.ifindex), Default::default());
    assert!(!device_pins(dev).exists());
    gone(hw_id);
    gone(drv_id);
    assert_eq!(nsim.offloaded_id(), 0);
    eventually("both programs to leave the device", || {
        nsim.bound_programs().is_empty()
    });
}

#[test]
fn offloaded_array_and_hash_maps_are_read_and_written_through_the_device() {
    if !require_kernel() {
        return;
    }
    let nsim = Netdevsim::new();
    let dev = nsim.dev.as_str();
    let object = obj("offload_maps");
    let load = rxdp_load(&[&object, "--dev", dev, "--mode", "hw"]).ok();
    let prog_id = printed_prog_id(&load.stdout, 0);
    let counters_id = printed_map_named(&load.stdout, "counters");
    let by_ifindex_id = printed_map_named(&load.stdout, "by_ifindex");
    assert_eq!(xdp(nsim.ifindex).hw_prog_id, Some(prog_id));
    assert_eq!(nsim.offloaded_id(), prog_id);

    // Program and both maps are bound to the device (map_ifindex).
    let (prog_ifindex, mut map_ids) = prog_binding(prog_id);
    assert_eq!(prog_ifindex, nsim.ifindex);
    map_ids.sort_unstable();
    let mut expected = vec![counters_id, by_ifindex_id];
    expected.sort_unstable();
    assert_eq!(map_ids, expected);
    for (id, name, map_type) in [
        (counters_id, "counters", BPF_MAP_TYPE_ARRAY),
        (by_ifindex_id, "by_ifindex", BPF_MAP_TYPE_HASH),
    ] {
        let fd = map_get_fd_by_id(id).unwrap_or_else(|error| panic!("map {id}: {error}"));
        let info = map_info(fd.as_fd()).unwrap_or_else(|error| panic!("map {id}: {error}"));
        assert_eq!(
            (
                info.name.as_str(),
                info.map_type,
                info.ifindex,
                info.max_entries
            ),
            (name, map_type, nsim.ifindex, 2),
            "map {id}"
        );
    }
    let shown = run("bpftool", &["map", "show", "id", &counters_id.to_string()]);
    assert!(
        shown.contains(&format!("offloaded_to {dev}")),
        "bpftool: {shown}"
    );

    // Through the pins, after rxdp-load exited: the kernel asks the device.
    let pins = device_pins(dev).join("hw");
    let counters = pinned(&pins.join("counters"));
    let by_ifindex = pinned(&pins.join("by_ifindex"));
    // netdevsim starts an array with every entry zero.
    assert_eq!(read_u64(&counters, 0), 0);
    assert_eq!(read_u64(&counters, 1), 0);
    let array = MapHandle::new(counters.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    array
        .update(&1u32.to_ne_bytes(), &41u64.to_ne_bytes(), 0)
        .unwrap_or_else(|error| panic!("update counters[1]: {error}"));
    assert_eq!(read_u64(&counters, 1), 41);
    let dumped = run(
        "bpftool",
        &[
            "map",
            "lookup",
            "id",
            &counters_id.to_string(),
            "key",
            "1",
            "0",
            "0",
            "0",
        ],
    );
    assert!(
        dumped.contains("29 00 00 00 00 00 00 00"),
        "bpftool: {dumped}"
    );
    // An array has no key 2 (max_entries 2).
    let mut value = [0u8; 8];
    assert!(array.update(&2u32.to_ne_bytes(), &value, 0).is_err());

    let hash = MapHandle::new(by_ifindex.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(read_u64(&by_ifindex, 7), 0, "empty at first");
    for (key, frames) in [(7u32, 3u64), (9, 5)] {
        hash.update(&key.to_ne_bytes(), &frames.to_ne_bytes(), 0)
            .unwrap_or_else(|error| panic!("update by_ifindex[{key}]: {error}"));
    }
    assert_eq!(read_u64(&by_ifindex, 7), 3);
    assert_eq!(read_u64(&by_ifindex, 9), 5);
    // netdevsim holds two entries: a third is refused by the device.
    let third = hash.update(&11u32.to_ne_bytes(), &1u64.to_ne_bytes(), 0);
    assert!(third.is_err(), "a third entry in a 2-entry offloaded hash");
    // Walking the keys goes through the device too.
    let mut keys = Vec::new();
    let mut next = [0u8; 4];
    let mut previous: Option<[u8; 4]> = None;
    while hash
        .next_key(previous.as_ref().map(|k| &k[..]), &mut next)
        .unwrap_or_else(|error| panic!("next key: {error}"))
    {
        keys.push(u32::from_ne_bytes(next));
        previous = Some(next);
    }
    keys.sort_unstable();
    assert_eq!(keys, [7, 9]);
    assert!(hash
        .delete(&7u32.to_ne_bytes())
        .unwrap_or_else(|error| panic!("delete: {error}")));
    assert!(!hash
        .lookup(&7u32.to_ne_bytes(), &mut value)
        .unwrap_or_else(|error| panic!("lookup: {error}")));

    rxdp(&["unload", "--dev", dev]).ok();
    drop((counters, by_ifindex));
    gone(prog_id);
    assert_eq!(nsim.offloaded_id(), 0);
}

#[test]
fn force_replaces_the_offloaded_program() {
    if !require_kernel() {
        return;
    }
    let nsim = Netdevsim::new();
    let dev = nsim.dev.as_str();
    let first = rxdp_load(&[&obj("xdp_prog_kern_off"), "--dev", dev, "--mode", "hw"]).ok();
    let first_id = printed_prog_id(&first.stdout, 0);
    let maps = obj("offload_maps");

    // Without --force the slot is taken, and rxdp says by what.
    let refused = rxdp_load(&[&maps, "--dev", dev, "--mode", "hw"]).failed();
    assert!(
        refused.stderr.contains(&format!(
            "{dev} already runs XDP program xdp_entry_off_p (id {first_id}"
        )) && refused.stderr.contains("in hw mode"),
        "{}",
        refused.stderr
    );
    assert_eq!(xdp(nsim.ifindex).hw_prog_id, Some(first_id));
    assert_eq!(nsim.offloaded_id(), first_id);
    // The first program has no maps: nothing pinned, and nothing by the
    // refused load either.
    assert_eq!(
        entry_names(&device_pins(dev).join("hw")),
        Vec::<String>::new()
    );

    // With --force it replaces it, atomically, in the hw slot.
    let second = rxdp_load(&[&maps, "--dev", dev, "--mode", "hw", "--force"]).ok();
    let second_id = printed_prog_id(&second.stdout, 0);
    let state = xdp(nsim.ifindex);
    assert_eq!(state.hw_prog_id, Some(second_id), "{state:?}");
    assert_eq!(state.attached, XdpAttached::Hw, "{state:?}");
    assert_eq!(nsim.offloaded_id(), second_id);
    gone(first_id);
    // The replaced program's debugfs entry goes when the device has
    // released it, a little after its id (which reads 0 meanwhile).
    eventually("the replaced program to leave the device", || {
        nsim.bound_programs() == vec![second_id]
    });
    assert_eq!(
        entry_names(&device_pins(dev).join("hw")),
        ["by_ifindex", "counters"]
    );
}

#[test]
fn a_device_refusing_the_attach_leaves_the_program_before_in_place() {
    if !require_kernel() {
        return;
    }
    let nsim = Netdevsim::new();
    let dev = nsim.dev.as_str();
    let before = rxdp_load(&[&obj("offload_maps"), "--dev", dev, "--mode", "hw"]).ok();
    let before_id = printed_prog_id(&before.stdout, 0);
    let before_maps = (
        printed_map_named(&before.stdout, "counters"),
        printed_map_named(&before.stdout, "by_ifindex"),
    );

    nsim.accept(&nsim.port_debugfs("bpf_xdpoffload_accept"), false);
    let entry = obj("xdp_prog_kern_off");
    let refused = rxdp_load(&[&entry, "--dev", dev, "--mode", "hw", "--force"]).failed();
    // The kernel's extack from netdevsim, and the device, in the message.
    assert!(
        refused.stderr.contains("XDP offload disabled in DebugFS"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains(dev), "{}", refused.stderr);
    assert!(refused.stderr.contains("attach"), "{}", refused.stderr);

    // Rolled back: the program before still runs, its pins are its own,
    // no staging directory is left, and the refused program is freed.
    assert_eq!(xdp(nsim.ifindex).hw_prog_id, Some(before_id));
    assert_eq!(nsim.offloaded_id(), before_id);
    assert_eq!(entry_names(&device_pins(dev)), ["hw"]);
    let pins = device_pins(dev).join("hw");
    let pinned_ids = (
        map_id(&pinned(&pins.join("counters"))),
        map_id(&pinned(&pins.join("by_ifindex"))),
    );
    assert_eq!(pinned_ids, before_maps);
    eventually("the refused program to be freed", || {
        nsim.bound_programs() == vec![before_id]
    });

    // With the switch back on, the same command works.
    nsim.accept(&nsim.port_debugfs("bpf_xdpoffload_accept"), true);
    let after = rxdp_load(&[&entry, "--dev", dev, "--mode", "hw", "--force"]).ok();
    let after_id = printed_prog_id(&after.stdout, 0);
    assert_eq!(xdp(nsim.ifindex).hw_prog_id, Some(after_id));
    gone(before_id);

    // The native half refused (bpf_xdpdrv_accept): the offloaded program
    // stays, and the tail leaves no program and no pins.
    nsim.accept(&nsim.port_debugfs("bpf_xdpdrv_accept"), false);
    let tail = obj("xdp_prog_kern_off_tail");
    let refused = rxdp_load(&[&tail, "--dev", dev, "--mode", "drv"]).failed();
    assert!(
        refused.stderr.contains("driver XDP disabled in DebugFS") && refused.stderr.contains(dev),
        "{}",
        refused.stderr
    );
    let state = xdp(nsim.ifindex);
    assert_eq!(
        (state.hw_prog_id, state.drv_prog_id),
        (Some(after_id), None)
    );
    assert!(
        !device_pins(dev).join("drv").exists(),
        "the refused tail's pins"
    );
}

fn map_id(fd: &std::os::fd::OwnedFd) -> u32 {
    map_info(fd.as_fd())
        .unwrap_or_else(|error| panic!("{error}"))
        .id
}

#[test]
fn a_device_refusing_program_or_maps_is_named_and_nothing_is_left() {
    if !require_kernel() {
        return;
    }
    let nsim = Netdevsim::new();
    let dev = nsim.dev.as_str();
    let entry = obj("xdp_prog_kern_off");
    let maps = obj("offload_maps");
    let nothing_left = |what: &str| {
        assert_eq!(xdp(nsim.ifindex), Default::default(), "{what}");
        assert!(!device_pins(dev).exists(), "{what}: pins left");
        eventually(&format!("{what}: nothing bound"), || {
            nsim.bound_programs().is_empty()
        });
    };

    // The device refuses to bind programs (BPF_PROG_LOAD with prog_ifindex).
    nsim.accept(&nsim.debugfs("bpf_bind_accept"), false);
    let run = rxdp_load(&[&entry, "--dev", dev, "--mode", "hw"]).failed();
    assert!(
        run.stderr
            .contains("prog_fd[0] xdp_entry_off_prog: BPF_PROG_LOAD failed")
            && run.stderr.contains("(EOPNOTSUPP)")
            && run.stderr.contains(&format!("{dev} refused")),
        "{}",
        run.stderr
    );
    nothing_left("bind refused");
    nsim.accept(&nsim.debugfs("bpf_bind_accept"), true);

    // The device's verifier turns the program down.
    nsim.accept(&nsim.debugfs("bpf_bind_verifier_accept"), false);
    let run = rxdp_load(&[&entry, "--dev", dev, "--mode", "hw", "-v"]).failed();
    assert!(
        run.stderr.contains("Hello from netdevsim!"),
        "netdevsim's verifier line: {}",
        run.stderr
    );
    nothing_left("verifier refused");
    nsim.accept(&nsim.debugfs("bpf_bind_verifier_accept"), true);

    // The device refuses the maps (BPF_MAP_CREATE with map_ifindex).
    nsim.accept(&nsim.port_debugfs("bpf_map_accept"), false);
    let run = rxdp_load(&[&maps, "--dev", dev, "--mode", "hw"]).failed();
    assert!(
        run.stderr
            .contains("map_fd[0] by_ifindex: BPF_MAP_CREATE failed")
            && run.stderr.contains(&format!("{dev} refused")),
        "{}",
        run.stderr
    );
    nothing_left("maps refused");
    nsim.accept(&nsim.port_debugfs("bpf_map_accept"), true);

    // And with every switch back on, the load goes through.
    let run = rxdp_load(&[&maps, "--dev", dev, "--mode", "hw"]).ok();
    assert_eq!(nsim.offloaded_id(), printed_prog_id(&run.stdout, 0));
}

#[test]
fn auto_mode_never_offloads() {
    if !require_kernel() {
        return;
    }
    let nsim = Netdevsim::new();
    let dev = nsim.dev.as_str();
    let tail = obj("xdp_prog_kern_off_tail");

    // On a device that can offload, auto is native.
    let run = rxdp_load(&[&obj("xdp_prog_kern_off"), "--dev", dev]).ok();
    let id = printed_prog_id(&run.stdout, 0);
    let state = xdp(nsim.ifindex);
    assert_eq!((state.drv_prog_id, state.hw_prog_id), (Some(id), None));
    assert_eq!(prog_binding(id).0, 0, "auto must not bind to the device");
    assert_eq!(nsim.offloaded_id(), 0);
    rxdp(&["unload", "--dev", dev]).ok();

    // With an offloaded program there, auto --force takes the native slot
    // and leaves the offloaded one alone.
    let hw = rxdp_load(&[&obj("offload_maps"), "--dev", dev, "--mode", "hw"]).ok();
    let hw_id = printed_prog_id(&hw.stdout, 0);
    let auto = rxdp_load(&[&tail, "--dev", dev, "--force"]).ok();
    let auto_id = printed_prog_id(&auto.stdout, 0);
    let state = xdp(nsim.ifindex);
    assert_eq!(state.hw_prog_id, Some(hw_id), "{state:?}");
    assert_eq!(state.drv_prog_id, Some(auto_id), "{state:?}");
    assert_eq!(nsim.offloaded_id(), hw_id);
    assert_eq!(entry_names(&device_pins(dev)), ["drv", "hw"]);
}
