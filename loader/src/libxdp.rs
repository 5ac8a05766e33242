//! libxdp's multi-program dispatcher, as xdp-loader and libxdp users leave
//! it, read and removed by rxdp (`rxdp status`, `rxdp unload`).
//!
//! What libxdp does (xdp-tools, `lib/libxdp/libxdp.c`), the facts rxdp
//! relies on:
//! - the program in the XDP slot is `xdp_dispatcher`, with one map: its
//!   `.rodata` (`BPF_F_RDONLY_PROG`, key 4 bytes, one entry), whose value
//!   is `struct xdp_dispatcher_config`: `magic` (236), `dispatcher_version`,
//!   `num_progs_enabled`, `is_xdp_frags`, then `chain_call_actions[10]`,
//!   `run_prios[10]`, `program_flags[10]` (u32 each);
//! - component N is an freplace (`BPF_PROG_TYPE_EXT`) program attached to
//!   the dispatcher's function `progN` through a BPF link, both pinned in
//!   `<bpffs>/xdp/dispatch-IFINDEX-PROGID/` as `progN-prog` and
//!   `progN-link`;
//! - changes to those pins are serialised by an exclusive `flock` on
//!   `<bpffs>/xdp/`.
//!
//! Dispatchers of an earlier layout (no magic byte: version 1) are shown
//! as dispatchers without their components.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rxdp_elf::btf::Btf;
use rxdp_syscalls::bpf::{
    btf_data, btf_get_fd_by_id, link_info, map_get_fd_by_id, map_info, map_lookup_elem, prog_info,
    ProgInfo, BPF_F_RDONLY_PROG, BPF_OBJ_NAME_LEN,
};
use rxdp_syscalls::fs::{Dir, EntryType};
use rxdp_syscalls::Error as SysError;

/// The dispatcher's program name.
pub const DISPATCHER: &str = "xdp_dispatcher";
/// `XDP_DISPATCHER_MAGIC`: 'X' + 'D' + 'P'.
const MAGIC: u8 = 236;
/// `MAX_DISPATCHER_ACTIONS`: the slots of a dispatcher.
pub const MAX_COMPONENTS: usize = 10;
/// libxdp's directory under the bpffs mount.
pub const XDP_DIR: &str = "xdp";

/// One program in a dispatcher's slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The slot: the dispatcher's function `progN`.
    pub slot: usize,
    /// The freplace program's id and name (`None` when its pin is missing
    /// or cannot be read).
    pub prog: Option<(u32, String)>,
    /// The link attaching it, when pinned.
    pub link: Option<u32>,
    /// Its run priority (lower runs first).
    pub run_prio: u32,
    /// The XDP actions after which the dispatcher calls the next slot.
    pub chain_call_actions: Vec<&'static str>,
    /// The same as the config holds them: bit N for verdict N, and bit
    /// 31 (`XDP_DISPATCHER_RETVAL`, what an empty slot returns).
    pub chain_bits: u32,
    /// Its load flags as the config keeps them (`BPF_F_XDP_HAS_FRAGS`).
    pub flags: u32,
}

/// A libxdp dispatcher in an XDP slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatcher {
    /// `dispatcher_version` (0 when the config has no magic byte).
    pub version: u8,
    /// Where libxdp pins its components.
    pub dir: PathBuf,
    /// Its components, in slot order.
    pub components: Vec<Component>,
}

/// The XDP actions whose bits are set in `bits`, by name (libxdp's own
/// bit 31, `XDP_DISPATCHER_RETVAL`, is no action).
pub fn action_names(bits: u32) -> Vec<&'static str> {
    const NAMES: [&str; 5] = [
        "XDP_ABORTED",
        "XDP_DROP",
        "XDP_PASS",
        "XDP_TX",
        "XDP_REDIRECT",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, name)| *name)
        .collect()
}

/// `<bpffs>/xdp/dispatch-IFINDEX-PROGID`.
pub fn pin_dir(bpffs: &Path, ifindex: u32, prog_id: u32) -> PathBuf {
    bpffs
        .join(XDP_DIR)
        .join(format!("dispatch-{ifindex}-{prog_id}"))
}

/// A dispatcher's config, from its one `.rodata` map.
struct Config {
    version: u8,
    enabled: usize,
    chain: Vec<u32>,
    prios: Vec<u32>,
    flags: Vec<u32>,
}

/// The dispatcher's config; version 0 when it has no magic byte.
fn config(info: &ProgInfo) -> Option<Config> {
    let [map_id] = info.map_ids[..] else {
        return None;
    };
    let map = map_get_fd_by_id(map_id).ok()?;
    let shape = map_info(map.as_fd()).ok()?;
    if shape.key_size != 4 || shape.max_entries != 1 || shape.flags & BPF_F_RDONLY_PROG == 0 {
        return None;
    }
    let mut value = vec![0u8; shape.value_size as usize];
    if !map_lookup_elem(map.as_fd(), &0u32.to_ne_bytes(), &mut value).ok()? {
        return None;
    }
    if value.first() != Some(&MAGIC) {
        return Some(Config {
            version: 0,
            enabled: 0,
            chain: Vec::new(),
            prios: Vec::new(),
            flags: Vec::new(),
        });
    }
    let words = |start: usize| -> Option<Vec<u32>> {
        (0..MAX_COMPONENTS)
            .map(|i| {
                let at = start + 4 * i;
                value
                    .get(at..at + 4)
                    .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            })
            .collect()
    };
    let enabled = usize::from(*value.get(2)?).min(MAX_COMPONENTS);
    Some(Config {
        version: value[1],
        enabled,
        chain: words(4)?,
        prios: words(4 + 4 * MAX_COMPONENTS)?,
        // Version 2 on; a shorter config has none.
        flags: words(4 + 8 * MAX_COMPONENTS).unwrap_or_else(|| vec![0; MAX_COMPONENTS]),
    })
}

/// The dispatcher program `info` is, attached to `ifindex`, with its
/// components read from libxdp's pins; `None` when it is no dispatcher.
pub fn dispatcher(bpffs: Option<&Path>, ifindex: u32, info: &ProgInfo) -> Option<Dispatcher> {
    if info.name != DISPATCHER {
        return None;
    }
    let Config {
        version,
        enabled,
        chain,
        prios,
        flags,
    } = config(info)?;
    let dir = bpffs.map_or_else(PathBuf::new, |bpffs| pin_dir(bpffs, ifindex, info.id));
    let opened = Dir::open_no_follow(&dir).ok();
    let components = (0..enabled)
        .map(|slot| {
            let get = |suffix: &str| {
                let name = format!("prog{slot}-{suffix}");
                open_pin(opened.as_ref()?, &name).ok()?
            };
            let prog = get("prog")
                .and_then(|fd| prog_info(fd.as_fd()).ok())
                .map(|info| (info.id, component_name(&info)));
            let link = get("link")
                .and_then(|fd| link_info(fd.as_fd()).ok())
                .map(|info| info.id);
            Component {
                slot,
                prog,
                link,
                run_prio: prios[slot],
                chain_call_actions: action_names(chain[slot]),
                chain_bits: chain[slot],
                flags: flags[slot],
            }
        })
        .collect();
    Some(Dispatcher {
        version,
        dir,
        components,
    })
}

/// A loaded component's name as libxdp knows it, lists it and breaks
/// run-priority ties by it: the kernel's name, cut at
/// `BPF_OBJ_NAME_LEN - 1` bytes, made whole again from the program's BTF
/// when it may have been cut (libxdp's `xdp_program__parse_btf`); the
/// kernel's name when the BTF cannot say.
pub fn component_name(prog: &ProgInfo) -> String {
    if prog.name.len() < BPF_OBJ_NAME_LEN - 1 || prog.btf_id == 0 {
        return prog.name.clone();
    }
    btf_get_fd_by_id(prog.btf_id)
        .and_then(|fd| btf_data(fd.as_fd()))
        .ok()
        .and_then(|(_, data)| Btf::parse(&data).ok())
        .and_then(|btf| btf.func_named_from(&prog.name).map(str::to_string))
        .unwrap_or_else(|| prog.name.clone())
}

/// The object pinned as `name` in `dir`, `None` when nothing (or no
/// pin: a directory, a symlink) is there.
pub(crate) fn open_pin(dir: &Dir, name: &str) -> Result<Option<OwnedFd>, SysError> {
    match dir.stat_at(name)? {
        Some(stat) if stat.kind == EntryType::File => dir.get(name).map(Some),
        _ => Ok(None),
    }
}

/// Whether `name` is one libxdp pins in a dispatcher's directory.
fn libxdp_pin(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.strip_prefix("prog")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(slot, kind)| {
            slot.parse::<usize>().is_ok_and(|n| n < MAX_COMPONENTS)
                && matches!(kind, "prog" | "link")
        })
}

/// Removes the pins of the dispatcher `prog_id` detached from `ifindex`
/// (its components' programs and links: they go with them), under
/// libxdp's lock, and its directory when nothing else is in it. Returns
/// the directory when it was there.
pub fn remove_pins(bpffs: &Path, ifindex: u32, prog_id: u32) -> Result<Option<PathBuf>, SysError> {
    let xdp = match Dir::open_no_follow(&bpffs.join(XDP_DIR)) {
        Ok(dir) => dir,
        Err(error) if error.errno == libc::ENOENT => return Ok(None),
        Err(error) => return Err(error),
    };
    xdp.lock_exclusive()?;
    remove_pins_locked(&xdp, ifindex, prog_id)
}

/// [`remove_pins`] with libxdp's lock held already, on `xdp`, the open
/// `<bpffs>/xdp/`.
pub fn remove_pins_locked(
    xdp: &Dir,
    ifindex: u32,
    prog_id: u32,
) -> Result<Option<PathBuf>, SysError> {
    let name = format!("dispatch-{ifindex}-{prog_id}");
    let dir = match xdp.open_dir(&name) {
        Ok(dir) => dir,
        Err(error) if error.errno == libc::ENOENT => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut others = false;
    for (entry, kind) in dir.entries()? {
        if kind == EntryType::File && libxdp_pin(&entry) {
            dir.unlink(&entry)?;
        } else {
            others = true;
        }
    }
    if !others {
        xdp.remove_dir(&name)?;
    }
    Ok(Some(dir.path().to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_pin_names_as_libxdp_writes_them() {
        assert_eq!(action_names(1 << 2), ["XDP_PASS"]);
        assert_eq!(
            action_names((1 << 2) | (1 << 31) | 1),
            ["XDP_ABORTED", "XDP_PASS"]
        );
        assert!(libxdp_pin(OsStr::new("prog0-link")));
        assert!(libxdp_pin(OsStr::new("prog9-prog")));
        assert!(!libxdp_pin(OsStr::new("prog10-prog")));
        assert!(!libxdp_pin(OsStr::new("rxdp:record")));
        assert_eq!(
            pin_dir(Path::new("/sys/fs/bpf"), 7, 42),
            Path::new("/sys/fs/bpf/xdp/dispatch-7-42")
        );
    }
}
