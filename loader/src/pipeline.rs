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

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rxdp_elf::core::CoreTarget;
use rxdp_elf::kfunc::{needs_kernel_btf, KfuncIds};
use rxdp_elf::relocate::relocate_against;
use rxdp_elf::{sha1, JumpEntry, JumpOrigin, MapType, Object, Pinning, ProgramType};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink;
use rxdp_syscalls::seam;

use crate::attach::attach;
use crate::create_maps::create_maps;
use crate::error::LoadError;
use crate::fill_jump_tables::fill_jump_tables;
use crate::kernel_btf::{self, VMLINUX_BTF};
use crate::load_btf::load_btf;
use crate::load_programs::load_programs;
use crate::observe::{Event, Observer, Stage};
use crate::open;
use crate::options::{
    jump_plan, register_plan, resolve_program, select_programs, LoadOptions, Mode, PinPolicy,
};
use crate::pin::{self, PinTarget};
use crate::program_types::{self, Kind, TargetProgram};
use crate::register_struct_ops::{register_struct_ops, Updated};
use crate::rollback::Rollback;
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
    timings: Vec<StageTiming>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            kernel: seam::kernel_time(),
            timings: Vec::new(),
        }
    }

    fn lap(&mut self, stage: Stage, observer: &mut dyn Observer) {
        let (now, kernel) = (Instant::now(), seam::kernel_time());
        let timing = StageTiming {
            stage,
            wall: now - self.wall,
            kernel: kernel.saturating_sub(self.kernel),
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
    /// The bpffs lock, held from before the attach until the pins are
    /// published — or, on failure, until the rollback is done.
    publish_lock: Option<bpffs::Lock>,
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
    entry: Option<usize>,
    ifindex: Option<u32>,
    plan: Vec<JumpEntry>,
}

/// Loads `options.path` as the options say: the whole pipeline. On error
/// everything the load made has been undone (or the error lists what could
/// not be: [`LoadError::Rollback`]).
pub fn load(options: &LoadOptions, observer: &mut dyn Observer) -> Result<Loaded, LoadError> {
    let file = options.path.display().to_string();
    let mut clock = Clock::start();
    let bytes = open::read(&options.path)?;
    let parsed = open::parse(&options.path, &bytes)?;
    clock.lap(Stage::Open, observer);

    let resolved = resolve(&file, parsed, options)?;
    let object = &resolved.object;
    let ctx = context(&file, object, options, &bytes, resolved.ifindex)?;
    let mut warnings = Vec::new();
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

    let mut made = Made {
        entry: resolved.entry,
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
            warning,
            updated,
        }) => {
            warnings.extend(warning);
            Ok(Loaded {
                file: options.path.clone(),
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
                registered: updated.registered,
                ready_for_link: updated.ready,
                btf: made.btf,
            })
        }
        Err(error) => {
            let ours = made
                .entry
                .and_then(|entry| made.programs.get(entry))
                .map(|p| p.fd.as_fd());
            let left = rollback.undo(ours, observer);
            // `made` drops after this: every fd closes.
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
            let entry = resolve_program(&object, &attach.entry).map_err(option_error)?;
            let ifindex = netlink::ifindex(&attach.dev).map_err(|error| LoadError::Device {
                file: file.to_string(),
                dev: attach.dev.clone(),
                error,
            })?;
            (Some(entry), Some(ifindex))
        }
        None => (None, None),
    };
    let target = program_types::open_target_program(file, &object, options)?;
    Ok(Resolved {
        object,
        kinds,
        target,
        register,
        entry,
        ifindex,
        plan,
    })
}

fn context<'a>(
    file: &'a str,
    object: &'a Object,
    options: &'a LoadOptions,
    bytes: &[u8],
    ifindex: Option<u32>,
) -> Result<Context<'a>, LoadError> {
    let shares = object.maps.iter().any(|m| m.pinning != Pinning::None);
    let pins = !matches!(
        (&options.pins, &options.attach),
        (PinPolicy::Never, _) | (PinPolicy::Default, None)
    );
    // bpffs is looked up (and mounted if missing) only when something is pinned.
    let bpffs_root = if shares || pins {
        bpffs::ensure_mounted().map_err(|error| LoadError::Pin {
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
        (PinPolicy::Default, Some(attach)) => Some(PinTarget::Device(bpffs_root.join(&attach.dev))),
        _ => None,
    };
    let object_sha1 = if object.maps.iter().any(|m| m.pinning == Pinning::ObjectNs) {
        sha1::hex(bytes)
    } else {
        String::new()
    };
    let offload = match (&options.attach, ifindex) {
        (Some(attach), Some(ifindex)) if attach.mode == Mode::Hw => ifindex,
        _ => 0,
    };
    Ok(Context {
        file,
        object,
        options,
        offload,
        bpffs_root,
        object_sha1,
        pin_target,
    })
}

/// What the stages after resolution end with, besides `Made`.
struct Finished {
    attach: Option<Attached>,
    pin_dir: Option<PathBuf>,
    /// From publishing the pins, when the old ones could not be removed.
    warning: Option<String>,
    /// The struct_ops maps updated.
    updated: Updated,
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
    made.btf = load_btf(file, ctx.object, observer)?;
    clock.lap(Stage::LoadBtf, observer);

    let btf = made.btf.as_ref().map(AsFd::as_fd);
    // The kernel's BTF, only for objects with kfuncs, CO-RE relocations,
    // kernel attach targets or struct_ops.
    let path = Path::new(VMLINUX_BTF);
    let kfunc_error = |error| LoadError::Kfunc {
        file: file.to_string(),
        error,
    };
    let kernel = if needs_kernel_btf(ctx.object) || program_types::needs_kernel_types(ctx.object) {
        Some(kernel_btf::read(path, observer).map_err(kfunc_error)?)
    } else {
        None
    };
    let layouts = struct_ops_layouts(ctx, kernel.as_ref(), observer)?;
    made.maps = create_maps(ctx, btf, &layouts, rollback, observer)?;
    clock.lap(Stage::CreateMaps, observer);

    let kfuncs = match &kernel {
        Some(kernel) if needs_kernel_btf(ctx.object) => {
            kernel_btf::resolve_kfuncs(ctx.object, kernel, path).map_err(kfunc_error)?
        }
        _ => KfuncIds::default(),
    };
    let core_target = kernel.as_ref().map(CoreTarget::new);
    let map_fds: Vec<RawFd> = made.maps.iter().map(|m| m.fd.as_raw_fd()).collect();
    let mut linked = Vec::with_capacity(ctx.object.programs.len());
    for (index, program) in ctx.object.programs.iter().enumerate() {
        let program_linked =
            relocate_against(ctx.object, index, &map_fds, &kfuncs, core_target.as_ref()).map_err(
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
        linked.push(program_linked);
    }
    let attaches =
        program_types::plan(file, ctx.object, &resolved.kinds, kernel.as_ref(), &layouts)?;
    clock.lap(Stage::Relocate, observer);

    drop(core_target);
    drop(kernel);
    made.programs = load_programs(
        ctx,
        &linked,
        btf,
        &resolved.kinds,
        &attaches,
        resolved.target.as_ref(),
        observer,
    )?;
    drop(linked);
    clock.lap(Stage::LoadPrograms, observer);

    fill_jump_tables(ctx, &resolved.plan, &made.maps, &made.programs, observer)?;
    clock.lap(Stage::FillJumpTables, observer);

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

    let staged = match &ctx.pin_target {
        Some(target) => {
            let plan = pin::plan(file, &made.maps)?;
            let staging = pin::stage(file, target, &made.maps, &plan, rollback, observer)?;
            clock.lap(Stage::Pin, observer);
            Some((target, staging, plan))
        }
        None => None,
    };

    let attached = match (&ctx.options.attach, made.entry, resolved.ifindex) {
        (Some(options), Some(entry), Some(ifindex)) => {
            // Two loads on one device attach in some order and must
            // publish their pins in the same one, or the pins of the
            // program attached first would replace those of the one
            // attached last. Loads take turns from here to the
            // publication (every rxdp load on the machine: it is short).
            if staged.is_some() {
                let root = &ctx.bpffs_root;
                let lock = bpffs::lock(root).map_err(|error| LoadError::Lock {
                    file: file.to_string(),
                    path: root.clone(),
                    error,
                })?;
                made.publish_lock = Some(lock);
            }
            let program = (entry, &made.programs[entry]);
            let attached = attach(ctx, options, ifindex, program, rollback, observer)?;
            clock.lap(Stage::Attach, observer);
            Some(attached)
        }
        _ => None,
    };

    let mut warning = None;
    let pin_dir = match staged {
        Some((target, staging, plan)) => {
            let final_dir = target.final_dir(attached.as_ref().map(|a| a.mode));
            warning = pin::publish(file, &staging, &final_dir, rollback, observer)?;
            for (index, name) in plan {
                made.maps[index].pin = Some(final_dir.join(name));
            }
            clock.lap(Stage::PublishPins, observer);
            Some(final_dir)
        }
        None => None,
    };
    Ok(Finished {
        attach: attached,
        pin_dir,
        warning,
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
