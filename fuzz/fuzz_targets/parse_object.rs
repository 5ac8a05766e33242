//! `Object::parse` on arbitrary bytes: Ok or Err, never a panic, a hang or
//! an allocation out of proportion to the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rxdp_elf::Object;

fuzz_target!(|data: &[u8]| {
    if let Ok(object) = Object::parse(data) {
        // What a loader does next must hold up too.
        if let Some(btf) = &object.btf {
            let _ = btf.to_bytes();
        }
        for program in &object.programs {
            let _ = rxdp_elf::insn::encode(&program.function.insns);
        }
    }
});
