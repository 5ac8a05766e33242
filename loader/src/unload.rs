//! `rxdp unload`: detach what is attached to a device and remove the pins
//! rxdp made for it (`/sys/fs/bpf/IF/MODE/`, and `/sys/fs/bpf/IF/` once
//! empty). Shared pins (iproute2 `tc/globals`, pins by name) are left alone:
//! other objects may use them.

use std::path::{Path, PathBuf};

use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink;
use rxdp_syscalls::Error as SysError;

use crate::error::{hint, syscall};
use crate::options::Mode;

/// What an unload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unloaded {
    /// The interface.
    pub ifname: String,
    /// Its index.
    pub ifindex: u32,
    /// The programs detached, by slot.
    pub detached: Vec<(Mode, u32)>,
    /// The pin directories removed.
    pub removed: Vec<PathBuf>,
}

/// What an unload had done when it stopped, for its error message: a
/// failed unload says what it changed and what it left, so that the user
/// knows the state of the device without looking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// The programs detached before the failure, by slot.
    pub detached: Vec<(Mode, u32)>,
    /// The pin directories removed before the failure.
    pub removed: Vec<PathBuf>,
}

impl Progress {
    /// `done: ...` for what was changed, or that nothing was.
    fn done(&self) -> String {
        let mut done: Vec<String> = self
            .detached
            .iter()
            .map(|(mode, id)| format!("detached the {mode} program (id {id})"))
            .collect();
        done.extend(
            self.removed
                .iter()
                .map(|dir| format!("removed {}", dir.display())),
        );
        if done.is_empty() {
            "nothing was changed".to_string()
        } else {
            format!("done before the failure: {}", done.join(", "))
        }
    }
}

/// Why an unload stopped, and what it had changed by then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnloadError {
    /// The interface could not be found: nothing was changed.
    #[error("{dev}: {}{}; nothing was changed", syscall(error), hint(error))]
    Device {
        /// The interface.
        dev: String,
        /// What failed.
        error: SysError,
    },
    /// A program could not be detached.
    #[error(
        "{dev}: detach the {mode} program (id {id}): {}{}; {}; program id {id} is still \
         attached and no pins were removed",
        syscall(error),
        hint(error),
        done.done()
    )]
    Detach {
        /// The interface.
        dev: String,
        /// The slot.
        mode: Mode,
        /// The kernel id of the program.
        id: u32,
        /// What failed.
        error: SysError,
        /// What was changed before the failure.
        done: Progress,
    },
    /// bpffs could not be found to remove the pins.
    #[error(
        "{dev}: find bpffs to remove the pins: {}{}; {}; the pins are left in place",
        syscall(error),
        hint(error),
        done.done()
    )]
    Bpffs {
        /// The interface.
        dev: String,
        /// What failed.
        error: SysError,
        /// What was changed before the failure.
        done: Progress,
    },
    /// A pin directory could not be removed.
    #[error(
        "{dev}: remove {}: {}{}; {}; {} is left (what of it could not be removed): \
         remove it by hand",
        path.display(),
        syscall(error),
        hint(error),
        done.done(),
        path.display()
    )]
    Pins {
        /// The interface.
        dev: String,
        /// What is left.
        path: PathBuf,
        /// What failed.
        error: SysError,
        /// What was changed before the failure.
        done: Progress,
    },
}

impl UnloadError {
    /// What the unload changed before it failed.
    pub fn progress(&self) -> Option<&Progress> {
        match self {
            UnloadError::Device { .. } => None,
            UnloadError::Detach { done, .. }
            | UnloadError::Bpffs { done, .. }
            | UnloadError::Pins { done, .. } => Some(done),
        }
    }
}

/// The slots `mode` names: all three for `None` or auto.
fn slots(mode: Option<Mode>) -> Vec<Mode> {
    match mode {
        None | Some(Mode::Auto) => Mode::SLOTS.to_vec(),
        Some(mode) => vec![mode],
    }
}

/// Detaches the programs of `dev` in `mode` (every mode when `None`) and
/// removes the pin directories rxdp made for those modes. It stops at the
/// first failure — pins are removed only once their program is detached,
/// a program whose jump tables went would fall through — and the error
/// says what had been done by then ([`Progress`]).
pub fn unload(dev: &str, mode: Option<Mode>) -> Result<Unloaded, UnloadError> {
    let link = netlink::link_by_name(dev).map_err(|error| UnloadError::Device {
        dev: dev.to_string(),
        error,
    })?;
    let state = link.xdp;
    let mut done = Progress::default();
    for slot in slots(mode) {
        let id = match slot {
            Mode::Skb => state.skb_prog_id,
            Mode::Drv => state.drv_prog_id,
            Mode::Hw => state.hw_prog_id,
            Mode::Auto => None,
        };
        if let Some(id) = id {
            if let Err(error) = netlink::detach(link.ifindex, slot.flags()) {
                return Err(UnloadError::Detach {
                    dev: dev.to_string(),
                    mode: slot,
                    id,
                    error,
                    done,
                });
            }
            done.detached.push((slot, id));
        }
    }
    remove_pins(dev, &slots(mode), &mut done)?;
    Ok(Unloaded {
        ifname: link.name,
        ifindex: link.ifindex,
        detached: done.detached,
        removed: done.removed,
    })
}

fn remove_pins(dev: &str, modes: &[Mode], done: &mut Progress) -> Result<(), UnloadError> {
    let failed = |path: &Path, error, done: &mut Progress| UnloadError::Pins {
        dev: dev.to_string(),
        path: path.to_path_buf(),
        error,
        done: std::mem::take(done),
    };
    let root = match bpffs::find_mount() {
        Ok(Some(root)) => root,
        Ok(None) => return Ok(()),
        Err(error) => {
            return Err(UnloadError::Bpffs {
                dev: dev.to_string(),
                error,
                done: std::mem::take(done),
            })
        }
    };
    let device_dir = root.join(dev);
    // Whether the device directory is there: "cannot look" (EACCES for a
    // user who may not read bpffs) is an error, not "nothing to remove".
    let exists = |path: &Path| match path.symlink_metadata() {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(
            SysError::new("lstat", error.raw_os_error().unwrap_or(libc::EIO))
                .with_subject(path.display().to_string()),
        ),
    };
    for mode in modes {
        let dir = device_dir.join(mode.name());
        match exists(&dir) {
            Ok(false) => {}
            Ok(true) => {
                if let Err(error) = bpffs::remove_dir_all(&dir) {
                    return Err(failed(&dir, error, done));
                }
                done.removed.push(dir);
            }
            Err(error) => return Err(failed(&dir, error, done)),
        }
    }
    // The device directory goes when nothing else is left in it.
    match exists(&device_dir) {
        Ok(false) => {}
        Ok(true) => match bpffs::unpin(&device_dir) {
            Ok(()) => done.removed.push(device_dir),
            Err(error) if error.errno == libc::ENOTEMPTY => {}
            Err(error) => return Err(failed(&device_dir, error, done)),
        },
        Err(error) => return Err(failed(&device_dir, error, done)),
    }
    Ok(())
}
