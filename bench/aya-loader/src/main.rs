//! The job `rxdp-load OBJ --entry PROG --dev IF --mode skb --no-pin` does,
//! written the ordinary Aya way, for `make bench` to compare against.
//!
//! usage: aya-bench-loader OBJ PROG IF skb|drv LINK_PIN
//!        aya-bench-loader --load-all OBJ
//!
//! The second form loads every program of the object (all XDP) and
//! attaches none: the job of `rxdp-load OBJ --no-pin` and `bpftool prog
//! loadall` in the parallel-load table.
//!
//! `Ebpf::load_file` reads the object, creates every map and parses the
//! kernel's BTF (`/sys/kernel/btf/vmlinux`): that is what Aya does by default
//! and it is part of what is measured. Aya attaches XDP through a bpf_link;
//! a link is detached when its last fd closes, so to leave the program
//! attached after this process exits (as `rxdp-load` and `ip` do) the link is
//! pinned at LINK_PIN. Removing that file detaches the program.

use std::process::ExitCode;

use aya::programs::{links::FdLink, Xdp, XdpMode};
use aya::Ebpf;

/// Loads every program of `obj`, one after another (Aya has no other way).
fn load_all(obj: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut ebpf = Ebpf::load_file(obj)?;
    let mut loaded = 0;
    for (name, program) in ebpf.programs_mut() {
        let xdp: &mut Xdp = program
            .try_into()
            .map_err(|e| format!("{obj}: {name}: {e}"))?;
        xdp.load()?;
        loaded += 1;
    }
    if loaded == 0 {
        return Err(format!("{obj}: no program").into());
    }
    Ok(())
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    if let [flag, obj] = args {
        if flag == "--load-all" {
            return load_all(obj);
        }
    }
    let [obj, prog, iface, mode, link_pin] = args else {
        return Err(
            "usage: aya-bench-loader OBJ PROG IF skb|drv LINK_PIN | --load-all OBJ".into(),
        );
    };
    let mode = match mode.as_str() {
        "skb" => XdpMode::Skb,
        "drv" => XdpMode::Driver,
        other => return Err(format!("unknown mode {other:?}: skb or drv").into()),
    };
    let mut ebpf = Ebpf::load_file(obj)?;
    let program: &mut Xdp = ebpf
        .program_mut(prog)
        .ok_or_else(|| format!("{obj}: no program named {prog}"))?
        .try_into()?;
    program.load()?;
    let link_id = program.attach(iface, mode)?;
    let link = program.take_link(link_id)?;
    FdLink::try_from(link)?.pin(link_pin)?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aya-bench-loader: {e}");
            ExitCode::FAILURE
        }
    }
}
