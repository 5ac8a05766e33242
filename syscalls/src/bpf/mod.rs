//! `bpf(2)`: every command rxdp issues, as typed functions returning
//! `OwnedFd`s and values.
//!
//! Inside, one module per concern:
//! - `sys`: the one choke point and its retries; `attr`: the
//!   `union bpf_attr` members, checked against the uapi at compile time;
//! - `map`, `prog` (with `log`, the verifier log strategy), `btf`, `object`
//!   (pin/get), `info` (info, ids, BTF by id), `test_run`, `link`: the commands;
//! - `fdinfo`: what `/proc/self/fdinfo` says of a bpf fd (its kind, a
//!   map's `frozen`);
//! - `memlock`: `RLIMIT_MEMLOCK` on kernels that still charge it;
//! - `types`: the map-type classes and attach type the calls depend on.
//!
//! Every fd the kernel returns is already close-on-exec.

mod attr;
mod btf;
#[cfg(feature = "fake-kernel")]
mod fake;
mod fdinfo;
mod info;
mod link;
mod log;
mod map;
mod memlock;
mod object;
mod prog;
mod sys;
mod test_run;
mod types;

pub use attr::{sanitize_name, BPF_OBJ_NAME_LEN, BPF_TAG_SIZE};
pub use btf::btf_load;
#[cfg(feature = "fake-kernel")]
pub(crate) use fake::fake_call;
pub use fdinfo::{fd_info, FdInfo, ObjectKind};
pub use info::{
    btf_data, btf_get_fd_by_id, btf_get_next_id, btf_info, link_get_fd_by_id, link_get_next_id,
    link_info, map_get_fd_by_id, map_get_next_id, map_info, prog_get_fd_by_id, prog_get_next_id,
    prog_info, BtfInfo, LinkInfo, MapInfo, ProgInfo, LINK_TYPE_XDP,
};
pub use link::{enable_stats, iter_create, link_create, link_create_xdp, link_detach, link_update};
pub use log::{
    VerifierStats, BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS, LOG_FIRST_SIZE, LOG_MAX_SIZE,
};
pub use map::{
    map_create, map_delete_elem, map_freeze, map_get_next_key, map_lookup_elem, map_update_elem,
    possible_cpus, MapCreate, MapHandle, BPF_ANY, BPF_EXIST, BPF_F_INNER_MAP, BPF_F_LOCK,
    BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG,
    BPF_F_WRONLY, BPF_NOEXIST,
};
pub use memlock::{allow_raise as allow_memlock_raise, was_raised as memlock_was_raised};
pub use object::{obj_get, obj_pin};
pub use prog::{
    prog_load, Loaded, ProgLoad, BPF_F_ANY_ALIGNMENT, BPF_F_SLEEPABLE, BPF_F_STRICT_ALIGNMENT,
    BPF_F_XDP_DEV_BOUND_ONLY, BPF_F_XDP_HAS_FRAGS, INSN_SIZE,
};
#[cfg(feature = "fake-kernel")]
pub(crate) use sys::Cmd;
pub use test_run::{
    prog_test_run, xdp_md, TestRun, TestRunResult, BPF_F_TEST_RUN_ON_CPU,
    BPF_F_TEST_XDP_LIVE_FRAMES,
};
