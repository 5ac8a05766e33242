//! What the loader's kernel tests share: running `rxdp-load`/`rxdp` as a
//! separate process (so that every check happens after the loader exited,
//! as a user sees it), reading maps through their pins, and cleaning up
//! the pins a test made. Included by the `load_*.rs` tests with `#[path]`;
//! each uses part of it.
#![allow(dead_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

use rxdp::{AttachOptions, JumpRequest, LoadOptions, Mode, Ref};
use rxdp_kernel_tests::bin;
use rxdp_syscalls::bpf::{map_get_fd_by_id, map_info, prog_get_fd_by_id, prog_info, MapHandle};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink::{self, XdpState};

/// `progs/obj/NAME.o`.
pub fn obj(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../progs/obj")
        .join(format!("{name}.o"))
        .display()
        .to_string()
}

/// The article's jump entry as command-line options: `prog_fd[1]` (xdp1)
/// at key 78 of `map_fd[0]` (jmp_table1), the key xdp0 tail-calls. The
/// article's user program wrote this entry itself before attaching
/// `prog_fd[0]`; `rxdp-load`, `rxdp load` and `rxdp run` take it as options.
pub const ARTICLE_JUMP: [&str; 6] = ["--map", "0", "--key", "78", "--prog", "1"];

/// `ARGS... --map 0 --key 78 --prog 1`: a command line on tail_kern.o
/// with the article's jump entry ([`ARTICLE_JUMP`]) at its end.
pub fn with_article_jump<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().copied().chain(ARTICLE_JUMP).collect()
}

/// The article as `rxdp::load` options, for loads in the test's own
/// process: what `rxdp-load tail_kern.o --dev DEV --mode skb --map 0
/// --key 78 --prog 1` asks for.
pub fn article_options(dev: &str) -> LoadOptions {
    let mut options = LoadOptions::new(obj("tail_kern"));
    options
        .jumps
        .push(JumpRequest::new(Ref::Index(0), 78, Ref::Index(1)));
    options.attach = Some(AttachOptions::new(dev).with_mode(Mode::Skb));
    options
}

/// The result of one run of a binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole output unless the run succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    /// Panics with the whole output unless the run failed with exit code 1.
    pub fn failed(self) -> Run {
        assert_eq!(self.code, 1, "expected exit code 1:\n{self:#?}");
        assert!(
            !self.stderr.contains("panicked"),
            "a panic is not an error message:\n{}",
            self.stderr
        );
        self
    }
}

/// What a finished process left: its exit code (-1 when a signal ended
/// it) and its output as text. Every way the tests run a binary (to
/// completion, as another user, raced against another) ends here.
impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

fn run_binary(name: &str, args: &[&str]) -> Run {
    Command::new(bin(name))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {name}: {error}"))
        .into()
}

/// nobody: uid and gid 65534.
pub const NOBODY: u32 = 65534;

/// `NAME ARGS...` (a binary of this workspace) as nobody, to completion.
pub fn as_nobody(name: &str, args: &[&str]) -> Run {
    run_as_nobody(bin(name), args)
}

/// `PROGRAM ARGS...` (any program) as nobody, to completion. std drops
/// the supplementary groups when root sets the uid, and the capabilities
/// go with the uid.
pub fn run_as_nobody(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Run {
    let program = program.as_ref();
    Command::new(program)
        .args(args)
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program:?} as nobody: {error}"))
        .into()
}

/// Moves this thread into a mount namespace of its own (unshare(2) of
/// `CLONE_NEWNS` acts on the calling thread) where `/sys/fs/bpf` is a new,
/// empty bpffs mounted with `options` (`mode=0700`, `mode=1777`). Threads
/// and processes started from this thread share it; it goes when they are
/// all gone, with every pin in it. Nothing else on the machine sees it.
pub fn mount_private_bpffs(options: &str) {
    unshare(CloneFlags::CLONE_NEWNS).unwrap_or_else(|errno| panic!("unshare: {errno}"));
    // Nothing mounted here may propagate back to the machine's namespace.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .unwrap_or_else(|errno| panic!("make / private: {errno}"));
    mount(
        Some("bpf"),
        bpffs::DEFAULT_MOUNT,
        Some("bpf"),
        MsFlags::empty(),
        Some(options),
    )
    .unwrap_or_else(|errno| panic!("mount bpffs: {errno}"));
}

/// `rxdp-load ARGS...`, run to completion.
pub fn rxdp_load(args: &[&str]) -> Run {
    run_binary("rxdp-load", args)
}

/// `rxdp ARGS...`, run to completion.
pub fn rxdp(args: &[&str]) -> Run {
    run_binary("rxdp", args)
}

/// The XDP programs of `ifindex` now.
pub fn xdp(ifindex: u32) -> XdpState {
    netlink::query(ifindex).unwrap_or_else(|error| panic!("query ifindex {ifindex}: {error}"))
}

/// `/sys/fs/bpf/rxdp/DEV`: the pins rxdp makes for a device.
pub fn device_pins(dev: &str) -> PathBuf {
    rxdp::pin::PinTarget::device_dir(Path::new(bpffs::DEFAULT_MOUNT), dev)
}

/// Removes a pin path (file or directory tree) when dropped, also when the
/// test panics.
#[derive(Debug)]
pub struct RemovePins(pub PathBuf);

impl Drop for RemovePins {
    fn drop(&mut self) {
        if self.0.symlink_metadata().is_ok() {
            if let Err(error) = bpffs::remove_dir_all(&self.0) {
                eprintln!("cleanup: {}: {error}", self.0.display());
            }
        }
    }
}

/// The names in directory `dir` (a device's or a slot's pins), sorted,
/// but rxdp's record; none when it cannot be read, as when it does not
/// exist.
pub fn entry_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name != rxdp::record::RECORD)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Opens the map pinned at `path`.
pub fn pinned(path: &Path) -> OwnedFd {
    bpffs::get(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `map[key]` of a map with u32 keys and u64 values (0 when absent).
pub fn read_u64(map: &OwnedFd, key: u32) -> u64 {
    let handle = MapHandle::new(map.as_fd()).unwrap_or_else(|error| panic!("map: {error}"));
    let mut value = [0u8; 8];
    let found = handle
        .lookup(&key.to_ne_bytes(), &mut value)
        .unwrap_or_else(|error| panic!("lookup {key}: {error}"));
    if found {
        u64::from_ne_bytes(value)
    } else {
        0
    }
}

/// `map[key]` of a map with u32 keys and u32 values (prog arrays and
/// map-in-maps give ids), `None` when absent.
pub fn read_u32(map: &OwnedFd, key: u32) -> Option<u32> {
    let handle = MapHandle::new(map.as_fd()).unwrap_or_else(|error| panic!("map: {error}"));
    let mut value = [0u8; 4];
    handle
        .lookup(&key.to_ne_bytes(), &mut value)
        .unwrap_or_else(|error| panic!("lookup {key}: {error}"))
        .then(|| u32::from_ne_bytes(value))
}

/// Waits up to ten seconds for `condition` (native XDP on veth runs from
/// NAPI, after the sender returned; a program is freed after an RCU grace
/// period, which under QEMU's emulation can take seconds). A condition that
/// holds returns at once: the bound only decides how long a failure takes.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The id rxdp-load printed for `map_fd[index]` (`map_fd[2] = counters (array, id 42)`).
pub fn printed_map_id(stdout: &str, index: usize) -> u32 {
    printed_id(stdout, &format!("map_fd[{index}] = "))
}

/// The id rxdp-load printed for `prog_fd[index]`.
pub fn printed_prog_id(stdout: &str, index: usize) -> u32 {
    printed_id(stdout, &format!("prog_fd[{index}] = "))
}

fn printed_id(stdout: &str, prefix: &str) -> u32 {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{stdout}"));
    let (_, rest) = line
        .split_once(", id ")
        .unwrap_or_else(|| panic!("no id in {line:?}"));
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {line:?}"))
}

/// The map named `name` that program `prog_id` uses, opened by id: how to
/// reach a map that is pinned nowhere.
pub fn map_of_program(prog_id: u32, name: &str) -> OwnedFd {
    let prog = prog_get_fd_by_id(prog_id).unwrap_or_else(|error| panic!("{error}"));
    let info = prog_info(prog.as_fd()).unwrap_or_else(|error| panic!("{error}"));
    for id in info.map_ids {
        let map = map_get_fd_by_id(id).unwrap_or_else(|error| panic!("{error}"));
        if map_info(map.as_fd()).is_ok_and(|info| info.name == name) {
            return map;
        }
    }
    panic!("program id {prog_id} uses no map named {name}")
}

/// Every id of one kind the kernel has now
/// (`BPF_PROG_GET_NEXT_ID`, `BPF_MAP_GET_NEXT_ID`).
pub fn all_ids(
    next: fn(u32) -> rxdp_syscalls::Result<Option<u32>>,
) -> std::collections::BTreeSet<u32> {
    let mut ids = std::collections::BTreeSet::new();
    let mut id = 0;
    while let Some(found) = next(id).unwrap_or_else(|error| panic!("get next id: {error}")) {
        ids.insert(found);
        id = found;
    }
    ids
}

/// The name of program `id`, `None` once it is gone.
pub fn prog_name_of(id: u32) -> Option<String> {
    let fd = prog_get_fd_by_id(id).ok()?;
    prog_info(fd.as_fd()).ok().map(|info| info.name)
}

/// The name of map `id`, `None` once it is gone.
pub fn map_name_of(id: u32) -> Option<String> {
    let fd = rxdp_syscalls::bpf::map_get_fd_by_id(id).ok()?;
    map_info(fd.as_fd()).ok().map(|info| info.name)
}

/// How many programs and maps the kernel has whose names are in `names`.
pub fn count_named(names: &std::collections::BTreeSet<String>) -> (usize, usize) {
    use rxdp_syscalls::bpf::{map_get_next_id, prog_get_next_id};
    let progs = all_ids(prog_get_next_id)
        .into_iter()
        .filter_map(prog_name_of)
        .filter(|name| names.contains(name))
        .count();
    let maps = all_ids(map_get_next_id)
        .into_iter()
        .filter_map(map_name_of)
        .filter(|name| names.contains(name))
        .count();
    (progs, maps)
}

/// The name of program `id`.
pub fn prog_name(id: u32) -> String {
    let prog = prog_get_fd_by_id(id).unwrap_or_else(|error| panic!("{error}"));
    prog_info(prog.as_fd())
        .unwrap_or_else(|error| panic!("{error}"))
        .name
}

/// The value of `"key":` in a one-line JSON object: a string's contents
/// or a number's digits.
pub fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + key.len()
        + 3;
    let rest = &json[start..];
    match rest.strip_prefix('"') {
        Some(string) => &string[..string.find('"').expect("closing quote")],
        None => &rest[..rest.find([',', '}']).expect("end of number")],
    }
}

/// The offset of global `var` in DATASEC `section` of the object at
/// `object_path`'s BTF.
pub fn var_offset(object_path: &Path, section: &str, var: &str) -> usize {
    let bytes = std::fs::read(object_path).unwrap();
    let object = rxdp_elf::Object::parse(&bytes).unwrap();
    let btf = object.btf.as_ref().unwrap();
    let (_, _, vars) = btf
        .datasecs()
        .unwrap()
        .into_iter()
        .find(|(_, name, _)| *name == section)
        .unwrap_or_else(|| panic!("no DATASEC {section}"));
    vars.iter()
        .find(|v| {
            btf.type_by_id(v.type_id)
                .and_then(|t| btf.string(t.name_off))
                .is_ok_and(|n| n == var)
        })
        .map(|v| v.offset as usize)
        .unwrap_or_else(|| panic!("no {var} in {section}"))
}
