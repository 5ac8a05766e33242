//! The undo log of a load: what the stages changed outside the process.
//!
//! File descriptors need no log: they are `OwnedFd`s and close when the
//! load's values drop. What outlives the process is recorded here as it
//! happens — directories, shared pins, the staging directory, struct_ops
//! registrations, the attach — and [`Rollback::undo`] reverses it, newest
//! first, when a later stage fails or a signal asks the load to stop. On
//! success the pipeline simply drops the log.
//!
//! Every entry holds its directory open: undoing removes names relative to
//! those fds, never by path (nothing renamed meanwhile is followed), and
//! needs no new fd (a load that failed for want of fds can still undo).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use rxdp_syscalls::bpf::{link_detach, link_update};
use rxdp_syscalls::fs::Dir;
use rxdp_syscalls::netlink::{self, XdpFlags};
use rxdp_syscalls::Error as SysError;

use crate::observe::{Event, Observer};
use crate::pin::{remove_if_bare, remove_pins_dir, PinError};

/// An attach to undo: put back the program it replaced, or detach ours.
#[derive(Debug)]
pub(crate) struct AttachUndo {
    pub ifindex: u32,
    /// The mode flag of the slot our program went into.
    pub flags: XdpFlags,
    /// The program `--force` replaced, to re-attach.
    pub previous: Option<OwnedFd>,
    /// Attached through a BPF link: the link, made or updated.
    pub link: Option<OwnedFd>,
}

#[derive(Debug, Default)]
pub(crate) struct Rollback {
    /// Directories this load created, parents first, by parent and name.
    dirs: Vec<(Rc<Dir>, String)>,
    /// Pins this load created outside the staging directory (shared maps).
    pins: Vec<(Rc<Dir>, String)>,
    /// The staging directory and everything in it: its parent, its name,
    /// and the directory once open.
    staging: Option<(Rc<Dir>, String, Option<Rc<Dir>>)>,
    attach: Option<AttachUndo>,
    /// Registered struct_ops maps (a reference each, and the map's name):
    /// the kernel keeps one alive until its key 0 is deleted.
    registered: Vec<(OwnedFd, String)>,
}

impl Rollback {
    /// Directory `name` was made in `parent` by this load.
    pub fn created_dir(&mut self, parent: Rc<Dir>, name: String) {
        self.dirs.push((parent, name));
    }

    /// Pin `name` was made in `dir` by this load.
    pub fn pinned(&mut self, dir: Rc<Dir>, name: String) {
        self.pins.push((dir, name));
    }

    /// The staging directory `name` was made in `parent`.
    pub fn staging_made(&mut self, parent: Rc<Dir>, name: String) {
        self.staging = Some((parent, name, None));
    }

    /// The staging directory is open: undoing needs no new fd.
    pub fn staging_opened(&mut self, dir: Rc<Dir>) {
        if let Some((_, _, open)) = &mut self.staging {
            *open = Some(dir);
        }
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

    /// Undoes everything recorded, newest first: the attach before the
    /// staging directory, so that the program attached always has its
    /// pins. `ours` is the attached program, the expected one when putting
    /// back a replaced program. Returns what could not be undone.
    pub fn undo(self, ours: Option<BorrowedFd<'_>>, observer: &mut dyn Observer) -> Vec<String> {
        let mut left = Vec::new();
        let mut note = |result: Result<(), String>, what: String| match result {
            Ok(()) => {
                observer.event(&Event::RolledBack { what: &what });
                true
            }
            Err(error) => {
                left.push(format!("{what}: {error}"));
                false
            }
        };
        let sys = |result: Result<(), SysError>| result.map_err(|e| e.to_string());
        let pins = |result: Result<bool, PinError>| result.map(drop).map_err(|e| e.to_string());
        let attach_undone = match self.attach {
            None => true,
            // A link this load made: detached, whoever else holds it.
            Some(AttachUndo {
                link: Some(link),
                previous: None,
                ifindex,
                ..
            }) => note(
                sys(link_detach(link.as_fd())),
                format!("detach the BPF link from ifindex {ifindex}"),
            ),
            // A link whose program this load replaced: given back its
            // program, only if it still runs ours.
            Some(AttachUndo {
                link: Some(link),
                previous: Some(previous),
                ifindex,
                ..
            }) => note(
                sys(link_update(link.as_fd(), previous.as_fd(), ours)),
                format!("give the BPF link on ifindex {ifindex} its program back"),
            ),
            Some(attach) => match (attach.previous, ours) {
                (Some(previous), Some(ours)) => note(
                    sys(netlink::attach(
                        attach.ifindex,
                        previous.as_fd(),
                        attach.flags,
                        Some(ours),
                    )),
                    format!(
                        "re-attach the replaced program to ifindex {}",
                        attach.ifindex
                    ),
                ),
                // Only our program, never one another tool attached since.
                (None, Some(ours)) => note(
                    sys(
                        match netlink::detach_expected(attach.ifindex, attach.flags, ours) {
                            // Replaced meanwhile, or the device went (and the
                            // program with it): ours is not there to detach.
                            Err(error) if matches!(error.errno, libc::EEXIST | libc::ENODEV) => {
                                Ok(())
                            }
                            result => result,
                        },
                    ),
                    format!("detach from ifindex {}", attach.ifindex),
                ),
                _ => note(
                    sys(netlink::detach(attach.ifindex, attach.flags)),
                    format!("detach from ifindex {}", attach.ifindex),
                ),
            },
        };
        for (map, name) in self.registered.into_iter().rev() {
            let result = rxdp_syscalls::bpf::map_delete_elem(map.as_fd(), &0u32.to_ne_bytes());
            note(
                sys(result.map(drop)),
                format!("unregister struct_ops map {name}"),
            );
        }
        if let Some((parent, name, dir)) = self.staging {
            let path = parent.join(&name).display().to_string();
            if attach_undone {
                note(
                    pins(remove_pins_dir(&parent, &name, dir.as_deref())),
                    format!("remove {path}"),
                );
            } else {
                // While our program stays attached, its jump tables live in
                // the staging directory: kept, for the next load, `rxdp
                // status` or `rxdp unload` of the device to publish.
                note(
                    Err("its program is still attached: kept with its pins".to_string()),
                    path,
                );
            }
        }
        for (dir, name) in self.pins.into_iter().rev() {
            let result = match dir.unlink(&name) {
                Err(error) if error.errno == libc::ENOENT => Ok(()),
                result => result,
            };
            note(sys(result), format!("unpin {}", dir.join(&name).display()));
        }
        for (parent, name) in self.dirs.into_iter().rev() {
            // Another load may have put its own pins there meanwhile.
            note(
                pins(remove_if_bare(&parent, &name)),
                format!("rmdir {}", parent.join(&name).display()),
            );
        }
        left
    }
}
