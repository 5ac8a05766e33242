//! `rxdp status`: for each interface, what runs in each XDP slot (program
//! id, name and tag, from `BPF_PROG_GET_FD_BY_ID` and its info) and which
//! pin directories rxdp keeps for it under `/sys/fs/bpf/rxdp/IF/`, with
//! the program each one's record names and whether that program is the
//! one attached.
//!
//! It reads only rxdp's directories (and, for each interface, the slot
//! directories of the old layout, `/sys/fs/bpf/IF/MODE/`). What it cannot
//! read — a directory closed to this user, a program's name without
//! `CAP_SYS_ADMIN` — is skipped and said in [`StatusReport::notes`]; only
//! a failure to list the interfaces at all is an error.
//!
//! Staging directories whose loader died are resolved, as the next load
//! would (`pin::recover`), when this process may take the
//! device's lock at once; otherwise they are shown as they are.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rxdp_syscalls::bpf::{prog_get_fd_by_id, prog_info};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::fs::lock;
use rxdp_syscalls::fs::{Dir, EntryType};
use rxdp_syscalls::netlink::{self, Link};
use rxdp_syscalls::Error as SysError;

use crate::error::{hint, syscall};
use crate::legacy;
use crate::options::Mode;
use crate::pin::{
    self, dead_staging, device_dir_name, device_lock, ifname_of_dir, open_bpffs, open_checked,
    read_record, PinError, Recovered, StagingName,
};
use crate::record::{Record, RECORD};

/// One attached program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotStatus {
    /// The slot.
    pub mode: Mode,
    /// The program's kernel id.
    pub id: u32,
    /// Empty when it could not be read (the program went away between the
    /// query and the lookup, or opening it by id needs `CAP_SYS_ADMIN`).
    pub name: String,
    /// Its tag, in hex.
    pub tag: String,
}

/// What a pin directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinState {
    /// The pins of the program attached in this slot.
    Attached,
    /// The pins of a program no longer attached here (detached by another
    /// tool, or replaced by one).
    Stale,
    /// A load under way is pinning here (its loader is running).
    Staging {
        /// The loader's pid.
        loader: u32,
    },
    /// Left by a loader that died, not resolved (this process could not
    /// take the device's lock).
    Abandoned {
        /// The dead loader's pid.
        loader: u32,
    },
    /// The layout before `rxdp/` (`/sys/fs/bpf/IF/MODE/`), without a record.
    Legacy,
    /// Its record names no program (not attached at load).
    Unknown,
}

/// One pin directory and its entries, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinDir {
    /// The directory.
    pub dir: PathBuf,
    /// The mode the directory is for (`skb`, `drv`, `hw`), if it is one.
    pub mode: Option<Mode>,
    /// The pins in it.
    pub pins: Vec<String>,
    /// The program its record names.
    pub prog: Option<u32>,
    /// Whether that program is the one attached, or what else the
    /// directory is.
    pub state: PinState,
}

/// An interface with XDP programs or rxdp pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    /// The interface.
    pub ifname: String,
    /// Its index; for an interface that is gone, the ifindex its pins
    /// record (0 if none).
    pub ifindex: u32,
    /// No interface has this name any more: only its pins are left
    /// (`rxdp unload --dev IF` removes them).
    pub gone: bool,
    /// The programs in its XDP slots.
    pub programs: Vec<SlotStatus>,
    /// rxdp's pin directories for it.
    pub pins: Vec<PinDir>,
}

/// What `rxdp status` found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusReport {
    /// The interfaces with XDP programs or rxdp pins, and the gone ones
    /// whose pins are left.
    pub devices: Vec<DeviceStatus>,
    /// Staging directories of dead loaders resolved on the way.
    pub recovered: Vec<Recovered>,
    /// What could not be read or done, and so is not shown.
    pub notes: Vec<String>,
}

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// A syscall failed.
    #[error("{what}: {}{}", syscall(error), hint(error))]
    Kernel {
        /// What was being read: an interface, a directory.
        what: String,
        /// What failed.
        error: SysError,
    },
    /// The interface asked about does not exist, and rxdp keeps no pins
    /// for that name.
    #[error("{dev}: no such interface, and no rxdp pins kept for it")]
    Nothing {
        /// The interface, as named.
        dev: String,
    },
}

/// The status of `dev`, or of every interface with XDP programs or pins.
pub fn status(dev: Option<&str>) -> Result<StatusReport, StatusError> {
    let kernel = |what: &str| {
        let what = what.to_string();
        move |error| StatusError::Kernel { what, error }
    };
    let links = match dev {
        Some(dev) => match netlink::link_by_name(dev) {
            Ok(link) => vec![link],
            Err(error) if error.errno == libc::ENODEV => Vec::new(),
            Err(error) => return Err(kernel(dev)(error)),
        },
        None => netlink::links().map_err(kernel("interfaces"))?,
    };
    let mut report = StatusReport::default();
    let bpffs_root = match bpffs::find_mount() {
        Ok(root) => root,
        Err(error) => {
            report.notes.push(format!(
                "bpffs could not be found, pins are not shown: {error}"
            ));
            None
        }
    };
    let root = bpffs_root
        .as_deref()
        .and_then(|bpffs| rxdp_root(bpffs, &mut report.notes));
    // Device directories by name; those of no interface are gone ones.
    let mut dir_names: Vec<String> = match &root {
        Some(root) => match root.entries() {
            Ok(entries) => entries
                .into_iter()
                .filter(|(name, kind)| *kind == EntryType::Directory && name != RECORD)
                .filter_map(|(name, _)| ifname_of_dir(&name.to_string_lossy()))
                .collect(),
            Err(error) => {
                report.notes.push(format!("{error}: pins are not shown"));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    for link in &links {
        dir_names.retain(|name| *name != link.name);
        let mut status = DeviceStatus {
            ifname: link.name.clone(),
            ifindex: link.ifindex,
            gone: false,
            programs: programs(link, &mut report.notes),
            pins: Vec::new(),
        };
        if let Some(root) = &root {
            status.pins = device_pins(root, &link.name, Some(link), &mut report);
        }
        if let Some(bpffs) = &bpffs_root {
            status
                .pins
                .extend(legacy_pins(bpffs, &link.name, &mut report.notes));
        }
        if dev.is_some() || !status.programs.is_empty() || !status.pins.is_empty() {
            report.devices.push(status);
        }
    }
    if let Some(root) = &root {
        for name in dir_names {
            if dev.is_some_and(|dev| dev != name) {
                continue;
            }
            let pins = device_pins(root, &name, None, &mut report);
            let ifindex = pins
                .iter()
                .find_map(|dir| recorded_ifindex(root, &name, &dir.dir))
                .unwrap_or(0);
            report.devices.push(DeviceStatus {
                ifname: name,
                ifindex,
                gone: true,
                programs: Vec::new(),
                pins,
            });
        }
    }
    if let (Some(dev), true) = (dev, report.devices.is_empty()) {
        return Err(StatusError::Nothing {
            dev: dev.to_string(),
        });
    }
    Ok(report)
}

/// `<bpffs>/rxdp`, or `None` (with a note when it exists but cannot be
/// read or used).
fn rxdp_root(bpffs: &Path, notes: &mut Vec<String>) -> Option<Dir> {
    let opened = open_bpffs(bpffs).and_then(|bpffs| pin::open_root(bpffs, false));
    match opened {
        Ok(root) => root,
        Err(error) => {
            notes.push(format!("{error}; rxdp's pins are not shown"));
            None
        }
    }
}

/// The programs in the slots of `link`; names that cannot be read are
/// left empty, with a note.
fn programs(link: &Link, notes: &mut Vec<String>) -> Vec<SlotStatus> {
    let state = &link.xdp;
    [
        (Mode::Skb, state.skb_prog_id),
        (Mode::Drv, state.drv_prog_id),
        (Mode::Hw, state.hw_prog_id),
    ]
    .into_iter()
    .filter_map(|(mode, id)| id.map(|id| (mode, id)))
    .map(|(mode, id)| {
        let info = prog_get_fd_by_id(id).and_then(|fd| prog_info(fd.as_fd()));
        let (name, tag) = match info {
            Ok(info) => (info.name.clone(), info.tag_hex()),
            // Detached and freed between the query and the lookup.
            Err(error) if error.errno == libc::ENOENT => (String::new(), String::new()),
            Err(error) => {
                notes.push(format!(
                    "{}: the {mode} program (id {id}): its name and tag cannot be read: {}{}",
                    link.name,
                    syscall(&error),
                    hint(&error)
                ));
                (String::new(), String::new())
            }
        };
        SlotStatus {
            mode,
            id,
            name,
            tag,
        }
    })
    .collect()
}

/// The ifindex recorded in the pin directory `dir` of device `name`.
fn recorded_ifindex(root: &Dir, name: &str, dir: &Path) -> Option<u32> {
    let device = pin::open_device_dir(root, name).ok()??;
    let slot = open_checked(&device, dir.file_name()?).ok()??;
    match read_record(&slot).ok()?? {
        Record::Pins(pins) => pins.ifindex,
        _ => None,
    }
}

/// The pin directories of device `ifname` (attached program states from
/// `link`); dead loaders' staging directories resolved when the lock is free.
fn device_pins(
    root: &Dir,
    ifname: &str,
    link: Option<&Link>,
    report: &mut StatusReport,
) -> Vec<PinDir> {
    let device = match pin::open_device_dir(root, ifname) {
        Ok(Some(device)) => device,
        Ok(None) => return Vec::new(),
        Err(error) => {
            report
                .notes
                .push(format!("{error}; its pins are not shown"));
            return Vec::new();
        }
    };
    if dead_staging(&device, "").is_ok_and(|dead| !dead.is_empty()) {
        resolve_dead(&device, ifname, report);
    }
    let entries = match device.entries() {
        Ok(entries) => entries,
        Err(error) => {
            report
                .notes
                .push(format!("{error}; its pins are not shown"));
            return Vec::new();
        }
    };
    let mut dirs = Vec::new();
    for (name, kind) in entries {
        if kind != EntryType::Directory {
            continue;
        }
        match pin_dir(&device, &name, link) {
            Ok(Some(dir)) => dirs.push(dir),
            Ok(None) => {}
            Err(error) => report.notes.push(format!("{error}; not shown")),
        }
    }
    dirs
}

/// Resolves the staging directories dead loaders left in `device`, if
/// the device's lock can be had at once.
fn resolve_dead(device: &Dir, ifname: &str, report: &mut StatusReport) {
    match lock::try_lock(&device_lock(ifname)) {
        Ok(Some(_lock)) => match pin::recover(device, "", None) {
            Ok(done) => report.recovered.extend(done),
            Err(error) => report.notes.push(format!(
                "staging directories left by loaders that died could not be resolved: {error}"
            )),
        },
        Ok(None) => {}
        Err(error) => report.notes.push(format!(
            "{}: staging directories left by loaders that died are shown, not resolved: {error}",
            device.path().display()
        )),
    }
}

/// One directory of a device directory: a slot's pins or a staging one.
fn pin_dir(device: &Dir, name: &OsStr, link: Option<&Link>) -> Result<Option<PinDir>, PinError> {
    let Some(dir) = open_checked(device, name)? else {
        return Ok(None);
    };
    let text = name.to_string_lossy();
    let mode = Mode::SLOTS.into_iter().find(|mode| mode.name() == text);
    let record = match read_record(&dir)? {
        Some(Record::Pins(pins)) => Some(pins),
        _ => None,
    };
    let prog = record.as_ref().and_then(|pins| pins.prog);
    let state = match (mode, StagingName::parse("", &text)) {
        (Some(mode), _) => {
            let attached = link.and_then(|link| match mode {
                Mode::Skb => link.xdp.skb_prog_id,
                Mode::Drv => link.xdp.drv_prog_id,
                Mode::Hw => link.xdp.hw_prog_id,
                Mode::Auto => None,
            });
            match prog {
                Some(prog) if attached == Some(prog) => PinState::Attached,
                Some(_) => PinState::Stale,
                None => PinState::Unknown,
            }
        }
        (None, Some(staging)) if staging.loader.is_running() => PinState::Staging {
            loader: staging.loader.pid,
        },
        (None, Some(staging)) => PinState::Abandoned {
            loader: staging.loader.pid,
        },
        (None, None) => PinState::Unknown,
    };
    let pins = dir
        .entries()?
        .into_iter()
        .filter(|(name, _)| name != RECORD)
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect();
    Ok(Some(PinDir {
        dir: dir.path().to_path_buf(),
        mode,
        pins,
        prog,
        state,
    }))
}

/// The slot directories of the old layout for `ifname`.
fn legacy_pins(bpffs: &Path, ifname: &str, notes: &mut Vec<String>) -> Vec<PinDir> {
    // Only names a device of the old layout could have had.
    if device_dir_name(ifname) != ifname {
        return Vec::new();
    }
    match legacy::dirs(bpffs, ifname) {
        Ok(dirs) => dirs
            .into_iter()
            .map(|(mode, dir, pins)| PinDir {
                dir,
                mode: Some(mode),
                pins,
                prog: None,
                state: PinState::Legacy,
            })
            .collect(),
        Err(error) => {
            notes.push(format!("{error}; not shown"));
            Vec::new()
        }
    }
}
