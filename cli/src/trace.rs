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

use crate::CliError;

/// Stream bpf_trace_printk output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct TraceArgs {
    /// Stop after S seconds (fractions allowed); default: until interrupted
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Stop after N lines. The kernel hands lines over in batches and forgets what it handed: lines of the last batch beyond N are dropped, as with `head -n N` on the pipe
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
}

/// A decimal number of seconds (`2`, `0.5`, `1.25`, `.5`): whole seconds
/// and up to nine decimals, to the nanosecond, read with integers alone.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a number of seconds (like 2, 0.5 or 1.25)");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(invalid());
    }
    if fraction.len() > 9 {
        return Err(format!(
            "{text:?}: at most nine decimals (a nanosecond) are meaningful"
        ));
    }
    let seconds = match whole {
        "" => 0,
        whole => whole.parse::<u64>().map_err(|_| invalid())?,
    };
    // "25" of "1.25" is 250_000_000 ns: pad to nine digits.
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'));
    Ok(Duration::new(seconds, nanos))
}

/// How long one wait for lines may last when there is no deadline: the
/// loop just waits again.
const WAIT: Duration = Duration::from_secs(3600);

/// Prints trace lines to `out` until `--count` lines or `--timeout`.
pub fn run(args: &TraceArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let kernel = |what: &str| {
        let what = what.to_owned();
        move |error| CliError::Kernel { what, error }
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
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("1.25"), Ok(Duration::from_millis(1250)));
        assert_eq!(parse_seconds(".5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("3."), Ok(Duration::from_secs(3)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert_eq!(parse_seconds("0.000000001"), Ok(Duration::from_nanos(1)));
        assert_eq!(
            parse_seconds("18446744073709551615.999999999"),
            Ok(Duration::new(u64::MAX, 999_999_999))
        );
        for junk in [
            "",
            ".",
            "-1",
            "+1",
            "soon",
            "1e3",
            "1.2.3",
            " 1",
            "1 ",
            "0x10",
            "inf",
            "NaN",
            "1,5",
            "18446744073709551616",
        ] {
            assert_eq!(
                parse_seconds(junk),
                Err(format!(
                    "{junk:?} is not a number of seconds (like 2, 0.5 or 1.25)"
                )),
                "{junk:?}"
            );
        }
        assert_eq!(
            parse_seconds("0.0000000001"),
            Err("\"0.0000000001\": at most nine decimals (a nanosecond) are meaningful".into())
        );
    }
}
