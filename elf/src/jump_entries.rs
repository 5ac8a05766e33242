//! Jump-table entries that section names imply.
//!
//! Three loaders filled prog arrays from section names, and objects written
//! for them rely on it:
//! - samples/bpf `bpf_load.c`: `socket/N`, `kprobe/N`, `kretprobe/N`,
//!   `sockops/N` go to key N of the *last* prog array of the object;
//! - the xdp-tutorial loader: `prog/N` to key N of the last prog array;
//! - iproute2: `ID/KEY` to key KEY of the prog array whose `id` is ID.
//!
//! When a section of that kind holds several programs (libbpf style), only
//! the first one, in `prog_fd[]` order, is installed: one key holds one
//! program.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ParseError;
use crate::kinds::MapType;
use crate::model::{JumpEntry, JumpOrigin, Map, Program};

/// What a section name asks for.
#[derive(Debug, PartialEq, Eq)]
enum Implied {
    /// Key of the last prog array.
    LastProgArray { key: u32, origin: JumpOrigin },
    /// Key of the prog array with this iproute2 id.
    Iproute2 { id: u32, key: u32 },
}

/// Prefixes bpf_load.c read a key from.
const NUMBERED: [&str; 4] = ["socket", "kprobe", "kretprobe", "sockops"];

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `PREFIX/N`; `Ok(None)` when the name implies nothing.
fn implied(section: &str) -> Result<Option<Implied>, ParseError> {
    let Some((prefix, number)) = section.split_once('/') else {
        return Ok(None);
    };
    if !all_digits(number) {
        return Ok(None);
    }
    let parse = |digits: &str| {
        digits.parse::<u32>().map_err(|_| ParseError::JumpNumber {
            section: section.to_owned(),
        })
    };
    Ok(if NUMBERED.contains(&prefix) {
        Some(Implied::LastProgArray {
            key: parse(number)?,
            origin: JumpOrigin::SectionNumber,
        })
    } else if prefix == "prog" {
        Some(Implied::LastProgArray {
            key: parse(number)?,
            origin: JumpOrigin::ProgN,
        })
    } else if all_digits(prefix) {
        Some(Implied::Iproute2 {
            id: parse(prefix)?,
            key: parse(number)?,
        })
    } else {
        None
    })
}

/// The entries the programs' section names imply, in program order.
pub(crate) fn from_section_names(
    programs: &[Program],
    maps: &[Map],
) -> Result<Vec<JumpEntry>, ParseError> {
    let last_prog_array = maps
        .iter()
        .rposition(|m| m.def.map_type == MapType::PROG_ARRAY);
    let by_id: BTreeMap<u32, usize> = maps
        .iter()
        .enumerate()
        .filter_map(|(i, m)| Some((m.iproute2_id?, i)))
        .rev() // the first map of an id wins
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (program, p) in programs.iter().enumerate() {
        if !seen.insert(p.section.as_str()) {
            continue;
        }
        let (map, key, origin) = match implied(&p.section)? {
            None => continue,
            Some(Implied::LastProgArray { key, origin }) => {
                let map = last_prog_array.ok_or_else(|| ParseError::NoProgArray {
                    section: p.section.clone(),
                })?;
                (map, key, origin)
            }
            Some(Implied::Iproute2 { id, key }) => {
                let map =
                    by_id
                        .get(&id)
                        .copied()
                        .ok_or_else(|| ParseError::Iproute2MapUnknown {
                            section: p.section.clone(),
                            id,
                        })?;
                if maps.get(map).map(|m| m.def.map_type) != Some(MapType::PROG_ARRAY) {
                    return Err(ParseError::Iproute2NotProgArray {
                        section: p.section.clone(),
                        id,
                        map: maps.get(map).map(|m| m.name.clone()).unwrap_or_default(),
                    });
                }
                (map, key, JumpOrigin::Iproute2)
            }
        };
        let entry = JumpEntry {
            map,
            key,
            program,
            origin,
        };
        check_key(&entry, &format!("section `{}`", p.section), maps)?;
        out.push(entry);
    }
    Ok(out)
}

/// A key must lie within the prog array, or the kernel refuses the update.
pub(crate) fn check_key(entry: &JumpEntry, origin: &str, maps: &[Map]) -> Result<(), ParseError> {
    match maps.get(entry.map) {
        Some(m) if entry.key < m.def.max_entries => Ok(()),
        m => Err(ParseError::JumpKeyOutOfRange {
            origin: origin.to_owned(),
            map: m.map(|m| m.name.clone()).unwrap_or_default(),
            key: entry.key,
            max_entries: m.map_or(0, |m| m.def.max_entries),
        }),
    }
}

/// Deterministic order: by program, then map, then key.
pub(crate) fn sort(entries: &mut [JumpEntry]) {
    entries.sort_by_key(|e| (e.program, e.map, e.key));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names() {
        let last = |key, origin| Ok(Some(Implied::LastProgArray { key, origin }));
        assert_eq!(implied("socket/0"), last(0, JumpOrigin::SectionNumber));
        assert_eq!(implied("kprobe/12"), last(12, JumpOrigin::SectionNumber));
        assert_eq!(implied("kretprobe/3"), last(3, JumpOrigin::SectionNumber));
        assert_eq!(implied("sockops/7"), last(7, JumpOrigin::SectionNumber));
        assert_eq!(implied("prog/0"), last(0, JumpOrigin::ProgN));
        assert_eq!(
            implied("1/7"),
            Ok(Some(Implied::Iproute2 { id: 1, key: 7 }))
        );
        for none in [
            "xdp",
            "xdp/0",
            "kprobe/sys_write",
            "socket",
            "prog/",
            "prog/x1",
            "1/0/2",
            "/3",
            "a1/2",
        ] {
            assert_eq!(implied(none), Ok(None), "{none}");
        }
        assert!(matches!(
            implied("prog/99999999999"),
            Err(ParseError::JumpNumber { .. })
        ));
    }
}
