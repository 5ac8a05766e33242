//! `rxdp-load OBJ [options]`: see [`rxdp::cli::load`]; the same as `rxdp load`.

fn main() -> std::process::ExitCode {
    rxdp::cli::main_load()
}
