//! Filling in what clang leaves out of DATASECs, as `BPF_BTF_LOAD` requires.
//!
//! clang writes each DATASEC (`.data`, `.rodata`, `.bss`, `.maps`, `license`,
//! ...) with size 0 and every variable at offset 0: only the linker knows
//! where things end up. The kernel checks that a DATASEC has a size and that
//! its variables lie inside it, so a loader copies the ELF section size and
//! each symbol's `st_value` in before loading, as libbpf does.

use super::error::BtfError;
use super::types::{BtfKind, BtfTypeData, BTF_VAR_GLOBAL_EXTERN, BTF_VAR_STATIC};
use super::Btf;

/// DATASECs that hold externs rather than data: no ELF section backs them, a
/// loader resolves their entries against the kernel (libbpf's `.kconfig`
/// and `.ksyms`).
const EXTERN_SECTIONS: [&str; 2] = [".kconfig", ".ksyms"];

impl Btf {
    /// Fills DATASEC sizes and each VAR's offset as the kernel requires
    /// (clang leaves them 0 for some sections): `section_size(name)` gives the
    /// ELF section size, `symbol_offset(section, var_name)` the symbol's
    /// `st_value`.
    ///
    /// A DATASEC whose size is already set (a linked object) is left alone.
    /// Sorts nothing and changes nothing else. An unknown section or symbol is
    /// an error naming it; static (`BTF_VAR_STATIC`) VARs that have no symbol
    /// keep their offset. The extern sections `.kconfig` and `.ksyms` and
    /// extern VARs are skipped: they have no ELF section or symbol.
    pub fn fix_datasecs(
        &mut self,
        section_size: impl Fn(&str) -> Option<u32>,
        symbol_offset: impl Fn(&str, &str) -> Option<u32>,
    ) -> Result<(), BtfError> {
        // Work out every change first (the names and VARs are read from
        // `self`), then apply them.
        let mut updates: Vec<(usize, u32, Vec<u32>)> = Vec::new();
        for (index, t) in self.types.iter().enumerate() {
            if t.kind != BtfKind::Datasec || t.size_or_type != 0 {
                continue;
            }
            let name = self.string(t.name_off)?;
            if EXTERN_SECTIONS.contains(&name) {
                continue;
            }
            let size = section_size(name).ok_or_else(|| BtfError::UnknownSection {
                section: name.to_owned(),
            })?;
            let mut offsets = Vec::with_capacity(t.secinfos().len());
            for (i, info) in t.secinfos().iter().enumerate() {
                let var = self.type_by_id(info.type_id)?;
                let BtfTypeData::Var { linkage } = var.data else {
                    return Err(BtfError::DatasecEntryNotVar {
                        section: name.to_owned(),
                        index: i,
                        type_id: info.type_id,
                    });
                };
                let var_name = self.string(var.name_off)?;
                let offset = match symbol_offset(name, var_name) {
                    Some(offset) => offset,
                    None if linkage == BTF_VAR_STATIC || linkage == BTF_VAR_GLOBAL_EXTERN => {
                        info.offset
                    }
                    None => {
                        return Err(BtfError::UnknownSymbol {
                            section: name.to_owned(),
                            var: var_name.to_owned(),
                        })
                    }
                };
                offsets.push(offset);
            }
            updates.push((index, size, offsets));
        }
        for (index, size, offsets) in updates {
            if let Some(t) = self.types.get_mut(index) {
                t.size_or_type = size;
                if let BtfTypeData::Datasec(vars) = &mut t.data {
                    for (v, offset) in vars.iter_mut().zip(offsets) {
                        v.offset = offset;
                    }
                }
            }
        }
        Ok(())
    }
}
