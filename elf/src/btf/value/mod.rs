//! Map keys and values through BTF: bytes to a readable [`Value`]
//! ([`format()`]), the values of several CPUs to one ([`sum`]), and what a
//! user types to bytes ([`Input`], [`encode`]).
//!
//! What `rxdp map dump` prints and `rxdp map update` takes; pure, so that
//! a crafted BTF or value can only give an error: recursion is bounded
//! ([`MAX_DEPTH`]), every offset and size is checked against the bytes
//! present, and a value never grows beyond [`MAX_NODES`] parts.
//!
//! How each kind of type reads:
//!
//! | BTF | [`Value`] |
//! |---|---|
//! | INT, signed or not, up to 64 bits | [`Value::Int`], [`Value::Uint`] |
//! | INT with `BTF_INT_BOOL` | [`Value::Bool`] |
//! | `char` (`BTF_INT_CHAR`, or the INT named `char`) | its number; an array of them that holds text (printable bytes, then only NULs) is a [`Value::Str`] |
//! | ENUM, ENUM64 | [`Value::Enum`]: the enumerator's name, or the number when none has that value |
//! | STRUCT, UNION, DATASEC | [`Value::Fields`], members in order; the members of an anonymous struct or union are the parent's (as in C); a union shows every member |
//! | bitfields (`kind_flag` members, or INTs narrower than their size) | as their INT or ENUM |
//! | ARRAY | [`Value::Array`] |
//! | PTR | [`Value::Pointer`] |
//! | TYPEDEF, CONST, VOLATILE, RESTRICT, TYPE_TAG, VAR | the type they name |
//! | FLOAT (BPF has no floating point), void, FWD, FUNC, FUNC_PROTO, INTs wider than 64 bits (`__int128`) | [`Value::Bytes`] |

mod encode;
mod format;

#[cfg(test)]
mod tests;

use std::fmt;

pub use encode::{encode, Input};
pub use format::{format, sum};

use super::BtfError;

/// How deep structs, unions and arrays may nest, in a value read or
/// written: the kernel's own limit for BTF (`MAX_RESOLVE_DEPTH`).
pub const MAX_DEPTH: usize = 32;

/// The most parts (numbers, fields, elements) one value may have: a
/// bound on the memory a crafted BTF (an array of a million empty
/// structs) can make a dump take.
pub const MAX_NODES: usize = 1 << 20;

/// A key or value read through BTF.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// An unsigned integer (INT without `BTF_INT_SIGNED`), bitfields included.
    Uint(u64),
    /// A signed integer.
    Int(i64),
    /// An INT with `BTF_INT_BOOL`: non-zero is true.
    Bool(bool),
    /// An ENUM or ENUM64: the enumerator of this value, if there is one.
    Enum {
        /// The enumerator's name; `None` when no enumerator has the value.
        name: Option<String>,
        /// The value (signed only when the enum is).
        value: i64,
    },
    /// A pointer: only its address means anything outside the kernel.
    Pointer(u64),
    /// A `char` array holding text: printable bytes up to the first NUL,
    /// only NULs after it.
    Str(String),
    /// An array's elements.
    Array(Vec<Value>),
    /// A struct's, union's or DATASEC's members (variables), by name.
    Fields(Vec<(String, Value)>),
    /// Bytes with no type to read them by.
    Bytes(Vec<u8>),
    /// In a [`sum`]: a part that is not a number and differs between the values.
    Mixed,
}

impl Value {
    /// The member `name` of a struct, union or DATASEC value.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Fields(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Text as the `rxdp map` commands print it: numbers in decimal, pointers
/// in hex, enumerators by name, strings quoted, `{a: 1, b: [2, 3]}` for
/// structs and arrays, `<01 02>` for bytes without a type, `?` for [`Value::Mixed`].
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Uint(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Enum {
                name: Some(name), ..
            } => f.write_str(name),
            Value::Enum { name: None, value } => write!(f, "{value}"),
            Value::Pointer(v) => write!(f, "{v:#x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Fields(fields) => {
                f.write_str("{")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {value}")?;
                }
                f.write_str("}")
            }
            Value::Bytes(bytes) => {
                f.write_str("<")?;
                write_hex(f, bytes)?;
                f.write_str(">")
            }
            Value::Mixed => f.write_str("?"),
        }
    }
}

/// Bytes as two hex digits each, separated by spaces: `01 02 ff`.
pub fn write_hex(f: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        write!(f, "{byte:02x}")?;
    }
    Ok(())
}

/// What is wrong with a value read or written through BTF. `path` names
/// the part: `value`, `value.flags.proto`, `key[2]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The BTF itself is wrong where the value needs it.
    #[error("{path}: {error}")]
    Btf {
        /// The part.
        path: String,
        /// What is wrong.
        error: BtfError,
    },
    /// A part lies beyond the bytes of the value.
    #[error("{path}: needs bytes {start}..{end}, the value has {len}")]
    Truncated {
        /// The part.
        path: String,
        /// Its first byte.
        start: u64,
        /// One past its last byte.
        end: u64,
        /// The bytes present.
        len: usize,
    },
    /// A member that is not a bitfield starts inside a byte.
    #[error(
        "{path}: member at bit offset {bit_offset} is not a bitfield but not on a byte either"
    )]
    Misaligned {
        /// The part.
        path: String,
        /// Its offset in bits.
        bit_offset: u64,
    },
    /// Structs, unions and arrays nest deeper than [`MAX_DEPTH`], or the
    /// value would have more than [`MAX_NODES`] parts.
    #[error("{path}: nests deeper than {MAX_DEPTH} levels or has more than {MAX_NODES} parts")]
    TooLarge {
        /// The part where the limit was reached.
        path: String,
    },
    /// The map has no BTF for this key or value: only numbers and bytes.
    #[error("{path}: the map has no BTF type for it, so `{text}` cannot be read by name; give a number or hex bytes")]
    NoType {
        /// `key` or `value`.
        path: String,
        /// What was given.
        text: String,
    },
    /// Bytes given, but not as many as the key or value has.
    #[error("{path}: {given} bytes given, it has {size}")]
    WrongSize {
        /// `key` or `value`.
        path: String,
        /// Bytes given.
        given: usize,
        /// Bytes it has.
        size: usize,
    },
    /// Text that is not what it should be (a number, hex digits, `a=1`).
    #[error("{path}: `{text}` is not {expected}")]
    Syntax {
        /// The part.
        path: String,
        /// What was given.
        text: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A number that does not fit.
    #[error("{path}: {text} does not fit {what} ({min}..={max})")]
    OutOfRange {
        /// The part.
        path: String,
        /// The number given.
        text: String,
        /// The type: `a 4-byte value`, `an unsigned 3-bit bitfield`.
        what: String,
        /// The least it may be.
        min: i64,
        /// The most it may be.
        max: u64,
    },
    /// `a.b=` where `a` has no member `b` (or `a[9]=` beyond the array).
    #[error("{path} has no member `{name}` (its members: {known})")]
    UnknownField {
        /// Where the member was looked for.
        path: String,
        /// The member asked for.
        name: String,
        /// The members there, comma-separated.
        known: String,
    },
    /// An enumerator the enum does not have.
    #[error("{path}: `{text}` is not an enumerator of {ty} (it has: {known})")]
    UnknownEnumerator {
        /// The part.
        path: String,
        /// The name given.
        text: String,
        /// The enum.
        ty: String,
        /// Its enumerators, comma-separated.
        known: String,
    },
    /// A string longer than its char array.
    #[error("{path}: \"{text}\" is {len} bytes, the array has {size}")]
    StringTooLong {
        /// The part.
        path: String,
        /// The string given.
        text: String,
        /// Its length.
        len: usize,
        /// The array's length.
        size: u32,
    },
    /// A whole struct, union or array given one literal.
    #[error("{path} is {ty}: give its members (`{path}.NAME=...`) or elements (`{path}[I]=...`), or hex bytes")]
    NotALeaf {
        /// The part.
        path: String,
        /// Its type.
        ty: String,
    },
}

/// The name of type `id` for messages: its own (`u32`, `flags`), past
/// unnamed qualifiers, or its kind (`STRUCT`, `PTR`).
pub(crate) fn type_name(btf: &super::Btf, id: u32) -> String {
    use super::BtfKind;
    // `const volatile u32` reads as `u32`.
    let mut id = id;
    for _ in 0..super::MAX_RESOLVE_DEPTH {
        match btf.type_by_id(id) {
            Ok(t) if t.kind.is_modifier() && t.name_off == 0 => id = t.size_or_type,
            Ok(t) => {
                let tag = match t.kind {
                    BtfKind::Struct => "struct ",
                    BtfKind::Union => "union ",
                    BtfKind::Enum | BtfKind::Enum64 => "enum ",
                    _ => "",
                };
                return match btf.string(t.name_off) {
                    Ok("") | Err(_) => format!("{tag}{}", t.kind.name()),
                    Ok(name) => format!("{tag}{name}"),
                };
            }
            Err(_) => break,
        }
    }
    format!("type id {id}")
}
