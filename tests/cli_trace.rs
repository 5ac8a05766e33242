//! `rxdp trace`: the `bpf_trace_printk` lines of programs run with
//! `rxdp run` (BPF_PROG_TEST_RUN), streamed as they come, bounded by
//! `--count` and `--timeout`. Every test holds the [`TraceLock`] and
//! empties the trace buffer first.
//!
//! tail_kern.c's xdp0 prints `xdp0: tail-calling key 78`, then either
//! xdp1 prints `tail call (xdp_1) id=1` (jmp_table1[78] filled) or xdp0
//! prints `xdp0: tail call failed, falling through`.

#[path = "load_common.rs"]
mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{obj, rxdp, with_article_jump};
use rxdp_kernel_tests::{bin, require_kernel, TraceLock};
use rxdp_syscalls::fs::tracefs;

/// The messages of `bpf_trace_printk` lines, in order.
fn messages(stdout: &str) -> Vec<&str> {
    stdout.lines().filter_map(tracefs::printk_message).collect()
}

fn empty_trace() {
    let tracing = tracefs::ensure_mounted().expect("tracefs");
    tracefs::clear_trace(&tracing).expect("clear the trace buffer");
}

#[test]
fn trace_streams_the_lines_of_a_run_as_they_come() {
    if !require_kernel() {
        return;
    }
    let _lock = TraceLock::acquire();
    empty_trace();
    let started = Instant::now();
    let mut trace = Command::new(bin("rxdp"))
        .args(["trace", "--timeout", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rxdp trace");
    // Let it reach its read loop: the lines must arrive while it streams.
    std::thread::sleep(Duration::from_millis(500));
    rxdp(&with_article_jump(&[
        "run",
        &obj("tail_kern"),
        "--entry",
        "xdp0",
        "--packet",
        "udp",
    ]))
    .ok();
    let status = trace.wait().expect("wait for rxdp trace");
    let elapsed = started.elapsed();
    let mut stdout = String::new();
    trace
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    trace
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "rxdp trace: {status}\n{stderr}");
    assert!(
        stderr.starts_with("rxdp: reading ") && stderr.contains("trace_pipe"),
        "{stderr}"
    );
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(10)).contains(&elapsed),
        "--timeout 4 took {elapsed:?}"
    );
    let printed = messages(&stdout);
    let first = printed
        .iter()
        .position(|m| *m == "xdp0: tail-calling key 78")
        .unwrap_or_else(|| panic!("xdp0's line missing: {stdout}"));
    assert!(
        printed[first..].contains(&"tail call (xdp_1) id=1"),
        "xdp1's line must follow xdp0's: {stdout}"
    );
    assert!(
        !printed.contains(&"xdp0: tail call failed, falling through"),
        "{stdout}"
    );
}

#[test]
fn trace_stops_after_count_lines() {
    if !require_kernel() {
        return;
    }
    let _lock = TraceLock::acquire();
    empty_trace();
    // Without the jump entry xdp0 prints twice: before and after the
    // failed tail call. The lines wait in the buffer until read.
    let object = obj("tail_kern");
    let run_once = || {
        rxdp(&["run", &object, "--entry", "xdp0", "--packet", "udp"]).ok();
    };
    run_once();
    let started = Instant::now();
    let both = rxdp(&["trace", "--count", "2", "--timeout", "10"]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "--count 2 must not wait for the timeout"
    );
    assert_eq!(both.stdout.lines().count(), 2, "{}", both.stdout);
    assert_eq!(
        messages(&both.stdout),
        [
            "xdp0: tail-calling key 78",
            "xdp0: tail call failed, falling through"
        ]
    );
    run_once();
    let first = rxdp(&["trace", "--count", "1", "--timeout", "10"]).ok();
    assert_eq!(messages(&first.stdout), ["xdp0: tail-calling key 78"]);
    // --timeout ends a wait with success. The second line of that run
    // came over in the same read as the first and went with that reader
    // (like `head -n 1` on the pipe), so at most it shows here.
    let started = Instant::now();
    let rest = rxdp(&["trace", "--timeout", "0.5"]).ok();
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_millis(500)..Duration::from_secs(5)).contains(&elapsed),
        "--timeout 0.5 took {elapsed:?}"
    );
    assert!(
        messages(&rest.stdout)
            .iter()
            .all(|m| *m == "xdp0: tail call failed, falling through"),
        "{}",
        rest.stdout
    );
}
