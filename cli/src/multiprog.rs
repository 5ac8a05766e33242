//! What `rxdp-load --multiprog` and `rxdp unload --id` print of the
//! libxdp dispatcher they built.

use rxdp::dispatch_record::{DispatchRecovery, Outcome};
use rxdp::multiprog::Rebuilt;

use crate::json::Json;

/// The dispatcher after the change, one line per component.
pub(crate) fn rebuilt_text(done: &Rebuilt) -> String {
    let mut out = String::new();
    match (done.dispatcher_id, done.replaced) {
        (Some(id), Some(old)) => out.push_str(&format!(
            "libxdp dispatcher id {id} replaced id {old} on {} ({} mode)",
            done.dev, done.mode
        )),
        (Some(id), None) => out.push_str(&format!(
            "attached libxdp dispatcher id {id} to {} ({} mode)",
            done.dev, done.mode
        )),
        (None, Some(old)) => out.push_str(&format!(
            "detached libxdp dispatcher id {old} from {} ({} mode): its last component went",
            done.dev, done.mode
        )),
        (None, None) => {}
    }
    match &done.dir {
        Some(dir) => out.push_str(&format!(", components pinned in {}/:\n", dir.display())),
        None => out.push('\n'),
    }
    for member in &done.members {
        out.push_str(&format!(
            "  prog{}: program id {} {}, run priority {}, chain call actions {}, freplace link id {}{}\n",
            member.slot,
            member.prog_id,
            member.name,
            member.run_prio,
            if member.chain_call_actions.is_empty() {
                "none".to_string()
            } else {
                member.chain_call_actions.join(",")
            },
            member.link_id,
            if member.added { " (added)" } else { "" }
        ));
    }
    if let Some(dir) = &done.removed {
        out.push_str(&format!("removed {}\n", dir.display()));
    }
    for change in &done.recovered {
        out.push_str(&format!("{}\n", change_line(change)));
    }
    out
}

/// One line for the record of a dispatcher change, and what became of it.
pub(crate) fn change_line(found: &DispatchRecovery) -> String {
    let change = &found.change;
    let id = |id: Option<u32>| id.map_or_else(|| "none".to_string(), |id| id.to_string());
    let what = format!(
        "libxdp dispatcher change {} (ifindex {}, dispatcher {} replacing {}, {}, process {})",
        found.record.display(),
        change.ifindex,
        id(change.new),
        id(change.old),
        if change.swapped {
            "slot changed"
        } else {
            "slot not yet changed"
        },
        change.loader.pid
    );
    let mut line = match &found.outcome {
        Outcome::Running => format!("{what}: under way"),
        Outcome::Resolved => format!(
            "recovered {what}, which died: {}",
            if found.removed.is_empty() {
                "nothing was left".to_string()
            } else {
                format!(
                    "removed {}",
                    found
                        .removed
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        Outcome::Left(why) => format!("left {what}, which died: {why}"),
        other => format!("{what}: {other:?}"),
    };
    for kept in &found.kept {
        line.push_str(&format!("; {kept}"));
    }
    line
}

/// The same as JSON.
pub(crate) fn change_json(found: &DispatchRecovery) -> Json {
    let path = |p: &std::path::PathBuf| Json::from(p.display().to_string());
    let (outcome, why) = match &found.outcome {
        Outcome::Running => ("running", None),
        Outcome::Resolved => ("resolved", None),
        Outcome::Left(why) => ("left", Some(why.as_str())),
        _ => ("unknown", None),
    };
    Json::object([
        ("record", path(&found.record)),
        ("ifindex", Json::from(found.change.ifindex)),
        ("new", Json::from(found.change.new)),
        ("old", Json::from(found.change.old)),
        ("swapped", Json::from(found.change.swapped)),
        ("pid", Json::from(found.change.loader.pid)),
        ("outcome", Json::from(outcome)),
        ("why", why.map_or(Json::Null, Json::from)),
        (
            "removed",
            Json::Array(found.removed.iter().map(path).collect()),
        ),
        ("kept", Json::array(found.kept.iter().map(String::as_str))),
    ])
}

/// The same as JSON.
pub(crate) fn rebuilt_json(done: &Rebuilt) -> Json {
    let path = |p: &std::path::PathBuf| Json::from(p.display().to_string());
    let members = done.members.iter().map(|m| {
        Json::object([
            ("slot", Json::from(m.slot)),
            ("prog_id", Json::from(m.prog_id)),
            ("name", Json::from(m.name.as_str())),
            ("link_id", Json::from(m.link_id)),
            ("run_prio", Json::from(m.run_prio)),
            (
                "chain_call_actions",
                Json::array(m.chain_call_actions.iter().copied()),
            ),
            ("added", Json::from(m.added)),
        ])
    });
    Json::object([
        ("dev", Json::from(done.dev.as_str())),
        ("ifindex", Json::from(done.ifindex)),
        ("mode", Json::from(done.mode.name())),
        ("dispatcher_id", Json::from(done.dispatcher_id)),
        ("replaced", Json::from(done.replaced)),
        ("dir", done.dir.as_ref().map_or(Json::Null, path)),
        ("components", Json::Array(members.collect())),
        ("removed", done.removed.as_ref().map_or(Json::Null, path)),
        (
            "warnings",
            Json::array(done.warnings.iter().map(String::as_str)),
        ),
        (
            "recovered",
            Json::Array(done.recovered.iter().map(change_json).collect()),
        ),
    ])
}
