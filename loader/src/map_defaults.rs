//! Map sizes the object leaves to the machine it loads on, set as libbpf
//! sets them (`map_set_def_max_entries`, `adjust_ringbuf_sz`):
//!
//! - a perf-event array without `max_entries` gets one entry per possible
//!   CPU (`/sys/devices/system/cpu/possible`): one ring per CPU is what it
//!   is for;
//! - a ring buffer (and a user ring buffer) must be a power-of-2 number of
//!   pages: a size that is not is rounded up to the next one (0 stays 0,
//!   for the kernel to refuse: the selftests size such maps at run time).
//!
//! Inner-map templates get the same treatment as the maps they describe.

use rxdp_elf::{InnerMap, MapDef, MapType, Object};
use rxdp_syscalls::bpf::possible_cpus;
use rxdp_syscalls::system::page_size;
use rxdp_syscalls::Error as SysError;

/// `BPF_MAP_TYPE_USER_RINGBUF`.
const USER_RINGBUF: MapType = MapType(31);

/// What was changed, for `--explain`: the map and its new `max_entries`.
pub type Adjusted = Vec<(String, u32, u32)>;

/// Sets the sizes the object left to the machine (see the module text).
pub fn apply(object: &mut Object) -> Result<Adjusted, SysError> {
    let mut adjusted = Vec::new();
    for map in &mut object.maps {
        if let Some(new) = adjust(&map.def)? {
            adjusted.push((map.name.clone(), map.def.max_entries, new));
            map.def.max_entries = new;
        }
        if let Some(InnerMap::Def { def, .. }) = &mut map.inner {
            if let Some(new) = adjust(def)? {
                adjusted.push((format!("{} (inner)", map.name), def.max_entries, new));
                def.max_entries = new;
            }
        }
    }
    Ok(adjusted)
}

/// The `max_entries` this definition should have, if not its own.
fn adjust(def: &MapDef) -> Result<Option<u32>, SysError> {
    if def.map_type == MapType::PERF_EVENT_ARRAY && def.max_entries == 0 {
        let cpus = possible_cpus()?;
        return Ok(Some(u32::try_from(cpus).unwrap_or(u32::MAX)));
    }
    if def.map_type == MapType::RINGBUF || def.map_type == USER_RINGBUF {
        let rounded = ring_size(def.max_entries, page_size());
        return Ok((rounded != def.max_entries).then_some(rounded));
    }
    Ok(None)
}

/// A ring buffer's size as the kernel takes it: 0 stays 0; a page multiple
/// whose page count is a power of 2 stays; anything else becomes the
/// smallest `page · 2^k` above it (up to the largest a u32 holds).
fn ring_size(size: u32, page: usize) -> u32 {
    let page = u64::try_from(page).unwrap_or(4096).max(1);
    let size = u64::from(size);
    if size == 0 {
        return 0;
    }
    let pages = size.div_ceil(page);
    let rounded = pages.next_power_of_two() * page;
    u32::try_from(rounded).unwrap_or(1 << 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_buffers_become_a_power_of_two_pages() {
        assert_eq!(ring_size(0, 4096), 0);
        assert_eq!(ring_size(1000, 4096), 4096);
        assert_eq!(ring_size(4096, 4096), 4096);
        assert_eq!(ring_size(4097, 4096), 8192);
        assert_eq!(ring_size(3 * 4096, 4096), 4 * 4096);
        assert_eq!(ring_size(1 << 20, 4096), 1 << 20);
        assert_eq!(ring_size((1 << 20) + 1, 65536), 2 << 20);
        assert_eq!(ring_size(u32::MAX, 4096), 1 << 31);
    }

    #[test]
    fn perf_event_arrays_get_a_slot_per_possible_cpu() {
        let def = MapDef::new(MapType::PERF_EVENT_ARRAY, 4, 4, 0);
        let cpus = possible_cpus().unwrap() as u32;
        assert_eq!(adjust(&def).unwrap(), Some(cpus));
        let sized = MapDef::new(MapType::PERF_EVENT_ARRAY, 4, 4, 3);
        assert_eq!(adjust(&sized).unwrap(), None);
        let ringbuf = MapDef::new(MapType::RINGBUF, 0, 0, 1000);
        assert_eq!(adjust(&ringbuf).unwrap(), Some(page_size() as u32));
        let array = MapDef::new(MapType::ARRAY, 4, 4, 0);
        assert_eq!(adjust(&array).unwrap(), None);
    }
}
