//! The load pipeline, its rollback, attach and the staged API against the
//! fake kernel (`rxdp_syscalls::fake::SimKernel`): no root, milliseconds.
//!
//! Every test installs a simulated kernel on its own thread, runs the
//! library as a program would, and checks what the kernel saw (the call
//! log, in order), what it holds afterwards (slots, map contents), and
//! that no fd the kernel handed out is still open after a failure.

use std::cell::RefCell;
use std::rc::Rc;

use rxdp::{
    load, AttachOptions, GlobalError, JumpRequest, LoadError, LoadOptions, MapError, Mode,
    NoObserver, Object, PinPolicy, Ref, Stage,
};
use rxdp_syscalls::fake::{install, Installed, SimKernel};
use rxdp_syscalls::netlink::{self, XdpFlags};

const DEV: &str = "fake0";

fn obj(name: &str) -> String {
    format!("{}/../progs/obj/{name}.o", env!("CARGO_MANIFEST_DIR"))
}

/// A simulated kernel with one device, installed on this thread.
fn kernel() -> (Rc<RefCell<SimKernel>>, u32, Installed) {
    let mut sim = SimKernel::new();
    let ifindex = sim.add_device(DEV);
    let sim = Rc::new(RefCell::new(sim));
    let installed = install(sim.clone());
    (sim, ifindex, installed)
}

/// The article's load: `--map 0 --key 78 --prog 1`, attached in `mode`
/// to the fake device, no pins.
fn article(mode: Mode, force: bool) -> LoadOptions {
    let mut options = LoadOptions::new(obj("tail_kern"));
    options
        .jumps
        .push(JumpRequest::new(Ref::Index(0), 78, Ref::Index(1)));
    options.attach = Some(AttachOptions::new(DEV).with_mode(mode).with_force(force));
    options.pins = PinPolicy::Never;
    options
}

/// The log lines of the kernel that are not info queries or lookups.
fn changes(sim: &SimKernel) -> Vec<String> {
    sim.log()
        .iter()
        .filter(|line| {
            !line.starts_with("BPF_OBJ_GET_INFO_BY_FD") && !line.starts_with("RTM_GETLINK")
        })
        .cloned()
        .collect()
}

#[test]
fn the_pipeline_runs_its_stages_in_order() {
    let (sim, ifindex, _installed) = kernel();
    let loaded = load(&article(Mode::Skb, false), &mut NoObserver).expect("load");
    let sim = sim.borrow();
    assert_eq!(
        changes(&sim),
        [
            "BPF_BTF_LOAD",
            "BPF_MAP_CREATE jmp_table1",
            "BPF_MAP_CREATE jmp_table2",
            "BPF_MAP_CREATE counters",
            "BPF_PROG_LOAD xdp_prog0",
            "BPF_PROG_LOAD xdp_prog1",
            "BPF_MAP_UPDATE_ELEM jmp_table1",
            "RTM_SETLINK 2 attach xdp_prog0 UPDATE_IF_NOEXIST | SKB_MODE",
        ]
    );
    // The kernel holds what the load reports.
    let prog1 = loaded.programs[1].id;
    assert_eq!(
        sim.map_value("jmp_table1", &78u32.to_ne_bytes()),
        Some(prog1.to_ne_bytes().to_vec())
    );
    let device = sim.device(ifindex).expect("device");
    assert_eq!(device.xdp.skb_prog_id, Some(loaded.programs[0].id));
    let attached = loaded.attach.as_ref().expect("attached");
    assert_eq!((attached.ifindex, attached.mode), (ifindex, Mode::Skb));
}

#[test]
fn auto_mode_reports_the_slot_the_kernel_chose() {
    let (sim, ifindex, _installed) = kernel();
    let loaded = load(&article(Mode::Auto, false), &mut NoObserver).expect("load");
    assert_eq!(loaded.attach.as_ref().map(|a| a.mode), Some(Mode::Drv));
    let id = loaded.programs[0].id;
    assert_eq!(
        sim.borrow().device(ifindex).unwrap().xdp.drv_prog_id,
        Some(id)
    );
}

/// Fails the `nth` call `op` of the article's load and checks the stage
/// the error names, that no fd stays open and nothing stays attached.
fn fails_and_rolls_back(
    op: &'static str,
    nth: usize,
    stage: Stage,
) -> (LoadError, Vec<String>, Vec<String>) {
    let (sim, ifindex, _installed) = kernel();
    sim.borrow_mut().fail(op, nth, libc::EPERM, None);
    let error = load(&article(Mode::Skb, false), &mut NoObserver)
        .expect_err(&format!("{op} #{nth} must fail"));
    assert_eq!(error.stage(), stage, "{op} #{nth}: {error}");
    assert!(error.to_string().contains(op), "{op} #{nth}: {error}");
    let sim = sim.borrow();
    assert_eq!(
        sim.open_fds(),
        Vec::<String>::new(),
        "{op} #{nth}: fds left open"
    );
    assert_eq!(
        sim.device(ifindex).unwrap().xdp.skb_prog_id,
        None,
        "{op} #{nth}: left attached"
    );
    (error, changes(&sim), sim.log().to_vec())
}

#[test]
fn every_stage_fails_cleanly() {
    for (op, nth, stage) in [
        ("BPF_BTF_LOAD", 1, Stage::LoadBtf),
        ("BPF_MAP_CREATE", 1, Stage::CreateMaps),
        ("BPF_MAP_CREATE", 3, Stage::CreateMaps),
        ("BPF_OBJ_GET_INFO_BY_FD", 2, Stage::CreateMaps),
        ("BPF_PROG_LOAD", 1, Stage::LoadPrograms),
        ("BPF_PROG_LOAD", 2, Stage::LoadPrograms),
        ("BPF_MAP_UPDATE_ELEM", 1, Stage::FillJumpTables),
        ("RTM_SETLINK", 1, Stage::Attach),
    ] {
        let (_, _, log) = fails_and_rolls_back(op, nth, stage);
        // Nothing after the failing call: the load stopped there.
        let failed = log
            .iter()
            .filter(|line| line.starts_with(op))
            .nth(nth - 1)
            .unwrap_or_else(|| panic!("{op} #{nth} not in {log:?}"));
        assert_eq!(log.last(), Some(failed), "{op} #{nth}: {log:?}");
    }
}

#[test]
fn a_failure_after_the_attach_detaches_our_program_only() {
    // RTM_GETLINK #1 finds the device, #2 is the check after the attach.
    let (error, log, _) = fails_and_rolls_back("RTM_GETLINK", 2, Stage::Attach);
    assert!(matches!(error, LoadError::Attach { .. }), "{error}");
    assert_eq!(
        &log[log.len() - 2..],
        [
            "RTM_SETLINK 2 attach xdp_prog0 UPDATE_IF_NOEXIST | SKB_MODE",
            "RTM_SETLINK 2 detach SKB_MODE | REPLACE expected xdp_prog0",
        ],
        "the undo names our program as the expected one"
    );
}

#[test]
fn a_verifier_refusal_shows_the_log() {
    let (sim, _, _installed) = kernel();
    sim.borrow_mut()
        .reject_program("xdp_prog1", "0: (b7) r0 = 2\n1: (95) exit\nR0 !read_ok\n");
    let error = load(&article(Mode::Skb, false), &mut NoObserver).expect_err("refused");
    let LoadError::Verifier {
        program, report, ..
    } = &error
    else {
        panic!("not a verifier error: {error}");
    };
    assert_eq!(program, "xdp_prog1");
    assert_eq!(report.tail.last().map(String::as_str), Some("R0 !read_ok"));
    // Loaded once without a log, once more with one.
    assert_eq!(sim.borrow().calls("BPF_PROG_LOAD xdp_prog1").len(), 2);
    assert_eq!(sim.borrow().open_fds(), Vec::<String>::new());
}

#[test]
fn a_program_in_the_slot_is_named_and_kept() {
    let (sim, ifindex, _installed) = kernel();
    let old = sim
        .borrow_mut()
        .attach_foreign(ifindex, XdpFlags::SKB_MODE, "old_prog")
        .unwrap();
    let error = load(&article(Mode::Skb, false), &mut NoObserver).expect_err("busy");
    let LoadError::Busy { id, name, .. } = &error else {
        panic!("not busy: {error}");
    };
    assert_eq!((*id, name.as_str()), (old, "old_prog"));
    let sim = sim.borrow();
    assert_eq!(sim.device(ifindex).unwrap().xdp.skb_prog_id, Some(old));
    assert_eq!(sim.open_fds(), Vec::<String>::new());
}

#[test]
fn force_replaces_atomically() {
    let (sim, ifindex, _installed) = kernel();
    let old = sim
        .borrow_mut()
        .attach_foreign(ifindex, XdpFlags::SKB_MODE, "old_prog")
        .unwrap();
    let loaded = load(&article(Mode::Skb, true), &mut NoObserver).expect("load");
    assert_eq!(loaded.attach.as_ref().unwrap().replaced, Some(old));
    let sim = sim.borrow();
    assert_eq!(
        sim.calls("RTM_SETLINK"),
        ["RTM_SETLINK 2 attach xdp_prog0 SKB_MODE | REPLACE expected old_prog"]
    );
    assert_eq!(
        sim.device(ifindex).unwrap().xdp.skb_prog_id,
        Some(loaded.programs[0].id)
    );
}

#[test]
fn force_loses_a_race_and_leaves_the_winner() {
    let (sim, ifindex, _installed) = kernel();
    let old = sim
        .borrow_mut()
        .attach_foreign(ifindex, XdpFlags::SKB_MODE, "old_prog")
        .unwrap();
    // Between rxdp's look at the slot and its replace, another tool
    // replaces the program rxdp expects.
    sim.borrow_mut()
        .race_next_attach(ifindex, XdpFlags::SKB_MODE);
    let error = load(&article(Mode::Skb, true), &mut NoObserver).expect_err("raced");
    let LoadError::Raced { id, .. } = &error else {
        panic!("not a race: {error}");
    };
    assert_eq!(*id, old, "the error names the program rxdp expected");
    let sim = sim.borrow();
    let winner = sim.device(ifindex).unwrap().xdp.skb_prog_id;
    assert_eq!(winner.and_then(|id| sim.prog_name(id)), Some("other_tool"));
    assert_eq!(sim.open_fds(), Vec::<String>::new());
}

#[test]
fn native_and_generic_never_together() {
    let (sim, ifindex, _installed) = kernel();
    sim.borrow_mut()
        .attach_foreign(ifindex, XdpFlags::DRV_MODE, "native")
        .unwrap();
    let error = load(&article(Mode::Skb, false), &mut NoObserver).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("Native and generic XDP can't be active at the same time"),
        "{error}"
    );
}

#[test]
fn a_missing_device_costs_no_object() {
    let (sim, _, _installed) = kernel();
    let mut options = article(Mode::Skb, false);
    options.attach = Some(AttachOptions::new("nosuch0"));
    let error = load(&options, &mut NoObserver).expect_err("no device");
    assert!(matches!(error, LoadError::Device { .. }), "{error}");
    assert_eq!(changes(&sim.borrow()), Vec::<String>::new());
}

#[test]
fn globals_are_written_before_rodata_is_frozen() {
    let (sim, _, _installed) = kernel();
    let mut object = Object::open(obj("global_data")).expect("open");
    let global = object
        .globals()
        .into_iter()
        .find(|g| g.name == "cfg_verdict")
        .expect("cfg_verdict");
    assert_eq!((global.section.as_str(), global.size), (".rodata", 4));
    object.set_global("cfg_verdict", &1u32).expect("set");
    let loaded = object.load().expect("load");
    let sim = sim.borrow();
    let rodata = sim
        .map_value(".rodata", &0u32.to_ne_bytes())
        .expect(".rodata");
    let at = global.offset as usize;
    assert_eq!(rodata[at..at + 4], 1u32.to_ne_bytes());
    let log = changes(&sim);
    let written = log.iter().position(|l| l == "BPF_MAP_UPDATE_ELEM .rodata");
    let frozen = log.iter().position(|l| l == "BPF_MAP_FREEZE .rodata");
    let program = log.iter().position(|l| l == "BPF_PROG_LOAD xdp_global");
    assert!(written < frozen && frozen < program, "{log:?}");
    assert!(loaded.map(".rodata").is_ok());
}

#[test]
fn globals_refuse_what_does_not_fit() {
    let mut object = Object::open(obj("global_data")).expect("open");
    let error = object.set_global("cfg_verdict", &1u64).expect_err("size");
    assert!(
        matches!(
            error,
            GlobalError::WrongSize {
                size: 4,
                given: 8,
                ..
            }
        ),
        "{error}"
    );
    let error = object
        .set_global("no_such_global", &1u32)
        .expect_err("name");
    assert!(
        matches!(&error, GlobalError::NotFound { list, .. } if list.contains("cfg_verdict (.rodata, 4 bytes)")),
        "{error}"
    );
    assert!(error.to_string().contains("no_such_global"), "{error}");
    let mut legacy = Object::open(obj("tail_kern")).expect("open");
    assert!(legacy.set_global("x", &1u32).is_err());
}

#[test]
fn typed_maps_check_types_and_sizes() {
    let (_sim, _, _installed) = kernel();
    let loaded = Object::open(obj("map_values"))
        .expect("open")
        .load()
        .expect("load");
    let flows = loaded.hash_map::<[u8; 8], u64>("flows").expect("flows");
    flows.insert(&[1; 8], &7).expect("insert");
    flows.insert(&[2; 8], &9).expect("insert");
    assert_eq!(flows.get(&[1; 8]).unwrap(), Some(7));
    assert_eq!(flows.keys().unwrap(), [[1; 8], [2; 8]]);
    assert!(flows.remove(&[1; 8]).unwrap());
    assert_eq!(flows.get(&[1; 8]).unwrap(), None);

    let cpu = loaded
        .per_cpu_array::<u32, [u64; 3]>("cpu_stats")
        .expect("cpu_stats");
    let values = vec![[1, 2, 3]; cpu.cpus()];
    cpu.set(&0, &values).expect("set");
    assert_eq!(cpu.get(&0).unwrap(), values);
    assert!(matches!(
        cpu.set(&0, &values[..0]),
        Err(MapError::Cpus { .. })
    ));

    assert!(matches!(
        loaded.array::<u32, u64>("flows"),
        Err(MapError::WrongType { .. })
    ));
    assert!(matches!(
        loaded.hash_map::<u32, u64>("flows"),
        Err(MapError::Size {
            what: "key",
            size: 8,
            given: 4,
            ..
        })
    ));
    assert!(matches!(
        loaded.array::<u32, u64>("nosuch"),
        Err(MapError::NotFound { .. })
    ));
}

#[test]
fn prog_arrays_and_arrays_by_index_and_name() {
    let (sim, _, _installed) = kernel();
    let loaded = Object::open(obj("tail_kern"))
        .expect("open")
        .load()
        .expect("load");
    let table = loaded.prog_array(0).expect("map_fd[0]");
    table.set(78, loaded.program("xdp1").unwrap()).expect("set");
    assert_eq!(table.keys().unwrap(), [78]);
    assert!(matches!(
        table.set(100, &loaded.programs()[0]),
        Err(MapError::OutOfRange { .. })
    ));
    assert!(table.clear(78).unwrap());
    assert!(!table.clear(78).unwrap());
    let counters = loaded.array::<u32, u64>("counters").expect("counters");
    counters.set(&2, &42).unwrap();
    assert_eq!(counters.get(&2).unwrap(), 42);
    assert_eq!(counters.get(&0).unwrap(), 0);
    assert_eq!(
        sim.borrow().map_value("counters", &2u32.to_ne_bytes()),
        Some(42u64.to_ne_bytes().to_vec())
    );
}

#[test]
fn autoload_off_leaves_a_program_out() {
    let (sim, _, _installed) = kernel();
    let mut object = Object::open(obj("tail_kern")).expect("open");
    object.set_autoload("xdp_prog1", false).expect("autoload");
    assert!(object.set_autoload("nosuch", false).is_err());
    let loaded = object.load().expect("load");
    assert_eq!(loaded.programs().len(), 1);
    assert_eq!(
        sim.borrow().calls("BPF_PROG_LOAD"),
        ["BPF_PROG_LOAD xdp_prog0"]
    );
}

#[test]
fn program_types_can_be_set() {
    let (sim, _, _installed) = kernel();
    let mut object = Object::open(obj("tail_kern")).expect("open");
    object
        .set_program_type(0, rxdp::ProgramType::from_name("sched_cls").unwrap())
        .expect("type");
    let loaded = object.load().expect("load");
    assert_eq!(loaded.programs()[0].prog_type.name(), "sched_cls");
    drop(sim);
}

#[test]
fn an_attachment_detaches_when_dropped_unless_kept() {
    let (sim, ifindex, _installed) = kernel();
    let loaded = Object::open(obj("tail_kern")).unwrap().load().unwrap();
    let id = loaded.programs()[0].id;
    let slot = |sim: &Rc<RefCell<SimKernel>>| sim.borrow().device(ifindex).unwrap().xdp.skb_prog_id;

    let attachment = loaded.attach_xdp(0, DEV, Mode::Skb).expect("attach");
    assert_eq!((attachment.prog_id(), slot(&sim)), (id, Some(id)));
    drop(attachment);
    assert_eq!(slot(&sim), None, "dropped: detached");

    let attachment = loaded.attach_xdp("xdp_prog0", DEV, Mode::Skb).unwrap();
    assert_eq!(attachment.detach(), Ok(true));
    assert_eq!(slot(&sim), None);

    let kept = loaded.attach_xdp(0, DEV, Mode::Skb).unwrap().keep();
    assert_eq!((kept.ifindex, kept.mode), (ifindex, Mode::Skb));
    assert_eq!(slot(&sim), Some(id), "kept: still attached");
    drop(loaded);
    assert_eq!(slot(&sim), Some(id), "the device holds it, not our fds");
}

#[test]
fn an_attachment_never_detaches_a_program_it_did_not_attach() {
    let (sim, ifindex, _installed) = kernel();
    let loaded = Object::open(obj("tail_kern")).unwrap().load().unwrap();
    let attachment = loaded.attach_xdp(0, DEV, Mode::Skb).unwrap();
    // Another tool replaces it.
    let other = sim
        .borrow_mut()
        .attach_foreign(ifindex, XdpFlags::SKB_MODE, "other")
        .unwrap();
    assert_eq!(attachment.detach(), Ok(false));
    assert_eq!(
        sim.borrow().device(ifindex).unwrap().xdp.skb_prog_id,
        Some(other)
    );
}

#[test]
fn a_link_holds_the_slot_until_closed() {
    let (sim, ifindex, _installed) = kernel();
    let loaded = Object::open(obj("tail_kern")).unwrap().load().unwrap();
    let link = loaded.attach_xdp_link(0, DEV, Mode::Auto).expect("link");
    assert_eq!(link.mode(), Mode::Drv);
    // A netlink attach cannot take a link's slot, not even with force.
    let error = loaded
        .attach_xdp_with(
            &AttachOptions::new(DEV)
                .with_mode(Mode::Drv)
                .with_force(true),
        )
        .expect_err("held by a link");
    assert!(error.to_string().contains("link"), "{error}");
    link.detach();
    let state = netlink::query(ifindex).expect("query");
    assert_eq!(state.drv_prog_id, None, "closed: the kernel detached it");
    assert_eq!(sim.borrow().device(ifindex).unwrap().link, None);
}

#[test]
fn a_link_is_refused_by_a_netlink_attach_it_names() {
    let (sim, ifindex, _installed) = kernel();
    let loaded = Object::open(obj("tail_kern")).unwrap().load().unwrap();
    let attachment = loaded.attach_xdp(0, DEV, Mode::Drv).expect("netlink");
    let held = attachment.prog_id();
    // The link path is the attach stage's: its refusal names the program
    // in the slot and leaves it there.
    let error = loaded
        .attach_xdp_link(0, DEV, Mode::Drv)
        .expect_err("the slot is taken");
    let text = error.to_string();
    assert!(text.contains(&format!("id {held}")), "{text}");
    assert_eq!(
        netlink::query(ifindex).expect("query").drv_prog_id,
        Some(held)
    );
    assert_eq!(sim.borrow().device(ifindex).unwrap().link, None);
    attachment.detach().expect("detach");
}

#[test]
fn one_call_load_is_the_staged_load() {
    let (sim, _, _installed) = kernel();
    let mut options = LoadOptions::new(obj("tail_kern"));
    options.pins = PinPolicy::Never;
    let one = load(&options, &mut NoObserver).expect("load");
    let calls_one = changes(&sim.borrow()).len();
    let staged = Object::open(obj("tail_kern"))
        .unwrap()
        .load_with(&options, &mut NoObserver)
        .expect("staged")
        .into_loaded();
    assert_eq!(changes(&sim.borrow()).len(), 2 * calls_one);
    let names = |l: &rxdp::Loaded| {
        l.programs
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&one), names(&staged));
    assert_eq!(one.timings.first().map(|t| t.stage), Some(Stage::Open));
}

/// A directory of this test's own under the temp dir, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("rxdp-fake-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A simulated kernel with one device and a filesystem (bpffs, lock
/// directory) under `dir`.
fn kernel_with_fs(dir: &TempDir) -> (Rc<RefCell<SimKernel>>, u32, Installed) {
    let mut sim = SimKernel::new().with_fs(&dir.0).expect("fake fs");
    let ifindex = sim.add_device(DEV);
    let sim = Rc::new(RefCell::new(sim));
    let installed = install(sim.clone());
    (sim, ifindex, installed)
}

fn pinned(dir: &TempDir) -> std::path::PathBuf {
    dir.0.join("bpf/rxdp").join(DEV)
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The article's load with the default pins.
fn article_pinned(force: bool) -> LoadOptions {
    let mut options = article(Mode::Skb, force);
    options.pins = PinPolicy::Default;
    options
}

#[test]
fn pins_are_staged_before_the_attach_and_published_after_it() {
    let dir = TempDir::new("publish");
    let (sim, _, _installed) = kernel_with_fs(&dir);
    let loaded = load(&article_pinned(false), &mut NoObserver).expect("load");
    let skb = pinned(&dir).join("skb");
    assert_eq!(loaded.pin_dir.as_deref(), Some(skb.as_path()));
    assert_eq!(
        entries(&skb),
        ["counters", "jmp_table1", "jmp_table2", "rxdp:record"]
    );
    assert_eq!(
        entries(&pinned(&dir)),
        ["rxdp:record", "skb"],
        "no staging left"
    );
    let log = changes(&sim.borrow());
    let last_pin = log.iter().rposition(|l| l.starts_with("BPF_OBJ_PIN"));
    let attach = log.iter().position(|l| l.starts_with("RTM_SETLINK"));
    assert!(last_pin < attach, "{log:?}");
    // The pin is the map: opened again, it is the loaded one.
    let counters = rxdp_syscalls::fs::bpffs::get(&skb.join("counters")).expect("get");
    let info = rxdp_syscalls::bpf::map_info(std::os::fd::AsFd::as_fd(&counters)).unwrap();
    assert_eq!(info.id, loaded.maps[2].id);
}

#[test]
fn a_failed_attach_leaves_no_pins() {
    let dir = TempDir::new("unpinned");
    let (sim, _, _installed) = kernel_with_fs(&dir);
    sim.borrow_mut()
        .fail("RTM_SETLINK", 1, libc::EINVAL, Some("no"));
    let error = load(&article_pinned(false), &mut NoObserver).expect_err("fails");
    assert_eq!(error.stage(), Stage::Attach, "{error}");
    let left = entries(&pinned(&dir));
    assert!(
        left.iter().all(|name| name == "rxdp:record"),
        "staging or mode directories left: {left:?}"
    );
    assert_eq!(sim.borrow().open_fds(), Vec::<String>::new());
}

#[test]
fn force_swaps_in_the_new_pins() {
    let dir = TempDir::new("swap");
    let (sim, ifindex, _installed) = kernel_with_fs(&dir);
    let first = load(&article_pinned(false), &mut NoObserver).expect("first");
    let second = load(&article_pinned(true), &mut NoObserver).expect("second");
    assert_eq!(
        second.attach.as_ref().unwrap().replaced,
        Some(first.programs[0].id)
    );
    let skb = pinned(&dir).join("skb");
    let counters = rxdp_syscalls::fs::bpffs::get(&skb.join("counters")).expect("get");
    let info = rxdp_syscalls::bpf::map_info(std::os::fd::AsFd::as_fd(&counters)).unwrap();
    assert_eq!(info.id, second.maps[2].id, "the pins are the new load's");
    assert_eq!(entries(&pinned(&dir)), ["rxdp:record", "skb"]);
    assert_eq!(
        sim.borrow().device(ifindex).unwrap().xdp.skb_prog_id,
        Some(second.programs[0].id)
    );
}

#[test]
fn status_and_unload_see_what_a_load_left() {
    let dir = TempDir::new("unload");
    let (sim, ifindex, _installed) = kernel_with_fs(&dir);
    let loaded = load(&article_pinned(false), &mut NoObserver).expect("load");
    let id = loaded.programs[0].id;
    drop(loaded);

    let report = rxdp::status(Some(DEV)).expect("status");
    let device = report.devices.iter().find(|d| d.ifname == DEV).expect(DEV);
    assert_eq!(device.ifindex, ifindex);
    assert!(
        device
            .pins
            .iter()
            .any(|p| p.prog == Some(id) && p.pins == ["counters", "jmp_table1", "jmp_table2"]),
        "{device:?}"
    );

    let unloaded = rxdp::unload(DEV, None).expect("unload");
    assert_eq!(unloaded.detached, [(Mode::Skb, id)]);
    assert_eq!(sim.borrow().device(ifindex).unwrap().xdp.skb_prog_id, None);
    assert!(!pinned(&dir).exists(), "{:?}", entries(&pinned(&dir)));
}

#[test]
fn a_failed_pin_removes_the_staging_directory_and_attaches_nothing() {
    let dir = TempDir::new("pinfail");
    let (sim, ifindex, _installed) = kernel_with_fs(&dir);
    sim.borrow_mut().fail("BPF_OBJ_PIN", 2, libc::ENOSPC, None);
    let error = load(&article_pinned(false), &mut NoObserver).expect_err("fails");
    assert_eq!(error.stage(), Stage::Pin, "{error}");
    let sim = sim.borrow();
    assert_eq!(sim.calls("RTM_SETLINK"), Vec::<&str>::new());
    assert_eq!(sim.device(ifindex).unwrap().xdp.skb_prog_id, None);
    let left = entries(&pinned(&dir));
    assert!(
        left.iter().all(|name| name == "rxdp:record"),
        "staging left: {left:?}"
    );
    assert_eq!(sim.open_fds(), Vec::<String>::new());
}

#[test]
fn a_held_device_lock_times_out_naming_its_holder() {
    let dir = TempDir::new("lock");
    let (sim, ifindex, _installed) = kernel_with_fs(&dir);
    let key = rxdp::pin::device_lock(DEV);
    let _held = rxdp_syscalls::fs::lock::lock(&key, std::time::Duration::ZERO).expect("lock");
    let mut options = article_pinned(false);
    options.lock_timeout = std::time::Duration::from_millis(30);
    let start = std::time::Instant::now();
    let error = load(&options, &mut NoObserver).expect_err("lock held");
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert!(matches!(error, LoadError::Lock { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains(&format!("process {}", std::process::id())),
        "the holder is named: {text}"
    );
    let sim = sim.borrow();
    assert_eq!(sim.device(ifindex).unwrap().xdp.skb_prog_id, None);
    assert_eq!(sim.open_fds(), Vec::<String>::new());
}

#[test]
fn an_object_from_bytes_is_named_as_given() {
    let (_sim, _, _installed) = kernel();
    let bytes = std::fs::read(obj("tail_kern")).expect("read");
    let mut object = Object::from_bytes("embedded.o", bytes).expect("parse");
    assert_eq!(object.name(), "embedded.o");
    assert_eq!(object.map(2).map(|m| m.name.as_str()), Ok("counters"));
    assert_eq!(object.program("xdp1").map(|p| p.name()), Ok("xdp_prog1"));
    assert!(object.map("nosuch").is_err());
    let error = object
        .set_autoload("nosuch", false)
        .expect_err("no such program");
    assert!(error.to_string().contains("nosuch"), "{error}");
    let loaded = object.load().expect("load");
    assert_eq!(loaded.programs().len(), 2);
    assert!(Object::from_bytes("junk.o", b"not an ELF".to_vec())
        .expect_err("junk")
        .to_string()
        .contains("junk.o"));
}

#[test]
fn a_device_renamed_under_the_load_gets_nothing_attached() {
    let (sim, ifindex, _installed) = kernel();
    sim.borrow_mut()
        .rename_after_next_attach(ifindex, "renamed0");
    let error = load(&article(Mode::Skb, false), &mut NoObserver).expect_err("renamed");
    let LoadError::DeviceChanged { now, .. } = &error else {
        panic!("not a device change: {error}");
    };
    assert_eq!(now.as_deref(), Some("renamed0"));
    let sim = sim.borrow();
    assert_eq!(
        sim.device(ifindex).unwrap().xdp.skb_prog_id,
        None,
        "detached again"
    );
    assert_eq!(sim.open_fds(), Vec::<String>::new());
}

/// `rxdp-load multiprog_count.o --dev fake0 --mode skb --multiprog`.
fn multiprog_options() -> LoadOptions {
    let mut options = LoadOptions::new(obj("multiprog_count"));
    options.attach = Some(AttachOptions::new(DEV).with_mode(Mode::Skb));
    options
}

#[test]
fn multiprog_component_failing_after_the_dispatcher_loaded_leaves_nothing() {
    let dir = TempDir::new("multiprog-fail");
    let (sim, ifindex, _installed) = kernel_with_fs(&dir);
    let object = Object::open(obj("multiprog_count")).unwrap();
    // The fake kernel keeps no BTF: the new dispatcher's function prog0
    // cannot be found, after the dispatcher itself was loaded.
    let error = rxdp::multiprog::add(
        object,
        &multiprog_options(),
        rxdp::multiprog::RunOverride::default(),
        &mut NoObserver,
    )
    .expect_err("the component cannot be loaded");
    let text = error.to_string();
    assert!(text.contains("xdp_count"), "{text}");
    let sim = sim.borrow();
    let log = changes(&sim);
    assert!(
        log.iter().any(|l| l == "BPF_PROG_LOAD xdp_dispatcher"),
        "the dispatcher was loaded: {log:?}"
    );
    assert!(
        !log.iter().any(|l| l.starts_with("RTM_SETLINK")),
        "nothing attached: {log:?}"
    );
    assert_eq!(sim.open_fds(), Vec::<String>::new(), "every fd closed");
    assert_eq!(sim.device(ifindex).unwrap().xdp.skb_prog_id, None);
    assert!(
        entries(&dir.0.join("bpf")).is_empty(),
        "no pins, and libxdp's directory made for nothing is gone"
    );
}

#[test]
fn multiprog_refuses_a_slot_without_a_dispatcher_and_leaves_it() {
    let dir = TempDir::new("multiprog-foreign");
    let (sim, ifindex, _installed) = kernel_with_fs(&dir);
    let theirs = sim
        .borrow_mut()
        .attach_foreign(ifindex, XdpFlags::SKB_MODE, "theirs")
        .unwrap();
    // The staged API's form of the same.
    let object = Object::open(obj("multiprog_count")).unwrap();
    let error = object
        .load_into_dispatcher(
            DEV,
            Mode::Skb,
            None,
            rxdp::multiprog::RunOverride::default(),
        )
        .expect_err("no dispatcher to add to");
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "program {theirs} theirs, which is no libxdp dispatcher"
        )),
        "{text}"
    );
    assert!(rxdp::multiprog::dispatcher_in(DEV, Mode::Skb).is_none());
    let sim = sim.borrow();
    assert!(
        !changes(&sim).iter().any(|l| l.starts_with("BPF_PROG_LOAD")),
        "nothing loaded: {:?}",
        sim.log()
    );
    assert_eq!(sim.device(ifindex).unwrap().xdp.skb_prog_id, Some(theirs));
    assert!(entries(&dir.0.join("bpf")).is_empty());
}

/// A libxdp pin as the fake bpffs keeps pins: a file.
fn fake_pins(dir: &std::path::Path, names: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for name in names {
        std::fs::write(dir.join(name), b"").unwrap();
    }
}

/// Writes the record of a dispatcher change by `loader` in `<bpffs>/rxdp/`.
fn change_record(
    bpf: &std::path::Path,
    ifindex: u32,
    new: Option<u32>,
    old: Option<u32>,
    swapped: bool,
    loader: rxdp_syscalls::fs::procfs::Process,
) -> std::path::PathBuf {
    let change = rxdp::record::Dispatch {
        ifindex,
        new,
        old,
        swapped,
        loader,
    };
    let path = bpf
        .join("rxdp")
        .join(rxdp::dispatch_record::record_name(&change));
    std::os::unix::fs::symlink(rxdp::record::Record::Dispatch(change).to_string(), &path).unwrap();
    path
}

#[test]
fn dispatcher_changes_of_dead_loaders_are_finished_or_undone() {
    use rxdp::dispatch_record::Outcome;
    use rxdp_syscalls::fs::procfs::{this_process, Process};
    use std::os::unix::fs::DirBuilderExt;

    let dir = TempDir::new("dispatch");
    let (sim, ifindex, _installed) = kernel_with_fs(&dir);
    let bpf = dir.0.join("bpf");
    let mkdir =
        |path: &std::path::Path| std::fs::DirBuilder::new().mode(0o700).create(path).unwrap();
    mkdir(&bpf.join("rxdp"));
    std::os::unix::fs::symlink("rxdp:1:root", bpf.join("rxdp/rxdp:record")).unwrap();
    mkdir(&bpf.join("xdp"));
    let attached = sim
        .borrow_mut()
        .attach_foreign(ifindex, XdpFlags::SKB_MODE, "xdp_dispatcher")
        .unwrap();
    let xdp = |id: u32| bpf.join("xdp").join(format!("dispatch-{ifindex}-{id}"));
    let (old, never, foreign) = (attached + 100, attached + 200, attached + 300);
    // A pid of this process with another start time: a loader that died.
    let me = this_process().unwrap();
    let dead = Process {
        pid: me.pid,
        start: me.start + 1,
    };
    fake_pins(
        &xdp(attached),
        &["prog0-link", "prog0-prog", "prog1-link", "prog1-prog"],
    );
    fake_pins(&xdp(old), &["prog0-link", "prog0-prog"]);
    fake_pins(&xdp(never), &["prog0-link", "prog0-prog", "notes"]);
    fake_pins(&xdp(foreign), &["prog0-link", "prog0-prog"]);
    // Died after the swap, before it could say so: the new one is
    // attached, so the old directory goes; the attached one stays.
    let swapped = change_record(&bpf, ifindex, Some(attached), Some(old), false, dead);
    // Died before the swap, its directory holding something of another.
    let unswapped = change_record(&bpf, ifindex, Some(never), Some(attached), false, dead);
    // Died before the swap; the old dispatcher was detached since by
    // someone else: its directory is not the change's, it stays.
    let (gone_new, detached) = (attached + 400, attached + 500);
    fake_pins(&xdp(gone_new), &["prog0-link", "prog0-prog"]);
    fake_pins(&xdp(detached), &["prog0-link", "prog0-prog"]);
    let early = change_record(&bpf, ifindex, Some(gone_new), Some(detached), false, dead);
    // Said it swapped; another tool replaced its dispatcher since (whose
    // directory that tool removed): the old directory is still the change's.
    let late_old = attached + 600;
    fake_pins(&xdp(late_old), &["prog0-link", "prog0-prog"]);
    let late = change_record(
        &bpf,
        ifindex,
        Some(attached + 700),
        Some(late_old),
        true,
        dead,
    );
    // A change under way (this process): untouched.
    let running = change_record(&bpf, ifindex, Some(old + 1), Some(attached), false, me);

    let report = rxdp::status(Some(DEV)).expect("status");
    let outcome = |path: &std::path::Path| {
        report
            .dispatch_changes
            .iter()
            .find(|c| c.record == path)
            .unwrap_or_else(|| panic!("{} not reported: {report:?}", path.display()))
    };
    let done = outcome(&swapped);
    assert_eq!(
        (&done.outcome, &done.removed[..]),
        (&Outcome::Resolved, &[xdp(old)][..])
    );
    let done = outcome(&unswapped);
    assert_eq!(done.outcome, Outcome::Resolved);
    assert!(done.removed.is_empty(), "{done:?}");
    assert!(
        done.kept[0].contains("holds more than libxdp's pins"),
        "{done:?}"
    );
    assert_eq!(outcome(&running).outcome, Outcome::Running);
    let done = outcome(&early);
    assert_eq!(
        (&done.outcome, &done.removed[..]),
        (&Outcome::Resolved, &[xdp(gone_new)][..])
    );
    assert_eq!(entries(&xdp(detached)), ["prog0-link", "prog0-prog"]);
    let done = outcome(&late);
    assert_eq!(
        (&done.outcome, &done.removed[..]),
        (&Outcome::Resolved, &[xdp(late_old)][..])
    );

    assert!(!xdp(old).exists());
    assert_eq!(
        entries(&xdp(attached)),
        ["prog0-link", "prog0-prog", "prog1-link", "prog1-prog"]
    );
    assert_eq!(entries(&xdp(never)), ["notes"], "only libxdp's pins go");
    assert_eq!(
        entries(&xdp(foreign)),
        ["prog0-link", "prog0-prog"],
        "a directory no record names is not rxdp's"
    );
    let exists = |path: &std::path::Path| path.symlink_metadata().is_ok();
    assert!(!exists(&swapped) && !exists(&unswapped));
    assert!(exists(&running));

    // A change starts by the same: the running one's loader has died now.
    std::fs::remove_file(&running).unwrap();
    let died = change_record(&bpf, ifindex, Some(old + 1), Some(attached), false, dead);
    fake_pins(&xdp(old + 1), &["prog0-link", "prog0-prog"]);
    assert!(exists(&died));
    let refused =
        rxdp::multiprog::remove(DEV, Mode::Skb, attached, std::time::Duration::from_secs(1))
            .expect_err("the fake's program is no dispatcher");
    assert!(!exists(&died) && !xdp(old + 1).exists());
    assert!(
        refused.to_string().contains("no libxdp dispatcher"),
        "{refused}"
    );
    assert!(xdp(attached).exists());
    assert_eq!(
        sim.borrow().device(ifindex).unwrap().xdp.skb_prog_id,
        Some(attached)
    );

    // `rxdp unload` of the device detaches the dispatcher, removes its
    // pins, then resolves what dead changes of it left.
    let pending = attached + 800;
    fake_pins(&xdp(pending), &["prog0-link", "prog0-prog"]);
    let died = change_record(&bpf, ifindex, Some(pending), Some(attached), false, dead);
    let unloaded = rxdp::unload(DEV, None).expect("unload");
    assert_eq!(unloaded.detached, [(Mode::Skb, attached)]);
    assert_eq!(unloaded.removed, [xdp(attached)]);
    let [change] = &unloaded.dispatch_changes[..] else {
        panic!("{unloaded:?}")
    };
    assert_eq!(
        (&change.record, &change.outcome, &change.removed[..]),
        (&died, &Outcome::Resolved, &[xdp(pending)][..])
    );
    assert!(!exists(&died) && !xdp(pending).exists() && !xdp(attached).exists());
    assert_eq!(sim.borrow().device(ifindex).unwrap().xdp.skb_prog_id, None);
}
