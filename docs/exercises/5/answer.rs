//! Lesson 5, exercise: an observer of your own. The answer.
//!
//! `rxdp::load` tells its `Observer` every step of the load as it happens
//! (that is how `rxdp-load --explain` is made). Write `Verified::event` so
//! that this program prints, for each program the kernel accepted, one line
//!
//! ```text
//! prog_fd[0] xdp_prog0: the verifier processed 54 of 64 insns
//! ```
//!
//! (the `Event::ProgramLoaded` event has what it needs). Run it with
//!
//! ```sh
//! cargo run -q -p rxdp --example exercise5_answer -- progs/obj/tail_kern.o
//! ```
//!
//! It loads without a device: nothing is attached or pinned, and the
//! programs go when it exits.

use std::process::ExitCode;

use rxdp::{load, Event, LoadOptions, Observer};

/// Prints what the verifier did with each program.
struct Verified;

impl Observer for Verified {
    fn event(&mut self, event: &Event<'_>) {
        // Every other event (and those rxdp may add later) is not ours.
        if let Event::ProgramLoaded {
            index,
            name,
            insns,
            verified_insns,
            ..
        } = event
        {
            println!(
                "prog_fd[{index}] {name}: the verifier processed {verified_insns} of {insns} insns"
            );
        }
    }
}

fn main() -> ExitCode {
    let Some(object) = std::env::args().nth(1) else {
        eprintln!("usage: exercise5 OBJ");
        return ExitCode::from(2);
    };
    match load(&LoadOptions::new(object), &mut Verified) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("exercise5: {error}");
            ExitCode::FAILURE
        }
    }
}
