//! What a load does, step by step, for whoever wants to watch: `--explain`
//! prints every [`Event`], `--timings` the [`Event::StageFinished`] ones.
//!
//! [`crate::load`] takes an `&mut dyn Observer` and calls
//! [`Observer::event`] as things happen. Events borrow what they show (no
//! allocation on the way), so [`NoObserver`] costs one indirect call per
//! event and nothing else.

use std::os::fd::RawFd;
use std::path::Path;
use std::time::Duration;

pub use rxdp_elf::relocate::Patch;
use rxdp_elf::{JumpOrigin, MapType, ProgramType};
use rxdp_syscalls::netlink::XdpFlags;

use crate::options::Mode;
use crate::pin::Recovered;

/// The stages of a load, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Read the file and parse it.
    Open,
    /// Resolve `--entry`, `--map`/`--prog` and `--dev` against the object.
    Resolve,
    /// `BPF_BTF_LOAD` of the object's BTF.
    LoadBtf,
    /// `BPF_MAP_CREATE` in `map_fd[]` order, shared pins, initial contents.
    CreateMaps,
    /// Link subprograms and patch instructions, find attach targets (no
    /// syscalls; the kernel BTF is read before the maps when a program
    /// calls a kfunc, has CO-RE relocations, attaches to a kernel type or
    /// implements a struct_ops member).
    Relocate,
    /// `BPF_PROG_LOAD` in `prog_fd[]` order.
    LoadPrograms,
    /// Put programs into prog arrays.
    FillJumpTables,
    /// `BPF_MAP_UPDATE_ELEM` of the `.struct_ops` maps `--register` names.
    Register,
    /// Pin the maps into the staging directory.
    Pin,
    /// `RTM_SETLINK`.
    Attach,
    /// Swap the staging directory into place.
    PublishPins,
}

impl Stage {
    /// How errors and `--timings` name the stage.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Open => "open",
            Stage::Resolve => "resolve options",
            Stage::LoadBtf => "load BTF",
            Stage::CreateMaps => "create maps",
            Stage::Relocate => "relocate",
            Stage::LoadPrograms => "load programs",
            Stage::FillJumpTables => "fill jump tables",
            Stage::Register => "register struct_ops",
            Stage::Pin => "pin",
            Stage::Attach => "attach",
            Stage::PublishPins => "publish pins",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing that happened during a load.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// `BPF_BTF_LOAD` succeeded.
    BtfLoaded {
        /// Its size.
        bytes: usize,
        /// The fd the kernel gave it.
        fd: RawFd,
    },
    /// `BPF_MAP_CREATE` made `map_fd[index]`.
    MapCreated {
        /// Its index in `map_fd[]`.
        index: usize,
        /// Its name.
        name: &'a str,
        /// Its type.
        map_type: MapType,
        /// The fd the kernel gave it.
        fd: RawFd,
        /// The kernel refused the BTF key/value type ids (EINVAL/ENOTSUPP,
        /// e.g. `map_check_no_btf` on prog arrays): created without them.
        without_btf: bool,
        /// `map_ifindex`: bound to this device (offload).
        ifindex: u32,
    },
    /// An inner-map template (`__array(values, struct {...})`) was created
    /// for `map_fd[outer]` and closed after it.
    InnerTemplate {
        /// The outer map's index in `map_fd[]`.
        outer: usize,
        /// The template's fd.
        fd: RawFd,
    },
    /// `map_fd[index]` is an existing pinned map, compatible with the
    /// object's definition: used as it is, neither created nor filled.
    MapReused {
        /// Its index in `map_fd[]`.
        index: usize,
        /// Its name.
        name: &'a str,
        /// The pin.
        path: &'a Path,
        /// The fd of the pinned map.
        fd: RawFd,
    },
    /// A shared map (iproute2 pinning, `LIBBPF_PIN_BY_NAME`) was created
    /// and pinned at `path`.
    SharedPinCreated {
        /// Its index in `map_fd[]`.
        index: usize,
        /// The pin.
        path: &'a Path,
    },
    /// Global data written into `map_fd[index]` (`bytes` bytes at key 0).
    MapFilled {
        /// Its index in `map_fd[]`.
        index: usize,
        /// How many bytes were written.
        bytes: usize,
    },
    /// `map_fd[index]` frozen (`BPF_MAP_FREEZE`): read-only for user space.
    MapFrozen {
        /// Its index in `map_fd[]`.
        index: usize,
    },
    /// `map_fd[inner]` stored at `key` of the map-in-map `map_fd[outer]`.
    MapSlotFilled {
        /// The outer map's index in `map_fd[]`.
        outer: usize,
        /// The key.
        key: u32,
        /// The inner map's index in `map_fd[]`.
        inner: usize,
    },
    /// The kernel refused the object's BTF, also with the kinds it does not
    /// know replaced: the object is loaded without it.
    BtfLeftOut {
        /// The kernel's refusal.
        error: &'a rxdp_syscalls::Error,
    },
    /// A map's `max_entries` set for this machine: a perf-event array's
    /// to the possible CPUs, a ring buffer's rounded to a power-of-2
    /// number of pages.
    MapResized {
        /// The map.
        name: &'a str,
        /// `max_entries` in the object.
        from: u32,
        /// `max_entries` as created.
        to: u32,
    },
    /// The `.kconfig` map's value was computed (`bytes` bytes), from the
    /// kernel configuration at `config` when the object asks for `CONFIG_*`.
    KconfigFilled {
        /// Its size.
        bytes: usize,
        /// The configuration read, if any.
        config: Option<&'a str>,
    },
    /// The kernel's BTF (vmlinux's or a module's) was read, for kfuncs,
    /// `__ksym` variables, CO-RE, attach targets or struct_ops.
    KernelBtfRead {
        /// Its size.
        bytes: usize,
    },
    /// A `__ksym` extern was resolved.
    KsymResolved {
        /// The extern.
        name: &'a str,
        /// What the kernel has for it.
        value: rxdp_elf::ksyms::KsymValue,
        /// Where: `vmlinux`, a module, `/proc/kallsyms`, or nowhere.
        source: &'a str,
    },
    /// Instruction `insn` of program `program` was patched for `symbol`.
    Relocated {
        /// The program, by name.
        program: &'a str,
        /// The instruction, in the linked program.
        insn: usize,
        /// The symbol the relocation names.
        symbol: &'a str,
        /// What was written.
        patch: &'a Patch,
    },
    /// `BPF_PROG_LOAD` made `prog_fd[index]`.
    ProgramLoaded {
        /// Its index in `prog_fd[]`.
        index: usize,
        /// Its name.
        name: &'a str,
        /// Its type.
        prog_type: ProgramType,
        /// The fd the kernel gave it.
        fd: RawFd,
        /// Its kernel id.
        id: u32,
        /// How many instructions were loaded.
        insns: usize,
        /// How many the verifier processed.
        verified_insns: u32,
        /// How long `BPF_PROG_LOAD` took.
        took: Duration,
    },
    /// `prog_fd[program]` stored at `key` of `map_fd[map]`.
    JumpEntry {
        /// The prog array's index in `map_fd[]`.
        map: usize,
        /// The key.
        key: u32,
        /// The program's index in `prog_fd[]`.
        program: usize,
        /// Why the entry is made.
        origin: JumpOrigin,
    },
    /// The struct_ops map `map_fd[index]` was laid out as the kernel's
    /// struct `type_name` (`btf_vmlinux_value_type_id`, `value_size`).
    StructOpsLaidOut {
        /// Its index in `map_fd[]`.
        index: usize,
        /// The kernel struct.
        type_name: &'a str,
        /// The value type's id in the kernel's BTF.
        value_type_id: u32,
        /// The value's size.
        value_size: usize,
    },
    /// The struct_ops map `map_fd[index]` was updated with its programs'
    /// fds: registered with the kernel (or, `.struct_ops.link`, ready for a
    /// link).
    StructOpsRegistered {
        /// Its index in `map_fd[]`.
        index: usize,
        /// Its name.
        name: &'a str,
        /// The kernel struct.
        type_name: &'a str,
        /// How many programs it holds.
        programs: usize,
        /// A `.struct_ops.link` map: made ready for a link, not registered.
        link: bool,
    },
    /// `map_fd[index]` pinned at `path` (in the staging directory).
    Pinned {
        /// Its index in `map_fd[]`.
        index: usize,
        /// The pin.
        path: &'a Path,
    },
    /// The `RTM_SETLINK` about to be sent.
    NetlinkRequest {
        /// The device.
        ifindex: u32,
        /// The program's fd (`IFLA_XDP_FD`).
        fd: RawFd,
        /// `IFLA_XDP_FLAGS`.
        flags: XdpFlags,
        /// `IFLA_XDP_EXPECTED_FD`, with `--force`.
        expected_fd: Option<RawFd>,
    },
    /// The program is attached; `mode` is the one the kernel reports.
    Attached {
        /// The device.
        ifindex: u32,
        /// The mode the kernel reports.
        mode: Mode,
        /// The id of the program it replaced.
        replaced: Option<u32>,
    },
    /// The staging directory became `dir`.
    PinsPublished {
        /// The final directory.
        dir: &'a Path,
    },
    /// A staging directory left by a loader that died was published or
    /// removed (under the device's lock, before this load staged its own).
    Recovered {
        /// What was found and what became of it.
        recovered: &'a Recovered,
    },
    /// The device's lock was taken after `waited`.
    Locked {
        /// The lock file.
        path: &'a Path,
        /// How long the load waited for it.
        waited: Duration,
    },
    /// A stage ended: its wall time, and the part of it spent in syscalls
    /// (`rxdp_syscalls::seam::kernel_time`).
    StageFinished {
        /// The stage.
        stage: Stage,
        /// Its wall time.
        wall: Duration,
        /// The part of it spent in syscalls.
        kernel: Duration,
    },
    /// The load failed and this was undone.
    RolledBack {
        /// What was undone.
        what: &'a str,
    },
}

/// Receives the events of a load.
pub trait Observer {
    /// Called for every event, as it happens.
    fn event(&mut self, event: &Event<'_>);
}

/// Watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    #[inline]
    fn event(&mut self, _event: &Event<'_>) {}
}
