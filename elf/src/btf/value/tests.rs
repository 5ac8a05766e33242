//! The value reader and writer against clang's own layout
//! (`testdata/values.c`: a struct of every kind, its sample in `.data`),
//! hand-built BTF for what clang 14 does not emit (ENUM64, INT
//! bitfields, signed enums) and crafted BTF that must give errors.

use object::{Object, ObjectSection, ObjectSymbol};

use super::*;
use crate::btf::{
    Btf, BtfEnum, BtfEnum64, BtfInt, BtfKind, BtfMember, BtfType, BtfTypeData, VarSecinfo,
};

const VALUES_O: &[u8] = include_bytes!("../testdata/values.o");

/// The object's BTF with its `.data` DATASEC completed (as a loader
/// does), and the bytes of `.data`.
fn values() -> (Btf, Vec<u8>) {
    let file = object::File::parse(VALUES_O).unwrap();
    let section = |name: &str| file.section_by_name(name).unwrap();
    let mut btf = Btf::parse(section(".BTF").data().unwrap()).unwrap();
    let data = section(".data").data().unwrap().to_vec();
    let size = data.len() as u32;
    let symbols: Vec<(String, u32)> = file
        .symbols()
        .map(|s| (s.name().unwrap_or("").to_owned(), s.address() as u32))
        .collect();
    btf.fix_datasecs(
        |name| (name == ".data").then_some(size),
        |_, var| symbols.iter().find(|(n, _)| n == var).map(|(_, off)| *off),
    )
    .unwrap();
    (btf, data)
}

fn id(btf: &Btf, kind: BtfKind, name: &str) -> u32 {
    btf.find(kind, name)
        .unwrap_or_else(|| panic!("{kind} {name}"))
}

fn uint(v: u64) -> Value {
    Value::Uint(v)
}

fn int(v: i64) -> Value {
    Value::Int(v)
}

fn named(name: &str, value: i64) -> Value {
    Value::Enum {
        name: Some(name.to_owned()),
        value,
    }
}

/// The sample as the reader must see it: every kind of member.
fn sample_value() -> Value {
    let fields = |list: Vec<(&str, Value)>| {
        Value::Fields(list.into_iter().map(|(n, v)| (n.to_owned(), v)).collect())
    };
    fields(vec![
        ("packets", uint(1_234_567_890_123)),
        ("delta", int(-42)),
        ("cv", uint(7)),
        ("proto", named("PROTO_UDP", 17)),
        (
            "flags",
            fields(vec![
                ("low", uint(5)),
                ("mid", uint(17)),
                ("neg", int(-3)),
                ("proto", named("PROTO_TCP", 6)),
                ("on", Value::Bool(true)),
            ]),
        ),
        (
            "addr",
            fields(vec![
                ("v4", uint(0x0100_007f)),
                (
                    "bytes",
                    Value::Array(
                        [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
                            .into_iter()
                            .map(uint)
                            .collect(),
                    ),
                ),
            ]),
        ),
        (
            "inner",
            Value::Array(vec![
                fields(vec![("s", int(-2)), ("sc", int(-1)), ("ch", int(120))]),
                fields(vec![("s", int(300)), ("sc", int(5)), ("ch", int(121))]),
            ]),
        ),
        ("name", Value::Str("eth0".into())),
        (
            "mac",
            Value::Array([2, 0, 0, 0, 0, 1].into_iter().map(uint).collect()),
        ),
        ("ptr", Value::Pointer(0)),
        ("f", Value::Bytes(1.5f32.to_le_bytes().to_vec())),
        ("d", Value::Bytes((-0.25f64).to_le_bytes().to_vec())),
        ("ok", Value::Bool(true)),
        // The anonymous struct's members are the parent's.
        ("anon_a", int(10)),
        ("anon_b", int(-20)),
        // 128-bit INTs are shown as their bytes.
        (
            "wide",
            Value::Bytes((-(1i128 << 100)).to_le_bytes().to_vec()),
        ),
        (
            "uwide",
            Value::Bytes(((1u128 << 127) | 1).to_le_bytes().to_vec()),
        ),
    ])
}

#[test]
fn clangs_sample_reads_member_by_member() {
    let (btf, data) = values();
    let value = id(&btf, BtfKind::Struct, "value");
    let got = format(&btf, value, &data[..144], "value").unwrap();
    assert_eq!(got, sample_value());
    assert_eq!(
        got.to_string(),
        "{packets: 1234567890123, delta: -42, cv: 7, proto: PROTO_UDP, \
         flags: {low: 5, mid: 17, neg: -3, proto: PROTO_TCP, on: true}, \
         addr: {v4: 16777343, bytes: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}, \
         inner: [{s: -2, sc: -1, ch: 120}, {s: 300, sc: 5, ch: 121}], name: \"eth0\", \
         mac: [2, 0, 0, 0, 0, 1], ptr: 0x0, f: <00 00 c0 3f>, d: <00 00 00 00 00 00 d0 bf>, ok: true, anon_a: 10, \
         anon_b: -20, wide: <00 00 00 00 00 00 00 00 00 00 00 00 f0 ff ff ff>, \
         uwide: <01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80>}"
    );
    assert_eq!(got.field("cv"), Some(&uint(7)));
    assert_eq!(got.field("nope"), None);
}

#[test]
fn a_datasec_reads_variable_by_variable() {
    let (btf, data) = values();
    let section = id(&btf, BtfKind::Datasec, ".data");
    let got = format(&btf, section, &data, "value").unwrap();
    let Value::Fields(vars) = &got else {
        panic!("{got:?}")
    };
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["sample", "last_proto", "counters"]);
    assert_eq!(vars[0].1, sample_value());
    // -1 in an unsigned (clang 14) enum: the enumerator that was -1.
    assert_eq!(vars[1].1, named("PROTO_BAD", 0xffff_ffff));
    assert_eq!(
        vars[2].1,
        Value::Array(vec![uint(1), uint(2), uint(3), uint(4)])
    );
}

#[test]
fn short_values_are_errors_that_name_the_member() {
    let (btf, data) = values();
    let value = id(&btf, BtfKind::Struct, "value");
    // `uwide` is bytes 128..144.
    let error = format(&btf, value, &data[..140], "value").unwrap_err();
    assert_eq!(
        error,
        ValueError::Truncated {
            path: "value.uwide".into(),
            start: 128,
            end: 144,
            len: 140
        }
    );
    assert_eq!(
        error.to_string(),
        "value.uwide: needs bytes 128..144, the value has 140"
    );
    let error = format(&btf, value, &data[..50], "value").unwrap_err();
    assert!(
        error.to_string() == "value.inner: needs bytes 44..52, the value has 50",
        "{error}"
    );
}

#[test]
fn char_arrays_that_are_not_text_stay_arrays() {
    let (btf, _) = values();
    let value = id(&btf, BtfKind::Struct, "value");
    let name = btf.type_by_id(value).unwrap().members()[7].type_id;
    let read = |bytes: &[u8]| format(&btf, name, bytes, "name").unwrap();
    assert_eq!(read(b"eth0\0\0\0\0"), Value::Str("eth0".into()));
    assert_eq!(read(b"abcdefgh"), Value::Str("abcdefgh".into()));
    assert_eq!(read(&[0; 8]), Value::Str(String::new()));
    // Bytes after the NUL: not a C string, show every char.
    let mixed = read(b"ab\0c\0\0\0\x01");
    assert_eq!(mixed.to_string(), "[97, 98, 0, 99, 0, 0, 0, 1]");
}

#[test]
fn the_sample_encodes_back_to_clangs_bytes() {
    let (btf, data) = values();
    let value = id(&btf, BtfKind::Struct, "value");
    let text = "packets=1234567890123,delta=-42,cv=7,proto=PROTO_UDP,\
                flags.low=5,flags.mid=0x11,flags.neg=-3,flags.proto=PROTO_TCP,flags.on=true,\
                addr.v4=0x0100007f,inner[0].s=-2,inner[0].sc=-1,inner[0].ch=120,\
                inner[1].s=300,inner[1].sc=5,inner[1].ch=121,name=eth0,mac[0]=2,mac[5]=1,\
                ptr=0,f=0x3fc00000,d=0xbfd0000000000000,ok=1,anon_a=10,anon_b=-20";
    let input = Input::parse(&[text], "value").unwrap();
    assert_eq!(input, Input::Fields(text.into()));
    let bytes = encode(Some((&btf, value)), &input, 144, "value").unwrap();
    // The 128-bit INTs at 112.. are left zero: they take hex bytes only.
    assert_eq!(bytes[..112], data[..112]);
    assert!(bytes[112..].iter().all(|&b| b == 0));
    // What is not named is zero; a later assignment wins.
    let bytes = encode(
        Some((&btf, value)),
        &Input::Fields("cv=1, cv=9 ,name=a b".into()),
        144,
        "value",
    )
    .unwrap();
    let read = format(&btf, value, &bytes, "value").unwrap();
    assert_eq!(read.field("cv"), Some(&uint(9)));
    assert_eq!(read.field("name"), Some(&Value::Str("a b".into())));
    assert_eq!(read.field("packets"), Some(&uint(0)));
    assert_eq!(bytes.iter().filter(|&&b| b != 0).count(), 4);
}

#[test]
fn datasec_variables_encode_by_name() {
    let (btf, data) = values();
    let section = id(&btf, BtfKind::Datasec, ".data");
    let bytes = encode(
        Some((&btf, section)),
        &Input::Fields(
            "last_proto=PROTO_BAD,counters[0]=1,counters[1]=2,counters[2]=3,counters[3]=4".into(),
        ),
        data.len(),
        "value",
    )
    .unwrap();
    assert_eq!(&bytes[144..], &data[144..]);
}

#[test]
fn literals_and_numbers_through_btf() {
    let (btf, _) = values();
    let proto = id(&btf, BtfKind::Enum, "proto");
    let enc = |input: Input| encode(Some((&btf, proto)), &input, 4, "key");
    assert_eq!(enc(Input::Word("PROTO_TCP".into())).unwrap(), [6, 0, 0, 0]);
    assert_eq!(enc(Input::Word("17".into())).unwrap(), [17, 0, 0, 0]);
    assert_eq!(
        enc(Input::Word("-1".into())).unwrap(),
        [0xff, 0xff, 0xff, 0xff]
    );
    let error = enc(Input::Word("PROTO_ICMP".into())).unwrap_err();
    assert_eq!(
        error.to_string(),
        "key: `PROTO_ICMP` is not an enumerator of enum proto \
         (it has: PROTO_NONE, PROTO_TCP, PROTO_UDP, PROTO_BAD)"
    );
    // A u32 refuses what does not fit it; an int takes -1.
    let u32_id = id(&btf, BtfKind::Typedef, "u32");
    let error = encode(Some((&btf, u32_id)), &Input::Word("-1".into()), 4, "key").unwrap_err();
    assert_eq!(
        error.to_string(),
        "key: -1 does not fit u32 (0..=4294967295)"
    );
    let int_id = id(&btf, BtfKind::Int, "int");
    assert_eq!(
        encode(Some((&btf, int_id)), &Input::Word("-2".into()), 4, "key").unwrap(),
        [0xfe, 0xff, 0xff, 0xff]
    );
    let error = encode(
        Some((&btf, int_id)),
        &Input::Word("0x80000000".into()),
        4,
        "key",
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "key: 0x80000000 does not fit int (-2147483648..=2147483647)"
    );
}

#[test]
fn field_errors_name_the_field() {
    let (btf, _) = values();
    let value = id(&btf, BtfKind::Struct, "value");
    let enc = |text: &str| {
        encode(
            Some((&btf, value)),
            &Input::Fields(text.into()),
            144,
            "value",
        )
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        enc("packet=1"),
        "value has no member `packet` (its members: packets, delta, cv, proto, flags, addr, \
         inner, name, mac, ptr, f, d, ok, anon_a, anon_b, wide, uwide)"
    );
    assert_eq!(
        enc("flags.low=8"),
        "value.flags.low: 8 does not fit u32:3 (0..=7)"
    );
    assert_eq!(
        enc("flags.neg=-9"),
        "value.flags.neg: -9 does not fit int:4 (-8..=7)"
    );
    assert_eq!(
        enc("inner[2].s=1"),
        "value.inner[2] has no member `s` (its members: none)"
    );
    assert_eq!(
        enc("packets.x=1"),
        "value.packets has no member `x` (its members: none)"
    );
    assert_eq!(
        enc("cv[0]=1"),
        "value.cv has no member `[0]` (its members: none)"
    );
    assert_eq!(
        enc("flags.lo=1"),
        "value.flags has no member `lo` (its members: low, mid, neg, proto, on)"
    );
    assert_eq!(
        enc("flags=1"),
        "value.flags is struct flags: give its members (`value.flags.NAME=...`) or elements \
         (`value.flags[I]=...`), or hex bytes"
    );
    assert_eq!(
        enc("name=toolongname"),
        "value.name: \"toolongname\" is 11 bytes, the array has 8"
    );
    assert_eq!(
        enc("packets=x"),
        "value.packets: `x` is not a number (decimal, or hex after 0x)"
    );
    assert_eq!(
        enc("f=one"),
        "value.f: `one` is not a number (decimal, or hex after 0x)"
    );
    assert_eq!(
        enc("f=-1"),
        "value.f: -1 does not fit float (0..=4294967295)"
    );
    assert_eq!(
        enc("=1"),
        "value: `=1` is not an assignment: MEMBER=VALUE, MEMBER.SUB=VALUE or MEMBER[I]=VALUE"
    );
    assert_eq!(
        enc("a..b=1"),
        "value.a. has no member `b` (its members: none)"
    );
    assert_eq!(
        enc("flags.low.x=1"),
        "value.flags.low has no member `x` (its members: none)"
    );
}

#[test]
fn raw_numbers_and_bytes_without_btf() {
    let enc = |words: &[&str], size| {
        Input::parse(words, "key").and_then(|input| encode(None, &input, size, "key"))
    };
    assert_eq!(enc(&["78"], 4).unwrap(), [78, 0, 0, 0]);
    assert_eq!(enc(&["0x4e"], 4).unwrap(), [78, 0, 0, 0]);
    assert_eq!(enc(&["-1"], 2).unwrap(), [0xff, 0xff]);
    assert_eq!(enc(&["0x123456"], 3).unwrap(), [0x56, 0x34, 0x12]);
    assert_eq!(enc(&["78", "0", "0", "0"], 4).unwrap(), [78, 0, 0, 0]);
    assert_eq!(enc(&["0x4e", "1"], 2).unwrap(), [78, 1]);
    assert_eq!(
        enc(&["hex", "4e", "00", "00", "00"], 4).unwrap(),
        [78, 0, 0, 0]
    );
    assert_eq!(enc(&["hex", "4e000000"], 4).unwrap(), [78, 0, 0, 0]);
    let u64_max = u64::MAX.to_string();
    assert_eq!(enc(&[u64_max.as_str()], 8).unwrap(), [0xff; 8]);
    let err = |words: &[&str], size| enc(words, size).unwrap_err().to_string();
    assert_eq!(
        err(&["256"], 1),
        "key: 256 does not fit 1 bytes (-128..=255)"
    );
    assert_eq!(
        err(&["-129"], 1),
        "key: -129 does not fit 1 bytes (-128..=255)"
    );
    assert_eq!(err(&["78", "0"], 4), "key: 2 bytes given, it has 4");
    assert_eq!(
        err(&["hex", "4e0"], 2),
        "key: `4e0` is not hex bytes (two digits a byte: hex 4e 00 00 00)"
    );
    assert_eq!(
        err(&["1", "256"], 2),
        "key: `256` is not a byte (0..=255): several words are bytes, as in bpftool"
    );
    assert_eq!(
        err(&["1"], 16),
        "key: `1` is not hex bytes: a number gives 1 to 8 bytes, and this has more (or none)"
    );
    assert_eq!(
        err(&["a=1"], 4),
        "key: the map has no BTF type for it, so `a=1` cannot be read by name; \
         give a number or hex bytes"
    );
    assert_eq!(
        err(&["PROTO_TCP"], 4),
        "key: the map has no BTF type for it, so `PROTO_TCP` cannot be read by name; \
         give a number or hex bytes"
    );
    assert_eq!(err(&[], 4), "key: `` is not a key or value: it is missing");
    assert_eq!(
        err(&["1x"], 4),
        "key: `1x` is not a number (decimal, or hex after 0x)"
    );
    assert_eq!(
        err(&["0x"], 4),
        "key: `0x` is not a number (decimal, or hex after 0x)"
    );
}

// ------------------------------------------------------- hand-built BTF

/// A BTF of `types` (id 1 first) with names from `names` (each name's
/// offset is its position in the NUL-separated table, the first empty).
fn hand_built(types: Vec<BtfType>, names: &[&str]) -> Btf {
    let mut strings = vec![0u8];
    for name in names {
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
    }
    Btf {
        types,
        strings,
        ..Btf::default()
    }
}

/// The string offset of `names[i]` in [`hand_built`]'s table.
fn off(names: &[&str], i: usize) -> u32 {
    1 + names[..i].iter().map(|n| n.len() as u32 + 1).sum::<u32>()
}

fn ty(kind: BtfKind, size_or_type: u32, data: BtfTypeData) -> BtfType {
    BtfType {
        name_off: 0,
        kind,
        kind_flag: false,
        size_or_type,
        data,
    }
}

/// A member `name_off` of type `type_id` at raw offset word `offset`.
fn member(name_off: u32, type_id: u32, offset: u32) -> BtfMember {
    BtfMember {
        name_off,
        type_id,
        offset,
    }
}

/// A struct of `size` bytes.
fn structure(size: u32, members: Vec<BtfMember>) -> BtfType {
    ty(BtfKind::Struct, size, BtfTypeData::Members(members))
}

#[test]
fn int_bitfields_enum64_and_signed_enums() {
    let names = ["a", "b", "BIG", "NEG", "c"];
    // 1: a 3-bit INT at bit offset 2 of a u8 (the encoding before
    //    kind_flag); 2: struct {1 a; 1 b (at bit 8)};
    // 3: ENUM64 of 8 bytes {BIG = 1 << 40}; 4: signed ENUM of 1 byte
    //    {NEG = -2}; 5: struct {3 c; 4 d at byte 8}.
    let types = vec![
        ty(BtfKind::Int, 1, BtfTypeData::Int(BtfInt((2 << 16) | 3))),
        structure(
            2,
            vec![member(off(&names, 0), 1, 0), member(off(&names, 1), 1, 8)],
        ),
        ty(
            BtfKind::Enum64,
            8,
            BtfTypeData::Enum64(vec![BtfEnum64 {
                name_off: off(&names, 2),
                val_lo32: 0,
                val_hi32: 1 << 8,
            }]),
        ),
        BtfType {
            kind_flag: true,
            ..ty(
                BtfKind::Enum,
                1,
                BtfTypeData::Enum(vec![BtfEnum {
                    name_off: off(&names, 3),
                    val: -2,
                }]),
            )
        },
        structure(
            9,
            vec![member(off(&names, 4), 3, 0), member(off(&names, 3), 4, 64)],
        ),
    ];
    let btf = hand_built(types, &names);
    // Bits 2..5 of each byte: 0b101 and 0b011.
    let got = format(&btf, 2, &[0b1_0100, 0b0_1100], "v").unwrap();
    assert_eq!(got.to_string(), "{a: 5, b: 3}");
    let bytes = encode(Some((&btf, 2)), &Input::Fields("a=5,b=3".into()), 2, "v").unwrap();
    assert_eq!(bytes, [0b1_0100, 0b0_1100]);
    let error = encode(Some((&btf, 2)), &Input::Fields("a=8".into()), 2, "v").unwrap_err();
    assert_eq!(error.to_string(), "v.a: 8 does not fit INT:3 (0..=7)");

    let mut data = (1u64 << 40).to_le_bytes().to_vec();
    data.push(0xfe);
    assert_eq!(
        format(&btf, 5, &data, "v").unwrap().to_string(),
        "{c: BIG, NEG: NEG}"
    );
    assert_eq!(
        format(&btf, 4, &[0xfd], "v").unwrap(),
        Value::Enum {
            name: None,
            value: -3
        }
    );
    assert_eq!(
        encode(
            Some((&btf, 5)),
            &Input::Fields("c=BIG,NEG=NEG".into()),
            9,
            "v"
        )
        .unwrap(),
        data
    );
}

#[test]
fn crafted_btf_gives_errors_not_panics() {
    // 1: struct of size 4 whose member is itself (a loop through members);
    // 2: an array of 4 billion empty structs (3); 3: empty struct;
    // 4: typedef loop to itself; 5: struct with a member at bit 3 that is
    //    not a bitfield; 6: array of 2^32-1 of 1: the size overflows.
    let types = vec![
        structure(4, vec![member(1, 1, 0)]),
        ty(
            BtfKind::Array,
            0,
            BtfTypeData::Array(crate::btf::BtfArray {
                type_id: 3,
                index_type: 0,
                nelems: u32::MAX,
            }),
        ),
        structure(0, Vec::new()),
        ty(BtfKind::Typedef, 4, BtfTypeData::None),
        structure(4, vec![member(1, 7, 3)]),
        ty(
            BtfKind::Array,
            0,
            BtfTypeData::Array(crate::btf::BtfArray {
                type_id: 1,
                index_type: 0,
                nelems: u32::MAX,
            }),
        ),
        ty(BtfKind::Int, 4, BtfTypeData::Int(BtfInt(32))),
    ];
    let btf = hand_built(types, &["m"]);
    let data = [0u8; 64];
    let error = |id| format(&btf, id, &data, "value").unwrap_err();
    assert!(
        matches!(error(1), ValueError::TooLarge { .. }),
        "{:?}",
        error(1)
    );
    assert!(
        matches!(error(2), ValueError::TooLarge { .. }),
        "{:?}",
        error(2)
    );
    assert!(matches!(error(4), ValueError::Btf { .. }), "{:?}", error(4));
    assert_eq!(
        error(5).to_string(),
        "value.m: member at bit offset 3 is not a bitfield but not on a byte either"
    );
    assert!(
        matches!(error(6), ValueError::Truncated { .. }),
        "{:?}",
        error(6)
    );
    assert_eq!(
        format(&btf, 3, &[], "v").unwrap(),
        Value::Fields(Vec::new())
    );
    assert_eq!(
        format(&btf, 99, &[], "v").unwrap_err().to_string(),
        "v: BTF type id 99 out of range (this BTF has type ids 0..=7)"
    );
    // Encoding through the same types fails as cleanly.
    let enc = |id, text: &str| encode(Some((&btf, id)), &Input::Fields(text.into()), 8, "v");
    assert!(enc(
        1,
        "m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m=1"
    )
    .is_err());
    assert!(enc(4, "m=1").is_err());
    assert!(enc(2, "[4000000000]=1").is_err());
    assert!(enc(6, "[3].m=1").is_err());
}

#[test]
fn per_cpu_values_sum_member_by_member() {
    let (btf, data) = values();
    let value = id(&btf, BtfKind::Struct, "value");
    let first = format(&btf, value, &data[..144], "value").unwrap();
    let mut other = data[..144].to_vec();
    other[0] = 1; // packets 1, as little-endian u64
    other[1..8].fill(0);
    other[0x50..0x54].copy_from_slice(&2.0f32.to_le_bytes()); // f
    other[44..46].copy_from_slice(&5i16.to_le_bytes()); // inner[0].s
    let second = format(&btf, value, &other, "value").unwrap();
    let total = sum(&[first.clone(), second]);
    assert_eq!(total.field("packets"), Some(&uint(1_234_567_890_124)));
    assert_eq!(total.field("delta"), Some(&int(-84)));
    // A float is bytes, and they differ.
    assert_eq!(total.field("f"), Some(&Value::Mixed));
    // Enumerators, strings, booleans and pointers that agree are kept.
    assert_eq!(total.field("proto"), Some(&named("PROTO_UDP", 17)));
    assert_eq!(total.field("name"), Some(&Value::Str("eth0".into())));
    assert_eq!(total.field("ok"), Some(&Value::Bool(true)));
    // Bitfields are integers: added; the enum bitfield agrees.
    let flags = total.field("flags").unwrap();
    assert_eq!(flags.field("low"), Some(&uint(10)));
    assert_eq!(flags.field("neg"), Some(&int(-6)));
    assert_eq!(flags.field("proto"), Some(&named("PROTO_TCP", 6)));
    // inner[0].s differs: added; a lone char is a number too.
    let Some(Value::Array(inner)) = total.field("inner") else {
        panic!("{total}")
    };
    assert_eq!(inner[0].field("s"), Some(&int(3)));
    assert_eq!(inner[0].field("ch"), Some(&int(240)));
    // Arrays add element by element.
    assert_eq!(
        total.field("mac"),
        Some(&Value::Array(
            [4, 0, 0, 0, 0, 2].into_iter().map(uint).collect()
        ))
    );
    // What differs and is not a number is Mixed.
    let a = Value::Enum {
        name: Some("A".into()),
        value: 1,
    };
    assert_eq!(sum(&[a.clone(), a.clone()]), a);
    assert_eq!(sum(&[a.clone(), named("B", 2)]), Value::Mixed);
    assert_eq!(sum(&[uint(1), int(1)]), Value::Mixed);
    assert_eq!(sum(&[]), Value::Mixed);
    assert_eq!(Value::Mixed.to_string(), "?");
    assert_eq!(sum(&[uint(u64::MAX), uint(2)]), uint(1));
    assert_eq!(sum(std::slice::from_ref(&first)), first);
}

#[test]
fn display_forms() {
    assert_eq!(Value::Bytes(vec![1, 0xab]).to_string(), "<01 ab>");
    assert_eq!(Value::Pointer(0xffff_8880).to_string(), "0xffff8880");
    assert_eq!(Value::Str("a\"b".into()).to_string(), "\"a\\\"b\"");
    assert_eq!(
        Value::Enum {
            name: None,
            value: 9
        }
        .to_string(),
        "9"
    );
}

#[test]
fn datasec_without_vars_and_void() {
    let types = vec![
        ty(
            BtfKind::Datasec,
            8,
            BtfTypeData::Datasec(vec![VarSecinfo {
                type_id: 2,
                offset: 0,
                size: 8,
            }]),
        ),
        ty(BtfKind::Func, 0, BtfTypeData::Func { linkage: 2 }),
    ];
    let btf = hand_built(types, &[]);
    // A .ksyms FUNC is not a variable: nothing to show.
    assert_eq!(
        format(&btf, 1, &[0; 8], "v").unwrap(),
        Value::Fields(Vec::new())
    );
    assert_eq!(
        format(&btf, 0, &[1, 2], "v").unwrap(),
        Value::Bytes(vec![1, 2])
    );
}
