//! Large objects parse in time roughly proportional to their size: no step
//! of the parser may compare every item with every other (a crafted file of
//! a few MB would otherwise take minutes).

mod builder;

use std::time::{Duration, Instant};

use builder::*;
use rxdp_elf::{Object, RelocTarget};

/// Generous for a debug build; a quadratic step over 20,000 items takes
/// far longer.
const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn many_maps_functions_sections_and_relocations() {
    const N: usize = 20_000;
    const SECTIONS: usize = 2_000;
    // One section of N functions, each `ld_imm64 r1, map; exit`, the first
    // global (a program) and the others static, called by nobody.
    let mut body = Vec::new();
    for _ in 0..N {
        body.extend(ld_imm64(1, 0));
        body.extend(exit());
    }
    let mut maps = Vec::new();
    for i in 0..N {
        maps.extend(words(&[2, 4, 8, i as u32 + 1, 0]));
    }
    let mut elf = Elf::default()
        .code_section("xdp_big", body)
        .data_section("maps", maps)
        .data_section("license", b"GPL\0".to_vec());
    for i in 0..N {
        elf = elf
            .object("maps", &format!("m{i}"), (i * 20) as u64, 20)
            .symbol(
                &format!("f{i}"),
                Some("xdp_big"),
                (i * 24) as u64,
                24,
                STT_FUNC,
                i == 0,
            )
            .rel(
                "xdp_big",
                (i * 24) as u64,
                R_BPF_64_64,
                &format!("m{}", N - 1 - i),
            );
    }
    // Many small program sections too, each `socket/K` with its own key.
    for k in 0..SECTIONS {
        let name = format!("xdp_{k}");
        elf = elf.code_section(&name, [builder::mov(0, 2), exit()].concat());
    }
    let data = elf.build();
    let started = Instant::now();
    let object = Object::parse(&data).unwrap();
    let took = started.elapsed();
    assert!(took < LIMIT, "{} bytes took {took:?}", data.len());
    assert_eq!(object.maps.len(), N);
    assert_eq!(object.maps[N - 1].def.max_entries, N as u32);
    assert_eq!(object.programs.len(), 1 + SECTIONS);
    assert_eq!(
        object.programs[0].function.relocs[0].target,
        RelocTarget::Map(N - 1)
    );
    println!("{} bytes parsed in {took:?}", data.len());
}
