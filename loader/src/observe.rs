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

use rxdp_elf::{JumpOrigin, MapType, ProgramType};
use rxdp_syscalls::netlink::XdpFlags;

use crate::options::Mode;
use crate::pin::Recovered;

/// The stages of a load, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Read the file and parse it.
    Open,
    /// Resolve `--entry`, `--map`/`--prog` and `--dev` against the object.
    Resolve,
    /// `BPF_BTF_LOAD` of the object's BTF.
    LoadBtf,
    /// `BPF_MAP_CREATE` in `map_fd[]` order, shared pins, initial contents.
    CreateMaps,
    /// Link subprograms and patch instructions (no syscalls; the kernel BTF
    /// is read here when a program calls a kfunc).
    Relocate,
    /// `BPF_PROG_LOAD` in `prog_fd[]` order.
    LoadPrograms,
    /// Put programs into prog arrays.
    FillJumpTables,
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

/// What one relocation did to an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patch<'a> {
    /// `ld_imm64` → `BPF_PSEUDO_MAP_FD` of `map_fd[map]`.
    MapFd { map: usize, fd: RawFd },
    /// `ld_imm64` → `BPF_PSEUDO_MAP_VALUE`: `offset` bytes into the value of `map_fd[map]`.
    MapValue { map: usize, fd: RawFd, offset: u32 },
    /// `call` → the subprogram placed at instruction `at`.
    Call { function: &'a str, at: usize },
    /// `ld_imm64` → `BPF_PSEUDO_FUNC`, the address of the function at `at`.
    FuncAddr { function: &'a str, at: usize },
    /// `call` → `BPF_PSEUDO_KFUNC_CALL` of kernel BTF id `btf_id`.
    Kfunc { btf_id: u32 },
    /// A CO-RE relocation of `kind` wrote the kernel's `value` (`None`:
    /// no kernel type matched, the instruction was poisoned).
    Core {
        kind: &'static str,
        value: Option<u64>,
    },
}

/// One thing that happened during a load.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// `BPF_BTF_LOAD` succeeded.
    BtfLoaded { bytes: usize, fd: RawFd },
    /// `BPF_MAP_CREATE` made `map_fd[index]`.
    MapCreated {
        index: usize,
        name: &'a str,
        map_type: MapType,
        fd: RawFd,
        /// The kernel refused the BTF key/value type ids (EINVAL/ENOTSUPP,
        /// e.g. `map_check_no_btf` on prog arrays): created without them.
        without_btf: bool,
        /// `map_ifindex`: bound to this device (offload).
        ifindex: u32,
    },
    /// An inner-map template (`__array(values, struct {...})`) was created
    /// for `map_fd[outer]` and closed after it.
    InnerTemplate { outer: usize, fd: RawFd },
    /// `map_fd[index]` is an existing pinned map, compatible with the
    /// object's definition: used as it is, neither created nor filled.
    MapReused {
        index: usize,
        name: &'a str,
        path: &'a Path,
        fd: RawFd,
    },
    /// A shared map (iproute2 pinning, `LIBBPF_PIN_BY_NAME`) was created
    /// and pinned at `path`.
    SharedPinCreated { index: usize, path: &'a Path },
    /// Global data written into `map_fd[index]` (`bytes` bytes at key 0).
    MapFilled { index: usize, bytes: usize },
    /// `map_fd[index]` frozen (`BPF_MAP_FREEZE`): read-only for user space.
    MapFrozen { index: usize },
    /// `map_fd[inner]` stored at `key` of the map-in-map `map_fd[outer]`.
    MapSlotFilled {
        outer: usize,
        key: u32,
        inner: usize,
    },
    /// The kernel's BTF was read to resolve kfuncs.
    KernelBtfRead { bytes: usize },
    /// Instruction `insn` of program `program` was patched for `symbol`.
    Relocated {
        program: &'a str,
        insn: usize,
        symbol: &'a str,
        patch: Patch<'a>,
    },
    /// `BPF_PROG_LOAD` made `prog_fd[index]`.
    ProgramLoaded {
        index: usize,
        name: &'a str,
        prog_type: ProgramType,
        fd: RawFd,
        id: u32,
        insns: usize,
        verified_insns: u32,
        took: Duration,
    },
    /// `prog_fd[program]` stored at `key` of `map_fd[map]`.
    JumpEntry {
        map: usize,
        key: u32,
        program: usize,
        origin: JumpOrigin,
    },
    /// `map_fd[index]` pinned at `path` (in the staging directory).
    Pinned { index: usize, path: &'a Path },
    /// The `RTM_SETLINK` about to be sent.
    NetlinkRequest {
        ifindex: u32,
        fd: RawFd,
        flags: XdpFlags,
        expected_fd: Option<RawFd>,
    },
    /// The program is attached; `mode` is the one the kernel reports.
    Attached {
        ifindex: u32,
        mode: Mode,
        replaced: Option<u32>,
    },
    /// The staging directory became `dir`.
    PinsPublished { dir: &'a Path },
    /// A staging directory left by a loader that died was published or
    /// removed (under the device's lock, before this load staged its own).
    Recovered { recovered: &'a Recovered },
    /// The device's lock was taken after `waited`.
    Locked { path: &'a Path, waited: Duration },
    /// A stage ended: its wall time, and the part of it spent in syscalls
    /// (`rxdp_syscalls::seam::kernel_time`).
    StageFinished {
        stage: Stage,
        wall: Duration,
        kernel: Duration,
    },
    /// The load failed and this was undone.
    RolledBack { what: &'a str },
}

/// Receives the events of a load.
pub trait Observer {
    fn event(&mut self, event: &Event<'_>);
}

/// Watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    #[inline]
    fn event(&mut self, _event: &Event<'_>) {}
}
