//! `BtfExt::parse` against intact BTF: the input is `.BTF.ext` bytes, read
//! against the `.BTF` of one of the committed objects (the first byte picks
//! which), so that every input reaches the record parser instead of
//! stopping at a damaged `.BTF` (`parse_btf` damages both at once).
//! `seed-corpus.sh` writes each object's real `.BTF.ext` after its index.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rxdp_elf::btf::{Btf, BtfExt};
use rxdp_elf::Object;

/// The objects whose `.BTF` the inputs are read against, in the order
/// `seed-corpus.sh` numbers them.
const OBJECTS: [&[u8]; 6] = [
    include_bytes!("../../progs/obj/xdp_prog_kern.o"),
    include_bytes!("../../progs/obj/btf_maps.o"),
    include_bytes!("../../progs/obj/global_data.o"),
    include_bytes!("../../progs/obj/multi_prog.o"),
    include_bytes!("../../elf/tests/data/calls.o"),
    include_bytes!("../../tests/data/core_kern.o"),
];

fn btfs() -> &'static [Btf] {
    static BTFS: OnceLock<Vec<Btf>> = OnceLock::new();
    BTFS.get_or_init(|| {
        OBJECTS
            .iter()
            .map(|bytes| {
                Object::parse(bytes)
                    .expect("a committed object parses")
                    .btf
                    .expect("a committed object with BTF")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, ext)) = data.split_first() else {
        return;
    };
    let btfs = btfs();
    let btf = &btfs[usize::from(pick) % btfs.len()];
    let Ok(parsed) = BtfExt::parse(ext, btf) else {
        return;
    };
    // Every record read lies inside the input: nothing is made up. (Per
    // part: the header may point two parts at the same bytes.)
    let bytes = |sections: usize, records: usize, rec_size: u32| {
        records * rec_size as usize + sections * 8 + usize::from(sections > 0) * 4
    };
    for (sections, records, rec_size) in [
        (
            parsed.func_info.len(),
            parsed.func_info.iter().map(|s| s.records.len()).sum(),
            parsed.func_info_rec_size,
        ),
        (
            parsed.line_info.len(),
            parsed.line_info.iter().map(|s| s.records.len()).sum(),
            parsed.line_info_rec_size,
        ),
        (
            parsed.core_relocs.len(),
            parsed.core_relocs.iter().map(|s| s.records.len()).sum(),
            parsed.core_relo_rec_size,
        ),
    ] {
        let read = bytes(sections, records, rec_size);
        assert!(
            read <= ext.len(),
            "{read} bytes of one part from {} bytes",
            ext.len()
        );
    }
    for line in parsed.line_info.iter().flat_map(|s| &s.records) {
        let _ = btf.string(line.file_name_off);
        let _ = btf.string(line.line_off);
    }
});
