//! `rxdp status [--dev IF] [--json]`: what runs in each XDP slot, and rxdp's pins.

use std::io::Write;

use clap::Args;
use rxdp::status::{status, DeviceStatus, PinDir, PinState, StatusReport};

use crate::json::Json;
use crate::load::recovery_line;
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
}

/// Writes the status to `out`; what could not be read goes to stderr as
/// notes (in the JSON object with `--json`).
pub fn run(args: &StatusArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let report = status(args.dev.as_deref()).map_err(CliError::Status)?;
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
                "  {} mode: id {} {} tag {}\n",
                slot.mode, slot.id, slot.name, slot.tag
            ));
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

fn json(report: &StatusReport) -> Json {
    let devices = report.devices.iter().map(|device| {
        let programs = device.programs.iter().map(|slot| {
            Json::object([
                ("mode", Json::from(slot.mode.name())),
                ("id", Json::from(slot.id)),
                ("name", Json::from(slot.name.as_str())),
                ("tag", Json::from(slot.tag.as_str())),
            ])
        });
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
            "notes",
            Json::array(report.notes.iter().map(String::as_str)),
        ),
    ])
}
