//! Maps: `BPF_MAP_CREATE` and the element commands.
//!
//! The kernel takes the sizes of keys and values from the map, not from the
//! caller: it reads `key_size` bytes from the key pointer and writes the
//! value size into the value pointer whatever the buffers are. So every
//! element operation goes through a [`MapHandle`], which learns the sizes
//! once (`BPF_OBJ_GET_INFO_BY_FD`) and refuses buffers of any other length
//! with EINVAL before the kernel sees them. The free functions
//! ([`map_lookup_elem`] and friends) build a handle each call: one extra
//! syscall; keep a handle for loops.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use super::attr::{name_field, ptr, ptr_mut, MapCreateAttr, MapElemAttr};
use super::info::map_info;
use super::sys::{bpf, bpf_fd, Cmd};
use super::types::{holds_fds, is_per_cpu};
use crate::error::{Error, Result};

/// `BPF_ANY`: create the element or replace it.
pub const BPF_ANY: u64 = 0;
/// `BPF_NOEXIST`: create only; EEXIST if the key is there.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: replace only; ENOENT if the key is absent.
pub const BPF_EXIST: u64 = 2;
/// `BPF_F_LOCK`: take the value's `bpf_spin_lock` while copying.
pub const BPF_F_LOCK: u64 = 4;

/// `BPF_F_NO_PREALLOC` (map flag): hash maps allocate elements on insert.
pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
/// `BPF_F_NUMA_NODE` (map flag): honour `numa_node`.
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
/// `BPF_F_RDONLY` (map flag): read-only from user space.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// `BPF_F_WRONLY` (map flag): write-only from user space.
pub const BPF_F_WRONLY: u32 = 1 << 4;
/// `BPF_F_RDONLY_PROG` (map flag): read-only from programs.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_MMAPABLE` (map flag): arrays user space can mmap.
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
/// `BPF_F_INNER_MAP` (map flag): an inner map whose siblings may differ in
/// `max_entries`.
pub const BPF_F_INNER_MAP: u32 = 1 << 12;

/// What `BPF_MAP_CREATE` needs. Fields left at their default are zero, as
/// the kernel expects for "not used". Start from [`MapCreate::new`] and
/// set what else the map needs: more fields may come.
#[derive(Debug, Default, Clone, Copy)]
#[non_exhaustive]
pub struct MapCreate<'a> {
    /// `enum bpf_map_type` (`BPF_MAP_TYPE_HASH` = 1, ...).
    pub map_type: u32,
    /// Bytes of a key.
    pub key_size: u32,
    /// Bytes of a value.
    pub value_size: u32,
    /// How many entries it holds.
    pub max_entries: u32,
    /// `BPF_F_*` map flags.
    pub flags: u32,
    /// The map's name, as the kernel shows it (bpftool, `map_info`): cut to
    /// 15 bytes and reduced to what the kernel accepts, see
    /// [`sanitize_name`](super::sanitize_name). Errors name the map with the
    /// name as given.
    pub name: &'a str,
    /// The inner map template of `ARRAY_OF_MAPS`/`HASH_OF_MAPS`.
    pub inner_map_fd: Option<BorrowedFd<'a>>,
    /// The NUMA node, honoured with `BPF_F_NUMA_NODE`.
    pub numa_node: u32,
    /// `map_ifindex`: create the map on this device, for offloaded programs.
    pub ifindex: u32,
    /// BTF describing key and value, with their type ids.
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// The key's type id in `btf_fd`.
    pub btf_key_type_id: u32,
    /// The value's type id in `btf_fd`.
    pub btf_value_type_id: u32,
    /// For struct_ops maps: the kernel struct in vmlinux BTF.
    pub btf_vmlinux_value_type_id: u32,
    /// Per-type extra: hash count of a bloom filter, address of an arena.
    pub map_extra: u64,
}

impl MapCreate<'_> {
    /// A map of this type and these sizes; everything else zero.
    pub fn new(map_type: u32, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapCreate {
            map_type,
            key_size,
            value_size,
            max_entries,
            ..MapCreate::default()
        }
    }
}

fn raw(fd: Option<BorrowedFd<'_>>) -> u32 {
    fd.map_or(0, |fd| fd.as_raw_fd() as u32)
}

/// Creates a map (`BPF_MAP_CREATE`).
pub fn map_create(map: &MapCreate<'_>) -> Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: map.map_type,
        key_size: map.key_size,
        value_size: map.value_size,
        max_entries: map.max_entries,
        map_flags: map.flags,
        inner_map_fd: raw(map.inner_map_fd),
        numa_node: map.numa_node,
        map_name: name_field(map.name),
        map_ifindex: map.ifindex,
        btf_fd: raw(map.btf_fd),
        btf_key_type_id: map.btf_key_type_id,
        btf_value_type_id: map.btf_value_type_id,
        btf_vmlinux_value_type_id: map.btf_vmlinux_value_type_id,
        map_extra: map.map_extra,
    };
    // SAFETY: BPF_MAP_CREATE returns a new fd; its attr holds no pointers.
    unsafe { bpf_fd(Cmd::MapCreate, &mut attr) }.map_err(|error| match map.name {
        "" => error,
        name => error.with_subject(format!("map {name}")),
    })
}

/// Freezes a map (`BPF_MAP_FREEZE`): from now on user space cannot change
/// it (updates fail with EPERM); programs still can unless the map is
/// `BPF_F_RDONLY_PROG`.
pub fn map_freeze(map: BorrowedFd<'_>) -> Result<()> {
    let mut attr = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        ..MapElemAttr::default()
    };
    // SAFETY: BPF_MAP_FREEZE reads only `map_fd`; no pointers.
    unsafe { bpf(Cmd::MapFreeze, &mut attr) }.map(drop)
}

/// A borrowed map fd with the key and value sizes user space must use.
#[derive(Debug, Clone, Copy)]
pub struct MapHandle<'fd> {
    fd: BorrowedFd<'fd>,
    map_type: u32,
    key_size: usize,
    value_size: usize,
}

impl<'fd> MapHandle<'fd> {
    /// Learns the map's type and sizes (one `BPF_OBJ_GET_INFO_BY_FD`).
    pub fn new(fd: BorrowedFd<'fd>) -> Result<MapHandle<'fd>> {
        let info = map_info(fd)?;
        let cpus = if is_per_cpu(info.map_type) {
            possible_cpus()?
        } else {
            1
        };
        let value_size = user_value_size(info.map_type, info.value_size, cpus);
        Ok(MapHandle {
            fd,
            map_type: info.map_type,
            key_size: info.key_size as usize,
            value_size,
        })
    }

    /// `enum bpf_map_type`.
    pub fn map_type(&self) -> u32 {
        self.map_type
    }

    /// The bytes of a key.
    pub fn key_size(&self) -> usize {
        self.key_size
    }

    /// The bytes of a value as user space sees it: `value_size`, but 4 for
    /// maps of fds/ids, and one 8-byte-aligned slot per possible CPU for
    /// per-CPU maps.
    pub fn value_size(&self) -> usize {
        self.value_size
    }

    fn check(&self, op: &'static str, what: &str, len: usize, wanted: usize) -> Result<()> {
        if len == wanted {
            Ok(())
        } else {
            Err(Error::new(op, libc::EINVAL).with_subject(format!(
                "{what} of {len} bytes for a map of type {} whose {what}s are {wanted} bytes",
                self.map_type
            )))
        }
    }

    fn attr(&self, key: u64, value: u64, flags: u64) -> MapElemAttr {
        MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key,
            value,
            flags,
            ..MapElemAttr::default()
        }
    }

    /// Reads the value of `key` into `value`; false when there is none.
    pub fn lookup(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        let op = Cmd::MapLookupElem.name();
        self.check(op, "key", key.len(), self.key_size)?;
        self.check(op, "value", value.len(), self.value_size)?;
        let mut attr = self.attr(ptr(key), ptr_mut(value), 0);
        // SAFETY: `key` and `value` have exactly the sizes the kernel uses
        // for this map (checked above) and outlive the call.
        absent_is_false(unsafe { bpf(Cmd::MapLookupElem, &mut attr) })
    }

    /// Writes `value` at `key`; `flags` is [`BPF_ANY`], [`BPF_NOEXIST`] or
    /// [`BPF_EXIST`], possibly with [`BPF_F_LOCK`].
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        let op = Cmd::MapUpdateElem.name();
        self.check(op, "key", key.len(), self.key_size)?;
        self.check(op, "value", value.len(), self.value_size)?;
        let mut attr = self.attr(ptr(key), ptr(value), flags);
        // SAFETY: the kernel only reads `key` and `value`, whose sizes are
        // the map's (checked above); both outlive the call.
        unsafe { bpf(Cmd::MapUpdateElem, &mut attr) }.map(drop)
    }

    /// Deletes `key`; false when it was not there.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        let op = Cmd::MapDeleteElem.name();
        self.check(op, "key", key.len(), self.key_size)?;
        let mut attr = self.attr(ptr(key), 0, 0);
        // SAFETY: the kernel reads `key_size` bytes of `key` (checked).
        absent_is_false(unsafe { bpf(Cmd::MapDeleteElem, &mut attr) })
    }

    /// Writes the key after `key` (the first key with `None`) into `next`;
    /// false when there is none: the walk is over.
    pub fn next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
        let op = Cmd::MapGetNextKey.name();
        if let Some(key) = key {
            self.check(op, "key", key.len(), self.key_size)?;
        }
        self.check(op, "key", next.len(), self.key_size)?;
        let mut attr = self.attr(key.map_or(0, ptr), ptr_mut(next), 0);
        // SAFETY: `key` (or null) and `next` have the map's key size
        // (checked) and outlive the call.
        absent_is_false(unsafe { bpf(Cmd::MapGetNextKey, &mut attr) })
    }

    /// Freezes the map, see [`map_freeze`].
    pub fn freeze(&self) -> Result<()> {
        map_freeze(self.fd)
    }
}

impl AsFd for MapHandle<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd
    }
}

/// ENOENT means "no such element" for the element commands.
fn absent_is_false(result: Result<i64>) -> Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.errno == libc::ENOENT => Ok(false),
        Err(error) => Err(error),
    }
}

/// The kernel's `bpf_map_value_size()`: the value bytes user space passes.
pub(crate) fn user_value_size(map_type: u32, value_size: u32, cpus: usize) -> usize {
    let value_size = value_size as usize;
    if is_per_cpu(map_type) {
        value_size.next_multiple_of(8) * cpus
    } else if holds_fds(map_type) {
        4
    } else {
        value_size
    }
}

/// `num_possible_cpus()`, from `/sys/devices/system/cpu/possible`.
pub fn possible_cpus() -> Result<usize> {
    static CPUS: OnceLock<std::result::Result<usize, i32>> = OnceLock::new();
    const PATH: &str = "/sys/devices/system/cpu/possible";
    let cpus = CPUS.get_or_init(|| {
        let text = std::fs::read_to_string(PATH)
            .map_err(|error| error.raw_os_error().unwrap_or(libc::EIO))?;
        parse_cpu_list(&text).ok_or(libc::EINVAL)
    });
    cpus.map_err(|errno| Error::new("read possible CPUs", errno).with_subject(PATH))
}

/// Counts the CPUs of a kernel CPU list such as `0-3,8,10-11`.
pub(crate) fn parse_cpu_list(text: &str) -> Option<usize> {
    let mut count = 0usize;
    for part in text.trim().split(',') {
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (first.parse::<usize>().ok()?, last.parse::<usize>().ok()?),
            None => {
                let cpu = part.parse::<usize>().ok()?;
                (cpu, cpu)
            }
        };
        count += last.checked_sub(first)? + 1;
    }
    (count > 0).then_some(count)
}

/// Reads `key` of `map` into `value`; false when absent. `key` and `value`
/// must be exactly the map's sizes ([`MapHandle::value_size`]), else EINVAL.
pub fn map_lookup_elem(map: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> Result<bool> {
    MapHandle::new(map)?.lookup(key, value)
}

/// Writes `value` at `key` of `map` ([`BPF_ANY`], [`BPF_NOEXIST`],
/// [`BPF_EXIST`]). Sizes as for [`map_lookup_elem`].
pub fn map_update_elem(map: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
    MapHandle::new(map)?.update(key, value, flags)
}

/// Deletes `key` of `map`; false when it was not there.
pub fn map_delete_elem(map: BorrowedFd<'_>, key: &[u8]) -> Result<bool> {
    MapHandle::new(map)?.delete(key)
}

/// The key after `key` (the first with `None`), written to `next`; false at
/// the end.
pub fn map_get_next_key(map: BorrowedFd<'_>, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
    MapHandle::new(map)?.next_key(key, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    // `enum bpf_map_type` values.
    const HASH: u32 = 1;
    const PROG_ARRAY: u32 = 3;
    const PERCPU_ARRAY: u32 = 6;
    const LRU_PERCPU_HASH: u32 = 10;
    const RINGBUF: u32 = 27;

    #[test]
    fn value_sizes_as_user_space_sees_them() {
        assert_eq!(user_value_size(HASH, 12, 4), 12);
        assert_eq!(user_value_size(PERCPU_ARRAY, 12, 4), 64);
        assert_eq!(user_value_size(LRU_PERCPU_HASH, 8, 2), 16);
        assert_eq!(user_value_size(PROG_ARRAY, 4, 4), 4);
        assert_eq!(user_value_size(RINGBUF, 0, 4), 0);
    }
}
