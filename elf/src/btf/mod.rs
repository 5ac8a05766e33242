//! BTF (`.BTF`, `/sys/kernel/btf/vmlinux`) and BTF.ext (`.BTF.ext`).
//!
//! BTF is the kernel's type format (`include/uapi/linux/btf.h`): a header, a
//! type section of `struct btf_type` records each followed by kind-specific
//! data, and a string table. Type ids count from 1 in the order of the type
//! section; id 0 is `void`.
//!
//! This module reads it ([`Btf::parse`]), answers questions about it
//! ([`Btf::resolve`], [`Btf::size_of`], [`Btf::map_definition`]) and writes it
//! back ([`Btf::to_bytes`], byte for byte). For `BPF_BTF_LOAD` an object's BTF
//! needs two repairs: [`Btf::fix_datasecs`] fills in what only the ELF file
//! knows (section sizes, variable offsets), then [`Btf::kernel_bytes`]
//! rewrites extern declarations the kernel refuses. [`BtfExt`] reads the
//! per-instruction records of `.BTF.ext`.
//!
//! A kernel that does not know some kind gets [`Btf::sanitized`]
//! (`sanitize.rs`). A module's BTF is split BTF on top of vmlinux's
//! ([`Btf::parse_split`]).
//!
//! Files: `parse.rs` (reading), `write.rs` (writing), `types.rs` (the
//! records), `datasec.rs` and `kernel.rs` (the two repairs), `sanitize.rs`,
//! `maps.rs` (BTF map definitions), `ext.rs` (`.BTF.ext`), `error.rs`;
//! [`value`] reads and writes map keys and values through it.
//!
//! Only little-endian BTF is read: BPF objects for this kernel are little-endian.

use std::sync::Arc;

mod datasec;
mod error;
mod ext;
mod kernel;
mod maps;
mod parse;
mod run_config;
mod sanitize;
mod types;
pub mod value;
mod write;

#[cfg(test)]
mod tests;

pub use error::{BtfError, MapProblem};
pub use ext::{BtfExt, CoreReloc, FuncInfo, LineInfo, SectionRecords};
pub use kernel::{KconfigSlot, KCONFIG_SECTION, KSYMS_SECTION};
pub use maps::{BtfMapDef, BtfMapValues};
pub use run_config::{XdpRunConfig, XDP_ACTIONS, XDP_RUN_CONFIG_SECTION};
pub use sanitize::BtfFeatures;
pub use types::{
    BtfArray, BtfEnum, BtfEnum64, BtfInt, BtfKind, BtfMember, BtfParam, BtfType, BtfTypeData,
    VarSecinfo, BTF_FUNC_EXTERN, BTF_VAR_GLOBAL_EXTERN, BTF_VAR_STATIC,
};

/// `BTF_MAGIC`.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// `BTF_VERSION`.
pub const BTF_VERSION: u8 = 1;
/// Size of `struct btf_header` as this module knows it.
pub const BTF_HEADER_LEN: usize = 24;

/// How many typedef/modifier/array hops [`Btf::resolve`] and [`Btf::size_of`]
/// follow before calling it a loop: the kernel's `MAX_RESOLVE_DEPTH`.
pub const MAX_RESOLVE_DEPTH: usize = 32;

/// One DATASEC as [`Btf::datasecs`] lists it: type id, name (the ELF
/// section), variables.
pub type DatasecEntry<'a> = (u32, &'a str, &'a [VarSecinfo]);

/// Parsed BTF: the header fields needed to write it back, the types and the
/// string table.
///
/// A kernel module's BTF (`/sys/kernel/btf/<module>`) is *split* BTF: it
/// continues vmlinux's, its type ids counting on from vmlinux's last and
/// its string offsets from the end of vmlinux's string table, and it refers
/// to vmlinux's types freely. [`Btf::parse_split`] reads one on top of its
/// base; every lookup by id or string offset then reaches into the base
/// where the number belongs to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Btf {
    /// `hdr_len` as read: a newer, longer header (its extra bytes zero) is
    /// written back at the same length.
    header_len: u32,
    /// `flags` of the header (0 in every BTF so far).
    flags: u8,
    /// `types[i]` has type id `first_type_id() + i`.
    types: Vec<BtfType>,
    /// The raw string table: NUL-terminated strings, the first one empty
    /// (of a split BTF: what follows its base's).
    strings: Vec<u8>,
    /// The BTF a split BTF continues (vmlinux for a module).
    base: Option<Arc<Btf>>,
}

impl Default for Btf {
    /// An empty BTF: no types, a string table holding only the empty string.
    fn default() -> Btf {
        Btf {
            header_len: BTF_HEADER_LEN as u32,
            flags: 0,
            types: Vec::new(),
            strings: vec![0],
            base: None,
        }
    }
}

impl Btf {
    /// This BTF's own types; `types()[i]` has type id
    /// `first_type_id() + i` (id 0 is `void`). A split BTF's base types
    /// are not among them.
    pub fn types(&self) -> &[BtfType] {
        &self.types
    }

    /// This BTF's own raw string table (a split BTF's starts at
    /// offset [`string_base`](Btf::string_base)).
    pub fn strings(&self) -> &[u8] {
        &self.strings
    }

    /// The base of a split BTF.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// The id of `types()[0]`: 1, or for a split BTF one past its base's
    /// last.
    pub fn first_type_id(&self) -> u32 {
        self.base
            .as_ref()
            .map_or(1, |base| base.max_type_id().saturating_add(1))
    }

    /// The string offset of `strings()[0]`: 0, or for a split BTF the end
    /// of its base's string table.
    pub fn string_base(&self) -> u32 {
        self.base.as_ref().map_or(0, |base| base.strings_end())
    }

    /// One past the last string offset.
    fn strings_end(&self) -> u32 {
        let own = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.string_base().saturating_add(own)
    }

    /// Each own type with its id.
    pub fn types_with_ids(&self) -> impl Iterator<Item = (u32, &BtfType)> {
        (self.first_type_id()..).zip(&self.types)
    }

    /// The largest valid type id.
    pub fn max_type_id(&self) -> u32 {
        // A parse never yields more types than fit a u32 (each is >= 12 bytes
        // of a u32-sized section).
        let own = u32::try_from(self.types.len()).unwrap_or(u32::MAX);
        (self.first_type_id() - 1).saturating_add(own)
    }

    /// The type with id `id`. Id 0 (`void`) has no record and is out of range here.
    pub fn type_by_id(&self, id: u32) -> Result<&BtfType, BtfError> {
        let first = self.first_type_id();
        if id < first {
            if let Some(base) = &self.base {
                return base.type_by_id(id);
            }
        }
        id.checked_sub(first)
            .and_then(|i| self.types.get(i as usize))
            .ok_or(BtfError::TypeIdOutOfRange {
                id,
                max: self.max_type_id(),
            })
    }

    /// The NUL-terminated string at `offset` of the string table.
    pub fn string(&self, offset: u32) -> Result<&str, BtfError> {
        let bytes = self.string_bytes(offset)?;
        std::str::from_utf8(bytes).map_err(|_| BtfError::StringUtf8 { offset })
    }

    /// The string at `offset` as bytes, without the UTF-8 check.
    fn string_bytes(&self, offset: u32) -> Result<&[u8], BtfError> {
        let string_base = self.string_base();
        if offset < string_base {
            if let Some(base) = &self.base {
                return base.string_bytes(offset);
            }
        }
        let rest = self
            .strings
            .get((offset - string_base) as usize..)
            .filter(|rest| !rest.is_empty())
            .ok_or(BtfError::StringOffset {
                offset,
                len: self.strings_end() as usize,
            })?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(BtfError::StringUnterminated { offset })?;
        Ok(rest.split_at(end).0)
    }

    /// The name of type `id` (empty for anonymous types and for `void`).
    pub fn type_name(&self, id: u32) -> Result<&str, BtfError> {
        if id == 0 {
            return Ok("");
        }
        self.string(self.type_by_id(id)?.name_off)
    }

    /// The first type id with this kind and name among this BTF's own
    /// types (a split BTF's base is not searched: libbpf's
    /// `btf__find_by_name_kind_own`).
    pub fn find(&self, kind: BtfKind, name: &str) -> Option<u32> {
        let name = name.as_bytes();
        self.types_with_ids()
            .find(|(_, t)| t.kind == kind && self.string_bytes(t.name_off).ok() == Some(name))
            .map(|(id, _)| id)
    }

    /// Follows TYPEDEF, CONST, VOLATILE, RESTRICT and TYPE_TAG to the type
    /// they qualify. At most [`MAX_RESOLVE_DEPTH`] hops: more is a loop.
    pub fn resolve(&self, id: u32) -> Result<u32, BtfError> {
        let mut current = id;
        for _ in 0..=MAX_RESOLVE_DEPTH {
            if current == 0 {
                return Ok(0);
            }
            let t = self.type_by_id(current)?;
            if !t.kind.is_modifier() {
                return Ok(current);
            }
            current = t.size_or_type;
        }
        Err(BtfError::ReferenceLoop {
            id,
            limit: MAX_RESOLVE_DEPTH,
        })
    }

    /// Size in bytes of type `id`: modifiers, typedefs and VARs are followed,
    /// an ARRAY is its element size times `nelems`, a PTR is 8 bytes (BPF and
    /// every 64-bit kernel). FUNC, FUNC_PROTO, FWD, DECL_TAG and `void` have no size.
    pub fn size_of(&self, id: u32) -> Result<u32, BtfError> {
        let mut count: u64 = 1;
        let mut current = id;
        for _ in 0..=MAX_RESOLVE_DEPTH {
            if current == 0 {
                return Err(BtfError::NoSize { id, kind: "void" });
            }
            let t = self.type_by_id(current)?;
            let element = match t.kind {
                BtfKind::Ptr => 8,
                k if k.has_size() => t.size_or_type,
                BtfKind::Array => {
                    let a = t.array().ok_or(BtfError::NoSize {
                        id: current,
                        kind: t.kind.name(),
                    })?;
                    count = count
                        .checked_mul(u64::from(a.nelems))
                        .ok_or(BtfError::SizeOverflow { id })?;
                    current = a.type_id;
                    continue;
                }
                k if k.is_modifier() || k == BtfKind::Var => {
                    current = t.size_or_type;
                    continue;
                }
                k => {
                    return Err(BtfError::NoSize {
                        id: current,
                        kind: k.name(),
                    })
                }
            };
            return count
                .checked_mul(u64::from(element))
                .and_then(|total| u32::try_from(total).ok())
                .ok_or(BtfError::SizeOverflow { id });
        }
        Err(BtfError::ReferenceLoop {
            id,
            limit: MAX_RESOLVE_DEPTH,
        })
    }

    /// The alignment of type `id` in bytes, as a C compiler for BPF lays it
    /// out (libbpf's `btf__align_of`): an integer, enum or float its size
    /// up to 8, a pointer 8, an array its element's, a struct or union its
    /// most aligned member's (1 when packed: a member at an offset its
    /// alignment does not divide, or a size that is no multiple of it).
    pub fn align_of(&self, id: u32) -> Result<u32, BtfError> {
        self.align_within(id, 0)
    }

    /// [`align_of`](Btf::align_of), `depth` structs deep already: a struct
    /// that contains itself (only a damaged BTF has one) ends the walk.
    fn align_within(&self, id: u32, depth: usize) -> Result<u32, BtfError> {
        let mut current = id;
        for _ in 0..=MAX_RESOLVE_DEPTH {
            let t = self.type_by_id(current)?;
            match t.kind {
                BtfKind::Int | BtfKind::Enum | BtfKind::Enum64 | BtfKind::Float => {
                    return Ok(t.size_or_type.clamp(1, 8));
                }
                BtfKind::Ptr => return Ok(8),
                BtfKind::Array => match t.array() {
                    Some(array) => current = array.type_id,
                    None => return Ok(1),
                },
                BtfKind::Struct | BtfKind::Union if depth < MAX_RESOLVE_DEPTH => {
                    let mut align = 1;
                    for member in t.members() {
                        let member_align = self.align_within(member.type_id, depth + 1)?;
                        let packed = member.bitfield_size(t.kind_flag) == 0
                            && member.bit_offset(t.kind_flag) % (8 * member_align) != 0;
                        if packed {
                            return Ok(1);
                        }
                        align = align.max(member_align);
                    }
                    return Ok(if t.size_or_type % align == 0 {
                        align
                    } else {
                        1
                    });
                }
                k if k.is_modifier() || k == BtfKind::Var => current = t.size_or_type,
                BtfKind::Struct | BtfKind::Union => break,
                k => {
                    return Err(BtfError::NoSize {
                        id: current,
                        kind: k.name(),
                    })
                }
            }
        }
        Err(BtfError::ReferenceLoop {
            id,
            limit: MAX_RESOLVE_DEPTH,
        })
    }

    /// Each DATASEC: its type id, its name (the ELF section) and its variables.
    pub fn datasecs(&self) -> Result<Vec<DatasecEntry<'_>>, BtfError> {
        let mut out = Vec::new();
        for (id, t) in self.types_with_ids() {
            if t.kind == BtfKind::Datasec {
                out.push((id, self.string(t.name_off)?, t.secinfos()));
            }
        }
        Ok(out)
    }

    /// Whether type `id` is, or holds somewhere in its members and array
    /// elements, a STRUCT named `name` (`bpf_spin_lock` in a map value,
    /// say). A malformed or looping graph answers no; nesting deeper than
    /// [`MAX_RESOLVE_DEPTH`] is not followed.
    pub fn holds_struct(&self, id: u32, name: &str) -> bool {
        self.holds_struct_at(id, name.as_bytes(), 0)
    }

    fn holds_struct_at(&self, id: u32, name: &[u8], depth: usize) -> bool {
        if depth > MAX_RESOLVE_DEPTH {
            return false;
        }
        let Some(t) = self
            .resolve(id)
            .ok()
            .filter(|id| *id != 0)
            .and_then(|id| self.type_by_id(id).ok())
        else {
            return false;
        };
        match &t.data {
            BtfTypeData::Members(members) => {
                (t.kind == BtfKind::Struct && self.string_bytes(t.name_off).ok() == Some(name))
                    || members
                        .iter()
                        .any(|m| self.holds_struct_at(m.type_id, name, depth + 1))
            }
            BtfTypeData::Array(array) => self.holds_struct_at(array.type_id, name, depth + 1),
            _ => false,
        }
    }

    /// The full name of the FUNC a kernel object name was cut from: the
    /// kernel keeps `BPF_OBJ_NAME_LEN - 1` bytes of a program's name, its
    /// BTF the whole. An exact match wins; otherwise the one FUNC whose name
    /// starts with `name` (none when several do: libxdp's
    /// `btf_get_function`, so that both order components alike).
    pub fn func_named_from(&self, name: &str) -> Option<&str> {
        let mut prefixed = None;
        let mut count = 0;
        for t in self.types.iter().filter(|t| t.kind == BtfKind::Func) {
            let Ok(full) = self.string(t.name_off) else {
                continue;
            };
            if full == name {
                return Some(full);
            }
            if full.starts_with(name) {
                prefixed = Some(full);
                count += 1;
            }
        }
        prefixed.filter(|_| count == 1)
    }

    /// Whether `name` is declared as an extern function (`BTF_KIND_FUNC` with
    /// linkage `BTF_FUNC_EXTERN`), i.e. a kfunc declared `__ksym`.
    pub fn is_extern_func(&self, name: &str) -> bool {
        let name = name.as_bytes();
        self.types.iter().any(|t| {
            t.kind == BtfKind::Func
                && t.data
                    == (BtfTypeData::Func {
                        linkage: BTF_FUNC_EXTERN,
                    })
                && self.string_bytes(t.name_off).ok() == Some(name)
        })
    }
}
