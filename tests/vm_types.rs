//! The program types this host refuses to every loader (EPERM): fentry,
//! fexit, LSM and freplace, which attach through BPF trampolines. VM only
//! (`required-features = ["vm"]`): `make vm-test` runs them in the 6.1
//! and 6.12 guests (vm/README.md), whose kernels have the trampoline and
//! the BPF LSM (`lsm=bpf`).
//!
//! Each test checks the kernel's view (`BPF_OBJ_GET_INFO_BY_FD`: type,
//! `attach_btf_id` against the id bpftool reads from the guest's BTF), then
//! attaches the programs through `BPF_LINK_CREATE` and makes them run.

#[path = "load_common.rs"]
mod common;

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use rxdp::{load, AttachProg, LoadOptions, Loaded, NoObserver, PinPolicy};
use rxdp_elf::section_types::attach;
use rxdp_elf::ProgramType;
use rxdp_kernel_tests::{corpus_object, require_kernel};
use rxdp_syscalls::bpf::{
    link_create, map_info, map_lookup_elem, map_update_elem, prog_info, prog_test_run, ProgInfo,
    TestRun, BPF_ANY,
};

fn load_with(path: impl AsRef<Path>, adjust: impl FnOnce(&mut LoadOptions)) -> Loaded {
    let mut options = LoadOptions::new(path.as_ref());
    options.pins = PinPolicy::Never;
    adjust(&mut options);
    load(&options, &mut NoObserver)
        .unwrap_or_else(|error| panic!("{}: {error}", path.as_ref().display()))
}

fn view(loaded: &Loaded, index: usize) -> ProgInfo {
    prog_info(loaded.programs[index].fd.as_fd()).unwrap()
}

/// The id bpftool gives `KIND 'name'` in BTF `source` (`file PATH` or `id N`).
fn btf_id(source: &[&str], kind: &str, name: &str) -> u32 {
    let args: Vec<&str> = ["btf", "dump"].iter().chain(source).copied().collect();
    let dump = rxdp_kernel_tests::run("bpftool", &args);
    let wanted = format!(" {kind} '{name}' ");
    dump.lines()
        .find(|line| line.contains(&wanted))
        .and_then(|line| line.strip_prefix('['))
        .and_then(|line| line.split(']').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no {kind} {name} in the BTF of {source:?}"))
}

fn vmlinux_id(kind: &str, name: &str) -> u32 {
    btf_id(&["file", "/sys/kernel/btf/vmlinux"], kind, name)
}

/// A global's bytes in a one-element data map.
fn global(loaded: &Loaded, map: &str, object: &Path, var: &str, len: usize) -> Vec<u8> {
    let offset = var_offset(object, map, var);
    let fd = &loaded.map(map).unwrap().fd;
    let size = map_info(fd.as_fd()).unwrap().value_size as usize;
    let mut value = vec![0u8; size];
    assert!(map_lookup_elem(fd.as_fd(), &0u32.to_ne_bytes(), &mut value).unwrap());
    value[offset..offset + len].to_vec()
}

fn set_global(loaded: &Loaded, map: &str, object: &Path, var: &str, bytes: &[u8]) {
    let offset = var_offset(object, map, var);
    let fd = &loaded.map(map).unwrap().fd;
    let size = map_info(fd.as_fd()).unwrap().value_size as usize;
    let mut value = vec![0u8; size];
    assert!(map_lookup_elem(fd.as_fd(), &0u32.to_ne_bytes(), &mut value).unwrap());
    value[offset..offset + bytes.len()].copy_from_slice(bytes);
    map_update_elem(fd.as_fd(), &0u32.to_ne_bytes(), &value, BPF_ANY).unwrap();
}

fn attach_link(loaded: &Loaded, index: usize, attach_type: u32) -> OwnedFd {
    link_create(loaded.programs[index].fd.as_fd(), None, attach_type, 0)
        .unwrap_or_else(|error| panic!("attach {}: {error}", loaded.programs[index].name))
}

#[test]
fn fentry_programs_attach_to_their_kernel_functions_and_run() {
    if !require_kernel() {
        return;
    }
    let object = corpus_object("6.1", "fentry_test");
    let loaded = load_with(&object, |_| {});
    assert_eq!(loaded.programs.len(), 8);
    let mut links = Vec::new();
    for (index, program) in loaded.programs.iter().enumerate() {
        let n = index + 1;
        let info = view(&loaded, index);
        assert_eq!(info.prog_type, ProgramType::TRACING.0, "{}", program.name);
        assert_eq!(
            info.attach_btf_id,
            vmlinux_id("FUNC", &format!("bpf_fentry_test{n}")),
            "{}",
            program.name
        );
        assert_eq!(program.expected_attach_type, attach::TRACE_FENTRY);
        links.push(attach_link(&loaded, index, attach::TRACE_FENTRY));
    }
    // A test run of a fentry program calls bpf_fentry_test1..8 with the
    // arguments the programs check (bpf_prog_test_run_tracing).
    let mut run = TestRun::new(loaded.programs[0].fd.as_fd(), &[]);
    run.repeat = 0;
    run.data_out_capacity = 0;
    prog_test_run(&run).unwrap_or_else(|error| panic!("test run: {error}"));
    for n in 1..=8 {
        let result = global(&loaded, ".bss", &object, &format!("test{n}_result"), 8);
        assert_eq!(
            u64::from_ne_bytes(result.try_into().unwrap()),
            1,
            "test{n} did not see bpf_fentry_test{n}'s arguments"
        );
    }
}

/// `calls[key]` of trace_count.o.
fn calls(loaded: &Loaded, key: u32) -> u64 {
    let fd = &loaded.map("calls").unwrap().fd;
    let mut value = [0u8; 8];
    assert!(map_lookup_elem(fd.as_fd(), &key.to_ne_bytes(), &mut value).unwrap());
    u64::from_ne_bytes(value)
}

#[test]
fn fentry_and_fexit_count_a_processs_system_calls_through_links() {
    if !require_kernel() {
        return;
    }
    let object = Path::new(&obj("trace_count")).to_path_buf();
    let loaded = load_with(&object, |_| {});
    let target = vmlinux_id("FUNC", "__x64_sys_getpgid");
    for (index, name, attach_type) in [
        (0, "count_entry", attach::TRACE_FENTRY),
        (1, "count_exit", attach::TRACE_FEXIT),
    ] {
        let info = view(&loaded, index);
        assert_eq!(loaded.programs[index].name, name);
        assert_eq!(info.prog_type, ProgramType::TRACING.0, "{name}");
        assert_eq!(info.attach_btf_id, target, "{name}");
        assert_eq!(loaded.programs[index].expected_attach_type, attach_type);
    }
    // Only this process's calls count.
    set_global(
        &loaded,
        ".bss",
        &object,
        "target_tgid",
        &std::process::id().to_ne_bytes(),
    );
    let getpgid = || i64::from(nix::unistd::getpgid(None).unwrap().as_raw());
    // Not attached yet: nothing counts.
    getpgid();
    assert_eq!((calls(&loaded, 0), calls(&loaded, 1)), (0, 0));
    let links = [
        attach_link(&loaded, 0, attach::TRACE_FENTRY),
        attach_link(&loaded, 1, attach::TRACE_FEXIT),
    ];
    let mut pgid = 0;
    for _ in 0..5 {
        pgid = getpgid();
    }
    assert_eq!(calls(&loaded, 0), 5, "entries seen by fentry");
    assert_eq!(calls(&loaded, 1), 5, "returns seen by fexit");
    assert_eq!(calls(&loaded, 2) as i64, pgid, "the return value fexit saw");
    // Detached with their links: the counts stay where they were.
    drop(links);
    getpgid();
    assert_eq!((calls(&loaded, 0), calls(&loaded, 1)), (5, 5));
}

#[test]
fn lsm_programs_get_their_hooks_and_run_on_exec() {
    if !require_kernel() {
        return;
    }
    let object = corpus_object("6.1", "lsm");
    let loaded = load_with(&object, |_| {});
    for (index, hook) in [
        (0, "bpf_lsm_file_mprotect"),
        (1, "bpf_lsm_bprm_committed_creds"),
        (2, "bpf_lsm_task_free"),
    ] {
        let info = view(&loaded, index);
        assert_eq!(info.prog_type, ProgramType::LSM.0, "{hook}");
        assert_eq!(info.attach_btf_id, vmlinux_id("FUNC", hook), "{hook}");
        assert_eq!(loaded.programs[index].expected_attach_type, attach::LSM_MAC);
    }
    let setdomainname = view(&loaded, 3);
    assert_eq!(setdomainname.prog_type, ProgramType::TRACING.0);
    assert_eq!(
        setdomainname.attach_btf_id,
        vmlinux_id("FUNC", "__x64_sys_setdomainname")
    );
    // lsm.s/bprm_committed_creds (sleepable) counts the execs of
    // monitored_pid: a shell that waits, is named, then execs.
    let _link = attach_link(&loaded, 1, attach::LSM_MAC);
    let mut shell = Command::new("sh")
        .args(["-c", "read line; exec true"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    set_global(
        &loaded,
        ".bss",
        &object,
        "monitored_pid",
        &shell.id().to_ne_bytes(),
    );
    shell.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(shell.wait().unwrap().success());
    let count = global(&loaded, ".bss", &object, "bprm_count", 4);
    assert_eq!(u32::from_ne_bytes(count.try_into().unwrap()), 1);
}

/// A frame for a classifier's test run.
const FRAME: [u8; 64] = [0; 64];

fn run_classifier(prog: &OwnedFd) -> u32 {
    prog_test_run(&TestRun::new(prog.as_fd(), &FRAME))
        .unwrap_or_else(|error| panic!("test run: {error}"))
        .retval
}

#[test]
fn freplace_replaces_a_function_of_a_program_of_the_same_object() {
    if !require_kernel() {
        return;
    }
    let loaded = load_with(obj("freplace"), |o| {
        o.attach_prog = Some(AttachProg::Program("cls_redirect".into()));
    });
    // prog_fd[] keeps the object's order; the replacement loaded second.
    assert_eq!(loaded.programs[0].name, "replacement");
    assert_eq!(loaded.programs[1].name, "cls_redirect");
    assert!(
        loaded.programs[0].id > loaded.programs[1].id,
        "loaded after its target"
    );
    let target = view(&loaded, 1);
    let ext = view(&loaded, 0);
    assert_eq!(ext.prog_type, ProgramType::EXT.0);
    assert_eq!(
        ext.attach_btf_id,
        btf_id(&["id", &target.btf_id.to_string()], "FUNC", "verdict")
    );
    let cls_redirect = &loaded.programs[1].fd;
    assert_eq!(run_classifier(cls_redirect), 1);
    // A target program given to the link needs its function's id with it.
    let link = link_create(
        loaded.programs[0].fd.as_fd(),
        Some(cls_redirect.as_fd()),
        0,
        ext.attach_btf_id,
    )
    .unwrap_or_else(|error| panic!("attach the replacement: {error}"));
    assert_eq!(run_classifier(cls_redirect), 42, "verdict() replaced");
    drop(link);
    assert_eq!(run_classifier(cls_redirect), 1, "and put back");
}

#[test]
fn freplace_cls_redirect_replaces_a_loaded_program_by_id() {
    if !require_kernel() {
        return;
    }
    // The target: cls_redirect of freplace.o, loaded on its own.
    let target = load_with(obj("freplace"), |o| {
        o.attach_prog = Some(AttachProg::Program("cls_redirect".into()));
    });
    let cls_redirect = &target.programs[1];
    let id = cls_redirect.id;
    // The kernel selftests' freplace_cls_redirect.o, given the target by id.
    let loaded = load_with(corpus_object("6.1", "freplace_cls_redirect"), |o| {
        o.attach_prog = Some(AttachProg::Id(id));
    });
    let ext = view(&loaded, 0);
    assert_eq!(ext.prog_type, ProgramType::EXT.0);
    let target_btf = prog_info(cls_redirect.fd.as_fd()).unwrap().btf_id;
    assert_eq!(
        ext.attach_btf_id,
        btf_id(&["id", &target_btf.to_string()], "FUNC", "cls_redirect")
    );
    assert_eq!(run_classifier(&cls_redirect.fd), 1);
    let _link = link_create(
        loaded.programs[0].fd.as_fd(),
        Some(cls_redirect.fd.as_fd()),
        0,
        ext.attach_btf_id,
    )
    .unwrap_or_else(|error| panic!("attach freplace_cls_redirect_test: {error}"));
    // Its sockmap is empty: TC_ACT_SHOT.
    assert_eq!(run_classifier(&cls_redirect.fd), 2);
}
