//! kfuncs — kernel functions a program calls through an `extern` declared
//! `__ksym` — by name: which ones an object calls, and their type ids in
//! the kernel's BTF, which a call's `imm` must hold
//! (`BPF_PSEUDO_KFUNC_CALL`). The kernel's BTF comes in parsed; reading it
//! from `/sys/kernel/btf/vmlinux` is the loader's business, and only for
//! objects that need it ([`needs_kernel_btf`]): it is several MiB.

use crate::btf::{Btf, BtfKind};
use crate::insn::Insn;
use crate::relocate::{Patch, Patched};
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

/// Whether `name` is one of the XDP hints kfuncs
/// (`bpf_xdp_metadata_rx_hash`, `_rx_timestamp`, `_rx_vlan_tag`, and any
/// later `bpf_xdp_metadata_*`): a program calling one must be loaded bound
/// to its device (`BPF_F_XDP_DEV_BOUND_ONLY`).
pub fn is_xdp_metadata(name: &str) -> bool {
    name.starts_with("bpf_xdp_metadata_")
}

/// `mov64 r0, IMM` (`BPF_ALU64 | BPF_MOV | BPF_K`).
const MOV64_IMM: u8 = 0xb7;
/// `EOPNOTSUPP`: what the kernel's own XDP hints kfuncs return for a
/// device whose driver implements none.
const EOPNOTSUPP: i32 = 95;

/// Replaces each call of an XDP hints kfunc in `insns` (the kfunc calls
/// `patches` name) with `r0 = -EOPNOTSUPP`: the answer of a device without
/// hints, so that a program can run where no device is bound
/// (`BPF_PROG_TEST_RUN` refuses device-bound programs). The registers a
/// call clobbers are not read after it by compiled code. Returns the
/// kfuncs replaced, once each.
pub fn stub_xdp_metadata(insns: &mut [Insn], patches: &[Patched]) -> Vec<String> {
    let mut stubbed: Vec<String> = Vec::new();
    for patched in patches {
        let is_kfunc = matches!(patched.patch, Patch::Kfunc { .. });
        if !is_kfunc || !is_xdp_metadata(&patched.symbol) {
            continue;
        }
        if let Some(insn) = insns.get_mut(patched.insn) {
            *insn = Insn {
                code: MOV64_IMM,
                regs: 0,
                off: 0,
                imm: -EOPNOTSUPP,
            };
            if !stubbed.contains(&patched.symbol) {
                stubbed.push(patched.symbol.clone());
            }
        }
    }
    stubbed
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

    #[test]
    fn hints_calls_become_eopnotsupp_and_nothing_else_changes() {
        assert!(is_xdp_metadata("bpf_xdp_metadata_rx_vlan_tag"));
        assert!(!is_xdp_metadata("bpf_rdonly_cast"));
        let call = Insn {
            code: crate::insn::CALL,
            regs: crate::insn::BPF_PSEUDO_KFUNC_CALL << 4,
            off: 0,
            imm: 7,
        };
        let mut insns = vec![call, call, call];
        let patch = |insn: usize, symbol: &str| Patched {
            insn,
            symbol: symbol.to_string(),
            patch: Patch::Kfunc { btf_id: 7 },
        };
        let patches = [
            patch(0, "bpf_xdp_metadata_rx_hash"),
            patch(1, "bpf_rdonly_cast"),
            patch(2, "bpf_xdp_metadata_rx_hash"),
        ];
        assert_eq!(
            stub_xdp_metadata(&mut insns, &patches),
            ["bpf_xdp_metadata_rx_hash"]
        );
        let mov = Insn {
            code: 0xb7,
            regs: 0,
            off: 0,
            imm: -95,
        };
        assert_eq!(insns, [mov, call, mov]);
    }
}
