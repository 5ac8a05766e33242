//! `rxdp unload --dev IF [--mode M]`: detach, and remove the pins rxdp made;
//! `--id PROG`: remove one component of a libxdp dispatcher.

use std::io::Write;

use clap::Args;
use rxdp::options::Mode;
use rxdp::unload::{unload_with, UnloadOptions};

use crate::json::Json;
use crate::load::{recovery_line, LockTimeoutArg};
use crate::CliError;

/// Detach the XDP programs of a device and remove the pins rxdp made for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct UnloadArgs {
    /// The interface
    #[arg(short, long, value_name = "IFNAME")]
    pub dev: String,
    /// Only this slot: skb, drv or hw (default: all)
    #[arg(short, long, value_name = "MODE", value_parser = parse_slot)]
    pub mode: Option<Mode>,
    /// Remove only this component (program id) of the libxdp dispatcher on the interface, rebuilding it without it (as xdp-loader unload --id does)
    #[arg(long, value_name = "PROG_ID")]
    pub id: Option<u32>,
    #[command(flatten)]
    pub lock_timeout: LockTimeoutArg,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

fn parse_slot(text: &str) -> Result<Mode, String> {
    Mode::parse(text)
        .filter(|mode| *mode != Mode::Auto)
        .ok_or_else(|| format!("{text:?} is not a mode: skb, drv or hw"))
}

/// Runs the unload and writes what it did to `out`.
pub fn run(args: &UnloadArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if let Some(id) = args.id {
        let done = rxdp::multiprog::remove(
            &args.dev,
            args.mode.unwrap_or(Mode::Auto),
            id,
            args.lock_timeout.lock_timeout,
        )
        .map_err(CliError::Multiprog)?;
        let mut stderr = std::io::stderr();
        for warning in &done.warnings {
            let _ = writeln!(stderr, "warning: {warning}");
        }
        let text = if args.json {
            format!("{}\n", crate::multiprog::rebuilt_json(&done))
        } else {
            format!(
                "removed component program id {id}\n{}",
                crate::multiprog::rebuilt_text(&done)
            )
        };
        return out.write_all(text.as_bytes()).map_err(CliError::Output);
    }
    let mut options = UnloadOptions::default();
    options.lock_timeout = args.lock_timeout.lock_timeout;
    let done = unload_with(&args.dev, args.mode, &options).map_err(CliError::Unload)?;
    let text = if args.json {
        let detached = done.detached.iter().map(|(mode, id)| {
            Json::object([("mode", Json::from(mode.name())), ("id", Json::from(*id))])
        });
        let removed = done.removed.iter().map(|dir| dir.display().to_string());
        let object = Json::object([
            ("dev", Json::from(done.ifname.as_str())),
            ("ifindex", Json::from(done.ifindex)),
            ("gone", Json::from(done.gone)),
            ("now_named", Json::from(done.now_named.as_deref())),
            ("detached", Json::Array(detached.collect())),
            ("removed", Json::array(removed)),
            (
                "recovered",
                Json::Array(
                    done.recovered
                        .iter()
                        .map(|r| Json::from(recovery_line(r)))
                        .collect(),
                ),
            ),
            (
                "dispatch_changes",
                Json::Array(
                    done.dispatch_changes
                        .iter()
                        .map(crate::multiprog::change_json)
                        .collect(),
                ),
            ),
        ]);
        format!("{object}\n")
    } else {
        let mut text = String::new();
        for recovered in &done.recovered {
            text.push_str(&format!("{}\n", recovery_line(recovered)));
        }
        let device = match (&done.now_named, done.gone) {
            (Some(name), _) => {
                text.push_str(&format!(
                    "{} was renamed {name} (ifindex {})\n",
                    done.ifname, done.ifindex
                ));
                name.clone()
            }
            (None, true) => {
                text.push_str(&format!(
                    "{} is gone (its pins record ifindex {})\n",
                    done.ifname, done.ifindex
                ));
                done.ifname.clone()
            }
            (None, false) => done.ifname.clone(),
        };
        for (mode, id) in &done.detached {
            text.push_str(&format!(
                "detached program id {id} from {device} ({mode} mode)\n"
            ));
        }
        for dir in &done.removed {
            text.push_str(&format!("removed {}\n", dir.display()));
        }
        for change in &done.dispatch_changes {
            text.push_str(&format!("{}\n", crate::multiprog::change_line(change)));
        }
        if text.is_empty() {
            text = format!(
                "nothing attached to {} and no pins to remove\n",
                done.ifname
            );
        }
        text
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}
