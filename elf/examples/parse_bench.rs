//! Parse + relocate time without the kernel, for `make bench`'s scale figures.
//!
//! usage: cargo run --release --example parse_bench -- OBJ...
//!
//! For each object: `Object::parse` of its bytes (read once, beforehand),
//! then the relocate step for every program, with made-up map fds
//! (relocation is pure: it only writes the numbers into instructions).
//! Each is repeated until 200 ms have passed (at least 5, at most 1000
//! times) and the median is printed, one TAB-separated line per object:
//! path, programs, maps, parse µs, relocate µs (all programs).

use std::os::fd::RawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rxdp_elf::ksyms::KernelSymbols;
use rxdp_elf::relocate::relocate;
use rxdp_elf::Object;

const BUDGET: Duration = Duration::from_millis(200);
const MIN_RUNS: usize = 5;
const MAX_RUNS: usize = 1000;

/// Runs `f` repeatedly; returns the median time in microseconds.
fn median_us(mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < MIN_RUNS || (start.elapsed() < BUDGET && samples.len() < MAX_RUNS) {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    let mid = samples.len() / 2;
    let median = if samples.len() % 2 == 0 {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    };
    Ok(median.as_secs_f64() * 1e6)
}

fn bench(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let parse = median_us(|| {
        Object::parse(&bytes)
            .map(drop)
            .map_err(|e| format!("{path}: {e}"))
    })?;
    let object = Object::parse(&bytes).map_err(|e| format!("{path}: {e}"))?;
    // Stand-ins for map_fd[]: relocation copies them into instructions.
    let map_fds: Vec<RawFd> = (0..object.maps.len()).map(|i| 100 + i as RawFd).collect();
    let kfuncs = KernelSymbols::default();
    let reloc = median_us(|| {
        for index in 0..object.programs.len() {
            relocate(&object, index, &map_fds, &kfuncs).map_err(|e| format!("{path}: {e}"))?;
        }
        Ok(())
    })?;
    Ok(format!(
        "{path}\t{}\t{}\t{:.0}\t{:.0}",
        object.programs.len(),
        object.maps.len(),
        parse,
        reloc
    ))
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: parse_bench OBJ...");
        return ExitCode::from(2);
    }
    for path in &paths {
        match bench(path) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("parse_bench: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
