//! `.BTF.ext` records split per function.
//!
//! `.BTF.ext` gives func_info, line_info and CO-RE records per ELF section,
//! each at a byte offset from the section start. `BPF_PROG_LOAD` wants them
//! per program, counted in instructions from the program's start, so each
//! function takes the records that fall in its byte range. The records are
//! indexed once, by section and offset, so that splitting costs a binary
//! search per function rather than a pass over every record.

use std::collections::BTreeMap;

use crate::btf::{BtfExt, CoreReloc, FuncInfo, LineInfo, SectionRecords};
use crate::error::ParseError;
use crate::functions::FuncSpan;
use crate::insn::INSN_SIZE;

/// The records of one function, offsets relative to its first instruction.
#[derive(Debug, Default)]
pub(crate) struct FunctionRecords {
    /// The `BTF_KIND_FUNC` of the func_info record at the function's first
    /// instruction, 0 when there is none.
    pub func_type_id: u32,
    pub line_info: Vec<LineInfo>,
    pub core_relocs: Vec<CoreReloc>,
}

/// One part of `.BTF.ext`, by section name, each list sorted by byte offset
/// (file order among equal offsets). The records are the parsed ones,
/// moved and sorted in place: a big object has thousands of them.
#[derive(Debug)]
struct Part<T> {
    by_section: BTreeMap<String, Vec<T>>,
    /// The record's byte offset in its section (`insn_off`).
    offset: fn(&T) -> u32,
}

impl<T: Copy> Part<T> {
    fn new(
        parts: Vec<SectionRecords<T>>,
        name: &'static str,
        offset: fn(&T) -> u32,
    ) -> Result<Part<T>, ParseError> {
        let mut by_section: BTreeMap<String, Vec<T>> = BTreeMap::new();
        for records in parts {
            if let Some(record) = records
                .records
                .iter()
                .find(|r| offset(r) as usize % INSN_SIZE != 0)
            {
                return Err(ParseError::BtfExtOffset {
                    part: name,
                    section: records.section,
                    insn_off: offset(record),
                });
            }
            match by_section.get_mut(&records.section) {
                Some(list) => list.extend(records.records),
                None => {
                    by_section.insert(records.section, records.records);
                }
            }
        }
        for list in by_section.values_mut() {
            // Stable: file order among equal offsets.
            list.sort_by_key(offset);
        }
        Ok(Part { by_section, offset })
    }

    /// The records of `span` (in section `section`), each with its
    /// instruction index relative to the span's start.
    fn within<'s>(&'s self, section: &str, span: &FuncSpan) -> impl Iterator<Item = (u32, T)> + 's {
        let list = self.by_section.get(section).map_or(&[][..], Vec::as_slice);
        let offset = self.offset;
        let first = list.partition_point(|r| u64::from(offset(r)) < span.start);
        let start = span.start;
        let end = span.end;
        list.iter()
            .skip(first)
            .take_while(move |r| u64::from(offset(r)) < end)
            // Below 2^32 / 8: the offsets came from u32s.
            .map(move |r| {
                (
                    u32::try_from((u64::from(offset(r)) - start) / INSN_SIZE as u64)
                        .unwrap_or(u32::MAX),
                    *r,
                )
            })
    }
}

/// `.BTF.ext`, indexed for splitting per function.
#[derive(Debug)]
pub(crate) struct ExtIndex {
    func_info: Part<FuncInfo>,
    line_info: Part<LineInfo>,
    core_relocs: Part<CoreReloc>,
}

impl ExtIndex {
    /// Indexes `ext`, checking that every record is on an instruction.
    pub fn new(ext: BtfExt) -> Result<ExtIndex, ParseError> {
        Ok(ExtIndex {
            func_info: Part::new(ext.func_info, "func_info", |r| r.insn_off)?,
            line_info: Part::new(ext.line_info, "line_info", |r| r.insn_off)?,
            core_relocs: Part::new(ext.core_relocs, "core_relo", |r| r.insn_off)?,
        })
    }

    /// The records of `span`, a function of section `section`.
    pub fn for_function(&self, section: &str, span: &FuncSpan) -> FunctionRecords {
        FunctionRecords {
            func_type_id: self
                .func_info
                .within(section, span)
                .find(|(insn, _)| *insn == 0)
                .map_or(0, |(_, info)| info.type_id),
            line_info: self
                .line_info
                .within(section, span)
                .map(|(insn_off, line)| LineInfo { insn_off, ..line })
                .collect(),
            core_relocs: self
                .core_relocs
                .within(section, span)
                .map(|(insn_off, core)| CoreReloc { insn_off, ..core })
                .collect(),
        }
    }
}
