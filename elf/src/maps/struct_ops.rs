//! `.struct_ops` and `.struct_ops.link`: instances of kernel structs of
//! function pointers (`struct tcp_congestion_ops dctcp = { .init = ... }`).
//!
//! Each variable of those sections (a VAR of their DATASEC) becomes a map
//! of type `BPF_MAP_TYPE_STRUCT_OPS` named after it: key 4 bytes, one
//! entry, the variable's bytes as its data (the struct as the object lays
//! it out; the loader lays it out again as the kernel's). `.struct_ops.link`
//! adds `BPF_F_LINK`: the map is registered through a link, not by its
//! update. The relocations of the section (`R_BPF_64_ABS64` at a function
//! pointer, naming a function of a `struct_ops/` section) say which program
//! goes at which member, as libbpf's `bpf_object__collect_st_ops_relos`
//! reads them.

use crate::btf::{Btf, BtfKind};
use crate::container::{Elf, RelocEntry};
use crate::error::ParseError;
use crate::kinds::MapType;
use crate::model::{Dialect, Map, MapDef, Pinning, StructOps};
use crate::relocations::{R_BPF_64_ABS64, R_BPF_NONE};
use crate::struct_ops::BPF_F_LINK;

/// The sections, the second one's maps registered through links.
pub(crate) const SECTIONS: [&str; 2] = [".struct_ops", ".struct_ops.link"];

/// Where a struct_ops variable lies.
#[derive(Debug)]
pub(crate) struct StructOpsVar {
    section: usize,
    offset: u64,
    size: u64,
}

/// A program a struct_ops variable points at: program index, map index,
/// member name.
pub(crate) type Binding = (usize, usize, String);

/// The variables of both sections, in section order then offset order,
/// each with its map.
pub(crate) fn read(
    elf: &Elf<'_>,
    btf: Option<&Btf>,
) -> Result<Vec<(StructOpsVar, Map)>, ParseError> {
    let mut out = Vec::new();
    for name in SECTIONS {
        let Some(section) = elf.section_by_name(name) else {
            continue;
        };
        let missing = || ParseError::StructOpsWithoutBtf {
            section: name.to_string(),
        };
        let btf = btf.ok_or_else(missing)?;
        let datasec = btf.find(BtfKind::Datasec, name).ok_or_else(missing)?;
        let bytes = if section.is_nobits() {
            &[][..]
        } else {
            section.bytes()?
        };
        let btf_error = |error| ParseError::Btf {
            section: ".BTF",
            error,
        };
        let mut vars = btf
            .type_by_id(datasec)
            .map_err(btf_error)?
            .secinfos()
            .to_vec();
        vars.sort_by_key(|v| v.offset);
        for var in vars {
            let var_type = btf.type_by_id(var.type_id).map_err(btf_error)?;
            let var_name = btf
                .string(var_type.name_off)
                .map_err(btf_error)?
                .to_string();
            let type_id = btf.resolve(var_type.size_or_type).map_err(btf_error)?;
            let struct_type = btf.type_by_id(type_id).map_err(btf_error)?;
            if struct_type.kind != BtfKind::Struct {
                return Err(ParseError::StructOpsNotStruct {
                    section: name.to_string(),
                    var: var_name,
                    kind: struct_type.kind.name(),
                });
            }
            let type_name = btf.string(struct_type.name_off).map_err(btf_error)?;
            let start = var.offset as usize;
            let end = start.saturating_add(var.size as usize);
            let data = match bytes.get(start..end) {
                Some(data) => data.to_vec(),
                None if section.is_nobits() => vec![0; var.size as usize],
                None => {
                    return Err(ParseError::StructOpsOutside {
                        section: name.to_string(),
                        var: var_name,
                        offset: u64::from(var.offset),
                        size: u64::from(var.size),
                    })
                }
            };
            let link = name == SECTIONS[1];
            let map = Map {
                name: var_name,
                section: name.to_string(),
                dialect: Dialect::StructOps,
                def: MapDef {
                    flags: if link { BPF_F_LINK } else { 0 },
                    ..MapDef::new(MapType::STRUCT_OPS, 4, var.size, 1)
                },
                inner: None,
                pinning: Pinning::None,
                iproute2_id: None,
                data: Some(data),
                init_maps: Vec::new(),
                btf_key_type_id: 0,
                btf_value_type_id: 0,
                struct_ops: Some(StructOps {
                    type_name: type_name.to_string(),
                    type_id,
                    link,
                    programs: Vec::new(),
                }),
            };
            let place = StructOpsVar {
                section: section.index,
                offset: u64::from(var.offset),
                size: u64::from(var.size),
            };
            out.push((place, map));
        }
    }
    Ok(out)
}

/// Reads the relocations of both sections: which program goes at which
/// function pointer. `vars[i]` is `maps[first + i]`; `program_at` finds
/// the program starting at a (section, offset). Records each binding in
/// its map and returns them all, for the programs' attach targets.
pub(crate) fn bind_programs(
    elf: &Elf<'_>,
    btf: Option<&Btf>,
    vars: &[StructOpsVar],
    maps: &mut [Map],
    first: usize,
    program_at: impl Fn(usize, u64) -> Option<usize>,
) -> Result<Vec<Binding>, ParseError> {
    let mut bindings = Vec::new();
    let Some(btf) = btf else {
        return Ok(bindings);
    };
    for name in SECTIONS {
        let Some(section) = elf.section_by_name(name) else {
            continue;
        };
        for table in elf.relocations.iter().filter(|t| t.target == section.index) {
            for entry in table.entries.iter().filter(|e| e.r_type != R_BPF_NONE) {
                let binding = bind(elf, btf, name, vars, maps, first, entry, &program_at)?;
                let (program, map, member) = binding;
                if let Some(ops) = maps.get_mut(map).and_then(|m| m.struct_ops.as_mut()) {
                    ops.programs.push((member.clone(), program));
                }
                bindings.push((program, map, member));
            }
        }
    }
    Ok(bindings)
}

/// One relocation of a struct_ops section: the program it names, at which
/// member of which variable.
#[allow(clippy::too_many_arguments)]
fn bind(
    elf: &Elf<'_>,
    btf: &Btf,
    section: &str,
    vars: &[StructOpsVar],
    maps: &[Map],
    first: usize,
    entry: &RelocEntry,
    program_at: &impl Fn(usize, u64) -> Option<usize>,
) -> Result<Binding, ParseError> {
    let symbol = elf.symbols.get(entry.symbol);
    let symbol_name = symbol.map_or("", |s| s.name.as_str());
    let fail = |problem: String| ParseError::StructOpsReloc {
        section: section.to_string(),
        offset: entry.offset,
        symbol: symbol_name.to_string(),
        problem,
    };
    if entry.r_type != R_BPF_64_ABS64 {
        return Err(fail(format!(
            "relocation type {} is not R_BPF_64_ABS64",
            entry.r_type
        )));
    }
    let section_index = elf.section_by_name(section).map(|s| s.index);
    let (index, var) = vars
        .iter()
        .enumerate()
        .find(|(_, v)| {
            Some(v.section) == section_index
                && entry.offset >= v.offset
                && entry.offset < v.offset + v.size
        })
        .ok_or_else(|| fail("it lies in no variable".to_string()))?;
    let map_index = first + index;
    let ops = maps
        .get(map_index)
        .and_then(|m| m.struct_ops.as_ref())
        .ok_or_else(|| fail("it lies in no struct_ops variable".to_string()))?;
    let member_offset = entry.offset - var.offset;
    let struct_type = btf
        .type_by_id(ops.type_id)
        .map_err(|e| fail(e.to_string()))?;
    let member = struct_type
        .members()
        .iter()
        .find(|m| u64::from(m.bit_offset(struct_type.kind_flag)) == member_offset * 8)
        .ok_or_else(|| {
            fail(format!(
                "no member of struct {} starts at byte {member_offset}",
                ops.type_name
            ))
        })?;
    let member_name = btf
        .string(member.name_off)
        .map_err(|e| fail(e.to_string()))?
        .to_string();
    if !is_func_pointer(btf, member.type_id) {
        return Err(fail(format!(
            "member {member_name} of struct {} is not a function pointer",
            ops.type_name
        )));
    }
    let symbol = symbol
        .filter(|s| !s.undefined)
        .ok_or_else(|| fail("it names no defined function".to_string()))?;
    let target_section = symbol
        .section
        .ok_or_else(|| fail("it names no defined function".to_string()))?;
    let program = program_at(target_section, symbol.value)
        .ok_or_else(|| fail("it names no program".to_string()))?;
    Ok((program, map_index, member_name))
}

/// Whether `id` is, after modifiers and typedefs, a pointer to a FUNC_PROTO.
pub(crate) fn is_func_pointer(btf: &Btf, id: u32) -> bool {
    let pointee = btf
        .resolve(id)
        .and_then(|id| btf.type_by_id(id))
        .ok()
        .filter(|t| t.kind == BtfKind::Ptr)
        .map(|t| t.size_or_type);
    pointee
        .and_then(|id| btf.resolve(id).ok())
        .and_then(|id| btf.type_by_id(id).ok())
        .is_some_and(|t| t.kind == BtfKind::FuncProto)
}
