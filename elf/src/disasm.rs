//! The disassembler: instructions rendered in the kernel's BPF assembly
//! syntax, the one the verifier log and `bpftool prog dump xlated` print
//! (`kernel/bpf/disasm.c`, `print_bpf_insn`):
//!
//! ```text
//! r1 = *(u32 *)(r1 +4)          ldx: size, base register, signed offset
//! *(u64 *)(r10 -8) = r7         stx (st stores an immediate)
//! lock *(u64 *)(r0 +0) += r1    atomic add (BPF_ATOMIC, imm = BPF_ADD)
//! w1 += w2                      ALU32 uses the 32-bit `w` names
//! r1 = (s8)r2                   sign-extending mov (BPF_MOVSX, off = 8)
//! r1 = be16 r1 / r1 = bswap32 r1
//! if r2 > r3 goto pc+5          offsets relative to the next instruction
//! if r0 == 0x0 goto pc+2        immediates of jumps in hex
//! call bpf_tail_call#12         helpers by name and id
//! r0 = 2 / exit
//! ```
//!
//! Three things differ from the kernel's text, because an object file is
//! not yet loaded and says more than a loaded program does:
//!
//! - a relocated instruction shows its symbol instead of the number the
//!   loader will patch in: `r1 = map[jmp_table1]` (the kernel prints the fd,
//!   bpftool `map[id:42]`), `r1 = map[.rodata]+4` for a global variable
//!   (`BPF_PSEUDO_MAP_VALUE`), `r2 = func[callback]` (`BPF_PSEUDO_FUNC`);
//!   `call count_hit` for a call to a BPF function through a relocation, or
//!   `call pc+5 <count_hit>` when clang already resolved the distance (the
//!   kernel prints `call pc+5`); `call bpf_obj_new_impl#kfunc` for a kernel
//!   function, whose BTF id is only known at load (the kernel prints
//!   `call bpf_obj_new_impl#<id>`);
//! - a 64-bit constant (`ld_imm64`, 16 bytes) ends with ` ll`, as LLVM
//!   writes it: `r1 = 0x1234 ll`, so that the skipped index is explained;
//! - a listing puts each `.BTF.ext` line-info record above the
//!   instructions it covers, the way the verifier log does:
//!   `; return XDP_PASS; @ file.c:12`.
//!
//! [`render_insn`] and [`source_line`] are what the loader's verifier
//! error uses; `rxdp inspect --disasm` prints [`program_listing`].

mod helpers;

use std::fmt::Write as _;

use crate::btf::Btf;
use crate::insn::{
    BPF_PSEUDO_BTF_ID, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD,
    BPF_PSEUDO_MAP_VALUE,
};
use crate::{Function, Insn, Object, RelocTarget};

pub use helpers::{helper_name, HELPERS, HELPER_COUNT};

// Instruction classes (`BPF_CLASS(code)`, the low three bits).
const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_ST: u8 = 0x02;
const BPF_STX: u8 = 0x03;
const BPF_ALU: u8 = 0x04;
const BPF_JMP: u8 = 0x05;
const BPF_JMP32: u8 = 0x06;
const BPF_ALU64: u8 = 0x07;

// `BPF_SRC(code)`: operand is the immediate (K) or `src_reg` (X); for
// `BPF_END` the same bit says the target byte order.
const BPF_X: u8 = 0x08;
const BPF_TO_BE: u8 = 0x08;

// Memory modes (`BPF_MODE(code)`).
const BPF_IMM: u8 = 0x00;
const BPF_ABS: u8 = 0x20;
const BPF_IND: u8 = 0x40;
const BPF_MEM: u8 = 0x60;
const BPF_MEMSX: u8 = 0x80;
const BPF_ATOMIC: u8 = 0xc0;
/// `BPF_ST | 0xc0` is the verifier's speculation barrier (no uapi name).
const BPF_NOSPEC: u8 = 0xc0;

// Sizes (`BPF_SIZE(code)`).
const BPF_W: u8 = 0x00;
const BPF_H: u8 = 0x08;
const BPF_B: u8 = 0x10;
const BPF_DW: u8 = 0x18;

// ALU operations (`BPF_OP(code)`) that print differently from the rest.
const BPF_DIV: u8 = 0x30;
const BPF_NEG: u8 = 0x80;
const BPF_MOD: u8 = 0x90;
const BPF_MOV: u8 = 0xb0;
const BPF_END: u8 = 0xd0;

// Jump operations.
const BPF_JA: u8 = 0x00;
const BPF_CALL: u8 = 0x80;
const BPF_EXIT: u8 = 0x90;
const BPF_JCOND: u8 = 0xe0;
/// `src_reg` of `BPF_JMP | BPF_JCOND`: `may_goto`.
const BPF_MAY_GOTO: u8 = 0;

// `imm` of a `BPF_ATOMIC` store.
const BPF_ADD: i32 = 0x00;
const BPF_OR: i32 = 0x40;
const BPF_AND: i32 = 0x50;
const BPF_XOR: i32 = 0xa0;
const BPF_FETCH: i32 = 0x01;
const BPF_XCHG: i32 = 0xe0 | BPF_FETCH;
const BPF_CMPXCHG: i32 = 0xf0 | BPF_FETCH;
const BPF_LOAD_ACQ: i32 = 0x100;
const BPF_STORE_REL: i32 = 0x110;

/// `off` of `BPF_ALU64 | BPF_MOV | BPF_X` that makes it an arena
/// `addr_space_cast`.
const BPF_ADDR_SPACE_CAST: i16 = 1;
/// `src_reg` of an `ld_imm64` whose `imm` is the index of a map in
/// `fd_array` (`BPF_PSEUDO_MAP_IDX`), and its value form.
const BPF_PSEUDO_MAP_IDX: u8 = 5;
const BPF_PSEUDO_MAP_IDX_VALUE: u8 = 6;

/// What a relocated instruction refers to, by name: the object's view of
/// the number the loader will patch in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Symbol<'a> {
    /// `ld_imm64` of a map: `r1 = map[jmp_table1]`.
    Map(&'a str),
    /// `ld_imm64` of a global variable: `r1 = map[.rodata]+4`.
    MapValue {
        /// The map (the global-data section).
        map: &'a str,
        /// The offset into its value.
        offset: u32,
    },
    /// `call` of a BPF function. `pc_relative` when the instruction's `imm`
    /// already is the distance to it (calls clang resolved within a
    /// section): `call pc+5 <name>`; otherwise `call name`.
    Call {
        /// The function called.
        name: &'a str,
        /// Whether `imm` already is the distance to it.
        pc_relative: bool,
    },
    /// `ld_imm64` of a function's address (callbacks): `r2 = func[name]`.
    FuncAddr(&'a str),
    /// `call` of a kernel function: `call name#kfunc`.
    Kfunc(&'a str),
    /// `ld_imm64` of an extern: `r1 = kconfig[CONFIG_HZ]`,
    /// `r1 = ksym[schedule]`, `r1 = kfunc[bpf_task_acquire]`.
    Extern {
        /// The extern's name.
        name: &'a str,
        /// `kconfig`, `ksym` or `kfunc`.
        kind: &'static str,
    },
}

/// One instruction as text. `next` is the instruction after it (the second
/// half of an `ld_imm64`); `symbol` what its relocation names, if any.
/// Encodings the kernel does not define render as `<invalid ...>`.
pub fn render(insn: Insn, next: Option<Insn>, symbol: Option<Symbol<'_>>) -> String {
    let class = insn.code & 0x07;
    match class {
        BPF_ALU | BPF_ALU64 => alu(insn),
        BPF_LDX => ldx(insn),
        BPF_ST => st(insn),
        BPF_STX => stx(insn),
        BPF_LD => ld(insn, next, symbol),
        BPF_JMP | BPF_JMP32 => jmp(insn, symbol),
        _ => invalid(insn),
    }
}

/// Instruction `index` of `function`, with its relocation resolved against
/// `object`: what a verifier error shows for the failing instruction.
/// An index past the end, or into the second half of an `ld_imm64`, says so.
pub fn render_insn(object: &Object, function: &Function, index: usize) -> String {
    let Some(insn) = function.insns.get(index) else {
        return format!(
            "<no instruction {index}: {} has {}>",
            function.name,
            function.insns.len()
        );
    };
    if index > 0 && is_second_half(function, index) {
        return "<second half of the ld_imm64 above>".to_owned();
    }
    let next = function.insns.get(index + 1).copied();
    render(*insn, next, symbol_of(object, function, index))
}

/// The symbol the relocation of instruction `index` names, resolved to the
/// object's maps and functions.
pub fn symbol_of<'a>(
    object: &'a Object,
    function: &'a Function,
    index: usize,
) -> Option<Symbol<'a>> {
    let reloc = function.relocs.iter().find(|r| r.insn == index)?;
    let map_name = |map: usize| {
        object
            .maps
            .get(map)
            .map_or(reloc.symbol.as_str(), |m| m.name.as_str())
    };
    let callee = |sub: usize| object.subprograms.get(sub);
    Some(match &reloc.target {
        RelocTarget::Map(map) => Symbol::Map(map_name(*map)),
        RelocTarget::MapValue { map, offset } => Symbol::MapValue {
            map: map_name(*map),
            offset: *offset,
        },
        RelocTarget::Call(sub) => match callee(*sub) {
            Some(callee) => Symbol::Call {
                name: &callee.name,
                pc_relative: points_at(function, index, callee),
            },
            None => Symbol::Call {
                name: &reloc.symbol,
                pc_relative: false,
            },
        },
        RelocTarget::FuncAddr(sub) => {
            Symbol::FuncAddr(callee(*sub).map_or(reloc.symbol.as_str(), |f| f.name.as_str()))
        }
        RelocTarget::Kfunc(name) => Symbol::Kfunc(name),
        RelocTarget::Extern(index) => match object.externs.get(*index) {
            Some(ext) => Symbol::Extern {
                name: &ext.name,
                kind: match ext.kind {
                    crate::ExternKind::Kconfig(_) => "kconfig",
                    crate::ExternKind::Kfunc { .. } => "kfunc",
                    _ => "ksym",
                },
            },
            None => Symbol::Extern {
                name: &reloc.symbol,
                kind: "extern",
            },
        },
    })
}

/// Whether the `imm` of the call at `index` is the real distance to
/// `callee`: both in one section and `imm` landing on its first instruction.
fn points_at(function: &Function, index: usize, callee: &Function) -> bool {
    let Some(insn) = function.insns.get(index) else {
        return false;
    };
    let insn_size = crate::insn::INSN_SIZE as i128;
    let here = i128::from(function.offset) / insn_size + index as i128;
    function.section_index == callee.section_index
        && here + 1 + i128::from(insn.imm) == i128::from(callee.offset) / insn_size
}

/// Whether instruction `index` is the second half of an `ld_imm64`: walk
/// from the start, since a second half can look like anything.
fn is_second_half(function: &Function, index: usize) -> bool {
    let mut i = 0;
    while i < index {
        i += if function.insns[i].is_ld_imm64() {
            2
        } else {
            1
        };
    }
    i != index
}

/// A source line recorded in `.BTF.ext` line info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// The file as clang recorded it (often an absolute or relative path).
    pub file: String,
    /// The line number.
    pub line: u32,
    /// The column.
    pub column: u32,
    /// The line's text, as the BTF string table holds it.
    pub text: String,
}

impl SourceLine {
    /// `verifier_reject.c:22`: the file's base name, as the verifier log
    /// prints it.
    pub fn location(&self) -> String {
        let base = self.file.rsplit('/').next().unwrap_or(&self.file);
        format!("{base}:{}", self.line)
    }
}

impl std::fmt::Display for SourceLine {
    /// `verifier_reject.c:22: if (eth->h_proto == ...)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location(), self.text.trim())
    }
}

/// The source line instruction `index` of `function` came from: the last
/// line-info record at or before it that names a line (clang's line-0
/// records without text, for code it made up, are passed over, as in a
/// listing). `None` without line info.
pub fn source_line(function: &Function, index: usize, btf: &Btf) -> Option<SourceLine> {
    function
        .line_info
        .iter()
        .take_while(|r| r.insn_off as usize <= index)
        .filter_map(|record| {
            let text = btf.string(record.line_off).ok()?;
            (!text.trim().is_empty()).then(|| SourceLine {
                file: btf
                    .string(record.file_name_off)
                    .unwrap_or_default()
                    .to_owned(),
                line: record.line(),
                column: record.column(),
                text: text.to_owned(),
            })
        })
        .last()
}

/// The listing of one function: each instruction as `  12: text`, numbered
/// from the function's first instruction (as the verifier counts), with
/// the line-info records as `; text @ file:line` comments above the
/// instructions they start at.
pub fn function_listing(object: &Object, function: &Function) -> String {
    let mut out = String::new();
    let width = function
        .insns
        .len()
        .saturating_sub(1)
        .to_string()
        .len()
        .max(4);
    let mut lines = function.line_info.iter().peekable();
    let mut index = 0;
    while let Some(insn) = function.insns.get(index) {
        while let Some(record) = lines.next_if(|r| r.insn_off as usize <= index) {
            if let Some(btf) = &object.btf {
                let text = btf.string(record.line_off).unwrap_or_default();
                // clang's "no source line" records (line 0, no text), for
                // code it made up, such as spills: llvm-objdump -S shows
                // nothing for them either.
                if text.trim().is_empty() {
                    continue;
                }
                let file = btf.string(record.file_name_off).unwrap_or_default();
                let base = file.rsplit('/').next().unwrap_or(file);
                let _ = writeln!(out, "; {} @ {base}:{}", text.trim(), record.line());
            }
        }
        let _ = writeln!(
            out,
            "{index:>width$}: {}",
            render_insn(object, function, index)
        );
        index += if insn.is_ld_imm64() { 2 } else { 1 };
    }
    out
}

/// The subprograms `function` reaches through calls and function
/// addresses, directly or not, in the order first reached (the order the
/// loader appends them in), as indexes into `Object::subprograms`.
pub fn reached_subprograms(object: &Object, function: &Function) -> Vec<usize> {
    let mut reached: Vec<usize> = Vec::new();
    let mut queue: Vec<&Function> = vec![function];
    let mut next = 0;
    while let Some(current) = queue.get(next).copied() {
        next += 1;
        for reloc in &current.relocs {
            if let RelocTarget::Call(sub) | RelocTarget::FuncAddr(sub) = reloc.target {
                if !reached.contains(&sub) {
                    if let Some(callee) = object.subprograms.get(sub) {
                        reached.push(sub);
                        queue.push(callee);
                    }
                }
            }
        }
    }
    reached
}

/// `prog_fd[i]` with a header, then each subprogram it reaches: what
/// `rxdp inspect --disasm` prints for one program.
pub fn program_listing(object: &Object, index: usize) -> String {
    let Some(program) = object.programs.get(index) else {
        return String::new();
    };
    let function = &program.function;
    let mut out = format!(
        "prog_fd[{index}] {} (section {}, {} insns){}:\n",
        function.name,
        program.section,
        function.insns.len(),
        section_start(function)
    );
    out.push_str(&function_listing(object, function));
    for sub in reached_subprograms(object, function) {
        if let Some(callee) = object.subprograms.get(sub) {
            let _ = write!(
                out,
                "\nsubprogram {} (section {}, {} insns){}, called by {}:\n",
                callee.name,
                callee.section,
                callee.insns.len(),
                section_start(callee),
                function.name
            );
            out.push_str(&function_listing(object, callee));
        }
    }
    out
}

/// `, from insn 4 of the section` for a function that does not start its
/// section: llvm-objdump numbers from the section's start.
fn section_start(function: &Function) -> String {
    let first = function.offset / crate::insn::INSN_SIZE as u64;
    if first == 0 {
        String::new()
    } else {
        format!(", at insn {first} of the section")
    }
}

// ------------------------------------------------------------- one insn

fn invalid(insn: Insn) -> String {
    format!("<invalid code {:#04x}>", insn.code)
}

/// `w` for 32-bit classes, `r` for 64-bit ones.
fn reg_prefix(class: u8) -> char {
    if class == BPF_ALU || class == BPF_JMP32 {
        'w'
    } else {
        'r'
    }
}

fn alu_op(op: u8) -> Option<&'static str> {
    Some(match op {
        0x00 => "+=",
        0x10 => "-=",
        0x20 => "*=",
        0x30 => "/=",
        0x40 => "|=",
        0x50 => "&=",
        0x60 => "<<=",
        0x70 => ">>=",
        0x90 => "%=",
        0xa0 => "^=",
        0xb0 => "=",
        0xc0 => "s>>=",
        _ => return None,
    })
}

fn alu(insn: Insn) -> String {
    let class = insn.code & 0x07;
    let op = insn.code & 0xf0;
    let w = reg_prefix(class);
    let (dst, src) = (insn.dst_reg(), insn.src_reg());
    match op {
        // BPF_ALU | BPF_END converts byte order; BPF_ALU64 | BPF_END
        // (cpu v4) swaps unconditionally. Both print 64-bit names.
        BPF_END if class == BPF_ALU64 => format!("r{dst} = bswap{} r{dst}", insn.imm),
        BPF_END => {
            let order = if insn.code & BPF_TO_BE != 0 {
                "be"
            } else {
                "le"
            };
            format!("r{dst} = {order}{} r{dst}", insn.imm)
        }
        BPF_NEG => format!("{w}{dst} = -{w}{dst}"),
        BPF_MOV
            if class == BPF_ALU64 && insn.code & BPF_X != 0 && insn.off == BPF_ADDR_SPACE_CAST =>
        {
            let imm = insn.imm as u32;
            format!(
                "r{dst} = addr_space_cast(r{src}, {}, {})",
                imm >> 16,
                imm & 0xffff
            )
        }
        _ => {
            // cpu v4: `off` 1 makes div/mod signed; `off` 8/16/32 makes mov
            // sign-extend (BPF_MOVSX).
            let signed = (op == BPF_DIV || op == BPF_MOD) && insn.off == 1;
            let name = match (signed, op) {
                (true, BPF_DIV) => Some("s/="),
                (true, _) => Some("s%="),
                (false, _) => alu_op(op),
            };
            let Some(name) = name else {
                return invalid(insn);
            };
            if insn.code & BPF_X != 0 {
                let extend = match (op, insn.off) {
                    (BPF_MOV, 8) => "(s8)",
                    (BPF_MOV, 16) => "(s16)",
                    (BPF_MOV, 32) => "(s32)",
                    _ => "",
                };
                format!("{w}{dst} {name} {extend}{w}{src}")
            } else {
                format!("{w}{dst} {name} {}", insn.imm)
            }
        }
    }
}

/// `u32`, `u16`, `u8`, `u64` (or `s..` for sign-extending loads).
fn size_name(code: u8, signed: bool) -> Option<&'static str> {
    Some(match (code & 0x18, signed) {
        (BPF_W, false) => "u32",
        (BPF_H, false) => "u16",
        (BPF_B, false) => "u8",
        (BPF_DW, false) => "u64",
        (BPF_W, true) => "s32",
        (BPF_H, true) => "s16",
        (BPF_B, true) => "s8",
        _ => return None,
    })
}

/// `(r1 +4)`, `(r10 -8)`: the kernel's `(r%d %+d)`.
fn address(reg: u8, off: i16) -> String {
    format!("(r{reg} {off:+})")
}

fn ldx(insn: Insn) -> String {
    let mode = insn.code & 0xe0;
    let size = match mode {
        BPF_MEM => size_name(insn.code, false),
        BPF_MEMSX => size_name(insn.code, true),
        _ => None,
    };
    match size {
        Some(size) => format!(
            "r{} = *({size} *){}",
            insn.dst_reg(),
            address(insn.src_reg(), insn.off)
        ),
        None => invalid(insn),
    }
}

fn st(insn: Insn) -> String {
    match (insn.code & 0xe0, size_name(insn.code, false)) {
        (BPF_MEM, Some(size)) => format!(
            "*({size} *){} = {}",
            address(insn.dst_reg(), insn.off),
            insn.imm
        ),
        (BPF_NOSPEC, _) => "nospec".to_owned(),
        _ => invalid(insn),
    }
}

fn stx(insn: Insn) -> String {
    let Some(size) = size_name(insn.code, false) else {
        return invalid(insn);
    };
    let (dst, src) = (insn.dst_reg(), insn.src_reg());
    let at = address(dst, insn.off);
    match insn.code & 0xe0 {
        BPF_MEM => format!("*({size} *){at} = r{src}"),
        BPF_ATOMIC => {
            let bits = if insn.code & 0x18 == BPF_DW { "64" } else { "" };
            match insn.imm {
                BPF_ADD | BPF_AND | BPF_OR | BPF_XOR => {
                    let op = alu_op(insn.imm as u8).unwrap_or("?=");
                    format!("lock *({size} *){at} {op} r{src}")
                }
                imm if imm & !0xf0 == BPF_FETCH
                    && matches!(imm & 0xf0, BPF_ADD | BPF_AND | BPF_OR | BPF_XOR) =>
                {
                    let op = match imm & 0xf0 {
                        BPF_ADD => "add",
                        BPF_AND => "and",
                        BPF_OR => "or",
                        _ => "xor",
                    };
                    format!("r{src} = atomic{bits}_fetch_{op}(({size} *){at}, r{src})")
                }
                BPF_CMPXCHG => format!("r0 = atomic{bits}_cmpxchg(({size} *){at}, r0, r{src})"),
                BPF_XCHG => format!("r{src} = atomic{bits}_xchg(({size} *){at}, r{src})"),
                // load-acquire reads through src_reg into dst_reg.
                BPF_LOAD_ACQ => format!(
                    "r{dst} = load_acquire(({size} *){})",
                    address(src, insn.off)
                ),
                BPF_STORE_REL => format!("store_release(({size} *){at}, r{src})"),
                _ => invalid(insn),
            }
        }
        _ => invalid(insn),
    }
}

fn ld(insn: Insn, next: Option<Insn>, symbol: Option<Symbol<'_>>) -> String {
    let size = size_name(insn.code, false).unwrap_or("?");
    match insn.code & 0xe0 {
        // Legacy packet loads of socket filters: r0 = skb data at imm.
        BPF_ABS => format!("r0 = *({size} *)skb[{}]", insn.imm),
        BPF_IND => format!("r0 = *({size} *)skb[r{} + {}]", insn.src_reg(), insn.imm),
        BPF_IMM if insn.code & 0x18 == BPF_DW => {
            let dst = insn.dst_reg();
            let Some(next) = next else {
                return format!("r{dst} = <ld_imm64 without its second half>");
            };
            match symbol {
                Some(Symbol::Map(name)) => return format!("r{dst} = map[{name}]"),
                Some(Symbol::MapValue { map, offset }) => {
                    return format!("r{dst} = map[{map}]+{offset}")
                }
                Some(Symbol::FuncAddr(name)) => return format!("r{dst} = func[{name}]"),
                Some(Symbol::Extern { name, kind }) => return format!("r{dst} = {kind}[{name}]"),
                _ => {}
            }
            let imm = insn.imm as u32;
            let high = next.imm as u32;
            match insn.src_reg() {
                BPF_PSEUDO_MAP_FD => format!("r{dst} = map[fd:{imm}]"),
                BPF_PSEUDO_MAP_VALUE => format!("r{dst} = map[fd:{imm}]+{high}"),
                BPF_PSEUDO_MAP_IDX => format!("r{dst} = map[idx:{imm}]"),
                BPF_PSEUDO_MAP_IDX_VALUE => format!("r{dst} = map[idx:{imm}]+{high}"),
                BPF_PSEUDO_BTF_ID => format!("r{dst} = btf_id[{imm}]"),
                BPF_PSEUDO_FUNC => format!("r{dst} = func[pc{:+}]", insn.imm),
                0 => format!("r{dst} = {:#x} ll", u64::from(high) << 32 | u64::from(imm)),
                _ => invalid(insn),
            }
        }
        _ => invalid(insn),
    }
}

fn jmp_op(op: u8) -> Option<&'static str> {
    Some(match op {
        0x10 => "==",
        0x20 => ">",
        0x30 => ">=",
        0x40 => "&",
        0x50 => "!=",
        0x60 => "s>",
        0x70 => "s>=",
        0xa0 => "<",
        0xb0 => "<=",
        0xc0 => "s<",
        0xd0 => "s<=",
        _ => return None,
    })
}

fn jmp(insn: Insn, symbol: Option<Symbol<'_>>) -> String {
    let class = insn.code & 0x07;
    let op = insn.code & 0xf0;
    match (class, op) {
        (BPF_JMP, BPF_CALL) => call(insn, symbol),
        (BPF_JMP, BPF_EXIT) => "exit".to_owned(),
        (BPF_JMP, BPF_JA) if insn.code & BPF_X != 0 => format!("gotox r{}", insn.dst_reg()),
        (BPF_JMP, BPF_JA) => format!("goto pc{:+}", insn.off),
        // cpu v4: the 32-bit jump keeps its distance in imm.
        (BPF_JMP32, BPF_JA) => format!("gotol pc{:+}", insn.imm),
        (BPF_JMP, BPF_JCOND) if insn.src_reg() == BPF_MAY_GOTO => {
            format!("may_goto pc{:+}", insn.off)
        }
        _ => {
            let Some(name) = jmp_op(op) else {
                return invalid(insn);
            };
            let w = reg_prefix(class);
            let dst = insn.dst_reg();
            if insn.code & BPF_X != 0 {
                format!(
                    "if {w}{dst} {name} {w}{} goto pc{:+}",
                    insn.src_reg(),
                    insn.off
                )
            } else {
                format!(
                    "if {w}{dst} {name} {:#x} goto pc{:+}",
                    insn.imm as u32, insn.off
                )
            }
        }
    }
}

fn call(insn: Insn, symbol: Option<Symbol<'_>>) -> String {
    match (insn.src_reg(), symbol) {
        (
            _,
            Some(Symbol::Call {
                name,
                pc_relative: true,
            }),
        ) => {
            format!("call pc{:+} <{name}>", insn.imm)
        }
        (
            _,
            Some(Symbol::Call {
                name,
                pc_relative: false,
            }),
        ) => format!("call {name}"),
        (_, Some(Symbol::Kfunc(name))) => format!("call {name}#kfunc"),
        (BPF_PSEUDO_CALL, _) => format!("call pc{:+}", insn.imm),
        (BPF_PSEUDO_KFUNC_CALL, _) => format!("call kernel-function#{}", insn.imm),
        (0, _) => format!(
            "call {}#{}",
            helper_name(insn.imm).unwrap_or("unknown"),
            insn.imm
        ),
        _ => invalid(insn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: dst | (src << 4),
            off,
            imm,
        }
    }

    fn one(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> String {
        render(insn(code, dst, src, off, imm), None, None)
    }

    #[test]
    fn helper_table_follows_the_uapi_order() {
        assert_eq!(HELPERS.len(), 212);
        assert_eq!(helper_name(0), Some("bpf_unspec"));
        assert_eq!(helper_name(1), Some("bpf_map_lookup_elem"));
        assert_eq!(helper_name(6), Some("bpf_trace_printk"));
        assert_eq!(helper_name(12), Some("bpf_tail_call"));
        assert_eq!(helper_name(44), Some("bpf_xdp_adjust_head"));
        assert_eq!(helper_name(51), Some("bpf_redirect_map"));
        assert_eq!(helper_name(54), Some("bpf_xdp_adjust_meta"));
        assert_eq!(helper_name(130), Some("bpf_ringbuf_output"));
        assert_eq!(helper_name(209), Some("bpf_user_ringbuf_drain"));
        assert_eq!(helper_name(211), Some("bpf_cgrp_storage_delete"));
        assert_eq!(helper_name(212), None);
        assert_eq!(helper_name(-1), None);
    }

    #[test]
    fn alu_in_both_widths() {
        assert_eq!(one(0xbf, 6, 1, 0, 0), "r6 = r1");
        assert_eq!(one(0xb7, 0, 0, 0, 2), "r0 = 2");
        assert_eq!(one(0x07, 2, 0, 0, -48), "r2 += -48");
        assert_eq!(one(0x0c, 1, 2, 0, 0), "w1 += w2");
        assert_eq!(one(0x04, 1, 0, 0, -1), "w1 += -1");
        assert_eq!(one(0xc7, 1, 0, 0, 3), "r1 s>>= 3");
        assert_eq!(one(0x87, 3, 0, 0, 0), "r3 = -r3");
        assert_eq!(one(0x84, 3, 0, 0, 0), "w3 = -w3");
        assert_eq!(one(0x3f, 1, 2, 1, 0), "r1 s/= r2");
        assert_eq!(one(0x97, 1, 0, 1, 7), "r1 s%= 7");
        assert_eq!(one(0x9f, 1, 2, 0, 0), "r1 %= r2");
        assert_eq!(one(0xbf, 1, 2, 8, 0), "r1 = (s8)r2");
        assert_eq!(one(0xbc, 1, 2, 16, 0), "w1 = (s16)w2");
        assert_eq!(one(0xbf, 1, 2, 32, 0), "r1 = (s32)r2");
        assert_eq!(one(0xdc, 1, 0, 0, 16), "r1 = be16 r1");
        assert_eq!(one(0xd4, 1, 0, 0, 32), "r1 = le32 r1");
        assert_eq!(one(0xd7, 1, 0, 0, 64), "r1 = bswap64 r1");
        assert_eq!(one(0xbf, 1, 2, 1, 1), "r1 = addr_space_cast(r2, 0, 1)");
        assert_eq!(one(0xe7, 1, 0, 0, 0), "<invalid code 0xe7>");
    }

    #[test]
    fn memory_accesses() {
        assert_eq!(one(0x61, 1, 1, 4, 0), "r1 = *(u32 *)(r1 +4)");
        assert_eq!(one(0x69, 1, 1, 12, 0), "r1 = *(u16 *)(r1 +12)");
        assert_eq!(one(0x91, 1, 2, -3, 0), "r1 = *(s8 *)(r2 -3)");
        assert_eq!(one(0x63, 10, 7, -48, 0), "*(u32 *)(r10 -48) = r7");
        assert_eq!(one(0x7a, 10, 0, -8, 0), "*(u64 *)(r10 -8) = 0");
        assert_eq!(one(0x72, 10, 0, -1, -5), "*(u8 *)(r10 -1) = -5");
        assert_eq!(one(0xdb, 1, 2, 0, 0x00), "lock *(u64 *)(r1 +0) += r2");
        assert_eq!(one(0xc3, 1, 2, 8, 0x50), "lock *(u32 *)(r1 +8) &= r2");
        assert_eq!(
            one(0xdb, 1, 2, 0, 0x01),
            "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)"
        );
        assert_eq!(
            one(0xc3, 1, 2, 0, 0xa1),
            "r2 = atomic_fetch_xor((u32 *)(r1 +0), r2)"
        );
        assert_eq!(
            one(0xdb, 1, 2, 0, 0xe1),
            "r2 = atomic64_xchg((u64 *)(r1 +0), r2)"
        );
        assert_eq!(
            one(0xdb, 1, 2, 0, 0xf1),
            "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)"
        );
        assert_eq!(
            one(0xdb, 1, 2, 0, 0x100),
            "r1 = load_acquire((u64 *)(r2 +0))"
        );
        assert_eq!(
            one(0xdb, 1, 2, 0, 0x110),
            "store_release((u64 *)(r1 +0), r2)"
        );
        assert_eq!(one(0x30, 0, 0, 0, 12), "r0 = *(u8 *)skb[12]");
        assert_eq!(one(0x48, 0, 3, 0, 2), "r0 = *(u16 *)skb[r3 + 2]");
        assert_eq!(one(0xc2, 0, 0, 0, 0), "nospec");
    }

    #[test]
    fn ld_imm64_constants_and_symbols() {
        let low = insn(0x18, 1, 0, 0, 0x1234);
        let high = insn(0, 0, 0, 0, 0);
        assert_eq!(render(low, Some(high), None), "r1 = 0x1234 ll");
        let high = insn(0, 0, 0, 0, -1);
        assert_eq!(
            render(insn(0x18, 1, 0, 0, -1), Some(high), None),
            "r1 = 0xffffffffffffffff ll"
        );
        assert_eq!(
            render(low, Some(high), Some(Symbol::Map("jmp_table1"))),
            "r1 = map[jmp_table1]"
        );
        assert_eq!(
            render(
                low,
                Some(high),
                Some(Symbol::MapValue {
                    map: ".rodata",
                    offset: 4
                })
            ),
            "r1 = map[.rodata]+4"
        );
        let fd = insn(0x18, 2, BPF_PSEUDO_MAP_FD, 0, 7);
        assert_eq!(
            render(fd, Some(insn(0, 0, 0, 0, 0)), None),
            "r2 = map[fd:7]"
        );
        let value = insn(0x18, 2, BPF_PSEUDO_MAP_VALUE, 0, 7);
        assert_eq!(
            render(value, Some(insn(0, 0, 0, 0, 16)), None),
            "r2 = map[fd:7]+16"
        );
        assert_eq!(
            render(low, None, None),
            "r1 = <ld_imm64 without its second half>"
        );
    }

    #[test]
    fn jumps_and_calls() {
        assert_eq!(one(0x15, 0, 0, 2, 0), "if r0 == 0x0 goto pc+2");
        assert_eq!(one(0x2d, 2, 3, 5, 0), "if r2 > r3 goto pc+5");
        assert_eq!(one(0xa6, 1, 0, -4, 7), "if w1 < 0x7 goto pc-4");
        assert_eq!(one(0x55, 1, 0, 1, -1), "if r1 != 0xffffffff goto pc+1");
        assert_eq!(one(0xcd, 1, 2, 3, 0), "if r1 s< r2 goto pc+3");
        assert_eq!(one(0x45, 1, 0, 3, 8), "if r1 & 0x8 goto pc+3");
        assert_eq!(one(0x05, 0, 0, -7, 0), "goto pc-7");
        assert_eq!(one(0x06, 0, 0, 0, 70000), "gotol pc+70000");
        assert_eq!(one(0xe5, 0, 0, 12, 0), "may_goto pc+12");
        assert_eq!(one(0x95, 0, 0, 0, 0), "exit");
        assert_eq!(one(0x85, 0, 0, 0, 12), "call bpf_tail_call#12");
        assert_eq!(one(0x85, 0, 0, 0, 999), "call unknown#999");
        assert_eq!(one(0x85, 0, 1, 0, 5), "call pc+5");
        assert_eq!(one(0x85, 0, 2, 0, 345), "call kernel-function#345");
        let call = insn(0x85, 0, 1, 0, -1);
        let named = |pc_relative| Symbol::Call {
            name: "count_hit",
            pc_relative,
        };
        assert_eq!(render(call, None, Some(named(false))), "call count_hit");
        let call = insn(0x85, 0, 1, 0, 3);
        assert_eq!(
            render(call, None, Some(named(true))),
            "call pc+3 <count_hit>"
        );
        let kfunc = insn(0x85, 0, 2, 0, -1);
        assert_eq!(
            render(kfunc, None, Some(Symbol::Kfunc("bpf_obj_new_impl"))),
            "call bpf_obj_new_impl#kfunc"
        );
        assert_eq!(one(0x96, 0, 0, 0, 0), "<invalid code 0x96>");
    }
}
