//! The `rxdp` and `rxdp-load` command lines.
//!
//! Each subcommand is a module with its arguments (a clap `Args` struct,
//! every option declared once, its help in its doc comment) and a `run`
//! function; adding one means a variant of [`Command`] and an arm in
//! [`Command::run`]. What clap cannot say — that `--map`, `--key` and
//! `--prog` come in threes — is checked right after it ([`parse_rxdp`]),
//! as a usage error of the same form. Usage mistakes end with exit code 2
//! and clap's message; errors of a run come back as [`CliError`] and
//! [`main`] prints them as `rxdp: <file>: <what is wrong>` with exit code
//! 1. `rxdp-load OBJ ...` is `rxdp load OBJ ...` ([`main_load`]).
//!
//! Shell completions and the manual pages are generated from the same
//! definitions ([`rxdp_command`], [`rxdp_load_command`]) by `cli/gen`,
//! which is not part of these programs (`make completions`).
#![forbid(unsafe_code)]
// A `CliError` may carry a `LoadError` (a few hundred bytes: the kernel's
// words, the verifier's report), returned once per process on the failing
// path; boxing it would save nothing that matters.
#![allow(clippy::result_large_err)]

pub mod inspect;
pub mod json;
pub mod load;
pub mod map;
mod multiprog;
pub mod packet;
pub mod run;
pub mod status;
pub mod trace;
pub mod unload;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// `rxdp`: every subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "rxdp",
    version,
    about = "Loads clang-built BPF objects the way load_bpf_file() did, fills jump tables and attaches XDP through rtnetlink",
    arg_required_else_help = true
)]
struct Rxdp {
    #[command(subcommand)]
    command: Command,
}

/// A subcommand of `rxdp` with its arguments.
#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Show an object's maps, programs, jump entries and subprograms in load order (map_fd[], prog_fd[]); reads the file only, needs no privileges
    Inspect(inspect::InspectArgs),
    /// Load an object like load_bpf_file(): map_fd[] and prog_fd[] in object order; fill jump tables; pin; attach with --dev
    #[command(after_help = load::SECTION_NAMES_HELP)]
    Load(load::LoadArgs),
    /// Detach the XDP programs of a device and remove the pins rxdp made
    Unload(unload::UnloadArgs),
    /// Show what runs in each XDP slot of each interface, and rxdp's pins
    Status(status::StatusArgs),
    /// Run an XDP program on a frame with BPF_PROG_TEST_RUN (no device): verdict, frame after, time per run
    Run(run::RunArgs),
    /// Stream bpf_trace_printk output from the trace pipe
    Trace(trace::TraceArgs),
    /// Read and write the maps in the kernel: list, dump MAP, lookup MAP KEY, update MAP KEY VALUE, delete MAP KEY
    Map(map::MapArgs),
}

/// `rxdp-load`: `rxdp load` as a program of its own.
#[derive(Debug, Parser)]
#[command(
    name = "rxdp-load",
    version,
    about = "Load a BPF object like samples/bpf's load_bpf_file(), fill its jump tables, pin its maps and attach its entry program",
    after_help = load::SECTION_NAMES_HELP
)]
struct RxdpLoad {
    #[command(flatten)]
    args: load::LoadArgs,
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
            Command::Map(args) => map::run(args, out),
        }
    }

    /// What clap cannot check, as a usage error of the subcommand.
    fn check(&self) -> Result<(), (&'static str, String)> {
        if let Command::Map(args) = self {
            return args.check().map_err(|message| ("map", message));
        }
        let jumps = match self {
            Command::Load(args) => &args.jumps,
            Command::Run(args) => &args.jumps,
            _ => return Ok(()),
        };
        let name = match self {
            Command::Load(_) => "load",
            _ => "run",
        };
        jumps.check().map_err(|message| (name, message))
    }
}

/// The definition of `rxdp`, for completions and manual pages.
pub fn rxdp_command() -> clap::Command {
    Rxdp::command()
}

/// The definition of `rxdp-load`, for completions and manual pages.
pub fn rxdp_load_command() -> clap::Command {
    RxdpLoad::command()
}

/// A usage error of `command` (or of its subcommand `sub`) that clap did
/// not find itself: clap's form, its exit code 2.
fn usage_error(mut command: clap::Command, sub: Option<&str>, message: String) -> clap::Error {
    command.build();
    let command = match sub.and_then(|name| command.find_subcommand_mut(name)) {
        Some(sub) => sub,
        None => &mut command,
    };
    command.error(clap::error::ErrorKind::WrongNumberOfValues, message)
}

/// `rxdp ARGS...`, `args` starting with the program name: the subcommand
/// to run, or clap's error (which may be the help or the version).
pub fn parse_rxdp(args: impl IntoIterator<Item = OsString>) -> Result<Command, clap::Error> {
    let matches = Rxdp::command().try_get_matches_from(args)?;
    let command = Rxdp::from_arg_matches(&matches)?.command;
    command
        .check()
        .map_err(|(sub, message)| usage_error(Rxdp::command(), Some(sub), message))?;
    Ok(command)
}

/// `rxdp-load ARGS...`, `args` starting with the program name.
pub fn parse_rxdp_load(
    args: impl IntoIterator<Item = OsString>,
) -> Result<load::LoadArgs, clap::Error> {
    let args = RxdpLoad::try_parse_from(args)?.args;
    args.jumps
        .check()
        .map_err(|message| usage_error(RxdpLoad::command(), None, message))?;
    Ok(args)
}

/// Prints clap's text where it belongs (help and version on stdout, the
/// rest on stderr) and gives its exit code: 0, or 2 for a mistake.
fn stop(error: &clap::Error) -> ExitCode {
    // `rxdp --help | head`: a closed stdout is nobody's problem.
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{path}: {error}")]
    Read { path: String, error: io::Error },
    #[error("{path}: {error}")]
    Parse {
        path: String,
        error: rxdp_elf::ParseError,
    },
    /// The load failed; the error names the file and the stage.
    #[error("{0}")]
    Load(rxdp::LoadError),
    #[error("unload: {0}")]
    Unload(rxdp::unload::UnloadError),
    /// Adding or removing a component of a libxdp dispatcher failed; the
    /// dispatcher is as it was.
    #[error("{0}")]
    Multiprog(rxdp::multiprog::MultiprogError),
    #[error("status: {0}")]
    Status(rxdp::status::StatusError),
    /// A map command failed; the error names the map.
    #[error("{0}")]
    Map(map::MapFailure),
    /// Options that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A syscall of `rxdp run` or `rxdp trace` failed.
    #[error("{what}: {error}")]
    Kernel {
        what: String,
        error: rxdp_syscalls::Error,
    },
    #[error("writing the output: {0}")]
    Output(io::Error),
}

/// Reads and parses the object file of `rxdp inspect` and `rxdp run` as
/// a load does (a regular file, size capped, magic first); either error
/// names the file as given.
fn read_object(file: &Path) -> Result<rxdp_elf::Object, CliError> {
    let (data, _) = rxdp::open::read_for_parse(file, rxdp::options::DEFAULT_MAX_OBJECT_SIZE)
        .map_err(CliError::Load)?;
    rxdp::open::parse(file, &data).map_err(CliError::Load)
}

/// SIGINT and SIGTERM make a load roll back rather than die half-way
/// (for loads only: `rxdp trace` must stop on Ctrl-C).
fn handle_signals() -> Result<(), CliError> {
    rxdp::interrupt::handle_signals().map_err(|error| CliError::Kernel {
        what: "install the SIGINT and SIGTERM handlers".into(),
        error,
    })
}

/// The `rxdp` binary: parse the arguments, run, report.
pub fn main() -> ExitCode {
    let command = match parse_rxdp(std::env::args_os()) {
        Ok(command) => command,
        Err(error) => return stop(&error),
    };
    let stdout = io::stdout();
    let result = match command {
        Command::Load(_) => handle_signals().and_then(|()| command.run(&mut stdout.lock())),
        _ => command.run(&mut stdout.lock()),
    };
    report("rxdp", result)
}

/// The `rxdp-load` binary.
pub fn main_load() -> ExitCode {
    let args = match parse_rxdp_load(std::env::args_os()) {
        Ok(args) => args,
        Err(error) => return stop(&error),
    };
    let stdout = io::stdout();
    let result = handle_signals().and_then(|()| load::run(&args, &mut stdout.lock()));
    report("rxdp-load", result)
}

/// The exit code of a run, with the error on stderr as `<program>: <error>`
/// — or, with `--json`, on stdout as `{"error": "<error>"}`, as bpftool
/// `-j` does: a caller parsing the output gets JSON either way.
fn report(program: &str, result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `rxdp inspect x.o | head`: the reader went away, nothing to say.
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) if std::env::args_os().any(|arg| arg == "--json") => {
            let error = json::Json::object([("error", json::Json::from(e.to_string()))]);
            let _ = writeln!(io::stdout(), "{error}");
            ExitCode::FAILURE
        }
        Err(e) => {
            // If stderr is gone too there is no one left to tell.
            let _ = writeln!(io::stderr(), "{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests;
