//! Times commands round-robin, for `make bench`.
//!
//! usage: bench-runner PLAN ROUNDS WARMUP OUTDIR [SETTLE_MS]
//!
//! PLAN has one case per line, four TAB-separated fields:
//!
//!     label  setup  command  teardown
//!
//! `setup` and `teardown` run through `/bin/sh -c` (empty: nothing) and are not
//! timed. `command` is split on spaces and executed directly, without a shell,
//! so what is timed is the tool alone: from just before the spawn to the return
//! of wait(), which includes exec, dynamic linking, the tool's work and its exit.
//!
//! Rounds are interleaved: every round runs every case once, in an order
//! shuffled afresh for each round (a fixed-seed generator, so two runs of a
//! plan use the same orders). No tool always runs first or always follows the
//! same other tool, and a slow phase of the machine hits every tool alike.
//! Plain rotation would not do: the work a detach leaves to the kernel (RCU
//! callbacks, deferred frees) would always land on the same successor. After
//! each teardown the runner sleeps SETTLE_MS (default 20) for that work to
//! finish. The first WARMUP rounds are not counted.
//!
//! The timed command's stdout and stderr go to OUTDIR/case-K.log (appended),
//! K being the case's line number from 0, for callers that parse what the tool
//! printed (e.g. `rxdp-load --timings`): one run's output per counted round,
//! in round order; warm-up rounds print to /dev/null. A failing command stops
//! the run.
//!
//! Printed on stdout, one line per case, TAB-separated, times in microseconds:
//! label, runs, median, min, p25, p75, max. Every sample goes to
//! OUTDIR/samples.tsv (label, round, microseconds).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

struct Case {
    label: String,
    setup: String,
    argv: Vec<String>,
    teardown: String,
    log: PathBuf,
    samples: Vec<u64>,
}

fn shell(what: &str, label: &str, script: &str) -> Result<(), String> {
    if script.is_empty() {
        return Ok(());
    }
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .status()
        .map_err(|e| format!("{label}: {what}: cannot run /bin/sh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{label}: {what} failed ({status}): {script}"))
    }
}

fn read_plan(plan: &Path, outdir: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(plan).map_err(|e| format!("{}: {e}", plan.display()))?;
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [label, setup, command, teardown] = fields[..] else {
            return Err(format!(
                "{}:{}: want 4 TAB-separated fields (label, setup, command, teardown), got {}",
                plan.display(),
                n + 1,
                fields.len()
            ));
        };
        let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if argv.is_empty() {
            return Err(format!("{}:{}: empty command", plan.display(), n + 1));
        }
        let log = outdir.join(format!("case-{}.log", cases.len()));
        cases.push(Case {
            label: label.to_owned(),
            setup: setup.to_owned(),
            argv,
            teardown: teardown.to_owned(),
            log,
            samples: Vec::new(),
        });
    }
    if cases.is_empty() {
        return Err(format!("{}: no cases", plan.display()));
    }
    Ok(cases)
}

fn run_once(case: &Case, counted: bool) -> Result<u64, String> {
    shell("setup", &case.label, &case.setup)?;
    let mut cmd = Command::new(&case.argv[0]);
    cmd.args(&case.argv[1..]).stdin(Stdio::null());
    if counted {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&case.log)
            .map_err(|e| format!("{}: {e}", case.log.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", case.log.display()))?;
        cmd.stdout(Stdio::from(log)).stderr(Stdio::from(err));
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{}: cannot run {}: {e}", case.label, case.argv[0]))?;
    let micros = start.elapsed().as_micros() as u64;
    let teardown = shell("teardown", &case.label, &case.teardown);
    if !status.success() {
        let output = if counted {
            format!("its output is in {}", case.log.display())
        } else {
            "in a warm-up round, whose output is discarded".to_string()
        };
        return Err(format!(
            "{}: `{}` failed ({status}); {output}",
            case.label,
            case.argv.join(" "),
        ));
    }
    teardown?;
    Ok(micros)
}

/// xorshift64*: a small, fixed-seed generator for the round orders.
struct Shuffler(u64);

impl Shuffler {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Fisher-Yates over `order`.
    fn shuffle(&mut self, order: &mut [usize]) {
        for i in (1..order.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    // Nearest rank on a sorted, non-empty slice; the median of an even count is
    // the mean of the two middle samples.
    if p == 50 && sorted.len().is_multiple_of(2) {
        let hi = sorted.len() / 2;
        return (sorted[hi - 1] + sorted[hi]) / 2;
    }
    let idx = (p * (sorted.len() - 1) + 50) / 100;
    sorted[idx]
}

fn run(args: &[String]) -> Result<(), String> {
    let (plan, rounds, warmup, outdir, settle) = match args {
        [plan, rounds, warmup, outdir] => (plan, rounds, warmup, outdir, "20"),
        [plan, rounds, warmup, outdir, settle] => (plan, rounds, warmup, outdir, settle.as_str()),
        _ => return Err("usage: bench-runner PLAN ROUNDS WARMUP OUTDIR [SETTLE_MS]".into()),
    };
    let settle: u64 = settle
        .parse()
        .map_err(|_| format!("SETTLE_MS: not a number: {settle}"))?;
    let settle = Duration::from_millis(settle);
    let rounds: usize = rounds
        .parse()
        .map_err(|_| format!("ROUNDS: not a number: {rounds}"))?;
    let warmup: usize = warmup
        .parse()
        .map_err(|_| format!("WARMUP: not a number: {warmup}"))?;
    if rounds == 0 {
        return Err("ROUNDS must be at least 1".into());
    }
    let outdir = Path::new(outdir);
    std::fs::create_dir_all(outdir).map_err(|e| format!("{}: {e}", outdir.display()))?;
    let mut cases = read_plan(Path::new(plan), outdir)?;
    for case in &cases {
        // Start every log empty: they are appended to during the rounds.
        File::create(&case.log).map_err(|e| format!("{}: {e}", case.log.display()))?;
    }
    let samples_path = outdir.join("samples.tsv");
    let mut samples =
        File::create(&samples_path).map_err(|e| format!("{}: {e}", samples_path.display()))?;
    let mut order: Vec<usize> = (0..cases.len()).collect();
    let mut shuffler = Shuffler(0x5eed_b0a7_2026_0006);
    for round in 0..warmup + rounds {
        shuffler.shuffle(&mut order);
        for &k in &order {
            let case = &mut cases[k];
            let counted = round >= warmup;
            let micros = run_once(case, counted)?;
            std::thread::sleep(settle);
            if counted {
                case.samples.push(micros);
                writeln!(samples, "{}\t{}\t{micros}", case.label, round - warmup)
                    .map_err(|e| format!("{}: {e}", samples_path.display()))?;
            }
        }
    }
    for case in &mut cases {
        case.samples.sort_unstable();
        let s = &case.samples;
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            case.label,
            s.len(),
            percentile(s, 50),
            s[0],
            percentile(s, 25),
            percentile(s, 75),
            s[s.len() - 1]
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-runner: {e}");
            ExitCode::FAILURE
        }
    }
}
