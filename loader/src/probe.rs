//! What the running kernel can do, asked the way libbpf's feature probes
//! ask (`features.c`): by loading a tiny object that needs the feature.
//! Each answer is asked once per process, and only when a load needs it:
//! the BTF kinds only after the kernel refused an object's BTF, the BPF
//! cookie and the syscall wrapper only for objects whose `__kconfig`
//! externs ask for them.

use std::sync::OnceLock;

use rxdp_elf::btf::{
    Btf, BtfEnum64, BtfFeatures, BtfInt, BtfKind, BtfParam, BtfType, BtfTypeData, VarSecinfo,
};
use rxdp_elf::insn::{encode, Insn, CALL, EXIT};
use rxdp_syscalls::bpf::{btf_load, prog_load, ProgLoad};

/// `BPF_PROG_TYPE_TRACEPOINT`.
const TRACEPOINT: u32 = 5;
/// `BPF_FUNC_get_attach_cookie`.
const GET_ATTACH_COOKIE: i32 = 174;
/// `BTF_INT_SIGNED` in the INT encoding word.
const INT_SIGNED: u32 = 1 << 24;

/// Which BTF kinds the kernel's BTF checker accepts: each probed by
/// loading a BTF that has it (libbpf's `probe_kern_btf_*`).
pub fn btf_features() -> BtfFeatures {
    static FEATURES: OnceLock<BtfFeatures> = OnceLock::new();
    *FEATURES.get_or_init(|| BtfFeatures {
        func: accepts(&func_btf(0)),
        func_global: accepts(&func_btf(1)),
        datasec: accepts(&datasec_btf()),
        float: accepts(&one_type("float", BtfKind::Float, 4, BtfTypeData::None)),
        decl_tag: accepts(&decl_tag_btf()),
        type_tag: accepts(&type_tag_btf()),
        enum64: accepts(&one_type(
            "enum64",
            BtfKind::Enum64,
            8,
            BtfTypeData::Enum64(Vec::<BtfEnum64>::new()),
        )),
    })
}

/// Whether `BPF_BTF_LOAD` takes it (the fd is closed at once).
fn accepts(btf: &Btf) -> bool {
    btf_load(&btf.to_bytes()).is_ok()
}

/// Appends a type without kind flag; its id.
fn add(btf: &mut Btf, name_off: u32, kind: BtfKind, size_or_type: u32, data: BtfTypeData) -> u32 {
    btf.add_type(BtfType {
        name_off,
        kind,
        kind_flag: false,
        size_or_type,
        data,
    })
}

/// A BTF of one named type.
fn one_type(name: &str, kind: BtfKind, size: u32, data: BtfTypeData) -> Btf {
    let mut btf = Btf::default();
    let name_off = btf.add_string(name);
    add(&mut btf, name_off, kind, size, data);
    btf
}

/// `int` as type 1.
fn with_int(name: &str) -> Btf {
    one_type(
        name,
        BtfKind::Int,
        4,
        BtfTypeData::Int(BtfInt(INT_SIGNED | 32)),
    )
}

/// `void x(int a)`, static (linkage 0) or global (1).
fn func_btf(linkage: u16) -> Btf {
    let mut btf = with_int("int");
    let a = btf.add_string("a");
    let x = btf.add_string("x");
    let proto = add(
        &mut btf,
        0,
        BtfKind::FuncProto,
        0,
        BtfTypeData::Params(vec![BtfParam {
            name_off: a,
            type_id: 1,
        }]),
    );
    add(
        &mut btf,
        x,
        BtfKind::Func,
        proto,
        BtfTypeData::Func { linkage },
    );
    btf
}

/// `static int x` in a `.data` DATASEC.
fn datasec_btf() -> Btf {
    let mut btf = with_int("int");
    let x = btf.add_string("x");
    let data = btf.add_string(".data");
    let var = add(
        &mut btf,
        x,
        BtfKind::Var,
        1,
        BtfTypeData::Var { linkage: 0 },
    );
    add(
        &mut btf,
        data,
        BtfKind::Datasec,
        4,
        BtfTypeData::Datasec(vec![VarSecinfo {
            type_id: var,
            offset: 0,
            size: 4,
        }]),
    );
    btf
}

/// A variable tagged with a DECL_TAG.
fn decl_tag_btf() -> Btf {
    let mut btf = with_int("int");
    let tag = btf.add_string("tag");
    let var = add(
        &mut btf,
        tag,
        BtfKind::Var,
        1,
        BtfTypeData::Var { linkage: 0 },
    );
    add(
        &mut btf,
        tag,
        BtfKind::DeclTag,
        var,
        BtfTypeData::DeclTag { component_idx: -1 },
    );
    btf
}

/// A pointer to a TYPE_TAG of int.
fn type_tag_btf() -> Btf {
    let mut btf = with_int("int");
    let tag = btf.add_string("tag");
    let tagged = add(&mut btf, tag, BtfKind::TypeTag, 1, BtfTypeData::None);
    add(&mut btf, 0, BtfKind::Ptr, tagged, BtfTypeData::None);
    btf
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
