//! `rxdp load OBJ` ≡ `rxdp-load OBJ`: the options of issue 4, the table of
//! what was made, `--explain` (every step as it happens) and `--timings`
//! (per stage, wall time and the kernel's share).

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rxdp::observe::{Event, Observer};
use rxdp::options::{
    AttachOptions, AttachProg, Autoload, EntryChoice, Jobs, JumpRequest, LoadOptions, Mode,
    PinPolicy, Ref, DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_OBJECT_SIZE,
};
use rxdp::pin::{Recovered, Recovery};
use rxdp::pipeline::{load, Loaded};
use rxdp_elf::ProgramType;

use crate::json::Json;
use crate::CliError;

/// How section names give program types, for `rxdp-load --help` and
/// `rxdp load --help` (docs/11-section-names.md has the whole table).
pub const SECTION_NAMES_HELP: &str = "\
Section names give program types as libbpf 1.x names them (xdp, tc,
kprobe/F, cgroup/connect4, fentry/F, iter/task, struct_ops/NAME...), plus
bpf_load.c's prefixes (xdp0, socket1); libbpf's meaning wins. An unknown
name is refused (--type TYPE forces one); prog, prog/N and ID/KEY are xdp.
SEC(\"?NAME\") loads only with --autoload NAME or --all. socket/N,
kprobe/N, kretprobe/N, sockops/N fill key N of the last prog array, as
bpf_load.c did (--no-section-keys: not). See docs/11-section-names.md.
";

/// Load a BPF object like samples/bpf's load_bpf_file(), fill its jump
/// tables, pin its maps and attach its entry program to a device.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LoadArgs {
    /// The BPF object file (clang -target bpf)
    #[arg(value_name = "OBJ")]
    pub object: PathBuf,
    /// Attach to this interface; without it, load, fill jump tables and print the table
    #[arg(short, long, value_name = "IFNAME")]
    pub dev: Option<String>,
    /// auto (the kernel picks native, else generic), skb, drv or hw
    #[arg(short, long, value_name = "MODE", default_value = "auto", value_parser = parse_mode)]
    pub mode: Mode,
    /// Replace what is attached in that mode, atomically
    #[arg(short, long)]
    pub force: bool,
    /// Attach through a BPF link (BPF_LINK_CREATE), pinned beside the maps as rxdp:link, instead of netlink (the default for now); with --force, replace the program of the link holding the slot (BPF_LINK_UPDATE)
    #[arg(long, requires = "dev")]
    pub link: bool,
    /// `--entry`: the program to attach, `prog_fd[0]` when not given
    /// (the help text is an attribute: rustdoc would read `prog_fd[0]`
    /// as a link).
    #[arg(
        long,
        value_name = "PROG",
        help = "The program to attach: index into prog_fd[], function or section name (default: prog_fd[0], unless the object puts it in a jump table)"
    )]
    pub entry: Option<String>,
    #[command(flatten)]
    pub jumps: JumpArgs,
    #[command(flatten)]
    pub multiprog: MultiprogArgs,
    #[command(flatten)]
    pub prog_type: TypeArg,
    /// Load this SEC("?...") program too (function or section; repeatable)
    #[arg(long, value_name = "NAME")]
    pub autoload: Vec<String>,
    /// Load every SEC("?...") program too
    #[arg(long)]
    pub all: bool,
    /// The program freplace programs replace a function of (kernel id, pin or program)
    #[arg(long, value_name = "ID|PIN|PROG")]
    pub attach_prog: Option<String>,
    /// Register this .struct_ops map (index or name; repeatable)
    #[arg(long, value_name = "MAP")]
    pub register: Vec<String>,
    /// socket/N, kprobe/N, kretprobe/N, sockops/N fill no prog array
    #[arg(long)]
    pub no_section_keys: bool,
    /// Pin the maps in DIR (default with --dev: /sys/fs/bpf/rxdp/IFNAME/MODE/)
    #[arg(long, value_name = "DIR", conflicts_with = "no_pin")]
    pub pin_dir: Option<PathBuf>,
    /// Pin nothing (prog arrays empty when rxdp exits)
    #[arg(long)]
    pub no_pin: bool,
    #[command(flatten)]
    pub lock_timeout: LockTimeoutArg,
    /// Refuse object files larger than this
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_OBJECT_SIZE)]
    pub max_object_size: u64,
    /// Verify up to N programs at once (default: one per usable CPU when the first takes 2 ms or more; 1: one after another)
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Print the verifier log, also on success
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Print every step of the load as it happens
    #[arg(long)]
    pub explain: bool,
    /// Print how long each stage took, and how much of it in the kernel
    #[arg(long)]
    pub timings: bool,
}

/// `--multiprog`, `--prio`, `--actions`: the entry program as a component
/// of libxdp's multi-program dispatcher, the way xdp-loader shares an
/// interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Args)]
pub struct MultiprogArgs {
    /// Add the entry program to the interface's libxdp dispatcher (as xdp-loader does: both tools list and remove it), making one if the slot is empty; done without asking when the slot holds a dispatcher already (unless --force replaces it)
    #[arg(long, requires = "dev", conflicts_with_all = ["link", "force"])]
    pub multiprog: bool,
    /// Run priority in the dispatcher, lower first (default: the object's XDP_RUN_CONFIG, else 50); implies --multiprog
    #[arg(long, value_name = "N", requires = "dev", conflicts_with_all = ["link", "force"])]
    pub prio: Option<u32>,
    /// The verdicts after which the next program runs, e.g. XDP_PASS,XDP_DROP (default: the object's XDP_RUN_CONFIG, else XDP_PASS); implies --multiprog
    #[arg(long, value_name = "ACTIONS", value_parser = rxdp::multiprog::parse_actions, requires = "dev", conflicts_with_all = ["link", "force"])]
    pub actions: Option<u32>,
}

impl MultiprogArgs {
    /// Whether a component was asked for.
    pub fn asked(&self) -> bool {
        self.multiprog || self.prio.is_some() || self.actions.is_some()
    }

    /// The run configuration given.
    pub fn run_override(&self) -> rxdp::multiprog::RunOverride {
        rxdp::multiprog::RunOverride {
            priority: self.prio,
            chain_call_actions: self.actions,
        }
    }
}

/// `--map M --key K --prog P`, repeated: explicit jump-table entries
/// (`rxdp load` and `rxdp run`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct JumpArgs {
    // The help texts are attributes, not doc comments: rustdoc would read
    // `map_fd[M]` as a link.
    /// `--map`: the prog arrays, `map_fd[M]`.
    #[arg(
        long = "map",
        value_name = "M",
        help = "Jump-table entry: map_fd[M] (index or name); repeat with --key and --prog"
    )]
    pub maps: Vec<String>,
    /// `--key`: the keys in them.
    #[arg(
        long = "key",
        value_name = "K",
        help = "Jump-table entry: the key in map_fd[M]"
    )]
    pub keys: Vec<u32>,
    /// `--prog`: the programs, `prog_fd[P]`.
    #[arg(
        long = "prog",
        value_name = "P",
        help = "Jump-table entry: prog_fd[P] (index, function or section name)"
    )]
    pub progs: Vec<String>,
}

impl JumpArgs {
    /// One `--map`, one `--key` and one `--prog` per entry: what clap
    /// cannot say.
    pub fn check(&self) -> Result<(), String> {
        let (maps, keys, progs) = (self.maps.len(), self.keys.len(), self.progs.len());
        if maps == keys && keys == progs {
            return Ok(());
        }
        Err(format!(
            "each jump entry needs --map, --key and --prog ({maps} --map, {keys} --key, {progs} --prog given)"
        ))
    }

    /// The entries, for the library.
    pub fn requests(&self) -> Vec<JumpRequest> {
        self.maps
            .iter()
            .zip(&self.keys)
            .zip(&self.progs)
            .map(|((map, key), prog)| JumpRequest::new(Ref::parse(map), *key, Ref::parse(prog)))
            .collect()
    }
}

/// `--type T`, for sections no table knows (`rxdp load` and `rxdp run`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Args)]
pub struct TypeArg {
    /// Program type of sections no table knows (else refused; prog/N, ID/KEY: xdp)
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
    pub prog_type: Option<ProgramType>,
}

/// `--lock-timeout`: how long to wait for another load or unload of the
/// device (`rxdp load` and `rxdp unload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct LockTimeoutArg {
    /// Wait this long for another load or unload of the device (or 250ms)
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_lock_timeout)]
    pub lock_timeout: Duration,
}

impl Default for LockTimeoutArg {
    fn default() -> LockTimeoutArg {
        LockTimeoutArg {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

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

fn parse_mode(text: &str) -> Result<Mode, String> {
    Mode::parse(text).ok_or_else(|| format!("{text:?} is not a mode: auto, skb, drv or hw"))
}

/// `--type`: a program type by its kernel name.
fn parse_type(text: &str) -> Result<ProgramType, String> {
    ProgramType::from_name(text).ok_or_else(|| {
        format!("{text:?} is not a program type (xdp, socket_filter, sched_cls, ...)")
    })
}

impl LoadArgs {
    /// The library's options.
    pub fn options(&self) -> Result<LoadOptions, String> {
        self.jumps.check()?;
        let mut options = LoadOptions::new(&self.object);
        // A command may change its own process: mount bpffs, raise memlock.
        options.mount_bpffs = true;
        options.raise_memlock = true;
        options.jumps = self.jumps.requests();
        options.attach = self.dev.as_ref().map(|dev| {
            let attach = AttachOptions::new(dev)
                .with_mode(self.mode)
                .with_force(self.force)
                .with_link(self.link);
            match &self.entry {
                Some(entry) => attach.with_entry(Ref::parse(entry)),
                None => attach,
            }
        });
        options.default_type = self.prog_type.prog_type;
        options.autoload = match (self.all, self.autoload.is_empty()) {
            (true, _) => Autoload::All,
            (false, true) => Autoload::Default,
            (false, false) => Autoload::Names(self.autoload.clone()),
        };
        options.attach_prog = self.attach_prog.as_deref().map(AttachProg::parse);
        options.register = self.register.iter().map(|m| Ref::parse(m)).collect();
        options.section_keys = !self.no_section_keys;
        options.pins = match (&self.pin_dir, self.no_pin) {
            (_, true) => PinPolicy::Never,
            (Some(dir), false) => PinPolicy::Dir(dir.clone()),
            (None, false) => PinPolicy::Default,
        };
        options.verifier_log = self.verbose;
        options.lock_timeout = self.lock_timeout.lock_timeout;
        options.max_object_size = self.max_object_size;
        options.jobs = self.jobs.map_or(Jobs::Auto, Jobs::Max);
        Ok(options)
    }
}

/// Runs the load and writes the table (or JSON) to `out`; `--explain`
/// lines go to `out` too, or to stderr with `--json`. Warnings go to stderr.
pub fn run(args: &LoadArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let options = args.options().map_err(CliError::Usage)?;
    if let Some(dev) = &args.dev {
        // A dispatcher in the slot is shared, not replaced, unless --force.
        let shared =
            !args.force && !args.link && rxdp::multiprog::dispatcher_in(dev, args.mode).is_some();
        if args.multiprog.asked() || shared {
            return run_multiprog(args, &options, out);
        }
    }
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
    if let Some(signal) = rxdp::interrupt::interrupted() {
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

/// `--multiprog`: the load as a component of libxdp's dispatcher.
fn run_multiprog(
    args: &LoadArgs,
    options: &LoadOptions,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut stderr = std::io::stderr();
    let object =
        rxdp::Object::open_with(&options.path, options.max_object_size).map_err(CliError::Load)?;
    let result = {
        let mut explain = Explain {
            out: if args.json { &mut stderr } else { &mut *out },
            on: args.explain,
        };
        rxdp::multiprog::add(object, options, args.multiprog.run_override(), &mut explain)
    };
    let added = result.map_err(CliError::Multiprog)?;
    let loaded = added.object.loaded();
    for warning in loaded.warnings.iter().chain(&added.dispatcher.warnings) {
        let _ = writeln!(stderr, "warning: {warning}");
    }
    let text = if args.json {
        let mut object = json(loaded, args);
        object.push(
            "multiprog",
            crate::multiprog::rebuilt_json(&added.dispatcher),
        );
        format!("{object}\n")
    } else {
        format!(
            "{}{}",
            text(loaded, args),
            crate::multiprog::rebuilt_text(&added.dispatcher)
        )
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
        let target = prog
            .attach_target
            .as_ref()
            .map(|t| format!(", target {t}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "prog_fd[{i}] = {} ({}, id {}, section {}{target})\n",
            prog.name, prog.prog_type, prog.id, prog.section
        ));
    }
    for &i in &loaded.registered {
        if let Some(map) = loaded.maps.get(i) {
            out.push_str(&format!(
                "registered struct_ops map_fd[{i}] {} (id {}); unregister with `bpftool struct_ops unregister id {}`\n",
                map.name, map.id, map.id
            ));
        }
    }
    for &i in &loaded.ready_for_link {
        if let Some(map) = loaded.maps.get(i) {
            out.push_str(&format!(
                "struct_ops map_fd[{i}] {} (id {}) is ready for a link; rxdp made none\n",
                map.name, map.id
            ));
        }
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
        if let Some(id) = attach.link {
            out.push_str(&format!(" through bpf_link id {id}"));
        }
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
            (
                "expected_attach_type",
                Json::from(prog.expected_attach_type),
            ),
            ("attach_btf_id", Json::from(prog.attach_btf_id)),
            (
                "attach_target",
                prog.attach_target.as_deref().map_or(Json::Null, Json::from),
            ),
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
                    EntryChoice::First => "first",
                    _ => "named",
                }),
            ),
            ("replaced", Json::from(attach.replaced)),
            ("link", Json::from(attach.link)),
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
        ("registered", Json::array(loaded.registered.iter().copied())),
        (
            "ready_for_link",
            Json::array(loaded.ready_for_link.iter().copied()),
        ),
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
        other => format!("{what}: {other:?}"),
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
            format!("  read the kernel's BTF ({bytes} bytes): kfuncs, __ksym variables, CO-RE, attach targets")
        }
        Event::BtfLeftOut { error } => format!(
            "  the kernel refused the object's BTF ({}): loading without it",
            error.kernel_message.as_deref().unwrap_or(&error.errno_name())
        ),
        Event::MapResized { name, from, to } => {
            format!("  map {name}: max_entries {from} -> {to} for this machine")
        }
        Event::KconfigFilled { bytes, config } => match config {
            Some(config) => format!("  .kconfig: {bytes} bytes of values, from {config} and rxdp's LINUX_*"),
            None => format!("  .kconfig: {bytes} bytes of values (rxdp's LINUX_*)"),
        },
        Event::KsymResolved { name, value, source } => {
            format!("  __ksym {name}: {value} ({source})")
        }
        Event::StructOpsLaidOut {
            index,
            type_name,
            value_type_id,
            value_size,
        } => format!(
            "  map_fd[{index}]: struct {type_name} laid out as the kernel's bpf_struct_ops_{type_name} (BTF id {value_type_id}, {value_size} bytes)"
        ),
        Event::StructOpsRegistered {
            index,
            name,
            type_name,
            programs,
            link,
        } => format!(
            "  BPF_MAP_UPDATE_ELEM map_fd[{index}] {name}[0]: struct {type_name} with {programs} programs, {}",
            if link { "ready for a link" } else { "registered" }
        ),
        Event::Relocated {
            program,
            insn,
            symbol,
            patch,
        } => format!("  {program} insn {insn}: {symbol}: {patch}"),
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
        // An event of a newer library than this program knows.
        _ => format!("  {event:?}"),
    }
}
