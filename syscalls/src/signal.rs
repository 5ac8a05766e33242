//! SIGINT and SIGTERM as a request to stop, for a load to roll back like
//! it does on an error instead of dying half-way.
//!
//! [`handle_interrupts`] installs a handler that only records the signal
//! (an atomic store: all a handler may safely do). The load checks
//! [`interrupted`] between its stages and while it waits for a lock, and
//! undoes what it made. A second signal is not caught: the handler puts
//! the default action back and raises it again, so a user who presses
//! Ctrl-C twice always gets their shell back.
//!
//! Handlers are process-wide: a program embedding rxdp turns this on
//! explicitly (the CLI does, for loads).

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::{Error, Result};

/// The first signal received since the handlers were installed, 0 if none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    if RECEIVED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // SAFETY: signal(2) and raise(3) are async-signal-safe; putting the
        // default action back and raising the signal again ends the
        // process as if no handler had been installed.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}

/// Installs the handler for SIGINT and SIGTERM. `SA_RESTART`: a syscall
/// under way when the signal comes completes (a half-sent netlink message
/// would be worse than a finished one); the load stops at its next check.
pub fn handle_interrupts() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: `on_signal` only does async-signal-safe things (an atomic
        // compare-exchange, signal(2), raise(3)).
        unsafe { sigaction(signal, &action) }
            .map_err(|errno| Error::new("sigaction", errno as i32))?;
    }
    Ok(())
}

/// The signal (`SIGINT` = 2, `SIGTERM` = 15) that asked this process to
/// stop, if one did since [`handle_interrupts`].
pub fn interrupted() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The name of a signal number (`SIGTERM`), or `signal N`.
pub fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string())
}
