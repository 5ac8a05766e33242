//! Stage 7 (and the last step): pinning the maps so that they outlive rxdp.
//!
//! A prog array is emptied by the kernel when the last user-space reference
//! to it goes (design.md, "Prog arrays empty..."): the loader exits, its fds
//! close, and tail calls silently fall through. Pinning keeps a reference
//! in bpffs. The layout:
//!
//! ```text
//! /sys/fs/bpf/rxdp/                rxdp's own directory (it stays once made)
//! /sys/fs/bpf/rxdp/IF/             one per device ('.' in IF written %2e)
//! /sys/fs/bpf/rxdp/IF/MODE/NAME    the maps of the program attached to IF in
//!                                  MODE (skb, drv or hw: the mode the kernel
//!                                  reports, also under --mode auto)
//! /sys/fs/bpf/rxdp/IF/staging-PID-START-N/
//!                                  where a load pins first
//! DIR/NAME                         with --pin-dir DIR; staging beside it:
//!                                  DIR/../NAME-staging-PID-START-N/
//! /sys/fs/bpf/tc/globals/NAME      iproute2 PIN_GLOBAL_NS maps (shared with ip/tc)
//! /sys/fs/bpf/tc/<sha1>/NAME       iproute2 PIN_OBJECT_NS maps; <sha1> of the object file
//! /sys/fs/bpf/NAME                 LIBBPF_PIN_BY_NAME maps (DIR/NAME with --pin-dir DIR)
//! ```
//!
//! Device directories live under `rxdp/`, not at the top of bpffs: an
//! interface may be named `tc`, `ip` or `xdp`, whose directories there are
//! iproute2's and xdp-tools'. One directory per device *and mode* lets an
//! offloaded program and a native one run on one device (the seed's
//! offload pair) without one load destroying the other's pins. The layout
//! of earlier rxdp versions, `/sys/fs/bpf/IF/MODE/`, is read by `status`
//! and cleaned up by `unload` and by a load replacing its program (see
//! `legacy`).
//!
//! **Ownership.** Every directory rxdp makes carries a record
//! ([`crate::record`]), a symlink whose text says what the directory is
//! for. rxdp pins only into directories with its record (or empty ones),
//! refuses an existing `--pin-dir` that holds anything else before it
//! makes anything, and removes only pins from directories with its record
//! (never a subdirectory or a symlink found there, never a pin of another
//! user).
//!
//! **No path is trusted twice.** Every step below the bpffs mount point is
//! an `openat(O_NOFOLLOW | O_DIRECTORY)` relative to the directory before,
//! checked with `fstat`: a symlink, something that is not a directory, a
//! directory of another user, or one others may write into (not sticky),
//! is refused with an error naming it. Pins are made and opened relative
//! to the open directory. A bpffs mounted world-writable (mode 1777, as
//! some systems mount `/sys/fs/bpf`) lets any user create names at its
//! top: those are never followed.
//!
//! **Crash-consistent publishing.** A load never removes the old pins
//! before its own program is attached: it pins into a staging directory
//! (record first, then the pins), attaches, then swaps the staging
//! directory into place with one `renameat2(RENAME_EXCHANGE)` (a plain
//! rename when there was none) and removes the old set (pins first, record
//! last). Whenever it dies, the attached program's pins are in the final
//! directory or in a staging one whose record names that program. The
//! staging name holds the loader's pid and start time: the next load,
//! `status` or `unload` of the device that finds one whose loader is no
//! longer running finishes what it was doing — publishes it if its program
//! is the one attached, removes it otherwise (`recover`).
//!
//! bpffs refuses names containing a dot (EPERM), so pin names keep only
//! letters, digits, `_` and `-`: `.rodata` pins as `rodata`,
//! `.rodata.str1.1` as `rodata_str1_1`.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use rxdp_elf::{Map, Pinning};
use rxdp_syscalls::fs::bpffs::BPF_FS_MAGIC;
use rxdp_syscalls::fs::procfs::{this_process, Process};
use rxdp_syscalls::fs::{euid, Dir, EntryType, Stat};
use rxdp_syscalls::netlink;
use rxdp_syscalls::Error as SysError;

use crate::attach::attached_mode;
use crate::error::LoadError;
use crate::observe::{Event, Observer, Stage};
use crate::options::Mode;
use crate::pipeline::LoadedMap;
use crate::record::{Pins, Record, RECORD};
use crate::rollback::Rollback;

/// rxdp's directory at the top of bpffs.
pub const ROOT_DIR: &str = "rxdp";

/// Why a directory or pin in bpffs is not used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// A syscall on a directory or pin failed.
    #[error("{0}")]
    Sys(SysError),
    /// A symlink where rxdp expects a directory or a pin.
    #[error("{} is a symbolic link{}: rxdp follows no symlink in bpffs, where another user may have planted it; remove it if it is not yours", path.display(), target.as_ref().map(|t| format!(" (to {t})")).unwrap_or_default())]
    Symlink {
        /// The symlink.
        path: PathBuf,
        /// Where it points, when it could be read.
        target: Option<String>,
    },
    /// Something else than a directory where rxdp expects one.
    #[error("{} is {what}, not a directory: remove it if it is not yours, or pin elsewhere", path.display())]
    NotDirectory {
        /// The path.
        path: PathBuf,
        /// What it is (`a pin`, `neither a directory nor a pin`).
        what: &'static str,
    },
    /// A directory or pin of another user than root or this one.
    #[error("{} belongs to uid {uid}, not to {}: rxdp uses nothing another user made in bpffs; remove it if it is not yours", path.display(), owners())]
    Owner {
        /// The directory or pin.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// A directory others may write into, and not sticky.
    #[error("{} has mode {mode:04o}: other users could swap what is in it; rxdp uses only directories others cannot write into (chmod go-w), or sticky ones", path.display())]
    Writable {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A directory without rxdp's record that is not empty.
    #[error("{} holds {} rxdp did not make ({}): rxdp pins only into a directory it made or an empty one, and never removes what it did not make; choose another directory", path.display(), count(entries.len()), list(entries))]
    Foreign {
        /// The directory.
        path: PathBuf,
        /// What is in it.
        entries: Vec<String>,
    },
    /// A directory whose record is of a later rxdp.
    #[error("{} carries the record of a later rxdp ({record}): this one leaves it alone", path.display())]
    Later {
        /// The directory.
        path: PathBuf,
        /// The record, as written.
        record: String,
    },
    /// A directory whose record is of another kind than its place asks.
    #[error("{} carries rxdp's record of {found}, where {expected} belongs", path.display())]
    WrongRecord {
        /// The directory.
        path: PathBuf,
        /// The kind its place asks for (`a device directory`).
        expected: &'static str,
        /// The kind its record says.
        found: &'static str,
    },
    /// A `--pin-dir` that is not on a bpffs.
    #[error("{} is not on a bpffs: maps are pinned on a bpffs (mount -t bpf bpf DIR); choose a directory under /sys/fs/bpf", path.display())]
    NotBpffs {
        /// The directory.
        path: PathBuf,
    },
    /// A `--pin-dir` rxdp cannot use as a path (empty, `/`, ending in `..`).
    #[error("--pin-dir {:?}: {why}", path.display().to_string())]
    BadPath {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Entries rxdp did not make are left in a directory it would remove.
    #[error("{} still holds {} rxdp did not make ({}): they are left there", path.display(), count(entries.len()), list(entries))]
    Left {
        /// The directory.
        path: PathBuf,
        /// What is left in it.
        entries: Vec<String>,
    },
    /// A `--pin-dir` holding the pins of a program still attached.
    #[error("{} holds the pins of program {prog}, attached to {ifname} (ifindex {ifindex}): replacing them would empty its jump tables; choose another --pin-dir, or `rxdp unload --dev {ifname}` first", path.display())]
    InUse {
        /// The directory.
        path: PathBuf,
        /// The program its record names.
        prog: u32,
        /// The device it is attached to.
        ifname: String,
        /// That device's ifindex.
        ifindex: u32,
    },
    /// A shared pin rxdp will not reuse (not a map, not one it can open).
    #[error("{} {what}: {advice}; remove it if it is not yours", path.display())]
    BadPin {
        /// The pin.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
        /// What to do.
        advice: &'static str,
    },
}

fn owners() -> String {
    match euid() {
        0 => "root".to_string(),
        uid => format!("uid {uid} or root"),
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "an entry".to_string()
    } else {
        format!("{n} entries")
    }
}

fn list(entries: &[String]) -> String {
    let mut shown: Vec<&str> = entries.iter().take(5).map(String::as_str).collect();
    let more;
    if entries.len() > 5 {
        more = format!("and {} more", entries.len() - 5);
        shown.push(&more);
    }
    shown.join(", ")
}

impl From<SysError> for PinError {
    fn from(error: SysError) -> PinError {
        PinError::Sys(error)
    }
}

impl PinError {
    /// The syscall error, when a syscall failed.
    pub fn syscall_error(&self) -> Option<&SysError> {
        match self {
            PinError::Sys(error) => Some(error),
            _ => None,
        }
    }
}

/// The bpffs name of a map: letters, digits, `_` and `-` kept, leading dots
/// dropped, every other character `_`.
pub fn pin_name(map_name: &str) -> String {
    map_name
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The name of a device's directory: the interface name with `%` written
/// `%25` and `.` written `%2e` (bpffs refuses names with dots; VLAN
/// interfaces are named `eth0.100`).
pub fn device_dir_name(ifname: &str) -> String {
    ifname.replace('%', "%25").replace('.', "%2e")
}

/// The interface name of a device directory; `None` for a name
/// [`device_dir_name`] cannot produce.
pub fn ifname_of_dir(name: &str) -> Option<String> {
    let ifname = name.replace("%2e", ".").replace("%25", "%");
    (device_dir_name(&ifname) == name).then_some(ifname)
}

/// A staging directory's name: `PREFIXstaging-PID-START-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StagingName {
    pub loader: Process,
    pub n: u32,
}

impl StagingName {
    fn format(&self, prefix: &str) -> String {
        format!(
            "{prefix}staging-{}-{}-{}",
            self.loader.pid, self.loader.start, self.n
        )
    }

    pub(crate) fn parse(prefix: &str, name: &str) -> Option<StagingName> {
        let rest = name.strip_prefix(prefix)?.strip_prefix("staging-")?;
        let mut parts = rest.split('-');
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        let n = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(StagingName {
            loader: Process { pid, start },
            n,
        })
    }
}

/// Where the pins of a load end up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinTarget {
    /// `<bpffs>/rxdp/IF/`, the final directory being `<bpffs>/rxdp/IF/MODE`.
    Device {
        /// The bpffs mount.
        bpffs: PathBuf,
        /// The interface.
        ifname: String,
    },
    /// `--pin-dir DIR`.
    Dir(PathBuf),
}

impl PinTarget {
    /// `<bpffs>/rxdp/IF/` of device `ifname`.
    pub fn device_dir(bpffs: &Path, ifname: &str) -> PathBuf {
        bpffs.join(ROOT_DIR).join(device_dir_name(ifname))
    }

    /// The directory that holds the final and the staging directory.
    pub fn parent(&self) -> PathBuf {
        match self {
            PinTarget::Device { bpffs, ifname } => PinTarget::device_dir(bpffs, ifname),
            PinTarget::Dir(dir) => dir
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        }
    }

    /// The name of the final directory in [`PinTarget::parent`] once the
    /// program is attached in `mode` (`None`: not attached, or not known).
    pub fn final_name(&self, mode: Option<Mode>) -> Option<String> {
        match (self, mode) {
            (PinTarget::Device { .. }, Some(mode)) if mode != Mode::Auto => {
                Some(mode.name().to_string())
            }
            (PinTarget::Device { .. }, _) => None,
            (PinTarget::Dir(dir), _) => dir.file_name().map(|n| n.to_string_lossy().into_owned()),
        }
    }

    /// The final directory, as a path.
    pub fn final_dir(&self, mode: Option<Mode>) -> PathBuf {
        match self.final_name(mode) {
            Some(name) => self.parent().join(name),
            None => self.parent(),
        }
    }

    /// What staging names start with before `staging-`.
    fn staging_prefix(&self) -> String {
        match self {
            PinTarget::Device { .. } => String::new(),
            PinTarget::Dir(dir) => dir
                .file_name()
                .map(|n| format!("{}-", n.to_string_lossy()))
                .unwrap_or_default(),
        }
    }

    /// A staging name of this process, a new one each call: two loads of
    /// one process (threads of a program embedding rxdp) must not stage
    /// into one directory.
    fn staging_name(&self, loader: Process) -> String {
        static LOADS: AtomicU32 = AtomicU32::new(0);
        let n = LOADS.fetch_add(1, Ordering::Relaxed);
        StagingName { loader, n }.format(&self.staging_prefix())
    }
}

/// The lock a load or an unload of device `ifname` takes
/// ([`rxdp_syscalls::fs::lock`]).
pub fn device_lock(ifname: &str) -> String {
    format!("device-{}", device_dir_name(ifname))
}

/// The lock of a `--pin-dir`: loads publishing into one directory take turns.
pub fn pin_dir_lock(dir: &Path) -> String {
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .unwrap_or_else(|_| dir.to_path_buf());
    // FNV-1a: a short name that differs for different paths; two paths
    // sharing one would only make their loads take turns.
    let hash = absolute
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("pin-dir-{hash:016x}")
}

/// Whether a file of `uid` may be used: root's, or this user's.
pub(crate) fn trusted_uid(uid: u32) -> bool {
    uid == 0 || uid == euid()
}

/// Checks a directory may be worked in: a directory of root (or this
/// user) that others cannot write into unless it is sticky.
pub(crate) fn check_dir(stat: &Stat, path: &Path) -> Result<(), PinError> {
    if stat.kind != EntryType::Directory {
        return Err(PinError::NotDirectory {
            path: path.to_path_buf(),
            what: kind_name(stat.kind),
        });
    }
    if !trusted_uid(stat.uid) {
        return Err(PinError::Owner {
            path: path.to_path_buf(),
            uid: stat.uid,
        });
    }
    if stat.writable_by_others() && !stat.sticky() {
        return Err(PinError::Writable {
            path: path.to_path_buf(),
            mode: stat.mode,
        });
    }
    Ok(())
}

fn kind_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::Directory => "a directory",
        EntryType::File => "a pin",
        EntryType::Symlink => "a symbolic link",
        _ => "neither a directory nor a pin",
    }
}

/// The directory `name` in `parent`, checked ([`check_dir`]) and never
/// through a symlink; `None` when there is no such entry.
pub(crate) fn open_checked(parent: &Dir, name: &OsStr) -> Result<Option<Dir>, PinError> {
    let path = parent.join(name);
    let Some(stat) = parent.stat_at(name)? else {
        return Ok(None);
    };
    if stat.kind == EntryType::Symlink {
        let target = parent
            .read_link(name)
            .ok()
            .flatten()
            .map(|t| t.to_string_lossy().into_owned());
        return Err(PinError::Symlink { path, target });
    }
    check_dir(&stat, &path)?;
    let dir = match parent.open_dir(name) {
        Ok(dir) => dir,
        // Swapped between the two calls: whatever it is now, it is not
        // the directory just checked.
        Err(error) if matches!(error.errno, libc::ELOOP | libc::ENOTDIR) => {
            return Err(PinError::Symlink { path, target: None })
        }
        Err(error) if error.errno == libc::ENOENT => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    check_dir(&dir.stat()?, &path)?;
    Ok(Some(dir))
}

/// The record of `dir`: `None` when it has none (a symlink named like the
/// record but not rxdp's, or of another user, is no record).
pub(crate) fn read_record(dir: &Dir) -> Result<Option<Record>, PinError> {
    match dir.stat_at(RECORD)? {
        Some(stat) if stat.kind == EntryType::Symlink && trusted_uid(stat.uid) => Ok(dir
            .read_link(RECORD)?
            .and_then(|target| Record::parse(&target.to_string_lossy()))),
        _ => Ok(None),
    }
}

fn record_kind(record: &Record) -> &'static str {
    match record {
        Record::Root => "rxdp's own directory",
        Record::Device { .. } => "a device directory",
        Record::Pins(_) => "a directory of pins",
        Record::Dispatch(_) => "the record of a dispatcher change",
        Record::Unknown(_) => "a later kind",
    }
}

/// The entries of `dir` other than the record, as text.
fn other_entries(dir: &Dir) -> Result<Vec<String>, PinError> {
    Ok(dir
        .entries()?
        .into_iter()
        .filter(|(name, _)| name != RECORD)
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect())
}

/// Checks that `dir` carries a record of the kind of `want`; an empty
/// directory without one is adopted when `adopt` (the record is written).
fn check_record(dir: &Dir, want: &Record, adopt: bool) -> Result<Option<Record>, PinError> {
    let path = dir.path().to_path_buf();
    match read_record(dir)? {
        Some(Record::Unknown(text)) => Err(PinError::Later { path, record: text }),
        Some(found) if std::mem::discriminant(&found) == std::mem::discriminant(want) => {
            Ok(Some(found))
        }
        Some(found) => Err(PinError::WrongRecord {
            path,
            expected: record_kind(want),
            found: record_kind(&found),
        }),
        None => {
            let entries = other_entries(dir)?;
            if !entries.is_empty() {
                return Err(PinError::Foreign { path, entries });
            }
            if adopt {
                dir.symlink(want.to_string(), RECORD)?;
            }
            Ok(None)
        }
    }
}

/// The directory `name` in `parent` with `record`'s kind of record: an
/// existing one is checked (an empty one without a record adopted), a
/// missing one made (mode 0700, record first) when `create`, else `None`.
/// A directory made here is recorded in `rollback` at once, when given.
fn claim(
    parent: &Rc<Dir>,
    name: &str,
    record: &Record,
    create: bool,
    rollback: Option<&mut Rollback>,
) -> Result<Option<Dir>, PinError> {
    if let Some(dir) = open_checked(parent, OsStr::new(name))? {
        check_record(&dir, record, create)?;
        return Ok(Some(dir));
    }
    if !create {
        return Ok(None);
    }
    match parent.make_dir(name, 0o700) {
        Ok(()) => {
            if let Some(rollback) = rollback {
                rollback.created_dir(parent.clone(), name.to_string());
            }
        }
        // Made meanwhile by another process: check it as found.
        Err(error) if error.errno == libc::EEXIST => {}
        Err(error) => return Err(error.into()),
    }
    let dir = open_checked(parent, OsStr::new(name))?.ok_or_else(|| {
        SysError::new("openat", libc::ENOENT).with_subject(parent.join(name).display().to_string())
    })?;
    check_record(&dir, record, true)?;
    Ok(Some(dir))
}

/// Removes the directory of pins `name` from `parent` (`dir` when it is
/// open already): its pins of root's (or this user's) and its record, last,
/// then the directory. Nothing else is removed: a directory without the
/// record must be empty, and a subdirectory, a symlink or a pin of another
/// user found inside stays and is named in the error. No new fd is opened
/// when `dir` is given: a process out of fds can still undo its staging.
pub(crate) fn remove_pins_dir(
    parent: &Dir,
    name: &str,
    dir: Option<&Dir>,
) -> Result<bool, PinError> {
    let opened;
    let dir = match dir {
        Some(dir) => dir,
        None => match open_checked(parent, OsStr::new(name))? {
            Some(dir) => {
                opened = dir;
                &opened
            }
            None => return Ok(false),
        },
    };
    let path = dir.path().to_path_buf();
    let marked = match read_record(dir)? {
        Some(Record::Pins(_)) => true,
        None => false,
        Some(Record::Unknown(text)) => return Err(PinError::Later { path, record: text }),
        Some(found) => {
            return Err(PinError::WrongRecord {
                path,
                expected: record_kind(&Record::Pins(placeholder_pins())),
                found: record_kind(&found),
            })
        }
    };
    let mut left = Vec::new();
    for (entry, kind) in dir.entries()? {
        if entry == RECORD {
            continue;
        }
        let ours = marked
            && kind == EntryType::File
            && dir
                .stat_at(&entry)?
                .is_some_and(|stat| stat.kind == EntryType::File && trusted_uid(stat.uid));
        if !ours {
            left.push(entry.to_string_lossy().into_owned());
            continue;
        }
        match dir.unlink(&entry) {
            Err(error) if error.errno != libc::ENOENT => return Err(error.into()),
            _ => {}
        }
    }
    if !left.is_empty() {
        return Err(PinError::Left {
            path,
            entries: left,
        });
    }
    if marked {
        match dir.unlink(RECORD) {
            Err(error) if error.errno != libc::ENOENT => return Err(error.into()),
            _ => {}
        }
    }
    match parent.remove_dir(name) {
        Ok(()) => Ok(true),
        Err(error) if error.errno == libc::ENOENT => Ok(false),
        Err(error) => Err(error.into()),
    }
}

fn placeholder_pins() -> Pins {
    Pins {
        ifindex: None,
        ifname: None,
        mode: None,
        prog: None,
        loader: Process { pid: 0, start: 0 },
    }
}

/// Removes the directory `name` (a device directory) if nothing but its
/// record is left in it; returns whether it did.
pub(crate) fn remove_if_bare(parent: &Dir, name: &str) -> Result<bool, PinError> {
    let Some(dir) = open_checked(parent, OsStr::new(name))? else {
        return Ok(false);
    };
    if !other_entries(&dir)?.is_empty() {
        return Ok(false);
    }
    if read_record(&dir)?.is_some() {
        dir.unlink(RECORD)?;
    }
    match parent.remove_dir(name) {
        Ok(()) => Ok(true),
        Err(error) if matches!(error.errno, libc::ENOENT | libc::ENOTEMPTY) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The open bpffs mount.
pub(crate) fn open_bpffs(root: &Path) -> Result<Dir, PinError> {
    let dir = Dir::open(root)?;
    if dir.fs_magic()? != BPF_FS_MAGIC {
        return Err(PinError::NotBpffs {
            path: root.to_path_buf(),
        });
    }
    check_dir(&dir.stat()?, root)?;
    Ok(dir)
}

/// `<bpffs>/rxdp`, checked; made when `create` (it stays once made).
pub(crate) fn open_root(bpffs: Dir, create: bool) -> Result<Option<Dir>, PinError> {
    claim(&Rc::new(bpffs), ROOT_DIR, &Record::Root, create, None)
}

/// The directory of device `ifname` under `<bpffs>/rxdp`, checked; `None`
/// when missing.
pub(crate) fn open_device_dir(root: &Dir, ifname: &str) -> Result<Option<Dir>, PinError> {
    let record = Record::Device {
        ifname: ifname.to_string(),
    };
    let name = device_dir_name(ifname);
    let Some(dir) = open_checked(root, OsStr::new(&name))? else {
        return Ok(None);
    };
    check_record(&dir, &record, false)?;
    Ok(Some(dir))
}

/// Where a load stages and publishes: the open parent directory.
#[derive(Debug)]
pub(crate) struct Place {
    pub parent: Rc<Dir>,
}

/// Opens (with `rollback`: making what is missing) the parent of `dir`
/// component by component: outside bpffs following symlinks as any path a
/// user names, inside never ([`open_checked`]). `None` when a component is
/// missing and nothing may be made.
fn walk(path: &Path, mut rollback: Option<&mut Rollback>) -> Result<Option<Rc<Dir>>, PinError> {
    let start = if path.is_absolute() { "/" } else { "." };
    let mut current = Rc::new(Dir::open(Path::new(start))?);
    let mut on_bpffs = current.fs_magic()? == BPF_FS_MAGIC;
    for component in path.components() {
        let name = match component {
            Component::Normal(name) => name,
            Component::RootDir | Component::CurDir => continue,
            Component::ParentDir | Component::Prefix(_) => {
                return Err(PinError::BadPath {
                    path: path.to_path_buf(),
                    why: "no `..` please: name the directory itself",
                })
            }
        };
        if !on_bpffs {
            let next = current.join(name);
            current = match Dir::open(&next) {
                Ok(dir) => Rc::new(dir),
                Err(error) if error.errno == libc::ENOENT && rollback.is_none() => return Ok(None),
                Err(error) => return Err(error.into()),
            };
            on_bpffs = current.fs_magic()? == BPF_FS_MAGIC;
            if on_bpffs {
                check_dir(&current.stat()?, &next)?;
            }
            continue;
        }
        current = match open_checked(&current, name)? {
            Some(dir) => Rc::new(dir),
            None => {
                let Some(rollback) = rollback.as_deref_mut() else {
                    return Ok(None);
                };
                match current.make_dir(name, 0o700) {
                    Ok(()) => rollback.created_dir(current.clone(), name.to_string_lossy().into()),
                    Err(error) if error.errno == libc::EEXIST => {}
                    Err(error) => return Err(error.into()),
                }
                let dir = open_checked(&current, name)?.ok_or_else(|| {
                    SysError::new("openat", libc::ENOENT)
                        .with_subject(current.join(name).display().to_string())
                })?;
                Rc::new(dir)
            }
        };
    }
    if !on_bpffs {
        return Err(PinError::NotBpffs {
            path: path.to_path_buf(),
        });
    }
    Ok(Some(current))
}

/// Checks `--pin-dir` names a directory: not empty, with a last name.
fn split_pin_dir(dir: &Path) -> Result<(&Path, &OsStr), PinError> {
    let bad = |why| PinError::BadPath {
        path: dir.to_path_buf(),
        why,
    };
    if dir.as_os_str().is_empty() {
        return Err(bad("an empty path names no directory"));
    }
    if dir.components().any(|c| c == Component::ParentDir) {
        return Err(bad("no `..` please: name the directory itself"));
    }
    let name = dir
        .file_name()
        .ok_or_else(|| bad("it names no directory of its own (`/`?)"))?;
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Ok((parent, name))
}

/// Checks what the final `--pin-dir` directory holds: nothing, or pins
/// rxdp made whose program is not attached to another device than
/// `ifindex` (the device of this load).
fn check_final_dir(dir: &Dir, ifindex: Option<u32>) -> Result<(), PinError> {
    let Some(Record::Pins(pins)) = check_record(dir, &Record::Pins(placeholder_pins()), false)?
    else {
        return Ok(());
    };
    let (Some(prog), Some(owner)) = (pins.prog, pins.ifindex) else {
        return Ok(());
    };
    if Some(owner) == ifindex {
        return Ok(());
    }
    if let Ok(link) = netlink::link_by_index(owner) {
        if attached_mode(&link.xdp, prog).is_some() {
            return Err(PinError::InUse {
                path: dir.path().to_path_buf(),
                prog,
                ifname: link.name,
                ifindex: owner,
            });
        }
    }
    Ok(())
}

/// Checks a `--pin-dir` before anything is made: what exists of it must
/// be rxdp's (or empty), reachable without a symlink, and on a bpffs.
/// Nothing is created. (rxdp's own directories are checked as the pin
/// stage opens them, before it makes any: a refusal there undoes only
/// what the load made in the kernel.)
pub(crate) fn check_target(target: &PinTarget, ifindex: Option<u32>) -> Result<(), PinError> {
    if let PinTarget::Dir(dir) = target {
        let (parent, name) = split_pin_dir(dir)?;
        if let Some(parent) = walk(parent, None)? {
            if let Some(dir) = open_checked(&parent, name)? {
                check_final_dir(&dir, ifindex)?;
            }
        }
    }
    Ok(())
}

/// Opens the parent of the target's final directory, making what is
/// missing (recorded in `rollback`, but `<bpffs>/rxdp`, which stays).
pub(crate) fn open_place(
    target: &PinTarget,
    ifindex: Option<u32>,
    rollback: &mut Rollback,
) -> Result<Place, PinError> {
    match target {
        PinTarget::Device { bpffs, ifname } => {
            let missing = |path: PathBuf| {
                SysError::new("openat", libc::ENOENT).with_subject(path.display().to_string())
            };
            let root = open_root(open_bpffs(bpffs)?, true)?
                .ok_or_else(|| missing(bpffs.join(ROOT_DIR)))?;
            let root = Rc::new(root);
            let name = device_dir_name(ifname);
            let record = Record::Device {
                ifname: ifname.clone(),
            };
            let dir = claim(&root, &name, &record, true, Some(rollback))?
                .ok_or_else(|| missing(root.join(&name)))?;
            Ok(Place {
                parent: Rc::new(dir),
            })
        }
        PinTarget::Dir(dir) => {
            let (parent, name) = split_pin_dir(dir)?;
            let parent = walk(parent, Some(rollback))?.ok_or_else(|| PinError::NotBpffs {
                path: dir.to_path_buf(),
            })?;
            if let Some(dir) = open_checked(&parent, name)? {
                check_final_dir(&dir, ifindex)?;
            }
            Ok(Place { parent })
        }
    }
}

/// A staging directory: where a load pins before it attaches.
#[derive(Debug, Clone)]
pub(crate) struct Staging {
    pub parent: Rc<Dir>,
    pub name: String,
    /// The directory itself, open.
    pub dir: Rc<Dir>,
}

/// Where a shared map (iproute2 pinning, `LIBBPF_PIN_BY_NAME`) is pinned:
/// its directories below the base and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPin {
    /// In the load's own final directory (BTF by-name maps with
    /// `--pin-dir`): pinned with the load's maps, in the staging directory.
    pub in_load_dir: bool,
    /// The directories from the bpffs mount (`tc`, `globals`), or from the
    /// load's directory.
    pub dirs: Vec<String>,
    /// The pin's name.
    pub name: String,
    /// The whole path, for messages.
    pub path: PathBuf,
}

/// Where the shared map `map` is pinned; `None` for a map that is not shared.
pub fn shared_pin(
    map: &Map,
    bpffs_root: &Path,
    object_sha1: &str,
    target: Option<&PinTarget>,
) -> Option<SharedPin> {
    let name = pin_name(&map.name);
    let under_root = |dirs: Vec<String>| {
        let mut path = bpffs_root.to_path_buf();
        path.extend(&dirs);
        SharedPin {
            in_load_dir: false,
            path: path.join(&name),
            dirs,
            name: name.clone(),
        }
    };
    match map.pinning {
        Pinning::None => None,
        Pinning::GlobalNs => Some(under_root(vec!["tc".into(), "globals".into()])),
        Pinning::ObjectNs => Some(under_root(vec!["tc".into(), object_sha1.to_string()])),
        Pinning::ByName => match target {
            Some(PinTarget::Dir(dir)) => Some(SharedPin {
                in_load_dir: true,
                dirs: Vec::new(),
                path: dir.join(&name),
                name,
            }),
            _ => Some(under_root(Vec::new())),
        },
        // A way of sharing this rxdp does not know: the map is the load's own.
        _ => None,
    }
}

/// Opens the directory a shared pin lives in: below the bpffs mount (made
/// when missing, recorded in `rollback`), or the load's final directory
/// (`None` when it does not exist yet). Without `create` (`--no-pin`) a
/// missing directory is `None`: there is no pin in it to reuse.
pub(crate) fn open_shared_dir(
    pin: &SharedPin,
    bpffs_root: &Path,
    target: Option<&PinTarget>,
    create: bool,
    rollback: &mut Rollback,
) -> Result<Option<Rc<Dir>>, PinError> {
    if pin.in_load_dir {
        let Some(PinTarget::Dir(dir)) = target else {
            return Ok(None);
        };
        let (parent, name) = split_pin_dir(dir)?;
        let Some(parent) = walk(parent, None)? else {
            return Ok(None);
        };
        return Ok(open_checked(&parent, name)?.map(Rc::new));
    }
    let mut current = Rc::new(open_bpffs(bpffs_root)?);
    for name in &pin.dirs {
        current = match open_checked(&current, OsStr::new(name))? {
            Some(dir) => Rc::new(dir),
            None if !create => return Ok(None),
            None => {
                match current.make_dir(name, 0o700) {
                    Ok(()) => rollback.created_dir(current.clone(), name.clone()),
                    Err(error) if error.errno == libc::EEXIST => {}
                    Err(error) => return Err(error.into()),
                }
                Rc::new(open_checked(&current, OsStr::new(name))?.ok_or_else(|| {
                    SysError::new("openat", libc::ENOENT)
                        .with_subject(current.join(name).display().to_string())
                })?)
            }
        };
    }
    Ok(Some(current))
}

/// Opens the pin `name` of `dir` if there is one: a pin (not a symlink,
/// not a directory) of root (or this user), the same one before and after
/// `BPF_OBJ_GET` (inode compared). `None` when the name is free.
pub(crate) fn open_shared_pin(
    dir: &Dir,
    name: &str,
) -> Result<Option<std::os::fd::OwnedFd>, PinError> {
    let path = dir.join(name);
    let bad = |what: String, advice| PinError::BadPin {
        path: path.clone(),
        what,
        advice,
    };
    let Some(before) = dir.stat_at(name)? else {
        return Ok(None);
    };
    match before.kind {
        EntryType::File if trusted_uid(before.uid) => {}
        EntryType::File => {
            return Err(bad(
                format!("is a pin of uid {}", before.uid),
                "rxdp reuses only the pins of root, not a map another user may have handed it",
            ))
        }
        EntryType::Symlink => {
            return Err(bad(
                "is a symbolic link, not a pin".into(),
                "rxdp follows no symlink in bpffs, where another user may have planted it",
            ))
        }
        kind => {
            return Err(bad(
                format!("is {}, not a pin", kind_name(kind)),
                "a shared map is pinned there",
            ))
        }
    }
    let fd = dir.get(name)?;
    match dir.stat_at(name)? {
        Some(after) if after.ino == before.ino && after.dev == before.dev => Ok(Some(fd)),
        _ => Err(bad(
            "changed while rxdp opened it".into(),
            "someone swapped it meanwhile",
        )),
    }
}

/// The maps pinned into the staging directory, by index, with their names.
/// Two maps with one name are refused before anything is pinned.
pub(crate) fn plan(file: &str, maps: &[LoadedMap]) -> Result<Vec<(usize, String)>, LoadError> {
    let mut plan: Vec<(usize, String)> = Vec::new();
    for (index, map) in maps.iter().enumerate() {
        if map.shared && !map.in_load_dir {
            continue;
        }
        let name = pin_name(&map.name);
        let name = if name.is_empty() {
            format!("map{index}")
        } else {
            name
        };
        if let Some(&(first, _)) = plan.iter().find(|(_, n)| *n == name) {
            return Err(LoadError::PinName {
                file: file.to_string(),
                name,
                first: maps[first].name.clone(),
                second: map.name.clone(),
            });
        }
        plan.push((index, name));
    }
    Ok(plan)
}

/// What a pin stage needs to know about the load, for the record.
#[derive(Debug, Clone)]
pub(crate) struct Intent {
    pub ifindex: Option<u32>,
    pub ifname: Option<String>,
    pub mode: Option<Mode>,
    pub prog: Option<u32>,
}

/// Makes a fresh staging directory in `place` (its record first, so that
/// it is known for rxdp's from its first instant) and pins the planned
/// maps into it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stage(
    file: &str,
    target: &PinTarget,
    place: &Place,
    intent: &Intent,
    maps: &[LoadedMap],
    plan: &[(usize, String)],
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<Staging, LoadError> {
    let failed = |error: PinError| LoadError::Pins {
        file: file.to_string(),
        stage: Stage::Pin,
        error,
    };
    let loader = this_process().map_err(|e| failed(e.into()))?;
    let name = target.staging_name(loader);
    let parent = place.parent.clone();
    parent
        .make_dir(&name, 0o700)
        .map_err(|e| failed(e.into()))?;
    rollback.staging_made(parent.clone(), name.clone());
    let dir = match open_checked(&parent, OsStr::new(&name)) {
        Ok(Some(dir)) => Rc::new(dir),
        Ok(None) => {
            return Err(failed(
                SysError::new("openat", libc::ENOENT)
                    .with_subject(parent.join(&name).display().to_string())
                    .into(),
            ))
        }
        Err(error) => return Err(failed(error)),
    };
    let staging = Staging {
        parent,
        name,
        dir: dir.clone(),
    };
    rollback.staging_opened(dir.clone());
    let record = Record::Pins(Pins {
        ifindex: intent.ifindex,
        ifname: intent.ifname.clone(),
        mode: intent.mode,
        prog: intent.prog,
        loader,
    });
    dir.symlink(record.to_string(), RECORD)
        .map_err(|e| failed(e.into()))?;
    for (index, name) in plan {
        dir.pin(maps[*index].fd.as_fd(), name)
            .map_err(|e| failed(e.into()))?;
        observer.event(&Event::Pinned {
            index: *index,
            path: &dir.join(name),
        });
    }
    Ok(staging)
}

/// Moves the staging directory to `final_name` beside it: one
/// `renameat2(RENAME_EXCHANGE)` when a final directory is there (it must
/// be rxdp's), a `renameat2(RENAME_NOREPLACE)` when there is none. The old
/// pins, now under the staging name, are removed after. Returns what could
/// not be removed of them.
fn swap_into_place(parent: &Dir, staging: &str, final_name: &str) -> Result<bool, PinError> {
    match open_checked(parent, OsStr::new(final_name))? {
        None => {
            parent.rename_new(staging, parent, final_name)?;
            Ok(false)
        }
        Some(dir) => {
            check_record(&dir, &Record::Pins(placeholder_pins()), false)?;
            drop(dir);
            parent.exchange(staging, parent, final_name)?;
            Ok(true)
        }
    }
}

/// Publishes the staging directory as `final_name` and removes the pins
/// that were there. Returns a warning when the old pins could not be
/// removed: the load itself succeeded by then.
pub(crate) fn publish(
    file: &str,
    staging: &Staging,
    final_name: &str,
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<Option<String>, LoadError> {
    let parent = &staging.parent;
    let swapped =
        swap_into_place(parent, &staging.name, final_name).map_err(|error| LoadError::Pins {
            file: file.to_string(),
            stage: Stage::PublishPins,
            error,
        })?;
    rollback.published();
    let mut warning = None;
    if swapped {
        // `staging` now holds the previous load's pins.
        if let Err(error) = remove_pins_dir(parent, &staging.name, None) {
            warning = Some(format!(
                "the previous pins, moved to {}, could not be removed: {error}",
                parent.join(&staging.name).display()
            ));
        }
    }
    observer.event(&Event::PinsPublished {
        dir: &parent.join(final_name),
    });
    Ok(warning)
}

/// What was done with a staging directory left by a loader that died.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// Its program is the one attached: it was published as this directory.
    Published {
        /// The final directory it became.
        into: PathBuf,
        /// The program its record names, attached.
        prog: u32,
    },
    /// Its program is not attached (the load died before it attached, or
    /// was replaced): it was removed.
    Removed,
    /// It could not be resolved; why.
    Left(String),
}

/// A staging directory of a dead loader and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The staging directory.
    pub dir: PathBuf,
    /// The pid of the loader that made it.
    pub loader: u32,
    /// What became of it.
    pub recovery: Recovery,
}

/// The final name the pins of `pins` belong under if their program is
/// attached where the record says: for a device directory, the slot it is
/// in; for `--pin-dir`, the directory's own name.
pub(crate) fn attached_final(pins: &Pins, target_final: Option<&str>) -> Option<String> {
    let (prog, ifindex) = (pins.prog?, pins.ifindex?);
    let link = netlink::link_by_index(ifindex).ok()?;
    let mode = attached_mode(&link.xdp, prog)?;
    match target_final {
        Some(name) => Some(name.to_string()),
        None => Some(mode.name().to_string()),
    }
}

/// The staging directories in `parent` (names starting `prefix`) whose
/// loader is no longer running.
pub(crate) fn dead_staging(parent: &Dir, prefix: &str) -> Result<Vec<String>, PinError> {
    Ok(parent
        .entries()?
        .into_iter()
        .filter(|(_, kind)| *kind == EntryType::Directory)
        .filter_map(|(name, _)| {
            let name = name.to_str()?.to_string();
            let staging = StagingName::parse(prefix, &name)?;
            (!staging.loader.is_running()).then_some(name)
        })
        .collect())
}

/// Finishes what dead loaders left in `parent` (the caller holds the
/// device's lock): each staging directory whose program is attached where
/// its record says is published (`target_final`: the `--pin-dir` name, or
/// `None` for a device directory, where the slot names it), every other
/// one removed.
pub(crate) fn recover(
    parent: &Dir,
    prefix: &str,
    target_final: Option<&str>,
) -> Result<Vec<Recovered>, PinError> {
    let mut done = Vec::new();
    for name in dead_staging(parent, prefix)? {
        let loader = StagingName::parse(prefix, &name).map_or(0, |s| s.loader.pid);
        let path = parent.join(&name);
        let recovery = match recover_one(parent, &name, target_final) {
            Ok(Some(recovery)) => recovery,
            Ok(None) => continue,
            Err(error) => Recovery::Left(error.to_string()),
        };
        done.push(Recovered {
            dir: path,
            loader,
            recovery,
        });
    }
    Ok(done)
}

fn recover_one(
    parent: &Dir,
    name: &str,
    target_final: Option<&str>,
) -> Result<Option<Recovery>, PinError> {
    let Some(dir) = open_checked(parent, OsStr::new(name))? else {
        return Ok(None);
    };
    let published = match read_record(&dir)? {
        Some(Record::Pins(pins)) => attached_final(&pins, target_final).map(|f| (f, pins.prog)),
        Some(Record::Unknown(_)) => return Ok(None),
        _ => None,
    };
    drop(dir);
    match published {
        Some((final_name, prog)) => {
            if swap_into_place(parent, name, &final_name)? {
                remove_pins_dir(parent, name, None)?;
            }
            Ok(Some(Recovery::Published {
                into: parent.join(&final_name),
                prog: prog.unwrap_or(0),
            }))
        }
        None => {
            remove_pins_dir(parent, name, None)?;
            Ok(Some(Recovery::Removed))
        }
    }
}

/// Recovers the staging directories of the target's parent; reported to
/// `observer`.
pub(crate) fn recover_place(
    target: &PinTarget,
    place: &Place,
    observer: &mut dyn Observer,
) -> Result<Vec<Recovered>, PinError> {
    let final_name = match target {
        PinTarget::Device { .. } => None,
        PinTarget::Dir(_) => target.final_name(None),
    };
    let done = recover(
        &place.parent,
        &target.staging_prefix(),
        final_name.as_deref(),
    )?;
    for recovered in &done {
        observer.event(&Event::Recovered { recovered });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::map;
    use rxdp_elf::MapType;

    #[test]
    fn pin_names_do_without_dots_and_slashes() {
        assert_eq!(pin_name("jmp_table1"), "jmp_table1");
        assert_eq!(pin_name(".rodata"), "rodata");
        assert_eq!(pin_name(".rodata.str1.1"), "rodata_str1_1");
        assert_eq!(pin_name("a/b c"), "a_b_c");
        assert_eq!(pin_name("x-y"), "x-y");
        assert!(!pin_name("rxdp:record").contains(':'));
    }

    #[test]
    fn device_directories_survive_dots_and_never_look_like_the_record() {
        assert_eq!(device_dir_name("veth0"), "veth0");
        assert_eq!(device_dir_name("eth0.100"), "eth0%2e100");
        assert_eq!(device_dir_name("a%2eb"), "a%252eb");
        for name in ["veth0", "eth0.100", "a%2eb", "tc", "%", "x.%.y"] {
            assert_eq!(ifname_of_dir(&device_dir_name(name)).as_deref(), Some(name));
            assert!(!device_dir_name(name).contains(['.', ':']));
        }
        assert_eq!(ifname_of_dir("a%2"), None);
        assert_eq!(ifname_of_dir(RECORD), Some(RECORD.to_string()));
    }

    #[test]
    fn staging_names_carry_the_loader() {
        let loader = Process {
            pid: 42,
            start: 9000,
        };
        let name = StagingName { loader, n: 3 };
        assert_eq!(name.format(""), "staging-42-9000-3");
        assert_eq!(StagingName::parse("", "staging-42-9000-3"), Some(name));
        assert_eq!(name.format("mine-"), "mine-staging-42-9000-3");
        assert_eq!(
            StagingName::parse("mine-", "mine-staging-42-9000-3"),
            Some(name)
        );
        assert_eq!(StagingName::parse("", "mine-staging-42-9000-3"), None);
        assert_eq!(StagingName::parse("", "staging-42-3"), None, "old format");
        assert_eq!(StagingName::parse("", "staging-42-9000-3-1"), None);
        assert_eq!(StagingName::parse("", "skb"), None);
    }

    #[test]
    fn the_layout_has_one_directory_per_device_and_mode_under_rxdp() {
        let target = PinTarget::Device {
            bpffs: PathBuf::from("/sys/fs/bpf"),
            ifname: "veth0".into(),
        };
        assert_eq!(
            target.final_dir(Some(Mode::Skb)),
            Path::new("/sys/fs/bpf/rxdp/veth0/skb")
        );
        assert_eq!(
            target.final_dir(Some(Mode::Hw)),
            Path::new("/sys/fs/bpf/rxdp/veth0/hw")
        );
        assert_eq!(target.final_name(Some(Mode::Auto)), None);
        let tc = PinTarget::Device {
            bpffs: PathBuf::from("/sys/fs/bpf"),
            ifname: "tc".into(),
        };
        assert_eq!(tc.parent(), Path::new("/sys/fs/bpf/rxdp/tc"));
        let me = this_process().unwrap();
        let staging = target.staging_name(me);
        assert!(
            staging.starts_with(&format!("staging-{}-{}-", me.pid, me.start)),
            "{staging}"
        );
        assert_ne!(
            target.staging_name(me),
            staging,
            "one staging directory per load"
        );
        let target = PinTarget::Dir(PathBuf::from("/sys/fs/bpf/mine"));
        assert_eq!(
            target.final_dir(Some(Mode::Drv)),
            Path::new("/sys/fs/bpf/mine")
        );
        assert_eq!(target.parent(), Path::new("/sys/fs/bpf"));
        assert!(target.staging_name(me).starts_with("mine-staging-"));
    }

    #[test]
    fn bad_pin_dirs_are_refused_before_any_syscall() {
        for (dir, why) in [
            ("", "empty"),
            ("/sys/fs/bpf/../x", "`..`"),
            ("/", "names no directory"),
        ] {
            let error = split_pin_dir(Path::new(dir)).unwrap_err().to_string();
            assert!(error.contains(why), "{dir}: {error}");
        }
        assert_eq!(
            split_pin_dir(Path::new("mine")).unwrap(),
            (Path::new("."), OsStr::new("mine"))
        );
    }

    #[test]
    fn shared_maps_follow_iproute2_and_libbpf() {
        let root = Path::new("/sys/fs/bpf");
        let mut m = map("glob", MapType::ARRAY, 1);
        assert_eq!(shared_pin(&m, root, "ab12", None), None);
        m.pinning = Pinning::GlobalNs;
        let pin = shared_pin(&m, root, "ab12", None).unwrap();
        assert_eq!(pin.path, Path::new("/sys/fs/bpf/tc/globals/glob"));
        assert_eq!(
            (pin.dirs.as_slice(), pin.in_load_dir),
            (&["tc".to_string(), "globals".to_string()][..], false)
        );
        m.pinning = Pinning::ObjectNs;
        let pin = shared_pin(&m, root, "ab12", None).unwrap();
        assert_eq!(pin.path, Path::new("/sys/fs/bpf/tc/ab12/glob"));
        m.pinning = Pinning::ByName;
        let device = PinTarget::Device {
            bpffs: root.to_path_buf(),
            ifname: "veth0".into(),
        };
        let pin = shared_pin(&m, root, "ab12", Some(&device)).unwrap();
        assert_eq!(
            (pin.path.as_path(), pin.in_load_dir),
            (Path::new("/sys/fs/bpf/glob"), false)
        );
        let dir = PinTarget::Dir(PathBuf::from("/sys/fs/bpf/mine"));
        let pin = shared_pin(&m, root, "ab12", Some(&dir)).unwrap();
        assert_eq!(
            (pin.path.as_path(), pin.in_load_dir),
            (Path::new("/sys/fs/bpf/mine/glob"), true)
        );
    }
}
