//! Program types, expected attach types and attach targets as the kernel
//! sees them (issue 12): the kernel's own selftest objects of
//! `conformance/subset.tsv`, loaded by rxdp, then checked through
//! `BPF_OBJ_GET_INFO_BY_FD` against ids read from `bpftool btf dump` (not
//! from rxdp's own BTF reader), and run where this kernel lets them run:
//! an iterator read through its link, a `tp_btf` program fed by packets, a
//! cgroup `connect4` program rewriting a `connect()`, a TCP congestion
//! control registered, used by a connection and unregistered.
//!
//! fentry/fexit/lsm/freplace get EPERM on this host whoever loads them:
//! `vm_types.rs` tests them in the guest kernels.

#[path = "load_common.rs"]
mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::socket::{getsockopt, setsockopt, sockopt::TcpCongestion};
use rxdp::{load, Autoload, LoadError, LoadOptions, Loaded, NoObserver, PinPolicy, Ref};
use rxdp_elf::section_types::attach;
use rxdp_elf::ProgramType;
use rxdp_kernel_tests::{corpus_object, ip, require_kernel, unique_name, Netns};
use rxdp_syscalls::bpf::{
    iter_create, link_create, map_delete_elem, map_info, map_lookup_elem, map_update_elem,
    prog_info, ProgInfo, BPF_ANY,
};

/// `struct bpf_map_info`'s and `enum bpf_map_type`'s struct_ops.
const MAP_TYPE_STRUCT_OPS: u32 = 26;
/// Where the kernel lists the TCP congestion controls it has.
const AVAILABLE_CC: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";

// ------------------------------------------------------------------ helpers

/// `rxdp::load` of a 6.1 selftest object without pins, options adjusted.
#[allow(clippy::result_large_err)] // a LoadError, on the failing path of a test
fn load_61(name: &str, adjust: impl FnOnce(&mut LoadOptions)) -> Result<Loaded, LoadError> {
    let mut options = LoadOptions::new(corpus_object("6.1", name));
    options.pins = PinPolicy::Never;
    adjust(&mut options);
    load(&options, &mut NoObserver)
}

fn loaded(name: &str, adjust: impl FnOnce(&mut LoadOptions)) -> Loaded {
    load_61(name, adjust).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// The kernel's own view of `prog_fd[index]`.
fn kernel_view(loaded: &Loaded, index: usize) -> ProgInfo {
    prog_info(loaded.programs[index].fd.as_fd()).unwrap_or_else(|error| panic!("{error}"))
}

/// `[id] KIND 'name'` lines of the running kernel's BTF, as bpftool
/// prints them: the reference rxdp's reader is checked against.
fn kernel_types() -> &'static BTreeMap<(String, String), u32> {
    static TYPES: OnceLock<BTreeMap<(String, String), u32>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let dump = rxdp_kernel_tests::run(
            "bpftool",
            &["btf", "dump", "file", "/sys/kernel/btf/vmlinux"],
        );
        let mut types = BTreeMap::new();
        for line in dump.lines().filter(|l| l.starts_with('[')) {
            let mut words = line.splitn(3, ' ');
            let (Some(id), Some(kind), Some(rest)) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let Some(name) = rest.strip_prefix('\'').and_then(|r| r.split('\'').next()) else {
                continue;
            };
            let id = id
                .trim_matches(|c| c == '[' || c == ']')
                .parse()
                .unwrap_or(0);
            types
                .entry((kind.to_string(), name.to_string()))
                .or_insert(id);
        }
        types
    })
}

/// The id bpftool gives `KIND 'name'` in the kernel's BTF.
fn kernel_id(kind: &str, name: &str) -> u32 {
    *kernel_types()
        .get(&(kind.to_string(), name.to_string()))
        .unwrap_or_else(|| panic!("no {kind} {name} in the kernel's BTF"))
}

/// The members of STRUCT `name` in the kernel's BTF, in order (bpftool's
/// raw dump: one indented `'member' type_id=...` line each).
fn kernel_members(name: &str) -> Vec<String> {
    let dump = rxdp_kernel_tests::run(
        "bpftool",
        &["btf", "dump", "file", "/sys/kernel/btf/vmlinux"],
    );
    let header = format!("] STRUCT '{name}' ");
    dump.lines()
        .skip_while(|l| !l.contains(&header))
        .skip(1)
        .take_while(|l| l.starts_with('\t'))
        .filter_map(|l| l.split('\'').nth(1).map(str::to_string))
        .collect()
}

/// The whole value of a one-element global-data map.
fn read_global_map(map: &OwnedFd) -> Vec<u8> {
    let info = map_info(map.as_fd()).unwrap();
    let mut value = vec![0u8; info.value_size as usize];
    assert!(map_lookup_elem(map.as_fd(), &0u32.to_ne_bytes(), &mut value).unwrap());
    value
}

fn u32_at(value: &[u8], offset: usize) -> u32 {
    u32::from_ne_bytes(value[offset..offset + 4].try_into().unwrap())
}

fn i64_at(value: &[u8], offset: usize) -> i64 {
    i64::from_ne_bytes(value[offset..offset + 8].try_into().unwrap())
}

/// Whether the kernel lists congestion control `name` now.
fn cc_available(name: &str) -> bool {
    std::fs::read_to_string(AVAILABLE_CC)
        .unwrap()
        .split_whitespace()
        .any(|cc| cc == name)
}

/// A thread id, as `task->pid` shows it.
fn gettid() -> u32 {
    nix::unistd::gettid().as_raw() as u32
}

// -------------------------------------------------------------------- tests

#[test]
fn an_iterator_gets_its_kernel_function_and_reads_every_task() {
    if !require_kernel() {
        return;
    }
    let path = corpus_object("6.1", "bpf_iter_task");
    let loaded = loaded("bpf_iter_task", |_| {});
    let bpf_iter_task = kernel_id("FUNC", "bpf_iter_task");
    for (index, name) in [(0, "dump_task"), (1, "dump_task_sleepable")] {
        let info = kernel_view(&loaded, index);
        // The kernel keeps 15 bytes of a name.
        assert_eq!(info.name, name[..name.len().min(15)]);
        assert_eq!(info.prog_type, ProgramType::TRACING.0, "{name}");
        assert_eq!(info.attach_btf_id, bpf_iter_task, "{name}");
        assert_eq!(
            loaded.programs[index].expected_attach_type,
            attach::TRACE_ITER
        );
    }
    // Count this thread: `tid` in .bss.
    let bss = &loaded.map(".bss").unwrap().fd;
    let mut value = read_global_map(bss);
    let tid_at = var_offset(&path, ".bss", "tid");
    let me = gettid();
    value[tid_at..tid_at + 4].copy_from_slice(&me.to_ne_bytes());
    map_update_elem(bss.as_fd(), &0u32.to_ne_bytes(), &value, BPF_ANY).unwrap();

    let link = link_create(loaded.programs[0].fd.as_fd(), None, attach::TRACE_ITER, 0)
        .unwrap_or_else(|error| panic!("link the iterator: {error}"));
    let mut text = String::new();
    File::from(iter_create(link.as_fd()).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.starts_with("    tgid      gid\n"), "{text}");
    assert!(text.ends_with("    === END ===\n"), "{text}");
    let mine = format!("{:8} {:8}\n", std::process::id(), me);
    assert!(
        text.contains(&mine),
        "no line {mine:?} in the iterator's output"
    );
    let value = read_global_map(bss);
    assert_eq!(
        u32_at(&value, var_offset(&path, ".bss", "num_known_tid")),
        1
    );
    assert!(u32_at(&value, var_offset(&path, ".bss", "num_unknown_tid")) > 0);
}

#[test]
fn tp_btf_gets_the_tracepoint_typedef_and_sees_packets() {
    if !require_kernel() {
        return;
    }
    let path = corpus_object("6.1", "netif_receive_skb");
    let loaded = loaded("netif_receive_skb", |_| {});
    let info = kernel_view(&loaded, 0);
    assert_eq!(info.prog_type, ProgramType::TRACING.0);
    assert_eq!(
        info.attach_btf_id,
        kernel_id("TYPEDEF", "btf_trace_netif_receive_skb")
    );
    assert_eq!(
        loaded.programs[0].expected_attach_type,
        attach::TRACE_RAW_TP
    );
    let _link = link_create(loaded.programs[0].fd.as_fd(), None, attach::TRACE_RAW_TP, 0)
        .unwrap_or_else(|error| panic!("attach the tp_btf program: {error}"));
    // Packets over loopback in a namespace of our own go through
    // __netif_receive_skb, where the tracepoint is.
    let netns = Netns::new();
    ip(&["-n", netns.name(), "link", "set", "lo", "up"]);
    let bss = &loaded.map(".bss").unwrap().fd;
    let ran_at = var_offset(&path, ".bss", "ran_subtests");
    let ret_at = var_offset(&path, ".bss", "ret");
    netns.run(|| {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while u32_at(&read_global_map(bss), ran_at) == 0 {
            assert!(Instant::now() < deadline, "the tp_btf program never ran");
            socket.send_to(b"x", socket.local_addr().unwrap()).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let value = read_global_map(bss);
    assert!(
        i64_at(&value, ret_at) >= 0,
        "bpf_snprintf_btf failed in the program"
    );
}

/// A cgroup v2 directory made by the test, removed on drop (which detaches
/// what is attached to it).
struct Cgroup(PathBuf);

impl Cgroup {
    fn new() -> Cgroup {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
        let root = mounts
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.get(2) == Some(&"cgroup2"))
            .map(|f| PathBuf::from(f[1]))
            .expect("a cgroup2 mount");
        let dir = root.join(unique_name("rxdp-"));
        std::fs::create_dir(&dir).unwrap();
        Cgroup(dir)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // The processes moved in have exited by now.
        if let Err(error) = std::fs::remove_dir(&self.0) {
            eprintln!("cleanup: rmdir {}: {error}", self.0.display());
        }
    }
}

/// Runs `script` with bash in `netns`, moved into `cgroup` first.
fn bash_in(netns: &Netns, cgroup: &Cgroup, script: &str) -> Run {
    let script = format!("echo $$ > {}/cgroup.procs && {script}", cgroup.0.display());
    Command::new("nsenter")
        .arg(format!("--net={}", netns.path().display()))
        .args(["bash", "-c", &script])
        .output()
        .unwrap()
        .into()
}

#[test]
fn connect4_is_a_sock_addr_program_that_rewrites_connect() {
    if !require_kernel() {
        return;
    }
    let loaded = loaded("connect4_prog", |_| {});
    let program = &loaded.programs[0];
    assert_eq!(program.name, "connect_v4_prog");
    assert_eq!(program.expected_attach_type, attach::CGROUP_INET4_CONNECT);
    assert_eq!(
        kernel_view(&loaded, 0).prog_type,
        ProgramType::CGROUP_SOCK_ADDR.0
    );
    // The kernel attaches a sock_addr program to a cgroup only at the hook
    // it was loaded for (bpf_prog_attach_check_attach_type).
    let cgroup = Cgroup::new();
    let cg = cgroup.0.display().to_string();
    let id = program.id.to_string();
    let refused =
        rxdp_kernel_tests::try_run("bpftool", &["cgroup", "attach", &cg, "connect6", "id", &id]);
    assert!(refused.is_err(), "attached at connect6: {refused:?}");
    rxdp_kernel_tests::run("bpftool", &["cgroup", "attach", &cg, "connect4", "id", &id]);

    let netns = Netns::new();
    ip(&["-n", netns.name(), "link", "set", "lo", "up"]);
    let connect = "exec 3<>/dev/udp/127.0.0.2/5555 && echo -n hello >&3";
    // The program binds the socket to test_sock_addr1, then 2: without
    // those devices it returns 0 and the kernel refuses the connect.
    let refused = bash_in(&netns, &cgroup, connect);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("Operation not permitted"),
        "{refused:?}"
    );
    ip(&[
        "-n",
        netns.name(),
        "link",
        "add",
        "test_sock_addr1",
        "type",
        "veth",
        "peer",
        "name",
        "test_sock_addr2",
    ]);
    // It rewrites any destination to 127.0.0.1:4444, where a socket must
    // listen, and binds the source to 127.0.0.4.
    let server = netns.run(|| UdpSocket::bind("127.0.0.1:4444").unwrap());
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let sent = bash_in(&netns, &cgroup, connect);
    assert_eq!(sent.code, 0, "{sent:?}");
    let mut buffer = [0u8; 16];
    let (len, from) = server.recv_from(&mut buffer).unwrap();
    assert_eq!(&buffer[..len], b"hello");
    assert_eq!(from.ip().to_string(), "127.0.0.4");
}

/// The tests that register bpf_dctcp take turns: the kernel has one name
/// space of congestion controls.
fn dctcp_turn() -> MutexGuard<'static, ()> {
    static DCTCP: Mutex<()> = Mutex::new(());
    DCTCP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Unregisters a struct_ops map when dropped (`BPF_MAP_DELETE_ELEM` of
/// key 0), so that a failing test leaves no congestion control behind.
struct Registered<'a>(&'a OwnedFd);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let _ = map_delete_elem(self.0.as_fd(), &0u32.to_ne_bytes());
    }
}

#[test]
fn dctcp_registers_runs_and_unregisters() {
    if !require_kernel() {
        return;
    }
    let _turn = dctcp_turn();
    let path = corpus_object("6.1", "bpf_dctcp");
    assert!(
        !cc_available("bpf_dctcp"),
        "bpf_dctcp is registered already"
    );
    let loaded = loaded("bpf_dctcp", |o| o.register.push(Ref::parse("dctcp")));
    let map = loaded.map("dctcp").unwrap();
    let _guard = Registered(&map.fd);
    assert_eq!(loaded.registered, [4]);
    assert!(cc_available("bpf_dctcp"), "not registered");
    assert!(
        !cc_available("bpf_dctcp_nouse"),
        "dctcp_nouse was not asked for"
    );

    // The kernel's view: the map's value type, the programs' struct and members.
    let info = map_info(map.fd.as_fd()).unwrap();
    assert_eq!(info.map_type, MAP_TYPE_STRUCT_OPS);
    assert_eq!(
        info.btf_vmlinux_value_type_id,
        kernel_id("STRUCT", "bpf_struct_ops_tcp_congestion_ops")
    );
    let ops = kernel_id("STRUCT", "tcp_congestion_ops");
    let members = kernel_members("tcp_congestion_ops");
    for (index, program) in loaded.programs.iter().enumerate() {
        let view = kernel_view(&loaded, index);
        assert_eq!(
            view.prog_type,
            ProgramType::STRUCT_OPS.0,
            "{}",
            program.name
        );
        assert_eq!(view.attach_btf_id, ops, "{}", program.name);
        let member = program
            .attach_target
            .as_deref()
            .and_then(|t| t.strip_prefix("tcp_congestion_ops."))
            .unwrap_or_else(|| panic!("{}: {:?}", program.name, program.attach_target));
        assert_eq!(
            members
                .get(program.expected_attach_type as usize)
                .map(String::as_str),
            Some(member),
            "{}: expected_attach_type is the member's index",
            program.name
        );
    }

    // A connection using it: dctcp_init reads the socket's storage (set
    // here, before the connect) into stg_result.
    let netns = Netns::new();
    ip(&["-n", netns.name(), "link", "set", "lo", "up"]);
    let storage = &loaded.map("sk_stg_map").unwrap().fd;
    let (cc, echoed) = netns.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = nix::sys::socket::socket(
            nix::sys::socket::AddressFamily::Inet,
            nix::sys::socket::SockType::Stream,
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        setsockopt(&socket, TcpCongestion, &"bpf_dctcp".into()).unwrap();
        map_update_elem(
            storage.as_fd(),
            &socket.as_raw_fd().to_ne_bytes(),
            &0x5eed_i32.to_ne_bytes(),
            BPF_ANY,
        )
        .unwrap();
        let address = nix::sys::socket::SockaddrIn::from(match listener.local_addr().unwrap() {
            std::net::SocketAddr::V4(v4) => v4,
            other => panic!("{other}"),
        });
        nix::sys::socket::connect(socket.as_raw_fd(), &address).unwrap();
        let mut client = TcpStream::from(socket);
        let (mut server, _) = listener.accept().unwrap();
        client.write_all(b"ping").unwrap();
        let mut buffer = [0u8; 4];
        server.read_exact(&mut buffer).unwrap();
        let cc = getsockopt(&client, TcpCongestion).unwrap();
        (cc.to_string_lossy().into_owned(), buffer)
    });
    assert_eq!(cc, "bpf_dctcp");
    assert_eq!(&echoed, b"ping");
    let bss = read_global_map(&loaded.map(".bss").unwrap().fd);
    assert_eq!(
        u32_at(&bss, var_offset(&path, ".bss", "stg_result")),
        0x5eed,
        "dctcp_init did not run on the connection"
    );

    // Unregistered by deleting key 0 (what `bpftool struct_ops unregister` does).
    map_delete_elem(map.fd.as_fd(), &0u32.to_ne_bytes()).unwrap();
    assert!(!cc_available("bpf_dctcp"), "still registered");
}

#[test]
fn a_struct_the_kernel_refuses_is_not_left_registered() {
    if !require_kernel() {
        return;
    }
    let _turn = dctcp_turn();
    // dctcp_nouse sets init and set_state only: tcp_register_congestion_control
    // wants ssthresh, undo_cwnd and cong_avoid too. dctcp, registered first,
    // must be unregistered by the rollback.
    let error = load_61("bpf_dctcp", |o| {
        o.register = vec![Ref::parse("dctcp"), Ref::parse("dctcp_nouse")];
    })
    .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("register struct_ops: map_fd[3] dctcp_nouse (struct tcp_congestion_ops): BPF_MAP_UPDATE_ELEM failed: Invalid argument (EINVAL)"),
        "{text}"
    );
    assert!(
        !cc_available("bpf_dctcp"),
        "the rollback left dctcp registered"
    );
    assert!(!cc_available("bpf_dctcp_nouse"));
    // A map that is no struct_ops is refused before anything is made.
    let error = load_61("bpf_dctcp", |o| o.register.push(Ref::parse("sk_stg_map"))).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("--register sk_stg_map: map_fd[0] is a sk_storage map, not struct_ops: 3 dctcp_nouse, 4 dctcp"),
        "{error}"
    );
}

#[test]
fn question_mark_programs_load_only_when_asked() {
    if !require_kernel() {
        return;
    }
    // Every program of strncmp_test is SEC("?tp/..."): by default none loads.
    let none = loaded("strncmp_test", |_| {});
    assert!(none.programs.is_empty());
    assert_eq!(none.maps.len(), 3, "its maps are made all the same");
    let one = loaded("strncmp_test", |o| {
        o.autoload = Autoload::Names(vec!["do_strncmp".into()]);
    });
    assert_eq!(one.programs.len(), 1);
    assert_eq!(one.programs[0].name, "do_strncmp");
    assert_eq!(kernel_view(&one, 0).prog_type, ProgramType::TRACEPOINT.0);
    // The others are the verifier's negative tests: --all reaches them.
    let error = load_61("strncmp_test", |o| o.autoload = Autoload::All).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("prog_fd[1] strncmp_bad_not_const_str_size (section ?tp/syscalls/sys_enter_nanosleep): the verifier rejected it"),
        "{error}"
    );
    let error = load_61("strncmp_test", |o| {
        o.autoload = Autoload::Names(vec!["nothing".into()]);
    })
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("--autoload nothing: no program is named so"),
        "{error}"
    );
    // The command line: --autoload, and rxdp inspect's view.
    let cli = rxdp_load(&[
        "--no-pin",
        "--json",
        "--autoload",
        "do_strncmp",
        corpus_object("6.1", "strncmp_test").to_str().unwrap(),
    ])
    .ok();
    assert!(cli.stdout.contains(r#""name":"do_strncmp","section":"?tp/syscalls/sys_enter_nanosleep","type":"tracepoint""#), "{}", cli.stdout);
    let inspect = rxdp(&[
        "inspect",
        corpus_object("6.1", "strncmp_test").to_str().unwrap(),
    ])
    .ok();
    assert!(
        inspect
            .stdout
            .contains("programs (prog_fd[]): 0, and 4 not loaded unless asked"),
        "{}",
        inspect.stdout
    );
}

#[test]
fn probe_and_reuseport_sections_get_libbpf_types_and_attach_types() {
    if !require_kernel() {
        return;
    }
    let multi = loaded("kprobe_multi_empty", |_| {});
    assert_eq!(kernel_view(&multi, 0).prog_type, ProgramType::KPROBE.0);
    assert_eq!(
        multi.programs[0].expected_attach_type,
        attach::TRACE_KPROBE_MULTI
    );
    let uprobe = loaded("test_task_pt_regs", |_| {});
    assert_eq!(uprobe.programs[0].section, "uprobe");
    assert_eq!(kernel_view(&uprobe, 0).prog_type, ProgramType::KPROBE.0);
    let reuseport = loaded("test_migrate_reuseport", |_| {});
    assert_eq!(kernel_view(&reuseport, 0).prog_type, ProgramType::XDP.0);
    assert_eq!(reuseport.programs[0].expected_attach_type, attach::XDP);
    assert_eq!(
        kernel_view(&reuseport, 1).prog_type,
        ProgramType::SK_REUSEPORT.0
    );
    assert_eq!(
        reuseport.programs[1].expected_attach_type,
        attach::SK_REUSEPORT_SELECT_OR_MIGRATE
    );
}

#[test]
fn an_unknown_section_is_refused_unless_a_type_is_forced() {
    if !require_kernel() {
        return;
    }
    let object = obj("unknown_section");
    let refused = rxdp_load(&["--no-pin", &object]).failed();
    assert!(
        refused.stderr.contains(
            "resolve options: prog_fd[0] encap_gre_prog (section encap_gre): no section table knows `encap_gre`"
        ),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--type TYPE"), "{}", refused.stderr);
    let forced = rxdp_load(&["--no-pin", "--type", "sched_cls", &object]).ok();
    let id = printed_prog_id(&forced.stdout, 0);
    let prog = rxdp_syscalls::bpf::prog_get_fd_by_id(id);
    // The loader has exited: the program may be gone already; when it is
    // still there, it is a classifier. rxdp-load's own line says so too.
    if let Ok(prog) = prog {
        assert_eq!(
            prog_info(prog.as_fd()).unwrap().prog_type,
            ProgramType::SCHED_CLS.0
        );
    }
    assert!(
        forced.stdout.contains("(sched_cls, id "),
        "{}",
        forced.stdout
    );
    // rxdp inspect shows it without a type rather than refusing the file.
    let inspect = rxdp(&["inspect", "--json", &object]).ok();
    assert!(
        inspect.stdout.contains(r#""type":"unknown""#),
        "{}",
        inspect.stdout
    );
}

#[test]
fn freplace_without_a_target_program_is_refused_before_anything_is_made() {
    if !require_kernel() {
        return;
    }
    let object = corpus_object("6.1", "freplace_cls_redirect");
    let refused = rxdp_load(&["--no-pin", object.to_str().unwrap()]).failed();
    assert!(
        refused.stderr.contains(
            "resolve options: prog_fd[0] freplace_cls_redirect_test (section freplace/cls_redirect): freplace programs replace a function (cls_redirect) of a program already loaded: give that program with --attach-prog"
        ),
        "{}",
        refused.stderr
    );
    let ours = obj("freplace");
    let itself = rxdp_load(&["--no-pin", "--attach-prog", "replacement", &ours]).failed();
    assert!(
        itself
            .stderr
            .contains("--attach-prog replacement is itself a freplace program"),
        "{}",
        itself.stderr
    );
}

#[test]
fn json_reports_expected_attach_types_and_targets() {
    if !require_kernel() {
        return;
    }
    let out = rxdp_load(&[
        "--no-pin",
        "--json",
        corpus_object("6.1", "bpf_iter_task").to_str().unwrap(),
    ])
    .ok();
    let id = kernel_id("FUNC", "bpf_iter_task");
    assert!(
        out.stdout.contains(&format!(
            r#""name":"dump_task","section":"iter/task","type":"tracing","expected_attach_type":28,"attach_btf_id":{id},"attach_target":"FUNC bpf_iter_task""#
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn our_struct_ops_registers_by_update() {
    if !require_kernel() {
        return;
    }
    let mut options = LoadOptions::new(obj("struct_ops"));
    options.pins = PinPolicy::Never;
    options.register = vec![Ref::parse("rxdp_cc")];
    let loaded = load(&options, &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
    let cc = &loaded.maps[0].fd;
    let _guard = Registered(cc);
    assert_eq!(loaded.registered, [0]);
    assert!(cc_available("rxdp_cc"), "the .struct_ops map is registered");
    // rxdp_unused, which no variable points at, was left out.
    let names: Vec<&str> = loaded.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["rxdp_ssthresh", "rxdp_undo_cwnd", "rxdp_cong_avoid"]
    );
    map_delete_elem(cc.as_fd(), &0u32.to_ne_bytes()).unwrap();
    assert!(!cc_available("rxdp_cc"));

    // Asked for, rxdp_unused has nothing to implement.
    options.register.clear();
    options.autoload = Autoload::Names(vec!["rxdp_unused".into()]);
    let error = load(&options, &mut NoObserver).unwrap_err();
    assert!(
        error.to_string().contains(
            "prog_fd[3] rxdp_unused (section struct_ops/rxdp_unused): no .struct_ops variable points at this struct_ops program"
        ),
        "{error}"
    );
}

#[test]
fn struct_ops_flavours_are_the_kernels_struct_and_share_programs() {
    if !require_kernel() {
        return;
    }
    // rxdp_cc_b is a `tcp_congestion_ops___rxdp`: the kernel's
    // tcp_congestion_ops once the flavour is cut, served by the same
    // programs as rxdp_cc_a; both register.
    let mut options = LoadOptions::new(obj("struct_ops_flavours"));
    options.pins = PinPolicy::Never;
    options.register = vec![Ref::parse("rxdp_cc_a"), Ref::parse("rxdp_cc_b")];
    let loaded = load(&options, &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
    let _guards = [
        Registered(&loaded.maps[0].fd),
        Registered(&loaded.maps[1].fd),
    ];
    assert_eq!(loaded.registered, [0, 1]);
    let value_type = kernel_id("STRUCT", "bpf_struct_ops_tcp_congestion_ops");
    for map in &loaded.maps {
        let info = map_info(map.fd.as_fd()).unwrap();
        assert_eq!(info.map_type, MAP_TYPE_STRUCT_OPS, "{}", map.name);
        assert_eq!(info.btf_vmlinux_value_type_id, value_type, "{}", map.name);
    }
    assert!(cc_available("rxdp_cc_a") && cc_available("rxdp_cc_b"));
    let ops = kernel_id("STRUCT", "tcp_congestion_ops");
    for index in 0..loaded.programs.len() {
        assert_eq!(kernel_view(&loaded, index).attach_btf_id, ops);
    }
}

/// The running kernel's (major, minor).
fn kernel_version() -> (u32, u32) {
    let uname = nix::sys::utsname::uname().unwrap();
    let release = uname.release().to_string_lossy().into_owned();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
}

#[test]
fn a_struct_ops_link_map_registers_while_its_link_lives() {
    if !require_kernel() {
        return;
    }
    let mut options = LoadOptions::new(obj("struct_ops_link"));
    options.pins = PinPolicy::Never;
    options.register = vec![Ref::parse("rxdp_cc_link")];
    if kernel_version() < (6, 4) {
        // BPF_F_LINK struct_ops maps came with 6.4: the kernel refuses the
        // map, and the load says which.
        let error = load(&options, &mut NoObserver).unwrap_err();
        assert!(
            error.to_string().contains(
                "create maps: map_fd[0] rxdp_cc_link: create: BPF_MAP_CREATE failed: Invalid argument"
            ),
            "{error}"
        );
        return;
    }
    let loaded = load(&options, &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(loaded.registered, [] as [usize; 0]);
    assert_eq!(loaded.ready_for_link, [0]);
    assert!(
        !cc_available("rxdp_cc_link"),
        "a .struct_ops.link map waits for its link"
    );
    let link = link_create(loaded.maps[0].fd.as_fd(), None, attach::STRUCT_OPS, 0)
        .unwrap_or_else(|error| panic!("link the .struct_ops.link map: {error}"));
    assert!(
        cc_available("rxdp_cc_link"),
        "registered while the link lives"
    );
    drop(link);
    let deadline = Instant::now() + Duration::from_secs(5);
    while cc_available("rxdp_cc_link") {
        assert!(
            Instant::now() < deadline,
            "still registered without its link"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
