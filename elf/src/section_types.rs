//! What a program section's name says about the program: its type,
//! `expected_attach_type` and `prog_flags`.
//!
//! Two naming traditions meet here. samples/bpf's `bpf_load.c` matched
//! prefixes (`xdp` of any spelling: `xdp0`, `xdp_1`, `xdp_entry`; `socket`,
//! `kprobe/`, `kretprobe/`, `tracepoint/`, `raw_tracepoint/`, `perf_event`,
//! `cgroup/skb`, `cgroup/sock`, `sockops`, `sk_skb`, `sk_msg`), and libbpf
//! added its own names (`xdp.frags`, `xdp/devmap`, `tc`, `classifier`,
//! `cgroup_skb/ingress`, `tp/`, `raw_tp/`, ...). Names that say nothing
//! (`prog/0`, iproute2's `1/7`, anything unknown) give no type: the caller
//! decides (`--type`, default XDP).
//!
//! Types that need a kernel BTF id to load (fentry, fexit, LSM, iterators,
//! struct_ops) are not recognised: rxdp does not resolve attach targets.

use crate::kinds::ProgramType;

/// `enum bpf_attach_type` values used below (uapi `linux/bpf.h`).
mod attach {
    pub const BPF_CGROUP_INET_INGRESS: u32 = 0;
    pub const BPF_CGROUP_INET_EGRESS: u32 = 1;
    pub const BPF_CGROUP_INET_SOCK_CREATE: u32 = 2;
    pub const BPF_CGROUP_SOCK_OPS: u32 = 3;
    pub const BPF_SK_SKB_STREAM_PARSER: u32 = 4;
    pub const BPF_SK_SKB_STREAM_VERDICT: u32 = 5;
    pub const BPF_CGROUP_DEVICE: u32 = 6;
    pub const BPF_SK_MSG_VERDICT: u32 = 7;
    pub const BPF_CGROUP_INET4_POST_BIND: u32 = 12;
    pub const BPF_CGROUP_INET6_POST_BIND: u32 = 13;
    pub const BPF_FLOW_DISSECTOR: u32 = 17;
    pub const BPF_CGROUP_SYSCTL: u32 = 18;
    pub const BPF_CGROUP_GETSOCKOPT: u32 = 21;
    pub const BPF_CGROUP_SETSOCKOPT: u32 = 22;
    pub const BPF_XDP_DEVMAP: u32 = 33;
    pub const BPF_CGROUP_INET_SOCK_RELEASE: u32 = 34;
    pub const BPF_XDP_CPUMAP: u32 = 35;
    pub const BPF_SK_LOOKUP: u32 = 36;
    pub const BPF_SK_SKB_VERDICT: u32 = 38;
    pub const BPF_SK_REUSEPORT_SELECT: u32 = 39;
}

/// `BPF_F_XDP_HAS_FRAGS`: the program may see multi-buffer frames.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
/// `BPF_F_SLEEPABLE`: the program may sleep (syscall programs must).
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// What a section name implies for `BPF_PROG_LOAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionKind {
    /// `None` when the name says nothing about the type.
    pub prog_type: Option<ProgramType>,
    /// `expected_attach_type` (`enum bpf_attach_type`), 0 when the name implies none.
    pub expected_attach_type: u32,
    /// `BPF_F_*` program flags the name implies (`BPF_F_XDP_HAS_FRAGS`, `BPF_F_SLEEPABLE`).
    pub prog_flags: u32,
}

impl SectionKind {
    const UNKNOWN: SectionKind = SectionKind {
        prog_type: None,
        expected_attach_type: 0,
        prog_flags: 0,
    };

    fn of(prog_type: ProgramType) -> SectionKind {
        SectionKind {
            prog_type: Some(prog_type),
            expected_attach_type: 0,
            prog_flags: 0,
        }
    }

    fn attach(prog_type: ProgramType, expected_attach_type: u32) -> SectionKind {
        SectionKind {
            prog_type: Some(prog_type),
            expected_attach_type,
            prog_flags: 0,
        }
    }
}

/// Name rules other than XDP, first match wins; `Exact` must be the whole
/// name, `Prefix` its start (so longer prefixes come first).
enum Rule {
    Exact(&'static str, SectionKind),
    Prefix(&'static str, SectionKind),
}

/// The non-XDP rules. Exact libbpf names with an attach type come before
/// the bpf_load.c prefixes they would otherwise match (`cgroup/sock_create`
/// before `cgroup/sock`).
fn rules() -> [Rule; 40] {
    use attach::*;
    use ProgramType as T;
    use Rule::{Exact, Prefix};
    let of = SectionKind::of;
    let at = SectionKind::attach;
    [
        Prefix("socket", of(T::SOCKET_FILTER)),
        Prefix("kprobe/", of(T::KPROBE)),
        Prefix("kretprobe/", of(T::KPROBE)),
        Prefix("uprobe/", of(T::KPROBE)),
        Prefix("uretprobe/", of(T::KPROBE)),
        Prefix("ksyscall/", of(T::KPROBE)),
        Prefix("kretsyscall/", of(T::KPROBE)),
        Prefix("tracepoint/", of(T::TRACEPOINT)),
        Prefix("tp/", of(T::TRACEPOINT)),
        Prefix("raw_tracepoint/", of(T::RAW_TRACEPOINT)),
        Prefix("raw_tp/", of(T::RAW_TRACEPOINT)),
        Prefix("perf_event", of(T::PERF_EVENT)),
        Exact(
            "cgroup_skb/ingress",
            at(T::CGROUP_SKB, BPF_CGROUP_INET_INGRESS),
        ),
        Exact(
            "cgroup_skb/egress",
            at(T::CGROUP_SKB, BPF_CGROUP_INET_EGRESS),
        ),
        Prefix("cgroup/skb", of(T::CGROUP_SKB)),
        Exact(
            "cgroup/sock_create",
            at(T::CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE),
        ),
        Exact(
            "cgroup/sock_release",
            at(T::CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE),
        ),
        Exact(
            "cgroup/post_bind4",
            at(T::CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND),
        ),
        Exact(
            "cgroup/post_bind6",
            at(T::CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND),
        ),
        Exact(
            "cgroup/getsockopt",
            at(T::CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT),
        ),
        Exact(
            "cgroup/setsockopt",
            at(T::CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT),
        ),
        // bpf_load.c: `cgroup/sock` created the socket-creation hook.
        Prefix(
            "cgroup/sock",
            at(T::CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE),
        ),
        Exact("cgroup/dev", at(T::CGROUP_DEVICE, BPF_CGROUP_DEVICE)),
        Exact("cgroup/sysctl", at(T::CGROUP_SYSCTL, BPF_CGROUP_SYSCTL)),
        Prefix("sockops", at(T::SOCK_OPS, BPF_CGROUP_SOCK_OPS)),
        Exact(
            "sk_skb/stream_parser",
            at(T::SK_SKB, BPF_SK_SKB_STREAM_PARSER),
        ),
        Exact(
            "sk_skb/stream_verdict",
            at(T::SK_SKB, BPF_SK_SKB_STREAM_VERDICT),
        ),
        Exact("sk_skb/verdict", at(T::SK_SKB, BPF_SK_SKB_VERDICT)),
        Prefix("sk_skb", of(T::SK_SKB)),
        Prefix("sk_msg", at(T::SK_MSG, BPF_SK_MSG_VERDICT)),
        Prefix("sk_lookup", at(T::SK_LOOKUP, BPF_SK_LOOKUP)),
        Prefix("sk_reuseport", at(T::SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT)),
        Prefix("flow_dissector", at(T::FLOW_DISSECTOR, BPF_FLOW_DISSECTOR)),
        Prefix("classifier", of(T::SCHED_CLS)),
        Prefix("action", of(T::SCHED_ACT)),
        Prefix("lwt_in", of(T::LWT_IN)),
        Prefix("lwt_out", of(T::LWT_OUT)),
        Prefix("lwt_xmit", of(T::LWT_XMIT)),
        Prefix("lwt_seg6local", of(T::LWT_SEG6LOCAL)),
        // The verifier accepts syscall programs only as sleepable.
        Prefix(
            "syscall",
            SectionKind {
                prog_type: Some(T::SYSCALL),
                expected_attach_type: 0,
                prog_flags: BPF_F_SLEEPABLE,
            },
        ),
    ]
}

/// What the name of a program section implies.
pub fn section_kind(name: &str) -> SectionKind {
    if let Some(kind) = xdp_kind(name) {
        return kind;
    }
    // libbpf's `tc`, `tc/ingress`, `tcx/ingress`: exactly `tc` or a `tc` path,
    // so that unrelated names starting with "tc" stay unknown.
    if name == "tc" || name.starts_with("tc/") || name.starts_with("tcx/") {
        return SectionKind::of(ProgramType::SCHED_CLS);
    }
    for rule in rules() {
        match rule {
            Rule::Exact(exact, kind) if name == exact => return kind,
            Rule::Prefix(prefix, kind) if name.starts_with(prefix) => return kind,
            _ => {}
        }
    }
    SectionKind::UNKNOWN
}

/// XDP: bpf_load.c took any name starting with the three letters `xdp`
/// (`xdp0`, `xdp_1`, `xdp_entry`, `xdp/0`); libbpf's `xdp.frags` adds
/// `BPF_F_XDP_HAS_FRAGS`, and `xdp/devmap`, `xdp/cpumap` (also spelt
/// `xdp_devmap/`, `xdp_cpumap/`, or after `xdp.frags/`) program a devmap or
/// cpumap entry, which needs the matching `expected_attach_type`.
fn xdp_kind(name: &str) -> Option<SectionKind> {
    let rest = name.strip_prefix("xdp")?;
    let (frags, rest) = match rest.strip_prefix(".frags") {
        Some(after) => (true, after),
        None => (false, rest),
    };
    let expected_attach_type = if rest.starts_with("/devmap") || rest.starts_with("_devmap/") {
        attach::BPF_XDP_DEVMAP
    } else if rest.starts_with("/cpumap") || rest.starts_with("_cpumap/") {
        attach::BPF_XDP_CPUMAP
    } else {
        0
    };
    Some(SectionKind {
        prog_type: Some(ProgramType::XDP),
        expected_attach_type,
        prog_flags: if frags { BPF_F_XDP_HAS_FRAGS } else { 0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> Option<ProgramType> {
        section_kind(name).prog_type
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
                SectionKind::of(ProgramType::XDP),
                "{name}"
            );
        }
        let frags = section_kind("xdp.frags");
        assert_eq!(frags.prog_type, Some(ProgramType::XDP));
        assert_eq!(frags.prog_flags, BPF_F_XDP_HAS_FRAGS);
        assert_eq!(frags.expected_attach_type, 0);
        assert_eq!(section_kind("xdp/devmap").expected_attach_type, 33);
        assert_eq!(section_kind("xdp/cpumap").expected_attach_type, 35);
        assert_eq!(section_kind("xdp_devmap/redirect").expected_attach_type, 33);
        let frags_cpumap = section_kind("xdp.frags/cpumap");
        assert_eq!(frags_cpumap.expected_attach_type, 35);
        assert_eq!(frags_cpumap.prog_flags, BPF_F_XDP_HAS_FRAGS);
    }

    #[test]
    fn bpf_load_prefixes() {
        assert_eq!(ty("socket"), Some(ProgramType::SOCKET_FILTER));
        assert_eq!(ty("socket/0"), Some(ProgramType::SOCKET_FILTER));
        assert_eq!(ty("kprobe/sys_write"), Some(ProgramType::KPROBE));
        assert_eq!(ty("kretprobe/sys_write"), Some(ProgramType::KPROBE));
        assert_eq!(
            ty("tracepoint/syscalls/sys_enter_write"),
            Some(ProgramType::TRACEPOINT)
        );
        assert_eq!(
            ty("raw_tracepoint/sched_switch"),
            Some(ProgramType::RAW_TRACEPOINT)
        );
        assert_eq!(ty("perf_event"), Some(ProgramType::PERF_EVENT));
        assert_eq!(ty("cgroup/skb"), Some(ProgramType::CGROUP_SKB));
        assert_eq!(ty("cgroup/sock"), Some(ProgramType::CGROUP_SOCK));
        assert_eq!(ty("sockops"), Some(ProgramType::SOCK_OPS));
        assert_eq!(ty("sockops/3"), Some(ProgramType::SOCK_OPS));
        assert_eq!(ty("sk_skb/stream_parser"), Some(ProgramType::SK_SKB));
        assert_eq!(ty("sk_msg"), Some(ProgramType::SK_MSG));
    }

    #[test]
    fn libbpf_names() {
        assert_eq!(ty("tc"), Some(ProgramType::SCHED_CLS));
        assert_eq!(ty("tc/ingress"), Some(ProgramType::SCHED_CLS));
        assert_eq!(ty("classifier"), Some(ProgramType::SCHED_CLS));
        assert_eq!(ty("action"), Some(ProgramType::SCHED_ACT));
        assert_eq!(
            ty("tp/syscalls/sys_enter_write"),
            Some(ProgramType::TRACEPOINT)
        );
        assert_eq!(ty("raw_tp/sched_switch"), Some(ProgramType::RAW_TRACEPOINT));
        assert_eq!(ty("lwt_xmit"), Some(ProgramType::LWT_XMIT));
        assert_eq!(ty("flow_dissector"), Some(ProgramType::FLOW_DISSECTOR));
        assert_eq!(ty("sk_lookup"), Some(ProgramType::SK_LOOKUP));
        let ingress = section_kind("cgroup_skb/ingress");
        assert_eq!(ingress.prog_type, Some(ProgramType::CGROUP_SKB));
        assert_eq!(ingress.expected_attach_type, 0);
        assert_eq!(section_kind("cgroup_skb/egress").expected_attach_type, 1);
        assert_eq!(
            section_kind("cgroup/setsockopt").prog_type,
            Some(ProgramType::CGROUP_SOCKOPT)
        );
        assert_eq!(section_kind("cgroup/sock_release").expected_attach_type, 34);
        assert_eq!(section_kind("sk_lookup").expected_attach_type, 36);
        let syscall = section_kind("syscall");
        assert_eq!(syscall.prog_type, Some(ProgramType::SYSCALL));
        assert_eq!(syscall.prog_flags, BPF_F_SLEEPABLE);
    }

    #[test]
    fn names_that_say_nothing() {
        for name in [
            "prog/0",
            "1/7",
            "2/0",
            ".text",
            "maps",
            "tcp_thing",
            "fentry/foo",
            "",
        ] {
            assert_eq!(section_kind(name), SectionKind::UNKNOWN, "{name}");
        }
    }
}
