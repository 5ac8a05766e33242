//! The running kernel's BTF, for the two things that need it: kfuncs
//! (their call `imm` is the function's type id in it) and CO-RE
//! relocations. `/sys/kernel/btf/vmlinux` is several MiB: a load reads and
//! parses it only for objects that have either
//! ([`rxdp_elf::kfunc::needs_kernel_btf`]); the others never pay for it.
//! What is done with it is pure and lives in `rxdp_elf` ([`KfuncIds`],
//! [`rxdp_elf::core`]).

use std::path::{Path, PathBuf};

use rxdp_elf::btf::{Btf, BtfError};
use rxdp_elf::kfunc::{KfuncIds, UnknownKfunc};
use rxdp_elf::Object;

use crate::observe::{Event, Observer};

/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Why the kernel's BTF could not serve the object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KfuncError {
    /// The file could not be read.
    #[error("cannot read the kernel's BTF {}: {error}; kfuncs and CO-RE need a kernel built with CONFIG_DEBUG_INFO_BTF", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        error: std::io::Error,
    },
    /// The file is not BTF rxdp can read.
    #[error("cannot parse the kernel's BTF {}: {error}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: BtfError,
    },
    /// The object calls a kfunc this kernel does not have.
    #[error("kernel function {} (called by {}) is not in the kernel's BTF {}: this kernel does not have it; check the name against `bpftool btf dump file {}`", missing.name, missing.caller, path.display(), path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The kfunc and its caller.
        missing: UnknownKfunc,
    },
}

/// Reads and parses the kernel's BTF at `path`.
pub fn read(path: &Path, observer: &mut dyn Observer) -> Result<Btf, KfuncError> {
    let bytes = std::fs::read(path).map_err(|error| KfuncError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    observer.event(&Event::KernelBtfRead { bytes: bytes.len() });
    Btf::parse(&bytes).map_err(|error| KfuncError::Parse {
        path: path.to_path_buf(),
        error,
    })
}

/// The kernel BTF ids of the object's kfuncs; `path` names the BTF in
/// the error.
pub fn resolve_kfuncs(object: &Object, kernel: &Btf, path: &Path) -> Result<KfuncIds, KfuncError> {
    KfuncIds::resolve(object, kernel).map_err(|missing| KfuncError::Missing {
        path: path.to_path_buf(),
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::NoObserver;
    use rxdp_elf::{Function, Program, ProgramType, Reloc, RelocTarget};

    fn calling(kfunc: &str) -> Object {
        let mut function = Function::new("p", "xdp", Vec::new());
        function.relocs.push(Reloc {
            insn: 0,
            symbol: kfunc.to_string(),
            target: RelocTarget::Kfunc(kfunc.to_string()),
        });
        Object::new(
            Vec::new(),
            vec![Program::new("xdp", Some(ProgramType::XDP), function)],
        )
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let error = read(Path::new("/nonexistent"), &mut NoObserver).unwrap_err();
        assert!(matches!(error, KfuncError::Read { .. }), "{error}");
        assert!(error.to_string().contains("/nonexistent"), "{error}");
    }

    #[test]
    fn kfuncs_resolve_against_the_running_kernel() {
        let path = Path::new(VMLINUX_BTF);
        let kernel = read(path, &mut NoObserver).unwrap();
        // bpf_rdonly_cast is a kfunc of every kernel since 6.1.
        let ids = resolve_kfuncs(&calling("bpf_rdonly_cast"), &kernel, path).unwrap();
        assert!(ids.get("bpf_rdonly_cast").is_some_and(|id| id > 0));
        let error = resolve_kfuncs(&calling("rxdp_no_such_kfunc"), &kernel, path).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("rxdp_no_such_kfunc (called by p)"),
            "{error}"
        );
    }
}
