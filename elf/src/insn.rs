//! One eBPF instruction (`struct bpf_insn`) and the opcodes the loader rewrites.

/// `struct bpf_insn`: 8 bytes, little-endian, `dst_reg` in the low nibble of
/// the register byte and `src_reg` in the high one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Insn {
    /// `BPF_CLASS | BPF_OP | BPF_SRC`.
    pub code: u8,
    /// `dst_reg` (low nibble) and `src_reg` (high nibble).
    pub regs: u8,
    /// The signed offset.
    pub off: i16,
    /// The signed immediate.
    pub imm: i32,
}

/// Size of one instruction in bytes.
pub const INSN_SIZE: usize = 8;

/// `BPF_LD | BPF_IMM | BPF_DW`: the first half of a 16-byte `ld_imm64`.
pub const LD_IMM64: u8 = 0x18;
/// `BPF_JMP | BPF_CALL`.
pub const CALL: u8 = 0x85;
/// `BPF_JMP | BPF_EXIT`.
pub const EXIT: u8 = 0x95;

/// `src_reg` of an `ld_imm64` whose `imm` is a map fd.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `src_reg` of an `ld_imm64` whose `imm` is a map fd and next `imm` an offset
/// into its value.
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// `src_reg` of an `ld_imm64` whose `imm` is a kernel BTF id.
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
/// `src_reg` of an `ld_imm64` whose `imm` is the relative offset of a function.
pub const BPF_PSEUDO_FUNC: u8 = 4;
/// `src_reg` of a `call` to a BPF function: `imm` is relative to the next insn.
pub const BPF_PSEUDO_CALL: u8 = 1;
/// `src_reg` of a `call` to a kernel function: `imm` is its BTF id.
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;

impl Insn {
    /// Reads one instruction from 8 little-endian bytes.
    pub fn from_bytes(bytes: [u8; INSN_SIZE]) -> Insn {
        Insn {
            code: bytes[0],
            regs: bytes[1],
            off: i16::from_le_bytes([bytes[2], bytes[3]]),
            imm: i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        }
    }

    /// The 8 bytes the kernel expects.
    pub fn to_bytes(self) -> [u8; INSN_SIZE] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code, self.regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }

    /// The destination register.
    pub fn dst_reg(self) -> u8 {
        self.regs & 0x0f
    }

    /// The source register (or the pseudo kind of an `ld_imm64`/`call`).
    pub fn src_reg(self) -> u8 {
        self.regs >> 4
    }

    /// Sets the source register.
    pub fn set_src_reg(&mut self, src: u8) {
        self.regs = (self.regs & 0x0f) | (src << 4);
    }

    /// Whether this is the first half of an `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`).
    pub fn is_ld_imm64(self) -> bool {
        self.code == LD_IMM64
    }

    /// A `call` to another BPF function (as opposed to a helper or kfunc).
    pub fn is_pseudo_call(self) -> bool {
        self.code == CALL && self.src_reg() == BPF_PSEUDO_CALL
    }
}

/// Splits raw section bytes into instructions; `None` when the length is not a
/// multiple of 8.
pub fn decode(bytes: &[u8]) -> Option<Vec<Insn>> {
    if bytes.len() % INSN_SIZE != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(INSN_SIZE)
            .map(|chunk| {
                let mut raw = [0u8; INSN_SIZE];
                raw.copy_from_slice(chunk);
                Insn::from_bytes(raw)
            })
            .collect(),
    )
}

/// The byte image `BPF_PROG_LOAD` takes.
pub fn encode(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|insn| insn.to_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let raw = [0x18, 0x21, 0xfe, 0xff, 0x78, 0x56, 0x34, 0x12];
        let insn = Insn::from_bytes(raw);
        assert_eq!(insn.dst_reg(), 1);
        assert_eq!(insn.src_reg(), 2);
        assert_eq!(insn.off, -2);
        assert_eq!(insn.imm, 0x1234_5678);
        assert_eq!(insn.to_bytes(), raw);
        assert!(decode(&raw[..7]).is_none());
        assert_eq!(encode(&decode(&raw).unwrap()), raw);
    }
}
