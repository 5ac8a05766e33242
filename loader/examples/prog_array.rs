//! The article's tail call in the library: prog_fd[1] at key 78 of
//! map_fd[0], prog_fd[0] attached; then waits until xdp1 has seen COUNT
//! packets (counters[1]) and detaches. The prog array lives as long as
//! this process holds it.
//!
//! `cargo run -p rxdp --example prog_array -- progs/obj/tail_kern.o veth0 10`
use std::time::{Duration, Instant};

use rxdp::{Mode, Object};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, dev, count] = &args[..] else {
        return Err("usage: prog_array OBJECT DEV COUNT".into());
    };
    let loaded = Object::open(path)?.load()?;
    loaded.prog_array(0)?.set(78, loaded.program(1)?)?;
    let attachment = loaded.attach_xdp(0, dev, Mode::Skb)?;
    println!("attached id {} to {dev}", attachment.prog_id());
    let counters = loaded.array::<u32, u64>("counters")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while counters.get(&1)? < count.parse()? && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let [entered, reached, fell] = [0, 1, 2].map(|key| counters.get(&key).unwrap_or(0));
    println!("entered {entered} reached {reached} fell through {fell}");
    attachment.detach()?;
    Ok(())
}
