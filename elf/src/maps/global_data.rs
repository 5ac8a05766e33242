//! Global variables as maps.
//!
//! The kernel has no data segment for BPF programs: a loader creates one
//! single-entry `ARRAY` per data section (`.data`, `.rodata`, `.bss` and
//! their `.name` variants such as `.rodata.str1.1`), stores the section's
//! bytes as its value, and turns each `ld_imm64` of a global into
//! `BPF_PSEUDO_MAP_VALUE` (map + offset).
//!
//! Only sections that some instruction references become maps, as
//! bpf_load.c and cilium/ebpf do: clang leaves unreferenced leftovers (the
//! stack-copy initialisers of `bpf_debug()` strings in `.rodata.str1.1`),
//! and a map for each would shift nothing in `map_fd[]` (global data comes
//! last) but create maps nobody uses.

use std::collections::BTreeSet;

use crate::btf::Btf;
use crate::container::Elf;
use crate::error::ParseError;
use crate::kinds::MapType;
use crate::model::{Dialect, Map, MapDef, Pinning};
use crate::relocations::R_BPF_64_64;

use super::btf_maps::datasec_id;

/// `BPF_F_RDONLY_PROG`: programs may not write `.rodata`.
pub(crate) const BPF_F_RDONLY_PROG: u32 = 1 << 7;

/// Whether a section of this name holds global variables.
pub(crate) fn is_data_section(name: &str) -> bool {
    [".data", ".rodata", ".bss"]
        .iter()
        .any(|base| name == *base || name.strip_prefix(base).is_some_and(|r| r.starts_with('.')))
}

fn is_read_only(name: &str) -> bool {
    name == ".rodata" || name.starts_with(".rodata.")
}

/// Data sections named by an `R_BPF_64_64` relocation in code.
pub(crate) fn referenced_sections(elf: &Elf<'_>) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for table in &elf.relocations {
        if !elf.section(table.target).is_some_and(|s| s.is_code()) {
            continue;
        }
        for entry in table.entries.iter().filter(|e| e.r_type == R_BPF_64_64) {
            let Some(index) = elf.symbols.get(entry.symbol).and_then(|s| s.section) else {
                continue;
            };
            if elf
                .section(index)
                .is_some_and(|s| !s.is_code() && is_data_section(&s.name))
            {
                out.insert(index);
            }
        }
    }
    out
}

/// One map per referenced, non-empty data section, in section order, with
/// the section index it stands for.
pub(crate) fn read(elf: &Elf<'_>, btf: Option<&Btf>) -> Result<Vec<(usize, Map)>, ParseError> {
    let mut maps = Vec::new();
    for index in referenced_sections(elf) {
        let Some(section) = elf.section(index).filter(|s| s.size > 0) else {
            continue;
        };
        let value_size =
            u32::try_from(section.size).map_err(|_| ParseError::DataSectionTooLarge {
                section: section.name.clone(),
                size: section.size,
            })?;
        let data = if section.is_nobits() {
            None
        } else {
            Some(section.bytes()?.to_vec())
        };
        maps.push((
            index,
            Map {
                name: section.name.clone(),
                section: section.name.clone(),
                dialect: Dialect::GlobalData,
                def: MapDef {
                    map_type: MapType::ARRAY,
                    key_size: 4,
                    value_size,
                    max_entries: 1,
                    flags: if is_read_only(&section.name) {
                        BPF_F_RDONLY_PROG
                    } else {
                        0
                    },
                    numa_node: 0,
                    map_extra: 0,
                },
                inner: None,
                pinning: Pinning::None,
                iproute2_id: None,
                data,
                init_maps: Vec::new(),
                btf_key_type_id: 0,
                btf_value_type_id: datasec_id(btf, &section.name),
                struct_ops: None,
            },
        ));
    }
    Ok(maps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_section_names() {
        for name in [
            ".data",
            ".rodata",
            ".bss",
            ".rodata.str1.1",
            ".data.custom",
            ".bss.x",
        ] {
            assert!(is_data_section(name), "{name}");
        }
        for name in [
            ".datax", ".rodatum", "data", ".maps", ".text", ".BTF", ".bssx",
        ] {
            assert!(!is_data_section(name), "{name}");
        }
        assert!(is_read_only(".rodata.str1.1"));
        assert!(!is_read_only(".data"));
    }
}
