"""Verdicts and causes for one object's raw result (what conformance.py's
run stage recorded), the results TSV and the cause table.

A verdict says what happened; a cause says why, from causes.tsv (regular
expressions on the loaders' error text) or from the structure of the
difference (a section rxdp does not know, a `?` program, an attach type).
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))

# enum bpf_attach_type (uapi linux/bpf.h), in order.
ATTACH_TYPES = (
    "CGROUP_INET_INGRESS CGROUP_INET_EGRESS CGROUP_INET_SOCK_CREATE CGROUP_SOCK_OPS "
    "SK_SKB_STREAM_PARSER SK_SKB_STREAM_VERDICT CGROUP_DEVICE SK_MSG_VERDICT "
    "CGROUP_INET4_BIND CGROUP_INET6_BIND CGROUP_INET4_CONNECT CGROUP_INET6_CONNECT "
    "CGROUP_INET4_POST_BIND CGROUP_INET6_POST_BIND CGROUP_UDP4_SENDMSG CGROUP_UDP6_SENDMSG "
    "LIRC_MODE2 FLOW_DISSECTOR CGROUP_SYSCTL CGROUP_UDP4_RECVMSG CGROUP_UDP6_RECVMSG "
    "CGROUP_GETSOCKOPT CGROUP_SETSOCKOPT TRACE_RAW_TP TRACE_FENTRY TRACE_FEXIT MODIFY_RETURN "
    "LSM_MAC TRACE_ITER CGROUP_INET4_GETPEERNAME CGROUP_INET6_GETPEERNAME "
    "CGROUP_INET4_GETSOCKNAME CGROUP_INET6_GETSOCKNAME XDP_DEVMAP CGROUP_INET_SOCK_RELEASE "
    "XDP_CPUMAP SK_LOOKUP XDP SK_SKB_VERDICT SK_REUSEPORT_SELECT "
    "SK_REUSEPORT_SELECT_OR_MIGRATE PERF_EVENT TRACE_KPROBE_MULTI LSM_CGROUP STRUCT_OPS "
    "NETFILTER TCX_INGRESS TCX_EGRESS TRACE_UPROBE_MULTI CGROUP_UNIX_CONNECT "
    "CGROUP_UNIX_SENDMSG CGROUP_UNIX_RECVMSG CGROUP_UNIX_GETPEERNAME CGROUP_UNIX_GETSOCKNAME "
    "NETKIT_PRIMARY NETKIT_PEER TRACE_KPROBE_SESSION").split()


def attach_name(n):
    """0 is both BPF_CGROUP_INET_INGRESS and "none": printed as 0."""
    return "BPF_" + ATTACH_TYPES[n] if 0 < n < len(ATTACH_TYPES) else str(n)


# Program types whose expected_attach_type the kernel looks at, at load
# (verifier context, BTF attach point) or at attach
# (bpf_prog_attach_check_attach_type in kernel/bpf/syscall.c). For the
# others (XDP's BPF_XDP, sockops, sk_skb, sk_msg, flow_dissector, lirc,
# cgroup_device, cgroup_sysctl) a 0 instead of libbpf's value changes nothing.
ATTACH_CHECKED = {"cgroup_sock", "cgroup_sock_addr", "cgroup_sockopt", "sk_lookup",
                  "cgroup_skb", "kprobe", "tracing", "lsm", "ext", "sk_reuseport",
                  "netfilter", "struct_ops"}

# libbpf 1.1's section_defs (src/libbpf.c): the name as written there; `+`
# means the name alone or followed by `/`, a trailing `/` a prefix, anything
# else the exact name. Only the names are needed here (the view gives the
# types); the family groups the causes.
SEC_DEFS = """socket sk_reuseport/migrate sk_reuseport kprobe+ uprobe+ uprobe.s+ kretprobe+
uretprobe+ uretprobe.s+ kprobe.multi+ kretprobe.multi+ ksyscall+ kretsyscall+ usdt+ tc classifier
action tracepoint+ tp+ raw_tracepoint+ raw_tp+ raw_tracepoint.w+ raw_tp.w+ tp_btf+ fentry+
fmod_ret+ fexit+ fentry.s+ fmod_ret.s+ fexit.s+ freplace+ lsm+ lsm.s+ lsm_cgroup+ iter+ iter.s+
syscall xdp.frags/devmap xdp/devmap xdp.frags/cpumap xdp/cpumap xdp.frags xdp perf_event lwt_in
lwt_out lwt_xmit lwt_seg6local sockops sk_skb/stream_parser sk_skb/stream_verdict sk_skb sk_msg
lirc_mode2 flow_dissector cgroup_skb/ingress cgroup_skb/egress cgroup/skb cgroup/sock_create
cgroup/sock_release cgroup/sock cgroup/post_bind4 cgroup/post_bind6 cgroup/bind4 cgroup/bind6
cgroup/connect4 cgroup/connect6 cgroup/sendmsg4 cgroup/sendmsg6 cgroup/recvmsg4 cgroup/recvmsg6
cgroup/getpeername4 cgroup/getpeername6 cgroup/getsockname4 cgroup/getsockname6 cgroup/sysctl
cgroup/getsockopt cgroup/setsockopt cgroup/dev struct_ops+ sk_lookup""".split()

# Names libbpf added after 1.1 (section_defs of v1.7), with their program
# types: libbpf 1.1 cannot load such a program, but the type is known, so
# rxdp loading it as another type is still a wrong type.
SEC_DEFS_NEWER = {
    "kprobe.session+": "kprobe", "uprobe.multi+": "kprobe", "uretprobe.multi+": "kprobe",
    "uprobe.session+": "kprobe", "uprobe.multi.s+": "kprobe", "uretprobe.multi.s+": "kprobe",
    "uprobe.session.s+": "kprobe", "usdt.s+": "kprobe",
    "tc/ingress": "sched_cls", "tc/egress": "sched_cls", "tcx/ingress": "sched_cls",
    "tcx/egress": "sched_cls", "netkit/primary": "sched_cls", "netkit/peer": "sched_cls",
    "tracepoint.s+": "tracepoint", "tp.s+": "tracepoint", "raw_tracepoint.s+": "raw_tracepoint",
    "raw_tp.s+": "raw_tracepoint", "tp_btf.s+": "tracing", "fsession+": "tracing",
    "fsession.s+": "tracing", "fsession.multi+": "tracing", "fsession.multi.s+": "tracing",
    "fentry.multi+": "tracing", "fexit.multi+": "tracing", "fentry.multi.s+": "tracing",
    "fexit.multi.s+": "tracing", "cgroup/connect_unix": "cgroup_sock_addr",
    "cgroup/sendmsg_unix": "cgroup_sock_addr", "cgroup/recvmsg_unix": "cgroup_sock_addr",
    "cgroup/getpeername_unix": "cgroup_sock_addr", "cgroup/getsockname_unix": "cgroup_sock_addr",
    "sk_skb/verdict": "sk_skb", "struct_ops.s+": "struct_ops", "netfilter": "netfilter",
}

FAMILY = {
    "fentry": "fentry/fexit/fmod_ret", "fexit": "fentry/fexit/fmod_ret",
    "fmod_ret": "fentry/fexit/fmod_ret", "fentry.s": "fentry/fexit/fmod_ret",
    "fexit.s": "fentry/fexit/fmod_ret", "fmod_ret.s": "fentry/fexit/fmod_ret",
    "iter": "iter", "iter.s": "iter", "lsm": "lsm", "lsm.s": "lsm", "lsm_cgroup": "lsm",
    "kprobe": "kprobe/uprobe/usdt", "kretprobe": "kprobe/uprobe/usdt",
    "uprobe": "kprobe/uprobe/usdt", "uretprobe": "kprobe/uprobe/usdt",
    "uprobe.s": "kprobe/uprobe/usdt", "uretprobe.s": "kprobe/uprobe/usdt",
    "usdt": "kprobe/uprobe/usdt", "ksyscall": "kprobe/uprobe/usdt",
    "kretsyscall": "kprobe/uprobe/usdt",
    "kprobe.multi": "kprobe.multi", "kretprobe.multi": "kprobe.multi",
}


def sec_def(section, defs=None):
    """The libbpf 1.1 section_defs entry a section name matches, or None."""
    name = section[1:] if section.startswith("?") else section
    for d in defs if defs is not None else SEC_DEFS:
        if d.endswith("/"):
            if name.startswith(d):
                return d
        elif d.endswith("+"):
            base = d[:-1]
            if name == base or name.startswith(base + "/"):
                return base
        elif name == d:
            return d
    return None


def newer_type(section):
    """The program type a libbpf newer than 1.1 gives the section, or None."""
    d = sec_def(section, list(SEC_DEFS_NEWER))
    if d is None:
        return None
    return SEC_DEFS_NEWER.get(d) or SEC_DEFS_NEWER.get(d + "+")


def family(section):
    d = sec_def(section) or sec_def(section, list(SEC_DEFS_NEWER))
    if d is None:
        return None
    if d in ("cgroup/connect_unix", "cgroup/sendmsg_unix", "cgroup/recvmsg_unix",
             "cgroup/getpeername_unix", "cgroup/getsockname_unix"):
        return "cgroup sock_addr"
    if d.startswith("cgroup/") and d[7:].rstrip("46") in (
            "bind", "connect", "sendmsg", "recvmsg", "getpeername", "getsockname"):
        return "cgroup sock_addr"
    return FAMILY.get(d, d)


# --------------------------------------------------------------------------
# causes.tsv

class Cause:
    def __init__(self, ident, kind, side, pattern, title):
        self.id, self.kind, self.side, self.title = ident, kind, side, title
        self.rx = re.compile(pattern, re.S) if pattern else None


def load_causes(path=os.path.join(HERE, "causes.tsv")):
    causes = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            ident, kind, side, pattern, title = line.rstrip("\n").split("\t")
            causes.append(Cause(ident, kind, side, pattern, title))
    return causes


def match(causes, side, text):
    for c in causes:
        if c.side == side and c.rx and c.rx.search(text or ""):
            return c.id
    return None


def cause_title(causes, ident):
    for c in causes:
        if c.id == ident:
            return c.title
    if ident.startswith("unknown-section:"):
        return f"section `{ident.split(':', 1)[1]}` unknown to rxdp: loaded as XDP"
    return ident


def cause_kind(causes, ident, side):
    """The kind of a cause as `side` reported it (an id may be on both)."""
    if ident.startswith("unknown-section:"):
        return "gap"
    for want in (side, None):
        for c in causes:
            if c.id == ident and (want is None or c.side == want):
                return c.kind
    return "gap"


# --------------------------------------------------------------------------
# verdicts

# Host refusals (design.md): fentry, fexit, fmod_ret, lsm and freplace get
# EPERM here whoever loads them.
UNTESTABLE_TYPES = {"tracing", "lsm", "ext"}


def failing_program(err):
    """(name, section) of the program rxdp's error names, if any."""
    m = re.search(r"prog_fd\[\d+\] (\S+) \(section (\S+)\)", err or "")
    if m:
        return m.group(1), m.group(2)
    m = re.search(r"`([^`]+)` \(section `([^`]+)`\)", err or "")
    if m:
        return m.group(1), m.group(2)
    return None, None


def libbpf_failing_program(err):
    m = re.search(r"prog '([^']+)': BPF program load failed", err or "")
    return m.group(1) if m else None


def rxdp_cause(row, causes, view, ins):
    err = str(row["rxdp_err"])
    name, section = failing_program(err)
    m = re.search(r"\(called by (\S+)\)", err)
    if not name and m and m.group(1) in ins:
        name, section = m.group(1), ins[m.group(1)]["section"]
    verifier = "the verifier rejected it" in err
    if name and section:
        v, i = view.get(name), ins.get(name)
        if section.startswith("?") and v and not v["autoload"]:
            return "qmark-loaded"
        if verifier and i and i["type"] == "unknown" and (not v or v["type"] == "unspec"):
            if newer_type(section):
                return "unknown-section:" + (family(section) or section)
            return "section-unknown-to-both"
        if verifier and i and v and v["type"] != "unspec":
            if i["type"] == "unknown":
                return "unknown-section:" + (family(section) or section)
            if i["type"] != v["type"]:
                return "section-type-differs"
            if i["expected_attach_type"] != v["expected_attach_type"] and \
                    v["type"] in ATTACH_CHECKED:
                return "attach-type-checked"
    return match(causes, "rxdp", err) or ("verifier" if verifier else "unclassified-rxdp")


def libbpf_cause(row, causes):
    return match(causes, "libbpf", row["libbpf_err"]) or "unclassified-libbpf"


def classify(row, causes):
    """Adds verdict, cause, libbpf_cause, rxdp_cause and findings to a raw row."""
    if row.get("verdict") == "compile-failed":
        row.update(cause="", libbpf_cause="", rxdp_cause="", findings=[])
        return row
    view = {p["name"]: p for p in row["view"].get("programs", [])}
    ins = {p["name"]: p for p in row["inspect"].get("programs", [])}
    libbpf_ok = row["libbpf_rc"] == 0
    if not libbpf_ok and "can't pin program that wasn't loaded" in row["libbpf_err"]:
        # bpftool 7.1 pins every program, autoload or not, and libbpf 1.1's
        # bpf_object__pin_programs refuses one that was not loaded
        # (`SEC("?...")`): the load itself succeeded. The types are those
        # of the sections (libbpf sets them at open and loads with them).
        libbpf_ok = True
        row["libbpf_progs"] = {n: p["type"] for n, p in view.items() if p["autoload"]}
        row["libbpf_note"] = "loaded (bpftool 7.1 cannot pin SEC(\"?\") programs)"
    rxdp_ok = row["rxdp_rc"] == 0
    lb, rx = row["libbpf_progs"], row["rxdp_progs"]

    findings = []  # (kind, cause, text); kind: wrong, other, guess, extra
    if rxdp_ok:
        for name, t in rx.items():
            v, i = view.get(name), ins.get(name, {})
            sec = i.get("section") or (v or {}).get("section", "")
            expect = lb.get(name) or (v["type"] if v else None)
            if expect in (None, "unspec"):
                expect = newer_type(sec) or expect
            if v and not v["autoload"]:
                findings.append(("other", "qmark-loaded",
                                 f"{name} ({sec}) loaded as {t}; libbpf does not load `?` sections"))
                if expect and expect != "unspec" and t != expect:
                    findings.append(("wrong", "qmark-loaded", f"{name} ({sec}) {t}, libbpf {expect}"))
                continue
            if expect in (None, "unspec"):
                if i.get("type") == "unknown":
                    findings.append(("guess", "section-unknown-to-both",
                                     f"{name} ({sec}) loaded as {t} by default"))
                else:
                    findings.append(("extra", "rxdp-section-name",
                                     f"{name} ({sec}) {t} from rxdp's section table"))
            elif t != expect:
                cause = ("unknown-section:" + (family(sec) or sec)) if i.get("type") == "unknown" \
                    else "section-type-differs"
                findings.append(("wrong", cause, f"{name} ({sec}) {t}, libbpf {expect}"))
            elif not (v and v["type"] == expect) and not lb.get(name):
                findings.append(("extra", "newer-libbpf-section",
                                 f"{name} ({sec}) {t}, as libbpf after 1.1"))
            elif v and i and i.get("expected_attach_type") != v["expected_attach_type"]:
                checked = t in ATTACH_CHECKED or (t == "xdp" and v["expected_attach_type"] != 37)
                findings.append(("other", "attach-type-checked" if checked else "attach-type-ignored",
                                 f"{name} ({sec}) expected_attach_type "
                                 f"{attach_name(i['expected_attach_type'])}, libbpf "
                                 f"{attach_name(v['expected_attach_type'])}"))
        if libbpf_ok:
            for name in lb:
                if name not in rx:
                    findings.append(("other", "program-not-loaded", f"{name}: libbpf loads it, rxdp not"))
        if row["rxdp_pins"]:
            findings.append(("other", "pins-with-no-pin",
                             "pinned with --no-pin: " + " ".join(row["rxdp_pins"])))
    for side in ("libbpf", "rxdp"):
        if row[side + "_left"]:
            findings.append(("other", "left-in-kernel", f"{side} left " + ", ".join(row[side + "_left"])))

    kinds = [f[0] for f in findings]

    def first(kind):
        """The most serious cause among the findings of one kind."""
        found = [f[1] for f in findings if f[0] == kind]
        return min(found, key=lambda c: OTHER_ORDER.index(c) if c in OTHER_ORDER else -1)
    lcause = "" if libbpf_ok else libbpf_cause(row, causes)
    rcause = "" if rxdp_ok else rxdp_cause(row, causes, view, ins)
    if libbpf_ok and rxdp_ok:
        if "wrong" in kinds:
            verdict, cause = "wrong-type", first("wrong")
        elif "other" in kinds:
            verdict, cause = "other-diff", first("other")
        else:
            verdict, cause = "same", ""
    elif libbpf_ok:
        verdict, cause = "libbpf-only", rcause
    elif rxdp_ok:
        if "wrong" in kinds:
            verdict, cause = "wrong-type", first("wrong")
        elif "guess" in kinds:
            verdict, cause = "rxdp-only", first("guess")
        elif "extra" in kinds and first("extra") == "newer-libbpf-section":
            verdict, cause = "rxdp-only", "newer-libbpf-section"
        else:
            verdict, cause = "rxdp-only", lcause
    elif kernel_refuses(row, view):
        verdict, cause = "not-testable", "kernel-refuses-tracing"
    elif cause_kind(causes, lcause, "libbpf") == "kernel":
        verdict, cause = "not-testable", lcause
    else:
        # Both fail. The same reason on both sides is agreement; an object
        # that cannot load alone is that; otherwise rxdp's own gap comes
        # first (it hides whatever libbpf stumbled on).
        verdict = "both-fail"
        if rcause == "verifier" and lcause == "verifier":
            same = libbpf_failing_program(row["libbpf_err"]) == failing_program(row["rxdp_err"])[0]
            cause = "both-verifier" if same else "both-verifier-other-program"
        elif rcause == lcause:
            cause = rcause
        elif rcause == "verifier" and cause_kind(causes, lcause, "libbpf") == "agree":
            # libbpf stopped earlier for a reason the verifier then gives rxdp
            cause = lcause
        elif cause_kind(causes, lcause, "libbpf") == "unloadable":
            cause = lcause
        else:
            cause = rcause
    row.update(verdict=verdict, cause=cause, libbpf_cause=lcause, rxdp_cause=rcause,
               findings=[f"{c}: {t}" for _, c, t in findings])
    return row


# Among differences of objects both load, the one named as the cause.
OTHER_ORDER = ["left-in-kernel", "pins-with-no-pin", "program-not-loaded", "qmark-loaded",
               "attach-type-checked", "attach-type-ignored"]


def kernel_refuses(row, view):
    """libbpf failed with EPERM from BPF_PROG_LOAD on a program of a type
    the host refuses to every loader."""
    m = re.search(r"prog '([^']+)': BPF program load failed: Operation not permitted",
                  row["libbpf_err"])
    return bool(m) and view.get(m.group(1), {}).get("type") in UNTESTABLE_TYPES


# --------------------------------------------------------------------------
# the results file

TSV_COLUMNS = ["object", "verdict", "cause", "libbpf", "rxdp", "libbpf_cause", "rxdp_cause",
               "libbpf_types", "rxdp_types", "findings", "libbpf_error", "rxdp_error"]


def one_line(text, limit=400):
    return re.sub(r"\s+", " ", text or "").strip()[:limit]


def libbpf_summary_error(err):
    """The most telling line of bpftool's output: libbpf's first warning
    that says something failed, else its first warning."""
    lines = [l[len("libbpf: "):] for l in (err or "").splitlines()
             if l.startswith("libbpf:") and "PROG LOAD LOG" not in l]
    for line in lines:
        if re.search(r"fail|error|not |invalid|bad |unrecognized|expected|can't|cannot|unsupported",
                     line, re.I) and not line.startswith("elf: skipping"):
            return line
    if lines:
        return lines[0]
    for line in (err or "").splitlines():
        if line.startswith("Error:"):
            return line
    return one_line(err)


def rxdp_summary_error(err):
    text = (err or "").strip()
    return text.splitlines()[0] if text else ""


def tsv_row(row):
    types = lambda d: ",".join(f"{k}={v}" for k, v in sorted((d or {}).items()))
    if row["verdict"] == "compile-failed":
        return [row["object"], "compile-failed", "", "", "", "", "", "", "", "",
                one_line(row.get("detail")), ""]
    libbpf_ok = row["libbpf_rc"] == 0 or row.get("libbpf_note")
    return [
        row["object"], row["verdict"], row["cause"],
        "loaded" if libbpf_ok else f"failed({row['libbpf_rc']})",
        "loaded" if row["rxdp_rc"] == 0 else f"failed({row['rxdp_rc']})",
        row["libbpf_cause"], row["rxdp_cause"],
        types(row["libbpf_progs"]), types(row["rxdp_progs"]), "; ".join(row["findings"]),
        "" if row["libbpf_rc"] == 0 else one_line(
            re.sub(r"/\S*/(obj|linked)/", "", libbpf_summary_error(row["libbpf_err"]))),
        "" if row["rxdp_rc"] == 0 else one_line(
            re.sub(r"\S*/(obj|linked)/", "", rxdp_summary_error(row["rxdp_err"]))),
    ]


def write_tsv(rows, path):
    with open(path, "w") as f:
        f.write("\t".join(TSV_COLUMNS) + "\n")
        for row in rows:
            f.write("\t".join(str(c).replace("\t", " ") for c in tsv_row(row)) + "\n")


def read_tsv(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


COLUMNS = ["libbpf-only", "rxdp-only", "both-fail", "wrong-type", "other-diff", "not-testable"]


def table(rows, causes, title):
    per = {}
    t = dict.fromkeys(["objects", "compiled", "libbpf", "rxdp", "same"] + COLUMNS, 0)
    for r in rows:
        t["objects"] += 1
        v = r["verdict"]
        if v == "compile-failed":
            continue
        t["compiled"] += 1
        t["libbpf"] += r["libbpf"] == "loaded"
        t["rxdp"] += r["rxdp"] == "loaded"
        t[v] += 1
        if v == "same":
            continue
        c = per.setdefault(r["cause"], dict.fromkeys(["objects"] + COLUMNS, 0))
        c["objects"] += 1
        c[v] += 1
    lines = [title, "",
             "| cause | objects | " + " | ".join(COLUMNS) + " |",
             "|---|--:|" + "--:|" * len(COLUMNS)]
    order = sorted(per.items(), key=lambda kv: (
        -(kv[1]["libbpf-only"] + kv[1]["wrong-type"] + kv[1]["other-diff"]), -kv[1]["objects"], kv[0]))
    for ident, c in order:
        lines.append(f"| `{ident}` {cause_title(causes, ident)} | {c['objects']} | " +
                     " | ".join(str(c[k]) for k in COLUMNS) + " |")
    lines.append(f"| **total** | {t['compiled'] - t['same']} | " +
                 " | ".join(str(t[k]) for k in COLUMNS) + " |")
    lines += ["", f"{t['objects']} objects, {t['compiled']} compiled: libbpf loads {t['libbpf']}, "
              f"rxdp loads {t['rxdp']} ({t['same']} the same), libbpf-only {t['libbpf-only']}, "
              f"wrong type {t['wrong-type']}, other differences {t['other-diff']}, rxdp-only "
              f"{t['rxdp-only']}, both fail {t['both-fail']}, not testable here {t['not-testable']}, "
              f"not compiled {t['objects'] - t['compiled']}"]
    return "\n".join(lines)


def diff(old_rows, new_rows):
    old = {r["object"]: r for r in old_rows}
    out = []
    for r in new_rows:
        o = old.get(r["object"])
        if o is None:
            out.append(f"  new  {r['object']}: {r['verdict']} {r['cause']}")
        elif (o["verdict"], o["cause"]) != (r["verdict"], r["cause"]):
            out.append(f"  {r['object']}: {o['verdict']} {o['cause']} -> {r['verdict']} {r['cause']}")
    for g in sorted(set(old) - {r["object"] for r in new_rows}):
        out.append(f"  gone {g}")
    return out


def report(rows, causes):
    """Per cause: its objects by verdict and every distinct first line rxdp
    printed for them (object names taken out), for CAUSES.md."""
    per = {}
    for r in rows:
        if r["verdict"] in ("same", "compile-failed"):
            continue
        per.setdefault(r["cause"], []).append(r)
    out = []
    for ident, rs in sorted(per.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        out.append(f"### `{ident}`: {cause_title(causes, ident)} ({len(rs)})\n")
        by_verdict = {}
        for r in rs:
            by_verdict.setdefault(r["verdict"], []).append(r["object"])
        for v, objs in sorted(by_verdict.items()):
            out.append(f"- {v} ({len(objs)}): " + ", ".join(f"`{o}`" for o in objs))
        errors = {}
        for r in rs:
            text = r["rxdp_error"] or r["findings"]
            if not text:
                continue
            name = r["object"].split(":")[-1]
            key = re.sub(r"^rxdp-load: \S+\.o: ", "", text).replace(name, "OBJ")
            errors.setdefault(key, []).append(r["object"])
        for key, objs in sorted(errors.items(), key=lambda kv: -len(kv[1]))[:6]:
            out.append(f"  - {len(objs)}× e.g. `{objs[0]}`: {key[:500]}")
        out.append("")
    return "\n".join(out)
