//! The command lines as users type them: every option of every command in
//! each form, the help and version texts, and every usage error — what
//! clap decides with our definitions, and the one rule it cannot hold
//! (`--map`, `--key` and `--prog` in threes).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use rxdp::options::{AttachProg, Autoload, Mode, Ref};
use rxdp_elf::ProgramType;

use super::*;
use crate::load::{JumpArgs, LoadArgs, LockTimeoutArg, TypeArg};
use crate::packet::PacketKind;

fn rxdp(args: &[&str]) -> Result<Command, clap::Error> {
    parse_rxdp(
        std::iter::once("rxdp")
            .chain(args.iter().copied())
            .map(OsString::from),
    )
}

fn rxdp_load(args: &[&str]) -> Result<LoadArgs, clap::Error> {
    parse_rxdp_load(
        std::iter::once("rxdp-load")
            .chain(args.iter().copied())
            .map(OsString::from),
    )
}

/// The text of a usage error, which must go to stderr with exit code 2.
fn error_of<T: std::fmt::Debug>(result: Result<T, clap::Error>) -> String {
    match result {
        Err(error) => {
            assert!(error.use_stderr(), "{error}");
            assert_eq!(error.exit_code(), 2, "{error}");
            error.to_string()
        }
        Ok(parsed) => panic!("expected a usage error, got {parsed:?}"),
    }
}

/// The text of `--help` or `--version`, which goes to stdout, exit code 0.
fn printed<T: std::fmt::Debug>(result: Result<T, clap::Error>) -> String {
    match result {
        Err(error) => {
            assert!(
                matches!(
                    error.kind(),
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                ),
                "{error}"
            );
            assert!(!error.use_stderr());
            assert_eq!(error.exit_code(), 0);
            error.to_string()
        }
        Ok(parsed) => panic!("expected help or version, got {parsed:?}"),
    }
}

/// A command line written as one string, split at spaces.
fn words(line: &'static str) -> Vec<&'static str> {
    line.split_whitespace().collect()
}

fn load_args(object: &str) -> LoadArgs {
    LoadArgs {
        object: object.into(),
        dev: None,
        mode: Mode::Auto,
        force: false,
        link: false,
        entry: None,
        jumps: JumpArgs::default(),
        multiprog: Default::default(),
        prog_type: TypeArg::default(),
        autoload: Vec::new(),
        all: false,
        attach_prog: None,
        register: Vec::new(),
        no_section_keys: false,
        pin_dir: None,
        no_pin: false,
        lock_timeout: LockTimeoutArg::default(),
        max_object_size: rxdp::options::DEFAULT_MAX_OBJECT_SIZE,
        jobs: None,
        verbose: false,
        json: false,
        explain: false,
        timings: false,
    }
}

#[test]
fn the_definitions_hold_together() {
    // clap's own checks: no option twice, no short flag taken twice
    // (-h and -V included), every rule naming an option that exists.
    rxdp_command().debug_assert();
    rxdp_load_command().debug_assert();
    // rxdp-load and rxdp load are one command: the same options.
    let load = rxdp_command();
    let load = load.find_subcommand("load").unwrap();
    let names = |command: &clap::Command| -> Vec<String> {
        command
            .get_arguments()
            .filter(|a| a.get_id() != "version")
            .map(|a| a.get_id().to_string())
            .collect()
    };
    assert_eq!(names(load), names(&rxdp_load_command()));
}

#[test]
fn load_every_option_in_both_forms() {
    let want = LoadArgs {
        dev: Some("veth0".into()),
        mode: Mode::Skb,
        force: true,
        link: true,
        entry: Some("xdp0".into()),
        jumps: JumpArgs {
            maps: vec!["0".into(), "jmp_table2".into()],
            keys: vec![78, 4294967295],
            progs: vec!["1".into(), "xdp_prog1".into()],
        },
        prog_type: TypeArg {
            prog_type: Some(ProgramType::SOCKET_FILTER),
        },
        autoload: vec!["a".into(), "?b".into()],
        all: true,
        attach_prog: Some("12".into()),
        register: vec!["dctcp".into()],
        no_section_keys: true,
        pin_dir: Some(PathBuf::from("/sys/fs/bpf/x")),
        lock_timeout: LockTimeoutArg {
            lock_timeout: Duration::from_millis(250),
        },
        max_object_size: 4096,
        jobs: std::num::NonZeroUsize::new(3),
        verbose: true,
        json: true,
        explain: true,
        timings: true,
        ..load_args("tail_kern.o")
    };
    let spaced = words(concat!(
        "tail_kern.o --dev veth0 --mode skb --force --link --entry xdp0 ",
        "--map 0 --key 78 --prog 1 --map jmp_table2 --key 4294967295 ",
        "--prog xdp_prog1 --type socket_filter --pin-dir ",
        "/sys/fs/bpf/x --lock-timeout 250ms --max-object-size 4096 ",
        "--jobs 3 --verbose --json --explain --timings ",
        "--autoload a --autoload ?b --all --attach-prog 12 --register dctcp ",
        "--no-section-keys",
    ));
    let joined = words(concat!(
        "--dev=veth0 --mode=skb --link --entry=xdp0 --map=0 --key=78 ",
        "--prog=1 --map=jmp_table2 --key=4294967295 --prog=xdp_prog1 ",
        "--type=socket_filter --pin-dir=/sys/fs/bpf/x -fv --json ",
        "--lock-timeout=250ms --max-object-size=4096 --jobs=3 ",
        "--explain --timings --autoload=a --autoload=?b --all ",
        "--attach-prog=12 --register=dctcp --no-section-keys tail_kern.o",
    ));
    let short = words(concat!(
        "-d veth0 -m skb -f -v --link --entry xdp0 --map 0 --key 78 --prog 1 ",
        "--map jmp_table2 --key 4294967295 --prog xdp_prog1 --type ",
        "socket_filter --pin-dir /sys/fs/bpf/x --json --explain ",
        "--lock-timeout 250ms --max-object-size 4096 -j3 ",
        "--timings --autoload a --autoload ?b --all --attach-prog 12 ",
        "--register dctcp --no-section-keys -- tail_kern.o",
    ));
    for args in [&spaced[..], &joined, &short] {
        assert_eq!(rxdp_load(args).unwrap(), want, "{args:?}");
        assert_eq!(
            rxdp(&[&["load"], args].concat()).unwrap(),
            Command::Load(want.clone()),
            "{args:?}"
        );
    }
    // The article's command, as the design card writes it.
    let article = rxdp_load(&[
        "obj.o", "--map", "0", "--key", "78", "--prog", "1", "--dev", "eth0",
    ])
    .unwrap();
    let options = article.options().unwrap();
    assert_eq!(options.jumps.len(), 1);
    assert_eq!(options.jumps[0].key, 78);
    assert_eq!(options.default_type, None, "no type is forced by default");
    assert_eq!(options.autoload, Autoload::Default);
    assert!(options.section_keys);
    let options = want.options().unwrap();
    assert_eq!(options.autoload, Autoload::All, "--all wins over names");
    assert_eq!(options.attach_prog, Some(AttachProg::Id(12)));
    assert_eq!(options.register, [Ref::Name("dctcp".into())]);
    assert!(!options.section_keys);
    let named = rxdp_load(&["o", "--autoload", "f", "--attach-prog", "/sys/fs/bpf/p"])
        .unwrap()
        .options()
        .unwrap();
    assert_eq!(named.autoload, Autoload::Names(vec!["f".into()]));
    assert_eq!(
        named.attach_prog,
        Some(AttachProg::Pin(PathBuf::from("/sys/fs/bpf/p")))
    );
    // Defaults.
    assert_eq!(rxdp_load(&["obj.o"]).unwrap(), load_args("obj.o"));
    assert_eq!(rxdp_load(&["obj.o"]).unwrap().entry, None);
    assert_eq!(
        rxdp_load(&["o", "--lock-timeout", "2s"])
            .unwrap()
            .lock_timeout
            .lock_timeout,
        Duration::from_secs(2)
    );
    for (text, mode) in [("drv", Mode::Drv), ("native", Mode::Drv), ("hw", Mode::Hw)] {
        assert_eq!(rxdp_load(&["o", "-m", text]).unwrap().mode, mode);
    }
    assert!(rxdp_load(&["o", "--no-pin"]).unwrap().no_pin);
}

#[test]
fn other_commands_every_option() {
    assert_eq!(
        rxdp(&["inspect", "x.o", "--disasm", "--section=xdp1"]).unwrap(),
        Command::Inspect(inspect::InspectArgs {
            object: "x.o".into(),
            json: false,
            disasm: true,
            section: Some("xdp1".into()),
        })
    );
    assert_eq!(
        rxdp(&["inspect", "--json", "x.o"]).unwrap(),
        Command::Inspect(inspect::InspectArgs {
            object: "x.o".into(),
            json: true,
            ..Default::default()
        })
    );
    for args in [
        &["unload", "--dev", "veth0", "--mode", "drv", "--json"][..],
        &["unload", "-d", "veth0", "-m", "drv", "--json"],
        &["unload", "--dev=veth0", "-mdrv", "--json"],
    ] {
        assert_eq!(
            rxdp(args).unwrap(),
            Command::Unload(unload::UnloadArgs {
                dev: "veth0".into(),
                mode: Some(Mode::Drv),
                json: true,
                ..unload::UnloadArgs::default()
            }),
            "{args:?}"
        );
    }
    let Command::Unload(waiting) = rxdp(&["unload", "-d", "v", "--lock-timeout", "250ms"]).unwrap()
    else {
        panic!("not unload");
    };
    assert_eq!(
        waiting.lock_timeout.lock_timeout,
        Duration::from_millis(250)
    );
    assert_eq!(
        rxdp(&["status", "-d", "veth0", "--json"]).unwrap(),
        Command::Status(status::StatusArgs {
            dev: Some("veth0".into()),
            json: true,
            stats: None,
        })
    );
    assert_eq!(
        rxdp(&["status", "--stats"]).unwrap(),
        Command::Status(status::StatusArgs {
            stats: Some(Duration::from_secs(1)),
            ..status::StatusArgs::default()
        })
    );
    assert_eq!(
        rxdp(&["status", "--stats", "250ms", "--dev", "veth0"]).unwrap(),
        Command::Status(status::StatusArgs {
            dev: Some("veth0".into()),
            stats: Some(Duration::from_millis(250)),
            ..status::StatusArgs::default()
        })
    );
    assert_eq!(
        rxdp(&["status"]).unwrap(),
        Command::Status(status::StatusArgs::default())
    );
    assert_eq!(
        rxdp(&["trace", "--timeout", "1.25", "--count=3"]).unwrap(),
        Command::Trace(trace::TraceArgs {
            timeout: Some(Duration::from_millis(1250)),
            count: Some(3),
        })
    );
    let want = run::RunArgs {
        object: "tail_kern.o".into(),
        entry: "xdp0".into(),
        jumps: JumpArgs {
            maps: vec!["0".into()],
            keys: vec![78],
            progs: vec!["1".into()],
        },
        packet: Some(PacketKind::Udp6),
        packet_hex: None,
        repeat: 1000,
        dev: Some("veth0".into()),
        show_maps: vec!["counters".into(), "1".into()],
        prog_type: TypeArg {
            prog_type: Some(ProgramType::XDP),
        },
        verbose: true,
        json: true,
    };
    for args in [
        &words(concat!(
            "run tail_kern.o --entry xdp0 --map 0 --key 78 --prog 1 ",
            "--packet udp6 --repeat 1000 --show-map counters --show-map 1 ",
            "--type xdp --verbose --json --dev veth0",
        ))[..],
        &words(concat!(
            "run --entry=xdp0 --map=0 --key=78 --prog=1 --packet=udp6 ",
            "--repeat=1000 --show-map=counters --show-map=1 -v --json ",
            "-d veth0 --type=xdp tail_kern.o",
        ))[..],
    ] {
        assert_eq!(rxdp(args).unwrap(), Command::Run(want.clone()), "{args:?}");
    }
    let Command::Run(hex) =
        rxdp(&["run", "o", "--entry", "0", "--packet-hex", "02:00 0a"]).unwrap()
    else {
        panic!("not run");
    };
    assert_eq!(hex.packet_hex, Some(run::HexBytes(vec![2, 0, 10])));
    assert_eq!(hex.repeat, 1);
}

#[test]
fn values_attached_or_apart_long_or_short() {
    let want = unload::UnloadArgs {
        dev: "eth0".into(),
        mode: Some(Mode::Skb),
        ..unload::UnloadArgs::default()
    };
    for args in [
        &["unload", "--dev", "eth0", "--mode", "skb"][..],
        &["unload", "--dev=eth0", "--mode=skb"],
        &["unload", "-d", "eth0", "-m", "skb"],
        &["unload", "-deth0", "-mskb"],
        &["unload", "-d=eth0", "-m=skb"],
    ] {
        assert_eq!(
            rxdp(args).unwrap(),
            Command::Unload(want.clone()),
            "{args:?}"
        );
    }
}

#[test]
fn clusters_repeats_dashes_and_the_end_of_options() {
    let parsed = rxdp_load(&["-vdeth1", "f.o"]).unwrap();
    assert!(parsed.verbose);
    assert_eq!(parsed.dev.as_deref(), Some("eth1"));
    let parsed = rxdp_load(&["-fv", "f.o"]).unwrap();
    assert!(parsed.force && parsed.verbose);
    let parsed = rxdp_load(&[
        "--map", "a", "--key", "1", "--prog", "p", "--map=b", "--key=2", "--prog=q", "f",
    ])
    .unwrap();
    assert_eq!(parsed.jumps.maps, ["a", "b"]);
    assert_eq!(parsed.jumps.keys, [1, 2]);
    assert_eq!(parsed.jumps.progs, ["p", "q"]);
    // A lone dash is a value; `--` makes the rest positional.
    let parsed = rxdp_load(&["--dev", "-", "--", "-odd.o"]).unwrap();
    assert_eq!(parsed.dev.as_deref(), Some("-"));
    assert_eq!(parsed.object, PathBuf::from("-odd.o"));
    // An attached value may start with a dash; a separate one may not.
    let parsed = rxdp_load(&["--dev=-x", "f"]).unwrap();
    assert_eq!(parsed.dev.as_deref(), Some("-x"));
    assert!(error_of(rxdp_load(&["f", "--dev", "--json"]))
        .starts_with("error: a value is required for '--dev <IFNAME>' but none was supplied"));
}

#[test]
fn help_version_and_subcommands() {
    let top = printed(rxdp(&["--help"]));
    assert!(top.starts_with(
        "Loads clang-built BPF objects the way load_bpf_file() did, fills jump tables and \
         attaches XDP through rtnetlink\n\nUsage: rxdp <COMMAND>\n\nCommands:\n"
    ));
    assert!(top.contains("\n  inspect  Show an object's maps,"), "{top}");
    assert!(top.contains("\n  trace    Stream bpf_trace_printk output from the trace pipe\n"));
    assert!(top.ends_with("\n  -h, --help     Print help\n  -V, --version  Print version\n"));
    for args in [&["-h"][..], &["help"]] {
        assert_eq!(printed(rxdp(args)), top, "{args:?}");
    }
    // Nothing at all: the help, as a mistake.
    let bare = rxdp(&[]).unwrap_err();
    assert_eq!(bare.exit_code(), 2);
    assert!(bare.to_string().contains("Usage: rxdp <COMMAND>"));
    let version = format!("rxdp {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(printed(rxdp(&["--version"])), version);
    assert_eq!(printed(rxdp(&["-V"])), version);
    assert_eq!(
        printed(rxdp_load(&["-V"])),
        format!("rxdp-load {}\n", env!("CARGO_PKG_VERSION"))
    );
    for name in ["inspect", "load", "unload", "status", "run", "trace", "map"] {
        let help = printed(rxdp(&[name, "--help"]));
        assert!(help.contains(&format!("\nUsage: rxdp {name}")), "{help}");
        assert_eq!(printed(rxdp(&["help", name])), help);
        // Subcommands have no --version.
        error_of(rxdp(&[name, "--version"]));
    }
    // -h wins wherever it stands, clustered too.
    let help = printed(rxdp_load(&["--help"]));
    assert_eq!(printed(rxdp_load(&["x.o", "--dev", "e", "-h"])), help);
    assert_eq!(printed(rxdp_load(&["-fh"])), help);
    assert!(help.starts_with(
        "Load a BPF object like samples/bpf's load_bpf_file(), fill its jump tables, pin its \
         maps and attach its entry program\n\nUsage: rxdp-load [OPTIONS] <OBJ>\n\nArguments:\n  \
         <OBJ>  The BPF object file (clang -target bpf)\n\nOptions:\n"
    ));
    for line in [
        "  -d, --dev <IFNAME>               Attach to this interface; without it, load, fill jump tables and print the table\n",
        "  -m, --mode <MODE>                auto (the kernel picks native, else generic), skb, drv or hw [default: auto]\n",
        "      --entry <PROG>               The program to attach: index into prog_fd[], function or section name (default: prog_fd[0], unless the object puts it in a jump table)\n",
        "      --type <TYPE>                Program type of sections no table knows (else refused; prog/N, ID/KEY: xdp)\n",
        "      --autoload <NAME>            Load this SEC(\"?...\") program too (function or section; repeatable)\n",
        "      --attach-prog <ID|PIN|PROG>  The program freplace programs replace a function of (kernel id, pin or program)\n",
        "      --pin-dir <DIR>              Pin the maps in DIR (default with --dev: /sys/fs/bpf/rxdp/IFNAME/MODE/)\n",
        "      --lock-timeout <SECONDS>     Wait this long for another load or unload of the device (or 250ms) [default: 5]\n",
        "      --max-object-size <BYTES>    Refuse object files larger than this [default: 268435456]\n",
        "  -V, --version                    Print version\n",
        // The naming rules, after the options.
        "\nSection names give program types as libbpf 1.x names them",
        "loads only with --autoload NAME or --all.",
        "(--no-section-keys: not)",
    ] {
        assert!(help.contains(line), "{line}{help}");
    }
    assert!(printed(rxdp(&["load", "--help"])).contains("\nSection names give "));
    assert!(printed(rxdp(&["help", "run"])).contains(
        "\nUsage: rxdp run [OPTIONS] --entry <P> <--packet <KIND>|--packet-hex <HEX>> <OBJ>\n"
    ));
    assert!(printed(rxdp(&["help", "unload"]))
        .contains("Usage: rxdp unload [OPTIONS] --dev <IFNAME>\n"));
}

#[test]
fn usage_errors_of_the_real_commands() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["load", "x.o", "--dev"],
            "error: a value is required for '--dev <IFNAME>' but none was supplied",
        ),
        (
            &["load", "x.o", "--mode", "fast"],
            "error: invalid value 'fast' for '--mode <MODE>': \"fast\" is not a mode: auto, skb, drv or hw",
        ),
        (
            &["load", "x.o", "--type", "nonsense"],
            "error: invalid value 'nonsense' for '--type <TYPE>': \"nonsense\" is not a program type (xdp, socket_filter, sched_cls, ...)",
        ),
        (
            &["load", "x.o", "--key", "abc"],
            "error: invalid value 'abc' for '--key <K>'",
        ),
        (
            &["load", "x.o", "--key=-1"],
            "error: invalid value '-1' for '--key <K>'",
        ),
        (&["load", "x.o", "--key", "-1"], "error: unexpected argument '-1' found"),
        (
            &["load", "x.o", "--jobs", "0"],
            "error: invalid value '0' for '--jobs <N>'",
        ),
        (
            &["load"],
            "error: the following required arguments were not provided:\n  <OBJ>\n",
        ),
        (&["load", "a", "b"], "error: unexpected argument 'b' found"),
        (
            &["load", "x.o", "--json", "--json"],
            "error: the argument '--json' cannot be used multiple times",
        ),
        (
            &["load", "x.o", "--json=1"],
            "error: unexpected value '1' for '--json' found; no more were expected",
        ),
        (
            &["load", "x.o", "--pin-dir", "d", "--no-pin"],
            "error: the argument '--pin-dir <DIR>' cannot be used with '--no-pin'",
        ),
        (
            &["load", "x.o", "--key", "78"],
            "error: each jump entry needs --map, --key and --prog (0 --map, 1 --key, 0 --prog given)\n\nUsage: rxdp load [OPTIONS] <OBJ>\n",
        ),
        (
            &["load", "x.o", "--map", "0", "--key", "78", "--prog", "1", "--map", "1"],
            "error: each jump entry needs --map, --key and --prog (2 --map, 1 --key, 1 --prog given)\n",
        ),
        (
            &["inspect", "x.o", "--section", "s"],
            "error: the following required arguments were not provided:\n  --disasm\n",
        ),
        (
            &["inspect", "x.o", "--json", "--disasm"],
            "error: the argument '--json' cannot be used with '--disasm'",
        ),
        (
            &["run", "x.o", "--entry", "0"],
            "error: the following required arguments were not provided:\n  <--packet <KIND>|--packet-hex <HEX>>\n",
        ),
        (
            &["run"],
            "error: the following required arguments were not provided:\n  --entry <P>\n  <--packet <KIND>|--packet-hex <HEX>>\n  <OBJ>\n",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "udp", "--packet-hex", "00"],
            "error: the argument '--packet <KIND>' cannot be used with '--packet-hex <HEX>'",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "sctp"],
            "error: invalid value 'sctp' for '--packet <KIND>': \"sctp\" is not udp, tcp, icmp or udp6",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet-hex", "0g"],
            "error: invalid value '0g' for '--packet-hex <HEX>': `0g` is not a hex byte",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "udp", "--repeat", "many"],
            "error: invalid value 'many' for '--repeat <N>'",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "udp", "--prog", "1"],
            "error: each jump entry needs --map, --key and --prog (0 --map, 0 --key, 1 --prog given)\n\nUsage: rxdp run ",
        ),
        (
            &["unload"],
            "error: the following required arguments were not provided:\n  --dev <IFNAME>\n",
        ),
        (
            &["unload", "-d", "v", "-m", "auto"],
            "error: invalid value 'auto' for '--mode <MODE>': \"auto\" is not a mode: skb, drv or hw",
        ),
        (&["status", "extra"], "error: unexpected argument 'extra' found"),
        (
            &["trace", "--timeout", "soon"],
            "error: invalid value 'soon' for '--timeout <S>': \"soon\" is not a number of seconds (like 2, 0.5 or 1.25)",
        ),
        (
            &["trace", "--count", "1.5"],
            "error: invalid value '1.5' for '--count <N>'",
        ),
        (&["frobnicate"], "error: unrecognized subcommand 'frobnicate'"),
        (
            &["map"],
            "error: the following required arguments were not provided:\n  <ACTION MAP [key] KEY [value] VALUE>...\n",
        ),
        (
            &["map", "show"],
            "error: `show` is not an action: list, dump, lookup, update or delete\n\nUsage: rxdp map ",
        ),
        (
            &["map", "dump"],
            "error: the map: missing: name it by `id N`, `name NAME`, `pinned PATH` or a path\n",
        ),
        (
            &["map", "dump", "counters"],
            "error: the map: `counters`: name it by `id N`, `name NAME`, `pinned PATH` or a path\n",
        ),
        (
            &["map", "dump", "id", "x"],
            "error: the map: `id x`: an id is a number\n",
        ),
        (
            &["map", "dump", "id", "5", "1"],
            "error: `1` after the map: dump takes the map only\n",
        ),
        (&["map", "list", "id"], "error: `id`: list takes no map\n"),
        (
            &["map", "lookup", "id", "5"],
            "error: the key is missing\n\nUsage: rxdp map [OPTIONS] <ACTION MAP [key] KEY [value] VALUE>...\n",
        ),
        (&["map", "delete", "pinned", "/p", "key"], "error: the key is missing\n"),
        (&["map", "update", "id", "5", "1"], "error: the value is missing\n"),
        (
            &["map", "update", "id", "5", "key", "1", "2"],
            "error: after `key ...`, the value needs `value`: key 1 value 2\n",
        ),
        (
            &["map", "update", "id", "5", "1", "2", "--flags", "all"],
            "error: --flags all: any, noexist or exist\n",
        ),
        (
            &["map", "lookup", "id", "5", "1", "--flags", "any"],
            "error: --flags is for update\n",
        ),
        (
            &["map", "lookup", "id", "5", "-0x10"],
            "error: unexpected argument '-0' found",
        ),
    ];
    for (args, head) in cases {
        let text = error_of(rxdp(args));
        assert!(text.starts_with(head), "{args:?}:\n{text}");
        assert!(
            text.ends_with("For more information, try '--help'.\n"),
            "{args:?}:\n{text}"
        );
    }
    // rxdp-load says the same, with its own usage line.
    assert!(error_of(rxdp_load(&["x.o", "--key", "1"]))
        .contains("(0 --map, 1 --key, 0 --prog given)\n\nUsage: rxdp-load [OPTIONS] <OBJ>\n"));
}

#[test]
fn map_words_options_and_negative_numbers() {
    let Command::Map(update) = rxdp(&words(
        "map update id 5 key 1 0 0 0 value -1 --flags exist --json",
    ))
    .unwrap() else {
        panic!("not map")
    };
    let (action, rest) = update.action().unwrap();
    assert_eq!(action, map::Action::Update);
    assert_eq!(rest, words("id 5 key 1 0 0 0 value -1"));
    assert_eq!(update.flags.as_deref(), Some("exist"));
    assert!(update.json);
    // After `--`, everything is a word: -0x10, and --json too.
    let Command::Map(lookup) = rxdp(&words("map lookup /sys/fs/bpf/x -- -0x10 --json")).unwrap()
    else {
        panic!("not map")
    };
    assert_eq!(lookup.words, words("lookup /sys/fs/bpf/x -0x10 --json"));
    assert!(!lookup.json && lookup.flags.is_none());
    let Command::Map(list) = rxdp(&["map", "list", "--json"]).unwrap() else {
        panic!("not map")
    };
    assert_eq!(list.action().unwrap(), (map::Action::List, &[][..]));
    assert!(list.json);
}

#[test]
fn typos_get_the_closest_name() {
    for (args, tip) in [
        (&["load", "x.o", "--forc"][..], "'--force'"),
        (&["load", "x.o", "--pindir", "d"], "'--pin-dir'"),
        (&["load", "x.o", "--nopin"], "'--no-pin'"),
        (&["load", "x.o", "--verbsoe"], "'--verbose'"),
        (&["run", "x.o", "--pakcet", "udp"], "'--packet'"),
    ] {
        let text = error_of(rxdp(args));
        assert!(
            text.contains(&format!("tip: a similar argument exists: {tip}")),
            "{args:?}:\n{text}"
        );
    }
    let text = error_of(rxdp(&["lod", "x.o"]));
    assert!(
        text.starts_with(
            "error: unrecognized subcommand 'lod'\n\n  tip: a similar subcommand exists: 'load'\n"
        ),
        "{text}"
    );
    assert!(error_of(rxdp(&["help", "lod"])).starts_with("error: unrecognized subcommand 'lod'"));
    // Nothing close: how to pass it as a value instead.
    for (args, tip) in [
        (
            &["load", "x.o", "--nothing-like-it"][..],
            "'-- --nothing-like-it'",
        ),
        (&["load", "x.o", "-x"], "'-- -x'"),
    ] {
        let text = error_of(rxdp(args));
        assert!(
            text.contains(&format!("as a value, use {tip}")),
            "{args:?}:\n{text}"
        );
    }
    assert!(error_of(rxdp(&["--json"])).starts_with("error: unexpected argument '--json' found"));
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let bad = OsString::from(OsStr::from_bytes(b"e\xffh"));
    let args = vec!["rxdp-load".into(), "--dev".into(), bad.clone(), "f".into()];
    let text = error_of(parse_rxdp_load(args));
    assert!(text.starts_with("error: invalid UTF-8"), "{text}");
    // A path keeps its bytes.
    let args = vec!["rxdp-load".into(), bad.clone()];
    assert_eq!(
        parse_rxdp_load(args).unwrap().object,
        PathBuf::from(bad.clone())
    );
    // Non-ASCII after a single dash.
    let args = vec![
        "rxdp-load".into(),
        OsString::from(OsStr::from_bytes(b"-\xff")),
    ];
    error_of(parse_rxdp_load(args));
}

#[test]
fn multiprog_options_as_xdp_loader_spells_them() {
    let args = rxdp_load(&words(
        "c.o --dev eth0 --prio 10 --actions XDP_PASS,XDP_DROP",
    ))
    .unwrap();
    assert!(
        args.multiprog.asked(),
        "--prio and --actions imply --multiprog"
    );
    assert_eq!(args.multiprog.prio, Some(10));
    assert_eq!(args.multiprog.actions, Some((1 << 2) | (1 << 1)));
    assert!(!rxdp_load(&words("c.o --dev eth0"))
        .unwrap()
        .multiprog
        .asked());
    for line in [
        "c.o --multiprog",
        "c.o --dev eth0 --multiprog --force",
        "c.o --dev eth0 --prio 5 --link",
    ] {
        assert!(rxdp_load(&words(line)).is_err(), "{line}");
    }
    let bad = rxdp_load(&words("c.o --dev eth0 --actions XDP_FLY")).unwrap_err();
    assert!(
        bad.to_string().contains("\"XDP_FLY\" is not an XDP action"),
        "{bad}"
    );
}
