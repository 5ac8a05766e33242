//! The ordered model of a BPF object: what `Object::parse` produces.
//!
//! Everything a user sees or indexes is a `Vec` in a defined order:
//! `maps` is `map_fd[]` and `programs` is `prog_fd[]`, exactly as the classic
//! samples/bpf `load_bpf_file()` numbered them. Nothing here refers to the
//! kernel: file descriptors are the loader's business.

use crate::btf::{Btf, KCONFIG_SECTION};
use crate::externs::{Extern, ExternKind};
use crate::insn::Insn;
use crate::kinds::{MapType, ProgramType};
use crate::section_types::KernelTypeKind;

/// A parsed BPF object file.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Contents of the `license` section without its NUL (empty when absent).
    pub license: String,
    /// Contents of the `version` section (`LINUX_VERSION_CODE` of old kprobe
    /// objects), 0 when absent.
    pub kernel_version: u32,
    /// Maps in `map_fd[]` order: legacy `maps` symbols sorted by offset, then
    /// BTF `.maps` in declaration order, then the global-data sections that
    /// some instruction references, in section order (clang leaves
    /// unreferenced ones behind, such as the `.rodata.str1.1` of
    /// `bpf_debug()` stack strings; like bpf_load.c, rxdp makes no map of them),
    /// then `.kconfig` when the object has `__kconfig` externs (a read-only
    /// one-element array the loader fills from the kernel's configuration).
    pub maps: Vec<Map>,
    /// Programs in `prog_fd[]` order: section index, then offset in the section.
    pub programs: Vec<Program>,
    /// Functions that programs call (`BPF_PSEUDO_CALL`) or take the address of
    /// (`BPF_PSEUDO_FUNC`): every function in `.text` in offset order, plus
    /// any other function that is the target of a call or address, appended
    /// in the order of first reference (programs in order, then subprograms).
    /// Referenced by index from [`RelocTarget`].
    pub subprograms: Vec<Function>,
    /// Jump-table entries the object itself implies (`socket/N`, `prog/N`,
    /// iproute2 `ID/KEY`, BTF `__array(values, ...)` initialisers), sorted
    /// by program, then map, then key. A numbered section holding several
    /// programs contributes its first one only.
    pub jump_entries: Vec<JumpEntry>,
    /// The object's `.BTF`, with DATASEC sizes and variable offsets already
    /// filled in from the ELF symbols, ready for `BPF_BTF_LOAD`.
    pub btf: Option<Btf>,
    /// What the object declares `__kconfig` or `__ksym` and leaves to the
    /// loader, in libbpf's order: kconfig values by name, then kernel
    /// symbols by name. Referenced by index from [`RelocTarget::Extern`];
    /// kfunc calls ([`RelocTarget::Kfunc`]) name theirs.
    pub externs: Vec<Extern>,
}

impl Object {
    /// An object made by hand rather than parsed (tests, generated code):
    /// these maps and programs, license `GPL`, nothing else.
    pub fn new(maps: Vec<Map>, programs: Vec<Program>) -> Object {
        Object {
            license: "GPL".to_string(),
            kernel_version: 0,
            maps,
            programs,
            subprograms: Vec::new(),
            jump_entries: Vec::new(),
            btf: None,
            externs: Vec::new(),
        }
    }

    /// The `.kconfig` map's index in `maps`, when the object has
    /// `__kconfig` externs.
    pub fn kconfig_map(&self) -> Option<usize> {
        self.maps
            .iter()
            .position(|m| m.dialect == Dialect::GlobalData && m.section == KCONFIG_SECTION)
    }

    /// The extern a kfunc call names (`RelocTarget::Kfunc`).
    pub fn kfunc(&self, name: &str) -> Option<&Extern> {
        self.externs
            .iter()
            .find(|e| e.name == name && matches!(e.kind, ExternKind::Kfunc { .. }))
    }
}

/// A map the object defines.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// Symbol name (`jmp_table1`), or the section name for global data
    /// (`.rodata`, `.rodata.str1.1`).
    pub name: String,
    /// The ELF section that defined it (`maps`, `.maps`, `.data`, ...).
    pub section: String,
    /// Which definition format it came from.
    pub dialect: Dialect,
    /// `type`, `key_size`, `value_size`, `max_entries`, flags.
    pub def: MapDef,
    /// The inner map of an `ARRAY_OF_MAPS`/`HASH_OF_MAPS`.
    pub inner: Option<InnerMap>,
    /// How it is shared through bpffs.
    pub pinning: Pinning,
    /// The `id` field of an iproute2 `bpf_elf_map`; names the map for `ID/KEY`
    /// tail-call sections and `inner_id` references.
    pub iproute2_id: Option<u32>,
    /// Initial contents of a global-data map: the section bytes (`.data`,
    /// `.rodata`). `None` for `.bss` and for every other map (zero-filled by the
    /// kernel).
    pub data: Option<Vec<u8>>,
    /// Entries to store right after creation that hold other maps (map-in-map
    /// initialisers, iproute2 `inner_idx`). Program entries are `jump_entries`.
    pub init_maps: Vec<MapSlot>,
    /// BTF type ids of key and value (`BPF_MAP_CREATE` `btf_key_type_id` /
    /// `btf_value_type_id`), 0 when the object has no BTF for them.
    pub btf_key_type_id: u32,
    /// See `btf_key_type_id`.
    pub btf_value_type_id: u32,
    /// For a `.struct_ops` variable: the kernel struct it fills and the
    /// programs at its function pointers.
    pub struct_ops: Option<StructOps>,
}

impl Map {
    /// A map made by hand: `def` as a 20-byte legacy definition in section
    /// `maps`, no pinning, no BTF, no initial contents.
    pub fn new(name: impl Into<String>, def: MapDef) -> Map {
        Map {
            name: name.into(),
            section: "maps".to_string(),
            dialect: Dialect::Legacy20,
            def,
            inner: None,
            pinning: Pinning::None,
            iproute2_id: None,
            data: None,
            init_maps: Vec::new(),
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            struct_ops: None,
        }
    }
}

/// A variable of `.struct_ops` or `.struct_ops.link`: an instance of a
/// kernel struct of function pointers (`struct tcp_congestion_ops`), which
/// becomes a `BPF_MAP_TYPE_STRUCT_OPS` map whose value is that struct laid
/// out as the kernel's, programs' fds at the pointers. The map's `data`
/// holds the variable's bytes as the object lays the struct out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructOps {
    /// The struct's name (`tcp_congestion_ops`): the kernel struct of that
    /// name, and the value type `bpf_struct_ops_<name>`, are the target.
    pub type_name: String,
    /// The struct's type id in the object's BTF.
    pub type_id: u32,
    /// From `.struct_ops.link`: created with `BPF_F_LINK`, registered by a
    /// link rather than by the map update.
    pub link: bool,
    /// The programs at its function-pointer members: member name and index
    /// into `Object::programs`, in member offset order.
    pub programs: Vec<(String, usize)>,
}

/// The numbers `BPF_MAP_CREATE` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapDef {
    /// `enum bpf_map_type`.
    pub map_type: MapType,
    /// Bytes of a key.
    pub key_size: u32,
    /// Bytes of a value.
    pub value_size: u32,
    /// How many entries it holds.
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_NO_PREALLOC`, `BPF_F_NUMA_NODE`, `BPF_F_RDONLY_PROG`, ...).
    pub flags: u32,
    /// `numa_node`, meaningful only with `BPF_F_NUMA_NODE`.
    pub numa_node: u32,
    /// `map_extra` (bloom filter hash count, arena address).
    pub map_extra: u64,
}

impl MapDef {
    /// The four numbers every map has; no flags.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> MapDef {
        MapDef {
            map_type,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            numa_node: 0,
            map_extra: 0,
        }
    }
}

/// Where a map definition came from. Offsets 20 and 24 of a legacy definition
/// mean different things in the 28- and 36-byte dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// libbpf's old `struct bpf_map_def`: type, key_size, value_size,
    /// max_entries, map_flags (20 bytes or fewer, zero-padded).
    Legacy20,
    /// samples/bpf `struct bpf_load_map_def`: + inner_map_idx, numa_node.
    Legacy28,
    /// iproute2 `struct bpf_elf_map`: type, size_key, size_value, max_elem,
    /// flags, id, pinning, inner_id, inner_idx.
    Iproute2,
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A global-data section turned into a one-element `ARRAY`.
    GlobalData,
    /// A variable of `.struct_ops` or `.struct_ops.link`.
    StructOps,
}

impl Dialect {
    /// The name `rxdp inspect --json` prints.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Legacy20 => "legacy20",
            Dialect::Legacy28 => "legacy28",
            Dialect::Iproute2 => "iproute2",
            Dialect::Btf => "btf",
            Dialect::GlobalData => "global_data",
            Dialect::StructOps => "struct_ops",
        }
    }
}

/// The inner map of a map-in-map.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InnerMap {
    /// Another map of this object is the template (`inner_map_idx`,
    /// iproute2 `inner_id`); the loader creates it before the outer map,
    /// whatever their indexes.
    Index(usize),
    /// A definition given inline (BTF `__array(values, struct { ... })`); the
    /// loader creates a template map from it, with the BTF of its key and
    /// value (a value holding a `bpf_spin_lock`, a timer or a kptr must be
    /// described the same way in the template as in the maps stored).
    Def {
        /// The numbers `BPF_MAP_CREATE` needs.
        def: MapDef,
        /// The key's type in the object's BTF, 0 when not declared.
        btf_key_type_id: u32,
        /// The value's type in the object's BTF, 0 when not declared.
        btf_value_type_id: u32,
    },
}

/// How a map is shared through bpffs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pinning {
    /// Not shared: the load's own map.
    None,
    /// iproute2 `PIN_OBJECT_NS` (1): shared by loads of the same object.
    ObjectNs,
    /// iproute2 `PIN_GLOBAL_NS` (2): shared by every object that names it.
    GlobalNs,
    /// BTF `__uint(pinning, LIBBPF_PIN_BY_NAME)`.
    ByName,
}

impl Pinning {
    /// The name `rxdp inspect --json` prints.
    pub fn name(self) -> &'static str {
        match self {
            Pinning::None => "none",
            Pinning::ObjectNs => "object_ns",
            Pinning::GlobalNs => "global_ns",
            Pinning::ByName => "by_name",
        }
    }
}

/// One initial entry of a map-in-map: `value` goes to `key` of the outer map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSlot {
    /// The key in the outer map.
    pub key: u32,
    /// Index into `Object::maps`.
    pub map: usize,
}

/// A program: one `prog_fd[]` slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The ELF section (`xdp0`, `prog/0`, `xdp_entry`, `1/7`).
    pub section: String,
    /// The program's type as the section name says, `None` when the name says
    /// nothing (`prog/0`, `1/7`) and the caller decides (`--type`).
    pub prog_type: Option<ProgramType>,
    /// `expected_attach_type` implied by the section name (e.g.
    /// `BPF_XDP_DEVMAP` for `xdp/devmap`), 0 otherwise.
    pub expected_attach_type: u32,
    /// `prog_flags` implied by the section name (`BPF_F_XDP_HAS_FRAGS` for
    /// `xdp.frags`, `BPF_F_SLEEPABLE` for `.s` sections).
    pub prog_flags: u32,
    /// False for `SEC("?name")` (libbpf's autoload off): not loaded unless
    /// asked for.
    pub autoload: bool,
    /// What the program attaches to, as far as the object says.
    pub attach_target: AttachTarget,
    /// The program's own code. Its `name` is the function symbol, or the
    /// section name when the section has no function symbol (old objects).
    pub function: Function,
}

impl Program {
    /// A program made by hand: `function` as the whole of section
    /// `section`, of type `prog_type`, no attach type or flags.
    pub fn new(
        section: impl Into<String>,
        prog_type: Option<ProgramType>,
        function: Function,
    ) -> Program {
        Program {
            section: section.into(),
            prog_type,
            expected_attach_type: 0,
            prog_flags: 0,
            autoload: true,
            attach_target: AttachTarget::None,
            function,
        }
    }

    /// The program's name: its function's.
    pub fn name(&self) -> &str {
        &self.function.name
    }
}

/// What `BPF_PROG_LOAD` needs to know of a program's attach point besides
/// its type (`attach_btf_id`, `attach_btf_obj_fd`, `attach_prog_fd`), as
/// far as the object says: the section name, or the `.struct_ops` map that
/// points at the program. The loader finds the ids.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachTarget {
    /// Nothing: the type is enough.
    None,
    /// A type of the kernel's BTF (vmlinux or a module's): `kind` `name`,
    /// prefix applied (`bpf_lsm_file_open`, `btf_trace_netif_receive_skb`).
    Kernel {
        /// FUNC or TYPEDEF.
        kind: KernelTypeKind,
        /// The type's name.
        name: String,
    },
    /// `freplace/NAME`: FUNC `func` of the BTF of a program given at load.
    Program {
        /// The function to replace.
        func: String,
    },
    /// A function pointer of a `.struct_ops` variable: member `member` of
    /// `Object::maps[map]`'s struct.
    StructOps {
        /// Index into `Object::maps` (the first map that points at it).
        map: usize,
        /// The member's name.
        member: String,
    },
    /// The section says the program needs a target but names none
    /// (`SEC("fentry")`), or no `.struct_ops` variable points at a
    /// struct_ops program.
    Missing,
}

/// A run of instructions with its relocations: a program's body or a subprogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// The function's symbol (the section name when it has none).
    pub name: String,
    /// ELF section index and name.
    pub section_index: usize,
    /// See `section_index`.
    pub section: String,
    /// Byte offset of the first instruction within the section.
    pub offset: u64,
    /// Its instructions, as in the file (relocations not applied).
    pub insns: Vec<Insn>,
    /// Sorted by `insn`; indexes are relative to this function.
    pub relocs: Vec<Reloc>,
    /// `.BTF.ext` func_info type id of this function (a `BTF_KIND_FUNC`), 0
    /// when absent.
    pub btf_func_type_id: u32,
    /// `.BTF.ext` line_info, `insn_off` counted in instructions from this
    /// function's start.
    pub line_info: Vec<crate::btf::LineInfo>,
    /// `.BTF.ext` CO-RE relocation records, `insn_off` counted in
    /// instructions from this function's start.
    pub core_relocs: Vec<crate::btf::CoreReloc>,
}

impl Function {
    /// A function made by hand: `insns` at the start of section `section`
    /// (index 0), without relocations or BTF records.
    pub fn new(name: impl Into<String>, section: impl Into<String>, insns: Vec<Insn>) -> Function {
        Function {
            name: name.into(),
            section_index: 0,
            section: section.into(),
            offset: 0,
            insns,
            relocs: Vec::new(),
            btf_func_type_id: 0,
            line_info: Vec::new(),
            core_relocs: Vec::new(),
        }
    }
}

/// A relocation inside a function, resolved to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloc {
    /// Instruction index within the function.
    pub insn: usize,
    /// The symbol the ELF relocation named (for messages and disassembly);
    /// for a call within one section, which needs no ELF relocation, the
    /// name of the function called.
    pub symbol: String,
    /// What it refers to.
    pub target: RelocTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
/// What a relocation of code refers to.
pub enum RelocTarget {
    /// `ld_imm64` of a map: becomes `src_reg = BPF_PSEUDO_MAP_FD`, `imm = fd`.
    Map(usize),
    /// `ld_imm64` of a global variable: becomes `src_reg = BPF_PSEUDO_MAP_VALUE`,
    /// `imm = fd`, next `imm = offset`.
    MapValue {
        /// Index into `Object::maps`.
        map: usize,
        /// The variable's offset in the map's value.
        offset: u32,
    },
    /// `call` with `src_reg = BPF_PSEUDO_CALL`: index into `Object::subprograms`.
    Call(usize),
    /// `ld_imm64` of a function address (callbacks): `src_reg = BPF_PSEUDO_FUNC`.
    FuncAddr(usize),
    /// `call` of an extern declared `__ksym` (an extern `BTF_KIND_FUNC` in
    /// the `.ksyms` DATASEC): a kernel function, resolved against the
    /// kernel's BTF at load (`BPF_PSEUDO_KFUNC_CALL`). The name is the
    /// symbol's; [`Object::kfunc`] gives its extern.
    Kfunc(String),
    /// `ld_imm64` of an extern ([`Object::externs`] index): a `__kconfig`
    /// value (`BPF_PSEUDO_MAP_VALUE` of the `.kconfig` map), a typed
    /// `__ksym` variable or a kfunc's address (`BPF_PSEUDO_BTF_ID`), or an
    /// untyped one (its address as a 64-bit immediate).
    Extern(usize),
}

/// One jump-table entry: `prog_fd[program]` goes to `key` of `map_fd[map]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JumpEntry {
    /// Index into `Object::maps` (a `PROG_ARRAY`).
    pub map: usize,
    /// The key in it.
    pub key: u32,
    /// Index into `Object::programs`.
    pub program: usize,
    /// Why the object implies it.
    pub origin: JumpOrigin,
}

/// Why the object implies a jump entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JumpOrigin {
    /// samples/bpf `socket/N`, `kprobe/N`, `kretprobe/N`, `sockops/N`: key N
    /// of the last prog array in the object.
    SectionNumber,
    /// The xdp-tutorial's `prog/N`: key N of the last prog array.
    ProgN,
    /// iproute2 `ID/KEY`: key KEY of the prog array whose `id` is ID.
    Iproute2,
    /// BTF `__array(values, ...)` initialiser of a prog array.
    BtfValues,
    /// Given on the command line (`--map M --key K --prog P`); never produced
    /// by the parser.
    Explicit,
}

impl JumpOrigin {
    /// The name `rxdp inspect --json` prints.
    pub fn name(self) -> &'static str {
        match self {
            JumpOrigin::SectionNumber => "section_number",
            JumpOrigin::ProgN => "prog_n",
            JumpOrigin::Iproute2 => "iproute2",
            JumpOrigin::BtfValues => "btf_values",
            JumpOrigin::Explicit => "explicit",
        }
    }
}
