//! Bytes to a [`Value`] through BTF, and the per-CPU [`sum`].

use super::{Value, ValueError, MAX_DEPTH, MAX_NODES};
use crate::btf::{Btf, BtfArray, BtfError, BtfKind, BtfType, BtfTypeData};

/// `BTF_INT_SIGNED`.
pub(super) const BTF_INT_SIGNED: u8 = 1;
/// `BTF_INT_CHAR`.
pub(super) const BTF_INT_CHAR: u8 = 2;
/// `BTF_INT_BOOL`.
pub(super) const BTF_INT_BOOL: u8 = 4;

/// Reads `data`, a value of type `type_id` of `btf`, as a [`Value`].
/// `path` names it in errors (`key`, `value`): a part beyond `data`, a
/// BTF that loops or nests too deep, or a value of more than
/// [`MAX_NODES`] parts is an error naming the part, never a panic.
///
/// `data` may be longer than the type (a per-CPU slot rounded up to 8
/// bytes): the rest is not read.
pub fn format(btf: &Btf, type_id: u32, data: &[u8], path: &str) -> Result<Value, ValueError> {
    Reader::new(btf, data, path, None).value(type_id, data, 0)
}

/// Where a part of a value is, as [`locate`] finds it: its type, its first
/// bit, and its width when it is a bitfield (0 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    pub type_id: u32,
    pub start: u64,
    pub width: u32,
}

/// What [`locate`] looks for while the reader walks.
struct Find {
    /// The part's path: `value.flags.low`.
    target: String,
    /// Its parent's path, `value.flags`: the members seen there are what
    /// an error lists.
    parent: String,
    found: Option<Place>,
    members: Vec<String>,
}

/// Where the part `target` (a path as the reader writes them:
/// `value.flags.low`, `value.inner[1].s`) of a value of type `type_id` and
/// `size` bytes is; when there is none, the members of its parent. The
/// encoder writes what the reader reads, so they walk the types once,
/// here, and agree on every offset.
pub(super) fn locate(
    btf: &Btf,
    type_id: u32,
    size: usize,
    target: &str,
) -> Result<Result<Place, Vec<String>>, ValueError> {
    let zero = vec![0u8; size];
    let cut = target.rfind(['.', '[']).unwrap_or(0);
    let find = Find {
        target: target.to_owned(),
        parent: target[..cut].to_owned(),
        found: None,
        members: Vec::new(),
    };
    let root = target.split(['.', '[']).next().unwrap_or("");
    let mut reader = Reader::new(btf, &zero, root, Some(find));
    reader.value(type_id, &zero, 0)?;
    let find = reader.find.take();
    Ok(match find {
        Some(Find {
            found: Some(place), ..
        }) => Ok(place),
        Some(find) => Err(find.members),
        None => Err(Vec::new()),
    })
}

struct Reader<'a> {
    btf: &'a Btf,
    /// Parts made so far, against [`MAX_NODES`].
    nodes: usize,
    /// Where the reader is: `value.flags[2]`.
    path: String,
    /// The address of the value's first byte: where a part starts is its
    /// slice's address less this.
    root: usize,
    /// What [`locate`] looks for.
    find: Option<Find>,
}

impl<'a> Reader<'a> {
    fn new(btf: &'a Btf, root: &[u8], path: &str, find: Option<Find>) -> Self {
        Reader {
            btf,
            nodes: 0,
            path: path.to_owned(),
            root: root.as_ptr() as usize,
            find,
        }
    }

    /// Whether the part here is what [`locate`] looks for: then its place
    /// is noted, and the walk need not go into it. `start` counts bits
    /// from `data`.
    fn found(&mut self, type_id: u32, data: &[u8], start: u64, width: u32) -> bool {
        let Some(find) = &mut self.find else {
            return false;
        };
        if find.target != self.path {
            return false;
        }
        let offset = (data.as_ptr() as usize).wrapping_sub(self.root) as u64;
        find.found = Some(Place {
            type_id,
            start: offset * 8 + start,
            width,
        });
        true
    }

    /// Notes a member's name when [`locate`] looks for one beside it.
    fn seen(&mut self, name: &str) {
        if let Some(find) = &mut self.find {
            if find.parent == self.path && !name.is_empty() {
                find.members.push(name.to_owned());
            }
        }
    }

    fn btf_error(&self, error: BtfError) -> ValueError {
        ValueError::Btf {
            path: self.path.clone(),
            error,
        }
    }

    fn spend(&mut self, parts: u64) -> Result<(), ValueError> {
        self.nodes = self
            .nodes
            .saturating_add(usize::try_from(parts).unwrap_or(usize::MAX));
        if self.nodes > MAX_NODES {
            return Err(ValueError::TooLarge {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    fn deeper(&self, depth: usize) -> Result<usize, ValueError> {
        if depth >= MAX_DEPTH {
            return Err(ValueError::TooLarge {
                path: self.path.clone(),
            });
        }
        Ok(depth + 1)
    }

    /// `data[start..start + len]`, or an error naming the part.
    fn slice<'d>(&self, data: &'d [u8], start: u64, len: u64) -> Result<&'d [u8], ValueError> {
        let end = start.saturating_add(len);
        usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(s, e)| data.get(s..e))
            .ok_or(ValueError::Truncated {
                path: self.path.clone(),
                start,
                end,
                len: data.len(),
            })
    }

    /// The type of `id` with modifiers, typedefs and VARs followed; `None` for void.
    fn resolved(&self, id: u32) -> Result<Option<(u32, &'a BtfType)>, ValueError> {
        let btf = self.btf;
        let mut id = id;
        // A VAR names a type, which may itself be a typedef: twice is enough,
        // a VAR of a VAR is not BTF.
        for _ in 0..2 {
            id = btf.resolve(id).map_err(|e| self.btf_error(e))?;
            if id == 0 {
                return Ok(None);
            }
            let t = btf.type_by_id(id).map_err(|e| self.btf_error(e))?;
            if t.kind != BtfKind::Var {
                return Ok(Some((id, t)));
            }
            id = t.size_or_type;
        }
        Ok(None)
    }

    fn value(&mut self, id: u32, data: &[u8], depth: usize) -> Result<Value, ValueError> {
        self.spend(1)?;
        if self.found(id, data, 0, 0) {
            return Ok(Value::Mixed);
        }
        let Some((_, t)) = self.resolved(id)? else {
            return Ok(Value::Bytes(data.to_vec()));
        };
        let size = t.size_or_type;
        match (t.kind, &t.data) {
            (BtfKind::Int, BtfTypeData::Int(int)) => {
                self.scalar(t, data, u64::from(int.offset()), u32::from(int.bits()))
            }
            (BtfKind::Enum | BtfKind::Enum64, _) => self.scalar(t, data, 0, size.saturating_mul(8)),
            (BtfKind::Ptr, _) => self.scalar(t, data, 0, 64),
            (BtfKind::Array, BtfTypeData::Array(array)) => self.array(array, data, depth),
            (BtfKind::Struct | BtfKind::Union | BtfKind::Datasec, _) => {
                self.members(t, data, depth)
            }
            // FLOAT (BPF has no floating point: printing one would cost
            // the programs more than it is worth), FWD, FUNC, FUNC_PROTO,
            // DECL_TAG: their bytes.
            _ => self.bytes(data, 0, u64::from(size)),
        }
    }

    /// The bytes `start..start + len` of `data` (those there are) as they are.
    fn bytes(&self, data: &[u8], start: u64, len: u64) -> Result<Value, ValueError> {
        let len = len.min((data.len() as u64).saturating_sub(start));
        Ok(Value::Bytes(self.slice(data, start, len)?.to_vec()))
    }

    /// `width` bits of `data` from bit `start` (little-endian), at most 64.
    fn bits(&self, data: &[u8], start: u64, width: u32) -> Result<u64, ValueError> {
        let end = start.saturating_add(u64::from(width));
        if end > (data.len() as u64).saturating_mul(8) {
            return Err(ValueError::Truncated {
                path: self.path.clone(),
                start: start / 8,
                end: end.div_ceil(8),
                len: data.len(),
            });
        }
        Ok(read_bits(data, start, width))
    }

    /// An INT, ENUM or PTR of `width` bits at bit `start` of `data`.
    fn scalar(
        &self,
        t: &BtfType,
        data: &[u8],
        start: u64,
        width: u32,
    ) -> Result<Value, ValueError> {
        if width == 0 || width > 64 {
            // `__int128` (rare in maps, and a 128-bit printer costs every
            // program), or what the kernel refuses: the bytes.
            return self.bytes(data, start / 8, u64::from(width.div_ceil(8)));
        }
        let raw = self.bits(data, start, width)?;
        let signed = |raw| sign_extend(raw, width);
        Ok(match &t.data {
            BtfTypeData::Int(int) if int.encoding() & BTF_INT_BOOL != 0 => Value::Bool(raw != 0),
            BtfTypeData::Int(int) if int.encoding() & BTF_INT_SIGNED != 0 => {
                Value::Int(signed(raw))
            }
            BtfTypeData::Int(_) => Value::Uint(raw),
            BtfTypeData::Enum(_) | BtfTypeData::Enum64(_) => {
                let mask = mask(width);
                let list = enumerators(self.btf, t).map_err(|e| self.btf_error(e))?;
                let name = list
                    .into_iter()
                    .find(|(_, v)| v & mask == raw)
                    .map(|(name, _)| name.to_owned());
                // `kind_flag` says the enum is signed (kernel 6.0);
                // before, enums were read as they were stored.
                let value = if t.kind_flag { signed(raw) } else { raw as i64 };
                Value::Enum { name, value }
            }
            _ => Value::Pointer(raw),
        })
    }

    fn array(&mut self, array: &BtfArray, data: &[u8], depth: usize) -> Result<Value, ValueError> {
        let depth = self.deeper(depth)?;
        let element = u64::from(
            self.btf
                .size_of(array.type_id)
                .map_err(|e| self.btf_error(e))?,
        );
        let count = u64::from(array.nelems);
        let all = self.slice(data, 0, element * count)?;
        self.spend(count)?;
        if let Some((_, t)) = self.resolved(array.type_id)? {
            if element == 1 && is_char(self.btf, t) {
                if let Some(text) = text(all) {
                    return Ok(Value::Str(text));
                }
            }
        }
        let mut items = Vec::with_capacity(array.nelems as usize);
        let len = self.path.len();
        for i in 0..count {
            self.path.truncate(len);
            self.path.push_str(&format!("[{i}]"));
            let bytes = self.slice(all, i * element, element)?;
            items.push(self.value(array.type_id, bytes, depth)?);
        }
        self.path.truncate(len);
        Ok(Value::Array(items))
    }

    /// A struct's or union's members, or a DATASEC's variables, by name.
    fn members(&mut self, t: &'a BtfType, data: &[u8], depth: usize) -> Result<Value, ValueError> {
        let depth = self.deeper(depth)?;
        let btf = self.btf;
        let count = t.secinfos().len().max(t.members().len());
        let mut fields = Vec::with_capacity(count);
        let len = self.path.len();
        for i in 0..count {
            // (name, type, first bit, bitfield width) of the part.
            let (name_off, type_id, start, width) = match (t.secinfos().get(i), t.members().get(i))
            {
                (Some(var), _) => {
                    // `.ksyms` lists FUNCs: no bytes in the map.
                    let v = btf.type_by_id(var.type_id).map_err(|e| self.btf_error(e))?;
                    if v.kind != BtfKind::Var {
                        continue;
                    }
                    (v.name_off, v.size_or_type, u64::from(var.offset) * 8, 0)
                }
                (None, Some(m)) => {
                    let start = u64::from(m.bit_offset(t.kind_flag));
                    (m.name_off, m.type_id, start, m.bitfield_size(t.kind_flag))
                }
                (None, None) => break,
            };
            let name = btf.string(name_off).map_err(|e| self.btf_error(e))?;
            self.path.truncate(len);
            self.seen(name);
            if !name.is_empty() {
                self.path.push('.');
                self.path.push_str(name);
            }
            match self.member(type_id, data, start, width, depth)? {
                // The members of an anonymous struct or union are the
                // parent's, as in C.
                Value::Fields(inner) if name.is_empty() => fields.extend(inner),
                value => fields.push((name.to_owned(), value)),
            }
        }
        self.path.truncate(len);
        Ok(Value::Fields(fields))
    }

    /// A member at bit `start` of `data`; `width` its bitfield size (0: none).
    fn member(
        &mut self,
        type_id: u32,
        data: &[u8],
        start: u64,
        width: u32,
        depth: usize,
    ) -> Result<Value, ValueError> {
        let misaligned = |path: &String| ValueError::Misaligned {
            path: path.clone(),
            bit_offset: start,
        };
        if let Some((start, width, t)) = self.bitfield(type_id, start, width)? {
            self.spend(1)?;
            if self.found(type_id, data, start, width) {
                return Ok(Value::Mixed);
            }
            return match t.kind {
                BtfKind::Int | BtfKind::Enum | BtfKind::Enum64 => {
                    self.scalar(t, data, start, width)
                }
                _ => Err(misaligned(&self.path)),
            };
        }
        if start % 8 != 0 {
            return Err(misaligned(&self.path));
        }
        let size = u64::from(self.btf.size_of(type_id).map_err(|e| self.btf_error(e))?);
        let bytes = self.slice(data, start / 8, size)?;
        self.value(type_id, bytes, depth)
    }

    /// Where the bits of a member are when it is a bitfield: its start,
    /// width and INT or ENUM type. Two encodings: the member's own width
    /// (`kind_flag` structs), or an INT whose `BTF_INT_BITS` and
    /// `BTF_INT_OFFSET` leave part of its bytes out.
    fn bitfield(
        &self,
        type_id: u32,
        start: u64,
        width: u32,
    ) -> Result<Option<(u64, u32, &'a BtfType)>, ValueError> {
        let Some((_, t)) = self.resolved(type_id)? else {
            return Ok(None);
        };
        if width != 0 {
            return Ok(Some((start, width, t)));
        }
        Ok(match &t.data {
            BtfTypeData::Int(int)
                if int.offset() != 0 || u64::from(int.bits()) != u64::from(t.size_or_type) * 8 =>
            {
                Some((start + u64::from(int.offset()), u32::from(int.bits()), t))
            }
            _ => None,
        })
    }
}

/// The enumerators of ENUM or ENUM64 `t`: name and value (an ENUM's
/// negative values as their 64-bit two's complement).
pub(super) fn enumerators<'b>(btf: &'b Btf, t: &BtfType) -> Result<Vec<(&'b str, u64)>, BtfError> {
    let mut out = Vec::new();
    match &t.data {
        BtfTypeData::Enum(list) => {
            for e in list {
                out.push((btf.string(e.name_off)?, i64::from(e.val) as u64));
            }
        }
        BtfTypeData::Enum64(list) => {
            for e in list {
                out.push((btf.string(e.name_off)?, e.value()));
            }
        }
        _ => {}
    }
    Ok(out)
}

/// Whether INT `t` is a `char`.
pub(super) fn is_char(btf: &Btf, t: &BtfType) -> bool {
    match &t.data {
        BtfTypeData::Int(int) => {
            int.bits() == 8
                && (int.encoding() & BTF_INT_CHAR != 0 || btf.string(t.name_off) == Ok("char"))
        }
        _ => false,
    }
}

/// The bytes of a `char` array as text: printable ASCII up to the first
/// NUL (or the end), only NULs after it.
fn text(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (text, rest) = bytes.split_at(end);
    let printable = text.iter().all(|&b| b == b' ' || b.is_ascii_graphic());
    (printable && rest.iter().all(|&b| b == 0)).then(|| String::from_utf8_lossy(text).into_owned())
}

/// The lowest `width` bits set (all for 64 and more).
pub(super) fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// `width` bits of `data` from bit `start`, little-endian; the caller has
/// checked that they are all there.
fn read_bits(data: &[u8], start: u64, width: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..u64::from(width) {
        let bit = start + i;
        let byte = data.get((bit / 8) as usize).copied().unwrap_or(0);
        if (byte >> (bit % 8)) & 1 == 1 {
            value |= 1 << i;
        }
    }
    value
}

/// `raw`, a `width`-bit two's complement number, as a signed one.
fn sign_extend(raw: u64, width: u32) -> i64 {
    if width == 0 || width >= 64 {
        return raw as i64;
    }
    let shift = 64 - width;
    ((raw << shift) as i64) >> shift
}

/// The values of one key on every CPU (a per-CPU map) as one: integers
/// are added, structs and unions member by member, arrays
/// element by element (so a struct of counters sums each counter). What
/// is not a number (enumerators, booleans, pointers, strings,
/// bytes, floats) is kept when every CPU has the same, else it becomes
/// [`Value::Mixed`]. Integer sums wrap at 64 bits, as the counters do.
pub fn sum(values: &[Value]) -> Value {
    match values.split_first() {
        Some((first, rest)) => rest.iter().fold(first.clone(), add),
        None => Value::Mixed,
    }
}

/// `total` and `v` added as [`sum`] says.
fn add(total: Value, v: &Value) -> Value {
    match (total, v) {
        (Value::Uint(a), Value::Uint(b)) => Value::Uint(a.wrapping_add(*b)),
        (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_add(*b)),
        (Value::Fields(a), Value::Fields(b)) if a.len() == b.len() => {
            let mut out = Vec::with_capacity(a.len());
            for ((name, x), (other, y)) in a.into_iter().zip(b) {
                if name != *other {
                    return Value::Mixed;
                }
                out.push((name, add(x, y)));
            }
            Value::Fields(out)
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            let mut out = Vec::with_capacity(a.len());
            for (x, y) in a.into_iter().zip(b) {
                out.push(add(x, y));
            }
            Value::Array(out)
        }
        (total, v) if total == *v => total,
        _ => Value::Mixed,
    }
}
