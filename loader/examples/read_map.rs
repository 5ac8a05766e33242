//! Attaches multi_prog.o's xdp_first through a BPF link and reads its
//! `hits` array (u32 → u64) until slot 0 has counted COUNT packets.
//!
//! `cargo run -p rxdp --example read_map -- progs/obj/multi_prog.o veth0 10`
use std::time::{Duration, Instant};

use rxdp::{Mode, Object};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, dev, count] = &args[..] else {
        return Err("usage: read_map OBJECT DEV COUNT".into());
    };
    let (loaded, count): (_, u64) = (Object::open(path)?.load()?, count.parse()?);
    let link = loaded.attach_xdp_link("xdp_first", dev, Mode::Skb)?;
    println!(
        "linked id {} to {dev} in {} mode",
        link.prog_id(),
        link.mode()
    );
    let hits = loaded.array::<u32, u64>("hits")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while hits.get(&0)? < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("hits[0] = {}", hits.get(&0)?);
    link.detach(); // closes the link: the kernel detaches xdp_first
    Ok(())
}
