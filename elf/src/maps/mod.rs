//! Maps in `map_fd[]` order: legacy `maps` definitions sorted by offset,
//! then BTF `.maps` in declaration order, then global-data sections in
//! section order, then `.struct_ops` variables (libbpf's order too).

mod btf_maps;
mod global_data;
mod legacy;
mod struct_ops;

use std::collections::BTreeMap;

use crate::btf::Btf;
use crate::container::Elf;
use crate::error::ParseError;
use crate::model::{JumpEntry, Map};

pub(crate) use global_data::{is_data_section, BPF_F_RDONLY_PROG};
pub(crate) use struct_ops::{is_func_pointer, Binding};

/// The maps and how relocations find them.
#[derive(Debug)]
pub(crate) struct MapTable {
    pub maps: Vec<Map>,
    /// (section index, offset) of each legacy or BTF definition → map index.
    definitions: BTreeMap<(usize, u64), usize>,
    /// Global-data section index → map index.
    data_sections: BTreeMap<usize, usize>,
    /// The BTF maps, kept for their `.rel.maps` initialisers.
    btf_maps: Vec<btf_maps::BtfMap>,
    /// `map_fd[]` index of the first BTF map.
    first_btf: usize,
    /// Where each struct_ops variable lies; the first is `maps[first_struct_ops]`.
    struct_ops: Vec<struct_ops::StructOpsVar>,
    first_struct_ops: usize,
}

impl MapTable {
    /// Reads all three kinds of map definition.
    pub fn read(elf: &Elf<'_>, btf: Option<&Btf>) -> Result<MapTable, ParseError> {
        let mut maps = Vec::new();
        let mut definitions = BTreeMap::new();
        if let Some(section) = elf.section_by_name(legacy::SECTION) {
            for legacy in legacy::read(elf)? {
                definitions.insert((section.index, legacy.offset), maps.len());
                maps.push(legacy.map);
            }
        }
        let first_btf = maps.len();
        let btf_maps = btf_maps::read(elf, btf)?;
        if let Some(section) = elf.section_by_name(btf_maps::SECTION) {
            for (i, m) in btf_maps.iter().enumerate() {
                definitions.insert((section.index, m.offset), first_btf + i);
                maps.push(m.map.clone());
            }
        }
        let mut data_sections = BTreeMap::new();
        for (section, map) in global_data::read(elf, btf)? {
            data_sections.insert(section, maps.len());
            maps.push(map);
        }
        let first_struct_ops = maps.len();
        let mut vars = Vec::new();
        for (var, map) in struct_ops::read(elf, btf)? {
            vars.push(var);
            maps.push(map);
        }
        Ok(MapTable {
            maps,
            definitions,
            data_sections,
            btf_maps,
            first_btf,
            struct_ops: vars,
            first_struct_ops,
        })
    }

    /// The map whose definition starts at `offset` of section `section`.
    pub fn definition_at(&self, section: usize, offset: u64) -> Option<usize> {
        self.definitions.get(&(section, offset)).copied()
    }

    /// The map standing for global-data section `section`.
    pub fn data_section(&self, section: usize) -> Option<usize> {
        self.data_sections.get(&section).copied()
    }

    /// Binds the programs the struct_ops variables point at (recorded in
    /// their maps) and returns each binding: program, map, member.
    pub fn bind_struct_ops(
        &mut self,
        elf: &Elf<'_>,
        btf: Option<&Btf>,
        program_at: impl Fn(usize, u64) -> Option<usize>,
    ) -> Result<Vec<Binding>, ParseError> {
        struct_ops::bind_programs(
            elf,
            btf,
            &self.struct_ops,
            &mut self.maps,
            self.first_struct_ops,
            program_at,
        )
    }

    /// Applies the BTF `__array(values, ...)` initialisers: map-in-map slots
    /// go to the outer map's `init_maps`, prog-array entries are returned.
    pub fn apply_initialisers(
        &mut self,
        elf: &Elf<'_>,
        program_at: impl Fn(usize, u64) -> Option<usize>,
    ) -> Result<Vec<JumpEntry>, ParseError> {
        let found = btf_maps::initialisers(elf, &self.btf_maps, self.first_btf, program_at)?;
        for (outer, slot) in found.map_slots {
            if let Some(map) = self.maps.get_mut(outer) {
                map.init_maps.push(slot);
            }
        }
        Ok(found.jump_entries)
    }
}
