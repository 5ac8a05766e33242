//! Nothing leaks in the kernel: 500 load/attach/unload cycles of the seed
//! objects through the command-line programs — the article (tail_kern.o,
//! skb mode), the tutorial (xdp_prog_kern.o, drv mode) and the offload
//! seed's native half (xdp_prog_kern_off_tail.o, drv mode), in turn —
//! leave the kernel's program and map id lists as they were.
//!
//! Every program and map a load made must be gone once the cycles are
//! over: the ids `rxdp-load` reported, and any other id that appeared during
//! that load under one of these objects' names (an object rxdp made and did
//! not report). The kernel frees them asynchronously (RCU, and the deferred
//! work that empties prog arrays), so the check polls for a few seconds, by
//! enumeration (`BPF_PROG_GET_NEXT_ID`/`BPF_MAP_GET_NEXT_ID`), which takes
//! no reference. Nothing is compared machine-wide by name after the fact:
//! other processes may load the same seeds meanwhile.

#[path = "load_common.rs"]
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use rxdp_elf::Object;
use rxdp_kernel_tests::{require_kernel, VethPair};
use rxdp_syscalls::bpf::{map_get_next_id, prog_get_next_id};

const CYCLES: usize = 500;
/// How long the kernel may take to free what the last cycles released.
const FREE_WAIT: Duration = Duration::from_secs(5);

/// The seed loads, as `rxdp-load` arguments after the object and device.
fn seeds() -> [(String, Vec<&'static str>); 3] {
    [
        (obj("tail_kern"), with_article_jump(&["--mode", "skb"])),
        (obj("xdp_prog_kern"), vec!["--mode", "drv"]),
        (obj("xdp_prog_kern_off_tail"), vec!["--mode", "drv"]),
    ]
}

/// The names the kernel gives the programs and maps of the seeds: the
/// object's names, cut to `BPF_OBJ_NAME_LEN - 1` bytes.
fn kernel_names(seeds: &[(String, Vec<&str>)]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (path, _) in seeds {
        let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{path}: {error}"));
        let object = Object::parse(&bytes).unwrap_or_else(|error| panic!("{path}: {error}"));
        let programs = object.programs.iter().map(|p| p.function.name.as_str());
        for name in object.maps.iter().map(|m| m.name.as_str()).chain(programs) {
            names.insert(name.chars().take(15).collect());
        }
    }
    names
}

/// The ids in `rxdp-load`'s report: `map_fd[i] = NAME (TYPE, id N...` or
/// `prog_fd[i] = NAME (TYPE, id N...` for every `i`.
fn reported(stdout: &str, prefix: &str) -> Vec<u32> {
    let count = stdout
        .lines()
        .filter(|line| line.starts_with(prefix))
        .count();
    (0..count)
        .map(|index| match prefix {
            "map_fd[" => printed_map_id(stdout, index),
            _ => printed_prog_id(stdout, index),
        })
        .collect()
}

#[test]
fn five_hundred_cycles_leave_no_program_or_map_behind() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name().to_string();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(&dev));
    let seeds = seeds();

    let names = kernel_names(&seeds);
    let mut created_progs = BTreeSet::new();
    let mut created_maps = BTreeSet::new();
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let (object, extra) = &seeds[cycle % seeds.len()];
        let mut args = vec![object.as_str(), "--dev", dev.as_str()];
        args.extend(extra);
        let ids_before = (all_ids(prog_get_next_id), all_ids(map_get_next_id));
        let run = rxdp_load(&args).ok();
        let progs = reported(&run.stdout, "prog_fd[");
        let maps = reported(&run.stdout, "map_fd[");
        // What appeared during this load under these objects' names: the
        // objects the load made, reported or not (another process naming
        // one the same within these milliseconds is not expected).
        let named_progs: Vec<u32> = all_ids(prog_get_next_id)
            .difference(&ids_before.0)
            .copied()
            .filter(|&id| prog_name_of(id).is_some_and(|name| names.contains(&name)))
            .collect();
        let named_maps: Vec<u32> = all_ids(map_get_next_id)
            .difference(&ids_before.1)
            .copied()
            .filter(|&id| map_name_of(id).is_some_and(|name| names.contains(&name)))
            .collect();
        assert!(
            progs.iter().all(|id| named_progs.contains(id))
                && maps.iter().all(|id| named_maps.contains(id)),
            "cycle {cycle}: reported programs {progs:?} and maps {maps:?} are not among the new \
             ones named like them: {named_progs:?}, {named_maps:?}"
        );
        created_progs.extend(named_progs);
        created_maps.extend(named_maps);
        assert!(!progs.is_empty() && !maps.is_empty(), "{}", run.stdout);
        let state = xdp(ifindex);
        assert_eq!(
            state.skb_prog_id.or(state.drv_prog_id),
            Some(progs[0]),
            "cycle {cycle}: prog_fd[0] is not attached"
        );
        // The kernel knows them by the names counted.
        if cycle < seeds.len() {
            for &id in &progs {
                let name = prog_name_of(id).unwrap_or_default();
                assert!(
                    names.contains(&name),
                    "program {id} is named {name:?}: {names:?}"
                );
            }
            for &id in &maps {
                let name = map_name_of(id).unwrap_or_default();
                assert!(
                    names.contains(&name),
                    "map {id} is named {name:?}: {names:?}"
                );
            }
        }
        created_progs.extend(progs);
        created_maps.extend(maps);
        rxdp(&["unload", "--dev", &dev]).ok();
        let state = xdp(ifindex);
        assert_eq!(
            (state.skb_prog_id, state.drv_prog_id),
            (None, None),
            "cycle {cycle}: still attached after unload"
        );
    }
    let cycles_took = started.elapsed();
    assert!(!device_pins(&dev).exists(), "pins left");

    // No id created during the cycles survives, once the kernel has freed
    // them. Watched by enumeration, which takes no reference: opening a prog
    // array by id while the kernel's deferred clear of it is pending (its
    // last user reference just went) leaks it for good
    // (prog_array_map_clear() takes a reference per scheduling, and a
    // second one while the work is queued is never put).
    let deadline = Instant::now() + FREE_WAIT;
    let (alive_progs, alive_maps) = loop {
        let (all_progs, all_maps) = (all_ids(prog_get_next_id), all_ids(map_get_next_id));
        let progs: Vec<u32> = created_progs
            .iter()
            .copied()
            .filter(|id| all_progs.contains(id))
            .collect();
        let maps: Vec<u32> = created_maps
            .iter()
            .copied()
            .filter(|id| all_maps.contains(id))
            .collect();
        if (progs.is_empty() && maps.is_empty()) || Instant::now() > deadline {
            break (progs, maps);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let freed_after = started.elapsed() - cycles_took;
    assert!(
        alive_progs.is_empty() && alive_maps.is_empty(),
        "still alive {FREE_WAIT:?} after the last unload: programs {alive_progs:?}, maps \
         {alive_maps:?}"
    );
    println!(
        "{CYCLES} cycles in {cycles_took:?} ({:?} each); {} programs and {} maps created, \
         all freed {freed_after:?} after the last unload",
        cycles_took / CYCLES as u32,
        created_progs.len(),
        created_maps.len()
    );
}
