//! Stage 7 (and the last step): pinning the maps so that they outlive rxdp.
//!
//! A prog array is emptied by the kernel when the last user-space reference
//! to it goes (design.md, "Prog arrays empty..."): the loader exits, its fds
//! close, and tail calls silently fall through. Pinning keeps a reference
//! in bpffs. The layout:
//!
//! ```text
//! /sys/fs/bpf/IF/MODE/NAME        the maps of the program attached to IF in
//!                                 MODE (skb, drv or hw: the mode the kernel
//!                                 reports, also under --mode auto)
//! /sys/fs/bpf/IF/staging-PID-N/   where a load pins first (N counts the
//!                                 loads of the process)
//! /sys/fs/bpf/tc/globals/NAME     iproute2 PIN_GLOBAL_NS maps (shared with ip/tc)
//! /sys/fs/bpf/tc/<sha1>/NAME      iproute2 PIN_OBJECT_NS maps; <sha1> of the object file
//! /sys/fs/bpf/NAME                LIBBPF_PIN_BY_NAME maps (DIR/NAME with --pin-dir DIR)
//! ```
//!
//! One directory per device *and mode* lets an offloaded program and a
//! native one run on one device (the seed's offload pair) without one load
//! destroying the other's pins. Within it, a load never removes the old
//! pins before its own program is attached: it pins into the staging
//! directory, attaches, then swaps the staging directory into place with
//! `renameat2(RENAME_EXCHANGE)` (a plain rename when there was none) and
//! removes the old set. A load that fails leaves the previous program's
//! jump tables alive. `--pin-dir DIR` uses DIR as the final directory
//! (staging beside it); shared maps live outside these directories and are
//! never removed by `rxdp unload`.
//!
//! bpffs refuses names containing a dot (EPERM), so pin names keep only
//! letters, digits, `_` and `-`: `.rodata` pins as `rodata`,
//! `.rodata.str1.1` as `rodata_str1_1`.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rxdp_elf::{Map, Pinning};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::Error as SysError;

use crate::error::LoadError;
use crate::observe::{Event, Observer, Stage};
use crate::options::Mode;
use crate::pipeline::LoadedMap;
use crate::rollback::Rollback;

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

/// Where the pins of a load end up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinTarget {
    /// `<bpffs>/IF/`, the final directory being `<bpffs>/IF/MODE`.
    Device(PathBuf),
    /// `--pin-dir DIR`.
    Dir(PathBuf),
}

impl PinTarget {
    /// The directory that holds the final and the staging directory.
    pub fn parent(&self) -> PathBuf {
        match self {
            PinTarget::Device(dir) => dir.clone(),
            PinTarget::Dir(dir) => dir
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        }
    }

    /// The final directory once the program is attached in `mode` (or not
    /// attached: `None`).
    pub fn final_dir(&self, mode: Option<Mode>) -> PathBuf {
        match (self, mode) {
            (PinTarget::Device(dir), Some(mode)) => dir.join(mode.name()),
            (PinTarget::Device(dir), None) => dir.clone(),
            (PinTarget::Dir(dir), _) => dir.clone(),
        }
    }

    /// A staging directory of this process, a new one each call: two
    /// loads of one process (threads of a program embedding rxdp) must not
    /// stage into one directory.
    pub fn staging(&self) -> PathBuf {
        static LOADS: AtomicU32 = AtomicU32::new(0);
        let load = LOADS.fetch_add(1, Ordering::Relaxed);
        self.parent()
            .join(format!("staging-{}-{load}", std::process::id()))
    }
}

/// Where a shared map (iproute2 pinning, `LIBBPF_PIN_BY_NAME`) is pinned,
/// and whether that is inside the load's own final directory (BTF by-name
/// maps with `--pin-dir`), in which case it is pinned with the load's maps.
pub fn shared_path(
    map: &Map,
    bpffs_root: &Path,
    object_sha1: &str,
    target: Option<&PinTarget>,
) -> Option<(PathBuf, bool)> {
    let name = pin_name(&map.name);
    match map.pinning {
        Pinning::None => None,
        Pinning::GlobalNs => Some((bpffs_root.join("tc/globals").join(name), false)),
        Pinning::ObjectNs => Some((bpffs_root.join("tc").join(object_sha1).join(name), false)),
        Pinning::ByName => match target {
            Some(PinTarget::Dir(dir)) => Some((dir.join(name), true)),
            _ => Some((bpffs_root.join(name), false)),
        },
        // A way of sharing this rxdp does not know: the map is the load's own.
        _ => None,
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

/// Pins the planned maps into a fresh staging directory and returns it.
pub(crate) fn stage(
    file: &str,
    target: &PinTarget,
    maps: &[LoadedMap],
    plan: &[(usize, String)],
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<PathBuf, LoadError> {
    let failed = |path: &Path, error: SysError| LoadError::Pin {
        file: file.to_string(),
        stage: Stage::Pin,
        path: path.to_path_buf(),
        error,
    };
    let staging = target.staging();
    rollback
        .create_dirs(&target.parent())
        .map_err(|error| failed(&target.parent(), error))?;
    // Left over by a process of the same pid that died mid-load.
    if staging.exists() {
        bpffs::remove_dir_all(&staging).map_err(|error| failed(&staging, error))?;
    }
    bpffs::create_dir_all(&staging).map_err(|error| failed(&staging, error))?;
    rollback.staging(staging.clone());
    for (index, name) in plan {
        let path = staging.join(name);
        bpffs::pin(maps[*index].fd.as_fd(), &path).map_err(|error| failed(&path, error))?;
        observer.event(&Event::Pinned {
            index: *index,
            path: &path,
        });
    }
    Ok(staging)
}

/// Swaps the staging directory into `final_dir` and removes the pins that
/// were there. Returns a warning when the old pins could not be removed:
/// the load itself succeeded by then.
pub(crate) fn publish(
    file: &str,
    staging: &Path,
    final_dir: &Path,
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<Option<String>, LoadError> {
    let failed = |error: SysError| LoadError::Pin {
        file: file.to_string(),
        stage: Stage::PublishPins,
        path: final_dir.to_path_buf(),
        error,
    };
    let mut warning = None;
    if final_dir.symlink_metadata().is_ok() {
        bpffs::rename_exchange(staging, final_dir).map_err(failed)?;
        rollback.published();
        // `staging` now holds the previous load's pins.
        if let Err(error) = bpffs::remove_dir_all(staging) {
            warning = Some(format!(
                "the previous pins, moved to {}, could not be removed: {error}",
                staging.display()
            ));
        }
    } else {
        bpffs::rename(staging, final_dir).map_err(failed)?;
        rollback.published();
    }
    observer.event(&Event::PinsPublished { dir: final_dir });
    Ok(warning)
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
    }

    #[test]
    fn the_layout_has_one_directory_per_device_and_mode() {
        let target = PinTarget::Device(PathBuf::from("/sys/fs/bpf/veth0"));
        assert_eq!(
            target.final_dir(Some(Mode::Skb)),
            Path::new("/sys/fs/bpf/veth0/skb")
        );
        assert_eq!(
            target.final_dir(Some(Mode::Hw)),
            Path::new("/sys/fs/bpf/veth0/hw")
        );
        let staging = target.staging();
        assert_eq!(staging.parent(), Some(Path::new("/sys/fs/bpf/veth0")));
        let name = staging.file_name().and_then(|n| n.to_str()).unwrap();
        assert!(
            name.starts_with(&format!("staging-{}-", std::process::id())),
            "{name}"
        );
        assert_ne!(target.staging(), staging, "one staging directory per load");
        let target = PinTarget::Dir(PathBuf::from("/sys/fs/bpf/mine"));
        assert_eq!(
            target.final_dir(Some(Mode::Drv)),
            Path::new("/sys/fs/bpf/mine")
        );
        assert_eq!(target.parent(), Path::new("/sys/fs/bpf"));
    }

    #[test]
    fn shared_maps_follow_iproute2_and_libbpf() {
        let root = Path::new("/sys/fs/bpf");
        let mut m = map("glob", MapType::ARRAY, 1);
        assert_eq!(shared_path(&m, root, "ab12", None), None);
        m.pinning = Pinning::GlobalNs;
        assert_eq!(
            shared_path(&m, root, "ab12", None),
            Some((PathBuf::from("/sys/fs/bpf/tc/globals/glob"), false))
        );
        m.pinning = Pinning::ObjectNs;
        assert_eq!(
            shared_path(&m, root, "ab12", None),
            Some((PathBuf::from("/sys/fs/bpf/tc/ab12/glob"), false))
        );
        m.pinning = Pinning::ByName;
        let device = PinTarget::Device(PathBuf::from("/sys/fs/bpf/veth0"));
        assert_eq!(
            shared_path(&m, root, "ab12", Some(&device)),
            Some((PathBuf::from("/sys/fs/bpf/glob"), false))
        );
        let dir = PinTarget::Dir(PathBuf::from("/sys/fs/bpf/mine"));
        assert_eq!(
            shared_path(&m, root, "ab12", Some(&dir)),
            Some((PathBuf::from("/sys/fs/bpf/mine/glob"), true))
        );
    }
}
