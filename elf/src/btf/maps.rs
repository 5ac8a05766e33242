//! BTF-defined maps: reading the struct a `.maps` variable points to.
//!
//! libbpf's `bpf_helpers.h` encodes each attribute in the *type* of a struct
//! member, not in data (the `.maps` section holds only zeros and relocations):
//! - `__uint(name, val)` is `int (*name)[val]`: a PTR to an ARRAY whose
//!   `nelems` is the value (`type`, `max_entries`, `map_flags`, `numa_node`,
//!   `pinning`, `map_extra`, `key_size`, `value_size`);
//! - `__ulong(name, val)` (bpf_helpers.h of 6.9) is `enum { ___x = val }
//!   name`: an ENUM or ENUM64 of one enumerator whose value is the value,
//!   64 bits wide (`map_extra`, an arena's address);
//! - `__type(name, T)` is `T *name`: a PTR whose target is the key or value type;
//! - `__array(values, T)` is `typeof(T) *values[]`: a zero-length ARRAY of PTR
//!   to T, where T is a function prototype for a prog array, or the struct
//!   defining the inner map of a map-in-map. Its initialisers are relocations
//!   in `.rel.maps` pointing at 8-byte slots from the member's offset on.

use super::error::{BtfError, MapProblem};
use super::types::{BtfKind, BtfMember, BtfTypeData};
use super::Btf;

/// `BPF_MAP_TYPE_PROG_ARRAY`.
const PROG_ARRAY: u32 = 3;
/// `BPF_MAP_TYPE_ARRAY_OF_MAPS`, `BPF_MAP_TYPE_HASH_OF_MAPS`.
const ARRAY_OF_MAPS: u32 = 12;
const HASH_OF_MAPS: u32 = 13;

/// A map definition as a BTF `.maps` struct declares it. `None` means the
/// member is absent; the caller decides defaults and what is required.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BtfMapDef {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: Option<u32>,
    /// `key_size`, or the size of the `key` type when only that is given.
    pub key_size: Option<u32>,
    /// The `key` type as declared (not resolved), 0 when absent.
    pub key_type_id: u32,
    /// `value_size`, the size of the `value` type when only that is given,
    /// or 4 (a program or map id) when `values` is given.
    pub value_size: Option<u32>,
    /// The `value` type as declared (not resolved), 0 when absent.
    pub value_type_id: u32,
    /// `max_entries`, when given.
    pub max_entries: Option<u32>,
    /// `map_flags`.
    pub map_flags: u32,
    /// `numa_node`, honoured with `BPF_F_NUMA_NODE`.
    pub numa_node: u32,
    /// `LIBBPF_PIN_NONE` 0, `LIBBPF_PIN_BY_NAME` 1.
    pub pinning: u32,
    /// `map_extra`.
    pub map_extra: u64,
    /// `__array(values, ...)`: for a prog array, the values are programs;
    /// for a map-in-map, the inner map's definition.
    pub values: Option<BtfMapValues>,
    /// The byte offset of the `values` member within the struct (relocations
    /// in `.rel.maps` point at slots there: slot i is at `values_offset + 8*i`).
    /// 0 when there is no `values` member.
    pub values_offset: u32,
}

/// What the `values` array of a map holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BtfMapValues {
    /// A prog array: `__array(values, int (void *))`.
    Programs,
    /// A map-in-map: the inner map's definition.
    Maps(Box<BtfMapDef>),
}

impl Btf {
    /// Interprets the struct a BTF map variable in `.maps` points to (libbpf
    /// convention). `id` is the VAR (the `type_id` of its `.maps` DATASEC
    /// entry) or directly the VAR's type; typedefs and qualifiers are
    /// followed. Errors name the map (the VAR's name) and the member.
    pub fn map_definition(&self, id: u32) -> Result<BtfMapDef, BtfError> {
        let var = self.type_by_id(id)?;
        let (map_name, struct_id) = if var.kind == BtfKind::Var {
            (self.string(var.name_off)?.to_owned(), var.size_or_type)
        } else {
            (self.type_name(id)?.to_owned(), id)
        };
        self.map_struct(struct_id, false)
            .map_err(|problem| BtfError::Map {
                map: map_name,
                problem,
            })
    }

    /// Reads the definition struct `id`; `inner` is set while reading the
    /// inner map of a map-in-map, which may not nest further.
    fn map_struct(&self, id: u32, inner: bool) -> Result<BtfMapDef, MapProblem> {
        let type_problem = |member: &str, e: BtfError| MapProblem::MemberType {
            member: member.to_owned(),
            error: Box::new(e),
        };
        let resolved = self
            .resolve(id)
            .map_err(|e| type_problem("(definition)", e))?;
        let t = self
            .type_by_id(resolved)
            .map_err(|e| type_problem("(definition)", e))?;
        if t.kind != BtfKind::Struct {
            return Err(MapProblem::NotStruct {
                kind: t.kind.name(),
            });
        }
        let kind_flag = t.kind_flag;
        let members = t.members();
        let mut def = BtfMapDef::default();
        // Sizes as declared by `key_size`/`value_size` and as implied by the
        // `key`/`value` types; reconciled once every member is read.
        let (mut key_size, mut key_type_size) = (None, None);
        let (mut value_size, mut value_type_size) = (None, None);
        for (index, m) in members.iter().enumerate() {
            let name = self
                .string(m.name_off)
                .map_err(|e| type_problem("(name)", e))?;
            if name.is_empty() {
                return Err(MapProblem::AnonymousMember { index });
            }
            match name {
                "type" => def.map_type = Some(self.uint_member(name, m)?),
                "max_entries" => def.max_entries = Some(self.uint_member(name, m)?),
                "map_flags" => def.map_flags = self.uint_member(name, m)?,
                "numa_node" => def.numa_node = self.uint_member(name, m)?,
                "pinning" => def.pinning = self.uint_member(name, m)?,
                "map_extra" => def.map_extra = self.long_member(name, m)?,
                "key_size" => key_size = Some(self.uint_member(name, m)?),
                "value_size" => value_size = Some(self.uint_member(name, m)?),
                "key" => {
                    let (type_id, size) = self.type_member(name, m)?;
                    def.key_type_id = type_id;
                    key_type_size = Some(size);
                }
                "value" => {
                    let (type_id, size) = self.type_member(name, m)?;
                    def.value_type_id = type_id;
                    value_type_size = Some(size);
                }
                "values" => {
                    if index + 1 != members.len() {
                        return Err(MapProblem::ValuesNotLast);
                    }
                    if inner {
                        return Err(MapProblem::NestedTooDeep);
                    }
                    def.values = Some(self.values_member(m, def.map_type)?);
                    def.values_offset = m.bit_offset(kind_flag) / 8;
                    // The slots hold program or map ids: 4 bytes each.
                    value_type_size = Some(4);
                }
                other => {
                    return Err(MapProblem::UnknownMember {
                        member: other.to_owned(),
                    })
                }
            }
        }
        if def.values.is_some() {
            if let Some(declared) = value_size.filter(|&v| v != 4) {
                return Err(MapProblem::ValuesValueSize { declared });
            }
        }
        def.key_size = agree("key_size", "key", key_size, key_type_size)?;
        def.value_size = agree("value_size", "value", value_size, value_type_size)?;
        Ok(def)
    }

    /// `__uint(name, val)` or `__ulong(name, val)` of a 32-bit attribute.
    pub(crate) fn uint_member(&self, name: &str, m: &BtfMember) -> Result<u32, MapProblem> {
        let value = self.long_member(name, m)?;
        u32::try_from(value).map_err(|_| MapProblem::AttributeRange {
            member: name.to_owned(),
            value,
        })
    }

    /// `__uint(name, val)`: a PTR to an ARRAY of `val` elements; or
    /// `__ulong(name, val)`: an ENUM or ENUM64 whose one enumerator is
    /// `val` (libbpf's `get_map_field_long`; a 32-bit enumerator is
    /// sign-extended only when its enum is signed).
    fn long_member(&self, name: &str, m: &BtfMember) -> Result<u64, MapProblem> {
        let not_uint = || MapProblem::NotPtrToArray {
            member: name.to_owned(),
        };
        let t = self.resolved(m.type_id).ok_or_else(not_uint)?;
        match &t.data {
            BtfTypeData::Enum(values) if values.len() == 1 => {
                let value = values[0].val;
                return Ok(if t.kind_flag {
                    i64::from(value) as u64
                } else {
                    u64::from(value as u32)
                });
            }
            BtfTypeData::Enum64(values) if values.len() == 1 => return Ok(values[0].value()),
            _ => {}
        }
        if t.kind != BtfKind::Ptr {
            return Err(not_uint());
        }
        let array = self.type_by_id(t.size_or_type).map_err(|_| not_uint())?;
        array
            .array()
            .map(|a| u64::from(a.nelems))
            .ok_or_else(not_uint)
    }

    /// `__type(name, T)`: a PTR to T; gives T's id as declared and its size.
    fn type_member(&self, name: &str, m: &BtfMember) -> Result<(u32, u32), MapProblem> {
        let ptr = self.resolved(m.type_id).ok_or_else(|| MapProblem::NotPtr {
            member: name.to_owned(),
        })?;
        if ptr.kind != BtfKind::Ptr {
            return Err(MapProblem::NotPtr {
                member: name.to_owned(),
            });
        }
        let target = ptr.size_or_type;
        let size = self.size_of(target).map_err(|e| MapProblem::MemberType {
            member: name.to_owned(),
            error: Box::new(e),
        })?;
        Ok((target, size))
    }

    /// `__array(values, T)`: a zero-length ARRAY of PTR to T.
    fn values_member(
        &self,
        m: &BtfMember,
        map_type: Option<u32>,
    ) -> Result<BtfMapValues, MapProblem> {
        let array = self
            .resolved(m.type_id)
            .and_then(|t| t.array())
            .filter(|a| a.nelems == 0)
            .ok_or(MapProblem::ValuesNotEmptyArray)?;
        let ptr = self
            .resolved(array.type_id)
            .ok_or(MapProblem::ValuesNotPtr { kind: "void" })?;
        if ptr.kind != BtfKind::Ptr {
            return Err(MapProblem::ValuesNotPtr {
                kind: ptr.kind.name(),
            });
        }
        let target_id = self
            .resolve(ptr.size_or_type)
            .map_err(|e| MapProblem::MemberType {
                member: "values".to_owned(),
                error: Box::new(e),
            })?;
        let target_kind = self.type_by_id(target_id).map(|t| t.kind).ok();
        let values = match target_kind {
            Some(BtfKind::FuncProto) => BtfMapValues::Programs,
            Some(BtfKind::Struct) => {
                BtfMapValues::Maps(Box::new(self.map_struct(target_id, true)?))
            }
            other => {
                return Err(MapProblem::ValuesTarget {
                    kind: other.map_or("void", BtfKind::name),
                })
            }
        };
        match (map_type, &values) {
            (None, _)
            | (Some(PROG_ARRAY), BtfMapValues::Programs)
            | (Some(ARRAY_OF_MAPS | HASH_OF_MAPS), BtfMapValues::Maps(_)) => Ok(values),
            (Some(PROG_ARRAY), BtfMapValues::Maps(_)) => Err(MapProblem::ValuesMismatch {
                map_type: PROG_ARRAY,
                found: "an inner map",
                expected: "programs",
            }),
            (Some(t @ (ARRAY_OF_MAPS | HASH_OF_MAPS)), BtfMapValues::Programs) => {
                Err(MapProblem::ValuesMismatch {
                    map_type: t,
                    found: "programs",
                    expected: "an inner map definition",
                })
            }
            (Some(t), _) => Err(MapProblem::ValuesWrongMapType { map_type: t }),
        }
    }

    /// The type `id` after typedefs and qualifiers, `None` for void or a bad id.
    fn resolved(&self, id: u32) -> Option<&super::BtfType> {
        self.resolve(id).ok().and_then(|r| self.type_by_id(r).ok())
    }
}

/// A size given twice (`key_size` and `key`) must agree; either alone is the size.
fn agree(
    size_member: &'static str,
    type_member: &'static str,
    declared: Option<u32>,
    type_size: Option<u32>,
) -> Result<Option<u32>, MapProblem> {
    match (declared, type_size) {
        (Some(declared), Some(type_size)) if declared != type_size => {
            Err(MapProblem::SizeMismatch {
                size_member,
                type_member,
                declared,
                type_size,
            })
        }
        (declared, type_size) => Ok(declared.or(type_size)),
    }
}
