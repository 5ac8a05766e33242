//! The record rxdp leaves in every directory it makes in bpffs: a symlink
//! named [`RECORD`] whose target is a short text, read back with
//! `readlinkat`.
//!
//! ```text
//! rxdp:record -> rxdp:1:pins:ifindex=7:ifname=veth0:mode=skb:prog=123:pid=4242:start=98765
//! ```
//!
//! Why a symlink: bpffs holds only directories, pins and symlinks (no
//! files to write a record into), and a symlink's target is any text, set
//! once by the one `symlinkat` that creates it. The record is three things
//! at once:
//!
//! - **the marker**: a directory without it is not rxdp's, and rxdp never
//!   removes anything from it, nor pins into it (an empty one excepted,
//!   which it adopts);
//! - **the intent** of the load that pinned there: which program the pins
//!   are for (`prog`), on which device and slot (`ifindex`, `ifname`,
//!   `mode`, the mode asked for: `auto` until the kernel chose), and which
//!   process made them (`pid` and `start`, its start time: a reused pid is
//!   another process). A staging directory left by a loader that died is
//!   published if its program is the one attached, removed otherwise;
//! - **the ifindex** of the device at load time, for `rxdp unload` of a
//!   device that was renamed or is gone.
//!
//! One kind is no directory's record: `dispatch`, the intent of a change
//! of a libxdp dispatcher, a symlink of its own in `<bpffs>/rxdp/`
//! ([`crate::dispatch_record`]).
//!
//! The name holds a `:`, which pin names never do (they keep only letters,
//! digits, `_` and `-`) and device directory names never do (interface
//! names cannot hold one), so it cannot collide with anything rxdp pins.
//! Values are percent-escaped (`%` as `%25`, `:` as `%3a`, `=` as `%3d`).
//!
//! The first field after `rxdp:` is the version of the format. A record of
//! a later version is rxdp's but not understood: it is left alone.

use std::fmt;

use rxdp_syscalls::fs::procfs::Process;

use crate::options::Mode;

/// The name of the record in every directory rxdp makes.
pub const RECORD: &str = "rxdp:record";
/// The version of the format this rxdp writes and reads.
pub const VERSION: u32 = 1;

/// What a directory is, by its record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// `/sys/fs/bpf/rxdp/`: rxdp's own directory in bpffs.
    Root,
    /// `/sys/fs/bpf/rxdp/IF/`: the directories of one device.
    Device {
        /// The interface.
        ifname: String,
    },
    /// A directory of pins: final (`skb`, `drv`, `hw`, a `--pin-dir`) or
    /// staging.
    Pins(Pins),
    /// A change of a libxdp dispatcher under way (not a directory's
    /// record: a symlink of its own in `<bpffs>/rxdp/`, see
    /// [`crate::dispatch_record`]).
    Dispatch(Dispatch),
    /// A record of a later version or an unknown kind: rxdp's, not
    /// understood, never touched.
    Unknown(String),
}

/// The record of a directory of pins: what they are for and who made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// The device the load attached to, when it attached.
    pub ifindex: Option<u32>,
    /// That device's name at load time.
    pub ifname: Option<String>,
    /// The mode asked for (`auto` until the kernel chose; the directory's
    /// name is the slot it chose).
    pub mode: Option<Mode>,
    /// The id of the program these pins are for (the one the load attaches).
    pub prog: Option<u32>,
    /// The loader that pinned them.
    pub loader: Process,
}

/// The intent of one change of a libxdp dispatcher: which dispatcher the
/// change attaches and which it replaces, on which device, by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// The device.
    pub ifindex: u32,
    /// The dispatcher the change builds (`None`: the last component goes,
    /// and the dispatcher with it).
    pub new: Option<u32>,
    /// The dispatcher it replaces (`None`: the slot was empty).
    pub old: Option<u32>,
    /// Whether the slot has changed: `new` took it (or `old` was detached).
    /// Only then is `old`'s directory the change's to remove.
    pub swapped: bool,
    /// The loader making the change.
    pub loader: Process,
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3a"),
            '=' => out.push_str("%3d"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(value: &str) -> Option<String> {
    let mut out = Vec::with_capacity(value.len());
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for Record {
    /// The symlink target: `rxdp:1:KIND[:key=value...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Root => write!(f, "rxdp:{VERSION}:root"),
            Record::Device { ifname } => {
                write!(f, "rxdp:{VERSION}:device:ifname={}", escape(ifname))
            }
            Record::Pins(pins) => {
                write!(f, "rxdp:{VERSION}:pins")?;
                if let Some(ifindex) = pins.ifindex {
                    write!(f, ":ifindex={ifindex}")?;
                }
                if let Some(ifname) = &pins.ifname {
                    write!(f, ":ifname={}", escape(ifname))?;
                }
                if let Some(mode) = pins.mode {
                    write!(f, ":mode={mode}")?;
                }
                if let Some(prog) = pins.prog {
                    write!(f, ":prog={prog}")?;
                }
                write!(f, ":pid={}:start={}", pins.loader.pid, pins.loader.start)
            }
            Record::Dispatch(change) => {
                write!(f, "rxdp:{VERSION}:dispatch:ifindex={}", change.ifindex)?;
                if let Some(new) = change.new {
                    write!(f, ":new={new}")?;
                }
                if let Some(old) = change.old {
                    write!(f, ":old={old}")?;
                }
                if change.swapped {
                    f.write_str(":swapped=1")?;
                }
                write!(
                    f,
                    ":pid={}:start={}",
                    change.loader.pid, change.loader.start
                )
            }
            Record::Unknown(text) => f.write_str(text),
        }
    }
}

impl Record {
    /// Reads a symlink target. `None`: not an rxdp record at all.
    pub fn parse(text: &str) -> Option<Record> {
        let rest = text.strip_prefix("rxdp:")?;
        let mut fields = rest.split(':');
        let version: u32 = fields.next()?.parse().ok()?;
        let unknown = || Some(Record::Unknown(text.to_string()));
        if version != VERSION {
            return unknown();
        }
        let kind = fields.next()?;
        let mut values: Vec<(&str, String)> = Vec::new();
        for field in fields {
            let (key, value) = field.split_once('=')?;
            values.push((key, unescape(value)?));
        }
        let get = |key: &str| {
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        let number = |key: &str| get(key).and_then(|v| v.parse::<u64>().ok());
        let id = |key: &str| number(key).and_then(|v| u32::try_from(v).ok());
        let loader = || {
            Some(Process {
                pid: id("pid")?,
                start: number("start")?,
            })
        };
        match kind {
            "root" => Some(Record::Root),
            "device" => Some(Record::Device {
                ifname: get("ifname")?,
            }),
            "pins" => Some(Record::Pins(Pins {
                ifindex: number("ifindex").and_then(|v| u32::try_from(v).ok()),
                ifname: get("ifname"),
                mode: get("mode").and_then(|m| Mode::parse(&m)),
                prog: id("prog"),
                loader: loader()?,
            })),
            "dispatch" => Some(Record::Dispatch(Dispatch {
                ifindex: id("ifindex")?,
                new: id("new"),
                old: id("old"),
                swapped: get("swapped").is_some_and(|v| v == "1"),
                loader: loader()?,
            })),
            _ => unknown(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_what_was_written() {
        let pins = Record::Pins(Pins {
            ifindex: Some(7),
            ifname: Some("we:ird%=name".into()),
            mode: Some(Mode::Skb),
            prog: Some(123),
            loader: Process {
                pid: 4242,
                start: 98765,
            },
        });
        let text = pins.to_string();
        assert_eq!(
            text,
            "rxdp:1:pins:ifindex=7:ifname=we%3aird%25%3dname:mode=skb:prog=123:pid=4242:start=98765"
        );
        assert_eq!(Record::parse(&text), Some(pins));
        for record in [
            Record::Root,
            Record::Device {
                ifname: "eth0.100".into(),
            },
        ] {
            assert_eq!(Record::parse(&record.to_string()), Some(record));
        }
        let bare = Record::Pins(Pins {
            ifindex: None,
            ifname: None,
            mode: None,
            prog: None,
            loader: Process { pid: 1, start: 2 },
        });
        assert_eq!(bare.to_string(), "rxdp:1:pins:pid=1:start=2");
        assert_eq!(Record::parse(&bare.to_string()), Some(bare));
    }

    #[test]
    fn dispatcher_changes_read_back() {
        let change = Record::Dispatch(Dispatch {
            ifindex: 7,
            new: Some(123),
            old: Some(100),
            swapped: false,
            loader: Process {
                pid: 4242,
                start: 98765,
            },
        });
        let text = change.to_string();
        assert_eq!(
            text,
            "rxdp:1:dispatch:ifindex=7:new=123:old=100:pid=4242:start=98765"
        );
        assert_eq!(Record::parse(&text), Some(change));
        let swapped = Record::parse(
            "rxdp:1:dispatch:ifindex=7:new=123:old=100:swapped=1:pid=4242:start=98765",
        );
        assert!(matches!(
            swapped,
            Some(Record::Dispatch(Dispatch { swapped: true, .. }))
        ));
        // The first dispatcher of a slot, and the last component's removal.
        for (new, old) in [(Some(5), None), (None, Some(6))] {
            let change = Record::Dispatch(Dispatch {
                ifindex: 3,
                new,
                old,
                swapped: new.is_none(),
                loader: Process { pid: 1, start: 2 },
            });
            assert_eq!(Record::parse(&change.to_string()), Some(change));
        }
        assert_eq!(
            Record::parse("rxdp:1:dispatch:new=5:pid=1:start=2"),
            None,
            "no device"
        );
        assert_eq!(
            Record::parse("rxdp:1:dispatch:ifindex=7:new=5:pid=1"),
            None,
            "no start time"
        );
    }

    #[test]
    fn foreign_and_later_records() {
        assert_eq!(Record::parse("/sys/fs/bpf/elsewhere"), None);
        assert_eq!(Record::parse("rxdp:x:root"), None);
        assert_eq!(Record::parse("rxdp:1:pins:pid=1"), None, "no start time");
        assert_eq!(
            Record::parse("rxdp:2:pins:whatever"),
            Some(Record::Unknown("rxdp:2:pins:whatever".into()))
        );
        assert_eq!(
            Record::parse("rxdp:1:cache"),
            Some(Record::Unknown("rxdp:1:cache".into()))
        );
    }
}
