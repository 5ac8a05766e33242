//! The deterministic damage of the mutation tests, shared by the parser's
//! (`elf/tests/mutation.rs`) and the relocation step's
//! (`loader/tests/mutation.rs`, which includes this file by path).
//!
//! The damage: single bit flips, bytes set to 0, 0xff or a random value,
//! truncation at many lengths, random bytes splattered over the sections
//! that carry structure (`.symtab`, relocations, `maps`, `.BTF`,
//! `.BTF.ext`), and field-targeted edits of the ELF header and of section
//! headers (offsets, sizes, links, types, counts) set to edge values. A
//! fixed-seed xorshift makes every run the same; a failure names the object,
//! the case number and the edit, so it can be replayed. [`run`] applies a
//! check to every damaged copy on a thread of its own, catching panics and
//! timing each case.

use std::panic;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::builder::{self, section_header_offset, u16_at, u64_at};

/// xorshift64*: small, fast, and the same on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The `.o` files of `dirs` (relative to the workspace root), each
/// directory sorted by name: the same list, in the same order, on every run.
pub fn objects(dirs: &[&str]) -> Vec<(String, Vec<u8>)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut out = Vec::new();
    for dir in dirs {
        let dir = format!("{root}/{dir}");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "o"))
            .collect();
        paths.sort();
        for p in paths {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

/// Byte ranges worth aiming at: the ELF header, every section header, and
/// the contents of sections that carry structure.
fn targets(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![(0, 64)];
    let shnum = u16_at(data, 60) as usize;
    let shstrndx = u16_at(data, 62) as usize;
    let strtab = u64_at(data, section_header_offset(data, shstrndx) + 24) as usize;
    for i in 0..shnum {
        let h = section_header_offset(data, i);
        out.push((h, 64));
        let name_off = strtab + builder::u32_at(data, h) as usize;
        let name_end = data[name_off..].iter().position(|&b| b == 0).unwrap() + name_off;
        let name = std::str::from_utf8(&data[name_off..name_end]).unwrap();
        let sh_type = builder::u32_at(data, h + 4);
        let interesting = matches!(name, "maps" | ".maps" | ".BTF" | ".BTF.ext" | "license" | "version")
            || sh_type == 2 // SYMTAB
            || sh_type == 9 // REL
            || builder::u64_at(data, h + 8) & 4 != 0; // code
        if interesting {
            let (off, size) = (u64_at(data, h + 24) as usize, u64_at(data, h + 32) as usize);
            if size > 0 && off + size <= data.len() {
                out.push((off, size));
            }
        }
    }
    out
}

/// One damaged copy and a description of the damage.
pub fn mutate(data: &[u8], rng: &mut Rng, case: usize) -> (Vec<u8>, String) {
    let mut d = data.to_vec();
    let len = d.len();
    // Field-targeted edits read the (intact) headers as little-endian ELF64;
    // the big-endian object gets the untargeted kinds instead.
    let little_endian = data.get(5) == Some(&1);
    let kind = match case % 8 {
        3..=6 if !little_endian => case % 3,
        kind => kind,
    };
    match kind {
        0 => {
            let at = rng.below(len);
            let bit = rng.below(8);
            d[at] ^= 1 << bit;
            (d, format!("flip bit {bit} of byte {at:#x}"))
        }
        1 => {
            let at = rng.below(len);
            let value = [0u8, 0xff, rng.next() as u8][rng.below(3)];
            d[at] = value;
            (d, format!("byte {at:#x} = {value:#x}"))
        }
        2 => {
            // Every length in the headers, then spread over the file.
            let cut = if case / 8 < 128 {
                case / 8
            } else {
                rng.below(len)
            };
            d.truncate(cut);
            (d, format!("truncate to {cut}"))
        }
        3 | 4 => {
            let ranges = targets(data);
            let (start, size) = ranges[rng.below(ranges.len())];
            let at = start + rng.below(size);
            let n = 1 + rng.below(8);
            for b in d.iter_mut().skip(at).take(n) {
                *b = rng.next() as u8;
            }
            (d, format!("{n} random bytes at {at:#x}"))
        }
        5 => {
            // A section-header field set to an edge value.
            let shnum = u16_at(data, 60) as usize;
            let h = section_header_offset(data, rng.below(shnum.max(1)));
            let (field, width) = [
                (0, 4),
                (4, 4),
                (8, 8),
                (24, 8),
                (32, 8),
                (40, 4),
                (44, 4),
                (56, 8),
            ][rng.below(8)];
            let current = if width == 8 {
                u64_at(data, h + field)
            } else {
                u64::from(builder::u32_at(data, h + field))
            };
            let value = edge_value(rng, current, len as u64);
            write_field(&mut d, h + field, width, value);
            (
                d,
                format!("section header at {h:#x} field +{field} = {value:#x}"),
            )
        }
        6 => {
            // An ELF-header field: e_shoff, e_flags, e_ehsize, e_shentsize,
            // e_shnum, e_shstrndx, e_machine, e_type.
            let (field, width) = [
                (40, 8),
                (48, 4),
                (52, 2),
                (58, 2),
                (60, 2),
                (62, 2),
                (18, 2),
                (16, 2),
            ][rng.below(8)];
            let current = match width {
                8 => u64_at(data, field),
                4 => u64::from(builder::u32_at(data, field)),
                _ => u64::from(u16_at(data, field)),
            };
            let value = edge_value(rng, current, len as u64);
            write_field(&mut d, field, width, value);
            (d, format!("ELF header field {field} = {value:#x}"))
        }
        _ => {
            // Several scattered byte changes at once.
            let n = 2 + rng.below(14);
            for _ in 0..n {
                let at = rng.below(len);
                d[at] = rng.next() as u8;
            }
            (d, format!("{n} scattered random bytes"))
        }
    }
}

fn edge_value(rng: &mut Rng, current: u64, file_len: u64) -> u64 {
    match rng.below(9) {
        0 => 0,
        1 => 1,
        2 => current.wrapping_add(1),
        3 => current.wrapping_sub(1),
        4 => current.wrapping_add(8),
        5 => file_len,
        6 => u64::MAX,
        7 => u64::from(u32::MAX),
        _ => rng.next() % (file_len * 2 + 1),
    }
}

fn write_field(d: &mut [u8], at: usize, width: usize, value: u64) {
    let bytes = value.to_le_bytes();
    d[at..at + width].copy_from_slice(&bytes[..width]);
}

/// The message of the last panic, kept by a quiet hook.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Parses run on a thread with this stack: deep recursion would overflow it.
const STACK: usize = 512 * 1024;

/// What a mutation run saw.
#[derive(Debug)]
pub struct Outcome {
    pub cases: usize,
    /// Cases the check accepted (the damaged object parsed).
    pub accepted: usize,
    /// Cases the check refused cleanly.
    pub refused: usize,
    pub slowest: Duration,
    /// Panics and cases slower than the limit, each naming the object,
    /// case and edit.
    pub failures: Vec<String>,
}

/// The check applied to each damaged copy: `(index of the object, bytes)`
/// to `Ok(true)` accepted, `Ok(false)` refused, `Err` a failed assertion.
pub type Check<'a> = dyn Fn(usize, &[u8]) -> Result<bool, String> + Sync + 'a;

/// Damages every object of `objects` `cases_per_object` ways, with the
/// seed every run uses, and calls `check(index of the object, damaged
/// bytes)` on each: `Ok(true)` accepted, `Ok(false)` refused, `Err` a
/// failed assertion about the result. A panic or a case slower than
/// `limit` is a failure too.
pub fn run(
    objects: &[(String, Vec<u8>)],
    cases_per_object: usize,
    limit: Duration,
    check: &Check<'_>,
) -> Outcome {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("mutation".into())
            .stack_size(STACK)
            .spawn_scoped(scope, || run_here(objects, cases_per_object, limit, check))
            .unwrap()
            .join()
            .expect("mutation thread died")
    })
}

fn run_here(
    objects: &[(String, Vec<u8>)],
    cases_per_object: usize,
    limit: Duration,
    check: &Check<'_>,
) -> Outcome {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = info.to_string();
    }));
    let mut rng = Rng(0x5eed_0fb0_fe1f);
    let mut outcome = Outcome {
        cases: 0,
        accepted: 0,
        refused: 0,
        slowest: Duration::ZERO,
        failures: Vec::new(),
    };
    for (index, (name, data)) in objects.iter().enumerate() {
        for case in 0..cases_per_object {
            let (damaged, what) = mutate(data, &mut rng, case);
            let started = Instant::now();
            // The check keeps no state a panic could leave half-changed.
            let result = panic::catch_unwind(panic::AssertUnwindSafe(|| check(index, &damaged)));
            let took = started.elapsed();
            outcome.slowest = outcome.slowest.max(took);
            outcome.cases += 1;
            match result {
                Ok(Ok(true)) => outcome.accepted += 1,
                Ok(Ok(false)) => outcome.refused += 1,
                Ok(Err(problem)) => outcome
                    .failures
                    .push(format!("{name} case {case} ({what}): {problem}")),
                Err(_) => {
                    let message = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
                    outcome
                        .failures
                        .push(format!("{name} case {case} ({what}): panic: {message}"));
                }
            }
            if took > limit {
                outcome
                    .failures
                    .push(format!("{name} case {case} ({what}): took {took:?}"));
            }
        }
    }
    panic::set_hook(previous);
    outcome
}
