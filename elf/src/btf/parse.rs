//! Reading `.BTF`: `struct btf_header`, the type section and the string table.
//!
//! Every length in the file is checked against the bytes actually present
//! before anything is allocated from it. The type section is walked twice:
//! once to validate each record's extent and count the types (so the type
//! vector is allocated once, at its exact size), once to decode them.

use super::error::BtfError;
use super::types::{
    BtfArray, BtfEnum, BtfEnum64, BtfInt, BtfKind, BtfMember, BtfParam, BtfType, BtfTypeData,
    VarSecinfo,
};
use std::sync::Arc;

use super::{Btf, BTF_HEADER_LEN, BTF_MAGIC, BTF_VERSION};

/// Bits of `btf_type.info` the uapi defines (vlen 0..16, kind 24..29,
/// kind_flag 31); the kernel rejects the others (`BTF_INFO_MASK`).
const INFO_MASK: u32 = 0x9f00_ffff;

/// Size of `struct btf_type`.
const TYPE_HEADER_LEN: usize = 12;

/// A little-endian u32 at `off`, `None` when it is not all there.
pub(super) fn u32_at(bytes: &[u8], off: usize) -> Option<u32> {
    let b = bytes.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Word `i` of a record slice whose length the caller has already checked
/// (it comes from `chunks_exact`), so the indexes are always in bounds.
fn word(record: &[u8], i: usize) -> u32 {
    let b = &record[4 * i..4 * i + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The fields shared by the `.BTF` and `.BTF.ext` headers, checked.
pub(super) struct CommonHeader<'a> {
    pub flags: u8,
    pub hdr_len: u32,
    /// The header bytes this parser knows (`known` of them).
    pub header: &'a [u8],
    /// Everything after `hdr_len`: what section offsets count from.
    pub body: &'a [u8],
}

/// Checks magic, version and `hdr_len` of a `.BTF` or `.BTF.ext` header whose
/// known part is `known` bytes long. A longer header (a newer format) is
/// accepted when its extra bytes are all zero, as the kernel does.
pub(super) fn common_header<'a>(
    data: &'a [u8],
    what: &'static str,
    known: usize,
    min: usize,
) -> Result<CommonHeader<'a>, BtfError> {
    let truncated = BtfError::HeaderTruncated {
        what,
        len: data.len(),
        need: min,
    };
    let fixed = data.get(..8).ok_or(truncated.clone())?;
    let magic = u16::from_le_bytes([fixed[0], fixed[1]]);
    if magic == BTF_MAGIC.swap_bytes() {
        return Err(BtfError::BigEndian { what });
    }
    if magic != BTF_MAGIC {
        return Err(BtfError::BadMagic { what, magic });
    }
    if fixed[2] != BTF_VERSION {
        return Err(BtfError::BadVersion {
            what,
            version: fixed[2],
        });
    }
    let flags = fixed[3];
    let hdr_len = u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let header_end = hdr_len as usize;
    if data.len() < min {
        return Err(truncated);
    }
    if header_end < min || header_end > data.len() {
        return Err(BtfError::HeaderLength {
            what,
            hdr_len,
            min,
            len: data.len(),
        });
    }
    let (header, body) = data.split_at(header_end);
    if let Some(extra) = header.get(known..) {
        if let Some(pos) = extra.iter().position(|&b| b != 0) {
            return Err(BtfError::HeaderUnknownFields {
                what,
                hdr_len,
                offset: known + pos,
            });
        }
    }
    let known_len = known.min(header.len());
    Ok(CommonHeader {
        flags,
        hdr_len,
        header: header.split_at(known_len).0,
        body,
    })
}

/// The `off`/`len` range of `body`, or a truncation error naming `section`.
pub(super) fn section<'a>(
    body: &'a [u8],
    what: &'static str,
    section: &'static str,
    off: u32,
    len: u32,
) -> Result<&'a [u8], BtfError> {
    let start = off as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| body.get(start..end))
        .ok_or(BtfError::SectionTruncated {
            what,
            section,
            offset: off,
            len,
            available: body.len(),
        })
}

impl Btf {
    /// Parses a `.BTF` section or `/sys/kernel/btf/vmlinux`.
    ///
    /// Checks what the kernel checks about the layout: the header (its
    /// flags must be 0), that both
    /// sections lie within the data without overlapping, that the string
    /// table starts with the empty string and ends with a NUL, that every
    /// record is complete and of a known kind, and that every name offset and
    /// type reference is in range.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        Btf::parse_on(data, None)
    }

    /// Parses a split BTF (`/sys/kernel/btf/<module>`) that continues
    /// `base` (vmlinux's): its type ids start after the base's last, its
    /// string offsets after the base's string table, and its references
    /// may name the base's types and strings. The same checks as
    /// [`parse`](Btf::parse), except that its own string table need not
    /// start with the empty string (the base's does).
    pub fn parse_split(data: &[u8], base: Arc<Btf>) -> Result<Btf, BtfError> {
        Btf::parse_on(data, Some(base))
    }

    fn parse_on(data: &[u8], base: Option<Arc<Btf>>) -> Result<Btf, BtfError> {
        let hdr = common_header(data, "BTF", BTF_HEADER_LEN, BTF_HEADER_LEN)?;
        if hdr.flags != 0 {
            return Err(BtfError::BadFlags { flags: hdr.flags });
        }
        let field = |i: usize| u32_at(hdr.header, 8 + 4 * i).unwrap_or(0);
        let (type_off, type_len, str_off, str_len) = (field(0), field(1), field(2), field(3));
        let type_bytes = section(hdr.body, "BTF", "type section", type_off, type_len)?;
        let strings = section(hdr.body, "BTF", "string table", str_off, str_len)?;
        let overlap = type_len > 0
            && str_len > 0
            && u64::from(type_off) < u64::from(str_off) + u64::from(str_len)
            && u64::from(str_off) < u64::from(type_off) + u64::from(type_len);
        if overlap {
            return Err(BtfError::SectionsOverlap);
        }
        let split = base.is_some();
        match (strings.first(), strings.last()) {
            (None, _) | (_, None) if !split => return Err(BtfError::StringTableEmpty),
            (Some(&first), _) if first != 0 && !split => return Err(BtfError::StringTableStart),
            (_, Some(&last)) if last != 0 => return Err(BtfError::StringTableEnd),
            _ => {}
        }
        let (first_id, string_base) = match &base {
            Some(base) => (base.max_type_id().saturating_add(1), base.strings_end()),
            None => (1, 0),
        };
        let limits = Limits {
            first_id,
            str_end: (string_base as usize).saturating_add(strings.len()),
        };
        let types = parse_types(type_bytes, &limits)?;
        Ok(Btf {
            header_len: hdr.hdr_len,
            flags: hdr.flags,
            types,
            strings: strings.to_vec(),
            base,
        })
    }
}

/// Where a BTF's ids start and its string offsets end (past its base's).
struct Limits {
    first_id: u32,
    str_end: usize,
}

/// Kinds whose `vlen` counts records (or, for FUNC, holds the linkage).
fn uses_vlen(kind: BtfKind) -> bool {
    matches!(
        kind,
        BtfKind::Struct
            | BtfKind::Union
            | BtfKind::Enum
            | BtfKind::Enum64
            | BtfKind::FuncProto
            | BtfKind::Datasec
            | BtfKind::Func
    )
}

/// Bytes of kind-specific data after `struct btf_type`.
fn extra_len(kind: BtfKind, vlen: usize) -> usize {
    match kind {
        BtfKind::Int | BtfKind::Var | BtfKind::DeclTag => 4,
        BtfKind::Array => 12,
        BtfKind::Struct | BtfKind::Union | BtfKind::Datasec | BtfKind::Enum64 => 12 * vlen,
        BtfKind::Enum | BtfKind::FuncProto => 8 * vlen,
        _ => 0,
    }
}

/// One decoded `struct btf_type` header and where its data lies.
struct RawType<'a> {
    name_off: u32,
    kind: BtfKind,
    kind_flag: bool,
    vlen: u16,
    size_or_type: u32,
    extra: &'a [u8],
}

/// Validates the record at `offset` and returns it with its total length.
fn raw_type(section: &[u8], offset: usize, type_id: u32) -> Result<(RawType<'_>, usize), BtfError> {
    let rest = section.get(offset..).unwrap_or(&[]);
    let truncated = |need: usize| BtfError::TypeTruncated {
        type_id,
        offset,
        need,
        available: rest.len(),
    };
    let header = rest
        .get(..TYPE_HEADER_LEN)
        .ok_or(truncated(TYPE_HEADER_LEN))?;
    let info = word(header, 1);
    if info & !INFO_MASK != 0 {
        return Err(BtfError::InvalidInfo { type_id, info });
    }
    let kind_raw = ((info >> 24) & 0x1f) as u8;
    let kind = BtfKind::from_u8(kind_raw).ok_or(BtfError::UnknownKind {
        kind: kind_raw,
        type_id,
    })?;
    let vlen = (info & 0xffff) as u16;
    if vlen != 0 && !uses_vlen(kind) {
        return Err(BtfError::UnexpectedVlen {
            type_id,
            kind,
            vlen,
        });
    }
    let total = TYPE_HEADER_LEN + extra_len(kind, usize::from(vlen));
    let record = rest.get(..total).ok_or(truncated(total))?;
    Ok((
        RawType {
            name_off: word(header, 0),
            kind,
            kind_flag: info >> 31 == 1,
            vlen,
            size_or_type: word(header, 2),
            extra: record.split_at(TYPE_HEADER_LEN).1,
        },
        total,
    ))
}

/// Decodes the type section. `limits.str_end` bounds every name offset.
fn parse_types(section: &[u8], limits: &Limits) -> Result<Vec<BtfType>, BtfError> {
    let first = limits.first_id;
    // Pass 1: extents and count, so that the vector is allocated exactly once.
    let mut count: u32 = 0;
    let mut offset = 0;
    while offset < section.len() {
        let (_, len) = raw_type(section, offset, first.saturating_add(count))?;
        offset += len;
        count += 1;
    }
    // Pass 2: decode and check references; every record is known complete.
    let max = (first - 1).saturating_add(count);
    let mut types = Vec::with_capacity(count as usize);
    let mut offset = 0;
    for type_id in first..=max {
        let (raw, len) = raw_type(section, offset, type_id)?;
        offset += len;
        let check = RefCheck {
            type_id,
            max,
            str_len: limits.str_end,
        };
        types.push(decode(raw, &check)?);
    }
    Ok(types)
}

/// Range checks for the names and type ids one type refers to.
struct RefCheck {
    type_id: u32,
    max: u32,
    str_len: usize,
}

impl RefCheck {
    fn name(&self, offset: u32) -> Result<u32, BtfError> {
        if (offset as usize) < self.str_len {
            Ok(offset)
        } else {
            Err(BtfError::StringOffset {
                offset,
                len: self.str_len,
            })
        }
    }

    fn type_ref(&self, target: u32) -> Result<u32, BtfError> {
        if target <= self.max {
            Ok(target)
        } else {
            Err(BtfError::BadTypeRef {
                type_id: self.type_id,
                target,
                max: self.max,
            })
        }
    }
}

fn decode(raw: RawType<'_>, check: &RefCheck) -> Result<BtfType, BtfError> {
    check.name(raw.name_off)?;
    if raw.kind.has_type_ref() {
        check.type_ref(raw.size_or_type)?;
    }
    let e = raw.extra;
    let data = match raw.kind {
        BtfKind::Int => BtfTypeData::Int(BtfInt(word(e, 0))),
        BtfKind::Array => BtfTypeData::Array(BtfArray {
            type_id: check.type_ref(word(e, 0))?,
            index_type: check.type_ref(word(e, 1))?,
            nelems: word(e, 2),
        }),
        BtfKind::Struct | BtfKind::Union => BtfTypeData::Members(
            e.chunks_exact(12)
                .map(|r| {
                    Ok(BtfMember {
                        name_off: check.name(word(r, 0))?,
                        type_id: check.type_ref(word(r, 1))?,
                        offset: word(r, 2),
                    })
                })
                .collect::<Result<_, BtfError>>()?,
        ),
        BtfKind::Enum => BtfTypeData::Enum(
            e.chunks_exact(8)
                .map(|r| {
                    Ok(BtfEnum {
                        name_off: check.name(word(r, 0))?,
                        val: word(r, 1) as i32,
                    })
                })
                .collect::<Result<_, BtfError>>()?,
        ),
        BtfKind::Enum64 => BtfTypeData::Enum64(
            e.chunks_exact(12)
                .map(|r| {
                    Ok(BtfEnum64 {
                        name_off: check.name(word(r, 0))?,
                        val_lo32: word(r, 1),
                        val_hi32: word(r, 2),
                    })
                })
                .collect::<Result<_, BtfError>>()?,
        ),
        BtfKind::Func => BtfTypeData::Func { linkage: raw.vlen },
        BtfKind::FuncProto => BtfTypeData::Params(
            e.chunks_exact(8)
                .map(|r| {
                    Ok(BtfParam {
                        name_off: check.name(word(r, 0))?,
                        type_id: check.type_ref(word(r, 1))?,
                    })
                })
                .collect::<Result<_, BtfError>>()?,
        ),
        BtfKind::Var => BtfTypeData::Var {
            linkage: word(e, 0),
        },
        BtfKind::Datasec => BtfTypeData::Datasec(
            e.chunks_exact(12)
                .map(|r| {
                    Ok(VarSecinfo {
                        type_id: check.type_ref(word(r, 0))?,
                        offset: word(r, 1),
                        size: word(r, 2),
                    })
                })
                .collect::<Result<_, BtfError>>()?,
        ),
        BtfKind::DeclTag => BtfTypeData::DeclTag {
            component_idx: word(e, 0) as i32,
        },
        BtfKind::Ptr
        | BtfKind::Fwd
        | BtfKind::Typedef
        | BtfKind::Volatile
        | BtfKind::Const
        | BtfKind::Restrict
        | BtfKind::Float
        | BtfKind::TypeTag => BtfTypeData::None,
    };
    Ok(BtfType {
        name_off: raw.name_off,
        kind: raw.kind,
        kind_flag: raw.kind_flag,
        size_or_type: raw.size_or_type,
        data,
    })
}
