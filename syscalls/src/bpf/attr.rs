//! The members of the uapi `union bpf_attr` (and the info structs the kernel
//! fills) that rxdp uses, laid out field for field as in
//! `include/uapi/linux/bpf.h`.
//!
//! Each struct is `#[repr(C)]` with 8-byte alignment where the uapi uses
//! `__aligned_u64`, starts zeroed (`Default`), and is checked at compile time
//! against the uapi sizes and offsets below. The kernel accepts a member
//! shorter than its own `union bpf_attr` (it zero-fills the rest) and a longer
//! one whose extra bytes are zero, so each struct stops at the last field
//! rxdp sets or reads.
//!
//! Pointers travel as `u64` (`__aligned_u64`): see [`ptr`] and [`ptr_mut`].
//!
//! # Plain data, proved by the compiler
//!
//! The `bpf(2)` choke point hands the kernel a pointer to one of these
//! structs and its size; the kernel reads every byte of it and writes any
//! bytes it likes into the out-fields (and into the info structs). That is
//! sound only for structs with no padding (Rust leaves padding
//! uninitialised, and the kernel rejects non-zero bytes past the fields it
//! knows: E2BIG for info structs, EINVAL for attrs) and for which every bit
//! pattern is a valid value. `bytemuck::Pod` is exactly that promise, and
//! its derive *checks* it: it refuses a struct with implicit padding or a
//! field that is not itself plain data. Where C pads (before an aligned
//! `u64`, or at the end) there is an explicit `_pad` field, so the derive
//! accepts the struct and a `Default` struct is zero in every byte.
//!
//! The alternative was a hand-written `unsafe trait` with an `unsafe impl`
//! and a `SAFETY` comment per struct: no dependency, but eleven promises
//! that a reviewer re-checks by reading every field, and that nothing
//! re-checks when a field is added. bytemuck (and its derive, a proc macro
//! sharing `syn` with thiserror and clap) adds no code to the programs and
//! turns those promises into compile errors; zerocopy would do the same
//! with a larger API than these eleven structs need. [`Attr`] and [`Info`]
//! stay as the names of the two roles, safe traits on top of `Pod`.

use std::mem::{offset_of, size_of};

use bytemuck::{Pod, Zeroable};

/// `BPF_OBJ_NAME_LEN`: map and program names, NUL included.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// `BPF_TAG_SIZE`: the program tag (a SHA-1 prefix of the instructions).
pub const BPF_TAG_SIZE: usize = 8;

/// A user pointer as the kernel reads it: the address as a `__u64`.
pub(crate) fn ptr<T>(slice: &[T]) -> u64 {
    if slice.is_empty() {
        0
    } else {
        slice.as_ptr() as u64
    }
}

/// A user pointer the kernel writes through.
pub(crate) fn ptr_mut<T>(slice: &mut [T]) -> u64 {
    if slice.is_empty() {
        0
    } else {
        slice.as_mut_ptr() as u64
    }
}

/// The `BPF_MAP_CREATE` member.
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; BPF_OBJ_NAME_LEN],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
}

/// The member of `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_UPDATE_ELEM`,
/// `BPF_MAP_DELETE_ELEM`, `BPF_MAP_GET_NEXT_KEY` and `BPF_MAP_FREEZE`.
/// `value` is also `next_key` (a union in the uapi).
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct MapElemAttr {
    pub map_fd: u32,
    pub _pad: u32,
    pub key: u64,
    pub value: u64,
    pub flags: u64,
}

/// The `BPF_PROG_LOAD` member, up to `log_true_size` (kernel 6.4; older
/// kernels see it as zeroed tail and leave it zero).
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; BPF_OBJ_NAME_LEN],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
    /// `attach_prog_fd` / `attach_btf_obj_fd` (a union in the uapi).
    pub attach_btf_obj_fd: u32,
    pub core_relo_cnt: u32,
    pub fd_array: u64,
    pub core_relos: u64,
    pub core_relo_rec_size: u32,
    /// Out: the log size the whole log needed, NUL included.
    pub log_true_size: u32,
}

/// The `BPF_OBJ_PIN` / `BPF_OBJ_GET` member (without `path_fd`).
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct ObjAttr {
    pub pathname: u64,
    pub bpf_fd: u32,
    pub file_flags: u32,
}

/// The `BPF_PROG_TEST_RUN` member (`test` in the uapi).
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct TestRunAttr {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    pub _pad: u32,
}

/// The member of `BPF_*_GET_NEXT_ID` and `BPF_*_GET_FD_BY_ID`: `start_id` is
/// also `prog_id`/`map_id`/`link_id` (a union in the uapi).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct GetIdAttr {
    pub start_id: u32,
    pub next_id: u32,
    pub open_flags: u32,
}

/// The `BPF_OBJ_GET_INFO_BY_FD` member (`info` in the uapi). `info_len` is
/// in/out: the size of our buffer in, the size the kernel wrote out.
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct InfoAttr {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

/// The `BPF_BTF_LOAD` member, up to `btf_log_true_size` (kernel 6.4).
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BtfLoadAttr {
    pub btf: u64,
    pub btf_log_buf: u64,
    pub btf_size: u32,
    pub btf_log_size: u32,
    pub btf_log_level: u32,
    pub btf_log_true_size: u32,
}

/// The `BPF_LINK_CREATE` member, the part every attach type shares:
/// `prog_fd`, `target_ifindex` (also `target_fd`), `attach_type`, `flags`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct LinkCreateAttr {
    pub prog_fd: u32,
    pub target_ifindex: u32,
    pub attach_type: u32,
    pub flags: u32,
    /// `target_btf_id` (freplace, tracing); for iterators the low half of
    /// `iter_info`.
    pub target_btf_id: u32,
    pub _iter_info_high: u32,
    pub iter_info_len: u32,
    pub _pad: u32,
}

/// The `BPF_LINK_UPDATE` member: `new_prog_fd` replaces the link's
/// program; with `BPF_F_REPLACE` in `flags`, only if `old_prog_fd` is the
/// one it runs.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct LinkUpdateAttr {
    pub link_fd: u32,
    pub new_prog_fd: u32,
    pub flags: u32,
    pub old_prog_fd: u32,
}

/// The `BPF_LINK_DETACH` member (`link_detach`), and `BPF_ENABLE_STATS`'s
/// (`enable_stats.type`): one `u32` each.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct OneU32Attr {
    pub value: u32,
}

/// `struct bpf_link_info`: the part every link type shares, then the union
/// of the per-type parts (`xdp.ifindex` is its first `u32`), as words.
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BpfLinkInfo {
    pub link_type: u32,
    pub id: u32,
    pub prog_id: u32,
    pub _pad: u32,
    pub union: [u32; 8],
}

/// `struct bpf_prog_info`, which `BPF_OBJ_GET_INFO_BY_FD` fills for a program.
/// `BPF_ITER_CREATE`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct IterCreateAttr {
    pub link_fd: u32,
    pub flags: u32,
}

#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BpfProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; BPF_TAG_SIZE],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub jited_prog_insns: u64,
    pub xlated_prog_insns: u64,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: u64,
    pub name: [u8; BPF_OBJ_NAME_LEN],
    pub ifindex: u32,
    /// `gpl_compatible:1` and 31 bits of padding.
    pub gpl_compatible_bits: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub nr_jited_ksyms: u32,
    pub nr_jited_func_lens: u32,
    pub jited_ksyms: u64,
    pub jited_func_lens: u64,
    pub btf_id: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub nr_func_info: u32,
    pub nr_line_info: u32,
    pub line_info: u64,
    pub jited_line_info: u64,
    pub nr_jited_line_info: u32,
    pub line_info_rec_size: u32,
    pub jited_line_info_rec_size: u32,
    pub nr_prog_tags: u32,
    pub prog_tags: u64,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
    pub _pad: u32,
}

/// `struct bpf_map_info`, up to `map_extra`.
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BpfMapInfo {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; BPF_OBJ_NAME_LEN],
    pub ifindex: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_id: u32,
    pub map_extra: u64,
}

/// `struct bpf_btf_info`, which `BPF_OBJ_GET_INFO_BY_FD` fills for a BTF
/// object: `btf` points to a buffer of `btf_size` bytes for the raw BTF,
/// `name` to one of `name_len` bytes for its name (vmlinux, a module).
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BpfBtfInfo {
    pub btf: u64,
    pub btf_size: u32,
    pub id: u32,
    pub name: u64,
    pub name_len: u32,
    pub kernel_btf: u32,
}

/// The structs the `bpf(2)` choke point accepts: attr members, plain data
/// (`Pod`: no padding, every bit pattern valid), so the kernel may read
/// all of it and write any of it.
pub(crate) trait Attr: Pod {}

impl Attr for MapCreateAttr {}
impl Attr for MapElemAttr {}
impl Attr for ProgLoadAttr {}
impl Attr for ObjAttr {}
impl Attr for TestRunAttr {}
impl Attr for GetIdAttr {}
impl Attr for InfoAttr {}
impl Attr for BtfLoadAttr {}
impl Attr for LinkCreateAttr {}
impl Attr for IterCreateAttr {}
impl Attr for LinkUpdateAttr {}
impl Attr for OneU32Attr {}

/// The info structs `BPF_OBJ_GET_INFO_BY_FD` fills: plain data the kernel
/// writes, zero to start with.
pub(crate) trait Info: Pod + Default {}

impl Info for BpfProgInfo {}
impl Info for BpfMapInfo {}
impl Info for BpfBtfInfo {}
impl Info for BpfLinkInfo {}

// Sizes and offsets from include/uapi/linux/bpf.h (checked against
// `offsetof` on the uapi header on x86_64).
const _: () = {
    assert!(size_of::<MapCreateAttr>() == 72);
    assert!(offset_of!(MapCreateAttr, inner_map_fd) == 20);
    assert!(offset_of!(MapCreateAttr, map_name) == 28);
    assert!(offset_of!(MapCreateAttr, map_ifindex) == 44);
    assert!(offset_of!(MapCreateAttr, btf_fd) == 48);
    assert!(offset_of!(MapCreateAttr, btf_vmlinux_value_type_id) == 60);
    assert!(offset_of!(MapCreateAttr, map_extra) == 64);

    assert!(size_of::<MapElemAttr>() == 32);
    assert!(offset_of!(MapElemAttr, key) == 8);
    assert!(offset_of!(MapElemAttr, value) == 16);
    assert!(offset_of!(MapElemAttr, flags) == 24);

    assert!(size_of::<ProgLoadAttr>() == 144);
    assert!(offset_of!(ProgLoadAttr, insns) == 8);
    assert!(offset_of!(ProgLoadAttr, license) == 16);
    assert!(offset_of!(ProgLoadAttr, log_level) == 24);
    assert!(offset_of!(ProgLoadAttr, log_buf) == 32);
    assert!(offset_of!(ProgLoadAttr, kern_version) == 40);
    assert!(offset_of!(ProgLoadAttr, prog_name) == 48);
    assert!(offset_of!(ProgLoadAttr, prog_ifindex) == 64);
    assert!(offset_of!(ProgLoadAttr, expected_attach_type) == 68);
    assert!(offset_of!(ProgLoadAttr, prog_btf_fd) == 72);
    assert!(offset_of!(ProgLoadAttr, func_info) == 80);
    assert!(offset_of!(ProgLoadAttr, func_info_cnt) == 88);
    assert!(offset_of!(ProgLoadAttr, line_info) == 96);
    assert!(offset_of!(ProgLoadAttr, line_info_cnt) == 104);
    assert!(offset_of!(ProgLoadAttr, attach_btf_id) == 108);
    assert!(offset_of!(ProgLoadAttr, attach_btf_obj_fd) == 112);
    assert!(offset_of!(ProgLoadAttr, fd_array) == 120);
    assert!(offset_of!(ProgLoadAttr, core_relo_rec_size) == 136);
    assert!(offset_of!(ProgLoadAttr, log_true_size) == 140);

    assert!(size_of::<ObjAttr>() == 16);
    assert!(offset_of!(ObjAttr, bpf_fd) == 8);
    assert!(offset_of!(ObjAttr, file_flags) == 12);

    assert!(size_of::<TestRunAttr>() == 80);
    assert!(offset_of!(TestRunAttr, data_in) == 16);
    assert!(offset_of!(TestRunAttr, data_out) == 24);
    assert!(offset_of!(TestRunAttr, repeat) == 32);
    assert!(offset_of!(TestRunAttr, duration) == 36);
    assert!(offset_of!(TestRunAttr, ctx_size_in) == 40);
    assert!(offset_of!(TestRunAttr, ctx_in) == 48);
    assert!(offset_of!(TestRunAttr, ctx_out) == 56);
    assert!(offset_of!(TestRunAttr, flags) == 64);
    assert!(offset_of!(TestRunAttr, cpu) == 68);
    assert!(offset_of!(TestRunAttr, batch_size) == 72);

    assert!(size_of::<GetIdAttr>() == 12);
    assert!(offset_of!(GetIdAttr, next_id) == 4);
    assert!(offset_of!(GetIdAttr, open_flags) == 8);

    assert!(size_of::<InfoAttr>() == 16);
    assert!(offset_of!(InfoAttr, info_len) == 4);
    assert!(offset_of!(InfoAttr, info) == 8);

    assert!(size_of::<BtfLoadAttr>() == 32);
    assert!(offset_of!(BtfLoadAttr, btf_log_buf) == 8);
    assert!(offset_of!(BtfLoadAttr, btf_size) == 16);
    assert!(offset_of!(BtfLoadAttr, btf_log_size) == 20);
    assert!(offset_of!(BtfLoadAttr, btf_log_level) == 24);
    assert!(offset_of!(BtfLoadAttr, btf_log_true_size) == 28);

    assert!(size_of::<LinkCreateAttr>() == 32);
    assert!(offset_of!(LinkCreateAttr, target_btf_id) == 16);
    assert!(offset_of!(LinkCreateAttr, iter_info_len) == 24);
    assert!(size_of::<IterCreateAttr>() == 8);
    assert!(offset_of!(LinkCreateAttr, target_ifindex) == 4);
    assert!(offset_of!(LinkCreateAttr, attach_type) == 8);
    assert!(offset_of!(LinkCreateAttr, flags) == 12);

    assert!(size_of::<LinkUpdateAttr>() == 16);
    assert!(offset_of!(LinkUpdateAttr, flags) == 8);
    assert!(offset_of!(LinkUpdateAttr, old_prog_fd) == 12);

    assert!(size_of::<OneU32Attr>() == 4);

    assert!(offset_of!(BpfLinkInfo, prog_id) == 8);
    assert!(offset_of!(BpfLinkInfo, union) == 16);

    assert!(size_of::<BpfProgInfo>() == 232);
    assert!(offset_of!(BpfProgInfo, tag) == 8);
    assert!(offset_of!(BpfProgInfo, load_time) == 40);
    assert!(offset_of!(BpfProgInfo, created_by_uid) == 48);
    assert!(offset_of!(BpfProgInfo, nr_map_ids) == 52);
    assert!(offset_of!(BpfProgInfo, map_ids) == 56);
    assert!(offset_of!(BpfProgInfo, name) == 64);
    assert!(offset_of!(BpfProgInfo, ifindex) == 80);
    assert!(offset_of!(BpfProgInfo, gpl_compatible_bits) == 84);
    assert!(offset_of!(BpfProgInfo, netns_dev) == 88);
    assert!(offset_of!(BpfProgInfo, btf_id) == 128);
    assert!(offset_of!(BpfProgInfo, run_time_ns) == 192);
    assert!(offset_of!(BpfProgInfo, verified_insns) == 216);
    assert!(offset_of!(BpfProgInfo, attach_btf_id) == 224);

    assert!(size_of::<BpfMapInfo>() == 88);
    assert!(offset_of!(BpfMapInfo, name) == 24);
    assert!(offset_of!(BpfMapInfo, ifindex) == 40);
    assert!(offset_of!(BpfMapInfo, netns_dev) == 48);
    assert!(offset_of!(BpfMapInfo, btf_id) == 64);
    assert!(offset_of!(BpfMapInfo, btf_vmlinux_id) == 76);
    assert!(offset_of!(BpfMapInfo, map_extra) == 80);

    assert!(size_of::<BpfBtfInfo>() == 32);
    assert!(offset_of!(BpfBtfInfo, btf_size) == 8);
    assert!(offset_of!(BpfBtfInfo, id) == 12);
    assert!(offset_of!(BpfBtfInfo, name) == 16);
    assert!(offset_of!(BpfBtfInfo, name_len) == 24);
    assert!(offset_of!(BpfBtfInfo, kernel_btf) == 28);
};

/// A kernel name field (`char[BPF_OBJ_NAME_LEN]`) as text: up to the first NUL.
pub(crate) fn name_from_bytes(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Fits `name` into a kernel name field. The kernel (`bpf_obj_name_cpy`)
/// accepts only ASCII letters, digits, `_` and `.`, and needs a NUL within
/// `BPF_OBJ_NAME_LEN` bytes; anything else fails the whole call with EINVAL.
/// So every other character becomes `_` (`prog/0` → `prog_0`, keeping names
/// distinct and readable) and the result is cut to 15 bytes.
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(BPF_OBJ_NAME_LEN - 1)
        .collect()
}

/// [`sanitize_name`] as the NUL-padded bytes of the attr field.
pub(crate) fn name_field(name: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut field = [0u8; BPF_OBJ_NAME_LEN];
    for (slot, byte) in field.iter_mut().zip(sanitize_name(name).bytes()) {
        *slot = byte;
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_and_reduced_to_what_the_kernel_accepts() {
        assert_eq!(sanitize_name("xdp_entry"), "xdp_entry");
        assert_eq!(sanitize_name("prog/0"), "prog_0");
        assert_eq!(sanitize_name("tail.rodata"), "tail.rodata");
        assert_eq!(sanitize_name("a-b c"), "a_b_c");
        assert_eq!(sanitize_name("é1"), "_1");
        assert_eq!(
            sanitize_name("abcdefghijklmnopqrstuvwxyz"),
            "abcdefghijklmno"
        );
        assert_eq!(sanitize_name(""), "");
        let field = name_field("prog/012345678901234");
        assert_eq!(&field[..15], b"prog_0123456789");
        assert_eq!(field[15], 0, "the last byte stays NUL");
    }

    #[test]
    fn name_fields_read_back_up_to_the_nul() {
        let mut field = [0u8; BPF_OBJ_NAME_LEN];
        field[..3].copy_from_slice(b"abc");
        assert_eq!(name_from_bytes(&field), "abc");
        assert_eq!(name_from_bytes(b"full_sixteen_byt"), "full_sixteen_byt");
    }

    #[test]
    fn empty_slices_are_null_pointers() {
        assert_eq!(ptr::<u8>(&[]), 0);
        assert_ne!(ptr(&[1u8]), 0);
        assert_eq!(ptr_mut::<u8>(&mut []), 0);
    }
}
