//! A `.struct_ops` variable laid out as the kernel's struct: what
//! `BPF_MAP_CREATE` and the registering `BPF_MAP_UPDATE_ELEM` of a
//! `BPF_MAP_TYPE_STRUCT_OPS` map need, computed from the object's BTF and
//! the kernel's (given parsed, like the fds of [`crate::relocate`]).
//!
//! The kernel describes each struct it lets BPF implement twice: the struct
//! itself (`tcp_congestion_ops`) and a value type wrapping it,
//! `bpf_struct_ops_<name>`, whose member of the struct's type (`data`) is
//! where the struct goes in the map's value. Each member of the object's
//! struct is found by name in the kernel's: a function pointer with a
//! program there gives that program `attach_btf_id` = the kernel struct's
//! id and `expected_attach_type` = the member's index, and the program's fd
//! goes at the member's offset in the value; any other member is copied to
//! its offset, sizes equal (libbpf's `bpf_map__init_kern_struct_ops`). A
//! member the kernel's struct lacks is refused unless it is zero and holds
//! no program (newer kernels add members; libbpf 1.5 allows that too).

use crate::btf::{Btf, BtfError, BtfKind};
use crate::maps::is_func_pointer;
use crate::model::Map;

/// `BPF_F_LINK` (map flag): a struct_ops map that a link registers
/// (`.struct_ops.link`).
pub const BPF_F_LINK: u32 = 1 << 13;

/// The name of a struct's value type: `bpf_struct_ops_<struct>`.
pub const VALUE_PREFIX: &str = "bpf_struct_ops_";

/// A program's place in the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSlot {
    /// Index into `Object::programs`.
    pub program: usize,
    /// The member's name.
    pub member: String,
    /// The member's index in the kernel's struct: the program's
    /// `expected_attach_type`.
    pub member_index: u32,
    /// Where its fd goes in the value, in bytes.
    pub offset: usize,
}

/// A struct_ops map as the kernel wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelLayout {
    /// The kernel struct's type id: `attach_btf_id` of its programs.
    pub type_id: u32,
    /// The value type's id: `btf_vmlinux_value_type_id` of the map.
    pub value_type_id: u32,
    /// The value, data members copied, program slots zero: the map's
    /// `value_size` is its length.
    pub value: Vec<u8>,
    /// The programs' slots, in member order.
    pub programs: Vec<ProgramSlot>,
}

impl KernelLayout {
    /// The value with each program's fd at its slot, `fd_of(program)`
    /// giving the fd of `Object::programs[program]` (a pointer-sized slot,
    /// in the host's byte order, as the kernel reads it).
    pub fn value_with_fds(&self, fd_of: impl Fn(usize) -> Option<i32>) -> Vec<u8> {
        let mut value = self.value.clone();
        for slot in &self.programs {
            let fd = u64::from(fd_of(slot.program).unwrap_or(0) as u32);
            if let Some(place) = value.get_mut(slot.offset..slot.offset + 8) {
                place.copy_from_slice(&fd.to_ne_bytes());
            }
        }
        value
    }
}

/// Why a struct_ops variable does not fit the kernel's struct.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StructOpsError {
    /// The map is not a struct_ops variable.
    #[error("not a struct_ops variable")]
    NotStructOps,
    /// The kernel has no struct of that name.
    #[error(
        "the kernel's BTF has no struct {name}: this kernel cannot run such struct_ops (check \
         the name, or the module that provides it)"
    )]
    NoKernelStruct {
        /// The struct's name.
        name: String,
    },
    /// The kernel has the struct but no `bpf_struct_ops_<name>` for it.
    #[error(
        "the kernel's BTF has struct {name} but no {VALUE_PREFIX}{name}: this kernel does not let \
         BPF programs implement it"
    )]
    NoValueType {
        /// The struct's name.
        name: String,
    },
    /// The kernel's struct lacks a member the object sets.
    #[error(
        "member {member} of struct {name} is set here but the kernel's struct {name} has no such \
         member"
    )]
    NoKernelMember {
        /// The struct's name.
        name: String,
        /// The member.
        member: String,
    },
    /// A member is a bitfield.
    #[error("member {member} of struct {name} is a bitfield, which struct_ops cannot set")]
    Bitfield {
        /// The struct's name.
        name: String,
        /// The member.
        member: String,
    },
    /// A member's BTF kind differs from the kernel's.
    #[error(
        "member {member} of struct {name} is a {ours} here and a {kernel} in the kernel: rebuild \
         against this kernel's headers (vmlinux.h)"
    )]
    KindMismatch {
        /// The struct's name.
        name: String,
        /// The member.
        member: String,
        /// Its BTF kind here (`INT`, `PTR`, ...).
        ours: &'static str,
        /// Its BTF kind in the kernel.
        kernel: &'static str,
    },
    /// A member's size differs from the kernel's.
    #[error(
        "member {member} of struct {name} is {ours} bytes here and {kernel} in the kernel: \
         rebuild against this kernel's headers (vmlinux.h)"
    )]
    SizeMismatch {
        /// The struct's name.
        name: String,
        /// The member.
        member: String,
        /// Its size here.
        ours: u32,
        /// Its size in the kernel.
        kernel: u32,
    },
    /// A program sits at a member the kernel's struct has as no function pointer.
    #[error(
        "program {program} is set at member {member} of struct {name}, which is no function \
         pointer in the kernel's struct"
    )]
    NotFuncPointer {
        /// The struct's name.
        name: String,
        /// The member.
        member: String,
        /// The program, by name.
        program: String,
    },
    /// The object's or the kernel's BTF is malformed here.
    #[error("{0}")]
    Btf(BtfError),
}

/// The kernel layout of struct_ops map `map` of an object whose BTF is
/// `ours`, against the kernel's BTF `kernel`. `program_name` names
/// programs in errors.
pub fn kernel_layout(
    ours: &Btf,
    map: &Map,
    kernel: &Btf,
    program_name: impl Fn(usize) -> String,
) -> Result<KernelLayout, StructOpsError> {
    let ops = map
        .struct_ops
        .as_ref()
        .ok_or(StructOpsError::NotStructOps)?;
    // `struct bpf_testmod_ops___v2` is the kernel's `bpf_testmod_ops`:
    // the `___flavour` suffix is cut, as libbpf cuts it.
    let name = crate::core::essential(ops.type_name.as_str());
    let type_id =
        kernel
            .find(BtfKind::Struct, name)
            .ok_or_else(|| StructOpsError::NoKernelStruct {
                name: name.to_string(),
            })?;
    let value_type_id = kernel
        .find(BtfKind::Struct, &format!("{VALUE_PREFIX}{name}"))
        .ok_or_else(|| StructOpsError::NoValueType {
            name: name.to_string(),
        })?;
    let value_type = kernel
        .type_by_id(value_type_id)
        .map_err(StructOpsError::Btf)?;
    let data_offset = value_type
        .members()
        .iter()
        .find(|m| m.type_id == type_id)
        .map(|m| m.bit_offset(value_type.kind_flag) as usize / 8)
        .ok_or_else(|| StructOpsError::NoValueType {
            name: name.to_string(),
        })?;
    let mut value = vec![0u8; value_type.size().unwrap_or(0) as usize];
    let local = ours.type_by_id(ops.type_id).map_err(StructOpsError::Btf)?;
    let kernel_struct = kernel.type_by_id(type_id).map_err(StructOpsError::Btf)?;
    let data = map.data.as_deref().unwrap_or(&[]);
    let mut programs = Vec::new();
    for member in local.members() {
        let member_name = ours.string(member.name_off).map_err(StructOpsError::Btf)?;
        let offset = member.bit_offset(local.kind_flag) as usize / 8;
        let size = ours.size_of(member.type_id).map_err(StructOpsError::Btf)? as usize;
        let bytes = data.get(offset..offset + size).unwrap_or(&[]);
        let program = ops
            .programs
            .iter()
            .find(|(m, _)| m == member_name)
            .map(|&(_, program)| program);
        let found = kernel_struct
            .members()
            .iter()
            .enumerate()
            .find(|(_, m)| kernel.string(m.name_off).ok() == Some(member_name));
        let Some((index, kernel_member)) = found else {
            if program.is_none() && bytes.iter().all(|&b| b == 0) {
                continue;
            }
            return Err(StructOpsError::NoKernelMember {
                name: name.to_string(),
                member: member_name.to_string(),
            });
        };
        if member.bitfield_size(local.kind_flag) != 0
            || kernel_member.bitfield_size(kernel_struct.kind_flag) != 0
        {
            return Err(StructOpsError::Bitfield {
                name: name.to_string(),
                member: member_name.to_string(),
            });
        }
        let kernel_offset =
            data_offset + kernel_member.bit_offset(kernel_struct.kind_flag) as usize / 8;
        let ours_kind = resolved_kind(ours, member.type_id)?;
        let kernel_kind = resolved_kind(kernel, kernel_member.type_id)?;
        if ours_kind != kernel_kind {
            return Err(StructOpsError::KindMismatch {
                name: name.to_string(),
                member: member_name.to_string(),
                ours: ours_kind.name(),
                kernel: kernel_kind.name(),
            });
        }
        if ours_kind == BtfKind::Ptr {
            let Some(program) = program else {
                continue;
            };
            if !is_func_pointer(kernel, kernel_member.type_id) {
                return Err(StructOpsError::NotFuncPointer {
                    name: name.to_string(),
                    member: member_name.to_string(),
                    program: program_name(program),
                });
            }
            programs.push(ProgramSlot {
                program,
                member: member_name.to_string(),
                member_index: index as u32,
                offset: kernel_offset,
            });
            continue;
        }
        let kernel_size = kernel
            .size_of(kernel_member.type_id)
            .map_err(StructOpsError::Btf)? as usize;
        if kernel_size != size {
            return Err(StructOpsError::SizeMismatch {
                name: name.to_string(),
                member: member_name.to_string(),
                ours: size as u32,
                kernel: kernel_size as u32,
            });
        }
        if let Some(place) = value.get_mut(kernel_offset..kernel_offset + size) {
            if bytes.len() == size {
                place.copy_from_slice(bytes);
            }
        }
    }
    Ok(KernelLayout {
        type_id,
        value_type_id,
        value,
        programs,
    })
}

/// The kind of `id` after modifiers and typedefs.
fn resolved_kind(btf: &Btf, id: u32) -> Result<BtfKind, StructOpsError> {
    let id = btf.resolve(id).map_err(StructOpsError::Btf)?;
    btf.type_by_id(id)
        .map(|t| t.kind)
        .map_err(StructOpsError::Btf)
}
