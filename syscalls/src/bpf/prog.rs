//! Programs: `BPF_PROG_LOAD` with the verifier log strategy of
//! [`super::log`].

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::attr::{name_field, ptr, ptr_mut, ProgLoadAttr};
use super::info::prog_info;
use super::log::{parse_stats, with_growing_log, with_log, VerifierStats, BPF_LOG_LEVEL1};
use super::sys::{bpf_fd, Cmd};
use crate::error::{Error, Result};

/// The size of one BPF instruction (`struct bpf_insn`).
pub const INSN_SIZE: usize = 8;

/// `BPF_F_STRICT_ALIGNMENT` (program flag): check alignment as strictly as
/// architectures without efficient unaligned access need.
pub const BPF_F_STRICT_ALIGNMENT: u32 = 1 << 0;
/// `BPF_F_ANY_ALIGNMENT` (program flag): accept any alignment.
pub const BPF_F_ANY_ALIGNMENT: u32 = 1 << 1;
/// `BPF_F_SLEEPABLE` (program flag).
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS` (program flag): an XDP program that handles
/// multi-buffer packets (`xdp.frags` sections).
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
/// `BPF_F_XDP_DEV_BOUND_ONLY` (program flag, kernel 6.3): an XDP program
/// bound to the device `prog_ifindex` names without being offloaded, so
/// that the verifier can resolve the XDP hints kfuncs to its driver's.
pub const BPF_F_XDP_DEV_BOUND_ONLY: u32 = 1 << 6;

/// What `BPF_PROG_LOAD` needs. Fields left at their default are zero, as the
/// kernel expects for "not used". Start from [`ProgLoad::new`] and set what
/// else the program needs: more fields may come.
#[derive(Debug, Default, Clone, Copy)]
#[non_exhaustive]
pub struct ProgLoad<'a> {
    /// `enum bpf_prog_type` (`BPF_PROG_TYPE_XDP` = 6, ...).
    pub prog_type: u32,
    /// `enum bpf_attach_type`; 0 for program types that do not look at it,
    /// XDP attached through netlink included.
    pub expected_attach_type: u32,
    /// The instructions, 8 bytes each, in the host's byte order, relocated
    /// (map fds in their `ld_imm64`s).
    pub insns: &'a [u8],
    /// "GPL" (or a GPL-compatible licence) unlocks GPL-only helpers such as
    /// `bpf_trace_printk`.
    pub license: &'a str,
    /// `kern_version`: checked by kernels before 5.0 for kprobes only.
    pub kern_version: u32,
    /// `BPF_F_*` program flags.
    pub prog_flags: u32,
    /// The program's name, as the kernel shows it: cut to 15 bytes and
    /// reduced to what the kernel accepts, see
    /// [`sanitize_name`](super::sanitize_name). Errors name the program
    /// with the name as given.
    pub name: &'a str,
    /// `prog_ifindex`: verify and translate for this device (offload).
    pub ifindex: u32,
    /// `prog_btf_fd`: the object's BTF, needed with func_info/line_info.
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// `struct bpf_func_info` records from `.BTF.ext`, `func_info_rec_size`
    /// bytes each.
    pub func_info: &'a [u8],
    /// Bytes per `func_info` record (8 today).
    pub func_info_rec_size: u32,
    /// `struct bpf_line_info` records from `.BTF.ext`, `line_info_rec_size`
    /// bytes each: with them, the verifier log names source lines.
    pub line_info: &'a [u8],
    /// Bytes per `line_info` record (16 today).
    pub line_info_rec_size: u32,
    /// For tracing programs: the kernel BTF type to attach to.
    pub attach_btf_id: u32,
    /// For tracing programs: the module BTF holding `attach_btf_id`.
    pub attach_btf_obj_fd: Option<BorrowedFd<'a>>,
    /// `fd_array`: the BTF fds of the modules whose kfuncs the program
    /// calls, each call's `off` indexing it (index 0 unused: vmlinux).
    /// Empty for none.
    pub fd_array: &'a [i32],
    /// For `freplace` (and tracing programs attached to a program): the
    /// program whose BTF holds `attach_btf_id`. It shares its field with
    /// `attach_btf_obj_fd`: give one.
    pub attach_prog_fd: Option<BorrowedFd<'a>>,
    /// 0: no log unless the load fails (then the load is repeated with
    /// `BPF_LOG_LEVEL1` and the log travels with the error). Otherwise the
    /// load is made with this level (`BPF_LOG_LEVEL1`, `BPF_LOG_LEVEL2`,
    /// optionally `| BPF_LOG_STATS`) and the log is returned even on
    /// success. Every level ends with the "processed N insns" statistics.
    pub log_level: u32,
}

impl<'a> ProgLoad<'a> {
    /// A program of this type, these instructions and this license;
    /// everything else zero (no name, no BTF, no log unless it fails).
    pub fn new(prog_type: u32, insns: &'a [u8], license: &'a str) -> Self {
        ProgLoad {
            prog_type,
            insns,
            license,
            ..ProgLoad::default()
        }
    }
}

/// A loaded program.
#[derive(Debug)]
pub struct Loaded {
    /// The program (O_CLOEXEC, like every bpf fd).
    pub fd: OwnedFd,
    /// The verifier log: empty unless a log level was asked for (or the
    /// first, log-less attempt failed and the logged one then succeeded).
    pub log: String,
    /// Wall time of the `BPF_PROG_LOAD` calls (the verifier and the JIT).
    pub load_time: Duration,
}

impl Loaded {
    /// The verifier's statistics: parsed from the log when there is one,
    /// else the program's `verified_insns` (one `BPF_OBJ_GET_INFO_BY_FD`).
    pub fn stats(&self) -> Result<VerifierStats> {
        if let Some(stats) = parse_stats(&self.log) {
            return Ok(stats);
        }
        let info = prog_info(self.fd.as_fd())?;
        Ok(VerifierStats {
            insns_processed: info.verified_insns,
            ..VerifierStats::default()
        })
    }
}

fn raw(fd: Option<BorrowedFd<'_>>) -> u32 {
    fd.map_or(0, |fd| fd.as_raw_fd() as u32)
}

/// Records in a `.BTF.ext` table: the count, if the bytes are whole records.
fn record_count(what: &str, bytes: &[u8], rec_size: u32) -> std::result::Result<u32, String> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if rec_size == 0 || bytes.len() % rec_size as usize != 0 {
        return Err(format!(
            "{what} of {} bytes in records of {rec_size}",
            bytes.len()
        ));
    }
    u32::try_from(bytes.len() / rec_size as usize).map_err(|_| format!("{what}: too many records"))
}

/// Loads a program (`BPF_PROG_LOAD`).
///
/// Without a log level the load is made once without a log; if the kernel
/// refuses it, once more with a log (growing from 64 KiB to at most 16 MiB),
/// and the error carries the errno of the refusal, the log, and the log's
/// last meaningful line as `kernel_message`. Errors name the program.
///
/// Input the kernel would refuse anyway fails with EINVAL before any
/// syscall: instructions that are not whole 8-byte instructions, a licence
/// with a NUL, `.BTF.ext` records that are not whole records.
pub fn prog_load(load: &ProgLoad<'_>) -> Result<Loaded> {
    let op = Cmd::ProgLoad.name();
    let subject = match load.name {
        "" => "program".to_string(),
        name => format!("program {name}"),
    };
    let named = |error: Error| match load.name {
        "" => error,
        _ => error.with_subject(subject.clone()),
    };
    let invalid =
        |detail: String| Error::new(op, libc::EINVAL).with_subject(format!("{subject}: {detail}"));
    if load.insns.is_empty() || load.insns.len() % INSN_SIZE != 0 {
        return Err(invalid(format!(
            "{} bytes of instructions, not a whole number of 8-byte instructions",
            load.insns.len()
        )));
    }
    let insn_cnt = u32::try_from(load.insns.len() / INSN_SIZE)
        .map_err(|_| invalid("more than 2^32 instructions".to_string()))?;
    let license = CString::new(load.license)
        .map_err(|_| invalid("the licence contains a NUL".to_string()))?;
    let func_info_cnt =
        record_count("func_info", load.func_info, load.func_info_rec_size).map_err(invalid)?;
    let line_info_cnt =
        record_count("line_info", load.line_info, load.line_info_rec_size).map_err(invalid)?;
    if load.attach_btf_obj_fd.is_some() && load.attach_prog_fd.is_some() {
        return Err(invalid(
            "attach_btf_obj_fd and attach_prog_fd share one field: give one".to_string(),
        ));
    }
    let base = ProgLoadAttr {
        prog_type: load.prog_type,
        insn_cnt,
        insns: ptr(load.insns),
        license: license.as_ptr() as u64,
        kern_version: load.kern_version,
        prog_flags: load.prog_flags,
        prog_name: name_field(load.name),
        prog_ifindex: load.ifindex,
        expected_attach_type: load.expected_attach_type,
        prog_btf_fd: raw(load.btf_fd),
        func_info_rec_size: if func_info_cnt > 0 {
            load.func_info_rec_size
        } else {
            0
        },
        func_info: ptr(load.func_info),
        func_info_cnt,
        line_info_rec_size: if line_info_cnt > 0 {
            load.line_info_rec_size
        } else {
            0
        },
        line_info: ptr(load.line_info),
        line_info_cnt,
        attach_btf_id: load.attach_btf_id,
        attach_btf_obj_fd: raw(load.attach_btf_obj_fd.or(load.attach_prog_fd)),
        fd_array: ptr(load.fd_array),
        ..ProgLoadAttr::default()
    };
    let start = Instant::now();
    if load.log_level != 0 {
        let (result, log) = load_logged(&base, load.log_level);
        return match result {
            Ok(fd) => Ok(Loaded {
                fd,
                log,
                load_time: start.elapsed(),
            }),
            Err(error) => Err(named(with_log(error, log))),
        };
    }
    let mut attr = base;
    // SAFETY: `insns` (insn_cnt * 8 bytes), `license` (NUL-terminated),
    // func_info/line_info (cnt * rec_size bytes) and `fd_array` (which the
    // kernel only reads, at the indexes kfunc calls name) are borrowed for
    // the call; there is no log buffer (null, size 0). BPF_PROG_LOAD
    // returns a new fd.
    let refusal = match unsafe { bpf_fd(Cmd::ProgLoad, &mut attr) } {
        Ok(fd) => {
            return Ok(Loaded {
                fd,
                log: String::new(),
                load_time: start.elapsed(),
            })
        }
        Err(error) if error.is_injected() => return Err(named(error)),
        // Out of fds: the program may be fine, and a retry with a log
        // would run the verifier again only to fail the same way.
        Err(error) if matches!(error.errno, libc::EMFILE | libc::ENFILE) => {
            return Err(named(error))
        }
        Err(error) => error,
    };
    let (result, log) = load_logged(&base, BPF_LOG_LEVEL1);
    match result {
        Ok(fd) => Ok(Loaded {
            fd,
            log,
            load_time: start.elapsed(),
        }),
        // ENOSPC here means the log outgrew 16 MiB: the refusal's errno is
        // the one that explains.
        Err(error) if error.errno == libc::ENOSPC => Err(named(with_log(refusal, log))),
        Err(error) => Err(named(with_log(error, log))),
    }
}

/// `BPF_PROG_LOAD` of `base` with a log of `level`, the buffer growing as
/// needed.
fn load_logged(base: &ProgLoadAttr, level: u32) -> (Result<OwnedFd>, String) {
    with_growing_log(|buffer| {
        let mut attr = ProgLoadAttr {
            log_level: level,
            log_size: buffer.len() as u32,
            log_buf: ptr_mut(buffer),
            ..*base
        };
        // SAFETY: `base` comes from `prog_load`, whose borrowed instructions,
        // licence, .BTF.ext records and fd_array outlive this call, with the counts
        // beside them; the log buffer is `log_size` bytes, exclusively
        // borrowed for the call. BPF_PROG_LOAD returns a new fd.
        let result = unsafe { bpf_fd(Cmd::ProgLoad, &mut attr) };
        (result, attr.log_true_size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_fails_before_the_kernel() {
        let before = crate::seam::syscall_count();
        let error = prog_load(&ProgLoad {
            insns: &[0; 12],
            name: "odd",
            ..ProgLoad::default()
        })
        .unwrap_err();
        assert_eq!(error.errno, libc::EINVAL);
        assert_eq!(
            error.subject.as_deref(),
            Some(
                "program odd: 12 bytes of instructions, not a whole number of 8-byte instructions"
            )
        );
        let error = prog_load(&ProgLoad {
            insns: &[0; 8],
            license: "G\0PL",
            ..ProgLoad::default()
        })
        .unwrap_err();
        assert_eq!(error.errno, libc::EINVAL);
        let error = prog_load(&ProgLoad {
            insns: &[0; 8],
            func_info: &[0; 10],
            func_info_rec_size: 8,
            ..ProgLoad::default()
        })
        .unwrap_err();
        assert_eq!(error.errno, libc::EINVAL);
        assert_eq!(crate::seam::syscall_count(), before, "no syscall was made");
    }

    #[test]
    fn record_counts() {
        assert_eq!(record_count("line_info", &[], 0), Ok(0));
        assert_eq!(record_count("line_info", &[0; 32], 16), Ok(2));
        assert!(record_count("line_info", &[0; 8], 0).is_err());
    }
}
