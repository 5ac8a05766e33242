//! `rxdp run OBJ --entry P [--map M --key K --prog P]... (--packet KIND |
//! --packet-hex HEX) [--repeat N] [--show-map M]... [--json]`: load an
//! object without a device, fill its jump tables, and run one program on
//! one frame with `BPF_PROG_TEST_RUN` ([`rxdp::test_run`]).
//!
//! Nothing outlives the command: no device, no pins of the load's own (the
//! maps go when rxdp exits). Maps the object shares through a pin
//! (iproute2 `PIN_GLOBAL_NS`/`PIN_OBJECT_NS`, BTF `LIBBPF_PIN_BY_NAME`) are
//! reused when pinned already, as a load would — the run then counts in
//! them — and are unpinned afterwards when this run created them.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use clap::Args;
use rxdp::options::{
    resolve_map, resolve_program, select_programs, Autoload, LoadOptions, PinPolicy, Ref,
};
use rxdp::pipeline::{load, Loaded};
use rxdp::test_run::{self, verdict_name, Outcome};
use rxdp::NoObserver;
use rxdp_elf::section_types::is_untyped_name;
use rxdp_elf::ProgramType;
use rxdp_syscalls::bpf::MapHandle;
use rxdp_syscalls::fs::bpffs;

use crate::json::Json;
use crate::load::{JumpArgs, TypeArg};
use crate::packet::{self, PacketKind};
use crate::CliError;

/// Run an XDP program of an object on a frame (BPF_PROG_TEST_RUN), without
/// a device.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[group(id = "frame", required = true, multiple = false, args = ["packet", "packet_hex"])]
pub struct RunArgs {
    /// The BPF object file (clang -target bpf)
    #[arg(value_name = "OBJ")]
    pub object: PathBuf,
    /// The program to run: index into prog_fd[], function or section name
    #[arg(long, value_name = "P")]
    pub entry: String,
    #[command(flatten)]
    pub jumps: JumpArgs,
    /// A well-formed frame: udp (IPv4, 4 data bytes), tcp (IPv4 SYN with options), icmp (IPv4 echo request, 56 data bytes) or udp6
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub packet: Option<PacketKind>,
    /// The frame's bytes in hex, from the Ethernet header on (spaces and colons allowed)
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    pub packet_hex: Option<HexBytes>,
    /// Run this many times for the mean time per run (verdict and frame come from one run before those)
    #[arg(long, value_name = "N", default_value = "1")]
    pub repeat: u32,
    /// Bind programs that call XDP hints kfuncs (bpf_xdp_metadata_*) to this interface, as the kernel requires (loaded, not attached)
    #[arg(short, long, value_name = "IFNAME")]
    pub dev: Option<String>,
    /// After the runs, print the entries of this map (index or name)
    #[arg(long = "show-map", value_name = "M")]
    pub show_maps: Vec<String>,
    #[command(flatten)]
    pub prog_type: TypeArg,
    /// Print the verifier log of a rejected program in full
    #[arg(short, long)]
    pub verbose: bool,
    /// Print one JSON object: verdict, retval, data_out (hex), duration_ns, repeat, data_meta_len, maps
    #[arg(long)]
    pub json: bool,
}

/// The bytes of `--packet-hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

fn parse_hex(text: &str) -> Result<HexBytes, String> {
    packet::parse_hex(text).map(HexBytes)
}

fn parse_kind(text: &str) -> Result<PacketKind, String> {
    PacketKind::parse(text).ok_or_else(|| format!("{text:?} is not udp, tcp, icmp or udp6"))
}

/// `ETH_HLEN`: the kernel refuses an XDP test run on less.
const ETH_HLEN: usize = 14;

/// One map entry: key and value bytes.
type Entry = (Vec<u8>, Vec<u8>);

/// A map's entries after the run.
struct MapDump {
    index: usize,
    name: String,
    entries: Vec<Entry>,
}

/// Loads, runs, prints; removes the shared pins the load created.
pub fn run(args: &RunArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let path = args.object.display().to_string();
    let usage = |e: rxdp::OptionError| CliError::Usage(format!("{path}: {e}"));
    // Parsed here as well as by the load, to resolve the names first.
    let object = crate::read_object(&args.object)?;
    // Numbered as the load numbers prog_fd[]: without the `?` programs.
    let object = select_programs(object, &Autoload::Default).map_err(usage)?;
    let entry = resolve_program(&object, &Ref::parse(&args.entry)).map_err(usage)?;
    let shown: Vec<usize> = args
        .show_maps
        .iter()
        .map(|m| resolve_map(&object, &Ref::parse(m)))
        .collect::<Result<_, _>>()
        .map_err(usage)?;
    let frame = match (&args.packet_hex, args.packet) {
        (Some(HexBytes(bytes)), _) => bytes.clone(),
        (None, Some(kind)) => packet::build(kind),
        (None, None) => return Err(CliError::Usage("give --packet or --packet-hex".into())),
    };
    if frame.len() < ETH_HLEN {
        return Err(CliError::Usage(format!(
            "a frame of {} bytes: an XDP test run needs at least an Ethernet header ({ETH_HLEN} bytes)",
            frame.len()
        )));
    }
    let program = &object.programs[entry];
    // A section no table knows and no --type covers is the load's to refuse.
    let prog_type = program
        .prog_type
        .or(args.prog_type.prog_type)
        .or_else(|| is_untyped_name(&program.section).then_some(ProgramType::XDP));
    if let Some(prog_type) = prog_type.filter(|&t| t != ProgramType::XDP) {
        return Err(CliError::Usage(format!(
            "{path}: prog_fd[{entry}] {} (section {}) is a {prog_type} program; rxdp run runs XDP \
             programs (--type applies to sections no table knows)",
            program.name(),
            program.section,
        )));
    }
    let options = options(args)?;

    let shares = object
        .maps
        .iter()
        .any(|m| m.pinning != rxdp_elf::Pinning::None);
    let dirs_before = if shares { shared_dirs()? } else { Vec::new() };
    let loaded = load(&options, &mut NoObserver).map_err(|error| {
        if let (true, Some(log)) = (args.verbose, error.verifier_log()) {
            let _ = writeln!(std::io::stderr(), "the whole verifier log:\n{log}");
        }
        CliError::Load(error)
    })?;
    let stubbed = &loaded.programs[entry].stubbed_kfuncs;
    if !stubbed.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "note: calls of {} answer -EOPNOTSUPP in this run, as on a device without XDP hints: the \
             kernel test-runs no device-bound program (bound with --dev, it refuses the run)",
            stubbed.join(", ")
        );
    }
    let result = run_loaded(&loaded, entry, &frame, args.repeat, &shown);
    let cleanup = if shares {
        unpin_created(&loaded, &dirs_before)
    } else {
        Ok(())
    };
    let (outcome, dumps) = result?;
    cleanup?;

    let text = if args.json {
        format!("{}\n", json(&outcome, &dumps))
    } else {
        text(&loaded, entry, &frame, &outcome, &dumps)
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

fn options(args: &RunArgs) -> Result<LoadOptions, CliError> {
    args.jumps.check().map_err(CliError::Usage)?;
    let mut options = LoadOptions::new(&args.object);
    // A command may change its own process: mount bpffs, raise memlock.
    options.mount_bpffs = true;
    options.raise_memlock = true;
    options.jumps = args.jumps.requests();
    options.default_type = args.prog_type.prog_type;
    options.pins = PinPolicy::Never;
    options.hints_dev = args.dev.clone();
    options.hints_stub = args.dev.is_none();
    Ok(options)
}

fn run_loaded(
    loaded: &Loaded,
    entry: usize,
    frame: &[u8],
    repeat: u32,
    shown: &[usize],
) -> Result<(Outcome, Vec<MapDump>), CliError> {
    let program = &loaded.programs[entry];
    let kernel = |what: String| move |error| CliError::Kernel { what, error };
    let what = format!(
        "run prog_fd[{entry}] {} on a frame of {} bytes",
        program.name,
        frame.len()
    );
    let outcome = test_run::run(program.fd.as_fd(), frame, repeat).map_err(|error| {
        match (program.dev_bound, error.errno) {
            // Measured on 6.18: BPF_PROG_TEST_RUN refuses any device-bound
            // XDP program (EINVAL).
            (Some(ifindex), EINVAL) => CliError::Kernel {
                what: format!(
                    "{what}: it is bound to ifindex {ifindex} for its XDP hints kfuncs, and the \
                     kernel test-runs no device-bound program; run it without --dev (its hints \
                     kfuncs then answer -EOPNOTSUPP, as on a device without hints), or attach it \
                     and send traffic"
                ),
                error,
            },
            _ => CliError::Kernel { what, error },
        }
    })?;
    let dumps = shown
        .iter()
        .map(|&index| {
            let map = &loaded.maps[index];
            let entries = dump(map.fd.as_fd())
                .map_err(kernel(format!("read map_fd[{index}] {}", map.name)))?;
            Ok(MapDump {
                index,
                name: map.name.clone(),
                entries,
            })
        })
        .collect::<Result<_, CliError>>()?;
    Ok((outcome, dumps))
}

/// `EINVAL`, as `BPF_PROG_TEST_RUN` answers a device-bound program.
const EINVAL: i32 = 22;

/// Every entry of a map, in the kernel's key order (array maps: by index).
fn dump(fd: BorrowedFd<'_>) -> Result<Vec<Entry>, rxdp_syscalls::Error> {
    let map = MapHandle::new(fd)?;
    let mut entries = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let mut next = vec![0u8; map.key_size()];
    while map.next_key(key.as_deref(), &mut next)? {
        let mut value = vec![0u8; map.value_size()];
        if map.lookup(&next, &mut value)? {
            entries.push((next.clone(), value));
        }
        key = Some(next.clone());
    }
    Ok(entries)
}

/// The directories of bpffs where shared pins go (`tc/` and those in it),
/// as they are now.
fn shared_dirs() -> Result<Vec<PathBuf>, CliError> {
    let root = bpffs::ensure_mounted().map_err(|error| CliError::Kernel {
        what: "find bpffs".into(),
        error,
    })?;
    let tc = root.join("tc");
    let mut dirs = Vec::new();
    if tc.is_dir() {
        if let Ok(entries) = std::fs::read_dir(&tc) {
            dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
        dirs.push(tc);
    }
    Ok(dirs)
}

/// Removes the shared pins this load created (not those it reused), then
/// the directories the load made for them, if empty.
fn unpin_created(loaded: &Loaded, dirs_before: &[PathBuf]) -> Result<(), CliError> {
    for map in loaded.maps.iter().filter(|m| m.shared && !m.reused) {
        if let Some(pin) = &map.pin {
            bpffs::unpin(pin).map_err(|error| CliError::Kernel {
                what: format!("remove the pin {} this run made", pin.display()),
                error,
            })?;
        }
    }
    // Deepest first: tc/globals before tc.
    let mut made: Vec<PathBuf> = shared_dirs()?
        .into_iter()
        .filter(|d| !dirs_before.contains(d))
        .collect();
    made.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in made {
        // Not empty: something else pinned there meanwhile; leave it.
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(())
}

/// `XDP_PASS`, or `unknown verdict 7`.
fn verdict(retval: u32) -> String {
    verdict_name(retval).map_or_else(|| format!("unknown verdict {retval}"), str::to_owned)
}

/// A key or value as a number when it is 1, 2, 4 or 8 bytes (little
/// endian, as the program stored it), in hex otherwise.
fn number_or_hex(bytes: &[u8]) -> Json {
    match bytes.len() {
        1 | 2 | 4 | 8 => {
            let mut wide = [0u8; 8];
            wide[..bytes.len()].copy_from_slice(bytes);
            Json::from(u64::from_le_bytes(wide))
        }
        _ => Json::from(packet::to_hex(bytes)),
    }
}

fn json(outcome: &Outcome, dumps: &[MapDump]) -> Json {
    let verdict = verdict_name(outcome.retval).map_or(Json::Null, Json::from);
    Json::object([
        ("verdict", verdict),
        ("retval", outcome.retval.into()),
        ("data_out", packet::to_hex(&outcome.data_out).into()),
        ("duration_ns", outcome.duration_ns.into()),
        ("repeat", outcome.repeat.into()),
        ("data_meta_len", outcome.meta_len.into()),
        (
            "maps",
            Json::object(dumps.iter().map(|d| {
                (
                    d.name.as_str(),
                    Json::Array(
                        d.entries
                            .iter()
                            .map(|(k, v)| {
                                Json::object([
                                    ("key", number_or_hex(k)),
                                    ("value", number_or_hex(v)),
                                ])
                            })
                            .collect(),
                    ),
                )
            })),
        ),
    ])
}

fn text(
    loaded: &Loaded,
    entry: usize,
    frame: &[u8],
    outcome: &Outcome,
    dumps: &[MapDump],
) -> String {
    let program = &loaded.programs[entry];
    let mut out = format!(
        "prog_fd[{entry}] {} (section {}): {} (retval {})\n",
        program.name,
        program.section,
        verdict(outcome.retval),
        outcome.retval
    );
    for e in &loaded.jump_entries {
        out.push_str(&format!(
            "jump: map_fd[{}] {}[{}] = prog_fd[{}] {} ({})\n",
            e.map,
            loaded.maps[e.map].name,
            e.key,
            e.program,
            loaded.programs[e.program].name,
            e.origin.name().replace('_', " ")
        ));
    }
    let after = outcome.frame();
    let change = if after == frame {
        "unchanged".to_owned()
    } else if after.len() == frame.len() {
        "changed".to_owned()
    } else {
        format!("{} bytes before", frame.len())
    };
    out.push_str(&format!(
        "\nframe after the program ({} bytes, {change}):\n",
        after.len()
    ));
    out.push_str(&packet::hex_dump(after));
    for line in packet::decode(after) {
        out.push_str(&format!("  {line}\n"));
    }
    if outcome.meta_len > 0 {
        out.push_str(&format!(
            "\nmetadata in front of the frame ({} bytes; the kernel copies data_out from \
             data_meta):\n",
            outcome.meta_len
        ));
        out.push_str(&packet::hex_dump(outcome.metadata()));
    }
    out.push_str(&format!(
        "\nmean time per run: {} ns over {} run{}\n",
        outcome.duration_ns,
        outcome.repeat,
        if outcome.repeat == 1 { "" } else { "s" }
    ));
    for d in dumps {
        out.push_str(&format!("\nmap_fd[{}] {}:", d.index, d.name));
        if d.entries.is_empty() {
            out.push_str(" empty");
        }
        out.push('\n');
        for (key, value) in &d.entries {
            out.push_str(&format!(
                "  [{}] = {}\n",
                number_or_hex(key),
                number_or_hex(value)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_hex() {
        assert_eq!(number_or_hex(&[78, 0, 0, 0]).to_string(), "78");
        assert_eq!(number_or_hex(&[1, 0, 0, 0, 0, 0, 0, 0]).to_string(), "1");
        assert_eq!(number_or_hex(&[8, 0, 17]).to_string(), "\"080011\"");
        assert_eq!(verdict(3), "XDP_TX");
        assert_eq!(verdict(9), "unknown verdict 9");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let outcome = Outcome {
            retval: 2,
            data_out: vec![0xab, 0xcd],
            meta_len: 0,
            duration_ns: 17,
            repeat: 1,
        };
        assert_eq!(
            json(&outcome, &[]).to_string(),
            r#"{"verdict":"XDP_PASS","retval":2,"data_out":"abcd","duration_ns":17,"repeat":1,"data_meta_len":0,"maps":{}}"#
        );
    }
}
