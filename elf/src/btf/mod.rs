//! BTF (`.BTF`) and BTF.ext (`.BTF.ext`). Placeholder until the BTF module lands.

/// One `struct bpf_line_info` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    pub line_col: u32,
}

/// One `struct bpf_core_relo` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreReloc {
    pub insn_off: u32,
    pub type_id: u32,
    pub access_str_off: u32,
    pub kind: u32,
}

/// Parsed BTF.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Btf {}
