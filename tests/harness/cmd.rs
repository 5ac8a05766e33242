//! Running setup commands (`ip`, `mount`) and making names no other test uses.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Runs `program args...` and returns its stdout; panics with the command
/// line, exit status and stderr when it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    try_run(program, args).unwrap_or_else(|error| panic!("{error}"))
}

/// The running kernel's own BTF as `bpftool btf dump file
/// /sys/kernel/btf/vmlinux format raw` prints it (`[12] STRUCT 'name' ...`):
/// expected type ids that do not come from rxdp's BTF reader.
pub fn vmlinux_btf_dump() -> String {
    run(
        "bpftool",
        &[
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            "raw",
        ],
    )
}

/// Runs `program args...`: its stdout, or a message with the command line,
/// exit status and stderr. For cleanup paths, which must not panic.
pub fn try_run(program: &str, args: &[&str]) -> Result<String, String> {
    let line = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|error| format!("`{line}` could not start: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// `ip args...` (iproute2), panicking with its stderr on failure.
pub fn ip(args: &[&str]) -> String {
    run("ip", args)
}

/// `prefix` + this process's pid in base 36 + `-` + a per-process counter:
/// unique among the processes alive on the machine, and short (interface
/// names are at most 15 bytes: `rx` + 5 + 1 + 6 + 1 fit).
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}-{n}", base36(std::process::id()))
}

fn base36(mut value: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut digits = Vec::new();
    loop {
        digits.push(DIGITS[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_short() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(4_194_304), "2hwcg"); // the largest pid_max: 5 digits
        let first = unique_name("rx");
        let second = unique_name("rx");
        assert_ne!(first, second);
        assert!(first.starts_with("rx"));
    }

    #[test]
    fn failures_carry_stderr() {
        let error = try_run("ip", &["link", "show", "dev", "rxdp-no-such-if"]).unwrap_err();
        assert!(
            error.contains("ip link show dev rxdp-no-such-if"),
            "{error}"
        );
        assert!(error.contains("does not exist"), "{error}");
    }
}
