//! The seam every syscall passes through: fault injection for tests and the
//! clock that tells how much of a load the kernel itself took.
//!
//! Each choke point (`bpf(2)`, the netlink transaction, the filesystem calls)
//! wraps its syscall in `enter`. Both the fault plan and the clock are
//! per-thread, so tests running side by side do not disturb one another.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::error::Error;
#[cfg(feature = "fault-injection")]
use crate::error::INJECTED;

thread_local! {
    static SYSCALLS: Cell<u64> = const { Cell::new(0) };
    static KERNEL_TIME: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    #[cfg(feature = "fault-injection")]
    static FAULT: Cell<Option<(u64, i32)>> = const { Cell::new(None) };
}

/// Runs one syscall: counts it, times it, and fails it instead when the fault
/// plan says this is the one. `call` returns the raw result and errno.
pub(crate) fn enter<T>(
    op: &'static str,
    call: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let number = SYSCALLS.with(|count| {
        let number = count.get() + 1;
        count.set(number);
        number
    });
    #[cfg(feature = "fault-injection")]
    if let Some((nth, errno)) = FAULT.with(Cell::get) {
        if nth == number {
            return Err(Error::new(op, errno).with_kernel_message(INJECTED));
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = (number, op);
    let start = Instant::now();
    let result = call();
    let took = start.elapsed();
    KERNEL_TIME.with(|total| total.set(total.get() + took));
    result
}

/// Whether this thread's syscalls are diverted by per-thread state — a
/// fault plan (`fail_nth`) or a fake kernel (`fake::install`) — that
/// other threads would not see. A caller that would hand syscalls to
/// worker threads (the loader's pool) keeps them on this thread instead.
pub fn thread_bound() -> bool {
    #[cfg(feature = "fault-injection")]
    if FAULT.with(Cell::get).is_some() {
        return true;
    }
    #[cfg(feature = "fake-kernel")]
    if crate::fake::installed() {
        return true;
    }
    false
}

/// Syscalls made by this thread so far.
pub fn syscall_count() -> u64 {
    SYSCALLS.with(Cell::get)
}

/// Wall time this thread has spent inside syscalls so far: the kernel's share
/// of a load, as `--timings` reports it.
pub fn kernel_time() -> Duration {
    KERNEL_TIME.with(Cell::get)
}

/// Makes the `nth` syscall (counting from 1 after this call) of this thread
/// fail with `errno`, once.
#[cfg(feature = "fault-injection")]
pub fn fail_nth(nth: u64, errno: i32) {
    SYSCALLS.with(|count| count.set(0));
    FAULT.with(|fault| fault.set(Some((nth, errno))));
}

/// Clears the fault plan and restarts the count.
#[cfg(feature = "fault-injection")]
pub fn clear_fault() {
    SYSCALLS.with(|count| count.set(0));
    FAULT.with(|fault| fault.set(None));
}
