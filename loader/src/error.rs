//! `LoadError`: what went wrong, at which stage, about what, what the kernel
//! said, and what to do next.
//!
//! Every message reads `<file>: <stage>: <what>: <OP> failed: <text>
//! (<ERRNO>): kernel says "<extack or log line>"; <what to do>`, so that a
//! user sees in one line which object, which step of the pipeline, which
//! map/program/instruction, the kernel's own words and a way forward.
//!
//! A cause is printed once: the message is whole, the cause's text inside
//! it, so `source()` returns no cause (the rule of every rxdp crate; a
//! caller printing the chain prints each cause once). The cause is a field
//! of its variant, and [`LoadError::syscall_error`] finds the kernel's.

use std::path::PathBuf;

use rxdp_elf::section_types::Spelling;
use rxdp_elf::ParseError;
use rxdp_syscalls::fs::lock::LockError;
use rxdp_syscalls::signal::signal_name;
use rxdp_syscalls::Error as SysError;

use crate::externs::ExternError;
use crate::kernel_btf::KernelBtfError;
use crate::observe::Stage;
use crate::options::{Mode, OptionError};
use crate::pin::PinError;
use rxdp_elf::relocate::RelocateError;

/// The syscall part of a message: `OP failed: text (ERRNO): kernel says
/// "..."`, without the subject (the message names the thing itself) and
/// without the hint.
pub(crate) fn syscall(error: &SysError) -> String {
    let text = std::io::Error::from_raw_os_error(error.errno).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut out = format!("{} failed: {text} ({})", error.op, error.errno_name());
    if let Some(message) = &error.kernel_message {
        out.push_str(&format!(": kernel says \"{message}\""));
    }
    out
}

/// Why a device did not take what hw mode binds to it. EINVAL is the
/// kernel finding no offload device behind the ifindex (veth, say);
/// EOPNOTSUPP/ENOTSUPP come from a device without `ndo_bpf` or from an
/// offload driver turning this program or map down (netdevsim does when
/// its debugfs `bpf_bind_accept`/`bpf_map_accept` say N, nfp for what its
/// firmware cannot run): the errno alone cannot tell those two apart.
fn offload_refusal(dev: &str, error: &SysError) -> String {
    if error.errno == libc::EINVAL {
        format!("{dev} cannot offload XDP programs (its driver does not implement BPF offload; only e.g. nfp NICs and netdevsim do)")
    } else {
        format!("{dev} refused to offload it: its driver has no BPF offload, or the device turned this down (offload drivers take few helpers and only ARRAY and HASH maps, of sizes they choose)")
    }
}

/// `; <hint>` when the syscall layer knows what to do, else nothing.
pub(crate) fn hint(error: &SysError) -> String {
    error
        .hint()
        .map(|hint| format!("; {hint}"))
        .unwrap_or_default()
}

/// [`syscall`] and [`hint`] together.
fn kernel(error: &SysError) -> String {
    format!("{}{}", syscall(error), hint(error))
}

fn io(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    match error.raw_os_error() {
        Some(errno @ (libc::EMFILE | libc::ENFILE)) => format!(
            "{text} ({}); {}",
            rxdp_syscalls::errno_name(errno),
            SysError::new("open", errno).hint().unwrap_or_default()
        ),
        Some(errno) => format!("{text} ({})", rxdp_syscalls::errno_name(errno)),
        None => text,
    }
}

/// For a `.BTF` the kernel refused as such (not for missing privileges or
/// memory): what to do about the object.
fn btf_advice(error: &SysError) -> &'static str {
    match error.errno {
        libc::EINVAL | libc::E2BIG | libc::EOPNOTSUPP | rxdp_syscalls::ENOTSUPP => {
            "; rebuild the object with a clang that matches this kernel, or strip .BTF"
        }
        _ => "",
    }
}

fn lines(tail: &[String]) -> String {
    if tail.is_empty() {
        return String::new();
    }
    let mut out = format!("\n  last {} lines of the verifier log:", tail.len());
    for line in tail {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

/// What to do about a lock that was not obtained.
pub(crate) fn lock_advice(error: &LockError, what: &str) -> String {
    match error {
        LockError::TimedOut { .. } => format!(
            "; another load or unload of {what} is under way: wait for it to end, or give it \
             longer (--lock-timeout SECONDS)"
        ),
        _ => String::new(),
    }
}

/// Bytes in binary units, for limits: `256 MiB`, `1536 KiB`, `100 bytes`.
pub(crate) fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

fn leftovers(items: &[String]) -> String {
    format!(
        "\n  and undoing the load failed, left behind: {}",
        items.join("; ")
    )
}

/// `` `a`, `b` `` or a pointer to the documentation when nothing is close.
fn suggestions(nearest: &[Spelling]) -> String {
    if nearest.is_empty() {
        return "no known name is close".to_string();
    }
    let mut out = String::from("nearest known names:");
    for name in nearest {
        out.push_str(&format!(" `{name}`"));
    }
    out
}

/// What the verifier said about a program it refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierReport {
    /// The failing instruction as the log shows it (`5: (69) r1 = *(u16 *)(r1 +12)`).
    pub insn: Option<String>,
    /// Where it comes from (`verifier_reject.c:22`), from the program's line info.
    pub location: Option<String>,
    /// That source line, as the object's BTF recorded it.
    pub source_line: Option<String>,
    /// The last lines of the log.
    pub tail: Vec<String>,
    /// The whole log was shown already (`-v`): the message does not repeat
    /// its last lines.
    pub log_shown: bool,
}

impl VerifierReport {
    /// `; -v prints the whole log` and the last lines, or a pointer to the
    /// log shown above.
    fn log(&self) -> String {
        if self.log_shown {
            "; the whole verifier log is above".to_string()
        } else {
            format!("; -v prints the whole log{}", lines(&self.tail))
        }
    }

    fn at(&self) -> String {
        let mut out = String::new();
        if let Some(location) = &self.location {
            out.push_str(&format!(" at {location}"));
        }
        if let Some(line) = &self.source_line {
            out.push_str(&format!(" `{}`", line.trim()));
        }
        if let Some(insn) = &self.insn {
            out.push_str(&format!(" (insn {insn})"));
        }
        out
    }
}

/// A failed load. Every variant names the file; [`LoadError::stage`] says
/// where in the pipeline it stopped. By the time a `LoadError` is returned,
/// everything the load made has been undone (see `pipeline`), or the
/// [`LoadError::Rollback`] wrapper lists what could not be.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: open: cannot read it: {}", io(error))]
    Read {
        /// The object file, as the user named it.
        file: String,
        /// What reading said.
        error: std::io::Error,
    },
    /// The object is not a regular file (a directory, FIFO, device,
    /// socket): rxdp does not read it.
    #[error("{file}: open: it is {what}, not a regular file: give the object file itself (rxdp reads only regular files, so that a FIFO cannot block it nor a device flood it)")]
    NotAFile {
        /// The object file, as the user named it.
        file: String,
        /// What it is instead (`a FIFO`, `a directory`, ...).
        what: &'static str,
    },
    /// The object is larger than [`LoadOptions::max_object_size`](crate::LoadOptions::max_object_size).
    #[error("{file}: open: it is {size} bytes, more than the {} rxdp reads; a BPF object is rarely more than a few MiB: is it the right file? (raise the limit with --max-object-size BYTES, or LoadOptions::max_object_size)", bytes(*limit))]
    TooLarge {
        /// The object file, as the user named it.
        file: String,
        /// Its size in bytes (as far as it was read).
        size: u64,
        /// The limit it exceeds.
        limit: u64,
    },
    /// The file is not a BPF object rxdp can load.
    #[error("{file}: open: {error}")]
    Parse {
        /// The object file, as the user named it.
        file: String,
        /// What is wrong with the object.
        error: ParseError,
    },
    /// An option names a map or program the object does not have.
    #[error("{file}: resolve options: {error}")]
    Option {
        /// The object file, as the user named it.
        file: String,
        /// What does not fit.
        error: OptionError,
    },
    /// No section table knows a program's section, and no `--type` covers it.
    #[error("{file}: resolve options: prog_fd[{index}] {program} (section {section}): no section table knows `{section}`: rxdp does not guess a program's type ({}; docs/11-section-names.md); rename the section, or force a type with --type TYPE", suggestions(nearest))]
    UnknownSection {
        /// The object file, as the user named it.
        file: String,
        /// The index in `prog_fd[]`.
        index: usize,
        /// The program, by name.
        program: String,
        /// Its ELF section.
        section: String,
        /// Known names close to it.
        nearest: Vec<Spelling>,
    },
    /// A program's attach target is missing or cannot be found.
    #[error("{file}: {stage}: prog_fd[{index}] {program} (section {section}): {problem}")]
    Target {
        /// The object file, as the user named it.
        file: String,
        /// The stage it happened in.
        stage: Stage,
        /// The index in `prog_fd[]`.
        index: usize,
        /// The program, by name.
        program: String,
        /// Its ELF section.
        section: String,
        /// What is missing, and what to do.
        problem: String,
    },
    /// A struct_ops variable does not fit the kernel's struct.
    #[error("{file}: create maps: map_fd[{index}] {map}: {error}")]
    StructOps {
        /// The object file, as the user named it.
        file: String,
        /// The index in `map_fd[]`.
        index: usize,
        /// The map, by name.
        map: String,
        /// What does not fit.
        error: rxdp_elf::struct_ops::StructOpsError,
    },
    /// Registering a struct_ops map (`BPF_MAP_UPDATE_ELEM` at key 0) failed.
    #[error("{file}: register struct_ops: map_fd[{index}] {map} (struct {type_name}): {} (mandatory members unset, or the name taken?)", kernel(error))]
    Register {
        /// The object file, as the user named it.
        file: String,
        /// The index in `map_fd[]`.
        index: usize,
        /// The map, by name.
        map: String,
        /// The kernel struct.
        type_name: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// The interface to attach to was not found.
    #[error("{file}: resolve options: interface {dev}: {}", kernel(error))]
    Device {
        /// The object file, as the user named it.
        file: String,
        /// The interface.
        dev: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// The object's BTF cannot be rewritten for the kernel.
    #[error(
        "{file}: load BTF: the object's .BTF cannot be made acceptable to the kernel: {error}"
    )]
    BtfPrepare {
        /// The object file, as the user named it.
        file: String,
        /// What is wrong with the BTF.
        error: rxdp_elf::btf::BtfError,
    },
    /// The kernel refused the object's BTF (`BPF_BTF_LOAD`).
    #[error(
        "{file}: load BTF: the object's .BTF: {}{}",
        kernel(error),
        btf_advice(error)
    )]
    Btf {
        /// The object file, as the user named it.
        file: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// A map could not be created, filled or frozen.
    #[error(
        "{file}: create maps: map_fd[{index}] {map}: {what}: {}",
        kernel(error)
    )]
    Map {
        /// The object file, as the user named it.
        file: String,
        /// The index in `map_fd[]` or `prog_fd[]`.
        index: usize,
        /// The map, by name.
        map: String,
        /// The step that failed (`create`, `fill`, ...).
        what: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// A pinned map to reuse does not match the object's definition.
    #[error("{file}: create maps: map_fd[{index}] {map}: the map pinned at {} is not compatible: its {field} is {pinned}, the object's is {ours}; remove the pin (rm {}) or rename the map", path.display(), path.display())]
    PinMismatch {
        /// The object file, as the user named it.
        file: String,
        /// The index in `map_fd[]` or `prog_fd[]`.
        index: usize,
        /// The map, by name.
        map: String,
        /// The pin.
        path: PathBuf,
        /// The field that differs (`type`, `key_size`, ...).
        field: &'static str,
        /// Its value in the pinned map.
        pinned: u64,
        /// Its value in the object.
        ours: u64,
    },
    /// A shared pin (`PIN_GLOBAL_NS`, `PIN_OBJECT_NS`, pin by name) that
    /// rxdp will not reuse: a symlink, another user's, or one it could not
    /// check.
    #[error("{file}: create maps: map_fd[{index}] {map}: {error}")]
    SharedPin {
        /// The object file, as the user named it.
        file: String,
        /// The index in `map_fd[]`.
        index: usize,
        /// The map, by name.
        map: String,
        /// What is wrong with the pin.
        error: PinError,
    },
    /// The device cannot offload the program or map (hw mode).
    #[error(
        "{file}: {stage}: {what}: {}; {}; use --mode drv or skb",
        syscall(error),
        offload_refusal(dev, error)
    )]
    Offload {
        /// The object file, as the user named it.
        file: String,
        /// The stage it happened in.
        stage: Stage,
        /// The interface.
        dev: String,
        /// The step that failed (`create`, `fill`, ...).
        what: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// The kernel's BTF could not be read, or lacks a kfunc or `__ksym`
    /// variable the object needs.
    #[error("{file}: relocate: {error}")]
    KernelBtf {
        /// The object file, as the user named it.
        file: String,
        /// What failed: reading the kernel's BTF, parsing it, or finding a
        /// kernel symbol in it.
        error: KernelBtfError,
    },
    /// An extern could not be given a value from this machine (the kernel
    /// configuration, `/proc/kallsyms`).
    #[error("{file}: {stage}: {error}")]
    Extern {
        /// The object file, as the user named it.
        file: String,
        /// The stage it happened in.
        stage: Stage,
        /// What failed.
        error: ExternError,
    },
    /// A program calls an XDP hints kfunc and no device was named to
    /// bind it to.
    #[error("{file}: load programs: prog_fd[{index}] {program} calls {kfunc}, an XDP hints kfunc: the kernel runs it only in a program bound to the device it reads hints from; name the device (--dev IF), and rxdp loads it with BPF_F_XDP_DEV_BOUND_ONLY")]
    HintsNeedDevice {
        /// The object file, as the user named it.
        file: String,
        /// Its index in `prog_fd[]`.
        index: usize,
        /// The program.
        program: String,
        /// The kfunc it calls.
        kfunc: String,
    },
    /// A program could not be relocated.
    #[error("{file}: relocate: {error}")]
    Relocate {
        /// The object file, as the user named it.
        file: String,
        /// What cannot be relocated.
        error: RelocateError,
    },
    /// The verifier refused a program.
    #[error("{file}: load programs: prog_fd[{index}] {program} (section {section}): the verifier rejected it ({}){}{}{}", error.errno_name(), error.kernel_message.as_ref().map(|m| format!(": kernel says \"{m}\"")).unwrap_or_default(), report.at(), report.log())]
    Verifier {
        /// The object file, as the user named it.
        file: String,
        /// The index in `map_fd[]` or `prog_fd[]`.
        index: usize,
        /// The program, by name.
        program: String,
        /// Its ELF section.
        section: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
        /// Where the verifier stopped, and the end of its log.
        report: VerifierReport,
    },
    /// `BPF_PROG_LOAD` failed for another reason than the verifier.
    #[error(
        "{file}: load programs: prog_fd[{index}] {program} (section {section}): {}",
        kernel(error)
    )]
    Program {
        /// The object file, as the user named it.
        file: String,
        /// The index in `map_fd[]` or `prog_fd[]`.
        index: usize,
        /// The program, by name.
        program: String,
        /// Its ELF section.
        section: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// A jump-table entry could not be written.
    #[error("{file}: fill jump tables: map_fd[{map_index}] {map}[{key}] = prog_fd[{program_index}] {program}: {}", kernel(error))]
    Jump {
        /// The object file, as the user named it.
        file: String,
        /// The prog array's index in `map_fd[]`.
        map_index: usize,
        /// The map, by name.
        map: String,
        /// The key.
        key: u32,
        /// The program's index in `prog_fd[]`.
        program_index: usize,
        /// The program, by name.
        program: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// Two maps would be pinned under one name.
    #[error("{file}: pin: maps {first} and {second} would both be pinned as {name}; rename one, or use --no-pin")]
    PinName {
        /// The object file, as the user named it.
        file: String,
        /// The pin name.
        name: String,
        /// The first map.
        first: String,
        /// The second map.
        second: String,
    },
    /// Pinning, or publishing the pins, failed.
    #[error("{file}: {stage}: {}: {}", path.display(), kernel(error))]
    Pin {
        /// The object file, as the user named it.
        file: String,
        /// The stage it happened in.
        stage: Stage,
        /// The path.
        path: PathBuf,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// A directory or pin in bpffs that rxdp does not use (a symlink,
    /// another user's, one holding what rxdp did not make), or a syscall
    /// on one that failed.
    #[error("{file}: {stage}: {error}")]
    Pins {
        /// The object file, as the user named it.
        file: String,
        /// The stage it happened in.
        stage: Stage,
        /// What is wrong with the directory or pin.
        error: PinError,
    },
    /// The per-device lock that orders loads and unloads could not be
    /// taken (in time).
    #[error(
        "{file}: {stage}: lock for {what}: {error}{}",
        lock_advice(error, what)
    )]
    Lock {
        /// The object file, as the user named it.
        file: String,
        /// The stage it happened in.
        stage: Stage,
        /// What the lock guards (`veth0 skb`, a pin directory).
        what: String,
        /// Why it was not taken: timed out (naming the holder) or a
        /// syscall failed.
        error: LockError,
    },
    /// SIGINT or SIGTERM asked the load to stop; what it made was undone.
    #[error("{file}: {stage}: interrupted by {}; everything the load had made was undone", signal_name(*signal))]
    Interrupted {
        /// The object file, as the user named it.
        file: String,
        /// The stage it was in.
        stage: Stage,
        /// The signal (`SIGINT`, `SIGTERM`).
        signal: i32,
    },
    /// The interface's ifindex no longer has the name rxdp resolved:
    /// renamed, or deleted (and perhaps reused) during the load.
    #[error("{file}: attach: interface {dev} (ifindex {ifindex}) {}: it was renamed or replaced while rxdp loaded; nothing was left attached: run again", match now { Some(name) => format!("is now named {name}"), None => "is gone".to_string() })]
    DeviceChanged {
        /// The object file, as the user named it.
        file: String,
        /// The interface, as named.
        dev: String,
        /// The ifindex it had when resolved.
        ifindex: u32,
        /// That ifindex's name now, or `None` when it is gone.
        now: Option<String>,
    },
    /// Another program is attached in that mode, and `--force` was not given.
    #[error("{file}: attach: {dev} already runs XDP program {name} (id {id}, tag {tag}) in {mode} mode ({}{}); use --force to replace it, or `rxdp unload --dev {dev}` first", error.errno_name(), error.kernel_message.as_ref().map(|m| format!(": kernel says \"{m}\"")).unwrap_or_default())]
    Busy {
        /// The object file, as the user named it.
        file: String,
        /// The interface.
        dev: String,
        /// The XDP mode.
        mode: Mode,
        /// The kernel id of the program in the way.
        id: u32,
        /// The program in the way, by name.
        name: String,
        /// Its tag.
        tag: String,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// The program `--force` was replacing was replaced by someone else meanwhile.
    #[error("{file}: attach: {dev} in {mode} mode: program id {id}, which --force was replacing, was replaced by someone else meanwhile ({}); run again to replace the new one", error.errno_name())]
    Raced {
        /// The object file, as the user named it.
        file: String,
        /// The interface.
        dev: String,
        /// The XDP mode.
        mode: Mode,
        /// The program `--force` was replacing.
        id: u32,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// Another tool attached a program in that mode while rxdp loaded
    /// (the slot was empty when the load began, and `--force` was not
    /// given).
    #[error("{file}: attach: {dev} in {mode} mode: program {name} (id {id}) was attached by another tool while rxdp loaded ({}); check it with `rxdp status`, then run again with --force to replace it", error.errno_name())]
    AttachedMeanwhile {
        /// The object file, as the user named it.
        file: String,
        /// The interface.
        dev: String,
        /// The XDP mode.
        mode: Mode,
        /// The kernel id of the program now attached.
        id: u32,
        /// That program, by name.
        name: String,
        /// What failed, with the kernel's words.
        error: SysError,
    },
    /// `--link --force` found a program attached by netlink: a netlink
    /// attach cannot become a link without a moment with no program.
    #[error("{file}: attach: {dev} already runs XDP program {name} (id {id}) in {mode} mode, attached by netlink; --link --force cannot replace it atomically (a BPF link cannot take over a netlink attach without a moment with no program): replace it with --force without --link, or `rxdp unload --dev {dev}` first and load with --link")]
    NetlinkInTheWay {
        /// The object file, as the user named it.
        file: String,
        /// The interface.
        dev: String,
        /// The XDP mode.
        mode: Mode,
        /// The kernel id of the program in the way.
        id: u32,
        /// That program, by name.
        name: String,
    },
    /// The kernel refused the attach (`RTM_SETLINK`).
    #[error("{file}: attach: {dev} in {mode} mode: {}", kernel(error))]
    Attach {
        /// The object file, as the user named it.
        file: String,
        /// The interface.
        dev: String,
        /// The XDP mode.
        mode: Mode,
        /// What failed, with the kernel's words when a syscall did.
        error: SysError,
    },
    /// The load failed, and undoing it left something behind.
    #[error("{error}{}", leftovers(left))]
    Rollback {
        /// The failure that started the rollback.
        error: Box<LoadError>,
        /// What could not be undone.
        left: Vec<String>,
    },
}

impl LoadError {
    /// The stage the load stopped at.
    pub fn stage(&self) -> Stage {
        match self {
            LoadError::Read { .. }
            | LoadError::NotAFile { .. }
            | LoadError::TooLarge { .. }
            | LoadError::Parse { .. } => Stage::Open,
            LoadError::Option { .. }
            | LoadError::Device { .. }
            | LoadError::UnknownSection { .. } => Stage::Resolve,
            LoadError::Target { stage, .. } => *stage,
            LoadError::StructOps { .. } => Stage::CreateMaps,
            LoadError::Register { .. } => Stage::Register,
            LoadError::Btf { .. } | LoadError::BtfPrepare { .. } => Stage::LoadBtf,
            LoadError::Map { .. } | LoadError::PinMismatch { .. } | LoadError::SharedPin { .. } => {
                Stage::CreateMaps
            }
            LoadError::Offload { stage, .. }
            | LoadError::Pin { stage, .. }
            | LoadError::Pins { stage, .. }
            | LoadError::Lock { stage, .. }
            | LoadError::Interrupted { stage, .. }
            | LoadError::Extern { stage, .. } => *stage,
            LoadError::KernelBtf { .. } | LoadError::Relocate { .. } => Stage::Relocate,
            LoadError::Verifier { .. }
            | LoadError::Program { .. }
            | LoadError::HintsNeedDevice { .. } => Stage::LoadPrograms,
            LoadError::Jump { .. } => Stage::FillJumpTables,
            LoadError::PinName { .. } => Stage::Pin,
            LoadError::Busy { .. }
            | LoadError::NetlinkInTheWay { .. }
            | LoadError::Raced { .. }
            | LoadError::AttachedMeanwhile { .. }
            | LoadError::DeviceChanged { .. }
            | LoadError::Attach { .. } => Stage::Attach,
            LoadError::Rollback { error, .. } => error.stage(),
        }
    }

    /// The kernel's error, when a syscall failed.
    pub fn syscall_error(&self) -> Option<&SysError> {
        match self {
            LoadError::Device { error, .. }
            | LoadError::Btf { error, .. }
            | LoadError::Map { error, .. }
            | LoadError::Offload { error, .. }
            | LoadError::Verifier { error, .. }
            | LoadError::Program { error, .. }
            | LoadError::Jump { error, .. }
            | LoadError::Register { error, .. }
            | LoadError::Pin { error, .. }
            | LoadError::Busy { error, .. }
            | LoadError::Raced { error, .. }
            | LoadError::AttachedMeanwhile { error, .. }
            | LoadError::Attach { error, .. } => Some(error),
            LoadError::Pins { error, .. } | LoadError::SharedPin { error, .. } => {
                error.syscall_error()
            }
            LoadError::Lock {
                error: LockError::Sys(error),
                ..
            } => Some(error),
            LoadError::Rollback { error, .. } => error.syscall_error(),
            _ => None,
        }
    }

    /// The same error, for a caller that has shown the whole verifier log
    /// already (`rxdp-load -v`): its message does not repeat the log's
    /// last lines.
    pub fn log_shown(mut self) -> LoadError {
        self.mark_log_shown();
        self
    }

    fn mark_log_shown(&mut self) {
        match self {
            LoadError::Verifier { report, .. } => report.log_shown = true,
            LoadError::Rollback { error, .. } => error.mark_log_shown(),
            _ => {}
        }
    }

    /// The whole verifier log of a rejected program.
    pub fn verifier_log(&self) -> Option<&str> {
        match self {
            LoadError::Verifier { error, .. } => error.log.as_deref(),
            LoadError::Rollback { error, .. } => error.verifier_log(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_stage_thing_errno_kernel_words_and_next_step() {
        let error = LoadError::Attach {
            file: "x.o".into(),
            dev: "veth0".into(),
            mode: Mode::Drv,
            error: SysError::new("RTM_SETLINK", libc::EINVAL)
                .with_subject("ifindex 5, drv mode")
                .with_kernel_message("Native and generic XDP can't be active at the same time"),
        };
        assert_eq!(
            error.to_string(),
            "x.o: attach: veth0 in drv mode: RTM_SETLINK failed: Invalid argument (EINVAL): \
             kernel says \"Native and generic XDP can't be active at the same time\""
        );
        assert_eq!(error.stage(), Stage::Attach);
        let error = LoadError::Map {
            file: "x.o".into(),
            index: 0,
            map: "jmp_table1".into(),
            what: "create".into(),
            error: SysError::new("BPF_MAP_CREATE", libc::EPERM),
        };
        let eperm = SysError::new("BPF_MAP_CREATE", libc::EPERM).hint().unwrap();
        assert_eq!(
            error.to_string(),
            format!(
                "x.o: create maps: map_fd[0] jmp_table1: create: BPF_MAP_CREATE failed: \
                 Operation not permitted (EPERM); {eperm}"
            )
        );
        let btf = |errno| {
            LoadError::Btf {
                file: "x.o".into(),
                error: SysError::new("BPF_BTF_LOAD", errno),
            }
            .to_string()
        };
        assert_eq!(
            btf(libc::EPERM),
            format!(
                "x.o: load BTF: the object's .BTF: BPF_BTF_LOAD failed: Operation not \
                 permitted (EPERM); {eperm}"
            )
        );
        assert!(btf(libc::EINVAL).ends_with(
            "; rebuild the object with a clang that matches this kernel, or strip .BTF"
        ));
        let wrapped = LoadError::Rollback {
            error: Box::new(error),
            left: vec!["pin /sys/fs/bpf/x".into()],
        };
        assert_eq!(wrapped.stage(), Stage::CreateMaps);
        assert!(wrapped
            .to_string()
            .ends_with("left behind: pin /sys/fs/bpf/x"));
    }

    #[test]
    fn verifier_rejections_show_where() {
        let error = LoadError::Verifier {
            file: "v.o".into(),
            index: 0,
            program: "xdp_reject".into(),
            section: "xdp".into(),
            error: SysError::new("BPF_PROG_LOAD", libc::EACCES)
                .with_kernel_message("invalid access to packet"),
            report: VerifierReport {
                insn: Some("2: (69) r1 = *(u16 *)(r1 +12)".into()),
                location: Some("v.c:22".into()),
                source_line: Some("  if (x)".into()),
                tail: vec!["a".into(), "b".into()],
                log_shown: false,
            },
        };
        assert_eq!(
            error.to_string(),
            "v.o: load programs: prog_fd[0] xdp_reject (section xdp): the verifier rejected it \
             (EACCES): kernel says \"invalid access to packet\" at v.c:22 `if (x)` (insn 2: (69) \
             r1 = *(u16 *)(r1 +12)); -v prints the whole log\n  last 2 lines of the verifier \
             log:\n    a\n    b"
        );
        // With -v the log was printed whole: the message does not repeat it.
        let shown = error.log_shown().to_string();
        assert!(
            shown
                .ends_with("(insn 2: (69) r1 = *(u16 *)(r1 +12)); the whole verifier log is above"),
            "{shown}"
        );
    }

    #[test]
    fn limits_and_interruptions_say_what_to_do() {
        assert_eq!(bytes(256 << 20), "256 MiB");
        assert_eq!(bytes(1000), "1000 bytes");
        assert_eq!(bytes(3 << 10), "3 KiB");
        let large = LoadError::TooLarge {
            file: "/tmp/big.o".into(),
            size: 3 << 30,
            limit: 256 << 20,
        };
        assert!(
            large.to_string().starts_with(
                "/tmp/big.o: open: it is 3221225472 bytes, more than the 256 MiB rxdp reads"
            ),
            "{large}"
        );
        assert!(large.to_string().contains("--max-object-size"));
        let stopped = LoadError::Interrupted {
            file: "x.o".into(),
            stage: Stage::Attach,
            signal: libc::SIGTERM,
        };
        assert_eq!(
            stopped.to_string(),
            "x.o: attach: interrupted by SIGTERM; everything the load had made was undone"
        );
    }
}
