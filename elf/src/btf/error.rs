//! Errors of the BTF module: each variant says what is wrong and where.

use super::types::BtfKind;

/// Everything that can be wrong with `.BTF`, `.BTF.ext` or a question asked of them.
///
/// `what` fields name the blob (`"BTF"` or `"BTF.ext"`); `section` fields name
/// the part of it (`"type section"`, `"string table"`, `"func_info"`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// `what` header truncated: `len` bytes present, the header needs `need`.
    #[error("{what} header truncated: {len} bytes present, the header needs {need}")]
    HeaderTruncated {
        /// The blob: `BTF` or `BTF.ext`.
        what: &'static str,
        /// The bytes present.
        len: usize,
        /// The bytes needed.
        need: usize,
    },
    /// `what`: bad magic 0x`magic` (expected 0xeb9f).
    #[error("{what}: bad magic 0x{magic:04x} (expected 0xeb9f); this is not BTF")]
    BadMagic {
        /// The blob: `BTF` or `BTF.ext`.
        what: &'static str,
        /// The magic found.
        magic: u16,
    },
    /// `what` is big-endian (magic 0xeb9f byte-swapped).
    #[error(
        "{what} is big-endian (magic 0xeb9f byte-swapped); only little-endian BTF is supported, \
         rebuild with `-target bpfel` (or plain `-target bpf` on a little-endian host)"
    )]
    BigEndian {
        /// The blob: `BTF` or `BTF.ext`.
        what: &'static str,
    },
    /// `what`: unsupported version `version` (only version 1 exists).
    #[error("{what}: unsupported version {version} (only version 1 exists)")]
    BadVersion {
        /// The blob: `BTF` or `BTF.ext`.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// BTF: header flags `flags` are not 0: no flag is defined, and the kernel refuses any.
    #[error(
        "BTF: header flags {flags:#04x} are not 0: no flag is defined, and the kernel refuses any"
    )]
    BadFlags {
        /// The flags found.
        flags: u8,
    },
    /// `what`: header length `hdr_len` is invalid (at least `min`, and within the `len` bytes
    /// present).
    #[error(
        "{what}: header length {hdr_len} is invalid (at least {min}, and within the {len} bytes present)"
    )]
    HeaderLength {
        /// The blob: `BTF` or `BTF.ext`.
        what: &'static str,
        /// The header length the header states.
        hdr_len: u32,
        /// The smallest valid value.
        min: usize,
        /// The bytes present.
        len: usize,
    },
    /// `what`: header of `hdr_len` bytes has a non-zero byte at offset `offset`, beyond the
    /// fields this parser knows.
    #[error(
        "{what}: header of {hdr_len} bytes has a non-zero byte at offset {offset}, beyond the \
         fields this parser knows; it was written for a newer format"
    )]
    HeaderUnknownFields {
        /// The blob: `BTF` or `BTF.ext`.
        what: &'static str,
        /// The header length the header states.
        hdr_len: u32,
        /// The byte offset the message names.
        offset: usize,
    },
    /// `what` truncated: `section` at offset `offset` with length `len` (after the header)
    /// extends past the `available` bytes present.
    #[error(
        "{what} truncated: {section} at offset {offset} with length {len} (after the header) \
         extends past the {available} bytes present"
    )]
    SectionTruncated {
        /// The blob: `BTF` or `BTF.ext`.
        what: &'static str,
        /// The part of the blob (`type section`, `string table`, `func_info`, ...).
        section: &'static str,
        /// The byte offset the message names.
        offset: u32,
        /// The section's length, from the header.
        len: u32,
        /// The bytes that remain.
        available: usize,
    },
    /// BTF: type section and string table overlap.
    #[error("BTF: type section and string table overlap")]
    SectionsOverlap,
    /// BTF type section truncated: type id `type_id` at offset `offset` needs `need` bytes,
    /// only `available` remain.
    #[error(
        "BTF type section truncated: type id {type_id} at offset {offset} needs {need} bytes, \
         only {available} remain"
    )]
    TypeTruncated {
        /// The type id.
        type_id: u32,
        /// The byte offset the message names.
        offset: usize,
        /// The bytes needed.
        need: usize,
        /// The bytes that remain.
        available: usize,
    },
    /// BTF: unknown kind `kind` at type id `type_id` (kinds 1..=19 exist).
    #[error("BTF: unknown kind {kind} at type id {type_id} (kinds 1..=19 exist)")]
    UnknownKind {
        /// The kind found.
        kind: u8,
        /// The type id.
        type_id: u32,
    },
    /// BTF: type id `type_id` has unused info bits set (info 0x`info`).
    #[error("BTF: type id {type_id} has unused info bits set (info 0x{info:08x})")]
    InvalidInfo {
        /// The type id.
        type_id: u32,
        /// The `info` word.
        info: u32,
    },
    /// BTF: type id `type_id` (`kind`) has vlen `vlen`, but that kind has no vlen.
    #[error("BTF: type id {type_id} ({kind}) has vlen {vlen}, but that kind has no vlen")]
    UnexpectedVlen {
        /// The type id.
        type_id: u32,
        /// The kind found.
        kind: BtfKind,
        /// The `vlen` found.
        vlen: u16,
    },
    /// BTF string table is empty.
    #[error("BTF string table is empty; it must hold at least the empty string")]
    StringTableEmpty,
    /// BTF string table does not start with the empty string (byte 0 is not NUL).
    #[error("BTF string table does not start with the empty string (byte 0 is not NUL)")]
    StringTableStart,
    /// BTF string table does not end with a NUL byte.
    #[error("BTF string table does not end with a NUL byte")]
    StringTableEnd,
    /// BTF string offset `offset` is outside the string table (`len` bytes).
    #[error("BTF string offset {offset} is outside the string table ({len} bytes)")]
    StringOffset {
        /// The byte offset the message names.
        offset: u32,
        /// The size of the string table.
        len: usize,
    },
    /// BTF string at offset `offset` has no terminating NUL.
    #[error("BTF string at offset {offset} has no terminating NUL")]
    StringUnterminated {
        /// The byte offset the message names.
        offset: u32,
    },
    /// BTF string at offset `offset` is not valid UTF-8.
    #[error("BTF string at offset {offset} is not valid UTF-8")]
    StringUtf8 {
        /// The byte offset the message names.
        offset: u32,
    },
    /// BTF type id `id` out of range (this BTF has type ids 0..=`max`).
    #[error("BTF type id {id} out of range (this BTF has type ids 0..={max})")]
    TypeIdOutOfRange {
        /// The type id.
        id: u32,
        /// The largest valid type id.
        max: u32,
    },
    /// BTF: type id `type_id` refers to type id `target`, beyond the last type id `max`.
    #[error("BTF: type id {type_id} refers to type id {target}, beyond the last type id {max}")]
    BadTypeRef {
        /// The type id.
        type_id: u32,
        /// The type id it refers to.
        target: u32,
        /// The largest valid type id.
        max: u32,
    },
    /// BTF: type id `id`: chain of typedef/modifier/array references longer than `limit` (a
    /// reference loop?).
    #[error(
        "BTF: type id {id}: chain of typedef/modifier/array references longer than {limit} \
         (a reference loop?)"
    )]
    ReferenceLoop {
        /// The type id.
        id: u32,
        /// How many references were followed.
        limit: usize,
    },
    /// BTF: type id `id` (`kind`) has no size.
    #[error("BTF: type id {id} ({kind}) has no size")]
    NoSize {
        /// The type id.
        id: u32,
        /// Its kind.
        kind: &'static str,
    },
    /// BTF: size of type id `id` overflows 32 bits.
    #[error("BTF: size of type id {id} overflows 32 bits")]
    SizeOverflow {
        /// The type id.
        id: u32,
    },
    /// BTF: expected type id `id` to be a `expected`, it is a `found`.
    #[error("BTF: expected type id {id} to be a {expected}, it is a {found}")]
    UnexpectedKind {
        /// The type id.
        id: u32,
        /// The kind expected.
        expected: &'static str,
        /// The kind found.
        found: &'static str,
    },
    /// BTF DATASEC `section`: the object has no ELF section of that name.
    #[error("BTF DATASEC `{section}`: the object has no ELF section of that name")]
    UnknownSection {
        /// The DATASEC's name.
        section: String,
    },
    /// BTF DATASEC `section`: variable `var` has no ELF symbol to take its offset from.
    #[error("BTF DATASEC `{section}`: variable `{var}` has no ELF symbol to take its offset from")]
    UnknownSymbol {
        /// The DATASEC's name.
        section: String,
        /// The variable.
        var: String,
    },
    /// BTF DATASEC `section`: entry `index` is type id `type_id`, not a VAR.
    #[error("BTF DATASEC `{section}`: entry {index} is type id {type_id}, not a VAR")]
    DatasecEntryNotVar {
        /// The DATASEC's name.
        section: String,
        /// The entry's index.
        index: usize,
        /// The type id.
        type_id: u32,
    },
    /// Map `map`: `problem`.
    #[error("map `{map}`: {problem}")]
    Map {
        /// The map, by name.
        map: String,
        /// What is wrong with its definition.
        problem: MapProblem,
    },
    /// The `XDP_RUN_CONFIG` of program `program` (libxdp's `.xdp_run_config`
    /// variable `_PROGRAM`): `problem`.
    #[error("XDP_RUN_CONFIG of `{program}` (.xdp_run_config `_{program}`): {problem}")]
    RunConfig {
        /// The program, by function name.
        program: String,
        /// What is wrong with it.
        problem: MapProblem,
    },
    /// BTF.ext `section`: record size `rec_size` is smaller than the `min` bytes of one record.
    #[error(
        "BTF.ext {section}: record size {rec_size} is smaller than the {min} bytes of one record"
    )]
    ExtRecordSizeTooSmall {
        /// The records: `func_info`, `line_info` or `core_relo`.
        section: &'static str,
        /// The record size the section states.
        rec_size: u32,
        /// The smallest valid value.
        min: u32,
    },
    /// BTF.ext `section` truncated at offset `offset` of the section: `need` bytes needed,
    /// `available` remain.
    #[error(
        "BTF.ext {section} truncated at offset {offset} of the section: {need} bytes needed, \
         {available} remain"
    )]
    ExtTruncated {
        /// The records: `func_info`, `line_info` or `core_relo`.
        section: &'static str,
        /// The byte offset the message names.
        offset: usize,
        /// The bytes needed.
        need: u64,
        /// The bytes that remain.
        available: usize,
    },
}

/// What is wrong with a BTF map definition (the struct a `.maps` variable points to).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapProblem {
    /// Definition is a `kind`, not a struct.
    #[error("definition is a {kind}, not a struct")]
    NotStruct {
        /// The kind of the definition.
        kind: &'static str,
    },
    /// Member #`index` has no name.
    #[error("member #{index} has no name")]
    AnonymousMember {
        /// The member's position.
        index: usize,
    },
    /// Unknown member `member`.
    #[error("unknown member `{member}`")]
    UnknownMember {
        /// The member.
        member: String,
    },
    /// Member `member` is neither a pointer to an array (`__uint`) nor a
    /// one-value enum (`__ulong`).
    #[error("member `{member}` is neither a pointer to an array nor an enum of one value (declare it with __uint or __ulong)")]
    NotPtrToArray {
        /// The member.
        member: String,
    },
    /// Member `member` holds `value`, more than its 32 bits take.
    #[error("member `{member}` is {value:#x}, which does not fit its 32 bits")]
    AttributeRange {
        /// The member.
        member: String,
        /// The value declared.
        value: u64,
    },
    /// Member `member` is neither `priority` nor an XDP action.
    #[error("member `{member}` is neither `priority` nor an XDP action (XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT)")]
    UnknownRunConfigMember {
        /// The member.
        member: String,
    },
    /// Member `member` is not a pointer (declare it with __type).
    #[error("member `{member}` is not a pointer (declare it with __type)")]
    NotPtr {
        /// The member.
        member: String,
    },
    /// Member `member`: `error`.
    #[error("member `{member}`: {error}")]
    MemberType {
        /// The member.
        member: String,
        /// What is wrong with the member's type.
        error: Box<BtfError>,
    },
    /// `size_member` is `declared` but `type_member` has size `type_size`.
    #[error("`{size_member}` is {declared} but `{type_member}` has size {type_size}")]
    SizeMismatch {
        /// The member that states a size.
        size_member: &'static str,
        /// The member that gives a type.
        type_member: &'static str,
        /// The size declared.
        declared: u32,
        /// The size of the type.
        type_size: u32,
    },
    /// Member `values` must be a zero-length array (declare it with __array).
    #[error("member `values` must be a zero-length array (declare it with __array)")]
    ValuesNotEmptyArray,
    /// Member `values` must be the last member.
    #[error("member `values` must be the last member")]
    ValuesNotLast,
    /// Member `values` must be an array of pointers, its element is a `kind`.
    #[error("member `values` must be an array of pointers, its element is a {kind}")]
    ValuesNotPtr {
        /// The kind of the element.
        kind: &'static str,
    },
    /// Member `values` points to a `kind`.
    #[error(
        "member `values` points to a {kind}; expected a function prototype (prog array) or a \
         struct (inner map)"
    )]
    ValuesTarget {
        /// The kind pointed to.
        kind: &'static str,
    },
    /// Member `values` given, but map type `map_type` is neither a prog array nor a map-in-map.
    #[error(
        "member `values` given, but map type {map_type} is neither a prog array nor a map-in-map"
    )]
    ValuesWrongMapType {
        /// The map type (`enum bpf_map_type`).
        map_type: u32,
    },
    /// Member `values` describes `found`, but map type `map_type` needs `expected`.
    #[error("member `values` describes {found}, but map type {map_type} needs {expected}")]
    ValuesMismatch {
        /// The map type (`enum bpf_map_type`).
        map_type: u32,
        /// What `values` describes.
        found: &'static str,
        /// What the map type needs.
        expected: &'static str,
    },
    /// `value_size` is `declared`, but a map with `values` holds 4-byte ids.
    #[error("`value_size` is {declared}, but a map with `values` holds 4-byte ids")]
    ValuesValueSize {
        /// The size declared.
        declared: u32,
    },
    /// Inner map definitions nest deeper than one level.
    #[error("inner map definitions nest deeper than one level")]
    NestedTooDeep,
}
