//! The maps in the kernel, whoever made them: `rxdp map list`, `dump`,
//! `lookup`, `update` and `delete`.
//!
//! A map is named as bpftool names it ([`ObjectRef`]): by a pin, by id,
//! or by name when one map alone has it. Its keys and values are read
//! and written through its BTF, which the kernel keeps by id
//! (`btf_id` of `BPF_OBJ_GET_INFO_BY_FD`, then `BPF_BTF_GET_FD_BY_ID`
//! and the raw BTF of that object's info), with
//! [`rxdp_elf::btf::value`]; without BTF they are bytes. What the kernel
//! keeps instead of a value says more than the bytes: a prog array's
//! entry is a program (id and name), a map-in-map's a map.
//!
//! ```no_run
//! use rxdp::kernel_maps::{KernelMap, ObjectRef};
//!
//! // rxdp map dump pinned /sys/fs/bpf/veth0/skb/counters
//! let map = KernelMap::open(ObjectRef::Pinned("/sys/fs/bpf/veth0/skb/counters".into()))?;
//! for entry in map.dump()? {
//!     println!("{:?}", entry);
//! }
//! # Ok::<(), rxdp::kernel_maps::MapError>(())
//! ```
//!
//! The larger functions are `#[inline(never)]`: the programs are built
//! for size, and inlined into each caller they took more room than once
//! apart (`make static` keeps `dist/rxdp` in its budget).

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rxdp_elf::btf::value::{self, Input, Value, ValueError};
use rxdp_elf::btf::Btf;
use rxdp_elf::MapType;
use rxdp_syscalls::bpf::{
    btf_data, btf_get_fd_by_id, fd_info, map_get_fd_by_id, map_get_next_id, map_info,
    possible_cpus, prog_get_fd_by_id, prog_info, MapHandle, MapInfo, ObjectKind,
};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::Error as SysError;

use crate::error::{hint, syscall};

/// How a user names a map or a program, as bpftool does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    /// Its pin in bpffs: `pinned PATH`, or a path with a `/`.
    Pinned(PathBuf),
    /// Its kernel id: `id N`.
    Id(u32),
    /// Its name (at most 15 bytes, as the kernel keeps it): `name NAME`;
    /// refused when several have it.
    Name(String),
}

/// How to name a map or program.
const NAME_IT: &str = "name it by `id N`, `name NAME`, `pinned PATH` or a path";

impl ObjectRef {
    /// Reads a reference from the start of `words`: `id N`, `name NAME`,
    /// `pinned PATH`, or a path holding a `/`. Gives the words after it.
    pub fn parse_prefix<'w, 's>(
        words: &'w [&'s str],
    ) -> Result<(ObjectRef, &'w [&'s str]), String> {
        match words {
            ["id", id, rest @ ..] => match id.parse() {
                Ok(id) => Ok((ObjectRef::Id(id), rest)),
                Err(_) => Err(format!("`id {id}`: an id is a number")),
            },
            ["name", name, rest @ ..] => Ok((ObjectRef::Name((*name).to_owned()), rest)),
            ["pinned", path, rest @ ..] => Ok((ObjectRef::Pinned(PathBuf::from(path)), rest)),
            [path, rest @ ..] if path.contains('/') => {
                Ok((ObjectRef::Pinned(PathBuf::from(path)), rest))
            }
            [word, ..] => Err(format!("`{word}`: {NAME_IT}")),
            [] => Err(format!("missing: {NAME_IT}")),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectRef::Pinned(path) => write!(f, "{}", path.display()),
            ObjectRef::Id(id) => write!(f, "id {id}"),
            ObjectRef::Name(name) => write!(f, "name {name}"),
        }
    }
}

/// Why a map command failed; each names the map as the user did.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// A syscall failed.
    #[error("{map}: {}{}{}{}", why.unwrap_or_default(), if why.is_some() { ": " } else { "" }, syscall(error), hint(error))]
    Kernel {
        /// The map (or program), as named.
        map: String,
        /// What failed.
        error: SysError,
        /// What the errno means here, when rxdp knows.
        why: Option<&'static str>,
    },
    /// A key or value could not be read or written through the BTF.
    #[error("{map}: {error}")]
    Value {
        /// The map.
        map: String,
        /// What and where.
        error: ValueError,
    },
    /// No map or program has this name.
    #[error("no {what} is named `{name}`; `rxdp map list` shows the maps and their names")]
    NoSuchName {
        /// `map` or `program`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// Several have it.
    #[error("{count} {what}s are named `{name}` (ids {ids}): name one by id")]
    Ambiguous {
        /// `map` or `program`.
        what: &'static str,
        /// The name.
        name: String,
        /// How many.
        count: usize,
        /// Their ids, comma-separated.
        ids: String,
    },
    /// A pin that holds something else.
    #[error("{path} holds {found}, not a {what}")]
    WrongKind {
        /// The pin.
        path: String,
        /// `a program`, `a link`, `no bpf object`.
        found: &'static str,
        /// `map` or `program`.
        what: &'static str,
    },
    /// The key is not in the map.
    #[error("{map}: key {key} is not in the map")]
    NoEntry {
        /// The map.
        map: String,
        /// The key, as shown.
        key: String,
    },
    /// What this kind of map does not do.
    #[error("{map}: {what}")]
    Unsupported {
        /// The map.
        map: String,
        /// What it does not do, and what to do instead.
        what: String,
    },
}

/// A map, as `rxdp map list` shows it: what `BPF_OBJ_GET_INFO_BY_FD`
/// says of it.
pub type MapSummary = MapInfo;

/// Bytes of 1, 2, 4 or 8 as the little-endian number they likely are:
/// what a key or value without BTF ([`Value::Bytes`]) shows beside them.
pub fn raw_number(value: &Value) -> Option<u64> {
    match value {
        Value::Bytes(bytes) => le_number(bytes),
        _ => None,
    }
}

/// 1, 2, 4 or 8 bytes as a little-endian number.
fn le_number(bytes: &[u8]) -> Option<u64> {
    matches!(bytes.len(), 1 | 2 | 4 | 8).then(|| {
        let mut wide = [0u8; 8];
        wide[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(wide)
    })
}

/// What a map holds at a key, as shown: keys and values through BTF,
/// or as [`Value::Bytes`] when the map has none for them.
#[derive(Debug, Clone, PartialEq)]
pub enum ShownValue {
    /// One value.
    One(Value),
    /// A per-CPU map's value on each possible CPU, and their sum (see
    /// [`value::sum`]; for bytes, of the little-endian numbers of 1, 2, 4
    /// or 8 bytes; `None` for other bytes).
    PerCpu {
        /// CPU 0 first.
        cpus: Vec<Value>,
        /// Their sum.
        sum: Option<Value>,
    },
    /// A prog array's entry: the program.
    Program {
        /// Its id.
        id: u32,
        /// Its name; empty if it went away meanwhile.
        name: String,
    },
    /// A map-in-map's entry: the inner map.
    Map {
        /// Its id.
        id: u32,
        /// Its name; empty if it went away meanwhile.
        name: String,
    },
}

/// One entry of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownEntry {
    /// The key (an array map's without BTF: its index).
    pub key: Value,
    /// What is there.
    pub value: ShownValue,
}

/// A value to write, as the map takes it.
#[derive(Debug)]
pub enum NewValue {
    /// The bytes (per-CPU maps: for every CPU).
    Bytes(Vec<u8>),
    /// A program (prog arrays) or map (map-in-maps), by fd, kept open
    /// until the update.
    Fd(OwnedFd),
}

/// `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`: whether an update may create
/// or replace.
pub use rxdp_syscalls::bpf::{BPF_ANY, BPF_EXIST, BPF_NOEXIST};

/// An open map, its info and its BTF (when it has one that can be read).
#[derive(Debug)]
pub struct KernelMap {
    named: ObjectRef,
    fd: OwnedFd,
    info: MapInfo,
    frozen: bool,
    /// The BTF, or why there is none (empty: the map has no BTF).
    btf: Result<Btf, String>,
    cpus: usize,
}

impl KernelMap {
    /// Opens the map `named` and reads its BTF. A BTF that cannot be read
    /// (a module's, which only adds to vmlinux's) is no error: the map's
    /// keys and values are then shown as bytes, and
    /// [`KernelMap::btf_problem`] says why.
    #[inline(never)]
    pub fn open(named: ObjectRef) -> Result<KernelMap, MapError> {
        let label = format!("map {named}");
        let kernel = |error| MapError::Kernel {
            map: label.clone(),
            error,
            why: None,
        };
        let fd = match &named {
            ObjectRef::Pinned(path) => open_pinned(path, ObjectKind::Map)?,
            ObjectRef::Id(id) => map_get_fd_by_id(*id).map_err(kernel)?,
            ObjectRef::Name(name) => map_by_name(name)?,
        };
        let info = map_info(fd.as_fd()).map_err(kernel)?;
        let frozen = fd_info(fd.as_fd()).map_err(kernel)?.frozen;
        let cpus = if MapType(info.map_type).is_per_cpu() {
            possible_cpus().map_err(kernel)?
        } else {
            1
        };
        let btf = match info.btf_id {
            0 => Err(String::new()),
            id => read_btf(id),
        };
        Ok(KernelMap {
            named,
            fd,
            info,
            frozen,
            btf,
            cpus,
        })
    }

    /// How the user named it.
    pub fn named(&self) -> &ObjectRef {
        &self.named
    }

    /// What the kernel says of it.
    pub fn info(&self) -> &MapInfo {
        &self.info
    }

    /// Whether it is frozen.
    pub fn frozen(&self) -> bool {
        self.frozen
    }

    /// Why its BTF could not be read (`None`: read, or it has none).
    pub fn btf_problem(&self) -> Option<&str> {
        self.btf
            .as_ref()
            .err()
            .filter(|p| !p.is_empty())
            .map(String::as_str)
    }

    /// `map /sys/fs/bpf/x (id 5, counters)` or `map id 5 (counters)`.
    pub fn label(&self) -> String {
        match &self.named {
            ObjectRef::Id(_) => format!("map {} ({})", self.named, self.info.name),
            _ => format!(
                "map {} (id {}, {})",
                self.named, self.info.id, self.info.name
            ),
        }
    }

    fn map_type(&self) -> MapType {
        MapType(self.info.map_type)
    }

    fn kernel(&self) -> impl Fn(SysError) -> MapError + '_ {
        move |error| self.fail(error, None)
    }

    /// A failed syscall on this map, with what its errno means here.
    fn fail(&self, error: SysError, why: Option<&'static str>) -> MapError {
        MapError::Kernel {
            map: self.label(),
            error,
            why,
        }
    }

    fn value_error(&self) -> impl Fn(ValueError) -> MapError + '_ {
        move |error| MapError::Value {
            map: self.label(),
            error,
        }
    }

    fn handle(&self) -> Result<MapHandle<'_>, MapError> {
        MapHandle::new(self.fd.as_fd()).map_err(self.kernel())
    }

    /// The BTF type of the key or value, when there is one to read by.
    fn btf_type(&self, id: u32) -> Option<(&Btf, u32)> {
        self.btf
            .as_ref()
            .ok()
            .filter(|_| id != 0)
            .map(|btf| (btf, id))
    }

    /// Every entry, in key order (keys compared as little-endian
    /// numbers: array maps by index). Prog arrays and map-in-maps list
    /// only their filled slots.
    #[inline(never)]
    pub fn dump(&self) -> Result<Vec<ShownEntry>, MapError> {
        let map = self.handle()?;
        let mut keys = Vec::new();
        let mut key: Option<Vec<u8>> = None;
        let mut next = vec![0u8; map.key_size()];
        // A hash map walked while others delete from it restarts from its
        // first key: bound the walk, duplicates are dropped below.
        let bound = (self.info.max_entries as usize).saturating_mul(2).max(16);
        while keys.len() < bound {
            let more = map
                .next_key(key.as_deref(), &mut next)
                .map_err(|error| self.no_keys(error))?;
            if !more {
                break;
            }
            keys.push(next.clone());
            key = Some(next.clone());
        }
        keys.sort_by(|a, b| a.iter().rev().cmp(b.iter().rev()));
        keys.dedup();
        let mut entries = Vec::with_capacity(keys.len());
        for key in keys {
            // Gone since the walk (hash maps), or an empty slot (prog arrays).
            if let Some(value) = self.read(&map, &key)? {
                entries.push(ShownEntry {
                    key: self.show_key(&key)?,
                    value,
                });
            }
        }
        Ok(entries)
    }

    fn no_keys(&self, error: SysError) -> MapError {
        let unsupported = matches!(
            error.errno,
            libc::EINVAL | libc::EOPNOTSUPP | rxdp_syscalls::ENOTSUPP
        );
        self.fail(
            error,
            unsupported.then_some("maps of this type have no keys to walk"),
        )
    }

    /// The key given as `words` (see [`Input`]), as the map's bytes.
    #[inline(never)]
    pub fn key(&self, words: &[&str]) -> Result<Vec<u8>, MapError> {
        let input = Input::parse(words, "key").map_err(self.value_error())?;
        value::encode(
            self.btf_type(self.info.btf_key_type_id),
            &input,
            self.info.key_size as usize,
            "key",
        )
        .map_err(self.value_error())
    }

    /// The value at `key` (bytes from [`KernelMap::key`]), with the key
    /// as shown; an error when it is not there.
    #[inline(never)]
    pub fn lookup(&self, key: &[u8]) -> Result<ShownEntry, MapError> {
        let map = self.handle()?;
        let shown_key = self.show_key(key)?;
        match self.read(&map, key)? {
            Some(value) => Ok(ShownEntry {
                key: shown_key,
                value,
            }),
            None => Err(MapError::NoEntry {
                map: self.label(),
                key: shown_key.to_string(),
            }),
        }
    }

    /// The value given as `words`: for a prog array a program, for a
    /// map-in-map a map (each named as [`ObjectRef`] says, after an
    /// optional `prog` or `map`); else as [`Input`] says.
    #[inline(never)]
    pub fn value(&self, words: &[&str]) -> Result<NewValue, MapError> {
        let map_type = self.map_type();
        let object = if map_type == MapType::PROG_ARRAY {
            Some(("prog", ObjectKind::Program))
        } else if map_type.is_map_in_map() {
            Some(("map", ObjectKind::Map))
        } else {
            None
        };
        if let Some((keyword, kind)) = object {
            let words = words.strip_prefix(&[keyword]).unwrap_or(words);
            let named = match ObjectRef::parse_prefix(words) {
                Ok((named, [])) => named,
                Ok((_, rest)) => {
                    return Err(self.usage(format!(
                        "`{}` after the {keyword}: the value is one {keyword}",
                        rest.join(" ")
                    )))
                }
                Err(problem) => {
                    return Err(self.usage(format!(
                        "the values of {map_type} maps are {}s: {problem}",
                        if keyword == "prog" { "program" } else { "map" }
                    )))
                }
            };
            return open_object(&named, kind).map(NewValue::Fd);
        }
        let input = Input::parse(words, "value").map_err(self.value_error())?;
        let size = self.info.value_size as usize;
        let one = value::encode(
            self.btf_type(self.info.btf_value_type_id),
            &input,
            size,
            "value",
        )
        .map_err(self.value_error())?;
        if self.cpus == 1 && !map_type.is_per_cpu() {
            return Ok(NewValue::Bytes(one));
        }
        // The same value on every CPU, each in its 8-byte-aligned slot.
        let stride = size.next_multiple_of(8);
        let mut all = vec![0u8; stride * self.cpus];
        for slot in all.chunks_exact_mut(stride) {
            slot[..size].copy_from_slice(&one);
        }
        Ok(NewValue::Bytes(all))
    }

    fn usage(&self, what: String) -> MapError {
        MapError::Unsupported {
            map: self.label(),
            what,
        }
    }

    /// Writes `value` at `key`; `flags` is [`BPF_ANY`], [`BPF_NOEXIST`]
    /// or [`BPF_EXIST`].
    #[inline(never)]
    pub fn update(&self, key: &[u8], value: &NewValue, flags: u64) -> Result<(), MapError> {
        let map = self.handle()?;
        let fd_bytes;
        let bytes = match value {
            NewValue::Bytes(bytes) => bytes.as_slice(),
            NewValue::Fd(fd) => {
                fd_bytes = fd.as_raw_fd().to_ne_bytes();
                &fd_bytes
            }
        };
        map.update(key, bytes, flags).map_err(|error| {
            // EEXIST and ENOENT say what --flags noexist and exist refused.
            let why = match error.errno {
                libc::E2BIG => Some("the map is full (max_entries)"),
                libc::EPERM if self.frozen => {
                    Some("the map is frozen: user space cannot change it")
                }
                _ => None,
            };
            self.fail(error, why)
        })
    }

    /// Deletes `key`; an error when it is not there, or when the map's
    /// entries cannot be deleted (arrays).
    #[inline(never)]
    pub fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let map = self.handle()?;
        match map.delete(key) {
            Ok(true) => Ok(()),
            Ok(false) => Err(MapError::NoEntry {
                map: self.label(),
                key: self.show_key(key)?.to_string(),
            }),
            Err(error) => {
                let array = error.errno == libc::EINVAL && self.map_type().has_index_keys();
                Err(self.fail(
                    error,
                    array.then_some(
                        "the entries of array maps always exist; write zero with `rxdp map update`",
                    ),
                ))
            }
        }
    }

    /// The value at `key`, `None` when there is none.
    #[inline(never)]
    fn read(&self, map: &MapHandle<'_>, key: &[u8]) -> Result<Option<ShownValue>, MapError> {
        let mut bytes = vec![0u8; map.value_size()];
        let found = map.lookup(key, &mut bytes).map_err(|error| {
            let unsupported = matches!(error.errno, libc::EOPNOTSUPP | rxdp_syscalls::ENOTSUPP);
            self.fail(
                error,
                unsupported.then_some("user space cannot read the values of this type of map"),
            )
        })?;
        if !found {
            return Ok(None);
        }
        let map_type = self.map_type();
        if map_type == MapType::PROG_ARRAY || map_type.is_map_in_map() {
            // The kernel gives ids for the fds it was given.
            let id = bytes
                .get(..4)
                .and_then(|id| id.try_into().ok())
                .map_or(0, u32::from_ne_bytes);
            return Ok(Some(if map_type == MapType::PROG_ARRAY {
                ShownValue::Program {
                    id,
                    name: program_name(id),
                }
            } else {
                ShownValue::Map {
                    id,
                    name: map_name(id),
                }
            }));
        }
        let size = self.info.value_size as usize;
        if !map_type.is_per_cpu() {
            return Ok(Some(ShownValue::One(self.show_value(&bytes)?)));
        }
        let stride = size.next_multiple_of(8).max(1);
        let mut cpus = Vec::with_capacity(self.cpus);
        for slot in bytes.chunks(stride) {
            cpus.push(self.show_value(&slot[..size.min(slot.len())])?);
        }
        let typed = self.btf_type(self.info.btf_value_type_id).is_some();
        let sum = sum(&cpus, typed);
        Ok(Some(ShownValue::PerCpu { cpus, sum }))
    }

    /// A key as shown: through BTF, as an index (array maps), or bytes.
    pub fn show_key(&self, key: &[u8]) -> Result<Value, MapError> {
        match (self.btf_type(self.info.btf_key_type_id), le_number(key)) {
            (Some((btf, id)), _) => value::format(btf, id, key, "key").map_err(self.value_error()),
            (None, Some(index)) if self.map_type().has_index_keys() => Ok(Value::Uint(index)),
            _ => Ok(Value::Bytes(key.to_vec())),
        }
    }

    fn show_value(&self, bytes: &[u8]) -> Result<Value, MapError> {
        match self.btf_type(self.info.btf_value_type_id) {
            Some((btf, id)) => value::format(btf, id, bytes, "value").map_err(self.value_error()),
            None => Ok(Value::Bytes(bytes.to_vec())),
        }
    }
}

impl AsFd for KernelMap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The BTF object `id`, from the kernel, parsed; or what went wrong.
fn read_btf(id: u32) -> Result<Btf, String> {
    let fd = btf_get_fd_by_id(id).map_err(|e| e.to_string())?;
    let (info, data) = btf_data(fd.as_fd()).map_err(|e| e.to_string())?;
    if info.kernel_btf && info.name != "vmlinux" {
        return Err(format!(
            "module {}'s BTF, which adds to vmlinux's",
            info.name
        ));
    }
    Btf::parse(&data).map_err(|e| e.to_string())
}

/// The per-CPU sum: through BTF as [`value::sum`] says; without, of the
/// little-endian numbers of 1, 2, 4 or 8 bytes (other bytes: none).
fn sum(cpus: &[Value], typed: bool) -> Option<Value> {
    if typed {
        return Some(value::sum(cpus));
    }
    let mut total = 0u64;
    for raw in cpus {
        total = total.wrapping_add(raw_number(raw)?);
    }
    Some(Value::Uint(total))
}

/// The name of program `id`, empty when it is gone.
fn program_name(id: u32) -> String {
    prog_get_fd_by_id(id)
        .and_then(|fd| prog_info(fd.as_fd()))
        .map(|info| info.name)
        .unwrap_or_default()
}

/// The name of map `id`, empty when it is gone.
fn map_name(id: u32) -> String {
    map_get_fd_by_id(id)
        .and_then(|fd| map_info(fd.as_fd()))
        .map(|info| info.name)
        .unwrap_or_default()
}

/// Opens the object pinned at `path`, which must be a `kind`.
fn open_pinned(path: &Path, kind: ObjectKind) -> Result<OwnedFd, MapError> {
    let what = kind_name(kind);
    let kernel = |error| MapError::Kernel {
        map: format!("{what} {}", path.display()),
        error,
        why: None,
    };
    let fd = bpffs::get(path).map_err(kernel)?;
    let found = fd_info(fd.as_fd()).map_err(kernel)?.kind;
    if found != kind {
        return Err(MapError::WrongKind {
            path: path.display().to_string(),
            found: match found {
                ObjectKind::Map => "a map",
                ObjectKind::Program => "a program",
                ObjectKind::Link => "a link",
                _ => "no map or program",
            },
            what,
        });
    }
    Ok(fd)
}

fn kind_name(kind: ObjectKind) -> &'static str {
    if kind == ObjectKind::Program {
        "program"
    } else {
        "map"
    }
}

/// Opens a map or a program as named.
#[inline(never)]
fn open_object(named: &ObjectRef, kind: ObjectKind) -> Result<OwnedFd, MapError> {
    let what = kind_name(kind);
    let kernel = |error| MapError::Kernel {
        map: format!("{what} {named}"),
        error,
        why: None,
    };
    match named {
        ObjectRef::Pinned(path) => open_pinned(path, kind),
        ObjectRef::Id(id) if kind == ObjectKind::Program => prog_get_fd_by_id(*id).map_err(kernel),
        ObjectRef::Id(id) => map_get_fd_by_id(*id).map_err(kernel),
        // Programs by id or pin: by name would be a walk of them all.
        ObjectRef::Name(_) if kind == ObjectKind::Program => Err(MapError::NoSuchName {
            what: "program (name programs by id or pin)",
            name: named.to_string(),
        }),
        ObjectRef::Name(name) => map_by_name(name),
    }
}

/// Opens every map in the kernel in turn, by id; those that went away
/// between the walk and the open are skipped.
#[inline(never)]
fn each_map(each: &mut dyn FnMut(u32, OwnedFd) -> Result<(), MapError>) -> Result<(), MapError> {
    let kernel = |error| MapError::Kernel {
        map: "the maps".into(),
        error,
        why: None,
    };
    let mut id = 0;
    while let Some(next_id) = map_get_next_id(id).map_err(kernel)? {
        id = next_id;
        match map_get_fd_by_id(id) {
            Ok(fd) => each(id, fd)?,
            Err(error) if error.errno == libc::ENOENT => continue,
            Err(error) => return Err(kernel(error)),
        }
    }
    Ok(())
}

/// The one map named `name`.
fn map_by_name(name: &str) -> Result<OwnedFd, MapError> {
    let mut found = Vec::new();
    each_map(&mut |id, fd| {
        if map_info(fd.as_fd()).is_ok_and(|info| info.name == name) {
            found.push((id, fd));
        }
        Ok(())
    })?;
    let error = match found.len() {
        1 => return Ok(found.remove(0).1),
        0 => MapError::NoSuchName {
            what: "map",
            name: name.to_owned(),
        },
        count => MapError::Ambiguous {
            what: "map",
            name: name.to_owned(),
            count,
            ids: {
                let mut ids = String::new();
                for (id, _) in &found {
                    if !ids.is_empty() {
                        ids.push_str(", ");
                    }
                    ids.push_str(&id.to_string());
                }
                ids
            },
        },
    };
    Err(error)
}

/// Every map in the kernel, by id. (Their pins are not looked for: that
/// is a walk of all of bpffs, as `bpftool -f` does; a map named by its pin
/// shows that one.)
#[inline(never)]
pub fn list() -> Result<Vec<MapSummary>, MapError> {
    let mut maps = Vec::new();
    each_map(&mut |id, fd| {
        let info = map_info(fd.as_fd()).map_err(|error| MapError::Kernel {
            map: format!("map id {id}"),
            error,
            why: None,
        })?;
        maps.push(info);
        Ok(())
    })?;
    Ok(maps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_as_bpftool_writes_them() {
        let parse = |words: &[&str]| {
            ObjectRef::parse_prefix(words).map(|(named, rest)| (named, rest.len()))
        };
        assert_eq!(parse(&["id", "5", "key", "1"]), Ok((ObjectRef::Id(5), 2)));
        assert_eq!(
            parse(&["name", "counters"]),
            Ok((ObjectRef::Name("counters".into()), 0))
        );
        assert_eq!(
            parse(&["pinned", "x", "1"]),
            Ok((ObjectRef::Pinned("x".into()), 1))
        );
        assert_eq!(
            parse(&["/sys/fs/bpf/a/b"]),
            Ok((ObjectRef::Pinned("/sys/fs/bpf/a/b".into()), 0))
        );
        assert_eq!(
            parse(&["id", "x"]).unwrap_err(),
            "`id x`: an id is a number"
        );
        assert_eq!(
            parse(&["counters"]).unwrap_err(),
            "`counters`: name it by `id N`, `name NAME`, `pinned PATH` or a path"
        );
        assert!(parse(&[]).is_err());
        assert_eq!(ObjectRef::Id(7).to_string(), "id 7");
        assert_eq!(ObjectRef::Name("a".into()).to_string(), "name a");
    }

    #[test]
    fn raw_bytes_and_their_sums() {
        assert_eq!(raw_number(&Value::Bytes(vec![78, 0, 0, 0])), Some(78));
        assert_eq!(raw_number(&Value::Bytes(vec![1, 2, 3])), None);
        assert_eq!(raw_number(&Value::Uint(3)), None);
        let raw = |n: u64| Value::Bytes(n.to_le_bytes().to_vec());
        assert_eq!(sum(&[raw(1), raw(2)], false), Some(Value::Uint(3)));
        assert_eq!(sum(&[Value::Bytes(vec![1, 2, 3])], false), None);
        assert_eq!(
            sum(&[Value::Int(-1), Value::Int(3)], true),
            Some(Value::Int(2))
        );
    }
}
