//! `rxdp status`: for each interface, what runs in each XDP slot (program
//! id, name and tag, from `BPF_PROG_GET_FD_BY_ID` and its info) and which
//! pin directories rxdp keeps for it under `/sys/fs/bpf/IF/`.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rxdp_syscalls::bpf::{prog_get_fd_by_id, prog_info};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink::{self, Link};
use rxdp_syscalls::Error as SysError;

use crate::error::{hint, syscall};
use crate::options::Mode;

/// One attached program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotStatus {
    /// The slot.
    pub mode: Mode,
    /// The program's kernel id.
    pub id: u32,
    /// Empty when the program went away between the query and the lookup.
    pub name: String,
    /// Its tag, in hex.
    pub tag: String,
}

/// One pin directory and its entries, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinDir {
    /// The directory.
    pub dir: PathBuf,
    /// The mode the directory is for (`skb`, `drv`, `hw`), if it is one.
    pub mode: Option<Mode>,
    /// The pins in it.
    pub pins: Vec<String>,
}

/// An interface with XDP programs or rxdp pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    /// The interface.
    pub ifname: String,
    /// Its index.
    pub ifindex: u32,
    /// The programs in its XDP slots.
    pub programs: Vec<SlotStatus>,
    /// rxdp's pin directories for it.
    pub pins: Vec<PinDir>,
}

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// A syscall failed.
    #[error("{what}: {}{}", syscall(error), hint(error))]
    Kernel {
        /// What was being read: an interface, a directory.
        what: String,
        /// What failed.
        error: SysError,
    },
}

/// The status of `dev`, or of every interface with XDP programs or pins.
pub fn status(dev: Option<&str>) -> Result<Vec<DeviceStatus>, StatusError> {
    let kernel = |what: &str| {
        let what = what.to_string();
        move |error| StatusError::Kernel { what, error }
    };
    let links = match dev {
        Some(dev) => vec![netlink::link_by_name(dev).map_err(kernel(dev))?],
        None => netlink::links().map_err(kernel("interfaces"))?,
    };
    let root = bpffs::find_mount().map_err(kernel("bpffs"))?;
    let mut devices = Vec::new();
    for link in links {
        let status = device(&link, root.as_deref())?;
        if dev.is_some() || !status.programs.is_empty() || !status.pins.is_empty() {
            devices.push(status);
        }
    }
    Ok(devices)
}

/// The status of one interface. What cannot be read — a program's name
/// without `CAP_SYS_ADMIN`, a pin directory without the right to read it —
/// is an error, not an empty answer.
fn device(link: &Link, root: Option<&Path>) -> Result<DeviceStatus, StatusError> {
    let state = &link.xdp;
    let programs = [
        (Mode::Skb, state.skb_prog_id),
        (Mode::Drv, state.drv_prog_id),
        (Mode::Hw, state.hw_prog_id),
    ]
    .into_iter()
    .filter_map(|(mode, id)| id.map(|id| slot(&link.name, mode, id)))
    .collect::<Result<Vec<_>, _>>()?;
    let pins = match root {
        Some(root) => pin_dirs(&root.join(&link.name))?,
        None => Vec::new(),
    };
    Ok(DeviceStatus {
        ifname: link.name.clone(),
        ifindex: link.ifindex,
        programs,
        pins,
    })
}

fn slot(ifname: &str, mode: Mode, id: u32) -> Result<SlotStatus, StatusError> {
    let info = prog_get_fd_by_id(id).and_then(|fd| prog_info(fd.as_fd()));
    let (name, tag) = match info {
        Ok(info) => (info.name.clone(), info.tag_hex()),
        // Detached and freed between the query and the lookup.
        Err(error) if error.errno == libc::ENOENT => (String::new(), String::new()),
        Err(error) => {
            return Err(StatusError::Kernel {
                what: format!("{ifname}: the {mode} program (id {id})"),
                error,
            })
        }
    };
    Ok(SlotStatus {
        mode,
        id,
        name,
        tag,
    })
}

/// The entries of `dir`, sorted, with whether each is a directory; none
/// when `dir` does not exist.
fn sorted_entries(dir: &Path) -> Result<Vec<(String, bool)>, StatusError> {
    let unreadable = |error: std::io::Error| StatusError::Kernel {
        what: dir.display().to_string(),
        error: SysError::new("readdir", error.raw_os_error().unwrap_or(libc::EIO))
            .with_subject(dir.display().to_string()),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(unreadable(error)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(unreadable)?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        out.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    out.sort();
    Ok(out)
}

/// The directories under `/sys/fs/bpf/IF/` with their pins.
fn pin_dirs(device_dir: &Path) -> Result<Vec<PinDir>, StatusError> {
    let mut dirs = Vec::new();
    for (name, is_dir) in sorted_entries(device_dir)? {
        if !is_dir {
            continue;
        }
        let dir = device_dir.join(&name);
        let pins = sorted_entries(&dir)?
            .into_iter()
            .map(|(pin, _)| pin)
            .collect();
        dirs.push(PinDir {
            mode: Mode::SLOTS.into_iter().find(|mode| mode.name() == name),
            dir,
            pins,
        });
    }
    Ok(dirs)
}
