//! The `bpf(2)` half of the fake kernel ([`crate::fake`]): an attr decoded
//! into a [`Call`] the way the kernel reads it, the handler's [`Answer`]
//! written back the way the kernel writes it.

use std::os::fd::RawFd;

use bytemuck::Pod;

use super::attr::{
    BpfLinkInfo, BpfMapInfo, BpfProgInfo, BtfLoadAttr, GetIdAttr, InfoAttr, LinkCreateAttr,
    MapCreateAttr, MapElemAttr, ObjAttr, ProgLoadAttr, BPF_OBJ_NAME_LEN,
};
use super::sys::Cmd;
use crate::error::{Error, Result};
use crate::fake::{c_string, fd_result, key_of_raw_fd, map_sizes, Answer, Call, ObjectKey};
use crate::netlink::XdpFlags;

/// The attr as the struct `cmd` takes.
fn member<T: Pod>(attr: &mut [u8]) -> Result<&mut T> {
    bytemuck::try_from_bytes_mut(attr).map_err(|_| Error::new("bpf", libc::EINVAL))
}

fn name(bytes: &[u8; BPF_OBJ_NAME_LEN]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn object(fd: u32) -> Result<ObjectKey> {
    key_of_raw_fd(fd as RawFd).map_err(|_| Error::new("bpf", libc::EBADF))
}

/// `len` bytes at user pointer `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for reading `len` bytes for `'a` (the `bpf(2)`
/// contract of the caller of `sys::bpf`).
unsafe fn input<'a>(ptr: u64, len: usize) -> Result<&'a [u8]> {
    if ptr == 0 {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::new("bpf", libc::EFAULT))
        };
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
}

/// `len` writable bytes at user pointer `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for writing `len` bytes for `'a`, and nothing else
/// may reach them meanwhile (the caller's out-buffer, lent to the kernel).
unsafe fn output<'a>(ptr: u64, len: usize) -> Result<&'a mut [u8]> {
    if ptr == 0 {
        return Err(Error::new("bpf", libc::EFAULT));
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) })
}

fn sizes(map: ObjectKey) -> Result<(usize, usize)> {
    map_sizes(map).ok_or_else(|| Error::new("bpf", libc::EBADF))
}

/// Runs one `bpf(2)` command against the fake kernel: decodes `attr`,
/// lets `answer` answer, writes the answer back, returns what the syscall
/// would have returned.
///
/// The pointers inside `attr` are followed as the kernel follows them:
/// sound because `sys::bpf`'s caller guarantees them (its `# Safety`).
pub(crate) fn fake_call(
    cmd: Cmd,
    attr: &mut [u8],
    answer: impl FnOnce(Call<'_>) -> Result<Answer>,
) -> Result<i64> {
    let result = match cmd {
        Cmd::MapCreate => {
            let a: &mut MapCreateAttr = member(attr)?;
            answer(Call::MapCreate {
                map_type: a.map_type,
                key_size: a.key_size,
                value_size: a.value_size,
                max_entries: a.max_entries,
                flags: a.map_flags,
                name: name(&a.map_name),
                ifindex: a.map_ifindex,
            })?
        }
        Cmd::MapLookupElem | Cmd::MapUpdateElem | Cmd::MapDeleteElem | Cmd::MapGetNextKey => {
            let a: &mut MapElemAttr = member(attr)?;
            let map = object(a.map_fd)?;
            let (key_size, value_size) = sizes(map)?;
            let has_key = a.key != 0;
            // SAFETY: a key is `key_size` bytes, as the kernel reads it
            // (none for the first BPF_MAP_GET_NEXT_KEY).
            let key = unsafe { input(a.key, if has_key { key_size } else { 0 }) }?;
            let call = match cmd {
                Cmd::MapLookupElem => Call::MapLookup {
                    map,
                    key,
                    // SAFETY: the value buffer holds a whole value.
                    value: unsafe { output(a.value, value_size) }?,
                },
                Cmd::MapUpdateElem => Call::MapUpdate {
                    map,
                    key,
                    // SAFETY: the value is a whole value.
                    value: unsafe { input(a.value, value_size) }?,
                    flags: a.flags,
                },
                Cmd::MapDeleteElem => Call::MapDelete { map, key },
                _ => Call::MapNextKey {
                    map,
                    key: has_key.then_some(key),
                    // SAFETY: `next_key` has room for one key.
                    next: unsafe { output(a.value, key_size) }?,
                },
            };
            answer(call)?
        }
        Cmd::MapFreeze => {
            let a: &mut MapElemAttr = member(attr)?;
            answer(Call::MapFreeze {
                map: object(a.map_fd)?,
            })?
        }
        Cmd::ProgLoad => {
            let a: &mut ProgLoadAttr = member(attr)?;
            // SAFETY: `insns` holds `insn_cnt` 8-byte instructions.
            let insns = unsafe { input(a.insns, a.insn_cnt as usize * 8) }?;
            // SAFETY: `license` is a C string.
            let license = unsafe { c_string(a.license) }?;
            let log = match (a.log_buf, a.log_size) {
                (0, _) | (_, 0) => None,
                // SAFETY: `log_buf` is `log_size` writable bytes.
                (buf, size) => Some(unsafe { output(buf, size as usize) }?),
            };
            answer(Call::ProgLoad {
                prog_type: a.prog_type,
                name: name(&a.prog_name),
                insns,
                license,
                ifindex: a.prog_ifindex,
                log,
            })?
        }
        Cmd::BtfLoad => {
            let a: &mut BtfLoadAttr = member(attr)?;
            // SAFETY: `btf` holds `btf_size` bytes.
            let btf = unsafe { input(a.btf, a.btf_size as usize) }?;
            answer(Call::BtfLoad { btf })?
        }
        Cmd::ObjPin | Cmd::ObjGet => {
            let a: &mut ObjAttr = member(attr)?;
            // SAFETY: `pathname` is a C string.
            let path = unsafe { c_string(a.pathname) }?.into();
            if cmd == Cmd::ObjPin {
                answer(Call::ObjPin {
                    object: object(a.bpf_fd)?,
                    path,
                })?
            } else {
                answer(Call::ObjGet { path })?
            }
        }
        Cmd::ObjGetInfoByFd => {
            let a: &mut InfoAttr = member(attr)?;
            let key = object(a.bpf_fd)?;
            let (info_ptr, info_len) = (a.info, a.info_len as usize);
            let answered = answer(Call::Info { object: key })?;
            // SAFETY: `info` is `info_len` writable bytes.
            let buffer = unsafe { output(info_ptr, info_len) }?;
            let written = match answered {
                Answer::Map(info) => write_map_info(buffer, &info)?,
                Answer::Prog(info) => write_prog_info(buffer, &info)?,
                Answer::Link(info) => write_link_info(buffer, &info),
                _ => return Err(Error::new("bpf", libc::EINVAL)),
            };
            a.info_len = written as u32;
            Answer::Done
        }
        Cmd::ProgGetFdById | Cmd::MapGetFdById => {
            let a: &mut GetIdAttr = member(attr)?;
            let id = a.start_id;
            answer(if cmd == Cmd::ProgGetFdById {
                Call::ProgById { id }
            } else {
                Call::MapById { id }
            })?
        }
        Cmd::LinkCreate => {
            let a: &mut LinkCreateAttr = member(attr)?;
            answer(Call::LinkCreate {
                prog: object(a.prog_fd)?,
                ifindex: a.target_ifindex,
                flags: XdpFlags::from_bits_retain(a.flags),
            })?
        }
        _ => answer(Call::Other { op: cmd.name() })?,
    };
    Ok(match result {
        Answer::Fd(fd) => fd_result(fd),
        _ => 0,
    })
}

/// `struct bpf_map_info` into `buffer`, as far as it reaches; the bytes written.
fn write_map_info(buffer: &mut [u8], info: &crate::bpf::MapInfo) -> Result<usize> {
    let mut raw = BpfMapInfo {
        map_type: info.map_type,
        id: info.id,
        key_size: info.key_size,
        value_size: info.value_size,
        max_entries: info.max_entries,
        map_flags: info.flags,
        ifindex: info.ifindex,
        btf_id: info.btf_id,
        ..BpfMapInfo::default()
    };
    copy_name(&mut raw.name, &info.name);
    Ok(copy_out(buffer, bytemuck::bytes_of(&raw)))
}

/// `struct bpf_prog_info` into `buffer`, its map ids where `map_ids` points.
fn write_prog_info(buffer: &mut [u8], info: &crate::bpf::ProgInfo) -> Result<usize> {
    let mut asked = BpfProgInfo::default();
    let n = buffer.len().min(size_of::<BpfProgInfo>());
    bytemuck::bytes_of_mut(&mut asked)[..n].copy_from_slice(&buffer[..n]);
    if asked.map_ids != 0 && asked.nr_map_ids > 0 {
        let room = (asked.nr_map_ids as usize).min(info.map_ids.len());
        // SAFETY: the caller lent `nr_map_ids` u32s at `map_ids`.
        let ids = unsafe { output(asked.map_ids, room * 4) }?;
        for (slot, id) in ids.chunks_exact_mut(4).zip(&info.map_ids) {
            slot.copy_from_slice(&id.to_ne_bytes());
        }
    }
    let mut raw = BpfProgInfo {
        prog_type: info.prog_type,
        id: info.id,
        tag: info.tag,
        nr_map_ids: info.map_ids.len() as u32,
        map_ids: asked.map_ids,
        ifindex: info.ifindex,
        gpl_compatible_bits: u32::from(info.gpl_compatible),
        btf_id: info.btf_id,
        verified_insns: info.verified_insns,
        xlated_prog_len: info.xlated_len,
        ..BpfProgInfo::default()
    };
    copy_name(&mut raw.name, &info.name);
    Ok(copy_out(buffer, bytemuck::bytes_of(&raw)))
}

/// `struct bpf_link_info` into `buffer`: the XDP member (`xdp.ifindex`)
/// for XDP links.
fn write_link_info(buffer: &mut [u8], info: &crate::bpf::LinkInfo) -> usize {
    let mut raw = BpfLinkInfo {
        link_type: info.link_type,
        id: info.id,
        prog_id: info.prog_id,
        ..BpfLinkInfo::default()
    };
    raw.union[0] = info.ifindex;
    copy_out(buffer, bytemuck::bytes_of(&raw))
}

fn copy_name(field: &mut [u8; BPF_OBJ_NAME_LEN], name: &str) {
    let n = name.len().min(BPF_OBJ_NAME_LEN - 1);
    field[..n].copy_from_slice(&name.as_bytes()[..n]);
}

fn copy_out(buffer: &mut [u8], bytes: &[u8]) -> usize {
    let n = buffer.len().min(bytes.len());
    buffer[..n].copy_from_slice(&bytes[..n]);
    n
}
