//! The article's load from Rust, with the one-call API: what
//! `rxdp-load OBJ --map 0 --key 78 --prog 1 --dev IFNAME --mode skb` does.
//!
//! ```sh
//! cargo run -q -p rxdp --example load_article -- progs/obj/tail_kern.o rxl0
//! ```
//!
//! Lesson 5 of the book (docs/lessons/05-loader.md) reads it.

use std::process::ExitCode;

use rxdp::{load, AttachOptions, JumpRequest, LoadOptions, Mode, NoObserver, Ref};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [object, dev] = args.as_slice() else {
        eprintln!("usage: load_article OBJ IFNAME");
        return ExitCode::from(2);
    };

    // What to do: the object, one jump-table entry, where to attach.
    let mut options = LoadOptions::new(object);
    // map_fd[0][78] = prog_fd[1]
    options
        .jumps
        .push(JumpRequest::new(Ref::Index(0), 78, Ref::Index(1)));
    options.attach = Some(AttachOptions::new(dev.as_str()).with_mode(Mode::Skb));

    // Every stage in turn; on an error, what the earlier ones made is undone.
    let loaded = match load(&options, &mut NoObserver) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("load_article: {error}");
            return ExitCode::FAILURE;
        }
    };

    for (index, map) in loaded.maps.iter().enumerate() {
        println!("map_fd[{index}] = {} (id {})", map.name, map.id);
    }
    for (index, program) in loaded.programs.iter().enumerate() {
        println!(
            "prog_fd[{index}] = {} (section {}, id {})",
            program.name, program.section, program.id
        );
    }
    if let Some(dir) = &loaded.pin_dir {
        println!("pinned in {}", dir.display());
    }
    // Returning drops `loaded`: the fds close, and the pins keep the jump
    // table filled after this process is gone.
    ExitCode::SUCCESS
}
