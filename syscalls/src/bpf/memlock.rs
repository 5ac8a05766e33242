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
//!
//! Raising the limit changes the whole process, so it happens only once a
//! program asked for it with [`allow_raise`]: rxdp's binaries do, a library
//! user decides (`rxdp::LoadOptions::raise_memlock`). Without it the EPERM
//! is returned as it is.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

static RAISED: AtomicBool = AtomicBool::new(false);
static ALLOWED: AtomicBool = AtomicBool::new(false);

/// Lets (or no longer lets) a `BPF_MAP_CREATE`/`BPF_PROG_LOAD` failing with
/// EPERM raise this process's `RLIMIT_MEMLOCK` and retry once. Off until
/// called: the limit is the process's, not rxdp's.
pub fn allow_raise(allowed: bool) {
    ALLOWED.store(allowed, Ordering::Relaxed);
}

/// Whether [`allow_raise`] allowed raising the limit.
pub(crate) fn allowed() -> bool {
    ALLOWED.load(Ordering::Relaxed)
}

/// Raises `RLIMIT_MEMLOCK` as far as permitted; true if the soft limit went
/// up (so a retry may now succeed).
pub(crate) fn raise() -> bool {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_MEMLOCK) else {
        return false;
    };
    if soft == RLIM_INFINITY {
        return false;
    }
    // Unlimited needs CAP_SYS_RESOURCE when above the hard limit; the hard
    // limit itself is always allowed.
    let mut candidates = vec![RLIM_INFINITY];
    if hard > soft {
        candidates.push(hard);
    }
    for limit in candidates {
        if setrlimit(Resource::RLIMIT_MEMLOCK, limit, limit).is_ok() {
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
