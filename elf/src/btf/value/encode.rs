//! What a user types for a key or value ([`Input`]) to its bytes
//! ([`encode`]), through BTF when the map has it.
//!
//! The forms, as `rxdp map lookup|update|delete` take them:
//!
//! - one number, decimal or `0x` hex, possibly negative: the little-endian
//!   integer of the key's or value's size, up to 8 bytes (`78` is
//!   `4e 00 00 00` for a 4-byte key). With BTF, an INT or ENUM takes its
//!   own range: `-1` for an `int`, not for a `__u32`;
//! - several numbers, each a byte (0..=255): bpftool's form, `78 0 0 0`;
//! - `hex` then hex digits, in one word or several: `hex 4e 00 00 00`,
//!   `hex 4e000000`;
//! - with BTF, members by name: `packets=5,flags.low=1,inner[1].s=-2,name=eth0`
//!   — a path of member names (`.`) and indexes (`[I]`) as `rxdp map dump`
//!   shows them, `=`, a literal; assignments separated by commas; what is
//!   not named is zero. A literal is a number (for a FLOAT, its bits);
//!   an enumerator's name; `true` or `false`; a string for a `char` array
//!   (no commas in it);
//! - with BTF, one literal for a key or value that is an enum, a bool or
//!   a char array: `PROTO_UDP`.

use super::format::{enumerators, is_char, locate, mask, BTF_INT_BOOL, BTF_INT_SIGNED};
use super::{type_name, ValueError};
use crate::btf::{Btf, BtfKind, BtfTypeData};

/// A key or value as given on the command line, before its type is known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// The bytes themselves (`hex 4e 00 00 00`, or `78 0 0 0`).
    Bytes(Vec<u8>),
    /// Members by name: `a=1,b.c=2`.
    Fields(String),
    /// One word: a number (`78`, `-1`, `0x4e`), or a literal the type
    /// reads (`PROTO_UDP`, `true`, `eth0`).
    Word(String),
}

impl Input {
    /// Reads the words of a key or value (`path` names it in errors:
    /// `key`, `value`).
    pub fn parse(words: &[&str], path: &str) -> Result<Input, ValueError> {
        let syntax = |text: &str, expected| ValueError::Syntax {
            path: path.to_owned(),
            text: text.to_owned(),
            expected,
        };
        match words {
            [] => Err(syntax("", "a key or value: it is missing")),
            ["hex", digits @ ..] => {
                let digits = digits.concat();
                hex(&digits).map(Input::Bytes).ok_or_else(|| {
                    syntax(&digits, "hex bytes (two digits a byte: hex 4e 00 00 00)")
                })
            }
            [word] if word.contains('=') => Ok(Input::Fields((*word).to_owned())),
            [word] => Ok(Input::Word((*word).to_owned())),
            words => {
                let mut bytes = Vec::with_capacity(words.len());
                for word in words {
                    match parse_int(word) {
                        Some((false, n)) if n <= 255 => bytes.push(n as u8),
                        _ => {
                            return Err(syntax(
                                word,
                                "a byte (0..=255): several words are bytes, as in bpftool",
                            ))
                        }
                    }
                }
                Ok(Input::Bytes(bytes))
            }
        }
    }
}

/// Whether `word` is meant as a number: a digit, or `-` and a digit, first.
fn is_number(word: &str) -> bool {
    word.strip_prefix('-')
        .unwrap_or(word)
        .starts_with(|c: char| c.is_ascii_digit())
}

/// Hex digits, two a byte.
fn hex(digits: &str) -> Option<Vec<u8>> {
    if digits.is_empty() || digits.len() % 2 != 0 {
        return None;
    }
    let mut bytes = Vec::with_capacity(digits.len() / 2);
    for i in (0..digits.len()).step_by(2) {
        bytes.push(u8::from_str_radix(digits.get(i..i + 2)?, 16).ok()?);
    }
    Some(bytes)
}

/// A decimal or `0x` hex number with an optional `-`: (negative, magnitude).
fn parse_int(text: &str) -> Option<(bool, u64)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (digits, radix) = match digits.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None => (digits, 10),
    };
    // from_str_radix takes a sign of its own: refuse a second one.
    if digits.starts_with(['+', '-']) {
        return None;
    }
    Some((negative, u64::from_str_radix(digits, radix).ok()?))
}

/// The bytes of `input`, a key or value of `size` bytes whose BTF type is
/// `ty` (`None`: the map has none). `path` names it in errors.
pub fn encode(
    ty: Option<(&Btf, u32)>,
    input: &Input,
    size: usize,
    path: &str,
) -> Result<Vec<u8>, ValueError> {
    let mut bytes = vec![0u8; size];
    match (input, ty) {
        (Input::Bytes(given), _) if given.len() == size => bytes.copy_from_slice(given),
        (Input::Bytes(given), _) => {
            return Err(ValueError::WrongSize {
                path: path.to_owned(),
                given: given.len(),
                size,
            })
        }
        (Input::Word(text), Some((btf, id))) => {
            match write(btf, &mut bytes, id, 0, 0, text, path) {
                // A number for a struct: its bytes as one integer.
                Err(ValueError::NotALeaf { .. }) if is_number(text) => {
                    return number(text, size, path)
                }
                result => result?,
            }
        }
        (Input::Word(text), None) if is_number(text) => return number(text, size, path),
        (Input::Fields(text), Some((btf, id))) => {
            for assignment in text.split(',') {
                let split = assignment.split_once('=');
                let split = split.filter(|(lhs, _)| !lhs.trim().is_empty());
                let (lhs, rhs) = split.ok_or_else(|| ValueError::Syntax {
                    path: path.to_owned(),
                    text: assignment.to_owned(),
                    expected: "an assignment: MEMBER=VALUE, MEMBER.SUB=VALUE or MEMBER[I]=VALUE",
                })?;
                let lhs = lhs.trim();
                let dot = if lhs.starts_with('[') { "" } else { "." };
                let target = format!("{path}{dot}{lhs}");
                match locate(btf, id, size, &target)? {
                    Ok(place) => {
                        let rhs = rhs.trim();
                        write(
                            btf,
                            &mut bytes,
                            place.type_id,
                            place.start,
                            place.width,
                            rhs,
                            &target,
                        )?
                    }
                    Err(members) => {
                        let cut = target.rfind(['.', '[']).unwrap_or(target.len());
                        return Err(ValueError::UnknownField {
                            path: target[..cut].to_owned(),
                            name: target[cut..].trim_start_matches('.').to_owned(),
                            known: match members.is_empty() {
                                true => "none".to_owned(),
                                false => members.join(", "),
                            },
                        });
                    }
                }
            }
        }
        (Input::Word(text) | Input::Fields(text), None) => {
            return Err(ValueError::NoType {
                path: path.to_owned(),
                text: text.clone(),
            })
        }
    }
    Ok(bytes)
}

/// `text` as the little-endian integer of `size` bytes, negative numbers
/// in two's complement.
fn number(text: &str, size: usize, path: &str) -> Result<Vec<u8>, ValueError> {
    if size == 0 || size > 8 {
        return Err(ValueError::Syntax {
            path: path.to_owned(),
            text: text.to_owned(),
            expected: "hex bytes: a number gives 1 to 8 bytes, and this has more (or none)",
        });
    }
    let raw = fit(text, size as u32 * 8, None, &format!("{size} bytes"), path)?;
    Ok(raw.to_le_bytes()[..size].to_vec())
}

/// `text`, a number, as `width` bits: signed (`Some(true)`), unsigned
/// (`Some(false)`) or either (`None`: raw bytes, enums).
fn fit(
    text: &str,
    width: u32,
    signed: Option<bool>,
    what: &str,
    path: &str,
) -> Result<u64, ValueError> {
    let (negative, magnitude) = parse_int(text).ok_or_else(|| ValueError::Syntax {
        path: path.to_owned(),
        text: text.to_owned(),
        expected: "a number (decimal, or hex after 0x)",
    })?;
    let width = width.clamp(1, 64);
    let half = 1u64 << (width - 1);
    let (min, max) = match signed {
        Some(true) => (half, half - 1),
        Some(false) => (0, mask(width)),
        None => (half, mask(width)),
    };
    if (negative && magnitude > min) || (!negative && magnitude > max) {
        return Err(ValueError::OutOfRange {
            path: path.to_owned(),
            text: text.to_owned(),
            what: what.to_owned(),
            min: 0i64.wrapping_sub_unsigned(min),
            max,
        });
    }
    let raw = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    Ok(raw & mask(width))
}

/// Writes the literal `text` as type `type_id` into `bytes` from bit
/// `start` (`width` bits when a bitfield, else the type's own).
fn write(
    btf: &Btf,
    bytes: &mut [u8],
    type_id: u32,
    start: u64,
    width: u32,
    text: &str,
    path: &str,
) -> Result<(), ValueError> {
    let fail = |error| ValueError::Btf {
        path: path.to_owned(),
        error,
    };
    let named = type_name(btf, type_id);
    let what = |bits: u32| match width {
        0 => named.clone(),
        _ => format!("{named}:{bits}"),
    };
    // Through typedefs and qualifiers, and a DATASEC's VAR, to the type.
    let mut id = btf.resolve(type_id).map_err(fail)?;
    let mut t = btf.type_by_id(id).map_err(fail)?;
    if t.kind == BtfKind::Var {
        id = btf.resolve(t.size_or_type).map_err(fail)?;
        t = btf.type_by_id(id).map_err(fail)?;
    }
    let (start, bits, raw) = match (t.kind, &t.data) {
        // Up to 64 bits: a wider INT (`__int128`) is given as hex bytes.
        (BtfKind::Int, BtfTypeData::Int(int)) if int.bits() <= 64 => {
            let (start, bits) = match width {
                0 => (start + u64::from(int.offset()), u32::from(int.bits())),
                _ => (start, width),
            };
            let boolean = int.encoding() & BTF_INT_BOOL != 0;
            let raw = match text {
                "true" if boolean => 1,
                "false" if boolean => 0,
                _ => {
                    let signed = int.encoding() & BTF_INT_SIGNED != 0;
                    fit(text, bits, Some(signed), &what(bits), path)?
                }
            };
            (start, bits, raw)
        }
        (BtfKind::Enum | BtfKind::Enum64, _) => {
            let bits = match width {
                0 => t.size_or_type.min(8) * 8,
                _ => width,
            };
            let list = enumerators(btf, t).map_err(fail)?;
            let value = list.iter().find(|(name, _)| *name == text).map(|(_, v)| *v);
            let raw = match value {
                Some(v) => v & mask(bits),
                None if is_number(text) => fit(text, bits, None, &what(bits), path)?,
                None => {
                    return Err(ValueError::UnknownEnumerator {
                        path: path.to_owned(),
                        text: text.to_owned(),
                        ty: named,
                        known: {
                            let mut known = String::new();
                            for (name, _) in &list {
                                if !known.is_empty() {
                                    known.push_str(", ");
                                }
                                known.push_str(name);
                            }
                            known
                        },
                    })
                }
            };
            (start, bits, raw)
        }
        // BPF has no floating point: a FLOAT is taken as its bits.
        (BtfKind::Ptr | BtfKind::Float, _) => {
            let bits = match t.kind {
                BtfKind::Ptr => 64,
                _ => t.size_or_type.min(8) * 8,
            };
            (start, bits, fit(text, bits, Some(false), &named, path)?)
        }
        (BtfKind::Array, BtfTypeData::Array(array))
            if btf
                .resolve(array.type_id)
                .and_then(|e| btf.type_by_id(e))
                .is_ok_and(|e| is_char(btf, e)) =>
        {
            if text.len() > array.nelems as usize {
                return Err(ValueError::StringTooLong {
                    path: path.to_owned(),
                    text: text.to_owned(),
                    len: text.len(),
                    size: array.nelems,
                });
            }
            // The string, then NULs to the end of the array.
            for (i, byte) in text
                .bytes()
                .chain(std::iter::repeat(0))
                .take(array.nelems as usize)
                .enumerate()
            {
                write_bits(bytes, start + 8 * i as u64, 8, byte.into(), path)?;
            }
            return Ok(());
        }
        (BtfKind::Int, _) => {
            return Err(ValueError::Syntax {
                path: path.to_owned(),
                text: text.to_owned(),
                expected:
                    "a value for an INT of more than 64 bits: give the whole value as hex bytes",
            })
        }
        _ => {
            return Err(ValueError::NotALeaf {
                path: path.to_owned(),
                ty: type_name(btf, id),
            })
        }
    };
    write_bits(bytes, start, bits, raw, path)
}

/// Writes the low `width` bits of `raw` at bit `start` (little-endian).
fn write_bits(
    bytes: &mut [u8],
    start: u64,
    width: u32,
    raw: u64,
    path: &str,
) -> Result<(), ValueError> {
    let end = start.saturating_add(u64::from(width));
    if width > 64 || end > (bytes.len() as u64).saturating_mul(8) {
        return Err(ValueError::Truncated {
            path: path.to_owned(),
            start: start / 8,
            end: end.div_ceil(8),
            len: bytes.len(),
        });
    }
    for i in 0..u64::from(width) {
        let bit = start + i;
        let flag = 1u8 << (bit % 8);
        let byte = &mut bytes[(bit / 8) as usize];
        if (raw >> i) & 1 == 1 {
            *byte |= flag;
        } else {
            *byte &= !flag;
        }
    }
    Ok(())
}
