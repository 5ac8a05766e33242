//! Sets a `const volatile` global before loading, attaches, and leaves the
//! program attached: `cfg_verdict` of global_data.o is what it returns.
//!
//! `cargo run -p rxdp --example set_global -- progs/obj/global_data.o veth0 1`
//! (1 = XDP_DROP, 2 = XDP_PASS; as root; `ip link set veth0 xdp off` undoes it)
use rxdp::{Mode, Object};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: set_global OBJECT DEV VERDICT";
    let (path, dev) = (args.next().ok_or(usage)?, args.next().ok_or(usage)?);
    let verdict: u32 = args.next().ok_or(usage)?.parse()?;
    let mut object = Object::open(&path)?;
    object.set_global("cfg_verdict", &verdict)?;
    let loaded = object.load()?;
    let attachment = loaded.attach_xdp("xdp_global", &dev, Mode::Skb)?;
    let id = attachment.prog_id();
    // Kept: attached after this process exits (the program holds its maps).
    let attached = attachment.keep();
    println!(
        "xdp_global id {id} returns {verdict} on {} ({} mode)",
        attached.ifname, attached.mode
    );
    Ok(())
}
