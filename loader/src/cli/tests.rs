//! The command lines as users type them: every option of every command in
//! each form, the help and version texts, and every usage error.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use rxdp_elf::ProgramType;

use super::args::{parse, Args, Rule, Spec};
use super::*;
use crate::options::Mode;
use crate::test_run::packet::PacketKind;

fn rxdp(args: &[&str]) -> Result<Command, Stop> {
    Command::parse(args.iter().map(OsString::from))
}

fn rxdp_load(args: &[&str]) -> Result<load::LoadArgs, Stop> {
    parse(&load::SPEC_LOAD, args.iter().map(OsString::from))
}

fn error_of<T: std::fmt::Debug>(result: Result<T, Stop>) -> String {
    match result {
        Err(Stop::Error(text)) => text,
        other => panic!("expected a usage error, got {other:?}"),
    }
}

fn every_spec() -> Vec<&'static Spec> {
    let mut specs: Vec<&Spec> = COMMANDS.iter().map(|(_, spec)| *spec).collect();
    specs.push(&load::SPEC_LOAD);
    specs
}

/// `set` of a command's struct for a spec (the struct is found by name).
fn set(spec: &Spec, long: &str, value: &str) -> Result<(), String> {
    let value = OsStr::new(value);
    match spec.name {
        "rxdp inspect" => inspect::InspectArgs::default().set(long, value),
        "rxdp load" | "rxdp-load" => load::LoadArgs::default().set(long, value),
        "rxdp unload" => unload::UnloadArgs::default().set(long, value),
        "rxdp status" => status::StatusArgs::default().set(long, value),
        "rxdp run" => run::RunArgs::default().set(long, value),
        "rxdp trace" => trace::TraceArgs::default().set(long, value),
        other => panic!("no struct for {other}"),
    }
}

#[test]
fn every_table_entry_is_handled_and_consistent() {
    for spec in every_spec() {
        let longs: Vec<&str> = spec.options.iter().map(|o| o.long).collect();
        for (i, opt) in spec.options.iter().enumerate() {
            assert!(
                !longs[..i].contains(&opt.long),
                "{}: --{} twice",
                spec.name,
                opt.long
            );
            assert!(
                opt.short.is_none_or(|s| s != 'h' && s != 'V'),
                "{}: -h and -V are help and version",
                spec.name
            );
            // Any value will do: a rejected value is fine, a forgotten
            // option is not.
            let result = set(spec, opt.long, opt.default.unwrap_or("1"));
            assert_ne!(result, Err(args::unhandled(opt.long)), "{}", spec.name);
            if let Some(default) = opt.default {
                assert_eq!(set(spec, opt.long, default), Ok(()), "{}", spec.name);
            }
        }
        for rule in spec.rules {
            let named: Vec<&str> = match *rule {
                Rule::Required(a) => vec![a],
                Rule::OneOf(a, b) | Rule::Conflicts(a, b) | Rule::Requires(a, b) => {
                    vec![a, b]
                }
                Rule::SameCount { options, .. } => options.to_vec(),
            };
            for long in named {
                assert!(longs.contains(&long), "{}: rule names --{long}", spec.name);
            }
        }
    }
}

#[test]
fn load_every_option_in_both_forms() {
    let want = load::LoadArgs {
        object: PathBuf::from("tail_kern.o"),
        dev: Some("veth0".into()),
        mode: Mode::Skb,
        force: true,
        entry: Some("xdp0".into()),
        maps: vec!["0".into(), "jmp_table2".into()],
        keys: vec![78, 4294967295],
        progs: vec!["1".into(), "xdp_prog1".into()],
        prog_type: ProgramType::SOCKET_FILTER,
        pin_dir: Some(PathBuf::from("/sys/fs/bpf/x")),
        no_pin: false,
        lock_timeout: Duration::from_millis(250),
        max_object_size: 4096,
        verbose: true,
        json: true,
        explain: true,
        timings: true,
    };
    let spaced = words(concat!(
        "tail_kern.o --dev veth0 --mode skb --force --entry xdp0 ",
        "--map 0 --key 78 --prog 1 --map jmp_table2 --key 4294967295 ",
        "--prog xdp_prog1 --type socket_filter --pin-dir ",
        "/sys/fs/bpf/x --lock-timeout 250ms --max-object-size 4096 ",
        "--verbose --json --explain --timings",
    ));
    let joined = words(concat!(
        "--dev=veth0 --mode=skb --entry=xdp0 --map=0 --key=78 ",
        "--prog=1 --map=jmp_table2 --key=4294967295 --prog=xdp_prog1 ",
        "--type=socket_filter --pin-dir=/sys/fs/bpf/x -fv --json ",
        "--lock-timeout=250ms --max-object-size=4096 ",
        "--explain --timings tail_kern.o",
    ));
    let short = words(concat!(
        "-d veth0 -m skb -f -v --entry xdp0 --map 0 --key 78 --prog 1 ",
        "--map jmp_table2 --key 4294967295 --prog xdp_prog1 --type ",
        "socket_filter --pin-dir /sys/fs/bpf/x --json --explain ",
        "--lock-timeout 250ms --max-object-size 4096 ",
        "--timings -- tail_kern.o",
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
    // Defaults.
    let plain = rxdp_load(&["obj.o"]).unwrap();
    assert_eq!(
        plain,
        load::LoadArgs {
            object: "obj.o".into(),
            ..load::LoadArgs::default()
        }
    );
    assert_eq!(plain.mode, Mode::Auto);
    assert_eq!(plain.entry, None);
    assert_eq!(plain.prog_type, ProgramType::XDP);
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
    assert_eq!(
        rxdp(&["status", "-d", "veth0", "--json"]).unwrap(),
        Command::Status(status::StatusArgs {
            dev: Some("veth0".into()),
            json: true,
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
        maps: vec!["0".into()],
        keys: vec![78],
        progs: vec!["1".into()],
        packet: Some(PacketKind::Udp6),
        packet_hex: None,
        repeat: 1000,
        show_maps: vec!["counters".into(), "1".into()],
        prog_type: ProgramType::XDP,
        verbose: true,
        json: true,
    };
    for args in [
        &words(concat!(
            "run tail_kern.o --entry xdp0 --map 0 --key 78 --prog 1 ",
            "--packet udp6 --repeat 1000 --show-map counters --show-map 1 ",
            "--type xdp --verbose --json",
        ))[..],
        &words(concat!(
            "run --entry=xdp0 --map=0 --key=78 --prog=1 --packet=udp6 ",
            "--repeat=1000 --show-map=counters --show-map=1 -v --json ",
            "tail_kern.o",
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
fn help_version_and_subcommands() {
    let top = help();
    assert!(top.starts_with(&format!("{ABOUT}\n\nUsage: rxdp <COMMAND>\n\nCommands:\n")));
    assert!(top.contains("\n  inspect  Show an object's maps,"), "{top}");
    assert!(top.contains("\n  trace    Stream bpf_trace_printk output from the trace pipe\n"));
    assert!(top.ends_with("\n  -h, --help     Print help\n  -V, --version  Print version\n"));
    for args in [&["--help"][..], &["-h"], &["help"], &["help", "help"]] {
        assert_eq!(rxdp(args), Err(Stop::Print(top.clone())), "{args:?}");
    }
    assert_eq!(rxdp(&[]), Err(Stop::Error(top.clone())));
    let version = format!("rxdp {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(rxdp(&["--version"]), Err(Stop::Print(version.clone())));
    assert_eq!(rxdp(&["-V"]), Err(Stop::Print(version)));
    assert_eq!(
        rxdp_load(&["-V"]),
        Err(Stop::Print(format!(
            "rxdp-load {}\n",
            env!("CARGO_PKG_VERSION")
        )))
    );
    for (name, spec) in COMMANDS {
        let help = args::help(spec);
        assert_eq!(rxdp(&[name, "--help"]), Err(Stop::Print(help.clone())));
        assert_eq!(rxdp(&["help", name]), Err(Stop::Print(help)));
        // Subcommands have no --version.
        assert!(matches!(rxdp(&[name, "--version"]), Err(Stop::Error(_))));
    }
    assert_eq!(
        args::help(&load::SPEC_LOAD),
        "Load a BPF object like samples/bpf's load_bpf_file(), fill its jump tables, pin its maps and attach its entry program

Usage: rxdp-load [OPTIONS] <OBJ>

Arguments:
  <OBJ>  The BPF object file (clang -target bpf)

Options:
  -d, --dev <IFNAME>             Attach to this interface; without it, load, fill jump tables and print the table
  -m, --mode <MODE>              auto (the kernel picks native, else generic), skb, drv or hw [default: auto]
  -f, --force                    Replace what is attached in that mode, atomically
      --entry <PROG>             The program to attach: index into prog_fd[], function or section name (default: prog_fd[0], unless the object puts it in a jump table)
      --map <M>                  Jump-table entry: map_fd[M] (index or name); repeat with --key and --prog
      --key <K>                  Jump-table entry: the key in map_fd[M]
      --prog <P>                 Jump-table entry: prog_fd[P] (index, function or section name)
      --type <TYPE>              Program type of sections whose name says none (prog/0, 1/7) [default: xdp]
      --pin-dir <DIR>            Pin the maps in DIR (default with --dev: /sys/fs/bpf/rxdp/IFNAME/MODE/)
      --no-pin                   Pin nothing (prog arrays empty when rxdp exits)
      --lock-timeout <SECONDS>   Wait this long for another load or unload of the device (or 250ms) [default: 5]
      --max-object-size <BYTES>  Refuse object files larger than this [default: 268435456]
  -v, --verbose                  Print the verifier log, also on success
      --json                     Print the result as one JSON object
      --explain                  Print every step of the load as it happens
      --timings                  Print how long each stage took, and how much of it in the kernel
  -h, --help                     Print help
  -V, --version                  Print version
"
    );
    assert!(args::help(&run::SPEC).starts_with(
        "Run an XDP program on a frame with BPF_PROG_TEST_RUN (no device): verdict, frame after, time per run\n\n\
         Usage: rxdp run [OPTIONS] --entry <P> <--packet <KIND>|--packet-hex <HEX>> <OBJ>\n"
    ));
    assert!(args::help(&unload::SPEC).contains("Usage: rxdp unload [OPTIONS] --dev <IFNAME>\n"));
}

#[test]
fn usage_errors_of_the_real_commands() {
    let load_usage = "Usage: rxdp load [OPTIONS] <OBJ>\n\nFor more information, try '--help'.\n";
    let cases: &[(&[&str], &str)] = &[
        (
            &["load", "x.o", "--forc"],
            "error: unexpected argument '--forc' found\n\n  tip: a similar argument exists: '--force'\n\n",
        ),
        (
            &["load", "x.o", "--pindir", "d"],
            "error: unexpected argument '--pindir' found\n\n  tip: a similar argument exists: '--pin-dir'\n\n",
        ),
        (
            &["load", "x.o", "--dev"],
            "error: a value is required for '--dev <IFNAME>' but none was supplied\n\n",
        ),
        (
            &["load", "x.o", "--mode", "fast"],
            "error: invalid value 'fast' for '--mode <MODE>': \"fast\" is not a mode: auto, skb, drv or hw\n\n",
        ),
        (
            &["load", "x.o", "--type", "nonsense"],
            "error: invalid value 'nonsense' for '--type <TYPE>': \"nonsense\" is not a program type (xdp, socket_filter, sched_cls, ...)\n\n",
        ),
        (
            &["load", "x.o", "--key", "abc"],
            "error: invalid value 'abc' for '--key <K>': not a number from 0 to 4294967295\n\n",
        ),
        (
            &["load", "x.o", "--key", "-1"],
            "error: a value is required for '--key <K>' but none was supplied\n\n  tip: to give '-1' as the value, use '--key=-1'\n\n",
        ),
        (
            &["load", "x.o", "--key=-1"],
            "error: invalid value '-1' for '--key <K>': not a number from 0 to 4294967295\n\n",
        ),
        (
            &["load"],
            "error: the following required arguments were not provided:\n  <OBJ>\n\n",
        ),
        (&["load", "a", "b"], "error: unexpected argument 'b' found\n\n"),
        (
            &["load", "x.o", "--json", "--json"],
            "error: the argument '--json' cannot be used multiple times\n\n",
        ),
        (
            &["load", "x.o", "--json=1"],
            "error: unexpected value '1' for '--json' found; no more were expected\n\n",
        ),
        (
            &["load", "x.o", "--pin-dir", "d", "--no-pin"],
            "error: the argument '--pin-dir <DIR>' cannot be used with '--no-pin'\n\n",
        ),
        (
            &["load", "x.o", "--key", "78"],
            "error: each jump entry needs --map, --key and --prog (0 --map, 1 --key, 0 --prog given)\n\n",
        ),
        (
            &["load", "x.o", "--map", "0", "--key", "78", "--prog", "1", "--map", "1"],
            "error: each jump entry needs --map, --key and --prog (2 --map, 1 --key, 1 --prog given)\n\n",
        ),
    ];
    for (args, head) in cases {
        assert_eq!(
            error_of(rxdp(args)),
            format!("{head}{load_usage}"),
            "{args:?}"
        );
    }
    // rxdp-load says the same, with its own usage line.
    assert_eq!(
        error_of(rxdp_load(&["x.o", "--forc"])),
        "error: unexpected argument '--forc' found\n\n  tip: a similar argument exists: '--force'\n\n\
         Usage: rxdp-load [OPTIONS] <OBJ>\n\nFor more information, try '--help'.\n"
    );

    let inspect_usage =
        "Usage: rxdp inspect [OPTIONS] <OBJ>\n\nFor more information, try '--help'.\n";
    assert_eq!(
        error_of(rxdp(&["inspect", "x.o", "--section", "s"])),
        format!("error: the argument '--section <S>' requires '--disasm'\n\n{inspect_usage}")
    );
    assert_eq!(
        error_of(rxdp(&["inspect", "x.o", "--json", "--disasm"])),
        format!("error: the argument '--json' cannot be used with '--disasm'\n\n{inspect_usage}")
    );

    let run_usage = "Usage: rxdp run [OPTIONS] --entry <P> <--packet <KIND>|--packet-hex <HEX>> <OBJ>\n\nFor more information, try '--help'.\n";
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "x.o", "--entry", "0"],
            "error: the following required arguments were not provided:\n  <--packet <KIND>|--packet-hex <HEX>>\n\n",
        ),
        (
            &["run"],
            "error: the following required arguments were not provided:\n  --entry <P>\n  <--packet <KIND>|--packet-hex <HEX>>\n  <OBJ>\n\n",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "udp", "--packet-hex", "00"],
            "error: the argument '--packet <KIND>' cannot be used with '--packet-hex <HEX>'\n\n",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "sctp"],
            "error: invalid value 'sctp' for '--packet <KIND>': \"sctp\" is not udp, tcp, icmp or udp6\n\n",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet-hex", "0g"],
            "error: invalid value '0g' for '--packet-hex <HEX>': `0g` is not a hex byte\n\n",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "udp", "--repeat", "many"],
            "error: invalid value 'many' for '--repeat <N>': not a number from 0 to 4294967295\n\n",
        ),
        (
            &["run", "x.o", "--entry", "0", "--packet", "udp", "--prog", "1"],
            "error: each jump entry needs --map, --key and --prog (0 --map, 0 --key, 1 --prog given)\n\n",
        ),
    ];
    for (args, head) in cases {
        assert_eq!(
            error_of(rxdp(args)),
            format!("{head}{run_usage}"),
            "{args:?}"
        );
    }

    let unload_usage =
        "Usage: rxdp unload [OPTIONS] --dev <IFNAME>\n\nFor more information, try '--help'.\n";
    assert_eq!(
        error_of(rxdp(&["unload"])),
        format!("error: the following required arguments were not provided:\n  --dev <IFNAME>\n\n{unload_usage}")
    );
    assert_eq!(
        error_of(rxdp(&["unload", "-d", "v", "-m", "auto"])),
        format!("error: invalid value 'auto' for '--mode <MODE>': \"auto\" is not a mode: skb, drv or hw\n\n{unload_usage}")
    );
    assert_eq!(
        error_of(rxdp(&["status", "extra"])),
        "error: unexpected argument 'extra' found\n\nUsage: rxdp status [OPTIONS]\n\nFor more information, try '--help'.\n"
    );
    let trace_usage = "Usage: rxdp trace [OPTIONS]\n\nFor more information, try '--help'.\n";
    assert_eq!(
        error_of(rxdp(&["trace", "--timeout", "soon"])),
        format!("error: invalid value 'soon' for '--timeout <S>': \"soon\" is not a number of seconds (like 2, 0.5 or 1.25)\n\n{trace_usage}")
    );
    assert_eq!(
        error_of(rxdp(&["trace", "--count", "1.5"])),
        format!("error: invalid value '1.5' for '--count <N>': not a number from 0 to {}\n\n{trace_usage}", usize::MAX)
    );

    let top_usage = "Usage: rxdp <COMMAND>\n\nFor more information, try '--help'.\n";
    assert_eq!(
        error_of(rxdp(&["lod", "x.o"])),
        format!("error: unrecognized subcommand 'lod'\n\n  tip: a similar subcommand exists: 'load'\n\n{top_usage}")
    );
    assert_eq!(
        error_of(rxdp(&["frobnicate"])),
        format!("error: unrecognized subcommand 'frobnicate'\n\n{top_usage}")
    );
    assert_eq!(
        error_of(rxdp(&["help", "lod"])),
        format!("error: unrecognized subcommand 'lod'\n\n  tip: a similar subcommand exists: 'load'\n\n{top_usage}")
    );
    assert_eq!(
        error_of(rxdp(&["--json"])),
        format!("error: unexpected argument '--json' found\n\n  tip: to pass '--json' as a value, use '-- --json'\n\n{top_usage}")
    );
}

/// A command line written as one string, split at spaces.
fn words(line: &'static str) -> Vec<&'static str> {
    line.split_whitespace().collect()
}
