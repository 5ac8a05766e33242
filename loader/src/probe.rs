//! What the running kernel can do, asked the way libbpf's feature probes
//! ask (`features.c`): by loading a tiny object that needs the feature.
//! Each answer is asked once per process, and only when a load needs it:
//! the BTF kinds only after the kernel refused an object's BTF, the BPF
//! cookie and the syscall wrapper only for objects whose `__kconfig`
//! externs ask for them.

use std::sync::OnceLock;

use rxdp_elf::btf::BtfFeatures;
use rxdp_elf::insn::{encode, Insn, CALL, EXIT};
use rxdp_syscalls::bpf::{btf_load, prog_load, ProgLoad};

/// `BPF_PROG_TYPE_TRACEPOINT`.
const TRACEPOINT: u32 = 5;
/// `BPF_FUNC_get_attach_cookie`.
const GET_ATTACH_COOKIE: i32 = 174;

/// `btf_type.info` of `kind` with `vlen` records.
const fn info(kind: u32, vlen: u32) -> u32 {
    (kind << 24) | vlen
}

/// `int`, signed, 32 bits (`BTF_INT_ENC(BTF_INT_SIGNED, 0, 32)`), named
/// by string offset 1.
const INT: [u32; 4] = [1, info(1, 0), 4, (1 << 24) | 32];

/// Which BTF kinds the kernel's BTF checker accepts: each probed by
/// loading a BTF that has it, the ones of libbpf's `probe_kern_btf_*`.
pub fn btf_features() -> BtfFeatures {
    static FEATURES: OnceLock<BtfFeatures> = OnceLock::new();
    *FEATURES.get_or_init(|| {
        // Strings: "" "int" "x" "a" ".data" "tag" "float" "enum64".
        const STRINGS: &[u8] = b"\0int\0x\0a\0.data\0tag\0float\0enum64\0";
        let (x, a, data, tag, float, enum64) = (5, 7, 9, 15, 19, 25);
        // void x(int a), static or global: int [1], FUNC_PROTO [2], FUNC [3].
        let func = |linkage| {
            let mut types = INT.to_vec();
            types.extend([0, info(13, 1), 0, a, 1]);
            types.extend([x, info(12, linkage), 2]);
            types
        };
        // static int x in .data: int [1], VAR [2], DATASEC [3].
        let mut datasec = INT.to_vec();
        datasec.extend([x, info(14, 0), 1, 0]);
        datasec.extend([data, info(15, 1), 4, 2, 0, 4]);
        // int [1], VAR tag [2], DECL_TAG on it [3].
        let mut decl_tag = INT.to_vec();
        decl_tag.extend([tag, info(14, 0), 1, 0]);
        decl_tag.extend([tag, info(17, 0), 2, u32::MAX]);
        // int [1], TYPE_TAG of it [2], a pointer to that [3].
        let mut type_tag = INT.to_vec();
        type_tag.extend([tag, info(18, 0), 1, 0, info(2, 0), 2]);
        let accepts = |types: &[u32]| btf_load(&raw_btf(types, STRINGS)).is_ok();
        BtfFeatures {
            func: accepts(&func(0)),
            func_global: accepts(&func(1)),
            datasec: accepts(&datasec),
            float: accepts(&[float, info(16, 0), 4]),
            decl_tag: accepts(&decl_tag),
            type_tag: accepts(&type_tag),
            enum64: accepts(&[enum64, info(19, 0), 8]),
        }
    })
}

/// A BTF blob of these type words and strings (`struct btf_header`, then
/// the types, then the strings).
fn raw_btf(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let type_len = (types.len() * 4) as u32;
    let mut out = vec![0x9f, 0xeb, 1, 0];
    for word in [24, 0, type_len, type_len, strings.len() as u32]
        .iter()
        .chain(types)
    {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(strings);
    out
}

/// `LINUX_HAS_BPF_COOKIE`: whether a tracepoint program may call
/// `bpf_get_attach_cookie` (libbpf's `probe_kern_bpf_cookie`).
pub fn bpf_cookie() -> bool {
    static COOKIE: OnceLock<bool> = OnceLock::new();
    *COOKIE.get_or_init(|| {
        let insns = encode(&[
            Insn {
                code: CALL,
                regs: 0,
                off: 0,
                imm: GET_ATTACH_COOKIE,
            },
            Insn {
                code: EXIT,
                regs: 0,
                off: 0,
                imm: 0,
            },
        ]);
        prog_load(&ProgLoad::new(TRACEPOINT, &insns, "GPL")).is_ok()
    })
}

/// The prefix of the syscall wrappers on this architecture
/// (`__x64_sys_bpf`), `None` where the kernel has none.
pub fn syscall_wrapper_prefix() -> Option<&'static str> {
    Some(match std::env::consts::ARCH {
        "x86_64" => "__x64_",
        "x86" => "__ia32_",
        "s390x" => "__s390x_",
        "arm" => "__arm_",
        "aarch64" => "__arm64_",
        "mips" | "mips64" => "__mips_",
        "riscv64" | "riscv32" => "__riscv_",
        "powerpc" => "__powerpc_",
        "powerpc64" => "__powerpc64_",
        _ => return None,
    })
}

/// Whether kprobes can be made at all: the kprobe PMU (4.17) or the
/// tracefs `kprobe_events` file.
pub fn kprobes_available() -> bool {
    [
        "/sys/bus/event_source/devices/kprobe/type",
        "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events",
    ]
    .iter()
    .any(|path| std::path::Path::new(path).exists())
}
