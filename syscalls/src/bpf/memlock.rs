//! `RLIMIT_MEMLOCK`, raised only where the kernel still charges against it.
//!
//! Kernels before 5.11 charged the memory of maps and programs to the
//! process's locked-memory limit and failed `BPF_MAP_CREATE`/`BPF_PROG_LOAD`
//! with EPERM once it was spent (the usual default, 64 KiB or 8 MiB, is soon
//! gone). Since 5.11 the memory cgroup accounts for it and the limit is
//! ignored.
//!
//! The rule rxdp follows, with no probing on the way of a load: make the
//! call; only if it fails with EPERM, and the soft limit is finite, raise the
//! limit (to unlimited, or to the hard limit when raising that is not
//! permitted) and retry once. On a 5.11+ kernel an EPERM means a missing
//! capability, the retry fails the same way, and the cost is one syscall on
//! a path that is failing anyway. [`was_raised`] tells whether it happened.

use std::sync::atomic::{AtomicBool, Ordering};

static RAISED: AtomicBool = AtomicBool::new(false);

/// Raises `RLIMIT_MEMLOCK` as far as permitted; true if the soft limit went
/// up (so a retry may now succeed).
pub(crate) fn raise() -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `struct rlimit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return false;
    }
    if limit.rlim_cur == libc::RLIM_INFINITY {
        return false;
    }
    // Unlimited needs CAP_SYS_RESOURCE when above the hard limit; the hard
    // limit itself is always allowed.
    let mut candidates = vec![(libc::RLIM_INFINITY, libc::RLIM_INFINITY)];
    if limit.rlim_max > limit.rlim_cur {
        candidates.push((limit.rlim_max, limit.rlim_max));
    }
    for (rlim_cur, rlim_max) in candidates {
        let new = libc::rlimit { rlim_cur, rlim_max };
        // SAFETY: `new` is a valid `struct rlimit`, only read by the kernel.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &new) } == 0 {
            RAISED.store(true, Ordering::Relaxed);
            return true;
        }
    }
    false
}

/// Whether this process had to raise `RLIMIT_MEMLOCK` for a map or program
/// (never on kernels 5.11 and later with enough privilege).
pub fn was_raised() -> bool {
    RAISED.load(Ordering::Relaxed)
}
