//! What `/proc` says about processes: whether a process that left
//! something behind is still running, and who holds a lock.
//!
//! A pid alone does not name a process for long: pids are reused. A
//! process is named here by its pid *and* its start time (field 22 of
//! `/proc/PID/stat`, clock ticks since boot), which a new process with the
//! same pid cannot share.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use super::io;
use crate::error::Result;

/// A process: its pid and its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Process {
    /// Its pid.
    pub pid: u32,
    /// Clock ticks after boot at which it started.
    pub start: u64,
}

/// State and start time from the text of `/proc/PID/stat`:
/// `pid (comm) state ppid ...`, where comm may hold spaces and parentheses
/// (the last `)` ends it) and the start time is field 22.
fn parse_stat(text: &str) -> Option<(char, u64)> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3), field 22 is the 19th.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(512);
    File::open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// This process. Read once (a failure is not kept: the next call reads
/// again).
pub fn this_process() -> Result<Process> {
    static THIS: OnceLock<Process> = OnceLock::new();
    if let Some(this) = THIS.get() {
        return Ok(*this);
    }
    let path = Path::new("/proc/self/stat");
    let bytes = io("read", path, || read_small(path))?;
    let text = String::from_utf8_lossy(&bytes);
    let (_, start) = parse_stat(&text).ok_or_else(|| {
        crate::error::Error::new("read", libc::EPROTO)
            .with_subject(format!("{}: unexpected contents", path.display()))
    })?;
    Ok(*THIS.get_or_init(|| Process {
        pid: std::process::id(),
        start,
    }))
}

impl Process {
    /// Whether this process is still running: its pid exists, with the same
    /// start time, and it is not a zombie (one that exited and was not yet
    /// reaped does nothing any more). When `/proc` cannot say (not mounted,
    /// hidden), the answer is "running": nothing of a process that may live
    /// is ever taken for abandoned.
    pub fn is_running(&self) -> bool {
        let path = format!("/proc/{}/stat", self.pid);
        match read_small(Path::new(&path)) {
            Ok(bytes) => match parse_stat(&String::from_utf8_lossy(&bytes)) {
                Some((state, start)) => start == self.start && !matches!(state, 'Z' | 'X'),
                None => true,
            },
            Err(error) => error.kind() != std::io::ErrorKind::NotFound,
        }
    }
}

/// The command line of process `pid`, its arguments joined by spaces and
/// cut at 200 bytes; `None` when it cannot be read.
pub fn command_line(pid: u32) -> Option<String> {
    let bytes = read_small(Path::new(&format!("/proc/{pid}/cmdline"))).ok()?;
    let mut text: String = String::from_utf8_lossy(&bytes)
        .split('\0')
        .filter(|arg| !arg.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        return None;
    }
    if text.len() > 200 {
        let mut end = 200;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    Some(text)
}

/// The pid holding a `flock` on the file with this device and inode, from
/// `/proc/locks` (`1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF`).
pub fn flock_holder(dev: u64, ino: u64) -> Option<u32> {
    let bytes = read_small(Path::new("/proc/locks")).ok()?;
    let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    parse_locks(&String::from_utf8_lossy(&bytes), major, minor, ino)
}

fn parse_locks(text: &str, major: u64, minor: u64, ino: u64) -> Option<u32> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        // Blocked waiters are listed as `1: -> FLOCK ...`: not holders.
        if fields.get(1) != Some(&"FLOCK") {
            return None;
        }
        let mut id = fields.get(5)?.split(':');
        let found = (
            u64::from_str_radix(id.next()?, 16).ok()?,
            u64::from_str_radix(id.next()?, 16).ok()?,
            id.next()?.parse::<u64>().ok()?,
        );
        (found == (major, minor, ino))
            .then(|| fields.get(4)?.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names() {
        let line = "4242 (a b) c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 \
                    1000 10 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 987654)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) Z 0 0"), None);
    }

    #[test]
    fn this_process_is_running_and_a_changed_start_is_not() {
        let me = this_process().unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(me.is_running());
        let reused = Process {
            start: me.start + 1,
            ..me
        };
        assert!(
            !reused.is_running(),
            "another start time is another process"
        );
        let gone = Process {
            pid: u32::MAX - 1,
            start: 1,
        };
        assert!(!gone.is_running());
    }

    #[test]
    fn lock_holders_by_device_and_inode() {
        let locks = "1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF\n\
                     1: -> FLOCK  ADVISORY  WRITE 999 00:19:5678 0 EOF\n\
                     2: POSIX  ADVISORY  WRITE 77 08:01:42 0 EOF\n\
                     3: FLOCK  ADVISORY  WRITE 4321 fd:01:42 0 EOF\n";
        assert_eq!(parse_locks(locks, 0, 0x19, 5678), Some(1234));
        assert_eq!(parse_locks(locks, 0xfd, 1, 42), Some(4321));
        assert_eq!(
            parse_locks(locks, 8, 1, 42),
            None,
            "POSIX locks are not flocks"
        );
        assert_eq!(parse_locks(locks, 0, 0x19, 1), None);
    }
}
