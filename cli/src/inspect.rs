//! `rxdp inspect OBJ [--json]`: what an object holds, numbered as a load
//! would number it (`map_fd[]`, `prog_fd[]`), without loading anything.
//! It reads the file and, for an object with `__kconfig` or `__ksym`
//! externs, what this machine has for them (the kernel configuration, its
//! BTF, `/proc/kallsyms`), so it needs no privileges; an extern the
//! machine lacks is listed, not refused. Each program shows the type,
//! expected attach type and attach target its section gives;
//! `SEC("?...")` programs, which a load leaves out unless asked, have no
//! `prog_fd[]` index.
//!
//! `rxdp inspect OBJ --disasm [--section S]`: each program's instructions
//! instead, with the subprograms it calls ([`rxdp_elf::disasm`]).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rxdp::externs::ExternReport;
use rxdp_elf::section_types::{attach_type_name, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS};
use rxdp_elf::{disasm, AttachTarget, InnerMap, Map, Object, Program, ProgramType, RelocTarget};

use crate::json::Json;
use crate::CliError;

/// Arguments of `rxdp inspect`.
#[derive(Debug, Default, PartialEq, Eq, Args)]
pub struct InspectArgs {
    /// The BPF object to read (built with `clang -target bpf`)
    #[arg(value_name = "OBJ")]
    pub object: PathBuf,
    /// Print one JSON object instead of tables
    #[arg(long, conflicts_with = "disasm")]
    pub json: bool,
    /// Print every program's instructions (and its subprograms') in the kernel's BPF assembly syntax, with source lines from .BTF.ext
    #[arg(long)]
    pub disasm: bool,
    /// With --disasm: only the programs of this ELF section
    #[arg(long, value_name = "S", requires = "disasm")]
    pub section: Option<String>,
}

/// Reads and parses the object, then prints it to `out`.
pub fn run(args: &InspectArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let path = args.object.display().to_string();
    let object = crate::read_object(&args.object)?;
    let externs = rxdp::externs::survey(&object);
    let text = if args.disasm {
        disassembly(&path, &object, args.section.as_deref())?
    } else if args.json {
        let mut json = to_json(&object);
        json.push("externs", externs_json(&externs));
        format!("{json}\n")
    } else {
        let mut text = to_text(&path, &object);
        externs_text(&mut text, &externs);
        text
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

/// Every program (of `section`, when given) as [`disasm::program_listing`]
/// prints it, separated by blank lines.
pub fn disassembly(path: &str, object: &Object, section: Option<&str>) -> Result<String, CliError> {
    let chosen: Vec<usize> = (0..object.programs.len())
        .filter(|&i| section.is_none_or(|s| object.programs[i].section == s))
        .collect();
    if let (Some(section), true) = (section, chosen.is_empty()) {
        let mut sections: Vec<&str> = object.programs.iter().map(|p| p.section.as_str()).collect();
        sections.dedup();
        return Err(CliError::Usage(format!(
            "{path}: no program in section {section}; the program sections are: {}",
            sections.join(", ")
        )));
    }
    let listings: Vec<String> = chosen
        .into_iter()
        .map(|i| disasm::program_listing(object, i))
        .collect();
    Ok(listings.join("\n"))
}

// ------------------------------------------------------------------- JSON

/// The whole object as one JSON value: `maps`, `programs`, `jump_entries`,
/// `subprograms`, plus `license`, `kernel_version` and `btf`.
pub fn to_json(object: &Object) -> Json {
    Json::object([
        ("license", Json::from(object.license.as_str())),
        ("kernel_version", object.kernel_version.into()),
        ("btf", object.btf.is_some().into()),
        (
            "maps",
            Json::Array(
                object
                    .maps
                    .iter()
                    .enumerate()
                    .map(|(i, m)| map_json(object, i, m))
                    .collect(),
            ),
        ),
        (
            "programs",
            Json::Array(
                object
                    .programs
                    .iter()
                    .enumerate()
                    .map(|(i, p)| program_json(object, prog_fd_index(object, i), p))
                    .collect(),
            ),
        ),
        (
            "jump_entries",
            Json::Array(
                object
                    .jump_entries
                    .iter()
                    .map(|j| {
                        Json::object([
                            ("map", Json::from(j.map)),
                            ("map_name", map_name(object, j.map).into()),
                            ("key", j.key.into()),
                            ("program", prog_fd_index(object, j.program).into()),
                            ("program_name", program_name(object, j.program).into()),
                            ("origin", j.origin.name().into()),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "subprograms",
            Json::Array(
                object
                    .subprograms
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        Json::object([
                            ("index", Json::from(i)),
                            ("section", f.section.as_str().into()),
                            ("name", f.name.as_str().into()),
                            ("offset", f.offset.into()),
                            ("insns", f.insns.len().into()),
                            ("relocations", f.relocs.len().into()),
                            ("relocation_targets", relocs_json(&f.relocs)),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

fn map_json(object: &Object, index: usize, m: &Map) -> Json {
    let inner = match &m.inner {
        None => Json::Null,
        Some(InnerMap::Index(i)) => Json::object([
            ("index", Json::from(*i)),
            ("name", map_name(object, *i).into()),
        ]),
        Some(InnerMap::Def {
            def: d,
            btf_key_type_id,
            btf_value_type_id,
        }) => Json::object([
            ("type", Json::from(d.map_type.name())),
            ("key_size", d.key_size.into()),
            ("value_size", d.value_size.into()),
            ("max_entries", d.max_entries.into()),
            ("flags", d.flags.into()),
            ("btf_key_type_id", (*btf_key_type_id).into()),
            ("btf_value_type_id", (*btf_value_type_id).into()),
        ]),
        Some(_) => Json::from("unknown"),
    };
    Json::object([
        ("index", Json::from(index)),
        ("name", m.name.as_str().into()),
        ("type", m.def.map_type.name().into()),
        ("key_size", m.def.key_size.into()),
        ("value_size", m.def.value_size.into()),
        ("max_entries", m.def.max_entries.into()),
        ("flags", m.def.flags.into()),
        ("dialect", m.dialect.name().into()),
        ("section", m.section.as_str().into()),
        ("pinning", m.pinning.name().into()),
        ("inner_map", inner),
        ("iproute2_id", m.iproute2_id.into()),
        ("numa_node", m.def.numa_node.into()),
        ("map_extra", m.def.map_extra.into()),
        ("initial_data_bytes", m.data.as_ref().map(Vec::len).into()),
        (
            "init_maps",
            Json::Array(
                m.init_maps
                    .iter()
                    .map(|s| Json::object([("key", Json::from(s.key)), ("map", s.map.into())]))
                    .collect(),
            ),
        ),
        ("btf_key_type_id", m.btf_key_type_id.into()),
        ("btf_value_type_id", m.btf_value_type_id.into()),
    ])
}

fn program_json(object: &Object, index: Option<usize>, p: &Program) -> Json {
    Json::object([
        ("index", Json::from(index)),
        ("section", p.section.as_str().into()),
        ("name", p.name().into()),
        ("type", program_type(p).into()),
        (
            "expected_attach_type",
            member_index(object, p)
                .unwrap_or(p.expected_attach_type)
                .into(),
        ),
        (
            "expected_attach_type_name",
            expected_attach(object, p).into(),
        ),
        (
            "attach_target",
            target(object, p).map_or(Json::Null, Json::from),
        ),
        ("autoload", p.autoload.into()),
        ("flags", p.prog_flags.into()),
        ("offset", p.function.offset.into()),
        ("insns", p.function.insns.len().into()),
        ("relocations", p.function.relocs.len().into()),
        ("relocation_targets", relocs_json(&p.function.relocs)),
    ])
}

fn relocs_json(relocs: &[rxdp_elf::Reloc]) -> Json {
    Json::Array(
        relocs
            .iter()
            .map(|r| {
                let mut value = Json::object([
                    ("insn", Json::from(r.insn)),
                    ("symbol", r.symbol.as_str().into()),
                ]);
                match &r.target {
                    RelocTarget::Map(map) => {
                        value.push("kind", "map");
                        value.push("map", *map);
                    }
                    RelocTarget::MapValue { map, offset } => {
                        value.push("kind", "map_value");
                        value.push("map", *map);
                        value.push("offset", *offset);
                    }
                    RelocTarget::Call(sub) => {
                        value.push("kind", "call");
                        value.push("subprogram", *sub);
                    }
                    RelocTarget::FuncAddr(sub) => {
                        value.push("kind", "func_addr");
                        value.push("subprogram", *sub);
                    }
                    RelocTarget::Kfunc(name) => {
                        value.push("kind", "kfunc");
                        value.push("kfunc", name.as_str());
                    }
                    RelocTarget::Extern(index) => {
                        value.push("kind", "extern");
                        value.push("extern", *index);
                    }
                    _ => value.push("kind", "unknown"),
                }
                value
            })
            .collect(),
    )
}

/// The externs and what this machine has for them.
pub fn externs_json(externs: &[ExternReport]) -> Json {
    Json::Array(
        externs
            .iter()
            .map(|e| {
                Json::object([
                    ("name", Json::from(e.name.as_str())),
                    ("kind", e.kind.into()),
                    ("weak", e.weak.into()),
                    ("resolved", e.resolved.into()),
                    ("value", e.value.as_str().into()),
                ])
            })
            .collect(),
    )
}

// ------------------------------------------------------------------- text

/// The externs' table, after the others.
pub fn externs_text(out: &mut String, externs: &[ExternReport]) {
    out.push_str(&format!("\nexterns: {}\n", externs.len()));
    let rows = externs.iter().map(|e| {
        vec![
            e.name.clone(),
            e.kind.to_owned(),
            if e.weak { "weak" } else { "strong" }.to_owned(),
            if e.resolved { "yes" } else { "no" }.to_owned(),
            e.value.clone(),
        ]
    });
    table(out, &["name", "kind", "binding", "resolved", "value"], rows);
}

/// Aligned tables, one per kind, in load order.
pub fn to_text(path: &str, object: &Object) -> String {
    let mut out = String::new();
    let license = if object.license.is_empty() {
        "none".to_owned()
    } else {
        format!("{:?}", object.license)
    };
    out.push_str(&format!(
        "{path}: license {license}, kernel version {:#x}, BTF {}\n",
        object.kernel_version,
        if object.btf.is_some() { "yes" } else { "no" }
    ));

    out.push_str(&format!("\nmaps (map_fd[]): {}\n", object.maps.len()));
    let rows = object.maps.iter().enumerate().map(|(i, m)| {
        let inner = match &m.inner {
            None => "-".to_owned(),
            Some(InnerMap::Index(j)) => format!("map {j} ({})", map_name(object, *j)),
            Some(InnerMap::Def { def: d, .. }) => format!(
                "inline {} key {} value {} max_entries {}",
                d.map_type, d.key_size, d.value_size, d.max_entries
            ),
            Some(_) => "unknown".to_owned(),
        };
        vec![
            i.to_string(),
            m.name.clone(),
            m.def.map_type.name(),
            m.def.key_size.to_string(),
            m.def.value_size.to_string(),
            m.def.max_entries.to_string(),
            format!("{:#x}", m.def.flags),
            m.dialect.name().to_owned(),
            m.pinning.name().to_owned(),
            inner,
        ]
    });
    table(
        &mut out,
        &[
            "idx",
            "name",
            "type",
            "key",
            "value",
            "max_entries",
            "flags",
            "dialect",
            "pinning",
            "inner map",
        ],
        rows,
    );

    let loading = object.programs.iter().filter(|p| p.autoload).count();
    out.push_str(&format!(
        "\nprograms (prog_fd[]): {}{}\n",
        loading,
        match object.programs.len() - loading {
            0 => String::new(),
            more => format!(", and {more} not loaded unless asked"),
        }
    ));
    let rows = object.programs.iter().enumerate().map(|(i, p)| {
        vec![
            prog_fd_index(object, i).map_or_else(|| "-".to_owned(), |i| i.to_string()),
            p.section.clone(),
            p.name().to_owned(),
            program_type(p),
            expected_attach(object, p),
            flags(p.prog_flags),
            target(object, p).unwrap_or_else(|| "-".to_owned()),
            p.function.insns.len().to_string(),
            p.function.relocs.len().to_string(),
        ]
    });
    table(
        &mut out,
        &[
            "idx",
            "section",
            "name",
            "type",
            "attach type",
            "flags",
            "target",
            "insns",
            "relocs",
        ],
        rows,
    );
    if object.programs.iter().any(|p| !p.autoload) {
        out.push_str(
            "  idx -: not loaded unless asked (SEC(\"?...\"), or struct_ops no map uses): \
             --autoload NAME or --all\n",
        );
    }

    out.push_str(&format!("\njump entries: {}\n", object.jump_entries.len()));
    let rows = object.jump_entries.iter().map(|j| {
        vec![
            format!("map {} ({})", j.map, map_name(object, j.map)),
            format!("key {}", j.key),
            format!(
                "program {} ({})",
                prog_fd_index(object, j.program).map_or_else(|| "-".to_owned(), |i| i.to_string()),
                program_name(object, j.program)
            ),
            j.origin.name().to_owned(),
        ]
    });
    table(&mut out, &["map", "key", "program", "origin"], rows);

    out.push_str(&format!("\nsubprograms: {}\n", object.subprograms.len()));
    let rows = object.subprograms.iter().enumerate().map(|(i, f)| {
        vec![
            i.to_string(),
            f.section.clone(),
            f.name.clone(),
            f.insns.len().to_string(),
            f.relocs.len().to_string(),
        ]
    });
    table(
        &mut out,
        &["idx", "section", "name", "insns", "relocs"],
        rows,
    );
    out
}

/// Appends a table with a header, columns padded to their widest cell;
/// nothing but the count above it when there are no rows.
fn table(out: &mut String, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let rows: Vec<Vec<String>> = rows.collect();
    if rows.is_empty() {
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(&widths) {
            line.push(' ');
            line.push_str(cell);
            line.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.chars().count()),
            ));
            line.push(' ');
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn program_type(p: &Program) -> String {
    p.prog_type
        .map_or_else(|| "unknown".to_owned(), |t| t.name())
}

/// `sleepable`, `frags`, both, or `-`.
fn flags(prog_flags: u32) -> String {
    let names: Vec<&str> = [
        (BPF_F_SLEEPABLE, "sleepable"),
        (BPF_F_XDP_HAS_FRAGS, "frags"),
    ]
    .iter()
    .filter(|(bit, _)| prog_flags & bit != 0)
    .map(|&(_, name)| name)
    .collect();
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(",")
    }
}

/// The program's index in `prog_fd[]` when loaded without `--autoload`:
/// the programs before it that load, `None` when it does not.
fn prog_fd_index(object: &Object, index: usize) -> Option<usize> {
    let program = object.programs.get(index)?;
    program.autoload.then(|| {
        object.programs[..index]
            .iter()
            .filter(|p| p.autoload)
            .count()
    })
}

/// The expected attach type's name; for struct_ops, the member's index.
fn expected_attach(object: &Object, p: &Program) -> String {
    match (p.prog_type, member_index(object, p)) {
        (_, Some(index)) => format!("member {index}"),
        (Some(ProgramType::STRUCT_OPS), None) => "-".to_owned(),
        (Some(ProgramType::CGROUP_SKB), _) => attach_type_name(p.expected_attach_type),
        _ if p.expected_attach_type == 0 => "-".to_owned(),
        _ => attach_type_name(p.expected_attach_type),
    }
}

/// A struct_ops program's member index in the object's struct: what
/// libbpf reports at open, and the kernel's own index (the load's
/// `expected_attach_type`) when the object was built against the
/// kernel's headers (vmlinux.h).
fn member_index(object: &Object, p: &Program) -> Option<u32> {
    let AttachTarget::StructOps { map, member } = &p.attach_target else {
        return None;
    };
    let btf = object.btf.as_ref()?;
    let ops = object.maps.get(*map)?.struct_ops.as_ref()?;
    let members = btf.type_by_id(ops.type_id).ok()?.members();
    let index = members
        .iter()
        .position(|m| btf.string(m.name_off).ok() == Some(member.as_str()))?;
    u32::try_from(index).ok()
}

/// What the program attaches to, as the object says.
fn target(object: &Object, p: &Program) -> Option<String> {
    Some(match &p.attach_target {
        AttachTarget::None => return None,
        AttachTarget::Kernel { kind, name } => format!("kernel {} {name}", kind.name()),
        AttachTarget::Program { func } => format!("FUNC {func} of --attach-prog"),
        AttachTarget::StructOps { map, member } => {
            let map = object.maps.get(*map);
            let struct_name = map
                .and_then(|m| m.struct_ops.as_ref())
                .map_or("?", |ops| ops.type_name.as_str());
            format!(
                "{struct_name}.{member} (map {})",
                map.map_or("?", |m| m.name.as_str())
            )
        }
        AttachTarget::Missing => "missing".to_owned(),
        _ => "unknown".to_owned(),
    })
}

fn map_name(object: &Object, index: usize) -> &str {
    object.maps.get(index).map_or("?", |m| m.name.as_str())
}

fn program_name(object: &Object, index: usize) -> &str {
    object.programs.get(index).map_or("?", |p| p.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_kern() -> Object {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../progs/obj/tail_kern.o"
        ))
        .expect("progs/obj/tail_kern.o (make progs)");
        Object::parse(&data).unwrap()
    }

    #[test]
    fn json_has_the_documented_fields() {
        let json = to_json(&tail_kern()).to_string();
        assert!(json.contains(
            r#"{"index":0,"name":"jmp_table1","type":"prog_array","key_size":4,"value_size":4,"max_entries":100,"flags":0,"dialect":"legacy20","#
        ), "{json}");
        assert!(
            json.contains(r#"{"index":1,"section":"xdp1","name":"xdp_prog1","type":"xdp","#),
            "{json}"
        );
        assert!(json.contains(r#""jump_entries":[]"#), "{json}");
    }

    #[test]
    fn externs_are_listed_resolved_or_not() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../progs/obj/externs.o"
        ))
        .expect("progs/obj/externs.o (make progs)");
        let object = Object::parse(&data).unwrap();
        let externs = rxdp::externs::survey(&object);
        let json = externs_json(&externs).to_string();
        assert!(
            json.contains(r#"{"name":"rxdp_no_such_kfunc","kind":"kfunc","weak":true,"resolved":false,"value":"absent: 0 (weak)"}"#),
            "{json}"
        );
        assert!(
            json.contains(r#"{"name":"LINUX_HAS_BPF_COOKIE","kind":"kconfig","weak":false,"resolved":true,"value":"probed at load"}"#),
            "{json}"
        );
        let mut text = String::new();
        externs_text(&mut text, &externs);
        assert!(text.starts_with("\nexterns: 14\n  name "), "{text}");
        assert!(
            text.contains("  rxdp_no_such_variable       ksym            weak     no        absent: 0 (weak)\n"),
            "{text}"
        );
    }

    #[test]
    fn text_tables_line_up() {
        let text = to_text("tail_kern.o", &tail_kern());
        assert!(text.starts_with("tail_kern.o: license \"GPL\", kernel version 0x0, BTF yes\n"));
        let maps: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("maps"))
            .skip(1)
            .take(4)
            .collect();
        assert!(
            maps[0].starts_with("  idx  name        type        key"),
            "{maps:?}"
        );
        assert!(
            maps[1].starts_with("  0    jmp_table1  prog_array  4"),
            "{maps:?}"
        );
        assert!(
            maps[3].starts_with("  2    counters    array       4    8"),
            "{maps:?}"
        );
        assert!(text.contains("\njump entries: 0\n"));
    }

    #[test]
    fn disassembly_by_section() {
        let object = tail_kern();
        let text = disassembly("tail_kern.o", &object, Some("xdp1")).unwrap();
        assert!(
            text.starts_with("prog_fd[1] xdp_prog1 (section xdp1, 24 insns):\n"),
            "{text}"
        );
        assert!(text.contains("\n   4: r1 = map[counters]\n"), "{text}");
        assert!(text.contains("\n  21: call bpf_trace_printk#6\n"), "{text}");
        assert!(!text.contains("xdp_prog0"), "{text}");
        let all = disassembly("tail_kern.o", &object, None).unwrap();
        assert!(all.contains("  29: r2 = map[jmp_table1]\n"), "{all}");
        assert!(all.contains("  32: call bpf_tail_call#12\n"), "{all}");
        let error = disassembly("tail_kern.o", &object, Some("xdp2")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "tail_kern.o: no program in section xdp2; the program sections are: xdp0, xdp1"
        );
    }
}
