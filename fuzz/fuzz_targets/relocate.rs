//! The relocation step on parsed objects: `Object::parse` of the input,
//! then `relocate_against` of every program with fake map fds, fake kfunc
//! ids and two CO-RE targets (the object's own BTF, and the running
//! kernel's when it is readable). Ok or Err, never a panic; and what comes
//! out must be loadable in shape: every BPF-to-BPF call lands on the first
//! instruction of a placed function, and the `func_info` records sit at
//! those starts.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rxdp_elf::btf::Btf;
use rxdp_elf::core::CoreTarget;
use rxdp_elf::ksyms::KernelSymbols;
use rxdp_elf::relocate::{relocate_against, LinkedProgram};
use rxdp_elf::Object;

/// Where the running kernel publishes its BTF (`rxdp::kernel_btf`).
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The first fake map fd: `map_fd[i]` is `FIRST_FD + i`.
const FIRST_FD: i32 = 100;

/// The kernel's BTF, parsed once (a few MiB); `None` when unreadable.
fn kernel_btf() -> Option<&'static Btf> {
    static KERNEL: OnceLock<Option<Btf>> = OnceLock::new();
    KERNEL
        .get_or_init(|| {
            let bytes = std::fs::read(VMLINUX_BTF).ok()?;
            Btf::parse(&bytes).ok()
        })
        .as_ref()
}

fn kernel_target() -> Option<&'static CoreTarget<'static>> {
    static TARGET: OnceLock<Option<CoreTarget<'static>>> = OnceLock::new();
    TARGET
        .get_or_init(|| kernel_btf().map(CoreTarget::new))
        .as_ref()
}

/// Checks the shape of a linked program.
fn check(linked: &LinkedProgram) {
    let len = linked.insns.len();
    assert!(!linked.functions.is_empty(), "no function placed");
    assert_eq!(linked.functions[0].1, 0, "the program does not start at 0");
    let starts: Vec<usize> = linked.functions.iter().map(|(_, start)| *start).collect();
    for &start in &starts {
        assert!(start < len, "a function starts at {start} of {len}");
    }
    for (at, insn) in linked.insns.iter().enumerate() {
        let reaches = |imm: i32| {
            let target = at as i64 + 1 + i64::from(imm);
            usize::try_from(target).is_ok_and(|t| starts.contains(&t))
        };
        if insn.is_pseudo_call() {
            assert!(
                reaches(insn.imm),
                "call at {at} (imm {}) lands on no function",
                insn.imm
            );
        }
    }
    if !linked.func_info.is_empty() {
        assert_eq!(linked.func_info.len(), linked.functions.len());
        for (record, (_, start)) in linked.func_info.iter().zip(&linked.functions) {
            assert_eq!(record.insn_off as usize, *start);
        }
    }
    let _ = linked.func_info_bytes();
    let _ = linked.line_info_bytes();
    let _ = linked.line_of(len.saturating_sub(1));
    let _ = rxdp_elf::insn::encode(&linked.insns);
}

fuzz_target!(|data: &[u8]| {
    let Ok(object) = Object::parse(data) else {
        return;
    };
    let map_fds: Vec<i32> = (FIRST_FD..).take(object.maps.len()).collect();
    let kfuncs = KernelSymbols::stand_ins(&object, 1000);
    let own = object.btf.as_ref().map(CoreTarget::new);
    let targets = [own.as_ref(), kernel_target()];
    for index in 0..object.programs.len() {
        for target in targets {
            if let Ok(linked) =
                relocate_against(&object, index, &map_fds, &kfuncs, target)
            {
                check(&linked);
            }
        }
    }
    // Too few fds is an error, not a panic.
    for index in 0..object.programs.len() {
        let _ = relocate_against(
            &object,
            index,
            &map_fds[..map_fds.len() / 2],
            &kfuncs,
            None,
        );
    }
});
