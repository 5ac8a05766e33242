//! `/proc/self/fdinfo/FD` of a bpf fd: which kind of object a pin holds
//! (`BPF_OBJ_GET` opens maps, programs and links alike, and
//! `BPF_OBJ_GET_INFO_BY_FD` reads its info struct as the object's own
//! kind), its id, and whether a map is frozen, which no info struct says.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::seam;

/// What kind of bpf object an fd refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A map (`map_type:` in its fdinfo).
    Map,
    /// A program (`prog_type:`).
    Program,
    /// A link (`link_type:`).
    Link,
    /// Anything else (a BTF object, or not a bpf fd).
    Other,
}

/// What the kernel's `show_fdinfo` of a bpf fd says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdInfo {
    /// The kind of object.
    pub kind: ObjectKind,
    /// Its id (`map_id:`, `prog_id:`, `link_id:`), when the kernel shows it.
    pub id: Option<u32>,
    /// A map's `frozen:` (`BPF_MAP_FREEZE`): user space can no longer
    /// change it.
    pub frozen: bool,
}

/// Reads the fdinfo of `fd`.
pub fn fd_info(fd: BorrowedFd<'_>) -> Result<FdInfo> {
    const OP: &str = "read fdinfo";
    let path = PathBuf::from(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()));
    let text = seam::enter(OP, || {
        std::fs::read_to_string(&path).map_err(|error| {
            Error::new(OP, error.raw_os_error().unwrap_or(libc::EIO))
                .with_subject(path.display().to_string())
        })
    })?;
    Ok(parse(&text))
}

/// The fields of an fdinfo text (`name:\tvalue` lines).
fn parse(text: &str) -> FdInfo {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(str::trim)
        })
    };
    let (kind, id) = if field("map_type").is_some() {
        (ObjectKind::Map, field("map_id"))
    } else if field("prog_type").is_some() {
        (ObjectKind::Program, field("prog_id"))
    } else if field("link_type").is_some() {
        (ObjectKind::Link, field("link_id"))
    } else {
        (ObjectKind::Other, None)
    };
    FdInfo {
        kind,
        id: id.and_then(|id| id.parse().ok()),
        frozen: field("frozen") == Some("1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_ids_and_frozen() {
        let map = "pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t1058\nmap_type:\t2\n\
                   key_size:\t4\nvalue_size:\t20\nmax_entries:\t1\nmap_flags:\t0x80\n\
                   map_extra:\t0x0\nmemlock:\t336\nmap_id:\t102609\nfrozen:\t1\n";
        assert_eq!(
            parse(map),
            FdInfo {
                kind: ObjectKind::Map,
                id: Some(102_609),
                frozen: true
            }
        );
        let prog = "pos:\t0\nprog_type:\t6\nprog_jited:\t1\nprog_tag:\tab\nmemlock:\t4096\n\
                    prog_id:\t76976\nrun_time_ns:\t0\n";
        assert_eq!(
            parse(prog),
            FdInfo {
                kind: ObjectKind::Program,
                id: Some(76_976),
                frozen: false
            }
        );
        assert_eq!(
            parse("link_type:\txdp\nlink_id:\t3\n").kind,
            ObjectKind::Link
        );
        assert_eq!(parse("pos:\t0\nflags:\t02\n").kind, ObjectKind::Other);
    }
}
