//! `rxdp trace [--timeout S] [--count N]`: what `bpf_trace_printk` writes,
//! line by line as it comes — what `cat /sys/kernel/tracing/trace_pipe` and
//! `tc exec bpf dbg` did for the seeds. tracefs is mounted when it is not.
//!
//! Empty lines (a message ending in `\n` is followed by one) are left
//! out. The trace pipe is one for the whole machine and reading it consumes
//! what is read: run one reader at a time. Lines printed before the
//! reader started are still in the kernel's buffer and come first.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;
use rxdp_syscalls::fs::tracefs::{self, TracePipe};

use super::CliError;

/// Stream bpf_trace_printk output.
#[derive(Debug, Clone, Args)]
pub struct TraceArgs {
    /// Stop after S seconds (fractions allowed); default: until interrupted.
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Stop after N lines. The kernel hands lines over in batches and
    /// forgets what it handed: lines of the last batch beyond N are
    /// dropped, as with `head -n N` on the pipe.
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))
}

/// How long one wait for lines may last when there is no deadline: the
/// loop just waits again.
const WAIT: Duration = Duration::from_secs(3600);

/// Prints trace lines to `out` until `--count` lines or `--timeout`.
pub fn run(args: &TraceArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let kernel = |what: &str| {
        let what = what.to_owned();
        move |source| CliError::Kernel { what, source }
    };
    let tracefs = tracefs::ensure_mounted().map_err(kernel("find or mount tracefs"))?;
    let mut pipe = TracePipe::open_in(&tracefs).map_err(kernel("open the trace pipe"))?;
    // On stderr, so that stdout holds the trace alone.
    let _ = writeln!(
        std::io::stderr(),
        "rxdp: reading {} (Ctrl-C stops)",
        tracefs.join("trace_pipe").display()
    );
    let deadline = args.timeout.map(|t| Instant::now() + t);
    let mut printed = 0usize;
    loop {
        let wanted = match args.count {
            Some(count) if printed >= count => return Ok(()),
            Some(count) => count - printed,
            None => usize::MAX,
        };
        let wait = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(());
                }
                left
            }
            None => WAIT,
        };
        let lines = pipe
            .read_lines(wait, wanted)
            .map_err(kernel("read the trace pipe"))?;
        // A message ending in "\n" (as most do) leaves an empty line
        // after it: nothing to show, nothing to count.
        for line in lines.iter().filter(|line| !line.trim().is_empty()) {
            writeln!(out, "{line}").map_err(CliError::Output)?;
            printed += 1;
        }
        out.flush().map_err(CliError::Output)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
    }
}
