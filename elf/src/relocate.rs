//! Stage 4: turn a program of the object into the instructions the kernel
//! takes. Pure: no syscalls, the map fds and kfunc ids come in as numbers.
//!
//! Three things happen, as in `load_bpf_file()` plus what libbpf added:
//!
//! - **Subprograms are appended.** A `call` with `src_reg =
//!   BPF_PSEUDO_CALL` targets another BPF function (in `.text`, or a static
//!   function beside the caller). The kernel wants caller and callees in one
//!   instruction array, so every function the program reaches is copied
//!   once after its body, in the order it is first reached, and the call's
//!   `imm` becomes the distance from the instruction after the call to the
//!   callee's first instruction. Calls between functions of one section
//!   may have no relocation at all (clang resolved them): their `imm` is
//!   already that distance within the section, and is recomputed the same
//!   way once the callee has been placed.
//! - **`ld_imm64`s are patched.** A map becomes `src_reg =
//!   BPF_PSEUDO_MAP_FD, imm = fd`; a global variable `src_reg =
//!   BPF_PSEUDO_MAP_VALUE, imm = fd`, with the offset into the map's value
//!   in the second half's `imm`; a function address `BPF_PSEUDO_FUNC` with
//!   a relative `imm`, like a call.
//! - **kfunc calls** get `src_reg = BPF_PSEUDO_KFUNC_CALL`, the kernel
//!   BTF id of the function as `imm` and, for a module's kfunc, the index
//!   of the module's BTF fd in the `fd_array` as `off`. A weak kfunc the
//!   kernel does not have becomes a call to the non-existent helper
//!   `2002000000 + extern index`, which the verifier accepts as long as
//!   it is unreachable (libbpf's `poison_kfunc_call`).
//! - **externs** (`ld_imm64`): a `__kconfig` value becomes
//!   `BPF_PSEUDO_MAP_VALUE` of the `.kconfig` map at its offset; a typed
//!   `__ksym` variable, or a kfunc's address, `BPF_PSEUDO_BTF_ID` with its
//!   kernel BTF id (and the module's BTF fd in the second half); an
//!   untyped one its address; a weak one the kernel lacks, 0.
//!
//! - **CO-RE relocations** (`.BTF.ext` `bpf_core_relo`) get the kernel's
//!   offsets, sizes and values, computed against the kernel's BTF (see
//!   `core`), which comes in as an argument like everything else.
//!
//! `.BTF.ext` records follow their functions: `func_info` gets one record
//! per placed function at its start, `line_info` each function's records
//! moved by its start. The kernel wants either records for every function
//! or none, so when any placed function has none, none are passed.
//!
//! It runs without a kernel: here on a program made by hand that loads
//! map 0 and returns, with 7 standing in for the map's fd.
//!
//! ```
//! use rxdp_elf::insn::{BPF_PSEUDO_MAP_FD, EXIT, LD_IMM64};
//! use rxdp_elf::ksyms::KernelSymbols;
//! use rxdp_elf::relocate::relocate;
//! use rxdp_elf::{Function, Insn, Map, MapDef, MapType, Object, Program, ProgramType};
//! use rxdp_elf::{Reloc, RelocTarget};
//!
//! let insn = |code, imm| Insn { code, regs: 0x01, off: 0, imm };
//! let mut function = Function::new(
//!     "xdp_count",
//!     "xdp",
//!     vec![insn(LD_IMM64, 0), insn(0, 0), insn(EXIT, 0)],
//! );
//! function.relocs.push(Reloc {
//!     insn: 0,
//!     symbol: "counters".into(),
//!     target: RelocTarget::Map(0),
//! });
//! let object = Object::new(
//!     vec![Map::new("counters", MapDef::new(MapType::ARRAY, 4, 8, 4))],
//!     vec![Program::new("xdp", Some(ProgramType::XDP), function)],
//! );
//! let linked = relocate(&object, 0, &[7], &KernelSymbols::default())?;
//! assert_eq!(linked.insns[0].src_reg(), BPF_PSEUDO_MAP_FD);
//! assert_eq!(linked.insns[0].imm, 7);
//! assert_eq!(linked.patches[0].patch.to_string(), "ld_imm64 map_fd[0] (fd 7)");
//! # Ok::<(), rxdp_elf::relocate::RelocateError>(())
//! ```

// A `RelocateError` names the program, section, function, instruction and
// symbol, and says what is wrong with them (a typed CO-RE error among
// others): some 200 bytes, returned once, on the failing path only. Boxing
// it would cost a dereference at every match to save nothing that matters.
#![allow(clippy::result_large_err)]

use std::os::fd::RawFd;

use crate::btf::{FuncInfo, LineInfo};
use crate::core::{self, CoreError, CoreTarget};
use crate::externs::ExternKind;
use crate::insn::{
    Insn, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL,
    BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, CALL,
};
use crate::ksyms::{KernelSymbols, KernelType, KsymValue};
use crate::{Function, Object, Program, RelocTarget};

/// The helper id a call to a weak kfunc the kernel lacks becomes, plus the
/// extern's index: libbpf's `POISON_CALL_KFUNC_BASE`, so that the
/// verifier's "invalid func unknown#2002000003" reads the same.
pub const POISON_KFUNC_BASE: i32 = 2_002_000_000;

/// What one relocation did to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Patch {
    /// `ld_imm64` → `BPF_PSEUDO_MAP_FD` of `map_fd[map]`.
    MapFd {
        /// Index into `map_fd[]`.
        map: usize,
        /// The fd written into the instruction.
        fd: RawFd,
    },
    /// `ld_imm64` → `BPF_PSEUDO_MAP_VALUE`: `offset` bytes into the value
    /// of `map_fd[map]`.
    MapValue {
        /// Index into `map_fd[]`.
        map: usize,
        /// The fd written into the instruction.
        fd: RawFd,
        /// The offset written into the second half.
        offset: u32,
    },
    /// `call` → the subprogram `function`, placed at instruction `at`.
    Call {
        /// The callee's name.
        function: String,
        /// Where the callee starts in the linked program.
        at: usize,
    },
    /// `ld_imm64` → `BPF_PSEUDO_FUNC`, the address of `function`, placed
    /// at `at`.
    FuncAddr {
        /// The function's name.
        function: String,
        /// Where the function starts in the linked program.
        at: usize,
    },
    /// `call` → `BPF_PSEUDO_KFUNC_CALL` of kernel BTF id `btf_id`.
    Kfunc {
        /// The function's type id in the kernel's BTF.
        btf_id: u32,
        /// Its index in the `fd_array` (0: vmlinux's).
        fd_index: i16,
    },
    /// `call` of a weak kfunc the kernel does not have → a call of the
    /// non-existent helper `imm`, which the verifier drops when unreachable.
    KfuncAbsent {
        /// The poisoned helper id.
        imm: i32,
    },
    /// `ld_imm64` of a `__kconfig` extern → `BPF_PSEUDO_MAP_VALUE` of the
    /// `.kconfig` map.
    Kconfig {
        /// Index into `map_fd[]` of the `.kconfig` map.
        map: usize,
        /// The fd written into the instruction.
        fd: RawFd,
        /// The extern's offset in the map's value.
        offset: u32,
    },
    /// `ld_imm64` of a typed `__ksym` or a kfunc's address →
    /// `BPF_PSEUDO_BTF_ID`.
    KsymBtf {
        /// The kernel BTF id.
        btf_id: u32,
        /// The module's BTF fd in the second half (0: vmlinux).
        btf_fd: RawFd,
    },
    /// `ld_imm64` of an untyped `__ksym` → its address, or 0 for a weak
    /// extern the kernel does not have.
    KsymAddress {
        /// The address.
        address: u64,
    },
    /// A CO-RE relocation of `kind` wrote the kernel's `value` (`None`:
    /// no kernel type matched, the instruction was poisoned).
    Core {
        /// What the relocation asked for.
        kind: core::Kind,
        /// The value written.
        value: Option<u64>,
    },
}

/// As `rxdp load --explain` shows it: `ld_imm64 map_fd[0] (fd 7)`.
impl std::fmt::Display for Patch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Patch::MapFd { map, fd } => write!(f, "ld_imm64 map_fd[{map}] (fd {fd})"),
            Patch::MapValue { map, fd, offset } => {
                write!(f, "ld_imm64 map_fd[{map}] (fd {fd}) value + {offset}")
            }
            Patch::Call { function, at } => write!(f, "call {function} at insn {at}"),
            Patch::FuncAddr { function, at } => write!(f, "address of {function} at insn {at}"),
            Patch::Kfunc {
                btf_id,
                fd_index: 0,
            } => write!(f, "kfunc call, kernel BTF id {btf_id}"),
            Patch::Kfunc { btf_id, fd_index } => write!(
                f,
                "kfunc call, kernel BTF id {btf_id} of the module BTF at fd_array[{fd_index}]"
            ),
            Patch::KfuncAbsent { imm } => write!(
                f,
                "weak kfunc the kernel lacks: call unknown#{imm}, dropped by the verifier if unreachable"
            ),
            Patch::Kconfig { map, fd, offset } => {
                write!(f, "ld_imm64 map_fd[{map}] (fd {fd}) value + {offset} (.kconfig)")
            }
            Patch::KsymBtf { btf_id, btf_fd: 0 } => {
                write!(f, "ld_imm64 kernel BTF id {btf_id} (vmlinux)")
            }
            Patch::KsymBtf { btf_id, btf_fd } => {
                write!(f, "ld_imm64 kernel BTF id {btf_id} (module BTF fd {btf_fd})")
            }
            Patch::KsymAddress { address: 0 } => {
                write!(f, "ld_imm64 0: weak extern the kernel lacks")
            }
            Patch::KsymAddress { address } => write!(f, "ld_imm64 {address:#x} (kallsyms)"),
            Patch::Core {
                kind,
                value: Some(value),
            } => write!(f, "CO-RE {kind} = {value}"),
            Patch::Core { kind, value: None } => {
                write!(f, "CO-RE {kind}: no kernel type matches; poisoned")
            }
        }
    }
}

/// One instruction the relocation changed, in the order they were changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    /// The instruction's index in the linked program.
    pub insn: usize,
    /// The symbol the relocation names (for CO-RE, the object's type), or
    /// `-` for a call clang resolved without one.
    pub symbol: String,
    /// What was written.
    pub patch: Patch,
}

/// A program ready for `BPF_PROG_LOAD`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkedProgram {
    /// The instructions, subprograms appended and relocations applied.
    pub insns: Vec<Insn>,
    /// Each function in the array, the program's own first: its name and
    /// first instruction.
    pub functions: Vec<(String, usize)>,
    /// `struct bpf_func_info` records, `insn_off` in instructions; empty
    /// when a placed function has no BTF.
    pub func_info: Vec<FuncInfo>,
    /// `struct bpf_line_info` records, `insn_off` in instructions; empty
    /// when `func_info` is, or when a function has no record at its start.
    pub line_info: Vec<LineInfo>,
    /// Every instruction the relocations changed, for whoever wants to
    /// show them (`rxdp load --explain`).
    pub patches: Vec<Patched>,
}

/// Size of `struct bpf_func_info` as passed to the kernel.
pub const FUNC_INFO_REC_SIZE: u32 = 8;
/// Size of `struct bpf_line_info` as passed to the kernel.
pub const LINE_INFO_REC_SIZE: u32 = 16;

impl LinkedProgram {
    /// The `func_info` records as the kernel reads them.
    pub fn func_info_bytes(&self) -> Vec<u8> {
        self.func_info
            .iter()
            .flat_map(|r| [r.insn_off, r.type_id])
            .flat_map(u32::to_ne_bytes)
            .collect()
    }

    /// The `line_info` records as the kernel reads them.
    pub fn line_info_bytes(&self) -> Vec<u8> {
        self.line_info
            .iter()
            .flat_map(|r| [r.insn_off, r.file_name_off, r.line_off, r.line_col])
            .flat_map(u32::to_ne_bytes)
            .collect()
    }

    /// The line record that covers instruction `insn`: the last one at or
    /// before it.
    pub fn line_of(&self, insn: usize) -> Option<&LineInfo> {
        self.line_info
            .iter()
            .take_while(|line| line.insn_off as usize <= insn)
            .last()
    }
}

/// A relocation that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("program {program} (section {section}): {function} insn {insn} ({symbol}): {problem}")]
pub struct RelocateError {
    /// The program, by name.
    pub program: String,
    /// Its ELF section.
    pub section: String,
    /// The function holding the instruction (the program or a subprogram).
    pub function: String,
    /// Instruction index within `function`.
    pub insn: usize,
    /// The symbol the relocation names, or `-` for a call without one.
    pub symbol: String,
    /// What is wrong.
    pub problem: RelocProblem,
}

/// What is wrong with a relocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelocProblem {
    /// The instruction is outside the function (`len` instructions).
    #[error("the instruction is outside the function ({len} instructions)")]
    OutOfRange {
        /// The function's length in instructions.
        len: usize,
    },
    /// Expected an ld_imm64 (opcode 0x18) with its second half, found opcode `code`.
    #[error("expected an ld_imm64 (opcode 0x18) with its second half, found opcode {code:#04x}")]
    NotLdImm64 {
        /// The opcode found.
        code: u8,
    },
    /// Expected a call (opcode 0x85), found opcode `code`.
    #[error("expected a call (opcode 0x85), found opcode {code:#04x}")]
    NotCall {
        /// The opcode found.
        code: u8,
    },
    /// Refers to map `map`, but only `count` maps have fds.
    #[error("refers to map {map}, but only {count} maps have fds")]
    NoMap {
        /// The map index it refers to.
        map: usize,
        /// How many there are.
        count: usize,
    },
    /// Refers to subprogram `index`, but the object has `count`.
    #[error("refers to subprogram {index}, but the object has {count}")]
    NoSubprogram {
        /// The subprogram index it refers to.
        index: usize,
        /// How many there are.
        count: usize,
    },
    /// Calls instruction `target` of section `section`, where no function starts.
    #[error("calls instruction {target} of section {section}, where no function starts")]
    NoFunctionAt {
        /// The section of the call.
        section: String,
        /// The instruction the call reaches, in the section.
        target: i64,
    },
    /// Kernel function `name` was not resolved against the kernel's BTF.
    #[error("kernel function {name} was not resolved against the kernel's BTF")]
    KfuncUnresolved {
        /// The kernel function.
        name: String,
    },
    /// Extern `name` was not resolved.
    #[error("extern {name} was not resolved against the kernel")]
    ExternUnresolved {
        /// The extern.
        name: String,
    },
    /// A `__kconfig` extern, but the object has no `.kconfig` map.
    #[error("kconfig extern {name}, but no fd for the .kconfig map")]
    NoKconfigMap {
        /// The extern.
        name: String,
    },
    /// The program grew beyond what a 32-bit call offset can reach.
    #[error("the program grew beyond what a 32-bit call offset can reach")]
    TooFar,
    /// A CO-RE relocation (`kind`) needs the kernel's BTF, which was not given.
    #[error("a CO-RE relocation ({kind}) needs the kernel's BTF, which was not given")]
    CoreWithoutKernelBtf {
        /// The relocation kind (`enum bpf_core_relo_kind`).
        kind: u32,
    },
    /// A CO-RE relocation needs the object's BTF, and the object has none.
    #[error("a CO-RE relocation needs the object's BTF, and the object has none")]
    CoreWithoutObjectBtf,
    /// CO-RE relocation (kind `kind`, access `access`): `error`.
    #[error("CO-RE relocation (kind {kind}, access {access:?}): {error}")]
    Core {
        /// The relocation kind (libbpf's name).
        kind: &'static str,
        /// The access string.
        access: String,
        /// What is wrong.
        error: CoreError,
    },
}

/// Where a placed function comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The program's own body.
    Body,
    /// `Object::subprograms[i]`.
    Subprogram(usize),
}

struct Linker<'o, 'a> {
    object: &'o Object,
    program: &'o Program,
    map_fds: &'a [RawFd],
    symbols: &'a KernelSymbols,
    core: Option<&'a CoreTarget<'a>>,
    insns: Vec<Insn>,
    placed: Vec<(Source, usize)>,
    patches: Vec<Patched>,
}

/// Relocates `object.programs[index]`: appends the subprograms it reaches
/// and patches every relocated instruction. `map_fds[i]` is `map_fd[i]`;
/// `symbols` holds what the kernel has for the object's `__ksym` externs.
/// An object with CO-RE relocations needs [`relocate_against`].
pub fn relocate(
    object: &Object,
    index: usize,
    map_fds: &[RawFd],
    symbols: &KernelSymbols,
) -> Result<LinkedProgram, RelocateError> {
    relocate_against(object, index, map_fds, symbols, None)
}

/// [`relocate`], with CO-RE relocations computed against `core`, the
/// kernel's BTF.
pub fn relocate_against(
    object: &Object,
    index: usize,
    map_fds: &[RawFd],
    symbols: &KernelSymbols,
    core: Option<&CoreTarget<'_>>,
) -> Result<LinkedProgram, RelocateError> {
    let Some(program) = object.programs.get(index) else {
        return Err(RelocateError {
            program: format!("prog_fd[{index}]"),
            section: String::new(),
            function: String::new(),
            insn: 0,
            symbol: "-".to_string(),
            problem: RelocProblem::OutOfRange {
                len: object.programs.len(),
            },
        });
    };
    let mut linker = Linker {
        object,
        program,
        map_fds,
        symbols,
        core,
        insns: program.function.insns.clone(),
        placed: vec![(Source::Body, 0)],
        patches: Vec::new(),
    };
    // Placing a function can place more; the list grows while it is walked.
    let mut next = 0;
    while let Some(&(source, start)) = linker.placed.get(next) {
        let function = linker.function(source);
        linker.apply(function, start)?;
        next += 1;
    }
    Ok(linker.finish())
}

impl<'o> Linker<'o, '_> {
    fn function(&self, source: Source) -> &'o Function {
        match source {
            Source::Body => &self.program.function,
            // Only valid indexes are ever placed (see `place`).
            Source::Subprogram(i) => &self.object.subprograms[i],
        }
    }

    fn error(
        &self,
        function: &Function,
        insn: usize,
        symbol: &str,
        problem: RelocProblem,
    ) -> RelocateError {
        RelocateError {
            program: self.program.name().to_string(),
            section: self.program.section.clone(),
            function: function.name.clone(),
            insn,
            symbol: symbol.to_string(),
            problem,
        }
    }

    /// The first instruction of subprogram `index`, appending it if this
    /// program does not hold it yet.
    fn place(&mut self, index: usize) -> Option<usize> {
        if let Some(&(_, start)) = self
            .placed
            .iter()
            .find(|(source, _)| *source == Source::Subprogram(index))
        {
            return Some(start);
        }
        let subprogram = self.object.subprograms.get(index)?;
        let start = self.insns.len();
        self.insns.extend_from_slice(&subprogram.insns);
        self.placed.push((Source::Subprogram(index), start));
        Some(start)
    }

    /// `imm` of a call or function address at `at` that reaches `target`.
    fn relative(at: usize, target: usize) -> Option<i32> {
        let distance = i64::try_from(target).ok()? - i64::try_from(at).ok()? - 1;
        i32::try_from(distance).ok()
    }

    /// Applies the relocations of `function`, placed at `start`.
    fn apply(&mut self, function: &'o Function, start: usize) -> Result<(), RelocateError> {
        let len = function.insns.len();
        for reloc in &function.relocs {
            let fail = |linker: &Self, problem| {
                Err(linker.error(function, reloc.insn, &reloc.symbol, problem))
            };
            if reloc.insn >= len {
                return fail(self, RelocProblem::OutOfRange { len });
            }
            let at = start + reloc.insn;
            let insn = self.insns[at];
            let is_ld_imm64 = insn.is_ld_imm64() && reloc.insn + 1 < len;
            let patch = match &reloc.target {
                RelocTarget::Map(map) | RelocTarget::MapValue { map, .. } => {
                    if !is_ld_imm64 {
                        return fail(self, RelocProblem::NotLdImm64 { code: insn.code });
                    }
                    let Some(&fd) = self.map_fds.get(*map) else {
                        let count = self.map_fds.len();
                        return fail(self, RelocProblem::NoMap { map: *map, count });
                    };
                    let (src, offset, patch) = match reloc.target {
                        RelocTarget::MapValue { offset, .. } => (
                            BPF_PSEUDO_MAP_VALUE,
                            offset,
                            Patch::MapValue {
                                map: *map,
                                fd,
                                offset,
                            },
                        ),
                        _ => (BPF_PSEUDO_MAP_FD, 0, Patch::MapFd { map: *map, fd }),
                    };
                    self.insns[at].set_src_reg(src);
                    self.insns[at].imm = fd;
                    // The second half holds the offset into the value
                    // (0 for a map): the u32 is stored as the i32 imm.
                    self.insns[at + 1].imm = offset as i32;
                    patch
                }
                RelocTarget::Call(index) | RelocTarget::FuncAddr(index) => {
                    let is_call = matches!(reloc.target, RelocTarget::Call(_));
                    if is_call && insn.code != CALL {
                        return fail(self, RelocProblem::NotCall { code: insn.code });
                    }
                    if !is_call && !is_ld_imm64 {
                        return fail(self, RelocProblem::NotLdImm64 { code: insn.code });
                    }
                    let count = self.object.subprograms.len();
                    let Some(target) = self.place(*index) else {
                        return fail(
                            self,
                            RelocProblem::NoSubprogram {
                                index: *index,
                                count,
                            },
                        );
                    };
                    let Some(imm) = Self::relative(at, target) else {
                        return fail(self, RelocProblem::TooFar);
                    };
                    let function = self.object.subprograms[*index].name.clone();
                    if is_call {
                        self.insns[at].set_src_reg(BPF_PSEUDO_CALL);
                        self.insns[at].imm = imm;
                        Patch::Call {
                            function,
                            at: target,
                        }
                    } else {
                        self.insns[at].set_src_reg(BPF_PSEUDO_FUNC);
                        self.insns[at].imm = imm;
                        self.insns[at + 1].imm = 0;
                        Patch::FuncAddr {
                            function,
                            at: target,
                        }
                    }
                }
                RelocTarget::Kfunc(name) => {
                    if insn.code != CALL {
                        return fail(self, RelocProblem::NotCall { code: insn.code });
                    }
                    match self.symbols.get(name) {
                        Some(KsymValue::Btf(KernelType { module, id })) => {
                            let fd_index = self.symbols.fd_array_index(module);
                            self.insns[at].set_src_reg(BPF_PSEUDO_KFUNC_CALL);
                            // BTF ids are positive and below 2^31.
                            self.insns[at].imm = id as i32;
                            self.insns[at].off = fd_index;
                            Patch::Kfunc {
                                btf_id: id,
                                fd_index,
                            }
                        }
                        Some(KsymValue::Absent) => {
                            let index = self.object.externs.iter().position(|e| e.name == *name);
                            let imm =
                                POISON_KFUNC_BASE.saturating_add(index.map_or(0, |i| i as i32));
                            self.insns[at] = Insn {
                                code: CALL,
                                regs: 0,
                                off: 0,
                                imm,
                            };
                            Patch::KfuncAbsent { imm }
                        }
                        _ => {
                            return fail(self, RelocProblem::KfuncUnresolved { name: name.clone() })
                        }
                    }
                }
                RelocTarget::Extern(index) => {
                    if !is_ld_imm64 {
                        return fail(self, RelocProblem::NotLdImm64 { code: insn.code });
                    }
                    match self.extern_value(*index) {
                        Ok(patch) => {
                            let (src, imm, high) = match patch {
                                Patch::Kconfig { fd, offset, .. } => {
                                    (BPF_PSEUDO_MAP_VALUE, fd, offset as i32)
                                }
                                Patch::KsymBtf { btf_id, btf_fd } => {
                                    (BPF_PSEUDO_BTF_ID, btf_id as i32, btf_fd)
                                }
                                Patch::KsymAddress { address } => {
                                    (0, address as u32 as i32, (address >> 32) as u32 as i32)
                                }
                                _ => (0, 0, 0),
                            };
                            self.insns[at].set_src_reg(src);
                            self.insns[at].imm = imm;
                            self.insns[at + 1].imm = high;
                            patch
                        }
                        Err(problem) => return fail(self, problem),
                    }
                }
            };
            self.patches.push(Patched {
                insn: at,
                symbol: reloc.symbol.clone(),
                patch,
            });
        }
        self.link_local_calls(function, start)?;
        self.apply_core(function, start)
    }

    /// What an `ld_imm64` of extern `index` loads.
    fn extern_value(&self, index: usize) -> Result<Patch, RelocProblem> {
        let Some(ext) = self.object.externs.get(index) else {
            return Err(RelocProblem::ExternUnresolved {
                name: format!("#{index}"),
            });
        };
        let unresolved = || RelocProblem::ExternUnresolved {
            name: ext.name.clone(),
        };
        if let ExternKind::Kconfig(var) = ext.kind {
            let map = self
                .object
                .kconfig_map()
                .ok_or_else(|| RelocProblem::NoKconfigMap {
                    name: ext.name.clone(),
                })?;
            let fd = *self.map_fds.get(map).ok_or(RelocProblem::NoMap {
                map,
                count: self.map_fds.len(),
            })?;
            return Ok(Patch::Kconfig {
                map,
                fd,
                offset: var.offset,
            });
        }
        Ok(match self.symbols.get(&ext.name).ok_or_else(unresolved)? {
            KsymValue::Btf(KernelType { module, id }) => Patch::KsymBtf {
                btf_id: id,
                btf_fd: self.symbols.module_fd(module),
            },
            KsymValue::Address(address) => Patch::KsymAddress { address },
            KsymValue::Absent => Patch::KsymAddress { address: 0 },
        })
    }

    /// The CO-RE relocations of `function`, placed at `start`.
    fn apply_core(&mut self, function: &'o Function, start: usize) -> Result<(), RelocateError> {
        for reloc in &function.core_relocs {
            let insn = reloc.insn_off as usize;
            let local = self.object.btf.as_ref();
            let symbol = local
                .and_then(|btf| btf.type_name(reloc.type_id).ok())
                .unwrap_or("-")
                .to_string();
            let fail = |linker: &Self, problem| Err(linker.error(function, insn, &symbol, problem));
            let (Some(local), Some(target)) = (local, self.core) else {
                let problem = match local {
                    None => RelocProblem::CoreWithoutObjectBtf,
                    Some(_) => RelocProblem::CoreWithoutKernelBtf { kind: reloc.kind },
                };
                return fail(self, problem);
            };
            if insn >= function.insns.len() {
                return fail(
                    self,
                    RelocProblem::OutOfRange {
                        len: function.insns.len(),
                    },
                );
            }
            let at = start + insn;
            let outcome =
                core::apply(local, target, reloc, &mut self.insns[at..]).map_err(|error| {
                    let kind = core::Kind::from_u32(reloc.kind).map_or("unknown", core::Kind::name);
                    let access = local
                        .string(reloc.access_str_off)
                        .unwrap_or("?")
                        .to_string();
                    self.error(
                        function,
                        insn,
                        &symbol,
                        RelocProblem::Core {
                            kind,
                            access,
                            error,
                        },
                    )
                })?;
            self.patches.push(Patched {
                insn: at,
                symbol,
                patch: Patch::Core {
                    kind: outcome.kind,
                    value: outcome.value,
                },
            });
        }
        Ok(())
    }

    /// Calls clang resolved inside one section, with no relocation: their
    /// `imm` counts from the call to the callee within the section.
    fn link_local_calls(
        &mut self,
        function: &'o Function,
        start: usize,
    ) -> Result<(), RelocateError> {
        let first = i64::try_from(function.offset / 8).unwrap_or(i64::MAX);
        for (i, insn) in function.insns.iter().enumerate() {
            if !insn.is_pseudo_call()
                || function.relocs.binary_search_by_key(&i, |r| r.insn).is_ok()
            {
                continue;
            }
            let target = first + i as i64 + 1 + i64::from(insn.imm);
            let callee = self.object.subprograms.iter().position(|sub| {
                sub.section_index == function.section_index
                    && i64::try_from(sub.offset / 8) == Ok(target)
            });
            let problem = RelocProblem::NoFunctionAt {
                section: function.section.clone(),
                target,
            };
            let Some(callee) = callee else {
                return Err(self.error(function, i, "-", problem));
            };
            let at = start + i;
            let placed = self.place(callee);
            let Some(imm) = placed.and_then(|target| Self::relative(at, target)) else {
                return Err(self.error(function, i, "-", RelocProblem::TooFar));
            };
            self.insns[at].imm = imm;
            self.patches.push(Patched {
                insn: at,
                symbol: "-".to_string(),
                patch: Patch::Call {
                    function: self.object.subprograms[callee].name.clone(),
                    at: placed.unwrap_or_default(),
                },
            });
        }
        Ok(())
    }

    fn finish(self) -> LinkedProgram {
        let functions: Vec<(&Function, usize)> = self
            .placed
            .iter()
            .map(|&(source, start)| (self.function(source), start))
            .collect();
        let offset = |start: usize| u32::try_from(start).unwrap_or(u32::MAX);
        let complete = functions.iter().all(|(f, _)| f.btf_func_type_id != 0);
        let func_info: Vec<FuncInfo> = if complete {
            functions
                .iter()
                .map(|(f, start)| FuncInfo {
                    insn_off: offset(*start),
                    type_id: f.btf_func_type_id,
                })
                .collect()
        } else {
            Vec::new()
        };
        let lines_complete = functions
            .iter()
            .all(|(f, _)| f.line_info.first().is_some_and(|line| line.insn_off == 0));
        let line_info = if complete && lines_complete {
            functions
                .iter()
                .flat_map(|(f, start)| {
                    f.line_info.iter().map(move |line| LineInfo {
                        insn_off: line.insn_off.saturating_add(offset(*start)),
                        ..*line
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        LinkedProgram {
            functions: functions
                .iter()
                .map(|(f, start)| (f.name.clone(), *start))
                .collect(),
            insns: self.insns,
            func_info,
            line_info,
            patches: self.patches,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{EXIT, LD_IMM64};
    use crate::testing::{function, map, object, program};
    use crate::{MapType, Reloc};

    fn insn(code: u8, src: u8, imm: i32) -> Insn {
        Insn {
            code,
            regs: src << 4,
            off: 0,
            imm,
        }
    }

    fn mov(imm: i32) -> Insn {
        insn(0xb7, 0, imm)
    }

    fn ld_imm64(imm: i32) -> [Insn; 2] {
        [insn(LD_IMM64, 0, imm), insn(0, 0, 0)]
    }

    fn call_reloc(insn: usize, symbol: &str, target: RelocTarget) -> Reloc {
        Reloc {
            insn,
            symbol: symbol.to_string(),
            target,
        }
    }

    fn line(insn_off: u32, line: u32) -> LineInfo {
        LineInfo {
            insn_off,
            file_name_off: 1,
            line_off: 2,
            line_col: line << 10,
        }
    }

    /// `main` calls `a` and then `b`; `a` calls `b` too; `b` loads a map and
    /// a global. Every function has BTF and line info.
    fn linked_object() -> Object {
        let maps = vec![map("m", MapType::HASH, 4), map(".bss", MapType::ARRAY, 1)];
        let mut main = program("main", "xdp");
        main.function.insns = vec![
            mov(0),
            insn(CALL, 1, -1),
            insn(CALL, 1, -1),
            insn(EXIT, 0, 0),
        ];
        main.function.relocs = vec![
            call_reloc(1, "a", RelocTarget::Call(0)),
            call_reloc(2, "b", RelocTarget::Call(1)),
        ];
        main.function.btf_func_type_id = 10;
        main.function.line_info = vec![line(0, 5), line(1, 6)];
        let mut a = function("a", ".text");
        a.insns = vec![insn(CALL, 1, -1), insn(EXIT, 0, 0)];
        a.relocs = vec![call_reloc(0, "b", RelocTarget::Call(1))];
        a.btf_func_type_id = 11;
        a.line_info = vec![line(0, 20)];
        let mut b = function("b", ".text");
        b.offset = 16;
        let [m0, m1] = ld_imm64(0);
        let [g0, g1] = ld_imm64(0);
        b.insns = vec![m0, m1, g0, g1, insn(EXIT, 0, 0)];
        b.relocs = vec![
            call_reloc(0, "m", RelocTarget::Map(0)),
            call_reloc(2, "counter", RelocTarget::MapValue { map: 1, offset: 8 }),
        ];
        b.btf_func_type_id = 12;
        b.line_info = vec![line(0, 30), line(2, 31)];
        let mut object = object(maps, vec![main]);
        object.subprograms = vec![a, b];
        object
    }

    #[test]
    fn subprograms_are_appended_once_in_the_order_reached() {
        let object = linked_object();
        let linked = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap();
        assert_eq!(
            linked.functions,
            [
                ("main".to_string(), 0),
                ("a".to_string(), 4),
                ("b".to_string(), 6)
            ]
        );
        assert_eq!(linked.insns.len(), 4 + 2 + 5);
        // main's calls: insn 1 → a at 4 (imm 4 - 1 - 1), insn 2 → b at 6.
        assert_eq!(linked.insns[1].imm, 2);
        assert_eq!(linked.insns[2].imm, 3);
        // a (at 4) calls b (at 6), which is not appended a second time.
        assert_eq!(linked.insns[4].imm, 1);
        assert!(linked.insns[4].is_pseudo_call());
    }

    #[test]
    fn ld_imm64_gets_map_fds_and_value_offsets() {
        let object = linked_object();
        let linked = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap();
        let b = 6;
        assert_eq!(linked.insns[b].src_reg(), BPF_PSEUDO_MAP_FD);
        assert_eq!((linked.insns[b].imm, linked.insns[b + 1].imm), (7, 0));
        assert_eq!(linked.insns[b + 2].src_reg(), BPF_PSEUDO_MAP_VALUE);
        assert_eq!((linked.insns[b + 2].imm, linked.insns[b + 3].imm), (9, 8));
        // What was patched, in order, for `--explain`.
        let shown: Vec<String> = linked
            .patches
            .iter()
            .map(|p| format!("{} {}: {}", p.insn, p.symbol, p.patch))
            .collect();
        assert_eq!(
            shown,
            [
                "1 a: call a at insn 4",
                "2 b: call b at insn 6",
                "4 b: call b at insn 6",
                "6 m: ld_imm64 map_fd[0] (fd 7)",
                "8 counter: ld_imm64 map_fd[1] (fd 9) value + 8",
            ]
        );
        // Too few fds: the error names the symbol and the instruction.
        let error = relocate(&object, 0, &[7], &KernelSymbols::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "program main (section xdp): b insn 2 (counter): refers to map 1, but only 1 maps have fds"
        );
    }

    #[test]
    fn btf_ext_records_follow_their_functions() {
        let object = linked_object();
        let linked = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap();
        let funcs: Vec<(u32, u32)> = linked
            .func_info
            .iter()
            .map(|f| (f.insn_off, f.type_id))
            .collect();
        assert_eq!(funcs, [(0, 10), (4, 11), (6, 12)]);
        let lines: Vec<(u32, u32)> = linked
            .line_info
            .iter()
            .map(|l| (l.insn_off, l.line()))
            .collect();
        assert_eq!(lines, [(0, 5), (1, 6), (4, 20), (6, 30), (8, 31)]);
        assert_eq!(linked.line_of(7).map(LineInfo::line), Some(30));
        assert_eq!(linked.func_info_bytes().len(), 3 * 8);
        assert_eq!(&linked.func_info_bytes()[8..16], &[4, 0, 0, 0, 11, 0, 0, 0]);
        assert_eq!(linked.line_info_bytes().len(), 5 * 16);

        // One function without BTF: no records at all.
        let mut object = linked_object();
        object.subprograms[0].btf_func_type_id = 0;
        let linked = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap();
        assert!(linked.func_info.is_empty() && linked.line_info.is_empty());
        // One function without a line at its start: no line_info.
        let mut object = linked_object();
        object.subprograms[1].line_info.remove(0);
        let linked = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap();
        assert_eq!(linked.func_info.len(), 3);
        assert!(linked.line_info.is_empty());
    }

    #[test]
    fn calls_without_relocation_are_resolved_within_the_section() {
        // main calls b through a relocation; b calls c, 2 instructions
        // further in .text, without one (clang resolved it).
        let mut object = linked_object();
        object.programs[0].function.relocs.remove(0);
        object.programs[0].function.insns[1] = mov(1);
        let mut c = function("c", ".text");
        c.offset = 16 + 6 * 8;
        c.insns = vec![mov(2), insn(EXIT, 0, 0)];
        c.btf_func_type_id = 13;
        c.line_info = vec![line(0, 40)];
        object.subprograms.push(c);
        let exit = object.subprograms[1].insns.len() - 1;
        // b starts at section insn 2; its insn 4 (section insn 6) with imm 1
        // reaches section insn 8, where c starts.
        object.subprograms[1].insns[exit] = insn(CALL, 1, 1);
        object.subprograms[1].insns.push(insn(EXIT, 0, 0));
        let linked = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap();
        assert_eq!(
            linked.functions,
            [
                ("main".to_string(), 0),
                ("b".to_string(), 4),
                ("c".to_string(), 10)
            ]
        );
        // b at 4, its call at 8 reaches c at 10.
        assert_eq!(linked.insns[8].imm, 1);
        // Nothing starts where the call points: an error naming the place.
        object.subprograms[1].insns[exit].imm = 5;
        let error = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap_err();
        assert_eq!(
            error.problem,
            RelocProblem::NoFunctionAt {
                section: ".text".to_string(),
                target: 12
            }
        );
    }

    #[test]
    fn kfunc_calls_get_the_kernel_btf_id() {
        let mut object = object(Vec::new(), vec![program("p", "xdp")]);
        object.programs[0].function.insns = vec![insn(CALL, 0, -1), insn(EXIT, 0, 0)];
        object.programs[0].function.relocs = vec![call_reloc(
            0,
            "bpf_rdonly_cast",
            RelocTarget::Kfunc("bpf_rdonly_cast".into()),
        )];
        let kfuncs = KernelSymbols::from_values(vec![(
            "bpf_rdonly_cast".to_string(),
            KsymValue::Btf(KernelType {
                module: None,
                id: 12345,
            }),
        )]);
        let linked = relocate(&object, 0, &[], &kfuncs).unwrap();
        assert_eq!(linked.insns[0].src_reg(), BPF_PSEUDO_KFUNC_CALL);
        assert_eq!(linked.insns[0].imm, 12345);
        let error = relocate(&object, 0, &[], &KernelSymbols::default()).unwrap_err();
        assert!(error.to_string().contains("bpf_rdonly_cast"), "{error}");
    }

    #[test]
    fn relocations_on_the_wrong_instruction_are_refused() {
        let mut object = linked_object();
        object.subprograms[1].relocs[0].insn = 4; // the exit
        let error = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap_err();
        assert_eq!(error.problem, RelocProblem::NotLdImm64 { code: EXIT });
        let mut object = linked_object();
        object.programs[0].function.relocs[0].insn = 0; // a mov
        let error = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap_err();
        assert_eq!(error.problem, RelocProblem::NotCall { code: 0xb7 });
        let mut object = linked_object();
        object.programs[0].function.relocs[0].insn = 9;
        let error = relocate(&object, 0, &[7, 9], &KernelSymbols::default()).unwrap_err();
        assert_eq!(error.problem, RelocProblem::OutOfRange { len: 4 });
    }
}
