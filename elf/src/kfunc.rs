//! kfuncs — kernel functions a program calls through an `extern` declared
//! `__ksym` — by name: which ones an object calls, and their type ids in
//! the kernel's BTF, which a call's `imm` must hold
//! (`BPF_PSEUDO_KFUNC_CALL`). The kernel's BTF comes in parsed; reading it
//! from `/sys/kernel/btf/vmlinux` is the loader's business, and only for
//! objects that need it ([`needs_kernel_btf`]): it is several MiB.

use crate::btf::{Btf, BtfKind};
use crate::{Object, RelocTarget};

/// Kernel BTF ids of kfuncs, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KfuncIds {
    ids: Vec<(String, u32)>,
}

/// A kfunc the object calls that the kernel's BTF does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kernel function {name} (called by {caller}) is not in the kernel's BTF")]
pub struct UnknownKfunc {
    /// The function's name.
    pub name: String,
    /// The first function of the object that calls it.
    pub caller: String,
}

impl KfuncIds {
    /// A table made by hand (tests, callers that resolved ids themselves).
    pub fn from_pairs(ids: Vec<(String, u32)>) -> KfuncIds {
        KfuncIds { ids }
    }

    /// The kernel BTF id of kfunc `name`.
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
    pub fn resolve(object: &Object, kernel: &Btf) -> Result<KfuncIds, UnknownKfunc> {
        let wanted = KfuncIds::wanted(object);
        let mut ids = Vec::with_capacity(wanted.len());
        for (name, caller) in wanted {
            let id = kernel
                .find(BtfKind::Func, name)
                .ok_or_else(|| UnknownKfunc {
                    name: name.to_string(),
                    caller: caller.to_string(),
                })?;
            ids.push((name.to_string(), id));
        }
        Ok(KfuncIds { ids })
    }
}

/// Whether the object calls kfuncs or has CO-RE relocations: whether a
/// load needs the kernel's BTF.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{object, program};
    use crate::Reloc;

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
    }

    #[test]
    fn kfuncs_resolve_by_name_against_a_btf() {
        let mut kernel = Btf::default();
        let name_off = kernel.add_string("bpf_rdonly_cast");
        kernel.add_type(crate::btf::BtfType {
            name_off,
            kind: BtfKind::Func,
            kind_flag: false,
            size_or_type: 0,
            data: crate::btf::BtfTypeData::Func { linkage: 1 },
        });
        let object = calling(&["bpf_rdonly_cast"]);
        let ids = KfuncIds::resolve(&object, &kernel).unwrap();
        assert_eq!(ids.get("bpf_rdonly_cast"), Some(1));
        let object = calling(&["rxdp_no_such_kfunc"]);
        let error = KfuncIds::resolve(&object, &kernel).unwrap_err();
        assert_eq!(
            error.to_string(),
            "kernel function rxdp_no_such_kfunc (called by p) is not in the kernel's BTF"
        );
    }
}
