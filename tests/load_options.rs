//! Every option of `rxdp-load` / `rxdp load`, `rxdp unload` and
//! `rxdp status`, against the real kernel, checked after the loader exited.

#[path = "load_common.rs"]
mod common;

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::*;
use rxdp_elf::MapType;
use rxdp_kernel_tests::{receive_udp, require_kernel, run, unique_name, Ip, VethPair};
use rxdp_syscalls::bpf::{map_create, MapCreate, MapHandle, BPF_ANY};
use rxdp_syscalls::fs::bpffs;

/// Tests that use machine-wide shared pins (`/sys/fs/bpf/tc/globals`,
/// `/sys/fs/bpf/pinned_counter`) take turns.
static SHARED_PINS: Mutex<()> = Mutex::new(());

/// This test's turn at the machine-wide shared pins, once it has checked
/// that the shared pin at `path` is not there yet: the test makes it and
/// removes it, and one that something else made is not the test's to
/// replace or remove.
fn turn_at_shared_pin(path: &Path) -> MutexGuard<'static, ()> {
    let turn = SHARED_PINS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    assert!(
        !path.exists(),
        "{} exists already: not ours to replace or remove",
        path.display()
    );
    turn
}

/// Sends `count` UDP datagrams from the peer to a socket on the root end
/// and returns how many arrived: 0 when XDP drops them.
fn udp_delivered(pair: &VethPair, count: usize) -> usize {
    let socket = UdpSocket::bind(SocketAddr::new(pair.root_addr(Ip::V4), 0))
        .unwrap_or_else(|error| panic!("bind: {error}"));
    let port = socket
        .local_addr()
        .unwrap_or_else(|error| panic!("local_addr: {error}"))
        .port();
    pair.send_udp(Ip::V4, port, count, 8);
    receive_udp(&socket, count, Duration::from_millis(300))
}

#[test]
fn maps_and_programs_by_name() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let run = rxdp_load(&[
        &object,
        "--map",
        "jmp_table1",
        "--key",
        "78",
        "--prog",
        "xdp_prog1",
        "--dev",
        dev,
        "--mode",
        "skb",
        "--entry",
        "xdp0",
    ])
    .ok();
    assert!(
        run.stdout
            .contains("jump: map_fd[0][78] = prog_fd[1] (explicit)"),
        "{}",
        run.stdout
    );
    let jmp_table1 = pinned(&device_pins(dev).join("skb/jmp_table1"));
    assert_eq!(
        read_u32(&jmp_table1, 78),
        Some(printed_prog_id(&run.stdout, 1))
    );
    pair.send_udp(Ip::V4, 7777, 5, 4);
    let counters = pinned(&device_pins(dev).join("skb/counters"));
    eventually("xdp1 reached", || read_u64(&counters, 1) >= 5);
    // A name the object does not have: the error lists what it has.
    let run = rxdp_load(&[&object, "--map", "jmp_table3", "--key", "1", "--prog", "1"]).failed();
    assert!(
        run.stderr.contains("no map is named \"jmp_table3\"; the object has: 0 jmp_table1, 1 jmp_table2, 2 counters"),
        "{}",
        run.stderr
    );
    // A key beyond max_entries, refused before any syscall.
    let run = rxdp_load(&[&object, "--map", "0", "--key", "100", "--prog", "1"]).failed();
    assert!(
        run.stderr
            .contains("key 100 is out of range: jmp_table1 has max_entries 100"),
        "{}",
        run.stderr
    );
}

#[test]
fn force_replaces_atomically_and_refusal_names_the_program() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let args = with_article_jump(&[&object, "-d", dev, "-m", "skb"]);
    let first = rxdp_load(&args).ok();
    let first_id = printed_prog_id(&first.stdout, 0);
    assert_eq!(xdp(ifindex).skb_prog_id, Some(first_id));

    // Without --force: refused, naming what is attached.
    let refused = rxdp_load(&args).failed();
    assert!(
        refused.stderr.contains(&format!(
            "attach: {dev} already runs XDP program xdp_prog0 (id {first_id}, tag "
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("use --force to replace it"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        xdp(ifindex).skb_prog_id,
        Some(first_id),
        "the refusal changed nothing"
    );
    // The old jump table survived the failed load.
    let jmp_table1 = pinned(&device_pins(dev).join("skb/jmp_table1"));
    assert_eq!(
        read_u32(&jmp_table1, 78),
        Some(printed_prog_id(&first.stdout, 1))
    );
    drop(jmp_table1);

    // With --force, watched from another thread: never an empty slot.
    let done = AtomicBool::new(false);
    let (forced, empty_seen) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut empty = 0;
            let mut queries = 0;
            while !done.load(Ordering::Relaxed) {
                if xdp(ifindex).skb_prog_id.is_none() {
                    empty += 1;
                }
                queries += 1;
            }
            (empty, queries)
        });
        let mut forced_args = args.clone();
        forced_args.push("--force");
        let forced = rxdp_load(&forced_args).ok();
        done.store(true, Ordering::Relaxed);
        let (empty, queries) = watcher.join().unwrap_or((usize::MAX, 0));
        assert!(queries > 0);
        (forced, empty)
    });
    assert_eq!(empty_seen, 0, "the slot was seen empty during --force");
    let second_id = printed_prog_id(&forced.stdout, 0);
    assert_ne!(second_id, first_id);
    assert!(
        forced
            .stdout
            .contains(&format!("in skb mode, replacing program id {first_id}")),
        "{}",
        forced.stdout
    );
    assert_eq!(xdp(ifindex).skb_prog_id, Some(second_id));
    // The new pins replaced the old ones: the table holds the new xdp1.
    let jmp_table1 = pinned(&device_pins(dev).join("skb/jmp_table1"));
    assert_eq!(
        read_u32(&jmp_table1, 78),
        Some(printed_prog_id(&forced.stdout, 1))
    );
    assert_eq!(
        entry_names(&device_pins(dev)),
        ["skb"],
        "no staging directory is left"
    );

    // Auto mode with --force replaces in the slot the program is in.
    let auto = rxdp_load(&with_article_jump(&[&object, "-d", dev, "-f"])).ok();
    assert!(
        auto.stdout
            .contains(&format!("in skb mode, replacing program id {second_id}")),
        "{}",
        auto.stdout
    );
    assert_eq!(
        xdp(ifindex).skb_prog_id,
        Some(printed_prog_id(&auto.stdout, 0))
    );
}

#[test]
fn unload_and_status() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    // `rxdp load` is `rxdp-load`.
    let run = rxdp(&with_article_jump(&[
        "load", &object, "--dev", dev, "--mode", "skb",
    ]))
    .ok();
    let id = printed_prog_id(&run.stdout, 0);

    let status = rxdp(&["status", "--dev", dev, "--json"]).ok();
    let expected = format!(
        "{{\"devices\":[{{\"dev\":\"{dev}\",\"ifindex\":{ifindex},\"gone\":false,\"programs\":[{{\"mode\":\"skb\",\"id\":{id},\"name\":\"xdp_prog0\",\"tag\":\""
    );
    assert!(status.stdout.starts_with(&expected), "{}", status.stdout);
    let pins = format!(
        "\"pins\":[{{\"dir\":\"{}\",\"mode\":\"skb\",\"pins\":[\"counters\",\"jmp_table1\",\"jmp_table2\"],\"prog\":{id},\"state\":\"attached\"}}]}}],\"recovered\":[],\"dispatch_changes\":[],\"notes\":[]}}\n",
        device_pins(dev).join("skb").display()
    );
    assert!(status.stdout.ends_with(&pins), "{}", status.stdout);
    let text = rxdp(&["status", "-d", dev]).ok();
    assert!(
        text.stdout
            .contains(&format!("  skb mode: id {id} xdp_prog0 tag ")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!(
            "  pins in {}/ (program {id}, attached): counters jmp_table1 jmp_table2\n",
            device_pins(dev).join("skb").display()
        )),
        "{}",
        text.stdout
    );

    let unload = rxdp(&["unload", "--dev", dev]).ok();
    assert!(
        unload
            .stdout
            .contains(&format!("detached program id {id} from {dev} (skb mode)")),
        "{}",
        unload.stdout
    );
    assert_eq!(xdp(ifindex), Default::default());
    assert!(!device_pins(dev).exists(), "unload removes the pins");
    let status = rxdp(&["status", "--dev", dev, "--json"]).ok();
    assert_eq!(
        status.stdout,
        format!("{{\"devices\":[{{\"dev\":\"{dev}\",\"ifindex\":{ifindex},\"gone\":false,\"programs\":[],\"pins\":[]}}],\"recovered\":[],\"dispatch_changes\":[],\"notes\":[]}}\n")
    );
    // Unloading one mode leaves the other's pins.
    rxdp_load(&[&object, "--dev", dev, "--mode", "drv"]).ok();
    let unload = rxdp(&["unload", "--dev", dev, "--mode", "skb"]).ok();
    assert!(
        unload.stdout.contains("nothing attached"),
        "{}",
        unload.stdout
    );
    assert!(device_pins(dev).join("drv/counters").exists());
    rxdp(&["unload", "--dev", dev, "--mode", "drv"]).ok();
    assert!(!device_pins(dev).exists());
}

/// Removes the shared pins of `iproute2_maps.o` that a test created.
struct SharedPinsOf {
    paths: Vec<std::path::PathBuf>,
}

impl Drop for SharedPinsOf {
    fn drop(&mut self) {
        let root = Path::new(bpffs::DEFAULT_MOUNT);
        for path in &self.paths {
            let _ = bpffs::unpin(path);
            // The directories the load made (tc/<sha1>, tc/globals, tc),
            // as far as they are empty: rmdir fails on the others.
            for dir in path.ancestors().skip(1).take_while(|dir| *dir != root) {
                if bpffs::unpin(dir).is_err() {
                    break;
                }
            }
        }
    }
}

/// The SHA-1 of a file in hex, from coreutils: iproute2 names the
/// `PIN_OBJECT_NS` directory after it.
fn sha1_of(path: &str) -> String {
    let line = run("sha1sum", &[path]);
    let sha1 = line
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(sha1.len(), 40, "{line}");
    sha1
}

/// The shared pins a load printed (`shared at ...`, `reused ...`): for
/// iproute2_maps.o `tc/globals/glob_counter` and `tc/<sha1>/obj_counter`.
/// Removed when dropped.
fn iproute2_pins(stdout: &str) -> SharedPinsOf {
    let paths = stdout
        .lines()
        .filter_map(|line| {
            line.split_once(", shared at ")
                .or_else(|| line.split_once(", reused "))
        })
        .map(|(_, rest)| std::path::PathBuf::from(rest.trim_end_matches(')')))
        .collect();
    SharedPinsOf { paths }
}

#[test]
fn iproute2_pins_are_reused_and_id_key_sections_fill_the_jump_table() {
    if !require_kernel() {
        return;
    }
    let globals = Path::new("/sys/fs/bpf/tc/globals/glob_counter");
    let _turn = turn_at_shared_pin(globals);
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("iproute2_maps");
    let first = rxdp_load(&[&object, "--dev", dev, "--mode", "skb"]).ok();
    let _shared = iproute2_pins(&first.stdout);
    let sha1 = sha1_of(&object);
    assert!(
        first.stdout.contains(&format!(
            "map_fd[2] = obj_counter (array, id {}, shared at /sys/fs/bpf/tc/{sha1}/obj_counter)",
            printed_map_id(&first.stdout, 2)
        )),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("map_fd[1] = glob_counter (array, id ")
            && first
                .stdout
                .contains(", shared at /sys/fs/bpf/tc/globals/glob_counter)"),
        "{}",
        first.stdout
    );
    // ID/KEY sections: 1/0 and 1/1 at keys 0 and 1 of jmp_map (id 1).
    assert!(
        first
            .stdout
            .contains("jump: map_fd[0][0] = prog_fd[1] (iproute2)"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("jump: map_fd[0][1] = prog_fd[2] (iproute2)"),
        "{}",
        first.stdout
    );
    let jmp_map = pinned(&device_pins(dev).join("skb/jmp_map"));
    assert_eq!(
        read_u32(&jmp_map, 0),
        Some(printed_prog_id(&first.stdout, 1))
    );
    assert_eq!(
        read_u32(&jmp_map, 1),
        Some(printed_prog_id(&first.stdout, 2))
    );
    // iproute2's map-in-map: outer_ids[0] holds inner_tpl.
    let outer = pinned(&device_pins(dev).join("skb/outer_ids"));
    assert_eq!(read_u32(&outer, 0), Some(printed_map_id(&first.stdout, 3)));

    // A second load shares the same maps.
    let second = rxdp_load(&[&object, "--dev", dev, "--mode", "skb", "--force"]).ok();
    assert_eq!(
        printed_map_id(&second.stdout, 1),
        printed_map_id(&first.stdout, 1)
    );
    assert_eq!(
        printed_map_id(&second.stdout, 2),
        printed_map_id(&first.stdout, 2)
    );
    assert!(
        second
            .stdout
            .contains(", reused /sys/fs/bpf/tc/globals/glob_counter)"),
        "{}",
        second.stdout
    );
    assert_ne!(
        printed_map_id(&second.stdout, 0),
        printed_map_id(&first.stdout, 0)
    );
}

#[test]
fn an_incompatible_pin_is_refused() {
    if !require_kernel() {
        return;
    }
    let globals = Path::new("/sys/fs/bpf/tc/globals/glob_counter");
    let _turn = turn_at_shared_pin(globals);
    // glob_counter is ARRAY u32 -> u64 x 2; pin one with 5 entries there.
    let intruder = map_create(&{
        let mut spec = MapCreate::new(MapType::ARRAY.0, 4, 8, 5);
        spec.name = "intruder";
        spec
    })
    .unwrap_or_else(|error| panic!("{error}"));
    bpffs::create_dir_all(globals.parent().unwrap_or(Path::new("/")))
        .unwrap_or_else(|error| panic!("{error}"));
    bpffs::pin(intruder.as_fd(), globals).unwrap_or_else(|error| panic!("{error}"));
    let _intruder = SharedPinsOf {
        paths: vec![globals.to_path_buf()],
    };
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("iproute2_maps");
    let run = rxdp_load(&[&object, "--dev", dev, "--mode", "skb"]).failed();
    assert!(
        run.stderr.contains(
            "create maps: map_fd[1] glob_counter: the map pinned at /sys/fs/bpf/tc/globals/glob_counter \
             is not compatible: its max entries is 5, the object's is 2"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(xdp(pair.root_ifindex()), Default::default());
    assert!(!device_pins(dev).exists());
    // The pin that was there is left as it was.
    assert!(globals.exists());
    // And obj_counter's directory (named after the file's SHA-1, as
    // iproute2 names it) was never made.
    assert!(!Path::new("/sys/fs/bpf/tc").join(sha1_of(&object)).exists());
}

#[test]
fn map_in_map_through_inner_map_idx() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("map_in_map");
    let run = rxdp_load(&[&object, "--dev", dev, "--mode", "skb"]).ok();
    // outer was created with inner_counters as its template: inner_counters
    // itself fits in it. bpf_load.c users stored it there; so does the test.
    let dir = device_pins(dev).join("skb");
    let outer = pinned(&dir.join("outer"));
    let inner = pinned(&dir.join("inner_counters"));
    let handle = MapHandle::new(outer.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    handle
        .update(
            &0u32.to_ne_bytes(),
            &(std::os::fd::AsRawFd::as_raw_fd(&inner) as u32).to_ne_bytes(),
            BPF_ANY,
        )
        .unwrap_or_else(|error| panic!("outer[0] = inner_counters: {error}"));
    assert_eq!(read_u32(&outer, 0), Some(printed_map_id(&run.stdout, 0)));
    pair.send_udp(Ip::V4, 7777, 10, 4);
    eventually("the inner map to count", || read_u64(&inner, 0) >= 10);
}

#[test]
fn btf_array_values_fill_prog_and_map_arrays() {
    if !require_kernel() {
        return;
    }
    let by_name = Path::new("/sys/fs/bpf/pinned_counter");
    let _turn = turn_at_shared_pin(by_name);
    let _by_name = SharedPinsOf {
        paths: vec![by_name.to_path_buf()],
    };
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("btf_maps");
    // Delivered before anything is attached: the control.
    assert_eq!(udp_delivered(&pair, 5), 5);
    let run = rxdp_load(&[
        &object,
        "--dev",
        dev,
        "--mode",
        "skb",
        "--entry",
        "xdp_btf_entry",
    ])
    .ok();
    assert!(
        run.stdout
            .contains("jump: map_fd[0][0] = prog_fd[0] (btf values)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("jump: map_fd[0][3] = prog_fd[1] (btf values)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("attached prog_fd[2] to "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("map_fd[4] = pinned_counter (array, id ")
            && run
                .stdout
                .contains(", shared at /sys/fs/bpf/pinned_counter)"),
        "{}",
        run.stdout
    );
    let dir = device_pins(dev).join("skb");
    let jmp = pinned(&dir.join("jmp"));
    assert_eq!(read_u32(&jmp, 0), Some(printed_prog_id(&run.stdout, 0)));
    assert_eq!(read_u32(&jmp, 3), Some(printed_prog_id(&run.stdout, 1)));
    assert_eq!(read_u32(&jmp, 1), None);
    let outer = pinned(&dir.join("outer"));
    assert_eq!(read_u32(&outer, 0), Some(printed_map_id(&run.stdout, 1)));
    // Every packet goes through jmp[0] = tail_a: XDP_DROP.
    assert_eq!(udp_delivered(&pair, 5), 0, "tail_a drops everything");
    let inner_a = pinned(&dir.join("inner_a"));
    assert!(
        read_u64(&inner_a, 0) >= 5,
        "outer[0] = inner_a counted the packets"
    );
    assert!(
        read_u64(&pinned(by_name), 0) >= 5,
        "pinned_counter counts too"
    );
}

#[test]
fn rodata_is_frozen() {
    if !require_kernel() {
        return;
    }
    let dir = Path::new(bpffs::DEFAULT_MOUNT).join(unique_name("rxdp-test-"));
    let _pins = RemovePins(dir.clone());
    let object = obj("global_data");
    let dir_arg = dir.display().to_string();
    let run = rxdp_load(&[&object, "--pin-dir", &dir_arg]).ok();
    assert!(
        run.stdout.contains(&format!("pinned maps in {dir_arg}/")),
        "{}",
        run.stdout
    );
    let rodata = pinned(&dir.join("rodata"));
    let handle = MapHandle::new(rodata.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    // cfg_verdict (XDP_PASS) then weights {1, 2, 4, 8}: written at load.
    let mut value = vec![0u8; handle.value_size()];
    assert!(handle
        .lookup(&0u32.to_ne_bytes(), &mut value)
        .unwrap_or(false));
    let words: Vec<u32> = value
        .chunks_exact(4)
        .map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    assert_eq!(words, [2, 1, 2, 4, 8]);
    let error = handle
        .update(&0u32.to_ne_bytes(), &value, BPF_ANY)
        .expect_err("a frozen map refuses updates");
    assert_eq!(error.errno, libc::EPERM, "{error}");
    // .data stays writable.
    let data = pinned(&dir.join("data"));
    let handle = MapHandle::new(data.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    handle
        .update(&0u32.to_ne_bytes(), &7u32.to_ne_bytes(), BPF_ANY)
        .unwrap_or_else(|error| panic!(".data: {error}"));
    assert!(dir.join("rodata_str1_1").exists() && dir.join("bss").exists());
}

#[test]
fn entry_by_function_name() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("multi_prog");
    rxdp_load(&[&object, "--dev", dev, "--mode", "skb"]).ok();
    assert_eq!(udp_delivered(&pair, 5), 5, "xdp_first passes");
    let run = rxdp_load(&[
        &object,
        "--dev",
        dev,
        "--mode",
        "skb",
        "--entry",
        "xdp_second",
        "--force",
    ])
    .ok();
    assert!(
        run.stdout.contains("attached prog_fd[1] to "),
        "{}",
        run.stdout
    );
    assert_eq!(udp_delivered(&pair, 5), 0, "xdp_second drops");
    // `xdp` names the section, whose first program is xdp_first.
    let run = rxdp_load(&[
        &object, "--dev", dev, "--mode", "skb", "--entry", "xdp", "--force",
    ])
    .ok();
    assert!(
        run.stdout.contains("attached prog_fd[0] to "),
        "{}",
        run.stdout
    );
    assert_eq!(udp_delivered(&pair, 5), 5);
}

#[test]
fn verbose_json_explain_timings_and_type() {
    if !require_kernel() {
        return;
    }
    let object = obj("tail_kern");
    let run = rxdp_load(&[&object, "-v"]).ok();
    assert!(
        run.stdout
            .contains("verifier log of prog_fd[0] xdp_prog0:\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("processed "), "{}", run.stdout);
    assert!(
        !run.stdout.contains("attached"),
        "no --dev, no attach: {}",
        run.stdout
    );

    let run = rxdp_load(&[&object, "--json", "--map", "0", "--key", "1", "--prog", "1"]).ok();
    assert!(run.stdout.starts_with(&format!("{{\"file\":\"{object}\",\"maps\":[{{\"index\":0,\"name\":\"jmp_table1\",\"type\":\"prog_array\",\"id\":")), "{}", run.stdout);
    assert!(
        run.stdout.contains("\"jump_entries\":[{\"map\":0,\"key\":1,\"prog\":1,\"origin\":\"explicit\"}],\"attach\":null,\"pin_dir\":null"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1);

    let run = rxdp_load(&[&object, "--explain", "--timings"]).ok();
    for wanted in [
        "BPF_BTF_LOAD: the object's BTF",
        "BPF_MAP_CREATE map_fd[0] jmp_table1 (prog_array) -> fd ",
        "xdp_prog0 insn 29: jmp_table1: ld_imm64 map_fd[0]",
        "BPF_PROG_LOAD prog_fd[1] xdp_prog1 (xdp, 24 insns)",
        "load programs done: ",
        "stage                 wall ms  kernel ms",
        "\ntotal ",
    ] {
        assert!(
            run.stdout.contains(wanted),
            "{wanted:?} missing:\n{}",
            run.stdout
        );
    }

    // prog/0 says no type: --type decides. As a socket filter it cannot be
    // the tail of an XDP program's jump table.
    let tutorial = obj("xdp_prog_kern");
    let run = rxdp_load(&[&tutorial, "--type", "xdp"]).ok();
    assert!(
        run.stdout.contains("prog_fd[1] = xdp_prog0 (xdp,"),
        "{}",
        run.stdout
    );
    let run = rxdp_load(&[&tutorial, "--type", "socket_filter"]).failed();
    assert!(
        run.stderr.contains("prog_fd[1] xdp_prog0 (section prog/0)"),
        "{}",
        run.stderr
    );
    let run = rxdp_load(&[&tutorial, "--type", "nonsense"]);
    assert_eq!(run.code, 2, "a usage error: {run:#?}");
}
