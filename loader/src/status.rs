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
//! device's lock at once; otherwise they are shown as they are. So are the
//! records of libxdp dispatcher changes whose loader died
//! (`dispatch_record::recover`), under libxdp's lock if it is free.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rxdp_elf::MapType;
use rxdp_syscalls::bpf::{
    enable_stats, map_get_fd_by_id, map_info, map_lookup_elem, prog_get_fd_by_id, prog_info,
    LinkInfo, ObjectKind, ProgInfo,
};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::fs::lock;
use rxdp_syscalls::fs::{Dir, EntryType};
use rxdp_syscalls::netlink::{self, Link};
use rxdp_syscalls::Error as SysError;

use crate::dispatch_record::{self, DispatchRecovery};
use crate::error::{hint, syscall};
use crate::legacy;
use crate::libxdp::{self, Dispatcher};
use crate::options::Mode;
use crate::pin::{
    self, dead_staging, device_dir_name, device_lock, ifname_of_dir, open_bpffs, open_checked,
    read_record, PinError, Recovered, StagingName,
};
use crate::pin_index::PinIndex;
use crate::record::{Record, RECORD};
use crate::xdp_link;

/// How a program holds its slot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachKind {
    /// `RTM_SETLINK` (`ip link`, `rxdp-load` by default): stays until
    /// detached or replaced through netlink.
    Netlink,
    /// A BPF link (`BPF_LINK_CREATE`): stays while the link has a
    /// reference (an fd, or a pin); netlink cannot replace it.
    Link {
        /// The link's kernel id.
        id: u32,
        /// Where it is pinned.
        pins: Vec<PathBuf>,
    },
    /// BPF links could not be listed (`BPF_LINK_GET_NEXT_ID` needs
    /// `CAP_SYS_ADMIN`): said in the notes.
    Unknown,
}

/// A jump-table entry: the program at `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpStatus {
    /// The key.
    pub key: u32,
    /// The program's id (what a prog array's lookup from user space gives).
    pub prog_id: u32,
    /// Its name, empty when it could not be read.
    pub name: String,
}

/// A map a program (or one it tail-calls) uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapStatus {
    /// The kernel's id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its type (`prog_array`, `percpu_array`).
    pub map_type: String,
    /// Every pin of it in bpffs (rxdp's, a `--pin-dir`, pins by name).
    pub pins: Vec<PathBuf>,
    /// For a prog array: its entries, by key.
    pub entries: Vec<JumpStatus>,
}

/// Run count and run time of a program, counted over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgStats {
    /// The program.
    pub id: u32,
    /// Runs in the window.
    pub run_count: u64,
    /// Nanoseconds spent in it in the window.
    pub run_time_ns: u64,
}

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
    /// Netlink or a BPF link.
    pub attach: AttachKind,
    /// The maps it uses, those of the programs its jump tables hold and,
    /// for a libxdp dispatcher, those of its components, in id order.
    pub maps: Vec<MapStatus>,
    /// With `--stats`: this program's and its tail-call targets' counts.
    pub stats: Vec<ProgStats>,
    /// When it is libxdp's dispatcher: its components.
    pub dispatcher: Option<Dispatcher>,
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
    /// Records of libxdp dispatcher changes: those of dead loaders
    /// resolved (or what is left of them), those under way.
    pub dispatch_changes: Vec<DispatchRecovery>,
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
    status_with(dev, None)
}

/// [`status`], and with `stats`, each program's run count and run time
/// over that window (`BPF_ENABLE_STATS` held for it).
pub fn status_with(
    dev: Option<&str>,
    stats: Option<Duration>,
) -> Result<StatusReport, StatusError> {
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
    let index = bpffs_root
        .as_deref()
        .map(PinIndex::walk)
        .unwrap_or_default();
    if index.truncated {
        report.notes.push(format!(
            "bpffs holds more than {} pins: only the first are shown",
            crate::pin_index::MAX_PINS
        ));
    }
    if let Some(bpffs) = &bpffs_root {
        // Of the device asked about, or of every device.
        let devices: Option<Vec<u32>> = dev.map(|_| links.iter().map(|l| l.ifindex).collect());
        dispatch_changes(bpffs, devices.as_deref(), &mut report);
    }
    let xdp_links = xdp_links(&mut report.notes);
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
            programs: programs(
                (link, bpffs_root.as_deref()),
                &xdp_links,
                &index,
                &mut report.notes,
            ),
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
    if let Some(window) = stats {
        count_runs(&mut report, window)?;
    }
    if let (Some(dev), true) = (dev, report.devices.is_empty()) {
        return Err(StatusError::Nothing {
            dev: dev.to_string(),
        });
    }
    Ok(report)
}

/// Resolves the records of dispatcher changes whose loader died (of the
/// devices `ifindexes`, or all), when libxdp's lock is free.
fn dispatch_changes(bpffs: &Path, ifindexes: Option<&[u32]>, report: &mut StatusReport) {
    let (root, xdp) = match dispatch_record::open_dirs(bpffs) {
        Ok((Some(root), xdp)) => (root, xdp),
        Ok((None, _)) => return,
        Err(error) => {
            report.notes.push(format!(
                "records of libxdp dispatcher changes are not resolved: {error}"
            ));
            return;
        }
    };
    if let Some(xdp) = &xdp {
        match xdp.try_lock_exclusive() {
            Ok(true) => {}
            Ok(false) => {
                report.notes.push(format!(
                    "{} is locked by a libxdp change under way: records of dispatcher changes \
                     are not resolved now",
                    xdp.path().display()
                ));
                return;
            }
            Err(error) => {
                report.notes.push(format!(
                    "records of libxdp dispatcher changes are not resolved: {error}"
                ));
                return;
            }
        }
    }
    let wanted: Vec<Option<u32>> = match ifindexes {
        Some(list) => list.iter().copied().map(Some).collect(),
        None => vec![None],
    };
    for ifindex in wanted {
        match dispatch_record::recover(&root, xdp.as_ref(), ifindex, true) {
            Ok(done) => report.dispatch_changes.extend(done),
            Err(error) => report.notes.push(format!(
                "records of libxdp dispatcher changes are not resolved: {error}"
            )),
        }
    }
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

/// Every XDP link in the kernel; a note when they cannot be listed.
fn xdp_links(notes: &mut Vec<String>) -> Option<Vec<LinkInfo>> {
    match xdp_link::all() {
        Ok(links) => Some(links.into_iter().map(|(info, _)| info).collect()),
        Err(error) => {
            notes.push(format!(
                "BPF links cannot be listed, so how programs are attached is not shown: {}{}",
                syscall(&error),
                hint(&error)
            ));
            None
        }
    }
}

/// The maps of program `info`, and of the programs its prog arrays hold,
/// transitively, each once, in id order.
fn maps_of(info: &ProgInfo, index: &PinIndex) -> Vec<MapStatus> {
    let mut maps: Vec<MapStatus> = Vec::new();
    let mut progs = vec![info.id];
    let mut todo = info.map_ids.clone();
    while let Some(id) = todo.pop() {
        if maps.iter().any(|map| map.id == id) {
            continue;
        }
        let Ok(fd) = map_get_fd_by_id(id) else {
            continue;
        };
        let Ok(map) = map_info(fd.as_fd()) else {
            continue;
        };
        let map_type = MapType(map.map_type);
        let mut entries = Vec::new();
        if map_type == MapType::PROG_ARRAY && map.key_size == 4 && map.value_size == 4 {
            for key in 0..map.max_entries {
                let mut value = [0u8; 4];
                // An empty slot is ENOENT: no entry.
                if !map_lookup_elem(fd.as_fd(), &key.to_ne_bytes(), &mut value).unwrap_or(false) {
                    continue;
                }
                let prog_id = u32::from_ne_bytes(value);
                let target = prog_get_fd_by_id(prog_id).and_then(|fd| prog_info(fd.as_fd()));
                let name = target.as_ref().map_or(String::new(), |t| t.name.clone());
                if let Ok(target) = target {
                    if !progs.contains(&target.id) {
                        progs.push(target.id);
                        todo.extend(target.map_ids.iter().copied());
                    }
                }
                entries.push(JumpStatus { key, prog_id, name });
            }
        }
        maps.push(MapStatus {
            id,
            name: map.name,
            map_type: map_type.name(),
            pins: index.of(ObjectKind::Map, id),
            entries,
        });
    }
    maps.sort_by_key(|map| map.id);
    maps
}

/// The programs in the slots of `link`; names that cannot be read are
/// left empty, with a note.
fn programs(
    (link, bpffs): (&Link, Option<&Path>),
    xdp_links: &Option<Vec<LinkInfo>>,
    index: &PinIndex,
    notes: &mut Vec<String>,
) -> Vec<SlotStatus> {
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
        let mut maps = info
            .as_ref()
            .map_or(Vec::new(), |info| maps_of(info, index));
        let dispatcher = info
            .as_ref()
            .ok()
            .and_then(|info| libxdp::dispatcher(bpffs, link.ifindex, info));
        // A dispatcher's own map is its config; what users read are its
        // components' maps (each component holds its own: libxdp pins
        // them nowhere unless asked).
        for component in dispatcher.iter().flat_map(|d| &d.components) {
            let Some((id, _)) = component.prog else {
                continue;
            };
            let Ok(component) = prog_get_fd_by_id(id).and_then(|fd| prog_info(fd.as_fd())) else {
                continue;
            };
            for map in maps_of(&component, index) {
                if !maps.iter().any(|known| known.id == map.id) {
                    maps.push(map);
                }
            }
        }
        maps.sort_by_key(|map| map.id);
        let attach = match xdp_links {
            None => AttachKind::Unknown,
            Some(links) => links
                .iter()
                .find(|l| l.ifindex == link.ifindex && l.prog_id == id)
                .map_or(AttachKind::Netlink, |l| AttachKind::Link {
                    id: l.id,
                    pins: index.of(ObjectKind::Link, l.id),
                }),
        };
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
            attach,
            maps,
            stats: Vec::new(),
            dispatcher,
        }
    })
    .collect()
}

/// Fills each slot's `stats`: run count and time of its program and of
/// those its jump tables hold, counted over `window` with
/// `BPF_ENABLE_STATS` held (the counters only move while some holder
/// keeps stats enabled; the difference is this window's share).
fn count_runs(report: &mut StatusReport, window: Duration) -> Result<(), StatusError> {
    let ids = |slot: &SlotStatus| {
        let mut ids = vec![slot.id];
        for entry in slot.maps.iter().flat_map(|map| &map.entries) {
            if !ids.contains(&entry.prog_id) {
                ids.push(entry.prog_id);
            }
        }
        ids
    };
    let counters = |id: u32| {
        prog_get_fd_by_id(id)
            .and_then(|fd| prog_info(fd.as_fd()))
            .map(|info| (info.run_count, info.run_time_ns))
            .ok()
    };
    let enabled = enable_stats().map_err(|error| StatusError::Kernel {
        what: "--stats".to_string(),
        error,
    })?;
    let before: Vec<Vec<Option<(u64, u64)>>> = report
        .devices
        .iter()
        .flat_map(|device| &device.programs)
        .map(|slot| ids(slot).into_iter().map(counters).collect())
        .collect();
    std::thread::sleep(window);
    let slots = report
        .devices
        .iter_mut()
        .flat_map(|device| &mut device.programs);
    for (slot, before) in slots.zip(before) {
        for (id, before) in ids(slot).into_iter().zip(before) {
            if let (Some((count0, time0)), Some((count1, time1))) = (before, counters(id)) {
                slot.stats.push(ProgStats {
                    id,
                    run_count: count1.saturating_sub(count0),
                    run_time_ns: time1.saturating_sub(time0),
                });
            }
        }
    }
    drop(enabled);
    Ok(())
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
