//! `/proc/self/mountinfo`: where each filesystem of this mount namespace is.
//!
//! One line per mount:
//!
//! ```text
//! 42 23 0:39 / /sys/fs/bpf rw,relatime shared:17 - bpf bpf rw,mode=700
//! id parent dev root mount-point options [optional fields...] - fstype source super-options
//! ```
//!
//! Paths escape space, tab, newline and backslash as `\040`-style octal.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::io;
use crate::error::Result;

/// Mount points of filesystems of type `fs_type`, in mount order.
pub(crate) fn mount_points(fs_type: &str) -> Result<Vec<PathBuf>> {
    const PATH: &str = "/proc/self/mountinfo";
    // procfs reports a size of 0, so a plain read_to_string starts with a
    // 32-byte read and doubles from there; a page at once is one read.
    let text = io("read mountinfo", Path::new(PATH), || {
        let mut text = String::with_capacity(4096);
        File::open(PATH)?.read_to_string(&mut text)?;
        Ok(text)
    })?;
    Ok(parse(&text, fs_type))
}

/// The mount points of `fs_type` in a mountinfo text.
pub(crate) fn parse(text: &str, fs_type: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let (mount, fs) = line.split_once(" - ")?;
            let mount_point = mount.split(' ').nth(4)?;
            (fs.split(' ').next()? == fs_type).then(|| PathBuf::from(unescape(mount_point)))
        })
        .collect()
}

/// Undoes the kernel's octal escapes (`\040` is a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Picks the mount to use: `preferred` ones first, in that order, then the
/// first one mounted.
pub(crate) fn choose(mounts: &[PathBuf], preferred: &[&str]) -> Option<PathBuf> {
    preferred
        .iter()
        .map(Path::new)
        .find(|path| mounts.iter().any(|mount| mount == path))
        .map(Path::to_path_buf)
        .or_else(|| mounts.first().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
42 23 0:39 / /sys/fs/bpf rw,relatime shared:17 - bpf bpf rw,mode=700
44 23 0:13 / /sys/kernel/tracing rw,relatime shared:19 - tracefs tracefs rw
90 22 0:50 / /tmp/my\\040pins rw,relatime - bpf bpf rw
91 22 0:51 / /run/odd rw,relatime master:3 shared:5 - bpf none rw
";

    #[test]
    fn finds_mounts_by_type_with_escaped_paths() {
        assert_eq!(
            parse(SAMPLE, "bpf"),
            [
                PathBuf::from("/sys/fs/bpf"),
                PathBuf::from("/tmp/my pins"),
                PathBuf::from("/run/odd")
            ]
        );
        assert_eq!(
            parse(SAMPLE, "tracefs"),
            [PathBuf::from("/sys/kernel/tracing")]
        );
        assert!(parse(SAMPLE, "debugfs").is_empty());
        assert!(parse("garbage\n\n", "bpf").is_empty());
    }

    #[test]
    fn prefers_the_usual_place() {
        let mounts = [PathBuf::from("/tmp/p"), PathBuf::from("/sys/fs/bpf")];
        assert_eq!(
            choose(&mounts, &["/sys/fs/bpf"]),
            Some(PathBuf::from("/sys/fs/bpf"))
        );
        assert_eq!(
            choose(&mounts[..1], &["/sys/fs/bpf"]),
            Some(PathBuf::from("/tmp/p"))
        );
        assert_eq!(choose(&[], &["/sys/fs/bpf"]), None);
    }

    #[test]
    fn unescapes_octal_only() {
        assert_eq!(unescape(r"a\040b\134c"), r"a b\c");
        assert_eq!(unescape(r"trailing\04"), r"trailing\04");
        assert_eq!(unescape(r"\999"), r"\999");
    }
}
