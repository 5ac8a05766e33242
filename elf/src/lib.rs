//! rxdp-elf: bytes in, an ordered model of a BPF object out.
//!
//! `Object::parse` reads a clang-built (`-target bpf`) ELF object and returns
//! its maps in `map_fd[]` order, its programs in `prog_fd[]` order, their
//! instructions with resolved relocations, the jump-table entries the object
//! implies, and its BTF. Nothing here calls the kernel.
//!
//! The modules, in the order `Object::parse` (in `object`) runs through them:
//!
//! - `container`: the ELF file itself (sections, symbols, relocation
//!   tables), refusing what cannot be a BPF object (ELF32, big-endian, not
//!   `EM_BPF`, stripped, inconsistent headers).
//! - [`btf`]: `.BTF` and `.BTF.ext`; `btf_records` splits the latter per function.
//! - `functions`: code sections cut into functions at their symbols.
//! - `maps`: legacy `maps` definitions (20, 28, 36 bytes), BTF `.maps`,
//!   global data, in `map_fd[]` order.
//! - [`externs`]: what the object declares `__kconfig` or `__ksym`.
//! - `relocations`: each relocation of code resolved to a map, a global
//!   variable, a function, a kernel function or an extern.
//! - `programs`: which functions are programs (`prog_fd[]`) and which are
//!   subprograms, with their relocations; [`section_types`] says what a
//!   section name implies for the type.
//! - `jump_entries`: the prog-array entries section names imply.
//! - [`ParseError`]: everything that can be wrong, each naming where.
//!
//! Then what a loader does with the model before the kernel sees it, still
//! without a syscall:
//!
//! - [`relocate`]: links a program — appends the subprograms it reaches,
//!   writes map fds, call offsets and kfunc ids into its instructions, and
//!   applies CO-RE relocations ([`core`]) against the kernel's BTF, given
//!   as an argument like the fds; [`ksyms`] finds the `__ksym` externs
//!   (kfuncs, kernel variables) in it.
//! - [`disasm`]: instructions in the kernel's BPF syntax, relocations by
//!   symbol, source lines.
//! - [`struct_ops`]: a `.struct_ops` variable laid out as the kernel's
//!   struct, against the kernel's BTF.
//! - [`sha1`]: the digest iproute2 names `PIN_OBJECT_NS` directories after.
//!
//! ```no_run
//! // What `rxdp inspect` shows first: the object numbered as a load numbers it.
//! let bytes = std::fs::read("tail_kern.o")?;
//! let object = rxdp_elf::Object::parse(&bytes)?;
//! for (i, map) in object.maps.iter().enumerate() {
//!     println!("map_fd[{i}] = {} ({})", map.name, map.def.map_type);
//! }
//! for (i, program) in object.programs.iter().enumerate() {
//!     println!("prog_fd[{i}] = {} (section {})", program.name(), program.section);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod btf;
mod btf_records;
mod container;
pub mod core;
pub mod disasm;
mod error;
pub mod externs;
mod functions;
pub mod insn;
mod jump_entries;
pub mod kinds;
pub mod ksyms;
mod maps;
mod model;
mod object;
mod programs;
pub mod relocate;
mod relocations;
pub mod section_types;
pub mod sha1;
pub mod struct_ops;
#[cfg(test)]
mod testing;
pub mod xdp_hints;

pub use container::{read_object, READ_WHOLE_UP_TO};
pub use error::ParseError;
pub use externs::{Extern, ExternKind, KconfigType, KconfigVar};
pub use insn::Insn;
pub use kinds::{MapType, ProgramType};
pub use model::*;
