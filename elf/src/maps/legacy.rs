//! Legacy map definitions: structs of little-endian u32 in section `maps`.
//!
//! Every symbol in `maps` (other than section and file symbols) is a map;
//! sorted by `st_value` they give `map_fd[0..]`, as samples/bpf's
//! `load_bpf_file()` numbered them. A definition is `st_size` bytes long,
//! or, when clang left `st_size` 0 (old objects), the section size divided
//! by the number of maps. The size decides the dialect:
//!
//! | size | struct | fields at 20, 24, 28, 32 |
//! |---|---|---|
//! | up to 20 | libbpf's old `bpf_map_def` | (zero padding) |
//! | 21..=28 | samples/bpf `bpf_load_map_def` | `inner_map_idx`, `numa_node` |
//! | 29 and more | iproute2 `bpf_elf_map` | `id`, `pinning`, `inner_id`, `inner_idx` |
//!
//! Bytes past the 36 that `bpf_elf_map` defines must be zero: a non-zero
//! byte there is a field of some struct rxdp does not know, and loading
//! without it would silently change the map.

use std::collections::BTreeMap;

use crate::container::{Elf, SymbolKind};
use crate::error::ParseError;
use crate::kinds::MapType;
use crate::model::{Dialect, InnerMap, Map, MapDef, MapSlot, Pinning};

/// The name of the section holding legacy definitions.
pub(crate) const SECTION: &str = "maps";

/// `BPF_F_NUMA_NODE`: `numa_node` is meaningful only with this flag.
const BPF_F_NUMA_NODE: u32 = 1 << 2;

/// Size of iproute2's `struct bpf_elf_map`, the largest dialect.
const IPROUTE2_SIZE: usize = 36;

/// iproute2's `inner_idx` value meaning "do not put this map in an outer map".
const NO_INNER_IDX: u32 = u32::MAX;

/// A legacy map and where its definition starts in `maps`.
pub(crate) struct LegacyMap {
    pub map: Map,
    pub offset: u64,
    /// Fields resolved only once every map is read.
    links: Links,
}

/// The raw inner-map fields, by dialect.
#[derive(Clone, Copy)]
enum Links {
    None,
    /// `bpf_load_map_def.inner_map_idx`.
    InnerIndex(u32),
    /// `bpf_elf_map.inner_id` and `inner_idx`.
    Iproute2 {
        inner_id: u32,
        inner_idx: u32,
    },
}

/// Reads every legacy map, resolves inner maps, and returns them in
/// `map_fd[]` order with their offsets in `maps`.
pub(crate) fn read(elf: &Elf<'_>) -> Result<Vec<LegacyMap>, ParseError> {
    let Some(section) = elf.section_by_name(SECTION) else {
        return Ok(Vec::new());
    };
    let mut symbols: Vec<_> = elf
        .symbols
        .iter()
        .filter(|s| {
            s.section == Some(section.index)
                && !matches!(s.kind, SymbolKind::Section | SymbolKind::File)
        })
        .collect();
    if symbols.is_empty() {
        return Ok(Vec::new());
    }
    symbols.sort_by(|a, b| a.value.cmp(&b.value).then_with(|| a.name.cmp(&b.name)));
    if section.is_nobits() {
        return Err(ParseError::LegacyMapsNoBits);
    }
    let bytes = section.bytes()?;
    let count = symbols.len() as u64;
    // The section-size rule, needed only for symbols without st_size.
    let shared_size = || {
        Some(section.size / count)
            .filter(|&size| size > 0 && section.size % count == 0)
            .ok_or(ParseError::LegacyMapSize {
                section_size: section.size,
                count: symbols.len(),
            })
    };
    let mut maps = Vec::with_capacity(symbols.len());
    for symbol in &symbols {
        let size = match symbol.size {
            0 => shared_size()?,
            size => size,
        };
        let def = symbol
            .value
            .checked_add(size)
            .and_then(|end| {
                bytes.get(usize::try_from(symbol.value).ok()?..usize::try_from(end).ok()?)
            })
            .ok_or_else(|| ParseError::MapOutsideSection {
                map: symbol.name.clone(),
                offset: symbol.value,
                size,
                section_size: section.size,
            })?;
        maps.push(decode(&symbol.name, def, symbol.value)?);
    }
    resolve_links(&mut maps)?;
    Ok(maps)
}

/// Word `i` of a definition, zero where the definition is shorter.
fn word(def: &[u8], i: usize) -> u32 {
    let mut raw = [0u8; 4];
    for (k, byte) in raw.iter_mut().enumerate() {
        *byte = def.get(4 * i + k).copied().unwrap_or(0);
    }
    u32::from_le_bytes(raw)
}

fn decode(name: &str, def: &[u8], offset: u64) -> Result<LegacyMap, ParseError> {
    let dialect = match def.len() {
        0..=20 => Dialect::Legacy20,
        21..=28 => Dialect::Legacy28,
        _ => Dialect::Iproute2,
    };
    if let Some(extra) = def.iter().skip(IPROUTE2_SIZE).position(|&b| b != 0) {
        return Err(ParseError::MapDefinitionTrailing {
            map: name.to_owned(),
            size: def.len(),
            offset: IPROUTE2_SIZE + extra,
        });
    }
    let flags = word(def, 4);
    let mut map_def = MapDef {
        map_type: MapType(word(def, 0)),
        key_size: word(def, 1),
        value_size: word(def, 2),
        max_entries: word(def, 3),
        flags,
        numa_node: 0,
        map_extra: 0,
    };
    let mut pinning = Pinning::None;
    let mut iproute2_id = None;
    let links = match dialect {
        Dialect::Legacy28 => {
            if flags & BPF_F_NUMA_NODE != 0 {
                map_def.numa_node = word(def, 6);
            }
            Links::InnerIndex(word(def, 5))
        }
        Dialect::Iproute2 => {
            iproute2_id = Some(word(def, 5));
            pinning = match word(def, 6) {
                0 => Pinning::None,
                1 => Pinning::ObjectNs,
                2 => Pinning::GlobalNs,
                value => {
                    return Err(ParseError::MapPinning {
                        map: name.to_owned(),
                        value,
                    })
                }
            };
            Links::Iproute2 {
                inner_id: word(def, 7),
                inner_idx: word(def, 8),
            }
        }
        _ => Links::None,
    };
    Ok(LegacyMap {
        map: Map {
            name: name.to_owned(),
            section: SECTION.to_owned(),
            dialect,
            def: map_def,
            inner: None,
            pinning,
            iproute2_id,
            data: None,
            init_maps: Vec::new(),
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            struct_ops: None,
        },
        offset,
        links,
    })
}

/// Turns `inner_map_idx` and iproute2's `inner_id`/`inner_idx` into
/// [`InnerMap::Index`] and initial [`MapSlot`]s.
fn resolve_links(maps: &mut [LegacyMap]) -> Result<(), ParseError> {
    // iproute2 ids name maps; an id given twice would make `ID/KEY` and
    // `inner_id` ambiguous.
    let mut by_id: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, m) in maps.iter().enumerate() {
        let Some(id) = m.map.iproute2_id.filter(|&id| id != 0) else {
            continue;
        };
        if let Some(&first) = by_id.get(&id) {
            return Err(ParseError::DuplicateMapId {
                id,
                first: maps
                    .get(first)
                    .map(|f| f.map.name.clone())
                    .unwrap_or_default(),
                second: m.map.name.clone(),
            });
        }
        by_id.insert(id, i);
    }
    for outer in 0..maps.len() {
        let Some(this) = maps.get(outer) else {
            continue;
        };
        if !this.map.def.map_type.is_map_in_map() {
            continue;
        }
        let name = this.map.name.clone();
        let (inner, slot) = match this.links {
            Links::InnerIndex(index) => (inner_by_index(maps, outer, index)?, None),
            Links::Iproute2 { inner_id: 0, .. } | Links::None => {
                return Err(ParseError::MapInMapWithoutInner { map: name })
            }
            Links::Iproute2 { inner_id, .. } => {
                let inner = by_id
                    .get(&inner_id)
                    .copied()
                    .ok_or(ParseError::InnerMapIdUnknown {
                        map: name.clone(),
                        inner_id,
                    })?;
                check_inner(maps, outer, inner)?;
                let slot = match maps.get(inner).map(|m| m.links) {
                    Some(Links::Iproute2 { inner_idx, .. }) if inner_idx != NO_INNER_IDX => {
                        Some(MapSlot {
                            key: inner_idx,
                            map: inner,
                        })
                    }
                    _ => None,
                };
                (inner, slot)
            }
        };
        if let Some(this) = maps.get_mut(outer) {
            this.map.inner = Some(InnerMap::Index(inner));
            this.map.init_maps.extend(slot);
        }
    }
    Ok(())
}

fn inner_by_index(maps: &[LegacyMap], outer: usize, index: u32) -> Result<usize, ParseError> {
    let inner = index as usize;
    if inner >= maps.len() {
        return Err(ParseError::InnerMapIndex {
            map: maps
                .get(outer)
                .map(|m| m.map.name.clone())
                .unwrap_or_default(),
            index,
            count: maps.len(),
        });
    }
    check_inner(maps, outer, inner)?;
    Ok(inner)
}

/// An inner map must be another map, and not itself a map-in-map (the
/// kernel refuses such templates).
fn check_inner(maps: &[LegacyMap], outer: usize, inner: usize) -> Result<(), ParseError> {
    let name = |i: usize| maps.get(i).map(|m| m.map.name.clone()).unwrap_or_default();
    if inner == outer {
        return Err(ParseError::InnerMapSelf { map: name(outer) });
    }
    if maps
        .get(inner)
        .is_some_and(|m| m.map.def.map_type.is_map_in_map())
    {
        return Err(ParseError::InnerMapIsMapInMap {
            map: name(outer),
            inner: name(inner),
        });
    }
    Ok(())
}
