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
    pub ifname: String,
    pub ifindex: u32,
    /// The programs detached, by slot.
    pub detached: Vec<(Mode, u32)>,
    /// The pin directories removed.
    pub removed: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum UnloadError {
    #[error("{dev}: {}{}", syscall(source), hint(source))]
    Device { dev: String, source: SysError },
    #[error(
        "{dev}: detach the {mode} program (id {id}): {}{}",
        syscall(source),
        hint(source)
    )]
    Detach {
        dev: String,
        mode: Mode,
        id: u32,
        source: SysError,
    },
    #[error("{dev}: remove {}: {}{}", path.display(), syscall(source), hint(source))]
    Pins {
        dev: String,
        path: PathBuf,
        source: SysError,
    },
}

/// The slots `mode` names: all three for `None` or auto.
fn slots(mode: Option<Mode>) -> Vec<Mode> {
    match mode {
        None | Some(Mode::Auto) => Mode::SLOTS.to_vec(),
        Some(mode) => vec![mode],
    }
}

/// Detaches the programs of `dev` in `mode` (every mode when `None`) and
/// removes the pin directories rxdp made for those modes.
pub fn unload(dev: &str, mode: Option<Mode>) -> Result<Unloaded, UnloadError> {
    let link = netlink::link_by_name(dev).map_err(|source| UnloadError::Device {
        dev: dev.to_string(),
        source,
    })?;
    let state = link.xdp;
    let mut detached = Vec::new();
    for slot in slots(mode) {
        let id = match slot {
            Mode::Skb => state.skb_prog_id,
            Mode::Drv => state.drv_prog_id,
            Mode::Hw => state.hw_prog_id,
            Mode::Auto => None,
        };
        if let Some(id) = id {
            netlink::detach(link.ifindex, slot.flags()).map_err(|source| UnloadError::Detach {
                dev: dev.to_string(),
                mode: slot,
                id,
                source,
            })?;
            detached.push((slot, id));
        }
    }
    let removed = remove_pins(dev, &slots(mode))?;
    Ok(Unloaded {
        ifname: link.name,
        ifindex: link.ifindex,
        detached,
        removed,
    })
}

fn remove_pins(dev: &str, modes: &[Mode]) -> Result<Vec<PathBuf>, UnloadError> {
    let failed = |path: &Path, source| UnloadError::Pins {
        dev: dev.to_string(),
        path: path.to_path_buf(),
        source,
    };
    let root =
        bpffs::find_mount().map_err(|source| failed(Path::new(bpffs::DEFAULT_MOUNT), source))?;
    let Some(root) = root else {
        return Ok(Vec::new());
    };
    let device_dir = root.join(dev);
    let mut removed = Vec::new();
    for mode in modes {
        let dir = device_dir.join(mode.name());
        if dir.symlink_metadata().is_ok() {
            bpffs::remove_dir_all(&dir).map_err(|source| failed(&dir, source))?;
            removed.push(dir);
        }
    }
    // The device directory goes when nothing else is left in it.
    if device_dir.symlink_metadata().is_ok() {
        match bpffs::unpin(&device_dir) {
            Ok(()) => removed.push(device_dir),
            Err(error) if error.errno == libc::ENOTEMPTY => {}
            Err(error) => return Err(failed(&device_dir, error)),
        }
    }
    Ok(removed)
}
