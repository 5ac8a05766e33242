//! `rxdp load OBJ` ≡ `rxdp-load OBJ`: the options of issue 4, the table of
//! what was made, `--explain` (every step as it happens) and `--timings`
//! (per stage, wall time and the kernel's share).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use rxdp_elf::ProgramType;

use super::args::{self, Args, Opt, Positional, Rule, Spec};
use super::json::Json;
use super::CliError;
use crate::observe::{Event, Observer, Patch};
use crate::options::{AttachOptions, EntryChoice, JumpRequest, LoadOptions, Mode, PinPolicy, Ref};
use crate::pin::{Recovered, Recovery};
use crate::pipeline::{load, Loaded};

/// The options of `rxdp load` and `rxdp-load`.
const OPTIONS: &[Opt] = &[
    Opt::value(
        "dev",
        "IFNAME",
        "Attach to this interface; without it, load, fill jump tables and print the table",
    )
    .short('d'),
    Opt::value(
        "mode",
        "MODE",
        "auto (the kernel picks native, else generic), skb, drv or hw",
    )
    .short('m')
    .default("auto"),
    Opt::flag("force", "Replace what is attached in that mode, atomically").short('f'),
    Opt::value(
        "entry",
        "PROG",
        "The program to attach: index into prog_fd[], function or section name (default: prog_fd[0], unless the object puts it in a jump table)",
    ),
    JUMP_MAP,
    JUMP_KEY,
    JUMP_PROG,
    TYPE,
    Opt::value(
        "pin-dir",
        "DIR",
        "Pin the maps in DIR (default with --dev: /sys/fs/bpf/rxdp/IFNAME/MODE/)",
    ),
    Opt::flag("no-pin", "Pin nothing (prog arrays empty when rxdp exits)"),
    LOCK_TIMEOUT,
    Opt::value(
        "max-object-size",
        "BYTES",
        "Refuse object files larger than this",
    )
    .default("268435456"),
    Opt::flag("verbose", "Print the verifier log, also on success").short('v'),
    Opt::flag("json", "Print the result as one JSON object"),
    Opt::flag("explain", "Print every step of the load as it happens"),
    Opt::flag(
        "timings",
        "Print how long each stage took, and how much of it in the kernel",
    ),
];

/// `--lock-timeout`: how long to wait for another load or unload of the
/// device (`load` and `unload`).
pub(crate) const LOCK_TIMEOUT: Opt = Opt::value(
    "lock-timeout",
    "SECONDS",
    "Wait this long for another load or unload of the device (or 250ms)",
)
.default("5");

/// `--lock-timeout 5`, `--lock-timeout 250ms`.
pub(crate) fn parse_lock_timeout(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a time: whole seconds (5) or milliseconds (250ms)");
    match text.strip_suffix("ms") {
        Some(ms) => ms.parse().map(Duration::from_millis).map_err(|_| bad()),
        None => text
            .strip_suffix('s')
            .unwrap_or(text)
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| bad()),
    }
}

/// The object file, the one positional argument of `load` and `run`.
pub(crate) const OBJ: Positional = Positional {
    name: "OBJ",
    help: "The BPF object file (clang -target bpf)",
};

const POSITIONALS: &[Positional] = &[OBJ];

/// `--map M`, `--key K`, `--prog P`: one jump-table entry (`load` and `run`).
pub(crate) const JUMP_MAP: Opt = Opt::value(
    "map",
    "M",
    "Jump-table entry: map_fd[M] (index or name); repeat with --key and --prog",
)
.repeated();
pub(crate) const JUMP_KEY: Opt =
    Opt::value("key", "K", "Jump-table entry: the key in map_fd[M]").repeated();
pub(crate) const JUMP_PROG: Opt = Opt::value(
    "prog",
    "P",
    "Jump-table entry: prog_fd[P] (index, function or section name)",
)
.repeated();

/// `--type T`, for sections whose name gives no program type.
pub(crate) const TYPE: Opt = Opt::value(
    "type",
    "TYPE",
    "Program type of sections whose name says none (prog/0, 1/7)",
)
.default("xdp");

/// `--map M --key K --prog P`, one of each per entry.
pub(crate) const JUMP_ENTRIES: Rule = Rule::SameCount {
    what: "jump entry",
    options: &["map", "key", "prog"],
};

const RULES: &[Rule] = &[Rule::Conflicts("pin-dir", "no-pin"), JUMP_ENTRIES];

/// `rxdp load`.
pub const SPEC: Spec = Spec {
    name: "rxdp load",
    about: "Load an object like load_bpf_file(): map_fd[] and prog_fd[] in object order; fill jump tables; pin; attach with --dev",
    version: false,
    positionals: POSITIONALS,
    options: OPTIONS,
    rules: RULES,
};

/// `rxdp-load`, the same command as a program of its own.
pub const SPEC_LOAD: Spec = Spec {
    name: "rxdp-load",
    about: "Load a BPF object like samples/bpf's load_bpf_file(), fill its jump tables, pin its maps and attach its entry program",
    version: true,
    ..SPEC
};

/// Load a BPF object like samples/bpf's load_bpf_file(), fill its jump
/// tables, pin its maps and attach its entry program to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadArgs {
    /// The BPF object file (clang -target bpf).
    pub object: PathBuf,
    /// Attach to this interface; without it, load, fill jump tables and print the table.
    pub dev: Option<String>,
    /// auto (the kernel picks native, else generic), skb, drv or hw.
    pub mode: Mode,
    /// Replace what is attached in that mode, atomically.
    pub force: bool,
    /// The program to attach: index into prog_fd[], function or section
    /// name (default: prog_fd[0], unless the object puts it in a jump table).
    pub entry: Option<String>,
    /// Jump-table entry: map_fd[M] (index or name); repeat with --key and --prog.
    pub maps: Vec<String>,
    /// Jump-table entry: the key in map_fd[M].
    pub keys: Vec<u32>,
    /// Jump-table entry: prog_fd[P] (index, function or section name).
    pub progs: Vec<String>,
    /// Program type of sections whose name says none (prog/0, 1/7).
    pub prog_type: ProgramType,
    /// Pin the maps in DIR (default with --dev: /sys/fs/bpf/rxdp/IFNAME/MODE/).
    pub pin_dir: Option<PathBuf>,
    /// Pin nothing (prog arrays empty when rxdp exits).
    pub no_pin: bool,
    /// Wait this long for another load or unload of the device.
    pub lock_timeout: Duration,
    /// Refuse object files larger than this.
    pub max_object_size: u64,
    /// Print the verifier log, also on success.
    pub verbose: bool,
    /// Print the result as one JSON object.
    pub json: bool,
    /// Print every step of the load as it happens.
    pub explain: bool,
    /// Print how long each stage took, and how much of it in the kernel.
    pub timings: bool,
}

/// What a load does when no option says otherwise (the defaults of
/// [`SPEC`], which the parser applies).
impl Default for LoadArgs {
    fn default() -> LoadArgs {
        LoadArgs {
            object: PathBuf::new(),
            dev: None,
            mode: Mode::Auto,
            force: false,
            entry: None,
            maps: Vec::new(),
            keys: Vec::new(),
            progs: Vec::new(),
            prog_type: ProgramType::XDP,
            pin_dir: None,
            no_pin: false,
            lock_timeout: crate::options::DEFAULT_LOCK_TIMEOUT,
            max_object_size: crate::options::DEFAULT_MAX_OBJECT_SIZE,
            verbose: false,
            json: false,
            explain: false,
            timings: false,
        }
    }
}

impl Args for LoadArgs {
    fn set(&mut self, long: &str, value: &OsStr) -> Result<(), String> {
        match long {
            "dev" => self.dev = Some(args::text(value)?.to_owned()),
            "mode" => self.mode = parse_mode(args::text(value)?)?,
            "force" => self.force = true,
            "entry" => self.entry = Some(args::text(value)?.to_owned()),
            "map" => self.maps.push(args::text(value)?.to_owned()),
            "key" => self.keys.push(args::number_u32(value)?),
            "prog" => self.progs.push(args::text(value)?.to_owned()),
            "type" => self.prog_type = parse_type(args::text(value)?)?,
            "pin-dir" => self.pin_dir = Some(PathBuf::from(value)),
            "no-pin" => self.no_pin = true,
            "lock-timeout" => self.lock_timeout = parse_lock_timeout(args::text(value)?)?,
            "max-object-size" => {
                self.max_object_size = args::text(value)?
                    .parse()
                    .map_err(|_| "expected a number of bytes".to_string())?
            }
            "verbose" => self.verbose = true,
            "json" => self.json = true,
            "explain" => self.explain = true,
            "timings" => self.timings = true,
            _ => return Err(args::unhandled(long)),
        }
        Ok(())
    }

    fn positional(&mut self, _index: usize, value: OsString) {
        self.object = PathBuf::from(value);
    }
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    Mode::parse(text).ok_or_else(|| format!("{text:?} is not a mode: auto, skb, drv or hw"))
}

/// `--type`: a program type by its kernel name.
pub(crate) fn parse_type(text: &str) -> Result<ProgramType, String> {
    ProgramType::from_name(text).ok_or_else(|| {
        format!("{text:?} is not a program type (xdp, socket_filter, sched_cls, ...)")
    })
}

impl LoadArgs {
    /// The library's options.
    pub fn options(&self) -> Result<LoadOptions, String> {
        if self.maps.len() != self.keys.len() || self.maps.len() != self.progs.len() {
            return Err(format!(
                "each jump entry needs --map, --key and --prog ({} --map, {} --key, {} --prog given)",
                self.maps.len(),
                self.keys.len(),
                self.progs.len()
            ));
        }
        let mut options = LoadOptions::new(&self.object);
        options.jumps = self
            .maps
            .iter()
            .zip(&self.keys)
            .zip(&self.progs)
            .map(|((map, key), prog)| JumpRequest {
                map: Ref::parse(map),
                key: *key,
                prog: Ref::parse(prog),
            })
            .collect();
        options.attach = self.dev.as_ref().map(|dev| AttachOptions {
            dev: dev.clone(),
            mode: self.mode,
            force: self.force,
            entry: self.entry.as_deref().map(Ref::parse),
        });
        options.default_type = self.prog_type;
        options.pins = match (&self.pin_dir, self.no_pin) {
            (_, true) => PinPolicy::Never,
            (Some(dir), false) => PinPolicy::Dir(dir.clone()),
            (None, false) => PinPolicy::Default,
        };
        options.verifier_log = self.verbose;
        options.lock_timeout = self.lock_timeout;
        options.max_object_size = self.max_object_size;
        Ok(options)
    }
}

/// Runs the load and writes the table (or JSON) to `out`; `--explain`
/// lines go to `out` too, or to stderr with `--json`. Warnings go to stderr.
pub fn run(args: &LoadArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let options = args.options().map_err(CliError::Usage)?;
    let mut stderr = std::io::stderr();
    let result = {
        let mut explain = Explain {
            // With --json, `out` carries only the JSON object.
            out: if args.json { &mut stderr } else { &mut *out },
            on: args.explain,
        };
        load(&options, &mut explain)
    };
    let loaded = match result {
        Ok(loaded) => loaded,
        Err(error) => {
            if let (true, Some(log)) = (args.verbose, error.verifier_log()) {
                let _ = writeln!(stderr, "the whole verifier log:\n{log}");
                return Err(CliError::Load(error.log_shown()));
            }
            return Err(CliError::Load(error));
        }
    };
    for warning in &loaded.warnings {
        let _ = writeln!(stderr, "warning: {warning}");
    }
    if let Some(signal) = crate::interrupt::interrupted() {
        let _ = writeln!(
            stderr,
            "warning: {} came after the pins were published: the load is complete",
            rxdp_syscalls::signal::signal_name(signal)
        );
    }
    let text = if args.json {
        format!("{}\n", json(&loaded, args))
    } else {
        text(&loaded, args)
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

/// Milliseconds with three decimals (`12.345`), rounded to the nearest
/// microsecond; integer arithmetic, so no float formatting in the binary.
pub(crate) fn ms(duration: Duration) -> String {
    let micros = duration
        .as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from((duration.subsec_nanos() + 500) / 1000));
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

/// The human-readable table.
fn text(loaded: &Loaded, args: &LoadArgs) -> String {
    let mut out = String::new();
    for (i, map) in loaded.maps.iter().enumerate() {
        let reused = match (&map.pin, map.reused, map.shared) {
            (Some(pin), true, _) => format!(", reused {}", pin.display()),
            (Some(pin), false, true) => format!(", shared at {}", pin.display()),
            _ => String::new(),
        };
        out.push_str(&format!(
            "map_fd[{i}] = {} ({}, id {}{reused})\n",
            map.name, map.map_type, map.id
        ));
    }
    for (i, prog) in loaded.programs.iter().enumerate() {
        out.push_str(&format!(
            "prog_fd[{i}] = {} ({}, id {}, section {})\n",
            prog.name, prog.prog_type, prog.id, prog.section
        ));
    }
    for entry in &loaded.jump_entries {
        out.push_str(&format!(
            "jump: map_fd[{}][{}] = prog_fd[{}] ({})\n",
            entry.map,
            entry.key,
            entry.program,
            entry.origin.name().replace('_', " ")
        ));
    }
    if let Some(attach) = &loaded.attach {
        out.push_str(&format!(
            "attached prog_fd[{}] to {} (ifindex {}) in {} mode",
            attach.program, attach.ifname, attach.ifindex, attach.mode
        ));
        if let Some(id) = attach.replaced {
            out.push_str(&format!(", replacing program id {id}"));
        }
        out.push('\n');
        if attach.choice == EntryChoice::First {
            let prog = &loaded.programs[attach.program];
            out.push_str(&format!(
                "entry: prog_fd[{}] {} (section {}), the first program: no --entry given, and \
                 the object puts it in no jump table\n",
                attach.program, prog.name, prog.section
            ));
        }
    }
    for recovered in &loaded.recovered {
        out.push_str(&format!("{}\n", recovery_line(recovered)));
    }
    if let Some(dir) = &loaded.pin_dir {
        out.push_str(&format!("pinned maps in {}/\n", dir.display()));
    }
    if args.verbose {
        for (i, prog) in loaded.programs.iter().enumerate() {
            out.push_str(&format!("verifier log of prog_fd[{i}] {}:\n", prog.name));
            for line in prog.log.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    if args.timings {
        out.push_str(&timings_table(loaded));
    }
    out
}

fn timings_table(loaded: &Loaded) -> String {
    let mut out = format!("{:<18} {:>10} {:>10}\n", "stage", "wall ms", "kernel ms");
    for timing in &loaded.timings {
        out.push_str(&format!(
            "{:<18} {:>10} {:>10}\n",
            timing.stage.name(),
            ms(timing.wall),
            ms(timing.kernel)
        ));
    }
    let (wall, kernel) = loaded.total_time();
    out.push_str(&format!(
        "{:<18} {:>10} {:>10}\n",
        "total",
        ms(wall),
        ms(kernel)
    ));
    out
}

fn micros(duration: Duration) -> Json {
    Json::from(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
}

/// The `--json` object.
fn json(loaded: &Loaded, args: &LoadArgs) -> Json {
    let path = |p: &PathBuf| Json::from(p.display().to_string());
    let maps = loaded.maps.iter().enumerate().map(|(i, map)| {
        Json::object([
            ("index", Json::from(i)),
            ("name", Json::from(map.name.as_str())),
            ("type", Json::from(map.map_type.name())),
            ("id", Json::from(map.id)),
            ("pin", map.pin.as_ref().map_or(Json::Null, path)),
            ("reused", Json::from(map.reused)),
            ("shared", Json::from(map.shared)),
        ])
    });
    let programs = loaded.programs.iter().enumerate().map(|(i, prog)| {
        let mut object = Json::object([
            ("index", Json::from(i)),
            ("name", Json::from(prog.name.as_str())),
            ("section", Json::from(prog.section.as_str())),
            ("type", Json::from(prog.prog_type.name())),
            ("id", Json::from(prog.id)),
            ("tag", Json::from(prog.tag.as_str())),
            ("verified_insns", Json::from(prog.verified_insns)),
        ]);
        if args.verbose {
            object.push("verifier_log", prog.log.as_str());
        }
        object
    });
    let jumps = loaded.jump_entries.iter().map(|entry| {
        Json::object([
            ("map", Json::from(entry.map)),
            ("key", Json::from(entry.key)),
            ("prog", Json::from(entry.program)),
            ("origin", Json::from(entry.origin.name())),
        ])
    });
    let attach = loaded.attach.as_ref().map_or(Json::Null, |attach| {
        Json::object([
            ("dev", Json::from(attach.ifname.as_str())),
            ("ifindex", Json::from(attach.ifindex)),
            ("mode", Json::from(attach.mode.name())),
            ("prog", Json::from(attach.program)),
            (
                "entry",
                Json::from(match attach.choice {
                    EntryChoice::Named => "named",
                    EntryChoice::First => "first",
                }),
            ),
            ("replaced", Json::from(attach.replaced)),
        ])
    });
    let recovered = loaded
        .recovered
        .iter()
        .map(|r| Json::from(recovery_line(r)));
    let mut object = Json::object([
        ("file", Json::from(loaded.file.display().to_string())),
        ("maps", Json::Array(maps.collect())),
        ("programs", Json::Array(programs.collect())),
        ("jump_entries", Json::Array(jumps.collect())),
        ("attach", attach),
        ("pin_dir", loaded.pin_dir.as_ref().map_or(Json::Null, path)),
        (
            "warnings",
            Json::array(loaded.warnings.iter().map(String::as_str)),
        ),
        ("recovered", Json::Array(recovered.collect())),
    ]);
    if args.timings {
        let stages = loaded.timings.iter().map(|t| {
            Json::object([
                ("stage", Json::from(t.stage.name())),
                ("wall_us", micros(t.wall)),
                ("kernel_us", micros(t.kernel)),
            ])
        });
        object.push("timings", Json::Array(stages.collect()));
    }
    object
}

/// `--explain`: one line per event, as it happens.
struct Explain<'w> {
    out: &'w mut dyn Write,
    on: bool,
}

impl Observer for Explain<'_> {
    fn event(&mut self, event: &Event<'_>) {
        if self.on {
            // A closed output only loses the explanation, not the load.
            let _ = writeln!(self.out, "{}", describe(event));
        }
    }
}

/// One line for a staging directory a dead loader left, and what became of it.
pub(crate) fn recovery_line(recovered: &Recovered) -> String {
    let what = format!(
        "{} (left by process {}, which died)",
        recovered.dir.display(),
        recovered.loader
    );
    match &recovered.recovery {
        Recovery::Published { into, prog } => format!(
            "recovered {what}: its program (id {prog}) is the one attached: published as {}",
            into.display()
        ),
        Recovery::Removed => format!("recovered {what}: its program is not attached: removed"),
        Recovery::Left(why) => format!("left {what}: {why}"),
    }
}

/// What `--explain` prints for one event.
pub(crate) fn describe(event: &Event<'_>) -> String {
    match *event {
        Event::BtfLoaded { bytes, fd } => {
            format!("  BPF_BTF_LOAD: the object's BTF, {bytes} bytes -> fd {fd}")
        }
        Event::MapCreated {
            index,
            name,
            map_type,
            fd,
            without_btf,
            ifindex,
        } => {
            let mut line = format!("  BPF_MAP_CREATE map_fd[{index}] {name} ({map_type}) -> fd {fd}");
            if without_btf {
                line.push_str(", without BTF key/value ids (the kernel refused them for this map type)");
            }
            if ifindex != 0 {
                line.push_str(&format!(", bound to ifindex {ifindex}"));
            }
            line
        }
        Event::InnerTemplate { outer, fd } => {
            format!("  BPF_MAP_CREATE inner-map template of map_fd[{outer}] -> fd {fd} (closed once the outer map exists)")
        }
        Event::MapReused { index, name, path, fd } => format!(
            "  BPF_OBJ_GET map_fd[{index}] {name}: compatible map pinned at {} -> fd {fd}, used as it is",
            path.display()
        ),
        Event::SharedPinCreated { index, path } => {
            format!("  BPF_OBJ_PIN map_fd[{index}] at {} (shared)", path.display())
        }
        Event::MapFilled { index, bytes } => {
            format!("  BPF_MAP_UPDATE_ELEM map_fd[{index}][0]: {bytes} bytes of initial data")
        }
        Event::MapFrozen { index } => format!("  BPF_MAP_FREEZE map_fd[{index}]: read-only from now on"),
        Event::MapSlotFilled { outer, key, inner } => {
            format!("  BPF_MAP_UPDATE_ELEM map_fd[{outer}][{key}] = map_fd[{inner}]")
        }
        Event::KernelBtfRead { bytes } => {
            format!("  read the kernel's BTF ({bytes} bytes) to resolve kfuncs")
        }
        Event::Relocated {
            program,
            insn,
            symbol,
            patch,
        } => {
            let what = match patch {
                Patch::MapFd { map, fd } => format!("ld_imm64 map_fd[{map}] (fd {fd})"),
                Patch::MapValue { map, fd, offset } => {
                    format!("ld_imm64 map_fd[{map}] (fd {fd}) value + {offset}")
                }
                Patch::Call { function, at } => format!("call {function} at insn {at}"),
                Patch::FuncAddr { function, at } => format!("address of {function} at insn {at}"),
                Patch::Kfunc { btf_id } => format!("kfunc call, kernel BTF id {btf_id}"),
                Patch::Core {
                    kind,
                    value: Some(value),
                } => format!("CO-RE {kind} = {value}"),
                Patch::Core { kind, value: None } => {
                    format!("CO-RE {kind}: no kernel type matches; poisoned")
                }
            };
            format!("  {program} insn {insn}: {symbol}: {what}")
        }
        Event::ProgramLoaded {
            index,
            name,
            prog_type,
            fd,
            id,
            insns,
            verified_insns,
            took,
        } => format!(
            "  BPF_PROG_LOAD prog_fd[{index}] {name} ({prog_type}, {insns} insns) -> fd {fd}, id {id}; the verifier processed {verified_insns} insns in {} ms",
            ms(took)
        ),
        Event::JumpEntry {
            map,
            key,
            program,
            origin,
        } => format!(
            "  BPF_MAP_UPDATE_ELEM map_fd[{map}][{key}] = prog_fd[{program}] ({})",
            origin.name().replace('_', " ")
        ),
        Event::Pinned { index, path } => {
            format!("  BPF_OBJ_PIN map_fd[{index}] at {}", path.display())
        }
        Event::NetlinkRequest {
            ifindex,
            fd,
            flags,
            expected_fd,
        } => {
            let mut line = format!("  RTM_SETLINK ifindex {ifindex}: IFLA_XDP_FD {fd}, IFLA_XDP_FLAGS {:#x}", flags.bits());
            if let Some(expected) = expected_fd {
                line.push_str(&format!(", IFLA_XDP_EXPECTED_FD {expected}"));
            }
            line
        }
        Event::Attached {
            ifindex,
            mode,
            replaced,
        } => {
            let mut line = format!("  attached to ifindex {ifindex} in {mode} mode");
            if let Some(id) = replaced {
                line.push_str(&format!(", replacing program id {id}"));
            }
            line
        }
        Event::PinsPublished { dir } => format!("  renameat2: the pins are now in {}", dir.display()),
        Event::Recovered { recovered } => format!("  {}", recovery_line(recovered)),
        Event::Locked { path, waited } => {
            format!("  flock {}: taken after {} ms", path.display(), ms(waited))
        }
        Event::StageFinished {
            stage,
            wall,
            kernel,
        } => format!(
            "{} done: {} ms, {} ms of it in syscalls",
            stage.name(),
            ms(wall),
            ms(kernel)
        ),
        Event::RolledBack { what } => format!("  undone: {what}"),
    }
}
