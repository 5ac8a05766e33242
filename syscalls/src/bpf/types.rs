//! The few uapi enumeration values the syscall layer itself must know.
//!
//! Callers pass map, program and attach types as the plain `u32`s of
//! `enum bpf_map_type`, `enum bpf_prog_type` and `enum bpf_attach_type`:
//! naming them (`prog_array`, `xdp`) is the business of the crates that read
//! objects and print results, not of this one. What is left here is what
//! `bpf(2)` calls depend on: how many value bytes user space passes for a
//! map type ([`super::MapHandle`]) and the attach type of XDP links.

/// `BPF_MAP_TYPE_PROG_ARRAY`.
const PROG_ARRAY: u32 = 3;
/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
const PERF_EVENT_ARRAY: u32 = 4;
/// `BPF_MAP_TYPE_PERCPU_HASH`.
const PERCPU_HASH: u32 = 5;
/// `BPF_MAP_TYPE_PERCPU_ARRAY`.
const PERCPU_ARRAY: u32 = 6;
/// `BPF_MAP_TYPE_CGROUP_ARRAY`.
const CGROUP_ARRAY: u32 = 8;
/// `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
const LRU_PERCPU_HASH: u32 = 10;
/// `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
const ARRAY_OF_MAPS: u32 = 12;
/// `BPF_MAP_TYPE_HASH_OF_MAPS`.
const HASH_OF_MAPS: u32 = 13;
/// `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE`.
const PERCPU_CGROUP_STORAGE: u32 = 21;

/// `BPF_XDP` (`enum bpf_attach_type`): an XDP program attached to a device
/// through a link.
pub(crate) const ATTACH_XDP: u32 = 37;

/// Maps holding one value per possible CPU: user space reads and writes
/// `round_up(value_size, 8) * possible CPUs` bytes per element.
pub(crate) fn is_per_cpu(map_type: u32) -> bool {
    matches!(
        map_type,
        PERCPU_HASH | PERCPU_ARRAY | LRU_PERCPU_HASH | PERCPU_CGROUP_STORAGE
    )
}

/// Maps whose values are file descriptors on update and ids on lookup
/// (the kernel's `IS_FD_MAP`): user space passes a `u32` either way.
pub(crate) fn holds_fds(map_type: u32) -> bool {
    matches!(
        map_type,
        PROG_ARRAY | PERF_EVENT_ARRAY | CGROUP_ARRAY | ARRAY_OF_MAPS | HASH_OF_MAPS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_size_classes() {
        assert!(is_per_cpu(PERCPU_ARRAY) && !is_per_cpu(2));
        assert!(holds_fds(PROG_ARRAY) && !holds_fds(1));
        assert!(holds_fds(HASH_OF_MAPS) && !is_per_cpu(HASH_OF_MAPS));
    }
}
