#!/usr/bin/python3
"""rxdp's conformance run: the kernel's own BPF selftest programs, loaded by
libbpf (bpftool prog loadall) and by rxdp-load side by side.

    conformance.py all --tree 6.1 [--tree 6.12] --rxdp-load target/release/rxdp-load
    conformance.py table conformance/results/linux-source-6.1_...tsv
    conformance.py diff OLD.tsv NEW.tsv

Stages (README.md in this folder has the method):
  prepare  extract tools/testing/selftests/bpf, tools/include, tools/lib and
           scripts/bpf_doc.py from /usr/src/linux-source-X.tar.xz; generate
           vmlinux.h (host BTF) and bpf_helper_defs.h (the tree's bpf_doc.py);
           compile every progs/*.c with clang (nice, 2 at a time) and link the
           selftests' multi-file objects with `bpftool gen object`. Everything
           is cached under /var/cache/rxdp-conformance/, keyed by the tree's
           package version and a hash of the compiler, flags and headers.
  run      in a private mount namespace with its own bpffs on /sys/fs/bpf (so
           no pin of either loader can reach the host's bpffs), per object:
           libbpf's view of the object without loading it (libbpf.so.1 via
           ctypes: section, program type, expected attach type, autoload);
           `bpftool prog loadall`; the kernel's view of every program it pinned;
           `rxdp inspect --json` and `rxdp-load --no-pin --json`; then checks
           that no program, map or link either loader made is still alive and
           nothing is left on the private bpffs.
  classify every object: same / libbpf-only / rxdp-only / both-fail /
           wrong-type / not-testable, and a cause from causes.tsv.
"""

import argparse
import ctypes
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
import classify as cl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("RXDP_CONFORMANCE_CACHE", "/var/cache/rxdp-conformance")
CLANG = os.environ.get("CLANG", "clang")
BPFTOOL = os.environ.get("BPFTOOL", "bpftool")
LOAD_TIMEOUT = int(os.environ.get("RXDP_CONFORMANCE_TIMEOUT", "120"))
COMPILE_JOBS = 2

# The brief's flags (and the selftests' own): -g -O2 -target bpf -mcpu=v3,
# plus what the selftests' Makefile adds to find <asm/...> and <sys/...>.
BASE_CFLAGS = [
    "-g", "-O2", "-target", "bpf", "-mcpu=v3", "-mlittle-endian",
    "-D__TARGET_ARCH_x86", "-Wno-compare-distinct-pointer-types",
]
# The selftests' Makefile builds these two with -fno-inline.
NO_INLINE = {"test_l4lb_noinline", "test_xdp_noinline"}

TREE_PATHS = [
    "tools/testing/selftests/bpf/*",
    "tools/include/*",
    "tools/lib/*",
    "scripts/bpf_doc.py",
    "Makefile",
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw)


# --------------------------------------------------------------------------
# prepare: sources, headers, objects


def tree_version(tree):
    pkg = f"linux-source-{tree}"
    out = sh(["dpkg-query", "-W", "-f", "${Version}", pkg])
    if out.returncode != 0 or not out.stdout:
        sys.exit(f"{pkg} is not installed (apt-get install {pkg})")
    return pkg, out.stdout.strip()


def extract(tree):
    pkg, version = tree_version(tree)
    key = f"{pkg}_{version}"
    root = os.path.join(CACHE, key)
    src = os.path.join(root, "src")
    stamp = os.path.join(root, "src.done")
    if not os.path.exists(stamp):
        log(f"[{key}] extracting the selftests from /usr/src/{pkg}.tar.xz")
        shutil.rmtree(src, ignore_errors=True)
        os.makedirs(src)
        top = pkg
        cmd = ["nice", "-n", "10", "tar", "-xJf", f"/usr/src/{pkg}.tar.xz", "-C", src,
               "--strip-components=1", "--wildcards"] + [f"{top}/{p}" for p in TREE_PATHS]
        out = sh(cmd)
        if out.returncode != 0:
            sys.exit(f"tar failed: {out.stderr}")
        open(stamp, "w").close()
    return key, root, src


def sys_includes():
    out = sh([CLANG, "-v", "-E", "-"], input="")
    flags, on = [], False
    for line in out.stderr.splitlines():
        if line.startswith("#include <...> search starts here:"):
            on = True
        elif line.startswith("End of search list."):
            on = False
        elif on:
            flags += ["-idirafter", line.strip()]
    return flags


def prepare(tree, names=None):
    """Extracts the tree, generates the headers and compiles its programs
    (only `names` when given: plain names and `linked:X` groups, whose parts
    are compiled too). Returns the cache key, the build directory and
    `(name, object or None, first error or None)` per program."""
    key, root, src = extract(tree)
    selftests = os.path.join(src, "tools/testing/selftests/bpf")
    gen_tmp = tempfile.mkdtemp(prefix="gen-", dir=root)
    vmlinux = sh([BPFTOOL, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"])
    if vmlinux.returncode != 0:
        sys.exit(f"bpftool btf dump failed: {vmlinux.stderr}")
    with open(os.path.join(gen_tmp, "vmlinux.h"), "w") as f:
        f.write(vmlinux.stdout)
    defs = sh(["/usr/bin/python3", os.path.join(src, "scripts/bpf_doc.py"), "--header",
               "--file", os.path.join(src, "tools/include/uapi/linux/bpf.h")])
    if defs.returncode != 0:
        sys.exit(f"bpf_doc.py failed: {defs.stderr}")
    with open(os.path.join(gen_tmp, "bpf_helper_defs.h"), "w") as f:
        f.write(defs.stdout)
    clang_version = sh([CLANG, "--version"]).stdout.splitlines()[0]
    cflags = BASE_CFLAGS + ["-I" + selftests, "-I" + os.path.join(src, "tools/include/uapi"),
                            "-I" + os.path.join(src, "tools/lib")] + sys_includes()
    digest = hashlib.sha256()
    for part in [clang_version, " ".join(cflags), vmlinux.stdout, defs.stdout]:
        digest.update(part.encode())
    build = os.path.join(root, "build-" + digest.hexdigest()[:12])
    gen = os.path.join(build, "gen")
    if not os.path.isdir(gen):
        os.makedirs(build, exist_ok=True)
        os.rename(gen_tmp, gen)
    else:
        shutil.rmtree(gen_tmp)
    cflags = cflags[:len(BASE_CFLAGS)] + ["-I" + gen] + cflags[len(BASE_CFLAGS):]
    objdir = os.path.join(build, "obj")
    os.makedirs(objdir, exist_ok=True)
    with open(os.path.join(build, "build.txt"), "w") as f:
        f.write(f"tree {key}\nclang {clang_version}\nhost {os.uname().release}\n"
                f"cflags {' '.join(cflags)}\n")

    progs = os.path.join(selftests, "progs")
    sources = sorted(n[:-2] for n in os.listdir(progs) if n.endswith(".c"))
    groups = link_group_deps(selftests)
    if names is not None:
        wanted = set()
        for n in names:
            if n.startswith("linked:"):
                wanted.update(dict(groups).get(n[len("linked:"):], []))
            else:
                wanted.add(n)
        unknown = sorted(n for n in wanted if n not in sources)
        if unknown:
            sys.exit(f"[{key}] no such program: {' '.join(unknown)}")
        sources = [n for n in sources if n in wanted]
        groups = [(g, d) for g, d in groups if f"linked:{g}" in names]

    def compile_one(name):
        obj = os.path.join(objdir, name + ".o")
        fail = os.path.join(objdir, name + ".fail")
        if os.path.exists(obj) or os.path.exists(fail):
            return
        extra = ["-fno-inline"] if name in NO_INLINE else []
        out = sh(["nice", "-n", "10", CLANG] + cflags + extra +
                 ["-c", os.path.join(progs, name + ".c"), "-o", obj + ".tmp"])
        if out.returncode == 0:
            os.rename(obj + ".tmp", obj)
        else:
            if os.path.exists(obj + ".tmp"):
                os.unlink(obj + ".tmp")
            with open(fail, "w") as f:
                f.write(out.stderr)

    todo = [n for n in sources if not (os.path.exists(os.path.join(objdir, n + ".o")) or
                                      os.path.exists(os.path.join(objdir, n + ".fail")))]
    if todo:
        log(f"[{key}] compiling {len(todo)} of {len(sources)} programs with {clang_version} "
            f"({COMPILE_JOBS} at a time, nice 10)")
        t0 = time.time()
        with ThreadPoolExecutor(COMPILE_JOBS) as pool:
            for i, _ in enumerate(pool.map(compile_one, todo), 1):
                if i % 50 == 0:
                    log(f"  {i}/{len(todo)} ({time.time() - t0:.0f} s)")
    objects = []
    for n in sources:
        o = os.path.join(objdir, n + ".o")
        if os.path.exists(o):
            objects.append((n, o, None))
        else:
            with open(os.path.join(objdir, n + ".fail")) as f:
                err = first_error(f.read())
            objects.append((n, None, err))
    objects += link_groups(groups, objdir, build)
    return key, build, objects


def first_error(text):
    for line in text.splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip()
    return text.strip().splitlines()[0] if text.strip() else "unknown"


def link_group_deps(selftests):
    """The selftests' multi-file objects: `X.skel.h-deps := a.bpf.o b.bpf.o`
    in their Makefile, as `(X, [a, b])`."""
    groups = []
    with open(os.path.join(selftests, "Makefile")) as f:
        for line in f:
            m = re.match(r"^(\S+)\.skel\.h-deps\s*:=\s*(.*)$", line.strip())
            if m:
                deps = [d[:-len(".bpf.o")] for d in m.group(2).split() if d.endswith(".bpf.o")]
                groups.append((m.group(1), deps))
    return groups


def link_groups(groups, objdir, build):
    """The multi-file objects statically linked with `bpftool gen object` as
    the selftests do. Named `linked:X` in the results."""
    linkdir = os.path.join(build, "linked")
    os.makedirs(linkdir, exist_ok=True)
    out = []
    for name, deps in groups:
        label = f"linked:{name}"
        obj = os.path.join(linkdir, name + ".o")
        fail = os.path.join(linkdir, name + ".fail")
        missing = [d for d in deps if not os.path.exists(os.path.join(objdir, d + ".o"))]
        if missing:
            out.append((label, None, "part not compiled: " + " ".join(missing)))
            continue
        if not os.path.exists(obj) and not os.path.exists(fail):
            r = sh([BPFTOOL, "gen", "object", obj] + [os.path.join(objdir, d + ".o") for d in deps])
            if r.returncode != 0:
                with open(fail, "w") as f:
                    f.write(r.stderr)
        if os.path.exists(obj):
            out.append((label, obj, None))
        else:
            with open(fail) as f:
                out.append((label, None, "bpftool gen object: " + f.read().strip().splitlines()[-1]))
    return out


# --------------------------------------------------------------------------
# the kernel: bpf(2) through ctypes, for ids and pinned programs

SYS_BPF = 321  # x86_64
BPF_OBJ_GET = 7
BPF_PROG_GET_NEXT_ID = 11
BPF_MAP_GET_NEXT_ID = 12
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_LINK_GET_NEXT_ID = 31
BPF_PROG_GET_FD_BY_ID = 13
BPF_MAP_GET_FD_BY_ID = 14
BPF_LINK_GET_FD_BY_ID = 30

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    r = _libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_int(cmd), ctypes.byref(attr),
                      ctypes.c_uint(ctypes.sizeof(attr)))
    return r, ctypes.get_errno()


def all_ids(cmd):
    ids, start = [], 0
    while True:
        attr = (ctypes.c_uint32 * 4)(start, 0, 0, 0)
        r, _ = bpf(cmd, attr)
        if r != 0:
            return ids
        start = attr[1]
        ids.append(start)


def snapshot():
    return {kind: set(all_ids(cmd)) for kind, cmd in
            (("prog", BPF_PROG_GET_NEXT_ID), ("map", BPF_MAP_GET_NEXT_ID),
             ("link", BPF_LINK_GET_NEXT_ID))}


def fd_info(fd, prepare=None):
    """The raw bpf_prog_info / bpf_map_info / bpf_link_info of an fd (type
    and id come first in all three). `prepare` may fill in pointers."""
    info = (ctypes.c_uint8 * 256)()
    keep = prepare(info) if prepare else None
    attr = (ctypes.c_uint64 * 3)()
    attr[0] = fd | (256 << 32)  # bpf_fd (u32), info_len (u32)
    attr[1] = ctypes.addressof(info)
    r, err = bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    del keep
    if r != 0:
        raise OSError(err, os.strerror(err))
    return bytes(info)


def u32(raw, off):
    return int.from_bytes(raw[off:off + 4], "little")


def cstr(raw, off, n=16):
    return raw[off:off + n].split(b"\0", 1)[0].decode(errors="replace")


# struct bpf_prog_info (uapi linux/bpf.h): type 0, id 4, nr_map_ids 52,
# map_ids 56, name 64, attach_btf_obj_id 220, attach_btf_id 224.
# bpf_map_info: type 0, id 4, name 24. bpf_link_info: type 0, id 4, prog_id 8.
MAX_MAP_IDS = 64


def prog_info(fd):
    ids = (ctypes.c_uint32 * MAX_MAP_IDS)()

    def prepare(info):
        info[52:56] = list(MAX_MAP_IDS.to_bytes(4, "little"))
        info[56:64] = list(ctypes.addressof(ids).to_bytes(8, "little"))
        return ids
    raw = fd_info(fd, prepare)
    n = min(u32(raw, 52), MAX_MAP_IDS)
    return {"type": u32(raw, 0), "id": u32(raw, 4), "name": cstr(raw, 64),
            "attach_btf_id": u32(raw, 224), "map_ids": list(ids[:n])}


def pinned_prog(path):
    attr = (ctypes.c_uint64 * 3)()
    p = ctypes.create_string_buffer(path.encode())
    attr[0] = ctypes.addressof(p)
    r, err = bpf(BPF_OBJ_GET, attr)
    if r < 0:
        raise OSError(err, f"{path}: {os.strerror(err)}")
    try:
        return prog_info(r)
    finally:
        os.close(r)


def name_by_id(kind, ident):
    """The name of a live program, map or link (a link by its program's).
    Opens an fd by id: see wait_gone for why only late."""
    cmd = {"prog": BPF_PROG_GET_FD_BY_ID, "map": BPF_MAP_GET_FD_BY_ID,
           "link": BPF_LINK_GET_FD_BY_ID}[kind]
    attr = (ctypes.c_uint32 * 4)(ident, 0, 0, 0)
    r, _ = bpf(cmd, attr)
    if r < 0:
        return None
    try:
        raw = fd_info(r)
    finally:
        os.close(r)
    if kind == "prog":
        return cstr(raw, 64)
    if kind == "map":
        return cstr(raw, 24)
    return name_by_id("prog", u32(raw, 8)) or ""


PROG_TYPES = ["unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint",
              "xdp", "perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out",
              "lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg", "raw_tracepoint",
              "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport",
              "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt",
              "tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall", "netfilter"]


def prog_type_name(t):
    return PROG_TYPES[t] if t < len(PROG_TYPES) else f"type_{t}"


# --------------------------------------------------------------------------
# libbpf's view of an object, without loading it


def libbpf_view(path):
    """Section, type, expected attach type and autoload of every program, as
    libbpf 1.1 (libbpf.so.1, what bpftool is built on) sees them at open."""
    lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
    vp = ctypes.c_void_p
    lib.bpf_object__open_file.restype = vp
    lib.bpf_object__open_file.argtypes = [ctypes.c_char_p, vp]
    lib.bpf_object__next_program.restype = vp
    lib.bpf_object__next_program.argtypes = [vp, vp]
    lib.bpf_object__next_map.restype = vp
    lib.bpf_object__next_map.argtypes = [vp, vp]
    for fn in ("bpf_program__name", "bpf_program__section_name", "bpf_map__name"):
        getattr(lib, fn).restype = ctypes.c_char_p
        getattr(lib, fn).argtypes = [vp]
    for fn in ("bpf_program__type", "bpf_program__expected_attach_type", "bpf_program__autoload",
               "bpf_map__type", "bpf_map__max_entries", "bpf_program__flags"):
        getattr(lib, fn).restype = ctypes.c_uint
        getattr(lib, fn).argtypes = [vp]
    lib.bpf_object__close.argtypes = [vp]
    obj = lib.bpf_object__open_file(path.encode(), None)
    if not obj:
        err = ctypes.get_errno()
        return {"open_error": f"{os.strerror(err)} (errno {err})"}
    progs, maps = [], []
    p = lib.bpf_object__next_program(obj, None)
    while p:
        progs.append({
            "name": lib.bpf_program__name(p).decode(),
            "section": lib.bpf_program__section_name(p).decode(),
            "type": prog_type_name(lib.bpf_program__type(p)),
            "expected_attach_type": lib.bpf_program__expected_attach_type(p),
            "autoload": bool(lib.bpf_program__autoload(p)),
        })
        p = lib.bpf_object__next_program(obj, p)
    m = lib.bpf_object__next_map(obj, None)
    while m:
        maps.append({"name": lib.bpf_map__name(m).decode(), "type": lib.bpf_map__type(m),
                     "max_entries": lib.bpf_map__max_entries(m)})
        m = lib.bpf_object__next_map(obj, m)
    lib.bpf_object__close(obj)
    return {"programs": progs, "maps": maps}


def cached_libbpf_view(obj):
    """The view is a pure function of the object: cached next to it."""
    path = obj + ".libbpf.json"
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(obj):
        with open(path) as f:
            return json.load(f)
    r = sh(["/usr/bin/python3", os.path.abspath(__file__), "libbpf-view", obj], timeout=60)
    try:
        view = json.loads(r.stdout)
    except ValueError:
        view = {"open_error": f"libbpf open crashed (status {r.returncode})"}
    view["open_log"] = r.stderr.strip()[-2000:]
    with open(path, "w") as f:
        json.dump(view, f)
    return view


# --------------------------------------------------------------------------
# run: both loaders, one object at a time, in a private bpffs

BPFFS = "/sys/fs/bpf"
# What a fresh bpffs holds before anyone pins (the kernel's bpf_preload
# iterators `maps.debug` and `progs.debug`), filled in at mount.
BPFFS_OWN = set()


def bpffs_files():
    out = []
    for d, dirs, files in os.walk(BPFFS):
        out += [os.path.join(d, x) for x in files]
        out += [os.path.join(d, x) + "/" for x in dirs]
    return sorted(p for p in out if p not in BPFFS_OWN)


def clear_bpffs():
    """Only ever called on the private bpffs this run mounted."""
    for entry in os.listdir(BPFFS):
        p = os.path.join(BPFFS, entry)
        if p in BPFFS_OWN:
            continue
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.unlink(p)


def wait_gone(before, known, names):
    """What the loader left in the kernel, once it has exited. `known` are
    (kind, id) pairs the loader reported or pinned: ours for sure. Another
    program or link created since `before` may be another helper's (they
    load at the same time on this machine): it counts only if its name is
    one of this object's.

    The kernel frees programs and maps after an RCU grace period and a work
    item, seconds later on a loaded machine: a known id counts as left
    behind only if still alive after 30 s. Ids are watched by enumeration
    (GET_NEXT_ID, no reference taken). Unknown programs and links are opened
    by id (for their names) only after 3 s, and maps never: opening a prog
    array by id while the kernel's deferred clear of it is pending leaks it
    for good (prog_array_map_clear() takes a reference and schedule_work()s;
    a second clear while the work is queued takes a second reference that
    nothing puts; kernel/bpf/arraymap.c). A map cannot outlive the loader
    without a program, a link or a pin holding it, and those are checked."""
    t0 = time.time()
    names_of = {}
    while True:
        elapsed = time.time() - t0
        now = snapshot()
        alive_known = [x for x in sorted(known) if x[1] in now[x[0]]]
        unknown = {(k, i) for k in ("prog", "link") for i in now[k] - before[k]} - set(known)
        if elapsed >= 3.0:
            for x in sorted(unknown - names_of.keys()):
                names_of[x] = name_by_id(*x) or ""
            unknown = {x for x in unknown if names_of[x] and names_of[x][:15] in names}
        if not alive_known and not unknown:
            return []
        if elapsed > 30.0:
            break
        time.sleep(0.1)
    found = [f"{k} {i}" + (f" {name_by_id(k, i) or ''}" if k != "map" else "")
             for k, i in alive_known]
    found += [f"{k} {i} {names_of[(k, i)]}" for k, i in sorted(unknown)]
    return [f.strip() for f in found]


def run_bpftool(obj, pindir):
    os.makedirs(os.path.dirname(pindir), exist_ok=True)
    t0 = time.time()
    try:
        r = sh([BPFTOOL, "prog", "loadall", obj, pindir], timeout=LOAD_TIMEOUT)
        rc, err = r.returncode, r.stderr
    except subprocess.TimeoutExpired as e:
        rc, err = "timeout", (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    secs = time.time() - t0
    progs, known = {}, set()
    if os.path.isdir(pindir):
        for name in sorted(os.listdir(pindir)):
            try:
                info = pinned_prog(os.path.join(pindir, name))
                progs[name] = prog_type_name(info["type"])
                known.add(("prog", info["id"]))
                known.update(("map", m) for m in info["map_ids"])
            except OSError as e:
                progs[name] = f"?{e}"
    return rc, err, progs, secs, known


def run_rxdp(rxdp_load, obj):
    t0 = time.time()
    try:
        r = sh([rxdp_load, "--no-pin", "--json", obj], timeout=LOAD_TIMEOUT)
        rc, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", "timeout"
    secs = time.time() - t0
    progs, known = {}, set()
    if rc == 0:
        try:
            doc = json.loads(out)
            for p in doc.get("programs", []):
                progs[p["name"]] = p["type"]
                known.add(("prog", p["id"]))
            known.update(("map", m["id"]) for m in doc.get("maps", []))
        except (ValueError, KeyError):
            rc, err = "bad-json", out[:500]
    elif not err.strip():
        # With --json, rxdp-load prints its error as {"error": "..."} on
        # stdout; the classification reads it as the stderr text it is.
        try:
            err = "rxdp-load: " + json.loads(out)["error"]
        except (ValueError, KeyError, TypeError):
            err = out[:500]
    return rc, err, progs, secs, known


def rxdp_inspect(rxdp, obj):
    r = sh([rxdp, "inspect", "--json", obj], timeout=60)
    if r.returncode != 0:
        return {"error": r.stderr.strip()}
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": "inspect printed no JSON"}


def run_objects(args):
    with open(args.objects) as f:
        objects = json.load(f)
    # A fresh bpffs of our own: we are in a private mount namespace
    # (unshare --mount --propagation private), so this mount, and every pin
    # either loader makes in it, is invisible to the host and goes with us.
    r = sh(["mount", "-t", "bpf", "bpf", BPFFS])
    if r.returncode != 0:
        sys.exit(f"cannot mount a private bpffs: {r.stderr}")
    BPFFS_OWN.update(os.path.join(BPFFS, e) for e in os.listdir(BPFFS))
    if any(os.path.isdir(p) for p in BPFFS_OWN) or \
            any(not p.endswith(".debug") for p in BPFFS_OWN):
        sys.exit(f"the private bpffs is not fresh ({sorted(BPFFS_OWN)}): refusing to run")
    rxdp_load = args.rxdp_load
    rxdp = os.path.join(os.path.dirname(rxdp_load), "rxdp")
    results = []
    t_start = time.time()
    for i, (label, obj, compile_error) in enumerate(objects, 1):
        row = {"object": label}
        if obj is None:
            row.update(verdict="compile-failed", detail=compile_error)
            results.append(row)
            continue
        view = cached_libbpf_view(obj)
        inspect = rxdp_inspect(rxdp, obj)
        names = set()
        for p in view.get("programs", []) + inspect.get("programs", []):
            names.add(p["name"][:15])
        for m in view.get("maps", []) + inspect.get("maps", []):
            names.add(m["name"][:15])
        before = snapshot()
        pindir = os.path.join(BPFFS, "libbpf", f"{i}")
        brc, berr, bprogs, bsecs, bknown = run_bpftool(obj, pindir)
        shutil.rmtree(os.path.join(BPFFS, "libbpf"), ignore_errors=True)
        stray_libbpf = bpffs_files()
        clear_bpffs()
        left_libbpf = wait_gone(before, bknown, names)
        before = snapshot()
        rrc, rerr, rprogs, rsecs, rknown = run_rxdp(rxdp_load, obj)
        stray_rxdp = bpffs_files()
        clear_bpffs()
        left_rxdp = wait_gone(before, rknown, names)
        row.update(
            libbpf_rc=brc, libbpf_err=berr, libbpf_progs=bprogs, libbpf_secs=round(bsecs, 3),
            rxdp_rc=rrc, rxdp_err=rerr, rxdp_progs=rprogs, rxdp_secs=round(rsecs, 3),
            view=view, inspect=inspect,
            libbpf_pins=stray_libbpf, rxdp_pins=stray_rxdp,
            libbpf_left=left_libbpf, rxdp_left=left_rxdp,
        )
        results.append(row)
        if i % 50 == 0:
            log(f"  {i}/{len(objects)} objects ({time.time() - t_start:.0f} s)")
    with open(args.raw, "w") as f:
        for row in results:
            f.write(json.dumps(row) + "\n")


def sections(rxdp):
    """rxdp's section table against libbpf 1.1's, name by name: one trivial
    program per name of sections.txt, compiled and read by both."""
    with open(os.path.join(HERE, "sections.txt")) as f:
        names = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = os.path.join(tmp, "sections.c"), os.path.join(tmp, "sections.o")
        with open(src, "w") as f:
            f.write('#define SEC(n) __attribute__((section(n), used))\n'
                    'char LICENSE[] SEC("license") = "GPL";\n')
            for i, n in enumerate(names):
                f.write(f'SEC("{n}") int f{i}(void *ctx) {{ return 0; }}\n')
        r = sh([CLANG, "-g", "-O2", "-target", "bpf", "-c", src, "-o", obj])
        if r.returncode != 0:
            sys.exit(r.stderr)
        mine = rxdp_inspect(rxdp, obj)
        if "error" in mine:
            sys.exit(mine["error"])
        theirs = {p["name"]: p for p in libbpf_view(obj).get("programs", [])}
    print(f"{'section':34} {'rxdp type':18} {'rxdp attach':34} {'flags':6} "
          f"{'libbpf 1.1 type':24} libbpf 1.1 attach")
    for p in mine["programs"]:
        v = theirs.get(p["name"], {})
        print(f"{p['section']:34} {p['type']:18} {cl.attach_name(p['expected_attach_type']):34} "
              f"{p['flags']:<6} {v.get('type', '-'):24} {cl.attach_name(v.get('expected_attach_type', 0))}")


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("all")
    a.add_argument("--tree", action="append", required=True)
    a.add_argument("--rxdp-load", required=True)
    a.add_argument("--results", default=os.path.join(HERE, "results"))
    a.add_argument("--only", help="a regex: run only the objects whose name matches")
    p = sub.add_parser("prepare")
    p.add_argument("--tree", required=True)
    su = sub.add_parser("subset", help="compile subset.tsv's objects into OUT/<tree>/<name>.o "
                        "(the kernel tests' corpus objects)")
    su.add_argument("--out", required=True)
    r = sub.add_parser("run-inner")
    r.add_argument("--objects", required=True)
    r.add_argument("--raw", required=True)
    r.add_argument("--rxdp-load", required=True)
    v = sub.add_parser("libbpf-view")
    v.add_argument("obj")
    t = sub.add_parser("table")
    t.add_argument("tsv")
    d = sub.add_parser("diff")
    d.add_argument("old")
    d.add_argument("new")
    se = sub.add_parser("sections", help="rxdp's section table against libbpf 1.1's")
    se.add_argument("--rxdp", default="target/release/rxdp")
    rp = sub.add_parser("report", help="per cause: objects and rxdp's errors (for CAUSES.md)")
    rp.add_argument("tsv")
    c = sub.add_parser("reclassify", help="classify a raw .jsonl again (after editing causes.tsv)")
    c.add_argument("raw")
    c.add_argument("tsv")
    args = ap.parse_args()

    if args.cmd == "libbpf-view":
        print(json.dumps(libbpf_view(args.obj)))
    elif args.cmd == "prepare":
        key, build, objects = prepare(args.tree)
        print(build)
    elif args.cmd == "subset":
        subset(args.out)
    elif args.cmd == "run-inner":
        run_objects(args)
    elif args.cmd == "table":
        print(cl.table(cl.read_tsv(args.tsv), cl.load_causes(), args.tsv))
    elif args.cmd == "diff":
        print("\n".join(cl.diff(cl.read_tsv(args.old), cl.read_tsv(args.new))) or "no change")
    elif args.cmd == "sections":
        sections(args.rxdp)
    elif args.cmd == "report":
        print(cl.report(cl.read_tsv(args.tsv), cl.load_causes()))
    elif args.cmd == "reclassify":
        causes = cl.load_causes()
        with open(args.raw) as f:
            rows = [cl.classify(json.loads(l), causes) for l in f]
        cl.write_tsv(rows, args.tsv)
        print(cl.table(cl.read_tsv(args.tsv), causes, args.tsv))
    elif args.cmd == "all":
        run_all(args)


def subset(out):
    """Compiles the objects of subset.tsv (only those) and copies each to
    OUT/<tree>/<name>.o (`linked:X` as `linked_X.o`), where the kernel tests
    find them. Fails if one does not compile: a test object is not optional."""
    by_tree = {}
    with open(os.path.join(HERE, "subset.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            tree, name = line.split("\t")[:2]
            by_tree.setdefault(tree, []).append(name)
    for tree, names in sorted(by_tree.items()):
        key, build, objects = prepare(tree, names)
        dest = os.path.join(out, tree)
        os.makedirs(dest, exist_ok=True)
        for name, obj, err in objects:
            if obj is None:
                sys.exit(f"[{key}] {name} does not compile: {err}")
            target = os.path.join(dest, name.replace(":", "_") + ".o")
            shutil.copyfile(obj, target + ".tmp")
            os.rename(target + ".tmp", target)
        log(f"[{key}] {len(objects)} objects in {dest}")


def run_all(args):
    causes = cl.load_causes()
    rxdp_load = os.path.abspath(args.rxdp_load)
    status = 0
    for tree in args.tree:
        t0 = time.time()
        key, build, objects = prepare(tree)
        t_prep = time.time() - t0
        if args.only:
            objects = [o for o in objects if re.search(args.only, o[0])]
        lst = os.path.join(build, "objects.json")
        with open(lst, "w") as f:
            json.dump(objects, f)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        raw = os.path.join(build, f"{'only-' if args.only else ''}raw-{stamp}.jsonl")
        log(f"[{key}] loading {len(objects)} objects with bpftool and rxdp-load "
            f"(private bpffs, {LOAD_TIMEOUT} s timeout each)")
        t1 = time.time()
        r = subprocess.run(["unshare", "--mount", "--propagation", "private",
                            "/usr/bin/python3", os.path.abspath(__file__), "run-inner",
                            "--objects", lst, "--raw", raw, "--rxdp-load", rxdp_load])
        if r.returncode != 0:
            sys.exit(f"the run failed (status {r.returncode})")
        t_run = time.time() - t1
        with open(raw) as f:
            rows = [cl.classify(json.loads(l), causes) for l in f]
        os.makedirs(args.results, exist_ok=True)
        previous = sorted(n for n in os.listdir(args.results)
                          if n.startswith(key + "-") and n.endswith(".tsv"))
        out = os.path.join(args.results, f"{key}-{stamp}.tsv")
        if args.only:
            out = os.path.join(build, f"only-{stamp}.tsv")
        cl.write_tsv(rows, out)
        print(cl.table(cl.read_tsv(out), causes, f"## {key} (host {os.uname().release}): {out}"))
        print(f"\nprepare {t_prep:.0f} s, loads {t_run:.0f} s; raw output {raw}")
        by_name = {r["object"]: r for r in rows}
        subset = [line.rstrip("\n").split("\t") for line in open(os.path.join(HERE, "subset.tsv"))
                  if line.strip() and not line.startswith("#")]
        subset = [s for s in subset if s[0] == tree and s[1] in by_name]
        if subset:
            print(f"\nthe kernel-test subset (subset.tsv) in this tree:")
            for _, obj, feature, where in subset:
                r = by_name[obj]
                print(f"  {obj:32} {r['verdict']:13} {r.get('cause', '') or '-':34} [{where}] {feature}")
        done = [r for r in rows if r["verdict"] != "compile-failed"]
        for r in done:
            for side in ("libbpf", "rxdp"):
                for what in r[side + "_left"]:
                    print(f"LEFT IN THE KERNEL by {side} after {r['object']}: {what}")
                    status = 1
            for pin in r["libbpf_pins"]:
                # LIBBPF_PIN_BY_NAME maps: libbpf pins them whatever it is
                # asked; on the private bpffs, and removed with it.
                print(f"note: libbpf pinned {pin} for {r['object']} (the map asks for it)")
            for pin in r["rxdp_pins"]:
                print(f"PINNED by rxdp-load --no-pin for {r['object']}: {pin}")
        earlier = [p for p in previous if os.path.join(args.results, p) != out]
        if earlier and not args.only:
            ch = cl.diff(cl.read_tsv(os.path.join(args.results, earlier[-1])), cl.read_tsv(out))
            print(f"\nchanges since {earlier[-1]}: " + ("none" if not ch else ""))
            print("\n".join(ch))
    sys.exit(status)


if __name__ == "__main__":
    main()
