//! CO-RE ("compile once, run everywhere") relocations: instructions whose
//! constants depend on the kernel's own types — a field's offset in a
//! kernel struct, whether a field or type exists, an enum's value.
//!
//! clang records each such constant in `.BTF.ext` (`struct bpf_core_relo`):
//! the instruction, a type of the object's BTF, an access string (`0:1:2`:
//! the root index, then member or array indexes) and what is wanted (the
//! kind). The loader finds the same thing in the running kernel's BTF and
//! writes the kernel's value into the instruction. The rules are libbpf's,
//! as documented with `enum bpf_core_relo_kind` in the uapi:
//!
//! - **Candidates** are the kernel's types of the same kind whose name,
//!   cut at `___` (the "flavour" suffix: `task_struct___old`), equals the
//!   local type's: vmlinux's, or when vmlinux has none, the modules'.
//! - **Fields** match by name along the access path, looking through
//!   anonymous structs and unions; the field types must be compatible
//!   (composite with composite, int with int, ...). Arrays match by index.
//! - **Types** match by kind and compatibility (`type_exists`,
//!   `type_size`, `target_type_id`), or for `type_matches` by shape: the
//!   members, enumerators and parameters of the local type all found in
//!   the kernel's, recursively.
//! - **Results** of every matching candidate must agree. With no match, an
//!   "exists" question and every type-based kind get 0, and any other
//!   relocation poisons its instruction (a call to the non-existent helper
//!   `0xbad2310`), so that the program still loads if that code is dead —
//!   guarded by an `exists` check — and fails at verification if not.
//! - **Patching**: an ALU immediate, a load/store offset (with the access
//!   size adjusted when an unsigned int or pointer field changed size) or
//!   an `ld_imm64`. The instruction must hold the object's own value first,
//!   as libbpf checks.
//!
//! Every kind of the uapi: field byte offset/size/exists/signed/lshift/
//! rshift, type id local/target, type exists/size/matches, enum value
//! exists/value.

use std::collections::HashMap;

use crate::btf::{Btf, BtfError, BtfKind, BtfType, BtfTypeData, CoreReloc};
use crate::insn::{Insn, CALL};

/// `BPF_INT_SIGNED` in the INT encoding.
const BTF_INT_SIGNED: u8 = 1;
/// The helper id libbpf writes into instructions it cannot relocate.
pub const POISON_HELPER: i32 = 0x0bad_2310;
/// How deep an access path may go (libbpf's `BPF_CORE_SPEC_MAX_LEN`).
const MAX_SPEC_LEN: usize = 64;

/// `enum bpf_core_relo_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `BPF_CORE_FIELD_BYTE_OFFSET`: where a field is.
    FieldByteOffset,
    /// `BPF_CORE_FIELD_BYTE_SIZE`: how big a field is.
    FieldByteSize,
    /// `BPF_CORE_FIELD_EXISTS`.
    FieldExists,
    /// `BPF_CORE_FIELD_SIGNED`.
    FieldSigned,
    /// `BPF_CORE_FIELD_LSHIFT_U64`: the left shift that extracts a bitfield.
    FieldLshiftU64,
    /// `BPF_CORE_FIELD_RSHIFT_U64`: the right shift that extracts a bitfield.
    FieldRshiftU64,
    /// `BPF_CORE_TYPE_ID_LOCAL`.
    TypeIdLocal,
    /// `BPF_CORE_TYPE_ID_TARGET`.
    TypeIdTarget,
    /// `BPF_CORE_TYPE_EXISTS`.
    TypeExists,
    /// `BPF_CORE_TYPE_SIZE`.
    TypeSize,
    /// `BPF_CORE_ENUMVAL_EXISTS`.
    EnumvalExists,
    /// `BPF_CORE_ENUMVAL_VALUE`.
    EnumvalValue,
    /// `BPF_CORE_TYPE_MATCHES`: whether the kernel's type has the same
    /// shape (libbpf's `bpf_core_types_match`).
    TypeMatches,
}

impl Kind {
    /// The kind of a `bpf_core_relo` record, if the number is one.
    pub fn from_u32(kind: u32) -> Option<Kind> {
        Some(match kind {
            0 => Kind::FieldByteOffset,
            1 => Kind::FieldByteSize,
            2 => Kind::FieldExists,
            3 => Kind::FieldSigned,
            4 => Kind::FieldLshiftU64,
            5 => Kind::FieldRshiftU64,
            6 => Kind::TypeIdLocal,
            7 => Kind::TypeIdTarget,
            8 => Kind::TypeExists,
            9 => Kind::TypeSize,
            10 => Kind::EnumvalExists,
            11 => Kind::EnumvalValue,
            12 => Kind::TypeMatches,
            _ => return None,
        })
    }

    /// libbpf's name for the kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::FieldByteOffset => "byte_off",
            Kind::FieldByteSize => "byte_sz",
            Kind::FieldExists => "field_exists",
            Kind::FieldSigned => "signed",
            Kind::FieldLshiftU64 => "lshift_u64",
            Kind::FieldRshiftU64 => "rshift_u64",
            Kind::TypeIdLocal => "local_type_id",
            Kind::TypeIdTarget => "target_type_id",
            Kind::TypeExists => "type_exists",
            Kind::TypeSize => "type_size",
            Kind::EnumvalExists => "enumval_exists",
            Kind::EnumvalValue => "enumval_value",
            Kind::TypeMatches => "type_matches",
        }
    }

    fn is_field(self) -> bool {
        matches!(
            self,
            Kind::FieldByteOffset
                | Kind::FieldByteSize
                | Kind::FieldExists
                | Kind::FieldSigned
                | Kind::FieldLshiftU64
                | Kind::FieldRshiftU64
        )
    }

    fn is_enum(self) -> bool {
        matches!(self, Kind::EnumvalExists | Kind::EnumvalValue)
    }

    /// What a relocation gives when no kernel type matches: 0 for the
    /// questions and the type-based kinds (a type id, size or match of a
    /// type the kernel does not have), `None` (the instruction is poisoned)
    /// for what needs a field or an enumerator (libbpf's
    /// `bpf_core_calc_relo` without a target).
    fn without_match(self) -> Option<u64> {
        match self {
            Kind::FieldExists
            | Kind::EnumvalExists
            | Kind::TypeIdTarget
            | Kind::TypeExists
            | Kind::TypeSize
            | Kind::TypeMatches => Some(0),
            _ => None,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernel's BTF, indexed by essential name for candidate lookups:
/// vmlinux's, then the modules' (libbpf's `bpf_core_find_cands`: a type
/// that has candidates in vmlinux is never looked for in a module).
#[derive(Debug)]
pub struct CoreTarget<'b> {
    sets: Vec<(&'b Btf, HashMap<&'b str, Vec<u32>>)>,
}

impl<'b> CoreTarget<'b> {
    /// Indexes `btf` (vmlinux's) by name, once for every relocation.
    pub fn new(btf: &'b Btf) -> CoreTarget<'b> {
        let mut target = CoreTarget { sets: Vec::new() };
        target.add_module(btf);
        target
    }

    /// Indexes a module's own types too (a split BTF on top of the first).
    pub fn add_module(&mut self, btf: &'b Btf) {
        let mut by_name: HashMap<&'b str, Vec<u32>> = HashMap::new();
        for (id, t) in btf.types_with_ids() {
            if let Ok(name) = btf.string(t.name_off) {
                if !name.is_empty() {
                    by_name.entry(essential(name)).or_default().push(id);
                }
            }
        }
        self.sets.push((btf, by_name));
    }

    /// The candidates of a local type: the kernel's types of its kind and
    /// essential name, in vmlinux if it has any, else in the modules.
    fn candidates(&self, local_name: &str, local_kind: BtfKind) -> Vec<(&'b Btf, u32)> {
        let mut found = Vec::new();
        for (index, (btf, by_name)) in self.sets.iter().enumerate() {
            if index == 1 && !found.is_empty() {
                break;
            }
            for &id in by_name.get(essential(local_name)).into_iter().flatten() {
                if btf
                    .type_by_id(id)
                    .is_ok_and(|t| same_kind(t.kind, local_kind))
                {
                    found.push((*btf, id));
                }
            }
        }
        found
    }

    /// Whether vmlinux (the first BTF) has no candidate for some CO-RE
    /// relocation of the object: whether the modules' BTF may have one.
    pub fn vmlinux_lacks_candidates(&self, object: &crate::Object) -> bool {
        let Some(local) = object.btf.as_ref() else {
            return false;
        };
        let Some((vmlinux, by_name)) = self.sets.first() else {
            return false;
        };
        let functions = object
            .programs
            .iter()
            .map(|p| &p.function)
            .chain(&object.subprograms);
        functions.flat_map(|f| &f.core_relocs).any(|reloc| {
            if Kind::from_u32(reloc.kind) == Some(Kind::TypeIdLocal) {
                return false;
            }
            let Ok(t) = local.type_by_id(reloc.type_id) else {
                return false;
            };
            let name = local.string(t.name_off).unwrap_or_default();
            !name.is_empty()
                && !by_name
                    .get(essential(name))
                    .into_iter()
                    .flatten()
                    .any(|&id| {
                        vmlinux
                            .type_by_id(id)
                            .is_ok_and(|c| same_kind(c.kind, t.kind))
                    })
        })
    }
}

/// A name without its `___flavour` suffix.
pub(crate) fn essential(name: &str) -> &str {
    name.find("___").map_or(name, |at| &name[..at])
}

/// What a relocation did: the kind and the value written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreOutcome {
    /// What the relocation asked for.
    pub kind: Kind,
    /// `None` when the instruction was poisoned.
    pub value: Option<u64>,
}

/// One step of an access path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Accessor {
    /// The struct, union, array or enum the index applies to.
    type_id: u32,
    idx: u32,
    /// Member or enumerator name; `None` for array indexes.
    name: Option<String>,
}

/// An access path resolved in one BTF.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    root: u32,
    accessors: Vec<Accessor>,
    bit_offset: u64,
}

/// A computed value, with what patching needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Value {
    value: u64,
    /// Whether the instruction must hold exactly the local value (not for
    /// bitfields, whose layout the compiler may choose differently).
    validate: bool,
    /// The field's size and type, for load/store size adjustment.
    field: Option<(u32, u32)>,
}

impl Value {
    fn plain(value: u64) -> Value {
        Value {
            value,
            validate: true,
            field: None,
        }
    }

    fn unchecked(value: u64) -> Value {
        Value {
            validate: false,
            ..Value::plain(value)
        }
    }
}

type Result<T> = std::result::Result<T, CoreError>;

/// Why a CO-RE relocation cannot be applied. The object's BTF, its access
/// string or its instruction is wrong (or asks for what rxdp does not do);
/// a kernel without the type is not an error (see the module text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The object's or the kernel's BTF does not hold together.
    #[error("{0}")]
    Btf(BtfError),
    /// A kind number `enum bpf_core_relo_kind` does not have.
    #[error("unknown relocation kind {0}")]
    UnknownKind(u32),
    /// A kind that has no value for what the access path reaches.
    #[error("{} is not supported", .0.name())]
    Unsupported(Kind),
    /// The access string is not numbers separated by `:`.
    #[error("bad access string {0:?}")]
    BadAccess(String),
    /// The access string is empty.
    #[error("empty access string")]
    EmptyAccess,
    /// More steps than libbpf's `BPF_CORE_SPEC_MAX_LEN`.
    #[error("access string {0:?} is too deep")]
    AccessTooDeep(String),
    /// A type relocation whose access string is not `0`.
    #[error("a type relocation's access string must be \"0\", not {0:?}")]
    TypeAccess(String),
    /// The access path has no step.
    #[error("empty access path")]
    EmptyPath,
    /// An enumerator index past the enum's end.
    #[error("enumerator {0} out of range")]
    Enumerator(u32),
    /// A member index past the struct's end.
    #[error("member {0} out of range")]
    Member(u32),
    /// An index into something that is neither a struct nor an array.
    #[error("index {index} into a {kind} (neither struct nor array)")]
    NotIndexable {
        /// The index of the access string.
        index: u32,
        /// What it indexes.
        kind: BtfKind,
    },
    /// Anonymous members inside anonymous members, deeper than any C.
    #[error("anonymous members nest too deep")]
    NestedTooDeep,
    /// An offset that overflows 64 bits (a crafted access path).
    #[error("the access reaches beyond 2^64 bits")]
    Overflow,
    /// A field kind other than offset and size asked of an array element.
    #[error("{} of an array element is not supported", .0.name())]
    ArrayElement(Kind),
    /// A bitfield spread over more than 8 bytes.
    #[error("a bitfield that no 64-bit load can read")]
    WideBitfield,
    /// A shift asked of a field longer than one 64-bit load.
    #[error("{} of a {size}-byte field: more than one 64-bit load holds", .kind.name())]
    WideField {
        /// The shift asked for.
        kind: Kind,
        /// The field's size in bytes.
        size: u64,
    },
    /// A relocation against a type without a name: nothing to look up.
    #[error("a relocation against an anonymous type")]
    AnonymousType,
    /// Two kernel types of the name give different values.
    #[error("kernel types disagree: {first} in one candidate, {second} in another")]
    Ambiguous {
        /// The value of the first match.
        first: u64,
        /// The different value of a later one.
        second: u64,
    },
    /// A field whose size changed, and which may not be read at another size.
    #[error("the field is {local} bytes here and {kernel} in the kernel, and is not an unsigned int or a pointer")]
    FieldSize {
        /// Its size in the object.
        local: u32,
        /// Its size in the kernel.
        kernel: u32,
    },
    /// A load or store whose size is not the field's.
    #[error("a {access}-byte access to a {field}-byte field")]
    AccessSize {
        /// The instruction's access size.
        access: u32,
        /// The field's size in the object.
        field: u32,
    },
    /// The relocated instruction lies past the function's end.
    #[error("the instruction is outside the function")]
    OutsideFunction,
    /// An ALU instruction that takes a register, not an immediate.
    #[error("an ALU instruction with a register source")]
    RegisterSource,
    /// The immediate of the instruction is not the object's own value.
    #[error("the instruction holds {found}, the object's value is {expected}")]
    Immediate {
        /// The instruction's immediate.
        found: i32,
        /// The value the object's BTF gives.
        expected: u64,
    },
    /// The `ld_imm64` does not load the object's own value.
    #[error("the instruction holds {found}, the object's value is {expected}")]
    Constant {
        /// The 64-bit constant of the instruction.
        found: u64,
        /// The value the object's BTF gives.
        expected: u64,
    },
    /// The load or store's offset is not the object's own value.
    #[error("the instruction's offset is {found}, the object's value is {expected}")]
    Offset {
        /// The instruction's offset.
        found: i16,
        /// The value the object's BTF gives.
        expected: u64,
    },
    /// The kernel's value does not fit a 32-bit immediate.
    #[error("value {0} does not fit an immediate")]
    ImmediateRange(u64),
    /// The kernel's value does not fit a 16-bit offset.
    #[error("offset {0} does not fit an instruction")]
    OffsetRange(u64),
    /// A field size no load or store has.
    #[error("no load or store of {0} bytes")]
    AccessWidth(u32),
    /// An `ld_imm64` cut off at the function's end.
    #[error("an ld_imm64 without its second half")]
    HalfLdImm64,
    /// An `ld_imm64` that another relocation already points somewhere.
    #[error("an ld_imm64 that already refers to something")]
    TakenLdImm64,
    /// An instruction class CO-RE cannot patch.
    #[error("opcode {0:#04x} cannot be relocated")]
    Opcode(u8),
}

impl From<BtfError> for CoreError {
    fn from(error: BtfError) -> CoreError {
        CoreError::Btf(error)
    }
}

fn type_of(btf: &Btf, id: u32) -> Result<&BtfType> {
    Ok(btf.type_by_id(id)?)
}

/// Follows typedefs and modifiers: the id and the type.
fn skip(btf: &Btf, id: u32) -> Result<(u32, &BtfType)> {
    let id = btf.resolve(id)?;
    Ok((id, type_of(btf, id)?))
}

fn size(btf: &Btf, id: u32) -> Result<u64> {
    Ok(btf.size_of(id).map(u64::from)?)
}

/// The bit offset of element `index` of elements of `size` bytes.
fn element_bits(index: u32, size: u64) -> Result<u64> {
    u64::from(index)
        .checked_mul(size)
        .and_then(|bytes| bytes.checked_mul(8))
        .ok_or(CoreError::Overflow)
}

/// `offset += bits`, refusing to overflow.
fn add_bits(offset: &mut u64, bits: u64) -> Result<()> {
    *offset = offset.checked_add(bits).ok_or(CoreError::Overflow)?;
    Ok(())
}

fn name(btf: &Btf, off: u32) -> Result<&str> {
    Ok(btf.string(off)?)
}

fn is_composite(t: &BtfType) -> bool {
    matches!(t.kind, BtfKind::Struct | BtfKind::Union)
}

fn is_enum(t: &BtfType) -> bool {
    matches!(t.kind, BtfKind::Enum | BtfKind::Enum64)
}

/// Enumerators of an ENUM or ENUM64: name offset and value.
fn enumerators(t: &BtfType) -> Vec<(u32, u64)> {
    match &t.data {
        // A 32-bit enumerator's value is an `__s32`, sign-extended.
        BtfTypeData::Enum(e) => e
            .iter()
            .map(|e| (e.name_off, i64::from(e.val) as u64))
            .collect(),
        BtfTypeData::Enum64(e) => e.iter().map(|e| (e.name_off, e.value())).collect(),
        _ => Vec::new(),
    }
}

/// Kinds compare equal for candidates, ENUM and ENUM64 being one.
fn same_kind(a: BtfKind, b: BtfKind) -> bool {
    a == b
        || (matches!(a, BtfKind::Enum | BtfKind::Enum64)
            && matches!(b, BtfKind::Enum | BtfKind::Enum64))
}

/// Parses the access string against the object's BTF.
fn parse_spec(btf: &Btf, type_id: u32, access: &str, kind: Kind) -> Result<Spec> {
    let indexes = access
        .split(':')
        .map(|part| {
            part.parse::<u32>()
                .map_err(|_| CoreError::BadAccess(access.to_string()))
        })
        .collect::<Result<Vec<u32>>>()?;
    let (&first, rest) = indexes.split_first().ok_or(CoreError::EmptyAccess)?;
    if indexes.len() > MAX_SPEC_LEN {
        return Err(CoreError::AccessTooDeep(access.to_string()));
    }
    let mut spec = Spec {
        root: type_id,
        accessors: Vec::new(),
        bit_offset: 0,
    };
    if !kind.is_field() && !kind.is_enum() {
        if indexes != [0] {
            return Err(CoreError::TypeAccess(access.to_string()));
        }
        return Ok(spec);
    }
    if kind.is_enum() {
        let (id, t) = skip(btf, type_id)?;
        let values = enumerators(t);
        let &(name_off, _) = values
            .get(first as usize)
            .ok_or(CoreError::Enumerator(first))?;
        spec.accessors.push(Accessor {
            type_id: id,
            idx: first,
            name: Some(name(btf, name_off)?.to_string()),
        });
        return Ok(spec);
    }
    let (mut id, _) = skip(btf, type_id)?;
    spec.bit_offset = element_bits(first, size(btf, id)?)?;
    spec.accessors.push(Accessor {
        type_id: id,
        idx: first,
        name: None,
    });
    for &idx in rest {
        let (current, t) = skip(btf, id)?;
        if is_composite(t) {
            let member = t
                .members()
                .get(idx as usize)
                .ok_or(CoreError::Member(idx))?;
            add_bits(
                &mut spec.bit_offset,
                u64::from(member.bit_offset(t.kind_flag)),
            )?;
            let member_name = name(btf, member.name_off)?;
            if !member_name.is_empty() {
                spec.accessors.push(Accessor {
                    type_id: current,
                    idx,
                    name: Some(member_name.to_string()),
                });
            }
            id = member.type_id;
        } else if let Some(array) = t.array() {
            let element = size(btf, array.type_id)?;
            spec.accessors.push(Accessor {
                type_id: current,
                idx,
                name: None,
            });
            add_bits(&mut spec.bit_offset, element_bits(idx, element)?)?;
            id = array.type_id;
        } else {
            return Err(CoreError::NotIndexable {
                index: idx,
                kind: t.kind,
            });
        }
    }
    Ok(spec)
}

/// Whether a local field's type and a kernel field's type can stand for
/// each other (libbpf's `bpf_core_fields_are_compat`).
fn fields_compatible(local: &Btf, local_id: u32, target: &Btf, target_id: u32) -> Result<bool> {
    let (mut local_id, mut target_id) = (local_id, target_id);
    for _ in 0..MAX_SPEC_LEN {
        let (_, l) = skip(local, local_id)?;
        let (_, t) = skip(target, target_id)?;
        if is_composite(l) && is_composite(t) {
            return Ok(true);
        }
        if !same_kind(l.kind, t.kind) {
            return Ok(false);
        }
        return Ok(match (&l.data, &t.data) {
            (BtfTypeData::Int(a), BtfTypeData::Int(b)) => a.offset() == 0 && b.offset() == 0,
            (BtfTypeData::Array(a), BtfTypeData::Array(b)) => {
                local_id = a.type_id;
                target_id = b.type_id;
                continue;
            }
            _ if matches!(l.kind, BtfKind::Ptr | BtfKind::Float) => true,
            _ if is_enum(l) || l.kind == BtfKind::Fwd => {
                let (a, b) = (name(local, l.name_off)?, name(target, t.name_off)?);
                a.is_empty() || b.is_empty() || essential(a) == essential(b)
            }
            _ => false,
        });
    }
    Ok(false)
}

/// Whether two types are compatible for type relocations and for kernel
/// symbols (libbpf's `bpf_core_types_are_compat`): modifiers and typedefs
/// skipped, the same kind (enum and enum64 being one), integers without a
/// bit offset, pointers and arrays by what they point to or hold,
/// function prototypes parameter by parameter and by their return type;
/// structs, unions, enums and forward declarations by kind alone.
pub(crate) fn types_compatible(
    local: &Btf,
    local_id: u32,
    target: &Btf,
    target_id: u32,
) -> Result<bool> {
    compatible_within(local, local_id, target, target_id, MAX_SPEC_LEN)
}

/// [`types_compatible`], at most `level` prototypes deep.
fn compatible_within(
    local: &Btf,
    local_id: u32,
    target: &Btf,
    target_id: u32,
    level: usize,
) -> Result<bool> {
    let (mut local_id, mut target_id) = (local_id, target_id);
    if level == 0 {
        return Ok(false);
    }
    for _ in 0..MAX_SPEC_LEN {
        let local_id_now = local.resolve(local_id)?;
        let target_id_now = target.resolve(target_id)?;
        if local_id_now == 0 || target_id_now == 0 {
            return Ok(local_id_now == target_id_now);
        }
        let l = type_of(local, local_id_now)?;
        let t = type_of(target, target_id_now)?;
        if !same_kind(l.kind, t.kind) {
            return Ok(false);
        }
        match (&l.data, &t.data) {
            (BtfTypeData::Int(a), BtfTypeData::Int(b)) => {
                return Ok(a.offset() == 0 && b.offset() == 0)
            }
            (BtfTypeData::Array(a), BtfTypeData::Array(b)) => {
                local_id = a.type_id;
                target_id = b.type_id;
            }
            (BtfTypeData::Params(a), BtfTypeData::Params(b)) => {
                if a.len() != b.len() {
                    return Ok(false);
                }
                for (pa, pb) in a.iter().zip(b) {
                    if !compatible_within(local, pa.type_id, target, pb.type_id, level - 1)? {
                        return Ok(false);
                    }
                }
                local_id = l.size_or_type;
                target_id = t.size_or_type;
            }
            _ if l.kind == BtfKind::Ptr => {
                local_id = l.size_or_type;
                target_id = t.size_or_type;
            }
            _ => {
                return Ok(matches!(
                    l.kind,
                    BtfKind::Struct
                        | BtfKind::Union
                        | BtfKind::Enum
                        | BtfKind::Enum64
                        | BtfKind::Fwd
                ))
            }
        }
    }
    Ok(false)
}

/// Whether two names are the same once their `___flavour` suffixes are
/// cut; an anonymous target matches an anonymous local only (libbpf's
/// `bpf_core_names_match`).
fn names_match(local: &Btf, local_off: u32, target: &Btf, target_off: u32) -> Result<bool> {
    let (l, t) = (name(local, local_off)?, name(target, target_off)?);
    if t.is_empty() {
        return Ok(l.is_empty());
    }
    Ok(essential(l) == essential(t))
}

/// `BPF_CORE_TYPE_MATCHES` (libbpf's `bpf_core_types_match`): after
/// modifiers and typedefs, the same name and kind, and
/// - integers of the same size and signedness;
/// - pointers and arrays (of as many elements) to matching types;
/// - structs and unions whose every local member has a target member of
///   the same name and a matching type (behind a pointer, the kind alone,
///   a forward declaration of the same struct-or-union-ness included);
/// - enums (of the same size; enum and enum64 alike) whose every local
///   enumerator has a target one of the same name;
/// - function prototypes with as many parameters, each and the return
///   type matching.
pub(crate) fn types_match(
    local: &Btf,
    local_id: u32,
    target: &Btf,
    target_id: u32,
) -> Result<bool> {
    match_within(local, local_id, target, target_id, false, MAX_SPEC_LEN)
}

fn match_within(
    local: &Btf,
    local_id: u32,
    target: &Btf,
    target_id: u32,
    behind_ptr: bool,
    level: usize,
) -> Result<bool> {
    if level == 0 {
        return Ok(false);
    }
    let (mut local_id, mut target_id, mut behind_ptr) = (local_id, target_id, behind_ptr);
    for _ in 0..MAX_SPEC_LEN {
        let local_id_now = local.resolve(local_id)?;
        let target_id_now = target.resolve(target_id)?;
        if local_id_now == 0 || target_id_now == 0 {
            return Ok(local_id_now == target_id_now);
        }
        let l = type_of(local, local_id_now)?;
        let t = type_of(target, target_id_now)?;
        if !names_match(local, l.name_off, target, t.name_off)? {
            return Ok(false);
        }
        let same = l.kind == t.kind;
        return Ok(match l.kind {
            BtfKind::Fwd => match behind_ptr {
                _ if same => l.kind_flag == t.kind_flag,
                // A forward declaration's kind_flag: 0 struct, 1 union.
                true => {
                    (t.kind == BtfKind::Struct && !l.kind_flag)
                        || (t.kind == BtfKind::Union && l.kind_flag)
                }
                false => false,
            },
            BtfKind::Enum | BtfKind::Enum64 => is_enum(t) && enums_match(local, l, target, t)?,
            BtfKind::Struct | BtfKind::Union if behind_ptr => {
                same || (t.kind == BtfKind::Fwd && t.kind_flag == (l.kind == BtfKind::Union))
            }
            BtfKind::Struct | BtfKind::Union => {
                same && composites_match(local, l, target, t, level)?
            }
            BtfKind::Int => match (&l.data, &t.data) {
                (BtfTypeData::Int(a), BtfTypeData::Int(b)) => {
                    l.size_or_type == t.size_or_type
                        && a.encoding() & BTF_INT_SIGNED == b.encoding() & BTF_INT_SIGNED
                }
                _ => false,
            },
            BtfKind::Ptr if same => {
                behind_ptr = true;
                local_id = l.size_or_type;
                target_id = t.size_or_type;
                continue;
            }
            BtfKind::Array if same => match (l.array(), t.array()) {
                (Some(a), Some(b)) if a.nelems == b.nelems => {
                    local_id = a.type_id;
                    target_id = b.type_id;
                    continue;
                }
                _ => false,
            },
            BtfKind::FuncProto if same => {
                let (a, b) = (l.params(), t.params());
                if a.len() != b.len() {
                    return Ok(false);
                }
                for (pa, pb) in a.iter().zip(b) {
                    if !match_within(local, pa.type_id, target, pb.type_id, behind_ptr, level - 1)?
                    {
                        return Ok(false);
                    }
                }
                local_id = l.size_or_type;
                target_id = t.size_or_type;
                continue;
            }
            _ => false,
        });
    }
    Ok(false)
}

/// Whether each local item has a target item `matches` accepts (so the
/// target has at least as many).
fn each_has_match<L, T>(
    ours: &[L],
    theirs: &[T],
    mut matches: impl FnMut(&L, &T) -> Result<bool>,
) -> Result<bool> {
    if ours.len() > theirs.len() {
        return Ok(false);
    }
    for item in ours {
        let mut found = false;
        for candidate in theirs {
            if matches(item, candidate)? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every local enumerator has a target one of the same name, and the
/// sizes agree (libbpf's `bpf_core_enums_match`).
fn enums_match(local: &Btf, l: &BtfType, target: &Btf, t: &BtfType) -> Result<bool> {
    if l.size_or_type != t.size_or_type {
        return Ok(false);
    }
    each_has_match(&enumerators(l), &enumerators(t), |ours, theirs| {
        names_match(local, ours.0, target, theirs.0)
    })
}

/// Every local member has a target member of the same name whose type
/// matches (libbpf's `bpf_core_composites_match`).
fn composites_match(
    local: &Btf,
    l: &BtfType,
    target: &Btf,
    t: &BtfType,
    level: usize,
) -> Result<bool> {
    each_has_match(l.members(), t.members(), |member, candidate| {
        Ok(
            names_match(local, member.name_off, target, candidate.name_off)?
                && match_within(
                    local,
                    member.type_id,
                    target,
                    candidate.type_id,
                    false,
                    level - 1,
                )?,
        )
    })
}

/// Finds the member the local accessor names inside kernel type
/// `target_id`, looking through anonymous members. Pushes the accessor and
/// adds the offset to `spec`; returns the member's type.
fn match_member(
    local: &Btf,
    accessor: &Accessor,
    target: &Btf,
    target_id: u32,
    spec: &mut Spec,
    depth: usize,
) -> Result<Option<u32>> {
    if depth > MAX_SPEC_LEN {
        return Err(CoreError::NestedTooDeep);
    }
    let local_type = type_of(local, accessor.type_id)?;
    let local_member = local_type
        .members()
        .get(accessor.idx as usize)
        .ok_or(CoreError::Member(accessor.idx))?;
    let wanted = accessor.name.as_deref().unwrap_or_default();
    let (target_id, t) = skip(target, target_id)?;
    if !is_composite(t) {
        return Ok(None);
    }
    for (i, member) in t.members().iter().enumerate() {
        let bit_offset = u64::from(member.bit_offset(t.kind_flag));
        let member_name = name(target, member.name_off)?;
        if member_name.is_empty() {
            add_bits(&mut spec.bit_offset, bit_offset)?;
            if let Some(found) =
                match_member(local, accessor, target, member.type_id, spec, depth + 1)?
            {
                return Ok(Some(found));
            }
            spec.bit_offset -= bit_offset;
        } else if member_name == wanted {
            if !fields_compatible(local, local_member.type_id, target, member.type_id)? {
                return Ok(None);
            }
            add_bits(&mut spec.bit_offset, bit_offset)?;
            spec.accessors.push(Accessor {
                type_id: target_id,
                idx: i as u32,
                name: Some(member_name.to_string()),
            });
            return Ok(Some(member.type_id));
        }
    }
    Ok(None)
}

/// The local spec matched against kernel candidate `candidate`, or `None`.
fn match_spec(
    local: &Btf,
    local_spec: &Spec,
    kind: Kind,
    target: &Btf,
    candidate: u32,
) -> Result<Option<Spec>> {
    let mut spec = Spec {
        root: candidate,
        accessors: Vec::new(),
        bit_offset: 0,
    };
    if kind == Kind::TypeMatches {
        return Ok(types_match(local, local_spec.root, target, candidate)?.then_some(spec));
    }
    if !kind.is_field() && !kind.is_enum() {
        return Ok(types_compatible(local, local_spec.root, target, candidate)?.then_some(spec));
    }
    if kind.is_enum() {
        let (id, t) = skip(target, candidate)?;
        let Some(accessor) = local_spec.accessors.first() else {
            return Ok(None);
        };
        let wanted = essential(accessor.name.as_deref().unwrap_or_default());
        for (i, (name_off, _)) in enumerators(t).into_iter().enumerate() {
            let enumerator = name(target, name_off)?;
            if essential(enumerator) == wanted {
                spec.accessors.push(Accessor {
                    type_id: id,
                    idx: i as u32,
                    name: Some(enumerator.to_string()),
                });
                return Ok(Some(spec));
            }
        }
        return Ok(None);
    }
    let Some((root, rest)) = local_spec.accessors.split_first() else {
        return Ok(None);
    };
    let (mut target_id, _) = skip(target, candidate)?;
    spec.bit_offset = element_bits(root.idx, size(target, target_id)?)?;
    spec.accessors.push(Accessor {
        type_id: target_id,
        idx: root.idx,
        name: None,
    });
    for accessor in rest {
        if accessor.name.is_some() {
            match match_member(local, accessor, target, target_id, &mut spec, 0)? {
                Some(next) => target_id = next,
                None => return Ok(None),
            }
        } else {
            let (current, t) = skip(target, target_id)?;
            let Some(array) = t.array() else {
                return Ok(None);
            };
            // An index past the end is allowed in a flexible array only.
            if accessor.idx >= array.nelems && array.nelems != 0 {
                return Ok(None);
            }
            spec.accessors.push(Accessor {
                type_id: current,
                idx: accessor.idx,
                name: None,
            });
            let element = element_bits(accessor.idx, size(target, array.type_id)?)?;
            add_bits(&mut spec.bit_offset, element)?;
            target_id = array.type_id;
        }
    }
    Ok(Some(spec))
}

/// The value a relocation asks for, in the BTF a spec was resolved in.
fn field_value(btf: &Btf, spec: &Spec, kind: Kind) -> Result<Value> {
    let last = spec.accessors.last().ok_or(CoreError::EmptyPath)?;
    if kind == Kind::FieldExists {
        return Ok(Value::plain(1));
    }
    let t = type_of(btf, last.type_id)?;
    if last.name.is_none() {
        // An array element (or the root): only offset and size make sense.
        let element = match t.array() {
            Some(array) if spec.accessors.len() > 1 => array.type_id,
            _ => last.type_id,
        };
        let size = size(btf, element)?;
        return match kind {
            Kind::FieldByteOffset => Ok(Value {
                value: spec.bit_offset / 8,
                validate: true,
                field: Some((size as u32, element)),
            }),
            Kind::FieldByteSize => Ok(Value::plain(size)),
            _ => Err(CoreError::ArrayElement(kind)),
        };
    }
    let member = t
        .members()
        .get(last.idx as usize)
        .ok_or(CoreError::Member(last.idx))?;
    let (field_id, field_type) = skip(btf, member.type_id)?;
    let bit_off = spec.bit_offset;
    let mut bit_size = u64::from(member.bitfield_size(t.kind_flag));
    let bitfield = bit_size > 0;
    let (byte_off, byte_size) = if bitfield {
        let end = bit_off.checked_add(bit_size).ok_or(CoreError::Overflow)?;
        let mut byte_size = u64::from(field_type.size().unwrap_or(0)).max(1);
        let mut byte_off = bit_off / 8 / byte_size * byte_size;
        // `byte_off * 8 <= bit_off <= end`: no underflow.
        while end - byte_off * 8 > byte_size * 8 {
            if byte_size >= 8 {
                return Err(CoreError::WideBitfield);
            }
            byte_size *= 2;
            byte_off = bit_off / 8 / byte_size * byte_size;
        }
        (byte_off, byte_size)
    } else {
        let byte_size = size(btf, field_id)?;
        bit_size = byte_size.checked_mul(8).ok_or(CoreError::Overflow)?;
        (bit_off / 8, byte_size)
    };
    // The shifts that extract the field from a 64-bit load: a field that
    // ends more than 64 bits past its load (a struct, not a bitfield)
    // cannot be extracted, and clang asks only for bitfields.
    let shift = |bits: u64| {
        64u64.checked_sub(bits).ok_or(CoreError::WideField {
            kind,
            size: byte_size,
        })
    };
    let value = match kind {
        Kind::FieldByteOffset => byte_off,
        Kind::FieldByteSize => byte_size,
        Kind::FieldSigned => {
            let signed = match &field_type.data {
                BtfTypeData::Int(int) => int.encoding() & BTF_INT_SIGNED != 0,
                _ => is_enum(field_type) && field_type.kind_flag,
            };
            u64::from(signed)
        }
        // Little-endian, as every BPF target rxdp loads for; `byte_off * 8
        // <= bit_off`, so the subtraction inside cannot underflow.
        Kind::FieldLshiftU64 => shift(bit_off + bit_size - byte_off * 8)?,
        Kind::FieldRshiftU64 => shift(bit_size)?,
        _ => return Err(CoreError::Unsupported(kind)),
    };
    Ok(Value {
        value,
        // Bitfield layout is the compiler's choice, except for these two.
        validate: !bitfield || matches!(kind, Kind::FieldSigned | Kind::FieldRshiftU64),
        field: (kind == Kind::FieldByteOffset && !bitfield).then_some((byte_size as u32, field_id)),
    })
}

fn value(btf: &Btf, spec: &Spec, kind: Kind, local_root: u32) -> Result<Value> {
    match kind {
        k if k.is_field() => field_value(btf, spec, k),
        // A type id may change when objects are linked: the instruction's
        // is not checked (libbpf does not either).
        Kind::TypeIdLocal => Ok(Value::unchecked(u64::from(local_root))),
        Kind::TypeIdTarget => Ok(Value::unchecked(u64::from(spec.root))),
        Kind::TypeExists | Kind::TypeMatches | Kind::EnumvalExists => Ok(Value::plain(1)),
        Kind::TypeSize => Ok(Value::plain(size(btf, spec.root)?)),
        Kind::EnumvalValue => {
            let accessor = spec.accessors.first().ok_or(CoreError::EmptyPath)?;
            let t = type_of(btf, accessor.type_id)?;
            let (_, value) = *enumerators(t)
                .get(accessor.idx as usize)
                .ok_or(CoreError::Enumerator(accessor.idx))?;
            Ok(Value::plain(value))
        }
        _ => Err(CoreError::Unsupported(kind)),
    }
}

/// Whether a field may change size under a load or store: unsigned ints
/// and pointers (libbpf's rule).
fn size_change_allowed(local: &Btf, local_type: u32, target: &Btf, target_type: u32) -> bool {
    let (Ok(l), Ok(t)) = (type_of(local, local_type), type_of(target, target_type)) else {
        return false;
    };
    match (&l.data, &t.data) {
        (BtfTypeData::Int(a), BtfTypeData::Int(b)) => {
            a.encoding() & BTF_INT_SIGNED == 0 && b.encoding() & BTF_INT_SIGNED == 0
        }
        _ => l.kind == BtfKind::Ptr && t.kind == BtfKind::Ptr,
    }
}

/// `BPF_SIZE` bits for a load/store of `bytes`.
fn size_bits(bytes: u32) -> Option<u8> {
    Some(match bytes {
        4 => 0x00,
        2 => 0x08,
        1 => 0x10,
        8 => 0x18,
        _ => return None,
    })
}

fn size_bytes(code: u8) -> u32 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

/// Replaces an instruction (both halves of an `ld_imm64`) with a call to
/// the non-existent helper [`POISON_HELPER`].
fn poison(insns: &mut [Insn]) {
    let halves = if insns.first().is_some_and(|i| i.is_ld_imm64()) {
        2
    } else {
        1
    };
    for insn in insns.iter_mut().take(halves) {
        *insn = Insn {
            code: CALL,
            regs: 0,
            off: 0,
            imm: POISON_HELPER,
        };
    }
}

/// Writes `new` where the instruction holds `local`.
fn patch(insns: &mut [Insn], local: Value, new: Value, resize: Option<u32>) -> Result<()> {
    let Some(insn) = insns.first().copied() else {
        return Err(CoreError::OutsideFunction);
    };
    let class = insn.code & 0x07;
    match class {
        // BPF_ALU, BPF_ALU64: the immediate of a BPF_K instruction.
        0x04 | 0x07 => {
            if insn.code & 0x08 != 0 {
                return Err(CoreError::RegisterSource);
            }
            if local.validate
                && i64::from(insn.imm) as u64 != local.value
                && insn.imm as u32 as u64 != local.value
            {
                return Err(CoreError::Immediate {
                    found: insn.imm,
                    expected: local.value,
                });
            }
            let imm = i32::try_from(new.value)
                .or_else(|_| u32::try_from(new.value).map(|v| v as i32))
                .map_err(|_| CoreError::ImmediateRange(new.value))?;
            insns[0].imm = imm;
        }
        // BPF_LDX, BPF_ST, BPF_STX: the offset, maybe the access size.
        0x01..=0x03 => {
            if local.validate && i64::from(insn.off) as u64 != local.value {
                return Err(CoreError::Offset {
                    found: insn.off,
                    expected: local.value,
                });
            }
            insns[0].off =
                i16::try_from(new.value).map_err(|_| CoreError::OffsetRange(new.value))?;
            if let Some(bytes) = resize {
                let bits = size_bits(bytes).ok_or(CoreError::AccessWidth(bytes))?;
                insns[0].code = (insn.code & !0x18) | bits;
            }
        }
        // BPF_LD: an ld_imm64 of the value.
        0x00 if insn.is_ld_imm64() => {
            let second = insns.get(1).copied().ok_or(CoreError::HalfLdImm64)?;
            if insn.src_reg() != 0 || second.code != 0 {
                return Err(CoreError::TakenLdImm64);
            }
            let current = u64::from(insn.imm as u32) | (u64::from(second.imm as u32) << 32);
            if local.validate && current != local.value {
                return Err(CoreError::Constant {
                    found: current,
                    expected: local.value,
                });
            }
            insns[0].imm = new.value as u32 as i32;
            insns[1].imm = (new.value >> 32) as u32 as i32;
        }
        _ => return Err(CoreError::Opcode(insn.code)),
    }
    Ok(())
}

/// Applies one CO-RE relocation to `insns` (starting at its instruction):
/// `local` is the object's BTF, `target` the kernel's.
pub fn apply(
    local: &Btf,
    target: &CoreTarget<'_>,
    reloc: &CoreReloc,
    insns: &mut [Insn],
) -> Result<CoreOutcome> {
    let kind = Kind::from_u32(reloc.kind).ok_or(CoreError::UnknownKind(reloc.kind))?;
    let access = name(local, reloc.access_str_off)?;
    let local_spec = parse_spec(local, reloc.type_id, access, kind)?;
    let local_value = value(local, &local_spec, kind, reloc.type_id)?;
    if kind == Kind::TypeIdLocal {
        patch(insns, local_value, local_value, None)?;
        return Ok(CoreOutcome {
            kind,
            value: Some(local_value.value),
        });
    }
    let local_type = type_of(local, reloc.type_id)?;
    let local_name = name(local, local_type.name_off)?;
    if local_name.is_empty() {
        return Err(CoreError::AnonymousType);
    }
    let mut found: Option<(Value, Spec, &Btf)> = None;
    for (target_btf, candidate) in target.candidates(local_name, local_type.kind) {
        let Some(spec) = match_spec(local, &local_spec, kind, target_btf, candidate)? else {
            continue;
        };
        let new = value(target_btf, &spec, kind, reloc.type_id)?;
        match &found {
            Some((earlier, _, _)) if earlier.value != new.value => {
                return Err(CoreError::Ambiguous {
                    first: earlier.value,
                    second: new.value,
                })
            }
            Some(_) => {}
            None => found = Some((new, spec, target_btf)),
        }
    }
    let Some((new, _, target_btf)) = found else {
        if let Some(zero) = kind.without_match() {
            patch(insns, local_value, Value::plain(zero), None)?;
            return Ok(CoreOutcome {
                kind,
                value: Some(zero),
            });
        }
        poison(insns);
        return Ok(CoreOutcome { kind, value: None });
    };
    let resize = match (local_value.field, new.field) {
        (Some((local_size, local_id)), Some((new_size, new_id))) if local_size != new_size => {
            let class = insns.first().map_or(0, |i| i.code & 0x07);
            if (0x01..=0x03).contains(&class) {
                if !size_change_allowed(local, local_id, target_btf, new_id) {
                    return Err(CoreError::FieldSize {
                        local: local_size,
                        kernel: new_size,
                    });
                }
                let current = insns.first().map_or(0, |i| size_bytes(i.code));
                if current != local_size {
                    return Err(CoreError::AccessSize {
                        access: current,
                        field: local_size,
                    });
                }
                Some(new_size)
            } else {
                None
            }
        }
        _ => None,
    };
    patch(insns, local_value, new, resize)?;
    Ok(CoreOutcome {
        kind,
        value: Some(new.value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{BtfEnum, BtfInt, BtfMember};

    /// A small BTF builder.
    struct Builder(Btf);

    impl Builder {
        fn new() -> Builder {
            Builder(Btf::default())
        }

        fn add(
            &mut self,
            name: &str,
            kind: BtfKind,
            kind_flag: bool,
            size_or_type: u32,
            data: BtfTypeData,
        ) -> u32 {
            let name_off = if name.is_empty() {
                0
            } else {
                self.0.add_string(name)
            };
            self.0.add_type(BtfType {
                name_off,
                kind,
                kind_flag,
                size_or_type,
                data,
            })
        }

        fn int(&mut self, name: &str, bytes: u32, signed: bool) -> u32 {
            let encoding = if signed { 1 << 24 } else { 0 };
            self.add(
                name,
                BtfKind::Int,
                false,
                bytes,
                BtfTypeData::Int(BtfInt(encoding | (bytes * 8))),
            )
        }

        /// An empty struct added to a BTF outside a builder.
        fn structure_into(btf: &mut Btf, name: &str, size: u32) -> u32 {
            let mut builder = Builder(std::mem::take(btf));
            let id = builder.structure(name, size, &[]);
            *btf = builder.0;
            id
        }

        /// A struct of one member added to a BTF outside a builder.
        fn structure_with(btf: &mut Btf, name: &str, size: u32, member: &str, type_id: u32) -> u32 {
            let mut builder = Builder(std::mem::take(btf));
            let id = builder.structure(name, size, &[(member, type_id, 0)]);
            *btf = builder.0;
            id
        }

        fn structure(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
            let members = members
                .iter()
                .map(|&(member, type_id, bit_offset)| BtfMember {
                    name_off: if member.is_empty() {
                        0
                    } else {
                        self.0.add_string(member)
                    },
                    type_id,
                    offset: bit_offset,
                })
                .collect();
            self.add(
                name,
                BtfKind::Struct,
                false,
                size,
                BtfTypeData::Members(members),
            )
        }
    }

    fn ldx(off: i16, size: u8) -> Insn {
        // BPF_LDX | BPF_MEM | size: r0 = *(r1 + off)
        Insn {
            code: 0x61 | size,
            regs: 0x10,
            off,
            imm: 0,
        }
    }

    fn mov(imm: i32) -> Insn {
        Insn {
            code: 0xb7,
            regs: 0,
            off: 0,
            imm,
        }
    }

    /// The object: `struct task___rxdp { u32 flags; u32 pid; u32 gone; }`,
    /// `enum mode___rxdp { A = 0, B = 1 }`. The kernel: `struct task {
    /// u64 state; struct { u64 flags; }; u32 pid; }` and `enum mode { A = 4, B = 9 }`.
    fn btfs() -> (Btf, Btf) {
        let mut local = Builder::new();
        let u32_id = local.int("unsigned int", 4, false);
        local.structure(
            "task___rxdp",
            12,
            &[
                ("flags", u32_id, 0),
                ("pid", u32_id, 32),
                ("gone", u32_id, 64),
            ],
        );
        let a = local.0.add_string("A");
        let b = local.0.add_string("B");
        local.add(
            "mode___rxdp",
            BtfKind::Enum,
            false,
            4,
            BtfTypeData::Enum(vec![
                BtfEnum {
                    name_off: a,
                    val: 0,
                },
                BtfEnum {
                    name_off: b,
                    val: 1,
                },
            ]),
        );
        let mut kernel = Builder::new();
        let u64_id = kernel.int("long unsigned int", 8, false);
        let u32_id = kernel.int("unsigned int", 4, false);
        let inner = kernel.structure("", 8, &[("flags", u64_id, 0)]);
        kernel.structure(
            "task",
            24,
            &[("state", u64_id, 0), ("", inner, 64), ("pid", u32_id, 128)],
        );
        let a = kernel.0.add_string("A");
        let b = kernel.0.add_string("B");
        kernel.add(
            "mode",
            BtfKind::Enum,
            false,
            4,
            BtfTypeData::Enum(vec![
                BtfEnum {
                    name_off: a,
                    val: 4,
                },
                BtfEnum {
                    name_off: b,
                    val: 9,
                },
            ]),
        );
        (local.0, kernel.0)
    }

    fn reloc(local: &mut Btf, type_id: u32, access: &str, kind: u32) -> CoreReloc {
        let access_str_off = local.add_string(access);
        CoreReloc {
            insn_off: 0,
            type_id,
            access_str_off,
            kind,
        }
    }

    #[test]
    fn field_offsets_follow_the_kernel_through_anonymous_members() {
        let (mut local, kernel) = btfs();
        let target = CoreTarget::new(&kernel);
        // task___rxdp.pid: offset 4 here, 16 in the kernel.
        let r = reloc(&mut local, 2, "0:1", 0);
        let mut insns = [ldx(4, 0x00)];
        let outcome = apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(outcome.value, Some(16));
        assert_eq!(insns[0].off, 16);
        // flags: a u32 here, a u64 inside an anonymous struct there: offset
        // 8, and the 4-byte load becomes an 8-byte one.
        let r = reloc(&mut local, 2, "0:0", 0);
        let mut insns = [ldx(0, 0x00)];
        apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!((insns[0].off, insns[0].code), (8, 0x79));
        // Its size, in a mov.
        let r = reloc(&mut local, 2, "0:0", 1);
        let mut insns = [mov(4)];
        apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(insns[0].imm, 8);
    }

    #[test]
    fn missing_fields_exist_not_and_poison_their_accesses() {
        let (mut local, kernel) = btfs();
        let target = CoreTarget::new(&kernel);
        let r = reloc(&mut local, 2, "0:2", 2);
        let mut insns = [mov(1)];
        let outcome = apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(outcome.value, Some(0));
        assert_eq!(insns[0].imm, 0);
        let r = reloc(&mut local, 2, "0:2", 0);
        let mut insns = [ldx(8, 0x00)];
        let outcome = apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(outcome.value, None);
        assert_eq!((insns[0].code, insns[0].imm), (CALL, POISON_HELPER));
    }

    #[test]
    fn enums_types_and_validation() {
        let (mut local, kernel) = btfs();
        let target = CoreTarget::new(&kernel);
        // enum mode___rxdp B: 1 here, 9 in the kernel, as an ld_imm64.
        let r = reloc(&mut local, 3, "1", 11);
        let mut insns = [
            Insn {
                code: 0x18,
                regs: 0,
                off: 0,
                imm: 1,
            },
            Insn::default(),
        ];
        apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!((insns[0].imm, insns[1].imm), (9, 0));
        // Type size and the kernel's type id of task.
        let r = reloc(&mut local, 2, "0", 9);
        let mut insns = [mov(12)];
        apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(insns[0].imm, 24);
        let r = reloc(&mut local, 2, "0", 7);
        let mut insns = [mov(2)];
        apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(insns[0].imm, 4);
        // An instruction that does not hold the object's value is refused.
        let r = reloc(&mut local, 2, "0:1", 0);
        let mut insns = [ldx(8, 0x00)];
        let error = apply(&local, &target, &r, &mut insns).unwrap_err();
        assert_eq!(
            error,
            CoreError::Offset {
                found: 8,
                expected: 4
            }
        );
        assert_eq!(
            error.to_string(),
            "the instruction's offset is 8, the object's value is 4"
        );
        // type_matches: the kernel's task has no top-level `flags` (it is
        // inside an anonymous struct), so task___rxdp does not match: 0.
        let r = reloc(&mut local, 2, "0", 12);
        let mut insns = [mov(1)];
        let outcome = apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!((outcome.value, insns[0].imm), (Some(0), 0));
    }

    /// A struct, pointer, enum and prototype pair for `type_matches`.
    /// Local: `struct pair___rxdp { int a; long *b; struct opaque *o;
    /// enum color___rxdp c; int (*f)(int); }`, `opaque` a forward
    /// declaration. Kernel: `struct pair { long x; int a; long *b;
    /// struct opaque *o; enum color c; int (*f)(int); }`, `opaque` a
    /// struct, `color` with one more enumerator. Returns the BTFs and the
    /// local struct's id.
    fn matching_pair(kernel_a_signed: bool, local_extra: bool) -> (Btf, Btf, u32) {
        fn side(
            b: &mut Builder,
            name: &str,
            color: &str,
            fwd: bool,
            with_x: bool,
            a_signed: bool,
            extra: bool,
        ) -> u32 {
            let int = b.int("int", 4, a_signed);
            let long = b.int("long", 8, true);
            let long_ptr = b.add("", BtfKind::Ptr, false, long, BtfTypeData::None);
            let opaque = if fwd {
                b.add("opaque", BtfKind::Fwd, false, 0, BtfTypeData::None)
            } else {
                b.structure("opaque", 4, &[("v", int, 0)])
            };
            let opaque_ptr = b.add("", BtfKind::Ptr, false, opaque, BtfTypeData::None);
            let red = b.0.add_string("RED");
            let blue = b.0.add_string("BLUE");
            let mut values = vec![BtfEnum {
                name_off: red,
                val: 0,
            }];
            if with_x {
                values.push(BtfEnum {
                    name_off: blue,
                    val: 1,
                });
            }
            let color = b.add(color, BtfKind::Enum, false, 4, BtfTypeData::Enum(values));
            let param = b.0.add_string("n");
            let proto = b.add(
                "",
                BtfKind::FuncProto,
                false,
                int,
                BtfTypeData::Params(vec![crate::btf::BtfParam {
                    name_off: param,
                    type_id: int,
                }]),
            );
            let proto_ptr = b.add("", BtfKind::Ptr, false, proto, BtfTypeData::None);
            let mut members = vec![];
            if with_x {
                members.push(("x", long, 0));
            }
            let base = if with_x { 64 } else { 0 };
            members.extend([
                ("a", int, base),
                ("b", long_ptr, base + 64),
                ("o", opaque_ptr, base + 128),
                ("c", color, base + 192),
                ("f", proto_ptr, base + 256),
            ]);
            if extra {
                members.push(("extra", int, base + 320));
            }
            b.structure(name, 48, &members)
        }
        let mut local = Builder::new();
        let root = side(
            &mut local,
            "pair___rxdp",
            "color___rxdp",
            true,
            false,
            true,
            local_extra,
        );
        let mut kernel = Builder::new();
        side(
            &mut kernel,
            "pair",
            "color",
            false,
            true,
            kernel_a_signed,
            false,
        );
        (local.0, kernel.0, root)
    }

    #[test]
    fn type_matches_compares_shapes() {
        let (mut local, kernel, root) = matching_pair(true, false);
        let target = CoreTarget::new(&kernel);
        let r = reloc(&mut local, root, "0", 12);
        let mut insns = [mov(1)];
        let outcome = apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!((outcome.value, insns[0].imm), (Some(1), 1));
        assert_eq!(outcome.kind.name(), "type_matches");
        // An int of another signedness does not match...
        let (mut local, kernel, root) = matching_pair(false, false);
        let target = CoreTarget::new(&kernel);
        let r = reloc(&mut local, root, "0", 12);
        let mut insns = [mov(1)];
        assert_eq!(
            apply(&local, &target, &r, &mut insns).unwrap().value,
            Some(0)
        );
        // ...nor a local member the kernel lacks, though the types stay
        // compatible for type_exists.
        let (mut local, kernel, root) = matching_pair(true, true);
        let target = CoreTarget::new(&kernel);
        let r = reloc(&mut local, root, "0", 12);
        assert_eq!(
            apply(&local, &target, &r, &mut [mov(1)]).unwrap().value,
            Some(0)
        );
        let r = reloc(&mut local, root, "0", 8);
        assert_eq!(
            apply(&local, &target, &r, &mut [mov(1)]).unwrap().value,
            Some(1)
        );
        // Directly rather than through a relocation: a forward declaration
        // only matches behind a pointer.
        let (local, kernel, _) = matching_pair(true, false);
        let fwd = local.find(BtfKind::Fwd, "opaque").unwrap();
        let opaque = kernel.find(BtfKind::Struct, "opaque").unwrap();
        assert!(!types_match(&local, fwd, &kernel, opaque).unwrap());
        assert!(match_within(&local, fwd, &kernel, opaque, true, 8).unwrap());
    }

    #[test]
    fn type_based_relocations_without_a_match_are_zero() {
        let (mut local, kernel) = btfs();
        let absent = Builder::structure_into(&mut local, "absent___rxdp", 8);
        let target = CoreTarget::new(&kernel);
        // type id (the instruction holds the local id, not checked), size,
        // exists, matches: 0, not a poisoned instruction.
        for (kind, imm) in [(7, 999), (9, 8), (8, 1), (12, 1)] {
            let r = reloc(&mut local, absent, "0", kind);
            let mut insns = [mov(imm)];
            let outcome = apply(&local, &target, &r, &mut insns).unwrap();
            assert_eq!(
                (outcome.value, insns[0].code, insns[0].imm),
                (Some(0), 0xb7, 0),
                "kind {kind}"
            );
        }
        // The local type id is not checked against the instruction either.
        let r = reloc(&mut local, absent, "0", 6);
        let mut insns = [mov(12345)];
        apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(insns[0].imm, absent as i32);
        // An enumerator's value is poisoned, its existence 0.
        let r = reloc(&mut local, 3, "0", 11);
        let mut kernel_without = Builder::new();
        kernel_without.int("int", 4, true);
        let empty = CoreTarget::new(&kernel_without.0);
        let mut insns = [mov(0)];
        assert_eq!(apply(&local, &empty, &r, &mut insns).unwrap().value, None);
        assert_eq!(insns[0].imm, POISON_HELPER);
        let r = reloc(&mut local, 3, "0", 10);
        assert_eq!(
            apply(&local, &empty, &r, &mut [mov(1)]).unwrap().value,
            Some(0)
        );
    }

    #[test]
    fn modules_are_searched_only_when_vmlinux_has_no_candidate() {
        let (mut local, vmlinux) = btfs();
        let vmlinux = std::sync::Arc::new(vmlinux);
        // A module (split BTF on vmlinux) with `struct modstruct { u64 a; }`
        // and its own `struct task`, which must not be used.
        let mut module = Btf::parse_split(&Btf::default().to_bytes(), vmlinux.clone()).unwrap();
        let u64_id = vmlinux.find(BtfKind::Int, "long unsigned int").unwrap();
        let a = module.add_string("a");
        let modstruct = module.add_string("modstruct");
        module.add_type(BtfType {
            name_off: modstruct,
            kind: BtfKind::Struct,
            kind_flag: false,
            size_or_type: 16,
            data: BtfTypeData::Members(vec![BtfMember {
                name_off: a,
                type_id: u64_id,
                offset: 64,
            }]),
        });
        let task = module.add_string("task");
        module.add_type(BtfType {
            name_off: task,
            kind: BtfKind::Struct,
            kind_flag: false,
            size_or_type: 4,
            data: BtfTypeData::Members(vec![]),
        });
        let local_u64 = local.find(BtfKind::Int, "unsigned int").unwrap();
        let local_mod = Builder::structure_with(&mut local, "modstruct___rxdp", 8, "a", local_u64);
        let mut target = CoreTarget::new(&vmlinux);
        let object = crate::Object::new(Vec::new(), Vec::new());
        assert!(!target.vmlinux_lacks_candidates(&object));
        target.add_module(&module);
        let r = reloc(&mut local, local_mod, "0:0", 0);
        let mut insns = [ldx(0, 0x00)];
        let outcome = apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(outcome.value, Some(8), "found in the module");
        // task: vmlinux has it, the module's (size 4) is not looked at.
        let r = reloc(&mut local, 2, "0", 9);
        let mut insns = [mov(12)];
        apply(&local, &target, &r, &mut insns).unwrap();
        assert_eq!(insns[0].imm, 24);
    }

    /// Found by the `relocate` fuzz target: a shift relocation of a field
    /// wider than 64 bits underflowed `64 - bit_size` (a panic in debug
    /// builds, a garbage shift in release ones).
    #[test]
    fn shifts_of_fields_wider_than_a_load_are_refused() {
        let mut local = Builder::new();
        let u64_id = local.int("long unsigned int", 8, false);
        let pair = local.structure("pair", 16, &[("a", u64_id, 0), ("b", u64_id, 64)]);
        let outer = local.structure("outer___rxdp", 24, &[("x", u64_id, 0), ("p", pair, 64)]);
        let mut local = local.0;
        let target_btf = local.clone();
        let target = CoreTarget::new(&target_btf);
        for kind in [4, 5] {
            let r = reloc(&mut local, outer, "0:1", kind);
            let error = apply(&local, &target, &r, &mut [mov(0)]).unwrap_err();
            assert_eq!(
                error,
                CoreError::WideField {
                    kind: Kind::from_u32(kind).unwrap(),
                    size: 16
                }
            );
            assert!(
                error
                    .to_string()
                    .ends_with("of a 16-byte field: more than one 64-bit load holds"),
                "{error}"
            );
        }
        // A u64 field is fine: shifts of 0.
        let r = reloc(&mut local, outer, "0:0", 5);
        let mut insns = [mov(0)];
        assert_eq!(
            apply(&local, &target, &r, &mut insns).unwrap().value,
            Some(0)
        );
    }

    /// Offsets along a crafted access path must not overflow 64 bits.
    #[test]
    fn access_paths_beyond_64_bits_are_refused() {
        let mut local = Builder::new();
        let u64_id = local.int("long unsigned int", 8, false);
        let array = local.add(
            "",
            BtfKind::Array,
            false,
            0,
            BtfTypeData::Array(crate::btf::BtfArray {
                type_id: u64_id,
                index_type: u64_id,
                nelems: 0x1000_0000,
            }),
        );
        let big = local.structure("big___rxdp", 0x8000_0000, &[("a", array, 0)]);
        let mut local = local.0;
        let target_btf = local.clone();
        let target = CoreTarget::new(&target_btf);
        let r = reloc(&mut local, big, "4294967295:0:4294967295", 0);
        let error = apply(&local, &target, &r, &mut [ldx(0, 0x18)]).unwrap_err();
        assert_eq!(error, CoreError::Overflow);
    }

    #[test]
    fn essential_names() {
        assert_eq!(essential("task_struct___old"), "task_struct");
        assert_eq!(essential("task_struct"), "task_struct");
    }
}
