//! Code sections split into functions.
//!
//! Every executable section (`SHT_PROGBITS` with `SHF_EXECINSTR`) holds one
//! or more functions, each an `STT_FUNC` symbol: its start is `st_value`,
//! its length `st_size` (or, when clang left it 0, up to the next function
//! or the section end). A section without any function symbol (objects of
//! the bpf_load.c era) is one function covering the whole section, named
//! after it.

use std::collections::BTreeMap;

use crate::container::{Elf, Symbol, SymbolKind};
use crate::error::ParseError;
use crate::insn::{self, Insn, INSN_SIZE};

/// One function: a byte range of a code section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FuncSpan {
    pub name: String,
    /// ELF index of its section.
    pub section: usize,
    /// Byte offsets within the section, `start..end`, multiples of 8.
    pub start: u64,
    pub end: u64,
    /// `STB_GLOBAL`/`STB_WEAK` (a program when outside `.text`), or the
    /// whole section of an old object.
    pub global: bool,
}

/// A function is named by its section and its index in that section's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FuncRef {
    pub section: usize,
    pub index: usize,
}

/// One executable section, decoded.
#[derive(Debug)]
pub(crate) struct CodeSection {
    pub name: String,
    pub insns: Vec<Insn>,
    /// Sorted by start; they never overlap.
    pub funcs: Vec<FuncSpan>,
}

impl CodeSection {
    /// The function whose range holds byte `offset`.
    pub fn func_at(&self, offset: u64) -> Option<usize> {
        let i = self.funcs.partition_point(|f| f.start <= offset);
        let candidate = i.checked_sub(1)?;
        self.funcs
            .get(candidate)
            .filter(|f| offset < f.end)
            .map(|_| candidate)
    }

    /// The function starting exactly at byte `offset`.
    pub fn func_starting_at(&self, offset: u64) -> Option<usize> {
        self.funcs.binary_search_by(|f| f.start.cmp(&offset)).ok()
    }

    /// The instructions of function `index`.
    pub fn func_insns(&self, index: usize) -> &[Insn] {
        self.funcs
            .get(index)
            .and_then(|f| {
                let start = usize::try_from(f.start / INSN_SIZE as u64).ok()?;
                let end = usize::try_from(f.end / INSN_SIZE as u64).ok()?;
                self.insns.get(start..end)
            })
            .unwrap_or(&[])
    }
}

/// Every non-empty code section, by ELF index.
#[derive(Debug, Default)]
pub(crate) struct Code {
    pub sections: BTreeMap<usize, CodeSection>,
}

impl Code {
    pub fn read(elf: &Elf<'_>) -> Result<Code, ParseError> {
        // Function symbols by section, gathered in one pass over the symbols.
        let mut symbols_of: BTreeMap<usize, Vec<&Symbol>> = BTreeMap::new();
        for symbol in elf.symbols.iter().filter(|s| s.kind == SymbolKind::Func) {
            if let Some(section) = symbol.section {
                symbols_of.entry(section).or_default().push(symbol);
            }
        }
        let mut sections = BTreeMap::new();
        for section in elf.sections.iter().filter(|s| s.is_code() && s.size > 0) {
            let bytes = section.bytes()?;
            let insns = insn::decode(bytes).ok_or_else(|| ParseError::CodeSize {
                section: section.name.clone(),
                size: section.size,
            })?;
            let symbols = symbols_of.remove(&section.index).unwrap_or_default();
            let funcs = functions_of(symbols, section.index, &section.name, section.size)?;
            sections.insert(
                section.index,
                CodeSection {
                    name: section.name.clone(),
                    insns,
                    funcs,
                },
            );
        }
        Ok(Code { sections })
    }

    pub fn section(&self, index: usize) -> Option<&CodeSection> {
        self.sections.get(&index)
    }

    pub fn func(&self, f: FuncRef) -> Option<&FuncSpan> {
        self.sections.get(&f.section)?.funcs.get(f.index)
    }
}

/// The functions of one code section, sorted and checked.
fn functions_of(
    mut symbols: Vec<&Symbol>,
    section: usize,
    section_name: &str,
    size: u64,
) -> Result<Vec<FuncSpan>, ParseError> {
    if symbols.is_empty() {
        let whole = FuncSpan {
            name: section_name.to_owned(),
            section,
            start: 0,
            end: size,
            global: true,
        };
        return Ok(vec![whole]);
    }
    // Aliases (two symbols at one offset) keep the global one, then the
    // first name: one function, one set of relocations.
    symbols.sort_by(|a, b| {
        a.value
            .cmp(&b.value)
            .then(b.global.cmp(&a.global))
            .then_with(|| a.name.cmp(&b.name))
    });
    symbols.dedup_by_key(|s| s.value);
    let mut funcs: Vec<FuncSpan> = Vec::with_capacity(symbols.len());
    for (i, symbol) in symbols.iter().enumerate() {
        let next_start = symbols.get(i + 1).map_or(size, |s| s.value);
        let end = match symbol.size {
            0 => Some(next_start),
            len => symbol.value.checked_add(len),
        };
        let bad = || ParseError::FunctionBounds {
            function: symbol.name.clone(),
            section: section_name.to_owned(),
            offset: symbol.value,
            size: symbol.size,
            section_size: size,
        };
        let end = end.ok_or_else(bad)?;
        let aligned = symbol.value % INSN_SIZE as u64 == 0 && end % INSN_SIZE as u64 == 0;
        if !aligned || symbol.value >= end || end > size {
            return Err(bad());
        }
        if end > next_start {
            return Err(ParseError::FunctionsOverlap {
                first: symbol.name.clone(),
                second: symbols
                    .get(i + 1)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                section: section_name.to_owned(),
            });
        }
        funcs.push(FuncSpan {
            name: symbol.name.clone(),
            section,
            start: symbol.value,
            end,
            global: symbol.global,
        });
    }
    Ok(funcs)
}
