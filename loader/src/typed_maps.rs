//! Typed handles on the maps of a [`LoadedObject`](crate::LoadedObject):
//! keys and values as Rust types, their sizes checked against the map's
//! once, when the handle is made.
//!
//! | handle | map types | key | value |
//! |---|---|---|---|
//! | [`ProgArray`] | `PROG_ARRAY` | `u32` | a loaded program |
//! | [`Array<K, V>`] | `ARRAY` | `K` (4 bytes) | `V` |
//! | [`HashMap<K, V>`] | `HASH`, `LRU_HASH` | `K` | `V` |
//! | [`PerCpuArray<K, V>`] | `PERCPU_ARRAY` | `K` (4 bytes) | one `V` per possible CPU |
//! | [`PerCpuHashMap<K, V>`] | `PERCPU_HASH`, `LRU_PERCPU_HASH` | `K` | one `V` per possible CPU |
//!
//! Keys and values are [`bytemuck::Pod`]: plain data with no padding, any
//! bit pattern valid, so that bytes from the kernel become a `V` without
//! `unsafe`. `#[repr(C)]` structs deriving `Pod` match the C side.
//!
//! ```no_run
//! use rxdp::Object;
//!
//! let loaded = Object::open("tail_kern.o")?.load()?;
//! let counters = loaded.array::<u32, u64>("counters")?;
//! println!("xdp0 entered {} times", counters.get(&0)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use bytemuck::Pod;
use rxdp_elf::MapType;
use rxdp_syscalls::bpf::{map_info, possible_cpus, MapHandle, BPF_ANY};
use rxdp_syscalls::Error as SysError;

use crate::error::{hint, syscall};
use crate::options::OptionError;
use crate::pipeline::{LoadedMap, LoadedProgram};

/// `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
const LRU_PERCPU_HASH: MapType = MapType(10);

/// Why a typed map handle could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// No map of the object is named (or numbered) so.
    #[error("{file}: {error}")]
    NotFound {
        /// The object.
        file: String,
        /// What does not fit.
        error: OptionError,
    },
    /// The map is not of a type this handle reads.
    #[error("map {map} is a {actual} map; {handle} takes {expected}")]
    WrongType {
        /// The map.
        map: String,
        /// The handle asked for.
        handle: &'static str,
        /// The types it takes.
        expected: &'static str,
        /// The map's type.
        actual: String,
    },
    /// The Rust key or value type is not the map's size.
    #[error("map {map} has {what}s of {size} bytes, the {what} type given is {given} bytes")]
    Size {
        /// The map.
        map: String,
        /// `key` or `value`.
        what: &'static str,
        /// The map's size.
        size: usize,
        /// The size of the Rust type.
        given: usize,
    },
    /// A per-CPU value list is not one value per possible CPU.
    #[error("map {map} holds one value per possible CPU ({cpus}); {given} were given")]
    Cpus {
        /// The map.
        map: String,
        /// Possible CPUs.
        cpus: usize,
        /// Values given.
        given: usize,
    },
    /// An array index beyond the map's entries.
    #[error("map {map} has {max_entries} entries; there is no index {index}")]
    OutOfRange {
        /// The map.
        map: String,
        /// The index.
        index: u64,
        /// Its entries.
        max_entries: u32,
    },
    /// The kernel refused an operation on the map.
    #[error("map {map}: {what}: {}{}", syscall(.error), hint(.error))]
    Kernel {
        /// The map.
        map: String,
        /// What was done (`update key 78`).
        what: String,
        /// The kernel's answer.
        error: SysError,
    },
}

/// What every typed handle holds: the map's fd, name and sizes.
#[derive(Debug, Clone, Copy)]
struct Raw<'a> {
    handle: MapHandle<'a>,
    name: &'a str,
    /// Entries, for arrays' range checks.
    max_entries: u32,
    /// Possible CPUs for per-CPU maps, else 1.
    cpus: usize,
}

impl<'a> Raw<'a> {
    /// Checks the map's type against `types` and its key and value sizes
    /// against `K` and `V` (a per-CPU map's against one CPU's value).
    fn new<K, V>(
        map: &'a LoadedMap,
        handle_name: &'static str,
        types: &[MapType],
        expected: &'static str,
    ) -> Result<Raw<'a>, MapError> {
        let kernel = |what: &str| {
            let what = what.to_string();
            move |error| MapError::Kernel {
                map: map.name.clone(),
                what,
                error,
            }
        };
        if !types.contains(&map.map_type) {
            return Err(MapError::WrongType {
                map: map.name.clone(),
                handle: handle_name,
                expected,
                actual: map.map_type.name(),
            });
        }
        let info = map_info(map.fd.as_fd()).map_err(kernel("read its sizes"))?;
        let per_cpu = matches!(
            map.map_type,
            MapType::PERCPU_ARRAY | MapType::PERCPU_HASH | LRU_PERCPU_HASH
        );
        let cpus = if per_cpu {
            possible_cpus().map_err(kernel("count the possible CPUs"))?
        } else {
            1
        };
        let checks = [
            ("key", info.key_size as usize, size_of::<K>()),
            ("value", info.value_size as usize, size_of::<V>()),
        ];
        if let Some((what, size, given)) = checks.into_iter().find(|(_, a, b)| a != b) {
            return Err(MapError::Size {
                map: map.name.clone(),
                what,
                size,
                given,
            });
        }
        Ok(Raw {
            handle: MapHandle::new(map.fd.as_fd()).map_err(kernel("read its sizes"))?,
            name: &map.name,
            max_entries: info.max_entries,
            cpus,
        })
    }

    fn kernel(&self, what: String, error: SysError) -> MapError {
        MapError::Kernel {
            map: self.name.to_string(),
            what,
            error,
        }
    }

    fn check_index(&self, index: u64) -> Result<(), MapError> {
        if index >= u64::from(self.max_entries) {
            return Err(MapError::OutOfRange {
                map: self.name.to_string(),
                index,
                max_entries: self.max_entries,
            });
        }
        Ok(())
    }

    fn lookup(&self, key: &[u8], value: &mut [u8]) -> Result<bool, MapError> {
        self.handle
            .lookup(key, value)
            .map_err(|error| self.kernel("look up a key".to_string(), error))
    }

    fn update(&self, key: &[u8], value: &[u8]) -> Result<(), MapError> {
        self.handle
            .update(key, value, BPF_ANY)
            .map_err(|error| self.kernel("update a key".to_string(), error))
    }

    fn delete(&self, key: &[u8]) -> Result<bool, MapError> {
        self.handle
            .delete(key)
            .map_err(|error| self.kernel("delete a key".to_string(), error))
    }

    fn keys<K: Pod>(&self) -> Result<Vec<K>, MapError> {
        let mut keys = Vec::new();
        let mut next = K::zeroed();
        let mut current: Option<K> = None;
        loop {
            let found = self
                .handle
                .next_key(
                    current.as_ref().map(bytemuck::bytes_of),
                    bytemuck::bytes_of_mut(&mut next),
                )
                .map_err(|error| self.kernel("walk its keys".to_string(), error))?;
            if !found {
                return Ok(keys);
            }
            keys.push(next);
            current = Some(next);
        }
    }

    /// One CPU's stride in a per-CPU value: the kernel rounds each up to 8.
    fn stride<V>(&self) -> usize {
        size_of::<V>().div_ceil(8) * 8
    }

    fn read_per_cpu<V: Pod>(&self, key: &[u8]) -> Result<Option<Vec<V>>, MapError> {
        let stride = self.stride::<V>();
        let mut buffer = vec![0u8; stride * self.cpus];
        if !self.lookup(key, &mut buffer)? {
            return Ok(None);
        }
        Ok(Some(
            buffer
                .chunks_exact(stride)
                .map(|chunk| bytemuck::pod_read_unaligned(&chunk[..size_of::<V>()]))
                .collect(),
        ))
    }

    fn write_per_cpu<V: Pod>(&self, key: &[u8], values: &[V]) -> Result<(), MapError> {
        if values.len() != self.cpus {
            return Err(MapError::Cpus {
                map: self.name.to_string(),
                cpus: self.cpus,
                given: values.len(),
            });
        }
        let stride = self.stride::<V>();
        let mut buffer = vec![0u8; stride * self.cpus];
        for (chunk, value) in buffer.chunks_exact_mut(stride).zip(values) {
            chunk[..size_of::<V>()].copy_from_slice(bytemuck::bytes_of(value));
        }
        self.update(key, &buffer)
    }
}

/// A `PROG_ARRAY`: the jump table of `bpf_tail_call`. Its values are
/// programs; the kernel empties it when its last user-space reference (fd
/// or pin) goes.
#[derive(Debug, Clone, Copy)]
pub struct ProgArray<'a> {
    raw: Raw<'a>,
}

impl<'a> ProgArray<'a> {
    pub(crate) fn new(map: &'a LoadedMap) -> Result<ProgArray<'a>, MapError> {
        Raw::new::<u32, u32>(map, "ProgArray", &[MapType::PROG_ARRAY], "PROG_ARRAY")
            .map(|raw| ProgArray { raw })
    }

    /// Puts `program` at `key`: a tail call to `key` runs it.
    pub fn set(&self, key: u32, program: &LoadedProgram) -> Result<(), MapError> {
        self.set_fd(key, program.fd.as_fd())
    }

    /// Puts the program behind `fd` at `key`.
    pub fn set_fd(&self, key: u32, fd: BorrowedFd<'_>) -> Result<(), MapError> {
        self.raw.check_index(u64::from(key))?;
        let fd = fd.as_raw_fd() as u32;
        self.raw
            .handle
            .update(&key.to_ne_bytes(), &fd.to_ne_bytes(), BPF_ANY)
            .map_err(|error| {
                self.raw
                    .kernel(format!("put a program at key {key}"), error)
            })
    }

    /// Empties `key`; false when it held no program.
    pub fn clear(&self, key: u32) -> Result<bool, MapError> {
        self.raw.check_index(u64::from(key))?;
        self.raw.delete(&key.to_ne_bytes())
    }

    /// The keys that hold a program, in order.
    pub fn keys(&self) -> Result<Vec<u32>, MapError> {
        self.raw.keys()
    }
}

/// An `ARRAY`: `max_entries` values of type `V`, all present, zeroed at
/// creation; `K` is the 4-byte index type (usually `u32`).
#[derive(Debug, Clone, Copy)]
pub struct Array<'a, K, V> {
    raw: Raw<'a>,
    types: PhantomData<(K, V)>,
}

impl<'a, K: Pod + Into<u64>, V: Pod> Array<'a, K, V> {
    pub(crate) fn new(map: &'a LoadedMap) -> Result<Array<'a, K, V>, MapError> {
        Raw::new::<K, V>(map, "Array", &[MapType::ARRAY], "ARRAY").map(|raw| Array {
            raw,
            types: PhantomData,
        })
    }

    /// Entries of the array.
    pub fn len(&self) -> u32 {
        self.raw.max_entries
    }

    /// Whether the array has no entries at all.
    pub fn is_empty(&self) -> bool {
        self.raw.max_entries == 0
    }

    /// The value at `index`.
    pub fn get(&self, index: &K) -> Result<V, MapError> {
        self.raw.check_index((*index).into())?;
        let mut value = V::zeroed();
        self.raw.lookup(
            bytemuck::bytes_of(index),
            bytemuck::bytes_of_mut(&mut value),
        )?;
        Ok(value)
    }

    /// Writes `value` at `index`.
    pub fn set(&self, index: &K, value: &V) -> Result<(), MapError> {
        self.raw.check_index((*index).into())?;
        self.raw
            .update(bytemuck::bytes_of(index), bytemuck::bytes_of(value))
    }
}

/// A `HASH` (or `LRU_HASH`): values of type `V` by keys of type `K`.
#[derive(Debug, Clone, Copy)]
pub struct HashMap<'a, K, V> {
    raw: Raw<'a>,
    types: PhantomData<(K, V)>,
}

impl<'a, K: Pod, V: Pod> HashMap<'a, K, V> {
    pub(crate) fn new(map: &'a LoadedMap) -> Result<HashMap<'a, K, V>, MapError> {
        Raw::new::<K, V>(
            map,
            "HashMap",
            &[MapType::HASH, MapType::LRU_HASH],
            "HASH or LRU_HASH",
        )
        .map(|raw| HashMap {
            raw,
            types: PhantomData,
        })
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: &K) -> Result<Option<V>, MapError> {
        let mut value = V::zeroed();
        let found = self
            .raw
            .lookup(bytemuck::bytes_of(key), bytemuck::bytes_of_mut(&mut value))?;
        Ok(found.then_some(value))
    }

    /// Sets `key` to `value`, adding it when missing.
    pub fn insert(&self, key: &K, value: &V) -> Result<(), MapError> {
        self.raw
            .update(bytemuck::bytes_of(key), bytemuck::bytes_of(value))
    }

    /// Removes `key`; false when it was not there.
    pub fn remove(&self, key: &K) -> Result<bool, MapError> {
        self.raw.delete(bytemuck::bytes_of(key))
    }

    /// The keys, in the kernel's order.
    pub fn keys(&self) -> Result<Vec<K>, MapError> {
        self.raw.keys()
    }
}

/// A `PERCPU_ARRAY`: each index holds one `V` per possible CPU.
#[derive(Debug, Clone, Copy)]
pub struct PerCpuArray<'a, K, V> {
    raw: Raw<'a>,
    types: PhantomData<(K, V)>,
}

impl<'a, K: Pod + Into<u64>, V: Pod> PerCpuArray<'a, K, V> {
    pub(crate) fn new(map: &'a LoadedMap) -> Result<PerCpuArray<'a, K, V>, MapError> {
        Raw::new::<K, V>(map, "PerCpuArray", &[MapType::PERCPU_ARRAY], "PERCPU_ARRAY").map(|raw| {
            PerCpuArray {
                raw,
                types: PhantomData,
            }
        })
    }

    /// Possible CPUs: the length of every value list.
    pub fn cpus(&self) -> usize {
        self.raw.cpus
    }

    /// The values at `index`, CPU by CPU.
    pub fn get(&self, index: &K) -> Result<Vec<V>, MapError> {
        self.raw.check_index((*index).into())?;
        Ok(self
            .raw
            .read_per_cpu(bytemuck::bytes_of(index))?
            .unwrap_or_default())
    }

    /// Writes `values` (one per possible CPU) at `index`.
    pub fn set(&self, index: &K, values: &[V]) -> Result<(), MapError> {
        self.raw.check_index((*index).into())?;
        self.raw.write_per_cpu(bytemuck::bytes_of(index), values)
    }
}

/// A `PERCPU_HASH` (or `LRU_PERCPU_HASH`): each key holds one `V` per
/// possible CPU.
#[derive(Debug, Clone, Copy)]
pub struct PerCpuHashMap<'a, K, V> {
    raw: Raw<'a>,
    types: PhantomData<(K, V)>,
}

impl<'a, K: Pod, V: Pod> PerCpuHashMap<'a, K, V> {
    pub(crate) fn new(map: &'a LoadedMap) -> Result<PerCpuHashMap<'a, K, V>, MapError> {
        Raw::new::<K, V>(
            map,
            "PerCpuHashMap",
            &[MapType::PERCPU_HASH, LRU_PERCPU_HASH],
            "PERCPU_HASH or LRU_PERCPU_HASH",
        )
        .map(|raw| PerCpuHashMap {
            raw,
            types: PhantomData,
        })
    }

    /// Possible CPUs: the length of every value list.
    pub fn cpus(&self) -> usize {
        self.raw.cpus
    }

    /// The values of `key`, CPU by CPU, if it has any.
    pub fn get(&self, key: &K) -> Result<Option<Vec<V>>, MapError> {
        self.raw.read_per_cpu(bytemuck::bytes_of(key))
    }

    /// Sets `key` to `values`, one per possible CPU.
    pub fn insert(&self, key: &K, values: &[V]) -> Result<(), MapError> {
        self.raw.write_per_cpu(bytemuck::bytes_of(key), values)
    }

    /// Removes `key`; false when it was not there.
    pub fn remove(&self, key: &K) -> Result<bool, MapError> {
        self.raw.delete(bytemuck::bytes_of(key))
    }

    /// The keys, in the kernel's order.
    pub fn keys(&self) -> Result<Vec<K>, MapError> {
        self.raw.keys()
    }
}
