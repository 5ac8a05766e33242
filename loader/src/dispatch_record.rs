//! The intent record of a change of a libxdp dispatcher, so that one
//! whose loader was killed (SIGKILL, a power cut) is finished or undone by
//! the next change, by `rxdp status`, or by the `rxdp unload` that detaches
//! the dispatcher.
//!
//! A change ([`crate::multiprog`]) pins the new dispatcher's components
//! in `<bpffs>/xdp/dispatch-IFINDEX-NEWID/` before the swap and removes
//! the old dispatcher's `dispatch-IFINDEX-OLDID/` after it. Those pins
//! hold links, and the links hold their dispatcher: a loader that dies
//! between the first pin and the swap leaves a dispatcher attached
//! nowhere, held forever; one that dies between the swap and the removal
//! leaves the old one. libxdp names those directories, not rxdp, so
//! rxdp cannot tell its own from theirs by the name alone, and it removes
//! nothing it did not make. Before the first pin, the change writes a
//! record ([`crate::record`], kind `dispatch`) in rxdp's own directory:
//!
//! ```text
//! <bpffs>/rxdp/rxdp:dispatch-7-100-123 -> rxdp:1:dispatch:ifindex=7:new=123:old=100:pid=4242:start=98765
//! ```
//!
//! (the name: `rxdp:dispatch-IFINDEX-OLD-NEW`, 0 for none; its `:` keeps
//! it apart from device directories, and it is a symlink, which `status`
//! and `unload` skip there). It is removed last, once the old directory
//! is gone, or once a failed change removed the new one.
//!
//! Once the slot has changed (the swap, or the last component's detach),
//! the record is rewritten as `...-swapped` with `swapped=1`: from then on
//! the old dispatcher's directory is the change's to remove.
//!
//! A record whose loader is no longer running (pid and start time, as a
//! staging directory's) is resolved under libxdp's lock: the new
//! dispatcher's directory is removed unless it is attached in a slot of
//! the device (the change died before its swap; rxdp made it), and the
//! old one's once the slot had changed (the record says swapped, or the
//! new one is attached) unless it is attached again — by the names libxdp
//! pins (`progN-link`, `progN-prog`, then `rmdir`; anything else there is
//! left, and said). A change that died before its swap leaves the old
//! dispatcher's directory alone, whatever became of it since. Then the
//! record goes. A record of a running loader is left alone: its change is
//! under way.

use std::path::{Path, PathBuf};

use rxdp_syscalls::fs::{Dir, EntryType};
use rxdp_syscalls::netlink;
use rxdp_syscalls::Error as SysError;

use crate::attach::attached_mode;
use crate::libxdp;
use crate::pin::{self, PinError};
use crate::record::{Dispatch, Record};

/// What every record of a dispatcher change is named starting with.
pub const PREFIX: &str = "rxdp:dispatch-";

/// `rxdp:dispatch-IFINDEX-OLD-NEW`, 0 for a dispatcher there is not,
/// with `-swapped` once the slot changed.
pub fn record_name(change: &Dispatch) -> String {
    format!(
        "{PREFIX}{}-{}-{}{}",
        change.ifindex,
        change.old.unwrap_or(0),
        change.new.unwrap_or(0),
        if change.swapped { "-swapped" } else { "" }
    )
}

/// The record of a change under way, in `<bpffs>/rxdp/`.
pub(crate) struct Intent {
    root: Dir,
    name: String,
    change: Dispatch,
}

impl Intent {
    /// Writes the record of `change` (making `<bpffs>/rxdp/` if missing).
    pub(crate) fn write(bpffs: &Path, change: Dispatch) -> Result<Intent, PinError> {
        let root = pin::open_root(pin::open_bpffs(bpffs)?, true)?.ok_or_else(|| {
            PinError::Sys(
                SysError::new("mkdir", libc::ENOENT)
                    .with_subject(bpffs.join(pin::ROOT_DIR).display().to_string()),
            )
        })?;
        let name = record_name(&change);
        root.symlink(Record::Dispatch(change.clone()).to_string(), &name)?;
        Ok(Intent { root, name, change })
    }

    /// Says that the slot has changed: from here on the old dispatcher's
    /// directory is the change's to remove. The swapped record is written
    /// before the first goes; a loader killed between the two leaves both,
    /// which resolve alike (the new dispatcher is the one attached).
    pub(crate) fn swapped(&mut self) -> Result<(), SysError> {
        let mut change = self.change.clone();
        change.swapped = true;
        let name = record_name(&change);
        self.root
            .symlink(Record::Dispatch(change.clone()).to_string(), &name)?;
        let first = std::mem::replace(&mut self.name, name);
        self.change = change;
        self.root.unlink(&first)
    }

    /// Where the record is.
    pub(crate) fn path(&self) -> PathBuf {
        self.root.join(&self.name)
    }

    /// Removes the record: the change is complete, or fully undone.
    pub(crate) fn remove(self) -> Result<(), SysError> {
        self.root.unlink(&self.name)
    }

    /// [`Intent::remove`] once the change took effect, where a record
    /// that stays is only a warning: the next change resolves it.
    pub(crate) fn remove_or_warn(self, warnings: &mut Vec<String>) {
        let record = self.path();
        if let Err(error) = self.remove() {
            warnings.push(format!(
                "the change's record {} stays: {error}",
                record.display()
            ));
        }
    }
}

/// What became of a record of a dispatcher change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Its loader died; what it left is removed, and the record with it.
    Resolved,
    /// Its loader died, but not everything could be done: the record
    /// stays for the next change or `rxdp status` to try again. Why.
    Left(String),
    /// Its loader is running: the change is under way.
    Running,
}

/// A record of a dispatcher change found, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchRecovery {
    /// The record's path.
    pub record: PathBuf,
    /// What it says.
    pub change: Dispatch,
    /// The dispatcher directories removed.
    pub removed: Vec<PathBuf>,
    /// Directories left because they hold what libxdp does not pin there.
    pub kept: Vec<String>,
    /// The outcome.
    pub outcome: Outcome,
}

/// The records of dispatcher changes in `root` (of device `ifindex`; all
/// with `None`), by name.
fn records(root: &Dir, ifindex: Option<u32>) -> Result<Vec<(String, Dispatch)>, PinError> {
    let mut found = Vec::new();
    for (name, kind) in root.entries()? {
        let Some(name) = name.to_str().filter(|n| n.starts_with(PREFIX)) else {
            continue;
        };
        if kind != EntryType::Symlink {
            continue;
        }
        let Some(target) = root.read_link(name)? else {
            continue;
        };
        if let Some(Record::Dispatch(change)) = Record::parse(&target.to_string_lossy()) {
            if ifindex.is_none_or(|i| i == change.ifindex) {
                found.push((name.to_string(), change));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Resolves the records in `root` (rxdp's directory) of device `ifindex`
/// (all with `None`) whose loader died; `xdp` is libxdp's directory,
/// locked by the caller (`None`: there is none). With `running`, records
/// of running loaders are listed too, untouched.
pub(crate) fn recover(
    root: &Dir,
    xdp: Option<&Dir>,
    ifindex: Option<u32>,
    running: bool,
) -> Result<Vec<DispatchRecovery>, PinError> {
    let mut done = Vec::new();
    for (name, change) in records(root, ifindex)? {
        let mut found = DispatchRecovery {
            record: root.join(&name),
            change: change.clone(),
            removed: Vec::new(),
            kept: Vec::new(),
            outcome: Outcome::Running,
        };
        if change.loader.is_running() {
            if running {
                done.push(found);
            }
            continue;
        }
        found.outcome = match resolve(xdp, &change, &mut found.removed, &mut found.kept) {
            Ok(()) => match root.unlink(&name) {
                Ok(()) => Outcome::Resolved,
                Err(error) => Outcome::Left(format!("removing the record: {error}")),
            },
            Err(why) => Outcome::Left(why),
        };
        done.push(found);
    }
    Ok(done)
}

/// Removes the directory of each dispatcher `change` names that is
/// attached in no slot of its device.
fn resolve(
    xdp: Option<&Dir>,
    change: &Dispatch,
    removed: &mut Vec<PathBuf>,
    kept: &mut Vec<String>,
) -> Result<(), String> {
    let state = match netlink::link_by_index(change.ifindex) {
        Ok(link) => Some(link.xdp),
        // The device is gone, and with it every attachment.
        Err(error) if error.errno == libc::ENODEV => None,
        Err(error) => {
            return Err(format!(
                "the XDP slots of ifindex {} could not be read: {error}",
                change.ifindex
            ))
        }
    };
    let Some(xdp) = xdp else {
        return Ok(());
    };
    let attached = |id: u32| {
        state
            .as_ref()
            .is_some_and(|state| attached_mode(state, id).is_some())
    };
    // The old dispatcher's directory is the change's only once the slot
    // changed: a change that died before its swap took nothing over, and
    // whatever became of the old dispatcher since is another's doing.
    let old = change
        .old
        .filter(|_| change.swapped || change.new.is_some_and(attached));
    for id in [change.new, old].into_iter().flatten() {
        if attached(id) {
            continue;
        }
        let name = format!("dispatch-{}-{id}", change.ifindex);
        match libxdp::remove_pins_locked(xdp, change.ifindex, id) {
            Ok(None) => {}
            Ok(Some(path)) => match xdp.stat_at(&name) {
                Ok(None) => removed.push(path),
                Ok(Some(_)) => kept.push(format!(
                    "{} holds more than libxdp's pins: its pins are removed, the rest is left",
                    path.display()
                )),
                Err(error) => return Err(error.to_string()),
            },
            Err(error) => {
                return Err(format!(
                    "removing the pins of dispatcher {id} ({}): {error}",
                    xdp.join(&name).display()
                ))
            }
        }
    }
    Ok(())
}

/// Resolves, under libxdp's lock (waiting for it), the records of device
/// `ifindex` whose loader died: what `rxdp unload` does once it removed
/// the device's dispatcher, whose changes such records were.
pub(crate) fn recover_device(
    bpffs: &Path,
    ifindex: u32,
) -> Result<Vec<DispatchRecovery>, PinError> {
    let (Some(root), xdp) = open_dirs(bpffs)? else {
        return Ok(Vec::new());
    };
    if let Some(xdp) = &xdp {
        xdp.lock_exclusive()?;
    }
    recover(&root, xdp.as_ref(), Some(ifindex), false)
}

/// Opens `<bpffs>/rxdp` and `<bpffs>/xdp` as found (`None` for a missing
/// one), for [`recover`]; the second must be root's and closed to others,
/// as libxdp keeps it.
pub(crate) fn open_dirs(bpffs: &Path) -> Result<(Option<Dir>, Option<Dir>), PinError> {
    let root = pin::open_root(pin::open_bpffs(bpffs)?, false)?;
    let xdp = match Dir::open_no_follow(&bpffs.join(libxdp::XDP_DIR)) {
        Ok(dir) => Some(dir),
        Err(error) if error.errno == libc::ENOENT => None,
        Err(error) => return Err(error.into()),
    };
    if let Some(xdp) = &xdp {
        let stat = xdp.stat()?;
        pin::check_dir(&stat, xdp.path())?;
    }
    Ok((root, xdp))
}
