//! [`SimKernel`]: a small model of the kernel behind the fake seam.
//!
//! What it keeps: maps with their contents (arrays, prog arrays, hashes,
//! per-CPU variants; frozen maps refuse writes), programs, BTF objects,
//! pins by path, links, and network devices with their three XDP slots.
//! What it enforces, with the kernel's errnos and extack words: the slot
//! rules of `RTM_SETLINK` (`UPDATE_IF_NOEXIST`, `REPLACE` with the expected
//! program, native and generic never together, a link's slot taken by no
//! netlink request), array bounds, `BPF_NOEXIST`/`BPF_EXIST`, a full hash.
//! A link detaches when the last fd to it is closed and it has no pin, as
//! in the kernel (checked at each netlink request).
//!
//! What a test adds: devices ([`SimKernel::add_device`]), programs of
//! "another tool" in a slot ([`SimKernel::attach_foreign`]), failures
//! ([`SimKernel::fail`]), a verifier refusal with its log
//! ([`SimKernel::reject_program`]), a race that puts a foreign program in
//! a slot just before the next attach ([`SimKernel::race_next_attach`]), a
//! device renamed right after it ([`SimKernel::rename_after_next_attach`]).
//! What it reads back: the log of every call in order ([`SimKernel::log`]),
//! the devices, map contents, pins, and which handed-out fds are still
//! open ([`SimKernel::open_fds`]).

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use crate::bpf::{
    possible_cpus, LinkInfo, MapInfo, ProgInfo, BPF_EXIST, BPF_NOEXIST, LINK_TYPE_XDP,
};
use crate::error::{Error, Result};
use crate::fake::{
    is_open, key_of_raw_fd, object_fd, Answer, Call, Handler, NetlinkCall, ObjectKey,
};
use crate::netlink::{Link, XdpFlags, XdpState};

const PROG_ARRAY: u32 = 3;
const PERCPU_HASH: u32 = 5;
const PERCPU_ARRAY: u32 = 6;
const LRU_PERCPU_HASH: u32 = 10;
const ARRAY_TYPES: [u32; 3] = [2, PROG_ARRAY, PERCPU_ARRAY];

/// A device of the simulated kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// Its index.
    pub ifindex: u32,
    /// Its name.
    pub name: String,
    /// Whether its driver has native XDP (auto mode goes there).
    pub native: bool,
    /// The programs in its slots.
    pub xdp: XdpState,
    /// The id of the program a link holds, if a link holds a slot.
    pub link: Option<u32>,
}

#[derive(Debug)]
enum Kind {
    Map {
        map_type: u32,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        flags: u32,
        entries: BTreeMap<Vec<u8>, Vec<u8>>,
        frozen: bool,
    },
    Prog {
        prog_type: u32,
        insns: usize,
        ifindex: u32,
    },
    Btf,
    Link {
        ifindex: u32,
        prog_id: u32,
    },
}

#[derive(Debug)]
struct Object {
    key: ObjectKey,
    id: u32,
    name: String,
    kind: Kind,
    /// The simulator's own reference, to hand out dups.
    fd: OwnedFd,
}

/// A failure to inject: the `nth` next call of `op` fails with `errno`.
#[derive(Debug, Clone)]
struct Failure {
    op: &'static str,
    nth: usize,
    errno: i32,
    message: Option<String>,
}

/// A model kernel for [`super::install`]; see the module documentation.
#[derive(Default)]
pub struct SimKernel {
    objects: Vec<Object>,
    devices: Vec<Device>,
    pins: BTreeMap<PathBuf, ObjectKey>,
    /// With a fake bpffs: each pin is a file there, by the file's identity.
    pin_files: Vec<(ObjectKey, ObjectKey)>,
    bpffs: Option<PathBuf>,
    lock_dir: Option<PathBuf>,
    handed: Vec<(RawFd, ObjectKey)>,
    failures: Vec<Failure>,
    rejected: Vec<(String, String)>,
    race: Option<(u32, XdpFlags)>,
    rename: Option<(u32, String)>,
    log: Vec<String>,
    next_id: u32,
}

impl std::fmt::Debug for SimKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimKernel")
            .field("devices", &self.devices)
            .field("pins", &self.pins)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// The uapi name of a call, for the log and for failures.
fn op_of(call: &Call<'_>) -> &'static str {
    match call {
        Call::MapCreate { .. } => "BPF_MAP_CREATE",
        Call::MapLookup { .. } => "BPF_MAP_LOOKUP_ELEM",
        Call::MapUpdate { .. } => "BPF_MAP_UPDATE_ELEM",
        Call::MapDelete { .. } => "BPF_MAP_DELETE_ELEM",
        Call::MapNextKey { .. } => "BPF_MAP_GET_NEXT_KEY",
        Call::MapFreeze { .. } => "BPF_MAP_FREEZE",
        Call::ProgLoad { .. } => "BPF_PROG_LOAD",
        Call::BtfLoad { .. } => "BPF_BTF_LOAD",
        Call::ObjPin { .. } => "BPF_OBJ_PIN",
        Call::ObjGet { .. } => "BPF_OBJ_GET",
        Call::Info { .. } => "BPF_OBJ_GET_INFO_BY_FD",
        Call::ProgById { .. } => "BPF_PROG_GET_FD_BY_ID",
        Call::MapById { .. } => "BPF_MAP_GET_FD_BY_ID",
        Call::LinkCreate { .. } => "BPF_LINK_CREATE",
        Call::Other { op } => op,
    }
}

fn refuse(errno: i32, message: &str) -> Error {
    Error::new("", errno).with_kernel_message(message.to_string())
}

fn errno(errno: i32) -> Error {
    Error::new("", errno)
}

/// `RawFd` of a prog-array value.
fn fd_in(value: &[u8]) -> RawFd {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&value[..4]);
    i32::from_ne_bytes(bytes)
}

impl SimKernel {
    /// An empty kernel: no objects, no devices.
    pub fn new() -> SimKernel {
        SimKernel {
            next_id: 1,
            ..SimKernel::default()
        }
    }

    /// Gives the kernel a filesystem under `dir`: `dir/bpf` is its bpffs
    /// (pins are files there, found again by identity, so renames keep
    /// them), `dir/run` its lock directory (mode 0700). Both are made.
    pub fn with_fs(mut self, dir: &std::path::Path) -> Result<SimKernel> {
        use std::os::unix::fs::DirBuilderExt;
        let io = |error: std::io::Error| errno(error.raw_os_error().unwrap_or(libc::EIO));
        let (bpf, run) = (dir.join("bpf"), dir.join("run"));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&bpf)
            .map_err(io)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&run)
            .map_err(io)?;
        self.bpffs = Some(bpf);
        self.lock_dir = Some(run);
        Ok(self)
    }

    /// Adds a device (native XDP, like veth) and returns its ifindex.
    pub fn add_device(&mut self, name: &str) -> u32 {
        let ifindex = self.devices.len() as u32 + 2;
        self.devices.push(Device {
            ifindex,
            name: name.to_string(),
            native: true,
            xdp: XdpState::default(),
            link: None,
        });
        ifindex
    }

    /// Removes device `ifindex` (and what is attached to it).
    pub fn remove_device(&mut self, ifindex: u32) {
        self.devices.retain(|d| d.ifindex != ifindex);
    }

    /// Renames device `ifindex`.
    pub fn rename_device(&mut self, ifindex: u32, name: &str) {
        if let Some(device) = self.devices.iter_mut().find(|d| d.ifindex == ifindex) {
            device.name = name.to_string();
        }
    }

    /// The devices.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// The device `ifindex`.
    pub fn device(&self, ifindex: u32) -> Option<&Device> {
        self.devices.iter().find(|d| d.ifindex == ifindex)
    }

    /// Loads a program of another tool and puts it in the slot `mode`
    /// (one of `SKB_MODE`, `DRV_MODE`, `HW_MODE`) names; its id.
    pub fn attach_foreign(&mut self, ifindex: u32, mode: XdpFlags, name: &str) -> Result<u32> {
        let (fd, key) = object_fd(name)?;
        let id = self.add(
            key,
            name,
            Kind::Prog {
                prog_type: 6,
                insns: 2,
                ifindex: 0,
            },
            fd,
        );
        let device = self
            .devices
            .iter_mut()
            .find(|d| d.ifindex == ifindex)
            .ok_or_else(|| errno(libc::ENODEV))?;
        *slot(&mut device.xdp, mode) = Some(id);
        Ok(id)
    }

    /// Makes the `nth` next call (from 1) named `op` (`BPF_MAP_CREATE`,
    /// `RTM_SETLINK`...) and every later one fail with `errno` and, if
    /// given, this extack text.
    pub fn fail(&mut self, op: &'static str, nth: usize, errno: i32, message: Option<&str>) {
        self.failures.push(Failure {
            op,
            nth,
            errno,
            message: message.map(str::to_string),
        });
    }

    /// Makes the verifier refuse program `name` (EACCES) with `log`.
    pub fn reject_program(&mut self, name: &str, log: &str) {
        self.rejected.push((name.to_string(), log.to_string()));
    }

    /// Before the next `RTM_SETLINK` that attaches, another tool attaches
    /// a program of its own in the slot `mode` names on `ifindex`.
    pub fn race_next_attach(&mut self, ifindex: u32, mode: XdpFlags) {
        self.race = Some((ifindex, mode));
    }

    /// Right after the next attach succeeds, device `ifindex` is renamed
    /// `name` (by someone else, between rxdp's lookup and its check).
    pub fn rename_after_next_attach(&mut self, ifindex: u32, name: &str) {
        self.rename = Some((ifindex, name.to_string()));
    }

    /// Every call so far, in order: `BPF_MAP_CREATE counters`,
    /// `RTM_SETLINK 2 attach xdp_prog0 SKB_MODE | UPDATE_IF_NOEXIST`...
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// The log lines that start with `op`.
    pub fn calls(&self, op: &str) -> Vec<&str> {
        self.log
            .iter()
            .filter(|line| line.starts_with(op))
            .map(String::as_str)
            .collect()
    }

    /// The objects some fd handed out is still open on, by kind and name
    /// (`map counters`, `prog xdp_prog0`, `link`, `btf`).
    pub fn open_fds(&self) -> Vec<String> {
        let mut open: Vec<String> = self
            .handed
            .iter()
            .filter(|(fd, key)| is_open(*fd, *key))
            .filter_map(|(_, key)| self.object(*key).map(describe))
            .collect();
        open.dedup();
        open
    }

    /// The pins, by path.
    pub fn pins(&self) -> Vec<PathBuf> {
        self.pins.keys().cloned().collect()
    }

    /// The name of the program with this id.
    pub fn prog_name(&self, id: u32) -> Option<&str> {
        self.objects
            .iter()
            .find(|o| o.id == id && matches!(o.kind, Kind::Prog { .. }))
            .map(|o| o.name.as_str())
    }

    /// The value at `key` of the map named `map` (the first of that name).
    pub fn map_value(&self, map: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.objects.iter().find_map(|o| match &o.kind {
            Kind::Map { entries, .. } if o.name == map => entries.get(key).cloned(),
            _ => None,
        })
    }

    fn object(&self, key: ObjectKey) -> Option<&Object> {
        self.objects.iter().find(|o| o.key == key)
    }

    fn object_mut(&mut self, key: ObjectKey) -> Result<&mut Object> {
        self.objects
            .iter_mut()
            .find(|o| o.key == key)
            .ok_or_else(|| errno(libc::EBADF))
    }

    fn prog_id(&self, key: ObjectKey) -> Result<u32> {
        match self.object(key) {
            Some(o) if matches!(o.kind, Kind::Prog { .. }) => Ok(o.id),
            _ => Err(errno(libc::EINVAL)),
        }
    }

    fn add(&mut self, key: ObjectKey, name: &str, kind: Kind, fd: OwnedFd) -> u32 {
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        self.objects.push(Object {
            key,
            id,
            name: name.to_string(),
            kind,
            fd,
        });
        id
    }

    /// A new object and the fd handed out for it.
    fn create(&mut self, name: &str, kind: Kind) -> Result<(Answer, u32)> {
        let (fd, key) = object_fd(name)?;
        let handed = fd.try_clone().map_err(|_| errno(libc::EMFILE))?;
        let id = self.add(key, name, kind, fd);
        self.handed.push((handed.as_raw_fd(), key));
        Ok((Answer::Fd(handed), id))
    }

    /// A new fd on an existing object.
    fn dup(&mut self, key: ObjectKey) -> Result<Answer> {
        let object = self.object(key).ok_or_else(|| errno(libc::ENOENT))?;
        let fd = object.fd.try_clone().map_err(|_| errno(libc::EMFILE))?;
        self.handed.push((fd.as_raw_fd(), key));
        Ok(Answer::Fd(fd))
    }

    fn by_id(&mut self, id: u32, prog: bool) -> Result<Answer> {
        let key = self
            .objects
            .iter()
            .find(|o| o.id == id && matches!(o.kind, Kind::Prog { .. }) == prog)
            .map(|o| o.key)
            .ok_or_else(|| errno(libc::ENOENT))?;
        self.dup(key)
    }

    /// A failure planned for this call: the `nth` call of its op and
    /// every later one (a retry with a log fails as the first try did).
    fn planned(&mut self, op: &'static str) -> Option<Error> {
        let failure = self.failures.iter_mut().find(|f| f.op == op)?;
        failure.nth = failure.nth.saturating_sub(1);
        if failure.nth > 0 {
            return None;
        }
        let error = errno(failure.errno);
        Some(match &failure.message {
            Some(message) => error.with_kernel_message(message.clone()),
            None => error,
        })
    }

    /// Links whose last fd closed (and that have no pin) detach.
    fn reap_links(&mut self) {
        let mut pinned: Vec<ObjectKey> = self.pins.values().copied().collect();
        pinned.extend(self.pin_files.iter().map(|(_, object)| *object));
        let dead: Vec<(ObjectKey, u32)> = self
            .objects
            .iter()
            .filter_map(|o| match o.kind {
                Kind::Link { ifindex, .. } => Some((o.key, ifindex)),
                _ => None,
            })
            .filter(|(key, _)| {
                !pinned.contains(key)
                    && !self
                        .handed
                        .iter()
                        .any(|(fd, k)| k == key && is_open(*fd, *key))
            })
            .collect();
        for (key, ifindex) in dead {
            if let Some(device) = self.devices.iter_mut().find(|d| d.ifindex == ifindex) {
                if let Some(id) = device.link.take() {
                    for slot in [
                        &mut device.xdp.skb_prog_id,
                        &mut device.xdp.drv_prog_id,
                        &mut device.xdp.hw_prog_id,
                    ] {
                        if *slot == Some(id) {
                            *slot = None;
                        }
                    }
                }
            }
            self.objects.retain(|o| o.key != key);
            self.log.push("link closed: detached".to_string());
        }
    }

    fn element(&mut self, call: Call<'_>) -> Result<Answer> {
        let prog_ids: Vec<(ObjectKey, u32)> = self
            .objects
            .iter()
            .filter(|o| matches!(o.kind, Kind::Prog { .. }))
            .map(|o| (o.key, o.id))
            .collect();
        let map = match &call {
            Call::MapLookup { map, .. }
            | Call::MapUpdate { map, .. }
            | Call::MapDelete { map, .. }
            | Call::MapNextKey { map, .. }
            | Call::MapFreeze { map } => *map,
            _ => return Err(errno(libc::EINVAL)),
        };
        let object = self.object_mut(map)?;
        let Kind::Map {
            map_type,
            max_entries,
            entries,
            frozen,
            ..
        } = &mut object.kind
        else {
            return Err(errno(libc::EINVAL));
        };
        let array = ARRAY_TYPES.contains(map_type);
        let index = |key: &[u8]| {
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(&key[..4]);
            u32::from_ne_bytes(bytes)
        };
        match call {
            Call::MapFreeze { .. } => {
                *frozen = true;
                Ok(Answer::Done)
            }
            Call::MapLookup { key, value, .. } => {
                if array && index(key) >= *max_entries {
                    return Err(errno(libc::ENOENT));
                }
                match entries.get(key) {
                    Some(stored) => value.copy_from_slice(stored),
                    None if array && *map_type != PROG_ARRAY => value.fill(0),
                    None => return Err(errno(libc::ENOENT)),
                }
                Ok(Answer::Done)
            }
            Call::MapUpdate {
                key, value, flags, ..
            } => {
                if *frozen {
                    return Err(errno(libc::EPERM));
                }
                if array && index(key) >= *max_entries {
                    return Err(errno(libc::E2BIG));
                }
                let exists = entries.contains_key(key);
                if flags & 3 == BPF_NOEXIST && exists || flags & 3 == BPF_EXIST && !exists {
                    return Err(errno(if exists { libc::EEXIST } else { libc::ENOENT }));
                }
                if !array && !exists && entries.len() >= *max_entries as usize {
                    return Err(errno(libc::E2BIG));
                }
                let stored = if *map_type == PROG_ARRAY {
                    let prog = key_of_raw_fd(fd_in(value)).map_err(|_| errno(libc::EBADF))?;
                    let id = prog_ids
                        .iter()
                        .find(|(k, _)| *k == prog)
                        .map(|(_, id)| *id)
                        .ok_or_else(|| errno(libc::EINVAL))?;
                    id.to_ne_bytes().to_vec()
                } else {
                    value.to_vec()
                };
                entries.insert(key.to_vec(), stored);
                Ok(Answer::Done)
            }
            Call::MapDelete { key, .. } => {
                if array && *map_type != PROG_ARRAY {
                    return Err(errno(libc::EINVAL));
                }
                match entries.remove(key) {
                    Some(_) => Ok(Answer::Done),
                    None => Err(errno(libc::ENOENT)),
                }
            }
            Call::MapNextKey { key, next, .. } => {
                let after = |k: &Vec<u8>| key.is_none_or(|key| k.as_slice() > key);
                let found = if array && *map_type != PROG_ARRAY {
                    let start = key.map_or(0, |k| index(k) + 1);
                    (start < *max_entries).then(|| start.to_ne_bytes().to_vec())
                } else if array {
                    // Prog arrays: the set keys, in index order.
                    let start = key.map_or(0, |k| index(k) + 1);
                    entries
                        .keys()
                        .map(|k| index(k))
                        .filter(|&i| i >= start)
                        .min()
                        .map(|i| i.to_ne_bytes().to_vec())
                } else {
                    entries.keys().find(|k| after(k)).cloned()
                };
                match found {
                    Some(found) => {
                        next.copy_from_slice(&found);
                        Ok(Answer::Done)
                    }
                    None => Err(errno(libc::ENOENT)),
                }
            }
            _ => Err(errno(libc::EINVAL)),
        }
    }

    fn set_xdp(
        &mut self,
        ifindex: u32,
        prog: Option<ObjectKey>,
        flags: XdpFlags,
        expected: Option<ObjectKey>,
    ) -> Result<()> {
        if prog.is_some() {
            if let Some((race_index, mode)) = self.race.take() {
                self.attach_foreign(race_index, mode, "other_tool")?;
                self.log
                    .push(format!("race: another tool attached on {race_index}"));
            }
        }
        let prog_id = prog.map(|key| self.prog_id(key)).transpose()?;
        let expected_id = expected.map(|key| self.prog_id(key)).transpose()?;
        let device = self
            .devices
            .iter_mut()
            .find(|d| d.ifindex == ifindex)
            .ok_or_else(|| errno(libc::ENODEV))?;
        let mode = if flags.intersects(XdpFlags::MODES) {
            flags & XdpFlags::MODES
        } else if prog.is_none() {
            // A detach without a mode: the one program attached.
            match (device.xdp.skb_prog_id, device.xdp.drv_prog_id) {
                (Some(_), _) => XdpFlags::SKB_MODE,
                _ => XdpFlags::DRV_MODE,
            }
        } else if device.native {
            XdpFlags::DRV_MODE
        } else {
            XdpFlags::SKB_MODE
        };
        if mode == XdpFlags::HW_MODE && prog.is_some() {
            return Err(refuse(
                libc::EINVAL,
                "Underlying driver does not support XDP in hardware offload mode",
            ));
        }
        let current = *slot(&mut device.xdp, mode);
        if device.link.is_some() && device.link == current {
            return Err(refuse(libc::EBUSY, "Can't replace active BPF XDP link"));
        }
        if flags.contains(XdpFlags::REPLACE) && current != expected_id {
            return Err(refuse(
                libc::EEXIST,
                "Active program does not match expected",
            ));
        }
        if prog.is_some() {
            let other = match mode {
                XdpFlags::SKB_MODE => device.xdp.drv_prog_id,
                XdpFlags::DRV_MODE => device.xdp.skb_prog_id,
                _ => None,
            };
            if other.is_some() {
                return Err(refuse(
                    libc::EEXIST,
                    "Native and generic XDP can't be active at the same time.",
                ));
            }
            if flags.contains(XdpFlags::UPDATE_IF_NOEXIST) && current.is_some() {
                return Err(refuse(libc::EBUSY, "XDP program already attached."));
            }
        }
        *slot(&mut device.xdp, mode) = prog_id;
        Ok(())
    }
}

/// The slot `mode` names.
fn slot(state: &mut XdpState, mode: XdpFlags) -> &mut Option<u32> {
    if mode.contains(XdpFlags::SKB_MODE) {
        &mut state.skb_prog_id
    } else if mode.contains(XdpFlags::HW_MODE) {
        &mut state.hw_prog_id
    } else {
        &mut state.drv_prog_id
    }
}

fn describe(object: &Object) -> String {
    let kind = match object.kind {
        Kind::Map { .. } => "map",
        Kind::Prog { .. } => "prog",
        Kind::Btf => "btf",
        Kind::Link { .. } => "link",
    };
    format!("{kind} {}", object.name).trim_end().to_string()
}

impl Handler for SimKernel {
    fn bpf(&mut self, call: Call<'_>) -> Result<Answer> {
        let op = op_of(&call);
        let what = match &call {
            Call::MapCreate { name, .. } | Call::ProgLoad { name, .. } => name.clone(),
            Call::MapLookup { map, .. }
            | Call::MapUpdate { map, .. }
            | Call::MapDelete { map, .. }
            | Call::MapNextKey { map, .. }
            | Call::MapFreeze { map } => self
                .object(*map)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            Call::ObjPin { path, .. } | Call::ObjGet { path } => path.display().to_string(),
            Call::ProgById { id } | Call::MapById { id } => id.to_string(),
            Call::Info { object } => self
                .object(*object)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        self.log.push(format!("{op} {what}").trim_end().to_string());
        if let Some(error) = self.planned(op) {
            return Err(error);
        }
        match call {
            Call::MapCreate {
                map_type,
                key_size,
                value_size,
                max_entries,
                flags,
                name,
                ..
            } => {
                if key_size == 0 && !matches!(map_type, 27) || max_entries == 0 {
                    return Err(errno(libc::EINVAL));
                }
                let kind = Kind::Map {
                    map_type,
                    key_size,
                    value_size,
                    max_entries,
                    flags,
                    entries: BTreeMap::new(),
                    frozen: false,
                };
                self.create(&name, kind).map(|(answer, _)| answer)
            }
            Call::ProgLoad {
                prog_type,
                name,
                insns,
                ifindex,
                log,
                ..
            } => {
                if let Some((_, text)) = self.rejected.iter().find(|(n, _)| *n == name) {
                    if let Some(log) = log {
                        let n = text.len().min(log.len().saturating_sub(1));
                        log[..n].copy_from_slice(&text.as_bytes()[..n]);
                        log[n] = 0;
                    }
                    return Err(errno(libc::EACCES));
                }
                let kind = Kind::Prog {
                    prog_type,
                    insns: insns.len() / 8,
                    ifindex,
                };
                self.create(&name, kind).map(|(answer, _)| answer)
            }
            Call::BtfLoad { .. } => self.create("", Kind::Btf).map(|(answer, _)| answer),
            Call::ObjPin { object, path } if self.bpffs.is_some() => {
                use std::os::unix::fs::OpenOptionsExt;
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
                let file_key = crate::fake::key_of(std::os::fd::AsFd::as_fd(&file))?;
                self.pin_files.push((file_key, object));
                Ok(Answer::Done)
            }
            Call::ObjGet { path } if self.bpffs.is_some() => {
                use std::os::unix::fs::MetadataExt;
                let meta = std::fs::metadata(&path)
                    .map_err(|e| errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
                let file_key = ObjectKey {
                    dev: meta.dev(),
                    ino: meta.ino(),
                };
                let object = self
                    .pin_files
                    .iter()
                    .find(|(file, _)| *file == file_key)
                    .map(|(_, object)| *object)
                    .ok_or_else(|| errno(libc::EPERM))?;
                self.dup(object)
            }
            Call::ObjPin { object, path } => {
                if self.pins.contains_key(&path) {
                    return Err(errno(libc::EEXIST));
                }
                self.pins.insert(path, object);
                Ok(Answer::Done)
            }
            Call::ObjGet { path } => {
                let key = *self.pins.get(&path).ok_or_else(|| errno(libc::ENOENT))?;
                self.dup(key)
            }
            Call::Info { object } => {
                let object = self.object(object).ok_or_else(|| errno(libc::EBADF))?;
                match &object.kind {
                    Kind::Map {
                        map_type,
                        key_size,
                        value_size,
                        max_entries,
                        flags,
                        ..
                    } => Ok(Answer::Map(MapInfo {
                        id: object.id,
                        map_type: *map_type,
                        key_size: *key_size,
                        value_size: *value_size,
                        max_entries: *max_entries,
                        flags: *flags,
                        name: object.name.clone(),
                        ..MapInfo::default()
                    })),
                    Kind::Prog {
                        prog_type,
                        insns,
                        ifindex,
                    } => {
                        let mut tag = [0u8; 8];
                        tag[..4].copy_from_slice(&object.id.to_be_bytes());
                        Ok(Answer::Prog(ProgInfo {
                            id: object.id,
                            prog_type: *prog_type,
                            name: object.name.clone(),
                            tag,
                            verified_insns: *insns as u32,
                            xlated_len: (*insns * 8) as u32,
                            ifindex: *ifindex,
                            gpl_compatible: true,
                            ..ProgInfo::default()
                        }))
                    }
                    Kind::Link { ifindex, prog_id } => Ok(Answer::Link(LinkInfo {
                        id: object.id,
                        link_type: LINK_TYPE_XDP,
                        prog_id: *prog_id,
                        ifindex: *ifindex,
                    })),
                    Kind::Btf => Err(errno(libc::EINVAL)),
                }
            }
            Call::ProgById { id } => self.by_id(id, true),
            Call::MapById { id } => self.by_id(id, false),
            Call::LinkCreate {
                prog,
                ifindex,
                flags,
            } => {
                let prog_id = self.prog_id(prog)?;
                let device = self
                    .devices
                    .iter_mut()
                    .find(|d| d.ifindex == ifindex)
                    .ok_or_else(|| errno(libc::ENODEV))?;
                let mode = if flags.intersects(XdpFlags::MODES) {
                    flags & XdpFlags::MODES
                } else if device.native {
                    XdpFlags::DRV_MODE
                } else {
                    XdpFlags::SKB_MODE
                };
                let target = slot(&mut device.xdp, mode);
                if target.is_some() || device.link.is_some() {
                    return Err(refuse(libc::EBUSY, "XDP program already attached."));
                }
                *target = Some(prog_id);
                device.link = Some(prog_id);
                self.create("", Kind::Link { ifindex, prog_id })
                    .map(|(answer, _)| answer)
            }
            call @ (Call::MapLookup { .. }
            | Call::MapUpdate { .. }
            | Call::MapDelete { .. }
            | Call::MapNextKey { .. }
            | Call::MapFreeze { .. }) => self.element(call),
            _ => Err(errno(libc::ENOSYS)),
        }
    }

    fn netlink(&mut self, call: NetlinkCall) -> Result<Vec<Link>> {
        self.reap_links();
        let link = |d: &Device| Link {
            ifindex: d.ifindex,
            name: d.name.clone(),
            mtu: 1500,
            flags: libc::IFF_UP as u32,
            link_type: 1,
            xdp: d.xdp,
        };
        match call {
            NetlinkCall::Dump => {
                self.log.push("RTM_GETLINK dump".to_string());
                Ok(self.devices.iter().map(link).collect())
            }
            NetlinkCall::GetLink { ifindex, name } => {
                self.log.push(format!(
                    "RTM_GETLINK {}",
                    name.clone()
                        .unwrap_or_else(|| ifindex.unwrap_or(0).to_string())
                ));
                if let Some(error) = self.planned("RTM_GETLINK") {
                    return Err(error);
                }
                self.devices
                    .iter()
                    .find(|d| {
                        Some(d.ifindex) == ifindex || name.as_deref() == Some(d.name.as_str())
                    })
                    .map(|d| vec![link(d)])
                    .ok_or_else(|| errno(libc::ENODEV))
            }
            NetlinkCall::SetXdp {
                ifindex,
                prog,
                flags,
                expected,
            } => {
                let name = |key: Option<ObjectKey>| {
                    key.and_then(|k| self.object(k))
                        .map(|o| o.name.clone())
                        .unwrap_or_else(|| "-".to_string())
                };
                let what = match prog {
                    Some(_) => format!("attach {}", name(prog)),
                    None => "detach".to_string(),
                };
                let expected_name = expected
                    .map(|_| format!(" expected {}", name(expected)))
                    .unwrap_or_default();
                let flags_text = flags
                    .iter_names()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>()
                    .join(" | ");
                self.log.push(format!(
                    "RTM_SETLINK {ifindex} {what} {flags_text}{expected_name}"
                ));
                if let Some(error) = self.planned("RTM_SETLINK") {
                    return Err(error);
                }
                self.set_xdp(ifindex, prog, flags, expected)?;
                if prog.is_some() {
                    if let Some((index, name)) = self.rename.take() {
                        self.rename_device(index, &name);
                        self.log.push(format!("renamed {index} to {name}"));
                    }
                }
                Ok(Vec::new())
            }
            NetlinkCall::Other { op } => {
                self.log.push(op.to_string());
                Err(errno(libc::EOPNOTSUPP))
            }
        }
    }

    fn bpffs_root(&self) -> Option<PathBuf> {
        self.bpffs.clone()
    }

    fn lock_dir(&self) -> Option<PathBuf> {
        self.lock_dir.clone()
    }

    fn map_sizes(&self, map: ObjectKey) -> Option<(usize, usize)> {
        match self.object(map)?.kind {
            Kind::Map {
                map_type,
                key_size,
                value_size,
                ..
            } => {
                let per_cpu = matches!(map_type, PERCPU_ARRAY | PERCPU_HASH | LRU_PERCPU_HASH);
                let value = if per_cpu {
                    (value_size as usize).div_ceil(8) * 8 * possible_cpus().ok()?
                } else {
                    value_size as usize
                };
                Some((key_size as usize, value))
            }
            _ => None,
        }
    }
}
