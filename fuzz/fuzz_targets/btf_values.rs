//! Map keys and values through BTF (`rxdp_elf::btf::value`): bytes read
//! as a value, values summed, words encoded as bytes.
//!
//! Input layout: a selector byte; below 0x80, the `.BTF` of one of the
//! committed objects below (the selector picks which: real types, so the
//! inputs reach deep structs and bitfields); from 0x80 on, a little-endian
//! u16 `n` and `n` bytes of crafted `.BTF`. Then a u32 type id (taken
//! modulo the BTF's type count), a byte giving the encoder's size, and
//! the rest: the value's bytes for the reader, its text (up to eight
//! words) for the encoder.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rxdp_elf::btf::value::{encode, format, sum, Input};
use rxdp_elf::btf::Btf;
use rxdp_elf::Object;

/// The objects whose `.BTF` selectors below 0x80 name, in this order.
const OBJECTS: [&[u8]; 4] = [
    include_bytes!("../../elf/src/btf/testdata/values.o"),
    include_bytes!("../../progs/obj/map_values.o"),
    include_bytes!("../../progs/obj/global_data.o"),
    include_bytes!("../../progs/obj/btf_maps.o"),
];

fn btfs() -> &'static [Btf] {
    static BTFS: OnceLock<Vec<Btf>> = OnceLock::new();
    BTFS.get_or_init(|| {
        OBJECTS
            .iter()
            .map(|bytes| {
                let object = Object::parse(bytes).expect("committed object parses");
                object.btf.expect("committed object has BTF")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let crafted;
    let (btf, rest) = if selector < 0x80 {
        let btfs = btfs();
        (&btfs[usize::from(selector) % btfs.len()], rest)
    } else {
        let Some((len, rest)) = rest.split_first_chunk::<2>() else {
            return;
        };
        let split = usize::from(u16::from_le_bytes(*len)).min(rest.len());
        let (bytes, rest) = rest.split_at(split);
        let Ok(parsed) = Btf::parse(bytes) else {
            return;
        };
        crafted = parsed;
        (&crafted, rest)
    };
    let Some((id, rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let Some((&size, value)) = rest.split_first() else {
        return;
    };
    let id = u32::from_le_bytes(*id) % (btf.max_type_id() + 1);
    if let Ok(read) = format(btf, id, value, "value") {
        let _ = read.to_string();
        let _ = sum(&[read.clone(), read]);
    }
    let text = String::from_utf8_lossy(value);
    let words: Vec<&str> = text.split_whitespace().take(8).collect();
    if let Ok(input) = Input::parse(&words, "value") {
        let _ = encode(Some((btf, id)), &input, usize::from(size), "value");
        let _ = encode(None, &input, usize::from(size), "value");
    }
});
