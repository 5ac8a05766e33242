//! The `rxdp` and `rxdp-load` command lines.
//!
//! Each subcommand is a module with its argument struct, the table the
//! parser reads its options from ([`args::Spec`]) and a `run` function;
//! adding one means a variant of [`Command`], a row of [`COMMANDS`] and an
//! arm in [`Command::parse`] and [`Command::run`]. Usage mistakes end with
//! exit code 2 ([`args`]); errors of a run come back as [`CliError`] and
//! [`main`] prints them as `rxdp: <file>: <what is wrong>` with exit code 1.
//! `rxdp-load OBJ ...` is `rxdp load OBJ ...` ([`main_load`]).

pub mod args;
pub mod inspect;
pub mod json;
pub mod load;
pub mod run;
pub mod status;
pub mod trace;
pub mod unload;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use args::Stop;

/// What `rxdp --help` says first.
const ABOUT: &str = "Loads clang-built BPF objects the way load_bpf_file() did, fills jump tables and attaches XDP through rtnetlink";

/// The subcommands of `rxdp`, in the order of its help.
pub const COMMANDS: &[(&str, &args::Spec)] = &[
    ("inspect", &inspect::SPEC),
    ("load", &load::SPEC),
    ("unload", &unload::SPEC),
    ("status", &status::SPEC),
    ("run", &run::SPEC),
    ("trace", &trace::SPEC),
];

/// A subcommand of `rxdp` with its arguments.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Inspect(inspect::InspectArgs),
    Load(load::LoadArgs),
    Unload(unload::UnloadArgs),
    Status(status::StatusArgs),
    Run(run::RunArgs),
    Trace(trace::TraceArgs),
}

impl Command {
    /// The subcommand `rxdp ARGS...` names (`args` without the program
    /// name), or what to print instead: the help, the version, a mistake.
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, Stop> {
        let mut args = args.into_iter();
        let Some(first) = args.next() else {
            // Like clap: the help, on stderr, as a usage error.
            return Err(Stop::Error(help()));
        };
        let name = first.to_string_lossy();
        Ok(match &*name {
            "-h" | "--help" => return Err(Stop::Print(help())),
            "-V" | "--version" => return Err(Stop::Print(args::version("rxdp"))),
            "help" => return Err(help_of(args.next())),
            "inspect" => Command::Inspect(args::parse(&inspect::SPEC, args)?),
            "load" => Command::Load(args::parse(&load::SPEC, args)?),
            "unload" => Command::Unload(args::parse(&unload::SPEC, args)?),
            "status" => Command::Status(args::parse(&status::SPEC, args)?),
            "run" => Command::Run(args::parse(&run::SPEC, args)?),
            "trace" => Command::Trace(args::parse(&trace::SPEC, args)?),
            other => return Err(unknown_command(other)),
        })
    }

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

/// `rxdp --help`: the subcommands, one line each.
fn help() -> String {
    let mut rows: Vec<(String, String)> = COMMANDS
        .iter()
        .map(|(name, spec)| ((*name).to_owned(), spec.about.to_owned()))
        .collect();
    rows.push((
        "help".into(),
        "Print this message or the help of the given subcommand(s)".into(),
    ));
    let mut text = format!("{ABOUT}\n\nUsage: rxdp <COMMAND>\n\nCommands:\n");
    args::table(&mut text, &rows);
    text.push_str("\nOptions:\n");
    args::table(
        &mut text,
        &[
            ("-h, --help".into(), "Print help".into()),
            ("-V, --version".into(), "Print version".into()),
        ],
    );
    text
}

/// `rxdp help [COMMAND]`.
fn help_of(command: Option<OsString>) -> Stop {
    let Some(command) = command else {
        return Stop::Print(help());
    };
    let name = command.to_string_lossy();
    match COMMANDS.iter().find(|(n, _)| *n == name) {
        Some((_, spec)) => Stop::Print(args::help(spec)),
        None if name == "help" => Stop::Print(help()),
        None => unknown_command(&name),
    }
}

/// Neither a subcommand nor `--help`/`--version`.
fn unknown_command(name: &str) -> Stop {
    let usage = "rxdp <COMMAND>";
    if name.starts_with('-') {
        return Stop::Error(args::error_text(
            usage,
            &format!("unexpected argument '{name}' found"),
            Some(format!("to pass '{name}' as a value, use '-- {name}'")),
        ));
    }
    let mut names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
    names.push("help");
    let tip = args::closest(name.as_bytes(), &names)
        .map(|similar| format!("a similar subcommand exists: '{similar}'"));
    Stop::Error(args::error_text(
        usage,
        &format!("unrecognized subcommand '{name}'"),
        tip,
    ))
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

/// Reads and parses the object file of `rxdp inspect` and `rxdp run` as
/// a load does (a regular file, size capped, magic first); either error
/// names the file as given.
fn read_object(file: &Path) -> Result<rxdp_elf::Object, CliError> {
    let data =
        crate::open::read(file, crate::options::DEFAULT_MAX_OBJECT_SIZE).map_err(CliError::Load)?;
    crate::open::parse(file, &data).map_err(CliError::Load)
}

/// SIGINT and SIGTERM make a load roll back rather than die half-way
/// (for loads only: `rxdp trace` must stop on Ctrl-C).
fn handle_signals() -> Result<(), CliError> {
    crate::interrupt::handle_signals().map_err(|source| CliError::Kernel {
        what: "install the SIGINT and SIGTERM handlers".into(),
        source,
    })
}

/// The `rxdp` binary: parse the arguments, run, report.
pub fn main() -> ExitCode {
    let command = match Command::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(stop) => return stop.exit(),
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
    let args = match args::parse(&load::SPEC_LOAD, std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(stop) => return stop.exit(),
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
