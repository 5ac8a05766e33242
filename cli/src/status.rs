//! `rxdp status [--dev IF] [--json]`: what runs in each XDP slot, and rxdp's pins.

use std::io::Write;

use clap::Args;
use rxdp::status::{status, DeviceStatus};

use crate::json::Json;
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

/// Writes the status to `out`.
pub fn run(args: &StatusArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let devices = status(args.dev.as_deref()).map_err(CliError::Status)?;
    let text = if args.json {
        format!("{}\n", json(&devices))
    } else {
        text(&devices)
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

fn text(devices: &[DeviceStatus]) -> String {
    if devices.is_empty() {
        return "no XDP programs attached, no rxdp pins\n".to_string();
    }
    let mut out = String::new();
    for device in devices {
        out.push_str(&format!(
            "{} (ifindex {}):\n",
            device.ifname, device.ifindex
        ));
        if device.programs.is_empty() {
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
                "  pins in {}/: {}\n",
                dir.dir.display(),
                dir.pins.join(" ")
            ));
        }
    }
    out
}

fn json(devices: &[DeviceStatus]) -> Json {
    let devices = devices.iter().map(|device| {
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
            ])
        });
        Json::object([
            ("dev", Json::from(device.ifname.as_str())),
            ("ifindex", Json::from(device.ifindex)),
            ("programs", Json::Array(programs.collect())),
            ("pins", Json::Array(pins.collect())),
        ])
    });
    Json::object([("devices", Json::Array(devices.collect()))])
}
