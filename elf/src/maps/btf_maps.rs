//! BTF-defined maps: the variables of section `.maps`.
//!
//! libbpf-style objects declare maps as variables whose *type* carries the
//! definition (`__uint(type, ...)`, `__type(key, ...)`); the section's bytes
//! are zero. The `.maps` DATASEC of `.BTF` lists the variables in
//! declaration order, which is the order of their offsets too: that order
//! gives their `map_fd[]` slots, after the legacy maps.
//!
//! `__array(values, ...)` initialisers are relocations in `.rel.maps`: slot
//! `i` of a map's `values` is 8 bytes at `symbol offset + values_offset +
//! 8 * i`, and the relocation there names the program (prog array) or the
//! map (map-in-map) that goes to key `i`.

use std::collections::BTreeMap;

use crate::btf::{Btf, BtfKind, BtfMapDef, BtfMapValues};
use crate::container::{Elf, RelocEntry, Symbol, SymbolKind};
use crate::error::ParseError;
use crate::kinds::MapType;
use crate::model::{Dialect, InnerMap, JumpEntry, JumpOrigin, Map, MapDef, MapSlot, Pinning};
use crate::relocations::{R_BPF_64_ABS64, R_BPF_NONE};

/// The section holding BTF-defined maps.
pub(crate) const SECTION: &str = ".maps";

/// A BTF map and what `.rel.maps` needs to know about it.
#[derive(Debug)]
pub(crate) struct BtfMap {
    pub map: Map,
    /// `st_value` of its symbol in `.maps`.
    pub offset: u64,
    /// Where its `values` slots start within the definition, and what they
    /// hold; `None` without `__array(values, ...)`.
    values: Option<(u32, ValuesOf)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValuesOf {
    Programs,
    Maps,
}

/// Reads the maps of `.maps`, in DATASEC order.
pub(crate) fn read(elf: &Elf<'_>, btf: Option<&Btf>) -> Result<Vec<BtfMap>, ParseError> {
    let Some(section) = elf.section_by_name(SECTION).filter(|s| s.size > 0) else {
        return Ok(Vec::new());
    };
    let btf = btf.ok_or(ParseError::BtfMapsWithoutBtf)?;
    let datasecs = btf.datasecs().map_err(|error| ParseError::Btf {
        section: ".BTF",
        error,
    })?;
    let vars = datasecs
        .iter()
        .find(|(_, name, _)| *name == SECTION)
        .map(|(_, _, vars)| *vars)
        .ok_or(ParseError::BtfMapsWithoutDatasec)?;
    // The `.maps` symbols by name (the first of a name wins).
    let mut symbols: BTreeMap<&str, u64> = BTreeMap::new();
    for s in elf.symbols.iter().filter(|s| {
        s.section == Some(section.index)
            && !matches!(s.kind, SymbolKind::Section | SymbolKind::File)
    }) {
        symbols.entry(s.name.as_str()).or_insert(s.value);
    }
    let mut maps = Vec::with_capacity(vars.len());
    for var in vars {
        let name = btf
            .type_name(var.type_id)
            .map_err(|error| ParseError::Btf {
                section: ".BTF",
                error,
            })?
            .to_owned();
        let def = btf
            .map_definition(var.type_id)
            .map_err(|error| ParseError::BtfMap {
                map: name.clone(),
                error,
            })?;
        let offset = *symbols
            .get(name.as_str())
            .ok_or_else(|| ParseError::BtfMapNoSymbol { map: name.clone() })?;
        maps.push(convert(&name, &def, offset)?);
    }
    Ok(maps)
}

fn convert(name: &str, def: &BtfMapDef, offset: u64) -> Result<BtfMap, ParseError> {
    let map_def = map_def(name, def)?;
    let pinning = match def.pinning {
        0 => Pinning::None,
        // LIBBPF_PIN_BY_NAME
        1 => Pinning::ByName,
        value => {
            return Err(ParseError::MapPinning {
                map: name.to_owned(),
                value,
            })
        }
    };
    let (inner, values) = match &def.values {
        None => (None, None),
        Some(BtfMapValues::Programs) => (None, Some((def.values_offset, ValuesOf::Programs))),
        Some(BtfMapValues::Maps(inner)) => (
            Some(InnerMap::Def {
                def: map_def_of_inner(name, inner)?,
                btf_key_type_id: inner.key_type_id,
                btf_value_type_id: inner.value_type_id,
            }),
            Some((def.values_offset, ValuesOf::Maps)),
        ),
    };
    if map_def.map_type.is_map_in_map() && inner.is_none() {
        return Err(ParseError::MapInMapWithoutInner {
            map: name.to_owned(),
        });
    }
    Ok(BtfMap {
        map: Map {
            name: name.to_owned(),
            section: SECTION.to_owned(),
            dialect: Dialect::Btf,
            def: map_def,
            inner,
            pinning,
            iproute2_id: None,
            data: None,
            init_maps: Vec::new(),
            btf_key_type_id: def.key_type_id,
            btf_value_type_id: def.value_type_id,
            struct_ops: None,
        },
        offset,
        values,
    })
}

fn map_def_of_inner(outer: &str, inner: &BtfMapDef) -> Result<MapDef, ParseError> {
    map_def(&format!("{outer} (inner map definition)"), inner)
}

/// The `BPF_MAP_CREATE` numbers; `type` is required. What is not declared
/// is 0, as in libbpf (`parse_btf_map_def`): local storage and cgroup
/// storage require 0 `max_entries`, a perf-event array gets one entry per
/// possible CPU from the loader, and the kernel refuses 0 where it needs
/// a size (the selftests size such maps at run time).
fn map_def(name: &str, def: &BtfMapDef) -> Result<MapDef, ParseError> {
    let map_type = def.map_type.ok_or_else(|| ParseError::BtfMapMissing {
        map: name.to_owned(),
        member: "type",
    })?;
    Ok(MapDef {
        map_type: MapType(map_type),
        key_size: def.key_size.unwrap_or(0),
        value_size: def.value_size.unwrap_or(0),
        max_entries: def.max_entries.unwrap_or(0),
        flags: def.map_flags,
        numa_node: def.numa_node,
        map_extra: def.map_extra,
    })
}

/// What `.rel.maps` says: prog-array entries, and map-in-map slots as
/// `(outer map index, slot)`.
#[derive(Debug, Default)]
pub(crate) struct Initialisers {
    pub jump_entries: Vec<JumpEntry>,
    pub map_slots: Vec<(usize, MapSlot)>,
}

/// Reads the `__array(values, ...)` initialisers from `.rel.maps`.
///
/// `maps` are the BTF maps, `first` the `map_fd[]` index of the first one;
/// `program_at(section, offset)` finds the program whose function starts
/// there. A relocation names its target by symbol plus the addend that REL
/// entries keep in the relocated bytes themselves (clang names a static
/// function through its section symbol and that addend).
pub(crate) fn initialisers(
    elf: &Elf<'_>,
    maps: &[BtfMap],
    first: usize,
    program_at: impl Fn(usize, u64) -> Option<usize>,
) -> Result<Initialisers, ParseError> {
    let mut out = Initialisers::default();
    let Some(section) = elf.section_by_name(SECTION) else {
        return Ok(out);
    };
    // By offset: a relocation belongs to the last map starting at or before it.
    let mut by_offset: Vec<(u64, usize)> = maps
        .iter()
        .enumerate()
        .map(|(i, m)| (m.offset, i))
        .collect();
    by_offset.sort_unstable();
    // Where each map starts, for initialisers that name another map.
    let starts: BTreeMap<u64, usize> = by_offset.iter().rev().copied().collect();
    for table in elf.relocations.iter().filter(|t| t.target == section.index) {
        for entry in &table.entries {
            if entry.r_type == R_BPF_NONE {
                continue;
            }
            let symbol = elf.symbols.get(entry.symbol);
            let symbol_name = symbol.map_or("", |s| s.name.as_str());
            if entry.r_type != R_BPF_64_ABS64 {
                return Err(ParseError::UnsupportedRelocation {
                    r_type: entry.r_type,
                    section: SECTION.to_owned(),
                    offset: entry.offset,
                    symbol: symbol_name.to_owned(),
                });
            }
            let owner = by_offset
                .partition_point(|(offset, _)| *offset <= entry.offset)
                .checked_sub(1)
                .and_then(|k| by_offset.get(k))
                .and_then(|&(_, i)| maps.get(i).map(|m| (i, m)));
            let Some((index, map)) = owner else {
                return Err(ParseError::MapsRelocOutsideMap {
                    offset: entry.offset,
                    symbol: symbol_name.to_owned(),
                });
            };
            let (key, values_of) = slot_key(map, entry)?;
            let target = target_of(elf, section.bytes()?, symbol, entry);
            let wrong = |expected: &'static str| ParseError::BtfValuesTarget {
                map: map.map.name.clone(),
                key,
                symbol: describe(symbol, target),
                expected,
            };
            let (target_section, target_offset) =
                target.ok_or_else(|| wrong("a defined symbol"))?;
            match values_of {
                ValuesOf::Programs => {
                    let program = program_at(target_section, target_offset)
                        .ok_or_else(|| wrong("a program"))?;
                    out.jump_entries.push(JumpEntry {
                        map: first + index,
                        key,
                        program,
                        origin: JumpOrigin::BtfValues,
                    });
                }
                ValuesOf::Maps => {
                    let value = (target_section == section.index)
                        .then(|| starts.get(&target_offset).copied())
                        .flatten()
                        .filter(|&i| i != index)
                        .ok_or_else(|| wrong("another map of `.maps`"))?;
                    out.map_slots.push((
                        first + index,
                        MapSlot {
                            key,
                            map: first + value,
                        },
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The (section, offset) a `.rel.maps` entry points at: symbol value plus
/// the 8-byte implicit addend at the relocated place (plus a RELA addend).
fn target_of(
    elf: &Elf<'_>,
    maps_bytes: &[u8],
    symbol: Option<&Symbol>,
    entry: &RelocEntry,
) -> Option<(usize, u64)> {
    let symbol = symbol.filter(|s| !s.undefined)?;
    let at = usize::try_from(entry.offset).ok()?;
    let implicit = maps_bytes.get(at..at.checked_add(8)?)?;
    let implicit = i64::from_le_bytes(implicit.try_into().ok()?);
    let offset = i128::from(symbol.value) + i128::from(implicit) + i128::from(entry.addend);
    let section = symbol.section.filter(|&s| elf.section(s).is_some())?;
    Some((section, u64::try_from(offset).ok()?))
}

/// A symbol for messages: a section symbol with its offset (`xdp+0x10`).
fn describe(symbol: Option<&Symbol>, target: Option<(usize, u64)>) -> String {
    match (symbol, target) {
        (Some(s), Some((_, offset))) if s.kind == SymbolKind::Section => {
            format!("{}+{offset:#x}", s.name)
        }
        (Some(s), _) => s.name.clone(),
        (None, _) => String::new(),
    }
}

/// The key of the `values` slot a relocation fills, and what the slots hold.
fn slot_key(map: &BtfMap, entry: &RelocEntry) -> Result<(u32, ValuesOf), ParseError> {
    let bad = || ParseError::BtfValuesSlot {
        map: map.map.name.clone(),
        offset: entry.offset,
        max_entries: map.map.def.max_entries,
    };
    let (values_offset, values_of) = map.values.ok_or_else(bad)?;
    let within = entry
        .offset
        .checked_sub(map.offset)
        .and_then(|o| o.checked_sub(u64::from(values_offset)))
        .ok_or_else(bad)?;
    if within % 8 != 0 {
        return Err(bad());
    }
    u32::try_from(within / 8)
        .ok()
        .filter(|&key| key < map.map.def.max_entries)
        .map(|key| (key, values_of))
        .ok_or_else(bad)
}

/// The DATASEC type id of a global-data section, 0 when BTF has none.
pub(crate) fn datasec_id(btf: Option<&Btf>, section: &str) -> u32 {
    btf.and_then(|b| b.find(BtfKind::Datasec, section))
        .unwrap_or(0)
}
