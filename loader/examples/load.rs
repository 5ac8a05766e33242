//! Opens an object, lists what it holds, loads it, prints the kernel's ids.
//!
//! `cargo run -p rxdp --example load -- progs/obj/tail_kern.o` (as root)
use rxdp::Object;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: load OBJECT")?;
    let object = Object::open(&path)?;
    for (index, map) in object.maps().iter().enumerate() {
        println!("map_fd[{index}] {} {}", map.name, map.def.map_type.name());
    }
    let loaded = object.load()?;
    for (index, program) in loaded.programs().iter().enumerate() {
        println!("prog_fd[{index}] {} id {}", program.name, program.id);
    }
    for (index, map) in loaded.maps().iter().enumerate() {
        println!("map_fd[{index}] {} id {}", map.name, map.id);
    }
    Ok(())
}
