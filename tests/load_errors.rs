//! Errors a user meets with real objects: the verifier's rejection and an
//! undefined symbol. Each message names the file, the stage and the place,
//! and nothing is left attached or pinned.

#[path = "load_common.rs"]
mod common;

use common::*;
use rxdp_kernel_tests::{require_kernel, VethPair};

/// The verifier's rejection, through the command line: the error names
/// the source line, and nothing is attached or pinned afterwards.
#[test]
fn a_verifier_rejection_names_the_line_and_leaves_nothing() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("verifier_reject");
    let run = rxdp_load(&[&object, "--dev", dev]).failed();
    assert!(
        run.stderr.starts_with(&format!(
            "rxdp-load: {object}: load programs: prog_fd[0] xdp_reject (section xdp): the verifier rejected it (EACCES)"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("at verifier_reject.c:22"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("last "),
        "the log's tail: {}",
        run.stderr
    );
    assert_eq!(xdp(pair.root_ifindex()), Default::default());
    assert!(!device_pins(dev).exists());
    // -v adds the whole log.
    let run = rxdp_load(&[&object, "--dev", dev, "-v"]).failed();
    let whole = run
        .stderr
        .split_once("the whole verifier log:\n")
        .map(|(_, log)| log)
        .unwrap_or_else(|| panic!("no log: {}", run.stderr));
    // "R1=ctx()" since 6.4, "R1=ctx(off=0,imm=0)" before (6.1).
    assert!(whole.starts_with("0: R1=ctx("), "{whole}");
    assert!(whole.contains("\nprocessed 2 insns"), "{whole}");
}

/// A call to a function the object does not define: the parser's error
/// names the symbol.
#[test]
fn an_undefined_call_names_the_symbol() {
    let object = obj("undefined_call");
    let run = rxdp_load(&[&object]).failed();
    assert!(
        run.stderr
            .starts_with(&format!("rxdp-load: {object}: open: ")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("not_defined_anywhere"),
        "{}",
        run.stderr
    );
}
