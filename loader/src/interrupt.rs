//! SIGINT and SIGTERM during a load: roll back, as on an error.
//!
//! A load checks between its stages (and while it waits for a device's
//! lock) whether a signal asked the process to stop; if one did, it undoes
//! what it made and fails with [`crate::LoadError::Interrupted`]. Signal
//! handlers belong to the whole process, so a program embedding rxdp turns
//! this on itself, once, with [`handle_signals`] (the `rxdp-load` and
//! `rxdp load` commands do). Without it, SIGINT and SIGTERM keep their
//! default action: the process dies where it is, and the next load,
//! `rxdp status` or `rxdp unload` of the device cleans up after it
//! ([`crate::pin`], "Crash-consistent publishing").
//!
//! A second signal is not caught: it ends the process at once.

use rxdp_syscalls::Error as SysError;

/// Installs the SIGINT and SIGTERM handlers that let loads roll back.
pub fn handle_signals() -> Result<(), SysError> {
    rxdp_syscalls::signal::handle_interrupts()
}

/// The signal that asked this process to stop, if one did.
pub fn interrupted() -> Option<i32> {
    rxdp_syscalls::signal::interrupted()
}
