//! Every class of `ParseError`, each from a hand-built or damaged object.

mod builder;

use builder::*;
use rxdp_elf::btf::BtfError;
use rxdp_elf::{Object, ParseError, RelocTarget};

fn progs_obj(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../progs/obj/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn test_obj(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn err(data: &[u8]) -> ParseError {
    match Object::parse(data) {
        Ok(o) => panic!("parsed, expected an error: {o:#?}"),
        Err(e) => e,
    }
}

#[test]
fn the_base_object_parses() {
    let object = Object::parse(&base().build()).unwrap();
    let names: Vec<_> = object.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["jmp", "counters"]);
    assert_eq!(object.programs.len(), 1);
    assert_eq!(
        object.programs[0].function.relocs[0].target,
        RelocTarget::Map(1)
    );
    assert_eq!(object.license, "GPL");
}

// ---------------------------------------------------------------- container

#[test]
fn not_elf() {
    assert_eq!(err(b""), ParseError::NotElf);
    assert_eq!(
        err(b"#!/bin/sh\necho this is not an object\n"),
        ParseError::NotElf
    );
}

#[test]
fn elf32() {
    let mut data = base().build();
    data[4] = 1;
    assert_eq!(err(&data), ParseError::Elf32);
}

#[test]
fn big_endian_says_rebuild_with_target_bpf() {
    let e = err(&test_obj("bpfeb.o"));
    assert_eq!(e, ParseError::BigEndian);
    assert!(e.to_string().contains("-target bpf"), "{e}");
}

#[test]
fn not_bpf_machine() {
    let mut elf = base();
    elf.machine = 62; // EM_X86_64
    assert_eq!(err(&elf.build()), ParseError::NotBpf { machine: 62 });
}

#[test]
fn truncated_or_inconsistent_headers() {
    let data = base().build();
    assert!(matches!(err(&data[..40]), ParseError::Malformed { .. }));
    assert!(matches!(err(&data[..64]), ParseError::Malformed { .. }));
    // Section headers cut off at the end of the file.
    assert!(matches!(
        err(&data[..data.len() - 10]),
        ParseError::Malformed { .. }
    ));
    // e_shentsize that is not 64.
    let mut bad = data.clone();
    bad[58] = 40;
    assert!(matches!(err(&bad), ParseError::Malformed { .. }));
    // A symbol whose section index is beyond the section table.
    let (symtab, _) = section_range(&data, ".symtab");
    let mut bad = data.clone();
    bad[symtab + 24 + 6..symtab + 24 + 8].copy_from_slice(&0x0fe0u16.to_le_bytes());
    assert!(matches!(err(&bad), ParseError::Malformed { .. }));
    // A relocation naming symbol 200 of 5.
    let (rel, _) = section_range(&data, ".relxdp");
    let mut bad = data.clone();
    bad[rel + 12..rel + 16].copy_from_slice(&200u32.to_le_bytes());
    assert!(matches!(err(&bad), ParseError::Malformed { .. }));
    // A relocation section applying to section 99.
    let index = find_section(&data, ".relxdp").unwrap();
    let mut bad = data.clone();
    let info = section_header_offset(&data, index) + 44;
    bad[info..info + 4].copy_from_slice(&99u32.to_le_bytes());
    assert!(matches!(err(&bad), ParseError::Malformed { .. }));
}

#[test]
fn names_are_bounded() {
    // 512 bytes is the longest name (KSYM_NAME_LEN); 513 is refused.
    let long = "m".repeat(512);
    let mut elf = base();
    elf.symbols[1].name = long.clone();
    let object = Object::parse(&elf.build()).unwrap();
    assert_eq!(object.maps[0].name, long);
    let mut elf = base();
    elf.symbols[1].name = "m".repeat(513);
    assert!(
        matches!(err(&elf.build()), ParseError::Malformed { detail } if detail.starts_with("symbol #2"))
    );
    let mut elf = base();
    elf.sections[2].name = "l".repeat(513);
    assert!(
        matches!(err(&elf.build()), ParseError::Malformed { detail } if detail.starts_with("section #3"))
    );
}

#[test]
fn section_outside_the_file() {
    let data = base().build();
    let index = find_section(&data, "license").unwrap();
    let mut bad = data.clone();
    let off = section_header_offset(&data, index) + 24;
    bad[off..off + 8].copy_from_slice(&0x10_0000u64.to_le_bytes());
    match err(&bad) {
        ParseError::SectionOutOfFile { section, .. } => assert_eq!(section, "license"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn stripped_object() {
    let mut elf = base();
    elf.with_symtab = false;
    assert_eq!(err(&elf.build()), ParseError::NoSymbolTable);
}

// ---------------------------------------------------------- license, version

#[test]
fn license_and_version() {
    let mut elf = base();
    elf.sections[2].data = vec![0xff, 0xfe, 0];
    assert_eq!(err(&elf.build()), ParseError::LicenseNotUtf8);
    let elf = base().data_section("version", vec![1, 2, 3]);
    assert_eq!(err(&elf.build()), ParseError::VersionSize { size: 3 });
    let elf = base().data_section("version", 0x050a00u32.to_le_bytes().to_vec());
    assert_eq!(
        Object::parse(&elf.build()).unwrap().kernel_version,
        0x050a00
    );
}

// ---------------------------------------------------------------------- BTF

#[test]
fn corrupt_btf() {
    let mut data = progs_obj("tail_kern.o");
    let (btf, _) = section_range(&data, ".BTF");
    data[btf] = 0x12;
    match err(&data) {
        ParseError::Btf { section, error } => {
            assert_eq!(section, ".BTF");
            assert!(matches!(error, BtfError::BadMagic { .. }), "{error:?}");
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn corrupt_btf_ext() {
    let mut data = progs_obj("tail_kern.o");
    let (ext, _) = section_range(&data, ".BTF.ext");
    data[ext + 4..ext + 8].copy_from_slice(&0x7000_0000u32.to_le_bytes()); // hdr_len
    assert!(matches!(
        err(&data),
        ParseError::Btf {
            section: ".BTF.ext",
            ..
        }
    ));
}

#[test]
fn btf_ext_record_between_instructions() {
    let mut data = progs_obj("verifier_reject.o");
    let (ext, _) = section_range(&data, ".BTF.ext");
    let hdr_len = u32_at(&data, ext + 4) as usize;
    let line_info_off = u32_at(&data, ext + 16) as usize;
    // rec_size, then {sec_name_off, num_info}, then the first record's insn_off.
    let first = ext + hdr_len + line_info_off + 12;
    data[first..first + 4].copy_from_slice(&3u32.to_le_bytes());
    match err(&data) {
        ParseError::BtfExtOffset {
            part,
            section,
            insn_off,
        } => assert_eq!((part, section.as_str(), insn_off), ("line_info", "xdp", 3)),
        e => panic!("{e:?}"),
    }
}

#[test]
fn btf_maps_need_btf() {
    let elf = base()
        .data_section(".maps", vec![0; 32])
        .object(".maps", "flows", 0, 32);
    assert_eq!(err(&elf.build()), ParseError::BtfMapsWithoutBtf);

    // BTF present, but without a `.maps` DATASEC (verifier_reject's BTF
    // describes only `license`).
    let donor = progs_obj("verifier_reject.o");
    let (off, len) = section_range(&donor, ".BTF");
    let elf = base()
        .data_section(".maps", vec![0; 32])
        .object(".maps", "flows", 0, 32)
        .object("license", "_license", 0, 4)
        .section(".BTF", SHT_PROGBITS, 0, donor[off..off + len].to_vec());
    assert_eq!(err(&elf.build()), ParseError::BtfMapsWithoutDatasec);
}

#[test]
fn bad_btf_map_definitions() {
    // No max_entries is 0, as in libbpf: the kernel takes it for local and
    // cgroup storage, the loader sizes perf-event arrays, the kernel
    // refuses the others.
    let object = Object::parse(&test_obj("bad_btf_maps_1.o")).unwrap();
    assert_eq!(object.maps[0].def.max_entries, 0);
    match err(&test_obj("bad_btf_maps_2.o")) {
        ParseError::BtfMap { map, error } => {
            assert_eq!(map, "bad");
            assert!(matches!(error, BtfError::Map { .. }), "{error:?}");
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        err(&test_obj("bad_btf_maps_3.o")),
        ParseError::MapInMapWithoutInner { map: "bad".into() }
    );
    assert_eq!(
        err(&test_obj("bad_btf_maps_4.o")),
        ParseError::MapPinning {
            map: "bad".into(),
            value: 3
        }
    );
    assert_eq!(
        err(&test_obj("bad_btf_maps_5.o")),
        ParseError::BtfValuesTarget {
            map: "bad".into(),
            key: 0,
            symbol: "xdp+0x0".into(),
            expected: "a program"
        }
    );
    match err(&test_obj("bad_btf_maps_6.o")) {
        ParseError::BtfValuesSlot {
            map, max_entries, ..
        } => assert_eq!((map.as_str(), max_entries), ("bad", 4)),
        e => panic!("{e:?}"),
    }
}

// -------------------------------------------------------------- legacy maps

#[test]
fn legacy_map_section_problems() {
    let mut elf = base();
    elf.sections[1].sh_type = SHT_NOBITS;
    elf.sections[1].nobits_size = 40;
    elf.sections[1].data.clear();
    assert_eq!(err(&elf.build()), ParseError::LegacyMapsNoBits);

    let elf = with_maps(
        vec![0; 30],
        &[("a", 0, 0), ("b", 15, 0), ("c", 20, 0), ("d", 25, 0)],
    );
    assert_eq!(
        err(&elf.build()),
        ParseError::LegacyMapSize {
            section_size: 30,
            count: 4
        }
    );

    let elf = with_maps(vec![0; 40], &[("a", 0, 20), ("b", 30, 20)]);
    assert_eq!(
        err(&elf.build()),
        ParseError::MapOutsideSection {
            map: "b".into(),
            offset: 30,
            size: 20,
            section_size: 40
        }
    );
}

#[test]
fn legacy_sizes_pick_the_dialect() {
    // Old objects: st_size 0, the section size divided by the count.
    let maps = [
        words(&[ARRAY, 4, 8, 1, 0, 0, 0]),
        words(&[ARRAY, 4, 8, 2, 0, 0, 0]),
    ]
    .concat();
    let elf = with_maps(maps, &[("b", 28, 0), ("a", 0, 0)]);
    let object = Object::parse(&elf.build()).unwrap();
    let names: Vec<_> = object.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(object
        .maps
        .iter()
        .all(|m| m.dialect == rxdp_elf::Dialect::Legacy28));
    assert_eq!(object.maps[1].def.max_entries, 2);
    // A 16-byte definition is zero-padded to 20.
    let elf = with_maps(words(&[ARRAY, 4, 8, 3]), &[("short", 0, 16)]);
    let object = Object::parse(&elf.build()).unwrap();
    assert_eq!(object.maps[0].def.max_entries, 3);
    assert_eq!(object.maps[0].def.flags, 0);
    assert_eq!(object.maps[0].dialect, rxdp_elf::Dialect::Legacy20);
    // numa_node is kept only with BPF_F_NUMA_NODE.
    let maps = [
        words(&[ARRAY, 4, 8, 1, 4, 0, 3]),
        words(&[ARRAY, 4, 8, 1, 0, 0, 3]),
    ]
    .concat();
    let object = Object::parse(&with_maps(maps, &[("n", 0, 28), ("m", 28, 28)]).build()).unwrap();
    assert_eq!(object.maps[0].def.numa_node, 3);
    assert_eq!(object.maps[1].def.numa_node, 0);
}

#[test]
fn legacy_definition_problems() {
    let mut def = words(&[ARRAY, 4, 8, 1, 0, 0, 0, 0, 0, 0]);
    def[38] = 1;
    let elf = with_maps(def, &[("wide", 0, 40)]);
    assert_eq!(
        err(&elf.build()),
        ParseError::MapDefinitionTrailing {
            map: "wide".into(),
            size: 40,
            offset: 38
        }
    );
    // ... while zeros past 36 bytes are fine.
    let elf = with_maps(
        words(&[ARRAY, 4, 8, 1, 0, 0, 0, 0, 0, 0]),
        &[("wide", 0, 40)],
    );
    assert!(Object::parse(&elf.build()).is_ok());

    let elf = with_maps(
        words(&[ARRAY, 4, 8, 1, 0, 0, 3, 0, 0]),
        &[("pinned", 0, 36)],
    );
    assert_eq!(
        err(&elf.build()),
        ParseError::MapPinning {
            map: "pinned".into(),
            value: 3
        }
    );

    let maps = [
        words(&[ARRAY, 4, 8, 1, 0, 5, 0, 0, 0]),
        words(&[ARRAY, 4, 8, 1, 0, 5, 0, 0, 0]),
    ]
    .concat();
    let elf = with_maps(maps, &[("x", 0, 36), ("y", 36, 36)]);
    assert_eq!(
        err(&elf.build()),
        ParseError::DuplicateMapId {
            id: 5,
            first: "x".into(),
            second: "y".into()
        }
    );
}

#[test]
fn legacy_inner_map_problems() {
    let elf = with_maps(words(&[ARRAY_OF_MAPS, 4, 4, 1, 0]), &[("outer", 0, 20)]);
    assert_eq!(
        err(&elf.build()),
        ParseError::MapInMapWithoutInner {
            map: "outer".into()
        }
    );

    let elf = with_maps(
        words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 1, 0, 9, 0]),
        &[("outer", 0, 36)],
    );
    assert_eq!(
        err(&elf.build()),
        ParseError::InnerMapIdUnknown {
            map: "outer".into(),
            inner_id: 9
        }
    );

    let elf = with_maps(
        words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 7, 0]),
        &[("outer", 0, 28)],
    );
    assert_eq!(
        err(&elf.build()),
        ParseError::InnerMapIndex {
            map: "outer".into(),
            index: 7,
            count: 1
        }
    );

    let elf = with_maps(
        words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 0, 0]),
        &[("outer", 0, 28)],
    );
    assert_eq!(
        err(&elf.build()),
        ParseError::InnerMapSelf {
            map: "outer".into()
        }
    );

    let maps = [
        words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 1, 0]),
        words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 0, 0]),
    ]
    .concat();
    let elf = with_maps(maps, &[("a", 0, 28), ("b", 28, 28)]);
    assert_eq!(
        err(&elf.build()),
        ParseError::InnerMapIsMapInMap {
            map: "a".into(),
            inner: "b".into()
        }
    );

    // iproute2 inner_idx u32::MAX: the template is not put in the outer map.
    let maps = [
        words(&[ARRAY, 4, 4, 1, 0, 2, 0, 0, u32::MAX]),
        words(&[ARRAY_OF_MAPS, 4, 4, 1, 0, 3, 0, 2, 0]),
    ]
    .concat();
    let object =
        Object::parse(&with_maps(maps, &[("tpl", 0, 36), ("outer", 36, 36)]).build()).unwrap();
    assert_eq!(object.maps[1].inner, Some(rxdp_elf::InnerMap::Index(0)));
    assert!(object.maps[1].init_maps.is_empty());
}

// -------------------------------------------------------------- global data

#[test]
fn global_data_too_large() {
    let elf = base()
        .nobits(".bss", 5 << 30)
        .object(".bss", "big", 0, 8)
        .rel("xdp", 0, R_BPF_64_64, "big");
    let mut elf = elf;
    elf.relocs.remove(0);
    assert_eq!(
        err(&elf.build()),
        ParseError::DataSectionTooLarge {
            section: ".bss".into(),
            size: 5 << 30
        }
    );
}

// --------------------------------------------------------------------- code

#[test]
fn code_problems() {
    let mut elf = base();
    elf.sections[0].data.truncate(28);
    elf.symbols[0].size = 24;
    assert_eq!(
        err(&elf.build()),
        ParseError::CodeSize {
            section: "xdp".into(),
            size: 28
        }
    );

    let mut elf = base();
    elf.symbols[0].size = 12;
    assert!(
        matches!(err(&elf.build()), ParseError::FunctionBounds { function, .. } if function == "prog")
    );
    let mut elf = base();
    elf.symbols[0].size = 40;
    assert!(matches!(
        err(&elf.build()),
        ParseError::FunctionBounds { .. }
    ));

    let elf = base().func("xdp", "other", 16, 16);
    let mut elf = elf;
    elf.symbols[0].size = 24;
    assert_eq!(
        err(&elf.build()),
        ParseError::FunctionsOverlap {
            first: "prog".into(),
            second: "other".into(),
            section: "xdp".into()
        }
    );
}

#[test]
fn section_without_function_symbol_is_one_program() {
    let mut elf = base();
    elf.symbols.retain(|s| s.name != "prog");
    let object = Object::parse(&elf.build()).unwrap();
    assert_eq!(object.programs.len(), 1);
    assert_eq!(object.programs[0].name(), "xdp");
    assert_eq!(object.programs[0].function.insns.len(), 4);
    assert_eq!(
        object.programs[0].function.relocs[0].target,
        RelocTarget::Map(1)
    );
}

// -------------------------------------------------------------- relocations

#[test]
fn relocation_shape_problems() {
    let mut elf = base();
    elf.relocs[0].r_type = R_BPF_64_ABS64;
    assert!(matches!(
        err(&elf.build()),
        ParseError::UnsupportedRelocation { r_type: 2, .. }
    ));

    for offset in [4, 64] {
        let mut elf = base();
        elf.relocs[0].offset = offset;
        assert!(
            matches!(err(&elf.build()), ParseError::RelocOutsideFunction { offset: o, .. } if o == offset),
            "{offset}"
        );
    }

    let elf = base().rel("xdp", 0, R_BPF_64_64, "jmp");
    assert_eq!(
        err(&elf.build()),
        ParseError::RelocTwice {
            section: "xdp".into(),
            offset: 0
        }
    );

    let mut elf = base();
    elf.relocs[0].symbol = String::new();
    assert!(matches!(
        err(&elf.build()),
        ParseError::RelocNullSymbol { .. }
    ));

    let mut elf = base();
    elf.relocs[0].offset = 16;
    assert_eq!(
        err(&elf.build()),
        ParseError::RelocNotLdImm64 {
            symbol: "counters".into(),
            function: "prog".into(),
            section: "xdp".into(),
            insn: 2
        }
    );

    let mut elf = base();
    elf.relocs[0].r_type = R_BPF_64_32;
    assert!(matches!(
        err(&elf.build()),
        ParseError::RelocNotCall { insn: 0, .. }
    ));
}

#[test]
fn relocation_target_problems() {
    let elf = base()
        .undefined("ext_var")
        .rel("xdp", 0, R_BPF_64_64, "ext_var");
    let mut elf = elf;
    elf.relocs.remove(0);
    assert!(
        matches!(err(&elf.build()), ParseError::ExternVariable { symbol, .. } if symbol == "ext_var")
    );

    // The license is not loadable by address.
    let mut elf = base().object("license", "_license", 0, 4);
    elf.relocs[0].symbol = "_license".into();
    match err(&elf.build()) {
        ParseError::RelocTarget {
            function, detail, ..
        } => {
            assert_eq!(function, "prog");
            assert!(
                detail.starts_with("`_license` (in section `license`)"),
                "{detail}"
            );
        }
        e => panic!("{e:?}"),
    }

    // `maps` + 4 is not the start of a definition.
    let mut elf = base().section_symbol("maps");
    elf.sections[0].data[4..8].copy_from_slice(&4i32.to_le_bytes());
    elf.relocs[0].symbol = "maps".into();
    assert!(matches!(err(&elf.build()), ParseError::RelocTarget { .. }));
    // ... while `maps` + 20 is `counters`, as clang writes it for static maps.
    let mut elf = base().section_symbol("maps");
    elf.sections[0].data[4..8].copy_from_slice(&20i32.to_le_bytes());
    elf.relocs[0].symbol = "maps".into();
    assert_eq!(
        Object::parse(&elf.build()).unwrap().programs[0]
            .function
            .relocs[0]
            .target,
        RelocTarget::Map(1)
    );

    // A global variable read past the end of its section.
    let mut elf = base()
        .data_section(".data", vec![1, 2, 3, 4])
        .section_symbol(".data");
    elf.sections[0].data[4..8].copy_from_slice(&8i32.to_le_bytes());
    elf.relocs[0].symbol = ".data".into();
    assert!(matches!(err(&elf.build()), ParseError::RelocTarget { .. }));
    // ... and inside it: a MapValue with that offset.
    let mut elf = base()
        .data_section(".data", vec![1, 2, 3, 4])
        .section_symbol(".data");
    elf.sections[0].data[4..8].copy_from_slice(&3i32.to_le_bytes());
    elf.relocs[0].symbol = ".data".into();
    let object = Object::parse(&elf.build()).unwrap();
    assert_eq!(
        object.programs[0].function.relocs[0].target,
        RelocTarget::MapValue { map: 2, offset: 3 }
    );
    assert_eq!(object.maps[2].data.as_deref(), Some(&[1u8, 2, 3, 4][..]));
}

#[test]
fn call_problems() {
    let elf = with_code("xdp", code(&[pseudo_call(-1), mov(0, 2), exit()]))
        .undefined("nowhere")
        .rel("xdp", 0, R_BPF_64_32, "nowhere");
    assert_eq!(
        err(&elf.build()),
        ParseError::UndefinedFunction {
            symbol: "nowhere".into(),
            function: "prog".into(),
            section: "xdp".into(),
            insn: 0
        }
    );

    // A call without relocation into the middle of the program itself.
    let elf = with_code("xdp", code(&[pseudo_call(0), mov(0, 2), exit()]));
    assert!(matches!(
        err(&elf.build()),
        ParseError::CallTarget {
            insn: 0,
            target_offset: 8,
            ..
        }
    ));

    // A call without relocation to a static function of the same section.
    let elf = with_code("xdp", code(&[pseudo_call(1), exit(), mov(0, 2), exit()]));
    let mut elf = elf.symbol("helper", Some("xdp"), 16, 16, STT_FUNC, false);
    elf.symbols
        .iter_mut()
        .find(|s| s.name == "prog")
        .unwrap()
        .size = 16;
    let object = Object::parse(&elf.build()).unwrap();
    assert_eq!(
        object.programs.len(),
        1,
        "a static function is not a program"
    );
    assert_eq!(
        object.programs[0].function.relocs[0].target,
        RelocTarget::Call(0)
    );
    assert_eq!(object.programs[0].function.relocs[0].symbol, "helper");
    assert_eq!(object.subprograms[0].name, "helper");
}

// ------------------------------------------------------------- jump entries

#[test]
fn jump_entry_problems() {
    let mut elf = with_code("socket/0", code(&[mov(0, 0), exit()]));
    elf.sections[1].data = words(&[ARRAY, 4, 8, 4, 0]);
    elf.symbols.retain(|s| s.name != "counters");
    assert_eq!(
        err(&elf.build()),
        ParseError::NoProgArray {
            section: "socket/0".into()
        }
    );

    let elf = with_code("7/0", code(&[mov(0, 0), exit()]));
    assert_eq!(
        err(&elf.build()),
        ParseError::Iproute2MapUnknown {
            section: "7/0".into(),
            id: 7
        }
    );

    let maps = words(&[ARRAY, 4, 8, 1, 0, 1, 0, 0, 0]);
    let mut elf = with_maps(maps, &[("not_jumps", 0, 36)]);
    elf.sections[0].name = "1/0".into();
    elf.symbols.iter_mut().for_each(|s| {
        if s.section.as_deref() == Some("xdp") {
            s.section = Some("1/0".into());
        }
    });
    assert_eq!(
        err(&elf.build()),
        ParseError::Iproute2NotProgArray {
            section: "1/0".into(),
            id: 1,
            map: "not_jumps".into()
        }
    );

    let elf = with_code("prog/99999999999", code(&[mov(0, 0), exit()]));
    assert_eq!(
        err(&elf.build()),
        ParseError::JumpNumber {
            section: "prog/99999999999".into()
        }
    );

    let elf = with_code("prog/9", code(&[mov(0, 0), exit()]));
    match err(&elf.build()) {
        ParseError::JumpKeyOutOfRange {
            map,
            key,
            max_entries,
            ..
        } => assert_eq!((map.as_str(), key, max_entries), ("jmp", 9, 8)),
        e => panic!("{e:?}"),
    }

    // The last prog array wins, and only the first program of the section.
    let maps = [
        words(&[PROG_ARRAY, 4, 4, 8, 0]),
        words(&[PROG_ARRAY, 4, 4, 8, 0]),
    ]
    .concat();
    let mut elf = with_maps(maps, &[("first", 0, 20), ("last", 20, 20)]);
    elf.sections[0].name = "prog/3".into();
    elf.symbols.iter_mut().for_each(|s| {
        if s.section.as_deref() == Some("xdp") {
            s.section = Some("prog/3".into());
            s.size = 16;
        }
    });
    let elf = elf.func("prog/3", "second", 16, 16);
    let object = Object::parse(&elf.build()).unwrap();
    assert_eq!(object.programs.len(), 2);
    assert_eq!(
        object.jump_entries,
        [rxdp_elf::JumpEntry {
            map: 1,
            key: 3,
            program: 0,
            origin: rxdp_elf::JumpOrigin::ProgN
        }]
    );
}

#[test]
fn error_messages_name_what_is_concerned() {
    let e = ParseError::MapDefinitionTrailing {
        map: "wide".into(),
        size: 40,
        offset: 38,
    };
    let text = e.to_string();
    assert!(text.contains("wide") && text.contains("38"), "{text}");
    let text = ParseError::NotBpf { machine: 62 }.to_string();
    assert!(
        text.contains("62") && text.contains("-target bpf"),
        "{text}"
    );
}
