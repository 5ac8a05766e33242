//! The undo log of a load: what the stages changed outside the process.
//!
//! File descriptors need no log: they are `OwnedFd`s and close when the
//! load's values drop. What outlives the process is recorded here as it
//! happens — pins, directories, the staging directory, struct_ops
//! registrations, the attach — and
//! [`Rollback::undo`] reverses it, newest first, when a later stage fails.
//! On success the pipeline simply drops the log.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink::{self, XdpFlags};
use rxdp_syscalls::Error as SysError;

use crate::observe::{Event, Observer};

/// An attach to undo: put back the program it replaced, or detach ours.
#[derive(Debug)]
pub(crate) struct AttachUndo {
    pub ifindex: u32,
    /// The mode flag of the slot our program went into.
    pub flags: XdpFlags,
    /// The program `--force` replaced, to re-attach.
    pub previous: Option<OwnedFd>,
}

#[derive(Debug, Default)]
pub(crate) struct Rollback {
    /// Directories this load created, parents first.
    dirs: Vec<PathBuf>,
    /// Pins this load created outside the staging directory (shared maps).
    pins: Vec<PathBuf>,
    /// The staging directory and everything in it.
    staging: Option<PathBuf>,
    attach: Option<AttachUndo>,
    /// Registered struct_ops maps (a reference each, and the map's name):
    /// the kernel keeps one alive until its key 0 is deleted.
    registered: Vec<(OwnedFd, String)>,
}

impl Rollback {
    /// Creates `dir` and its missing parents on bpffs, recording the ones
    /// that did not exist.
    pub fn create_dirs(&mut self, dir: &Path) -> Result<(), SysError> {
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|path| !path.exists())
            .map(Path::to_path_buf)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        bpffs::create_dir_all(dir)?;
        self.dirs.extend(missing.into_iter().rev());
        Ok(())
    }

    pub fn pinned(&mut self, path: PathBuf) {
        self.pins.push(path);
    }

    pub fn staging(&mut self, dir: PathBuf) {
        self.staging = Some(dir);
    }

    /// The staging directory was swapped into place: it is no longer ours to remove.
    pub fn published(&mut self) {
        self.staging = None;
    }

    pub fn attached(&mut self, attach: AttachUndo) {
        self.attach = Some(attach);
    }

    /// A struct_ops map was registered: unregister it if the load fails.
    pub fn registered(&mut self, map: OwnedFd, name: String) {
        self.registered.push((map, name));
    }

    /// The attach landed in another slot than asked (auto mode).
    pub fn attached_in(&mut self, flags: XdpFlags) {
        if let Some(attach) = &mut self.attach {
            attach.flags = flags;
        }
    }

    /// Undoes everything recorded, newest first. `ours` is the attached
    /// program, the expected one when putting back a replaced program.
    /// Returns what could not be undone.
    pub fn undo(self, ours: Option<BorrowedFd<'_>>, observer: &mut dyn Observer) -> Vec<String> {
        let mut left = Vec::new();
        let mut note = |result: Result<(), SysError>, what: String, observer: &mut dyn Observer| {
            match result {
                Ok(()) => observer.event(&Event::RolledBack { what: &what }),
                Err(error) => left.push(format!("{what}: {error}")),
            }
        };
        if let Some(attach) = self.attach {
            match (attach.previous, ours) {
                (Some(previous), Some(ours)) => note(
                    netlink::attach(attach.ifindex, previous.as_fd(), attach.flags, Some(ours)),
                    format!(
                        "re-attach the replaced program to ifindex {}",
                        attach.ifindex
                    ),
                    observer,
                ),
                _ => note(
                    netlink::detach(attach.ifindex, attach.flags),
                    format!("detach from ifindex {}", attach.ifindex),
                    observer,
                ),
            }
        }
        for (map, name) in self.registered.into_iter().rev() {
            let result = rxdp_syscalls::bpf::map_delete_elem(map.as_fd(), &0u32.to_ne_bytes());
            note(
                result.map(drop),
                format!("unregister struct_ops map {name}"),
                observer,
            );
        }
        if let Some(staging) = self.staging {
            note(
                bpffs::remove_dir_all(&staging),
                format!("remove {}", staging.display()),
                observer,
            );
        }
        for pin in self.pins.into_iter().rev() {
            note(
                bpffs::unpin(&pin),
                format!("unpin {}", pin.display()),
                observer,
            );
        }
        for dir in self.dirs.into_iter().rev() {
            // Another load may have put its own pins there meanwhile.
            let result = match bpffs::unpin(&dir) {
                Err(error) if error.errno == libc::ENOTEMPTY => Ok(()),
                result => result,
            };
            note(result, format!("rmdir {}", dir.display()), observer);
        }
        left
    }
}
