//! What a program section's name says about the program: its type,
//! `expected_attach_type`, `prog_flags`, which attach target it needs, and
//! whether it loads by default.
//!
//! One table, `SECTIONS`, first match wins. It holds two vocabularies:
//!
//! - **libbpf 1.x** (`section_defs` in libbpf.c, up to 1.7): its names and
//!   its matching rule (`sec_def_matches`): a name is exact (`socket`,
//!   `cgroup/connect4`) or, written `name+` there, exact *or* followed by
//!   `/` and anything (`kprobe`, `kprobe/do_sys_open`, but not `kprobex`).
//! - **samples/bpf's `bpf_load.c`** and rxdp's older names, which matched
//!   prefixes: `xdp` of any spelling (`xdp0`, `xdp_1`, `xdp_entry`),
//!   `socket…`, `cgroup/skb…`, `cgroup/sock…`, `sockops…`, `sk_skb…`,
//!   `sk_msg…`, `perf_event…`, and a few others. They come after every
//!   libbpf name, so a name both know means what libbpf says: `cgroup/sock`
//!   is `BPF_CGROUP_INET_SOCK_CREATE` (bpf_load.c sent 0, which the kernel
//!   turns into the same), `cgroup/sock_release` is the release hook, not
//!   bpf_load.c's socket-creation prefix.
//!
//! A leading `?` (libbpf's `SEC("?name")`) is not part of the name: the
//! program has the type of `name` and does not load unless asked
//! ([`SectionKind::autoload`]).
//!
//! Names no table knows give no type: the loader refuses them, naming the
//! [`nearest`] known names, unless a type is forced (`--type`). The names
//! that never carried a type — the xdp-tutorial's `prog/N`, iproute2's
//! `prog` and `ID/KEY` ([`is_untyped_name`]) — take `--type`, XDP by
//! default, as they always did.
//!
//! Jump-table keys in names (`socket/N`, `kprobe/N`, `prog/N`, `ID/KEY`)
//! are not types: see the `jump_entries` module.

use crate::kinds::ProgramType;

/// `enum bpf_attach_type` (uapi `linux/bpf.h`): the values the table uses.
pub mod attach {
    /// `BPF_CGROUP_INET_INGRESS`.
    pub const CGROUP_INET_INGRESS: u32 = 0;
    /// `BPF_CGROUP_INET_EGRESS`.
    pub const CGROUP_INET_EGRESS: u32 = 1;
    /// `BPF_CGROUP_INET_SOCK_CREATE`.
    pub const CGROUP_INET_SOCK_CREATE: u32 = 2;
    /// `BPF_CGROUP_SOCK_OPS`.
    pub const CGROUP_SOCK_OPS: u32 = 3;
    /// `BPF_SK_SKB_STREAM_PARSER`.
    pub const SK_SKB_STREAM_PARSER: u32 = 4;
    /// `BPF_SK_SKB_STREAM_VERDICT`.
    pub const SK_SKB_STREAM_VERDICT: u32 = 5;
    /// `BPF_CGROUP_DEVICE`.
    pub const CGROUP_DEVICE: u32 = 6;
    /// `BPF_SK_MSG_VERDICT`.
    pub const SK_MSG_VERDICT: u32 = 7;
    /// `BPF_CGROUP_INET4_BIND`.
    pub const CGROUP_INET4_BIND: u32 = 8;
    /// `BPF_CGROUP_INET6_BIND`.
    pub const CGROUP_INET6_BIND: u32 = 9;
    /// `BPF_CGROUP_INET4_CONNECT`.
    pub const CGROUP_INET4_CONNECT: u32 = 10;
    /// `BPF_CGROUP_INET6_CONNECT`.
    pub const CGROUP_INET6_CONNECT: u32 = 11;
    /// `BPF_CGROUP_INET4_POST_BIND`.
    pub const CGROUP_INET4_POST_BIND: u32 = 12;
    /// `BPF_CGROUP_INET6_POST_BIND`.
    pub const CGROUP_INET6_POST_BIND: u32 = 13;
    /// `BPF_CGROUP_UDP4_SENDMSG`.
    pub const CGROUP_UDP4_SENDMSG: u32 = 14;
    /// `BPF_CGROUP_UDP6_SENDMSG`.
    pub const CGROUP_UDP6_SENDMSG: u32 = 15;
    /// `BPF_LIRC_MODE2`.
    pub const LIRC_MODE2: u32 = 16;
    /// `BPF_FLOW_DISSECTOR`.
    pub const FLOW_DISSECTOR: u32 = 17;
    /// `BPF_CGROUP_SYSCTL`.
    pub const CGROUP_SYSCTL: u32 = 18;
    /// `BPF_CGROUP_UDP4_RECVMSG`.
    pub const CGROUP_UDP4_RECVMSG: u32 = 19;
    /// `BPF_CGROUP_UDP6_RECVMSG`.
    pub const CGROUP_UDP6_RECVMSG: u32 = 20;
    /// `BPF_CGROUP_GETSOCKOPT`.
    pub const CGROUP_GETSOCKOPT: u32 = 21;
    /// `BPF_CGROUP_SETSOCKOPT`.
    pub const CGROUP_SETSOCKOPT: u32 = 22;
    /// `BPF_TRACE_RAW_TP`.
    pub const TRACE_RAW_TP: u32 = 23;
    /// `BPF_TRACE_FENTRY`.
    pub const TRACE_FENTRY: u32 = 24;
    /// `BPF_TRACE_FEXIT`.
    pub const TRACE_FEXIT: u32 = 25;
    /// `BPF_MODIFY_RETURN`.
    pub const MODIFY_RETURN: u32 = 26;
    /// `BPF_LSM_MAC`.
    pub const LSM_MAC: u32 = 27;
    /// `BPF_TRACE_ITER`.
    pub const TRACE_ITER: u32 = 28;
    /// `BPF_CGROUP_INET4_GETPEERNAME`.
    pub const CGROUP_INET4_GETPEERNAME: u32 = 29;
    /// `BPF_CGROUP_INET6_GETPEERNAME`.
    pub const CGROUP_INET6_GETPEERNAME: u32 = 30;
    /// `BPF_CGROUP_INET4_GETSOCKNAME`.
    pub const CGROUP_INET4_GETSOCKNAME: u32 = 31;
    /// `BPF_CGROUP_INET6_GETSOCKNAME`.
    pub const CGROUP_INET6_GETSOCKNAME: u32 = 32;
    /// `BPF_XDP_DEVMAP`.
    pub const XDP_DEVMAP: u32 = 33;
    /// `BPF_CGROUP_INET_SOCK_RELEASE`.
    pub const CGROUP_INET_SOCK_RELEASE: u32 = 34;
    /// `BPF_XDP_CPUMAP`.
    pub const XDP_CPUMAP: u32 = 35;
    /// `BPF_SK_LOOKUP`.
    pub const SK_LOOKUP: u32 = 36;
    /// `BPF_XDP`.
    pub const XDP: u32 = 37;
    /// `BPF_SK_SKB_VERDICT`.
    pub const SK_SKB_VERDICT: u32 = 38;
    /// `BPF_SK_REUSEPORT_SELECT`.
    pub const SK_REUSEPORT_SELECT: u32 = 39;
    /// `BPF_SK_REUSEPORT_SELECT_OR_MIGRATE`.
    pub const SK_REUSEPORT_SELECT_OR_MIGRATE: u32 = 40;
    /// `BPF_TRACE_KPROBE_MULTI`.
    pub const TRACE_KPROBE_MULTI: u32 = 42;
    /// `BPF_LSM_CGROUP`.
    pub const LSM_CGROUP: u32 = 43;
    /// `BPF_STRUCT_OPS`: the attach type of a struct_ops link.
    pub const STRUCT_OPS: u32 = 44;
    /// `BPF_NETFILTER`.
    pub const NETFILTER: u32 = 45;
    /// `BPF_TCX_INGRESS`.
    pub const TCX_INGRESS: u32 = 46;
    /// `BPF_TCX_EGRESS`.
    pub const TCX_EGRESS: u32 = 47;
    /// `BPF_TRACE_UPROBE_MULTI`.
    pub const TRACE_UPROBE_MULTI: u32 = 48;
    /// `BPF_CGROUP_UNIX_CONNECT`.
    pub const CGROUP_UNIX_CONNECT: u32 = 49;
    /// `BPF_CGROUP_UNIX_SENDMSG`.
    pub const CGROUP_UNIX_SENDMSG: u32 = 50;
    /// `BPF_CGROUP_UNIX_RECVMSG`.
    pub const CGROUP_UNIX_RECVMSG: u32 = 51;
    /// `BPF_CGROUP_UNIX_GETPEERNAME`.
    pub const CGROUP_UNIX_GETPEERNAME: u32 = 52;
    /// `BPF_CGROUP_UNIX_GETSOCKNAME`.
    pub const CGROUP_UNIX_GETSOCKNAME: u32 = 53;
    /// `BPF_NETKIT_PRIMARY`.
    pub const NETKIT_PRIMARY: u32 = 54;
    /// `BPF_NETKIT_PEER`.
    pub const NETKIT_PEER: u32 = 55;
    /// `BPF_TRACE_KPROBE_SESSION`.
    pub const TRACE_KPROBE_SESSION: u32 = 56;
    /// `BPF_TRACE_UPROBE_SESSION`.
    pub const TRACE_UPROBE_SESSION: u32 = 57;
}

/// The names of `enum bpf_attach_type`, by value, without `BPF_` and in
/// lower case as bpftool prints them.
const ATTACH_TYPE_NAMES: [&str; 58] = [
    "cgroup_inet_ingress",
    "cgroup_inet_egress",
    "cgroup_inet_sock_create",
    "cgroup_sock_ops",
    "sk_skb_stream_parser",
    "sk_skb_stream_verdict",
    "cgroup_device",
    "sk_msg_verdict",
    "cgroup_inet4_bind",
    "cgroup_inet6_bind",
    "cgroup_inet4_connect",
    "cgroup_inet6_connect",
    "cgroup_inet4_post_bind",
    "cgroup_inet6_post_bind",
    "cgroup_udp4_sendmsg",
    "cgroup_udp6_sendmsg",
    "lirc_mode2",
    "flow_dissector",
    "cgroup_sysctl",
    "cgroup_udp4_recvmsg",
    "cgroup_udp6_recvmsg",
    "cgroup_getsockopt",
    "cgroup_setsockopt",
    "trace_raw_tp",
    "trace_fentry",
    "trace_fexit",
    "modify_return",
    "lsm_mac",
    "trace_iter",
    "cgroup_inet4_getpeername",
    "cgroup_inet6_getpeername",
    "cgroup_inet4_getsockname",
    "cgroup_inet6_getsockname",
    "xdp_devmap",
    "cgroup_inet_sock_release",
    "xdp_cpumap",
    "sk_lookup",
    "xdp",
    "sk_skb_verdict",
    "sk_reuseport_select",
    "sk_reuseport_select_or_migrate",
    "perf_event",
    "trace_kprobe_multi",
    "lsm_cgroup",
    "struct_ops",
    "netfilter",
    "tcx_ingress",
    "tcx_egress",
    "trace_uprobe_multi",
    "cgroup_unix_connect",
    "cgroup_unix_sendmsg",
    "cgroup_unix_recvmsg",
    "cgroup_unix_getpeername",
    "cgroup_unix_getsockname",
    "netkit_primary",
    "netkit_peer",
    "trace_kprobe_session",
    "trace_uprobe_session",
];

/// The name of an `enum bpf_attach_type` value (`cgroup_inet4_connect`),
/// or `type_N` for one newer than this table.
pub fn attach_type_name(value: u32) -> String {
    match ATTACH_TYPE_NAMES.get(value as usize) {
        Some(name) => (*name).to_string(),
        None => format!("type_{value}"),
    }
}

/// `BPF_F_XDP_HAS_FRAGS`: the program may see multi-buffer frames.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
/// `BPF_F_SLEEPABLE`: the program may sleep (syscall programs must).
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// What a program needs besides its type for `BPF_PROG_LOAD` to accept it:
/// the BTF type it attaches to, named after the section's `/` (libbpf's
/// `SEC_ATTACH_BTF` and `btf_get_kernel_prefix_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// Nothing: the type is enough.
    None,
    /// FUNC `<name>` of the kernel's BTF (`fentry/`, `fexit/`, `fmod_ret/`).
    KernelFunc,
    /// FUNC `bpf_lsm_<name>` of the kernel's BTF (`lsm/`, `lsm_cgroup/`).
    LsmHook,
    /// FUNC `bpf_iter_<name>` of the kernel's BTF (`iter/`).
    Iterator,
    /// TYPEDEF `btf_trace_<name>` of the kernel's BTF (`tp_btf/`).
    RawTracepoint,
    /// FUNC `<name>` of another loaded program's BTF, that program being
    /// given at load (`freplace/`): `attach_prog_fd`.
    Program,
    /// The kernel struct of the `.struct_ops` map that points at the
    /// program; the member's index is the `expected_attach_type`.
    StructOps,
}

impl Target {
    /// The kernel BTF kind and name this target looks up for the section's
    /// `name` (the text after its first `/`); `None` for targets outside
    /// the kernel's BTF.
    pub fn kernel_type(self, name: &str) -> Option<(KernelTypeKind, String)> {
        let (kind, prefix) = match self {
            Target::KernelFunc => (KernelTypeKind::Func, ""),
            Target::LsmHook => (KernelTypeKind::Func, "bpf_lsm_"),
            Target::Iterator => (KernelTypeKind::Func, "bpf_iter_"),
            Target::RawTracepoint => (KernelTypeKind::Typedef, "btf_trace_"),
            _ => return None,
        };
        Some((kind, format!("{prefix}{name}")))
    }
}

/// The BTF kind of a kernel attach target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelTypeKind {
    /// `BTF_KIND_FUNC`.
    Func,
    /// `BTF_KIND_TYPEDEF`.
    Typedef,
}

impl KernelTypeKind {
    /// `FUNC` or `TYPEDEF`, as bpftool prints kinds.
    pub fn name(self) -> &'static str {
        match self {
            KernelTypeKind::Func => "FUNC",
            KernelTypeKind::Typedef => "TYPEDEF",
        }
    }
}

/// How an entry's name matches a section name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The whole name.
    Exact,
    /// libbpf's `name+`: the name alone, or followed by `/` and anything.
    Plus,
    /// bpf_load.c's: the section starts with the name.
    Prefix,
}

/// Flag bits of an entry, mapped to `BPF_F_*` by [`Def::prog_flags`].
const S: u8 = 1;
const F: u8 = 2;

/// One row of the table: 24 bytes and the name's text.
#[derive(Debug, Clone, Copy)]
struct Def {
    name: &'static str,
    rule: Rule,
    prog_type: u8,
    attach: u8,
    flags: u8,
    target: Target,
}

impl Def {
    fn matches(&self, section: &str) -> bool {
        match self.rule {
            Rule::Exact => section == self.name,
            Rule::Prefix => section.starts_with(self.name),
            Rule::Plus => section
                .strip_prefix(self.name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        }
    }

    fn prog_flags(&self) -> u32 {
        let mut flags = 0;
        if self.flags & S != 0 {
            flags |= BPF_F_SLEEPABLE;
        }
        if self.flags & F != 0 {
            flags |= BPF_F_XDP_HAS_FRAGS;
        }
        flags
    }

    /// The name as libbpf's documentation writes it (`kprobe+`), or with a
    /// `*` for a prefix (`xdp*`).
    fn spelling(&self) -> Spelling {
        Spelling {
            name: self.name,
            suffix: match self.rule {
                Rule::Exact => "",
                Rule::Plus => "+",
                Rule::Prefix => "*",
            },
        }
    }
}

/// A name of the table as its documentation writes it: `kprobe+` (the
/// name alone or followed by `/...`), `xdp*` (a prefix), `socket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spelling {
    name: &'static str,
    suffix: &'static str,
}

impl std::fmt::Display for Spelling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)?;
        f.write_str(self.suffix)
    }
}

const fn def(name: &'static str, rule: Rule, t: ProgramType, attach: u32, flags: u8) -> Def {
    Def {
        name,
        rule,
        prog_type: t.0 as u8,
        attach: attach as u8,
        flags,
        target: Target::None,
    }
}

const fn btf(name: &'static str, t: ProgramType, attach: u32, flags: u8, target: Target) -> Def {
    Def {
        name,
        rule: Rule::Plus,
        prog_type: t.0 as u8,
        attach: attach as u8,
        flags,
        target,
    }
}

use attach as A;
use ProgramType as T;
use Rule::{Exact as E, Plus as P, Prefix as X};

/// Every section name rxdp knows, first match wins: libbpf 1.x's
/// `section_defs` in its order (later versions' names included), then the
/// bpf_load.c and rxdp prefixes. XDP comes in its own order, longest
/// first, because bpf_load.c took every `xdp…` name.
const SECTIONS: &[Def] = &[
    def("socket", E, T::SOCKET_FILTER, 0, 0),
    def(
        "sk_reuseport/migrate",
        E,
        T::SK_REUSEPORT,
        A::SK_REUSEPORT_SELECT_OR_MIGRATE,
        0,
    ),
    def(
        "sk_reuseport",
        E,
        T::SK_REUSEPORT,
        A::SK_REUSEPORT_SELECT,
        0,
    ),
    def("kprobe", P, T::KPROBE, 0, 0),
    def("uprobe", P, T::KPROBE, 0, 0),
    def("uprobe.s", P, T::KPROBE, 0, S),
    def("kretprobe", P, T::KPROBE, 0, 0),
    def("uretprobe", P, T::KPROBE, 0, 0),
    def("uretprobe.s", P, T::KPROBE, 0, S),
    def("kprobe.multi", P, T::KPROBE, A::TRACE_KPROBE_MULTI, 0),
    def("kretprobe.multi", P, T::KPROBE, A::TRACE_KPROBE_MULTI, 0),
    def("kprobe.session", P, T::KPROBE, A::TRACE_KPROBE_SESSION, 0),
    def("uprobe.multi", P, T::KPROBE, A::TRACE_UPROBE_MULTI, 0),
    def("uretprobe.multi", P, T::KPROBE, A::TRACE_UPROBE_MULTI, 0),
    def("uprobe.multi.s", P, T::KPROBE, A::TRACE_UPROBE_MULTI, S),
    def("uretprobe.multi.s", P, T::KPROBE, A::TRACE_UPROBE_MULTI, S),
    def("uprobe.session", P, T::KPROBE, A::TRACE_UPROBE_SESSION, 0),
    def("ksyscall", P, T::KPROBE, 0, 0),
    def("kretsyscall", P, T::KPROBE, 0, 0),
    def("usdt", P, T::KPROBE, 0, 0),
    def("usdt.s", P, T::KPROBE, 0, S),
    def("tc/ingress", E, T::SCHED_CLS, A::TCX_INGRESS, 0),
    def("tc/egress", E, T::SCHED_CLS, A::TCX_EGRESS, 0),
    def("tcx/ingress", E, T::SCHED_CLS, A::TCX_INGRESS, 0),
    def("tcx/egress", E, T::SCHED_CLS, A::TCX_EGRESS, 0),
    def("tc", E, T::SCHED_CLS, 0, 0),
    def("classifier", E, T::SCHED_CLS, 0, 0),
    def("action", E, T::SCHED_ACT, 0, 0),
    def("netkit/primary", E, T::SCHED_CLS, A::NETKIT_PRIMARY, 0),
    def("netkit/peer", E, T::SCHED_CLS, A::NETKIT_PEER, 0),
    def("tracepoint", P, T::TRACEPOINT, 0, 0),
    def("tp", P, T::TRACEPOINT, 0, 0),
    def("tracepoint.s", P, T::TRACEPOINT, 0, S),
    def("tp.s", P, T::TRACEPOINT, 0, S),
    def("raw_tracepoint", P, T::RAW_TRACEPOINT, 0, 0),
    def("raw_tp", P, T::RAW_TRACEPOINT, 0, 0),
    def("raw_tracepoint.s", P, T::RAW_TRACEPOINT, 0, S),
    def("raw_tp.s", P, T::RAW_TRACEPOINT, 0, S),
    def("raw_tracepoint.w", P, T::RAW_TRACEPOINT_WRITABLE, 0, 0),
    def("raw_tp.w", P, T::RAW_TRACEPOINT_WRITABLE, 0, 0),
    btf(
        "tp_btf",
        T::TRACING,
        A::TRACE_RAW_TP,
        0,
        Target::RawTracepoint,
    ),
    btf("fentry", T::TRACING, A::TRACE_FENTRY, 0, Target::KernelFunc),
    btf(
        "fmod_ret",
        T::TRACING,
        A::MODIFY_RETURN,
        0,
        Target::KernelFunc,
    ),
    btf("fexit", T::TRACING, A::TRACE_FEXIT, 0, Target::KernelFunc),
    btf(
        "fentry.s",
        T::TRACING,
        A::TRACE_FENTRY,
        S,
        Target::KernelFunc,
    ),
    btf(
        "fmod_ret.s",
        T::TRACING,
        A::MODIFY_RETURN,
        S,
        Target::KernelFunc,
    ),
    btf("fexit.s", T::TRACING, A::TRACE_FEXIT, S, Target::KernelFunc),
    btf("freplace", T::EXT, 0, 0, Target::Program),
    btf("lsm", T::LSM, A::LSM_MAC, 0, Target::LsmHook),
    btf("lsm.s", T::LSM, A::LSM_MAC, S, Target::LsmHook),
    btf("lsm_cgroup", T::LSM, A::LSM_CGROUP, 0, Target::LsmHook),
    btf("iter", T::TRACING, A::TRACE_ITER, 0, Target::Iterator),
    btf("iter.s", T::TRACING, A::TRACE_ITER, S, Target::Iterator),
    def("syscall", E, T::SYSCALL, 0, S),
    // XDP, longest first; the prefixes are bpf_load.c's (`xdp0`, `xdp_1`)
    // and libbpf 0.x's (`xdp_devmap/`), exact libbpf names included.
    def("xdp.frags/devmap", X, T::XDP, A::XDP_DEVMAP, F),
    def("xdp.frags/cpumap", X, T::XDP, A::XDP_CPUMAP, F),
    def("xdp/devmap", X, T::XDP, A::XDP_DEVMAP, 0),
    def("xdp/cpumap", X, T::XDP, A::XDP_CPUMAP, 0),
    def("xdp_devmap/", X, T::XDP, A::XDP_DEVMAP, 0),
    def("xdp_cpumap/", X, T::XDP, A::XDP_CPUMAP, 0),
    def("xdp.frags", X, T::XDP, A::XDP, F),
    def("xdp", X, T::XDP, A::XDP, 0),
    def("perf_event", E, T::PERF_EVENT, 0, 0),
    def("lwt_in", E, T::LWT_IN, 0, 0),
    def("lwt_out", E, T::LWT_OUT, 0, 0),
    def("lwt_xmit", E, T::LWT_XMIT, 0, 0),
    def("lwt_seg6local", E, T::LWT_SEG6LOCAL, 0, 0),
    def("sockops", E, T::SOCK_OPS, A::CGROUP_SOCK_OPS, 0),
    def(
        "sk_skb/stream_parser",
        E,
        T::SK_SKB,
        A::SK_SKB_STREAM_PARSER,
        0,
    ),
    def(
        "sk_skb/stream_verdict",
        E,
        T::SK_SKB,
        A::SK_SKB_STREAM_VERDICT,
        0,
    ),
    def("sk_skb/verdict", E, T::SK_SKB, A::SK_SKB_VERDICT, 0),
    def("sk_skb", E, T::SK_SKB, 0, 0),
    def("sk_msg", E, T::SK_MSG, A::SK_MSG_VERDICT, 0),
    def("lirc_mode2", E, T::LIRC_MODE2, A::LIRC_MODE2, 0),
    def("flow_dissector", E, T::FLOW_DISSECTOR, A::FLOW_DISSECTOR, 0),
    def(
        "cgroup_skb/ingress",
        E,
        T::CGROUP_SKB,
        A::CGROUP_INET_INGRESS,
        0,
    ),
    def(
        "cgroup_skb/egress",
        E,
        T::CGROUP_SKB,
        A::CGROUP_INET_EGRESS,
        0,
    ),
    def("cgroup/skb", E, T::CGROUP_SKB, 0, 0),
    def(
        "cgroup/sock_create",
        E,
        T::CGROUP_SOCK,
        A::CGROUP_INET_SOCK_CREATE,
        0,
    ),
    def(
        "cgroup/sock_release",
        E,
        T::CGROUP_SOCK,
        A::CGROUP_INET_SOCK_RELEASE,
        0,
    ),
    def(
        "cgroup/sock",
        E,
        T::CGROUP_SOCK,
        A::CGROUP_INET_SOCK_CREATE,
        0,
    ),
    def(
        "cgroup/post_bind4",
        E,
        T::CGROUP_SOCK,
        A::CGROUP_INET4_POST_BIND,
        0,
    ),
    def(
        "cgroup/post_bind6",
        E,
        T::CGROUP_SOCK,
        A::CGROUP_INET6_POST_BIND,
        0,
    ),
    def(
        "cgroup/bind4",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET4_BIND,
        0,
    ),
    def(
        "cgroup/bind6",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET6_BIND,
        0,
    ),
    def(
        "cgroup/connect4",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET4_CONNECT,
        0,
    ),
    def(
        "cgroup/connect6",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET6_CONNECT,
        0,
    ),
    def(
        "cgroup/connect_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UNIX_CONNECT,
        0,
    ),
    def(
        "cgroup/sendmsg4",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UDP4_SENDMSG,
        0,
    ),
    def(
        "cgroup/sendmsg6",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UDP6_SENDMSG,
        0,
    ),
    def(
        "cgroup/sendmsg_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UNIX_SENDMSG,
        0,
    ),
    def(
        "cgroup/recvmsg4",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UDP4_RECVMSG,
        0,
    ),
    def(
        "cgroup/recvmsg6",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UDP6_RECVMSG,
        0,
    ),
    def(
        "cgroup/recvmsg_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UNIX_RECVMSG,
        0,
    ),
    def(
        "cgroup/getpeername4",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET4_GETPEERNAME,
        0,
    ),
    def(
        "cgroup/getpeername6",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET6_GETPEERNAME,
        0,
    ),
    def(
        "cgroup/getpeername_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UNIX_GETPEERNAME,
        0,
    ),
    def(
        "cgroup/getsockname4",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET4_GETSOCKNAME,
        0,
    ),
    def(
        "cgroup/getsockname6",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_INET6_GETSOCKNAME,
        0,
    ),
    def(
        "cgroup/getsockname_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        A::CGROUP_UNIX_GETSOCKNAME,
        0,
    ),
    def("cgroup/sysctl", E, T::CGROUP_SYSCTL, A::CGROUP_SYSCTL, 0),
    def(
        "cgroup/getsockopt",
        E,
        T::CGROUP_SOCKOPT,
        A::CGROUP_GETSOCKOPT,
        0,
    ),
    def(
        "cgroup/setsockopt",
        E,
        T::CGROUP_SOCKOPT,
        A::CGROUP_SETSOCKOPT,
        0,
    ),
    def("cgroup/dev", E, T::CGROUP_DEVICE, A::CGROUP_DEVICE, 0),
    btf("struct_ops", T::STRUCT_OPS, 0, 0, Target::StructOps),
    btf("struct_ops.s", T::STRUCT_OPS, 0, S, Target::StructOps),
    def("sk_lookup", E, T::SK_LOOKUP, A::SK_LOOKUP, 0),
    def("netfilter", E, T::NETFILTER, A::NETFILTER, 0),
    // bpf_load.c's prefixes (`socket/0`, `sockops/3`, `sk_skb1`, `cgroup/sock1`),
    // with the attach types libbpf gives the same family.
    def("socket", X, T::SOCKET_FILTER, 0, 0),
    def("perf_event", X, T::PERF_EVENT, 0, 0),
    def("cgroup/skb", X, T::CGROUP_SKB, 0, 0),
    def(
        "cgroup/sock",
        X,
        T::CGROUP_SOCK,
        A::CGROUP_INET_SOCK_CREATE,
        0,
    ),
    def("sockops", X, T::SOCK_OPS, A::CGROUP_SOCK_OPS, 0),
    def("sk_skb", X, T::SK_SKB, 0, 0),
    def("sk_msg", X, T::SK_MSG, A::SK_MSG_VERDICT, 0),
    // rxdp took these as prefixes before it knew libbpf's exact names.
    def("sk_lookup", X, T::SK_LOOKUP, A::SK_LOOKUP, 0),
    def(
        "sk_reuseport",
        X,
        T::SK_REUSEPORT,
        A::SK_REUSEPORT_SELECT,
        0,
    ),
    def("flow_dissector", X, T::FLOW_DISSECTOR, A::FLOW_DISSECTOR, 0),
    def("classifier", X, T::SCHED_CLS, 0, 0),
    def("action", X, T::SCHED_ACT, 0, 0),
    def("lwt_in", X, T::LWT_IN, 0, 0),
    def("lwt_out", X, T::LWT_OUT, 0, 0),
    def("lwt_xmit", X, T::LWT_XMIT, 0, 0),
    def("lwt_seg6local", X, T::LWT_SEG6LOCAL, 0, 0),
];

/// What a section name implies for `BPF_PROG_LOAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionKind {
    /// `None` when no table knows the name.
    pub prog_type: Option<ProgramType>,
    /// `expected_attach_type` (`enum bpf_attach_type`), 0 when the name implies none.
    pub expected_attach_type: u32,
    /// `BPF_F_*` program flags the name implies (`BPF_F_XDP_HAS_FRAGS`, `BPF_F_SLEEPABLE`).
    pub prog_flags: u32,
    /// The attach target the program needs.
    pub target: Target,
    /// False for `SEC("?name")`: libbpf's autoload off.
    pub autoload: bool,
}

/// What the name of a program section implies.
pub fn section_kind(section: &str) -> SectionKind {
    let (name, autoload) = match section.strip_prefix('?') {
        Some(name) => (name, false),
        None => (section, true),
    };
    match SECTIONS.iter().find(|d| d.matches(name)) {
        Some(d) => SectionKind {
            prog_type: Some(ProgramType(u32::from(d.prog_type))),
            expected_attach_type: u32::from(d.attach),
            prog_flags: d.prog_flags(),
            target: d.target,
            autoload,
        },
        None => SectionKind {
            prog_type: None,
            expected_attach_type: 0,
            prog_flags: 0,
            target: Target::None,
            autoload,
        },
    }
}

/// The attach target a section names: the text after its first `/`
/// (`fentry/do_unlinkat` → `do_unlinkat`, `iter/task` → `task`), `None`
/// when there is no `/` or nothing after it.
pub fn target_name(section: &str) -> Option<&str> {
    let name = section.strip_prefix('?').unwrap_or(section);
    name.split_once('/')
        .map(|(_, rest)| rest)
        .filter(|rest| !rest.is_empty())
}

/// Names that never carried a type and take the one the command gives
/// (`--type`, XDP by default): the xdp-tutorial's `prog/N`, iproute2's
/// default section `prog` and its tail calls `ID/KEY`.
pub fn is_untyped_name(section: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match section.split_once('/') {
        None => section == "prog",
        Some((head, key)) => digits(key) && (head == "prog" || digits(head)),
    }
}

/// Known names close to `section`, for an error message: those within a
/// small edit distance of it (a `name+` entry is compared with the part
/// before `/`), and those its part before `/` begins, nearest first, at
/// most four.
pub fn nearest(section: &str) -> Vec<Spelling> {
    let name = section.strip_prefix('?').unwrap_or(section);
    let head = name.split('/').next().unwrap_or(name);
    let limit = (name.len() / 3).max(2);
    // (distance, table order), sorted: the nearest first, then the table's order.
    let mut scored: Vec<(usize, usize)> = Vec::new();
    for (order, d) in SECTIONS.iter().enumerate() {
        let distance = match d.rule {
            Rule::Exact => edit_distance(name, d.name),
            Rule::Plus | Rule::Prefix => edit_distance(head, d.name),
        };
        if distance <= limit || (head.len() >= 2 && d.name.starts_with(head)) {
            scored.push((distance, order));
        }
    }
    scored.sort_unstable();
    let mut out: Vec<Spelling> = Vec::new();
    for (_, order) in scored {
        let spelling = SECTIONS[order].spelling();
        if !out.contains(&spelling) {
            out.push(spelling);
        }
        if out.len() == 4 {
            break;
        }
    }
    out
}

/// Levenshtein distance, on bytes (section names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Every name of the table as libbpf writes it (`kprobe+`; bpf_load.c's
/// prefixes with a `*`), with the kind it gives, in matching order: for
/// documentation and `rxdp inspect`.
pub fn known_names() -> impl Iterator<Item = (Spelling, SectionKind)> {
    SECTIONS.iter().map(|d| {
        let kind = section_kind(d.name);
        (d.spelling(), kind)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> Option<ProgramType> {
        section_kind(name).prog_type
    }

    fn kind(prog_type: ProgramType, attach: u32, flags: u32, target: Target) -> SectionKind {
        SectionKind {
            prog_type: Some(prog_type),
            expected_attach_type: attach,
            prog_flags: flags,
            target,
            autoload: true,
        }
    }

    /// libbpf 1.x's whole vocabulary, name by name: type, expected attach
    /// type, flags, target (CAUSES.md §1, from `section_defs`).
    #[test]
    fn every_libbpf_name() {
        use Target as G;
        let s = BPF_F_SLEEPABLE;
        let f = BPF_F_XDP_HAS_FRAGS;
        let cases: &[(&str, ProgramType, u32, u32, Target)] = &[
            ("socket", T::SOCKET_FILTER, 0, 0, G::None),
            ("sk_reuseport/migrate", T::SK_REUSEPORT, 40, 0, G::None),
            ("sk_reuseport", T::SK_REUSEPORT, 39, 0, G::None),
            ("kprobe", T::KPROBE, 0, 0, G::None),
            ("kprobe/do_sys_open", T::KPROBE, 0, 0, G::None),
            ("kretprobe/do_sys_open", T::KPROBE, 0, 0, G::None),
            ("ksyscall/prctl", T::KPROBE, 0, 0, G::None),
            ("kretsyscall", T::KPROBE, 0, 0, G::None),
            ("uprobe", T::KPROBE, 0, 0, G::None),
            ("uretprobe//bin/sh:main", T::KPROBE, 0, 0, G::None),
            ("uprobe.s/x", T::KPROBE, 0, s, G::None),
            ("uretprobe.s", T::KPROBE, 0, s, G::None),
            ("kprobe.multi/", T::KPROBE, 42, 0, G::None),
            ("kretprobe.multi/tcp_*", T::KPROBE, 42, 0, G::None),
            ("kprobe.session", T::KPROBE, 56, 0, G::None),
            ("uprobe.multi", T::KPROBE, 48, 0, G::None),
            ("uretprobe.multi/x", T::KPROBE, 48, 0, G::None),
            ("uprobe.multi.s", T::KPROBE, 48, s, G::None),
            ("uretprobe.multi.s/x", T::KPROBE, 48, s, G::None),
            ("uprobe.session", T::KPROBE, 57, 0, G::None),
            ("usdt", T::KPROBE, 0, 0, G::None),
            ("usdt.s/x", T::KPROBE, 0, s, G::None),
            ("tc", T::SCHED_CLS, 0, 0, G::None),
            ("classifier", T::SCHED_CLS, 0, 0, G::None),
            ("action", T::SCHED_ACT, 0, 0, G::None),
            ("tc/ingress", T::SCHED_CLS, 46, 0, G::None),
            ("tc/egress", T::SCHED_CLS, 47, 0, G::None),
            ("tcx/ingress", T::SCHED_CLS, 46, 0, G::None),
            ("tcx/egress", T::SCHED_CLS, 47, 0, G::None),
            ("netkit/primary", T::SCHED_CLS, 54, 0, G::None),
            ("netkit/peer", T::SCHED_CLS, 55, 0, G::None),
            ("tracepoint", T::TRACEPOINT, 0, 0, G::None),
            ("tp/syscalls/sys_enter_write", T::TRACEPOINT, 0, 0, G::None),
            ("tp.s/syscalls/x", T::TRACEPOINT, 0, s, G::None),
            ("raw_tracepoint/sys_enter", T::RAW_TRACEPOINT, 0, 0, G::None),
            ("raw_tp", T::RAW_TRACEPOINT, 0, 0, G::None),
            ("raw_tp.s/x", T::RAW_TRACEPOINT, 0, s, G::None),
            (
                "raw_tracepoint.w/x",
                T::RAW_TRACEPOINT_WRITABLE,
                0,
                0,
                G::None,
            ),
            ("raw_tp.w", T::RAW_TRACEPOINT_WRITABLE, 0, 0, G::None),
            (
                "tp_btf/netif_receive_skb",
                T::TRACING,
                23,
                0,
                G::RawTracepoint,
            ),
            ("fentry/bpf_fentry_test1", T::TRACING, 24, 0, G::KernelFunc),
            ("fexit/x", T::TRACING, 25, 0, G::KernelFunc),
            ("fmod_ret/x", T::TRACING, 26, 0, G::KernelFunc),
            ("fentry.s/x", T::TRACING, 24, s, G::KernelFunc),
            ("fexit.s/x", T::TRACING, 25, s, G::KernelFunc),
            ("fmod_ret.s/x", T::TRACING, 26, s, G::KernelFunc),
            ("freplace/cls_redirect", T::EXT, 0, 0, G::Program),
            ("lsm/file_open", T::LSM, 27, 0, G::LsmHook),
            ("lsm.s/bprm_committed_creds", T::LSM, 27, s, G::LsmHook),
            ("lsm_cgroup/socket_bind", T::LSM, 43, 0, G::LsmHook),
            ("iter/task", T::TRACING, 28, 0, G::Iterator),
            ("iter.s/task", T::TRACING, 28, s, G::Iterator),
            ("syscall", T::SYSCALL, 0, s, G::None),
            ("xdp", T::XDP, 37, 0, G::None),
            ("xdp.frags", T::XDP, 37, f, G::None),
            ("xdp/devmap", T::XDP, 33, 0, G::None),
            ("xdp/cpumap", T::XDP, 35, 0, G::None),
            ("xdp.frags/devmap", T::XDP, 33, f, G::None),
            ("xdp.frags/cpumap", T::XDP, 35, f, G::None),
            ("perf_event", T::PERF_EVENT, 0, 0, G::None),
            ("lwt_in", T::LWT_IN, 0, 0, G::None),
            ("lwt_out", T::LWT_OUT, 0, 0, G::None),
            ("lwt_xmit", T::LWT_XMIT, 0, 0, G::None),
            ("lwt_seg6local", T::LWT_SEG6LOCAL, 0, 0, G::None),
            ("sockops", T::SOCK_OPS, 3, 0, G::None),
            ("sk_skb/stream_parser", T::SK_SKB, 4, 0, G::None),
            ("sk_skb/stream_verdict", T::SK_SKB, 5, 0, G::None),
            ("sk_skb/verdict", T::SK_SKB, 38, 0, G::None),
            ("sk_skb", T::SK_SKB, 0, 0, G::None),
            ("sk_msg", T::SK_MSG, 7, 0, G::None),
            ("lirc_mode2", T::LIRC_MODE2, 16, 0, G::None),
            ("flow_dissector", T::FLOW_DISSECTOR, 17, 0, G::None),
            ("cgroup_skb/ingress", T::CGROUP_SKB, 0, 0, G::None),
            ("cgroup_skb/egress", T::CGROUP_SKB, 1, 0, G::None),
            ("cgroup/skb", T::CGROUP_SKB, 0, 0, G::None),
            ("cgroup/sock_create", T::CGROUP_SOCK, 2, 0, G::None),
            ("cgroup/sock_release", T::CGROUP_SOCK, 34, 0, G::None),
            ("cgroup/sock", T::CGROUP_SOCK, 2, 0, G::None),
            ("cgroup/post_bind4", T::CGROUP_SOCK, 12, 0, G::None),
            ("cgroup/post_bind6", T::CGROUP_SOCK, 13, 0, G::None),
            ("cgroup/bind4", T::CGROUP_SOCK_ADDR, 8, 0, G::None),
            ("cgroup/bind6", T::CGROUP_SOCK_ADDR, 9, 0, G::None),
            ("cgroup/connect4", T::CGROUP_SOCK_ADDR, 10, 0, G::None),
            ("cgroup/connect6", T::CGROUP_SOCK_ADDR, 11, 0, G::None),
            ("cgroup/connect_unix", T::CGROUP_SOCK_ADDR, 49, 0, G::None),
            ("cgroup/sendmsg4", T::CGROUP_SOCK_ADDR, 14, 0, G::None),
            ("cgroup/sendmsg6", T::CGROUP_SOCK_ADDR, 15, 0, G::None),
            ("cgroup/sendmsg_unix", T::CGROUP_SOCK_ADDR, 50, 0, G::None),
            ("cgroup/recvmsg4", T::CGROUP_SOCK_ADDR, 19, 0, G::None),
            ("cgroup/recvmsg6", T::CGROUP_SOCK_ADDR, 20, 0, G::None),
            ("cgroup/recvmsg_unix", T::CGROUP_SOCK_ADDR, 51, 0, G::None),
            ("cgroup/getpeername4", T::CGROUP_SOCK_ADDR, 29, 0, G::None),
            ("cgroup/getpeername6", T::CGROUP_SOCK_ADDR, 30, 0, G::None),
            (
                "cgroup/getpeername_unix",
                T::CGROUP_SOCK_ADDR,
                52,
                0,
                G::None,
            ),
            ("cgroup/getsockname4", T::CGROUP_SOCK_ADDR, 31, 0, G::None),
            ("cgroup/getsockname6", T::CGROUP_SOCK_ADDR, 32, 0, G::None),
            (
                "cgroup/getsockname_unix",
                T::CGROUP_SOCK_ADDR,
                53,
                0,
                G::None,
            ),
            ("cgroup/sysctl", T::CGROUP_SYSCTL, 18, 0, G::None),
            ("cgroup/getsockopt", T::CGROUP_SOCKOPT, 21, 0, G::None),
            ("cgroup/setsockopt", T::CGROUP_SOCKOPT, 22, 0, G::None),
            ("cgroup/dev", T::CGROUP_DEVICE, 6, 0, G::None),
            ("struct_ops/dctcp_init", T::STRUCT_OPS, 0, 0, G::StructOps),
            ("struct_ops.s/x", T::STRUCT_OPS, 0, s, G::StructOps),
            ("sk_lookup", T::SK_LOOKUP, 36, 0, G::None),
            ("netfilter", T::NETFILTER, 45, 0, G::None),
        ];
        for &(name, prog_type, attach, flags, target) in cases {
            assert_eq!(
                section_kind(name),
                kind(prog_type, attach, flags, target),
                "{name}"
            );
        }
    }

    #[test]
    fn plus_means_the_name_or_a_slash() {
        assert_eq!(ty("kprobe"), Some(T::KPROBE));
        assert_eq!(ty("kprobe/x"), Some(T::KPROBE));
        // Not `kprobe+`: the next character is neither end nor `/`.
        assert_eq!(ty("kprobex"), None);
        assert_eq!(ty("fentryfoo"), None);
        assert_eq!(ty("iterx/task"), None);
        // `lsm_cgroup/x` is not `lsm+`.
        assert_eq!(section_kind("lsm_cgroup/x").expected_attach_type, 43);
        // `kprobe.multi/x` is not `kprobe+`.
        assert_eq!(section_kind("kprobe.multi/x").expected_attach_type, 42);
    }

    #[test]
    fn a_question_mark_keeps_the_type_and_turns_autoload_off() {
        let k = section_kind("?tp/syscalls/sys_enter_nanosleep");
        assert_eq!(k.prog_type, Some(T::TRACEPOINT));
        assert!(!k.autoload);
        assert!(section_kind("tp/syscalls/sys_enter_nanosleep").autoload);
        let unknown = section_kind("?nonsense");
        assert_eq!(unknown.prog_type, None);
        assert!(!unknown.autoload);
        assert_eq!(target_name("?fentry/f"), Some("f"));
    }

    #[test]
    fn xdp_names_of_every_spelling() {
        for name in [
            "xdp",
            "xdp0",
            "xdp_1",
            "xdp_entry",
            "xdp/0",
            "xdp1",
            "xdp_tail",
        ] {
            assert_eq!(
                section_kind(name),
                kind(T::XDP, attach::XDP, 0, Target::None),
                "{name}"
            );
        }
        assert_eq!(section_kind("xdp_devmap/redirect").expected_attach_type, 33);
        assert_eq!(section_kind("xdp_cpumap/x").expected_attach_type, 35);
        let frags_cpumap = section_kind("xdp.frags/cpumap");
        assert_eq!(frags_cpumap.expected_attach_type, 35);
        assert_eq!(frags_cpumap.prog_flags, BPF_F_XDP_HAS_FRAGS);
    }

    #[test]
    fn bpf_load_prefixes_come_after_libbpf_names() {
        assert_eq!(ty("socket/0"), Some(T::SOCKET_FILTER));
        assert_eq!(ty("socket1"), Some(T::SOCKET_FILTER));
        assert_eq!(ty("perf_event/1"), Some(T::PERF_EVENT));
        assert_eq!(ty("cgroup/skb1"), Some(T::CGROUP_SKB));
        assert_eq!(ty("sockops/3"), Some(T::SOCK_OPS));
        assert_eq!(section_kind("sockops/3").expected_attach_type, 3);
        assert_eq!(ty("sk_skb1"), Some(T::SK_SKB));
        assert_eq!(section_kind("sk_msg1").expected_attach_type, 7);
        // bpf_load.c's `cgroup/sock` prefix covers only names libbpf lacks.
        assert_eq!(section_kind("cgroup/sock1").expected_attach_type, 2);
        assert_eq!(section_kind("cgroup/sock_release").expected_attach_type, 34);
        assert_eq!(section_kind("cgroup/sock").expected_attach_type, 2);
        assert_eq!(ty("classifier/ingress"), Some(T::SCHED_CLS));
        assert_eq!(ty("kprobe/sys_write"), Some(T::KPROBE));
        assert_eq!(
            ty("tracepoint/syscalls/sys_enter_write"),
            Some(T::TRACEPOINT)
        );
    }

    #[test]
    fn names_no_table_knows() {
        for name in [
            "prog/0",
            "prog",
            "1/7",
            ".text",
            "maps",
            "tcp_thing",
            "encap_gre",
            "t",
            "tcx/other",
            "",
        ] {
            assert_eq!(ty(name), None, "{name}");
        }
    }

    #[test]
    fn untyped_names_are_the_tutorial_and_iproute2_ones() {
        for name in ["prog", "prog/0", "prog/17", "1/7", "2/0"] {
            assert!(is_untyped_name(name), "{name}");
        }
        for name in ["prog/x", "progs", "x/1", "1/x", "encap_gre", "xdp0", "1/"] {
            assert!(!is_untyped_name(name), "{name}");
        }
    }

    #[test]
    fn targets_are_named_after_the_slash() {
        assert_eq!(target_name("fentry/do_unlinkat"), Some("do_unlinkat"));
        assert_eq!(target_name("iter/bpf_map_elem"), Some("bpf_map_elem"));
        assert_eq!(target_name("fentry"), None);
        assert_eq!(target_name("fentry/"), None);
        let kernel = |section: &str| {
            let k = section_kind(section);
            k.target.kernel_type(target_name(section).unwrap_or(""))
        };
        assert_eq!(
            kernel("lsm/file_open"),
            Some((KernelTypeKind::Func, "bpf_lsm_file_open".into()))
        );
        assert_eq!(
            kernel("iter/task"),
            Some((KernelTypeKind::Func, "bpf_iter_task".into()))
        );
        assert_eq!(
            kernel("tp_btf/netif_receive_skb"),
            Some((
                KernelTypeKind::Typedef,
                "btf_trace_netif_receive_skb".into()
            ))
        );
        assert_eq!(
            kernel("fexit.s/x"),
            Some((KernelTypeKind::Func, "x".into()))
        );
        assert_eq!(kernel("freplace/x"), None);
        assert_eq!(kernel("xdp"), None);
    }

    #[test]
    fn nearest_names_for_typos_and_prefixes() {
        let names = |section: &str| -> Vec<String> {
            nearest(section).iter().map(ToString::to_string).collect()
        };
        assert_eq!(names("fentyr/foo")[0], "fentry+");
        assert!(names("kprobe.mutli/x").contains(&"kprobe.multi+".to_string()));
        assert_eq!(
            names("cgroup/connect")[..2],
            ["cgroup/connect4", "cgroup/connect6"]
        );
        assert!(names("tracepoin")[0].starts_with("tracepoint"));
        assert!(names("lsm_cgroupp/x").contains(&"lsm_cgroup+".to_string()));
        assert!(names("zzzzzzzzzz").is_empty());
        assert_eq!(names("cgroup/connect").len(), 4);
        let socket = names("socket/");
        assert_eq!(socket[..2], ["socket*", "socket"]);
        let mut unique = socket.clone();
        unique.dedup();
        assert_eq!(unique, socket, "each spelling once");
    }

    #[test]
    fn attach_type_names_follow_the_enum() {
        assert_eq!(
            attach_type_name(attach::CGROUP_INET_INGRESS),
            "cgroup_inet_ingress"
        );
        assert_eq!(
            attach_type_name(attach::CGROUP_INET4_CONNECT),
            "cgroup_inet4_connect"
        );
        assert_eq!(attach_type_name(attach::XDP), "xdp");
        assert_eq!(
            attach_type_name(attach::SK_REUSEPORT_SELECT_OR_MIGRATE),
            "sk_reuseport_select_or_migrate"
        );
        assert_eq!(attach_type_name(attach::STRUCT_OPS), "struct_ops");
        assert_eq!(
            attach_type_name(attach::CGROUP_UNIX_GETSOCKNAME),
            "cgroup_unix_getsockname"
        );
        assert_eq!(
            attach_type_name(attach::TRACE_UPROBE_SESSION),
            "trace_uprobe_session"
        );
        assert_eq!(attach_type_name(99), "type_99");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("fentyr", "fentry"), 2);
    }

    #[test]
    fn the_documentation_lists_every_name() {
        let doc = include_str!("../../docs/11-section-names.md");
        for (spelling, kind) in known_names() {
            let ty = kind.prog_type.map(|t| t.name()).unwrap_or_default();
            let row = format!("| `{spelling}` | {ty} (");
            assert!(doc.contains(&row), "docs/11-section-names.md lacks {row}");
        }
    }

    #[test]
    fn the_table_is_data_and_small() {
        assert!(std::mem::size_of::<Def>() <= 24);
        // Every libbpf entry before the first bpf_load.c prefix is reachable:
        // no earlier entry swallows its name.
        for (i, d) in SECTIONS.iter().enumerate() {
            let first = SECTIONS.iter().position(|e| e.matches(d.name));
            assert!(
                first == Some(i) || (d.rule == Rule::Prefix && first.is_some()),
                "{} is shadowed by {:?}",
                d.spelling(),
                first.map(|f| SECTIONS[f].spelling().to_string())
            );
        }
        assert!(known_names().count() == SECTIONS.len());
    }
}
