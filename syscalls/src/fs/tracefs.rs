//! tracefs: where `bpf_trace_printk` writes. `trace_pipe` streams the
//! kernel's trace buffer; a read consumes what it returns, so there should
//! be one reader at a time on the whole machine.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::io;
use super::mountinfo::{choose, mount_points};
use super::sys::{fs_magic, has_fs_magic, mount, poll_readable};
use crate::error::Result;

/// `TRACEFS_MAGIC`: statfs(2)'s `f_type` on a tracefs.
pub const TRACEFS_MAGIC: u32 = 0x7472_6163;
/// Where tracefs lives since kernel 4.1.
pub const DEFAULT_MOUNT: &str = "/sys/kernel/tracing";
/// Where it appears inside debugfs (mounted on first access there).
pub const DEBUGFS_MOUNT: &str = "/sys/kernel/debug/tracing";

/// Where tracefs is: a mounted tracefs (`/sys/kernel/tracing` first), else
/// either usual place if it holds a tracefs (debugfs mounts its `tracing`
/// directory on first access); `None` when there is none.
///
/// The usual case costs one statfs(2) on `/sys/kernel/tracing`;
/// `/proc/self/mountinfo` is read only when that is not a tracefs.
pub fn find_mount() -> Result<Option<PathBuf>> {
    let default = Path::new(DEFAULT_MOUNT);
    if has_fs_magic(default, TRACEFS_MAGIC)? {
        return Ok(Some(default.to_path_buf()));
    }
    if let Some(path) = choose(&mount_points("tracefs")?, &[DEFAULT_MOUNT, DEBUGFS_MOUNT]) {
        return Ok(Some(path));
    }
    // The last resort: debugfs may be closed to this user (EACCES), which
    // only means tracefs is not found there.
    let debugfs = Path::new(DEBUGFS_MOUNT);
    let found = fs_magic(debugfs).is_ok_and(|magic| magic == TRACEFS_MAGIC);
    Ok(found.then(|| debugfs.to_path_buf()))
}

/// The tracefs directory, mounting tracefs at `/sys/kernel/tracing` when
/// there is none. Mounting needs CAP_SYS_ADMIN: EPERM otherwise.
pub fn ensure_mounted() -> Result<PathBuf> {
    if let Some(path) = find_mount()? {
        return Ok(path);
    }
    let path = Path::new(DEFAULT_MOUNT);
    mount("mount tracefs", "tracefs", path, "")?;
    Ok(path.to_path_buf())
}

/// Empties the trace buffer (truncates `<tracefs>/trace`). Every reader of
/// the machine loses what was not read yet.
pub fn clear_trace(tracefs: &Path) -> Result<()> {
    let path = tracefs.join("trace");
    io("truncate trace", &path, || {
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map(drop)
    })
}

/// The message of a `bpf_trace_printk` line:
/// `"  <idle>-0  [001] ..s2. 12.34: bpf_trace_printk: hello"` → `"hello"`.
pub fn printk_message(line: &str) -> Option<&str> {
    line.split_once("bpf_trace_printk: ")
        .map(|(_, message)| message)
}

/// A non-blocking reader of `trace_pipe` that returns whole lines.
#[derive(Debug)]
pub struct TracePipe {
    file: File,
    path: PathBuf,
    /// Bytes read after the last complete line.
    partial: Vec<u8>,
    /// Complete lines read but not yet returned.
    ready: std::collections::VecDeque<String>,
}

/// Pause after poll said "readable" but the read found nothing, so a pipe
/// that always polls readable cannot make the wait a busy loop.
const EMPTY_READ_PAUSE: Duration = Duration::from_millis(10);

impl TracePipe {
    /// Opens `trace_pipe` of the tracefs [`ensure_mounted`] finds or mounts.
    pub fn open() -> Result<TracePipe> {
        TracePipe::open_in(&ensure_mounted()?)
    }

    /// Opens `<tracefs>/trace_pipe`, non-blocking.
    pub fn open_in(tracefs: &Path) -> Result<TracePipe> {
        let path = tracefs.join("trace_pipe");
        let file = io("open trace_pipe", &path, || {
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path)
        })?;
        Ok(TracePipe {
            file,
            path,
            partial: Vec::new(),
            ready: std::collections::VecDeque::new(),
        })
    }

    /// Waits up to `timeout` for complete lines and returns those there, at
    /// most `max_lines` (the rest wait for the next call), as soon as there
    /// are any; an empty list when the time ran out first. Lines come
    /// without their newline. To stream until a deadline, call it in a loop
    /// with the time left.
    pub fn read_lines(&mut self, timeout: Duration, max_lines: usize) -> Result<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.ready.len().min(max_lines);
            let now = Instant::now();
            if count > 0 || max_lines == 0 || now >= deadline {
                return Ok(self.ready.drain(..count).collect());
            }
            if poll_readable(
                "poll trace_pipe",
                self.file.as_fd(),
                deadline - now,
                &self.path,
            )? && !self.read_available()?
            {
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(EMPTY_READ_PAUSE.min(left));
            }
        }
    }

    /// Reads what is there into `ready`/`partial`; false when nothing was.
    fn read_available(&mut self) -> Result<bool> {
        let mut buffer = [0u8; 8192];
        let file = &mut self.file;
        let read = io("read trace_pipe", &self.path, || {
            match file.read(&mut buffer) {
                Ok(n) => Ok(n),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) =>
                {
                    Ok(0)
                }
                Err(error) => Err(error),
            }
        })?;
        if read == 0 {
            return Ok(false);
        }
        self.partial.extend_from_slice(&buffer[..read]);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..end]).into_owned();
            self.ready.push_back(text);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printk_lines() {
        let line =
            "           <...>-1234    [001] ..s21  5678.123456: bpf_trace_printk: returning 2";
        assert_eq!(printk_message(line), Some("returning 2"));
        assert_eq!(printk_message("CPU:1 [LOST 3 EVENTS]"), None);
    }
}
