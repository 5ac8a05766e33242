//! `LoadError`: what went wrong, at which stage, about what, what the kernel
//! said, and what to do next.
//!
//! Every message reads `<file>: <stage>: <what>: <OP> failed: <text>
//! (<ERRNO>): kernel says "<extack or log line>"; <what to do>`, so that a
//! user sees in one line which object, which step of the pipeline, which
//! map/program/instruction, the kernel's own words and a way forward.

use std::path::PathBuf;

use rxdp_elf::ParseError;
use rxdp_syscalls::Error as SysError;

use crate::kfunc::KfuncError;
use crate::observe::Stage;
use crate::options::{Mode, OptionError};
use crate::relocate::RelocateError;

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
fn offload_refusal(dev: &str, source: &SysError) -> String {
    if source.errno == libc::EINVAL {
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

fn leftovers(items: &[String]) -> String {
    format!(
        "\n  and undoing the load failed, left behind: {}",
        items.join("; ")
    )
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
}

impl VerifierReport {
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
pub enum LoadError {
    #[error("{file}: open: cannot read it: {}", io(source))]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: open: {source}")]
    Parse { file: String, source: ParseError },
    #[error("{file}: resolve options: {source}")]
    Option { file: String, source: OptionError },
    #[error("{file}: resolve options: interface {dev}: {}", kernel(source))]
    Device {
        file: String,
        dev: String,
        source: SysError,
    },
    #[error(
        "{file}: load BTF: the object's .BTF cannot be made acceptable to the kernel: {source}"
    )]
    BtfPrepare {
        file: String,
        source: rxdp_elf::btf::BtfError,
    },
    #[error(
        "{file}: load BTF: the object's .BTF: {}{}",
        kernel(source),
        btf_advice(source)
    )]
    Btf { file: String, source: SysError },
    #[error(
        "{file}: create maps: map_fd[{index}] {map}: {what}: {}",
        kernel(source)
    )]
    Map {
        file: String,
        index: usize,
        map: String,
        what: String,
        source: SysError,
    },
    #[error("{file}: create maps: map_fd[{index}] {map}: the map pinned at {} is not compatible: its {field} is {pinned}, the object's is {ours}; remove the pin (rm {}) or rename the map", path.display(), path.display())]
    PinMismatch {
        file: String,
        index: usize,
        map: String,
        path: PathBuf,
        field: &'static str,
        pinned: u64,
        ours: u64,
    },
    #[error(
        "{file}: {stage}: {what}: {}; {}; use --mode drv or skb",
        syscall(source),
        offload_refusal(dev, source)
    )]
    Offload {
        file: String,
        stage: Stage,
        dev: String,
        what: String,
        source: SysError,
    },
    #[error("{file}: relocate: {source}")]
    Kfunc { file: String, source: KfuncError },
    #[error("{file}: relocate: {source}")]
    Relocate { file: String, source: RelocateError },
    #[error("{file}: load programs: prog_fd[{index}] {program} (section {section}): the verifier rejected it ({}){}{}; -v prints the whole log{}", source.errno_name(), source.kernel_message.as_ref().map(|m| format!(": kernel says \"{m}\"")).unwrap_or_default(), report.at(), lines(&report.tail))]
    Verifier {
        file: String,
        index: usize,
        program: String,
        section: String,
        source: SysError,
        report: VerifierReport,
    },
    #[error(
        "{file}: load programs: prog_fd[{index}] {program} (section {section}): {}",
        kernel(source)
    )]
    Program {
        file: String,
        index: usize,
        program: String,
        section: String,
        source: SysError,
    },
    #[error("{file}: fill jump tables: map_fd[{map_index}] {map}[{key}] = prog_fd[{program_index}] {program}: {}", kernel(source))]
    Jump {
        file: String,
        map_index: usize,
        map: String,
        key: u32,
        program_index: usize,
        program: String,
        source: SysError,
    },
    #[error("{file}: pin: maps {first} and {second} would both be pinned as {name}; rename one, or use --no-pin")]
    PinName {
        file: String,
        name: String,
        first: String,
        second: String,
    },
    #[error("{file}: {stage}: {}: {}", path.display(), kernel(source))]
    Pin {
        file: String,
        stage: Stage,
        path: PathBuf,
        source: SysError,
    },
    #[error("{file}: attach: lock {} against concurrent loads: {}", path.display(), kernel(source))]
    Lock {
        file: String,
        path: PathBuf,
        source: SysError,
    },
    #[error("{file}: attach: {dev} already runs XDP program {name} (id {id}, tag {tag}) in {mode} mode ({}{}); use --force to replace it, or `rxdp unload --dev {dev}` first", source.errno_name(), source.kernel_message.as_ref().map(|m| format!(": kernel says \"{m}\"")).unwrap_or_default())]
    Busy {
        file: String,
        dev: String,
        mode: Mode,
        id: u32,
        name: String,
        tag: String,
        source: SysError,
    },
    #[error("{file}: attach: {dev} in {mode} mode: program id {id}, which --force was replacing, was replaced by someone else meanwhile ({}); run again to replace the new one", source.errno_name())]
    Raced {
        file: String,
        dev: String,
        mode: Mode,
        id: u32,
        source: SysError,
    },
    #[error("{file}: attach: {dev} in {mode} mode: {}", kernel(source))]
    Attach {
        file: String,
        dev: String,
        mode: Mode,
        source: SysError,
    },
    #[error("{error}{}", leftovers(left))]
    Rollback {
        error: Box<LoadError>,
        left: Vec<String>,
    },
}

impl LoadError {
    /// The stage the load stopped at.
    pub fn stage(&self) -> Stage {
        match self {
            LoadError::Read { .. } | LoadError::Parse { .. } => Stage::Open,
            LoadError::Option { .. } | LoadError::Device { .. } => Stage::Resolve,
            LoadError::Btf { .. } | LoadError::BtfPrepare { .. } => Stage::LoadBtf,
            LoadError::Map { .. } | LoadError::PinMismatch { .. } => Stage::CreateMaps,
            LoadError::Offload { stage, .. } | LoadError::Pin { stage, .. } => *stage,
            LoadError::Kfunc { .. } | LoadError::Relocate { .. } => Stage::Relocate,
            LoadError::Verifier { .. } | LoadError::Program { .. } => Stage::LoadPrograms,
            LoadError::Jump { .. } => Stage::FillJumpTables,
            LoadError::PinName { .. } => Stage::Pin,
            LoadError::Lock { .. }
            | LoadError::Busy { .. }
            | LoadError::Raced { .. }
            | LoadError::Attach { .. } => Stage::Attach,
            LoadError::Rollback { error, .. } => error.stage(),
        }
    }

    /// The kernel's error, when a syscall failed.
    pub fn syscall_error(&self) -> Option<&SysError> {
        match self {
            LoadError::Device { source, .. }
            | LoadError::Btf { source, .. }
            | LoadError::Map { source, .. }
            | LoadError::Offload { source, .. }
            | LoadError::Verifier { source, .. }
            | LoadError::Program { source, .. }
            | LoadError::Jump { source, .. }
            | LoadError::Pin { source, .. }
            | LoadError::Lock { source, .. }
            | LoadError::Busy { source, .. }
            | LoadError::Raced { source, .. }
            | LoadError::Attach { source, .. } => Some(source),
            LoadError::Rollback { error, .. } => error.syscall_error(),
            _ => None,
        }
    }

    /// The whole verifier log of a rejected program.
    pub fn verifier_log(&self) -> Option<&str> {
        match self {
            LoadError::Verifier { source, .. } => source.log.as_deref(),
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
            source: SysError::new("RTM_SETLINK", libc::EINVAL)
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
            source: SysError::new("BPF_MAP_CREATE", libc::EPERM),
        };
        assert_eq!(
            error.to_string(),
            "x.o: create maps: map_fd[0] jmp_table1: create: BPF_MAP_CREATE failed: Operation \
             not permitted (EPERM); run as root or grant CAP_BPF and CAP_NET_ADMIN"
        );
        let btf = |errno| {
            LoadError::Btf {
                file: "x.o".into(),
                source: SysError::new("BPF_BTF_LOAD", errno),
            }
            .to_string()
        };
        assert_eq!(
            btf(libc::EPERM),
            "x.o: load BTF: the object's .BTF: BPF_BTF_LOAD failed: Operation not permitted \
             (EPERM); run as root or grant CAP_BPF and CAP_NET_ADMIN"
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
            source: SysError::new("BPF_PROG_LOAD", libc::EACCES)
                .with_kernel_message("invalid access to packet"),
            report: VerifierReport {
                insn: Some("2: (69) r1 = *(u16 *)(r1 +12)".into()),
                location: Some("v.c:22".into()),
                source_line: Some("  if (x)".into()),
                tail: vec!["a".into(), "b".into()],
            },
        };
        assert_eq!(
            error.to_string(),
            "v.o: load programs: prog_fd[0] xdp_reject (section xdp): the verifier rejected it \
             (EACCES): kernel says \"invalid access to packet\" at v.c:22 `if (x)` (insn 2: (69) \
             r1 = *(u16 *)(r1 +12)); -v prints the whole log\n  last 2 lines of the verifier \
             log:\n    a\n    b"
        );
    }
}
