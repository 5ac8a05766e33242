//! The filesystems rxdp uses: bpffs, where pins live, and tracefs, where
//! `bpf_trace_printk` output appears; directories held open ([`Dir`]), the
//! locks rxdp processes take turns with ([`lock`]) and what `/proc` says
//! about processes ([`procfs`]).
//!
//! Every call goes through [`crate::seam`], named after the syscall
//! (`mkdirat`, `renameat2`, `mount bpffs`), and every error names the path it
//! is about.

pub mod bpffs;
mod dir;
pub mod lock;
mod mountinfo;
pub mod procfs;
mod sys;
pub mod tracefs;

pub use dir::{euid, Dir, Stat};
pub use sys::EntryType;

use std::path::Path;

use crate::error::{Error, Result};
use crate::seam;

/// Runs one std filesystem call through the seam, turning its failure into
/// an [`Error`] for `op` that names `path`.
fn io<T>(op: &'static str, path: &Path, call: impl FnOnce() -> std::io::Result<T>) -> Result<T> {
    seam::enter(op, || {
        call().map_err(|error| {
            Error::new(op, error.raw_os_error().unwrap_or(libc::EIO))
                .with_subject(path.display().to_string())
        })
    })
}
