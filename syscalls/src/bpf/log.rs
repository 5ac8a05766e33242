//! The verifier and BTF logs: how big a buffer to give, what to show of them,
//! and the statistics at their end.
//!
//! A load is first tried without a log (the kernel is faster without one).
//! When it fails it is tried again with a log buffer of [`LOG_FIRST_SIZE`].
//! A log that does not fit makes the kernel fail the load with ENOSPC; the
//! buffer then grows — doubling, or straight to the size the kernel reported
//! in `log_true_size` (kernel 6.4) — up to [`LOG_MAX_SIZE`].

use crate::error::{Error, Result};

/// The first log buffer: enough for the failure log of most programs.
pub const LOG_FIRST_SIZE: usize = 64 * 1024;
/// The largest log buffer rxdp gives the kernel.
pub const LOG_MAX_SIZE: usize = 16 * 1024 * 1024;

/// `BPF_LOG_LEVEL1`: the verifier's path through the program.
pub const BPF_LOG_LEVEL1: u32 = 1;
/// `BPF_LOG_LEVEL2`: the register state at every instruction (large).
pub const BPF_LOG_LEVEL2: u32 = 2;
/// `BPF_LOG_STATS`: adds "verification time" and "stack depth" lines.
pub const BPF_LOG_STATS: u32 = 4;

/// The buffer size after a log of `current` bytes did not fit: twice as
/// much, or what the kernel said it needed (`log_true_size`, 0 when the
/// kernel does not report it) if that is more, at most [`LOG_MAX_SIZE`].
/// `None` when the buffer is already that large.
pub(crate) fn next_log_size(current: usize, true_size: u32) -> Option<usize> {
    if current >= LOG_MAX_SIZE {
        return None;
    }
    let doubled = current.saturating_mul(2).max(LOG_FIRST_SIZE);
    let needed = usize::try_from(true_size).unwrap_or(usize::MAX);
    Some(doubled.max(needed).min(LOG_MAX_SIZE))
}

/// Runs `attempt` with a log buffer of `level`, growing the buffer on
/// ENOSPC. `attempt` gets the buffer and returns the outcome together with
/// the kernel's `log_true_size`. Returns the last outcome and its log.
pub(crate) fn with_growing_log<T>(
    mut attempt: impl FnMut(&mut [u8]) -> (Result<T>, u32),
) -> (Result<T>, String) {
    let mut size = LOG_FIRST_SIZE;
    loop {
        let mut buffer = vec![0u8; size];
        let (result, true_size) = attempt(&mut buffer);
        let log = log_text(&buffer);
        match result {
            Err(error) if error.errno == libc::ENOSPC && !error.is_injected() => {
                match next_log_size(size, true_size) {
                    Some(next) => size = next,
                    None => return (Err(error), log),
                }
            }
            other => return (other, log),
        }
    }
}

/// The text the kernel wrote: up to the first NUL, invalid UTF-8 replaced.
pub(crate) fn log_text(buffer: &[u8]) -> String {
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Lines the verifier prints after its verdict, whatever the verdict.
fn is_statistics(line: &str) -> bool {
    line.starts_with("processed ")
        || line.starts_with("verification time ")
        || line.starts_with("stack depth ")
}

/// A verifier line that shows an instruction: `12: (85) call bpf_...#1`.
fn is_instruction(line: &str) -> bool {
    line.split_once(": (")
        .is_some_and(|(index, _)| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
}

/// The part of a log worth showing next to the errno: its last meaningful
/// line (statistics skipped) and, when the line before it is the instruction
/// it is about, that instruction too.
pub(crate) fn log_summary(log: &str) -> String {
    let mut lines = log
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !is_statistics(line))
        .rev();
    let Some(last) = lines.next() else {
        return String::new();
    };
    match lines.next() {
        Some(before) if is_instruction(before) && !is_instruction(last) => {
            format!("{last} (at {before})")
        }
        _ => last.to_string(),
    }
}

/// The error of a failed load whose log is known: the errno, the log, and
/// its summary as the kernel's message.
pub(crate) fn with_log(error: Error, log: String) -> Error {
    let summary = log_summary(&log);
    error.with_kernel_message(summary).with_log(log)
}

/// What the verifier reports about its work on a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifierStats {
    /// Instructions the verifier walked ("processed N insns"; the
    /// `verified_insns` of the program's info).
    pub insns_processed: u32,
    /// The complexity limit ("(limit N)").
    pub insn_limit: Option<u32>,
    /// "max_states_per_insn N".
    pub max_states_per_insn: Option<u32>,
    /// "total_states N".
    pub total_states: Option<u32>,
    /// "peak_states N".
    pub peak_states: Option<u32>,
    /// Microseconds the verification took (with `BPF_LOG_STATS`).
    pub verification_time_usec: Option<u64>,
    /// Whether these came from the log (all fields) or from the program's
    /// info (`insns_processed` only).
    pub from_log: bool,
}

/// Finds the statistics lines of a verifier log:
///
/// ```text
/// verification time 38 usec
/// stack depth 8
/// processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1
/// ```
pub(crate) fn parse_stats(log: &str) -> Option<VerifierStats> {
    let mut stats = VerifierStats {
        from_log: true,
        ..VerifierStats::default()
    };
    let mut found = false;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("verification time ") {
            stats.verification_time_usec =
                rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
        let Some(rest) = line.strip_prefix("processed ") else {
            continue;
        };
        let words: Vec<&str> = rest
            .split_whitespace()
            .map(|word| word.trim_matches(|c| c == '(' || c == ')'))
            .collect();
        let Some(processed) = words.first().and_then(|n| n.parse().ok()) else {
            continue;
        };
        found = true;
        stats.insns_processed = processed;
        for pair in words.windows(2) {
            let value = pair[1].parse().ok();
            match pair[0] {
                "limit" => stats.insn_limit = value,
                "max_states_per_insn" => stats.max_states_per_insn = value,
                "total_states" => stats.total_states = value,
                "peak_states" => stats.peak_states = value,
                _ => {}
            }
        }
    }
    found.then_some(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_doubles_up_to_sixteen_mib() {
        assert_eq!(next_log_size(LOG_FIRST_SIZE, 0), Some(128 * 1024));
        let mut size = LOG_FIRST_SIZE;
        let mut steps = 0;
        while let Some(next) = next_log_size(size, 0) {
            assert!(next > size);
            size = next;
            steps += 1;
        }
        assert_eq!(size, LOG_MAX_SIZE);
        assert_eq!(steps, 8, "64 KiB doubles 8 times to 16 MiB");
    }

    #[test]
    fn the_buffer_jumps_to_the_size_the_kernel_needs() {
        assert_eq!(next_log_size(LOG_FIRST_SIZE, 3_000_000), Some(3_000_000));
        assert_eq!(next_log_size(LOG_FIRST_SIZE, 100), Some(128 * 1024));
        assert_eq!(next_log_size(LOG_FIRST_SIZE, u32::MAX), Some(LOG_MAX_SIZE));
        assert_eq!(next_log_size(LOG_MAX_SIZE, u32::MAX), None);
    }

    #[test]
    fn growing_stops_at_success_or_the_cap() {
        // The kernel wants 200 KiB: 64 KiB fails, 128 KiB fails, 256 KiB fits.
        let mut sizes = Vec::new();
        let (result, log) = with_growing_log(|buffer| {
            sizes.push(buffer.len());
            if buffer.len() < 200 * 1024 {
                buffer[..4].copy_from_slice(b"tail");
                (Err(Error::new("BPF_PROG_LOAD", libc::ENOSPC)), 0)
            } else {
                buffer[..4].copy_from_slice(b"full");
                (Ok(7), 0)
            }
        });
        assert_eq!(result, Ok(7));
        assert_eq!(log, "full");
        assert_eq!(sizes, [64 * 1024, 128 * 1024, 256 * 1024]);

        let mut attempts = 0;
        let (result, _) = with_growing_log::<()>(|_| {
            attempts += 1;
            (Err(Error::new("BPF_PROG_LOAD", libc::ENOSPC)), 0)
        });
        assert_eq!(result.unwrap_err().errno, libc::ENOSPC);
        assert_eq!(attempts, 9, "64 KiB .. 16 MiB");

        let (result, _) =
            with_growing_log::<()>(|_| (Err(Error::new("BPF_PROG_LOAD", libc::EACCES)), 0));
        assert_eq!(result.unwrap_err().errno, libc::EACCES);
    }

    #[test]
    fn log_text_stops_at_the_nul() {
        assert_eq!(log_text(b"abc\n\0garbage"), "abc\n");
        assert_eq!(log_text(b""), "");
    }

    #[test]
    fn the_summary_is_the_last_meaningful_line_and_its_instruction() {
        let log = "func#0 @0\n0: R1=ctx() R10=fp0\n0: (95) exit\nR0 !read_ok\n\
                   processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 \
                   peak_states 0 mark_read 0\n";
        assert_eq!(log_summary(log), "R0 !read_ok (at 0: (95) exit)");
        assert_eq!(
            log_summary("magic: 0xeb9f\nInvalid name_offset:9\n"),
            "Invalid name_offset:9"
        );
        assert_eq!(log_summary(""), "");
        assert_eq!(log_summary("processed 1 insns\n"), "");
    }

    #[test]
    fn statistics_are_read_from_the_log() {
        let log = "0: (b7) r0 = 2\nverification time 38 usec\nstack depth 0\n\
                   processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 \
                   peak_states 0 mark_read 0\n";
        let stats = parse_stats(log).unwrap();
        assert_eq!(stats.insns_processed, 2);
        assert_eq!(stats.insn_limit, Some(1_000_000));
        assert_eq!(stats.total_states, Some(0));
        assert_eq!(stats.verification_time_usec, Some(38));
        assert!(stats.from_log);
        assert_eq!(parse_stats("no statistics here"), None);
    }
}
