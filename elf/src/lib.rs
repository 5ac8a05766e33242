//! rxdp-elf: bytes in, an ordered model of a BPF object out.
//!
//! `Object::parse` reads a clang-built (`-target bpf`) ELF object and returns
//! its maps in `map_fd[]` order, its programs in `prog_fd[]` order, their
//! instructions with resolved relocations, the jump-table entries the object
//! implies, and its BTF. Nothing here calls the kernel.
#![forbid(unsafe_code)]

pub mod btf;
pub mod insn;
pub mod kinds;
mod model;

pub use insn::Insn;
pub use kinds::{MapType, ProgramType};
pub use model::*;
