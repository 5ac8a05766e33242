//! Map and program types: the kernel's `enum bpf_map_type` and
//! `enum bpf_prog_type` values, with the names bpftool prints.
//!
//! Both are open newtypes rather than closed enums: an object may use a type
//! newer than this table, and the kernel, not rxdp, decides whether it exists.

use std::fmt;

/// `enum bpf_map_type`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MapType(pub u32);

/// `enum bpf_prog_type`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramType(pub u32);

/// Names indexed by `enum bpf_map_type` value (`BPF_MAP_TYPE_UNSPEC` = 0 ...).
const MAP_TYPE_NAMES: [&str; 34] = [
    "unspec",
    "hash",
    "array",
    "prog_array",
    "perf_event_array",
    "percpu_hash",
    "percpu_array",
    "stack_trace",
    "cgroup_array",
    "lru_hash",
    "lru_percpu_hash",
    "lpm_trie",
    "array_of_maps",
    "hash_of_maps",
    "devmap",
    "sockmap",
    "cpumap",
    "xskmap",
    "sockhash",
    "cgroup_storage",
    "reuseport_sockarray",
    "percpu_cgroup_storage",
    "queue",
    "stack",
    "sk_storage",
    "devmap_hash",
    "struct_ops",
    "ringbuf",
    "inode_storage",
    "task_storage",
    "bloom_filter",
    "user_ringbuf",
    "cgrp_storage",
    "arena",
];

/// Names indexed by `enum bpf_prog_type` value (`BPF_PROG_TYPE_UNSPEC` = 0 ...).
const PROGRAM_TYPE_NAMES: [&str; 33] = [
    "unspec",
    "socket_filter",
    "kprobe",
    "sched_cls",
    "sched_act",
    "tracepoint",
    "xdp",
    "perf_event",
    "cgroup_skb",
    "cgroup_sock",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "sock_ops",
    "sk_skb",
    "cgroup_device",
    "sk_msg",
    "raw_tracepoint",
    "cgroup_sock_addr",
    "lwt_seg6local",
    "lirc_mode2",
    "sk_reuseport",
    "flow_dissector",
    "cgroup_sysctl",
    "raw_tracepoint_writable",
    "cgroup_sockopt",
    "tracing",
    "struct_ops",
    "ext",
    "lsm",
    "sk_lookup",
    "syscall",
    "netfilter",
];

impl MapType {
    /// `BPF_MAP_TYPE_HASH`.
    pub const HASH: MapType = MapType(1);
    /// `BPF_MAP_TYPE_ARRAY`.
    pub const ARRAY: MapType = MapType(2);
    /// `BPF_MAP_TYPE_PROG_ARRAY`: the jump tables of tail calls.
    pub const PROG_ARRAY: MapType = MapType(3);
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
    pub const PERF_EVENT_ARRAY: MapType = MapType(4);
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    pub const PERCPU_HASH: MapType = MapType(5);
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    pub const PERCPU_ARRAY: MapType = MapType(6);
    /// `BPF_MAP_TYPE_LRU_HASH`.
    pub const LRU_HASH: MapType = MapType(9);
    /// `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
    pub const ARRAY_OF_MAPS: MapType = MapType(12);
    /// `BPF_MAP_TYPE_HASH_OF_MAPS`.
    pub const HASH_OF_MAPS: MapType = MapType(13);
    /// `BPF_MAP_TYPE_DEVMAP`.
    pub const DEVMAP: MapType = MapType(14);
    /// `BPF_MAP_TYPE_CPUMAP`.
    pub const CPUMAP: MapType = MapType(16);
    /// `BPF_MAP_TYPE_XSKMAP`.
    pub const XSKMAP: MapType = MapType(17);
    /// `BPF_MAP_TYPE_DEVMAP_HASH`.
    pub const DEVMAP_HASH: MapType = MapType(25);
    /// `BPF_MAP_TYPE_STRUCT_OPS`: a kernel struct of function pointers
    /// filled with programs (`.struct_ops`).
    pub const STRUCT_OPS: MapType = MapType(26);
    /// `BPF_MAP_TYPE_RINGBUF`.
    pub const RINGBUF: MapType = MapType(27);

    /// bpftool's name (`prog_array`), or `type_N` for a type newer than this table.
    pub fn name(self) -> String {
        table_name(&MAP_TYPE_NAMES, self.0)
    }

    /// Parses a name as bpftool prints it, or a number.
    pub fn from_name(name: &str) -> Option<MapType> {
        table_lookup(&MAP_TYPE_NAMES, name).map(MapType)
    }

    /// Whether values are other maps (`ARRAY_OF_MAPS`, `HASH_OF_MAPS`).
    pub fn is_map_in_map(self) -> bool {
        self == MapType::ARRAY_OF_MAPS || self == MapType::HASH_OF_MAPS
    }

    /// Whether it holds one value per possible CPU (`PERCPU_HASH`,
    /// `PERCPU_ARRAY`, `LRU_PERCPU_HASH`, `PERCPU_CGROUP_STORAGE`).
    pub fn is_per_cpu(self) -> bool {
        matches!(self.0, 5 | 6 | 10 | 21)
    }

    /// Whether its keys are indexes, a `u32` from 0 to `max_entries`: the
    /// array maps (`ARRAY`, `PROG_ARRAY`, `PERF_EVENT_ARRAY`,
    /// `PERCPU_ARRAY`, `CGROUP_ARRAY`, `ARRAY_OF_MAPS`, `DEVMAP`,
    /// `SOCKMAP`, `CPUMAP`, `XSKMAP`, `REUSEPORT_SOCKARRAY`).
    pub fn has_index_keys(self) -> bool {
        matches!(self.0, 2 | 3 | 4 | 6 | 8 | 12 | 14 | 15 | 16 | 17 | 20)
    }
}

impl ProgramType {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`.
    pub const SOCKET_FILTER: ProgramType = ProgramType(1);
    /// `BPF_PROG_TYPE_KPROBE`.
    pub const KPROBE: ProgramType = ProgramType(2);
    /// `BPF_PROG_TYPE_SCHED_CLS`.
    pub const SCHED_CLS: ProgramType = ProgramType(3);
    /// `BPF_PROG_TYPE_SCHED_ACT`.
    pub const SCHED_ACT: ProgramType = ProgramType(4);
    /// `BPF_PROG_TYPE_TRACEPOINT`.
    pub const TRACEPOINT: ProgramType = ProgramType(5);
    /// `BPF_PROG_TYPE_XDP`.
    pub const XDP: ProgramType = ProgramType(6);
    /// `BPF_PROG_TYPE_PERF_EVENT`.
    pub const PERF_EVENT: ProgramType = ProgramType(7);
    /// `BPF_PROG_TYPE_CGROUP_SKB`.
    pub const CGROUP_SKB: ProgramType = ProgramType(8);
    /// `BPF_PROG_TYPE_CGROUP_SOCK`.
    pub const CGROUP_SOCK: ProgramType = ProgramType(9);
    /// `BPF_PROG_TYPE_LWT_IN`.
    pub const LWT_IN: ProgramType = ProgramType(10);
    /// `BPF_PROG_TYPE_LWT_OUT`.
    pub const LWT_OUT: ProgramType = ProgramType(11);
    /// `BPF_PROG_TYPE_LWT_XMIT`.
    pub const LWT_XMIT: ProgramType = ProgramType(12);
    /// `BPF_PROG_TYPE_SOCK_OPS`.
    pub const SOCK_OPS: ProgramType = ProgramType(13);
    /// `BPF_PROG_TYPE_SK_SKB`.
    pub const SK_SKB: ProgramType = ProgramType(14);
    /// `BPF_PROG_TYPE_CGROUP_DEVICE`.
    pub const CGROUP_DEVICE: ProgramType = ProgramType(15);
    /// `BPF_PROG_TYPE_SK_MSG`.
    pub const SK_MSG: ProgramType = ProgramType(16);
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
    pub const RAW_TRACEPOINT: ProgramType = ProgramType(17);
    /// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`.
    pub const CGROUP_SOCK_ADDR: ProgramType = ProgramType(18);
    /// `BPF_PROG_TYPE_LWT_SEG6LOCAL`.
    pub const LWT_SEG6LOCAL: ProgramType = ProgramType(19);
    /// `BPF_PROG_TYPE_LIRC_MODE2`.
    pub const LIRC_MODE2: ProgramType = ProgramType(20);
    /// `BPF_PROG_TYPE_SK_REUSEPORT`.
    pub const SK_REUSEPORT: ProgramType = ProgramType(21);
    /// `BPF_PROG_TYPE_FLOW_DISSECTOR`.
    pub const FLOW_DISSECTOR: ProgramType = ProgramType(22);
    /// `BPF_PROG_TYPE_CGROUP_SYSCTL`.
    pub const CGROUP_SYSCTL: ProgramType = ProgramType(23);
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE`.
    pub const RAW_TRACEPOINT_WRITABLE: ProgramType = ProgramType(24);
    /// `BPF_PROG_TYPE_CGROUP_SOCKOPT`.
    pub const CGROUP_SOCKOPT: ProgramType = ProgramType(25);
    /// `BPF_PROG_TYPE_TRACING`.
    pub const TRACING: ProgramType = ProgramType(26);
    /// `BPF_PROG_TYPE_STRUCT_OPS`.
    pub const STRUCT_OPS: ProgramType = ProgramType(27);
    /// `BPF_PROG_TYPE_EXT`: replaces a function of another program (`freplace`).
    pub const EXT: ProgramType = ProgramType(28);
    /// `BPF_PROG_TYPE_LSM`.
    pub const LSM: ProgramType = ProgramType(29);
    /// `BPF_PROG_TYPE_SK_LOOKUP`.
    pub const SK_LOOKUP: ProgramType = ProgramType(30);
    /// `BPF_PROG_TYPE_SYSCALL`.
    pub const SYSCALL: ProgramType = ProgramType(31);
    /// `BPF_PROG_TYPE_NETFILTER`.
    pub const NETFILTER: ProgramType = ProgramType(32);

    /// bpftool's name (`xdp`), or `type_N` for a type newer than this table.
    pub fn name(self) -> String {
        table_name(&PROGRAM_TYPE_NAMES, self.0)
    }

    /// Parses a name as bpftool prints it, or a number.
    pub fn from_name(name: &str) -> Option<ProgramType> {
        table_lookup(&PROGRAM_TYPE_NAMES, name).map(ProgramType)
    }
}

fn table_name(table: &[&str], value: u32) -> String {
    match table.get(value as usize) {
        Some(name) => (*name).to_string(),
        None => format!("type_{value}"),
    }
}

fn table_lookup(table: &[&str], name: &str) -> Option<u32> {
    if let Ok(number) = name.parse::<u32>() {
        return Some(number);
    }
    let name = name.to_ascii_lowercase();
    table
        .iter()
        .position(|entry| *entry == name)
        .filter(|&index| index != 0)
        .map(|index| index as u32)
}

impl fmt::Debug for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapType({})", self.name())
    }
}

impl fmt::Display for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Debug for ProgramType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProgramType({})", self.name())
    }
}

impl fmt::Display for ProgramType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(MapType::PROG_ARRAY.name(), "prog_array");
        assert_eq!(MapType::from_name("prog_array"), Some(MapType::PROG_ARRAY));
        assert_eq!(ProgramType::XDP.name(), "xdp");
        assert_eq!(ProgramType::from_name("XDP"), Some(ProgramType::XDP));
        assert_eq!(
            ProgramType::from_name("sched_cls"),
            Some(ProgramType::SCHED_CLS)
        );
        assert_eq!(ProgramType::from_name("6"), Some(ProgramType::XDP));
        assert_eq!(ProgramType::from_name("unspec"), None);
        assert_eq!(ProgramType::from_name("nonsense"), None);
        assert_eq!(MapType(99).name(), "type_99");
    }

    #[test]
    fn classes() {
        assert!(MapType::PERCPU_ARRAY.is_per_cpu() && MapType(10).is_per_cpu());
        assert!(!MapType::ARRAY.is_per_cpu() && !MapType::HASH.is_per_cpu());
        assert!(MapType::PROG_ARRAY.has_index_keys() && MapType::DEVMAP.has_index_keys());
        assert!(!MapType::HASH.has_index_keys() && !MapType::DEVMAP_HASH.has_index_keys());
    }
}
