//! The BTF parser and everything asked of its result.
//!
//! Input layout: a little-endian u16 `n`, then `n` bytes of `.BTF`, then the
//! rest as `.BTF.ext` (`seed-corpus.sh` writes real pairs in this layout).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rxdp_elf::btf::{Btf, BtfExt, BtfKind};

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (btf_bytes, ext_bytes) = rest.split_at(split);
    let Ok(mut btf) = Btf::parse(btf_bytes) else {
        return;
    };
    let _ = BtfExt::parse(ext_bytes, &btf);
    for id in 1..=btf.max_type_id() {
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.type_name(id);
        if btf.type_by_id(id).is_ok_and(|t| t.kind == BtfKind::Var) {
            let _ = btf.map_definition(id);
        }
    }
    let _ = btf.datasecs();
    let _ = btf.find(BtfKind::Struct, "x");
    let _ = btf.is_extern_func("x");
    let written = btf.to_bytes();
    // What was written must read back as the same BTF.
    assert_eq!(Btf::parse(&written).as_ref(), Ok(&btf), "round trip");
    let _ = btf.fix_datasecs(|_| Some(64), |_, _| Some(8));
    let _ = btf.to_bytes();
});
