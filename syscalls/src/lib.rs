//! rxdp-syscalls: the one crate that talks to the kernel.
