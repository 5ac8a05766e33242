//! `rxdp map list|dump|lookup|update|delete`: any map in the kernel, by
//! pin, id or name, its keys and values read and written through its BTF
//! (see [`rxdp::kernel_maps`] and [`rxdp_elf::btf::value`] for the forms).
//!
//! The first word is the action; the words after it follow bpftool:
//! `MAP` is `id N`, `name NAME`, `pinned PATH` or a path with a `/`; then
//! `key WORDS...` (for update, up to `value`) and `value WORDS...`.
//! Without the keywords the key is one word (or `hex` and one word) and
//! the value is the rest. `--flags` (update) and `--json` are options.
//! docs/10-maps.md shows them at work.

use std::io::Write;

use clap::Args;
use rxdp::kernel_maps::{
    self, raw_number, KernelMap, MapSummary, ObjectRef, ShownEntry, ShownValue, BPF_ANY, BPF_EXIST,
    BPF_NOEXIST,
};
use rxdp_elf::btf::value::Value;
use rxdp_elf::MapType;
use rxdp_syscalls::bpf::MapInfo;

use crate::json::Json;
use crate::packet::to_hex;
use crate::CliError;

/// `rxdp map ACTION WORDS... [--flags F] [--json]`.
// The action is the first word rather than a clap subcommand, and the
// map, key and value are words rather than options: each subcommand or
// argument clap knows of costs the program about a kilobyte.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct MapArgs {
    /// ACTION: list, dump, lookup, update or delete. MAP: id N, name NAME, pinned PATH or a path. KEY, VALUE: a number, bytes (1 0 0 0), hex 01000000, with BTF members (a=1,b.c=2) or an enumerator; a program or map for prog arrays and maps of maps
    #[arg(value_name = "ACTION MAP [key] KEY [value] VALUE", required = true, num_args = 1.., allow_negative_numbers = true)]
    pub words: Vec<String>,
    /// For update: any (create or replace, the default), noexist (create only) or exist (replace only)
    #[arg(long, value_name = "FLAGS")]
    pub flags: Option<String>,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

/// What `rxdp map` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Every map in the kernel by id: type, name, sizes, flags, BTF id.
    List,
    /// Every entry of a map, keys and values through its BTF (per-CPU
    /// values per CPU and summed).
    Dump,
    /// The value at one key.
    Lookup,
    /// Write the value at a key.
    Update,
    /// Delete the entry at a key.
    Delete,
}

/// `--flags`: `BPF_ANY` (the default), `BPF_NOEXIST` or `BPF_EXIST`.
fn parse_flags(flags: Option<&str>) -> Result<u64, String> {
    match flags {
        None | Some("any") => Ok(BPF_ANY),
        Some("noexist") => Ok(BPF_NOEXIST),
        Some("exist") => Ok(BPF_EXIST),
        Some(other) => Err(format!("--flags {other}: any, noexist or exist")),
    }
}

/// The words of a command, split: the map, the key's words, the value's.
#[derive(Debug, PartialEq, Eq)]
struct Target<'w> {
    map: ObjectRef,
    key: Vec<&'w str>,
    value: Vec<&'w str>,
}

/// What each action takes after the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    Key,
    KeyAndValue,
}

fn split(words: &[String], takes: Takes) -> Result<Target<'_>, String> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let (map, rest) = ObjectRef::parse_prefix(&words).map_err(|e| format!("the map: {e}"))?;
    let (key, value): (&[&str], &[&str]) = match (takes, rest) {
        (Takes::Nothing, []) => {
            return Ok(Target {
                map,
                key: Vec::new(),
                value: Vec::new(),
            })
        }
        (Takes::Nothing, rest) => {
            return Err(format!(
                "`{}` after the map: dump takes the map only",
                rest.join(" ")
            ))
        }
        (Takes::Key, ["key", key @ ..]) | (Takes::Key, key) => (key, &[]),
        (Takes::KeyAndValue, ["key", rest @ ..]) => {
            let at = rest
                .iter()
                .position(|w| *w == "value")
                .ok_or("after `key ...`, the value needs `value`: key 1 value 2")?;
            (&rest[..at], &rest[at + 1..])
        }
        (Takes::KeyAndValue, rest) => {
            let key_len = if rest.first() == Some(&"hex") { 2 } else { 1 }.min(rest.len());
            let (key, value) = rest.split_at(key_len);
            (key, value.strip_prefix(&["value"]).unwrap_or(value))
        }
    };
    if key.is_empty() {
        return Err("the key is missing".into());
    }
    if takes == Takes::KeyAndValue && value.is_empty() {
        return Err("the value is missing".into());
    }
    Ok(Target {
        map,
        key: key.to_vec(),
        value: value.to_vec(),
    })
}

impl MapArgs {
    /// The action (the first word) and the words after it.
    pub fn action(&self) -> Result<(Action, &[String]), String> {
        let (first, rest) = self.words.split_first().ok_or("the action is missing")?;
        let action = match first.as_str() {
            "list" => Action::List,
            "dump" => Action::Dump,
            "lookup" => Action::Lookup,
            "update" => Action::Update,
            "delete" => Action::Delete,
            other => {
                return Err(format!(
                    "`{other}` is not an action: list, dump, lookup, update or delete"
                ))
            }
        };
        Ok((action, rest))
    }

    /// Checks the words for the action (a usage error otherwise).
    pub fn check(&self) -> Result<(), String> {
        let (action, words) = self.action()?;
        if self.flags.is_some() && action != Action::Update {
            return Err("--flags is for update".into());
        }
        parse_flags(self.flags.as_deref())?;
        match (action, words) {
            (Action::List, []) => Ok(()),
            (Action::List, words) => Err(format!("`{}`: list takes no map", words.join(" "))),
            (action, words) => split(words, takes(action)).map(drop),
        }
    }
}

/// What the words must hold after the map.
fn takes(action: Action) -> Takes {
    match action {
        Action::List | Action::Dump => Takes::Nothing,
        Action::Lookup | Action::Delete => Takes::Key,
        Action::Update => Takes::KeyAndValue,
    }
}

/// Runs `rxdp map ...`, writing the result to `out`.
pub fn run(args: &MapArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let (action, words) = args.action().map_err(CliError::Usage)?;
    let text = if action == Action::List {
        let maps = kernel_maps::list().map_err(map_error)?;
        if args.json {
            let mut object = Json::Object(Vec::new());
            object.push("maps", array(&maps, |info| map_json(info, None)));
            format!("{object}\n")
        } else {
            list_text(&maps)
        }
    } else {
        let target = split(words, takes(action)).map_err(CliError::Usage)?;
        let map = KernelMap::open(target.map).map_err(map_error)?;
        entries(args, action, &map, &target.key, &target.value).map_err(map_error)?
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

/// Dump, lookup, update or delete on an open map: the text to print.
#[inline(never)]
fn entries(
    args: &MapArgs,
    action: Action,
    map: &KernelMap,
    key: &[&str],
    value: &[&str],
) -> Result<String, kernel_maps::MapError> {
    let found = match action {
        Action::Dump => map.dump()?,
        Action::Lookup => vec![map.lookup(&map.key(key)?)?],
        Action::Update => {
            let key = map.key(key)?;
            let value = map.value(value)?;
            let flags = parse_flags(args.flags.as_deref()).unwrap_or(BPF_ANY);
            map.update(&key, &value, flags)?;
            return Ok(done(map, &key, "updated", args.json));
        }
        _ => {
            let key = map.key(key)?;
            map.delete(&key)?;
            return Ok(done(map, &key, "deleted", args.json));
        }
    };
    if args.json {
        let mut object = Json::Object(Vec::new());
        object.push("map", opened_json(map));
        if action == Action::Dump {
            object.push("entries", array(&found, entry_json));
        } else if let Some(Json::Object(fields)) = found.first().map(entry_json) {
            for (name, value) in fields {
                object.push(&name, value);
            }
        }
        return Ok(format!("{object}\n"));
    }
    let mut text = String::new();
    if action == Action::Dump {
        text = header(map);
    }
    for entry in &found {
        text.push_str(&entry_text(entry));
    }
    if action == Action::Dump {
        let count = found.len();
        text.push_str(&format!(
            "{count} entr{}\n",
            if count == 1 { "y" } else { "ies" }
        ));
    }
    Ok(text)
}

/// What update and delete print: the map and the key, as the map shows it.
#[inline(never)]
fn done(map: &KernelMap, key: &[u8], what: &str, json: bool) -> String {
    let key = map
        .show_key(key)
        .unwrap_or_else(|_| Value::Bytes(key.to_vec()));
    if json {
        let mut object = Json::Object(Vec::new());
        object.push("map", opened_json(map));
        object.push("key", value_json(&key));
        object.push(what, true);
        format!("{object}\n")
    } else {
        format!("{}: {what} key {}\n", map.label(), shown(&key))
    }
}

/// A [`kernel_maps::MapError`] as [`CliError::Map`] carries it: only its
/// text, behind a `dyn`, so that printing a `CliError` links neither the
/// map code into `rxdp-load` (which has no map commands) nor the `Debug`
/// of every error inside it into `rxdp`.
pub struct MapFailure(Box<dyn std::fmt::Display>);

impl std::fmt::Display for MapFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for MapFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MapFailure({})", self.0)
    }
}

fn map_error(error: kernel_maps::MapError) -> CliError {
    CliError::Map(MapFailure(Box::new(error)))
}

#[inline(never)]
fn list_text(maps: &[MapSummary]) -> String {
    // Fixed columns: names are at most 15 bytes, types at most 21.
    let mut out = format!(
        "{:>8}  {:<21}  {:<15}  {:>5}  {:>6}  {:>11}  {:>6}  {:>6}\n",
        "id", "type", "name", "key", "value", "max_entries", "flags", "btf_id"
    );
    for info in maps {
        out.push_str(&format!(
            "{:>8}  {:<21}  {:<15}  {:>5}  {:>6}  {:>11}  {:>#6x}  {:>6}\n",
            info.id,
            MapType(info.map_type).name(),
            info.name,
            info.key_size,
            info.value_size,
            info.max_entries,
            info.flags,
            btf_id(info),
        ));
    }
    out
}

fn btf_id(info: &MapInfo) -> String {
    match info.btf_id {
        0 => "-".into(),
        id => id.to_string(),
    }
}

/// `map id 12 counters: array, key 4, value 8, max_entries 4, BTF id 9`.
#[inline(never)]
fn header(map: &KernelMap) -> String {
    let info = map.info();
    let mut out = format!(
        "{}: {}, key {}, value {}, max_entries {}, flags {:#x}",
        map.label(),
        MapType(info.map_type),
        info.key_size,
        info.value_size,
        info.max_entries,
        info.flags
    );
    match (info.btf_id, map.btf_problem()) {
        (0, _) => out.push_str(", no BTF"),
        (id, None) => out.push_str(&format!(", BTF id {id}")),
        (id, Some(problem)) => {
            out.push_str(&format!(", BTF id {id} unread ({problem}): bytes shown"))
        }
    }
    if map.frozen() {
        out.push_str(", frozen");
    }
    out.push('\n');
    out
}

/// `key K: V`, and for per-CPU maps one line per CPU under the sum.
#[inline(never)]
fn entry_text(entry: &ShownEntry) -> String {
    let key = shown(&entry.key);
    match &entry.value {
        ShownValue::One(value) => format!("key {key}: {}\n", shown(value)),
        ShownValue::PerCpu { cpus, sum } => {
            let mut out = match sum {
                Some(sum) => format!("key {key}: sum {}\n", shown(sum)),
                None => format!("key {key}:\n"),
            };
            for (cpu, value) in cpus.iter().enumerate() {
                out.push_str(&format!("  cpu {cpu}: {}\n", shown(value)));
            }
            out
        }
        ShownValue::Program { id, name } => format!("key {key}: program id {id} {name}\n"),
        ShownValue::Map { id, name } => format!("key {key}: map id {id} {name}\n"),
    }
}

/// A key or value as text: bytes without BTF in hex, with their number
/// when they have 1, 2, 4 or 8 (`4e 00 00 00 (78)`); the rest as
/// [`Value`] shows it.
/// A JSON array of `items`, each as `each` writes it.
fn array<T>(items: &[T], each: fn(&T) -> Json) -> Json {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(each(item));
    }
    Json::Array(out)
}

fn shown(value: &Value) -> String {
    let Value::Bytes(bytes) = value else {
        return value.to_string();
    };
    let mut text = String::new();
    let _ = rxdp_elf::btf::value::write_hex(&mut text, bytes);
    if let Some(n) = raw_number(value) {
        text.push_str(&format!(" ({n})"));
    }
    text
}

/// A map's description, as `list` and the other commands give it
/// (`frozen` only for a map opened on its own: `list` does not read it).
fn map_json(info: &MapInfo, frozen: Option<bool>) -> Json {
    let mut json = Json::Object(Vec::with_capacity(10));
    json.push("id", info.id);
    json.push("type", MapType(info.map_type).name());
    json.push("name", info.name.as_str());
    json.push("key_size", info.key_size);
    json.push("value_size", info.value_size);
    json.push("max_entries", info.max_entries);
    json.push("flags", info.flags);
    json.push("btf_id", (info.btf_id != 0).then_some(info.btf_id));
    if let Some(frozen) = frozen {
        json.push("frozen", frozen);
    }
    json
}

/// [`map_json`] of an open map, with the pin it was opened by.
fn opened_json(map: &KernelMap) -> Json {
    let mut json = map_json(map.info(), Some(map.frozen()));
    let mut pins = Vec::new();
    if let ObjectRef::Pinned(path) = map.named() {
        pins.push(Json::from(path.display().to_string()));
    }
    json.push("pins", Json::Array(pins));
    json
}

/// `{"key": K, "value": V}`; bytes without BTF as hex, with `key_number`
/// or `value_number` beside them when they have 1, 2, 4 or 8.
fn entry_json(entry: &ShownEntry) -> Json {
    let mut object = Json::Object(Vec::new());
    object.push("key", value_json(&entry.key));
    if let Some(n) = raw_number(&entry.key) {
        object.push("key_number", n);
    }
    match &entry.value {
        ShownValue::One(value) => {
            object.push("value", value_json(value));
            if let Some(n) = raw_number(value) {
                object.push("value_number", n);
            }
        }
        ShownValue::PerCpu { cpus, sum } => {
            object.push("values", array(cpus, value_json));
            object.push("sum", sum.as_ref().map_or(Json::Null, value_json));
        }
        ShownValue::Program { id, name } => {
            object.push("prog_id", *id);
            object.push("prog_name", name.as_str());
        }
        ShownValue::Map { id, name } => {
            object.push("map_id", *id);
            object.push("map_name", name.as_str());
        }
    }
    object
}

/// A value in JSON: numbers as numbers (beyond 64 bits too), enumerators,
/// chars and strings as strings, pointers as `"0x..."`, structs as
/// objects, arrays as arrays, untyped bytes as hex, a mixed sum as null.
fn value_json(value: &Value) -> Json {
    match value {
        Value::Uint(v) => Json::from(*v),
        Value::Int(v) => {
            u64::try_from(*v).map_or_else(|_| Json::Literal(v.to_string()), Json::from)
        }
        Value::Bool(v) => Json::from(*v),
        Value::Mixed => Json::Null,
        Value::Enum {
            name: Some(name), ..
        } => Json::from(name.as_str()),
        Value::Enum { name: None, value } => value_json(&Value::Int(*value)),
        Value::Pointer(p) => Json::from(format!("{p:#x}")),
        Value::Str(s) => Json::from(s.as_str()),
        Value::Array(items) => array(items, value_json),
        Value::Fields(fields) => {
            let mut object = Json::Object(Vec::with_capacity(fields.len()));
            for (name, v) in fields {
                object.push(name, value_json(v));
            }
            object
        }
        Value::Bytes(bytes) => Json::from(to_hex(bytes)),
        // A Value kind newer than this printer: its text.
        other => Json::from(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn target(line: &str, takes: Takes) -> Result<(ObjectRef, String, String), String> {
        let words = words(line);
        split(&words, takes).map(|t| (t.map, t.key.join(" "), t.value.join(" ")))
    }

    #[test]
    fn words_split_as_bpftool_writes_them() {
        let id = ObjectRef::Id(5);
        let pin = ObjectRef::Pinned("/sys/fs/bpf/x/jmp".into());
        for (line, takes, map, key, value) in [
            ("id 5", Takes::Nothing, &id, "", ""),
            ("id 5 key 1 0 0 0", Takes::Key, &id, "1 0 0 0", ""),
            ("id 5 1", Takes::Key, &id, "1", ""),
            ("id 5 hex 01 00", Takes::Key, &id, "hex 01 00", ""),
            (
                "id 5 key 1 0 0 0 value hex 2a 00",
                Takes::KeyAndValue,
                &id,
                "1 0 0 0",
                "hex 2a 00",
            ),
            ("id 5 1 42", Takes::KeyAndValue, &id, "1", "42"),
            ("id 5 1 value 42", Takes::KeyAndValue, &id, "1", "42"),
            (
                "id 5 hex 01000000 -1",
                Takes::KeyAndValue,
                &id,
                "hex 01000000",
                "-1",
            ),
            (
                "/sys/fs/bpf/x/jmp 78 id 12",
                Takes::KeyAndValue,
                &pin,
                "78",
                "id 12",
            ),
            (
                "pinned /sys/fs/bpf/x/jmp key 78 value prog pinned /p",
                Takes::KeyAndValue,
                &pin,
                "78",
                "prog pinned /p",
            ),
        ] {
            assert_eq!(
                target(line, takes),
                Ok((map.clone(), key.into(), value.into())),
                "{line}"
            );
        }
        let err = |line, takes| target(line, takes).unwrap_err();
        assert_eq!(
            err("id 5 1", Takes::Nothing),
            "`1` after the map: dump takes the map only"
        );
        assert_eq!(err("id 5", Takes::Key), "the key is missing");
        assert_eq!(err("id 5 key", Takes::Key), "the key is missing");
        assert_eq!(err("id 5 1", Takes::KeyAndValue), "the value is missing");
        assert_eq!(
            err("id 5 key 1 2", Takes::KeyAndValue),
            "after `key ...`, the value needs `value`: key 1 value 2"
        );
        assert_eq!(
            err("counters 1", Takes::Key),
            "the map: `counters`: name it by `id N`, `name NAME`, `pinned PATH` or a path"
        );
    }

    #[test]
    fn values_in_json() {
        let json = |v: Value| value_json(&v).to_string();
        assert_eq!(json(Value::Uint(5)), "5");
        assert_eq!(json(Value::Uint(u64::MAX)), u64::MAX.to_string());
        assert_eq!(json(Value::Int(-3)), "-3");
        assert_eq!(json(Value::Int(3)), "3");
        assert_eq!(json(Value::Pointer(255)), r#""0xff""#);
        assert_eq!(json(Value::Bytes(vec![1, 0xab])), r#""01ab""#);
        assert_eq!(json(Value::Mixed), "null");
        assert_eq!(
            json(Value::Enum {
                name: None,
                value: -1
            }),
            "-1"
        );
        assert_eq!(
            json(Value::Fields(vec![
                ("a".into(), Value::Array(vec![Value::Bool(true)])),
                ("b".into(), Value::Str("s".into())),
            ])),
            r#"{"a":[true],"b":"s"}"#
        );
    }

    #[test]
    fn entries_in_json_and_text() {
        let raw = ShownEntry {
            key: Value::Bytes(vec![78, 0, 0, 0]),
            value: ShownValue::One(Value::Bytes(vec![5, 0, 0, 0, 0, 0, 0, 0])),
        };
        assert_eq!(
            entry_json(&raw).to_string(),
            r#"{"key":"4e000000","key_number":78,"value":"0500000000000000","value_number":5}"#
        );
        assert_eq!(
            entry_text(&raw),
            "key 4e 00 00 00 (78): 05 00 00 00 00 00 00 00 (5)\n"
        );
        let per_cpu = ShownEntry {
            key: Value::Uint(0),
            value: ShownValue::PerCpu {
                cpus: vec![Value::Uint(3), Value::Uint(4)],
                sum: Some(Value::Uint(7)),
            },
        };
        assert_eq!(
            entry_json(&per_cpu).to_string(),
            r#"{"key":0,"values":[3,4],"sum":7}"#
        );
        assert_eq!(
            entry_text(&per_cpu),
            "key 0: sum 7\n  cpu 0: 3\n  cpu 1: 4\n"
        );
        let prog = ShownEntry {
            key: Value::Uint(78),
            value: ShownValue::Program {
                id: 42,
                name: "xdp_prog1".into(),
            },
        };
        assert_eq!(
            entry_json(&prog).to_string(),
            r#"{"key":78,"prog_id":42,"prog_name":"xdp_prog1"}"#
        );
        assert_eq!(entry_text(&prog), "key 78: program id 42 xdp_prog1\n");
        let inner = ShownEntry {
            key: Value::Uint(0),
            value: ShownValue::Map {
                id: 9,
                name: "inner_a".into(),
            },
        };
        assert_eq!(
            entry_json(&inner).to_string(),
            r#"{"key":0,"map_id":9,"map_name":"inner_a"}"#
        );
        assert_eq!(parse_flags(Some("exist")), Ok(BPF_EXIST));
        assert_eq!(parse_flags(Some("noexist")), Ok(BPF_NOEXIST));
        assert_eq!(parse_flags(Some("any")), Ok(BPF_ANY));
        assert_eq!(parse_flags(None), Ok(BPF_ANY));
        assert!(parse_flags(Some("all")).is_err());
    }
}
