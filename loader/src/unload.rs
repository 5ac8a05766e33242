//! `rxdp unload`: detach what is attached to a device and remove the pins
//! rxdp made for it (`/sys/fs/bpf/rxdp/IF/MODE/`, and `/sys/fs/bpf/rxdp/IF/`
//! once empty). Shared pins (iproute2 `tc/globals`, pins by name) are left
//! alone: other objects may use them.
//!
//! - It takes the device's lock, as loads do: it never detaches a program
//!   whose load is still publishing its pins.
//! - Staging directories that dead loaders left are resolved first
//!   (`pin::recover`).
//! - Everything it will need to read is opened before it detaches
//!   anything: a user who may detach (`CAP_NET_ADMIN`) but not read the
//!   pins is refused with nothing changed.
//! - A program is detached only if it is still the one found
//!   (`XDP_FLAGS_REPLACE` with its fd as the expected one).
//! - A device that is gone or was renamed: its directory is found by name,
//!   and the records in it give the ifindex the load attached to; if the
//!   program the record names is still attached there (the device was
//!   renamed), it is detached. `unload` of the new name also removes the
//!   directory kept under the old name when its program is the one
//!   detached.
//! - Pins of the layout before `rxdp/` whose maps are those of a program
//!   detached are removed too (`legacy`).
//! - libxdp's dispatcher (xdp-loader's) is detached like any program, and
//!   the pins of its components in `<bpffs>/xdp/dispatch-IFINDEX-ID/`
//!   removed under libxdp's lock ([`crate::libxdp`]): `xdp-loader status`
//!   then shows nothing.
//! - A program attached through a BPF link that rxdp pinned (`--link`,
//!   [`LINK_PIN`] in the slot's directory) is detached with
//!   `BPF_LINK_DETACH`, then its pins go; a link rxdp did not pin is
//!   another tool's, and netlink's refusal says so.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use rxdp_syscalls::bpf::{link_detach, link_info, prog_get_fd_by_id, prog_info, ObjectKind};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::fs::lock::{self, Lock, LockError};
use rxdp_syscalls::fs::{Dir, EntryType};
use rxdp_syscalls::netlink::{self, Link};
use rxdp_syscalls::Error as SysError;

use crate::attach::attached_mode;
use crate::dispatch_record::{self, DispatchRecovery};
use crate::error::{hint, lock_advice, syscall};
use crate::legacy;
use crate::libxdp;
use crate::options::{Mode, DEFAULT_LOCK_TIMEOUT};
use crate::pin::{
    self, device_dir_name, device_lock, ifname_of_dir, open_bpffs, open_checked, read_record,
    PinError, Recovered,
};
use crate::pin_index::PinIndex;
use crate::record::{Record, RECORD};
use crate::xdp_link::{self, LINK_PIN};

/// What an unload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unloaded {
    /// The interface.
    pub ifname: String,
    /// The device's ifindex; for a device that is gone, the one its pins
    /// record (0 when none does).
    pub ifindex: u32,
    /// No interface has this name any more.
    pub gone: bool,
    /// For a name that is gone: the name the device its pins record (by
    /// ifindex) has now, when it is still there with their program (it
    /// was renamed).
    pub now_named: Option<String>,
    /// The programs detached, by slot.
    pub detached: Vec<(Mode, u32)>,
    /// The pin directories (and pins of the old layout) removed.
    pub removed: Vec<PathBuf>,
    /// Staging directories of dead loaders found and resolved first.
    pub recovered: Vec<Recovered>,
    /// Records of changes of the detached libxdp dispatcher whose loader
    /// died, resolved after it.
    pub dispatch_changes: Vec<DispatchRecovery>,
}

/// How an unload runs. Start from [`UnloadOptions::default`] and set what
/// differs: more fields may come.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnloadOptions {
    /// How long to wait for a load or unload of the same device.
    pub lock_timeout: Duration,
}

impl Default for UnloadOptions {
    fn default() -> UnloadOptions {
        UnloadOptions {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

/// What an unload had done when it stopped, for its error message: a
/// failed unload says what it changed and what it left, so that the user
/// knows the state of the device without looking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// The programs detached before the failure, by slot.
    pub detached: Vec<(Mode, u32)>,
    /// The pin directories removed before the failure.
    pub removed: Vec<PathBuf>,
}

impl Progress {
    /// `done: ...` for what was changed, or that nothing was.
    fn done(&self) -> String {
        let mut done: Vec<String> = self
            .detached
            .iter()
            .map(|(mode, id)| format!("detached the {mode} program (id {id})"))
            .collect();
        done.extend(
            self.removed
                .iter()
                .map(|dir| format!("removed {}", dir.display())),
        );
        if done.is_empty() {
            "nothing was changed".to_string()
        } else {
            format!("done before the failure: {}", done.join(", "))
        }
    }
}

/// Why an unload stopped, and what it had changed by then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnloadError {
    /// The interface could not be looked up: nothing was changed.
    #[error("{dev}: {}{}; nothing was changed", syscall(error), hint(error))]
    Device {
        /// The interface.
        dev: String,
        /// What failed.
        error: SysError,
    },
    /// No interface has this name, and rxdp keeps no pins for it.
    #[error("{dev}: no such interface, and no rxdp pins kept for it; nothing was changed")]
    Nothing {
        /// The interface, as named.
        dev: String,
    },
    /// The device's lock could not be taken (in time): nothing was changed.
    #[error("{dev}: lock: {error}{}; nothing was changed", lock_advice(error, &format!("device {dev}")))]
    Lock {
        /// The interface whose lock it is.
        dev: String,
        /// Why it was not taken.
        error: LockError,
    },
    /// A program could not be detached.
    #[error(
        "{dev}: detach the {mode} program (id {id}): {}{}; {}; program id {id} is still \
         attached and no pins were removed",
        syscall(error),
        hint(error),
        done.done()
    )]
    Detach {
        /// The interface.
        dev: String,
        /// The slot.
        mode: Mode,
        /// The kernel id of the program.
        id: u32,
        /// What failed.
        error: SysError,
        /// What was changed before the failure.
        done: Progress,
    },
    /// bpffs could not be found to remove the pins.
    #[error(
        "{dev}: find bpffs to remove the pins: {}{}; {}; the pins are left in place",
        syscall(error),
        hint(error),
        done.done()
    )]
    Bpffs {
        /// The interface.
        dev: String,
        /// What failed.
        error: SysError,
        /// What was changed before the failure.
        done: Progress,
    },
    /// A pin directory could not be read or removed, or is not rxdp's.
    #[error("{dev}: {error}; {}", done.done())]
    Pins {
        /// The interface.
        dev: String,
        /// What is wrong with the directory, or what failed.
        error: PinError,
        /// What was changed before the failure.
        done: Progress,
    },
}

impl UnloadError {
    /// What the unload changed before it failed.
    pub fn progress(&self) -> Option<&Progress> {
        match self {
            UnloadError::Device { .. } | UnloadError::Nothing { .. } | UnloadError::Lock { .. } => {
                None
            }
            UnloadError::Detach { done, .. }
            | UnloadError::Bpffs { done, .. }
            | UnloadError::Pins { done, .. } => Some(done),
        }
    }
}

/// The slots `mode` names: all three for `None` or auto.
fn slots(mode: Option<Mode>) -> Vec<Mode> {
    match mode {
        None | Some(Mode::Auto) => Mode::SLOTS.to_vec(),
        Some(mode) => vec![mode],
    }
}

/// A device directory and the slot directories in it to remove, with
/// their records, opened before anything changes.
struct DeviceDir {
    root_name: String,
    /// The slot directories, with the program and ifindex they record.
    slots: Vec<(Mode, Option<(u32, u32)>)>,
}

/// Detaches the programs of `dev` in `mode` (every mode when `None`) and
/// removes the pin directories rxdp made for those modes, waiting up to
/// the default time for a load of the device under way.
pub fn unload(dev: &str, mode: Option<Mode>) -> Result<Unloaded, UnloadError> {
    unload_with(dev, mode, &UnloadOptions::default())
}

/// [`unload`] with options. It stops at the first failure — pins are
/// removed only once their program is detached, a program whose jump
/// tables went would fall through — and the error says what had been
/// done by then ([`Progress`]).
pub fn unload_with(
    dev: &str,
    mode: Option<Mode>,
    options: &UnloadOptions,
) -> Result<Unloaded, UnloadError> {
    let link = match netlink::link_by_name(dev) {
        Ok(link) => Some(link),
        Err(error) if error.errno == libc::ENODEV => None,
        Err(error) => {
            return Err(UnloadError::Device {
                dev: dev.to_string(),
                error,
            })
        }
    };
    let lock_error = |dev: &str, error| UnloadError::Lock {
        dev: dev.to_string(),
        error,
    };
    let mut locks: Vec<Lock> = vec![lock::lock(&device_lock(dev), options.lock_timeout)
        .map_err(|error| lock_error(dev, error))?];
    let mut done = Progress::default();
    let pins_error = |error, done: &mut Progress| UnloadError::Pins {
        dev: dev.to_string(),
        error,
        done: std::mem::take(done),
    };
    let bpffs_root = bpffs::find_mount().map_err(|error| UnloadError::Bpffs {
        dev: dev.to_string(),
        error,
        done: Progress::default(),
    })?;
    let slots = slots(mode);

    // Everything to read is opened now, before anything changes.
    let mut recovered = Vec::new();
    let mut dirs: Vec<DeviceDir> = Vec::new();
    let mut root_dir: Option<Dir> = None;
    if let Some(bpffs_root) = &bpffs_root {
        let bpffs = open_bpffs(bpffs_root).map_err(|e| pins_error(e, &mut done))?;
        if let Some(root) = pin::open_root(bpffs, false).map_err(|e| pins_error(e, &mut done))? {
            if let Some(device) =
                pin::open_device_dir(&root, dev).map_err(|e| pins_error(e, &mut done))?
            {
                recovered =
                    pin::recover(&device, "", None).map_err(|e| pins_error(e, &mut done))?;
                dirs.push(device_dir(&device, &slots).map_err(|e| pins_error(e, &mut done))?);
            }
            if let Some(link) = &link {
                for (name, device) in
                    renamed_dirs(&root, dev, link, &slots).map_err(|e| pins_error(e, &mut done))?
                {
                    locks.push(
                        lock::lock(&device_lock(&name), options.lock_timeout)
                            .map_err(|error| lock_error(&name, error))?,
                    );
                    dirs.push(device_dir(&device, &slots).map_err(|e| pins_error(e, &mut done))?);
                }
            }
            root_dir = Some(root);
        }
    }
    // Slot directories of the old layout, to clean once their program goes.
    let legacy_slots = match &bpffs_root {
        Some(bpffs_root) => {
            legacy::present(bpffs_root, dev).map_err(|e| pins_error(e, &mut done))?
        }
        None => Vec::new(),
    };
    if link.is_none() && dirs.is_empty() {
        return Err(UnloadError::Nothing {
            dev: dev.to_string(),
        });
    }

    // The programs to detach: those in the device's slots, or, for a
    // device that is gone, those its records name, if still attached
    // where the records say (the device was renamed).
    let mut targets: Vec<(u32, Mode, u32)> = Vec::new();
    let only_them = link.is_none();
    match &link {
        Some(link) => {
            for &slot in &slots {
                if let Some(id) = slot_prog(link, slot) {
                    targets.push((link.ifindex, slot, id));
                }
            }
        }
        None => {
            for dir in &dirs {
                for (slot, record) in &dir.slots {
                    let Some((prog, ifindex)) = record else {
                        continue;
                    };
                    let still = netlink::link_by_index(*ifindex)
                        .ok()
                        .is_some_and(|l| attached_mode(&l.xdp, *prog) == Some(*slot));
                    if still && !targets.contains(&(*ifindex, *slot, *prog)) {
                        targets.push((*ifindex, *slot, *prog));
                    }
                }
            }
        }
    }
    let mut detached_maps: Vec<(Mode, Vec<u32>)> = Vec::new();
    let mut dispatch_changes = Vec::new();
    for (ifindex, slot, id) in targets {
        let mut pinned: Vec<u32> = root_dir.as_ref().map_or(Vec::new(), |root| {
            dirs.iter()
                .filter_map(|dir| pinned_link(root, &dir.root_name, slot))
                .collect()
        });
        // A link rxdp pinned elsewhere (`--pin-dir`): its pin's name says so.
        if let (true, Some(bpffs)) = (pinned.is_empty(), &bpffs_root) {
            pinned.extend(links_pinned_as_rxdp(bpffs));
        }
        // libxdp's dispatcher: its components' pins go with it.
        let dispatcher = prog_get_fd_by_id(id)
            .and_then(|fd| prog_info(fd.as_fd()))
            .is_ok_and(|info| info.name == libxdp::DISPATCHER);
        let detached =
            detach(ifindex, slot, id, only_them, &pinned).map_err(|error| UnloadError::Detach {
                dev: dev.to_string(),
                mode: slot,
                id,
                error,
                done: std::mem::take(&mut done),
            })?;
        if let Some(maps) = detached {
            done.detached.push((slot, id));
            if let (true, Some(bpffs)) = (dispatcher, &bpffs_root) {
                let removed = libxdp::remove_pins(bpffs, ifindex, id)
                    .map_err(|error| pins_error(error.into(), &mut done))?;
                done.removed.extend(removed);
                // Changes of this dispatcher whose loader died: what they
                // left goes with it (crate::dispatch_record).
                dispatch_changes.extend(
                    dispatch_record::recover_device(bpffs, ifindex)
                        .map_err(|error| pins_error(error, &mut done))?,
                );
            }
            detached_maps.push((slot, maps));
        }
    }

    if let Some(root) = &root_dir {
        for dir in &dirs {
            let device =
                pin::open_device_dir(root, &dir.ifname()).map_err(|e| pins_error(e, &mut done))?;
            let Some(device) = device else {
                continue;
            };
            for (slot, _) in &dir.slots {
                if pin::remove_pins_dir(&device, slot.name(), None)
                    .map_err(|e| pins_error(e, &mut done))?
                {
                    done.removed.push(device.join(slot.name()));
                }
            }
            drop(device);
            if pin::remove_if_bare(root, &dir.root_name).map_err(|e| pins_error(e, &mut done))? {
                done.removed.push(root.join(&dir.root_name));
            }
        }
    }
    if let Some(bpffs_root) = &bpffs_root {
        for (slot, maps) in detached_maps
            .iter()
            .filter(|(slot, _)| legacy_slots.contains(slot))
        {
            let removed = legacy::remove(bpffs_root, dev, *slot, maps)
                .map_err(|e| pins_error(e, &mut done))?;
            done.removed.extend(removed);
        }
    }
    drop(locks);
    let ifindex = match &link {
        Some(link) => link.ifindex,
        None => dirs
            .iter()
            .flat_map(|d| d.slots.iter())
            .find_map(|(_, record)| record.map(|(_, ifindex)| ifindex))
            .unwrap_or(0),
    };
    let now_named = match (&link, done.detached.is_empty()) {
        (None, false) => netlink::link_by_index(ifindex).ok().map(|l| l.name),
        _ => None,
    };
    Ok(Unloaded {
        ifname: link
            .as_ref()
            .map_or_else(|| dev.to_string(), |l| l.name.clone()),
        ifindex,
        gone: link.is_none(),
        now_named,
        detached: done.detached,
        removed: done.removed,
        recovered,
        dispatch_changes,
    })
}

impl DeviceDir {
    fn ifname(&self) -> String {
        ifname_of_dir(&self.root_name).unwrap_or_else(|| self.root_name.clone())
    }
}

/// The program in slot `mode` of `link`.
fn slot_prog(link: &Link, mode: Mode) -> Option<u32> {
    match mode {
        Mode::Skb => link.xdp.skb_prog_id,
        Mode::Drv => link.xdp.drv_prog_id,
        Mode::Hw => link.xdp.hw_prog_id,
        Mode::Auto => None,
    }
}

/// The slot directories of `device` among `slots`, opened (so that a user
/// who may not read them is refused before anything changes) with the
/// program and ifindex their records name.
fn device_dir(device: &Dir, slots: &[Mode]) -> Result<DeviceDir, PinError> {
    let mut found = Vec::new();
    for &slot in slots {
        let Some(dir) = open_checked(device, OsStr::new(slot.name()))? else {
            continue;
        };
        let record = match read_record(&dir)? {
            Some(Record::Pins(pins)) => pins.prog.zip(pins.ifindex),
            _ => None,
        };
        // What is in it must be readable too.
        dir.entries()?;
        found.push((slot, record));
    }
    let root_name = device
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(DeviceDir {
        root_name,
        slots: found,
    })
}

/// Device directories under another name whose pins are those of a
/// program attached to `link` now: the device was renamed after the load.
fn renamed_dirs(
    root: &Dir,
    dev: &str,
    link: &Link,
    slots: &[Mode],
) -> Result<Vec<(String, Dir)>, PinError> {
    let own = device_dir_name(dev);
    let mut out = Vec::new();
    for (name, kind) in root.entries()? {
        let name = name.to_string_lossy().into_owned();
        if kind != EntryType::Directory || name == own || name == RECORD {
            continue;
        }
        let Some(ifname) = ifname_of_dir(&name) else {
            continue;
        };
        let Some(device) = pin::open_device_dir(root, &ifname)? else {
            continue;
        };
        let ours = slots.iter().any(|&slot| {
            let record = open_checked(&device, OsStr::new(slot.name()))
                .ok()
                .flatten()
                .and_then(|dir| read_record(&dir).ok().flatten());
            matches!(record, Some(Record::Pins(pins))
                if pins.ifindex == Some(link.ifindex)
                    && pins.prog.is_some()
                    && pins.prog == slot_prog(link, slot))
        });
        if ours {
            out.push((ifname, device));
        }
    }
    Ok(out)
}

/// The ids of the BPF links pinned anywhere in bpffs under rxdp's name
/// for them ([`LINK_PIN`], which no map pin can have).
fn links_pinned_as_rxdp(bpffs: &std::path::Path) -> Vec<u32> {
    PinIndex::walk(bpffs)
        .pins
        .into_iter()
        .filter(|pin| {
            pin.kind == ObjectKind::Link && pin.path.file_name() == Some(OsStr::new(LINK_PIN))
        })
        .map(|pin| pin.id)
        .collect()
}

/// The id of the BPF link rxdp pinned in slot directory `slot` of device
/// directory `root_name`, if there is one.
fn pinned_link(root: &Dir, root_name: &str, slot: Mode) -> Option<u32> {
    let device = open_checked(root, OsStr::new(root_name)).ok()??;
    let dir = open_checked(&device, OsStr::new(slot.name())).ok()??;
    let stat = dir.stat_at(LINK_PIN).ok()??;
    if stat.kind != EntryType::File {
        return None;
    }
    let fd = dir.get(LINK_PIN).ok()?;
    link_info(fd.as_fd()).ok().map(|info| info.id)
}

/// Detaches slot `mode` of `ifindex`, where program `id` was found;
/// returns the ids of its maps (for its pins of the old layout). With
/// `only_it` (a program found through a record, on a device found by
/// ifindex), only if it is still that program: `None` when it is not.
/// When a link among `pinned` (those rxdp pinned for the slot) holds it,
/// the link is detached.
fn detach(
    ifindex: u32,
    mode: Mode,
    id: u32,
    only_it: bool,
    pinned: &[u32],
) -> Result<Option<Vec<u32>>, SysError> {
    if !pinned.is_empty() {
        if let Some((link_id, link)) = xdp_link::find(ifindex, id)? {
            if pinned.contains(&link_id) {
                let maps = prog_get_fd_by_id(id)
                    .and_then(|prog| prog_info(prog.as_fd()))
                    .map(|info| info.map_ids)
                    .unwrap_or_default();
                link_detach(link.as_fd())?;
                return Ok(Some(maps));
            }
        }
    }
    let prog = match prog_get_fd_by_id(id) {
        Ok(prog) => Some(prog),
        // Detached and freed meanwhile.
        Err(error) if error.errno == libc::ENOENT => return Ok(Some(Vec::new())),
        // Without CAP_SYS_ADMIN a program cannot be opened by id: detach
        // the slot, as netlink alone allows.
        Err(error)
            if matches!(error.errno, libc::EPERM | libc::EACCES)
                && !only_it
                && !error.is_injected() =>
        {
            None
        }
        Err(error) => return Err(error),
    };
    let maps = match &prog {
        Some(prog) => prog_info(prog.as_fd())?.map_ids,
        None => Vec::new(),
    };
    match (&prog, only_it) {
        (Some(prog), true) => match netlink::detach_expected(ifindex, mode.flags(), prog.as_fd()) {
            Err(error) if error.errno == libc::EEXIST => Ok(None),
            result => result.map(|()| Some(maps)),
        },
        _ => netlink::detach(ifindex, mode.flags()).map(|()| Some(maps)),
    }
}
