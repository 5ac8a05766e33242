//! Errors of the BTF module: each variant says what is wrong and where.

use super::types::BtfKind;

/// Everything that can be wrong with `.BTF`, `.BTF.ext` or a question asked of them.
///
/// `what` fields name the blob (`"BTF"` or `"BTF.ext"`); `section` fields name
/// the part of it (`"type section"`, `"string table"`, `"func_info"`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    #[error("{what} header truncated: {len} bytes present, the header needs {need}")]
    HeaderTruncated {
        what: &'static str,
        len: usize,
        need: usize,
    },
    #[error("{what}: bad magic 0x{magic:04x} (expected 0xeb9f); this is not BTF")]
    BadMagic { what: &'static str, magic: u16 },
    #[error(
        "{what} is big-endian (magic 0xeb9f byte-swapped); only little-endian BTF is supported, \
         rebuild with `-target bpfel` (or plain `-target bpf` on a little-endian host)"
    )]
    BigEndian { what: &'static str },
    #[error("{what}: unsupported version {version} (only version 1 exists)")]
    BadVersion { what: &'static str, version: u8 },
    #[error(
        "BTF: header flags {flags:#04x} are not 0: no flag is defined, and the kernel refuses any"
    )]
    BadFlags { flags: u8 },
    #[error(
        "{what}: header length {hdr_len} is invalid (at least {min}, and within the {len} bytes present)"
    )]
    HeaderLength {
        what: &'static str,
        hdr_len: u32,
        min: usize,
        len: usize,
    },
    #[error(
        "{what}: header of {hdr_len} bytes has a non-zero byte at offset {offset}, beyond the \
         fields this parser knows; it was written for a newer format"
    )]
    HeaderUnknownFields {
        what: &'static str,
        hdr_len: u32,
        offset: usize,
    },
    #[error(
        "{what} truncated: {section} at offset {offset} with length {len} (after the header) \
         extends past the {available} bytes present"
    )]
    SectionTruncated {
        what: &'static str,
        section: &'static str,
        offset: u32,
        len: u32,
        available: usize,
    },
    #[error("BTF: type section and string table overlap")]
    SectionsOverlap,
    #[error(
        "BTF type section truncated: type id {type_id} at offset {offset} needs {need} bytes, \
         only {available} remain"
    )]
    TypeTruncated {
        type_id: u32,
        offset: usize,
        need: usize,
        available: usize,
    },
    #[error("BTF: unknown kind {kind} at type id {type_id} (kinds 1..=19 exist)")]
    UnknownKind { kind: u8, type_id: u32 },
    #[error("BTF: type id {type_id} has unused info bits set (info 0x{info:08x})")]
    InvalidInfo { type_id: u32, info: u32 },
    #[error("BTF: type id {type_id} ({kind}) has vlen {vlen}, but that kind has no vlen")]
    UnexpectedVlen {
        type_id: u32,
        kind: BtfKind,
        vlen: u16,
    },
    #[error("BTF string table is empty; it must hold at least the empty string")]
    StringTableEmpty,
    #[error("BTF string table does not start with the empty string (byte 0 is not NUL)")]
    StringTableStart,
    #[error("BTF string table does not end with a NUL byte")]
    StringTableEnd,
    #[error("BTF string offset {offset} is outside the string table ({len} bytes)")]
    StringOffset { offset: u32, len: usize },
    #[error("BTF string at offset {offset} has no terminating NUL")]
    StringUnterminated { offset: u32 },
    #[error("BTF string at offset {offset} is not valid UTF-8")]
    StringUtf8 { offset: u32 },
    #[error("BTF type id {id} out of range (this BTF has type ids 0..={max})")]
    TypeIdOutOfRange { id: u32, max: u32 },
    #[error("BTF: type id {type_id} refers to type id {target}, beyond the last type id {max}")]
    BadTypeRef { type_id: u32, target: u32, max: u32 },
    #[error(
        "BTF: type id {id}: chain of typedef/modifier/array references longer than {limit} \
         (a reference loop?)"
    )]
    ReferenceLoop { id: u32, limit: usize },
    #[error("BTF: type id {id} ({kind}) has no size")]
    NoSize { id: u32, kind: &'static str },
    #[error("BTF: size of type id {id} overflows 32 bits")]
    SizeOverflow { id: u32 },
    #[error("BTF: expected type id {id} to be a {expected}, it is a {found}")]
    UnexpectedKind {
        id: u32,
        expected: &'static str,
        found: &'static str,
    },
    #[error("BTF DATASEC `{section}`: the object has no ELF section of that name")]
    UnknownSection { section: String },
    #[error("BTF DATASEC `{section}`: variable `{var}` has no ELF symbol to take its offset from")]
    UnknownSymbol { section: String, var: String },
    #[error("BTF DATASEC `{section}`: entry {index} is type id {type_id}, not a VAR")]
    DatasecEntryNotVar {
        section: String,
        index: usize,
        type_id: u32,
    },
    #[error("map `{map}`: {problem}")]
    Map { map: String, problem: MapProblem },
    #[error(
        "BTF.ext {section}: record size {rec_size} is smaller than the {min} bytes of one record"
    )]
    ExtRecordSizeTooSmall {
        section: &'static str,
        rec_size: u32,
        min: u32,
    },
    #[error(
        "BTF.ext {section} truncated at offset {offset} of the section: {need} bytes needed, \
         {available} remain"
    )]
    ExtTruncated {
        section: &'static str,
        offset: usize,
        need: u64,
        available: usize,
    },
}

/// What is wrong with a BTF map definition (the struct a `.maps` variable points to).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapProblem {
    #[error("definition is a {kind}, not a struct")]
    NotStruct { kind: &'static str },
    #[error("member #{index} has no name")]
    AnonymousMember { index: usize },
    #[error("unknown member `{member}`")]
    UnknownMember { member: String },
    #[error("member `{member}` is not a pointer to an array (declare it with __uint)")]
    NotPtrToArray { member: String },
    #[error("member `{member}` is not a pointer (declare it with __type)")]
    NotPtr { member: String },
    #[error("member `{member}`: {error}")]
    MemberType {
        member: String,
        error: Box<BtfError>,
    },
    #[error("`{size_member}` is {declared} but `{type_member}` has size {type_size}")]
    SizeMismatch {
        size_member: &'static str,
        type_member: &'static str,
        declared: u32,
        type_size: u32,
    },
    #[error("member `values` must be a zero-length array (declare it with __array)")]
    ValuesNotEmptyArray,
    #[error("member `values` must be the last member")]
    ValuesNotLast,
    #[error("member `values` must be an array of pointers, its element is a {kind}")]
    ValuesNotPtr { kind: &'static str },
    #[error(
        "member `values` points to a {kind}; expected a function prototype (prog array) or a \
         struct (inner map)"
    )]
    ValuesTarget { kind: &'static str },
    #[error(
        "member `values` given, but map type {map_type} is neither a prog array nor a map-in-map"
    )]
    ValuesWrongMapType { map_type: u32 },
    #[error("member `values` describes {found}, but map type {map_type} needs {expected}")]
    ValuesMismatch {
        map_type: u32,
        found: &'static str,
        expected: &'static str,
    },
    #[error("`value_size` is {declared}, but a map with `values` holds 4-byte ids")]
    ValuesValueSize { declared: u32 },
    #[error("inner map definitions nest deeper than one level")]
    NestedTooDeep,
}
