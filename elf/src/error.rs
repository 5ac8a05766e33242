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

/// Why an object cannot be parsed: one variant per thing that can be
/// wrong, each naming where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    // ------------------------------------------------------------ container
    /// Not an ELF file (no \x7fELF magic).
    #[error(
        "not an ELF file (no \\x7fELF magic); give an object built with `clang -target bpf -c`"
    )]
    NotElf,
    /// 32-bit ELF object.
    #[error("32-bit ELF object; BPF objects are ELF64: rebuild with `clang -target bpf`")]
    Elf32,
    /// Big-endian ELF object (built with `-target bpfeb`?).
    #[error(
        "big-endian ELF object (built with `-target bpfeb`?); the kernel here runs little-endian \
         BPF: rebuild with `-target bpf`"
    )]
    BigEndian,
    /// ELF machine `machine` is not BPF (EM_BPF is 247): this object was built for another
    /// architecture.
    #[error(
        "ELF machine {machine} is not BPF (EM_BPF is 247): this object was built for another \
         architecture; rebuild with `clang -target bpf`"
    )]
    NotBpf {
        /// The `e_machine` of the file.
        machine: u16,
    },
    /// Malformed ELF: `detail` (the file is truncated or its headers are inconsistent).
    #[error("malformed ELF: {detail} (the file is truncated or its headers are inconsistent)")]
    Malformed {
        /// What the ELF reader found wrong.
        detail: String,
    },
    /// Section `section`: its `size` bytes at file offset `offset` lie outside the file
    /// (truncated?).
    #[error(
        "section `{section}`: its {size} bytes at file offset {offset} lie outside the file \
         (truncated?)"
    )]
    SectionOutOfFile {
        /// The ELF section.
        section: String,
        /// Its offset in the file.
        offset: u64,
        /// The size in bytes.
        size: u64,
    },
    /// The object has no symbol table: it was stripped.
    #[error(
        "the object has no symbol table: it was stripped; rebuild it without `strip`, maps and \
         programs are found through their symbols"
    )]
    NoSymbolTable,

    // ------------------------------------------------------- license, version
    /// Section `license` is not valid UTF-8 text.
    #[error("section `license` is not valid UTF-8 text")]
    LicenseNotUtf8,
    /// Section `version` is `size` bytes.
    #[error("section `version` is {size} bytes; it must be one 4-byte LINUX_VERSION_CODE")]
    VersionSize {
        /// The section's size.
        size: u64,
    },

    // ------------------------------------------------------------------ BTF
    /// Section `section`: `error`.
    #[error("section `{section}`: {error}")]
    Btf {
        /// The ELF section.
        section: &'static str,
        /// What is wrong with the BTF.
        error: BtfError,
    },
    /// BTF map `map`: `error`.
    #[error("BTF map `{map}`: {error}")]
    BtfMap {
        /// The map, by name.
        map: String,
        /// What is wrong with its definition.
        error: BtfError,
    },
    /// Section `.maps` holds BTF-defined maps but the object has no `.BTF`: rebuild with `clang
    /// -g`.
    #[error(
        "section `.maps` holds BTF-defined maps but the object has no `.BTF`: rebuild with \
         `clang -g`"
    )]
    BtfMapsWithoutBtf,
    /// Section `.maps` has no DATASEC in `.BTF`, so its maps cannot be read: rebuild with
    /// `clang -g`.
    #[error(
        "section `.maps` has no DATASEC in `.BTF`, so its maps cannot be read: rebuild with \
         `clang -g`"
    )]
    BtfMapsWithoutDatasec,
    /// BTF map `map` has no symbol in section `.maps`.
    #[error("BTF map `{map}` has no symbol in section `.maps`")]
    BtfMapNoSymbol {
        /// The map, by name.
        map: String,
    },
    /// BTF map `map` does not declare `member`: add `__uint(member, ...)`.
    #[error("BTF map `{map}` does not declare `{member}`: add `__uint({member}, ...)`")]
    BtfMapMissing {
        /// The map, by name.
        map: String,
        /// The member of the map definition.
        member: &'static str,
    },
    /// BTF map `map`: the initialiser at key `key` names `symbol`, which is not `expected`.
    #[error(
        "BTF map `{map}`: the initialiser at key {key} names `{symbol}`, which is not {expected}"
    )]
    BtfValuesTarget {
        /// The map, by name.
        map: String,
        /// The slot of `values`.
        key: u32,
        /// The symbol the relocation names.
        symbol: String,
        /// What the symbol should be.
        expected: &'static str,
    },
    /// BTF map `map`: relocation at offset `offset` of `.maps` is not a slot of its `values`
    /// array (max_entries `max_entries`).
    #[error(
        "BTF map `{map}`: relocation at offset {offset:#x} of `.maps` is not a slot of its \
         `values` array (max_entries {max_entries})"
    )]
    BtfValuesSlot {
        /// The map, by name.
        map: String,
        /// The relocation's offset in `.maps`.
        offset: u64,
        /// The map's `max_entries`.
        max_entries: u32,
    },
    /// Relocation at offset `offset` of `.maps` (symbol `symbol`) lies before every map.
    #[error(
        "relocation at offset {offset:#x} of `.maps` (symbol `{symbol}`) lies before every map"
    )]
    MapsRelocOutsideMap {
        /// The relocation's offset in `.maps`.
        offset: u64,
        /// The symbol the relocation names.
        symbol: String,
    },
    /// Section `section` holds struct_ops variables, but the object's `.BTF`
    /// does not describe them.
    #[error(
        "section `{section}` holds struct_ops variables, but the object has no `.BTF` DATASEC \
         for it: rebuild with `clang -g`"
    )]
    StructOpsWithoutBtf {
        /// `.struct_ops` or `.struct_ops.link`.
        section: String,
    },
    /// Variable `var` of section `section` is a `kind`, not a struct.
    #[error("struct_ops variable `{var}` of section `{section}` is a {kind}, not a struct")]
    StructOpsNotStruct {
        /// `.struct_ops` or `.struct_ops.link`.
        section: String,
        /// The variable.
        var: String,
        /// Its BTF kind.
        kind: &'static str,
    },
    /// Variable `var` of section `section` lies outside the section.
    #[error(
        "struct_ops variable `{var}` ({size} bytes at offset {offset}) lies outside section \
         `{section}`"
    )]
    StructOpsOutside {
        /// `.struct_ops` or `.struct_ops.link`.
        section: String,
        /// The variable.
        var: String,
        /// Its offset.
        offset: u64,
        /// Its size.
        size: u64,
    },
    /// A relocation of a struct_ops section that does not put a program at
    /// a function pointer.
    #[error("relocation at offset {offset:#x} of `{section}` (symbol `{symbol}`): {problem}")]
    StructOpsReloc {
        /// `.struct_ops` or `.struct_ops.link`.
        section: String,
        /// The relocation's offset in the section.
        offset: u64,
        /// The symbol it names.
        symbol: String,
        /// What is wrong.
        problem: String,
    },
    /// Program `program` is used by two struct_ops variables at different
    /// members or of different structs.
    #[error(
        "struct_ops program `{program}` is used as {first} and as {second}; a program can \
         serve one member of one struct: give each its own function"
    )]
    StructOpsProgramShared {
        /// The program, by name.
        program: String,
        /// Its first use (`dctcp.init`, struct `tcp_congestion_ops`).
        first: String,
        /// Its second use.
        second: String,
    },
    /// A struct_ops variable points at program `program`, which is not in a
    /// `struct_ops/` section.
    #[error(
        "struct_ops variable `{map}` points at `{program}` (section `{section}`), which is not a \
         struct_ops program: put it in SEC(\"struct_ops/...\")"
    )]
    StructOpsNotStructOpsProgram {
        /// The variable.
        map: String,
        /// The program, by name.
        program: String,
        /// Its section.
        section: String,
    },
    /// `.BTF.ext` `part` record for section `section` at byte `insn_off` is not on an
    /// instruction boundary.
    #[error(
        "`.BTF.ext` {part} record for section `{section}` at byte {insn_off} is not on an \
         instruction boundary"
    )]
    BtfExtOffset {
        /// Which records: `func_info`, `line_info` or `core_relo`.
        part: &'static str,
        /// The ELF section.
        section: String,
        /// The record's byte offset in the section.
        insn_off: u32,
    },

    // ---------------------------------------------------------- legacy maps
    /// Section `maps` has no file bytes (SHT_NOBITS): legacy map definitions need them.
    #[error("section `maps` has no file bytes (SHT_NOBITS): legacy map definitions need them")]
    LegacyMapsNoBits,
    /// Section `maps` is `section_size` bytes for `count` map symbols without st_size: the size
    /// must divide evenly into non-empty definitions.
    #[error(
        "section `maps` is {section_size} bytes for {count} map symbols without st_size: the \
         size must divide evenly into non-empty definitions"
    )]
    LegacyMapSize {
        /// The section's size in bytes.
        section_size: u64,
        /// How many map symbols the section has.
        count: usize,
    },
    /// Map `map`: its `size`-byte definition at offset `offset` does not fit in section `maps`
    /// (`section_size` bytes).
    #[error(
        "map `{map}`: its {size}-byte definition at offset {offset} does not fit in section \
         `maps` ({section_size} bytes)"
    )]
    MapOutsideSection {
        /// The map, by name.
        map: String,
        /// The definition's offset in `maps`.
        offset: u64,
        /// The definition's size.
        size: u64,
        /// The section's size in bytes.
        section_size: u64,
    },
    /// Map `map`: its `size`-byte definition has a non-zero byte at offset `offset`, past the
    /// 36 bytes of iproute2's `struct bpf_elf_map`, the largest layout rxdp knows.
    #[error(
        "map `{map}`: its {size}-byte definition has a non-zero byte at offset {offset}, past \
         the 36 bytes of iproute2's `struct bpf_elf_map`, the largest layout rxdp knows; \
         loading without that field would change the map"
    )]
    MapDefinitionTrailing {
        /// The map, by name.
        map: String,
        /// The definition's size.
        size: usize,
        /// The first non-zero byte past what rxdp knows.
        offset: usize,
    },
    /// Map `map`: unknown pinning `value`.
    #[error("map `{map}`: unknown pinning {value}")]
    MapPinning {
        /// The map, by name.
        map: String,
        /// The pinning value the definition holds.
        value: u32,
    },
    /// Maps `first` and `second` both have iproute2 id `id`.
    #[error("maps `{first}` and `{second}` both have iproute2 id {id}; ids must be unique")]
    DuplicateMapId {
        /// The iproute2 `id`.
        id: u32,
        /// The first map with the id.
        first: String,
        /// The second map with the id.
        second: String,
    },
    /// Map `map` is a map-in-map without an inner map: name its template (`inner_map_idx`,
    /// `inner_id` or `__array(values, struct ...)`).
    #[error(
        "map `{map}` is a map-in-map without an inner map: name its template (`inner_map_idx`, \
         `inner_id` or `__array(values, struct ...)`)"
    )]
    MapInMapWithoutInner {
        /// The map, by name.
        map: String,
    },
    /// Map `map`: `inner_id` `inner_id` names no map (no map has that `id`).
    #[error("map `{map}`: `inner_id` {inner_id} names no map (no map has that `id`)")]
    InnerMapIdUnknown {
        /// The map, by name.
        map: String,
        /// The `inner_id` the definition holds.
        inner_id: u32,
    },
    /// Map `map`: `inner_map_idx` `index` is out of range (the object has `count` legacy maps).
    #[error(
        "map `{map}`: `inner_map_idx` {index} is out of range (the object has {count} legacy maps)"
    )]
    InnerMapIndex {
        /// The map, by name.
        map: String,
        /// The `inner_map_idx` the definition holds.
        index: u32,
        /// How many legacy maps the object has.
        count: usize,
    },
    /// Map `map` names itself as its inner map.
    #[error("map `{map}` names itself as its inner map")]
    InnerMapSelf {
        /// The map, by name.
        map: String,
    },
    /// Map `map`: inner map `inner` is itself a map-in-map.
    #[error(
        "map `{map}`: inner map `{inner}` is itself a map-in-map; the kernel accepts only one level"
    )]
    InnerMapIsMapInMap {
        /// The map, by name.
        map: String,
        /// The inner map, by name.
        inner: String,
    },

    // ---------------------------------------------------------- global data
    /// Data section `section` is `size` bytes, more than a map value can hold.
    #[error("data section `{section}` is {size} bytes, more than a map value can hold")]
    DataSectionTooLarge {
        /// The ELF section.
        section: String,
        /// The section's size.
        size: u64,
    },

    // ----------------------------------------------------------------- code
    /// Code section `section` is `size` bytes, not a whole number of 8-byte instructions.
    #[error("code section `{section}` is {size} bytes, not a whole number of 8-byte instructions")]
    CodeSize {
        /// The ELF section.
        section: String,
        /// The section's size.
        size: u64,
    },
    /// Function `function` in section `section` (offset `offset`, size `size`) is not a run of
    /// whole instructions inside the section (`section_size` bytes).
    #[error(
        "function `{function}` in section `{section}` (offset {offset}, size {size}) is not a \
         run of whole instructions inside the section ({section_size} bytes)"
    )]
    FunctionBounds {
        /// The function holding the instruction.
        function: String,
        /// The ELF section.
        section: String,
        /// The function's offset in the section.
        offset: u64,
        /// The function's size, from its symbol.
        size: u64,
        /// The section's size in bytes.
        section_size: u64,
    },
    /// Functions `first` and `second` overlap in section `section`.
    #[error("functions `{first}` and `{second}` overlap in section `{section}`")]
    FunctionsOverlap {
        /// The first function.
        first: String,
        /// The function overlapping it.
        second: String,
        /// The ELF section.
        section: String,
    },

    // ---------------------------------------------------------- relocations
    /// Unsupported relocation type `r_type` in section `section` at offset `offset` (symbol
    /// `symbol`).
    #[error(
        "unsupported relocation type {r_type} in section `{section}` at offset {offset:#x} \
         (symbol `{symbol}`); clang -target bpf emits R_BPF_64_64 and R_BPF_64_32 for code"
    )]
    UnsupportedRelocation {
        /// The ELF relocation type.
        r_type: u32,
        /// The ELF section.
        section: String,
        /// The relocation's offset in the section.
        offset: u64,
        /// The symbol the relocation names.
        symbol: String,
    },
    /// Relocation at offset `offset` of section `section` (symbol `symbol`) is not on an
    /// instruction of any function.
    #[error(
        "relocation at offset {offset:#x} of section `{section}` (symbol `{symbol}`) is not on \
         an instruction of any function"
    )]
    RelocOutsideFunction {
        /// The ELF section.
        section: String,
        /// The relocation's offset in the section.
        offset: u64,
        /// The symbol the relocation names.
        symbol: String,
    },
    /// Section `section` has two relocations at offset `offset`.
    #[error("section `{section}` has two relocations at offset {offset:#x}")]
    RelocTwice {
        /// The ELF section.
        section: String,
        /// The offset both relocations are at.
        offset: u64,
    },
    /// Relocation at offset `offset` of section `section` names no symbol.
    #[error("relocation at offset {offset:#x} of section `{section}` names no symbol")]
    RelocNullSymbol {
        /// The ELF section.
        section: String,
        /// The relocation's offset in the section.
        offset: u64,
    },
    /// `function` (section `section`), insn `insn`: relocation against `symbol` is not on a
    /// 16-byte ld_imm64.
    #[error(
        "`{function}` (section `{section}`), insn {insn}: relocation against `{symbol}` is not \
         on a 16-byte ld_imm64"
    )]
    RelocNotLdImm64 {
        /// The symbol the relocation names.
        symbol: String,
        /// The function holding the instruction.
        function: String,
        /// The ELF section.
        section: String,
        /// The instruction, counted from the start of `function`.
        insn: usize,
    },
    /// `function` (section `section`), insn `insn`: call relocation against `symbol` is not on
    /// a BPF-to-BPF call instruction.
    #[error(
        "`{function}` (section `{section}`), insn {insn}: call relocation against `{symbol}` is \
         not on a BPF-to-BPF call instruction"
    )]
    RelocNotCall {
        /// The symbol the relocation names.
        symbol: String,
        /// The function holding the instruction.
        function: String,
        /// The ELF section.
        section: String,
        /// The instruction, counted from the start of `function`.
        insn: usize,
    },
    /// `function` (section `section`), insn `insn`: `symbol` is an extern variable
    /// that no `.kconfig` or `.ksyms` DATASEC of the object's BTF declares.
    #[error(
        "`{function}` (section `{section}`), insn {insn}: `{symbol}` is an extern variable \
         that the object's BTF declares neither `__kconfig` nor `__ksym`, so nothing can \
         resolve it; declare it one of those (built with `clang -g`), or define it in the \
         object"
    )]
    ExternVariable {
        /// The symbol the relocation names.
        symbol: String,
        /// The function holding the instruction.
        function: String,
        /// The ELF section.
        section: String,
        /// The instruction, counted from the start of `function`.
        insn: usize,
    },
    /// A `__kconfig` extern declared as a function.
    #[error(
        "`{name}` is an extern function declared `__kconfig`; only variables can be \
         kernel configuration values"
    )]
    KconfigFunction {
        /// The extern.
        name: String,
    },
    /// A `__kconfig` extern of a type no configuration value fits.
    #[error(
        "`__kconfig` extern `{name}` has a type no kernel configuration value fits; declare \
         it bool, char, an integer of 1, 2, 4 or 8 bytes, `enum libbpf_tristate` or a char \
         array"
    )]
    KconfigType {
        /// The extern.
        name: String,
    },
    /// `detail` names the symbol, the section it is in and what is wrong.
    #[error("`{function}` (section `{section}`), insn {insn}: {detail}")]
    RelocTarget {
        /// The function holding the instruction.
        function: String,
        /// The ELF section.
        section: String,
        /// The instruction, counted from the start of `function`.
        insn: usize,
        /// What the ELF reader found wrong.
        detail: String,
    },
    /// `function` (section `section`), insn `insn` calls `symbol`, which is defined nowhere in
    /// this object and is not a kernel function declared `__ksym`.
    #[error(
        "`{function}` (section `{section}`), insn {insn} calls `{symbol}`, which is defined \
         nowhere in this object and is not a kernel function declared `__ksym`; define it (a \
         `static` or `.text` function) or link the object that does"
    )]
    UndefinedFunction {
        /// The symbol the relocation names.
        symbol: String,
        /// The function holding the instruction.
        function: String,
        /// The ELF section.
        section: String,
        /// The instruction, counted from the start of `function`.
        insn: usize,
    },
    /// `function` (section `section`), insn `insn`: call target offset `target_offset` in
    /// section `target_section` is not the start of a function.
    #[error(
        "`{function}` (section `{section}`), insn {insn}: call target offset {target_offset:#x} \
         in section `{target_section}` is not the start of a function"
    )]
    CallTarget {
        /// The function holding the instruction.
        function: String,
        /// The ELF section.
        section: String,
        /// The instruction, counted from the start of `function`.
        insn: usize,
        /// The section the call lands in.
        target_section: String,
        /// Bytes from the start of `target_section` (saturated to i64).
        target_offset: i64,
    },

    // --------------------------------------------------------- jump entries
    /// Section `section` implies a tail-call entry, but the object has no PROG_ARRAY map to put
    /// it in.
    #[error(
        "section `{section}` implies a tail-call entry, but the object has no PROG_ARRAY map to \
         put it in"
    )]
    NoProgArray {
        /// The ELF section.
        section: String,
    },
    /// Section `section`: no map has iproute2 id `id`.
    #[error("section `{section}`: no map has iproute2 id {id}")]
    Iproute2MapUnknown {
        /// The ELF section.
        section: String,
        /// The id the section name gives.
        id: u32,
    },
    /// Section `section`: map `map` with iproute2 id `id` is not a PROG_ARRAY.
    #[error("section `{section}`: map `{map}` with iproute2 id {id} is not a PROG_ARRAY")]
    Iproute2NotProgArray {
        /// The ELF section.
        section: String,
        /// The id the section name gives.
        id: u32,
        /// The map with that id.
        map: String,
    },
    /// Section `section`: the number does not fit a 32-bit map key or id.
    #[error("section `{section}`: the number does not fit a 32-bit map key or id")]
    JumpNumber {
        /// The ELF section.
        section: String,
    },
    /// `origin`: key `key` is beyond the `max_entries` entries of prog array `map`.
    #[error("{origin}: key {key} is beyond the {max_entries} entries of prog array `{map}`")]
    JumpKeyOutOfRange {
        /// What implies the entry (a section name, a map initialiser).
        origin: String,
        /// The prog array, by name.
        map: String,
        /// The key in the map.
        key: u32,
        /// The map's `max_entries`.
        max_entries: u32,
    },
}
