//! gzip (RFC 1952) and DEFLATE (RFC 1951), decompression only: for
//! `/proc/config.gz`, the kernel configuration `__kconfig` externs read.
//!
//! Why not a crate: the one well-kept pure-Rust choice, `miniz_oxide`,
//! brings a streaming inflater built for speed (lookup tables, a resumable
//! state machine) that costs more of the 512 KiB budget of the static
//! `rxdp-load` than this whole module; reading a ~200 KiB configuration
//! once per load needs none of that. This is the plain canonical-Huffman
//! decoder of the RFC (one code length at a time, as zlib's `puff.c`
//! explains it), every input and output length checked, the CRC-32 and
//! length of each member verified.

/// Why a gzip file could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GunzipError {
    /// Not a gzip file (magic `1f 8b`, method 8).
    #[error("not a gzip file")]
    NotGzip,
    /// The data ends inside a member.
    #[error("truncated")]
    Truncated,
    /// The DEFLATE data is not valid.
    #[error("corrupt deflate data: {0}")]
    Corrupt(&'static str),
    /// The CRC-32 or length of a member does not match its data.
    #[error("checksum mismatch")]
    Checksum,
    /// The output would exceed the limit given.
    #[error("decompresses to more than {0} bytes")]
    TooLarge(usize),
}

type Result<T> = std::result::Result<T, GunzipError>;

/// Decompresses a gzip file of one or more members, refusing to produce
/// more than `limit` bytes.
pub fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let body = member_body(rest)?;
        let start = out.len();
        let mut bits = Bits::new(body);
        inflate(&mut bits, &mut out, limit)?;
        let trailer = bits.rest();
        let word = |i: usize| {
            trailer
                .get(i..i + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or(GunzipError::Truncated)
        };
        let (crc, size) = (word(0)?, word(4)?);
        let produced = &out[start..];
        if crc32(produced) != crc || produced.len() as u32 != size {
            return Err(GunzipError::Checksum);
        }
        rest = &trailer[8..];
        if rest.is_empty() {
            return Ok(out);
        }
    }
}

/// The DEFLATE data of the member at the start of `data`: after its header
/// and optional fields.
fn member_body(data: &[u8]) -> Result<&[u8]> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let header = data.get(..10).ok_or(GunzipError::NotGzip)?;
    if header[..3] != [0x1f, 0x8b, 8] {
        return Err(GunzipError::NotGzip);
    }
    let flags = header[3];
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = data.get(at..at + 2).ok_or(GunzipError::Truncated)?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let field = data.get(at..).ok_or(GunzipError::Truncated)?;
            at += 1 + field
                .iter()
                .position(|&b| b == 0)
                .ok_or(GunzipError::Truncated)?;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    data.get(at..).ok_or(GunzipError::Truncated)
}

/// Bits of the input, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to take.
    pos: usize,
    buffer: u32,
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            pos: 0,
            buffer: 0,
            count: 0,
        }
    }

    /// `n` (at most 16) bits.
    fn take(&mut self, n: u32) -> Result<u32> {
        while self.count < n {
            let byte = *self.data.get(self.pos).ok_or(GunzipError::Truncated)?;
            self.pos += 1;
            self.buffer |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let value = self.buffer & ((1 << n) - 1);
        self.buffer >>= n;
        self.count -= n;
        Ok(value)
    }

    /// Drops the bits left of the current byte.
    fn align(&mut self) {
        self.buffer = 0;
        self.count = 0;
    }

    /// The bytes after the last one read.
    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
}

/// A canonical Huffman code: how many codes of each length, and the
/// symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    /// The code for symbols `0..lengths.len()` of these code lengths (0:
    /// unused). Over-subscribed lengths are refused; an incomplete code is
    /// accepted (a lone distance code is), its unused codes fail to decode.
    fn new(lengths: &[u8]) -> Result<Huffman> {
        let mut counts = [0u16; 16];
        for &len in lengths {
            counts[usize::from(len)] += 1;
        }
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = left * 2 - i32::from(count);
            if left < 0 {
                return Err(GunzipError::Corrupt("over-subscribed code"));
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len != 0 {
                let slot = &mut offsets[usize::from(len)];
                symbols[usize::from(*slot)] = symbol as u16;
                *slot += 1;
            }
        }
        counts[0] = 0;
        Ok(Huffman { counts, symbols })
    }

    /// The next symbol: codes are read a bit at a time, most significant
    /// first, and compared with the first code of each length.
    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for &count in &self.counts[1..] {
            code |= bits.take(1)? as i32;
            let count = i32::from(count);
            if code - first < count {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or(GunzipError::Corrupt("bad code"));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(GunzipError::Corrupt("code not in the table"))
    }
}

/// Match lengths for symbols 257..285: base and extra bits.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Distances for symbols 0..29: base and extra bits.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order code-length code lengths come in (RFC 1951, 3.2.7).
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Inflates one DEFLATE stream, appending to `out`.
fn inflate(bits: &mut Bits<'_>, out: &mut Vec<u8>, limit: usize) -> Result<()> {
    loop {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => stored(bits, out, limit)?,
            1 => {
                let (lengths, distances) = fixed()?;
                codes(bits, out, limit, &lengths, &distances)?;
            }
            2 => {
                let (lengths, distances) = dynamic(bits)?;
                codes(bits, out, limit, &lengths, &distances)?;
            }
            _ => return Err(GunzipError::Corrupt("block type 3")),
        }
        if last {
            return Ok(());
        }
    }
}

fn stored(bits: &mut Bits<'_>, out: &mut Vec<u8>, limit: usize) -> Result<()> {
    bits.align();
    let header = bits
        .data
        .get(bits.pos..bits.pos + 4)
        .ok_or(GunzipError::Truncated)?;
    let len = u16::from_le_bytes([header[0], header[1]]);
    let complement = u16::from_le_bytes([header[2], header[3]]);
    if len != !complement {
        return Err(GunzipError::Corrupt("stored block length"));
    }
    let start = bits.pos + 4;
    let block = bits
        .data
        .get(start..start + usize::from(len))
        .ok_or(GunzipError::Truncated)?;
    if out.len() + block.len() > limit {
        return Err(GunzipError::TooLarge(limit));
    }
    out.extend_from_slice(block);
    bits.pos = start + usize::from(len);
    Ok(())
}

/// The fixed codes of block type 1.
fn fixed() -> Result<(Huffman, Huffman)> {
    let mut lengths = [0u8; 288];
    for (symbol, len) in lengths.iter_mut().enumerate() {
        *len = match symbol {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    Ok((Huffman::new(&lengths)?, Huffman::new(&[5; 30])?))
}

/// The codes a block of type 2 describes before its data.
fn dynamic(bits: &mut Bits<'_>) -> Result<(Huffman, Huffman)> {
    let nlen = bits.take(5)? as usize + 257;
    let ndist = bits.take(5)? as usize + 1;
    let ncode = bits.take(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err(GunzipError::Corrupt("too many codes"));
    }
    let mut code_lengths = [0u8; 19];
    for &index in &CODE_LENGTH_ORDER[..ncode] {
        code_lengths[index] = bits.take(3)? as u8;
    }
    let code_lengths = Huffman::new(&code_lengths)?;
    let mut lengths = [0u8; 286 + 30];
    let mut at = 0;
    while at < nlen + ndist {
        let symbol = code_lengths.decode(bits)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                let previous = *at
                    .checked_sub(1)
                    .and_then(|i| lengths.get(i))
                    .ok_or(GunzipError::Corrupt("repeat with no previous length"))?;
                (previous, 3 + bits.take(2)? as usize)
            }
            17 => (0, 3 + bits.take(3)? as usize),
            _ => (0, 11 + bits.take(7)? as usize),
        };
        if at + repeat > nlen + ndist {
            return Err(GunzipError::Corrupt("too many lengths"));
        }
        lengths[at..at + repeat].fill(value);
        at += repeat;
    }
    if lengths[256] == 0 {
        return Err(GunzipError::Corrupt("no end-of-block code"));
    }
    Ok((
        Huffman::new(&lengths[..nlen])?,
        Huffman::new(&lengths[nlen..nlen + ndist])?,
    ))
}

/// The literals and matches of a compressed block, up to its end code.
fn codes(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    limit: usize,
    lengths: &Huffman,
    distances: &Huffman,
) -> Result<()> {
    loop {
        let symbol = lengths.decode(bits)?;
        if symbol < 256 {
            if out.len() >= limit {
                return Err(GunzipError::TooLarge(limit));
            }
            out.push(symbol as u8);
            continue;
        }
        if symbol == 256 {
            return Ok(());
        }
        let index = usize::from(symbol - 257);
        let (&base, &extra) = LENGTH_BASE
            .get(index)
            .zip(LENGTH_EXTRA.get(index))
            .ok_or(GunzipError::Corrupt("bad length code"))?;
        let len = usize::from(base) + bits.take(u32::from(extra))? as usize;
        let index = usize::from(distances.decode(bits)?);
        let (&base, &extra) = DIST_BASE
            .get(index)
            .zip(DIST_EXTRA.get(index))
            .ok_or(GunzipError::Corrupt("bad distance code"))?;
        let distance = usize::from(base) + bits.take(u32::from(extra))? as usize;
        if distance > out.len() {
            return Err(GunzipError::Corrupt("distance before the start"));
        }
        if out.len() + len > limit {
            return Err(GunzipError::TooLarge(limit));
        }
        let from = out.len() - distance;
        for i in 0..len {
            let byte = out[from + i];
            out.push(byte);
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected), four bits at a time: a 16-entry table.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 16] = {
        let mut table = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut crc = i as u32;
            let mut k = 0;
            while k < 4 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
                k += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &byte in data {
        crc = (crc >> 4) ^ TABLE[((crc ^ u32::from(byte)) & 0xf) as usize];
        crc = (crc >> 4) ^ TABLE[((crc ^ u32::from(byte >> 4)) & 0xf) as usize];
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `testdata/config.gz` holds (made by `gzip -9`, dynamic blocks).
    fn config_text() -> String {
        let mut text = String::from("#\n# Automatically generated file; DO NOT EDIT.\n#\n");
        for i in 0..3000 {
            match i % 4 {
                0 => text.push_str(&format!("CONFIG_OPTION_{i}=y\n")),
                1 => text.push_str(&format!("# CONFIG_OPTION_{i} is not set\n")),
                2 => text.push_str(&format!("CONFIG_VALUE_{i}={}\n", i * 7919 % 100_003)),
                _ => text.push_str(&format!("CONFIG_NAME_{i}=\"n{i}\"\n")),
            }
        }
        text
    }

    #[test]
    fn crc32_of_the_standard_check_string() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn dynamic_fixed_and_stored_blocks() {
        let dynamic = include_bytes!("testdata/config.gz");
        let text = gunzip(dynamic, 1 << 20).unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), config_text());
        // `gzip.compress(b"hello hello hello hello\n")`: fixed codes, a match.
        let fixed = include_bytes!("testdata/fixed.gz");
        assert_eq!(
            gunzip(fixed, 1 << 20).unwrap(),
            b"hello hello hello hello\n"
        );
        // Level 0: stored blocks, here two members back to back.
        let stored = include_bytes!("testdata/stored2.gz");
        assert_eq!(
            gunzip(stored, 1 << 20).unwrap(),
            b"CONFIG_A=y\nCONFIG_B=m\n"
        );
    }

    #[test]
    fn damage_is_an_error_never_a_panic() {
        let good = include_bytes!("testdata/config.gz");
        assert_eq!(gunzip(b"CONFIG_A=y\n", 100), Err(GunzipError::NotGzip));
        assert_eq!(
            gunzip(good, 1000),
            Err(GunzipError::TooLarge(1000)),
            "the limit holds"
        );
        for cut in [10, 11, 100, good.len() / 2, good.len() - 9, good.len() - 1] {
            assert!(gunzip(&good[..cut], 1 << 20).is_err(), "cut at {cut}");
        }
        // Flipped bytes past the header (a sample, for time): an error,
        // never a panic.
        for at in (10..good.len()).step_by(61) {
            let mut bad = good.to_vec();
            bad[at] ^= 0x5a;
            assert!(gunzip(&bad, 1 << 20).is_err(), "byte {at}");
        }
    }
}
