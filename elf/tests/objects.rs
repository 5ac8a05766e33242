//! `Object::parse` on the committed objects of `progs/obj` (see
//! `progs/README.md` for what each one holds) and `elf/tests/data`.

use rxdp_elf::btf::BtfKind;
use rxdp_elf::insn::{BPF_PSEUDO_CALL, CALL, LD_IMM64};
use rxdp_elf::{
    AttachTarget, Dialect, InnerMap, JumpEntry, JumpOrigin, MapDef, MapSlot, MapType, Object,
    ParseError, Pinning, ProgramType, RelocTarget,
};

fn progs_obj(name: &str) -> Vec<u8> {
    let path = format!("{}/../progs/obj/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run `make progs`)"))
}

fn parse(name: &str) -> Object {
    Object::parse(&progs_obj(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn map_names(object: &Object) -> Vec<&str> {
    object.maps.iter().map(|m| m.name.as_str()).collect()
}

fn program_names(object: &Object) -> Vec<(&str, &str)> {
    object
        .programs
        .iter()
        .map(|p| (p.section.as_str(), p.name()))
        .collect()
}

fn legacy_def(map_type: MapType, key: u32, value: u32, max: u32) -> MapDef {
    MapDef {
        map_type,
        key_size: key,
        value_size: value,
        max_entries: max,
        flags: 0,
        numa_node: 0,
        map_extra: 0,
    }
}

#[test]
fn tail_kern_is_numbered_like_load_bpf_file() {
    let object = parse("tail_kern.o");
    assert_eq!(object.license, "GPL");
    assert_eq!(object.kernel_version, 0);
    // Symbol-table order is counters, jmp_table1, jmp_table2: sorting by
    // offset must win. The unreferenced .rodata.str1.1 makes no map.
    assert_eq!(map_names(&object), ["jmp_table1", "jmp_table2", "counters"]);
    for m in &object.maps {
        assert_eq!(m.dialect, Dialect::Legacy20);
        assert_eq!(m.section, "maps");
        assert_eq!(m.pinning, Pinning::None);
        assert_eq!(m.inner, None);
        assert_eq!(m.data, None);
    }
    assert_eq!(
        object.maps[0].def,
        legacy_def(MapType::PROG_ARRAY, 4, 4, 100)
    );
    assert_eq!(
        object.maps[1].def,
        legacy_def(MapType::PROG_ARRAY, 4, 4, 100)
    );
    assert_eq!(object.maps[2].def, legacy_def(MapType::ARRAY, 4, 8, 4));

    assert_eq!(
        program_names(&object),
        [("xdp0", "xdp_prog0"), ("xdp1", "xdp_prog1")]
    );
    let xdp0 = &object.programs[0];
    assert_eq!(xdp0.prog_type, Some(ProgramType::XDP));
    assert_eq!(xdp0.function.insns.len(), 0x200 / 8);
    assert_eq!(object.programs[1].function.insns.len(), 0xc0 / 8);
    // .relxdp0: counters at 0x28 and 0x128, jmp_table1 at 0xe8.
    let relocs: Vec<_> = xdp0
        .function
        .relocs
        .iter()
        .map(|r| (r.insn, r.symbol.as_str(), r.target.clone()))
        .collect();
    assert_eq!(
        relocs,
        [
            (5, "counters", RelocTarget::Map(2)),
            (29, "jmp_table1", RelocTarget::Map(0)),
            (37, "counters", RelocTarget::Map(2)),
        ]
    );
    for r in &xdp0.function.relocs {
        assert_eq!(
            xdp0.function.insns[r.insn].code, LD_IMM64,
            "insn {}",
            r.insn
        );
    }
    assert!(object.subprograms.is_empty());
    assert!(object.jump_entries.is_empty());
    // BTF came along, with its DATASECs sized for the kernel.
    let btf = object.btf.as_ref().expect("built with -g");
    let (_, _, vars) = btf
        .datasecs()
        .unwrap()
        .into_iter()
        .find(|(_, name, _)| *name == "maps")
        .expect("maps DATASEC");
    let offsets: Vec<u32> = vars.iter().map(|v| v.offset).collect();
    assert!(
        offsets.contains(&0x14) && offsets.contains(&0x28),
        "{offsets:?}"
    );
    // func_info and line_info, per function.
    assert_eq!(
        btf.type_by_id(xdp0.function.btf_func_type_id).unwrap().kind,
        BtfKind::Func
    );
    assert_eq!(
        btf.type_name(xdp0.function.btf_func_type_id).unwrap(),
        "xdp_prog0"
    );
    assert!(!xdp0.function.line_info.is_empty());
    assert_eq!(xdp0.function.line_info[0].insn_off, 0);
    assert!(xdp0
        .function
        .line_info
        .iter()
        .all(|l| (l.insn_off as usize) < xdp0.function.insns.len()));
}

#[test]
fn xdp_prog_kern_implies_prog_n_entry() {
    let object = parse("xdp_prog_kern.o");
    assert_eq!(map_names(&object), ["jmp_table", "stats", "seen"]);
    assert_eq!(
        program_names(&object),
        [("xdp_entry", "xdp_entry_prog"), ("prog/0", "xdp_prog0")]
    );
    assert_eq!(object.programs[0].prog_type, Some(ProgramType::XDP));
    // prog/N says nothing about the type: the caller decides.
    assert_eq!(object.programs[1].prog_type, None);
    assert_eq!(
        object.jump_entries,
        [JumpEntry {
            map: 0,
            key: 0,
            program: 1,
            origin: JumpOrigin::ProgN
        }]
    );
}

#[test]
fn offload_pair() {
    let entry = parse("xdp_prog_kern_off.o");
    assert!(entry.maps.is_empty());
    assert_eq!(
        program_names(&entry),
        [("xdp_entry_off", "xdp_entry_off_prog")]
    );
    assert!(entry.programs[0].function.relocs.is_empty());
    let tail = parse("xdp_prog_kern_off_tail.o");
    assert_eq!(map_names(&tail), ["stats", "seen"]);
    assert_eq!(program_names(&tail), [("xdp_tail", "xdp_tail_prog")]);
}

#[test]
fn map_in_map_legacy28() {
    let object = parse("map_in_map.o");
    assert_eq!(map_names(&object), ["inner_counters", "outer"]);
    assert!(object.maps.iter().all(|m| m.dialect == Dialect::Legacy28));
    assert_eq!(object.maps[0].inner, None);
    assert_eq!(object.maps[1].def.map_type, MapType::ARRAY_OF_MAPS);
    assert_eq!(object.maps[1].inner, Some(InnerMap::Index(0)));
    assert!(object.maps[1].init_maps.is_empty());
    assert_eq!(
        object.programs[0].function.relocs[0].target,
        RelocTarget::Map(1)
    );
}

#[test]
fn iproute2_maps_ids_pinning_and_tail_sections() {
    let object = parse("iproute2_maps.o");
    assert_eq!(
        map_names(&object),
        [
            "jmp_map",
            "glob_counter",
            "obj_counter",
            "inner_tpl",
            "outer_ids"
        ]
    );
    assert!(object.maps.iter().all(|m| m.dialect == Dialect::Iproute2));
    let ids: Vec<_> = object.maps.iter().map(|m| m.iproute2_id).collect();
    assert_eq!(ids, [Some(1), Some(0), Some(0), Some(2), Some(3)]);
    let pins: Vec<_> = object.maps.iter().map(|m| m.pinning).collect();
    assert_eq!(
        pins,
        [
            Pinning::None,
            Pinning::GlobalNs,
            Pinning::ObjectNs,
            Pinning::None,
            Pinning::None
        ]
    );
    // outer_ids names inner_tpl (id 2) as template; inner_tpl's inner_idx 0
    // puts it at key 0 of outer_ids.
    assert_eq!(object.maps[4].inner, Some(InnerMap::Index(3)));
    assert_eq!(object.maps[4].init_maps, [MapSlot { key: 0, map: 3 }]);
    assert_eq!(
        program_names(&object),
        [
            ("xdp", "xdp_iproute2_entry"),
            ("1/0", "tail_0"),
            ("1/1", "tail_1")
        ]
    );
    assert_eq!(object.programs[1].prog_type, None);
    assert_eq!(
        object.jump_entries,
        [
            JumpEntry {
                map: 0,
                key: 0,
                program: 1,
                origin: JumpOrigin::Iproute2
            },
            JumpEntry {
                map: 0,
                key: 1,
                program: 2,
                origin: JumpOrigin::Iproute2
            },
        ]
    );
}

#[test]
fn btf_maps_definitions_and_initialisers() {
    let object = parse("btf_maps.o");
    assert_eq!(
        map_names(&object),
        [
            "jmp",
            "inner_a",
            "outer",
            "counts",
            "pinned_counter",
            "flows"
        ]
    );
    assert!(object.maps.iter().all(|m| m.dialect == Dialect::Btf));
    let defs: Vec<_> = object.maps.iter().map(|m| m.def).collect();
    assert_eq!(defs[0], legacy_def(MapType::PROG_ARRAY, 4, 4, 4));
    assert_eq!(defs[1], legacy_def(MapType::ARRAY, 4, 8, 1));
    assert_eq!(defs[2], legacy_def(MapType::ARRAY_OF_MAPS, 4, 4, 2));
    assert_eq!(defs[3], legacy_def(MapType::ARRAY, 4, 8, 2));
    assert_eq!(defs[4], legacy_def(MapType::ARRAY, 4, 8, 1));
    assert_eq!(defs[5], legacy_def(MapType::HASH, 4, 8, 16));
    let Some(InnerMap::Def {
        def,
        btf_key_type_id,
        btf_value_type_id,
    }) = object.maps[2].inner
    else {
        panic!("inline inner map: {:?}", object.maps[2].inner);
    };
    assert_eq!(def, legacy_def(MapType::ARRAY, 4, 8, 1));
    // The template is created with the key and value types of its struct.
    let btf = object.btf.as_ref().unwrap();
    assert_eq!(btf.size_of(btf_key_type_id).unwrap(), 4);
    assert_eq!(btf.size_of(btf_value_type_id).unwrap(), 8);
    assert_eq!(object.maps[2].init_maps, [MapSlot { key: 0, map: 1 }]);
    assert_eq!(object.maps[4].pinning, Pinning::ByName);
    let btf = object.btf.as_ref().unwrap();
    // Key and value types as declared: __u32 and __u64.
    let counts = &object.maps[3];
    assert_eq!(btf.size_of(counts.btf_key_type_id).unwrap(), 4);
    assert_eq!(btf.size_of(counts.btf_value_type_id).unwrap(), 8);

    assert_eq!(
        program_names(&object),
        [
            ("xdp", "tail_a"),
            ("xdp", "tail_b"),
            ("xdp", "xdp_btf_entry")
        ]
    );
    assert_eq!(object.programs[2].function.offset, 0x20);
    assert_eq!(
        object.jump_entries,
        [
            JumpEntry {
                map: 0,
                key: 0,
                program: 0,
                origin: JumpOrigin::BtfValues
            },
            JumpEntry {
                map: 0,
                key: 3,
                program: 1,
                origin: JumpOrigin::BtfValues
            },
        ]
    );
    // Relocations are relative to each program, not to the section.
    let entry = &object.programs[2].function;
    let jmp = entry
        .relocs
        .iter()
        .find(|r| r.symbol == "jmp")
        .expect("jmp reloc");
    assert_eq!(jmp.insn, (0x1e8 - 0x20) / 8);
    assert_eq!(jmp.target, RelocTarget::Map(0));
    // The .maps DATASEC offsets are filled from the symbols.
    let (_, _, vars) = btf
        .datasecs()
        .unwrap()
        .into_iter()
        .find(|(_, name, _)| *name == ".maps")
        .unwrap();
    let offsets: Vec<u32> = vars.iter().map(|v| v.offset).collect();
    assert_eq!(offsets, [0, 0x38, 0x58, 0x78, 0x98, 0xc0]);
}

#[test]
fn global_data_maps_and_subprogram() {
    let object = parse("global_data.o");
    assert_eq!(
        map_names(&object),
        ["weighted", ".data", ".rodata", ".bss", ".rodata.str1.1"]
    );
    let data = &object.maps[1];
    assert_eq!(data.dialect, Dialect::GlobalData);
    assert_eq!(data.def, legacy_def(MapType::ARRAY, 4, 4, 1));
    assert_eq!(data.data.as_deref(), Some(&1000u32.to_le_bytes()[..]));
    let rodata = &object.maps[2];
    assert_eq!(rodata.def.value_size, 20);
    assert_eq!(rodata.def.flags, 1 << 7, "BPF_F_RDONLY_PROG");
    let mut expected = 2u32.to_le_bytes().to_vec(); // cfg_verdict = XDP_PASS
    for w in [1u32, 2, 4, 8] {
        expected.extend(w.to_le_bytes());
    }
    assert_eq!(rodata.data.as_deref(), Some(&expected[..]));
    let bss = &object.maps[3];
    assert_eq!(bss.def.value_size, 8);
    assert_eq!(bss.def.flags, 0);
    assert_eq!(bss.data, None);
    let strings = &object.maps[4];
    assert_eq!(strings.def.flags, 1 << 7);
    assert_eq!(strings.data.as_deref(), Some(&b"bump slot %u\n\0"[..]));
    // BTF value type: the section's DATASEC, none for the string literals.
    let btf = object.btf.as_ref().unwrap();
    for m in &object.maps[1..4] {
        assert_eq!(btf.type_name(m.btf_value_type_id).unwrap(), m.name);
        assert_eq!(
            btf.type_by_id(m.btf_value_type_id).unwrap().kind,
            BtfKind::Datasec
        );
        assert_eq!(m.btf_key_type_id, 0);
    }
    assert_eq!(strings.btf_value_type_id, 0);

    assert_eq!(program_names(&object), [("xdp", "xdp_global")]);
    let xdp = &object.programs[0].function;
    let relocs: Vec<_> = xdp
        .relocs
        .iter()
        .map(|r| (r.insn, r.target.clone()))
        .collect();
    assert_eq!(
        relocs,
        [
            (1, RelocTarget::Call(0)),
            (2, RelocTarget::MapValue { map: 2, offset: 0 })
        ]
    );
    assert_eq!(xdp.insns[1].code, CALL);
    assert_eq!(xdp.insns[1].src_reg(), BPF_PSEUDO_CALL);
    // The .text subprogram uses a map and every data section; `weights`
    // is at offset 4 of .rodata, the string at 0 of .rodata.str1.1.
    assert_eq!(object.subprograms.len(), 1);
    let bump = &object.subprograms[0];
    assert_eq!(
        (bump.name.as_str(), bump.section.as_str()),
        ("bump", ".text")
    );
    let targets: Vec<_> = bump.relocs.iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            RelocTarget::MapValue { map: 3, offset: 0 },
            RelocTarget::Map(0),
            RelocTarget::MapValue { map: 2, offset: 4 },
            RelocTarget::MapValue { map: 1, offset: 0 },
            RelocTarget::MapValue { map: 4, offset: 0 },
        ]
    );
    assert_eq!(btf.type_name(bump.btf_func_type_id).unwrap(), "bump");
}

#[test]
fn sections_types_version_and_numbered_entries() {
    let object = parse("sections.o");
    assert_eq!(object.kernel_version, 0x061200);
    assert_eq!(map_names(&object), ["prog_array"]);
    let types: Vec<_> = object
        .programs
        .iter()
        .map(|p| (p.section.as_str(), p.prog_type))
        .collect();
    assert_eq!(
        types,
        [
            ("socket/0", Some(ProgramType::SOCKET_FILTER)),
            ("socket/1", Some(ProgramType::SOCKET_FILTER)),
            ("kprobe/sys_write", Some(ProgramType::KPROBE)),
            ("kretprobe/sys_write", Some(ProgramType::KPROBE)),
            (
                "tracepoint/syscalls/sys_enter_write",
                Some(ProgramType::TRACEPOINT)
            ),
            ("xdp_1", Some(ProgramType::XDP)),
            ("xdp/0", Some(ProgramType::XDP)),
        ]
    );
    assert_eq!(object.programs[5].name(), "xdp_one");
    assert_eq!(
        object.jump_entries,
        [
            JumpEntry {
                map: 0,
                key: 0,
                program: 0,
                origin: JumpOrigin::SectionNumber
            },
            JumpEntry {
                map: 0,
                key: 1,
                program: 1,
                origin: JumpOrigin::SectionNumber
            },
        ]
    );
}

#[test]
fn multi_prog_order_frags_and_shared_subprogram() {
    let object = parse("multi_prog.o");
    assert_eq!(
        program_names(&object),
        [
            ("xdp", "xdp_first"),
            ("xdp", "xdp_second"),
            ("xdp", "xdp_third"),
            ("xdp.frags", "xdp_frags_prog")
        ]
    );
    let flags: Vec<_> = object.programs.iter().map(|p| p.prog_flags).collect();
    assert_eq!(
        flags,
        [0, 0, 0, 1 << 5],
        "BPF_F_XDP_HAS_FRAGS on xdp.frags only"
    );
    let offsets: Vec<_> = object.programs.iter().map(|p| p.function.offset).collect();
    assert_eq!(offsets, [0, 0x20, 0x30, 0]);
    let lens: Vec<_> = object
        .programs
        .iter()
        .map(|p| p.function.insns.len())
        .collect();
    assert_eq!(lens, [4, 2, 2, 4]);
    // count_hit is global but lives in .text: a subprogram, not a program.
    assert_eq!(object.subprograms.len(), 1);
    assert_eq!(object.subprograms[0].name, "count_hit");
    assert_eq!(object.subprograms[0].relocs[0].target, RelocTarget::Map(0));
    for p in [0, 3] {
        let r = &object.programs[p].function.relocs;
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].insn, r[0].target.clone()), (1, RelocTarget::Call(0)));
        assert_eq!(r[0].symbol, "count_hit");
    }
}

#[test]
fn verifier_reject_parses() {
    let object = parse("verifier_reject.o");
    assert_eq!(program_names(&object), [("xdp", "xdp_reject")]);
    assert!(object.maps.is_empty());
}

#[test]
fn undefined_call_names_the_symbol() {
    let err = Object::parse(&progs_obj("undefined_call.o")).unwrap_err();
    assert_eq!(
        err,
        ParseError::UndefinedFunction {
            symbol: "not_defined_anywhere".into(),
            function: "xdp_undefined_call".into(),
            section: "xdp".into(),
            insn: 1,
        }
    );
    assert!(err.to_string().contains("not_defined_anywhere"));
}

#[test]
fn calls_callbacks_kfuncs_and_core() {
    let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/calls.o")).unwrap();
    let object = Object::parse(&data).unwrap();
    assert_eq!(program_names(&object), [("xdp", "xdp_calls")]);
    let relocs: Vec<_> = object.programs[0]
        .function
        .relocs
        .iter()
        .map(|r| (r.symbol.as_str(), r.target.clone()))
        .collect();
    assert_eq!(
        relocs,
        [
            (".text", RelocTarget::FuncAddr(0)),
            (
                "bpf_xdp_metadata_rx_timestamp",
                RelocTarget::Kfunc("bpf_xdp_metadata_rx_timestamp".into())
            ),
            (".text", RelocTarget::Call(1)),
            // `twice` sits in the program's own section: no ELF relocation.
            ("twice", RelocTarget::Call(2)),
        ]
    );
    let subs: Vec<_> = object
        .subprograms
        .iter()
        .map(|s| (s.section.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        subs,
        [
            (".text", "add_one"),
            (".text", "second_of"),
            ("xdp", "twice")
        ]
    );
    // The static function of section xdp is not a program of its own.
    assert_eq!(object.programs.len(), 1);
    assert_eq!(object.programs[0].function.insns.len(), 232 / 8);
    // CO-RE record of `p->second`, relative to second_of.
    let second_of = &object.subprograms[1];
    assert_eq!(second_of.core_relocs.len(), 1);
    assert_eq!(second_of.core_relocs[0].insn_off, 0);
    assert!(object.programs[0].function.core_relocs.is_empty());
}

#[test]
fn every_object_parses_deterministically() {
    let dir = format!("{}/../progs/obj", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "o") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        assert_eq!(
            Object::parse(&data),
            Object::parse(&data),
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 12, "only {seen} objects in {dir}");
}

#[test]
fn struct_ops_variables_become_maps_bound_to_their_programs() {
    let object = parse("struct_ops.o");
    assert_eq!(map_names(&object), ["rxdp_cc"]);
    let cc = &object.maps[0];
    assert_eq!(cc.dialect, Dialect::StructOps);
    assert_eq!(cc.def, MapDef::new(MapType::STRUCT_OPS, 4, 48, 1));
    let ops = cc.struct_ops.as_ref().unwrap();
    assert_eq!(ops.type_name, "tcp_congestion_ops");
    assert!(!ops.link);
    // The same in .struct_ops.link: BPF_F_LINK.
    let linked = parse("struct_ops_link.o");
    let link = &linked.maps[0];
    assert_eq!(link.name, "rxdp_cc_link");
    assert_eq!(link.def.flags, rxdp_elf::struct_ops::BPF_F_LINK);
    assert!(link.struct_ops.as_ref().unwrap().link);
    assert_eq!(linked.programs.len(), 3);
    assert_eq!(
        ops.programs,
        [
            ("ssthresh".to_string(), 0),
            ("undo_cwnd".to_string(), 1),
            ("cong_avoid".to_string(), 2)
        ]
    );
    // The object's layout: name first.
    let data = cc.data.as_ref().unwrap();
    assert_eq!(&data[..8], b"rxdp_cc\0");
    for (index, member) in [(0, "ssthresh"), (1, "undo_cwnd"), (2, "cong_avoid")] {
        let program = &object.programs[index];
        assert_eq!(program.prog_type, Some(ProgramType::STRUCT_OPS));
        assert!(program.autoload);
        assert_eq!(
            program.attach_target,
            AttachTarget::StructOps {
                map: 0,
                member: member.to_string()
            },
            "{}: the first variable that points at it",
            program.name()
        );
    }
    // No variable points at rxdp_unused: nothing to attach to, not loaded
    // unless asked (libbpf since 1.4).
    let unused = &object.programs[3];
    assert_eq!(unused.name(), "rxdp_unused");
    assert_eq!(unused.attach_target, AttachTarget::Missing);
    assert!(!unused.autoload);
}

#[test]
fn struct_ops_flavours_of_one_struct_share_programs() {
    // rxdp_cc_b's type is tcp_congestion_ops___rxdp: the same kernel struct
    // as rxdp_cc_a's once the flavour is cut, so one program may serve the
    // same member of both (libbpf's rule); each program's target is the
    // first variable that points at it.
    let object = parse("struct_ops_flavours.o");
    assert_eq!(map_names(&object), ["rxdp_cc_a", "rxdp_cc_b"]);
    let type_name = |i: usize| {
        object.maps[i]
            .struct_ops
            .as_ref()
            .unwrap()
            .type_name
            .clone()
    };
    assert_eq!(type_name(0), "tcp_congestion_ops");
    assert_eq!(type_name(1), "tcp_congestion_ops___rxdp");
    assert_eq!(
        object.maps[1].struct_ops.as_ref().unwrap().programs,
        object.maps[0].struct_ops.as_ref().unwrap().programs
    );
    for (index, member) in [(0, "ssthresh"), (1, "undo_cwnd"), (2, "cong_avoid")] {
        assert_eq!(
            object.programs[index].attach_target,
            AttachTarget::StructOps {
                map: 0,
                member: member.to_string()
            }
        );
    }
}

#[test]
fn leaving_programs_out_renumbers_what_points_at_them() {
    let object = parse("struct_ops.o");
    // Without rxdp_ssthresh (prog_fd[0]), the others move down by one.
    let selected = object.clone().select_programs(|i, _| i != 0);
    assert_eq!(selected.programs.len(), 3);
    assert_eq!(
        selected.maps[0].struct_ops.as_ref().unwrap().programs,
        [("undo_cwnd".to_string(), 0), ("cong_avoid".to_string(), 1)]
    );
    // global_data.o: xdp_global calls the .text subprogram bump; leaving
    // it out leaves bump reached by nothing kept, so it goes too.
    let data = parse("global_data.o");
    assert_eq!(data.subprograms.len(), 1);
    let none = data.clone().select_programs(|_, _| false);
    assert!(none.programs.is_empty());
    assert!(
        none.subprograms.is_empty(),
        "nothing of a left-out program stays"
    );
    assert_eq!(none.maps, data.maps, "maps do not change");
    let all = data.clone().select_programs(|_, _| true);
    assert_eq!(all, data);
    // multi_prog.o: count_hit is called by xdp_first and xdp_frags_prog;
    // keeping one of them keeps it, and the call still points at it.
    let multi = parse("multi_prog.o");
    let second_only = multi.select_programs(|i, _| i == 3);
    assert_eq!(second_only.programs[0].name(), "xdp_frags_prog");
    assert_eq!(second_only.subprograms.len(), 1);
    assert!(second_only.programs[0]
        .function
        .relocs
        .iter()
        .any(|r| r.target == RelocTarget::Call(0)));
}

#[test]
fn xdp_run_config_as_libxdp_reads_it() {
    use rxdp_elf::btf::XdpRunConfig;
    let object = parse("multiprog_count.o");
    let btf = object.btf.as_ref().expect("multiprog_count.o has BTF");
    // priority 10, XDP_PASS and XDP_DROP chain on.
    assert_eq!(
        btf.xdp_run_config("xdp_count").unwrap(),
        Some(XdpRunConfig {
            priority: 10,
            chain_call_actions: (1 << 1) | (1 << 2),
        })
    );
    // XDP_PASS turned off: no chain-call action at all.
    assert_eq!(
        btf.xdp_run_config("xdp_count_drop").unwrap(),
        Some(XdpRunConfig {
            priority: 60,
            chain_call_actions: 0,
        })
    );
    assert_eq!(btf.xdp_run_config("xdp_other").unwrap(), None);
    // An object without the section: none, and libxdp's defaults.
    let plain = parse("map_values.o");
    assert_eq!(
        plain.btf.as_ref().unwrap().xdp_run_config("xdp_map_values"),
        Ok(None)
    );
    assert_eq!(
        XdpRunConfig::default(),
        XdpRunConfig {
            priority: 50,
            chain_call_actions: 1 << 2,
        }
    );
}
