//! `rxdp status [--dev IF] [--json] [--stats [TIME]]`: what runs in each
//! XDP slot and how it is attached, its maps with their pins and jump
//! tables, and rxdp's pin directories.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rxdp::status::{
    status_with, AttachKind, DeviceStatus, MapStatus, PinDir, PinState, SlotStatus, StatusReport,
};

use crate::json::Json;
use crate::load::{parse_lock_timeout, recovery_line};
use crate::CliError;

/// Show the XDP programs attached to interfaces, and the pins rxdp keeps for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct StatusArgs {
    /// Only this interface
    #[arg(short, long, value_name = "IFNAME")]
    pub dev: Option<String>,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Count runs and run time of each program over TIME (seconds, or 250ms), with BPF_ENABLE_STATS held meanwhile
    #[arg(long, value_name = "TIME", num_args = 0..=1, default_missing_value = "1", value_parser = parse_lock_timeout)]
    pub stats: Option<Duration>,
}

/// Writes the status to `out`; what could not be read goes to stderr as
/// notes (in the JSON object with `--json`).
pub fn run(args: &StatusArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let report = status_with(args.dev.as_deref(), args.stats).map_err(CliError::Status)?;
    let text = if args.json {
        format!("{}\n", json(&report))
    } else {
        let mut stderr = std::io::stderr();
        for note in &report.notes {
            let _ = writeln!(stderr, "note: {note}");
        }
        text(&report)
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

/// What a pin directory's record says, in words.
fn state(dir: &PinDir) -> String {
    let prog = dir
        .prog
        .map_or_else(String::new, |id| format!("program {id}, "));
    match dir.state {
        PinState::Attached => format!("{prog}attached"),
        PinState::Stale => format!("{prog}no longer attached here"),
        PinState::Staging { loader } => format!("{prog}being loaded by process {loader}"),
        PinState::Abandoned { loader } => {
            format!(
                "{prog}left by process {loader}, which died; the next load or unload resolves it"
            )
        }
        PinState::Legacy => "the layout of rxdp before /sys/fs/bpf/rxdp/".to_string(),
        PinState::Unknown => format!("{prog}not attached at load"),
        _ => format!("{prog}{:?}", dir.state),
    }
}

fn state_name(state: PinState) -> &'static str {
    match state {
        PinState::Attached => "attached",
        PinState::Stale => "stale",
        PinState::Staging { .. } => "staging",
        PinState::Abandoned { .. } => "abandoned",
        PinState::Legacy => "legacy",
        _ => "unknown",
    }
}

fn text(report: &StatusReport) -> String {
    let devices: &[DeviceStatus] = &report.devices;
    let mut out = String::new();
    for recovered in &report.recovered {
        out.push_str(&format!("{}\n", recovery_line(recovered)));
    }
    for change in &report.dispatch_changes {
        out.push_str(&format!("{}\n", crate::multiprog::change_line(change)));
    }
    if devices.is_empty() {
        out.push_str("no XDP programs attached, no rxdp pins\n");
        return out;
    }
    for device in devices {
        if device.gone {
            out.push_str(&format!(
                "{} (gone; its pins record ifindex {}): `rxdp unload --dev {}` removes them\n",
                device.ifname, device.ifindex, device.ifname
            ));
        } else {
            out.push_str(&format!(
                "{} (ifindex {}):\n",
                device.ifname, device.ifindex
            ));
        }
        if device.programs.is_empty() && !device.gone {
            out.push_str("  no XDP program\n");
        }
        for slot in &device.programs {
            out.push_str(&format!(
                "  {} mode: id {} {} tag {} ({})\n",
                slot.mode,
                slot.id,
                slot.name,
                slot.tag,
                attach_words(&slot.attach)
            ));
            slot_text(slot, &mut out);
        }
        for dir in &device.pins {
            out.push_str(&format!(
                "  pins in {}/ ({}): {}\n",
                dir.dir.display(),
                state(dir),
                dir.pins.join(" ")
            ));
        }
    }
    out
}

fn paths(pins: &[PathBuf]) -> String {
    let shown: Vec<String> = pins.iter().map(|p| p.display().to_string()).collect();
    shown.join(" ")
}

/// How the program is attached, in words.
fn attach_words(attach: &AttachKind) -> String {
    match attach {
        AttachKind::Link { id, pins } if pins.is_empty() => {
            format!("bpf_link id {id}, not pinned")
        }
        AttachKind::Link { id, pins } => format!("bpf_link id {id}, pinned {}", paths(pins)),
        AttachKind::Netlink => "netlink".to_string(),
        _ => "attached by netlink or bpf_link: links cannot be listed".to_string(),
    }
}

fn map_line(map: &MapStatus) -> String {
    let pins = if map.pins.is_empty() {
        "not pinned".to_string()
    } else {
        format!("pinned {}", paths(&map.pins))
    };
    format!(
        "    map id {} {} ({}): {pins}\n",
        map.id, map.name, map.map_type
    )
}

/// The maps of a slot, jump tables with their entries, and its stats.
fn slot_text(slot: &SlotStatus, out: &mut String) {
    if let Some(dispatcher) = &slot.dispatcher {
        out.push_str(&format!(
            "    libxdp dispatcher (version {}), components pinned in {}/:\n",
            dispatcher.version,
            dispatcher.dir.display()
        ));
        for component in &dispatcher.components {
            let prog = component.prog.as_ref().map_or_else(
                || "program not pinned".to_string(),
                |(id, name)| format!("program id {id} {name}"),
            );
            let link = component
                .link
                .map_or_else(String::new, |id| format!(", freplace link id {id}"));
            out.push_str(&format!(
                "      prog{}: {prog}, run priority {}, chain call actions {}{link}\n",
                component.slot,
                component.run_prio,
                if component.chain_call_actions.is_empty() {
                    "none".to_string()
                } else {
                    component.chain_call_actions.join(",")
                }
            ));
        }
    }
    for map in &slot.maps {
        out.push_str(&map_line(map));
        for entry in &map.entries {
            out.push_str(&format!(
                "      key {} -> program id {} {}\n",
                entry.key, entry.prog_id, entry.name
            ));
        }
    }
    for stats in &slot.stats {
        let per_run = stats.run_time_ns.checked_div(stats.run_count).unwrap_or(0);
        // Measured (6.18): a tail call runs inside its caller's run; the
        // kernel counts no run of the program it jumps to.
        let note = if stats.id == slot.id {
            ""
        } else {
            " (tail-called: counted in the entry's runs)"
        };
        out.push_str(&format!(
            "    stats: program id {}: {} runs, {} ns, {per_run} ns per run{note}\n",
            stats.id, stats.run_count, stats.run_time_ns
        ));
    }
}

fn slot_json(slot: &SlotStatus) -> Json {
    let (kind, link, link_pins) = match &slot.attach {
        AttachKind::Link { id, pins } => ("bpf_link", Some(*id), paths_json(pins)),
        AttachKind::Netlink => ("netlink", None, Json::Array(Vec::new())),
        _ => ("unknown", None, Json::Array(Vec::new())),
    };
    let maps = slot.maps.iter().map(|map| {
        let entries = map.entries.iter().map(|entry| {
            Json::object([
                ("key", Json::from(entry.key)),
                ("prog_id", Json::from(entry.prog_id)),
                ("name", Json::from(entry.name.as_str())),
            ])
        });
        Json::object([
            ("id", Json::from(map.id)),
            ("name", Json::from(map.name.as_str())),
            ("type", Json::from(map.map_type.as_str())),
            ("pins", paths_json(&map.pins)),
            ("entries", Json::Array(entries.collect())),
        ])
    });
    let stats = slot.stats.iter().map(|stats| {
        Json::object([
            ("prog_id", Json::from(stats.id)),
            ("run_count", Json::from(stats.run_count)),
            ("run_time_ns", Json::from(stats.run_time_ns)),
        ])
    });
    let dispatcher = slot.dispatcher.as_ref().map_or(Json::Null, |dispatcher| {
        let components = dispatcher.components.iter().map(|component| {
            Json::object([
                ("slot", Json::from(component.slot)),
                (
                    "prog_id",
                    Json::from(component.prog.as_ref().map(|(id, _)| *id)),
                ),
                (
                    "name",
                    Json::from(component.prog.as_ref().map(|(_, name)| name.as_str())),
                ),
                ("link", Json::from(component.link)),
                ("run_prio", Json::from(component.run_prio)),
                (
                    "chain_call_actions",
                    Json::array(component.chain_call_actions.iter().copied()),
                ),
            ])
        });
        Json::object([
            ("version", Json::from(u32::from(dispatcher.version))),
            ("dir", Json::from(dispatcher.dir.display().to_string())),
            ("components", Json::Array(components.collect())),
        ])
    });
    Json::object([
        ("mode", Json::from(slot.mode.name())),
        ("id", Json::from(slot.id)),
        ("name", Json::from(slot.name.as_str())),
        ("tag", Json::from(slot.tag.as_str())),
        ("attach", Json::from(kind)),
        ("link", Json::from(link)),
        ("link_pins", link_pins),
        ("maps", Json::Array(maps.collect())),
        ("stats", Json::Array(stats.collect())),
        ("libxdp", dispatcher),
    ])
}

fn paths_json(pins: &[PathBuf]) -> Json {
    Json::Array(
        pins.iter()
            .map(|p| Json::from(p.display().to_string()))
            .collect(),
    )
}

fn json(report: &StatusReport) -> Json {
    let devices = report.devices.iter().map(|device| {
        let programs = device.programs.iter().map(slot_json);
        let pins = device.pins.iter().map(|dir| {
            Json::object([
                ("dir", Json::from(dir.dir.display().to_string())),
                ("mode", Json::from(dir.mode.map(|mode| mode.name()))),
                ("pins", Json::array(dir.pins.iter().map(String::as_str))),
                ("prog", Json::from(dir.prog)),
                ("state", Json::from(state_name(dir.state))),
            ])
        });
        Json::object([
            ("dev", Json::from(device.ifname.as_str())),
            ("ifindex", Json::from(device.ifindex)),
            ("gone", Json::from(device.gone)),
            ("programs", Json::Array(programs.collect())),
            ("pins", Json::Array(pins.collect())),
        ])
    });
    let recovered = report
        .recovered
        .iter()
        .map(|r| Json::from(recovery_line(r)));
    Json::object([
        ("devices", Json::Array(devices.collect())),
        ("recovered", Json::Array(recovered.collect())),
        (
            "dispatch_changes",
            Json::Array(
                report
                    .dispatch_changes
                    .iter()
                    .map(crate::multiprog::change_json)
                    .collect(),
            ),
        ),
        (
            "notes",
            Json::array(report.notes.iter().map(String::as_str)),
        ),
    ])
}
