//! `rxdp unload --dev IF [--mode M]`: detach, and remove the pins rxdp made.

use std::ffi::{OsStr, OsString};
use std::io::Write;

use std::time::Duration;

use super::args::{self, Args, Opt, Rule, Spec};
use super::json::Json;
use super::load::{parse_lock_timeout, recovery_line, LOCK_TIMEOUT};
use super::CliError;
use crate::options::{Mode, DEFAULT_LOCK_TIMEOUT};
use crate::unload::{unload_with, UnloadOptions};

/// `rxdp unload`.
pub const SPEC: Spec = Spec {
    name: "rxdp unload",
    about: "Detach the XDP programs of a device and remove the pins rxdp made",
    version: false,
    positionals: &[],
    options: &[
        Opt::value("dev", "IFNAME", "The interface").short('d'),
        Opt::value(
            "mode",
            "MODE",
            "Only this slot: skb, drv or hw (default: all)",
        )
        .short('m'),
        LOCK_TIMEOUT,
        Opt::flag("json", "Print the result as one JSON object"),
    ],
    rules: &[Rule::Required("dev")],
};

/// Detach the XDP programs of a device and remove the pins rxdp made for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnloadArgs {
    /// The interface.
    pub dev: String,
    /// Only this slot: skb, drv or hw (default: all).
    pub mode: Option<Mode>,
    /// Wait this long for a load or unload of the device.
    pub lock_timeout: Duration,
    /// Print the result as one JSON object.
    pub json: bool,
}

impl Default for UnloadArgs {
    fn default() -> UnloadArgs {
        UnloadArgs {
            dev: String::new(),
            mode: None,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            json: false,
        }
    }
}

impl Args for UnloadArgs {
    fn set(&mut self, long: &str, value: &OsStr) -> Result<(), String> {
        match long {
            "dev" => self.dev = args::text(value)?.to_owned(),
            "mode" => self.mode = Some(parse_slot(args::text(value)?)?),
            "lock-timeout" => self.lock_timeout = parse_lock_timeout(args::text(value)?)?,
            "json" => self.json = true,
            _ => return Err(args::unhandled(long)),
        }
        Ok(())
    }

    fn positional(&mut self, _index: usize, _value: OsString) {}
}

fn parse_slot(text: &str) -> Result<Mode, String> {
    Mode::parse(text)
        .filter(|mode| *mode != Mode::Auto)
        .ok_or_else(|| format!("{text:?} is not a mode: skb, drv or hw"))
}

/// Runs the unload and writes what it did to `out`.
pub fn run(args: &UnloadArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let options = UnloadOptions {
        lock_timeout: args.lock_timeout,
    };
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
