//! The BTF type records (`struct btf_type` and the data that follows it), one
//! Rust type per uapi struct of `include/uapi/linux/btf.h`.

use std::fmt;

/// `BTF_KIND_*`: every kind the kernel defines. The discriminant is the uapi value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum BtfKind {
    /// `BTF_KIND_INT`.
    Int = 1,
    /// `BTF_KIND_PTR`.
    Ptr = 2,
    /// `BTF_KIND_ARRAY`.
    Array = 3,
    /// `BTF_KIND_STRUCT`.
    Struct = 4,
    /// `BTF_KIND_UNION`.
    Union = 5,
    /// `BTF_KIND_ENUM`.
    Enum = 6,
    /// `BTF_KIND_FWD`.
    Fwd = 7,
    /// `BTF_KIND_TYPEDEF`.
    Typedef = 8,
    /// `BTF_KIND_VOLATILE`.
    Volatile = 9,
    /// `BTF_KIND_CONST`.
    Const = 10,
    /// `BTF_KIND_RESTRICT`.
    Restrict = 11,
    /// `BTF_KIND_FUNC`.
    Func = 12,
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto = 13,
    /// `BTF_KIND_VAR`.
    Var = 14,
    /// `BTF_KIND_DATASEC`.
    Datasec = 15,
    /// `BTF_KIND_FLOAT`.
    Float = 16,
    /// `BTF_KIND_DECL_TAG`.
    DeclTag = 17,
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag = 18,
    /// `BTF_KIND_ENUM64`.
    Enum64 = 19,
}

impl BtfKind {
    /// The kind for a uapi value, `None` for 0 (`BTF_KIND_UNKN`) and unknown values.
    pub fn from_u8(kind: u8) -> Option<BtfKind> {
        Some(match kind {
            1 => BtfKind::Int,
            2 => BtfKind::Ptr,
            3 => BtfKind::Array,
            4 => BtfKind::Struct,
            5 => BtfKind::Union,
            6 => BtfKind::Enum,
            7 => BtfKind::Fwd,
            8 => BtfKind::Typedef,
            9 => BtfKind::Volatile,
            10 => BtfKind::Const,
            11 => BtfKind::Restrict,
            12 => BtfKind::Func,
            13 => BtfKind::FuncProto,
            14 => BtfKind::Var,
            15 => BtfKind::Datasec,
            16 => BtfKind::Float,
            17 => BtfKind::DeclTag,
            18 => BtfKind::TypeTag,
            19 => BtfKind::Enum64,
            _ => return None,
        })
    }

    /// The name bpftool prints (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BtfKind::Int => "INT",
            BtfKind::Ptr => "PTR",
            BtfKind::Array => "ARRAY",
            BtfKind::Struct => "STRUCT",
            BtfKind::Union => "UNION",
            BtfKind::Enum => "ENUM",
            BtfKind::Fwd => "FWD",
            BtfKind::Typedef => "TYPEDEF",
            BtfKind::Volatile => "VOLATILE",
            BtfKind::Const => "CONST",
            BtfKind::Restrict => "RESTRICT",
            BtfKind::Func => "FUNC",
            BtfKind::FuncProto => "FUNC_PROTO",
            BtfKind::Var => "VAR",
            BtfKind::Datasec => "DATASEC",
            BtfKind::Float => "FLOAT",
            BtfKind::DeclTag => "DECL_TAG",
            BtfKind::TypeTag => "TYPE_TAG",
            BtfKind::Enum64 => "ENUM64",
        }
    }

    /// Whether the `size_or_type` word of this kind is a byte size (the
    /// uapi union `size`) rather than a type id (`type`).
    pub fn has_size(self) -> bool {
        matches!(
            self,
            BtfKind::Int
                | BtfKind::Struct
                | BtfKind::Union
                | BtfKind::Enum
                | BtfKind::Datasec
                | BtfKind::Float
                | BtfKind::Enum64
        )
    }

    /// Whether `size_or_type` is a reference to another type. ARRAY and FWD
    /// have neither (the word is 0), and an ARRAY's references are in
    /// [`BtfArray`].
    pub fn has_type_ref(self) -> bool {
        matches!(
            self,
            BtfKind::Ptr
                | BtfKind::Typedef
                | BtfKind::Volatile
                | BtfKind::Const
                | BtfKind::Restrict
                | BtfKind::Func
                | BtfKind::FuncProto
                | BtfKind::Var
                | BtfKind::DeclTag
                | BtfKind::TypeTag
        )
    }

    /// Kinds that only qualify or rename another type:
    /// what [`Btf::resolve`](super::Btf::resolve) skips.
    pub fn is_modifier(self) -> bool {
        matches!(
            self,
            BtfKind::Typedef
                | BtfKind::Volatile
                | BtfKind::Const
                | BtfKind::Restrict
                | BtfKind::TypeTag
        )
    }
}

impl fmt::Display for BtfKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One type: `struct btf_type` (12 bytes) plus its kind-specific data.
///
/// `vlen` is not stored: it is the length of the record list in `data`
/// (or a FUNC's linkage), so the two cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfType {
    /// Offset of the name in the string table (0: anonymous).
    pub name_off: u32,
    /// The kind.
    pub kind: BtfKind,
    /// `kind_flag`: bitfield member encoding for STRUCT/UNION, union-ness
    /// for FWD, signedness for ENUM/ENUM64, attribute-ness for tags.
    pub kind_flag: bool,
    /// The uapi `size`/`type` union: a byte size for the kinds where
    /// [`BtfKind::has_size`] holds, a type id for the others (0 for ARRAY and FWD).
    pub size_or_type: u32,
    /// What follows the record, by kind.
    pub data: BtfTypeData,
}

/// The data that follows `struct btf_type`, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BtfTypeData {
    /// PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FLOAT, TYPE_TAG.
    None,
    /// INT: the encoding word.
    Int(BtfInt),
    /// ARRAY: `struct btf_array`.
    Array(BtfArray),
    /// STRUCT, UNION.
    Members(Vec<BtfMember>),
    /// ENUM: its enumerators.
    Enum(Vec<BtfEnum>),
    /// ENUM64: its enumerators.
    Enum64(Vec<BtfEnum64>),
    /// FUNC: its linkage lives in `vlen` (`BTF_FUNC_STATIC` 0, `BTF_FUNC_GLOBAL` 1,
    /// `BTF_FUNC_EXTERN` 2).
    Func {
        /// `BTF_FUNC_STATIC` 0, `BTF_FUNC_GLOBAL` 1, `BTF_FUNC_EXTERN` 2.
        linkage: u16,
    },
    /// FUNC_PROTO parameters (a last parameter with type 0 means `...`).
    Params(Vec<BtfParam>),
    /// VAR: `struct btf_var` (`BTF_VAR_STATIC` 0, `BTF_VAR_GLOBAL_ALLOCATED` 1,
    /// `BTF_VAR_GLOBAL_EXTERN` 2).
    Var {
        /// `BTF_VAR_STATIC` 0, `BTF_VAR_GLOBAL_ALLOCATED` 1, `BTF_VAR_GLOBAL_EXTERN` 2.
        linkage: u32,
    },
    /// DATASEC: `struct btf_var_secinfo` per variable.
    Datasec(Vec<VarSecinfo>),
    /// DECL_TAG: `struct btf_decl_tag`; -1 tags the type itself, N its member
    /// or parameter N.
    DeclTag {
        /// -1 for the type itself, N for its member or parameter N.
        component_idx: i32,
    },
}

/// `BTF_FUNC_EXTERN`: the linkage of a function declared but not defined
/// (a kfunc declared `__ksym`).
pub const BTF_FUNC_EXTERN: u16 = 2;
/// `BTF_VAR_STATIC`.
pub const BTF_VAR_STATIC: u32 = 0;
/// `BTF_VAR_GLOBAL_EXTERN`.
pub const BTF_VAR_GLOBAL_EXTERN: u32 = 2;

/// The INT encoding word: `BTF_INT_ENCODING` (bits 24..28), `BTF_INT_OFFSET`
/// (bits 16..24) and `BTF_INT_BITS` (bits 0..8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfInt(pub u32);

impl BtfInt {
    /// `BTF_INT_SIGNED` 1, `BTF_INT_CHAR` 2, `BTF_INT_BOOL` 4.
    pub fn encoding(self) -> u8 {
        ((self.0 >> 24) & 0x0f) as u8
    }
    /// `BTF_INT_OFFSET`: bits to skip (0 in what clang emits).
    pub fn offset(self) -> u8 {
        (self.0 >> 16) as u8
    }
    /// `BTF_INT_BITS`: the width in bits.
    pub fn bits(self) -> u8 {
        self.0 as u8
    }
}

/// `struct btf_array`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfArray {
    /// Element type.
    pub type_id: u32,
    /// Index type.
    pub index_type: u32,
    /// Number of elements (0: a flexible array).
    pub nelems: u32,
}

/// `struct btf_member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfMember {
    /// Offset of the member's name in the string table (0: anonymous).
    pub name_off: u32,
    /// The member's type.
    pub type_id: u32,
    /// Raw offset word: the bit offset, or with the parent's `kind_flag` the
    /// bitfield size (bits 24..32) and bit offset (bits 0..24).
    pub offset: u32,
}

impl BtfMember {
    /// Offset of the member in bits, given its struct's `kind_flag`.
    pub fn bit_offset(&self, kind_flag: bool) -> u32 {
        if kind_flag {
            self.offset & 0x00ff_ffff
        } else {
            self.offset
        }
    }

    /// Bitfield size in bits (0: not a bitfield, or not encoded here).
    pub fn bitfield_size(&self, kind_flag: bool) -> u32 {
        if kind_flag {
            self.offset >> 24
        } else {
            0
        }
    }
}

/// `struct btf_enum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfEnum {
    /// Offset of the enumerator's name in the string table.
    pub name_off: u32,
    /// Its value (an `__s32`).
    pub val: i32,
}

/// `struct btf_enum64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfEnum64 {
    /// Offset of the enumerator's name in the string table.
    pub name_off: u32,
    /// Low 32 bits of its value.
    pub val_lo32: u32,
    /// High 32 bits of its value.
    pub val_hi32: u32,
}

impl BtfEnum64 {
    /// The 64-bit value.
    pub fn value(&self) -> u64 {
        (u64::from(self.val_hi32) << 32) | u64::from(self.val_lo32)
    }
}

/// `struct btf_param`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfParam {
    /// Offset of the parameter's name in the string table (0: unnamed).
    pub name_off: u32,
    /// The parameter's type (0 for `...`).
    pub type_id: u32,
}

/// `struct btf_var_secinfo`: one variable of a DATASEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecinfo {
    /// The VAR (or, in `.ksyms`, FUNC) type id.
    pub type_id: u32,
    /// Offset of the variable in its ELF section.
    pub offset: u32,
    /// Size of the variable in bytes.
    pub size: u32,
}

impl BtfType {
    /// `vlen` as the file encodes it: the number of records that follow, or
    /// a FUNC's linkage.
    pub fn vlen(&self) -> u16 {
        let n = match &self.data {
            BtfTypeData::None
            | BtfTypeData::Int(_)
            | BtfTypeData::Array(_)
            | BtfTypeData::Var { .. }
            | BtfTypeData::DeclTag { .. } => 0,
            BtfTypeData::Func { linkage } => usize::from(*linkage),
            BtfTypeData::Members(m) => m.len(),
            BtfTypeData::Enum(e) => e.len(),
            BtfTypeData::Enum64(e) => e.len(),
            BtfTypeData::Params(p) => p.len(),
            BtfTypeData::Datasec(s) => s.len(),
        };
        // Lists longer than a u16 cannot come from a parse; saturate rather
        // than wrap for hand-built ones.
        u16::try_from(n).unwrap_or(u16::MAX)
    }

    /// The byte size for the kinds that have one.
    pub fn size(&self) -> Option<u32> {
        self.kind.has_size().then_some(self.size_or_type)
    }

    /// The referenced type for the kinds whose `size_or_type` is a type id
    /// (a FUNC_PROTO's is its return type).
    pub fn type_ref(&self) -> Option<u32> {
        self.kind.has_type_ref().then_some(self.size_or_type)
    }

    /// STRUCT/UNION members; empty for other kinds.
    pub fn members(&self) -> &[BtfMember] {
        match &self.data {
            BtfTypeData::Members(m) => m,
            _ => &[],
        }
    }

    /// FUNC_PROTO parameters; empty for other kinds.
    pub fn params(&self) -> &[BtfParam] {
        match &self.data {
            BtfTypeData::Params(p) => p,
            _ => &[],
        }
    }

    /// DATASEC variables; empty for other kinds.
    pub fn secinfos(&self) -> &[VarSecinfo] {
        match &self.data {
            BtfTypeData::Datasec(s) => s,
            _ => &[],
        }
    }

    /// The array record of an ARRAY.
    pub fn array(&self) -> Option<&BtfArray> {
        match &self.data {
            BtfTypeData::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A FUNC's linkage or a VAR's linkage.
    pub fn linkage(&self) -> Option<u32> {
        match self.data {
            BtfTypeData::Func { linkage } => Some(u32::from(linkage)),
            BtfTypeData::Var { linkage } => Some(linkage),
            _ => None,
        }
    }
}
