//! The command-line parser of `rxdp` and `rxdp-load`: a table per command
//! ([`Spec`]: its options, positional arguments and the rules between
//! them) and one function that walks the arguments against it ([`parse`]).
//!
//! What it accepts, as clap did before it:
//! - `--opt value`, `--opt=value`, `-d value`, `-dvalue`, `-d=value`;
//!   short flags may be clustered (`-fv`);
//! - a value never starts with `-` unless attached (`--key=-1`): `--dev
//!   --json` is a missing value, not a device called `--json`;
//! - `--` ends the options: what follows is positional (`-- -odd-name.o`);
//! - `-h`/`--help` anywhere prints the help, `-V`/`--version` the version
//!   (for the programs, not the subcommands).
//!
//! Mistakes end the program with exit code 2 and a message on stderr in
//! clap's form (`error: ...`, a tip, the usage line). The parser fills a
//! command's argument struct through [`Args::set`] as options come, so
//! nothing is built but the struct itself.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

/// One option of a command.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// `--long`, without the dashes.
    pub long: &'static str,
    /// `-s`, if it has a short form.
    pub short: Option<char>,
    /// The name of its value in the help (`IFNAME`); `None` for a flag.
    pub value: Option<&'static str>,
    /// The value it takes when not given (passed to [`Args::set`] like a
    /// given one, so the help shows what the program really uses).
    pub default: Option<&'static str>,
    /// May be given more than once (`--map 0 --map 1`).
    pub repeat: bool,
    /// One line for the help.
    pub help: &'static str,
}

impl Opt {
    /// A flag: `--long`, no value.
    pub const fn flag(long: &'static str, help: &'static str) -> Opt {
        Opt {
            long,
            short: None,
            value: None,
            default: None,
            repeat: false,
            help,
        }
    }

    /// An option with a value called `name` in the help: `--long <NAME>`.
    pub const fn value(long: &'static str, name: &'static str, help: &'static str) -> Opt {
        Opt {
            value: Some(name),
            ..Opt::flag(long, help)
        }
    }

    /// The same option with a short form.
    pub const fn short(self, short: char) -> Opt {
        Opt {
            short: Some(short),
            ..self
        }
    }

    /// The same option with a default value.
    pub const fn default(self, default: &'static str) -> Opt {
        Opt {
            default: Some(default),
            ..self
        }
    }

    /// The same option, allowed more than once.
    pub const fn repeated(self) -> Opt {
        Opt {
            repeat: true,
            ..self
        }
    }

    /// How messages name it: `--dev <IFNAME>`, `--json`.
    fn display(&self) -> String {
        match self.value {
            Some(name) => format!("--{} <{name}>", self.long),
            None => format!("--{}", self.long),
        }
    }
}

/// A positional argument (all of ours are required, one value each).
#[derive(Debug, Clone, Copy)]
pub struct Positional {
    /// Its name in the help: `OBJ`.
    pub name: &'static str,
    pub help: &'static str,
}

/// A rule between options, named by their long names.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// The option must be given.
    Required(&'static str),
    /// Exactly one of the two must be given.
    OneOf(&'static str, &'static str),
    /// The two cannot be given together.
    Conflicts(&'static str, &'static str),
    /// The first needs the second.
    Requires(&'static str, &'static str),
    /// These options come in groups, one of each per `what` (`--map M
    /// --key K --prog P` per jump entry): each given as often as the others.
    SameCount {
        what: &'static str,
        options: &'static [&'static str],
    },
}

/// The table of one command.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The command as typed: `rxdp load`, `rxdp-load`.
    pub name: &'static str,
    /// One line for the top of its help.
    pub about: &'static str,
    /// Whether it has `-V`/`--version` (the programs do, subcommands not).
    pub version: bool,
    pub positionals: &'static [Positional],
    pub options: &'static [Opt],
    pub rules: &'static [Rule],
}

/// What a command's argument struct does with what the parser found.
pub trait Args {
    /// Stores option `long`; `value` is empty for a flag. `Err` rejects
    /// the value and says why (and, where there are few, what is accepted).
    fn set(&mut self, long: &str, value: &OsStr) -> Result<(), String>;

    /// Stores positional argument `index` (counted from 0).
    fn positional(&mut self, index: usize, value: OsString);
}

/// Why the arguments did not make a command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// `--help` or `--version`: this text on stdout, exit code 0.
    Print(String),
    /// A mistake: this text on stderr, exit code 2.
    Error(String),
}

impl Stop {
    /// Prints the text where it belongs and gives the exit code.
    pub fn exit(self) -> ExitCode {
        match self {
            Stop::Print(text) => {
                // `rxdp --help | head`: a closed stdout is nobody's problem.
                let _ = io::stdout().lock().write_all(text.as_bytes());
                ExitCode::SUCCESS
            }
            Stop::Error(text) => {
                let _ = io::stderr().lock().write_all(text.as_bytes());
                ExitCode::from(2)
            }
        }
    }
}

/// Parses `args` (without the program name) for the command `spec`.
pub fn parse<A: Args + Default>(
    spec: &Spec,
    args: impl IntoIterator<Item = OsString>,
) -> Result<A, Stop> {
    let mut parsed = A::default();
    fill(spec, &mut args.into_iter(), &mut parsed)?;
    Ok(parsed)
}

/// The parser proper, one copy for every command (`dyn`: the binaries
/// carry it once, not once per argument struct).
fn fill(
    spec: &Spec,
    args: &mut dyn Iterator<Item = OsString>,
    parsed: &mut dyn Args,
) -> Result<(), Stop> {
    let mut counts = vec![0u32; spec.options.len()];
    let mut positionals = 0usize;
    let mut options_ended = false;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if options_ended || bytes == b"-" || !bytes.starts_with(b"-") {
            if positionals >= spec.positionals.len() {
                return Err(error(
                    spec,
                    &format!("unexpected argument '{}' found", show(&arg)),
                    None,
                ));
            }
            parsed.positional(positionals, arg);
            positionals += 1;
            continue;
        }
        if bytes == b"--" {
            options_ended = true;
            continue;
        }
        // `--long`, `--long=value`.
        if let Some(rest) = bytes.strip_prefix(b"--") {
            let (name, inline) = match rest.iter().position(|&b| b == b'=') {
                Some(at) => (&rest[..at], Some(OsStr::from_bytes(&rest[at + 1..]))),
                None => (rest, None),
            };
            if inline.is_none() && name == b"help" {
                return Err(Stop::Print(help(spec)));
            }
            if inline.is_none() && spec.version && name == b"version" {
                return Err(Stop::Print(version(spec.name)));
            }
            let Some(index) = spec.options.iter().position(|o| o.long.as_bytes() == name) else {
                return Err(unknown_long(spec, &arg, name));
            };
            let opt = &spec.options[index];
            let value = match (opt.value, inline) {
                (None, None) => OsString::new(),
                (None, Some(value)) => {
                    return Err(error(
                        spec,
                        &format!(
                            "unexpected value '{}' for '--{}' found; no more were expected",
                            show(value),
                            opt.long
                        ),
                        None,
                    ));
                }
                (Some(_), Some(value)) => value.to_owned(),
                (Some(_), None) => next_value(spec, opt, &mut args)?,
            };
            store(spec, parsed, &mut counts, index, &value)?;
            continue;
        }
        // `-d value`, `-dvalue`, `-d=value`, `-fv`.
        let shorts = &bytes[1..];
        let mut at = 0;
        while at < shorts.len() {
            let c = shorts[at];
            at += 1;
            match c {
                b'h' => return Err(Stop::Print(help(spec))),
                b'V' if spec.version => return Err(Stop::Print(version(spec.name))),
                _ => {}
            }
            let found = spec
                .options
                .iter()
                .position(|o| o.short.is_some_and(|s| u32::from(s) == u32::from(c)));
            let Some(index) = found else {
                let shown = if c.is_ascii() {
                    format!("-{}", char::from(c))
                } else {
                    show(&arg)
                };
                return Err(error(
                    spec,
                    &format!("unexpected argument '{shown}' found"),
                    Some(format!("to pass '{shown}' as a value, use '-- {shown}'")),
                ));
            };
            let opt = &spec.options[index];
            let value = if opt.value.is_none() {
                OsString::new()
            } else {
                let attached = &shorts[at..];
                at = shorts.len();
                match attached.strip_prefix(b"=").unwrap_or(attached) {
                    [] => next_value(spec, opt, &mut args)?,
                    value => OsStr::from_bytes(value).to_owned(),
                }
            };
            store(spec, parsed, &mut counts, index, &value)?;
        }
    }
    for (index, opt) in spec.options.iter().enumerate() {
        if let (0, Some(default)) = (counts[index], opt.default) {
            parsed
                .set(opt.long, OsStr::new(default))
                .map_err(|reason| invalid(spec, opt, OsStr::new(default), &reason))?;
        }
    }
    check_rules(spec, &counts, positionals)
}

/// The value of `opt` from the next argument, which must not look like an
/// option.
fn next_value(
    spec: &Spec,
    opt: &Opt,
    args: &mut std::iter::Peekable<impl Iterator<Item = OsString>>,
) -> Result<OsString, Stop> {
    match args.peek() {
        Some(next) if next.as_bytes() == b"-" || !next.as_bytes().starts_with(b"-") => {
            Ok(args.next().unwrap_or_default())
        }
        next => {
            let tip = next.map(|next| {
                format!(
                    "to give '{}' as the value, use '--{}={}'",
                    show(next),
                    opt.long,
                    show(next)
                )
            });
            Err(error(
                spec,
                &format!(
                    "a value is required for '{}' but none was supplied",
                    opt.display()
                ),
                tip,
            ))
        }
    }
}

/// Counts an occurrence of option `index` and hands its value to the struct.
fn store(
    spec: &Spec,
    parsed: &mut dyn Args,
    counts: &mut [u32],
    index: usize,
    value: &OsStr,
) -> Result<(), Stop> {
    let opt = &spec.options[index];
    counts[index] += 1;
    if counts[index] > 1 && !opt.repeat {
        return Err(error(
            spec,
            &format!(
                "the argument '{}' cannot be used multiple times",
                opt.display()
            ),
            None,
        ));
    }
    parsed
        .set(opt.long, value)
        .map_err(|reason| invalid(spec, opt, value, &reason))
}

/// Checks the spec's rules, then that every positional argument was given.
fn check_rules(spec: &Spec, counts: &[u32], positionals: usize) -> Result<(), Stop> {
    let given = |long: &str| count(spec, counts, long) > 0;
    let shown = |long: &str| option(spec, long).map_or_else(|| format!("--{long}"), Opt::display);
    for rule in spec.rules {
        match *rule {
            Rule::Conflicts(a, b) | Rule::OneOf(a, b) if given(a) && given(b) => {
                return Err(error(
                    spec,
                    &format!(
                        "the argument '{}' cannot be used with '{}'",
                        shown(a),
                        shown(b)
                    ),
                    None,
                ));
            }
            Rule::Requires(a, b) if given(a) && !given(b) => {
                return Err(error(
                    spec,
                    &format!("the argument '{}' requires '{}'", shown(a), shown(b)),
                    None,
                ));
            }
            Rule::SameCount {
                what,
                options: group,
            } => {
                let first = group.first().map_or(0, |long| count(spec, counts, long));
                if group.iter().any(|long| count(spec, counts, long) != first) {
                    let names: Vec<String> = group.iter().map(|long| format!("--{long}")).collect();
                    let given: Vec<String> = group
                        .iter()
                        .map(|long| format!("{} --{long}", count(spec, counts, long)))
                        .collect();
                    return Err(error(
                        spec,
                        &format!(
                            "each {what} needs {} ({} given)",
                            join_and(&names),
                            given.join(", ")
                        ),
                        None,
                    ));
                }
            }
            _ => {}
        }
    }
    // Everything required and missing, in the order of the usage line.
    let mut missing = Vec::new();
    for rule in spec.rules {
        match *rule {
            Rule::Required(long) if !given(long) => missing.push(shown(long)),
            Rule::OneOf(a, b) if !given(a) && !given(b) => {
                missing.push(format!("<{}|{}>", shown(a), shown(b)));
            }
            _ => {}
        }
    }
    for p in spec.positionals.iter().skip(positionals) {
        missing.push(format!("<{}>", p.name));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let mut message = String::from("the following required arguments were not provided:");
    for what in missing {
        message.push_str("\n  ");
        message.push_str(&what);
    }
    Err(error(spec, &message, None))
}

fn option<'s>(spec: &'s Spec, long: &str) -> Option<&'s Opt> {
    spec.options.iter().find(|o| o.long == long)
}

fn count(spec: &Spec, counts: &[u32], long: &str) -> u32 {
    spec.options
        .iter()
        .position(|o| o.long == long)
        .and_then(|i| counts.get(i).copied())
        .unwrap_or(0)
}

/// `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// An argument as messages show it (invalid UTF-8 replaced).
fn show(arg: &OsStr) -> String {
    arg.to_string_lossy().into_owned()
}

/// `error: MESSAGE`, a tip, the usage line and the way to more help.
pub fn error(spec: &Spec, message: &str, tip: Option<String>) -> Stop {
    Stop::Error(error_text(&usage(spec), message, tip))
}

pub(crate) fn error_text(usage: &str, message: &str, tip: Option<String>) -> String {
    let mut text = format!("error: {message}\n\n");
    if let Some(tip) = tip {
        let _ = write!(text, "  tip: {tip}\n\n");
    }
    let _ = write!(
        text,
        "Usage: {usage}\n\nFor more information, try '--help'.\n"
    );
    text
}

fn invalid(spec: &Spec, opt: &Opt, value: &OsStr, reason: &str) -> Stop {
    error(
        spec,
        &format!(
            "invalid value '{}' for '{}': {reason}",
            show(value),
            opt.display()
        ),
        None,
    )
}

/// An unknown `--name`: the closest known option as a tip, when one is close.
fn unknown_long(spec: &Spec, arg: &OsStr, name: &[u8]) -> Stop {
    let mut known: Vec<&str> = spec.options.iter().map(|o| o.long).collect();
    known.push("help");
    if spec.version {
        known.push("version");
    }
    let tip = match closest(name, &known) {
        Some(similar) => format!("a similar argument exists: '--{similar}'"),
        None => format!("to pass '{0}' as a value, use '-- {0}'", show(arg)),
    };
    error(
        spec,
        &format!("unexpected argument '{}' found", show(arg)),
        Some(tip),
    )
}

/// The candidate nearest to `typed` when the typo is small: at most one
/// edit for short names, two for longer ones (an edit being an insertion,
/// deletion, substitution or swap of neighbours).
pub fn closest<'a>(typed: &[u8], candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(typed, c.as_bytes()), *c))
        .filter(|&(d, c)| d <= if c.len() <= 4 { 1 } else { 2 })
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein with swaps of adjacent
/// characters counting as one edit.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    // Three rows of the dynamic-programming table: two rows back (for
    // swaps), the previous one and the current one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// `rxdp load [OPTIONS] --entry <P> <OBJ>`.
pub fn usage(spec: &Spec) -> String {
    let mut usage = String::from(spec.name);
    let required = |long: &str| {
        spec.rules.iter().any(|rule| match *rule {
            Rule::Required(r) => r == long,
            Rule::OneOf(a, b) => a == long || b == long,
            _ => false,
        })
    };
    if spec.options.iter().any(|o| !required(o.long)) {
        usage.push_str(" [OPTIONS]");
    }
    for rule in spec.rules {
        match *rule {
            Rule::Required(long) => {
                if let Some(opt) = option(spec, long) {
                    let _ = write!(usage, " {}", opt.display());
                }
            }
            Rule::OneOf(a, b) => {
                if let (Some(a), Some(b)) = (option(spec, a), option(spec, b)) {
                    let _ = write!(usage, " <{}|{}>", a.display(), b.display());
                }
            }
            _ => {}
        }
    }
    for p in spec.positionals {
        let _ = write!(usage, " <{}>", p.name);
    }
    usage
}

/// `--help` of a command: what it does, the usage line, its arguments and
/// options, one line each.
pub fn help(spec: &Spec) -> String {
    let mut text = format!("{}\n\nUsage: {}\n", spec.about, usage(spec));
    if !spec.positionals.is_empty() {
        let rows: Vec<(String, String)> = spec
            .positionals
            .iter()
            .map(|p| (format!("<{}>", p.name), p.help.to_owned()))
            .collect();
        text.push_str("\nArguments:\n");
        table(&mut text, &rows);
    }
    let mut rows: Vec<(String, String)> = spec
        .options
        .iter()
        .map(|o| {
            let flag = match o.short {
                Some(short) => format!("-{short}, {}", o.display()),
                None => format!("    {}", o.display()),
            };
            let help = match o.default {
                Some(default) => format!("{} [default: {default}]", o.help),
                None => o.help.to_owned(),
            };
            (flag, help)
        })
        .collect();
    rows.push(("-h, --help".into(), "Print help".into()));
    if spec.version {
        rows.push(("-V, --version".into(), "Print version".into()));
    }
    text.push_str("\nOptions:\n");
    table(&mut text, &rows);
    text
}

/// Two columns, the first padded to its widest cell.
pub fn table(out: &mut String, rows: &[(String, String)]) {
    let width = rows.iter().map(|(left, _)| left.len()).max().unwrap_or(0);
    for (left, right) in rows {
        let _ = writeln!(out, "  {left:<width$}  {right}");
    }
}

/// `rxdp-load 0.1.0`.
pub fn version(program: &str) -> String {
    format!("{program} {}\n", env!("CARGO_PKG_VERSION"))
}

/// What [`Args::set`] says of an option its command's table has and its
/// `match` forgot (a bug; the tests of each command look for it).
pub fn unhandled(long: &str) -> String {
    format!("--{long} is not handled by this command (a bug in rxdp)")
}

/// A value as UTF-8 text, for every option but paths.
pub fn text(value: &OsStr) -> Result<&str, String> {
    value.to_str().ok_or_else(|| "not valid UTF-8".to_owned())
}

/// A decimal number that fits a `u32`.
pub fn number_u32(value: &OsStr) -> Result<u32, String> {
    let text = text(value)?;
    text.parse()
        .map_err(|_| format!("not a number from 0 to {}", u32::MAX))
}

/// A decimal number that fits a `usize`.
pub fn number_usize(value: &OsStr) -> Result<usize, String> {
    let text = text(value)?;
    text.parse()
        .map_err(|_| format!("not a number from 0 to {}", usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command with one of everything, for the parser's own tests.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Test {
        file: OsString,
        dev: Option<String>,
        count: u32,
        flag: bool,
        verbose: bool,
        items: Vec<String>,
        keys: Vec<u32>,
        one: Option<String>,
        two: Option<String>,
        needs: bool,
    }

    impl Args for Test {
        fn set(&mut self, long: &str, value: &OsStr) -> Result<(), String> {
            match long {
                "dev" => self.dev = Some(text(value)?.to_owned()),
                "count" => self.count = number_u32(value)?,
                "flag" => self.flag = true,
                "verbose" => self.verbose = true,
                "item" => self.items.push(text(value)?.to_owned()),
                "key" => self.keys.push(number_u32(value)?),
                "one" => self.one = Some(text(value)?.to_owned()),
                "two" => self.two = Some(text(value)?.to_owned()),
                "needs" => self.needs = true,
                _ => return Err(format!("--{long} is not handled")),
            }
            Ok(())
        }

        fn positional(&mut self, _: usize, value: OsString) {
            self.file = value;
        }
    }

    const SPEC: Spec = Spec {
        name: "prog test",
        about: "Test the parser",
        version: true,
        positionals: &[Positional {
            name: "FILE",
            help: "A file",
        }],
        options: &[
            Opt::value("dev", "IFNAME", "A device").short('d'),
            Opt::value("count", "N", "How many").default("3"),
            Opt::flag("flag", "A flag").short('f'),
            Opt::flag("verbose", "Say more").short('v'),
            Opt::value("item", "I", "An item").repeated(),
            Opt::value("key", "K", "A key").repeated(),
            Opt::value("one", "X", "One way"),
            Opt::value("two", "Y", "The other way"),
            Opt::flag("needs", "Needs --flag"),
        ],
        rules: &[
            Rule::OneOf("one", "two"),
            Rule::Conflicts("verbose", "flag"),
            Rule::Requires("needs", "dev"),
            Rule::SameCount {
                what: "pair",
                options: &["item", "key"],
            },
        ],
    };

    fn parse_test(args: &[&str]) -> Result<Test, Stop> {
        parse(&SPEC, args.iter().map(OsString::from))
    }

    fn error_of(args: &[&str]) -> String {
        match parse_test(args) {
            Err(Stop::Error(text)) => text,
            other => panic!("{args:?}: expected an error, got {other:?}"),
        }
    }

    const USAGE: &str = "Usage: prog test [OPTIONS] <--one <X>|--two <Y>> <FILE>\n\nFor more information, try '--help'.\n";

    #[test]
    fn both_value_forms_short_and_long() {
        let want = Test {
            file: "x.o".into(),
            dev: Some("eth0".into()),
            count: 7,
            one: Some("a".into()),
            ..Test::default()
        };
        for args in [
            &["x.o", "--dev", "eth0", "--count", "7", "--one", "a"][..],
            &["--dev=eth0", "--count=7", "--one=a", "x.o"],
            &["-d", "eth0", "--count", "7", "x.o", "--one", "a"],
            &["-deth0", "--count", "7", "--one", "a", "x.o"],
            &["-d=eth0", "--count", "7", "--one", "a", "--", "x.o"],
        ] {
            assert_eq!(parse_test(args).unwrap(), want, "{args:?}");
        }
    }

    #[test]
    fn defaults_flags_clusters_and_repeats() {
        let parsed = parse_test(&["-f", "--two", "b", "f.o"]).unwrap();
        assert_eq!(parsed.count, 3, "the default went through set()");
        assert!(parsed.flag && !parsed.verbose);
        assert_eq!(parsed.two.as_deref(), Some("b"));
        let parsed = parse_test(&["-vdeth1", "--one", "a", "f.o"]).unwrap();
        assert!(parsed.verbose);
        assert_eq!(parsed.dev.as_deref(), Some("eth1"));
        let parsed = parse_test(&[
            "--item", "a", "--key", "1", "--item=b", "--key=2", "--one", "x", "f",
        ])
        .unwrap();
        assert_eq!(parsed.items, ["a", "b"]);
        assert_eq!(parsed.keys, [1, 2]);
        // A lone dash is a value, `--` makes the rest positional.
        let parsed = parse_test(&["--dev", "-", "--one", "a", "--", "-odd"]).unwrap();
        assert_eq!(parsed.dev.as_deref(), Some("-"));
        assert_eq!(parsed.file, "-odd");
        // An attached value may start with a dash.
        let parsed = parse_test(&["--dev=-x", "-d", "y", "--one", "a", "f"]);
        assert!(parsed.is_err(), "--dev twice");
        let parsed = parse_test(&["--dev=-x", "--one", "a", "f"]).unwrap();
        assert_eq!(parsed.dev.as_deref(), Some("-x"));
    }

    #[test]
    fn help_and_version() {
        let help_text = help(&SPEC);
        assert_eq!(
            help_text,
            "Test the parser\n\
             \n\
             Usage: prog test [OPTIONS] <--one <X>|--two <Y>> <FILE>\n\
             \n\
             Arguments:\n\
             \x20 <FILE>  A file\n\
             \n\
             Options:\n\
             \x20 -d, --dev <IFNAME>  A device\n\
             \x20     --count <N>     How many [default: 3]\n\
             \x20 -f, --flag          A flag\n\
             \x20 -v, --verbose       Say more\n\
             \x20     --item <I>      An item\n\
             \x20     --key <K>       A key\n\
             \x20     --one <X>       One way\n\
             \x20     --two <Y>       The other way\n\
             \x20     --needs         Needs --flag\n\
             \x20 -h, --help          Print help\n\
             \x20 -V, --version       Print version\n"
        );
        for args in [
            &["--help"][..],
            &["-h"],
            &["x.o", "--dev", "e", "-h"],
            &["-fh"],
        ] {
            assert_eq!(parse_test(args), Err(Stop::Print(help_text.clone())));
        }
        for args in [&["--version"][..], &["-V"]] {
            assert_eq!(
                parse_test(args),
                Err(Stop::Print(format!(
                    "prog test {}\n",
                    env!("CARGO_PKG_VERSION")
                )))
            );
        }
    }

    #[test]
    fn error_texts() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--fleg"],
                "error: unexpected argument '--fleg' found\n\n  tip: a similar argument exists: '--flag'\n\n",
            ),
            (
                &["--verbsoe"],
                "error: unexpected argument '--verbsoe' found\n\n  tip: a similar argument exists: '--verbose'\n\n",
            ),
            (
                &["--nothing-like-it"],
                "error: unexpected argument '--nothing-like-it' found\n\n  tip: to pass '--nothing-like-it' as a value, use '-- --nothing-like-it'\n\n",
            ),
            (
                &["-x"],
                "error: unexpected argument '-x' found\n\n  tip: to pass '-x' as a value, use '-- -x'\n\n",
            ),
            (
                &["--dev"],
                "error: a value is required for '--dev <IFNAME>' but none was supplied\n\n",
            ),
            (
                &["-d"],
                "error: a value is required for '--dev <IFNAME>' but none was supplied\n\n",
            ),
            (
                &["--dev", "--flag"],
                "error: a value is required for '--dev <IFNAME>' but none was supplied\n\n  tip: to give '--flag' as the value, use '--dev=--flag'\n\n",
            ),
            (
                &["--count", "lots"],
                "error: invalid value 'lots' for '--count <N>': not a number from 0 to 4294967295\n\n",
            ),
            (
                &["--flag=yes"],
                "error: unexpected value 'yes' for '--flag' found; no more were expected\n\n",
            ),
            (
                &["--dev", "a", "--dev", "b"],
                "error: the argument '--dev <IFNAME>' cannot be used multiple times\n\n",
            ),
            (
                &["-f", "-f"],
                "error: the argument '--flag' cannot be used multiple times\n\n",
            ),
            (
                &["--one", "a", "--two", "b", "f"],
                "error: the argument '--one <X>' cannot be used with '--two <Y>'\n\n",
            ),
            (
                &["-v", "-f", "--one", "a", "f"],
                "error: the argument '--verbose' cannot be used with '--flag'\n\n",
            ),
            (
                &["--needs", "--one", "a", "f"],
                "error: the argument '--needs' requires '--dev <IFNAME>'\n\n",
            ),
            (
                &["--item", "a", "--one", "a", "f"],
                "error: each pair needs --item and --key (1 --item, 0 --key given)\n\n",
            ),
            (
                &["--one", "a"],
                "error: the following required arguments were not provided:\n  <FILE>\n\n",
            ),
            (
                &[],
                "error: the following required arguments were not provided:\n  <--one <X>|--two <Y>>\n  <FILE>\n\n",
            ),
            (
                &["--one", "a", "f", "g"],
                "error: unexpected argument 'g' found\n\n",
            ),
        ];
        for (args, head) in cases {
            assert_eq!(error_of(args), format!("{head}{USAGE}"), "{args:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let bad = OsString::from(OsStr::from_bytes(b"e\xffh"));
        let args = vec![
            "--dev".into(),
            bad.clone(),
            "--one".into(),
            "a".into(),
            "f".into(),
        ];
        match parse::<Test>(&SPEC, args) {
            Err(Stop::Error(text)) => assert!(
                text.starts_with(
                    "error: invalid value 'e\u{fffd}h' for '--dev <IFNAME>': not valid UTF-8\n"
                ),
                "{text}"
            ),
            other => panic!("{other:?}"),
        }
        // A path keeps its bytes.
        let args = vec!["--one".into(), "a".into(), bad.clone()];
        assert_eq!(parse::<Test>(&SPEC, args).unwrap().file, bad);
        // Non-ASCII after a single dash.
        let args = vec![OsString::from(OsStr::from_bytes(b"-\xff"))];
        assert!(matches!(parse::<Test>(&SPEC, args), Err(Stop::Error(_))));
    }

    #[test]
    fn closest_names() {
        let known = ["dev", "mode", "force", "entry", "pin-dir", "no-pin", "json"];
        assert_eq!(closest(b"forc", &known), Some("force"));
        assert_eq!(closest(b"dve", &known), Some("dev"));
        assert_eq!(closest(b"jsn", &known), Some("json"));
        assert_eq!(closest(b"pindir", &known), Some("pin-dir"));
        assert_eq!(closest(b"nopin", &known), Some("no-pin"));
        assert_eq!(closest(b"x", &known), None);
        assert_eq!(closest(b"verbose", &known), None);
        assert_eq!(edit_distance(b"", b"abc"), 3);
        assert_eq!(edit_distance(b"abc", b"abc"), 0);
        assert_eq!(edit_distance(b"ab", b"ba"), 1);
    }
}
