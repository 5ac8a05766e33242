//! Externs, BTF and map defaults against the running kernel (issue 12):
//! `__kconfig` values read back from the `.kconfig` map and from what the
//! programs saw in a test run, `__ksym` addresses and BTF ids, weak
//! externs the kernel lacks, CO-RE type ids without a match, objects of
//! `bpftool gen object`, map sizes and inner-map templates as the kernel
//! reports them, BTF the kernel refuses, and `--no-pin`.
//!
//! The expected values never come from rxdp's own readers: the kernel
//! configuration from `zcat`, addresses from `/proc/kallsyms` read here,
//! type ids from `bpftool btf dump`, map attributes from
//! `BPF_OBJ_GET_INFO_BY_FD`. The objects are `progs/obj/externs.o`,
//! `progs/obj/map_defaults.o` and the kernel selftests of
//! `conformance/subset.tsv` (`make corpus`).

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rxdp::observe::{Event, Observer, Stage};
use rxdp::{load, Autoload, LoadError, LoadOptions, Loaded, PinPolicy};
use rxdp_elf::btf::{Btf, BtfFeatures};
use rxdp_elf::ksyms::KsymValue;
use rxdp_elf::{MapType, Object};
use rxdp_kernel_tests::{corpus_object, require_kernel, run, vmlinux_btf_dump};
use rxdp_syscalls::bpf::{
    btf_get_fd_by_id, btf_info, btf_load, map_get_fd_by_id, map_info, possible_cpus, prog_test_run,
    MapHandle, TestRun, BPF_ANY, BPF_F_RDONLY_PROG,
};
use rxdp_syscalls::system::page_size;

/// `progs/obj/NAME.o`.
fn progs_obj(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../progs/obj")
        .join(format!("{name}.o"))
}

/// What a load said, as events: ksym resolutions, relocations, slots.
#[derive(Default)]
struct Seen {
    ksyms: Vec<(String, KsymValue)>,
    relocated: Vec<(String, String)>,
    slots: Vec<(usize, u32, usize)>,
    templates: usize,
    btf_left_out: bool,
    /// Kernel ids of the maps (templates included) and BTF the load made,
    /// read from `/proc/self/fdinfo` while their fds were open.
    made_maps: Vec<(String, u32)>,
    made_btf: Vec<u32>,
}

/// The `KEY:` line of `/proc/self/fdinfo/FD`: the kernel's id of a bpf fd.
fn fdinfo_id(fd: i32, key: &str) -> u32 {
    let path = format!("/proc/self/fdinfo/{fd}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{path}: no {key} in {text:?}"))
}

impl Seen {
    /// A failed load left nothing loaded: every map and BTF object it made
    /// is gone from the kernel (`BPF_*_GET_FD_BY_ID`: ENOENT). The kernel
    /// drops a map's hold on its BTF in a deferred work item after the
    /// map's id is gone, so the ids get a few seconds to go.
    fn assert_nothing_left(&self) {
        assert!(!self.made_maps.is_empty(), "the load made no map to check");
        let mut made: Vec<(String, Option<i32>)> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            made.clear();
            for (name, id) in &self.made_maps {
                let left = map_get_fd_by_id(*id).err().map(|error| error.errno);
                made.push((format!("map {name} (id {id})"), left));
            }
            for id in &self.made_btf {
                let left = btf_get_fd_by_id(*id).err().map(|error| error.errno);
                made.push((format!("BTF id {id}"), left));
            }
            if made.iter().all(|(_, errno)| *errno == Some(libc::ENOENT))
                || Instant::now() > deadline
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let left: Vec<_> = made
            .iter()
            .filter(|(_, errno)| *errno != Some(libc::ENOENT))
            .collect();
        assert!(left.is_empty(), "outlived the failed load: {left:?}");
    }
}

impl Observer for Seen {
    fn event(&mut self, event: &Event<'_>) {
        match *event {
            Event::KsymResolved { name, value, .. } => self.ksyms.push((name.to_string(), value)),
            Event::Relocated {
                program, symbol, ..
            } => self
                .relocated
                .push((program.to_string(), symbol.to_string())),
            Event::MapSlotFilled { outer, key, inner } => self.slots.push((outer, key, inner)),
            Event::MapCreated { name, fd, .. } => self
                .made_maps
                .push((name.to_string(), fdinfo_id(fd, "map_id:"))),
            Event::InnerTemplate { outer, fd } => {
                self.templates += 1;
                let id = fdinfo_id(fd, "map_id:");
                self.made_maps
                    .push((format!("template of map_fd[{outer}]"), id));
            }
            Event::BtfLoaded { fd, .. } => self.made_btf.push(fdinfo_id(fd, "btf_id:")),
            Event::BtfLeftOut { .. } => self.btf_left_out = true,
            _ => {}
        }
    }
}

/// Loads `path` pinning nothing, each program with the type its section
/// gives, the `SEC("?...")` ones too when `autoload` says so (`--all`).
fn load_with(path: &Path, autoload: Autoload, seen: &mut Seen) -> Result<Loaded, Box<LoadError>> {
    let mut options = LoadOptions::new(path);
    options.pins = PinPolicy::Never;
    options.autoload = autoload;
    load(&options, seen).map_err(Box::new)
}

fn load_ok(path: &Path, seen: &mut Seen) -> Loaded {
    load_with(path, Autoload::Default, seen).unwrap_or_else(|error| panic!("{error}"))
}

/// The value at key 0 of the map named `name`.
fn value_of(loaded: &Loaded, name: &str) -> Vec<u8> {
    let map = loaded.map(name).unwrap_or_else(|| panic!("no map {name}"));
    let handle = MapHandle::new(map.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    let mut value = vec![0u8; handle.value_size()];
    assert!(
        handle
            .lookup(&0u32.to_ne_bytes(), &mut value)
            .unwrap_or_else(|error| panic!("{error}")),
        "{name}[0] is empty"
    );
    value
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    u64::from_ne_bytes(bytes[offset..offset + 8].try_into().unwrap_or_default())
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_ne_bytes(bytes[offset..offset + 4].try_into().unwrap_or_default())
}

/// One run of an XDP program on a 64-byte frame; its verdict.
fn run_xdp(loaded: &Loaded, index: usize) -> u32 {
    let prog = loaded
        .prog_fd(index)
        .unwrap_or_else(|| panic!("no prog_fd[{index}]"));
    let frame = [0u8; 64];
    prog_test_run(&TestRun::new(prog, &frame))
        .unwrap_or_else(|error| panic!("{error}"))
        .retval
}

/// One run of a raw tracepoint program with `args` as its arguments.
fn run_raw_tp(loaded: &Loaded, index: usize, args: &[u64]) -> u32 {
    let prog = loaded
        .prog_fd(index)
        .unwrap_or_else(|| panic!("no prog_fd[{index}]"));
    let ctx: Vec<u8> = args.iter().flat_map(|a| a.to_ne_bytes()).collect();
    let mut request = TestRun::new(prog, &[]);
    request.data_out_capacity = 0;
    request.repeat = 0;
    request.ctx_in = &ctx;
    prog_test_run(&request)
        .unwrap_or_else(|error| panic!("{error}"))
        .retval
}

/// The running kernel's configuration as `zcat` reads it: `CONFIG_X` →
/// its value (`y`, `250`, `"(none)"`).
fn kernel_config() -> BTreeMap<String, String> {
    let release = run("uname", &["-r"]);
    let boot = format!("/boot/config-{}", release.trim());
    let text = if Path::new(&boot).exists() {
        std::fs::read_to_string(&boot).unwrap_or_else(|error| panic!("{boot}: {error}"))
    } else {
        run("zcat", &["/proc/config.gz"])
    };
    text.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| name.starts_with("CONFIG_"))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The address `/proc/kallsyms` gives `name`.
fn kallsyms(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_else(|e| panic!("{e}"));
    text.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let address = fields.next()?;
        let _kind = fields.next()?;
        (fields.next()? == name)
            .then(|| u64::from_str_radix(address, 16).ok())
            .flatten()
    })
}

/// `KERNEL_VERSION(a, b, c)` of `uname -r` (or of Debian's `uname -v`).
fn kernel_version() -> u64 {
    let version = run("uname", &["-v"]);
    let release = run("uname", &["-r"]);
    let text = match version.find("Debian ") {
        Some(at) => version[at + 7..].to_string(),
        None => release,
    };
    let numbers: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().unwrap_or_else(|_| panic!("version {text:?}")))
        .collect();
    (numbers[0] << 16) + (numbers[1] << 8) + numbers[2].min(255)
}

/// Whether this kernel takes an inner-map template whose value holds a
/// `bpf_spin_lock`: 6.1's `bpf_map_meta_alloc()` (kernel/bpf/map_in_map.c)
/// refuses it with ENOTSUPP; 6.2 ("bpf: Allow locking bpf_spin_lock in
/// inner map values") copies the template's record instead.
fn inner_spin_locks() -> bool {
    kernel_version() >= (6 << 16) + (2 << 8)
}

/// A load that stopped at `BPF_MAP_CREATE` of the outer map `map_fd[index]
/// name`, whose inner-map template holds a `bpf_spin_lock` (ENOTSUPP
/// before 6.2), saying so and leaving nothing loaded.
fn assert_spin_lock_template_refused(
    result: Result<Loaded, Box<LoadError>>,
    seen: &Seen,
    index: usize,
    name: &str,
) {
    let error = result
        .err()
        .unwrap_or_else(|| panic!("{name}: a spin-locked inner template on a kernel before 6.2"));
    assert_eq!(error.stage(), Stage::CreateMaps, "{error}");
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "map_fd[{index}] {name}: create (its inner maps' values hold a bpf_spin_lock, which \
             map-in-map maps take from Linux 6.2 on): BPF_MAP_CREATE failed"
        )) && text.contains("(ENOTSUPP)"),
        "{text}"
    );
    assert_eq!(seen.templates, 1, "the template was made");
    assert!(seen.slots.is_empty(), "{:?}", seen.slots);
    seen.assert_nothing_left();
}

/// What rxdp resolved a weak kfunc to: vmlinux's FUNC `id` when the
/// kernel has one (`dumped_id`), absent when it has none.
fn assert_vmlinux_kfunc(resolved: KsymValue, id: Option<u32>) {
    match id {
        Some(id) => assert!(
            matches!(resolved, KsymValue::Btf(t) if t.id == id && t.module.is_none()),
            "{resolved:?}, vmlinux's id {id}"
        ),
        None => assert_eq!(resolved, KsymValue::Absent),
    }
}

/// The id of the first type of `kind` named `name` in a raw `bpftool btf
/// dump` (`[12] STRUCT 'name' ...`).
fn dumped_id(dump: &str, kind: &str, name: &str) -> Option<u32> {
    let header = format!("] {kind} '{name}' ");
    dump.lines()
        .find(|line| line.contains(&header))
        .and_then(|line| line.trim_start_matches('[').split(']').next()?.parse().ok())
}

/// Whether `bool`/`tristate` config `name` is set (`y`: 1, `m`: 2).
fn tristate(config: &BTreeMap<String, String>, name: &str) -> u64 {
    match config.get(name).map(String::as_str) {
        Some("y") => 1,
        Some("m") => 2,
        _ => 0,
    }
}

#[test]
fn kconfig_and_ksym_externs_get_this_kernels_values() {
    if !require_kernel() {
        return;
    }
    let config = kernel_config();
    let mut seen = Seen::default();
    let loaded = load_ok(&progs_obj("externs"), &mut seen);
    assert_eq!(run_xdp(&loaded, 0), 2, "XDP_PASS");
    let results = value_of(&loaded, ".bss");
    assert_eq!(
        u64_at(&results, 0),
        kernel_version(),
        "LINUX_KERNEL_VERSION"
    );
    // bpf_get_attach_cookie is there since 5.15; this test runs on later kernels.
    assert_eq!(u64_at(&results, 8), 1, "LINUX_HAS_BPF_COOKIE");
    // libbpf answers by opening a kprobe on the wrapper: kprobes and the
    // wrapper's symbol must both be there.
    let kprobes = Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || Path::new("/sys/kernel/tracing/kprobe_events").exists();
    let wrapper = kprobes && kallsyms("__x64_sys_bpf").is_some();
    assert_eq!(
        u64_at(&results, 16),
        u64::from(wrapper),
        "LINUX_HAS_SYSCALL_WRAPPER"
    );
    assert_eq!(u64_at(&results, 24), 0, "a weak LINUX_ rxdp does not know");
    assert_eq!(
        u64_at(&results, 32),
        tristate(&config, "CONFIG_BPF_SYSCALL")
    );
    let hz: u64 = config
        .get("CONFIG_HZ")
        .map_or(0, |v| v.parse().unwrap_or(0));
    assert_eq!(u64_at(&results, 40) as u32 as u64, hz, "CONFIG_HZ");
    assert_eq!(u64_at(&results, 48), tristate(&config, "CONFIG_BPF_JIT"));
    assert_eq!(u64_at(&results, 56), 0, "a weak CONFIG_ the kernel lacks");
    let hostname = config
        .get("CONFIG_DEFAULT_HOSTNAME")
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    let seen_hostname = &results[64..80];
    let end = seen_hostname.iter().position(|&b| b == 0).unwrap_or(16);
    assert_eq!(String::from_utf8_lossy(&seen_hostname[..end]), hostname);
    // __ksym: an address from kallsyms, weak absent ones 0.
    let schedule = kallsyms("schedule").unwrap_or_else(|| panic!("no schedule in kallsyms"));
    assert_eq!(u64_at(&results, 80), schedule, "&schedule");
    assert_eq!(u64_at(&results, 88), 0, "weak untyped absent");
    assert_eq!(u64_at(&results, 96), 0, "weak typed absent");
    // bpf_ksym_exists(): bpf_task_acquire as the kernel's BTF has it (a
    // kfunc since 6.2: 0 on 6.1, the extern being weak), and the one no
    // kernel has, whose call behind the test the verifier dropped.
    let dump = vmlinux_btf_dump();
    let acquire = dumped_id(&dump, "FUNC", "bpf_task_acquire");
    assert_eq!(
        u64_at(&results, 104),
        u64::from(acquire.is_some()),
        "bpf_ksym_exists(bpf_task_acquire), vmlinux's BTF id {acquire:?}"
    );
    assert_eq!(
        u64_at(&results, 112),
        0,
        "bpf_ksym_exists(rxdp_no_such_kfunc)"
    );
    assert_eq!(u64_at(&results, 120), 0, "the poisoned call never ran");
    let ksym = |name: &str| {
        seen.ksyms
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{name} not resolved"))
    };
    assert_vmlinux_kfunc(ksym("bpf_task_acquire"), acquire);
    assert_eq!(ksym("rxdp_no_such_kfunc"), KsymValue::Absent);
    assert_eq!(ksym("schedule"), KsymValue::Address(schedule));

    // The .kconfig map: read-only for programs, frozen for user space, and
    // holding what the program read.
    let kconfig = loaded
        .map(".kconfig")
        .unwrap_or_else(|| panic!("no .kconfig"));
    let info = map_info(kconfig.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(info.flags & BPF_F_RDONLY_PROG, BPF_F_RDONLY_PROG);
    let handle = MapHandle::new(kconfig.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    let value = value_of(&loaded, ".kconfig");
    let frozen = handle
        .update(&0u32.to_ne_bytes(), &value, BPF_ANY)
        .unwrap_err();
    assert_eq!(frozen.errno, libc::EPERM, "frozen: {frozen}");
    assert!(
        value.windows(4).any(
            |w| u32::from_ne_bytes(w.try_into().unwrap_or_default()) == kernel_version() as u32
        ),
        "LINUX_KERNEL_VERSION in .kconfig"
    );
}

#[test]
fn test_core_extern_reads_the_kernel_configuration() {
    if !require_kernel() {
        return;
    }
    let config = kernel_config();
    let mut seen = Seen::default();
    let loaded = load_ok(&corpus_object("6.1", "test_core_extern"), &mut seen);
    run_raw_tp(&loaded, 0, &[0, 0]);
    // uint64_t kern_ver, unkn_virt_val, bpf_syscall, tristate_val,
    // bool_val, char_val, ushort_val, int_val, ulong_val; char str_val[8];
    // uint64_t missing_val: in .data, -1 until the program ran.
    let data = value_of(&loaded, ".data");
    assert_eq!(u64_at(&data, 0), kernel_version(), "kern_ver");
    assert_eq!(u64_at(&data, 8), 0, "weak LINUX_UNKNOWN_VIRTUAL_EXTERN");
    assert_eq!(u64_at(&data, 16), tristate(&config, "CONFIG_BPF_SYSCALL"));
    // The weak CONFIG_* of the test are in no kernel's configuration: 0.
    for (offset, name) in [
        (24, "tristate_val"),
        (32, "bool_val"),
        (40, "char_val"),
        (48, "ushort_val"),
        (56, "int_val"),
        (64, "ulong_val"),
    ] {
        assert_eq!(u64_at(&data, offset), 0, "{name}");
    }
    assert_eq!(&data[72..80], &[0; 8], "str_val");
    // `if (CONFIG_MISSING)` guards a call of a helper that does not exist:
    // with the frozen .kconfig the verifier dropped it.
    assert_eq!(u64_at(&data, 80), 0xDEAD_C0DE, "missing_val");
}

#[test]
fn bpf_syscall_macro_gets_its_syscall_wrapper_value() {
    if !require_kernel() {
        return;
    }
    let mut seen = Seen::default();
    let loaded = load_ok(&corpus_object("6.1", "bpf_syscall_macro"), &mut seen);
    let kprobes = Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || Path::new("/sys/kernel/tracing/kprobe_events").exists();
    let wrapper = kprobes && kallsyms("__x64_sys_bpf").is_some();
    assert_eq!(value_of(&loaded, ".kconfig"), [u8::from(wrapper)]);
}

#[test]
fn test_snprintf_prints_the_symbol_found_in_kallsyms() {
    if !require_kernel() {
        return;
    }
    let mut seen = Seen::default();
    let loaded = load_ok(&corpus_object("6.1", "test_snprintf"), &mut seen);
    // `pid` (the first .bss variable) filters on the calling thread.
    let bss = loaded.map(".bss").unwrap_or_else(|| panic!("no .bss"));
    let handle = MapHandle::new(bss.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    let mut value = vec![0u8; handle.value_size()];
    let tid = nix::unistd::gettid().as_raw() as u32;
    value[..4].copy_from_slice(&tid.to_ne_bytes());
    handle
        .update(&0u32.to_ne_bytes(), &value, BPF_ANY)
        .unwrap_or_else(|error| panic!("{error}"));
    run_raw_tp(&loaded, 0, &[0, 0]);
    let bss = value_of(&loaded, ".bss");
    // The kernel's %ps of &schedule: the address rxdp wrote is schedule's.
    let text = String::from_utf8_lossy(&bss);
    assert!(
        text.contains("schedule schedule+0x0/0x"),
        "sym_out: {:?}",
        text.split('\0')
            .filter(|s| s.contains("sched"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn test_ksyms_weak_resolves_typed_untyped_and_weak_ksyms() {
    if !require_kernel() {
        return;
    }
    let mut seen = Seen::default();
    let result = load_with(
        &corpus_object("6.12", "test_ksyms_weak"),
        Autoload::Default,
        &mut seen,
    );
    let ksym = |name: &str| {
        seen.ksyms
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{name} not resolved: {:?}", seen.ksyms))
    };
    // What rxdp resolved, whatever the verifier then says.
    assert!(matches!(ksym("runqueues"), KsymValue::Btf(t) if t.module.is_none()));
    // bpf_task_acquire is a kfunc since 6.2: the kernel's BTF says which.
    let dump = vmlinux_btf_dump();
    let acquire = dumped_id(&dump, "FUNC", "bpf_task_acquire");
    assert_vmlinux_kfunc(ksym("bpf_task_acquire"), acquire);
    assert_eq!(
        ksym("bpf_link_fops1"),
        KsymValue::Absent,
        "weak untyped absent"
    );
    assert_eq!(
        ksym("bpf_link_fops2"),
        KsymValue::Absent,
        "weak typed absent"
    );
    assert_eq!(
        ksym("invalid_kfunc"),
        KsymValue::Absent,
        "weak kfunc absent"
    );
    assert_eq!(
        ksym("bpf_testmod_test_mod_kfunc"),
        KsymValue::Absent,
        "a module's kfunc, no such module here"
    );
    match kallsyms("bpf_prog_active") {
        Some(active) => {
            assert_eq!(ksym("bpf_prog_active"), KsymValue::Address(active));
        }
        // Without CONFIG_KALLSYMS_ALL, data symbols are not listed.
        None => assert_eq!(ksym("bpf_prog_active"), KsymValue::Absent),
    }
    // A typed per-CPU variable needs its address in the kernel's kallsyms
    // (CONFIG_KALLSYMS_ALL): without it the verifier refuses, as it does
    // libbpf, the program rxdp gave it `runqueues` as a BTF id.
    // The program calls bpf_task_acquire, then bpf_testmod_test_mod_kfunc,
    // each when it does *not* exist (test_ksyms_weak.c:56-62): dead code
    // only on 6.2 and later with the selftests' module loaded. Without
    // them, libbpf's poisoned call (rxdp's too) is reachable and the
    // verifier refuses the first, for both loaders; nothing stays loaded.
    let refused = if acquire.is_none() {
        "bpf_task_acquire"
    } else {
        "bpf_testmod_test_mod_kfunc"
    };
    if let (Some(_), Err(error)) = (kallsyms("runqueues"), &result) {
        assert_eq!(error.stage(), Stage::LoadPrograms, "{error}");
        assert!(
            error.to_string().contains(&format!("call {refused}#kfunc")),
            "{error}"
        );
        seen.assert_nothing_left();
    } else if kallsyms("runqueues").is_some() {
        assert!(
            acquire.is_some(),
            "loaded, though bpf_task_acquire(0) is reachable without the kfunc"
        );
        let loaded = result.unwrap_or_else(|error| panic!("{error}"));
        run_raw_tp(&loaded, 0, &[0, 0]);
        // int out__existing_typed; u64 out__existing_typeless,
        // out__non_existent_typeless, out__non_existent_typed (.data).
        let data = value_of(&loaded, ".data");
        assert_eq!(u32_at(&data, 0), 0, "rq->cpu of CPU 0");
        assert_eq!(u64_at(&data, 8), kallsyms("bpf_prog_active").unwrap_or(0));
        assert_eq!((u64_at(&data, 16), u64_at(&data, 24)), (0, 0));
    } else {
        let error = result
            .err()
            .unwrap_or_else(|| panic!("loaded without KALLSYMS_ALL"));
        assert_eq!(error.stage(), Stage::LoadPrograms, "{error}");
        assert!(
            error
                .to_string()
                .contains("ldimm64 failed to find the address for kernel symbol 'runqueues'"),
            "{error}"
        );
    }
}

#[test]
fn type_based_relocations_without_a_match_are_zero() {
    if !require_kernel() {
        return;
    }
    let path = corpus_object("6.1", "test_core_reloc_type_id");
    let mut seen = Seen::default();
    let loaded = load_ok(&path, &mut seen);
    run_raw_tp(&loaded, 0, &[0, 0]);
    // struct { char in[256]; char out[256]; bool skip; } data: the output
    // is 20 ints from offset 256.
    let data = value_of(&loaded, ".bss");
    let out: Vec<u32> = (0..20).map(|i| u32_at(&data, 256 + 4 * i)).collect();
    assert_eq!(data[512], 0, "skip");
    let object_dump = run(
        "bpftool",
        &[
            "btf",
            "dump",
            "file",
            &path.display().to_string(),
            "format",
            "raw",
        ],
    );
    let local = |kind: &str, name: &str| {
        dumped_id(&object_dump, kind, name).unwrap_or_else(|| panic!("{kind} {name}"))
    };
    assert_eq!(out[6], local("STRUCT", "a_struct"), "local_struct");
    assert_eq!(out[7], local("UNION", "a_union"), "local_union");
    assert_eq!(out[8], local("ENUM", "an_enum"), "local_enum");
    assert_eq!(out[9], local("INT", "int"), "local_int");
    assert_eq!(out[10], local("TYPEDEF", "named_struct_typedef"));
    // The kernel has none of the object's types but int: 0, where the
    // instruction was poisoned before.
    let kernel_dump = vmlinux_btf_dump();
    let kernel_int = dumped_id(&kernel_dump, "INT", "int").unwrap_or_else(|| panic!("no int"));
    assert_eq!(
        out[13..20],
        [0, 0, 0, kernel_int, 0, 0, 0],
        "targ_struct, union, enum, int, struct_typedef, func_proto_typedef, arr_typedef"
    );
}

#[test]
fn static_linked_objects_skip_the_overridden_weak_code() {
    if !require_kernel() {
        return;
    }
    // `bpftool gen object linked_funcs1.o linked_funcs2.o`: both define a
    // weak set_output_weak(); the first won, the second's code stays in
    // .text without a symbol, its relocations (output_weak2) with it.
    // Its sections are `?raw_tp/...`: loaded with --all.
    let mut seen = Seen::default();
    let loaded = load_with(
        &corpus_object("6.1", "linked:linked_funcs"),
        Autoload::All,
        &mut seen,
    )
    .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(loaded.programs.len(), 2);
    let symbols: Vec<&str> = seen.relocated.iter().map(|(_, s)| s.as_str()).collect();
    assert!(symbols.contains(&"output_weak1"), "{symbols:?}");
    assert!(!symbols.contains(&"output_weak2"), "{symbols:?}");
    // set_output_ctx1/2 are __hidden: verified in their callers' context
    // (static), which is the only way they verify; the programs ran.
    for index in 0..2 {
        run_raw_tp(&loaded, index, &[0, 0]);
    }
}

#[test]
fn map_defaults_and_attributes_as_libbpf() {
    if !require_kernel() {
        return;
    }
    let mut seen = Seen::default();
    if inner_spin_locks() {
        map_defaults_as_libbpf(load_ok(&progs_obj("map_defaults"), &mut seen), &seen);
    } else {
        let result = load_with(&progs_obj("map_defaults"), Autoload::Default, &mut seen);
        assert_spin_lock_template_refused(result, &seen, 1, "outer");
    }
    let cpus = possible_cpus().unwrap_or_else(|error| panic!("{error}")) as u32;

    // The selftests: perf buffer, cgroup storage, ring buffers of 1000
    // bytes in map-in-map templates.
    let loaded = load_ok(
        &corpus_object("6.1", "test_perf_buffer"),
        &mut Seen::default(),
    );
    let perf = loaded
        .map("perf_buf_map")
        .unwrap_or_else(|| panic!("no perf_buf_map"));
    let perf = map_info(perf.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        (perf.map_type, perf.max_entries),
        (MapType::PERF_EVENT_ARRAY.0, cpus)
    );
    let loaded = load_ok(&corpus_object("6.1", "netcnt_prog"), &mut Seen::default());
    for name in ["netcnt", "percpu_netcnt"] {
        let map = loaded.map(name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(
            map_info(map.fd.as_fd()).map(|i| i.max_entries).ok(),
            Some(0)
        );
    }
    let mut seen = Seen::default();
    let loaded = load_ok(&corpus_object("6.1", "test_ringbuf_multi"), &mut seen);
    for name in ["ringbuf1", "ringbuf2"] {
        let map = loaded.map(name).unwrap_or_else(|| panic!("no {name}"));
        let info = map_info(map.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            info.max_entries,
            page_size() as u32,
            "{name}: 1000 bytes → a page"
        );
    }
    assert_eq!(seen.templates, 2);
    assert_eq!(seen.slots.len(), 3, "ringbuf_arr[0], [2], ringbuf_hash[0]");
}

/// map_defaults.o as this kernel loaded it: sizes, map_extra, and `inner`
/// stored in `outer` through a template carrying its spin lock's BTF.
fn map_defaults_as_libbpf(loaded: Loaded, seen: &Seen) {
    let info = |name: &str| {
        let map = loaded.map(name).unwrap_or_else(|| panic!("no map {name}"));
        map_info(map.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"))
    };
    let cpus = possible_cpus().unwrap_or_else(|error| panic!("{error}")) as u32;
    assert_eq!(
        info("events").max_entries,
        cpus,
        "perf-event array: possible CPUs"
    );
    assert_eq!(
        info("ring").max_entries,
        2 * page_size() as u32,
        "5000 bytes → 2 pages"
    );
    assert_eq!(info("bloom").map_extra, 3, "__ulong(map_extra, 3)");
    // The inline template carried the spin lock's BTF: `inner` went into
    // `outer`, and the program takes its lock.
    assert_eq!(seen.templates, 1);
    assert_eq!(seen.slots, [(1, 0, 0)]);
    assert_eq!(run_xdp(&loaded, 0), 2, "XDP_PASS: outer[0] holds inner");
    assert_eq!(u64_at(&value_of(&loaded, "inner"), 8), 1, "one run counted");
    let outer = loaded.map("outer").unwrap_or_else(|| panic!("no outer"));
    let handle = MapHandle::new(outer.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    let mut id = [0u8; 4];
    assert!(handle.lookup(&0u32.to_ne_bytes(), &mut id).unwrap_or(false));
    assert_eq!(u32::from_ne_bytes(id), info("inner").id);
}

#[test]
fn inline_inner_templates_carry_their_value_btf() {
    if !require_kernel() {
        return;
    }
    // array_map's value holds a bpf_spin_lock: stored in map_of_maps only
    // if the template's value has the same BTF record. The selftest's
    // programs are `?tc` ones (loaded with --all) meant to fail
    // verification: the load may stop there, never before.
    let mut seen = Seen::default();
    let result = load_with(
        &corpus_object("6.12", "test_spin_lock_fail"),
        Autoload::All,
        &mut seen,
    );
    if !inner_spin_locks() {
        assert_spin_lock_template_refused(result, &seen, 1, "map_of_maps");
        return;
    }
    assert_eq!(seen.templates, 1);
    assert_eq!(seen.slots, [(1, 0, 0)]);
    if let Err(error) = result {
        assert_eq!(error.stage(), Stage::LoadPrograms, "{error}");
    }
}

#[test]
fn enum64_map_attributes_no_longer_stop_the_open() {
    if !require_kernel() {
        return;
    }
    // arena_list's `__ulong(map_extra, 1ull << 44)`: clang 14 writes the
    // enum of size 8 with its value cut to 0 (no ENUM64 yet), and this
    // kernel refuses arena maps to every caller (EPERM); what rxdp read
    // reaches BPF_MAP_CREATE instead of stopping the open.
    let path = corpus_object("6.12", "arena_list");
    let object = Object::parse(&std::fs::read(&path).unwrap_or_default())
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(object.maps[0].name, "arena");
    match load_with(&path, Autoload::Default, &mut Seen::default()) {
        Ok(loaded) => {
            let arena = loaded.map("arena").unwrap_or_else(|| panic!("no arena"));
            let info = map_info(arena.fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(info.map_extra, object.maps[0].def.map_extra);
        }
        Err(error) => {
            assert_eq!(error.stage(), Stage::CreateMaps, "{error}");
            assert!(error.to_string().contains("map_fd[0] arena"), "{error}");
        }
    }
}

#[test]
fn btf_the_kernel_refuses_is_left_out_and_said() {
    if !require_kernel() {
        return;
    }
    let path = corpus_object("6.1", "btf_dump_test_case_namespacing");
    let mut seen = Seen::default();
    let loaded = load_ok(&path, &mut seen);
    assert!(seen.btf_left_out);
    assert!(loaded.btf_fd().is_none());
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("refused the object's .BTF")
                && w.contains("ENUM Z size=0 vlen=0 Unexpected size")),
        "{:?}",
        loaded.warnings
    );
    // The CLI says it, and --json carries it.
    let out = run(
        &rxdp_kernel_tests::bin("rxdp-load").display().to_string(),
        &["--no-pin", "--json", &path.display().to_string()],
    );
    assert!(
        out.contains("\"warnings\":[\"the kernel refused the object's .BTF"),
        "{out}"
    );
}

#[test]
fn sanitized_btf_is_accepted_by_the_kernel() {
    if !require_kernel() {
        return;
    }
    // The probes themselves: this kernel knows every kind, and lets a
    // tracepoint program read its BPF cookie.
    assert_eq!(rxdp::probe::btf_features(), BtfFeatures::ALL);
    assert!(rxdp::probe::bpf_cookie());
    // An object's BTF with the kinds replaced that each older kernel lacks
    // (ENUM64 6.0, TYPE_TAG 5.17, DECL_TAG 5.16, FLOAT 5.13, global FUNC
    // 5.6, DATASEC 5.2): still BTF this kernel accepts, the rewrite keeping
    // sizes and references straight. (Before 5.0, without FUNC, prototypes
    // become enums of unnamed values, which only such kernels take.)
    let mut kernels = Vec::new();
    let mut features = BtfFeatures::ALL;
    for lacks in [
        |f: &mut BtfFeatures| f.enum64 = false,
        |f: &mut BtfFeatures| f.type_tag = false,
        |f: &mut BtfFeatures| f.decl_tag = false,
        |f: &mut BtfFeatures| f.float = false,
        |f: &mut BtfFeatures| f.func_global = false,
        |f: &mut BtfFeatures| f.datasec = false,
    ] {
        lacks(&mut features);
        kernels.push(features);
    }
    for path in [
        progs_obj("externs"),
        progs_obj("map_defaults"),
        corpus_object("6.1", "test_core_extern"),
        corpus_object("6.12", "test_ksyms_weak"),
        corpus_object("6.12", "arena_list"),
    ] {
        let object = Object::parse(&std::fs::read(&path).unwrap_or_default())
            .unwrap_or_else(|error| panic!("{error}"));
        let mut btf: Btf = object.btf.unwrap_or_else(|| panic!("no BTF"));
        btf.prepare_for_kernel()
            .unwrap_or_else(|error| panic!("{error}"));
        for features in &kernels {
            let sanitized = btf.sanitized(features).to_bytes();
            let fd = btf_load(&sanitized)
                .unwrap_or_else(|error| panic!("{}: {features:?}: {error}", path.display()));
            let info = btf_info(fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
            assert!(!info.kernel_btf);
        }
    }
}

#[test]
fn no_pin_pins_nothing_shared_maps_included() {
    if !require_kernel() {
        return;
    }
    // test_pinning's `pinmap` is LIBBPF_PIN_BY_NAME: /sys/fs/bpf/pinmap.
    let pin = Path::new("/sys/fs/bpf/pinmap");
    if pin.exists() {
        panic!(
            "{} exists (not this test's): remove it first",
            pin.display()
        );
    }
    let path = corpus_object("6.1", "test_pinning");
    let loaded = load_ok(&path, &mut Seen::default());
    let pinmap = loaded.map("pinmap").unwrap_or_else(|| panic!("no pinmap"));
    assert!(pinmap.pin.is_none() && !pinmap.reused);
    assert!(!pin.exists(), "--no-pin pinned {}", pin.display());
    let created = pinmap.id;
    drop(loaded);

    // A compatible pin that is there is reused, still without pinning.
    let mut options = LoadOptions::new(&path);
    options.pins = PinPolicy::Default;
    let first = load(&options, &mut Seen::default()).unwrap_or_else(|error| panic!("{error}"));
    let shared = first.map("pinmap").map(|m| m.id);
    assert!(pin.exists());
    let second = load_ok(&path, &mut Seen::default());
    let reused = second.map("pinmap").unwrap_or_else(|| panic!("no pinmap"));
    assert!(reused.reused);
    assert_eq!(Some(reused.id), shared);
    assert_ne!(reused.id, created);
    drop(second);
    drop(first);
    std::fs::remove_file(pin).unwrap_or_else(|error| panic!("{error}"));
}

#[test]
fn module_btf_objects_are_found_by_name() {
    if !require_kernel() {
        return;
    }
    // vmlinux's BTF object, found the way a module's is.
    let fd = rxdp::kernel_btf::module_btf_fd("vmlinux").unwrap_or_else(|error| panic!("{error}"));
    let info = btf_info(fd.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(info.name, "vmlinux");
    assert!(info.kernel_btf);
    let error = rxdp::kernel_btf::module_btf_fd("rxdp_no_such_module").unwrap_err();
    assert_eq!(error.errno, libc::ENOENT);
    // Every module's BTF in /sys/kernel/btf parses on top of vmlinux's.
    let mut kernel =
        rxdp::kernel_btf::Kernel::read(&mut Seen::default()).unwrap_or_else(|e| panic!("{e}"));
    kernel
        .read_modules(&mut Seen::default())
        .unwrap_or_else(|error| panic!("{error}"));
    let modules = std::fs::read_dir("/sys/kernel/btf")
        .map(|entries| entries.count() - 1)
        .unwrap_or(0);
    assert_eq!(kernel.btf.modules.len(), modules);
    for (index, module) in kernel.btf.modules.iter().enumerate() {
        assert!(module.btf.first_type_id() > kernel.btf.vmlinux.max_type_id());
        let fd = kernel
            .module_fd(index)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            btf_info(fd.as_fd()).map(|i| i.name).ok().as_deref(),
            Some(module.name.as_str())
        );
    }
}

#[test]
fn strong_externs_the_kernel_lacks_are_refused_naming_them() {
    if !require_kernel() {
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let error = load_with(
        &data.join("strong_kconfig.o"),
        Autoload::Default,
        &mut Seen::default(),
    )
    .err()
    .unwrap_or_else(|| panic!("a strong CONFIG_ no kernel has loaded"));
    let text = error.to_string();
    assert!(
        text.contains(
            "kconfig extern `CONFIG_RXDP_NOT_THERE` is not set in the kernel configuration"
        ) && text.contains("declare it __weak")
            && text.contains("(looked in "),
        "{text}"
    );
    let error = load_with(
        &data.join("strong_kfunc.o"),
        Autoload::Default,
        &mut Seen::default(),
    )
    .err()
    .unwrap_or_else(|| panic!("a strong kfunc no kernel has loaded"));
    assert_eq!(error.stage(), Stage::Relocate);
    let text = error.to_string();
    assert!(
        text.contains("kernel function rxdp_not_a_kfunc (called by xdp_strong_kfunc) is not in the kernel's BTF")
            && text.contains("(looked in /sys/kernel/btf/vmlinux"),
        "{text}"
    );
    // `rxdp inspect` lists them instead of refusing the objects.
    for object in ["strong_kconfig.o", "strong_kfunc.o"] {
        let out = run(
            &rxdp_kernel_tests::bin("rxdp").display().to_string(),
            &[
                "inspect",
                "--json",
                &data.join(object).display().to_string(),
            ],
        );
        assert!(
            out.contains(
                r#""weak":false,"resolved":false,"value":"absent: a load fails (strong)"}"#
            ),
            "{out}"
        );
    }
}
