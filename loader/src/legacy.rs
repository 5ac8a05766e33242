//! The pin layout of rxdp before `rxdp/`: `/sys/fs/bpf/IF/MODE/NAME`.
//!
//! Those directories carry no record, so nothing proves rxdp made them —
//! and an interface named `tc` or `xdp` had its pins mixed into iproute2's
//! or xdp-tools' directories. They are recognised by what they hold
//! instead: a pin in `/sys/fs/bpf/IF/MODE/` whose map is one of the maps
//! of the program that ran in that slot of IF is that program's pin. When
//! that program goes — `rxdp unload` detaches it, or a load replaces it —
//! exactly those pins are removed, then the directories if they are left
//! empty. Nothing else there is touched. `rxdp status` shows such
//! directories as the old layout.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rxdp_syscalls::bpf::{map_info, prog_get_fd_by_id, prog_info};
use rxdp_syscalls::fs::{Dir, EntryType};

use crate::options::Mode;
use crate::pin::{open_bpffs, open_checked, read_record, trusted_uid, PinError};

/// `/sys/fs/bpf/IF`, when it is a directory of root's without rxdp's
/// record. Anything else there (a symlink, another user's directory) is
/// not rxdp's old layout, and is passed over without a word: a name
/// another user planted must not stop an unload.
fn device_dir(bpffs: &Dir, ifname: &str) -> Result<Option<Dir>, PinError> {
    if ifname.contains(['/', '.']) || ifname.is_empty() {
        return Ok(None);
    }
    let dir = match open_checked(bpffs, OsStr::new(ifname)) {
        Ok(Some(dir)) => dir,
        Ok(None)
        | Err(
            PinError::Symlink { .. }
            | PinError::Owner { .. }
            | PinError::Writable { .. }
            | PinError::NotDirectory { .. },
        ) => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(read_record(&dir)?.is_none().then_some(dir))
}

/// Removes the pins in `<bpffs>/IF/MODE/` that hold maps of program
/// `replaced` (the one a load just replaced in that slot), then the
/// directories if empty. Returns warnings for what could not be done;
/// never fails the load, whose own work is done.
pub(crate) fn remove_pins_of(bpffs: &Path, ifname: &str, mode: Mode, replaced: u32) -> Vec<String> {
    let result = exists(bpffs, ifname, mode).and_then(|exists| {
        if !exists {
            return Ok(());
        }
        let prog = prog_get_fd_by_id(replaced)?;
        let maps = prog_info(prog.as_fd())?.map_ids;
        remove(bpffs, ifname, mode, &maps).map(drop)
    });
    match result {
        Ok(()) => Vec::new(),
        Err(error) => vec![format!(
            "the pins of the replaced program (id {replaced}) in the old layout, {}, were left: \
             {error}",
            bpffs.join(ifname).join(mode.name()).display()
        )],
    }
}

/// Whether `<bpffs>/IF/MODE/` of the old layout is there.
fn exists(bpffs: &Path, ifname: &str, mode: Mode) -> Result<bool, PinError> {
    Ok(present(bpffs, ifname)?.contains(&mode))
}

/// The slots of `ifname` that have a directory in the old layout.
pub(crate) fn present(bpffs: &Path, ifname: &str) -> Result<Vec<Mode>, PinError> {
    let root = open_bpffs(bpffs)?;
    let Some(device) = device_dir(&root, ifname)? else {
        return Ok(Vec::new());
    };
    let mut present = Vec::new();
    for mode in Mode::SLOTS {
        if device.stat_at(mode.name())?.is_some() {
            present.push(mode);
        }
    }
    Ok(present)
}

/// What [`remove_pins_of`] does; returns the pins removed.
pub(crate) fn remove(
    bpffs: &Path,
    ifname: &str,
    mode: Mode,
    maps: &[u32],
) -> Result<Vec<PathBuf>, PinError> {
    let root = open_bpffs(bpffs)?;
    let Some(device) = device_dir(&root, ifname)? else {
        return Ok(Vec::new());
    };
    let Some(slot) = open_checked(&device, OsStr::new(mode.name()))? else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for (name, kind) in slot.entries()? {
        if kind != EntryType::File
            || !slot
                .stat_at(&name)?
                .is_some_and(|stat| stat.kind == EntryType::File && trusted_uid(stat.uid))
        {
            continue;
        }
        let id = slot
            .get(&name)
            .ok()
            .and_then(|fd| map_info(fd.as_fd()).ok())
            .map(|info| info.id);
        if id.is_some_and(|id| maps.contains(&id)) {
            slot.unlink(&name)?;
            removed.push(slot.join(&name));
        }
    }
    if slot.entries()?.is_empty() {
        device.remove_dir(mode.name())?;
        if device.entries()?.is_empty() {
            root.remove_dir(ifname)?;
        }
    }
    Ok(removed)
}

/// The slot directories of the old layout for `ifname`, with their pins
/// (sorted).
pub(crate) fn dirs(
    bpffs: &Path,
    ifname: &str,
) -> Result<Vec<(Mode, PathBuf, Vec<String>)>, PinError> {
    let root = open_bpffs(bpffs)?;
    let Some(device) = device_dir(&root, ifname)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for mode in Mode::SLOTS {
        if let Some(slot) = open_checked(&device, OsStr::new(mode.name()))? {
            let pins = slot
                .entries()?
                .into_iter()
                .map(|(name, _)| name.to_string_lossy().into_owned())
                .collect();
            out.push((mode, slot.path().to_path_buf(), pins));
        }
    }
    Ok(out)
}
