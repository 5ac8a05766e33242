//! Sharing an interface through libxdp's multi-program dispatcher:
//! `rxdp-load --multiprog` adds the object's entry program as a component,
//! `rxdp unload --id` removes one, in the convention xdp-loader and libxdp
//! users share (xdp-tools' `lib/libxdp/protocol.org`), so that either tool
//! lists and changes what the other made.
//!
//! A dispatcher is never changed in place: every change builds a new one.
//! Under libxdp's `flock` on `<bpffs>/xdp/` (and rxdp's own device lock):
//! 1. the slot's program is read: a dispatcher of version 2 (Debian's
//!    libxdp 1.3.1 makes and reads that version), its components opened
//!    from their pins `progN-prog` with their run priorities, chain-call
//!    actions and load flags from its config;
//! 2. the components are sorted by run priority (then by name, as libxdp
//!    breaks ties; stable otherwise), and a new dispatcher is loaded — rxdp's
//!    own `progs/xdp_dispatcher.c`, embedded — with that order in its
//!    frozen `.rodata` config;
//! 3. each component is attached in its new slot: the existing ones with
//!    a second `BPF_LINK_CREATE` (an freplace program may be attached to
//!    several targets, kernel 5.10), the new one loaded as
//!    `BPF_PROG_TYPE_EXT` for the new dispatcher's function `progN` first.
//!    A lone component replaces the function `xdp_dispatcher` itself, as
//!    libxdp does, skipping the dispatch;
//! 4. the links and programs are pinned in
//!    `<bpffs>/xdp/dispatch-IFINDEX-NEWID/`;
//! 5. the new dispatcher takes the slot atomically (`XDP_FLAGS_REPLACE`,
//!    the old dispatcher expected: the kernel refuses if anyone changed
//!    the slot meanwhile); an empty slot is filled with
//!    `XDP_FLAGS_UPDATE_IF_NOEXIST`;
//! 6. the old dispatcher's pins are removed: its links go, and with them
//!    its components' attachments to it; it goes when the slot drops it.
//!
//! Until step 5 succeeds nothing outside the new directory has changed:
//! a failure (or SIGINT, SIGTERM) removes that directory's pins and the
//! directory, closes every fd, and leaves the old dispatcher attached
//! with its pins as they were.
//!
//! Against SIGKILL: before step 4 the change writes its intent
//! ([`crate::dispatch_record`]: device, new and old dispatcher, pid and
//! start time) in `<bpffs>/rxdp/`, and removes it after step 6 (or after
//! a rollback). Every change starts, under the lock, by resolving the
//! records of loaders that died: the directory of each dispatcher such a
//! record names that is attached nowhere on the device is removed.
//!
//! Maps of the new component are pinned nowhere (as xdp-loader without
//! `--pin-path`): its program holds them. Not done yet: `--pin-dir`
//! (pins a failed change would have to take back), and so objects with
//! a prog array, which the kernel empties when the last user reference
//! goes — when `rxdp-load` exits.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rxdp_elf::btf::{XdpRunConfig, XDP_ACTIONS};
use rxdp_elf::{AttachTarget, ProgramType};
use rxdp_syscalls::bpf::{
    link_create, link_info, prog_get_fd_by_id, prog_info, ProgInfo, BPF_F_XDP_HAS_FRAGS,
};
use rxdp_syscalls::fs::{bpffs, lock, Dir};
use rxdp_syscalls::netlink::{self, XdpFlags};
use rxdp_syscalls::Error as SysError;

use crate::attach::slot;
use crate::dispatch_record::{self, DispatchRecovery, Intent};
use crate::error::LoadError;
use crate::libxdp::{self, DISPATCHER, MAX_COMPONENTS, XDP_DIR};
use crate::observe::Observer;
use crate::options::{jump_plan, resolve_entry, AttachProg, LoadOptions, Mode, PinPolicy};
use crate::pin::{device_lock, PinError};
use crate::program_types::replaced_func;
use crate::record::Dispatch;
use crate::{LoadedObject, Object};

/// rxdp's dispatcher (`progs/xdp_dispatcher.c`), built by `make progs`.
const DISPATCHER_OBJECT: &[u8] = include_bytes!("../../progs/obj/xdp_dispatcher.o");
/// The dispatcher version rxdp writes and reads (libxdp 1.3's).
pub const VERSION: u8 = 2;
/// `XDP_DISPATCHER_MAGIC`.
const MAGIC: u8 = 236;
/// `XDP_DISPATCHER_RETVAL`: the bit every slot chains on, so that a slot
/// with no program attached passes the frame on.
const CHAIN_ANYWAY: u32 = 1 << 31;
/// `sizeof(struct xdp_dispatcher_config)` of version 2.
const CONFIG_SIZE: usize = 4 + 3 * 4 * MAX_COMPONENTS;

/// Why adding or removing a component failed. Nothing changed: the slot
/// holds what it held, with its pins.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MultiprogError {
    /// Loading the new component (or reading its object) failed.
    #[error("{0}")]
    Load(Box<LoadError>),
    /// A step of the dispatcher's change failed.
    #[error("{dev}: libxdp dispatcher: {what}: {error}")]
    Kernel {
        /// The interface.
        dev: String,
        /// The step.
        what: String,
        /// The syscall's error.
        error: SysError,
    },
    /// Something about the interface or the request that rxdp will not do.
    #[error("{dev}: {problem}")]
    Refused {
        /// The interface.
        dev: String,
        /// What and why, and what to do instead.
        problem: String,
    },
    /// rxdp's own directory in bpffs, where a change keeps its intent,
    /// cannot be used.
    #[error("{dev}: libxdp dispatcher: {error}")]
    Pins {
        /// The interface.
        dev: String,
        /// Why.
        error: PinError,
    },
    /// Another load or unload of the device holds rxdp's lock.
    #[error("{dev}: {error}")]
    Lock {
        /// The interface.
        dev: String,
        /// The lock's error (names the holder).
        error: lock::LockError,
    },
    /// A signal asked the process to stop; everything was rolled back.
    #[error("{dev}: interrupted by {signal}: the dispatcher was left as it was")]
    Interrupted {
        /// The interface.
        dev: String,
        /// The signal's name.
        signal: String,
    },
}

impl From<LoadError> for MultiprogError {
    fn from(error: LoadError) -> MultiprogError {
        MultiprogError::Load(Box::new(error))
    }
}

/// The run priority and chain-call actions asked for on the command line
/// (`--prio`, `--actions`): each given one overrides the object's
/// `XDP_RUN_CONFIG`, which overrides libxdp's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOverride {
    /// `--prio N`.
    pub priority: Option<u32>,
    /// `--actions XDP_PASS,XDP_DROP`: the chain-call bitmap.
    pub chain_call_actions: Option<u32>,
}

/// `XDP_PASS,XDP_DROP` (or `pass,drop`) as a chain-call bitmap.
pub fn parse_actions(text: &str) -> Result<u32, String> {
    let mut bits = 0;
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("XDP_") {
            upper
        } else {
            format!("XDP_{upper}")
        };
        let Some(bit) = XDP_ACTIONS.iter().position(|a| *a == full) else {
            return Err(format!(
                "{name:?} is not an XDP action ({})",
                XDP_ACTIONS.join(", ")
            ));
        };
        bits |= 1 << bit;
    }
    Ok(bits)
}

/// One component of the dispatcher after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its slot (`progN`).
    pub slot: usize,
    /// The freplace program's id and name.
    pub prog_id: u32,
    /// Its name.
    pub name: String,
    /// The link attaching it to the new dispatcher.
    pub link_id: u32,
    /// Its run priority.
    pub run_prio: u32,
    /// The actions after which the next slot runs.
    pub chain_call_actions: Vec<&'static str>,
    /// Whether this is the program the change added.
    pub added: bool,
}

/// A dispatcher rxdp built and attached.
#[derive(Debug)]
pub struct Rebuilt {
    /// The interface.
    pub dev: String,
    /// Its index.
    pub ifindex: u32,
    /// The slot.
    pub mode: Mode,
    /// The new dispatcher's id (`None`: the last component went, and the
    /// dispatcher with it).
    pub dispatcher_id: Option<u32>,
    /// The dispatcher it replaced.
    pub replaced: Option<u32>,
    /// The new dispatcher's pin directory.
    pub dir: Option<PathBuf>,
    /// Its components, in slot order.
    pub members: Vec<Member>,
    /// The old dispatcher's directory, removed.
    pub removed: Option<PathBuf>,
    /// What could not be cleaned after the change took effect.
    pub warnings: Vec<String>,
    /// Changes of loaders that died, resolved before this one.
    pub recovered: Vec<DispatchRecovery>,
}

/// [`add`]'s result: the dispatcher, and the object that was loaded
/// (its maps and programs, with their ids).
#[derive(Debug)]
pub struct Added {
    /// The dispatcher after the change.
    pub dispatcher: Rebuilt,
    /// The object whose entry program is the new component.
    pub object: LoadedObject,
}

/// Where a component comes from.
enum Source {
    /// Already a component: its program, from its pin.
    Existing(OwnedFd),
    /// The program this change adds.
    New,
}

/// A component while the new dispatcher is built.
struct Planned {
    source: Source,
    name: String,
    run_prio: u32,
    /// Without [`CHAIN_ANYWAY`].
    chain: u32,
    /// `BPF_F_XDP_HAS_FRAGS` when it was loaded for frags.
    flags: u32,
}

/// The slot's dispatcher, opened.
struct Current {
    id: u32,
    fd: OwnedFd,
    mode: Mode,
    components: Vec<Planned>,
}

/// What every change holds while it runs.
struct Session {
    dev: String,
    ifindex: u32,
    bpffs: PathBuf,
    /// `<bpffs>/xdp`, locked.
    xdp: Dir,
    /// The bpffs root, and whether this change made `xdp/` in it.
    root: Dir,
    made_xdp: bool,
    /// The records of dead loaders' changes, resolved under the lock.
    recovered: Vec<DispatchRecovery>,
    _device_lock: lock::Lock,
}

impl Drop for Session {
    /// A change that made libxdp's directory and failed leaves none: it
    /// is empty then (after a change that took effect it holds the
    /// dispatcher's directory, and `rmdir` refuses).
    fn drop(&mut self) {
        if self.made_xdp {
            let _ = self.root.remove_dir(XDP_DIR);
        }
    }
}

impl Session {
    fn open(
        dev: &str,
        lock_timeout: std::time::Duration,
        mount: bool,
    ) -> Result<Session, MultiprogError> {
        let kernel = |what: &str, error| MultiprogError::Kernel {
            dev: dev.to_string(),
            what: what.to_string(),
            error,
        };
        let ifindex = netlink::ifindex(dev).map_err(|e| kernel("no such interface", e))?;
        let device_lock =
            lock::lock(&device_lock(dev), lock_timeout).map_err(|error| MultiprogError::Lock {
                dev: dev.to_string(),
                error,
            })?;
        let bpffs = if mount {
            bpffs::ensure_mounted().map_err(|e| kernel("mounting bpffs", e))?
        } else {
            bpffs::find_mount()
                .map_err(|e| kernel("finding bpffs", e))?
                .ok_or_else(|| MultiprogError::Refused {
                    dev: dev.to_string(),
                    problem: "no bpffs is mounted: libxdp's components are pinned there \
                              (mount -t bpf bpf /sys/fs/bpf)"
                        .to_string(),
                })?
        };
        let root = Dir::open_no_follow(&bpffs).map_err(|e| kernel("opening bpffs", e))?;
        // libxdp makes its directory with mode 0700 when it is missing.
        let made_xdp = match root.make_dir(XDP_DIR, 0o700) {
            Ok(()) => true,
            Err(error) if error.errno == libc::EEXIST => false,
            Err(error) => return Err(kernel("making <bpffs>/xdp", error)),
        };
        let xdp = root
            .open_dir(XDP_DIR)
            .map_err(|e| kernel("opening <bpffs>/xdp", e))?;
        let stat = xdp.stat().map_err(|e| kernel("checking <bpffs>/xdp", e))?;
        if !crate::pin::trusted_uid(stat.uid) || (stat.writable_by_others() && !stat.sticky()) {
            return Err(MultiprogError::Refused {
                dev: dev.to_string(),
                problem: format!(
                    "{} is not root's or others may write into it: rxdp will not pin there",
                    xdp.path().display()
                ),
            });
        }
        let mut session = Session {
            dev: dev.to_string(),
            ifindex,
            bpffs,
            xdp,
            root,
            made_xdp,
            recovered: Vec::new(),
            _device_lock: device_lock,
        };
        session
            .xdp
            .lock_exclusive()
            .map_err(|e| kernel("taking libxdp's lock", e))?;
        session.recovered = session.recover()?;
        Ok(session)
    }

    /// Resolves what changes of this device left when their loader died.
    fn recover(&self) -> Result<Vec<DispatchRecovery>, MultiprogError> {
        let root = crate::pin::open_bpffs(&self.bpffs)
            .and_then(|bpffs| crate::pin::open_root(bpffs, false))
            .map_err(|error| self.pins(error))?;
        match root {
            Some(root) => {
                dispatch_record::recover(&root, Some(&self.xdp), Some(self.ifindex), false)
                    .map_err(|error| self.pins(error))
            }
            None => Ok(Vec::new()),
        }
    }

    fn pins(&self, error: PinError) -> MultiprogError {
        MultiprogError::Pins {
            dev: self.dev.clone(),
            error,
        }
    }

    /// Writes the intent of the change from `old` to `new`.
    fn intent(&self, new: Option<u32>, old: Option<u32>) -> Result<Intent, MultiprogError> {
        let loader = rxdp_syscalls::fs::procfs::this_process()
            .map_err(|e| self.kernel("reading this process's start time", e))?;
        let change = Dispatch {
            ifindex: self.ifindex,
            new,
            old,
            swapped: false,
            loader,
        };
        Intent::write(&self.bpffs, change).map_err(|error| self.pins(error))
    }

    fn kernel(&self, what: impl Into<String>, error: SysError) -> MultiprogError {
        MultiprogError::Kernel {
            dev: self.dev.clone(),
            what: what.into(),
            error,
        }
    }

    fn refused(&self, problem: impl Into<String>) -> MultiprogError {
        MultiprogError::Refused {
            dev: self.dev.clone(),
            problem: problem.into(),
        }
    }

    fn interrupted(&self) -> Result<(), MultiprogError> {
        match crate::interrupt::interrupted() {
            Some(signal) => Err(MultiprogError::Interrupted {
                dev: self.dev.clone(),
                signal: rxdp_syscalls::signal::signal_name(signal).to_string(),
            }),
            None => Ok(()),
        }
    }

    /// The program in the slot `mode` names (auto: native, else generic),
    /// opened and read as a dispatcher; `None` for an empty slot.
    fn current(&self, mode: Mode) -> Result<Option<Current>, MultiprogError> {
        if mode == Mode::Hw {
            return Err(self.refused(
                "libxdp's dispatcher does not run offloaded (an freplace program cannot be): \
                 use --mode skb or drv",
            ));
        }
        let state = netlink::query(self.ifindex).map_err(|e| self.kernel("query", e))?;
        let Some((mode, id)) = slot(&state, mode) else {
            return Ok(None);
        };
        let fd =
            prog_get_fd_by_id(id).map_err(|e| self.kernel(format!("opening program {id}"), e))?;
        let info = prog_info(fd.as_fd()).map_err(|e| self.kernel(format!("program {id}"), e))?;
        let Some(dispatcher) = libxdp::dispatcher(Some(&self.bpffs), self.ifindex, &info) else {
            return Err(self.refused(format!(
                "the {} slot holds program {id} {}, which is no libxdp dispatcher: rxdp adds \
                 components only to a dispatcher (rxdp unload --dev {} first, or rxdp-load \
                 --force without --multiprog to replace it)",
                mode.name(),
                info.name,
                self.dev
            )));
        };
        if dispatcher.version != VERSION {
            return Err(self.refused(format!(
                "the {} slot holds a libxdp dispatcher (program {id}) of version {}; rxdp \
                 builds version {VERSION} and, as libxdp does, changes no other version \
                 (unload it first)",
                mode.name(),
                dispatcher.version
            )));
        }
        if crate::xdp_link::find(self.ifindex, id)
            .map_err(|e| self.kernel("listing XDP links", e))?
            .is_some()
        {
            return Err(self.refused(format!(
                "the dispatcher (program {id}) is attached through a BPF link, which netlink \
                 cannot replace atomically"
            )));
        }
        let components = self.components(&info, &dispatcher)?;
        Ok(Some(Current {
            id,
            fd,
            mode,
            components,
        }))
    }

    /// The dispatcher's components: programs from their pins, run
    /// priorities, chain-call actions and flags from its config.
    fn components(
        &self,
        info: &ProgInfo,
        dispatcher: &libxdp::Dispatcher,
    ) -> Result<Vec<Planned>, MultiprogError> {
        let name = format!("dispatch-{}-{}", self.ifindex, info.id);
        let dir = self.xdp.open_dir(&name).map_err(|e| {
            self.kernel(
                format!(
                    "opening the dispatcher's pins {}",
                    self.xdp.join(&name).display()
                ),
                e,
            )
        })?;
        let mut out = Vec::with_capacity(dispatcher.components.len());
        for component in &dispatcher.components {
            let pin = format!("prog{}-prog", component.slot);
            let fd = libxdp::open_pin(&dir, &pin)
                .and_then(|fd| fd.ok_or_else(|| SysError::new("open", libc::ENOENT)))
                .map_err(|e| self.kernel(format!("opening {}", dir.join(&pin).display()), e))?;
            let prog = prog_info(fd.as_fd())
                .map_err(|e| self.kernel(format!("{}", dir.join(&pin).display()), e))?;
            out.push(Planned {
                source: Source::Existing(fd),
                name: libxdp::component_name(&prog),
                run_prio: component.run_prio,
                chain: component.chain_bits & !CHAIN_ANYWAY,
                flags: component.flags & BPF_F_XDP_HAS_FRAGS,
            });
        }
        Ok(out)
    }
}

/// The id of the libxdp dispatcher in `dev`'s slot `mode` names (auto:
/// native if it holds a program, else generic), if one is there: `rxdp-load` then adds to it
/// rather than replacing it.
pub fn dispatcher_in(dev: &str, mode: Mode) -> Option<u32> {
    if mode == Mode::Hw {
        return None;
    }
    let state = netlink::link_by_name(dev).ok()?.xdp;
    // The slot a change would read (`Session::current`), so that the two
    // never disagree about which program is in the way.
    let (_, id) = slot(&state, mode)?;
    prog_get_fd_by_id(id)
        .and_then(|fd| prog_info(fd.as_fd()))
        .is_ok_and(|info| info.name == DISPATCHER)
        .then_some(id)
}

/// Loads `object`'s entry program as a component of the libxdp dispatcher
/// on `options.attach`'s device and mode, building the dispatcher when the
/// slot is empty: see the module's text. `options.attach` must be set;
/// `force` and `link` do not apply; nothing is pinned but the component.
pub fn add(
    object: Object,
    options: &LoadOptions,
    run: RunOverride,
    observer: &mut dyn Observer,
) -> Result<Added, MultiprogError> {
    let file = object.name().to_string();
    let option_error = |error| {
        MultiprogError::from(LoadError::Option {
            file: file.clone(),
            error,
        })
    };
    let Some(attach) = options.attach.clone() else {
        return Err(MultiprogError::Refused {
            dev: String::new(),
            problem: format!("{file}: a component needs a device (--dev)"),
        });
    };
    let plan = jump_plan(object.model(), &options.jumps).map_err(option_error)?;
    let (entry, _) =
        resolve_entry(object.model(), attach.entry.as_ref(), &plan).map_err(option_error)?;
    let refused = |problem: String| MultiprogError::Refused {
        dev: attach.dev.clone(),
        problem: format!("{file}: {problem}"),
    };
    let program = &object.model().programs[entry];
    if program.prog_type.is_some_and(|t| t != ProgramType::XDP) {
        return Err(refused(format!(
            "prog_fd[{entry}] {} is no XDP program (section {})",
            program.name(),
            program.section
        )));
    }
    if object.model().btf.is_none() {
        return Err(refused(
            "the object has no BTF: an freplace component needs it (build with clang -g)"
                .to_string(),
        ));
    }
    // The component's maps are held by its program, pinned nowhere: a
    // prog array would be emptied by the kernel when rxdp-load exits, and
    // pins the load made would outlive a change that fails.
    if let Some(map) = object
        .model()
        .maps
        .iter()
        .find(|m| m.def.map_type == rxdp_elf::MapType::PROG_ARRAY)
    {
        return Err(refused(format!(
            "prog array {} would be emptied when rxdp-load exits: a component's maps are \
             pinned nowhere, so objects with tail calls cannot be components yet",
            map.name
        )));
    }
    if matches!(options.pins, PinPolicy::Dir(_)) {
        return Err(refused(
            "--pin-dir with --multiprog is not supported yet: a component's maps are held by \
             its program (their ids: bpftool prog show, rxdp map list)"
                .to_string(),
        ));
    }
    let name = program.name().to_string();
    let declared = object
        .model()
        .btf
        .as_ref()
        .map(|btf| btf.xdp_run_config(&name))
        .transpose()
        .map_err(|error| refused(error.to_string()))?
        .flatten()
        .unwrap_or_default();
    let config = XdpRunConfig {
        priority: run.priority.unwrap_or(declared.priority),
        chain_call_actions: run
            .chain_call_actions
            .unwrap_or(declared.chain_call_actions),
    };
    let frags = program.prog_flags & BPF_F_XDP_HAS_FRAGS;

    let session = Session::open(&attach.dev, options.lock_timeout, options.mount_bpffs)?;
    let mut current = session.current(attach.mode)?;
    let mut planned = current
        .as_mut()
        .map_or_else(Vec::new, |c| std::mem::take(&mut c.components));
    planned.push(Planned {
        source: Source::New,
        name: name.clone(),
        run_prio: config.priority,
        chain: config.chain_call_actions,
        flags: frags,
    });
    let mode = current.as_ref().map_or(attach.mode, |c| c.mode);

    // The entry program becomes an freplace program; its target is set
    // once the new dispatcher is loaded and its slot known.
    let mut loaded: Option<LoadedObject> = None;
    let rebuilt = rebuild(
        &session,
        mode,
        current.as_ref(),
        planned,
        options.raise_memlock,
        Some(Box::new(|dispatcher_id, func| {
            let mut object = object;
            {
                let model = object.model_mut();
                let program = &mut model.programs[entry];
                program.prog_type = Some(ProgramType::EXT);
                program.expected_attach_type = 0;
                program.prog_flags &= !BPF_F_XDP_HAS_FRAGS;
                program.attach_target = AttachTarget::Program {
                    func: func.to_string(),
                };
            }
            let mut component_options = options.clone();
            component_options.attach = None;
            component_options.attach_prog = Some(AttachProg::Id(dispatcher_id));
            component_options.pins = PinPolicy::Never;
            let object = object.load_with(&component_options, observer)?;
            let fd = object.loaded().programs[entry]
                .fd
                .try_clone()
                .map_err(|error| LoadError::Device {
                    file: file.clone(),
                    dev: attach.dev.clone(),
                    error: SysError::new("dup", error.raw_os_error().unwrap_or(libc::EMFILE)),
                })?;
            loaded = Some(object);
            Ok(fd)
        })),
    )?;
    let object = loaded.ok_or_else(|| MultiprogError::Refused {
        dev: attach.dev.clone(),
        problem: format!("{file}: the dispatcher was rebuilt without the new component"),
    })?;
    Ok(Added {
        dispatcher: rebuilt,
        object,
    })
}

/// Removes component `prog_id` from the dispatcher in `dev`'s `mode` slot
/// (auto: native, else generic): the dispatcher is rebuilt without it, or
/// detached when it was the last.
pub fn remove(
    dev: &str,
    mode: Mode,
    prog_id: u32,
    lock_timeout: std::time::Duration,
) -> Result<Rebuilt, MultiprogError> {
    let session = Session::open(dev, lock_timeout, false)?;
    let Some(current) = session.current(mode)? else {
        return Err(session.refused(format!(
            "no libxdp dispatcher is attached{}",
            match mode {
                Mode::Auto => String::new(),
                mode => format!(" in {} mode", mode.name()),
            }
        )));
    };
    let mut current = current;
    let mut planned = std::mem::take(&mut current.components);
    let ids: Vec<u32> = planned
        .iter()
        .map(|p| match &p.source {
            Source::Existing(fd) => prog_info(fd.as_fd()).map_or(0, |i| i.id),
            Source::New => 0,
        })
        .collect();
    let Some(index) = ids.iter().position(|&id| id == prog_id) else {
        return Err(session.refused(format!(
            "program {prog_id} is no component of the dispatcher (program {}); its components: {}",
            current.id,
            ids.iter()
                .zip(&planned)
                .map(|(id, p)| format!("{id} {}", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    planned.remove(index);
    if planned.is_empty() {
        return detach_last(&session, &current);
    }
    rebuild(&session, current.mode, Some(&current), planned, true, None)
}

/// The last component goes: the dispatcher is detached (only if it is
/// still the one attached) and its pins removed.
fn detach_last(session: &Session, current: &Current) -> Result<Rebuilt, MultiprogError> {
    let intent = session.intent(None, Some(current.id))?;
    if let Err(error) =
        netlink::detach_expected(session.ifindex, current.mode.flags(), current.fd.as_fd())
    {
        // Nothing changed: the record goes (were it left, the next change
        // would find the dispatcher attached and keep its pins anyway).
        let _ = intent.remove();
        return Err(session.kernel(format!("detaching dispatcher {}", current.id), error));
    }
    let mut warnings = Vec::new();
    let removed = finish(session, current.id, intent, &mut warnings);
    Ok(Rebuilt {
        dev: session.dev.clone(),
        ifindex: session.ifindex,
        mode: current.mode,
        dispatcher_id: None,
        replaced: Some(current.id),
        dir: None,
        members: Vec::new(),
        removed,
        warnings,
        recovered: session.recovered.clone(),
    })
}

/// Step 6: the pins of the replaced (or detached) dispatcher `old` go,
/// then the change's record. When they cannot, the record stays, so that
/// the next change (or `rxdp status`) removes them.
fn finish(
    session: &Session,
    old: u32,
    mut intent: Intent,
    warnings: &mut Vec<String>,
) -> Option<PathBuf> {
    // The slot has changed: the old directory is now this change's to
    // remove, and a record left from here on says so.
    if let Err(error) = intent.swapped() {
        warnings.push(format!(
            "the change's record {} could not say the slot changed: {error}",
            intent.path().display()
        ));
    }
    match libxdp::remove_pins_locked(&session.xdp, session.ifindex, old) {
        Ok(removed) => {
            let name = format!("dispatch-{}-{old}", session.ifindex);
            if let (Some(path), Ok(Some(_))) = (&removed, session.xdp.stat_at(&name)) {
                warnings.push(format!(
                    "{} holds more than libxdp's pins: its pins are removed, the rest is left",
                    path.display()
                ));
            }
            intent.remove_or_warn(warnings);
            removed
        }
        Err(error) => {
            warnings.push(format!(
                "the old dispatcher {old} is no longer attached but its pins stay: {error}; \
                 the change's record {} stays, so the next change or rxdp status removes them",
                intent.path().display()
            ));
            None
        }
    }
}

/// rxdp's dispatcher object, parsed.
fn dispatcher_object() -> Result<Object, LoadError> {
    Object::from_bytes("rxdp's xdp_dispatcher.o", DISPATCHER_OBJECT)
}

/// Run order: priority, then name (libxdp's first tie-breaker), then
/// components already attached before the new one, then the order they
/// had.
fn order(planned: &mut [Planned]) {
    planned.sort_by(|a, b| {
        a.run_prio
            .cmp(&b.run_prio)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| matches!(a.source, Source::New).cmp(&matches!(b.source, Source::New)))
    });
}

/// The config of a dispatcher running `planned` in that order.
fn config_bytes(planned: &[Planned]) -> [u8; CONFIG_SIZE] {
    let mut config = [0u8; CONFIG_SIZE];
    config[0] = MAGIC;
    config[1] = VERSION;
    config[2] = planned.len() as u8;
    // is_xdp_frags stays 0: the dispatcher is loaded without
    // BPF_F_XDP_HAS_FRAGS (what libxdp does when any component lacks it).
    for (slot, p) in planned.iter().enumerate() {
        let mut put = |array: usize, value: u32| {
            let at = 4 + array * 4 * MAX_COMPONENTS + 4 * slot;
            config[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        };
        put(0, p.chain | CHAIN_ANYWAY);
        put(1, p.run_prio);
        put(2, p.flags);
    }
    config
}

/// What the new dispatcher's directory holds so far: removed on failure.
struct NewPins<'a> {
    xdp: &'a Dir,
    name: String,
    dir: Option<Dir>,
    pinned: Vec<String>,
    keep: bool,
}

impl Drop for NewPins<'_> {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Some(dir) = &self.dir {
            for pin in self.pinned.iter().rev() {
                let _ = dir.unlink(pin);
            }
            let _ = self.xdp.remove_dir(&self.name);
        }
    }
}

/// A function that loads the new component as an freplace program of
/// the dispatcher `id`'s function `func`, returning its fd: called once,
/// for the one [`Source::New`] of a change (a removal has none).
type LoadNew<'a> = Box<dyn FnOnce(u32, &str) -> Result<OwnedFd, LoadError> + 'a>;

/// Builds a dispatcher running `planned`, attaches its components, pins
/// them and swaps it into the slot in place of `current`.
fn rebuild(
    session: &Session,
    mode: Mode,
    current: Option<&Current>,
    mut planned: Vec<Planned>,
    raise_memlock: bool,
    mut load_new: Option<LoadNew<'_>>,
) -> Result<Rebuilt, MultiprogError> {
    if planned.len() > MAX_COMPONENTS {
        return Err(session.refused(format!(
            "a dispatcher has {MAX_COMPONENTS} slots, and all are in use"
        )));
    }
    order(&mut planned);
    let mut dispatcher = dispatcher_object()?;
    dispatcher
        .set_global_bytes("conf", &config_bytes(&planned))
        .map_err(|error| session.refused(format!("rxdp's dispatcher object: {error}")))?;
    let mut dispatcher_options = LoadOptions::new("xdp_dispatcher.o");
    dispatcher_options.raise_memlock = raise_memlock;
    dispatcher_options.pins = PinPolicy::Never;
    let dispatcher = dispatcher.load_with(&dispatcher_options, &mut crate::observe::NoObserver)?;
    let main = &dispatcher.loaded().programs[0];
    let (main_fd, main_id) = (main.fd.as_fd(), main.id);
    session.interrupted()?;

    // Each component in its slot; a lone one replaces the whole dispatch.
    let lone = planned.len() == 1;
    let mut attached: Vec<(OwnedFd, OwnedFd)> = Vec::with_capacity(planned.len());
    for (slot, component) in planned.iter().enumerate() {
        let func = if lone {
            DISPATCHER.to_string()
        } else {
            format!("prog{slot}")
        };
        let prog = match &component.source {
            Source::Existing(fd) => fd
                .try_clone()
                .map_err(|e| session.kernel("dup", io_error(&e)))?,
            Source::New => match load_new.take() {
                Some(load) => load(main_id, &func)?,
                None => {
                    return Err(session.refused(format!(
                        "{}: one change adds at most one new component",
                        component.name
                    )))
                }
            },
        };
        let btf_id = replaced_func(main_fd, &func).map_err(|problem| {
            session.refused(format!("the new dispatcher {main_id}: {problem}"))
        })?;
        let link = attach_component(prog.as_fd(), main_fd, btf_id).map_err(|e| {
            session.kernel(
                format!(
                    "attaching {} to {func} of the new dispatcher {main_id} (BPF_LINK_CREATE)",
                    component.name
                ),
                e,
            )
        })?;
        attached.push((prog, link));
        session.interrupted()?;
    }

    // The intent first: a loader killed from here on leaves a record that
    // names the directory it pins into and the one it replaces.
    let intent = session.intent(Some(main_id), current.map(|c| c.id))?;
    let name = format!("dispatch-{}-{main_id}", session.ifindex);
    let dir_path = match pin_and_swap(session, mode, current, main_fd, main_id, &name, &attached) {
        Ok(path) => path,
        Err(error) => {
            // Rolled back: the record goes unless the new directory stayed.
            if matches!(session.xdp.stat_at(&name), Ok(None)) {
                let _ = intent.remove();
            }
            return Err(error);
        }
    };

    // Done: what follows only tidies up.
    let mut warnings = Vec::new();
    let mode = match mode {
        Mode::Auto => netlink::query(session.ifindex)
            .ok()
            .and_then(|state| crate::attach::attached_mode(&state, main_id))
            .unwrap_or(Mode::Auto),
        mode => mode,
    };
    let removed = match current {
        Some(c) => finish(session, c.id, intent, &mut warnings),
        None => {
            intent.remove_or_warn(&mut warnings);
            None
        }
    };
    let members = planned
        .iter()
        .zip(&attached)
        .enumerate()
        .map(|(slot, (p, (prog, link)))| Member {
            slot,
            prog_id: prog_info(prog.as_fd()).map_or(0, |i| i.id),
            name: p.name.clone(),
            link_id: link_info(link.as_fd()).map_or(0, |i| i.id),
            run_prio: p.run_prio,
            chain_call_actions: libxdp::action_names(p.chain),
            added: matches!(p.source, Source::New),
        })
        .collect();
    Ok(Rebuilt {
        dev: session.dev.clone(),
        ifindex: session.ifindex,
        mode,
        dispatcher_id: Some(main_id),
        replaced: current.map(|c| c.id),
        dir: Some(dir_path),
        members,
        removed,
        warnings,
        recovered: session.recovered.clone(),
    })
}

/// Steps 4 and 5: pins the components in `name` (a new directory of
/// `<bpffs>/xdp/`) and swaps dispatcher `main_id` into the slot; returns
/// the directory. On failure its pins and the directory are removed.
fn pin_and_swap(
    session: &Session,
    mode: Mode,
    current: Option<&Current>,
    main_fd: BorrowedFd<'_>,
    main_id: u32,
    name: &str,
    attached: &[(OwnedFd, OwnedFd)],
) -> Result<PathBuf, MultiprogError> {
    // Pinned where libxdp looks, before the swap: a loader that dies after
    // the swap leaves the components held.
    let mut pins = NewPins {
        xdp: &session.xdp,
        name: name.to_string(),
        dir: None,
        pinned: Vec::new(),
        keep: false,
    };
    session.xdp.make_dir(&pins.name, 0o700).map_err(|e| {
        session.kernel(
            format!("making {}", session.xdp.join(&pins.name).display()),
            e,
        )
    })?;
    let dir = session
        .xdp
        .open_dir(&pins.name)
        .map_err(|e| session.kernel("opening the new pin directory", e));
    let dir = match dir {
        Ok(dir) => dir,
        Err(error) => {
            let _ = session.xdp.remove_dir(&pins.name);
            return Err(error);
        }
    };
    let dir = pins.dir.insert(dir);
    for (slot, (prog, link)) in attached.iter().enumerate() {
        for (suffix, fd) in [("link", link), ("prog", prog)] {
            let name = format!("prog{slot}-{suffix}");
            dir.pin(fd.as_fd(), &name)
                .map_err(|e| session.kernel(format!("pinning {}", dir.join(&name).display()), e))?;
            pins.pinned.push(name);
        }
    }
    session.interrupted()?;

    // The swap: the old dispatcher expected, or an empty slot.
    let mut flags = mode.flags();
    let expected = current.map(|c| c.fd.as_fd());
    if expected.is_none() {
        flags |= XdpFlags::UPDATE_IF_NOEXIST;
    }
    netlink::attach(session.ifindex, main_fd, flags, expected).map_err(|e| {
        session.kernel(
            match current {
                Some(c) => format!(
                    "replacing dispatcher {} with {main_id} (XDP_FLAGS_REPLACE)",
                    c.id
                ),
                None => format!("attaching dispatcher {main_id}"),
            },
            e,
        )
    })?;
    pins.keep = true;
    Ok(dir.path().to_path_buf())
}

/// `BPF_LINK_CREATE` of freplace program `prog` into function `btf_id` of
/// `target` (attach type 0, as libbpf's `bpf_link_create` sends it).
fn attach_component(
    prog: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    btf_id: u32,
) -> Result<OwnedFd, SysError> {
    link_create(prog, Some(target), 0, btf_id)
}

fn io_error(error: &std::io::Error) -> SysError {
    SysError::new("dup", error.raw_os_error().unwrap_or(libc::EMFILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(name: &str, prio: u32, new: bool) -> Planned {
        Planned {
            source: if new {
                Source::New
            } else {
                Source::Existing(std::fs::File::open("/dev/null").unwrap().into())
            },
            name: name.to_string(),
            run_prio: prio,
            chain: 1 << 2,
            flags: 0,
        }
    }

    #[test]
    fn run_order_is_libxdps() {
        let mut list = vec![
            planned("b", 50, false),
            planned("a", 50, true),
            planned("z", 10, true),
            planned("a", 50, false),
        ];
        order(&mut list);
        let got: Vec<(&str, u32, bool)> = list
            .iter()
            .map(|p| (p.name.as_str(), p.run_prio, matches!(p.source, Source::New)))
            .collect();
        assert_eq!(
            got,
            [
                ("z", 10, true),
                ("a", 50, false),
                ("a", 50, true),
                ("b", 50, false)
            ]
        );
        let config = config_bytes(&list);
        assert_eq!(&config[..4], &[236, 2, 4, 0]);
        let word = |at: usize| u32::from_ne_bytes(config[at..at + 4].try_into().unwrap());
        assert_eq!(
            word(4),
            (1 << 2) | (1 << 31),
            "chain-call actions of slot 0"
        );
        assert_eq!(word(44), 10, "run priority of slot 0");
        assert_eq!(word(48), 50, "run priority of slot 1");
        assert_eq!(word(84), 0, "flags of slot 0");
        assert_eq!(config.len(), 124);
    }

    #[test]
    fn actions_as_xdp_loader_spells_them() {
        assert_eq!(parse_actions("XDP_PASS,XDP_DROP"), Ok((1 << 2) | (1 << 1)));
        assert_eq!(parse_actions("pass, tx"), Ok((1 << 2) | (1 << 3)));
        assert_eq!(parse_actions(""), Ok(0));
        assert!(parse_actions("XDP_PASS,XDP_FLY")
            .unwrap_err()
            .contains("\"XDP_FLY\" is not an XDP action"));
    }

    #[test]
    fn the_embedded_dispatcher_has_libxdps_layout() {
        let object = dispatcher_object().unwrap();
        assert_eq!(object.programs().len(), 1);
        assert_eq!(object.programs()[0].name(), DISPATCHER);
        let conf = object
            .globals()
            .into_iter()
            .find(|g| g.name == "conf")
            .unwrap();
        assert_eq!(
            (conf.section.as_str(), conf.size),
            (".rodata", CONFIG_SIZE as u32)
        );
        let btf = object.model().btf.as_ref().unwrap();
        for slot in 0..MAX_COMPONENTS {
            assert!(btf
                .find(rxdp_elf::btf::BtfKind::Func, &format!("prog{slot}"))
                .is_some());
        }
    }
}
