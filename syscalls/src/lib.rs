//! rxdp-syscalls: the one crate that talks to the kernel.
//!
//! Every other crate calls it through safe, typed functions that return
//! `OwnedFd`s and [`Error`]s a user can act on. Each syscall goes through one
//! of a few choke points, and each of those through [`seam`].

mod error;
pub mod seam;

pub use error::{errno_name, Error, Result};
