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
//! - [`alloc`]: the memory allocator of rxdp's programs (`mmap`).
//!
//! This is the only crate of rxdp with `unsafe`; each block says why it is
//! sound in a `// SAFETY:` comment.

pub mod alloc;
pub mod bpf;
mod error;
pub mod fs;
pub mod netlink;
pub mod seam;
pub mod signal;

pub use error::{errno_name, Error, Result, ENOTSUPP};
