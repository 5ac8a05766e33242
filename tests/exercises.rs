//! The book's exercises (docs/exercises/N/): each answer does what its
//! lesson asks, on the kernel, and each skeleton the learner starts from
//! does not yet. Verdicts through BPF_PROG_TEST_RUN (`rxdp run --json`),
//! counters read back from the maps after the run. Lesson 5's are Rust:
//! its library example (loader/examples/load_article.rs) on a veth pair,
//! and the exercise's `Observer` (docs/exercises/5/, examples of the
//! `rxdp` crate).

#[path = "load_common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rxdp_kernel_tests::docs::repo_root;
use rxdp_kernel_tests::{bin, require_kernel, Ip, VethPair};

/// A compiled exercise, removed when dropped.
struct Compiled(PathBuf);

impl std::ops::Deref for Compiled {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Compiled {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().expect("a file has a directory"));
    }
}

/// `docs/exercises/N/NAME.c` compiled as `make` compiles progs/, into a
/// directory of its own under the temporary directory (the checkout is
/// read-only in the VM suite's guests). The object keeps the source's
/// name: the verifier's messages quote it.
fn compile(exercise: u32, name: &str) -> Compiled {
    let root = repo_root();
    let source = root.join(format!("docs/exercises/{exercise}/{name}.c"));
    let out_dir = std::env::temp_dir().join(format!(
        "rxdp-exercise-{}-{exercise}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&out_dir)
        .unwrap_or_else(|error| panic!("cannot make {}: {error}", out_dir.display()));
    let object = Compiled(out_dir.join(format!("{name}.o")));
    let arch_include = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    let output = Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
        .arg("-I")
        .arg(root.join("progs/include"))
        .arg("-I")
        .arg(arch_include)
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(&*object)
        .output()
        .unwrap_or_else(|error| panic!("cannot run clang (make deps installs it): {error}"));
    assert!(
        output.status.success(),
        "{} does not compile:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    object
}

/// `rxdp run OBJ ARGS...`, as a learner types it.
fn run_plain(object: &Path, args: &[&str]) -> Output {
    Command::new(bin("rxdp"))
        .arg("run")
        .arg(object)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run rxdp: {error}"))
}

/// `rxdp run OBJ ARGS... --json`.
fn run(object: &Path, args: &[&str]) -> Output {
    run_plain(object, &[args, &["--json"]].concat())
}

/// The JSON `rxdp run` printed, or a panic with its error.
fn json(output: &Output) -> String {
    assert!(
        output.status.success(),
        "rxdp run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn verdict(json: &str) -> &str {
    let start = json
        .find("\"verdict\":\"")
        .unwrap_or_else(|| panic!("no verdict in {json}"))
        + "\"verdict\":\"".len();
    let end = json[start..].find('"').expect("the verdict string ends") + start;
    &json[start..end]
}

/// `counts` after one run, as `rxdp run --show-map counts --json` gives it.
fn counts(json: &str) -> String {
    let start = json
        .find("\"counts\":[")
        .unwrap_or_else(|| panic!("no counts map in {json}"));
    let end = json[start..].find(']').expect("the array ends") + start + 1;
    json[start..end].to_string()
}

const COUNTS_JUMPED: &str =
    r#""counts":[{"key":0,"value":1},{"key":1,"value":1},{"key":2,"value":0}]"#;
const COUNTS_FELL_THROUGH: &str =
    r#""counts":[{"key":0,"value":1},{"key":1,"value":0},{"key":2,"value":1}]"#;

/// Lesson 1: `--map 0 --key 5 --prog 1` makes the entry jump to xdp_drop.
fn tail_call_outcomes(object: &Path) -> [(String, String); 2] {
    let jump = ["--map", "0", "--key", "5", "--prog", "1"];
    let common = [
        "--entry",
        "xdp_entry",
        "--packet",
        "udp",
        "--show-map",
        "counts",
    ];
    let with_jump = json(&run(object, &[&common[..], &jump[..]].concat()));
    let without = json(&run(object, &common));
    [
        (verdict(&with_jump).to_string(), counts(&with_jump)),
        (verdict(&without).to_string(), counts(&without)),
    ]
}

#[test]
fn lesson_1_the_answer_jumps_and_counts_a_failed_jump() {
    assert!(require_kernel());
    let [jumped, empty] = tail_call_outcomes(&compile(1, "answer"));
    assert_eq!(jumped, ("XDP_DROP".into(), COUNTS_JUMPED.into()));
    assert_eq!(empty, ("XDP_PASS".into(), COUNTS_FELL_THROUGH.into()));
}

#[test]
fn lesson_1_the_skeleton_does_not_jump_yet() {
    assert!(require_kernel());
    let [jumped, empty] = tail_call_outcomes(&compile(1, "skeleton"));
    assert_ne!(jumped.0, "XDP_DROP", "the skeleton already jumps");
    assert_ne!(empty.1, COUNTS_FELL_THROUGH, "the skeleton already counts");
}

/// Lesson 2: the verdict per frame kind, and the jump rxdp run filled.
fn metadata_verdicts(object: &Path) -> Vec<(&'static str, String)> {
    ["icmp", "udp", "tcp", "udp6"]
        .into_iter()
        .map(|kind| {
            let out = json(&run(object, &["--entry", "xdp_entry", "--packet", kind]));
            (kind, verdict(&out).to_string())
        })
        .collect()
}

#[test]
fn lesson_2_the_answer_drops_icmp_in_prog_1_and_passes_the_rest() {
    assert!(require_kernel());
    let object = compile(2, "answer");
    assert_eq!(
        metadata_verdicts(&object),
        [
            ("icmp", "XDP_DROP".to_string()),
            ("udp", "XDP_PASS".to_string()),
            ("tcp", "XDP_PASS".to_string()),
            ("udp6", "XDP_PASS".to_string()),
        ]
    );
    // prog/1 went to key 1 by its section name alone.
    let shown = run_plain(&object, &["--entry", "xdp_entry", "--packet", "icmp"]);
    let stdout = String::from_utf8_lossy(&shown.stdout);
    assert!(
        stdout.contains("jmp_table[1] = prog_fd[2] xdp_drop_icmp_prog (prog n)"),
        "{stdout}"
    );
}

#[test]
fn lesson_2_the_skeleton_passes_icmp() {
    assert!(require_kernel());
    let verdicts = metadata_verdicts(&compile(2, "skeleton"));
    assert_eq!(verdicts[0], ("icmp", "XDP_PASS".to_string()));
}

#[test]
fn lesson_4_the_answer_is_accepted_and_drops_only_ipv4() {
    assert!(require_kernel());
    let object = compile(4, "answer");
    let udp = json(&run(&object, &["--entry", "xdp", "--packet", "udp"]));
    let udp6 = json(&run(&object, &["--entry", "xdp", "--packet", "udp6"]));
    assert_eq!((verdict(&udp), verdict(&udp6)), ("XDP_DROP", "XDP_PASS"));
}

#[test]
fn lesson_4_the_skeleton_is_rejected_at_the_unchecked_read() {
    assert!(require_kernel());
    let skeleton = compile(4, "skeleton");
    let output = run_plain(&skeleton, &["--entry", "xdp", "--packet", "udp"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the skeleton loaded: {stderr}");
    assert!(
        stderr.contains("the verifier rejected it (EACCES)")
            && stderr.contains("at skeleton.c:20 `if (eth->h_proto == bpf_htons(ETH_P_IP))`"),
        "{stderr}"
    );
}

#[test]
fn lesson_5_the_library_example_does_the_articles_load() {
    assert!(require_kernel());
    // Built by `cargo build --examples` (make kernel-test does).
    let example = bin("examples/load_article");
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = common::RemovePins(common::device_pins(dev));
    let output = Command::new(&example)
        .args([common::obj("tail_kern").as_str(), dev])
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", example.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The kernel's view after the example exited: prog_fd[0] attached in
    // skb mode, and every frame reaching xdp1 through key 78.
    let entry = common::printed_prog_id(&stdout, 0);
    assert_eq!(common::xdp(pair.root_ifindex()).skb_prog_id, Some(entry));
    pair.send_udp(Ip::V4, 7777, 10, 4);
    let counters = common::pinned(&common::device_pins(dev).join("skb/counters"));
    common::eventually("xdp1 to count every datagram", || {
        common::read_u64(&counters, 1) >= 10
    });
    assert_eq!(common::read_u64(&counters, 2), 0, "no frame fell through");
    let unload = common::rxdp(&["unload", "--dev", dev]).ok();
    assert!(
        unload.stdout.contains("detached program id"),
        "{}",
        unload.stdout
    );
}

/// Lesson 5's exercise, an `Observer`: what `exercise5_NAME` prints for
/// tail_kern.o (built by `cargo build --examples`).
fn observer_lines(name: &str) -> Vec<String> {
    let example = bin(&format!("examples/exercise5_{name}"));
    let output = Command::new(&example)
        .arg(common::obj("tail_kern"))
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", example.display()));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn lesson_5_the_answer_prints_what_the_verifier_did_with_each_program() {
    assert!(require_kernel());
    let lines = observer_lines("answer");
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, (prefix, insns)) in lines
        .iter()
        .zip([("prog_fd[0] xdp_prog0", 64), ("prog_fd[1] xdp_prog1", 24)])
    {
        // The verifier's count comes from the kernel, and differs between
        // kernels; it is never 0 for a program it accepted.
        let verified: u32 = line
            .strip_prefix(&format!("{prefix}: the verifier processed "))
            .and_then(|rest| rest.strip_suffix(&format!(" of {insns} insns")))
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        assert!(verified > 0, "{line}");
    }
}

#[test]
fn lesson_5_the_skeleton_prints_nothing_yet() {
    assert!(require_kernel());
    assert_eq!(observer_lines("skeleton"), Vec::<String>::new());
}
