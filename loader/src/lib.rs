//! rxdp: loads clang-built BPF objects the way samples/bpf's
//! `load_bpf_file()` did — `map_fd[]` and `prog_fd[]` in object order —
//! then fills tail-call jump tables, pins them so they outlive the loader,
//! and attaches XDP programs through rtnetlink.
//!
//! ```no_run
//! use rxdp::{load, AttachOptions, JumpRequest, LoadOptions, Mode, NoObserver, Ref};
//!
//! // rxdp-load tail_kern.o --map 0 --key 78 --prog 1 --dev veth0 --mode skb
//! let mut options = LoadOptions::new("tail_kern.o");
//! options.jumps.push(JumpRequest::new(Ref::Index(0), 78, Ref::Index(1)));
//! options.attach = Some(AttachOptions::new("veth0").with_mode(Mode::Skb));
//! let loaded = load(&options, &mut NoObserver)?;
//! println!("prog_fd[1] has id {}", loaded.programs[1].id);
//! # Ok::<(), rxdp::LoadError>(())
//! ```
//!
//! The same in stages, for a program that embeds rxdp — open, change,
//! load, fill, attach, read:
//!
//! ```no_run
//! use rxdp::{Mode, Object};
//!
//! let mut object = Object::open("tail_kern.o")?;      // parsed, nothing in the kernel
//! object.set_autoload("xdp1", true)?;                  // every program loads unless told
//! let loaded = object.load()?;                         // maps, programs: a LoadedObject
//! loaded.prog_array("jmp_table1")?.set(78, loaded.program("xdp1")?)?;
//! let attachment = loaded.attach_xdp("xdp0", "veth0", Mode::Skb)?;
//! let counters = loaded.array::<u32, u64>("counters")?;
//! println!("xdp0 ran {} times", counters.get(&0)?);
//! attachment.detach()?;                                // or .keep(): stays after exit
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Object`] (open, inspect, set globals, program types, autoload) →
//! [`LoadedObject`] (typed maps: [`ProgArray`], [`Array`], [`HashMap`],
//! [`PerCpuArray`], [`PerCpuHashMap`]; by index or name) →
//! [`XdpAttachment`] (rtnetlink) or [`XdpLink`] (bpf_link). A library
//! load changes nothing process-wide unless asked: mounting bpffs and
//! raising `RLIMIT_MEMLOCK` are [`LoadOptions`] fields, off by default.
//!
//! The modules, in the order a load runs through them:
//!
//! - [`object`], [`loaded_object`], [`typed_maps`], [`xdp`]: the staged
//!   API above, built on the stages below.
//! - [`options`]: what a load is asked to do, and how `--map`, `--prog` and
//!   `--entry` names are found in the object (index, function or section name).
//! - [`pipeline`]: [`load`] itself — calls each stage in turn, records what
//!   each changed outside the process, undoes it all when one fails.
//! - [`open`]: reads the file once (a regular file, size capped, magic
//!   first) and parses it ([`rxdp_elf::Object`]).
//! - for this machine: map sizes libbpf leaves to the loader
//!   (`map_defaults`: perf-event arrays, ring buffers) and the `.kconfig`
//!   values ([`externs`], reading the kernel configuration with
//!   [`gunzip`]).
//! - `load_btf`: `BPF_BTF_LOAD` of the object's BTF (before the maps, which
//!   reference its type ids); rewritten for a kernel that lacks some kinds
//!   ([`probe`]), or left out with a warning when the kernel refuses it.
//! - `create_maps`: `BPF_MAP_CREATE` in `map_fd[]` order (inner maps first),
//!   shared pins reused when compatible, global data written, `.rodata` frozen.
//! - relocate: [`rxdp_elf::relocate`], pure — appends subprograms,
//!   patches map fds, calls and kfunc ids into the instructions, and
//!   applies CO-RE relocations ([`rxdp_elf::core`]); [`kernel_btf`] reads
//!   the kernel's BTF only for objects that call kernel functions, declare
//!   typed `__ksym` variables or have CO-RE relocations, and the modules'
//!   BTF only when vmlinux's lacks something; [`externs`] reads
//!   `/proc/kallsyms` only for untyped `__ksym` variables.
//! - `load_programs`: `BPF_PROG_LOAD` in `prog_fd[]` order; a rejection
//!   shows the failing instruction, its source line and the verifier log.
//! - `fill_jump_tables`: prog-array entries, implied and explicit.
//! - [`pin`]: the pin layout (`/sys/fs/bpf/rxdp/IF/MODE/NAME`), every
//!   directory opened without following a symlink and marked with a
//!   [`record`], pinning into a staging directory and swapping it into
//!   place after the attach, finishing what dead loaders left.
//! - `attach`: `RTM_SETLINK`, refusing or atomically replacing what is there.
//! - [`observe`]: the events of a load and their timings (`--explain`,
//!   `--timings`).
//! - [`unload`](mod@unload) and [`status`](mod@status): detach and list, for `rxdp unload` and
//!   `rxdp status`.
//! - [`interrupt`]: SIGINT and SIGTERM roll a load back (opt-in).
//! - [`error`]: [`LoadError`], one variant per stage with its context.
//!
//! Beside the pipeline, for looking inside:
//!
//! - [`rxdp_elf::disasm`]: instructions in the kernel's BPF syntax,
//!   relocations by symbol, source lines (verifier errors).
//! - [`test_run`]: `BPF_PROG_TEST_RUN` of a loaded XDP program on a frame
//!   (`rxdp run`, whose frames the CLI crate builds).
//! - [`kernel_maps`]: any map in the kernel, by pin, id or name — list,
//!   dump, lookup, update, delete, keys and values through its BTF
//!   (`rxdp map`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// A `LoadError` carries what a user needs to act (the kernel's words, the
// verifier's report, names): a few hundred bytes, returned once per
// process, on the failing path only. Boxing it would cost every match a
// dereference to save nothing that matters.
#![allow(clippy::result_large_err)]

mod attach;
mod create_maps;
pub mod dispatch_record;
pub mod error;
pub mod externs;
mod fill_jump_tables;
pub mod gunzip;
pub mod interrupt;
pub mod kernel_btf;
pub mod kernel_maps;
mod legacy;
pub mod libxdp;
mod load_btf;
mod load_programs;
pub mod loaded_object;
mod map_defaults;
pub mod multiprog;
pub mod object;
pub mod observe;
pub mod open;
pub mod options;
pub mod pin;
pub mod pin_index;
pub mod pipeline;
mod pool;
pub mod probe;
pub mod program_types;
pub mod record;
mod register_struct_ops;
mod rollback;
pub mod status;
pub mod test_run;
pub mod typed_maps;
pub mod unload;
pub mod xdp;
pub mod xdp_link;

pub use bytemuck;
pub use loaded_object::LoadedObject;
pub use object::{Global, GlobalError, Object};
pub use rxdp_elf::{MapType, ProgramType};
pub use typed_maps::{Array, HashMap, MapError, PerCpuArray, PerCpuHashMap, ProgArray};
pub use xdp::{XdpAttachment, XdpLink};

pub use error::{LoadError, VerifierReport};
pub use observe::{Event, NoObserver, Observer, Patch, Stage};
pub use options::{
    AttachOptions, AttachProg, Autoload, EntryChoice, Jobs, JumpRequest, LoadOptions, MapRef, Mode,
    OptionError, PinPolicy, ProgRef, Ref,
};
pub use pipeline::{load, Attached, Loaded, LoadedMap, LoadedProgram, MadeJumpEntry, StageTiming};
pub use status::{status, status_with, DeviceStatus, StatusReport};
pub use unload::{unload, unload_with, UnloadOptions, Unloaded};
