//! Stage 2 (see `pipeline` for why before the maps): `BPF_BTF_LOAD` of the
//! object's `.BTF`, when it has one.
//!
//! The BTF describes map keys and values (so `bpftool map dump` can print
//! them, and so maps holding spin locks or timers can exist at all) and,
//! with `.BTF.ext`, lets the verifier name source lines. Maps need its fd at
//! creation, programs at load. clang writes extern declarations in forms
//! the kernel's checker refuses; `Btf::kernel_bytes` rewrites them first.
//!
//! A kernel may still refuse it, as libbpf knows
//! (`bpf_object__sanitize_and_load_btf`): an older kernel does not know
//! every kind clang writes, and some objects carry BTF no kernel accepts
//! (an enum of size 0). Only then — so that the usual load pays nothing —
//! the kernel's BTF kinds are probed ([`probe::btf_features`]) and the BTF
//! is loaded again with the unknown kinds replaced (`Btf::sanitized`); if
//! that is refused too, the object is loaded without BTF, which costs its
//! maps their type information and the verifier log its source lines, and
//! the load says so (a warning) rather than stop. A refusal for another
//! reason (privileges, memory) stops the load as before, and so does any
//! refusal of the BTF of an object whose programs need it (struct_ops).

use std::os::fd::{AsRawFd, OwnedFd};

use rxdp_elf::btf::BtfFeatures;
use rxdp_elf::{Object, ProgramType};
use rxdp_syscalls::bpf::btf_load;
use rxdp_syscalls::{Error as SysError, ENOTSUPP};

use crate::error::{syscall, LoadError};
use crate::observe::{Event, Observer};
use crate::probe;

/// `BPF_PROG_TYPE_STRUCT_OPS`: its programs are described by the BTF.
const STRUCT_OPS: ProgramType = ProgramType(27);

/// The object's BTF as the kernel took it.
#[derive(Debug, Default)]
pub struct ObjectBtf {
    /// Its fd, `None` when the object has none or it was left out.
    pub fd: Option<OwnedFd>,
    /// Whether programs may pass func_info and line_info (not when the
    /// kernel knows no FUNC: they would name TYPEDEFs).
    pub func_info: bool,
    /// What the user should know: BTF rewritten or left out, and why.
    pub warning: Option<String>,
}

/// Whether the kernel refused the BTF for what it holds (not for
/// privileges, memory or a test's injected fault).
fn refused_as_such(error: &SysError) -> bool {
    !error.is_injected()
        && matches!(
            error.errno,
            libc::EINVAL | libc::E2BIG | libc::EOPNOTSUPP | ENOTSUPP
        )
}

/// The object's BTF in the kernel: as it is, else sanitized, else none
/// (with a warning), as the module text says.
pub fn load_btf(
    file: &str,
    object: &Object,
    observer: &mut dyn Observer,
) -> Result<ObjectBtf, LoadError> {
    let Some(btf) = &object.btf else {
        return Ok(ObjectBtf::default());
    };
    let mut prepared = btf.clone();
    prepared
        .prepare_for_kernel()
        .map_err(|error| LoadError::BtfPrepare {
            file: file.to_string(),
            error,
        })?;
    let failed = |error| LoadError::Btf {
        file: file.to_string(),
        error,
    };
    let mut features = BtfFeatures::ALL;
    let mut refusal = None;
    loop {
        let bytes = match refusal {
            None => prepared.to_bytes(),
            Some(_) => prepared.sanitized(&features).to_bytes(),
        };
        match btf_load(&bytes) {
            Ok(fd) => {
                observer.event(&Event::BtfLoaded {
                    bytes: bytes.len(),
                    fd: fd.as_raw_fd(),
                });
                let warning = refusal.map(|refusal| {
                    format!(
                        "this kernel's BTF knows no {} ({}): the object's .BTF was loaded with \
                         them replaced by kinds it knows, as libbpf does",
                        features.missing().join(", "),
                        syscall(&refusal)
                    )
                });
                return Ok(ObjectBtf {
                    fd: Some(fd),
                    func_info: features.func,
                    warning,
                });
            }
            Err(error) if !refused_as_such(&error) => return Err(failed(error)),
            Err(error) => {
                let first = refusal.is_none();
                refusal = Some(error);
                if first {
                    // Only now: which kinds does this kernel know?
                    features = probe::btf_features();
                    if features != BtfFeatures::ALL {
                        continue;
                    }
                }
                break;
            }
        }
    }
    let refusal = refusal.unwrap_or_else(|| SysError::new("BPF_BTF_LOAD", libc::EINVAL));
    if object
        .programs
        .iter()
        .any(|p| p.prog_type == Some(STRUCT_OPS))
    {
        return Err(failed(refusal));
    }
    observer.event(&Event::BtfLeftOut { error: &refusal });
    Ok(ObjectBtf {
        fd: None,
        func_info: false,
        warning: Some(format!(
            "the kernel refused the object's .BTF ({}); loaded without it, as libbpf does: \
             its maps carry no BTF type information and verifier messages no source lines",
            syscall(&refusal)
        )),
    })
}
