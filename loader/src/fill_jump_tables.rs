//! Stage 6: put programs into prog arrays, so that `bpf_tail_call` finds
//! them.
//!
//! The entries come from `options::jump_plan`, already merged (the object's
//! own — `prog/N`, `socket/N`, iproute2 `ID/KEY`, BTF `__array(values)` —
//! then `--map M --key K --prog P`, explicit ones replacing implied ones on
//! the same map and key) and checked (a prog array, a key in range). Each
//! is one `BPF_MAP_UPDATE_ELEM` of the program's fd at the key; one map
//! handle per map learns its sizes once.

use std::os::fd::{AsFd, AsRawFd};

use rxdp_elf::JumpEntry;
use rxdp_syscalls::bpf::{MapHandle, BPF_ANY};
use rxdp_syscalls::Error as SysError;

use crate::error::LoadError;
use crate::observe::{Event, Observer};
use crate::pipeline::{Context, LoadedMap, LoadedProgram};

/// Makes every planned entry, in plan order.
pub fn fill_jump_tables(
    ctx: &Context<'_>,
    plan: &[JumpEntry],
    maps: &[LoadedMap],
    programs: &[LoadedProgram],
    observer: &mut dyn Observer,
) -> Result<(), LoadError> {
    let mut handles: Vec<(usize, MapHandle<'_>)> = Vec::new();
    for entry in plan {
        let failed = |error: SysError| LoadError::Jump {
            file: ctx.file.to_string(),
            map_index: entry.map,
            map: maps[entry.map].name.clone(),
            key: entry.key,
            program_index: entry.program,
            program: programs[entry.program].name.clone(),
            error,
        };
        let handle = match handles.iter().find(|(map, _)| *map == entry.map) {
            Some((_, handle)) => *handle,
            None => {
                let handle = MapHandle::new(maps[entry.map].fd.as_fd()).map_err(failed)?;
                handles.push((entry.map, handle));
                handle
            }
        };
        let prog_fd = programs[entry.program].fd.as_raw_fd() as u32;
        handle
            .update(&entry.key.to_ne_bytes(), &prog_fd.to_ne_bytes(), BPF_ANY)
            .map_err(failed)?;
        observer.event(&Event::JumpEntry {
            map: entry.map,
            key: entry.key,
            program: entry.program,
            origin: entry.origin,
        });
    }
    Ok(())
}
