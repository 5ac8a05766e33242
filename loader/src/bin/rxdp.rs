//! `rxdp`: see [`rxdp::cli`].

fn main() -> std::process::ExitCode {
    rxdp::cli::main()
}
