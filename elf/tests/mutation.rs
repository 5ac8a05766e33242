//! Deterministic mutation test of the parser: damages every committed
//! object thousands of ways (see `mutate/mod.rs`) and requires
//! `Object::parse` to return, Ok or Err, never panic, and promptly.
//! `relocate_mutation.rs` runs the relocation step on the same damage.

mod builder;
mod mutate;

use std::time::Duration;

use rxdp_elf::Object;

/// Cases per object; with the 20 objects here, 80,000 in total.
const CASES_PER_OBJECT: usize = 4_000;
/// Longest a single parse may take, even in a debug build.
const PARSE_LIMIT: Duration = Duration::from_secs(2);

#[test]
fn damaged_objects_never_panic() {
    let objects = mutate::objects(&["progs/obj", "elf/tests/data"]);
    assert!(objects.len() >= 12, "too few objects: {}", objects.len());
    for (name, data) in &objects {
        // Intact objects parse, or fail cleanly for the ones built to fail.
        let _ = Object::parse(data);
        assert!(data.len() > 64, "{name}");
    }
    let outcome = mutate::run(&objects, CASES_PER_OBJECT, PARSE_LIMIT, &|_, damaged| {
        Ok(Object::parse(damaged).is_ok())
    });
    println!(
        "{} damaged objects: {} parsed, {} refused; slowest parse {:?}",
        outcome.cases, outcome.accepted, outcome.refused, outcome.slowest
    );
    assert!(outcome.cases >= 20_000, "only {} cases", outcome.cases);
    // Both outcomes occur: the damage is neither always fatal nor always ignored.
    assert!(outcome.accepted > 0 && outcome.refused > 0);
    let failures = outcome.failures;
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
