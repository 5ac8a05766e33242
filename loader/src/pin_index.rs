//! Which pins in bpffs hold which objects: a walk of the bpffs mount, as
//! `bpftool -f` does, so that `rxdp status` can show every pin of a map or
//! a link — those rxdp made under `rxdp/`, a `--pin-dir` anywhere, pins by
//! name at the top, iproute2's `tc/globals/` — without being told where.
//!
//! The walk never follows a symlink (each step an `openat(O_NOFOLLOW)`),
//! skips what it may not read (other tools' closed directories: they are
//! not rxdp's to report on), and stops at [`MAX_DEPTH`] levels and
//! [`MAX_PINS`] pins, so a huge or hostile tree costs a bounded time.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rxdp_syscalls::bpf::{fd_info, ObjectKind};
use rxdp_syscalls::fs::{Dir, EntryType};

use crate::record::RECORD;

/// Directories below the mount the walk enters.
pub const MAX_DEPTH: usize = 8;
/// Pins the walk opens at most.
pub const MAX_PINS: usize = 20_000;

/// One pin: what it holds and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedPin {
    /// Map, program or link.
    pub kind: ObjectKind,
    /// The object's kernel id.
    pub id: u32,
    /// The pin.
    pub path: PathBuf,
}

/// Every pin found under `bpffs`, in walk order (directories sorted by
/// name, so the order is the same every time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinIndex {
    /// The pins.
    pub pins: Vec<IndexedPin>,
    /// The walk stopped at [`MAX_PINS`].
    pub truncated: bool,
}

impl PinIndex {
    /// Walks `bpffs`.
    pub fn walk(bpffs: &Path) -> PinIndex {
        let mut index = PinIndex::default();
        if let Ok(root) = Dir::open_no_follow(bpffs) {
            index.walk_dir(&root, 0);
        }
        index
    }

    fn walk_dir(&mut self, dir: &Dir, depth: usize) {
        let Ok(mut entries) = dir.entries() else {
            return;
        };
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, kind) in entries {
            if self.truncated {
                return;
            }
            match kind {
                EntryType::Directory if depth < MAX_DEPTH => {
                    if let Ok(sub) = dir.open_dir(&name) {
                        self.walk_dir(&sub, depth + 1);
                    }
                }
                EntryType::File if name != RECORD => {
                    if self.pins.len() >= MAX_PINS {
                        self.truncated = true;
                        return;
                    }
                    let Ok(fd) = dir.get(&name) else { continue };
                    let Ok(info) = fd_info(fd.as_fd()) else {
                        continue;
                    };
                    if let Some(id) = info.id {
                        self.pins.push(IndexedPin {
                            kind: info.kind,
                            id,
                            path: dir.join(&name),
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// The pins of the object of `kind` with `id`.
    pub fn of(&self, kind: ObjectKind, id: u32) -> Vec<PathBuf> {
        self.pins
            .iter()
            .filter(|pin| pin.kind == kind && pin.id == id)
            .map(|pin| pin.path.clone())
            .collect()
    }
}
