//! Tests of the BTF module: real clang output (`testdata/*.c`, compiled with
//! `clang -O2 -g -target bpf -c X.c -o X.o` and committed next to the
//! source), the running kernel's BTF, hand-built buffers for every error, and
//! a deterministic mutation loop.

use super::*;
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

const MAPS_O: &[u8] = include_bytes!("testdata/maps.o");
const GLOBALS_O: &[u8] = include_bytes!("testdata/globals.o");
const EXTERNS_O: &[u8] = include_bytes!("testdata/externs.o");
const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn section_bytes<'a>(elf: &'a [u8], name: &str) -> &'a [u8] {
    let file = object::File::parse(elf).expect("test object parses");
    let section = file.section_by_name(name).expect("section present");
    let data = section.data().expect("section data");
    // `data` borrows from `elf`; recover the range to return it with `elf`'s lifetime.
    let start = data.as_ptr() as usize - elf.as_ptr() as usize;
    &elf[start..start + data.len()]
}

fn parsed(elf: &[u8]) -> Btf {
    Btf::parse(section_bytes(elf, ".BTF")).expect("clang .BTF parses")
}

/// The DATASEC entry (VAR type id) of `var` in `section`.
fn var_id(btf: &Btf, section: &str, var: &str) -> u32 {
    let (_, _, vars) = btf
        .datasecs()
        .unwrap()
        .into_iter()
        .find(|(_, name, _)| *name == section)
        .expect("datasec present");
    vars.iter()
        .map(|v| v.type_id)
        .find(|&id| btf.type_name(id).unwrap() == var)
        .expect("var present")
}

// ---------------------------------------------------------------- round trip

#[test]
fn btf_clang_round_trip_is_byte_identical() {
    for elf in [MAPS_O, GLOBALS_O, EXTERNS_O] {
        let raw = section_bytes(elf, ".BTF");
        let btf = Btf::parse(raw).unwrap();
        assert!(btf.types().len() > 20);
        assert_eq!(btf.to_bytes(), raw);
        assert_eq!(Btf::parse(&btf.to_bytes()).unwrap(), btf);
    }
}

#[test]
fn btf_progs_objects_round_trip() {
    // The compiled progs are committed, so they are always there.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
    let mut checked = 0;
    for entry in entries.flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        let Ok(file) = object::File::parse(&*data) else {
            continue;
        };
        let Some(raw) = file.section_by_name(".BTF").and_then(|s| s.data().ok()) else {
            continue;
        };
        let btf = Btf::parse(raw).unwrap_or_else(|e| panic!("{:?}: {e}", entry.path()));
        assert_eq!(btf.to_bytes(), raw, "{:?}", entry.path());
        if let Some(ext) = file.section_by_name(".BTF.ext").and_then(|s| s.data().ok()) {
            BtfExt::parse(ext, &btf).unwrap_or_else(|e| panic!("{:?}: {e}", entry.path()));
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} objects with BTF in {dir:?}");
}

#[test]
fn btf_vmlinux_parses_and_round_trips() {
    // rxdp targets kernels built with CONFIG_DEBUG_INFO_BTF, as CI's is.
    let raw = std::fs::read(VMLINUX).unwrap_or_else(|e| {
        panic!("{VMLINUX}: {e} (a kernel with CONFIG_DEBUG_INFO_BTF is needed)")
    });
    let start = std::time::Instant::now();
    let btf = Btf::parse(&raw).unwrap();
    eprintln!(
        "parsed {VMLINUX}: {} bytes, {} types in {:?} (debug build)",
        raw.len(),
        btf.types().len(),
        start.elapsed()
    );
    assert!(btf.types().len() > 10_000);
    assert_eq!(btf.to_bytes(), raw);

    let task = btf.find(BtfKind::Struct, "task_struct").unwrap();
    assert!(btf.size_of(task).unwrap() > 1000);
    let u32_id = btf.find(BtfKind::Typedef, "u32").unwrap();
    let int = btf.resolve(u32_id).unwrap();
    assert_eq!(btf.type_by_id(int).unwrap().kind, BtfKind::Int);
    assert_eq!(btf.size_of(u32_id).unwrap(), 4);
    let md = btf.find(BtfKind::Struct, "xdp_md").unwrap();
    assert_eq!(btf.size_of(md).unwrap(), 24);
    assert!(btf
        .find(BtfKind::Func, "bpf_xdp_metadata_rx_hash")
        .is_some());
    // The running kernel uses the newer kinds; check they were all read.
    for kind in [BtfKind::Float, BtfKind::DeclTag, BtfKind::Enum64] {
        assert!(btf.types().iter().any(|t| t.kind == kind), "{kind}");
    }
}

// ------------------------------------------------------------------- queries

#[test]
fn btf_queries_on_clang_output() {
    let btf = parsed(GLOBALS_O);
    let view = btf.find(BtfKind::Struct, "packet_view").unwrap();
    assert_eq!(btf.type_name(view).unwrap(), "packet_view");
    assert_eq!(btf.size_of(view).unwrap(), 16);
    let members: Vec<&str> = btf
        .type_by_id(view)
        .unwrap()
        .members()
        .iter()
        .map(|m| btf.string(m.name_off).unwrap())
        .collect();
    assert_eq!(members, ["len", "mark", "stamp"]);

    // `const volatile __u32 limit`: CONST -> VOLATILE -> TYPEDEF -> INT.
    let limit = var_id(&btf, ".rodata", "limit");
    let limit_type = btf.type_by_id(limit).unwrap().size_or_type;
    assert_eq!(btf.type_by_id(limit_type).unwrap().kind, BtfKind::Const);
    let int = btf.resolve(limit_type).unwrap();
    assert_eq!(btf.type_name(int).unwrap(), "unsigned int");
    assert_eq!(btf.size_of(limit).unwrap(), 4);
    // `char _license[4]`: an array.
    assert_eq!(btf.size_of(var_id(&btf, "license", "_license")).unwrap(), 4);

    assert!(btf.is_extern_func("bpf_kfunc_example"));
    assert!(!btf.is_extern_func("reader"));
    assert!(!btf.is_extern_func("no_such_function"));
    assert_eq!(btf.find(BtfKind::Struct, "no_such_struct"), None);
    assert_eq!(btf.type_name(0).unwrap(), "");
    assert_eq!(btf.resolve(0).unwrap(), 0);

    let names: Vec<&str> = btf.datasecs().unwrap().iter().map(|d| d.1).collect();
    assert_eq!(names, [".bss", ".data", ".ksyms", ".rodata", "license"]);
    let func = btf.find(BtfKind::Func, "reader").unwrap();
    assert!(matches!(
        btf.size_of(func),
        Err(BtfError::NoSize { kind: "FUNC", .. })
    ));
}

// ------------------------------------------------------------ fix_datasecs

/// Runs `fix_datasecs` with the ELF object's own section sizes and symbols.
fn fix_from_elf(btf: &mut Btf, elf: &[u8]) -> Result<(), BtfError> {
    let file = object::File::parse(elf).unwrap();
    let section_size = |name: &str| {
        file.section_by_name(name)
            .map(|s| u32::try_from(s.size()).unwrap())
    };
    let symbol_offset = |section: &str, var: &str| {
        let index = file.section_by_name(section)?.index();
        file.symbols()
            .find(|s| s.section_index() == Some(index) && s.name() == Ok(var))
            .map(|s| u32::try_from(s.address()).unwrap())
    };
    btf.fix_datasecs(section_size, symbol_offset)
}

fn datasec(btf: &Btf, name: &str) -> (u32, Vec<(String, u32, u32)>) {
    let (id, _, vars) = btf
        .datasecs()
        .unwrap()
        .into_iter()
        .find(|d| d.1 == name)
        .unwrap();
    let size = btf.type_by_id(id).unwrap().size_or_type;
    let vars = vars
        .iter()
        .map(|v| {
            (
                btf.type_name(v.type_id).unwrap().to_owned(),
                v.offset,
                v.size,
            )
        })
        .collect();
    (size, vars)
}

fn owned(vars: &[(&str, u32, u32)]) -> Vec<(String, u32, u32)> {
    vars.iter().map(|&(n, o, s)| (n.to_owned(), o, s)).collect()
}

#[test]
fn btf_fix_datasecs_fills_sizes_and_offsets() {
    let mut btf = parsed(GLOBALS_O);
    let before = btf.clone();
    // clang leaves them zero: the reason this function exists.
    assert_eq!(datasec(&btf, ".data").0, 0);
    assert_eq!(datasec(&btf, ".data").1[1].1, 0);
    fix_from_elf(&mut btf, GLOBALS_O).unwrap();

    assert_eq!(
        datasec(&btf, ".data"),
        (8, owned(&[("seen", 0, 4), ("also_seen", 4, 4)]))
    );
    assert_eq!(
        datasec(&btf, ".bss"),
        (
            20,
            owned(&[
                ("other_counter", 0, 8),
                ("counter", 8, 8),
                ("bump.calls", 16, 4)
            ])
        )
    );
    assert_eq!(
        datasec(&btf, ".rodata"),
        (8, owned(&[("limit", 0, 4), ("ratio", 4, 4)]))
    );
    assert_eq!(datasec(&btf, "license"), (4, owned(&[("_license", 0, 4)])));
    // The extern section has no ELF section behind it and stays as it was.
    assert_eq!(datasec(&btf, ".ksyms"), datasec(&before, ".ksyms"));
    // Nothing but DATASECs changed.
    for (a, b) in btf.types().iter().zip(before.types()) {
        if a.kind != BtfKind::Datasec {
            assert_eq!(a, b);
        }
    }
    // And the result survives a round trip.
    assert_eq!(Btf::parse(&btf.to_bytes()).unwrap(), btf);
    // A second run changes nothing (sizes are set now).
    let once = btf.clone();
    fix_from_elf(&mut btf, GLOBALS_O).unwrap();
    assert_eq!(btf, once);

    let mut maps = parsed(MAPS_O);
    fix_from_elf(&mut maps, MAPS_O).unwrap();
    let (size, vars) = datasec(&maps, ".maps");
    assert_eq!(size, 0xc8);
    let offsets: Vec<u32> = vars.iter().map(|v| v.1).collect();
    assert_eq!(offsets, [0, 0x20, 0x48, 0x78, 0xa8]);
}

#[test]
fn btf_fix_datasecs_names_missing_section_and_symbol() {
    let mut btf = parsed(GLOBALS_O);
    let err = btf
        .fix_datasecs(|s| (s != ".rodata").then_some(64), |_, _| Some(0))
        .unwrap_err();
    assert_eq!(
        err,
        BtfError::UnknownSection {
            section: ".rodata".into()
        }
    );
    assert!(err.to_string().contains("`.rodata`"));

    let err = btf
        .fix_datasecs(|_| Some(64), |_, var| (var != "ratio").then_some(0))
        .unwrap_err();
    assert_eq!(
        err,
        BtfError::UnknownSymbol {
            section: ".rodata".into(),
            var: "ratio".into()
        }
    );

    // A static VAR without a symbol keeps clang's offset (16).
    let mut btf = parsed(GLOBALS_O);
    btf.fix_datasecs(|_| Some(64), |_, var| (var != "bump.calls").then_some(0))
        .unwrap();
    let (_, vars) = datasec(&btf, ".bss");
    assert_eq!(vars[2], ("bump.calls".to_owned(), 16, 4));
}

// ------------------------------------------------------- kernel preparation

/// What the kernel's BTF checker (`btf_func_check_meta`, `btf_var_check_meta`,
/// `btf_datasec_check_meta`, `btf_func_check`) demands of the parts
/// `prepare_for_kernel` touches. Returns the first violation.
fn kernel_violation(btf: &Btf) -> Option<String> {
    for (id, t) in (1u32..).zip(btf.types()) {
        match &t.data {
            BtfTypeData::Func { linkage } => {
                if *linkage > 1 {
                    return Some(format!("FUNC {id}: linkage {linkage}"));
                }
                let params = btf.type_by_id(t.size_or_type).unwrap().params();
                if params.iter().any(|p| p.type_id != 0 && p.name_off == 0) {
                    return Some(format!("FUNC {id}: unnamed parameter"));
                }
            }
            BtfTypeData::Var { linkage } if *linkage > 1 => {
                return Some(format!("VAR {id}: linkage {linkage}"));
            }
            BtfTypeData::Datasec(vars) => {
                if t.size_or_type == 0 {
                    return Some(format!("DATASEC {id}: size 0"));
                }
                let mut end = 0;
                for v in vars {
                    let var = btf.type_by_id(v.type_id).unwrap();
                    if var.kind != BtfKind::Var {
                        return Some(format!(
                            "DATASEC {id}: entry {} is a {}",
                            v.type_id, var.kind
                        ));
                    }
                    if v.offset < end || v.size == 0 || v.offset + v.size > t.size_or_type {
                        return Some(format!("DATASEC {id}: entry {} misplaced", v.type_id));
                    }
                    if v.size < btf.size_of(v.type_id).unwrap() {
                        return Some(format!("DATASEC {id}: entry {} too small", v.type_id));
                    }
                    end = v.offset + v.size;
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn btf_kernel_bytes_rewrite_externs() {
    let mut btf = parsed(EXTERNS_O);
    fix_from_elf(&mut btf, EXTERNS_O).unwrap();
    // clang's externs break the kernel's rules; that is the point.
    assert!(kernel_violation(&btf).is_some());
    let before = btf.clone();
    let kernel = Btf::parse(&btf.kernel_bytes().unwrap()).unwrap();
    assert_eq!(btf, before, "kernel_bytes leaves its input alone");
    assert!(btf.is_extern_func("bpf_kfunc_a") && btf.is_extern_func("bpf_kfunc_b"));
    assert_eq!(kernel_violation(&kernel), None);
    assert!(!kernel.is_extern_func("bpf_kfunc_a"));

    // Existing ids keep their meaning; one placeholder VAR is appended (the
    // object already has a signed int).
    assert_eq!(kernel.types().len(), btf.types().len() + 1);
    for (a, b) in kernel.types().iter().zip(btf.types()) {
        assert_eq!((a.kind, a.name_off), (b.kind, b.name_off));
    }
    let placeholder = kernel.max_type_id();
    assert_eq!(kernel.type_name(placeholder).unwrap(), "__rxdp_ksym");
    assert_eq!(kernel.size_of(placeholder).unwrap(), 4);

    assert_eq!(
        datasec(&kernel, ".ksyms"),
        (
            12,
            owned(&[
                ("__rxdp_ksym", 0, 4),
                ("__rxdp_ksym", 4, 4),
                ("bpf_prog_active", 8, 4)
            ])
        )
    );
    // .kconfig keeps real sizes, laid out as the .kconfig map is (libbpf's
    // order: most aligned first, then smallest, then by name).
    assert_eq!(
        datasec(&kernel, ".kconfig"),
        (
            13,
            owned(&[
                ("CONFIG_HZ", 0, 8),
                ("LINUX_KERNEL_VERSION", 8, 4),
                ("CONFIG_BPF_SYSCALL", 12, 1)
            ])
        )
    );
    let slots: Vec<(u32, u32, u32)> = btf
        .kconfig_layout()
        .unwrap()
        .iter()
        .map(|s| (s.offset, s.size, s.align))
        .collect();
    // In DATASEC order (clang's: CONFIG_BPF_SYSCALL, CONFIG_HZ, LINUX_KERNEL_VERSION).
    assert_eq!(slots, [(12, 1, 1), (0, 8, 8), (8, 4, 4)]);
    assert_eq!(datasec(&kernel, ".bss"), datasec(&btf, ".bss"));

    // Objects without externs only get their DATASECs sorted.
    for elf in [MAPS_O, GLOBALS_O] {
        let mut btf = parsed(elf);
        fix_from_elf(&mut btf, elf).unwrap();
        let kernel = Btf::parse(&btf.kernel_bytes().unwrap()).unwrap();
        assert_eq!(kernel_violation(&kernel), None);
    }
}

#[test]
fn btf_kernel_bytes_sort_datasec_entries() {
    let mut btf = parsed(GLOBALS_O);
    // Symbols in the reverse of the BTF order.
    btf.fix_datasecs(
        |_| Some(32),
        |_, var| {
            Some(if var == "seen" || var == "limit" {
                4
            } else {
                0
            })
        },
    )
    .unwrap();
    let (_, data) = datasec(&btf, ".data");
    assert_eq!(data, owned(&[("seen", 4, 4), ("also_seen", 0, 4)]));
    assert!(kernel_violation(&btf).is_some());
    let kernel = Btf::parse(&btf.kernel_bytes().unwrap()).unwrap();
    let (_, data) = datasec(&kernel, ".data");
    assert_eq!(data, owned(&[("also_seen", 0, 4), ("seen", 4, 4)]));
}

#[test]
#[rustfmt::skip]
fn btf_kernel_bytes_add_int_when_missing() {
    // A lone extern VAR in .ksyms of a BTF without any int: an INT is added.
    let strings = b"\0v\0.ksyms\0";
    let words = [
        0, info(10, 0, false), 0,                // 1 CONST void
        1, info(14, 0, false), 1, 2,             // 2 VAR v extern
        3, info(15, 1, false), 0, 2, 0, 0,       // 3 DATASEC .ksyms
    ];
    let btf = Btf::parse(&build(&words, strings)).unwrap();
    let kernel = Btf::parse(&btf.kernel_bytes().unwrap()).unwrap();
    assert_eq!(kernel.types().len(), 4);
    let int = kernel.type_by_id(4).unwrap();
    assert_eq!((int.kind, int.size_or_type), (BtfKind::Int, 4));
    assert_eq!(kernel.type_name(4).unwrap(), "int");
    assert_eq!(kernel.type_by_id(2).unwrap().size_or_type, 4);
    assert_eq!(kernel_violation(&kernel), None);
    // A .ksyms entry that is neither VAR nor FUNC is an error.
    let words = [
        1, info(1, 0, false), 4, 32,             // 1 INT v
        3, info(15, 1, false), 0, 1, 0, 0,       // 2 DATASEC .ksyms
    ];
    let btf = Btf::parse(&build(&words, strings)).unwrap();
    assert!(matches!(
        btf.kernel_bytes(),
        Err(BtfError::UnexpectedKind {
            id: 1,
            found: "INT",
            ..
        })
    ));
}

// ------------------------------------------------------------ map definitions

#[test]
fn btf_map_definition_hash_with_types_and_pinning() {
    let btf = parsed(MAPS_O);
    let flows = var_id(&btf, ".maps", "flows");
    let def = btf.map_definition(flows).unwrap();
    let key = btf.find(BtfKind::Struct, "flow_key").unwrap();
    let value = btf.find(BtfKind::Struct, "flow_stats").unwrap();
    assert_eq!(
        def,
        BtfMapDef {
            map_type: Some(1),
            key_size: Some(12),
            key_type_id: key,
            value_size: Some(16),
            value_type_id: value,
            max_entries: Some(1024),
            map_flags: 1,
            numa_node: 0,
            pinning: 1,
            map_extra: 0,
            values: None,
            values_offset: 0,
        }
    );
    // Given the struct itself rather than the VAR: the same definition.
    let struct_id = btf.type_by_id(flows).unwrap().size_or_type;
    assert_eq!(btf.map_definition(struct_id).unwrap(), def);

    let sized = btf.map_definition(var_id(&btf, ".maps", "sized")).unwrap();
    assert_eq!(
        (
            sized.map_type,
            sized.key_size,
            sized.value_size,
            sized.max_entries
        ),
        (Some(2), Some(4), Some(8), Some(16))
    );
    assert_eq!((sized.key_type_id, sized.value_type_id), (0, 0));
}

/// The `.rel.maps` slot offsets of `map`, relative to the map's symbol.
fn values_relocs(elf: &[u8], map: &str) -> Vec<u64> {
    let file = object::File::parse(elf).unwrap();
    let sym = file.symbols().find(|s| s.name() == Ok(map)).unwrap();
    let maps = file.section_by_name(".maps").unwrap();
    let mut slots: Vec<u64> = maps
        .relocations()
        .filter(|(_, r)| matches!(r.target(), RelocationTarget::Symbol(_)))
        .map(|(off, _)| off)
        .filter(|&off| off >= sym.address() && off < sym.address() + sym.size())
        .map(|off| off - sym.address())
        .collect();
    slots.sort_unstable();
    slots
}

#[test]
fn btf_map_definition_prog_array_values() {
    let btf = parsed(MAPS_O);
    let def = btf.map_definition(var_id(&btf, ".maps", "jumps")).unwrap();
    assert_eq!(def.map_type, Some(3));
    assert_eq!(def.max_entries, Some(8));
    assert_eq!(def.key_size, Some(4));
    assert_eq!(def.value_size, Some(4));
    assert_eq!(def.values, Some(BtfMapValues::Programs));
    assert_eq!(def.values_offset, 24);
    // `.values = { [2] = &prog_a }`: the relocation sits at slot 2.
    assert_eq!(
        values_relocs(MAPS_O, "jumps"),
        [u64::from(def.values_offset) + 8 * 2]
    );
}

#[test]
fn btf_map_definition_array_of_maps_inner_struct() {
    let btf = parsed(MAPS_O);
    let def = btf.map_definition(var_id(&btf, ".maps", "outer")).unwrap();
    let u32_id = btf.find(BtfKind::Typedef, "__u32").unwrap();
    let u64_id = btf.find(BtfKind::Typedef, "__u64").unwrap();
    let inner = BtfMapDef {
        map_type: Some(2),
        key_size: Some(4),
        key_type_id: u32_id,
        value_size: Some(8),
        value_type_id: u64_id,
        max_entries: Some(4),
        ..BtfMapDef::default()
    };
    assert_eq!(def.map_type, Some(12));
    assert_eq!(def.max_entries, Some(2));
    assert_eq!((def.key_size, def.key_type_id), (Some(4), u32_id));
    assert_eq!(def.value_size, Some(4));
    assert_eq!(
        def.values,
        Some(BtfMapValues::Maps(Box::new(inner.clone())))
    );
    assert_eq!(def.values_offset, 24);
    assert_eq!(
        values_relocs(MAPS_O, "outer"),
        [u64::from(def.values_offset) + 8]
    );
    // The template is also a map of its own.
    assert_eq!(
        btf.map_definition(var_id(&btf, ".maps", "inner_a"))
            .unwrap(),
        inner
    );
}

// ------------------------------------------------------------------ BTF.ext

#[test]
fn btf_ext_func_line_and_core_records() {
    let btf = parsed(GLOBALS_O);
    let ext = BtfExt::parse(section_bytes(GLOBALS_O, ".BTF.ext"), &btf).unwrap();
    assert_eq!(
        (
            ext.func_info_rec_size,
            ext.line_info_rec_size,
            ext.core_relo_rec_size
        ),
        (8, 16, 16)
    );

    let funcs: Vec<(&str, Vec<(u32, &str)>)> = ext
        .func_info
        .iter()
        .map(|s| {
            let records = s
                .records
                .iter()
                .map(|r| (r.insn_off, btf.type_name(r.type_id).unwrap()))
                .collect();
            (s.section.as_str(), records)
        })
        .collect();
    // `caller` starts at byte 240 of `xdp`: 30 instructions after `reader`.
    assert_eq!(
        funcs,
        [
            ("xdp", vec![(0, "reader"), (240, "caller")]),
            (".text", vec![(0, "bump")])
        ]
    );

    let xdp_lines = ext.line_info.iter().find(|s| s.section == "xdp").unwrap();
    let first = xdp_lines.records[0];
    assert_eq!(first.insn_off, 0);
    assert!(btf
        .string(first.file_name_off)
        .unwrap()
        .ends_with("globals.c"));
    // Each record's line text is the source line its number names, and the
    // first one lies in `reader`.
    let source: Vec<&str> = include_str!("testdata/globals.c").lines().collect();
    // (Line 0 marks compiler-made code with no source line.)
    for r in xdp_lines.records.iter().filter(|r| r.line() > 0) {
        let text = btf.string(r.line_off).unwrap();
        assert_eq!(source[r.line() as usize - 1].trim(), text.trim());
    }
    assert!(xdp_lines
        .records
        .iter()
        .all(|r| r.line() > 0 || r.column() == 0));
    assert!(xdp_lines.records.iter().any(|r| r.column() > 0));
    let reader_line = source
        .iter()
        .position(|l| l.contains("int reader"))
        .unwrap() as u32
        + 1;
    assert!((reader_line..reader_line + 5).contains(&first.line()));
    assert!(xdp_lines
        .records
        .windows(2)
        .all(|w| w[0].insn_off <= w[1].insn_off));

    // `v->mark` with `preserve_access_index`: a FIELD_BYTE_OFFSET (kind 0)
    // relocation of member 1 of `packet_view`.
    let core = ext.core_relocs.iter().find(|s| s.section == "xdp").unwrap();
    let view = btf.find(BtfKind::Struct, "packet_view").unwrap();
    let mark: Vec<&CoreReloc> = core.records.iter().filter(|r| r.type_id == view).collect();
    assert!(!mark.is_empty());
    for r in mark {
        assert_eq!(btf.string(r.access_str_off).unwrap(), "0:1");
        assert_eq!(r.kind, 0);
        assert_eq!(r.insn_off % 8, 0);
    }
}

#[test]
fn btf_ext_without_core_relocs_and_with_large_records() {
    let btf = parsed(GLOBALS_O);
    let strings_xdp = btf
        .strings()
        .windows(4)
        .position(|w| w == b"xdp\0")
        .unwrap() as u32;
    // A 24-byte header (no CO-RE part), func_info with 12-byte records.
    let mut func = Vec::new();
    for v in [12u32, strings_xdp, 2, 0, 9, 0xdead, 80, 14, 0xbeef] {
        func.extend_from_slice(&v.to_le_bytes());
    }
    let mut ext = ext_header(24, [0, func.len() as u32, func.len() as u32, 0, 0, 0]);
    ext.extend_from_slice(&func);
    let parsed = BtfExt::parse(&ext, &btf).unwrap();
    assert_eq!(parsed.func_info_rec_size, 12);
    assert_eq!(parsed.func_info[0].section, "xdp");
    assert_eq!(
        parsed.func_info[0].records,
        [
            FuncInfo {
                insn_off: 0,
                type_id: 9
            },
            FuncInfo {
                insn_off: 80,
                type_id: 14
            }
        ]
    );
    assert!(parsed.line_info.is_empty() && parsed.core_relocs.is_empty());
}

#[test]
fn btf_ext_errors() {
    let btf = parsed(GLOBALS_O);
    let good = section_bytes(GLOBALS_O, ".BTF.ext");
    let err = |buf: &[u8]| BtfExt::parse(buf, &btf).unwrap_err();

    assert!(matches!(
        err(&good[..20]),
        BtfError::HeaderTruncated {
            what: "BTF.ext",
            len: 20,
            need: 24
        }
    ));
    let mut b = good.to_vec();
    b[0] = 0;
    assert!(matches!(
        err(&b),
        BtfError::BadMagic {
            what: "BTF.ext",
            ..
        }
    ));
    let mut b = good.to_vec();
    b.swap(0, 1);
    assert_eq!(err(&b), BtfError::BigEndian { what: "BTF.ext" });
    let mut b = good.to_vec();
    b[2] = 7;
    assert_eq!(
        err(&b),
        BtfError::BadVersion {
            what: "BTF.ext",
            version: 7
        }
    );

    // func_info part longer than the data.
    let mut b = good.to_vec();
    set_u32(&mut b, 12, 1 << 20);
    let e = err(&b);
    assert!(matches!(
        e,
        BtfError::SectionTruncated {
            what: "BTF.ext",
            section: "func_info",
            ..
        }
    ));
    assert!(e.to_string().starts_with("BTF.ext truncated: func_info"));

    // Each part on its own: record size, block header, records, section name.
    let xdp = btf
        .strings()
        .windows(4)
        .position(|w| w == b"xdp\0")
        .unwrap() as u32;
    let part = |words: &[u32]| {
        let body: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut ext = ext_header(32, [0, 0, 0, body.len() as u32, 0, 0]);
        ext.extend_from_slice(&body);
        ext
    };
    assert_eq!(
        err(&part(&[12, xdp, 1, 0, 0, 0])),
        BtfError::ExtRecordSizeTooSmall {
            section: "line_info",
            rec_size: 12,
            min: 16
        }
    );
    assert_eq!(
        err(&part(&[16, xdp])),
        BtfError::ExtTruncated {
            section: "line_info",
            offset: 4,
            need: 8,
            available: 4
        }
    );
    // num_info claims 2^28 records of 16 bytes: refused before any allocation.
    assert_eq!(
        err(&part(&[16, xdp, 1 << 28, 0, 0, 0, 0])),
        BtfError::ExtTruncated {
            section: "line_info",
            offset: 12,
            need: 1 << 32,
            available: 16
        }
    );
    assert!(matches!(
        err(&part(&[16, 99_999, 1, 0, 0, 0, 0])),
        BtfError::StringOffset { offset: 99_999, .. }
    ));
    let ok = BtfExt::parse(&part(&[16, xdp, 1, 8, 1, 2, (7 << 10) | 3]), &btf).unwrap();
    let line = ok.line_info[0].records[0];
    assert_eq!((line.insn_off, line.line(), line.column()), (8, 7, 3));

    // A newer, longer header must have its unknown fields zero.
    let mut long = ext_header(40, [0; 6]);
    assert!(BtfExt::parse(&long, &btf).unwrap().func_info.is_empty());
    long[36] = 1;
    assert!(matches!(
        err(&long),
        BtfError::HeaderUnknownFields {
            what: "BTF.ext",
            offset: 36,
            ..
        }
    ));
}

/// A BTF.ext header of `hdr_len` bytes with the six offset/length fields.
fn ext_header(hdr_len: u32, fields: [u32; 6]) -> Vec<u8> {
    let mut out = vec![0x9f, 0xeb, 1, 0];
    out.extend_from_slice(&hdr_len.to_le_bytes());
    for f in fields {
        out.extend_from_slice(&f.to_le_bytes());
    }
    out.resize(hdr_len as usize, 0);
    out
}

// ------------------------------------------------------- hand-built BTF

/// A BTF blob from raw type words and a string table.
fn build(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let type_len = (types.len() * 4) as u32;
    let mut out = vec![0x9f, 0xeb, 1, 0];
    for v in [24, 0, type_len, type_len, strings.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for w in types {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(strings);
    out
}

fn info(kind: u32, vlen: u32, kind_flag: bool) -> u32 {
    (u32::from(kind_flag) << 31) | (kind << 24) | vlen
}

/// One type of every kind, the newer ones included.
#[rustfmt::skip]
fn every_kind() -> Vec<u8> {
    let strings = b"\0int\0e64\0BIG\0tagged\0f\0x\0float\0s\0tag\0";
    // offsets: int=1 e64=5 BIG=9 tagged=13 f=20 x=22 float=24 s=30 tag=32
    let types: Vec<u32> = vec![
        /* 1 INT int */ 1, info(1, 0, false), 4, 0x0100_0020,
        /* 2 PTR -> 1 */ 0, info(2, 0, false), 1,
        /* 3 ARRAY [3] of 1 */ 0, info(3, 0, false), 0, 1, 1, 3,
        /* 4 STRUCT s { int x; int bf:3 } */ 30, info(4, 2, true), 8, 22, 1, 0, 22, 1, (3 << 24) | 32,
        /* 5 UNION */ 0, info(5, 1, false), 4, 22, 1, 0,
        /* 6 ENUM signed */ 0, info(6, 1, true), 4, 9, (-5i32) as u32,
        /* 7 FWD union */ 30, info(7, 0, true), 0,
        /* 8 TYPEDEF tagged -> 2 */ 13, info(8, 0, false), 2,
        /* 9 VOLATILE -> 8 */ 0, info(9, 0, false), 8,
        /* 10 CONST -> 9 */ 0, info(10, 0, false), 9,
        /* 11 RESTRICT -> 2 */ 0, info(11, 0, false), 2,
        /* 12 FUNC f static */ 20, info(12, 0, false), 13,
        /* 13 FUNC_PROTO int (int x, ...) */ 0, info(13, 2, false), 1, 22, 1, 0, 0,
        /* 14 VAR x global */ 22, info(14, 0, false), 1, 1,
        /* 15 DATASEC .data */ 0, info(15, 1, false), 4, 14, 0, 4,
        /* 16 FLOAT */ 24, info(16, 0, false), 8,
        /* 17 DECL_TAG on member 1 of s */ 32, info(17, 0, false), 4, 1,
        /* 18 TYPE_TAG -> 1 */ 32, info(18, 0, false), 1,
        /* 19 ENUM64 */ 5, info(19, 1, false), 8, 9, 0x89ab_cdef, 0x0123_4567,
        /* 20 FUNC f extern */ 20, info(12, 2, false), 13,
    ];
    build(&types, strings)
}

#[test]
fn btf_every_kind_parses_and_round_trips() {
    let raw = every_kind();
    let btf = Btf::parse(&raw).unwrap();
    let kinds: Vec<BtfKind> = btf.types().iter().map(|t| t.kind).collect();
    assert_eq!(kinds.len(), 20);
    for (i, k) in kinds.iter().take(19).enumerate() {
        assert_eq!(*k as usize, i + 1);
        assert_eq!(BtfKind::from_u8(*k as u8), Some(*k));
    }
    assert_eq!(btf.to_bytes(), raw);

    let t = |id| btf.type_by_id(id).unwrap();
    assert_eq!(t(1).data, BtfTypeData::Int(BtfInt(0x0100_0020)));
    assert_eq!(
        (BtfInt(0x0100_0020).encoding(), BtfInt(0x0100_0020).bits()),
        (1, 32)
    );
    let bf = t(4).members()[1];
    assert_eq!((bf.bit_offset(true), bf.bitfield_size(true)), (32, 3));
    assert_eq!(
        t(6).data,
        BtfTypeData::Enum(vec![BtfEnum {
            name_off: 9,
            val: -5
        }])
    );
    assert!(t(7).kind_flag);
    assert_eq!(t(12).linkage(), Some(0));
    assert_eq!(t(13).params().len(), 2);
    assert_eq!(t(14).linkage(), Some(1));
    assert_eq!(t(17).data, BtfTypeData::DeclTag { component_idx: 1 });
    match &t(19).data {
        BtfTypeData::Enum64(v) => assert_eq!(v[0].value(), 0x0123_4567_89ab_cdef),
        other => panic!("{other:?}"),
    }
    assert_eq!(btf.size_of(3).unwrap(), 12);
    assert_eq!(btf.size_of(10).unwrap(), 8); // const volatile typedef of a pointer
    assert_eq!(btf.resolve(10).unwrap(), 2);
    assert_eq!(btf.resolve(18).unwrap(), 1);
    assert_eq!(btf.size_of(14).unwrap(), 4);
    assert_eq!(btf.size_of(16).unwrap(), 8);
    assert_eq!(btf.size_of(19).unwrap(), 8);
    assert!(btf.size_of(7).is_err() && btf.size_of(12).is_err() && btf.size_of(17).is_err());
    assert_eq!(btf.find(BtfKind::Func, "f"), Some(12));
    assert!(btf.is_extern_func("f"));
    assert_eq!(btf.type_name(8).unwrap(), "tagged");
}

#[test]
fn btf_newer_header_with_zero_extra_bytes() {
    let raw = every_kind();
    let mut long = raw[..24].to_vec();
    long[4] = 32;
    long.extend_from_slice(&[0; 8]);
    long.extend_from_slice(&raw[24..]);
    let btf = Btf::parse(&long).unwrap();
    assert_eq!(btf.types(), Btf::parse(&raw).unwrap().types());
    assert_eq!(btf.to_bytes(), long);

    long[30] = 1;
    assert_eq!(
        Btf::parse(&long),
        Err(BtfError::HeaderUnknownFields {
            what: "BTF",
            hdr_len: 32,
            offset: 30
        })
    );
}

// ------------------------------------------------------------ error classes

fn set_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn btf_header_errors() {
    let raw = every_kind();
    let err = |buf: &[u8]| Btf::parse(buf).unwrap_err();

    assert!(matches!(
        err(&raw[..10]),
        BtfError::HeaderTruncated {
            len: 10,
            need: 24,
            ..
        }
    ));
    assert!(matches!(err(&[]), BtfError::HeaderTruncated { len: 0, .. }));

    let mut b = raw.clone();
    b[0] = 0x12;
    assert!(matches!(err(&b), BtfError::BadMagic { magic: 0xeb12, .. }));

    let mut b = raw.clone();
    b[0] = 0xeb;
    b[1] = 0x9f;
    let e = err(&b);
    assert_eq!(e, BtfError::BigEndian { what: "BTF" });
    assert!(e.to_string().contains("big-endian"));

    let mut b = raw.clone();
    b[2] = 2;
    assert_eq!(
        err(&b),
        BtfError::BadVersion {
            what: "BTF",
            version: 2
        }
    );

    let mut b = raw.clone();
    set_u32(&mut b, 4, 16);
    assert!(matches!(
        err(&b),
        BtfError::HeaderLength { hdr_len: 16, .. }
    ));
    set_u32(&mut b, 4, 1 << 30);
    assert!(matches!(err(&b), BtfError::HeaderLength { .. }));

    // Type section longer than the data.
    let mut b = raw.clone();
    set_u32(&mut b, 12, u32::MAX);
    let e = err(&b);
    assert!(matches!(
        e,
        BtfError::SectionTruncated {
            section: "type section",
            len: u32::MAX,
            ..
        }
    ));
    assert!(e.to_string().contains("type section"));
    // String table cut short by truncating the buffer.
    let e = err(&raw[..raw.len() - 3]);
    assert!(matches!(
        e,
        BtfError::SectionTruncated {
            section: "string table",
            ..
        }
    ));
    // Offset overflow does not wrap.
    let mut b = raw.clone();
    set_u32(&mut b, 16, u32::MAX);
    set_u32(&mut b, 20, 2);
    assert!(matches!(err(&b), BtfError::SectionTruncated { .. }));

    // Overlapping sections.
    let mut b = raw.clone();
    let type_len = u32::from_le_bytes(b[12..16].try_into().unwrap());
    set_u32(&mut b, 16, type_len - 4);
    assert_eq!(err(&b), BtfError::SectionsOverlap);
}

#[test]
fn btf_string_table_errors() {
    let raw = every_kind();
    let type_len = u32::from_le_bytes(raw[12..16].try_into().unwrap()) as usize;
    let strings_at = 24 + type_len;

    let mut b = raw.clone();
    set_u32(&mut b, 20, 0);
    assert_eq!(Btf::parse(&b), Err(BtfError::StringTableEmpty));

    let mut b = raw.clone();
    b[strings_at] = b'a';
    assert_eq!(Btf::parse(&b), Err(BtfError::StringTableStart));

    let mut b = raw.clone();
    let last = b.len() - 1;
    b[last] = b'a';
    assert_eq!(Btf::parse(&b), Err(BtfError::StringTableEnd));

    // A name offset beyond the table: type 1's name_off.
    let mut b = raw.clone();
    set_u32(&mut b, 24, 999);
    assert!(matches!(
        Btf::parse(&b),
        Err(BtfError::StringOffset { offset: 999, .. })
    ));

    let btf = Btf::parse(&raw).unwrap();
    assert!(matches!(
        btf.string(5000),
        Err(BtfError::StringOffset { offset: 5000, .. })
    ));
    let len = btf.strings().len() as u32;
    assert!(matches!(
        btf.string(len),
        Err(BtfError::StringOffset { .. })
    ));
    assert_eq!(btf.string(1).unwrap(), "int");
    assert_eq!(btf.string(2).unwrap(), "nt");

    let bad = build(&[1, info(1, 0, false), 4, 32], b"\0\xff\xfe\0");
    let btf = Btf::parse(&bad).unwrap();
    assert_eq!(btf.string(1), Err(BtfError::StringUtf8 { offset: 1 }));
    assert_eq!(btf.type_name(1), Err(BtfError::StringUtf8 { offset: 1 }));
}

#[test]
fn btf_type_section_errors() {
    let strings = b"\0int\0";
    let int = [1, info(1, 0, false), 4, 32];

    let e = Btf::parse(&build(&[1, info(1, 0, false), 4], strings)).unwrap_err();
    assert_eq!(
        e,
        BtfError::TypeTruncated {
            type_id: 1,
            offset: 0,
            need: 16,
            available: 12
        }
    );
    // A struct whose vlen asks for more members than there are bytes.
    let mut words = int.to_vec();
    words.extend([0, info(4, 1000, false), 8, 1, 1, 0]);
    let e = Btf::parse(&build(&words, strings)).unwrap_err();
    assert_eq!(
        e,
        BtfError::TypeTruncated {
            type_id: 2,
            offset: 16,
            need: 12 + 12 * 1000,
            available: 24
        }
    );
    assert!(e.to_string().contains("type id 2"));

    for kind in [0, 20, 31] {
        let e = Btf::parse(&build(&[0, info(kind, 0, false), 0], strings)).unwrap_err();
        assert_eq!(
            e,
            BtfError::UnknownKind {
                kind: kind as u8,
                type_id: 1
            }
        );
    }
    let e = Btf::parse(&build(
        &[1, info(1, 0, false) | 0x0001_0000, 4, 32],
        strings,
    ))
    .unwrap_err();
    assert!(matches!(e, BtfError::InvalidInfo { type_id: 1, .. }));
    let e = Btf::parse(&build(&[0, info(2, 3, false), 0], strings)).unwrap_err();
    assert_eq!(
        e,
        BtfError::UnexpectedVlen {
            type_id: 1,
            kind: BtfKind::Ptr,
            vlen: 3
        }
    );

    let mut words = int.to_vec();
    words.extend([0, info(2, 0, false), 7]);
    assert_eq!(
        Btf::parse(&build(&words, strings)),
        Err(BtfError::BadTypeRef {
            type_id: 2,
            target: 7,
            max: 2
        })
    );
    let mut words = int.to_vec();
    words.extend([0, info(3, 0, false), 0, 1, 9, 4]);
    assert!(matches!(
        Btf::parse(&build(&words, strings)),
        Err(BtfError::BadTypeRef { target: 9, .. })
    ));
}

#[test]
#[rustfmt::skip]
fn btf_lookup_errors_and_loops() {
    let strings = b"\0a\0b\0";
    // 1: typedef a -> 2, 2: typedef b -> 1: a loop. 3: array of itself.
    let words = [
        1, info(8, 0, false), 2,
        3, info(8, 0, false), 1,
        0, info(3, 0, false), 0, 3, 3, 2,
    ];
    let btf = Btf::parse(&build(&words, strings)).unwrap();
    assert_eq!(
        btf.resolve(1),
        Err(BtfError::ReferenceLoop {
            id: 1,
            limit: MAX_RESOLVE_DEPTH
        })
    );
    assert!(matches!(btf.size_of(2), Err(BtfError::ReferenceLoop { id: 2, .. })));
    assert!(matches!(btf.size_of(3), Err(BtfError::ReferenceLoop { id: 3, .. })));
    assert_eq!(
        btf.type_by_id(4),
        Err(BtfError::TypeIdOutOfRange { id: 4, max: 3 })
    );
    assert!(btf.type_by_id(0).is_err());
    assert!(btf.type_by_id(u32::MAX).is_err());
    assert!(btf.resolve(77).is_err());
    assert_eq!(btf.size_of(0), Err(BtfError::NoSize { id: 0, kind: "void" }));

    // An array too large for 32 bits.
    let words = [1, info(1, 0, false), 8, 64, 0, info(3, 0, false), 0, 1, 1, u32::MAX];
    let btf = Btf::parse(&build(&words, b"\0i\0")).unwrap();
    assert_eq!(btf.size_of(2), Err(BtfError::SizeOverflow { id: 2 }));
}

/// How a test map member is declared.
#[derive(Clone, Copy)]
enum M {
    /// `__uint(name, n)`.
    Uint(u32),
    /// A member of this raw type id (see `map_btf`).
    Raw(u32),
}

/// BTF holding a map definition struct with `members`:
/// 1 int, 2 ARRAY[4] of int, 3 PTR -> 2, 4 FUNC_PROTO, 5 PTR -> 4,
/// 6 ARRAY[0] of 5 (prog array values), 7 STRUCT inner { type: 3 },
/// 8 PTR -> 7, 9 ARRAY[0] of 8 (map-in-map values), 10 the definition
/// struct, 11 VAR `m` of 10; then an ARRAY and a PTR per `M::Uint`.
#[rustfmt::skip]
fn map_btf(members: &[(&str, M)]) -> Btf {
    let mut strings = b"\0int\0m\0type\0".to_vec();
    let mut words = vec![
        1, info(1, 0, false), 4, 0x0100_0020,
        0, info(3, 0, false), 0, 1, 1, 4,
        0, info(2, 0, false), 2,
        0, info(13, 0, false), 1,
        0, info(2, 0, false), 4,
        0, info(3, 0, false), 0, 5, 1, 0,
        0, info(4, 1, false), 8, 7, 3, 0,
        0, info(2, 0, false), 7,
        0, info(3, 0, false), 0, 8, 1, 0,
        0, info(4, members.len() as u32, false), 8 * members.len() as u32,
    ];
    let mut extra = Vec::new();
    let mut next_id = 12;
    for (i, (name, member)) in members.iter().enumerate() {
        let off = strings.len() as u32;
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
        let type_id = match *member {
            M::Raw(id) => id,
            M::Uint(n) => {
                extra.extend([0, info(3, 0, false), 0, 1, 1, n]);
                extra.extend([0, info(2, 0, false), next_id]);
                next_id += 2;
                next_id - 1
            }
        };
        words.extend([off, type_id, 64 * i as u32]);
    }
    words.extend([5, info(14, 0, false), 10, 1]);
    words.extend(extra);
    Btf::parse(&build(&words, &strings)).unwrap()
}

fn map_err(members: &[(&str, M)]) -> MapProblem {
    match map_btf(members).map_definition(11) {
        Err(BtfError::Map { map, problem }) => {
            assert_eq!(map, "m");
            problem
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn btf_map_definition_errors() {
    use M::{Raw, Uint};
    let def = map_btf(&[("type", Uint(3)), ("max_entries", Uint(9)), ("key", Raw(3))])
        .map_definition(11)
        .unwrap();
    assert_eq!(
        (def.map_type, def.max_entries, def.key_size, def.key_type_id),
        (Some(3), Some(9), Some(16), 2)
    );

    assert_eq!(
        map_err(&[("max_entries", Raw(1))]),
        MapProblem::NotPtrToArray {
            member: "max_entries".into()
        }
    );
    let e = map_btf(&[("max_entries", Raw(1))])
        .map_definition(11)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "map `m`: member `max_entries` is neither a pointer to an array nor an enum of one value \
         (declare it with __uint or __ulong)"
    );
    assert_eq!(
        map_err(&[("type", Raw(5))]),
        MapProblem::NotPtrToArray {
            member: "type".into()
        }
    );
    assert_eq!(
        map_err(&[("key", Raw(1))]),
        MapProblem::NotPtr {
            member: "key".into()
        }
    );
    assert_eq!(
        map_err(&[("flavour", Uint(1))]),
        MapProblem::UnknownMember {
            member: "flavour".into()
        }
    );
    assert_eq!(
        map_err(&[("", Uint(1))]),
        MapProblem::AnonymousMember { index: 0 }
    );

    // key_size 4 but key is `int[4] *` (16 bytes), in either order.
    let mismatch = MapProblem::SizeMismatch {
        size_member: "key_size",
        type_member: "key",
        declared: 4,
        type_size: 16,
    };
    assert_eq!(map_err(&[("key_size", Uint(4)), ("key", Raw(3))]), mismatch);
    assert_eq!(map_err(&[("key", Raw(3)), ("key_size", Uint(4))]), mismatch);
    let agreeing = map_btf(&[("key", Raw(3)), ("key_size", Uint(16))]);
    assert_eq!(agreeing.map_definition(11).unwrap().key_size, Some(16));
    // `value` pointing at a function prototype has no size.
    assert!(matches!(
        map_err(&[("value", Raw(5))]),
        MapProblem::MemberType { ref member, .. } if member == "value"
    ));

    // values: a zero-length array, last, of pointers, to a proto or struct,
    // matching the map type.
    assert_eq!(
        map_err(&[("values", Raw(2))]),
        MapProblem::ValuesNotEmptyArray
    );
    assert_eq!(
        map_err(&[("values", Raw(6)), ("type", Uint(3))]),
        MapProblem::ValuesNotLast
    );
    assert_eq!(
        map_err(&[("type", Uint(1)), ("values", Raw(6))]),
        MapProblem::ValuesWrongMapType { map_type: 1 }
    );
    assert_eq!(
        map_err(&[("type", Uint(3)), ("values", Raw(9))]),
        MapProblem::ValuesMismatch {
            map_type: 3,
            found: "an inner map",
            expected: "programs"
        }
    );
    assert_eq!(
        map_err(&[("type", Uint(13)), ("values", Raw(6))]),
        MapProblem::ValuesMismatch {
            map_type: 13,
            found: "programs",
            expected: "an inner map definition"
        }
    );
    assert_eq!(
        map_err(&[("value_size", Uint(8)), ("values", Raw(6))]),
        MapProblem::ValuesValueSize { declared: 8 }
    );
    let prog_array = map_btf(&[
        ("type", Uint(3)),
        ("value_size", Uint(4)),
        ("values", Raw(6)),
    ])
    .map_definition(11)
    .unwrap();
    assert_eq!(prog_array.values, Some(BtfMapValues::Programs));
    assert_eq!(
        (prog_array.value_size, prog_array.values_offset),
        (Some(4), 16)
    );
    let in_map = map_btf(&[("type", Uint(12)), ("values", Raw(9))])
        .map_definition(11)
        .unwrap();
    let inner = BtfMapDef {
        map_type: Some(4),
        ..BtfMapDef::default()
    };
    assert_eq!(in_map.values, Some(BtfMapValues::Maps(Box::new(inner))));

    // The definition must be a struct, and the id must exist.
    let btf = map_btf(&[]);
    assert!(matches!(
        btf.map_definition(1),
        Err(BtfError::Map {
            problem: MapProblem::NotStruct { kind: "INT" },
            ..
        })
    ));
    assert!(matches!(
        btf.map_definition(99),
        Err(BtfError::TypeIdOutOfRange { .. })
    ));
}

#[test]
#[rustfmt::skip]
fn btf_map_definition_inner_nesting_is_bounded() {
    // inner struct 7 gets a `values` member pointing back at itself (via 9):
    // rewrite type 7 by hand. A self-referencing definition must not recurse.
    let strings = b"\0int\0m\0type\0values\0".to_vec();
    let words = vec![
        1, info(1, 0, false), 4, 0x0100_0020,
        0, info(3, 0, false), 0, 1, 1, 12,
        0, info(2, 0, false), 2,
        0, info(4, 2, false), 16, 7, 3, 0, 12, 6, 64,
        0, info(2, 0, false), 4,
        0, info(3, 0, false), 0, 5, 1, 0,
        5, info(14, 0, false), 4, 1,
    ];
    let btf = Btf::parse(&build(&words, &strings)).unwrap();
    let e = btf.map_definition(7).unwrap_err();
    assert_eq!(
        e,
        BtfError::Map {
            map: "m".into(),
            problem: MapProblem::NestedTooDeep
        }
    );
}

// ------------------------------------------------------------ mutation loop

/// Uses every entry point on `btf`; none may panic. A parse that succeeded
/// must also round-trip.
fn exercise(btf: &Btf, ext: &[u8]) {
    let bytes = btf.to_bytes();
    assert_eq!(Btf::parse(&bytes).as_ref(), Ok(btf));
    for id in 0..=btf.max_type_id().saturating_add(1) {
        let _ = btf.type_by_id(id);
        let _ = btf.type_name(id);
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.map_definition(id);
    }
    let _ = btf.datasecs();
    let _ = btf.find(BtfKind::Struct, "flow_key");
    let _ = btf.is_extern_func("bpf_kfunc_example");
    let mut fixed = btf.clone();
    if fixed.fix_datasecs(|_| Some(64), |_, _| Some(8)).is_ok() {
        assert_eq!(Btf::parse(&fixed.to_bytes()), Ok(fixed));
    }
    let _ = BtfExt::parse(ext, btf);
    if let Ok(bytes) = btf.kernel_bytes() {
        Btf::parse(&bytes).unwrap();
    }
}

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Damaged variants of `input`: every truncation, interesting u32 values at
/// every aligned offset, interesting bytes at every offset, and random
/// multi-byte damage.
fn mutations(input: &[u8], seed: u64, random: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for len in 0..input.len() {
        out.push(input[..len].to_vec());
    }
    for off in (0..input.len().saturating_sub(3)).step_by(4) {
        for v in [0u32, 1, 2, 0x7f, 0xffff, 0x8000_0000, u32::MAX] {
            let mut b = input.to_vec();
            b[off..off + 4].copy_from_slice(&v.to_le_bytes());
            out.push(b);
        }
    }
    for off in 0..input.len() {
        for f in [|x: u8| x ^ 0x80, |x: u8| x.wrapping_add(1), |_| 0xff] {
            let mut b = input.to_vec();
            b[off] = f(b[off]);
            out.push(b);
        }
    }
    let mut rng = Rng(seed);
    for _ in 0..random {
        let mut b = input.to_vec();
        for _ in 0..1 + rng.below(8) {
            let off = rng.below(b.len());
            b[off] = rng.next() as u8;
        }
        if rng.below(4) == 0 {
            b.truncate(rng.below(b.len() + 1));
        }
        out.push(b);
    }
    out
}

#[test]
fn btf_mutations_never_panic() {
    let globals = section_bytes(GLOBALS_O, ".BTF");
    let globals_ext = section_bytes(GLOBALS_O, ".BTF.ext");
    let maps = section_bytes(MAPS_O, ".BTF");
    let maps_ext = section_bytes(MAPS_O, ".BTF.ext");
    let hand = every_kind();
    let (mut cases, mut ok) = (0usize, 0usize);

    for (input, ext, seed) in [
        (globals, globals_ext, 1),
        (maps, maps_ext, 2),
        (&hand[..], globals_ext, 3),
        (
            section_bytes(EXTERNS_O, ".BTF"),
            section_bytes(EXTERNS_O, ".BTF.ext"),
            5,
        ),
    ] {
        for damaged in mutations(input, seed, 3000) {
            cases += 1;
            if let Ok(btf) = Btf::parse(&damaged) {
                ok += 1;
                exercise(&btf, ext);
            }
        }
    }
    // The BTF.ext parser, damaged against an intact .BTF.
    let btf = Btf::parse(globals).unwrap();
    for damaged in mutations(globals_ext, 4, 3000) {
        cases += 1;
        if let Ok(ext) = BtfExt::parse(&damaged, &btf) {
            ok += 1;
            let records = ext.func_info.len() + ext.line_info.len() + ext.core_relocs.len();
            assert!(records <= damaged.len() / 8);
        }
    }
    eprintln!("{cases} damaged buffers, {ok} still parsed");
    assert!(cases > 20_000, "{cases}");
    // Both outcomes occur: damage inside names or offsets keeps a valid
    // parse, damage to the header or kinds does not.
    assert!(ok > 100 && ok < cases - 1000, "{ok} of {cases}");
}

// ------------------------------------------------------------- split BTF

#[test]
#[rustfmt::skip]
fn btf_split_parses_on_its_base() {
    let base = std::sync::Arc::new(Btf::parse(&every_kind()).unwrap());
    let at = base.strings().len() as u32;
    // Own strings continue the base's: "modstruct" at `at`, "a" at `at+10`,
    // "mod_func" at `at+12`; own types from 21 on.
    let strings = b"modstruct\0a\0mod_func\0";
    let words: Vec<u32> = vec![
        /* 21 PTR -> int (base) */ 0, info(2, 0, false), 1,
        /* 22 STRUCT modstruct { int a; int *b } */ at, info(4, 2, false), 16,
            at + 10, 1, 0, 0, 21, 64,
        /* 23 FUNC mod_func -> base FUNC_PROTO 13 */ at + 12, info(12, 0, false), 13,
    ];
    let split = Btf::parse_split(&build(&words, strings), base.clone()).unwrap();
    assert_eq!((split.first_type_id(), split.max_type_id()), (21, 23));
    assert_eq!(split.string_base(), at);
    assert_eq!(split.types().len(), 3);
    // Ids and strings of both: the base's through the split one.
    assert_eq!(split.type_name(1).unwrap(), "int");
    assert_eq!(split.type_name(22).unwrap(), "modstruct");
    assert_eq!(split.string(at + 10).unwrap(), "a");
    assert_eq!(split.size_of(22).unwrap(), 16);
    assert_eq!(split.size_of(21).unwrap(), 8);
    assert_eq!(split.type_by_id(23).unwrap().size_or_type, 13);
    // `find` searches the split BTF's own types only.
    assert_eq!(split.find(BtfKind::Func, "mod_func"), Some(23));
    assert_eq!(split.find(BtfKind::Int, "int"), None);
    assert_eq!(split.types_with_ids().map(|(id, _)| id).collect::<Vec<_>>(), [21, 22, 23]);
    // A string added goes after everything; the split BTF writes itself alone.
    let mut grown = split.clone();
    let added = grown.add_string("more");
    assert_eq!(added, at + strings.len() as u32);
    assert_eq!(grown.string(added).unwrap(), "more");
    let reparsed = Btf::parse_split(&split.to_bytes(), base.clone()).unwrap();
    assert_eq!(reparsed, split);
    // Out of range for the split BTF: a type past its last, a name past
    // its strings.
    let bad_ref = [0, info(2, 0, false), 22];
    assert!(matches!(
        Btf::parse_split(&build(&bad_ref, b"\0"), base.clone()),
        Err(BtfError::BadTypeRef { type_id: 21, target: 22, max: 21 })
    ));
    let bad_name = [at + 5, info(2, 0, false), 1];
    assert!(matches!(
        Btf::parse_split(&build(&bad_name, b"ab\0"), base.clone()),
        Err(BtfError::StringOffset { .. })
    ));
    // The base alone does not reach into the split one.
    assert!(base.type_by_id(21).is_err());
}

// ------------------------------------------------------------- sanitizing

#[test]
fn btf_sanitized_replaces_what_the_kernel_lacks() {
    let btf = Btf::parse(&every_kind()).unwrap();
    assert_eq!(btf.sanitized(&BtfFeatures::ALL), btf);
    let none = BtfFeatures {
        func: false,
        func_global: false,
        datasec: false,
        float: false,
        decl_tag: false,
        type_tag: false,
        enum64: false,
    };
    assert_eq!(none.missing().len(), 7);
    let old = btf.sanitized(&none);
    // Round-trips: the rewrite is BTF.
    let old = Btf::parse(&old.to_bytes()).unwrap();
    let kind = |id: u32| old.type_by_id(id).unwrap().kind;
    // Enum loses its sign, keeps its values.
    assert!(!old.type_by_id(6).unwrap().kind_flag);
    assert_eq!(kind(6), BtfKind::Enum);
    // FUNCs are typedefs of enums standing for their prototypes.
    assert_eq!(
        (kind(12), kind(13), kind(20)),
        (BtfKind::Typedef, BtfKind::Enum, BtfKind::Typedef)
    );
    assert_eq!(old.type_by_id(13).unwrap().size_or_type, 4);
    // The VAR a 1-byte INT, the DATASEC a struct of the same size.
    assert_eq!((kind(14), old.size_of(14).unwrap()), (BtfKind::Int, 1));
    let datasec = old.type_by_id(15).unwrap();
    assert_eq!((datasec.kind, datasec.size_or_type), (BtfKind::Struct, 4));
    assert_eq!(old.string(datasec.members()[0].name_off).unwrap(), "x");
    // FLOAT: an anonymous empty struct of its size; tags: INT and CONST.
    let float = old.type_by_id(16).unwrap();
    assert_eq!(
        (float.kind, float.size_or_type, float.name_off),
        (BtfKind::Struct, 8, 0)
    );
    assert_eq!((kind(17), kind(18)), (BtfKind::Int, BtfKind::Const));
    // ENUM64: a union of 1-byte placeholders, of its size.
    let e64 = old.type_by_id(19).unwrap();
    assert_eq!((e64.kind, e64.size_or_type), (BtfKind::Union, 8));
    let placeholder = e64.members()[0].type_id;
    assert_eq!(old.type_name(placeholder).unwrap(), "enum64_placeholder");
    assert_eq!(old.max_type_id(), 21);
    // Only global FUNC unknown: static FUNCs, nothing else touched.
    let no_global = BtfFeatures {
        func_global: false,
        ..BtfFeatures::ALL
    };
    let linkages = btf.sanitized(&no_global);
    assert_eq!(linkages.type_by_id(20).unwrap().linkage(), Some(0));
    assert_eq!(linkages.type_by_id(19).unwrap().kind, BtfKind::Enum64);
    // A DATASEC named `.data` becomes a struct named `_data`.
    #[rustfmt::skip]
    let words = [
        /* 1 INT int */ 1, info(1, 0, false), 4, 0x0100_0020,
        /* 2 VAR x */ 5, info(14, 0, false), 1, 1,
        /* 3 DATASEC .data */ 7, info(15, 1, false), 4, 2, 0, 4,
    ];
    let data = Btf::parse(&build(&words, b"\0int\0x\0.data\0")).unwrap();
    let old = data.sanitized(&none);
    assert_eq!(old.type_name(3).unwrap(), "_data");
    assert_eq!(old.type_by_id(3).unwrap().kind, BtfKind::Struct);
    assert_eq!(
        data.type_name(3).unwrap(),
        ".data",
        "the original is left alone"
    );
}

#[test]
#[rustfmt::skip]
fn btf_ulong_attributes_are_one_value_enums() {
    // `__ulong(map_extra, 1ull << 44)`: `enum { ___x = 1ull << 44 } map_extra`.
    let definition = |extra_type: u32, flags_type: u32| {
        let words = vec![
            /* 1 INT int */ 1, info(1, 0, false), 4, 0x0100_0020,
            /* 2 ARRAY[33] of int */ 0, info(3, 0, false), 0, 1, 1, 33,
            /* 3 PTR -> 2 */ 0, info(2, 0, false), 2,
            /* 4 ENUM64 { ___x = 1 << 44 } */ 0, info(19, 1, false), 8, 5, 0, 1 << 12,
            /* 5 ENUM unsigned { ___x = 0x8000_0000 } */ 0, info(6, 1, false), 4, 5, 0x8000_0000,
            /* 6 ENUM signed { ___x = -1 } */ 0, info(6, 1, true), 4, 5, u32::MAX,
            /* 7 ENUM of two values */ 0, info(6, 2, false), 4, 5, 1, 5, 2,
            /* 8 STRUCT { type; map_extra; map_flags } */ 0, info(4, 3, false), 24,
                12, 3, 0, 17, extra_type, 64, 27, flags_type, 128,
            /* 9 VAR m */ 10, info(14, 0, false), 8, 1,
        ];
        Btf::parse(&build(&words, b"\0int\0___x\0m\0type\0map_extra\0map_flags\0"))
            .unwrap()
            .map_definition(9)
    };
    let def = definition(4, 3).unwrap();
    assert_eq!((def.map_type, def.map_extra, def.map_flags), (Some(33), 1 << 44, 33));
    assert_eq!(definition(5, 5).unwrap().map_extra, 0x8000_0000, "unsigned: zero-extended");
    assert_eq!(definition(5, 5).unwrap().map_flags, 0x8000_0000);
    assert_eq!(definition(6, 3).unwrap().map_extra, u64::MAX, "signed: sign-extended");
    // A 32-bit attribute must fit; an enum of two values is no __ulong.
    let error = definition(4, 4).unwrap_err();
    assert_eq!(
        error.to_string(),
        "map `m`: member `map_flags` is 0x100000000000, which does not fit its 32 bits"
    );
    assert!(matches!(
        definition(7, 3),
        Err(BtfError::Map { problem: MapProblem::NotPtrToArray { .. }, .. })
    ));
}

#[test]
fn btf_holds_struct_looks_through_members_and_arrays() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj/map_defaults.o");
    let elf = std::fs::read(&path).expect("progs/obj/map_defaults.o (make progs)");
    let btf = parsed(&elf);
    let locked = btf.find(BtfKind::Struct, "locked").expect("struct locked");
    assert!(btf.holds_struct(locked, "bpf_spin_lock"));
    // `struct inner` describes a map: its members are pointers to arrays,
    // no value of its own.
    let inner = btf.find(BtfKind::Struct, "inner").expect("struct inner");
    assert!(!btf.holds_struct(inner, "bpf_spin_lock"));
    let int = btf.find(BtfKind::Int, "int").expect("int");
    assert!(!btf.holds_struct(int, "bpf_spin_lock"));
    assert!(!btf.holds_struct(0, "bpf_spin_lock"));
    assert!(!btf.holds_struct(btf.max_type_id() + 1, "bpf_spin_lock"));
}

#[test]
fn btf_func_named_from_expands_a_kernel_name_as_libxdp_does() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj/sections.o");
    let elf = std::fs::read(&path).expect("progs/obj/sections.o (make progs)");
    let btf = parsed(&elf);
    // The kernel keeps 15 bytes of a name: `kretprobe_sys_write` is
    // `kretprobe_sys_w` in BPF_OBJ_GET_INFO_BY_FD.
    assert_eq!(
        btf.func_named_from("kretprobe_sys_w"),
        Some("kretprobe_sys_write")
    );
    assert_eq!(
        btf.func_named_from("kprobe_sys_write"),
        Some("kprobe_sys_write")
    );
    // `k` starts two names (kprobe_sys_write, kretprobe_sys_write):
    // ambiguous, no answer.
    assert_eq!(btf.func_named_from("kprobe_"), Some("kprobe_sys_write"));
    assert_eq!(btf.func_named_from("k"), None);
    assert_eq!(btf.func_named_from("no_such_func"), None);
}
