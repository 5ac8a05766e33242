//! The kernel's BTF, for the two things that need it: kfuncs — kernel
//! functions a program calls through an `extern` declared `__ksym`, whose
//! call `imm` must be the function's type id in the kernel's BTF — and
//! CO-RE relocations (see `core`). `/sys/kernel/btf/vmlinux` is several
//! MiB: it is read and parsed only for objects that have either
//! ([`needs_kernel_btf`]); the others never pay for it.

use std::path::{Path, PathBuf};

use rxdp_elf::btf::{Btf, BtfError, BtfKind};
use rxdp_elf::{Object, RelocTarget};

use crate::observe::{Event, Observer};

/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Kernel BTF ids of kfuncs, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KfuncIds {
    ids: Vec<(String, u32)>,
}

#[derive(Debug, thiserror::Error)]
pub enum KfuncError {
    #[error("cannot read the kernel's BTF {}: {source}; kfuncs and CO-RE need a kernel built with CONFIG_DEBUG_INFO_BTF", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse the kernel's BTF {}: {source}", path.display())]
    Parse { path: PathBuf, source: BtfError },
    #[error("kernel function {name} (called by {caller}) is not in the kernel's BTF {}: this kernel does not have it; check the name against `bpftool btf dump file {}`", path.display(), path.display())]
    Missing {
        name: String,
        caller: String,
        path: PathBuf,
    },
}

impl KfuncIds {
    /// A table made by hand (tests, callers that resolved ids themselves).
    pub fn from_pairs(ids: Vec<(String, u32)>) -> KfuncIds {
        KfuncIds { ids }
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.iter().find(|(n, _)| n == name).map(|&(_, id)| id)
    }

    /// Every kfunc the object calls, once each, with the first function
    /// that calls it, in object order.
    pub fn wanted(object: &Object) -> Vec<(&str, &str)> {
        let functions = object
            .programs
            .iter()
            .map(|p| &p.function)
            .chain(&object.subprograms);
        let mut wanted: Vec<(&str, &str)> = Vec::new();
        for function in functions {
            for reloc in &function.relocs {
                if let RelocTarget::Kfunc(name) = &reloc.target {
                    if !wanted.iter().any(|(n, _)| n == name) {
                        wanted.push((name, &function.name));
                    }
                }
            }
        }
        wanted
    }

    /// Resolves the object's kfuncs against the kernel's BTF.
    pub fn resolve(object: &Object, kernel: &Btf, path: &Path) -> Result<KfuncIds, KfuncError> {
        let wanted = KfuncIds::wanted(object);
        let mut ids = Vec::with_capacity(wanted.len());
        for (name, caller) in wanted {
            let id = kernel
                .find(BtfKind::Func, name)
                .ok_or_else(|| KfuncError::Missing {
                    name: name.to_string(),
                    caller: caller.to_string(),
                    path: path.to_path_buf(),
                })?;
            ids.push((name.to_string(), id));
        }
        Ok(KfuncIds { ids })
    }
}

/// Whether the object calls kfuncs or has CO-RE relocations.
pub fn needs_kernel_btf(object: &Object) -> bool {
    let mut functions = object
        .programs
        .iter()
        .map(|p| &p.function)
        .chain(&object.subprograms);
    functions.any(|f| {
        !f.core_relocs.is_empty()
            || f.relocs
                .iter()
                .any(|r| matches!(r.target, RelocTarget::Kfunc(_)))
    })
}

/// Reads and parses the kernel's BTF at `path`.
pub fn read_kernel_btf(path: &Path, observer: &mut dyn Observer) -> Result<Btf, KfuncError> {
    let bytes = std::fs::read(path).map_err(|source| KfuncError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    observer.event(&Event::KernelBtfRead { bytes: bytes.len() });
    Btf::parse(&bytes).map_err(|source| KfuncError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::NoObserver;
    use crate::options::tests::{object, program};
    use rxdp_elf::Reloc;

    fn calling(kfuncs: &[&str]) -> Object {
        let mut object = object(Vec::new(), vec![program("p", "xdp")]);
        object.programs[0].function.relocs = kfuncs
            .iter()
            .enumerate()
            .map(|(insn, name)| Reloc {
                insn,
                symbol: name.to_string(),
                target: RelocTarget::Kfunc(name.to_string()),
            })
            .collect();
        object
    }

    #[test]
    fn only_kfuncs_and_core_need_the_kernel_btf() {
        assert!(!needs_kernel_btf(&calling(&[])));
        let object = calling(&["bpf_a", "bpf_b", "bpf_a"]);
        assert!(needs_kernel_btf(&object));
        assert_eq!(KfuncIds::wanted(&object), [("bpf_a", "p"), ("bpf_b", "p")]);
        let error = read_kernel_btf(Path::new("/nonexistent"), &mut NoObserver).unwrap_err();
        assert!(matches!(error, KfuncError::Read { .. }), "{error}");
    }

    #[test]
    fn kfuncs_resolve_against_the_running_kernel() {
        let path = Path::new(VMLINUX_BTF);
        let kernel = read_kernel_btf(path, &mut NoObserver).unwrap();
        // bpf_rdonly_cast is a kfunc of every kernel since 6.1.
        let object = calling(&["bpf_rdonly_cast"]);
        let ids = KfuncIds::resolve(&object, &kernel, path).unwrap();
        assert!(ids.get("bpf_rdonly_cast").is_some_and(|id| id > 0));
        let object = calling(&["rxdp_no_such_kfunc"]);
        let error = KfuncIds::resolve(&object, &kernel, path).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("rxdp_no_such_kfunc (called by p)"),
            "{error}"
        );
    }
}
