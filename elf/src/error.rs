//! Everything that can be wrong with a BPF object.
//!
//! Each variant names what is concerned (section, symbol, map, function,
//! instruction index) and its message says what to do about it. `insn`
//! fields count instructions from the start of the function named next to
//! them, as `llvm-objdump -d` shows them when the function starts its
//! section.
//!
//! A cause is printed once, in every rxdp crate: an error's `Display` is
//! its whole message, the text of its cause included (a [`BtfError`] inside
//! [`ParseError::Btf`]), so `source()` returns no cause — a caller printing
//! the chain prints each cause once. The causes stay reachable as fields.

use crate::btf::BtfError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    // ------------------------------------------------------------ container
    #[error(
        "not an ELF file (no \\x7fELF magic); give an object built with `clang -target bpf -c`"
    )]
    NotElf,
    #[error("32-bit ELF object; BPF objects are ELF64: rebuild with `clang -target bpf`")]
    Elf32,
    #[error(
        "big-endian ELF object (built with `-target bpfeb`?); the kernel here runs little-endian \
         BPF: rebuild with `-target bpf`"
    )]
    BigEndian,
    #[error(
        "ELF machine {machine} is not BPF (EM_BPF is 247): this object was built for another \
         architecture; rebuild with `clang -target bpf`"
    )]
    NotBpf { machine: u16 },
    #[error("malformed ELF: {detail} (the file is truncated or its headers are inconsistent)")]
    Malformed { detail: String },
    #[error(
        "section `{section}`: its {size} bytes at file offset {offset} lie outside the file \
         (truncated?)"
    )]
    SectionOutOfFile {
        section: String,
        offset: u64,
        size: u64,
    },
    #[error(
        "the object has no symbol table: it was stripped; rebuild it without `strip`, maps and \
         programs are found through their symbols"
    )]
    NoSymbolTable,

    // ------------------------------------------------------- license, version
    #[error("section `license` is not valid UTF-8 text")]
    LicenseNotUtf8,
    #[error("section `version` is {size} bytes; it must be one 4-byte LINUX_VERSION_CODE")]
    VersionSize { size: u64 },

    // ------------------------------------------------------------------ BTF
    #[error("section `{section}`: {error}")]
    Btf {
        section: &'static str,
        error: BtfError,
    },
    #[error("BTF map `{map}`: {error}")]
    BtfMap { map: String, error: BtfError },
    #[error(
        "section `.maps` holds BTF-defined maps but the object has no `.BTF`: rebuild with \
         `clang -g`"
    )]
    BtfMapsWithoutBtf,
    #[error(
        "section `.maps` has no DATASEC in `.BTF`, so its maps cannot be read: rebuild with \
         `clang -g`"
    )]
    BtfMapsWithoutDatasec,
    #[error("BTF map `{map}` has no symbol in section `.maps`")]
    BtfMapNoSymbol { map: String },
    #[error("BTF map `{map}` does not declare `{member}`: add `__uint({member}, ...)`")]
    BtfMapMissing { map: String, member: &'static str },
    #[error(
        "BTF map `{map}`: the initialiser at key {key} names `{symbol}`, which is not {expected}"
    )]
    BtfValuesTarget {
        map: String,
        key: u32,
        symbol: String,
        expected: &'static str,
    },
    #[error(
        "BTF map `{map}`: relocation at offset {offset:#x} of `.maps` is not a slot of its \
         `values` array (max_entries {max_entries})"
    )]
    BtfValuesSlot {
        map: String,
        offset: u64,
        max_entries: u32,
    },
    #[error(
        "relocation at offset {offset:#x} of `.maps` (symbol `{symbol}`) lies before every map"
    )]
    MapsRelocOutsideMap { offset: u64, symbol: String },
    #[error(
        "`.BTF.ext` {part} record for section `{section}` at byte {insn_off} is not on an \
         instruction boundary"
    )]
    BtfExtOffset {
        part: &'static str,
        section: String,
        insn_off: u32,
    },

    // ---------------------------------------------------------- legacy maps
    #[error("section `maps` has no file bytes (SHT_NOBITS): legacy map definitions need them")]
    LegacyMapsNoBits,
    #[error(
        "section `maps` is {section_size} bytes for {count} map symbols without st_size: the \
         size must divide evenly into non-empty definitions"
    )]
    LegacyMapSize { section_size: u64, count: usize },
    #[error(
        "map `{map}`: its {size}-byte definition at offset {offset} does not fit in section \
         `maps` ({section_size} bytes)"
    )]
    MapOutsideSection {
        map: String,
        offset: u64,
        size: u64,
        section_size: u64,
    },
    #[error(
        "map `{map}`: its {size}-byte definition has a non-zero byte at offset {offset}, past \
         the 36 bytes of iproute2's `struct bpf_elf_map`, the largest layout rxdp knows; \
         loading without that field would change the map"
    )]
    MapDefinitionTrailing {
        map: String,
        size: usize,
        offset: usize,
    },
    #[error("map `{map}`: unknown pinning {value}")]
    MapPinning { map: String, value: u32 },
    #[error("maps `{first}` and `{second}` both have iproute2 id {id}; ids must be unique")]
    DuplicateMapId {
        id: u32,
        first: String,
        second: String,
    },
    #[error(
        "map `{map}` is a map-in-map without an inner map: name its template (`inner_map_idx`, \
         `inner_id` or `__array(values, struct ...)`)"
    )]
    MapInMapWithoutInner { map: String },
    #[error("map `{map}`: `inner_id` {inner_id} names no map (no map has that `id`)")]
    InnerMapIdUnknown { map: String, inner_id: u32 },
    #[error(
        "map `{map}`: `inner_map_idx` {index} is out of range (the object has {count} legacy maps)"
    )]
    InnerMapIndex {
        map: String,
        index: u32,
        count: usize,
    },
    #[error("map `{map}` names itself as its inner map")]
    InnerMapSelf { map: String },
    #[error(
        "map `{map}`: inner map `{inner}` is itself a map-in-map; the kernel accepts only one level"
    )]
    InnerMapIsMapInMap { map: String, inner: String },

    // ---------------------------------------------------------- global data
    #[error("data section `{section}` is {size} bytes, more than a map value can hold")]
    DataSectionTooLarge { section: String, size: u64 },

    // ----------------------------------------------------------------- code
    #[error("code section `{section}` is {size} bytes, not a whole number of 8-byte instructions")]
    CodeSize { section: String, size: u64 },
    #[error(
        "function `{function}` in section `{section}` (offset {offset}, size {size}) is not a \
         run of whole instructions inside the section ({section_size} bytes)"
    )]
    FunctionBounds {
        function: String,
        section: String,
        offset: u64,
        size: u64,
        section_size: u64,
    },
    #[error("functions `{first}` and `{second}` overlap in section `{section}`")]
    FunctionsOverlap {
        first: String,
        second: String,
        section: String,
    },

    // ---------------------------------------------------------- relocations
    #[error(
        "unsupported relocation type {r_type} in section `{section}` at offset {offset:#x} \
         (symbol `{symbol}`); clang -target bpf emits R_BPF_64_64 and R_BPF_64_32 for code"
    )]
    UnsupportedRelocation {
        r_type: u32,
        section: String,
        offset: u64,
        symbol: String,
    },
    #[error(
        "relocation at offset {offset:#x} of section `{section}` (symbol `{symbol}`) is not on \
         an instruction of any function"
    )]
    RelocOutsideFunction {
        section: String,
        offset: u64,
        symbol: String,
    },
    #[error("section `{section}` has two relocations at offset {offset:#x}")]
    RelocTwice { section: String, offset: u64 },
    #[error("relocation at offset {offset:#x} of section `{section}` names no symbol")]
    RelocNullSymbol { section: String, offset: u64 },
    #[error(
        "`{function}` (section `{section}`), insn {insn}: relocation against `{symbol}` is not \
         on a 16-byte ld_imm64"
    )]
    RelocNotLdImm64 {
        symbol: String,
        function: String,
        section: String,
        insn: usize,
    },
    #[error(
        "`{function}` (section `{section}`), insn {insn}: call relocation against `{symbol}` is \
         not on a BPF-to-BPF call instruction"
    )]
    RelocNotCall {
        symbol: String,
        function: String,
        section: String,
        insn: usize,
    },
    #[error(
        "`{function}` (section `{section}`), insn {insn}: `{symbol}` is an extern variable \
         (__ksym/__kconfig), which rxdp does not resolve; define it in the object instead"
    )]
    ExternVariable {
        symbol: String,
        function: String,
        section: String,
        insn: usize,
    },
    /// `detail` names the symbol, the section it is in and what is wrong.
    #[error("`{function}` (section `{section}`), insn {insn}: {detail}")]
    RelocTarget {
        function: String,
        section: String,
        insn: usize,
        detail: String,
    },
    #[error(
        "`{function}` (section `{section}`), insn {insn} calls `{symbol}`, which is defined \
         nowhere in this object and is not a kernel function declared `__ksym`; define it (a \
         `static` or `.text` function) or link the object that does"
    )]
    UndefinedFunction {
        symbol: String,
        function: String,
        section: String,
        insn: usize,
    },
    #[error(
        "`{function}` (section `{section}`), insn {insn}: call target offset {target_offset:#x} \
         in section `{target_section}` is not the start of a function"
    )]
    CallTarget {
        function: String,
        section: String,
        insn: usize,
        target_section: String,
        /// Bytes from the start of `target_section` (saturated to i64).
        target_offset: i64,
    },

    // --------------------------------------------------------- jump entries
    #[error(
        "section `{section}` implies a tail-call entry, but the object has no PROG_ARRAY map to \
         put it in"
    )]
    NoProgArray { section: String },
    #[error("section `{section}`: no map has iproute2 id {id}")]
    Iproute2MapUnknown { section: String, id: u32 },
    #[error("section `{section}`: map `{map}` with iproute2 id {id} is not a PROG_ARRAY")]
    Iproute2NotProgArray {
        section: String,
        id: u32,
        map: String,
    },
    #[error("section `{section}`: the number does not fit a 32-bit map key or id")]
    JumpNumber { section: String },
    #[error("{origin}: key {key} is beyond the {max_entries} entries of prog array `{map}`")]
    JumpKeyOutOfRange {
        origin: String,
        map: String,
        key: u32,
        max_entries: u32,
    },
}
