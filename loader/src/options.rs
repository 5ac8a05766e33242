//! What a load is asked to do ([`LoadOptions`]) and how the names in it are
//! found in the object.
//!
//! Maps and programs can be named three ways, as `load_bpf_file()` users
//! and newer tools do: by index into `map_fd[]`/`prog_fd[]` (`0`), by
//! symbol name (`jmp_table1`, `xdp_prog1`), or, for programs, by section
//! name (`xdp1`, which means the first program of that section). Section
//! and function names differ in some objects (`xdp_entry` holds
//! `xdp_entry_prog`), so both are accepted; a name that means two different
//! programs is refused with the candidates listed.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use rxdp_elf::{JumpEntry, JumpOrigin, MapType, Object, ProgramType};
use rxdp_syscalls::netlink::XdpFlags;

/// The XDP attach mode (`XDP_FLAGS_*_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// No mode flag: the kernel picks native when the driver has it, else generic.
    #[default]
    Auto,
    /// `XDP_FLAGS_SKB_MODE`: generic XDP, after the skb is built.
    Skb,
    /// `XDP_FLAGS_DRV_MODE`: native XDP, in the driver.
    Drv,
    /// `XDP_FLAGS_HW_MODE`: offloaded to the NIC.
    Hw,
}

impl Mode {
    /// The modes a device has slots for, in the order status lists them.
    pub const SLOTS: [Mode; 3] = [Mode::Skb, Mode::Drv, Mode::Hw];

    /// `auto`, `skb` (or `generic`), `drv` (or `native`), `hw` (or `offload`).
    pub fn parse(text: &str) -> Option<Mode> {
        Some(match text {
            "auto" => Mode::Auto,
            "skb" | "generic" => Mode::Skb,
            "drv" | "native" => Mode::Drv,
            "hw" | "offload" => Mode::Hw,
            _ => return None,
        })
    }

    /// `auto`, `skb`, `drv` or `hw`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Skb => "skb",
            Mode::Drv => "drv",
            Mode::Hw => "hw",
        }
    }

    /// The mode flag of `RTM_SETLINK` (none for auto).
    pub fn flags(self) -> XdpFlags {
        match self {
            Mode::Auto => XdpFlags::empty(),
            Mode::Skb => XdpFlags::SKB_MODE,
            Mode::Drv => XdpFlags::DRV_MODE,
            Mode::Hw => XdpFlags::HW_MODE,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A map or program named on the command line: an index or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ref {
    /// An index into `map_fd[]` or `prog_fd[]`.
    Index(usize),
    /// A name: the map's, or the program's function or section.
    Name(String),
}

/// A map: index into `map_fd[]` or map name.
pub type MapRef = Ref;
/// A program: index into `prog_fd[]`, function name or section name.
pub type ProgRef = Ref;

impl Ref {
    /// Digits are an index, anything else a name.
    pub fn parse(text: &str) -> Ref {
        match text.parse::<usize>() {
            Ok(index) if text.bytes().all(|b| b.is_ascii_digit()) => Ref::Index(index),
            _ => Ref::Name(text.to_string()),
        }
    }
}

impl Default for Ref {
    fn default() -> Ref {
        Ref::Index(0)
    }
}

/// An index: `map_fd[i]` or `prog_fd[i]`.
impl From<usize> for Ref {
    fn from(index: usize) -> Ref {
        Ref::Index(index)
    }
}

/// A name, taken as it is (digits included: use an index for an index).
impl From<&str> for Ref {
    fn from(name: &str) -> Ref {
        Ref::Name(name.to_string())
    }
}

/// A name, taken as it is.
impl From<String> for Ref {
    fn from(name: String) -> Ref {
        Ref::Name(name)
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Index(index) => write!(f, "{index}"),
            Ref::Name(name) => f.write_str(name),
        }
    }
}

/// `--map M --key K --prog P`: `prog_fd[P]` at key K of `map_fd[M]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JumpRequest {
    /// The prog array: `map_fd[M]`.
    pub map: MapRef,
    /// The key in it.
    pub key: u32,
    /// The program to put there: `prog_fd[P]`.
    pub prog: ProgRef,
}

impl JumpRequest {
    /// `prog` at `key` of `map`.
    pub fn new(map: MapRef, key: u32, prog: ProgRef) -> JumpRequest {
        JumpRequest { map, key, prog }
    }
}

/// How many `BPF_PROG_LOAD`s run at once. Privileged loads do not share a
/// verifier lock, so on N CPUs N programs are verified in the time of one.
/// Whatever the number, `prog_fd[]`, names, events and errors are those of
/// a load one program after another; only kernel ids may differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jobs {
    /// One per CPU the process may run on (`sched_getaffinity`).
    #[default]
    Auto,
    /// At most this many; 1 loads every program on the calling thread, in
    /// `prog_fd[]` order.
    Max(NonZeroUsize),
}

impl Jobs {
    /// One program at a time, on the calling thread.
    pub const ONE: Jobs = Jobs::Max(NonZeroUsize::MIN);
}

/// Where maps are pinned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PinPolicy {
    /// With a device, `/sys/fs/bpf/rxdp/IF/MODE/`; without one, nowhere.
    #[default]
    Default,
    /// This directory (`--pin-dir`), with or without a device.
    Dir(PathBuf),
    /// Nowhere (`--no-pin`): prog arrays empty when the loader exits.
    Never,
}

/// Where and how to attach the entry program.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttachOptions {
    /// Interface name.
    pub dev: String,
    /// The mode.
    pub mode: Mode,
    /// Replace what is attached in that mode, atomically.
    pub force: bool,
    /// Attach through a BPF link (`BPF_LINK_CREATE`), pinned beside the
    /// maps, instead of netlink (`RTM_SETLINK`, the default).
    pub link: bool,
    /// The program to attach. `None`: `prog_fd[0]`, as `load_bpf_file()`
    /// users attached — unless the object itself puts it in a jump table
    /// (a tail-call target, not an entry), which is refused: name the
    /// entry then.
    pub entry: Option<ProgRef>,
}

impl AttachOptions {
    /// Attach `prog_fd[0]` to `dev`, mode auto, not replacing anything.
    pub fn new(dev: impl Into<String>) -> AttachOptions {
        AttachOptions {
            dev: dev.into(),
            mode: Mode::Auto,
            force: false,
            link: false,
            entry: None,
        }
    }

    /// The same, in `mode`.
    pub fn with_mode(mut self, mode: Mode) -> AttachOptions {
        self.mode = mode;
        self
    }

    /// The same, replacing what is attached in that mode when `force`.
    pub fn with_force(mut self, force: bool) -> AttachOptions {
        self.force = force;
        self
    }

    /// The same, through a BPF link when `link`.
    pub fn with_link(mut self, link: bool) -> AttachOptions {
        self.link = link;
        self
    }

    /// The same, attaching the program `entry` names.
    pub fn with_entry(mut self, entry: ProgRef) -> AttachOptions {
        self.entry = Some(entry);
        self
    }
}

/// How the attached program was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryChoice {
    /// Named by the options (`--entry`).
    Named,
    /// `prog_fd[0]`, no entry being named, and the object putting it in
    /// no jump table.
    First,
}

/// How long a load or an unload waits for another one on the same device
/// by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest object file read by default: BPF objects are kilobytes to a
/// few MiB; a bigger file is most likely not one.
pub const DEFAULT_MAX_OBJECT_SIZE: u64 = 256 << 20;
/// Which `SEC("?...")` programs (libbpf's autoload off) a load loads
/// besides the others.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Autoload {
    /// None: like libbpf, they are neither relocated nor loaded, and not in
    /// `prog_fd[]`.
    #[default]
    Default,
    /// All of them (`--all`).
    All,
    /// Those named (`--autoload NAME`, repeated): function or section names.
    Names(Vec<String>),
}

/// The program whose function `freplace` programs replace (`--attach-prog`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachProg {
    /// A loaded program, by its kernel id.
    Id(u32),
    /// A program pinned on bpffs.
    Pin(PathBuf),
    /// A program of this object (function or section name), loaded first.
    Program(String),
}

impl AttachProg {
    /// Digits are an id, a path (with a `/`) a pin, anything else a
    /// program of the object.
    pub fn parse(text: &str) -> AttachProg {
        match text.parse::<u32>() {
            Ok(id) if text.bytes().all(|b| b.is_ascii_digit()) => AttachProg::Id(id),
            _ if text.contains('/') => AttachProg::Pin(PathBuf::from(text)),
            _ => AttachProg::Program(text.to_string()),
        }
    }
}

impl fmt::Display for AttachProg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachProg::Id(id) => write!(f, "program id {id}"),
            AttachProg::Pin(path) => write!(f, "the program pinned at {}", path.display()),
            AttachProg::Program(name) => write!(f, "program {name} of this object"),
        }
    }
}

/// Everything a load needs to know besides the object. Start from
/// [`LoadOptions::new`] and set what else the load needs: more fields may
/// come.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// The object file.
    pub path: PathBuf,
    /// Attach the entry program; without it, load, fill jump tables, and stop.
    pub attach: Option<AttachOptions>,
    /// Explicit jump-table entries, on top of those the object implies.
    pub jumps: Vec<JumpRequest>,
    /// The type of programs whose section no table knows (`--type`). Without
    /// it, such sections are refused — except `prog`, `prog/N` and
    /// iproute2's `ID/KEY`, which never carried a type and are XDP.
    pub default_type: Option<ProgramType>,
    /// Where the maps are pinned.
    pub pins: PinPolicy,
    /// Load with a verifier log and keep it, even on success (`-v`).
    pub verifier_log: bool,
    /// How long to wait for another load or unload of the same device.
    pub lock_timeout: Duration,
    /// The largest object file to read, in bytes.
    pub max_object_size: u64,
    /// Mount bpffs at `/sys/fs/bpf` when the load pins something and no
    /// bpffs is mounted. A mount changes the whole mount namespace, so it
    /// is off by default: without it such a load fails, saying so. The
    /// `rxdp` and `rxdp-load` commands turn it on.
    pub mount_bpffs: bool,
    /// Let a map or program the kernel refuses with EPERM raise the
    /// process's `RLIMIT_MEMLOCK` and retry once (kernels before 5.11
    /// charge BPF memory to it). Process-wide and sticky (see
    /// [`rxdp_syscalls::bpf::allow_memlock_raise`]), so off by default; the
    /// commands turn it on.
    pub raise_memlock: bool,
    /// How many programs the kernel verifies at once (`--jobs`).
    pub jobs: Jobs,
    /// The device XDP hints programs are bound to when the load attaches
    /// nowhere (`rxdp run --dev`); with an attach, its device.
    pub hints_dev: Option<String>,
    /// With no device for them: load programs calling XDP hints kfuncs
    /// with each call answering `-EOPNOTSUPP`, as a device without hints
    /// would (`rxdp run`: the kernel test-runs no device-bound program).
    pub hints_stub: bool,
    /// Which `SEC("?...")` programs to load too.
    pub autoload: Autoload,
    /// The program `freplace` programs replace a function of.
    pub attach_prog: Option<AttachProg>,
    /// The `.struct_ops` maps to register (update at key 0) once their
    /// programs are loaded: `--register`.
    pub register: Vec<MapRef>,
    /// Whether `socket/N`, `kprobe/N`, `kretprobe/N` and `sockops/N` put
    /// their program at key N of the last prog array, as bpf_load.c did
    /// (default); `false` reads them as libbpf does, the text after `/`
    /// naming an event, not a key (`--no-section-keys`).
    pub section_keys: bool,
}

impl LoadOptions {
    /// Load `path`: no attach, no explicit entries, no forced type, default
    /// pins, no `?` program, nothing registered.
    pub fn new(path: impl Into<PathBuf>) -> LoadOptions {
        LoadOptions {
            path: path.into(),
            attach: None,
            jumps: Vec::new(),
            default_type: None,
            pins: PinPolicy::Default,
            verifier_log: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            max_object_size: DEFAULT_MAX_OBJECT_SIZE,
            mount_bpffs: false,
            raise_memlock: false,
            jobs: Jobs::Auto,
            hints_dev: None,
            hints_stub: false,
            autoload: Autoload::Default,
            attach_prog: None,
            register: Vec::new(),
            section_keys: true,
        }
    }
}

/// Why a name on the command line does not fit the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// There is no `what[index]`: the object has `count` (`list`).
    #[error("there is no {what}[{index}]: the object has {count} ({list})")]
    IndexOutOfRange {
        /// `map_fd` or `prog_fd`.
        what: &'static str,
        /// The index given.
        index: usize,
        /// How many the object has.
        count: usize,
        /// The object's maps or programs, by index and name.
        list: String,
    },
    /// No `kind` is named `name`.
    #[error("no {kind} is named {name:?}; the object has: {list}")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The object's maps or programs, by index and name.
        list: String,
    },
    /// `name` names more than one program: `candidates`.
    #[error("{name:?} names more than one program: {candidates}; use an index")]
    Ambiguous {
        /// The name given.
        name: String,
        /// The programs it names.
        candidates: String,
    },
    /// An option this call does not take, and what does.
    #[error("{option} is not taken here: {instead}")]
    NotHere {
        /// The option given.
        option: &'static str,
        /// The call or option to use instead.
        instead: &'static str,
    },
    /// --map `map` --key `key`: `problem`.
    #[error("--map {map} --key {key}: {problem}")]
    BadJump {
        /// The map as given.
        map: String,
        /// The key.
        key: u32,
        /// What is wrong with the entry.
        problem: String,
    },
    /// `prog_fd[0]` would be attached by default, but the object puts it
    /// in a jump table: a tail-call target, not an entry.
    #[error("prog_fd[0] {program} (section {section}) is a tail-call target: the object puts it at key {key} of {map}, and attached by itself it would run without what its caller prepares; name the program to attach with --entry ({others})")]
    TailEntry {
        /// `prog_fd[0]`, by name.
        program: String,
        /// Its ELF section.
        section: String,
        /// The prog array the object puts it in.
        map: String,
        /// Its key there.
        key: u32,
        /// The other programs, which `--entry` could name.
        others: String,
    },
    /// `--map map --key key` is given twice (`prog_fd[first]` and `prog_fd[second]`).
    #[error(
        "--map {map} --key {key} is given twice (prog_fd[{first}] and prog_fd[{second}]); keep one"
    )]
    DuplicateJump {
        /// The map as given.
        map: String,
        /// The key.
        key: u32,
        /// The program of the first entry.
        first: usize,
        /// The program of the second.
        second: usize,
    },
    /// `--autoload name` names no program of the object.
    #[error("--autoload {name}: no program is named so; those not loaded by default: {list}")]
    AutoloadUnknown {
        /// The name given.
        name: String,
        /// The programs that do not load by default.
        list: String,
    },
    /// `--register map` names a map that is not a struct_ops map.
    #[error("--register {map}: map_fd[{index}] is a {map_type} map, not struct_ops: {list}")]
    NotStructOps {
        /// The map as given.
        map: String,
        /// Its index.
        index: usize,
        /// Its type.
        map_type: MapType,
        /// The object's struct_ops maps.
        list: String,
    },
}

/// `0 jmp_table1, 1 jmp_table2` or `none`.
fn list(names: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = names.collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn map_list(object: &Object) -> String {
    list(
        object
            .maps
            .iter()
            .enumerate()
            .map(|(i, map)| format!("{i} {}", map.name)),
    )
}

fn program_list(object: &Object) -> String {
    list(
        object
            .programs
            .iter()
            .enumerate()
            .map(|(i, prog)| format!("{i} {} (section {})", prog.name(), prog.section)),
    )
}

/// The object as this load sees it: the `?` programs `autoload` does not
/// ask for left out ([`Object::select_programs`]), so that `prog_fd[]`
/// counts only the programs loaded. Each name must name a program.
pub fn select_programs(object: Object, autoload: &Autoload) -> Result<Object, OptionError> {
    let named = |p: &rxdp_elf::Program, name: &str| {
        p.name() == name || p.section == name || p.section.strip_prefix('?') == Some(name)
    };
    if let Autoload::Names(names) = autoload {
        for name in names {
            if !object.programs.iter().any(|p| named(p, name)) {
                return Err(OptionError::AutoloadUnknown {
                    name: name.clone(),
                    list: list(
                        object
                            .programs
                            .iter()
                            .filter(|p| !p.autoload)
                            .map(|p| format!("{} (section {})", p.name(), p.section)),
                    ),
                });
            }
        }
    }
    Ok(object.select_programs(|_, p| {
        p.autoload
            || match autoload {
                Autoload::Default => false,
                Autoload::All => true,
                Autoload::Names(names) => names.iter().any(|name| named(p, name)),
            }
    }))
}

/// The struct_ops maps `--register` names, by index.
pub fn register_plan(object: &Object, maps: &[MapRef]) -> Result<Vec<usize>, OptionError> {
    let mut plan = Vec::with_capacity(maps.len());
    for reference in maps {
        let index = resolve_map(object, reference)?;
        let map = &object.maps[index];
        if map.struct_ops.is_none() {
            return Err(OptionError::NotStructOps {
                map: reference.to_string(),
                index,
                map_type: map.def.map_type,
                list: list(
                    object
                        .maps
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| m.struct_ops.is_some())
                        .map(|(i, m)| format!("{i} {}", m.name)),
                ),
            });
        }
        if !plan.contains(&index) {
            plan.push(index);
        }
    }
    Ok(plan)
}

/// The index of the map `reference` names.
pub fn resolve_map(object: &Object, reference: &MapRef) -> Result<usize, OptionError> {
    match reference {
        Ref::Index(index) if *index < object.maps.len() => Ok(*index),
        Ref::Index(index) => Err(OptionError::IndexOutOfRange {
            what: "map_fd",
            index: *index,
            count: object.maps.len(),
            list: map_list(object),
        }),
        Ref::Name(name) => object
            .maps
            .iter()
            .position(|map| map.name == *name)
            .ok_or_else(|| OptionError::NotFound {
                kind: "map",
                name: name.clone(),
                list: map_list(object),
            }),
    }
}

/// The index of the program `reference` names: an index, a function name,
/// or a section name (its first program). A function name and a section
/// name that mean different programs are ambiguous.
pub fn resolve_program(object: &Object, reference: &ProgRef) -> Result<usize, OptionError> {
    let name = match reference {
        Ref::Index(index) if *index < object.programs.len() => return Ok(*index),
        Ref::Index(index) => {
            return Err(OptionError::IndexOutOfRange {
                what: "prog_fd",
                index: *index,
                count: object.programs.len(),
                list: program_list(object),
            })
        }
        Ref::Name(name) => name,
    };
    let by_function = object.programs.iter().position(|p| p.name() == name);
    let by_section = object.programs.iter().position(|p| p.section == *name);
    match (by_function, by_section) {
        (Some(f), Some(s)) if f != s => Err(OptionError::Ambiguous {
            name: name.clone(),
            candidates: format!(
                "prog_fd[{f}] (function {name}) and prog_fd[{s}] ({}, first in section {name})",
                object.programs[s].name()
            ),
        }),
        (Some(index), _) | (None, Some(index)) => Ok(index),
        (None, None) => Err(OptionError::NotFound {
            kind: "program (function or section)",
            name: name.clone(),
            list: program_list(object),
        }),
    }
}

/// The program to attach: the one `entry` names, else `prog_fd[0]` unless
/// the object itself puts it in a jump table (`plan`'s implied entries):
/// a tail-call target attached by itself runs without what its caller
/// prepares (the tutorial's tails read the metadata its entry writes).
pub fn resolve_entry(
    object: &Object,
    entry: Option<&ProgRef>,
    plan: &[JumpEntry],
) -> Result<(usize, EntryChoice), OptionError> {
    if let Some(entry) = entry {
        return Ok((resolve_program(object, entry)?, EntryChoice::Named));
    }
    let first = resolve_program(object, &Ref::Index(0))?;
    let Some(tail) = plan
        .iter()
        .find(|e| e.program == first && e.origin != JumpOrigin::Explicit)
    else {
        return Ok((first, EntryChoice::First));
    };
    let targets: Vec<usize> = plan
        .iter()
        .filter(|e| e.origin != JumpOrigin::Explicit)
        .map(|e| e.program)
        .collect();
    let others: Vec<String> = object
        .programs
        .iter()
        .enumerate()
        .filter(|(i, _)| !targets.contains(i))
        .map(|(i, p)| format!("prog_fd[{i}] {} (section {})", p.name(), p.section))
        .collect();
    let others = if others.is_empty() {
        "every program of the object is a tail-call target: --entry 0 attaches this one \
         anyway"
            .to_string()
    } else {
        format!("programs no jump table holds: {}", others.join(", "))
    };
    let program = &object.programs[first];
    Err(OptionError::TailEntry {
        program: program.name().to_string(),
        section: program.section.clone(),
        map: object.maps[tail.map].name.clone(),
        key: tail.key,
        others,
    })
}

/// The jump entries to make: those the object implies, then the explicit
/// ones. An explicit entry replaces an implied one for the same map and
/// key. Every entry is checked here, before any syscall: the map must be a
/// prog array and the key below its `max_entries`.
pub fn jump_plan(object: &Object, requests: &[JumpRequest]) -> Result<Vec<JumpEntry>, OptionError> {
    let mut explicit: Vec<JumpEntry> = Vec::with_capacity(requests.len());
    for request in requests {
        let map = resolve_map(object, &request.map)?;
        let program = resolve_program(object, &request.prog)?;
        if let Some(earlier) = explicit
            .iter()
            .find(|e| e.map == map && e.key == request.key)
        {
            return Err(OptionError::DuplicateJump {
                map: request.map.to_string(),
                key: request.key,
                first: earlier.program,
                second: program,
            });
        }
        explicit.push(JumpEntry {
            map,
            key: request.key,
            program,
            origin: JumpOrigin::Explicit,
        });
    }
    let mut plan: Vec<JumpEntry> = object
        .jump_entries
        .iter()
        .filter(|auto| {
            !explicit
                .iter()
                .any(|e| e.map == auto.map && e.key == auto.key)
        })
        .copied()
        .collect();
    plan.extend(explicit);
    for entry in &plan {
        check_jump(object, entry)?;
    }
    Ok(plan)
}

fn check_jump(object: &Object, entry: &JumpEntry) -> Result<(), OptionError> {
    let bad = |problem: String| OptionError::BadJump {
        map: object
            .maps
            .get(entry.map)
            .map_or_else(|| entry.map.to_string(), |m| m.name.clone()),
        key: entry.key,
        problem,
    };
    let map = object
        .maps
        .get(entry.map)
        .ok_or_else(|| bad(format!("the object has no map_fd[{}]", entry.map)))?;
    if object.programs.get(entry.program).is_none() {
        return Err(bad(format!("the object has no prog_fd[{}]", entry.program)));
    }
    if map.def.map_type != MapType::PROG_ARRAY {
        return Err(bad(format!(
            "map_fd[{}] {} is a {} map, not a prog_array; name a prog_array map",
            entry.map, map.name, map.def.map_type
        )));
    }
    if entry.key >= map.def.max_entries {
        return Err(bad(format!(
            "key {} is out of range: {} has max_entries {}",
            entry.key, map.name, map.def.max_entries
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rxdp_elf::{Function, Map, MapDef, Program};

    pub(crate) fn map(name: &str, map_type: MapType, max_entries: u32) -> Map {
        Map::new(name, MapDef::new(map_type, 4, 4, max_entries))
    }

    pub(crate) fn program(name: &str, section: &str) -> Program {
        let function = Function::new(name, section, Vec::new());
        Program::new(section, Some(ProgramType::XDP), function)
    }

    /// Like xdp_prog_kern.o plus a program whose function is named like
    /// another program's section.
    fn tutorial() -> Object {
        let mut object = Object::new(
            vec![
                map("jmp_table", MapType::PROG_ARRAY, 8),
                map("stats", MapType::ARRAY, 5),
            ],
            vec![
                program("xdp_entry_prog", "xdp_entry"),
                program("xdp_prog0", "prog/0"),
                program("first", "xdp"),
                program("second", "xdp"),
                program("xdp", "other"),
            ],
        );
        object.jump_entries = vec![JumpEntry {
            map: 0,
            key: 0,
            program: 1,
            origin: JumpOrigin::ProgN,
        }];
        object
    }

    #[test]
    fn refs_parse_digits_as_indexes() {
        assert_eq!(Ref::parse("0"), Ref::Index(0));
        assert_eq!(Ref::parse("78"), Ref::Index(78));
        assert_eq!(Ref::parse("jmp_table1"), Ref::Name("jmp_table1".into()));
        assert_eq!(Ref::parse("+1"), Ref::Name("+1".into()));
        assert_eq!(Ref::parse("prog/0"), Ref::Name("prog/0".into()));
    }

    #[test]
    fn maps_by_index_and_name() {
        let object = tutorial();
        assert_eq!(resolve_map(&object, &Ref::Index(1)), Ok(1));
        assert_eq!(resolve_map(&object, &Ref::parse("stats")), Ok(1));
        let error = resolve_map(&object, &Ref::Index(2)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "there is no map_fd[2]: the object has 2 (0 jmp_table, 1 stats)"
        );
        let error = resolve_map(&object, &Ref::parse("nope")).unwrap_err();
        assert!(
            error.to_string().contains("0 jmp_table, 1 stats"),
            "{error}"
        );
    }

    #[test]
    fn programs_by_index_function_and_section() {
        let object = tutorial();
        assert_eq!(resolve_program(&object, &Ref::Index(1)), Ok(1));
        assert_eq!(resolve_program(&object, &Ref::parse("xdp_prog0")), Ok(1));
        assert_eq!(resolve_program(&object, &Ref::parse("prog/0")), Ok(1));
        assert_eq!(resolve_program(&object, &Ref::parse("xdp_entry")), Ok(0));
        assert_eq!(
            resolve_program(&object, &Ref::parse("xdp_entry_prog")),
            Ok(0)
        );
        // A section name means its first program.
        assert_eq!(resolve_program(&object, &Ref::parse("second")), Ok(3));
        assert!(matches!(
            resolve_program(&object, &Ref::Index(5)),
            Err(OptionError::IndexOutOfRange { count: 5, .. })
        ));
        let error = resolve_program(&object, &Ref::parse("missing")).unwrap_err();
        assert!(
            error.to_string().contains("1 xdp_prog0 (section prog/0)"),
            "{error}"
        );
    }

    #[test]
    fn a_name_meaning_two_programs_is_ambiguous() {
        let object = tutorial();
        // Function `xdp` is prog_fd[4]; section `xdp` starts with prog_fd[2].
        let error = resolve_program(&object, &Ref::parse("xdp")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"xdp\" names more than one program: prog_fd[4] (function xdp) and prog_fd[2] \
             (first, first in section xdp); use an index"
        );
    }

    #[test]
    fn a_tail_call_target_is_not_the_entry_unless_named() {
        let mut object = tutorial();
        let plan = jump_plan(&object, &[]).unwrap();
        assert_eq!(
            resolve_entry(&object, None, &plan),
            Ok((0, EntryChoice::First))
        );
        // prog/0 first: the object puts prog_fd[0] at key 0 of jmp_table.
        object.programs.swap(0, 1);
        object.jump_entries[0].program = 0;
        let plan = jump_plan(&object, &[]).unwrap();
        let error = resolve_entry(&object, None, &plan).unwrap_err();
        assert_eq!(
            error.to_string(),
            "prog_fd[0] xdp_prog0 (section prog/0) is a tail-call target: the object puts it at \
             key 0 of jmp_table, and attached by itself it would run without what its caller \
             prepares; name the program to attach with --entry (programs no jump table holds: \
             prog_fd[1] xdp_entry_prog (section xdp_entry), prog_fd[2] first (section xdp), \
             prog_fd[3] second (section xdp), prog_fd[4] xdp (section other))"
        );
        // Named, it is attached: the user said so.
        assert_eq!(
            resolve_entry(&object, Some(&Ref::Index(0)), &plan),
            Ok((0, EntryChoice::Named))
        );
        // An entry the user adds (--map/--key/--prog) does not count.
        let mut explicit = plan.clone();
        explicit[0].origin = JumpOrigin::Explicit;
        assert_eq!(
            resolve_entry(&object, None, &explicit),
            Ok((0, EntryChoice::First))
        );
    }

    #[test]
    fn explicit_jump_entries_win_over_implied_ones() {
        let object = tutorial();
        // No request: the implied prog/0 entry.
        let plan = jump_plan(&object, &[]).unwrap();
        assert_eq!(plan, object.jump_entries);
        // Same map and key: the explicit one replaces it.
        let request = JumpRequest {
            map: Ref::parse("jmp_table"),
            key: 0,
            prog: Ref::parse("first"),
        };
        let plan = jump_plan(&object, &[request]).unwrap();
        assert_eq!(
            plan,
            [JumpEntry {
                map: 0,
                key: 0,
                program: 2,
                origin: JumpOrigin::Explicit
            }]
        );
        // Another key: both, implied first.
        let request = JumpRequest {
            map: Ref::Index(0),
            key: 7,
            prog: Ref::Index(3),
        };
        let plan = jump_plan(&object, &[request]).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].origin, JumpOrigin::ProgN);
        assert_eq!((plan[1].key, plan[1].program), (7, 3));
    }

    #[test]
    fn jump_entries_are_checked_before_any_syscall() {
        let object = tutorial();
        let jump = |map: &str, key: u32| JumpRequest {
            map: Ref::parse(map),
            key,
            prog: Ref::Index(1),
        };
        let error = jump_plan(&object, &[jump("stats", 0)]).unwrap_err();
        assert!(error.to_string().contains("not a prog_array"), "{error}");
        let error = jump_plan(&object, &[jump("jmp_table", 8)]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--map jmp_table --key 8: key 8 is out of range: jmp_table has max_entries 8"
        );
        let error = jump_plan(&object, &[jump("0", 3), jump("jmp_table", 3)]).unwrap_err();
        assert!(matches!(error, OptionError::DuplicateJump { key: 3, .. }));
    }

    #[test]
    fn modes() {
        for mode in [Mode::Auto, Mode::Skb, Mode::Drv, Mode::Hw] {
            assert_eq!(Mode::parse(mode.name()), Some(mode));
        }
        assert_eq!(Mode::Auto.flags(), XdpFlags::empty());
        assert_eq!(Mode::Drv.flags(), XdpFlags::DRV_MODE);
        assert_eq!(Mode::parse("native"), Some(Mode::Drv));
        assert_eq!(Mode::parse("fast"), None);
    }
}
