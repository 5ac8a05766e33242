//! The table of malformed inputs, `tests/MALFORMED.md`: every class of
//! damage tried on objects and the exact message rxdp gives for it. The
//! table is generated here from what `Object::parse` returns, and this test
//! fails when the committed file differs, so the table cannot drift from
//! the code. `RXDP_BLESS=1 cargo test -p rxdp-elf --test malformed`
//! rewrites it after a deliberate change of a message.

mod builder;

use builder::*;
use rxdp_elf::Object;

const TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/MALFORMED.md");
/// The heading of the part of the file the loader's tests check.
const LOADER_PART: &str = "## Files that are not objects";

fn read(path: &str) -> Vec<u8> {
    let path = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `data` with `bytes` written at `at`.
fn patched(mut data: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    data[at..at + bytes.len()].copy_from_slice(bytes);
    data
}

/// `data` with section `index`'s header field at `field` (bytes into the
/// header) set to `value`, `width` bytes wide.
fn header_field(data: Vec<u8>, index: usize, field: usize, value: u64, width: usize) -> Vec<u8> {
    let at = section_header_offset(&data, index) + field;
    patched(data, at, &value.to_le_bytes()[..width])
}

/// One class of damage: what it is, how this test makes it, the bytes,
/// and — for the few rxdp accepts on purpose — why.
struct Case {
    class: &'static str,
    how: String,
    data: Vec<u8>,
    accepted: Option<&'static str>,
}

fn case(class: &'static str, how: impl Into<String>, data: Vec<u8>) -> Case {
    Case {
        class,
        how: how.into(),
        data,
        accepted: None,
    }
}

impl Case {
    /// A damage rxdp is right to accept, and why.
    fn accepted(self, why: &'static str) -> Case {
        Case {
            accepted: Some(why),
            ..self
        }
    }
}

fn cases() -> Vec<Case> {
    let ok = base().build();
    let tail = read("progs/obj/tail_kern.o");
    let (btf, btf_len) = section_range(&tail, ".BTF");
    let (ext, _) = section_range(&tail, ".BTF.ext");
    let ext_hdr = u32_at(&tail, ext + 4) as usize;
    let func_info = ext + ext_hdr + u32_at(&tail, ext + 8) as usize;
    let line_info = ext + ext_hdr + u32_at(&tail, ext + 16) as usize;
    let reject = read("progs/obj/verifier_reject.o");
    let (reject_ext, _) = section_range(&reject, ".BTF.ext");
    let reject_line = reject_ext
        + u32_at(&reject, reject_ext + 4) as usize
        + u32_at(&reject, reject_ext + 16) as usize;
    let license = find_section(&ok, "license").unwrap();
    let maps = find_section(&ok, "maps").unwrap();
    let code_index = find_section(&ok, "xdp").unwrap();
    let (symtab, _) = section_range(&ok, ".symtab");
    let (rel, _) = section_range(&ok, ".relxdp");
    let rel_index = find_section(&ok, ".relxdp").unwrap();

    let mut out = vec![
        // ---------------------------------------------------- the container
        case("empty file", "0 bytes", Vec::new()),
        case(
            "not an ELF file",
            "a shell script",
            b"#!/bin/sh\necho hi\n".to_vec(),
        ),
        case(
            "bad magic",
            "byte 0 = 0x7e",
            patched(ok.clone(), 0, &[0x7e]),
        ),
        case(
            "truncated ELF header",
            "the first 40 bytes",
            ok[..40].to_vec(),
        ),
        case("ELF32", "EI_CLASS = 1", patched(ok.clone(), 4, &[1])),
        case(
            "big-endian",
            "clang -target bpfeb",
            read("elf/tests/data/bpfeb.o"),
        ),
        case("wrong machine", "e_machine = 62 (x86-64)", {
            let mut elf = base();
            elf.machine = 62;
            elf.build()
        }),
        case(
            "section headers past EOF",
            "the last 10 bytes cut off",
            ok[..ok.len() - 10].to_vec(),
        ),
        case(
            "bad e_shentsize",
            "e_shentsize = 40",
            patched(ok.clone(), 58, &[40]),
        ),
        case(
            "e_shnum too large",
            "e_shnum = 0x100",
            patched(ok.clone(), 60, &[0, 1]),
        ),
        case(
            "e_shstrndx out of range",
            "e_shstrndx = 99",
            patched(ok.clone(), 62, &[99, 0]),
        ),
        case(
            "section offset past EOF",
            "sh_offset of `license` = 0x100000",
            header_field(ok.clone(), license, 24, 0x10_0000, 8),
        ),
        case(
            "section size past EOF",
            "sh_size of `maps` = 0x100000",
            header_field(ok.clone(), maps, 32, 0x10_0000, 8),
        ),
        case(
            "overlapping sections",
            "sh_offset of `maps` = sh_offset of the code",
            {
                let code_offset = u64_at(&ok, section_header_offset(&ok, code_index) + 24);
                header_field(ok.clone(), maps, 24, code_offset, 8)
            },
        ),
        case(
            "unknown section type",
            "sh_type of `maps` = 0x12345",
            header_field(ok.clone(), maps, 4, 0x12345, 4),
        )
        .accepted(
            "legacy maps are found by the section's name, as bpf_load.c found them; its type \
             does not matter",
        ),
        case("no symbol table", "stripped", {
            let mut elf = base();
            elf.with_symtab = false;
            elf.build()
        }),
        case(
            "symbol in a section that does not exist",
            "st_shndx of symbol #1 = 0x0fe0",
            patched(ok.clone(), symtab + 24 + 6, &0x0fe0u16.to_le_bytes()),
        ),
        case("symbol name too long", "513 bytes", {
            let mut elf = base();
            elf.symbols[1].name = "m".repeat(513);
            elf.build()
        }),
        case(
            "relocation names a missing symbol",
            "r_info symbol 200 of 5",
            patched(ok.clone(), rel + 12, &200u32.to_le_bytes()),
        ),
        case(
            "relocation section for a missing section",
            "sh_info of `.relxdp` = 99",
            header_field(ok.clone(), rel_index, 44, 99, 4),
        ),
        // ------------------------------------------------ license, version
        case("license not UTF-8", "`license` = ff fe 00", {
            let mut elf = base();
            elf.sections[2].data = vec![0xff, 0xfe, 0];
            elf.build()
        }),
        case(
            "version of the wrong size",
            "`version` of 3 bytes",
            base().data_section("version", vec![1, 2, 3]).build(),
        ),
    ];

    // -------------------------------------------------------------- .BTF
    for (field, offset, value, width) in [
        ("magic", 0, 0x1234u32, 2),
        ("version", 2, 2, 1),
        ("flags", 3, 1, 1),
        ("hdr_len", 4, 0x7000_0000, 4),
        ("type_off", 8, 0x7000_0000, 4),
        ("type_len", 12, 0x7000_0000, 4),
        ("str_off", 16, 0, 4),
        ("str_len", 20, 0x7000_0000, 4),
    ] {
        let data = patched(tail.clone(), btf + offset, &value.to_le_bytes()[..width]);
        out.push(case(
            "`.BTF` header damaged",
            format!("tail_kern.o, {field} = {value:#x}"),
            data,
        ));
    }
    out.push(case(
        "`.BTF` truncated",
        "tail_kern.o, sh_size of `.BTF` = 20",
        header_field(
            tail.clone(),
            find_section(&tail, ".BTF").unwrap(),
            32,
            20,
            8,
        ),
    ));
    out.push(case(
        "`.BTF` type of unknown kind",
        "tail_kern.o, kind of type 1 = 31",
        {
            let types = btf + u32_at(&tail, btf + 4) as usize + u32_at(&tail, btf + 8) as usize;
            patched(tail.clone(), types + 7, &[31])
        },
    ));
    out.push(case(
        "`.BTF` string table not NUL-terminated",
        "tail_kern.o, last byte of `.BTF` = 'x'",
        patched(tail.clone(), btf + btf_len - 1, b"x"),
    ));

    // ---------------------------------------------------------- .BTF.ext
    for (field, offset, value) in [
        ("magic", 0, 0x1234u32),
        ("hdr_len", 4, 0x7000_0000),
        ("func_info_off", 8, 0x7000_0000),
        ("line_info_len", 20, 0x7000_0000),
    ] {
        let width = if field == "magic" { 2 } else { 4 };
        let data = patched(tail.clone(), ext + offset, &value.to_le_bytes()[..width]);
        out.push(case(
            "`.BTF.ext` header damaged",
            format!("tail_kern.o, {field} = {value:#x}"),
            data,
        ));
    }
    out.push(case(
        "`.BTF.ext` records too small",
        "tail_kern.o, func_info rec_size = 4",
        patched(tail.clone(), func_info, &4u32.to_le_bytes()),
    ));
    out.push(case(
        "`.BTF.ext` records too small",
        "tail_kern.o, line_info rec_size = 8",
        patched(tail.clone(), line_info, &8u32.to_le_bytes()),
    ));
    out.push(case(
        "`.BTF.ext` record count past its part",
        "tail_kern.o, num_info of the first func_info block = 0x10000",
        patched(tail.clone(), func_info + 8, &0x10000u32.to_le_bytes()),
    ));
    out.push(case(
        "`.BTF.ext` record between instructions",
        "verifier_reject.o, insn_off of the first line_info = 3",
        patched(reject.clone(), reject_line + 12, &3u32.to_le_bytes()),
    ));
    out.push(
        case(
            "`.BTF.ext` names a section that does not exist",
            "tail_kern.o, sec_name_off of the first func_info block = 1",
            patched(tail.clone(), func_info + 4, &1u32.to_le_bytes()),
        )
        .accepted("records of a section the object does not have belong to no program: unused"),
    );

    // -------------------------------------------------------- BTF maps
    out.push(case(
        "BTF maps without `.BTF`",
        "a `.maps` section, no `.BTF`",
        base()
            .data_section(".maps", vec![0; 32])
            .object(".maps", "flows", 0, 32)
            .build(),
    ));
    out.push(
        case(
            "BTF map without max_entries",
            "bad_btf_maps_1.o: no max_entries",
            read("elf/tests/data/bad_btf_maps_1.o"),
        )
        .accepted(
            "max_entries 0, as libbpf: the loader sizes perf-event arrays, the kernel decides",
        ),
    );
    for (n, what) in [
        (2, "a member that is not a pointer to an array"),
        (3, "a map-in-map without __array(values)"),
        (4, "pinning = 3"),
        (
            5,
            "__array(values) initialised with a map instead of a program",
        ),
        (6, "an initialiser beyond max_entries"),
    ] {
        out.push(case(
            "bad BTF map definition",
            format!("bad_btf_maps_{n}.o: {what}"),
            read(&format!("elf/tests/data/bad_btf_maps_{n}.o")),
        ));
    }

    // ------------------------------------------------------ legacy maps
    out.extend([
        case("legacy maps in SHT_NOBITS", "`maps` as NOBITS", {
            let mut elf = base();
            elf.sections[1].sh_type = SHT_NOBITS;
            elf.sections[1].nobits_size = 40;
            elf.sections[1].data.clear();
            elf.build()
        }),
        case(
            "legacy map size does not divide the section",
            "30 bytes, 4 symbols without st_size",
            with_maps(
                vec![0; 30],
                &[("a", 0, 0), ("b", 15, 0), ("c", 20, 0), ("d", 25, 0)],
            )
            .build(),
        ),
        case(
            "legacy map outside its section",
            "a 20-byte map at offset 30 of 40",
            with_maps(vec![0; 40], &[("a", 0, 20), ("b", 30, 20)]).build(),
        ),
        case(
            "non-zero trailing bytes",
            "a 40-byte definition with byte 38 = 1",
            {
                let mut def = words(&[ARRAY, 4, 8, 1, 0, 0, 0, 0, 0, 0]);
                def[38] = 1;
                with_maps(def, &[("wide", 0, 40)]).build()
            },
        ),
        case(
            "unknown iproute2 pinning",
            "36-byte definition, pinning = 3",
            with_maps(
                words(&[ARRAY, 4, 8, 1, 0, 0, 3, 0, 0]),
                &[("pinned", 0, 36)],
            )
            .build(),
        ),
        case(
            "duplicate iproute2 map id",
            "two 36-byte definitions with id 5",
            with_maps(
                [
                    words(&[ARRAY, 4, 8, 1, 0, 5, 0, 0, 0]),
                    words(&[ARRAY, 4, 8, 1, 0, 5, 0, 0, 0]),
                ]
                .concat(),
                &[("x", 0, 36), ("y", 36, 36)],
            )
            .build(),
        ),
        case(
            "map-in-map without inner map",
            "ARRAY_OF_MAPS in 20 bytes",
            with_maps(words(&[ARRAY_OF_MAPS, 4, 4, 1, 0]), &[("outer", 0, 20)]).build(),
        ),
        case(
            "inner_id names no map",
            "36-byte ARRAY_OF_MAPS, inner_id 9",
            with_maps(
                words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 1, 0, 9, 0]),
                &[("outer", 0, 36)],
            )
            .build(),
        ),
        case(
            "inner_map_idx out of range",
            "28-byte ARRAY_OF_MAPS, inner_map_idx 7 of 1",
            with_maps(
                words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 7, 0]),
                &[("outer", 0, 28)],
            )
            .build(),
        ),
        case(
            "inner map is the map itself",
            "28-byte ARRAY_OF_MAPS, inner_map_idx 0 = itself",
            with_maps(
                words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 0, 0]),
                &[("outer", 0, 28)],
            )
            .build(),
        ),
        case(
            "inner map is a map-in-map",
            "two ARRAY_OF_MAPS naming each other",
            with_maps(
                [
                    words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 1, 0]),
                    words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 0, 0]),
                ]
                .concat(),
                &[("a", 0, 28), ("b", 28, 28)],
            )
            .build(),
        ),
        case(
            "global data too large",
            "`.bss` of 5 GiB, loaded by the program",
            {
                let mut elf = base()
                    .nobits(".bss", 5 << 30)
                    .object(".bss", "big", 0, 8)
                    .rel("xdp", 0, R_BPF_64_64, "big");
                elf.relocs.remove(0);
                elf.build()
            },
        ),
    ]);

    // -------------------------------------------------------------- code
    out.extend([
        case("code not whole instructions", "28-byte code section", {
            let mut elf = base();
            elf.sections[0].data.truncate(28);
            elf.symbols[0].size = 24;
            elf.build()
        }),
        case("function not on instructions", "st_size of `prog` = 12", {
            let mut elf = base();
            elf.symbols[0].size = 12;
            elf.build()
        }),
        case(
            "function past its section",
            "st_size of `prog` = 40 of 32",
            {
                let mut elf = base();
                elf.symbols[0].size = 40;
                elf.build()
            },
        ),
        case(
            "overlapping functions",
            "`other` at 16 inside `prog` (0..24)",
            {
                let mut elf = base().func("xdp", "other", 16, 16);
                elf.symbols[0].size = 24;
                elf.build()
            },
        ),
    ]);

    // ------------------------------------------------------- relocations
    let reloc = |edit: &dyn Fn(&mut Elf)| {
        let mut elf = base();
        edit(&mut elf);
        elf.build()
    };
    out.extend([
        case(
            "unsupported relocation type",
            "R_BPF_64_ABS64 on code",
            reloc(&|elf| elf.relocs[0].r_type = R_BPF_64_ABS64),
        ),
        case(
            "relocation outside code",
            "at offset 64 of a 32-byte section",
            reloc(&|elf| elf.relocs[0].offset = 64),
        ),
        case(
            "relocation on code no function covers",
            "code after `prog`'s 32 bytes, an ld_imm64 relocated at 32",
            {
                let mut elf = base();
                elf.sections[0].data.extend(code(&[ld_imm64(1, 0)]));
                elf.rel("xdp", 32, R_BPF_64_64, "counters").build()
            },
        )
        .accepted(
            "an overridden weak function's code (bpftool gen object): skipped, as libbpf does",
        ),
        case(
            "relocation inside an instruction",
            "at offset 4",
            reloc(&|elf| elf.relocs[0].offset = 4),
        ),
        case(
            "two relocations of one instruction",
            "a second one at offset 0",
            base().rel("xdp", 0, R_BPF_64_64, "jmp").build(),
        ),
        case(
            "relocation with no symbol",
            "symbol index 0",
            reloc(&|elf| elf.relocs[0].symbol = String::new()),
        ),
        case(
            "map relocation on a non-ld_imm64",
            "R_BPF_64_64 on the `exit` at offset 16",
            reloc(&|elf| elf.relocs[0].offset = 16),
        ),
        case(
            "call relocation on a non-call",
            "R_BPF_64_32 on an ld_imm64",
            reloc(&|elf| elf.relocs[0].r_type = R_BPF_64_32),
        ),
        case(
            "extern variable",
            "R_BPF_64_64 against an undefined symbol",
            {
                let mut elf = base()
                    .undefined("ext_var")
                    .rel("xdp", 0, R_BPF_64_64, "ext_var");
                elf.relocs.remove(0);
                elf.build()
            },
        ),
        case(
            "load of a non-loadable section",
            "R_BPF_64_64 against `_license`",
            {
                let mut elf = base().object("license", "_license", 0, 4);
                elf.relocs[0].symbol = "_license".into();
                elf.build()
            },
        ),
        case("load between map definitions", "`maps` + 4", {
            let mut elf = base().section_symbol("maps");
            elf.sections[0].data[4..8].copy_from_slice(&4i32.to_le_bytes());
            elf.relocs[0].symbol = "maps".into();
            elf.build()
        }),
        case(
            "global variable read past its section",
            "`.data` + 8 of 4 bytes",
            {
                let mut elf = base()
                    .data_section(".data", vec![1, 2, 3, 4])
                    .section_symbol(".data");
                elf.sections[0].data[4..8].copy_from_slice(&8i32.to_le_bytes());
                elf.relocs[0].symbol = ".data".into();
                elf.build()
            },
        ),
        case(
            "undefined function",
            "a call relocation against an undefined symbol",
            with_code("xdp", code(&[pseudo_call(-1), mov(0, 2), exit()]))
                .undefined("nowhere")
                .rel("xdp", 0, R_BPF_64_32, "nowhere")
                .build(),
        ),
        case(
            "call into data",
            "a call relocation against the map `counters`",
            with_code("xdp", code(&[pseudo_call(-1), mov(0, 2), exit()]))
                .object("maps", "counters", 20, 20)
                .rel("xdp", 0, R_BPF_64_32, "counters")
                .build(),
        ),
        case(
            "call into the middle of a function",
            "a call without relocation to insn 1 of the caller",
            with_code("xdp", code(&[pseudo_call(0), mov(0, 2), exit()])).build(),
        ),
    ]);

    // ---------------------------------------------------- jump entries
    out.extend([
        case(
            "tail-call section without a prog array",
            "section `socket/0`, no PROG_ARRAY",
            {
                let mut elf = with_code("socket/0", code(&[mov(0, 0), exit()]));
                elf.sections[1].data = words(&[ARRAY, 4, 8, 4, 0]);
                elf.symbols.retain(|s| s.name != "counters");
                elf.build()
            },
        ),
        case(
            "iproute2 section names no map",
            "section `7/0`",
            with_code("7/0", code(&[mov(0, 0), exit()])).build(),
        ),
        case(
            "iproute2 section names a map that is no prog array",
            "section `1/0`, map id 1 an ARRAY",
            {
                let mut elf = with_maps(
                    words(&[ARRAY, 4, 8, 1, 0, 1, 0, 0, 0]),
                    &[("not_jumps", 0, 36)],
                );
                elf.sections[0].name = "1/0".into();
                for s in &mut elf.symbols {
                    if s.section.as_deref() == Some("xdp") {
                        s.section = Some("1/0".into());
                    }
                }
                elf.build()
            },
        ),
        case(
            "tail-call key too large for 32 bits",
            "section `prog/99999999999`",
            with_code("prog/99999999999", code(&[mov(0, 0), exit()])).build(),
        ),
        case(
            "tail-call key beyond the prog array",
            "section `prog/9`, 8 entries",
            with_code("prog/9", code(&[mov(0, 0), exit()])).build(),
        ),
    ]);
    out
}

/// The table as it must read.
fn render(rows: &[(String, String, String)]) -> String {
    let mut out = String::from(
        "# Malformed objects and what rxdp says\n\
         \n\
         Every class of damage tried on objects, and the message rxdp gives for it.\n\
         `rxdp-load`, `rxdp load` and `rxdp inspect` print it after `<tool>: <file>: open: `;\n\
         nothing is loaded. Generated and checked by `elf/tests/malformed.rs`: a\n\
         message that changes fails that test until this file is regenerated\n\
         (`RXDP_BLESS=1 cargo test -p rxdp-elf --test malformed`). The mutation tests\n\
         (`elf/tests/mutation.rs`, `elf/tests/relocate_mutation.rs`) and the fuzz targets\n\
         (`fuzz/`) try random damage of the same objects; `fuzz/RESULTS.md` has those runs.\n\
         \n\
         | # | class | how the test makes it | what rxdp says |\n\
         |---|---|---|---|\n",
    );
    for (n, (class, how, said)) in rows.iter().enumerate() {
        let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            n + 1,
            cell(class),
            cell(how),
            cell(said)
        ));
    }
    out
}

#[test]
fn the_table_of_malformed_inputs_is_what_rxdp_says() {
    let rows: Vec<(String, String, String)> = cases()
        .into_iter()
        .map(|case| {
            let said = match (Object::parse(&case.data), case.accepted) {
                (Ok(object), Some(why)) => format!(
                    "accepted ({} maps, {} programs): {why}",
                    object.maps.len(),
                    object.programs.len()
                ),
                (Err(error), None) => error.to_string(),
                (Ok(_), None) => panic!("{} ({}): accepted", case.class, case.how),
                (Err(error), Some(_)) => panic!("{} ({}): refused: {error}", case.class, case.how),
            };
            (case.class.to_string(), case.how, said)
        })
        .collect();
    let table = render(&rows);
    // What follows the table (files that are not objects at all, which the
    // loader refuses before parsing) is the loader's, checked by its tests.
    let whole = std::fs::read_to_string(TABLE).unwrap_or_default();
    let tail = whole.find(LOADER_PART).map_or("", |at| &whole[at..]);
    if std::env::var("RXDP_BLESS").as_deref() == Ok("1") {
        let blessed = format!("{table}{}{tail}", if tail.is_empty() { "" } else { "\n" });
        std::fs::write(TABLE, blessed).unwrap_or_else(|e| panic!("{TABLE}: {e}"));
    }
    let whole = std::fs::read_to_string(TABLE).unwrap_or_default();
    let committed = whole
        .find(LOADER_PART)
        .map_or(whole.as_str(), |at| whole[..at].trim_end_matches('\n'));
    let differing: Vec<String> = table
        .lines()
        .zip(committed.lines().chain(std::iter::repeat("")))
        .filter(|(want, have)| want != have)
        .map(|(want, have)| format!("rxdp says: {want}\ntable has: {have}"))
        .collect();
    assert!(
        differing.is_empty() && table.lines().count() == committed.lines().count(),
        "tests/MALFORMED.md differs from what rxdp says (RXDP_BLESS=1 rewrites it):\n{}",
        differing.join("\n")
    );
}
