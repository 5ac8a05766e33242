//! `rxdp map list|dump|lookup|update|delete` against maps the kernel
//! really holds, read back three ways: rxdp's output (text and JSON),
//! the kernel's bytes (raw lookups in this process) and bpftool's
//! `map dump -j`.
//!
//! - map_values.o (BTF: a struct value with an enum, bitfields, a signed
//!   field, a string and an array; a per-CPU array of structs; a hash
//!   with a struct key; a hash with an enum key), loaded in this process
//!   with its maps pinned, run with `BPF_PROG_TEST_RUN` on frames whose
//!   EtherTypes the test chooses, on CPUs it chooses: every count is
//!   known;
//! - tail_kern.o (legacy maps, no BTF) attached to a veth pair, with UDP
//!   sent through it: raw counters and the jump table's program;
//! - btf_maps.o: a prog array and a map-in-map, by id and by pin;
//! - maps made here with one name: `name NAME`, ambiguous or not;
//! - global_data.o: `list`, a frozen map, and the errors.

#[path = "load_common.rs"]
mod common;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use common::{
    device_pins, eventually, obj, pinned, printed_map_id, printed_prog_id, read_u64, rxdp,
    rxdp_load, with_article_jump, RemovePins,
};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use rxdp::{NoObserver, PinPolicy};
use rxdp_cli::packet::{self, PacketKind};
use rxdp_kernel_tests::{ip, require_kernel, run, unique_name, Ip, VethPair};
use rxdp_syscalls::bpf::{map_create, possible_cpus, sanitize_name, MapCreate, MapHandle};
use rxdp_syscalls::fs::bpffs;

// ------------------------------------------------------------ JSON, read

/// A JSON value, as far as these tests read one: numbers kept as their
/// text (they may pass 64 bits).
#[derive(Debug, Clone, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn parse(text: &str) -> J {
        let mut chars = text.trim().chars().peekable();
        let value = J::value(&mut chars);
        assert!(chars.next().is_none(), "trailing text after JSON: {text}");
        value
    }

    fn value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> J {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        };
        match chars.next() {
            Some('{') => {
                let mut fields = Vec::new();
                loop {
                    skip_ws(chars);
                    match chars.next() {
                        Some('}') => break,
                        Some(',') => continue,
                        Some('"') => {
                            let key = J::string(chars);
                            skip_ws(chars);
                            assert_eq!(chars.next(), Some(':'));
                            fields.push((key, J::value(chars)));
                        }
                        other => panic!("bad JSON object at {other:?}"),
                    }
                }
                J::Obj(fields)
            }
            Some('[') => {
                let mut items = Vec::new();
                loop {
                    skip_ws(chars);
                    match chars.peek() {
                        Some(']') => {
                            chars.next();
                            break;
                        }
                        Some(',') => {
                            chars.next();
                        }
                        _ => items.push(J::value(chars)),
                    }
                }
                J::Arr(items)
            }
            Some('"') => J::Str(J::string(chars)),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let mut number = c.to_string();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+' {
                        number.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                J::Num(number)
            }
            Some(c) => {
                let mut word = c.to_string();
                while chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    word.extend(chars.next());
                }
                match word.as_str() {
                    "null" => J::Null,
                    "true" => J::Bool(true),
                    "false" => J::Bool(false),
                    other => panic!("bad JSON word {other}"),
                }
            }
            None => panic!("JSON ended early"),
        }
    }

    fn string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
        let mut out = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => return out,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        let code = u32::from_str_radix(&hex, 16).expect("\\u escape");
                        out.extend(char::from_u32(code));
                    }
                    Some(c) => out.push(c),
                    None => break,
                },
                c => out.push(c),
            }
        }
        panic!("unterminated JSON string")
    }

    fn get(&self, key: &str) -> &J {
        match self {
            J::Obj(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no {key} in {self:?}")),
            _ => panic!("{self:?} is not an object (looking for {key})"),
        }
    }

    fn at(&self, index: usize) -> &J {
        match self {
            J::Arr(items) => &items[index],
            _ => panic!("{self:?} is not an array"),
        }
    }

    fn items(&self) -> &[J] {
        match self {
            J::Arr(items) => items,
            _ => panic!("{self:?} is not an array"),
        }
    }

    fn num(&self) -> i128 {
        match self {
            J::Num(n) => n
                .parse()
                .unwrap_or_else(|_| panic!("{n} is not an integer")),
            // bpftool writes bitfields and bytes as hex strings.
            J::Str(s) if s.starts_with("0x") => i128::from_str_radix(&s[2..], 16).unwrap(),
            _ => panic!("{self:?} is not a number"),
        }
    }

    fn str(&self) -> &str {
        match self {
            J::Str(s) => s,
            _ => panic!("{self:?} is not a string"),
        }
    }

    /// bpftool's `["0x01","0x00",...]` as bytes.
    fn bytes(&self) -> Vec<u8> {
        self.items().iter().map(|b| b.num() as u8).collect()
    }

    /// Whether rxdp's value (self) says what bpftool's `formatted` says:
    /// the same, but bpftool writes bitfields as hex strings.
    fn agrees_with(&self, bpftool: &J) -> bool {
        match (self, bpftool) {
            (J::Num(_), J::Str(s)) if s.starts_with("0x") => self.num() == bpftool.num(),
            (J::Arr(a), J::Arr(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.agrees_with(b))
            }
            (J::Obj(a), J::Obj(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.agrees_with(vb))
            }
            (a, b) => a == b,
        }
    }
}

/// `rxdp ARGS...` (which must succeed) as JSON.
fn rxdp_json(args: &[&str]) -> J {
    let mut all = args.to_vec();
    all.push("--json");
    J::parse(&rxdp(&all).ok().stdout)
}

/// `bpftool -j map dump pinned PATH`.
fn bpftool_dump(path: &Path) -> J {
    J::parse(&run(
        "bpftool",
        &["-j", "map", "dump", "pinned", &path.display().to_string()],
    ))
}

/// The stderr of `rxdp ARGS...`, which must fail with exit code 1.
fn rxdp_error(args: &[&str]) -> String {
    rxdp(args).failed().stderr
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// A fresh pin directory for one test, removed when dropped.
fn pin_dir() -> (PathBuf, RemovePins) {
    let dir = Path::new(bpffs::DEFAULT_MOUNT).join(unique_name("rxdp-map-"));
    (dir.clone(), RemovePins(dir))
}

// -------------------------------------------------- map_values.o, BTF

/// The frames the test runs: IPv4 and IPv6 from `rxdp run`'s builder,
/// and the IPv4 one turned into an ARP EtherType ("other").
fn frames() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let v4 = packet::build(PacketKind::Udp);
    let v6 = packet::build(PacketKind::Udp6);
    let mut other = v4.clone();
    other[12..14].copy_from_slice(&[0x08, 0x06]);
    (v4, v6, other)
}

/// Runs `prog` once on each frame, on `cpu`.
fn run_on_cpu(prog: std::os::fd::BorrowedFd<'_>, cpu: usize, frames: &[&[u8]]) {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut set = CpuSet::new();
                set.set(cpu).unwrap_or_else(|e| panic!("cpu {cpu}: {e}"));
                sched_setaffinity(Pid::from_raw(0), &set)
                    .unwrap_or_else(|e| panic!("pin the thread to cpu {cpu}: {e}"));
                for frame in frames {
                    let outcome = rxdp::test_run::run(prog, frame, 1)
                        .unwrap_or_else(|e| panic!("test run: {e}"));
                    assert_eq!(outcome.retval, 2, "XDP_PASS");
                }
            })
            .join()
            .unwrap_or_else(|_| panic!("the test run thread panicked"));
    });
}

/// The CPUs this process may run on, in order.
fn usable_cpus() -> Vec<usize> {
    let set = nix::sched::sched_getaffinity(Pid::from_raw(0)).unwrap();
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// `struct stats` of map_values.c decoded from the kernel's bytes by hand
/// (offsets from its BTF: packets 0, bytes 8, last 16, the bitfields in
/// the word at 20, credit 24, tag 28, lens 36): rxdp's view must match.
fn stats_from_bytes(b: &[u8]) -> String {
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    let kind = ["SEEN_NONE", "SEEN_IPV4", "SEEN_IPV6", "SEEN_OTHER"][u32_at(16) as usize];
    let bits = u32_at(20);
    let tag: String = b[28..36]
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| char::from(c))
        .collect();
    format!(
        "{{packets: {}, bytes: {}, last: {kind}, parity: {}, frames: {}, len: {}, credit: {}, \
         tag: {tag:?}, lens: [{}, {}, {}, {}]}}",
        u64_at(0),
        u64_at(8),
        bits & 1,
        (bits >> 1) & 0x7f,
        (bits >> 8) & 0xfff,
        u32_at(24) as i32,
        u16_at(36),
        u16_at(38),
        u16_at(40),
        u16_at(42)
    )
}

#[test]
fn btf_values_after_test_runs_match_the_kernel_and_bpftool() {
    if !require_kernel() {
        return;
    }
    let (dir, _pins) = pin_dir();
    let mut options = rxdp::LoadOptions::new(obj("map_values"));
    options.pins = PinPolicy::Dir(dir.clone());
    let loaded = rxdp::load(&options, &mut NoObserver).unwrap_or_else(|e| panic!("{e}"));
    let prog = loaded.programs[0].fd.as_fd();
    let (v4, v6, other) = frames();
    let (l4, l6) = (v4.len(), v6.len());
    let cpus = usable_cpus();
    let (first, second) = (cpus[0], *cpus.get(1).unwrap_or(&cpus[0]));
    run_on_cpu(prog, first, &[&v4, &v4, &v6]);
    run_on_cpu(prog, second, &[&v4, &v6, &other]);

    // stats: one struct per kind, every member known from the program.
    let stats = dir.join("stats");
    let stats_arg = path_arg(&stats);
    let dump = rxdp(&["map", "dump", &stats_arg]).ok().stdout;
    let v4_line = format!(
        "key 1: {{packets: 3, bytes: {}, last: SEEN_IPV4, parity: 1, frames: 3, len: {l4}, \
         credit: -3, tag: \"ipv4\", lens: [0, {l4}, {l4}, {l4}]}}\n",
        3 * l4
    );
    let v6_line = format!(
        "key 2: {{packets: 2, bytes: {}, last: SEEN_IPV6, parity: 0, frames: 2, len: {l6}, \
         credit: -2, tag: \"ipv6\", lens: [0, {l6}, {l6}, 0]}}\n",
        2 * l6
    );
    let other_line = format!(
        "key 3: {{packets: 1, bytes: {l4}, last: SEEN_OTHER, parity: 1, frames: 1, len: {l4}, \
         credit: -1, tag: \"other\", lens: [0, {l4}, 0, 0]}}\n"
    );
    assert!(dump.starts_with(&format!("map {stats_arg} (id ")), "{dump}");
    assert!(dump.contains(": array, key 4, value 48, max_entries 4, flags 0x0, BTF id "));
    for line in [&v4_line, &v6_line, &other_line] {
        assert!(dump.contains(line.as_str()), "{line} in:\n{dump}");
    }
    assert!(dump.ends_with("4 entries\n"), "{dump}");
    // The kernel's bytes, decoded by hand, say the same.
    let fd = pinned(&stats);
    let handle = MapHandle::new(fd.as_fd()).unwrap();
    for key in 0u32..4 {
        let mut value = vec![0u8; 48];
        assert!(handle.lookup(&key.to_ne_bytes(), &mut value).unwrap());
        let line = format!("key {key}: {}\n", stats_from_bytes(&value));
        assert!(dump.contains(&line), "{line} in:\n{dump}");
    }
    // lookup prints the dump's line; by key 1, `key 1 0 0 0`, hex.
    for key in [
        &["1"][..],
        &["key", "1", "0", "0", "0"],
        &["hex", "01000000"],
    ] {
        let mut args = vec!["map", "lookup", &stats_arg];
        args.extend_from_slice(key);
        assert_eq!(rxdp(&args).ok().stdout, v4_line);
    }
    // JSON: what bpftool formats, value for value.
    let ours = rxdp_json(&["map", "dump", &stats_arg]);
    let theirs = bpftool_dump(&stats);
    assert_eq!(ours.get("entries").items().len(), 4);
    for (entry, bpftool) in ours.get("entries").items().iter().zip(theirs.items()) {
        let formatted = bpftool.get("formatted");
        assert_eq!(entry.get("key"), formatted.get("key"));
        assert!(
            entry.get("value").agrees_with(formatted.get("value")),
            "{entry:?} vs {formatted:?}"
        );
    }
    assert_eq!(ours.get("map").get("name").str(), "stats");
    assert_eq!(ours.get("map").get("pins").at(0).str(), stats_arg);

    // cpu_stats: per CPU, and summed member by member.
    let cpu_stats = dir.join("cpu_stats");
    let cpu_arg = path_arg(&cpu_stats);
    let ours = rxdp_json(&["map", "dump", &cpu_arg]);
    let entry = ours.get("entries").at(0);
    let values = entry.get("values").items();
    assert_eq!(values.len(), possible_cpus().unwrap());
    let mut packets = vec![0i128; values.len()];
    packets[first] += 3;
    packets[second] += 3;
    for (cpu, value) in values.iter().enumerate() {
        assert_eq!(
            value.get("packets").num(),
            packets[cpu],
            "cpu {cpu}: {ours:?}"
        );
    }
    let sum = entry.get("sum");
    assert_eq!(sum.get("packets").num(), 6);
    assert_eq!(sum.get("bytes").num(), (4 * l4 + 2 * l6) as i128);
    if first != second {
        assert_eq!(values[first].get("last").str(), "SEEN_IPV6");
        assert_eq!(values[second].get("last").str(), "SEEN_OTHER");
        // Enumerators are not added: they differ, so the sum has none.
        assert_eq!(sum.get("last"), &J::Null);
    }
    let theirs = bpftool_dump(&cpu_stats);
    for (cpu, bpftool) in theirs
        .at(0)
        .get("formatted")
        .get("values")
        .items()
        .iter()
        .enumerate()
    {
        assert_eq!(bpftool.get("cpu").num(), cpu as i128);
        assert!(values[cpu].agrees_with(bpftool.get("value")), "cpu {cpu}");
    }
    let text = rxdp(&["map", "dump", &cpu_arg]).ok().stdout;
    assert!(
        text.contains(&format!(
            "key 0: sum {{packets: 6, bytes: {}, last: {}}}\n  cpu 0: {{packets: {}",
            4 * l4 + 2 * l6,
            if first == second { "SEEN_OTHER" } else { "?" },
            packets[0]
        )),
        "{text}"
    );
    // An update writes the value on every CPU.
    rxdp(&["map", "update", &cpu_arg, "0", "packets=5,last=SEEN_NONE"]).ok();
    let sum = rxdp_json(&["map", "lookup", &cpu_arg, "0"]);
    assert_eq!(
        sum.get("sum").get("packets").num(),
        5 * values.len() as i128
    );
    assert_eq!(sum.get("sum").get("last").str(), "SEEN_NONE");

    // flows: a struct key; the ifindex the test run gave is the kernel's.
    let flows = dir.join("flows");
    let flows_arg = path_arg(&flows);
    let ours = rxdp_json(&["map", "dump", &flows_arg]);
    let entries = ours.get("entries").items();
    assert_eq!(entries.len(), 3, "{ours:?}");
    let protos: Vec<(i128, i128)> = entries
        .iter()
        .map(|e| (e.get("key").get("proto").num(), e.get("value").num()))
        .collect();
    // In key order (little-endian): 0x0800, 0x0806, 0x86dd.
    assert_eq!(protos, [(0x0800, 3), (0x0806, 1), (0x86dd, 2)]);
    let ifindex = entries[0].get("key").get("ifindex").num();
    let theirs = bpftool_dump(&flows);
    for bpftool in theirs.items() {
        let formatted = bpftool.get("formatted");
        let ours = entries
            .iter()
            .find(|e| e.get("key") == formatted.get("key"))
            .unwrap_or_else(|| panic!("{formatted:?} not in {entries:?}"));
        assert_eq!(ours.get("value"), formatted.get("value"));
    }
    let lookup = rxdp(&[
        "map",
        "lookup",
        &flows_arg,
        &format!("proto=0x86dd,ifindex={ifindex}"),
    ])
    .ok();
    assert_eq!(
        lookup.stdout,
        format!("key {{proto: 34525, pad: 0, ifindex: {ifindex}}}: 2\n")
    );

    // kinds: an enum key, by enumerator.
    let kinds_arg = path_arg(&dir.join("kinds"));
    assert_eq!(
        rxdp(&["map", "dump", &kinds_arg])
            .ok()
            .stdout
            .split_once('\n')
            .unwrap()
            .1,
        "key SEEN_IPV4: 3\nkey SEEN_IPV6: 2\nkey SEEN_OTHER: 1\n3 entries\n"
    );
    assert_eq!(
        rxdp(&["map", "lookup", &kinds_arg, "SEEN_IPV6"])
            .ok()
            .stdout,
        "key SEEN_IPV6: 2\n"
    );
    let deleted = rxdp(&["map", "delete", &kinds_arg, "SEEN_OTHER"])
        .ok()
        .stdout;
    assert!(deleted.ends_with(": deleted key SEEN_OTHER\n"), "{deleted}");
    assert!(rxdp_error(&["map", "lookup", &kinds_arg, "SEEN_OTHER"])
        .ends_with(": key SEEN_OTHER is not in the map\n"));
    assert!(rxdp_error(&["map", "delete", &kinds_arg, "3"])
        .ends_with(": key SEEN_OTHER is not in the map\n"));
    rxdp(&[
        "map",
        "update",
        &kinds_arg,
        "SEEN_NONE",
        "7",
        "--flags",
        "noexist",
    ])
    .ok();
    assert!(rxdp_error(&[
        "map",
        "update",
        &kinds_arg,
        "SEEN_NONE",
        "8",
        "--flags",
        "noexist"
    ])
    .contains("BPF_MAP_UPDATE_ELEM failed: File exists (EEXIST)"));
    assert!(rxdp_error(&[
        "map",
        "update",
        &kinds_arg,
        "SEEN_OTHER",
        "8",
        "--flags",
        "exist"
    ])
    .contains("BPF_MAP_UPDATE_ELEM failed: No such file or directory (ENOENT)"));
    let kinds = pinned(&dir.join("kinds"));
    assert_eq!(read_u64(&kinds, 0), 7);

    // Update by member: the kernel's bytes are what the fields say.
    rxdp(&[
        "map",
        "update",
        &stats_arg,
        "key",
        "0",
        "value",
        "packets=9,last=SEEN_OTHER,frames=127,len=0xfff,credit=-7,tag=hello,lens[3]=65535",
    ])
    .ok();
    let mut value = vec![0u8; 48];
    assert!(handle.lookup(&0u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!(
        stats_from_bytes(&value),
        "{packets: 9, bytes: 0, last: SEEN_OTHER, parity: 0, frames: 127, len: 4095, \
         credit: -7, tag: \"hello\", lens: [0, 0, 0, 65535]}"
    );
    assert_eq!(&value[20..24], &[127 << 1, 0xff, 0x0f, 0]);

    // Errors name the map and the member.
    let error = rxdp_error(&["map", "update", &stats_arg, "0", "frames=128"]);
    assert!(
        error.ends_with(", stats): value.frames: 128 does not fit __u32:7 (0..=127)\n"),
        "{error}"
    );
    assert!(
        error.starts_with(&format!("rxdp: map {stats_arg} (id ")),
        "{error}"
    );
    let error = rxdp_error(&["map", "update", &stats_arg, "0", "packet=1"]);
    assert!(
        error.contains(
            "value has no member `packet` (its members: packets, bytes, last, parity, frames, \
             len, credit, tag, lens)"
        ),
        "{error}"
    );
    let error = rxdp_error(&["map", "lookup", &stats_arg, "hex", "01", "02"]);
    assert!(
        error.ends_with(", stats): key: 2 bytes given, it has 4\n"),
        "{error}"
    );
    let error = rxdp_error(&["map", "update", &stats_arg, "0", "last=SEEN_ALL"]);
    assert!(
        error.contains(
            "value.last: `SEEN_ALL` is not an enumerator of enum seen_kind (it has: SEEN_NONE, \
             SEEN_IPV4, SEEN_IPV6, SEEN_OTHER)"
        ),
        "{error}"
    );
    let error = rxdp_error(&["map", "lookup", &stats_arg, "7"]);
    assert!(
        error.ends_with(", stats): key 7 is not in the map\n"),
        "{error}"
    );
    // A pinned program is not a map.
    let prog_pin = dir.join("prog");
    bpffs::pin(prog, &prog_pin).unwrap_or_else(|e| panic!("{e}"));
    let error = rxdp_error(&["map", "dump", &path_arg(&prog_pin)]);
    assert_eq!(
        error,
        format!("rxdp: {} holds a program, not a map\n", prog_pin.display())
    );
}

// ----------------------------------------- tail_kern.o, legacy, veth

#[test]
fn legacy_counters_and_jump_table_after_veth_traffic() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let load = rxdp_load(&with_article_jump(&[
        &object, "--dev", dev, "--mode", "skb",
    ]))
    .ok();
    let dir = device_pins(dev).join("skb");
    let counters = dir.join("counters");
    let counters_fd = pinned(&counters);
    pair.send_udp(Ip::V4, 7777, 10, 16);
    eventually("xdp1 to count 10 packets", || {
        read_u64(&counters_fd, 1) >= 10
    });
    // Detached, the counters hold still while three readers compare them.
    ip(&["link", "set", "dev", dev, "xdpgeneric", "off"]);

    let counters_arg = path_arg(&counters);
    let ours = rxdp_json(&["map", "dump", &counters_arg]);
    let theirs = bpftool_dump(&counters);
    let entries = ours.get("entries").items();
    assert_eq!(entries.len(), 4);
    for (key, (entry, bpftool)) in entries.iter().zip(theirs.items()).enumerate() {
        let kernel = read_u64(&counters_fd, key as u32);
        // An array's key is its index; the value, without BTF, is bytes.
        assert_eq!(entry.get("key").num(), key as i128);
        assert_eq!(
            entry.get("value").str(),
            packet::to_hex(&kernel.to_le_bytes())
        );
        assert_eq!(entry.get("value_number").num(), i128::from(kernel));
        assert_eq!(bpftool.get("value").bytes(), kernel.to_le_bytes());
    }
    let xdp1_count = read_u64(&counters_fd, 1);
    assert!(xdp1_count >= 10);
    let text = rxdp(&["map", "dump", &counters_arg]).ok().stdout;
    let hex: Vec<String> = xdp1_count
        .to_le_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        text.contains(&format!("\nkey 1: {} ({xdp1_count})\n", hex.join(" "))),
        "{text}"
    );
    assert!(text.contains(", no BTF\n"), "{text}");

    // The jump table: key 78 is prog_fd[1], by id and name.
    let jmp = dir.join("jmp_table1");
    let jmp_arg = path_arg(&jmp);
    let xdp1 = printed_prog_id(&load.stdout, 1);
    let text = rxdp(&["map", "dump", &jmp_arg]).ok().stdout;
    assert!(
        text.ends_with(&format!("\nkey 78: program id {xdp1} xdp_prog1\n1 entry\n")),
        "{text}"
    );
    let ours = rxdp_json(&["map", "lookup", &jmp_arg, "78"]);
    assert_eq!(ours.get("prog_id").num(), i128::from(xdp1));
    assert_eq!(ours.get("prog_name").str(), "xdp_prog1");
    let theirs = bpftool_dump(&jmp);
    assert_eq!(theirs.at(0).get("value").bytes(), xdp1.to_le_bytes());
    // Put xdp1 at key 5 too (by id), take it from 78.
    rxdp(&["map", "update", &jmp_arg, "5", "id", &xdp1.to_string()]).ok();
    rxdp(&["map", "delete", &jmp_arg, "78"]).ok();
    let text = rxdp(&["map", "dump", &jmp_arg]).ok().stdout;
    assert!(
        text.ends_with(&format!("\nkey 5: program id {xdp1} xdp_prog1\n1 entry\n")),
        "{text}"
    );

    // Legacy values: numbers and bytes, not fields.
    rxdp(&["map", "update", &counters_arg, "3", "42"]).ok();
    assert_eq!(read_u64(&counters_fd, 3), 42);
    rxdp(&[
        "map",
        "update",
        &counters_arg,
        "key",
        "2",
        "0",
        "0",
        "0",
        "value",
        "hex",
        "2b",
        "00",
        "00",
        "00",
        "00",
        "00",
        "00",
        "01",
    ])
    .ok();
    assert_eq!(read_u64(&counters_fd, 2), 0x0100_0000_0000_002b);
    let error = rxdp_error(&["map", "update", &counters_arg, "0", "packets=1"]);
    assert!(
        error.ends_with(
            "value: the map has no BTF type for it, so `packets=1` cannot be read by name; \
             give a number or hex bytes\n"
        ),
        "{error}"
    );
    rxdp(&["map", "update", &counters_arg, "0", "-1"]).ok();
    assert_eq!(read_u64(&counters_fd, 0), u64::MAX, "-1 is all ones");
    let error = rxdp_error(&["map", "delete", &counters_arg, "0"]);
    assert!(
        error.contains(
            "the entries of array maps always exist; write zero with `rxdp map update`: \
             BPF_MAP_DELETE_ELEM failed: Invalid argument (EINVAL)"
        ),
        "{error}"
    );
}

// --------------------------------- btf_maps.o: prog array, map-in-map

#[test]
fn prog_array_and_map_in_map_by_id_and_pin() {
    if !require_kernel() {
        return;
    }
    let (dir, _pins) = pin_dir();
    let load = rxdp_load(&[&obj("btf_maps"), "--pin-dir", &path_arg(&dir)]).ok();
    let jmp_id = printed_map_id(&load.stdout, 0).to_string();
    let (tail_a, tail_b) = (
        printed_prog_id(&load.stdout, 0),
        printed_prog_id(&load.stdout, 1),
    );
    let text = rxdp(&["map", "dump", "id", &jmp_id]).ok().stdout;
    assert_eq!(
        text,
        format!(
            "map id {jmp_id} (jmp): prog_array, key 4, value 4, max_entries 4, flags 0x0, no \
             BTF\nkey 0: program id {tail_a} tail_a\nkey 3: program id {tail_b} tail_b\n\
             2 entries\n"
        )
    );
    // By program id, and by program name? tail_b is a common name: by pin.
    rxdp(&[
        "map",
        "update",
        "id",
        &jmp_id,
        "1",
        "prog",
        "id",
        &tail_b.to_string(),
    ])
    .ok();
    let ours = rxdp_json(&["map", "lookup", "id", &jmp_id, "1"]);
    assert_eq!(ours.get("prog_id").num(), i128::from(tail_b));
    assert_eq!(ours.get("prog_name").str(), "tail_b");
    let error = rxdp_error(&["map", "update", "id", &jmp_id, "2", "id", "4294967295"]);
    assert!(
        error.contains("program id 4294967295: BPF_PROG_GET_FD_BY_ID failed"),
        "{error}"
    );
    let counts = path_arg(&dir.join("counts"));
    let error = rxdp_error(&["map", "update", "id", &jmp_id, "2", "pinned", &counts]);
    assert!(
        error.ends_with(&format!("{counts} holds a map, not a program\n")),
        "{error}"
    );
    let error = rxdp_error(&["map", "update", "id", &jmp_id, "2", "7"]);
    assert!(
        error.contains("the values of prog_array maps are programs: `7`: name it by"),
        "{error}"
    );

    // outer[0] = inner_a, from its __array(values) initialiser.
    let outer = dir.join("outer");
    let outer_arg = path_arg(&outer);
    let inner_a = printed_map_id(&load.stdout, 1);
    let ours = rxdp_json(&["map", "dump", &outer_arg]);
    let entry = ours.get("entries").at(0);
    assert_eq!(entry.get("key").num(), 0);
    assert_eq!(entry.get("map_id").num(), i128::from(inner_a));
    assert_eq!(entry.get("map_name").str(), "inner_a");
    assert_eq!(
        bpftool_dump(&outer).at(0).get("value").bytes(),
        inner_a.to_le_bytes()
    );
    rxdp(&[
        "map",
        "update",
        &outer_arg,
        "1",
        "map",
        "pinned",
        &path_arg(&dir.join("inner_a")),
    ])
    .ok();
    let text = rxdp(&["map", "lookup", &outer_arg, "1"]).ok().stdout;
    assert_eq!(text, format!("key 1: map id {inner_a} inner_a\n"));
    // counts through BTF (u32 -> u64), by id.
    let counts_id = printed_map_id(&load.stdout, 3).to_string();
    rxdp(&["map", "update", "id", &counts_id, "1", "0x10"]).ok();
    assert_eq!(
        rxdp(&["map", "lookup", "id", &counts_id, "1"]).ok().stdout,
        "key 1: 16\n"
    );
}

// ------------------------------------------------------- name NAME

#[test]
fn names_when_one_map_has_them() {
    if !require_kernel() {
        return;
    }
    let name = sanitize_name(&unique_name("rxm"));
    let mut spec = MapCreate::new(2, 4, 8, 2);
    spec.name = &name;
    let first = map_create(&spec).unwrap_or_else(|e| panic!("{e}"));
    let second = map_create(&spec).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<u32> = [&first, &second]
        .iter()
        .map(|fd| rxdp_syscalls::bpf::map_info(fd.as_fd()).unwrap().id)
        .collect();
    let error = rxdp_error(&["map", "dump", "name", &name]);
    assert_eq!(
        error,
        format!(
            "rxdp: 2 maps are named `{name}` (ids {}, {}): name one by id\n",
            ids[0], ids[1]
        )
    );
    drop(second);
    // The kernel frees a map after its last fd closes, a moment later.
    eventually("the second map to go", || {
        rxdp(&["map", "dump", "name", &name]).code == 0
    });
    rxdp(&["map", "update", "name", &name, "1", "77"]).ok();
    let handle = MapHandle::new(first.as_fd()).unwrap();
    let mut value = [0u8; 8];
    assert!(handle.lookup(&1u32.to_ne_bytes(), &mut value).unwrap());
    assert_eq!(u64::from_le_bytes(value), 77);
    let text = rxdp(&["map", "lookup", "name", &name, "1"]).ok().stdout;
    assert_eq!(text, "key 1: 4d 00 00 00 00 00 00 00 (77)\n");
    let error = rxdp_error(&["map", "dump", "name", "rxdp_no_such_m"]);
    assert_eq!(
        error,
        "rxdp: no map is named `rxdp_no_such_m`; `rxdp map list` shows the maps and their names\n"
    );
}

// ------------------------------------- global_data.o: list and errors

#[test]
fn list_shows_maps_by_id_and_global_data_through_btf() {
    if !require_kernel() {
        return;
    }
    let (dir, _pins) = pin_dir();
    let load = rxdp_load(&[&obj("global_data"), "--pin-dir", &path_arg(&dir)]).ok();
    let list = rxdp_json(&["map", "list"]);
    let maps = list.get("maps").items();
    let ids: Vec<i128> = maps.iter().map(|m| m.get("id").num()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in order: {ids:?}");
    let text = rxdp(&["map", "list"]).ok().stdout;
    assert!(text.starts_with("      id  type "), "{text}");
    for (index, pin, name, flags, value_size, max_entries, frozen) in [
        (0, "weighted", "weighted", 0, 8, 4, false),
        (1, "data", ".data", 0, 4, 1, false),
        (2, "rodata", ".rodata", 0x80, 20, 1, true),
        (3, "bss", ".bss", 0, 8, 1, false),
    ] {
        let id = printed_map_id(&load.stdout, index);
        let map = maps
            .iter()
            .find(|m| m.get("id").num() == i128::from(id))
            .unwrap_or_else(|| panic!("map id {id} not listed"));
        assert_eq!(map.get("name").str(), name);
        assert_eq!(map.get("type").str(), "array");
        assert_eq!(map.get("key_size").num(), 4);
        assert_eq!(map.get("value_size").num(), value_size);
        assert_eq!(map.get("flags").num(), flags);
        let btf_id = map.get("btf_id").num();
        assert!(btf_id > 0);
        // The kernel's view, by bpftool.
        let bpftool = J::parse(&run(
            "bpftool",
            &["-j", "map", "show", "id", &id.to_string()],
        ));
        assert_eq!(bpftool.get("name").str(), name);
        assert_eq!(bpftool.get("btf_id").num(), btf_id);
        assert_eq!(bpftool.get("bytes_value").num(), value_size);
        // The row of the text table.
        let row = text
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                id.to_string(),
                "array".into(),
                name.into(),
                "4".into(),
                value_size.to_string(),
                max_entries.to_string(),
                format!("{flags:#x}"),
                btf_id.to_string()
            ],
            "{row}"
        );
        // Opened by its pin: the pin and whether it is frozen.
        let opened = rxdp_json(&["map", "dump", &path_arg(&dir.join(pin))]);
        let opened = opened.get("map");
        assert_eq!(opened.get("frozen"), &J::Bool(frozen));
        let pins: Vec<&str> = opened.get("pins").items().iter().map(J::str).collect();
        assert_eq!(pins, [path_arg(&dir.join(pin))]);
    }

    // Global data through its DATASEC, and what cannot be done to it.
    let rodata_arg = path_arg(&dir.join("rodata"));
    assert_eq!(
        rxdp(&["map", "lookup", &rodata_arg, "0"]).ok().stdout,
        "key 0: {cfg_verdict: 2, weights: [1, 2, 4, 8]}\n"
    );
    let error = rxdp_error(&["map", "update", &rodata_arg, "0", "cfg_verdict=1"]);
    assert!(
        error.contains("the map is frozen: user space cannot change it"),
        "{error}"
    );
    let data_arg = path_arg(&dir.join("data"));
    rxdp(&["map", "update", &data_arg, "0", "packets_seen_start=-5"]).ok();
    assert_eq!(
        rxdp(&["map", "lookup", &data_arg, "0"]).ok().stdout,
        "key 0: {packets_seen_start: -5}\n"
    );
    let error = rxdp_error(&["map", "update", &data_arg, "0", "packets_seen=1"]);
    assert!(
        error.ends_with(
            ", .data): value has no member `packets_seen` (its members: packets_seen_start)\n"
        ),
        "{error}"
    );

    // A missing pin, a missing id: the error names them.
    let missing = dir.join("nope");
    let error = rxdp_error(&["map", "dump", &path_arg(&missing)]);
    assert!(
        error.starts_with(&format!(
            "rxdp: map {}: BPF_OBJ_GET failed: No such file or directory (ENOENT)",
            missing.display()
        )),
        "{error}"
    );
    let error = rxdp_error(&["map", "dump", "id", "4294967295"]);
    assert!(
        error.starts_with("rxdp: map id 4294967295: BPF_MAP_GET_FD_BY_ID failed: No such file or directory (ENOENT)"),
        "{error}"
    );
    // Usage mistakes are clap's: exit code 2.
    let usage = rxdp(&["map", "lookup", &data_arg]);
    assert_eq!(usage.code, 2, "{usage:?}");
    assert!(
        usage.stderr.contains("the key is missing"),
        "{}",
        usage.stderr
    );
    let usage = rxdp(&["map", "dump", "counters"]);
    assert_eq!(usage.code, 2, "{usage:?}");
}
