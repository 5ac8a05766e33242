//! The `rxdp` command line.
//!
//! Each subcommand is a module with its clap `Args` struct and a `run`
//! function; adding one means a variant of [`Command`] and an arm in
//! [`Command::run`]. Errors come back as [`CliError`] and [`main`] prints
//! them as `rxdp: <file>: <what is wrong>` with exit code 1.

pub mod inspect;
pub mod json;

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
}

impl Command {
    /// Runs the subcommand, writing its normal output to `out`.
    pub fn run(&self, out: &mut dyn Write) -> Result<(), CliError> {
        match self {
            Command::Inspect(args) => inspect::run(args, out),
        }
    }
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
    #[error("writing the output: {0}")]
    Output(io::Error),
}

/// The `rxdp` binary: parse the arguments, run, report.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let result = cli.command.run(&mut stdout.lock());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `rxdp inspect x.o | head`: the reader went away, nothing to say.
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            // If stderr is gone too there is no one left to tell.
            let _ = writeln!(io::stderr(), "rxdp: {e}");
            ExitCode::FAILURE
        }
    }
}
