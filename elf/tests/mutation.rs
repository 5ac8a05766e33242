//! Deterministic mutation test: damages every committed object thousands of
//! ways and requires `Object::parse` to return, Ok or Err, never panic, and
//! promptly.
//!
//! The damage: single bit flips, bytes set to 0, 0xff or a random value,
//! truncation at many lengths, random bytes splattered over the sections
//! that carry structure (`.symtab`, relocations, `maps`, `.BTF`,
//! `.BTF.ext`), and field-targeted edits of the ELF header and of section
//! headers (offsets, sizes, links, types, counts) set to edge values. A
//! fixed-seed xorshift makes every run the same; a failure names the object,
//! the case number and the edit, so it can be replayed.

mod builder;

use std::panic;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use builder::{section_header_offset, u16_at, u64_at};
use rxdp_elf::Object;

/// Cases per object; with the 20 objects here, 80,000 in total.
const CASES_PER_OBJECT: usize = 4_000;
/// Longest a single parse may take, even in a debug build.
const PARSE_LIMIT: Duration = Duration::from_secs(2);
/// Parses run on a thread with this stack: deep recursion would overflow it.
const STACK: usize = 512 * 1024;

/// xorshift64*: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn objects() -> Vec<(String, Vec<u8>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut out = Vec::new();
    for dir in [format!("{root}/../progs/obj"), format!("{root}/tests/data")] {
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
fn mutate(data: &[u8], rng: &mut Rng, case: usize) -> (Vec<u8>, String) {
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

#[test]
fn damaged_objects_never_panic() {
    let worker = std::thread::Builder::new()
        .name("mutation".into())
        .stack_size(STACK)
        .spawn(run)
        .unwrap();
    let outcome = worker.join().expect("mutation thread died");
    println!(
        "{} damaged objects: {} parsed, {} refused; slowest parse {:?}",
        outcome.cases, outcome.parsed, outcome.refused, outcome.slowest
    );
    assert!(outcome.cases >= 20_000, "only {} cases", outcome.cases);
    // Both outcomes occur: the damage is neither always fatal nor always ignored.
    assert!(outcome.parsed > 0 && outcome.refused > 0);
    let failures = outcome.failures;
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

struct Outcome {
    cases: usize,
    parsed: usize,
    refused: usize,
    slowest: Duration,
    failures: Vec<String>,
}

fn run() -> Outcome {
    let objects = objects();
    assert!(objects.len() >= 12, "too few objects: {}", objects.len());
    for (name, data) in &objects {
        // Intact objects parse, or fail cleanly for the ones built to fail.
        let _ = Object::parse(data);
        assert!(data.len() > 64, "{name}");
    }
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = info.to_string();
    }));
    let mut rng = Rng(0x5eed_0fb0_fe1f);
    let mut failures = Vec::new();
    let (mut cases, mut parsed, mut refused) = (0, 0, 0);
    let mut slowest = Duration::ZERO;
    for (name, data) in &objects {
        for case in 0..CASES_PER_OBJECT {
            let (damaged, what) = mutate(data, &mut rng, case);
            let started = Instant::now();
            let outcome = panic::catch_unwind(|| Object::parse(&damaged).is_ok());
            let took = started.elapsed();
            slowest = slowest.max(took);
            cases += 1;
            match outcome {
                Ok(true) => parsed += 1,
                Ok(false) => refused += 1,
                Err(_) => {}
            }
            if outcome.is_err() {
                let message = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
                failures.push(format!("{name} case {case} ({what}): panic: {message}"));
            } else if took > PARSE_LIMIT {
                failures.push(format!("{name} case {case} ({what}): took {took:?}"));
            }
        }
    }
    panic::set_hook(previous);
    Outcome {
        cases,
        parsed,
        refused,
        slowest,
        failures,
    }
}
