//! The load, stage by stage: what `load_bpf_file()` did, plus jump tables,
//! pins and the attach — and the undoing of all of it when a stage fails.
//!
//! ```text
//! open → resolve options → load BTF → create maps → relocate → load programs
//!      → fill jump tables → register struct_ops → pin (staging) → attach
//!      → publish pins
//! ```
//!
//! Resolving the options also decides what each program is
//! (`program_types`): which `SEC("?...")` programs load, each program's
//! type (a section no table knows is refused, never guessed), and that
//! every program that needs an attach target has one. The kernel's BTF is
//! read once, before the maps, when something needs it: kfuncs, CO-RE,
//! attach targets, struct_ops layouts.
//!
//! The BTF is loaded before the maps (the issue lists it after): maps are
//! created with their BTF key/value type ids, and those need the BTF's fd.
//! libbpf orders it the same way.
//!
//! Every stage records in a `Rollback` what it changed outside the
//! process (pins, directories, the attach). If a later stage fails, the
//! record is undone newest first and the file descriptors close as their
//! owners drop: nothing stays attached, pinned or open. On success the
//! record is dropped and [`Loaded`] owns the fds.
//!
//! Between stages the load checks whether SIGINT or SIGTERM asked it to
//! stop ([`crate::interrupt`]; the handlers are the caller's choice) and,
//! if so, rolls back as on an error ([`LoadError::Interrupted`]).
//!
//! From the pin stage to the publication of the pins the load holds the
//! device's lock ([`rxdp_syscalls::fs::lock`], `/run/rxdp/device-IF`, with
//! a timeout): two loads on one device attach in some order and must
//! publish their pins in the same one, and `rxdp unload` takes the same
//! lock. Under it, staging directories that dead loaders left are
//! resolved first (`pin::recover`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rxdp_elf::core::CoreTarget;
use rxdp_elf::ksyms::{needs_kernel_btf, KernelSymbols, KernelType, KsymValue};
use rxdp_elf::relocate::{relocate_against, Patch};
use rxdp_elf::xdp_hints::is_xdp_metadata;
use rxdp_elf::{JumpEntry, JumpOrigin, MapType, Object, Pinning, ProgramType};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::fs::lock::{self, Lock, LockError};
use rxdp_syscalls::netlink;
use rxdp_syscalls::seam;
use rxdp_syscalls::signal;

use crate::attach::attach;
use crate::create_maps::create_maps;
use crate::error::LoadError;
use crate::externs;
use crate::fill_jump_tables::fill_jump_tables;
use crate::kernel_btf::{Kernel, KernelBtfError};
use crate::legacy;
use crate::load_btf::load_btf;
use crate::load_programs::{load_programs, With};
use crate::map_defaults;
use crate::observe::{Event, Observer, Stage};
use crate::options::{
    jump_plan, register_plan, resolve_entry, select_programs, EntryChoice, LoadOptions, Mode,
    PinPolicy,
};
use crate::pin::{self, Intent, PinTarget};
use crate::program_types::{self, Kind, TargetProgram};
use crate::register_struct_ops::{register_struct_ops, Updated};
use crate::rollback::Rollback;
use crate::xdp_link::LINK_PIN;
use rxdp_elf::struct_ops::{kernel_layout, KernelLayout};

/// A map of the loaded object: `map_fd[i]`.
#[derive(Debug)]
pub struct LoadedMap {
    /// The object's name for it (`jmp_table1`, `.rodata`).
    pub name: String,
    /// Its type.
    pub map_type: MapType,
    /// `map_fd[i]`.
    pub fd: OwnedFd,
    /// The kernel's id (`bpftool map show id N`).
    pub id: u32,
    /// Where it is pinned, if it is.
    pub pin: Option<PathBuf>,
    /// An existing pinned map, used instead of creating one.
    pub reused: bool,
    /// Shared through a pin of its own (iproute2 pinning, pin by name).
    pub shared: bool,
    /// A shared map whose pin lies in the load's own directory.
    pub(crate) in_load_dir: bool,
}

/// A program of the loaded object: `prog_fd[i]`.
#[derive(Debug)]
pub struct LoadedProgram {
    /// The function name (`xdp_prog0`).
    pub name: String,
    /// The ELF section (`xdp0`, `prog/0`).
    pub section: String,
    /// Its type.
    pub prog_type: ProgramType,
    /// The `expected_attach_type` it was loaded with (`enum bpf_attach_type`;
    /// for struct_ops programs, the member's index).
    pub expected_attach_type: u32,
    /// The BTF type it was loaded for (`attach_btf_id`), 0 without.
    pub attach_btf_id: u32,
    /// What it attaches to, for people (`FUNC bpf_iter_task`,
    /// `tcp_congestion_ops.init`), `None` without a target.
    pub attach_target: Option<String>,
    /// `prog_fd[i]`.
    pub fd: OwnedFd,
    /// The kernel's id (`bpftool prog show id N`).
    pub id: u32,
    /// The kernel's tag, in hex.
    pub tag: String,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// The verifier log, when one was asked for (`-v`).
    pub log: String,
    /// The device it is bound to for its XDP hints kfuncs
    /// (`BPF_F_XDP_DEV_BOUND_ONLY`).
    pub dev_bound: Option<u32>,
    /// The XDP hints kfuncs whose calls answer `-EOPNOTSUPP`
    /// (`LoadOptions::hints_stub`).
    pub stubbed_kfuncs: Vec<String>,
}

/// A jump-table entry the load made: `prog_fd[program]` at `key` of `map_fd[map]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MadeJumpEntry {
    /// The prog array's index in `map_fd[]`.
    pub map: usize,
    /// The key.
    pub key: u32,
    /// The program's index in `prog_fd[]`.
    pub program: usize,
    /// Why the entry was made.
    pub origin: JumpOrigin,
}

/// Where the entry program went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The device.
    pub ifname: String,
    /// Its index.
    pub ifindex: u32,
    /// The mode the program runs in (never `Auto`, unless the kernel did
    /// not report it).
    pub mode: Mode,
    /// The id of the program `--force` replaced.
    pub replaced: Option<u32>,
    /// The index of the attached program in `prog_fd[]`.
    pub program: usize,
    /// Why that program: named, or `prog_fd[0]` by default.
    pub choice: EntryChoice,
    /// The id of the BPF link holding it (`--link`), `None` for netlink.
    pub link: Option<u32>,
}

/// How long a stage took, and how much of it was spent in syscalls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTiming {
    /// The stage.
    pub stage: Stage,
    /// Its wall time.
    pub wall: Duration,
    /// The part of it spent in syscalls.
    pub kernel: Duration,
}

/// A loaded object: what `load_bpf_file()` left in its globals, owned.
/// Dropping it closes the fds; what is attached and pinned stays.
#[derive(Debug)]
pub struct Loaded {
    /// The object file.
    pub file: PathBuf,
    /// `map_fd[]`.
    pub maps: Vec<LoadedMap>,
    /// `prog_fd[]`.
    pub programs: Vec<LoadedProgram>,
    /// The jump-table entries made, implied and explicit.
    pub jump_entries: Vec<MadeJumpEntry>,
    /// Where the entry program was attached, if it was.
    pub attach: Option<Attached>,
    /// The directory the load's maps are pinned in.
    pub pin_dir: Option<PathBuf>,
    /// How long each stage took.
    pub timings: Vec<StageTiming>,
    /// Things the user should know that did not stop the load.
    pub warnings: Vec<String>,
    /// Staging directories of loaders that died, found and resolved by
    /// this load.
    pub recovered: Vec<pin::Recovered>,
    /// The BPF link of a `--link` attach: the program stays attached while
    /// this fd or its pin (`LINK_PIN` beside the maps) lives.
    pub link: Option<OwnedFd>,
    /// The `.struct_ops` maps registered (`--register`), by `map_fd[]`
    /// index: the kernel keeps them registered until key 0 is deleted.
    pub registered: Vec<usize>,
    /// The `.struct_ops.link` maps `--register` made ready: a
    /// `BPF_LINK_CREATE` of one registers it for the link's lifetime.
    pub ready_for_link: Vec<usize>,
    /// Kept so that the object's BTF id stays valid while `Loaded` lives.
    btf: Option<OwnedFd>,
}

impl Loaded {
    /// `map_fd[index]`.
    pub fn map_fd(&self, index: usize) -> Option<BorrowedFd<'_>> {
        self.maps.get(index).map(|m| m.fd.as_fd())
    }

    /// `prog_fd[index]`.
    pub fn prog_fd(&self, index: usize) -> Option<BorrowedFd<'_>> {
        self.programs.get(index).map(|p| p.fd.as_fd())
    }

    /// The map named `name`.
    pub fn map(&self, name: &str) -> Option<&LoadedMap> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The program whose function is `name`, else the first of section `name`.
    pub fn program(&self, name: &str) -> Option<&LoadedProgram> {
        self.programs
            .iter()
            .find(|p| p.name == name)
            .or_else(|| self.programs.iter().find(|p| p.section == name))
    }

    /// The object's BTF in the kernel, if it had one.
    pub fn btf_fd(&self) -> Option<BorrowedFd<'_>> {
        self.btf.as_ref().map(AsFd::as_fd)
    }

    /// Sum of the stage timings: wall time and time in syscalls.
    pub fn total_time(&self) -> (Duration, Duration) {
        self.timings
            .iter()
            .fold((Duration::ZERO, Duration::ZERO), |(wall, kernel), t| {
                (wall + t.wall, kernel + t.kernel)
            })
    }
}

/// What the stages share: the object and what the options resolved to.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    /// The file as the user named it, for messages.
    pub file: &'a str,
    pub object: &'a Object,
    pub options: &'a LoadOptions,
    /// The ifindex every map and program is bound to in hw mode, else 0.
    pub offload: u32,
    /// The device the load attaches to (or `hints_dev`): programs calling
    /// XDP hints kfuncs are bound to it.
    pub hints_ifindex: Option<u32>,
    /// Where bpffs is mounted.
    pub bpffs_root: PathBuf,
    /// Hex SHA-1 of the file, for iproute2 `PIN_OBJECT_NS` (empty when no
    /// map uses it).
    pub object_sha1: String,
    pub pin_target: Option<PinTarget>,
}

impl Context<'_> {
    /// The device named by the options, for messages.
    pub fn device_name(&self) -> &str {
        self.options
            .attach
            .as_ref()
            .map_or("the device", |a| a.dev.as_str())
    }
}

/// Stage timings: each lap ends a stage.
struct Clock {
    wall: Instant,
    kernel: Duration,
    /// See [`Clock::kernel_elsewhere`].
    elsewhere: Duration,
    timings: Vec<StageTiming>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            kernel: seam::kernel_time(),
            elsewhere: Duration::ZERO,
            timings: Vec::new(),
        }
    }

    /// Time the stage under way spent in the kernel on other threads.
    fn kernel_elsewhere(&mut self, time: Duration) {
        self.elsewhere += time;
    }

    fn lap(&mut self, stage: Stage, observer: &mut dyn Observer) {
        let (now, kernel) = (Instant::now(), seam::kernel_time());
        let wall = now - self.wall;
        let timing = StageTiming {
            stage,
            wall,
            kernel: (kernel.saturating_sub(self.kernel) + std::mem::take(&mut self.elsewhere))
                .min(wall),
        };
        self.wall = now;
        self.kernel = kernel;
        observer.event(&Event::StageFinished {
            stage,
            wall: timing.wall,
            kernel: timing.kernel,
        });
        self.timings.push(timing);
    }
}

/// What the stages have made so far, owned here so that a failure closes it.
#[derive(Default)]
struct Made {
    btf: Option<OwnedFd>,
    maps: Vec<LoadedMap>,
    programs: Vec<LoadedProgram>,
    /// `prog_fd[]` index of the program being attached.
    entry: Option<usize>,
    /// The device's (and `--pin-dir`'s) locks, held from the pin stage
    /// until the pins are published — or, on failure, until the rollback
    /// is done.
    locks: Vec<Lock>,
}

/// What a device and the options resolved to before anything is made.
struct Resolved {
    /// The object as this load sees it (`?` programs not asked for left out).
    object: Object,
    /// Each program's type and expected attach type, in `prog_fd[]` order.
    kinds: Vec<Kind>,
    /// The program `freplace` programs replace a function of.
    target: Option<TargetProgram>,
    /// The struct_ops maps to register.
    register: Vec<usize>,
    entry: Option<(usize, EntryChoice)>,
    ifindex: Option<u32>,
    hints_ifindex: Option<u32>,
    plan: Vec<JumpEntry>,
}

/// Fails with [`LoadError::Interrupted`] when a signal asked the load to
/// stop, naming the stage that just ended.
fn checkpoint(file: &str, stage: Stage) -> Result<(), LoadError> {
    match signal::interrupted() {
        Some(signal) => Err(LoadError::Interrupted {
            file: file.to_string(),
            stage,
            signal,
        }),
        None => Ok(()),
    }
}

/// Loads `options.path` as the options say: the whole pipeline. On error
/// everything the load made has been undone (or the error lists what could
/// not be: [`LoadError::Rollback`]).
///
/// This is the staged API in one call: [`Object::open`](crate::Object::open)
/// of `options.path`, then [`Object::load_with`](crate::Object::load_with).
pub fn load(options: &LoadOptions, observer: &mut dyn Observer) -> Result<Loaded, LoadError> {
    let object = crate::object::Object::open_with(&options.path, options.max_object_size)?;
    object
        .load_with(options, observer)
        .map(crate::LoadedObject::into_loaded)
}

/// An object read and parsed: what the stages after the open start from.
pub(crate) struct Opened<'a> {
    /// The file as messages name it.
    pub file: &'a str,
    /// The path [`Loaded::file`] reports.
    pub path: &'a Path,
    /// The SHA-1 of the file when a map is pinned by iproute2's
    /// `PIN_OBJECT_NS` (its directory is named after it), else empty: the
    /// only use of the file's bytes after the parse.
    pub object_sha1: String,
    pub object: Object,
    /// How long reading and parsing took.
    pub open: StageTiming,
}

/// The stages after the open (see [`load`]).
pub(crate) fn load_opened(
    opened: Opened<'_>,
    options: &LoadOptions,
    observer: &mut dyn Observer,
) -> Result<(Loaded, Object), LoadError> {
    let Opened {
        file,
        path,
        object_sha1,
        object: parsed,
        open,
    } = opened;
    let file = file.to_string();
    let mut clock = Clock::start();
    observer.event(&Event::StageFinished {
        stage: Stage::Open,
        wall: open.wall,
        kernel: open.kernel,
    });
    clock.timings.push(open);
    checkpoint(&file, Stage::Open)?;
    if options.raise_memlock {
        rxdp_syscalls::bpf::allow_memlock_raise(true);
    }

    let mut resolved = resolve(&file, parsed, options)?;
    let mut warnings = for_this_machine(&file, &mut resolved.object, observer)?;
    let object = &resolved.object;
    let mut ctx = context(&file, object, options, object_sha1, resolved.ifindex)?;
    ctx.hints_ifindex = resolved.hints_ifindex;
    if options.pins == PinPolicy::Never && options.attach.as_ref().is_some_and(|a| a.link) {
        warnings.push(
            "--no-pin with --link: the link is not pinned, and the program is detached when \
             its last fd closes (when rxdp-load exits); drop --no-pin to keep it attached"
                .to_string(),
        );
    }
    if options.pins == PinPolicy::Never && options.attach.is_some() {
        for map in object
            .maps
            .iter()
            .filter(|m| m.def.map_type == MapType::PROG_ARRAY)
        {
            warnings.push(format!(
                "--no-pin: the kernel empties prog array {} when rxdp exits (its last reference \
                 goes), and tail calls through it will fall through; drop --no-pin to keep it",
                map.name
            ));
        }
    }
    clock.lap(Stage::Resolve, observer);
    checkpoint(&file, Stage::Resolve)?;

    let mut made = Made {
        entry: resolved.entry.map(|(entry, _)| entry),
        ..Made::default()
    };
    let mut rollback = Rollback::default();
    match run(
        &ctx,
        &resolved,
        &mut made,
        &mut rollback,
        &mut clock,
        observer,
    ) {
        Ok(Finished {
            attach,
            pin_dir,
            warnings: more,
            recovered,
            link,
            updated,
        }) => {
            warnings.extend(more);
            let loaded = Loaded {
                file: path.to_path_buf(),
                jump_entries: resolved
                    .plan
                    .iter()
                    .map(|e| MadeJumpEntry {
                        map: e.map,
                        key: e.key,
                        program: e.program,
                        origin: e.origin,
                    })
                    .collect(),
                maps: made.maps,
                programs: made.programs,
                attach,
                pin_dir,
                timings: clock.timings,
                warnings,
                recovered,
                link,
                registered: updated.registered,
                ready_for_link: updated.ready,
                btf: made.btf,
            };
            drop(ctx);
            Ok((loaded, resolved.object))
        }
        Err(error) => {
            // A syscall a signal cut short fails with its own errno
            // (BPF_PROG_LOAD: EAGAIN): the signal is the reason.
            let error = match (signal::interrupted(), &error) {
                (_, LoadError::Interrupted { .. }) => error,
                (Some(signal), _) => LoadError::Interrupted {
                    file: file.clone(),
                    stage: error.stage(),
                    signal,
                },
                (None, _) => error,
            };
            // The fds the undo does not need close first: a load that ran
            // out of fds must still have one for the netlink socket that
            // detaches its program.
            let Made {
                btf,
                maps,
                mut programs,
                entry,
                locks,
            } = made;
            drop((btf, maps));
            let ours = entry
                .filter(|&entry| entry < programs.len())
                .map(|entry| programs.swap_remove(entry));
            drop(programs);
            let left = rollback.undo(ours.as_ref().map(|p| p.fd.as_fd()), observer);
            // The lock goes last: the next load finds the device as it was.
            drop((ours, locks));
            if left.is_empty() {
                Err(error)
            } else {
                Err(LoadError::Rollback {
                    error: Box::new(error),
                    left,
                })
            }
        }
    }
}

/// What the object leaves to the machine it loads on: map sizes
/// ([`map_defaults`]) and the `.kconfig` values ([`externs::fill_kconfig`]).
/// Returns warnings.
fn for_this_machine(
    file: &str,
    object: &mut Object,
    observer: &mut dyn Observer,
) -> Result<Vec<String>, LoadError> {
    let adjusted = map_defaults::apply(object).map_err(|error| LoadError::Map {
        file: file.to_string(),
        index: 0,
        map: "(perf event arrays)".to_string(),
        what: "size them for the possible CPUs".to_string(),
        error,
    })?;
    for (name, from, to) in &adjusted {
        observer.event(&Event::MapResized {
            name,
            from: *from,
            to: *to,
        });
    }
    let extern_error = |error| LoadError::Extern {
        file: file.to_string(),
        stage: Stage::Resolve,
        error,
    };
    let filled = externs::fill_kconfig(object).map_err(extern_error)?;
    if let Some(map) = object.kconfig_map().and_then(|i| object.maps.get(i)) {
        observer.event(&Event::KconfigFilled {
            bytes: map.data.as_ref().map_or(0, Vec::len),
            config: filled.config.as_deref(),
        });
    }
    Ok(filled.warnings)
}

/// Resolves which programs load and what each is, the entry program, the
/// jump plan, the struct_ops to register, the device and the `freplace`
/// target, before anything is made: a mistake costs no syscall but those
/// two lookups.
fn resolve(file: &str, parsed: Object, options: &LoadOptions) -> Result<Resolved, LoadError> {
    let option_error = |error| LoadError::Option {
        file: file.to_string(),
        error,
    };
    let mut object = select_programs(parsed, &options.autoload).map_err(option_error)?;
    if !options.section_keys {
        object
            .jump_entries
            .retain(|e| e.origin != JumpOrigin::SectionNumber);
    }
    let kinds = program_types::kinds(file, &object, options)?;
    program_types::check_targets(file, &object, options)?;
    let register = register_plan(&object, &options.register).map_err(option_error)?;
    let plan = jump_plan(&object, &options.jumps).map_err(option_error)?;
    let (entry, ifindex) = match &options.attach {
        Some(attach) => {
            let entry =
                resolve_entry(&object, attach.entry.as_ref(), &plan).map_err(option_error)?;
            let ifindex = netlink::ifindex(&attach.dev).map_err(|error| LoadError::Device {
                file: file.to_string(),
                dev: attach.dev.clone(),
                error,
            })?;
            (Some(entry), Some(ifindex))
        }
        None => (None, None),
    };
    let hints_ifindex = match (&options.hints_dev, ifindex) {
        (Some(dev), None) => Some(netlink::ifindex(dev).map_err(|error| LoadError::Device {
            file: file.to_string(),
            dev: dev.clone(),
            error,
        })?),
        _ => ifindex,
    };
    let target = program_types::open_target_program(file, &object, options)?;
    Ok(Resolved {
        object,
        kinds,
        target,
        register,
        entry,
        ifindex,
        hints_ifindex,
        plan,
    })
}

fn context<'a>(
    file: &'a str,
    object: &'a Object,
    options: &'a LoadOptions,
    object_sha1: String,
    ifindex: Option<u32>,
) -> Result<Context<'a>, LoadError> {
    // With --no-pin nothing is pinned, shared maps included: bpffs is not
    // mounted for them (an existing pin is still reused, if there is one).
    let shares =
        object.maps.iter().any(|m| m.pinning != Pinning::None) && options.pins != PinPolicy::Never;
    let pins = !matches!(
        (&options.pins, &options.attach),
        (PinPolicy::Never, _) | (PinPolicy::Default, None)
    );
    // bpffs is looked up (and mounted if missing, when the options allow
    // it) only when something is pinned.
    let bpffs_root = if shares || pins {
        let found = if options.mount_bpffs {
            bpffs::ensure_mounted().map(Some)
        } else {
            bpffs::find_mount()
        };
        let not_mounted = || {
            rxdp_syscalls::Error::new("statfs", libc::ENOENT).with_subject(
                "no bpffs is mounted, and LoadOptions::mount_bpffs is off: mount one \
                 (mount -t bpf bpf /sys/fs/bpf) or turn the option on",
            )
        };
        found
            .and_then(|root| root.ok_or_else(not_mounted))
            .map_err(|error| LoadError::Pin {
                file: file.to_string(),
                stage: Stage::Resolve,
                path: PathBuf::from(bpffs::DEFAULT_MOUNT),
                error,
            })?
    } else {
        PathBuf::from(bpffs::DEFAULT_MOUNT)
    };
    let pin_target = match (&options.pins, &options.attach) {
        (PinPolicy::Dir(dir), _) => Some(PinTarget::Dir(dir.clone())),
        (PinPolicy::Default, Some(attach)) => Some(PinTarget::Device {
            bpffs: bpffs_root.clone(),
            ifname: attach.dev.clone(),
        }),
        _ => None,
    };
    // What exists of the target must be rxdp's (or an empty --pin-dir)
    // and reachable without a symlink: refused before anything is made.
    if let Some(target) = &pin_target {
        pin::check_target(target, ifindex).map_err(|error| LoadError::Pins {
            file: file.to_string(),
            stage: Stage::Resolve,
            error,
        })?;
    }
    let offload = match (&options.attach, ifindex) {
        (Some(attach), Some(ifindex)) if attach.mode == Mode::Hw => ifindex,
        _ => 0,
    };
    Ok(Context {
        file,
        object,
        options,
        offload,
        hints_ifindex: None,
        bpffs_root,
        object_sha1,
        pin_target,
    })
}

/// Whether a function of the object has CO-RE relocations.
fn has_core_relocs(object: &Object) -> bool {
    object
        .programs
        .iter()
        .map(|p| &p.function)
        .chain(&object.subprograms)
        .any(|f| !f.core_relocs.is_empty())
}

/// What the stages after resolution end with, besides `Made`.
struct Finished {
    attach: Option<Attached>,
    pin_dir: Option<PathBuf>,
    /// The object's BTF rewritten or left out; the old pins not removed.
    warnings: Vec<String>,
    recovered: Vec<pin::Recovered>,
    link: Option<OwnedFd>,
    /// The struct_ops maps updated.
    updated: Updated,
}

/// Takes the locks of the device (`dev`) and of the `--pin-dir`, in that
/// order, each within the options' timeout.
fn take_locks(
    ctx: &Context<'_>,
    dev: Option<&str>,
    observer: &mut dyn Observer,
) -> Result<Vec<Lock>, LoadError> {
    let mut keys: Vec<(String, String)> = Vec::new();
    if let Some(dev) = dev {
        keys.push((pin::device_lock(dev), format!("device {dev}")));
    }
    if let Some(PinTarget::Dir(dir)) = &ctx.pin_target {
        keys.push((
            pin::pin_dir_lock(dir),
            format!("--pin-dir {}", dir.display()),
        ));
    }
    let mut locks = Vec::with_capacity(keys.len());
    for (key, what) in keys {
        let start = Instant::now();
        let lock = lock::lock(&key, ctx.options.lock_timeout).map_err(|error| match error {
            LockError::Interrupted { signal, .. } => LoadError::Interrupted {
                file: ctx.file.to_string(),
                stage: Stage::Pin,
                signal,
            },
            error => LoadError::Lock {
                file: ctx.file.to_string(),
                stage: Stage::Pin,
                what,
                error,
            },
        })?;
        observer.event(&Event::Locked {
            path: lock.path(),
            waited: start.elapsed(),
        });
        locks.push(lock);
    }
    Ok(locks)
}

/// The stages after resolution.
fn run(
    ctx: &Context<'_>,
    resolved: &Resolved,
    made: &mut Made,
    rollback: &mut Rollback,
    clock: &mut Clock,
    observer: &mut dyn Observer,
) -> Result<Finished, LoadError> {
    let file = ctx.file;
    let object_btf = load_btf(file, ctx.object, observer)?;
    made.btf = object_btf.fd;
    let mut warnings: Vec<String> = object_btf.warning.into_iter().collect();
    clock.lap(Stage::LoadBtf, observer);
    checkpoint(file, Stage::LoadBtf)?;

    let btf = made.btf.as_ref().map(AsFd::as_fd);
    // The kernel's BTF, only for objects with kfuncs, typed __ksym
    // variables, CO-RE relocations, kernel attach targets or struct_ops.
    let kernel_error = |error| LoadError::KernelBtf {
        file: file.to_string(),
        error,
    };
    let mut kernel =
        if needs_kernel_btf(ctx.object) || program_types::needs_kernel_types(ctx.object) {
            Some(Kernel::read(observer).map_err(kernel_error)?)
        } else {
            None
        };
    let layouts = struct_ops_layouts(ctx, kernel.as_ref().map(|k| &*k.btf.vmlinux), observer)?;
    made.maps = create_maps(ctx, btf, &layouts, rollback, observer)?;
    clock.lap(Stage::CreateMaps, observer);
    checkpoint(file, Stage::CreateMaps)?;

    let vmlinux = kernel.as_ref().map(Kernel::vmlinux);
    let mut core_target = match &vmlinux {
        Some(vmlinux) if has_core_relocs(ctx.object) => Some(CoreTarget::new(vmlinux)),
        _ => None,
    };
    if let Some(kernel) = &mut kernel {
        let lacking = kernel.btf.vmlinux_lacks_ksyms(ctx.object)
            || core_target
                .as_ref()
                .is_some_and(|core| core.vmlinux_lacks_candidates(ctx.object));
        if lacking {
            kernel.read_modules(observer).map_err(kernel_error)?;
        }
    }
    // Attach targets: vmlinux's, else a module's (its BTF read then).
    let attaches = program_types::plan(
        file,
        ctx.object,
        &resolved.kinds,
        kernel.as_mut(),
        &layouts,
        observer,
    )?;
    if let (Some(core), Some(kernel)) = (&mut core_target, &kernel) {
        for module in &kernel.btf.modules {
            core.add_module(&module.btf);
        }
    }
    let addresses = externs::ksym_addresses(ctx.object).map_err(|error| LoadError::Extern {
        file: file.to_string(),
        stage: Stage::Relocate,
        error,
    })?;
    let mut symbols =
        KernelSymbols::resolve(ctx.object, kernel.as_ref().map(|k| &k.btf), &addresses).map_err(
            |error| {
                kernel_error(KernelBtfError::Ksym {
                    error,
                    looked: kernel.as_ref().map(Kernel::looked).unwrap_or_default(),
                })
            },
        )?;
    // The BTF fds of the modules whose kfuncs and variables the programs
    // use: open until the programs are loaded.
    let mut module_fds: Vec<Option<OwnedFd>> = Vec::new();
    if let Some(kernel) = &kernel {
        module_fds.resize_with(kernel.btf.modules.len(), || None);
        for module in symbols.modules_used() {
            module_fds[module] = Some(kernel.module_fd(module).map_err(kernel_error)?);
        }
    }
    symbols.set_module_fds(
        module_fds
            .iter()
            .map(|fd| fd.as_ref().map_or(0, AsRawFd::as_raw_fd))
            .collect(),
    );
    for (name, value) in symbols.values() {
        let source = match value {
            KsymValue::Btf(KernelType { module, .. }) => {
                kernel.as_ref().map_or("vmlinux", |k| k.btf.name(module))
            }
            KsymValue::Address(_) => externs::KALLSYMS,
            _ => "not in this kernel",
        };
        observer.event(&Event::KsymResolved {
            name,
            value,
            source,
        });
    }
    let map_fds: Vec<RawFd> = made.maps.iter().map(|m| m.fd.as_raw_fd()).collect();
    let mut linked = Vec::with_capacity(ctx.object.programs.len());
    for (index, program) in ctx.object.programs.iter().enumerate() {
        let mut program_linked =
            relocate_against(ctx.object, index, &map_fds, &symbols, core_target.as_ref()).map_err(
                |error| LoadError::Relocate {
                    file: file.to_string(),
                    error,
                },
            )?;
        for patched in &program_linked.patches {
            observer.event(&Event::Relocated {
                program: program.name(),
                insn: patched.insn,
                symbol: &patched.symbol,
                patch: &patched.patch,
            });
        }
        // Shown: the program-load stage needs only the calls to XDP hints
        // kfuncs (they make the program device-bound, or are stubbed).
        program_linked
            .patches
            .retain(|p| matches!(p.patch, Patch::Kfunc { .. }) && is_xdp_metadata(&p.symbol));
        linked.push(program_linked);
    }
    clock.lap(Stage::Relocate, observer);
    checkpoint(file, Stage::Relocate)?;

    drop(core_target);
    drop(vmlinux);
    drop(kernel);
    let fd_array = symbols.fd_array();
    let with = With {
        btf,
        func_info: object_btf.func_info,
        fd_array: &fd_array,
    };
    let (programs, elsewhere) = load_programs(
        ctx,
        &linked,
        &with,
        &resolved.kinds,
        &attaches,
        resolved.target.as_ref(),
        observer,
    )?;
    made.programs = programs;
    clock.kernel_elsewhere(elsewhere);
    drop(linked);
    drop(module_fds);
    clock.lap(Stage::LoadPrograms, observer);
    checkpoint(file, Stage::LoadPrograms)?;

    fill_jump_tables(ctx, &resolved.plan, &made.maps, &made.programs, observer)?;
    clock.lap(Stage::FillJumpTables, observer);
    checkpoint(file, Stage::FillJumpTables)?;

    let updated = if resolved.register.is_empty() {
        Updated::default()
    } else {
        let updated = register_struct_ops(
            ctx,
            &resolved.register,
            &layouts,
            &made.maps,
            &made.programs,
            rollback,
            observer,
        )?;
        clock.lap(Stage::Register, observer);
        updated
    };

    // Loads of one device take turns from here to the publication of
    // their pins, and so do unloads: the pins in place are always those
    // of the program attached last. A load that pins nothing has nothing
    // to keep in order (--no-pin).
    let dev = ctx.options.attach.as_ref().map(|a| a.dev.as_str());
    if ctx.pin_target.is_some() {
        made.locks = take_locks(ctx, dev, observer)?;
    }
    let mut recovered = Vec::new();
    let staged = match &ctx.pin_target {
        Some(target) => {
            let pins_error = |stage, error| LoadError::Pins {
                file: file.to_string(),
                stage,
                error,
            };
            let place = pin::open_place(target, resolved.ifindex, rollback)
                .map_err(|error| pins_error(Stage::Pin, error))?;
            recovered = pin::recover_place(target, &place, observer)
                .map_err(|error| pins_error(Stage::Pin, error))?;
            let plan = pin::plan(file, &made.maps)?;
            let intent = Intent {
                ifindex: resolved.ifindex,
                ifname: dev.map(str::to_string),
                mode: ctx.options.attach.as_ref().map(|a| a.mode),
                prog: made.entry.map(|entry| made.programs[entry].id),
            };
            let staging = pin::stage(
                file, target, &place, &intent, &made.maps, &plan, rollback, observer,
            )?;
            clock.lap(Stage::Pin, observer);
            checkpoint(file, Stage::Pin)?;
            Some((target, staging, plan))
        }
        None => None,
    };

    let mut link_fd = None;
    let attached = match (&ctx.options.attach, resolved.entry, resolved.ifindex) {
        (Some(options), Some((entry, choice)), Some(ifindex)) => {
            let program = (entry, &made.programs[entry], choice);
            let (attached, link) = attach(ctx, options, ifindex, program, rollback, observer)?;
            // The link's pin, beside the maps: it keeps the program
            // attached after this process exits.
            if let (Some(link), Some((_, staging, _))) = (&link, &staged) {
                staging
                    .dir
                    .pin(link.as_fd(), LINK_PIN)
                    .map_err(|error| LoadError::Pins {
                        file: file.to_string(),
                        stage: Stage::Attach,
                        error: error.into(),
                    })?;
            }
            link_fd = link;
            clock.lap(Stage::Attach, observer);
            // The last moment a signal rolls the load back: past the
            // publication, the load is done.
            checkpoint(file, Stage::Attach)?;
            Some(attached)
        }
        _ => None,
    };

    let pin_dir = match staged {
        Some((target, staging, plan)) => {
            let mode = attached.as_ref().map(|a| a.mode);
            let final_name = target.final_name(mode).ok_or_else(|| LoadError::Attach {
                file: file.to_string(),
                dev: dev.unwrap_or_default().to_string(),
                mode: Mode::Auto,
                error: rxdp_syscalls::Error::new("RTM_GETLINK", libc::ENOENT).with_subject(
                    "the slot the program went into, which the kernel did not report",
                ),
            })?;
            warnings.extend(pin::publish(
                file,
                &staging,
                &final_name,
                rollback,
                observer,
            )?);
            let final_dir = staging.parent.join(&final_name);
            for (index, name) in plan {
                made.maps[index].pin = Some(final_dir.join(name));
            }
            // The pins of the replaced program in the layout before rxdp/.
            if let (PinTarget::Device { bpffs, ifname }, Some(attached)) = (target, &attached) {
                if let Some(replaced) = attached.replaced {
                    warnings.extend(legacy::remove_pins_of(
                        bpffs,
                        ifname,
                        attached.mode,
                        replaced,
                    ));
                }
            }
            clock.lap(Stage::PublishPins, observer);
            Some(final_dir)
        }
        None => None,
    };
    Ok(Finished {
        attach: attached,
        pin_dir,
        warnings,
        recovered,
        link: link_fd,
        updated,
    })
}

/// The kernel layout of each struct_ops map (`None` for the other maps).
fn struct_ops_layouts(
    ctx: &Context<'_>,
    kernel: Option<&rxdp_elf::btf::Btf>,
    observer: &mut dyn Observer,
) -> Result<Vec<Option<KernelLayout>>, LoadError> {
    let mut layouts = Vec::with_capacity(ctx.object.maps.len());
    for (index, map) in ctx.object.maps.iter().enumerate() {
        let (Some(ops), Some(kernel), Some(ours)) =
            (map.struct_ops.as_ref(), kernel, ctx.object.btf.as_ref())
        else {
            layouts.push(None);
            continue;
        };
        let name = |p: usize| {
            ctx.object
                .programs
                .get(p)
                .map_or_else(String::new, |p| p.name().to_string())
        };
        let layout =
            kernel_layout(ours, map, kernel, name).map_err(|error| LoadError::StructOps {
                file: ctx.file.to_string(),
                index,
                map: map.name.clone(),
                error,
            })?;
        observer.event(&Event::StructOpsLaidOut {
            index,
            type_name: &ops.type_name,
            value_type_id: layout.value_type_id,
            value_size: layout.value.len(),
        });
        layouts.push(Some(layout));
    }
    Ok(layouts)
}
