//! Writing BTF back out, for `BPF_BTF_LOAD`.
//!
//! The layout is the one clang and the kernel use: header, type section right
//! after it, string table right after the types. An unmodified clang `.BTF`
//! comes out byte for byte as it went in.

use super::types::{BtfType, BtfTypeData};
use super::{Btf, BTF_HEADER_LEN, BTF_MAGIC, BTF_VERSION};

impl Btf {
    /// The BTF blob: what `BPF_BTF_LOAD` takes. `Btf::parse(&b.to_bytes()) == Ok(b)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let type_len: usize = self.types.iter().map(encoded_len).sum();
        let header_len = (self.header_len as usize).max(BTF_HEADER_LEN);
        let mut out = Vec::with_capacity(header_len + type_len + self.strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.push(BTF_VERSION);
        out.push(self.flags);
        // Lengths beyond u32 cannot come from a parse; saturating keeps a
        // hand-built monster from wrapping into a plausible-looking header.
        for v in [header_len, 0, type_len, type_len, self.strings.len()] {
            push(&mut out, u32::try_from(v).unwrap_or(u32::MAX));
        }
        // A longer header read from a newer BTF: its unknown fields were zero.
        out.resize(header_len, 0);
        for t in &self.types {
            write_type(&mut out, t);
        }
        out.extend_from_slice(&self.strings);
        out
    }
}

fn push(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Encoded size of one type: the 12-byte header plus its data.
fn encoded_len(t: &BtfType) -> usize {
    12 + match &t.data {
        BtfTypeData::None | BtfTypeData::Func { .. } => 0,
        BtfTypeData::Int(_) | BtfTypeData::Var { .. } | BtfTypeData::DeclTag { .. } => 4,
        BtfTypeData::Array(_) => 12,
        BtfTypeData::Members(m) => 12 * m.len(),
        BtfTypeData::Enum(e) => 8 * e.len(),
        BtfTypeData::Enum64(e) => 12 * e.len(),
        BtfTypeData::Params(p) => 8 * p.len(),
        BtfTypeData::Datasec(s) => 12 * s.len(),
    }
}

fn write_type(out: &mut Vec<u8>, t: &BtfType) {
    let info = (u32::from(t.kind_flag) << 31) | ((t.kind as u32) << 24) | u32::from(t.vlen());
    push(out, t.name_off);
    push(out, info);
    push(out, t.size_or_type);
    match &t.data {
        BtfTypeData::None | BtfTypeData::Func { .. } => {}
        BtfTypeData::Int(i) => push(out, i.0),
        BtfTypeData::Array(a) => {
            push(out, a.type_id);
            push(out, a.index_type);
            push(out, a.nelems);
        }
        BtfTypeData::Members(members) => {
            for m in members {
                push(out, m.name_off);
                push(out, m.type_id);
                push(out, m.offset);
            }
        }
        BtfTypeData::Enum(values) => {
            for v in values {
                push(out, v.name_off);
                push(out, v.val as u32);
            }
        }
        BtfTypeData::Enum64(values) => {
            for v in values {
                push(out, v.name_off);
                push(out, v.val_lo32);
                push(out, v.val_hi32);
            }
        }
        BtfTypeData::Params(params) => {
            for p in params {
                push(out, p.name_off);
                push(out, p.type_id);
            }
        }
        BtfTypeData::Var { linkage } => push(out, *linkage),
        BtfTypeData::Datasec(vars) => {
            for v in vars {
                push(out, v.type_id);
                push(out, v.offset);
                push(out, v.size);
            }
        }
        BtfTypeData::DeclTag { component_idx } => push(out, *component_idx as u32),
    }
}
