//! rxdp-syscalls: the one crate that talks to the kernel.
//!
//! Every other crate calls it through safe, typed functions that return
//! `OwnedFd`s and [`Error`]s a user can act on. Each syscall goes through one
//! of a few choke points, and each of those through [`seam`]:
//!
//! - [`bpf`]: every `bpf(2)` command rxdp issues (maps, programs and their
//!   verifier logs, BTF, pins, info, test runs, XDP links);
//! - [`netlink`]: rtnetlink, to attach XDP programs to devices and query them;
//! - [`fs`]: bpffs (pins, directories held open, locks) and tracefs
//!   (`trace_pipe`);
//! - [`signal`]: SIGINT and SIGTERM as a request to stop;
//! - [`sched`]: the CPUs the process may use (the loader's pool of threads);
//! - [`alloc`]: the memory allocator of rxdp's programs (`mmap`);
//! - [`system`]: the kernel's release and the page size;
//! - `fake` (feature `fake-kernel`, for tests): a replaceable handler that
//!   answers the seam's `bpf(2)` and rtnetlink calls instead of the kernel,
//!   and `SimKernel`, a model kernel with maps, programs, pins, links and
//!   XDP slots, so that loads, attaches and their failures run without root.
//!
//! This is the only crate of rxdp with `unsafe`; each block says why it is
//! sound in a `// SAFETY:` comment.
//!
//! ```no_run
//! use std::os::fd::AsFd;
//! use rxdp_syscalls::bpf::{map_create, MapCreate, MapHandle, BPF_ANY};
//!
//! // BPF_MAP_TYPE_ARRAY (2) of four u64 counters, then counter 1 set to 7.
//! let mut spec = MapCreate::new(2, 4, 8, 4);
//! spec.name = "counters";
//! let map = map_create(&spec)?;
//! let counters = MapHandle::new(map.as_fd())?;
//! counters.update(&1u32.to_ne_bytes(), &7u64.to_ne_bytes(), BPF_ANY)?;
//! # Ok::<(), rxdp_syscalls::Error>(())
//! ```
#![deny(missing_docs)]

pub mod alloc;
pub mod bpf;
mod error;
#[cfg(feature = "fake-kernel")]
pub mod fake;
pub mod fs;
pub mod netlink;
pub mod sched;
pub mod seam;
pub mod signal;
pub mod system;

pub use error::{errno_name, Error, Result, ENOTSUPP};
