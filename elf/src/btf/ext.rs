//! `.BTF.ext`: per-instruction records that refer to `.BTF`.
//!
//! Layout (`struct btf_ext_header` in libbpf's `libbpf_internal.h`, the
//! records in the kernel's uapi `bpf.h`): a header giving the offset and
//! length of three parts, each counted from the end of the header:
//! func_info (`struct bpf_func_info`), line_info (`struct bpf_line_info`) and
//! CO-RE relocations (`struct bpf_core_relo`, present when the header is at
//! least 32 bytes). Each part is a u32 record size followed by blocks of
//! `{sec_name_off, num_info, records[num_info]}`, one per ELF section.
//! Records may be larger than this module knows (a newer format); the known
//! prefix of each is read and the rest skipped.

use super::error::BtfError;
use super::parse::{common_header, section, u32_at};
use super::Btf;

/// The header up to `core_relo_len`.
const EXT_HEADER_LEN: usize = 32;
/// The header up to `line_info_len`: the oldest format, without CO-RE.
const EXT_HEADER_MIN: usize = 24;

/// Parsed `.BTF.ext`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BtfExt {
    /// Record sizes as the file gives them (0 when the part is absent).
    pub func_info_rec_size: u32,
    /// See `func_info_rec_size`.
    pub line_info_rec_size: u32,
    /// See `func_info_rec_size`.
    pub core_relo_rec_size: u32,
    /// `func_info`: the BTF type of each function, by section.
    pub func_info: Vec<SectionRecords<FuncInfo>>,
    /// `line_info`: the source line of instructions, by section.
    pub line_info: Vec<SectionRecords<LineInfo>>,
    /// `core_relo`: the CO-RE relocations, by section.
    pub core_relocs: Vec<SectionRecords<CoreReloc>>,
}

/// The records of one ELF section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionRecords<T> {
    /// The ELF section name, looked up in the `.BTF` string table.
    pub section: String,
    /// In file order; `insn_off` is in bytes from the section start, as in the file.
    pub records: Vec<T>,
}

/// `struct bpf_func_info`: the function starting at `insn_off` has BTF type
/// `type_id` (a FUNC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction (instructions, once
    /// split per function).
    pub insn_off: u32,
    /// The function's `BTF_KIND_FUNC` type id.
    pub type_id: u32,
}

/// `struct bpf_line_info`: the instruction at `insn_off` comes from this
/// source line. Both offsets are into the `.BTF` string table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    /// Byte offset of the instruction (instructions, once split per function).
    pub insn_off: u32,
    /// Offset of the file name in the string table.
    pub file_name_off: u32,
    /// Offset of the line's text in the string table.
    pub line_off: u32,
    /// Line number (bits 10..32) and column (bits 0..10): `BPF_LINE_INFO_LINE_NUM`
    /// and `BPF_LINE_INFO_LINE_COL`.
    pub line_col: u32,
}

impl LineInfo {
    /// The line number.
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }
    /// The column.
    pub fn column(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// `struct bpf_core_relo`: a CO-RE relocation of the instruction at `insn_off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreReloc {
    /// Byte offset of the instruction (instructions, once split per function).
    pub insn_off: u32,
    /// The local type the access starts from.
    pub type_id: u32,
    /// Offset in the `.BTF` string table of the access string (`"0:1:2"`).
    pub access_str_off: u32,
    /// `enum bpf_core_relo_kind` (`BPF_CORE_FIELD_BYTE_OFFSET` 0, ...).
    pub kind: u32,
}

/// A record type of one of the three parts.
trait Record: Sized {
    /// Name of the part, for messages.
    const PART: &'static str;
    /// Size of the fields this module reads.
    const LEN: u32;
    /// Decodes from a slice of exactly `LEN` bytes.
    fn decode(r: &[u8]) -> Self;
}

fn w(r: &[u8], i: usize) -> u32 {
    u32_at(r, 4 * i).unwrap_or(0)
}

impl Record for FuncInfo {
    const PART: &'static str = "func_info";
    const LEN: u32 = 8;
    fn decode(r: &[u8]) -> Self {
        FuncInfo {
            insn_off: w(r, 0),
            type_id: w(r, 1),
        }
    }
}

impl Record for LineInfo {
    const PART: &'static str = "line_info";
    const LEN: u32 = 16;
    fn decode(r: &[u8]) -> Self {
        LineInfo {
            insn_off: w(r, 0),
            file_name_off: w(r, 1),
            line_off: w(r, 2),
            line_col: w(r, 3),
        }
    }
}

impl Record for CoreReloc {
    const PART: &'static str = "core_relo";
    const LEN: u32 = 16;
    fn decode(r: &[u8]) -> Self {
        CoreReloc {
            insn_off: w(r, 0),
            type_id: w(r, 1),
            access_str_off: w(r, 2),
            kind: w(r, 3),
        }
    }
}

impl BtfExt {
    /// Parses `.BTF.ext`; section names are resolved through `btf`, the
    /// object's `.BTF`.
    pub fn parse(data: &[u8], btf: &Btf) -> Result<BtfExt, BtfError> {
        let hdr = common_header(data, "BTF.ext", EXT_HEADER_LEN, EXT_HEADER_MIN)?;
        let field = |i: usize| u32_at(hdr.header, 8 + 4 * i);
        let part = |i: usize, name: &'static str| -> Result<&[u8], BtfError> {
            match (field(2 * i), field(2 * i + 1)) {
                (Some(off), Some(len)) => section(hdr.body, "BTF.ext", name, off, len),
                // A 24..32-byte header predates CO-RE relocations.
                _ => Ok(&[]),
            }
        };
        let (func_info_rec_size, func_info) = records::<FuncInfo>(part(0, "func_info")?, btf)?;
        let (line_info_rec_size, line_info) = records::<LineInfo>(part(1, "line_info")?, btf)?;
        let (core_relo_rec_size, core_relocs) = records::<CoreReloc>(part(2, "core_relo")?, btf)?;
        Ok(BtfExt {
            func_info_rec_size,
            line_info_rec_size,
            core_relo_rec_size,
            func_info,
            line_info,
            core_relocs,
        })
    }
}

/// Decodes one part: its record size and its per-section blocks.
fn records<T: Record>(part: &[u8], btf: &Btf) -> Result<(u32, Vec<SectionRecords<T>>), BtfError> {
    if part.is_empty() {
        return Ok((0, Vec::new()));
    }
    let truncated = |offset: usize, need: u64| BtfError::ExtTruncated {
        section: T::PART,
        offset,
        need,
        available: part.len().saturating_sub(offset),
    };
    let rec_size = u32_at(part, 0).ok_or(truncated(0, 4))?;
    if rec_size < T::LEN {
        return Err(BtfError::ExtRecordSizeTooSmall {
            section: T::PART,
            rec_size,
            min: T::LEN,
        });
    }
    let mut out = Vec::new();
    let mut pos = 4;
    while pos < part.len() {
        let (Some(name_off), Some(num_info)) = (u32_at(part, pos), u32_at(part, pos + 4)) else {
            return Err(truncated(pos, 8));
        };
        pos += 8;
        let need = u64::from(num_info) * u64::from(rec_size);
        let bytes = usize::try_from(need)
            .ok()
            .and_then(|n| part.get(pos..pos.checked_add(n)?))
            .ok_or(truncated(pos, need))?;
        pos += bytes.len();
        // `bytes` is exactly `num_info * rec_size` long, so the capacity is
        // bounded by data actually present.
        let mut records = Vec::with_capacity(num_info as usize);
        for r in bytes.chunks_exact(rec_size as usize) {
            records.push(T::decode(r.split_at(T::LEN as usize).0));
        }
        out.push(SectionRecords {
            section: btf.string(name_off)?.to_owned(),
            records,
        });
    }
    Ok((rec_size, out))
}
