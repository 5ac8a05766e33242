//! `rxdp`: see [`rxdp_cli`].
#![forbid(unsafe_code)]

/// Keeps freed memory for reuse instead of giving it back to the kernel at
/// once; see [`rxdp_syscalls::alloc`].
#[global_allocator]
static POOL: rxdp_syscalls::alloc::Pool = rxdp_syscalls::alloc::Pool::new();

fn main() -> std::process::ExitCode {
    rxdp_cli::main()
}
