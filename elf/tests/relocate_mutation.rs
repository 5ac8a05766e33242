//! Deterministic mutation test of the relocation step: the damage of the
//! parser's mutation test (`mutate/mod.rs`),
//! and every damaged object that still parses goes through `relocate` —
//! every program, with fake map fds, fake kfunc ids and the intact
//! object's own BTF as the CO-RE target. Pure: no kernel. Each must
//! return, Ok or Err, never panic, promptly; and what it returns must hold
//! together: every BPF-to-BPF call lands on the first instruction of a
//! placed function, `func_info` records sit at those starts.

mod builder;
mod mutate;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rxdp_elf::btf::Btf;
use rxdp_elf::core::CoreTarget;
use rxdp_elf::ksyms::KernelSymbols;
use rxdp_elf::relocate::{relocate_against, LinkedProgram};
use rxdp_elf::Object;

/// Cases per object: with the 24 objects, 48,000 damaged copies.
const CASES_PER_OBJECT: usize = 2_000;
/// Longest a parse and its relocations may take, even in a debug build.
const LIMIT: Duration = Duration::from_secs(2);
/// `map_fd[i]` is `FIRST_FD + i`: numbers no real fd of this test has.
const FIRST_FD: i32 = 1000;

/// The shape every linked program must have.
fn check_linked(linked: &LinkedProgram) -> Result<(), String> {
    let starts: Vec<usize> = linked.functions.iter().map(|(_, start)| *start).collect();
    if starts.first() != Some(&0) {
        return Err(format!("the program does not start at 0: {starts:?}"));
    }
    if let Some(start) = starts.iter().find(|&&s| s >= linked.insns.len()) {
        return Err(format!(
            "a function starts at {start} of {}",
            linked.insns.len()
        ));
    }
    for (at, insn) in linked.insns.iter().enumerate() {
        let target = at as i64 + 1 + i64::from(insn.imm);
        let lands = usize::try_from(target).is_ok_and(|t| starts.contains(&t));
        if insn.is_pseudo_call() && !lands {
            return Err(format!(
                "the call at {at} lands on {target}: no function starts there"
            ));
        }
    }
    let info_starts: Vec<usize> = linked
        .func_info
        .iter()
        .map(|r| r.insn_off as usize)
        .collect();
    if !info_starts.is_empty() && info_starts != starts {
        return Err(format!(
            "func_info at {info_starts:?}, functions at {starts:?}"
        ));
    }
    Ok(())
}

#[test]
fn relocating_damaged_objects_never_panics() {
    let objects = mutate::objects(&[
        "progs/obj",
        "elf/tests/data",
        "tests/data",
        "elf/src/btf/testdata",
    ]);
    assert!(objects.len() >= 20, "too few objects: {}", objects.len());
    // The CO-RE target of each object: its intact BTF.
    let btfs: Vec<Option<Btf>> = objects
        .iter()
        .map(|(_, data)| Object::parse(data).ok().and_then(|o| o.btf))
        .collect();
    let targets: Vec<Option<CoreTarget<'_>>> = btfs
        .iter()
        .map(|btf| btf.as_ref().map(CoreTarget::new))
        .collect();
    let (linked, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let outcome = mutate::run(&objects, CASES_PER_OBJECT, LIMIT, &|index, damaged| {
        let Ok(object) = Object::parse(damaged) else {
            return Ok(false);
        };
        let map_fds: Vec<i32> = (FIRST_FD..).take(object.maps.len()).collect();
        let kfuncs = KernelSymbols::stand_ins(&object, 100);
        for program in 0..object.programs.len() {
            let target = targets[index].as_ref();
            match relocate_against(&object, program, &map_fds, &kfuncs, target) {
                Ok(program) => {
                    check_linked(&program)?;
                    linked.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    // The message names the program and what is wrong.
                    if !error.to_string().starts_with("program ") {
                        return Err(format!("unexpected message: {error}"));
                    }
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(true)
    });
    let (linked, refused) = (linked.into_inner(), refused.into_inner());
    println!(
        "{} damaged objects: {} parsed, {} refused; {linked} programs relocated, {refused} \
         refused; slowest case {:?}",
        outcome.cases, outcome.accepted, outcome.refused, outcome.slowest
    );
    assert!(outcome.cases >= 40_000, "only {} cases", outcome.cases);
    // Both outcomes occur at both steps.
    assert!(outcome.accepted > 0 && outcome.refused > 0);
    assert!(
        linked > 0 && refused > 0,
        "{linked} relocated, {refused} refused"
    );
    assert!(
        outcome.failures.is_empty(),
        "{} failures:\n{}",
        outcome.failures.len(),
        outcome.failures.join("\n")
    );
}
