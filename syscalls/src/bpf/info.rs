//! What the kernel knows about loaded objects: `BPF_OBJ_GET_INFO_BY_FD`, and
//! walking and opening objects by id (`BPF_*_GET_NEXT_ID`,
//! `BPF_*_GET_FD_BY_ID`), as bpftool does.

use std::fmt::Write as _;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::attr::{
    name_from_bytes, ptr_mut, BpfBtfInfo, BpfLinkInfo, BpfMapInfo, BpfProgInfo, GetIdAttr, Info,
    InfoAttr, BPF_TAG_SIZE,
};
use super::sys::{bpf, bpf_fd, Cmd};
use crate::error::{Error, Result};

/// Fills `info` for `fd`. `info_len` goes in as the size of our struct and
/// comes back as the size the kernel wrote (less on older kernels, whose
/// missing fields stay zero).
fn obj_info<I: Info>(fd: BorrowedFd<'_>, info: &mut I) -> Result<()> {
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<I>() as u32,
        info: info as *mut I as u64,
    };
    // SAFETY: `info` is a live plain-data struct (`I: Info`) of exactly
    // `info_len` bytes; any pointers inside it were set by the caller to
    // buffers of the counts beside them (zero/null otherwise).
    unsafe { bpf(Cmd::ObjGetInfoByFd, &mut attr) }.map(drop)
}

/// A loaded program, as `struct bpf_prog_info` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgInfo {
    /// The kernel's id.
    pub id: u32,
    /// `enum bpf_prog_type`.
    pub prog_type: u32,
    /// The name given at load time (at most 15 bytes).
    pub name: String,
    /// The kernel's tag: a hash of the instructions, as bpftool shows it.
    pub tag: [u8; BPF_TAG_SIZE],
    /// Ids of the maps the program uses.
    pub map_ids: Vec<u32>,
    /// Bytes of JIT-compiled code (0 without JIT).
    pub jited_len: u32,
    /// Bytes of instructions after the verifier's rewriting.
    pub xlated_len: u32,
    /// Instructions the verifier processed (kernel 5.16).
    pub verified_insns: u32,
    /// The program's BTF object, 0 without.
    pub btf_id: u32,
    /// The device of an offloaded program, 0 otherwise.
    pub ifindex: u32,
    /// When it was loaded: nanoseconds since boot.
    pub load_time_ns: u64,
    /// The uid that loaded it.
    pub created_by_uid: u32,
    /// Whether its license is GPL-compatible.
    pub gpl_compatible: bool,
    /// Run time and count, counted while `kernel.bpf_stats_enabled` is 1.
    pub run_time_ns: u64,
    /// See `run_time_ns`.
    pub run_count: u64,
    /// The BTF type the program was loaded for (`attach_btf_id`: tracing,
    /// LSM, iterators, struct_ops, freplace), 0 without (kernel 5.18).
    pub attach_btf_id: u32,
    /// The id of the BTF object holding it: vmlinux's, a module's or a
    /// program's; 0 without.
    pub attach_btf_obj_id: u32,
}

impl ProgInfo {
    /// The tag in hex, as bpftool prints it.
    pub fn tag_hex(&self) -> String {
        self.tag.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
    }
}

/// How many map ids the first request makes room for: the kernel's limit
/// per program (`MAX_USED_MAPS`), so that one call is enough.
const MAP_IDS_AT_ONCE: u32 = 64;
/// The most map ids rxdp asks for, should a kernel allow more.
const MAX_MAP_IDS: u32 = 4096;

/// The info of a program: one `BPF_OBJ_GET_INFO_BY_FD` with room for the
/// map ids, and a second one only if the program uses more maps than that.
pub fn prog_info(prog: BorrowedFd<'_>) -> Result<ProgInfo> {
    let mut map_ids = vec![0u32; MAP_IDS_AT_ONCE as usize];
    let mut raw = BpfProgInfo {
        nr_map_ids: MAP_IDS_AT_ONCE,
        map_ids: ptr_mut(&mut map_ids),
        ..BpfProgInfo::default()
    };
    obj_info(prog, &mut raw)?;
    if raw.nr_map_ids > MAP_IDS_AT_ONCE {
        map_ids = vec![0u32; raw.nr_map_ids.min(MAX_MAP_IDS) as usize];
        raw = BpfProgInfo {
            nr_map_ids: map_ids.len() as u32,
            map_ids: ptr_mut(&mut map_ids),
            ..BpfProgInfo::default()
        };
        obj_info(prog, &mut raw)?;
    }
    // The kernel wrote min(ours, its count) ids and set its count.
    map_ids.truncate(raw.nr_map_ids.min(map_ids.len() as u32) as usize);
    Ok(ProgInfo {
        id: raw.id,
        prog_type: raw.prog_type,
        name: name_from_bytes(&raw.name),
        tag: raw.tag,
        map_ids,
        jited_len: raw.jited_prog_len,
        xlated_len: raw.xlated_prog_len,
        verified_insns: raw.verified_insns,
        btf_id: raw.btf_id,
        ifindex: raw.ifindex,
        load_time_ns: raw.load_time,
        created_by_uid: raw.created_by_uid,
        gpl_compatible: gpl_compatible(raw.gpl_compatible_bits),
        run_time_ns: raw.run_time_ns,
        run_count: raw.run_cnt,
        attach_btf_id: raw.attach_btf_id,
        attach_btf_obj_id: raw.attach_btf_obj_id,
    })
}

/// `__u32 gpl_compatible:1` is the first bit-field of its word: the lowest
/// bit on little-endian targets, the highest on big-endian ones.
fn gpl_compatible(bits: u32) -> bool {
    if cfg!(target_endian = "little") {
        bits & 1 != 0
    } else {
        bits & (1 << 31) != 0
    }
}

/// A map, as `struct bpf_map_info` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapInfo {
    /// The kernel's id.
    pub id: u32,
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// Bytes of a key.
    pub key_size: u32,
    /// Bytes of a value.
    pub value_size: u32,
    /// How many entries it holds.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
    /// The name given at creation (at most 15 bytes).
    pub name: String,
    /// The device of an offloaded map, 0 otherwise.
    pub ifindex: u32,
    /// The BTF object describing key and value, 0 without.
    pub btf_id: u32,
    /// The key's type id in it.
    pub btf_key_type_id: u32,
    /// The value's type id in it.
    pub btf_value_type_id: u32,
    /// For struct_ops maps: the kernel struct's type id.
    pub btf_vmlinux_value_type_id: u32,
    /// Per-type extra (bloom filter hash count, arena address).
    pub map_extra: u64,
}

/// The info of a map (one `BPF_OBJ_GET_INFO_BY_FD`).
pub fn map_info(map: BorrowedFd<'_>) -> Result<MapInfo> {
    let mut raw = BpfMapInfo::default();
    obj_info(map, &mut raw)?;
    Ok(MapInfo {
        id: raw.id,
        map_type: raw.map_type,
        key_size: raw.key_size,
        value_size: raw.value_size,
        max_entries: raw.max_entries,
        flags: raw.map_flags,
        name: name_from_bytes(&raw.name),
        ifindex: raw.ifindex,
        btf_id: raw.btf_id,
        btf_key_type_id: raw.btf_key_type_id,
        btf_value_type_id: raw.btf_value_type_id,
        btf_vmlinux_value_type_id: raw.btf_vmlinux_value_type_id,
        map_extra: raw.map_extra,
    })
}

/// A BTF object the kernel holds, as `struct bpf_btf_info` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BtfInfo {
    /// The kernel's id (a map's or program's `btf_id`).
    pub id: u32,
    /// `vmlinux` or a module's name for the kernel's own BTF; for a
    /// loaded one, the name it was loaded with (mostly empty).
    pub name: String,
    /// Whether it is the kernel's own (vmlinux or a module).
    pub kernel_btf: bool,
    /// Bytes of its raw data.
    pub size: u32,
}

/// Room for a BTF object's name: module names are at most 56 bytes
/// (`MODULE_NAME_LEN`).
const BTF_NAME_LEN: usize = 64;

/// The info of a BTF object: its id, its name (vmlinux's, a module's) and
/// whether it is the kernel's (one `BPF_OBJ_GET_INFO_BY_FD`, no data:
/// walking the kernel's BTF objects by name stays cheap).
pub fn btf_info(btf: BorrowedFd<'_>) -> Result<BtfInfo> {
    let mut name = [0u8; BTF_NAME_LEN];
    let mut raw = BpfBtfInfo {
        name: ptr_mut(&mut name),
        name_len: BTF_NAME_LEN as u32,
        ..BpfBtfInfo::default()
    };
    obj_info(btf, &mut raw)?;
    Ok(BtfInfo {
        id: raw.id,
        name: name_from_bytes(&name),
        kernel_btf: raw.kernel_btf != 0,
        size: raw.btf_size,
    })
}

/// The info of a BTF object with its raw data (header, types and strings,
/// as `BPF_BTF_LOAD` took it; for a module's BTF, only the types it adds
/// to vmlinux's): one `BPF_OBJ_GET_INFO_BY_FD` for the size, one with a
/// buffer of that size.
pub fn btf_data(btf: BorrowedFd<'_>) -> Result<(BtfInfo, Vec<u8>)> {
    let info = btf_info(btf)?;
    let mut data = vec![0u8; info.size as usize];
    let mut full = BpfBtfInfo {
        btf: ptr_mut(&mut data),
        btf_size: info.size,
        ..BpfBtfInfo::default()
    };
    obj_info(btf, &mut full)?;
    // BTF objects never change; the size cannot have grown in between.
    data.truncate(full.btf_size.min(info.size) as usize);
    Ok((info, data))
}

/// `BPF_LINK_TYPE_XDP` (`enum bpf_link_type`).
pub const LINK_TYPE_XDP: u32 = 6;

/// A BPF link, as `struct bpf_link_info` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkInfo {
    /// The kernel's id.
    pub id: u32,
    /// `enum bpf_link_type` ([`LINK_TYPE_XDP`] for XDP).
    pub link_type: u32,
    /// The program it runs.
    pub prog_id: u32,
    /// For an XDP link, its interface; 0 once detached (or for other types).
    pub ifindex: u32,
}

/// The info of a link (one `BPF_OBJ_GET_INFO_BY_FD`).
pub fn link_info(link: BorrowedFd<'_>) -> Result<LinkInfo> {
    let mut raw = BpfLinkInfo::default();
    obj_info(link, &mut raw)?;
    Ok(LinkInfo {
        id: raw.id,
        link_type: raw.link_type,
        prog_id: raw.prog_id,
        ifindex: if raw.link_type == LINK_TYPE_XDP {
            raw.union[0]
        } else {
            0
        },
    })
}

fn next_id(cmd: Cmd, start: u32) -> Result<Option<u32>> {
    let mut attr = GetIdAttr {
        start_id: start,
        ..GetIdAttr::default()
    };
    // SAFETY: the GET_NEXT_ID commands take and return ids; no pointers.
    match unsafe { bpf(cmd, &mut attr) } {
        Ok(_) => Ok(Some(attr.next_id)),
        Err(error) if error.errno == libc::ENOENT => Ok(None),
        Err(error) => Err(error),
    }
}

/// The id of the first program after `start` (0: the first of all), or
/// `None` after the last one. Ids are not reused until they wrap.
pub fn prog_get_next_id(start: u32) -> Result<Option<u32>> {
    next_id(Cmd::ProgGetNextId, start)
}

/// The id of the first map after `start`, or `None` after the last one.
pub fn map_get_next_id(start: u32) -> Result<Option<u32>> {
    next_id(Cmd::MapGetNextId, start)
}

/// The id of the first BTF object after `start` (programs' and maps'
/// included, and the kernel's own: vmlinux, modules), or `None` after the
/// last one.
pub fn btf_get_next_id(start: u32) -> Result<Option<u32>> {
    next_id(Cmd::BtfGetNextId, start)
}

/// The id of the first BPF link after `start`, or `None` after the last one.
pub fn link_get_next_id(start: u32) -> Result<Option<u32>> {
    next_id(Cmd::LinkGetNextId, start)
}

fn fd_by_id(cmd: Cmd, what: &str, id: u32) -> Result<OwnedFd> {
    let mut attr = GetIdAttr {
        start_id: id,
        ..GetIdAttr::default()
    };
    // SAFETY: the GET_FD_BY_ID commands take an id, no pointers, and return
    // a new fd.
    unsafe { bpf_fd(cmd, &mut attr) }
        .map_err(|error: Error| error.with_subject(format!("{what} id {id}")))
}

/// Opens the program with this id (ENOENT when there is none).
pub fn prog_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::ProgGetFdById, "program", id)
}

/// Opens the map with this id (ENOENT when there is none).
pub fn map_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::MapGetFdById, "map", id)
}

/// Opens the BPF link with this id (ENOENT when there is none).
pub fn link_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::LinkGetFdById, "link", id)
}

/// Opens the BTF object with this id (a map's `btf_id`; ENOENT when
/// there is none).
pub fn btf_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    fd_by_id(Cmd::BtfGetFdById, "BTF", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_print_as_bpftool_prints_them() {
        let info = ProgInfo {
            tag: [0x0a, 0xbc, 0, 1, 2, 3, 0xfe, 0xff],
            ..ProgInfo::default()
        };
        assert_eq!(info.tag_hex(), "0abc00010203feff");
    }

    #[test]
    fn gpl_bit() {
        assert!(gpl_compatible(if cfg!(target_endian = "little") {
            1
        } else {
            1 << 31
        }));
        assert!(!gpl_compatible(0));
    }
}
