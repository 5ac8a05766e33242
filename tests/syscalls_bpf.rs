//! Every bpf(2) command of rxdp-syscalls against the running kernel: maps of
//! the common types with values read back, programs built from raw
//! instructions, the verifier log on refusal and its growth, BTF, pins, info
//! and ids, test runs, XDP links on a veth pair, and the fault seam.

#[path = "syscalls_common.rs"]
mod common;

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::time::Instant;

use common::*;
use rxdp_elf::{MapType, ProgramType};
use rxdp_kernel_tests::{require_kernel, VethPair};
use rxdp_syscalls::bpf::{
    btf_load, link_create_xdp, link_get_next_id, map_create, map_freeze, map_get_fd_by_id,
    map_get_next_id, map_info, map_lookup_elem, map_update_elem, memlock_was_raised, obj_get,
    obj_pin, possible_cpus, prog_get_fd_by_id, prog_get_next_id, prog_info, prog_load,
    prog_test_run, xdp_md, MapCreate, MapHandle, ProgLoad, TestRun, BPF_ANY, BPF_EXIST,
    BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS, BPF_NOEXIST, LOG_FIRST_SIZE,
};
use rxdp_syscalls::netlink::{self, XdpFlags};
use rxdp_syscalls::seam;

fn create(map: MapCreate<'_>) -> std::os::fd::OwnedFd {
    map_create(&map).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn hash_map_elements_round_trip() {
    if !require_kernel() {
        return;
    }
    let map = create({
        let mut spec = MapCreate::new(MapType::HASH.0, 4, 8, 16);
        spec.name = "rxdp_hash";
        spec
    });
    let handle = MapHandle::new(map.as_fd()).unwrap();
    assert_eq!((handle.key_size(), handle.value_size()), (4, 8));
    let mut value = [0u8; 8];
    assert!(
        !handle.lookup(&7u32.to_ne_bytes(), &mut value).unwrap(),
        "empty map"
    );
    for key in [3u32, 1, 2] {
        let written = (u64::from(key) * 0x0101_0101_0101).to_ne_bytes();
        handle
            .update(&key.to_ne_bytes(), &written, BPF_NOEXIST)
            .unwrap();
    }
    assert!(handle.lookup(&2u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!(u64::from_ne_bytes(value), 2 * 0x0101_0101_0101);

    let again = handle
        .update(&2u32.to_ne_bytes(), &[0; 8], BPF_NOEXIST)
        .unwrap_err();
    assert_eq!(again.errno, libc::EEXIST, "{again}");
    let missing = handle
        .update(&9u32.to_ne_bytes(), &[0; 8], BPF_EXIST)
        .unwrap_err();
    assert_eq!(missing.errno, libc::ENOENT, "{missing}");
    map_update_elem(
        map.as_fd(),
        &2u32.to_ne_bytes(),
        &42u64.to_ne_bytes(),
        BPF_EXIST,
    )
    .unwrap();
    assert!(map_lookup_elem(map.as_fd(), &2u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!(u64::from_ne_bytes(value), 42);

    // Walk every key: each once, then the end.
    let mut keys = BTreeSet::new();
    let mut key = None;
    let mut next = [0u8; 4];
    while handle
        .next_key(key.as_ref().map(|k: &[u8; 4]| &k[..]), &mut next)
        .unwrap()
    {
        assert!(keys.insert(u32::from_ne_bytes(next)), "key seen twice");
        key = Some(next);
    }
    assert_eq!(keys, BTreeSet::from([1, 2, 3]));

    assert!(handle.delete(&1u32.to_ne_bytes()).unwrap());
    assert!(!handle.delete(&1u32.to_ne_bytes()).unwrap(), "already gone");
    assert!(!handle.lookup(&1u32.to_ne_bytes(), &mut value).unwrap());

    // Buffers of the wrong size never reach the kernel.
    let error = handle.lookup(&[0; 3], &mut value).unwrap_err();
    assert_eq!(error.errno, libc::EINVAL);
    assert!(error.to_string().contains("key of 3 bytes"), "{error}");
    let error = handle
        .update(&1u32.to_ne_bytes(), &[0; 16], BPF_ANY)
        .unwrap_err();
    assert!(error.to_string().contains("value of 16 bytes"), "{error}");

    let info = map_info(map.as_fd()).unwrap();
    assert_eq!(info.map_type, MapType::HASH.0);
    assert_eq!(
        (info.key_size, info.value_size, info.max_entries),
        (4, 8, 16)
    );
    assert_eq!(info.name, "rxdp_hash");
    assert!(info.id > 0);
}

#[test]
fn array_lru_and_percpu_maps_hold_values() {
    if !require_kernel() {
        return;
    }
    // Array: every index exists (zeroed); indexes past the end do not.
    let array = u64_array("rxdp_array", 4);
    let mut value = [0xffu8; 8];
    assert!(map_lookup_elem(array.as_fd(), &3u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!(value, [0; 8]);
    assert!(!map_lookup_elem(array.as_fd(), &4u32.to_ne_bytes(), &mut value).unwrap());
    map_update_elem(
        array.as_fd(),
        &3u32.to_ne_bytes(),
        &77u64.to_ne_bytes(),
        BPF_ANY,
    )
    .unwrap();
    map_lookup_elem(array.as_fd(), &3u32.to_ne_bytes(), &mut value).unwrap();
    assert_eq!(u64::from_ne_bytes(value), 77);
    let past = map_update_elem(array.as_fd(), &4u32.to_ne_bytes(), &[0; 8], BPF_ANY).unwrap_err();
    assert_eq!(past.errno, libc::E2BIG, "{past}");

    // LRU hash.
    let lru = create({
        let mut spec = MapCreate::new(MapType::LRU_HASH.0, 8, 4, 64);
        spec.name = "rxdp_lru";
        spec
    });
    map_update_elem(
        lru.as_fd(),
        &5u64.to_ne_bytes(),
        &6u32.to_ne_bytes(),
        BPF_ANY,
    )
    .unwrap();
    let mut small = [0u8; 4];
    assert!(map_lookup_elem(lru.as_fd(), &5u64.to_ne_bytes(), &mut small).unwrap());
    assert_eq!(u32::from_ne_bytes(small), 6);

    // Per-CPU array: one 8-byte-aligned slot per possible CPU.
    let cpus = possible_cpus().unwrap();
    let percpu = create({
        let mut spec = MapCreate::new(MapType::PERCPU_ARRAY.0, 4, 4, 2);
        spec.name = "rxdp_percpu";
        spec
    });
    let handle = MapHandle::new(percpu.as_fd()).unwrap();
    assert_eq!(handle.value_size(), 8 * cpus);
    let written: Vec<u8> = (0..cpus)
        .flat_map(|cpu| u64::from(100 + cpu as u32).to_ne_bytes())
        .collect();
    handle
        .update(&1u32.to_ne_bytes(), &written, BPF_ANY)
        .unwrap();
    let mut read = vec![0u8; 8 * cpus];
    assert!(handle.lookup(&1u32.to_ne_bytes(), &mut read).unwrap());
    assert_eq!(read, written);

    // Ring buffer: no keys or values, a power-of-two number of pages.
    let ringbuf = create({
        let mut spec = MapCreate::new(MapType::RINGBUF.0, 0, 0, 64 * 1024);
        spec.name = "rxdp_ringbuf";
        spec
    });
    let info = map_info(ringbuf.as_fd()).unwrap();
    assert_eq!(
        (info.map_type, info.max_entries),
        (MapType::RINGBUF.0, 64 * 1024)
    );
}

#[test]
fn fd_maps_take_fds_and_give_ids() {
    if !require_kernel() {
        return;
    }
    // A prog array, filled as rxdp-load --map 0 --key 78 --prog 1 does.
    let jump_table = create({
        let mut spec = MapCreate::new(MapType::PROG_ARRAY.0, 4, 4, 100);
        spec.name = "rxdp_jmp";
        spec
    });
    let target = load_xdp("rxdp_target", &xdp_pass());
    let fd = target.fd.as_fd();
    map_update_elem(
        jump_table.as_fd(),
        &78u32.to_ne_bytes(),
        &fd_bytes(fd),
        BPF_ANY,
    )
    .unwrap();
    let mut id = [0u8; 4];
    assert!(map_lookup_elem(jump_table.as_fd(), &78u32.to_ne_bytes(), &mut id).unwrap());
    assert_eq!(u32::from_ne_bytes(id), prog_info(fd).unwrap().id);
    assert!(!map_lookup_elem(jump_table.as_fd(), &77u32.to_ne_bytes(), &mut id).unwrap());

    // An array of maps, created from its inner map template.
    let inner = u64_array("rxdp_inner", 1);
    let outer = create({
        let mut spec = MapCreate::new(MapType::ARRAY_OF_MAPS.0, 4, 4, 2);
        spec.name = "rxdp_outer";
        spec.inner_map_fd = Some(inner.as_fd());
        spec
    });
    map_update_elem(
        outer.as_fd(),
        &1u32.to_ne_bytes(),
        &fd_bytes(inner.as_fd()),
        BPF_ANY,
    )
    .unwrap();
    assert!(map_lookup_elem(outer.as_fd(), &1u32.to_ne_bytes(), &mut id).unwrap());
    assert_eq!(u32::from_ne_bytes(id), map_id(&inner));
}

fn fd_bytes(fd: std::os::fd::BorrowedFd<'_>) -> [u8; 4] {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd().to_ne_bytes()
}

#[test]
fn frozen_maps_refuse_updates() {
    if !require_kernel() {
        return;
    }
    let map = u64_array("rxdp_frozen", 1);
    map_update_elem(
        map.as_fd(),
        &0u32.to_ne_bytes(),
        &5u64.to_ne_bytes(),
        BPF_ANY,
    )
    .unwrap();
    map_freeze(map.as_fd()).unwrap();
    let error = map_update_elem(
        map.as_fd(),
        &0u32.to_ne_bytes(),
        &6u64.to_ne_bytes(),
        BPF_ANY,
    )
    .unwrap_err();
    assert_eq!(error.errno, libc::EPERM, "{error}");
    let mut value = [0u8; 8];
    map_lookup_elem(map.as_fd(), &0u32.to_ne_bytes(), &mut value).unwrap();
    assert_eq!(u64::from_ne_bytes(value), 5, "still readable, unchanged");
}

#[test]
fn map_names_are_sanitised_and_errors_name_the_map() {
    if !require_kernel() {
        return;
    }
    let map = u64_array("prog/0-with a long tail", 1);
    assert_eq!(map_info(map.as_fd()).unwrap().name, "prog_0_with_a_l");
    let error = map_create(&{
        let mut spec = MapCreate::new(MapType::HASH.0, 0, 8, 1);
        spec.name = "bad/hash";
        spec
    })
    .unwrap_err();
    assert_eq!(error.errno, libc::EINVAL);
    assert_eq!(error.subject.as_deref(), Some("map bad/hash"));
}

#[test]
fn tiny_xdp_program_loads_runs_and_is_described() {
    if !require_kernel() {
        return;
    }
    let loaded = load_xdp("rxdp_tiny", &xdp_pass());
    assert!(loaded.log.is_empty(), "no log asked for: {}", loaded.log);
    eprintln!(
        "figure: BPF_PROG_LOAD of a 2-instruction XDP program took {:?}; memlock raised: {}",
        loaded.load_time,
        memlock_was_raised()
    );
    let stats = loaded.stats().unwrap();
    assert_eq!(stats.insns_processed, 2);
    assert!(!stats.from_log, "from the program info: there is no log");

    let fd = loaded.fd.as_fd();
    let info = prog_info(fd).unwrap();
    assert_eq!(info.prog_type, ProgramType::XDP.0);
    assert_eq!(info.name, "rxdp_tiny");
    assert_ne!(info.tag, [0; 8]);
    assert_eq!(info.tag_hex().len(), 16);
    assert!(info.map_ids.is_empty());
    assert_eq!(info.xlated_len, 16);
    assert!(info.gpl_compatible);
    assert_eq!(info.verified_insns, 2);

    // The id walk finds it, and the id opens it again.
    let mut id = 0;
    let mut found = false;
    while let Some(next) = prog_get_next_id(id).unwrap() {
        assert!(next > id, "ids ascend");
        found |= next == info.id;
        id = next;
    }
    assert!(found, "program {} not among the ids", info.id);
    let reopened = prog_get_fd_by_id(info.id).unwrap();
    let again = prog_info(reopened.as_fd()).unwrap();
    assert_eq!((again.id, again.tag), (info.id, info.tag));
    let error = prog_get_fd_by_id(u32::MAX).unwrap_err();
    assert_eq!(error.errno, libc::ENOENT);
    assert_eq!(
        error.subject.as_deref(),
        Some(&*format!("program id {}", u32::MAX))
    );

    // Test run: XDP_PASS, the frame unchanged, a measured duration.
    let frame = frame();
    let result = prog_test_run(&{
        let mut spec = TestRun::new(fd, &frame);
        spec.repeat = 100;
        spec
    })
    .unwrap();
    assert_eq!(result.retval, XDP_PASS);
    assert_eq!(result.data_out, frame);
    assert!(result.duration_ns > 0);
    eprintln!("figure: test run of it: {} ns per run", result.duration_ns);
}

#[test]
fn program_with_a_map_counts_its_runs() {
    if !require_kernel() {
        return;
    }
    let counter = u64_array("rxdp_counter", 1);
    let mut insns = vec![
        mov_imm(1, 0),
        store_u32(10, -4, 1), // key 0 on the stack
        mov_reg(2, 10),
        add_imm(2, -4),
    ];
    insns.extend(ld_map_fd(1, counter.as_fd()));
    insns.extend([
        call(FUNC_MAP_LOOKUP_ELEM),
        jeq_imm(0, 0, 2),
        mov_imm(1, 1),
        atomic_add_u64(0, 0, 1),
        mov_imm(0, XDP_PASS as i32),
        exit(),
    ]);
    let loaded = load_xdp("rxdp_count", &bytes(&insns));
    let info = prog_info(loaded.fd.as_fd()).unwrap();
    assert_eq!(info.map_ids, [map_id(&counter)]);

    let frame = frame();
    let result = prog_test_run(&{
        let mut spec = TestRun::new(loaded.fd.as_fd(), &frame);
        spec.repeat = 25;
        spec
    })
    .unwrap();
    assert_eq!(result.retval, XDP_PASS);
    let mut value = [0u8; 8];
    map_lookup_elem(counter.as_fd(), &0u32.to_ne_bytes(), &mut value).unwrap();
    assert_eq!(u64::from_ne_bytes(value), 25, "one increment per run");

    // The map shows up in the map id walk too, and opens by id.
    let id = map_id(&counter);
    let mut walk = 0;
    let mut found = false;
    while let Some(next) = map_get_next_id(walk).unwrap() {
        found |= next == id;
        walk = next;
    }
    assert!(found);
    let reopened = map_get_fd_by_id(id).unwrap();
    assert_eq!(map_id(&reopened), id);
}

#[test]
fn test_run_takes_a_context_with_metadata() {
    if !require_kernel() {
        return;
    }
    let loaded = load_xdp("rxdp_meta", &xdp_pass());
    let mut data = vec![0xaau8; 8];
    data.extend(frame());
    let ctx = xdp_md(8, 64, 0);
    let result = prog_test_run(&{
        let mut spec = TestRun::new(loaded.fd.as_fd(), &data);
        spec.ctx_in = &ctx;
        spec.ctx_out_capacity = ctx.len();
        spec
    })
    .unwrap();
    assert_eq!(result.retval, XDP_PASS);
    assert_eq!(result.data_out, data, "metadata and frame come back");
    assert_eq!(
        &result.ctx_out[..12],
        &ctx[..12],
        "data, data_end, data_meta"
    );

    // Room too small for the output: ENOSPC saying how much was needed.
    let error = prog_test_run(&{
        let mut spec = TestRun::new(loaded.fd.as_fd(), &data[8..]);
        spec.data_out_capacity = 10;
        spec
    })
    .unwrap_err();
    assert_eq!(error.errno, libc::ENOSPC);
    assert!(
        error.to_string().contains("left 64 bytes, room for 10"),
        "{error}"
    );
}

#[test]
fn verifier_refusal_comes_with_its_log() {
    if !require_kernel() {
        return;
    }
    // `exit` with r0 never written.
    let insns = bytes(&[exit()]);
    let error = prog_load(&{
        let mut spec = ProgLoad::new(ProgramType::XDP.0, &insns, "GPL");
        spec.name = "rxdp_bad";
        spec
    })
    .unwrap_err();
    assert_eq!(error.errno, libc::EACCES, "{error}");
    let log = error.log.as_deref().unwrap_or_default();
    assert!(log.contains("R0 !read_ok"), "{log}");
    let message = error.kernel_message.as_deref().unwrap_or_default();
    assert!(message.starts_with("R0 !read_ok"), "{message}");
    let shown = error.to_string();
    assert!(
        shown.starts_with("BPF_PROG_LOAD (program rxdp_bad) failed"),
        "{shown}"
    );
    assert!(
        shown.contains("the verifier rejected the program"),
        "{shown}"
    );
}

#[test]
fn verbose_loads_return_the_log_and_grow_it() {
    if !require_kernel() {
        return;
    }
    let pass = xdp_pass();
    let mut request = ProgLoad::new(ProgramType::XDP.0, &pass, "GPL");
    request.log_level = BPF_LOG_LEVEL1 | BPF_LOG_STATS;
    let small = prog_load(&request).unwrap();
    let stats = small.stats().unwrap();
    assert!(
        stats.from_log && stats.insns_processed == 2,
        "{stats:?}\n{}",
        small.log
    );
    assert!(stats.verification_time_usec.is_some(), "{}", small.log);

    // 4000 instructions at level 2 log far more than the first 64 KiB.
    let mut insns = vec![mov_imm(0, 1); 3999];
    insns.extend([mov_imm(0, XDP_PASS as i32), exit()]);
    let start = Instant::now();
    let long = bytes(&insns);
    let mut request = ProgLoad::new(ProgramType::XDP.0, &long, "GPL");
    request.name = "rxdp_long";
    request.log_level = BPF_LOG_LEVEL2;
    let big = prog_load(&request).unwrap();
    assert!(
        big.log.len() > LOG_FIRST_SIZE,
        "log of {} bytes",
        big.log.len()
    );
    assert!(
        big.log.starts_with("func#0") || big.log.starts_with('0'),
        "the log is whole"
    );
    let stats = big.stats().unwrap();
    assert_eq!(stats.insns_processed, 4001);
    eprintln!(
        "figure: level-2 load of 4001 insns: {} bytes of log, {:?}",
        big.log.len(),
        start.elapsed()
    );
}

/// A BTF blob with one type, `int` (4 bytes, signed, 32 bits), or with a
/// corrupt name offset.
fn int_btf(name_off: u32) -> Vec<u8> {
    let strings = b"\0int\0";
    let mut types = Vec::new();
    for word in [name_off, 1 << 24, 4, (1 << 24) | 32] {
        // name_off; info: kind BTF_KIND_INT (1); size 4; encoding SIGNED, 32 bits.
        types.extend_from_slice(&word.to_ne_bytes());
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    blob.extend_from_slice(&[1, 0]); // version, flags
    for word in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        // hdr_len, type_off, type_len, str_off, str_len
        blob.extend_from_slice(&word.to_ne_bytes());
    }
    blob.extend(types);
    blob.extend_from_slice(strings);
    blob
}

#[test]
fn btf_loads_and_refusals_carry_the_log() {
    if !require_kernel() {
        return;
    }
    btf_load(&int_btf(1)).unwrap_or_else(|error| panic!("{error}: {:?}", error.log));
    let error = btf_load(&int_btf(100)).unwrap_err();
    assert_eq!(error.errno, libc::EINVAL, "{error}");
    let log = error.log.as_deref().unwrap_or_default();
    assert!(log.contains("Invalid name_offset"), "{log}");
    assert!(error.kernel_message.is_some());
}

#[test]
fn pins_round_trip() {
    if !require_kernel() {
        return;
    }
    let dir = PinDir::new();
    let map = u64_array("rxdp_pinned", 1);
    let path = dir.path().join("map");
    obj_pin(map.as_fd(), &path).unwrap();
    let reopened = obj_get(&path).unwrap();
    assert_eq!(map_id(&reopened), map_id(&map));
    let error = obj_pin(map.as_fd(), &path).unwrap_err();
    assert_eq!(error.errno, libc::EEXIST);
    assert_eq!(error.subject.as_deref(), Some(&*path.to_string_lossy()));

    let prog = load_xdp("rxdp_pinprog", &xdp_pass());
    let prog_path = dir.path().join("prog");
    obj_pin(prog.fd.as_fd(), &prog_path).unwrap();
    let reopened = obj_get(&prog_path).unwrap();
    assert_eq!(
        prog_info(reopened.as_fd()).unwrap().id,
        prog_info(prog.fd.as_fd()).unwrap().id
    );

    // Every fd the kernel hands out is close-on-exec.
    for fd in [map.as_fd(), prog.fd.as_fd(), reopened.as_fd()] {
        assert_cloexec(&fd);
    }
    assert_cloexec(&prog_get_fd_by_id(prog_info(prog.fd.as_fd()).unwrap().id).unwrap());
    assert_cloexec(&btf_load(&int_btf(1)).unwrap());

    let missing = dir.path().join("missing");
    let error = obj_get(&missing).unwrap_err();
    assert_eq!(error.errno, libc::ENOENT);
    assert!(
        error.to_string().contains(&*missing.to_string_lossy()),
        "{error}"
    );
}

#[test]
fn xdp_link_attaches_until_dropped() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let ifindex = pair.root_ifindex();
    let prog = load_xdp("rxdp_linked", &xdp_pass());
    let prog_id = prog_info(prog.fd.as_fd()).unwrap().id;
    let link = link_create_xdp(prog.fd.as_fd(), ifindex, XdpFlags::DRV_MODE).unwrap();
    assert_cloexec(&link);
    let state = netlink::query(ifindex).unwrap();
    assert_eq!(state.drv_prog_id, Some(prog_id), "{state:?}");

    let mut found = false;
    let mut id = 0;
    while let Some(next) = link_get_next_id(id).unwrap() {
        found = true;
        id = next;
    }
    assert!(found, "the link is among the link ids");

    let other = load_xdp("rxdp_second", &xdp_pass());
    let error = link_create_xdp(other.fd.as_fd(), ifindex, XdpFlags::DRV_MODE).unwrap_err();
    assert_eq!(error.errno, libc::EBUSY, "{error}");
    assert_eq!(
        error.subject.as_deref(),
        Some(&*format!("ifindex {ifindex}"))
    );

    drop(link);
    let state = netlink::query(ifindex).unwrap();
    assert_eq!(
        state.drv_prog_id, None,
        "closing the link detached it: {state:?}"
    );
}

#[test]
fn the_seam_injects_faults() {
    if !require_kernel() {
        return;
    }
    let spec = {
        let mut spec = MapCreate::new(MapType::ARRAY.0, 4, 4, 1);
        spec.name = "rxdp_fault";
        spec
    };
    seam::fail_nth(1, libc::ENOMEM);
    let error = map_create(&spec).unwrap_err();
    assert_eq!(error.errno, libc::ENOMEM);
    assert!(error.is_injected());
    assert!(map_create(&spec).is_ok(), "only the first call fails");

    // EAGAIN from BPF_PROG_LOAD is retried: the load succeeds on the second call.
    seam::fail_nth(1, libc::EAGAIN);
    let loaded = load_xdp("rxdp_retry", &xdp_pass());
    assert_eq!(seam::syscall_count(), 2);
    drop(loaded);

    // An injected refusal stays a refusal: no reload with a log.
    seam::fail_nth(1, libc::EACCES);
    let error = prog_load(&ProgLoad::new(ProgramType::XDP.0, &xdp_pass(), "GPL")).unwrap_err();
    assert_eq!((error.errno, error.log.as_deref()), (libc::EACCES, None));
    assert_eq!(seam::syscall_count(), 1);
    seam::clear_fault();
    assert!(seam::kernel_time() > std::time::Duration::ZERO);
}
