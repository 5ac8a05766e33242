//! What each program is for the kernel: its type, `expected_attach_type`
//! and attach target.
//!
//! Before anything is made (`kinds`, `check_targets`,
//! `open_target_program`): the type comes from the section name
//! ([`rxdp_elf::section_types`]), or `--type` for sections no table knows;
//! a section no table knows and no `--type` covers is refused, naming the
//! nearest known names — never loaded as XDP by guess. Only the names that
//! never carried a type (`prog`, `prog/N`, iproute2's `ID/KEY`) take XDP
//! without `--type`. A program that needs a target the object does not
//! name (`SEC("fentry")`, `freplace/` without `--attach-prog`) is refused
//! there too.
//!
//! Once the kernel's BTF is read (`plan`): tracing, LSM and iterator
//! programs get the id of their kernel type ([`attach_target`]),
//! struct_ops programs the kernel struct's id and their member's index
//! ([`rxdp_elf::struct_ops`]). `freplace` programs get theirs when the
//! target program is at hand (`replaced_func`), in `load_programs`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rxdp_elf::btf::{Btf, BtfKind};
use rxdp_elf::section_types::{attach, is_untyped_name, nearest, KernelTypeKind};
use rxdp_elf::struct_ops::KernelLayout;
use rxdp_elf::{AttachTarget, Object, ProgramType};
use rxdp_syscalls::bpf::{btf_data, btf_get_fd_by_id, obj_get, prog_get_fd_by_id, prog_info};

use crate::error::LoadError;
use crate::kernel_btf::{Kernel, KernelBtfError};
use crate::observe::{Observer, Stage};
use crate::options::{resolve_program, AttachProg, LoadOptions, Ref};

/// A program's type and `expected_attach_type`, before targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    pub prog_type: ProgramType,
    pub expected_attach_type: u32,
}

/// Each program's type, in `prog_fd[]` order. A section no table knows
/// takes `--type`; without it, only the untyped names take XDP and any
/// other is refused.
pub(crate) fn kinds(
    file: &str,
    object: &Object,
    options: &LoadOptions,
) -> Result<Vec<Kind>, LoadError> {
    let mut kinds = Vec::with_capacity(object.programs.len());
    for (index, program) in object.programs.iter().enumerate() {
        if let Some(prog_type) = program.prog_type {
            kinds.push(Kind {
                prog_type,
                expected_attach_type: program.expected_attach_type,
            });
            continue;
        }
        let prog_type = match options.default_type {
            Some(prog_type) => prog_type,
            None if is_untyped_name(&program.section) => ProgramType::XDP,
            None => {
                return Err(LoadError::UnknownSection {
                    file: file.to_string(),
                    index,
                    program: program.name().to_string(),
                    section: program.section.clone(),
                    nearest: nearest(&program.section),
                })
            }
        };
        // XDP programs share prog arrays whatever their section's name, and
        // the kernel refuses a prog array entry whose expected attach type
        // differs from its first program's (EINVAL, measured on 6.18): the
        // same BPF_XDP as every other XDP section.
        let expected_attach_type = if prog_type == ProgramType::XDP {
            attach::XDP
        } else {
            0
        };
        kinds.push(Kind {
            prog_type,
            expected_attach_type,
        });
    }
    Ok(kinds)
}

/// Refuses the programs whose target the object does not name and the
/// options do not give.
pub(crate) fn check_targets(
    file: &str,
    object: &Object,
    options: &LoadOptions,
) -> Result<(), LoadError> {
    for (index, program) in object.programs.iter().enumerate() {
        let problem = match &program.attach_target {
            AttachTarget::Missing if program.prog_type == Some(ProgramType::STRUCT_OPS) => {
                "no .struct_ops variable points at this struct_ops program".to_string()
            }
            AttachTarget::Missing => {
                "needs an attach target and the section names none (NAME/TARGET)".to_string()
            }
            AttachTarget::Program { func } if options.attach_prog.is_none() => format!(
                "freplace programs replace a function ({func}) of a program already loaded: \
                 give that program with --attach-prog ID|PIN|PROG"
            ),
            _ => continue,
        };
        return Err(target_error(file, Stage::Resolve, object, index, problem));
    }
    Ok(())
}

/// The error of program `index` about its target.
pub(crate) fn target_error(
    file: &str,
    stage: Stage,
    object: &Object,
    index: usize,
    problem: String,
) -> LoadError {
    let program = &object.programs[index];
    LoadError::Target {
        file: file.to_string(),
        stage,
        index,
        program: program.name().to_string(),
        section: program.section.clone(),
        problem,
    }
}

/// The program `freplace` programs replace a function of.
#[derive(Debug)]
pub(crate) enum TargetProgram {
    /// Already in the kernel (`--attach-prog ID|PIN`).
    Loaded(OwnedFd),
    /// `prog_fd[index]` of this load, loaded before the programs that
    /// replace its functions.
    Own(usize),
}

/// Opens the `--attach-prog` program, when some program needs it.
pub(crate) fn open_target_program(
    file: &str,
    object: &Object,
    options: &LoadOptions,
) -> Result<Option<TargetProgram>, LoadError> {
    let needed = object
        .programs
        .iter()
        .position(|p| matches!(p.attach_target, AttachTarget::Program { .. }));
    let (Some(first), Some(target)) = (needed, &options.attach_prog) else {
        return Ok(None);
    };
    let fail = |problem: String| target_error(file, Stage::Resolve, object, first, problem);
    let opened = match target {
        AttachProg::Id(id) => prog_get_fd_by_id(*id),
        AttachProg::Pin(path) => obj_get(path),
        AttachProg::Program(name) => {
            let own = resolve_program(object, &Ref::Name(name.clone()))
                .map_err(|error| fail(format!("--attach-prog: {error}")))?;
            if matches!(
                object.programs[own].attach_target,
                AttachTarget::Program { .. }
            ) {
                return Err(fail(format!(
                    "--attach-prog {name} is itself a freplace program"
                )));
            }
            return Ok(Some(TargetProgram::Own(own)));
        }
    };
    let fd = opened.map_err(|error| {
        fail(format!(
            "--attach-prog: cannot open {target}: {}",
            crate::error::syscall(&error)
        ))
    })?;
    Ok(Some(TargetProgram::Loaded(fd)))
}

/// Whether the load needs the kernel's BTF for attach targets or
/// struct_ops (kfuncs and CO-RE are [`rxdp_elf::kfunc::needs_kernel_btf`]).
pub(crate) fn needs_kernel_types(object: &Object) -> bool {
    object.maps.iter().any(|m| m.struct_ops.is_some())
        || object.programs.iter().any(|p| {
            matches!(
                p.attach_target,
                AttachTarget::Kernel { .. } | AttachTarget::StructOps { .. }
            )
        })
}

/// A kernel type programs attach to: its id, and the fd of the BTF object
/// holding it when that is a module's (`attach_btf_obj_fd`; `None` for
/// vmlinux). Looked up by [`Kernel::find`], the one kernel-BTF lookup of a
/// load: vmlinux first, then the modules' BTF (read then).
pub fn attach_target(
    kernel: &mut Kernel,
    kind: KernelTypeKind,
    name: &str,
    observer: &mut dyn Observer,
) -> Result<Option<(u32, Option<OwnedFd>)>, KernelBtfError> {
    let kind = match kind {
        KernelTypeKind::Func => BtfKind::Func,
        KernelTypeKind::Typedef => BtfKind::Typedef,
    };
    Ok(kernel
        .find(kind, name, observer)?
        .map(|(found, fd)| (found.id, fd)))
}

/// FUNC `func` of the BTF of loaded program `target`: the
/// `attach_btf_id` of a program replacing it (libbpf's
/// `libbpf_find_prog_btf_id`).
pub(crate) fn replaced_func(target: BorrowedFd<'_>, func: &str) -> Result<u32, String> {
    let info = prog_info(target).map_err(|e| crate::error::syscall(&e))?;
    if info.btf_id == 0 {
        return Err(format!("the target program (id {}) has no BTF", info.id));
    }
    let btf_fd = btf_get_fd_by_id(info.btf_id).map_err(|e| crate::error::syscall(&e))?;
    let (_, data) = btf_data(btf_fd.as_fd()).map_err(|e| crate::error::syscall(&e))?;
    let btf = Btf::parse(&data).map_err(|e| format!("the target program's BTF: {e}"))?;
    btf.find(BtfKind::Func, func)
        .ok_or_else(|| format!("the target program (id {}) has no FUNC {func}", info.id))
}

/// What `BPF_PROG_LOAD` needs of one program besides its code and type.
#[derive(Debug, Default)]
pub(crate) struct Attach {
    pub expected_attach_type: u32,
    pub attach_btf_id: u32,
    /// The module BTF holding `attach_btf_id`.
    pub attach_btf_obj_fd: Option<OwnedFd>,
    /// `freplace`: the function of the target program to replace.
    pub replace: Option<String>,
    /// What it attaches to, for people: `FUNC bpf_iter_task`,
    /// `tcp_congestion_ops.init`.
    pub target: Option<String>,
}

/// The attach fields of every program, in `prog_fd[]` order. `kernel` is
/// there when [`needs_kernel_types`] said so; `layouts[i]` is the kernel
/// layout of struct_ops map `i`.
pub(crate) fn plan(
    file: &str,
    object: &Object,
    kinds: &[Kind],
    mut kernel: Option<&mut Kernel>,
    layouts: &[Option<KernelLayout>],
    observer: &mut dyn Observer,
) -> Result<Vec<Attach>, LoadError> {
    let mut out = Vec::with_capacity(object.programs.len());
    for (index, (program, kind)) in object.programs.iter().zip(kinds).enumerate() {
        let mut attach = Attach {
            expected_attach_type: kind.expected_attach_type,
            ..Attach::default()
        };
        let fail = |problem: String| target_error(file, Stage::Relocate, object, index, problem);
        match &program.attach_target {
            AttachTarget::Kernel { kind, name } => {
                let found = match kernel.as_deref_mut() {
                    Some(kernel) => {
                        attach_target(kernel, *kind, name, observer).map_err(|error| {
                            LoadError::KernelBtf {
                                file: file.to_string(),
                                error,
                            }
                        })?
                    }
                    None => None,
                };
                let (id, obj) = found.ok_or_else(|| {
                    fail(format!(
                        "the kernel's BTF (vmlinux and modules) has no {} {name}, the \
                         section's target",
                        kind.name()
                    ))
                })?;
                attach.attach_btf_id = id;
                attach.attach_btf_obj_fd = obj;
                attach.target = Some(format!("{} {name}", kind.name()));
            }
            AttachTarget::StructOps { map, member } => {
                let slot = layouts.get(*map).and_then(Option::as_ref).and_then(|l| {
                    l.programs
                        .iter()
                        .find(|s| s.program == index)
                        .map(|s| (l.type_id, s.member_index))
                });
                let (type_id, member_index) =
                    slot.ok_or_else(|| fail(format!("no kernel member {member}")))?;
                attach.attach_btf_id = type_id;
                attach.expected_attach_type = member_index;
                let struct_name = object
                    .maps
                    .get(*map)
                    .and_then(|m| m.struct_ops.as_ref())
                    .map_or("?", |ops| ops.type_name.as_str());
                attach.target = Some(format!("{struct_name}.{member}"));
            }
            AttachTarget::Program { func } => {
                attach.replace = Some(func.clone());
                attach.target = Some(format!("FUNC {func} of the --attach-prog program"));
            }
            _ => {}
        }
        out.push(attach);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::program;
    use rxdp_elf::Program;

    fn object(sections: &[&str]) -> Object {
        let programs: Vec<Program> = sections
            .iter()
            .enumerate()
            .map(|(i, section)| {
                let kind = rxdp_elf::section_types::section_kind(section);
                let mut p = program(&format!("p{i}"), section);
                p.prog_type = kind.prog_type;
                p.expected_attach_type = kind.expected_attach_type;
                p
            })
            .collect();
        Object::new(Vec::new(), programs)
    }

    #[test]
    fn unknown_sections_are_refused_with_the_nearest_names() {
        let options = LoadOptions::new("x.o");
        let error = kinds("x.o", &object(&["xdp", "cgroup/connect"]), &options).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("x.o: resolve options: prog_fd[1] p1 (section cgroup/connect):"),
            "{text}"
        );
        assert!(text.contains("cgroup/connect4"), "{text}");
        assert!(text.contains("--type"), "{text}");
    }

    #[test]
    fn untyped_names_are_xdp_and_type_forces_the_rest() {
        let options = LoadOptions::new("x.o");
        let found = kinds("x.o", &object(&["prog/0", "1/7", "xdp0"]), &options).unwrap();
        assert!(found.iter().all(|k| k.prog_type == ProgramType::XDP));
        assert!(found.iter().all(|k| k.expected_attach_type == attach::XDP));
        let mut forced = LoadOptions::new("x.o");
        forced.default_type = Some(ProgramType::SCHED_CLS);
        let found = kinds("x.o", &object(&["encap_gre", "xdp"]), &forced).unwrap();
        assert_eq!(found[0].prog_type, ProgramType::SCHED_CLS);
        assert_eq!(found[0].expected_attach_type, 0);
        assert_eq!(found[1].prog_type, ProgramType::XDP);
    }

    /// The running kernel's BTF.
    fn vmlinux() -> Btf {
        crate::kernel_btf::read(
            std::path::Path::new(crate::kernel_btf::VMLINUX_BTF),
            &mut crate::observe::NoObserver,
        )
        .unwrap()
    }

    #[test]
    fn struct_ops_members_land_at_the_kernels_offsets() {
        let kernel = vmlinux();
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../progs/obj/struct_ops.o"
        ))
        .expect("progs/obj/struct_ops.o (make progs)");
        let object = Object::parse(&bytes).unwrap();
        let ours = object.btf.as_ref().unwrap();
        let layout =
            rxdp_elf::struct_ops::kernel_layout(ours, &object.maps[0], &kernel, |p| p.to_string())
                .unwrap();
        let ops = kernel.find(BtfKind::Struct, "tcp_congestion_ops").unwrap();
        let value = kernel
            .find(BtfKind::Struct, "bpf_struct_ops_tcp_congestion_ops")
            .unwrap();
        assert_eq!(layout.type_id, ops);
        assert_eq!(layout.value_type_id, value);
        assert_eq!(
            layout.value.len() as u32,
            kernel.type_by_id(value).unwrap().size().unwrap()
        );
        // Where the kernel's members are in the value: `data`, then the member.
        let value_type = kernel.type_by_id(value).unwrap();
        let data = value_type
            .members()
            .iter()
            .find(|m| m.type_id == ops)
            .unwrap()
            .bit_offset(value_type.kind_flag) as usize
            / 8;
        let ops_type = kernel.type_by_id(ops).unwrap();
        let member = |name: &str| {
            ops_type
                .members()
                .iter()
                .enumerate()
                .find(|(_, m)| kernel.string(m.name_off).unwrap() == name)
                .map(|(i, m)| (i as u32, data + m.bit_offset(false) as usize / 8))
                .unwrap()
        };
        let (_, name_at) = member("name");
        assert_eq!(&layout.value[name_at..name_at + 8], b"rxdp_cc\0");
        let slots: Vec<(usize, u32, usize)> = layout
            .programs
            .iter()
            .map(|s| (s.program, s.member_index, s.offset))
            .collect();
        let expected: Vec<(usize, u32, usize)> = ["ssthresh", "undo_cwnd", "cong_avoid"]
            .iter()
            .enumerate()
            .map(|(program, name)| {
                let (index, offset) = member(name);
                (program, index, offset)
            })
            .collect();
        let mut sorted = slots.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        // The fds go at those offsets, nothing else changes.
        let filled = layout.value_with_fds(|p| Some(100 + p as i32));
        for (program, _, offset) in slots {
            assert_eq!(
                u64::from_ne_bytes(filled[offset..offset + 8].try_into().unwrap()),
                100 + program as u64
            );
        }
        assert_eq!(&filled[name_at..name_at + 8], b"rxdp_cc\0");
    }

    #[test]
    fn kernel_targets_resolve_through_the_kernels_btf() {
        let observer = &mut crate::observe::NoObserver;
        let mut kernel = Kernel::read(observer).unwrap();
        let (id, module) =
            attach_target(&mut kernel, KernelTypeKind::Func, "bpf_iter_task", observer)
                .unwrap()
                .unwrap();
        assert!(id > 0 && module.is_none());
        assert_eq!(kernel.btf.vmlinux.type_name(id).unwrap(), "bpf_iter_task");
        let (id, _) = attach_target(
            &mut kernel,
            KernelTypeKind::Typedef,
            "btf_trace_netif_receive_skb",
            observer,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            kernel.btf.vmlinux.type_by_id(id).unwrap().kind,
            rxdp_elf::btf::BtfKind::Typedef
        );
        let missing = attach_target(
            &mut kernel,
            KernelTypeKind::Func,
            "rxdp_no_such_function",
            observer,
        )
        .unwrap();
        assert!(missing.is_none());
    }
}
