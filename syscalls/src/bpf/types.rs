//! The uapi enumerations rxdp passes to the kernel: `enum bpf_map_type`,
//! `enum bpf_prog_type`, `enum bpf_attach_type`.
//!
//! Each is a `u32` newtype with named constants rather than a Rust enum: an
//! object file may carry a number newer than rxdp, and the kernel is the one
//! to judge it. `Display` prints bpftool's lower-case name (`prog_array`,
//! `xdp`), or the number when rxdp does not know it.

use std::fmt;

macro_rules! uapi_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            $($(#[$vmeta])* pub const $variant: $name = $name($value);)*

            /// The uapi name without its prefix (`HASH`, `XDP`), when known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($variant)),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(&name.to_ascii_lowercase()),
                    None => write!(f, concat!($what, " {}"), self.0),
                }
            }
        }
    };
}

uapi_enum! {
    /// `enum bpf_map_type` (`BPF_MAP_TYPE_*`).
    MapType, "map type" {
        UNSPEC = 0,
        HASH = 1,
        ARRAY = 2,
        PROG_ARRAY = 3,
        PERF_EVENT_ARRAY = 4,
        PERCPU_HASH = 5,
        PERCPU_ARRAY = 6,
        STACK_TRACE = 7,
        CGROUP_ARRAY = 8,
        LRU_HASH = 9,
        LRU_PERCPU_HASH = 10,
        LPM_TRIE = 11,
        ARRAY_OF_MAPS = 12,
        HASH_OF_MAPS = 13,
        DEVMAP = 14,
        SOCKMAP = 15,
        CPUMAP = 16,
        XSKMAP = 17,
        SOCKHASH = 18,
        CGROUP_STORAGE = 19,
        REUSEPORT_SOCKARRAY = 20,
        PERCPU_CGROUP_STORAGE = 21,
        QUEUE = 22,
        STACK = 23,
        SK_STORAGE = 24,
        DEVMAP_HASH = 25,
        STRUCT_OPS = 26,
        RINGBUF = 27,
        INODE_STORAGE = 28,
        TASK_STORAGE = 29,
        BLOOM_FILTER = 30,
        USER_RINGBUF = 31,
        CGRP_STORAGE = 32,
        ARENA = 33,
    }
}

impl MapType {
    /// Maps holding one value per possible CPU: user space reads and writes
    /// `round_up(value_size, 8) * possible CPUs` bytes per element.
    pub fn is_per_cpu(self) -> bool {
        matches!(
            self,
            MapType::PERCPU_HASH
                | MapType::PERCPU_ARRAY
                | MapType::LRU_PERCPU_HASH
                | MapType::PERCPU_CGROUP_STORAGE
        )
    }

    /// Maps whose values are file descriptors on update and ids on lookup
    /// (the kernel's `IS_FD_MAP`): user space passes a `u32` either way.
    pub fn holds_fds(self) -> bool {
        matches!(
            self,
            MapType::PROG_ARRAY
                | MapType::PERF_EVENT_ARRAY
                | MapType::CGROUP_ARRAY
                | MapType::ARRAY_OF_MAPS
                | MapType::HASH_OF_MAPS
        )
    }
}

uapi_enum! {
    /// `enum bpf_prog_type` (`BPF_PROG_TYPE_*`).
    ProgType, "program type" {
        UNSPEC = 0,
        SOCKET_FILTER = 1,
        KPROBE = 2,
        SCHED_CLS = 3,
        SCHED_ACT = 4,
        TRACEPOINT = 5,
        XDP = 6,
        PERF_EVENT = 7,
        CGROUP_SKB = 8,
        CGROUP_SOCK = 9,
        LWT_IN = 10,
        LWT_OUT = 11,
        LWT_XMIT = 12,
        SOCK_OPS = 13,
        SK_SKB = 14,
        CGROUP_DEVICE = 15,
        SK_MSG = 16,
        RAW_TRACEPOINT = 17,
        CGROUP_SOCK_ADDR = 18,
        LWT_SEG6LOCAL = 19,
        LIRC_MODE2 = 20,
        SK_REUSEPORT = 21,
        FLOW_DISSECTOR = 22,
        CGROUP_SYSCTL = 23,
        RAW_TRACEPOINT_WRITABLE = 24,
        CGROUP_SOCKOPT = 25,
        TRACING = 26,
        STRUCT_OPS = 27,
        EXT = 28,
        LSM = 29,
        SK_LOOKUP = 30,
        SYSCALL = 31,
        NETFILTER = 32,
    }
}

uapi_enum! {
    /// `enum bpf_attach_type`, the ones XDP and the loader's program kinds
    /// use. 0 (`CGROUP_INET_INGRESS`) doubles as "none" for program types
    /// that do not look at it, XDP included.
    AttachType, "attach type" {
        CGROUP_INET_INGRESS = 0,
        CGROUP_INET_EGRESS = 1,
        CGROUP_INET_SOCK_CREATE = 2,
        CGROUP_SOCK_OPS = 3,
        SK_SKB_STREAM_PARSER = 4,
        SK_SKB_STREAM_VERDICT = 5,
        CGROUP_DEVICE = 6,
        SK_MSG_VERDICT = 7,
        /// `BPF_XDP_DEVMAP`: a program run from a devmap entry.
        XDP_DEVMAP = 33,
        /// `BPF_XDP_CPUMAP`: a program run from a cpumap entry.
        XDP_CPUMAP = 35,
        /// `BPF_XDP`: an XDP program attached to a device through a link.
        XDP = 37,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(MapType::PROG_ARRAY.to_string(), "prog_array");
        assert_eq!(MapType(99).to_string(), "map type 99");
        assert_eq!(MapType::RINGBUF.name(), Some("RINGBUF"));
        assert_eq!(ProgType::XDP, ProgType(6));
        assert_eq!(ProgType::XDP.to_string(), "xdp");
        assert_eq!(AttachType::XDP.0, 37);
        assert!(MapType::PERCPU_ARRAY.is_per_cpu() && !MapType::ARRAY.is_per_cpu());
        assert!(MapType::PROG_ARRAY.holds_fds() && !MapType::HASH.holds_fds());
    }
}
