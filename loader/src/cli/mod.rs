//! The `rxdp` and `rxdp-load` command lines.
//!
//! Each subcommand is a module with its clap `Args` struct and a `run`
//! function; adding one means a variant of [`Command`] and an arm in
//! [`Command::run`]. Errors come back as [`CliError`] and [`main`] prints
//! them as `rxdp: <file>: <what is wrong>` with exit code 1.
//! `rxdp-load OBJ ...` is `rxdp load OBJ ...` ([`main_load`]).

pub mod inspect;
pub mod json;
pub mod load;
pub mod run;
pub mod status;
pub mod trace;
pub mod unload;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `rxdp`: load, inspect and manage clang-built BPF objects.
#[derive(Debug, Parser)]
#[command(name = "rxdp", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show an object's maps, programs, jump entries and subprograms in
    /// load order (map_fd[], prog_fd[]); reads the file only, needs no
    /// privileges.
    Inspect(inspect::InspectArgs),
    /// Load an object like load_bpf_file(): map_fd[] and prog_fd[] in
    /// object order; fill jump tables; pin; attach with --dev.
    Load(load::LoadArgs),
    /// Detach the XDP programs of a device and remove the pins rxdp made.
    Unload(unload::UnloadArgs),
    /// Show what runs in each XDP slot of each interface, and rxdp's pins.
    Status(status::StatusArgs),
    /// Run an XDP program on a frame with BPF_PROG_TEST_RUN (no device):
    /// verdict, frame after, time per run.
    Run(run::RunArgs),
    /// Stream bpf_trace_printk output from the trace pipe.
    Trace(trace::TraceArgs),
}

impl Command {
    /// Runs the subcommand, writing its normal output to `out`.
    pub fn run(&self, out: &mut dyn Write) -> Result<(), CliError> {
        match self {
            Command::Inspect(args) => inspect::run(args, out),
            Command::Load(args) => load::run(args, out),
            Command::Unload(args) => unload::run(args, out),
            Command::Status(args) => status::run(args, out),
            Command::Run(args) => run::run(args, out),
            Command::Trace(args) => trace::run(args, out),
        }
    }
}

/// `rxdp-load OBJ [options]`: the same as `rxdp load`.
#[derive(Debug, Parser)]
#[command(
    name = "rxdp-load",
    version,
    about = "Load a BPF object like samples/bpf's load_bpf_file(), fill its jump tables, pin its maps and attach its entry program"
)]
pub struct LoadCli {
    #[command(flatten)]
    pub args: load::LoadArgs,
}

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: rxdp_elf::ParseError,
    },
    /// The load failed; the error names the file and the stage.
    #[error("{0}")]
    Load(crate::LoadError),
    #[error("unload: {0}")]
    Unload(crate::unload::UnloadError),
    #[error("status: {0}")]
    Status(crate::status::StatusError),
    /// Options that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A syscall of `rxdp run` or `rxdp trace` failed.
    #[error("{what}: {source}")]
    Kernel {
        what: String,
        source: rxdp_syscalls::Error,
    },
    #[error("writing the output: {0}")]
    Output(io::Error),
}

/// The `rxdp` binary: parse the arguments, run, report.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let result = cli.command.run(&mut stdout.lock());
    report("rxdp", result)
}

/// The `rxdp-load` binary.
pub fn main_load() -> ExitCode {
    let cli = LoadCli::parse();
    let stdout = io::stdout();
    let result = load::run(&cli.args, &mut stdout.lock());
    report("rxdp-load", result)
}

/// The exit code of a run, with the error on stderr as `<program>: <error>`.
fn report(program: &str, result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `rxdp inspect x.o | head`: the reader went away, nothing to say.
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            // If stderr is gone too there is no one left to tell.
            let _ = writeln!(io::stderr(), "{program}: {e}");
            ExitCode::FAILURE
        }
    }
}
