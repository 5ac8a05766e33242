//! Relocations of code, resolved to the model.
//!
//! clang leaves two kinds in code sections (`.rel<section>`):
//! - `R_BPF_64_64` on an `ld_imm64`: the address of a map definition
//!   (`maps`, `.maps`), of a global variable (`.data`, `.rodata`, `.bss`...;
//!   for a section symbol the offset is in the instruction's `imm`), or of
//!   a function (a callback, later `BPF_PSEUDO_FUNC`);
//! - `R_BPF_64_32` on a `call` with `src_reg = BPF_PSEUDO_CALL`: a call to
//!   another BPF function. Against a section symbol the target is
//!   `st_value + (imm + 1) * 8` bytes into that section; against a function
//!   symbol clang sets `imm = -1`, so the same formula gives the symbol
//!   itself. Against an undefined symbol it is a kernel function (kfunc)
//!   when `.BTF` declares it extern, an error otherwise.
//!
//! Calls between functions of one section need no relocation: `imm` is
//! already relative to the next instruction. They are recorded too, so
//! that a loader finds every call in `relocs`.
//!
//! Relocations of other sections (`.BTF`, `.BTF.ext`, DWARF) concern debug
//! information and are not applied; `.rel.maps` is read by the BTF maps.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use crate::container::{Elf, RelocEntry, RelocTable, Symbol};
use crate::error::ParseError;
use crate::externs::{Extern, ExternKind};
use crate::functions::{Code, CodeSection, FuncRef, FuncSpan};
use crate::insn::{Insn, INSN_SIZE};
use crate::maps::{is_data_section, MapTable};
use crate::model::{Reloc, RelocTarget};

/// `R_BPF_NONE`.
pub(crate) const R_BPF_NONE: u32 = 0;
/// `R_BPF_64_64`: 64-bit address in an `ld_imm64`.
pub(crate) const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_ABS64`: 64-bit data address (`.rel.maps` initialisers, DWARF).
pub(crate) const R_BPF_64_ABS64: u32 = 2;
/// `R_BPF_64_32`: a BPF-to-BPF call.
pub(crate) const R_BPF_64_32: u32 = 10;

/// Hands out `Object::subprograms` indexes: the first time a function is
/// the target of a call or address, it is appended.
pub(crate) trait SubprogramIndex {
    fn index_of(&mut self, func: FuncRef) -> usize;
}

/// Resolves the relocations of any function of the object.
#[derive(Debug)]
pub(crate) struct Resolver<'e, 'a> {
    elf: &'e Elf<'a>,
    code: &'e Code,
    maps: &'e MapTable,
    /// The object's `__kconfig` and `__ksym` externs.
    externs: &'e [Extern],
    /// Relocation entries of each code section, sorted by offset.
    by_section: BTreeMap<usize, Vec<RelocEntry>>,
}

/// Checks a relocation of code section `section`: a known type, on an
/// instruction of some function, against a symbol. False for one to skip:
/// on code of no function (see [`Resolver::new`]).
fn check_entry(
    elf: &Elf<'_>,
    section: &CodeSection,
    entry: &RelocEntry,
) -> Result<bool, ParseError> {
    let symbol = elf
        .symbols
        .get(entry.symbol)
        .map_or("", |s| s.name.as_str());
    if entry.r_type != R_BPF_64_64 && entry.r_type != R_BPF_64_32 {
        return Err(ParseError::UnsupportedRelocation {
            r_type: entry.r_type,
            section: section.name.clone(),
            offset: entry.offset,
            symbol: symbol.to_owned(),
        });
    }
    let function = section
        .func_at(entry.offset)
        .and_then(|i| section.funcs.get(i));
    let aligned = entry.offset % INSN_SIZE as u64 == 0;
    let in_code = entry.offset < section.insns.len() as u64 * INSN_SIZE as u64;
    if function.is_none() && aligned && in_code {
        // Overridden weak code: see `Resolver::new`.
        return Ok(false);
    }
    let on_insn = function.is_some_and(|f| (entry.offset - f.start) % INSN_SIZE as u64 == 0);
    if !on_insn {
        return Err(ParseError::RelocOutsideFunction {
            section: section.name.clone(),
            offset: entry.offset,
            symbol: symbol.to_owned(),
        });
    }
    if entry.symbol == 0 {
        return Err(ParseError::RelocNullSymbol {
            section: section.name.clone(),
            offset: entry.offset,
        });
    }
    Ok(true)
}

/// Where an instruction is, for messages.
struct Site<'s> {
    function: &'s str,
    section: &'s str,
    insn: usize,
}

impl<'e, 'a> Resolver<'e, 'a> {
    /// Gathers the relocations of every code section from `tables` (the
    /// container's tables of code sections, taken over), checking that each
    /// lands on an instruction of some function and has a known type.
    ///
    /// A relocation on an instruction that belongs to no function is
    /// skipped, as libbpf skips it: `bpftool gen object` keeps the code of
    /// a weak function that a strong one overrides, but not its symbol, and
    /// that code is never part of a program.
    pub fn new(
        elf: &'e Elf<'a>,
        tables: Vec<RelocTable>,
        code: &'e Code,
        maps: &'e MapTable,
        externs: &'e [Extern],
    ) -> Result<Resolver<'e, 'a>, ParseError> {
        let mut by_section: BTreeMap<usize, Vec<RelocEntry>> = BTreeMap::new();
        for table in tables {
            let Some(section) = code.section(table.target) else {
                continue;
            };
            // The entries stay where the container read them: a big
            // object has thousands.
            let mut entries = table.entries;
            let mut refused = None;
            entries.retain(|entry| {
                if refused.is_some() || entry.r_type == R_BPF_NONE {
                    return false;
                }
                match check_entry(elf, section, entry) {
                    Ok(keep) => keep,
                    Err(error) => {
                        refused = Some(error);
                        false
                    }
                }
            });
            if let Some(error) = refused {
                return Err(error);
            }
            if entries.is_empty() {
                continue;
            }
            match by_section.entry(table.target) {
                Entry::Vacant(slot) => {
                    slot.insert(entries);
                }
                Entry::Occupied(slot) => slot.into_mut().extend(entries),
            }
        }
        for (&index, entries) in by_section.iter_mut() {
            entries.sort_by_key(|e| e.offset);
            // Two relocations of one instruction: which should win?
            let twice = entries.windows(2).find_map(|w| match w {
                [a, b] if a.offset == b.offset => Some(a.offset),
                _ => None,
            });
            if let Some(offset) = twice {
                return Err(ParseError::RelocTwice {
                    section: elf.section_name(index).to_owned(),
                    offset,
                });
            }
        }
        Ok(Resolver {
            elf,
            code,
            maps,
            externs,
            by_section,
        })
    }

    /// The relocations of function `func`, sorted by instruction, including
    /// the calls within its section that needed no ELF relocation.
    pub fn relocs(
        &self,
        func: FuncRef,
        subprograms: &mut impl SubprogramIndex,
    ) -> Result<Vec<Reloc>, ParseError> {
        let (Some(section), Some(span)) = (self.code.section(func.section), self.code.func(func))
        else {
            return Ok(Vec::new());
        };
        let insns = section.func_insns(func.index);
        let entries = self.by_section.get(&func.section).map_or(&[][..], |e| e);
        let first = entries.partition_point(|e| e.offset < span.start);
        let mut relocated = vec![false; insns.len()];
        let mut out = Vec::new();
        for entry in entries
            .iter()
            .skip(first)
            .take_while(|e| e.offset < span.end)
        {
            // `new` checked alignment and that the offset is in a function.
            let index = usize::try_from((entry.offset - span.start) / INSN_SIZE as u64)
                .unwrap_or(usize::MAX);
            let site = Site {
                function: &span.name,
                section: &section.name,
                insn: index,
            };
            let Some(symbol) = self.elf.symbols.get(entry.symbol) else {
                continue;
            };
            let insn = insns.get(index).copied().unwrap_or_default();
            let target = if entry.r_type == R_BPF_64_64 {
                let has_second_half = index + 1 < insns.len();
                self.address(&site, insn, has_second_half, symbol, entry, subprograms)?
            } else {
                self.call(&site, insn, symbol, entry, subprograms)?
            };
            if let Some(flag) = relocated.get_mut(index) {
                *flag = true;
            }
            out.push(Reloc {
                insn: index,
                symbol: symbol.name.clone(),
                target,
            });
        }
        self.local_calls(func, span, insns, &relocated, &mut out, subprograms)?;
        out.sort_by_key(|r| r.insn);
        Ok(out)
    }

    /// `R_BPF_64_64`: what an `ld_imm64` loads the address of.
    fn address(
        &self,
        site: &Site<'_>,
        insn: Insn,
        has_second_half: bool,
        symbol: &Symbol,
        entry: &RelocEntry,
        subprograms: &mut impl SubprogramIndex,
    ) -> Result<RelocTarget, ParseError> {
        if !insn.is_ld_imm64() || !has_second_half {
            return Err(ParseError::RelocNotLdImm64 {
                symbol: symbol.name.clone(),
                function: site.function.to_owned(),
                section: site.section.to_owned(),
                insn: site.insn,
            });
        }
        if symbol.undefined {
            if let Some(index) = self.externs.iter().position(|e| e.name == symbol.name) {
                return Ok(RelocTarget::Extern(index));
            }
            return Err(ParseError::ExternVariable {
                symbol: symbol.name.clone(),
                function: site.function.to_owned(),
                section: site.section.to_owned(),
                insn: site.insn,
            });
        }
        let target_section = symbol.section.and_then(|s| self.elf.section(s));
        let problem = |detail: &str| ParseError::RelocTarget {
            function: site.function.to_owned(),
            section: site.section.to_owned(),
            insn: site.insn,
            detail: match target_section {
                Some(s) => format!("`{}` (in section `{}`) {detail}", symbol.name, s.name),
                None => format!("`{}` {detail}", symbol.name),
            },
        };
        let Some(target_section) = target_section else {
            return Err(problem("is not defined in a section"));
        };
        // For a section symbol clang puts the offset into the section in
        // `imm`; for a named symbol `imm` is 0.
        let offset = i128::from(symbol.value) + i128::from(insn.imm) + i128::from(entry.addend);
        let offset =
            u64::try_from(offset).map_err(|_| problem("is referenced at a negative offset"))?;
        let index = target_section.index;
        if let Some(code) = self.code.section(index) {
            let func = code.func_starting_at(offset).ok_or_else(|| {
                problem(&format!(
                    "offset {offset:#x} is not the start of a function"
                ))
            })?;
            return Ok(RelocTarget::FuncAddr(subprograms.index_of(FuncRef {
                section: index,
                index: func,
            })));
        }
        let name = target_section.name.as_str();
        if name == "maps" || name == ".maps" {
            return self
                .maps
                .definition_at(index, offset)
                .map(RelocTarget::Map)
                .ok_or_else(|| {
                    problem(&format!(
                        "offset {offset:#x} is not the start of a map definition"
                    ))
                });
        }
        if is_data_section(name) {
            let map = self
                .maps
                .data_section(index)
                .ok_or_else(|| problem("is in an empty data section"))?;
            if offset >= target_section.size {
                return Err(problem(&format!(
                    "offset {offset:#x} lies beyond the section's {} bytes",
                    target_section.size
                )));
            }
            let offset = u32::try_from(offset).map_err(|_| problem("offset beyond 4 GiB"))?;
            return Ok(RelocTarget::MapValue { map, offset });
        }
        Err(problem(
            "is neither a map, a global variable nor a function; only those can be loaded by address",
        ))
    }

    /// `R_BPF_64_32`: a call to another function, or to a kernel function.
    fn call(
        &self,
        site: &Site<'_>,
        insn: Insn,
        symbol: &Symbol,
        entry: &RelocEntry,
        subprograms: &mut impl SubprogramIndex,
    ) -> Result<RelocTarget, ParseError> {
        if !insn.is_pseudo_call() {
            return Err(ParseError::RelocNotCall {
                symbol: symbol.name.clone(),
                function: site.function.to_owned(),
                section: site.section.to_owned(),
                insn: site.insn,
            });
        }
        if symbol.undefined {
            let kfunc = self
                .externs
                .iter()
                .any(|e| e.name == symbol.name && matches!(e.kind, ExternKind::Kfunc { .. }));
            if kfunc {
                return Ok(RelocTarget::Kfunc(symbol.name.clone()));
            }
            return Err(ParseError::UndefinedFunction {
                symbol: symbol.name.clone(),
                function: site.function.to_owned(),
                section: site.section.to_owned(),
                insn: site.insn,
            });
        }
        let target = i128::from(symbol.value)
            + (i128::from(insn.imm) + 1) * INSN_SIZE as i128
            + i128::from(entry.addend);
        let section = symbol.section.unwrap_or(0);
        self.call_target(site, section, target, subprograms)
            .map(|(resolved, _)| resolved)
    }

    /// Calls with `src_reg = BPF_PSEUDO_CALL` and no relocation: a call to a
    /// function of the same section, `imm + 1` instructions on.
    fn local_calls(
        &self,
        func: FuncRef,
        span: &FuncSpan,
        insns: &[Insn],
        relocated: &[bool],
        out: &mut Vec<Reloc>,
        subprograms: &mut impl SubprogramIndex,
    ) -> Result<(), ParseError> {
        let Some(section) = self.code.section(func.section) else {
            return Ok(());
        };
        let mut index = 0;
        while let Some(insn) = insns.get(index).copied() {
            if insn.is_pseudo_call() && !relocated.get(index).copied().unwrap_or(false) {
                let site = Site {
                    function: &span.name,
                    section: &section.name,
                    insn: index,
                };
                let here = i128::from(span.start) + (index as i128) * INSN_SIZE as i128;
                let target = here + (i128::from(insn.imm) + 1) * INSN_SIZE as i128;
                let (resolved, name) =
                    self.call_target(&site, func.section, target, subprograms)?;
                out.push(Reloc {
                    insn: index,
                    symbol: name,
                    target: resolved,
                });
            }
            // The second half of an ld_imm64 is data, not an instruction.
            index += if insn.is_ld_imm64() { 2 } else { 1 };
        }
        Ok(())
    }

    /// The function starting at byte `target` of code section `section`,
    /// as a call target, with its name.
    fn call_target(
        &self,
        site: &Site<'_>,
        section: usize,
        target: i128,
        subprograms: &mut impl SubprogramIndex,
    ) -> Result<(RelocTarget, String), ParseError> {
        let code = self.code.section(section);
        let func = code.and_then(|c| c.func_starting_at(u64::try_from(target).ok()?));
        let span = func.and_then(|index| {
            self.code
                .func(FuncRef { section, index })
                .map(|f| (index, f))
        });
        match span {
            Some((index, f)) => Ok((
                RelocTarget::Call(subprograms.index_of(FuncRef { section, index })),
                f.name.clone(),
            )),
            None => Err(ParseError::CallTarget {
                function: site.function.to_owned(),
                section: site.section.to_owned(),
                insn: site.insn,
                target_section: self.elf.section_name(section).to_owned(),
                target_offset: i64::try_from(target).unwrap_or(if target < 0 {
                    i64::MIN
                } else {
                    i64::MAX
                }),
            }),
        }
    }
}
