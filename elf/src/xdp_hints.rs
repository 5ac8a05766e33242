//! XDP hints: the `bpf_xdp_metadata_*` kfuncs a program calls to read the
//! receive hash, timestamp or VLAN tag the driver saw. The verifier resolves
//! them to the device's own implementation, so such a program is loaded
//! bound to its device (`BPF_F_XDP_DEV_BOUND_ONLY`); where no device is
//! bound (`rxdp run` without `--dev`), each call can be answered as a device
//! without hints would.

use crate::insn::Insn;
use crate::relocate::{Patch, Patched};

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

#[cfg(test)]
mod tests {
    use super::*;

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
            patch: Patch::Kfunc {
                btf_id: 7,
                fd_index: 0,
            },
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
