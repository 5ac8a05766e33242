//! What the rxdp-syscalls kernel tests share: hand-assembled programs and a
//! pin directory that removes itself. Included by `syscalls_bpf.rs` and
//! `syscalls_fs.rs` with `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rxdp_elf::insn::{Insn, BPF_PSEUDO_MAP_FD, CALL, EXIT, LD_IMM64};
use rxdp_elf::{MapType, ProgramType};
use rxdp_kernel_tests::unique_name;
use rxdp_syscalls::bpf::{map_create, prog_load, Loaded, MapCreate, ProgLoad};
use rxdp_syscalls::fs::bpffs;

/// `XDP_PASS`.
pub const XDP_PASS: u32 = 2;
/// `BPF_FUNC_map_lookup_elem`.
pub const FUNC_MAP_LOOKUP_ELEM: i32 = 1;
/// `BPF_FUNC_trace_printk`.
pub const FUNC_TRACE_PRINTK: i32 = 6;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// `dst = imm` (`BPF_ALU64 | BPF_MOV | BPF_K`).
pub fn mov_imm(dst: u8, imm: i32) -> Insn {
    insn(0xb7, dst, 0, 0, imm)
}

/// `dst = src` (`BPF_ALU64 | BPF_MOV | BPF_X`).
pub fn mov_reg(dst: u8, src: u8) -> Insn {
    insn(0xbf, dst, src, 0, 0)
}

/// `dst += imm` (`BPF_ALU64 | BPF_ADD | BPF_K`).
pub fn add_imm(dst: u8, imm: i32) -> Insn {
    insn(0x07, dst, 0, 0, imm)
}

/// `*(u32 *)(dst + off) = src` (`BPF_STX | BPF_MEM | BPF_W`).
pub fn store_u32(dst: u8, off: i16, src: u8) -> Insn {
    insn(0x63, dst, src, off, 0)
}

/// `*(u64 *)(dst + off) = src` (`BPF_STX | BPF_MEM | BPF_DW`).
pub fn store_u64(dst: u8, off: i16, src: u8) -> Insn {
    insn(0x7b, dst, src, off, 0)
}

/// `lock *(u64 *)(dst + off) += src` (`BPF_STX | BPF_ATOMIC | BPF_DW`,
/// imm `BPF_ADD`).
pub fn atomic_add_u64(dst: u8, off: i16, src: u8) -> Insn {
    insn(0xdb, dst, src, off, 0)
}

/// `if dst == imm goto +off` (`BPF_JMP | BPF_JEQ | BPF_K`).
pub fn jeq_imm(dst: u8, imm: i32, off: i16) -> Insn {
    insn(0x15, dst, 0, off, imm)
}

/// `call helper`.
pub fn call(helper: i32) -> Insn {
    insn(CALL, 0, 0, 0, helper)
}

pub fn exit() -> Insn {
    insn(EXIT, 0, 0, 0, 0)
}

/// `dst = imm64` (`ld_imm64`, two instructions).
pub fn ld_imm64(dst: u8, value: u64) -> [Insn; 2] {
    [
        insn(LD_IMM64, dst, 0, 0, value as u32 as i32),
        insn(0, 0, 0, 0, (value >> 32) as u32 as i32),
    ]
}

/// `dst = map` (`ld_imm64` with `src_reg = BPF_PSEUDO_MAP_FD`).
pub fn ld_map_fd(dst: u8, map: BorrowedFd<'_>) -> [Insn; 2] {
    [
        insn(LD_IMM64, dst, BPF_PSEUDO_MAP_FD, 0, map.as_raw_fd()),
        insn(0, 0, 0, 0, 0),
    ]
}

pub fn bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|insn| insn.to_bytes()).collect()
}

/// `r0 = XDP_PASS; exit`.
pub fn xdp_pass() -> Vec<u8> {
    bytes(&[mov_imm(0, XDP_PASS as i32), exit()])
}

/// Loads an XDP program.
pub fn load_xdp(name: &str, insns: &[u8]) -> Loaded {
    prog_load(&{
        let mut spec = ProgLoad::new(ProgramType::XDP.0, insns, "GPL");
        spec.name = name;
        spec
    })
    .unwrap_or_else(|error| {
        panic!(
            "loading {name}: {error}\n{}",
            error.log.as_deref().unwrap_or_default()
        )
    })
}

/// An XDP program that prints `message` (at most 15 bytes) with
/// `bpf_trace_printk` and returns `XDP_PASS`.
pub fn printk_program(message: &str) -> Vec<u8> {
    assert!(
        message.len() < 16,
        "{message:?} does not fit the 16-byte format"
    );
    let mut format = [0u8; 16];
    format[..message.len()].copy_from_slice(message.as_bytes());
    let low = u64::from_le_bytes(format[..8].try_into().unwrap());
    let high = u64::from_le_bytes(format[8..].try_into().unwrap());
    let mut insns = Vec::new();
    insns.extend(ld_imm64(1, low));
    insns.push(store_u64(10, -16, 1));
    insns.extend(ld_imm64(1, high));
    insns.push(store_u64(10, -8, 1));
    insns.extend([
        mov_reg(1, 10),
        add_imm(1, -16),
        mov_imm(2, 16),
        call(FUNC_TRACE_PRINTK),
        mov_imm(0, XDP_PASS as i32),
        exit(),
    ]);
    bytes(&insns)
}

/// A 64-byte frame: Ethernet header (IPv4 ethertype) and a counting pattern.
pub fn frame() -> Vec<u8> {
    let mut frame = vec![0u8; 64];
    frame[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    frame[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    for (i, byte) in frame.iter_mut().enumerate().skip(14) {
        *byte = i as u8;
    }
    frame
}

/// An array map of `entries` u64 values.
pub fn u64_array(name: &str, entries: u32) -> OwnedFd {
    map_create(&{
        let mut spec = MapCreate::new(MapType::ARRAY.0, 4, 8, entries);
        spec.name = name;
        spec
    })
    .unwrap_or_else(|error| panic!("{error}"))
}

/// A fresh directory under the bpffs mount, removed with everything in it
/// when dropped, also when the test panics.
#[derive(Debug)]
pub struct PinDir {
    path: PathBuf,
}

impl PinDir {
    pub fn new() -> PinDir {
        let root = bpffs::ensure_mounted().unwrap_or_else(|error| panic!("{error}"));
        let path = root.join(unique_name("rxdp-test-"));
        bpffs::create_dir_all(&path).unwrap_or_else(|error| panic!("{error}"));
        PinDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        if let Err(error) = bpffs::remove_dir_all(&self.path) {
            eprintln!("cleanup of {}: {error}", self.path.display());
        }
    }
}

/// The id of a map or program fd, for comparing what a pin or id opens.
pub fn map_id(fd: &impl AsFd) -> u32 {
    rxdp_syscalls::bpf::map_info(fd.as_fd())
        .unwrap_or_else(|error| panic!("{error}"))
        .id
}

/// Asserts the kernel gave `fd` close-on-exec, as it does for every bpf fd.
pub fn assert_cloexec(fd: &impl AsFd) {
    let flags = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_GETFD)
        .unwrap_or_else(|error| panic!("F_GETFD: {error}"));
    assert!(
        nix::fcntl::FdFlag::from_bits_truncate(flags).contains(nix::fcntl::FdFlag::FD_CLOEXEC),
        "fd without FD_CLOEXEC"
    );
}
