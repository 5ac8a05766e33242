//! Stage 5: `BPF_PROG_LOAD` of every program, giving `prog_fd[]`.
//!
//! Each program goes to the kernel relocated (see `relocate`), with its type
//! (from the section name, else `--type`), expected attach type and attach
//! target (`program_types`), licence, kernel version, name
//! (the function name, cut to the kernel's 15 bytes), and — when the
//! object's BTF is loaded — func_info and line_info, so that the verifier
//! log names source lines. The first load is made without a log (faster);
//! only a refused program is loaded again with one (`rxdp_syscalls`), and
//! its rejection is reported with the failing instruction, its source line
//! and the end of the log. `-v` asks for the log on success too.
//!
//! Programs load in `prog_fd[]` order, except those that replace a function
//! of another program (`freplace`): they come last, so that a target in the
//! same object is loaded before them. `prog_fd[]` keeps the object's order.
//!
//! The kernel verifies privileged loads without a lock shared between
//! them, so the stage loads several programs at once (`--jobs`, one per
//! usable CPU by default) on a few threads ([`crate::pool`]); everything
//! the caller sees comes back in `prog_fd[]` order.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use crate::program_types::{replaced_func, target_error, Attach, Kind, TargetProgram};

use rxdp_elf::insn::encode;
use rxdp_elf::relocate::Patch;
use rxdp_elf::xdp_hints::{is_xdp_metadata, stub_xdp_metadata};
use rxdp_elf::{AttachTarget, Function, Object, ProgramType};
use rxdp_syscalls::bpf::{
    prog_info, prog_load, ProgLoad, BPF_F_XDP_DEV_BOUND_ONLY, BPF_LOG_LEVEL1,
};
use rxdp_syscalls::sched::usable_cpus;
use rxdp_syscalls::{seam, signal, Error as SysError};

use crate::create_maps::is_offload_refusal;
use crate::error::{LoadError, VerifierReport};
use crate::observe::{Event, Observer, Stage};
use crate::options::Jobs;
use crate::pipeline::{Context, LoadedProgram};
use crate::pool::{self, Stopped};
use rxdp_elf::disasm;
use rxdp_elf::relocate::{LinkedProgram, FUNC_INFO_REC_SIZE, LINE_INFO_REC_SIZE};

/// Log lines a rejection shows.
const TAIL_LINES: usize = 20;

/// Loads the relocated programs; `kinds` and `attaches` are theirs, in
/// `prog_fd[]` order, `target` the program `freplace` programs replace a
/// function of, `with` what all of them are loaded with.
///
/// The programs that replace no function are loaded first, `jobs` at a
/// time (see [`crate::pool`]): events, results and the error are those
/// of a load in `prog_fd[]` order. The `freplace` programs follow, one
/// by one, since their target may be one of the first. Returns the
/// programs and, when worker threads did the loads, the wall time during
/// which at least one of them was in the kernel: their syscalls are not
/// on the calling thread's clock (`rxdp_syscalls::seam` counts per
/// thread), and added up they would exceed the stage's wall time.
pub fn load_programs(
    ctx: &Context<'_>,
    linked: &[LinkedProgram],
    with: &With<'_>,
    kinds: &[Kind],
    attaches: &[Attach],
    target: Option<&TargetProgram>,
    observer: &mut dyn Observer,
) -> Result<(Vec<LoadedProgram>, Duration), LoadError> {
    let count = linked.len();
    let replaces = |i: usize| attaches.get(i).is_some_and(|a| a.replace.is_some());
    let first: Vec<usize> = (0..count).filter(|&i| !replaces(i)).collect();
    let interrupted = || {
        signal::interrupted().map(|signal| LoadError::Interrupted {
            file: ctx.file.to_string(),
            stage: Stage::LoadPrograms,
            signal,
        })
    };
    let mut loaded: Vec<Option<LoadedProgram>> = (0..count).map(|_| None).collect();
    // A fault plan or a fake kernel is this thread's alone: its syscalls
    // stay here, in prog_fd[] order.
    let auto = ctx.options.jobs == Jobs::Auto && !seam::thread_bound();
    let mut pending: &[usize] = &first;
    let mut cheap = false;
    if auto && first.len() > 1 {
        // The default verifies one program here first: when the kernel
        // takes less for it than starting threads costs, the rest follow
        // on this thread too (two small programs: 0.7 ms alone, 1.9 ms
        // with two threads).
        if let Some(error) = interrupted() {
            return Err(error);
        }
        let index = first[0];
        let fields = attach_fields(ctx, index, kinds, attaches, None)?;
        let done = load_one(ctx, index, &linked[index], with, fields)?;
        program_loaded(observer, index, &linked[index], &done);
        cheap = done.took < AUTO_POOL_FROM;
        loaded[index] = Some(done.program);
        pending = &first[1..];
    }
    let jobs = match ctx.options.jobs {
        _ if seam::thread_bound() => NonZeroUsize::MIN,
        Jobs::Max(jobs) => jobs,
        Jobs::Auto if cheap => NonZeroUsize::MIN,
        // Asked only when there is a choice to make.
        Jobs::Auto if pending.len() > 1 => usable_cpus()
            .ok()
            .and_then(NonZeroUsize::new)
            .unwrap_or(NonZeroUsize::MIN),
        Jobs::Auto => NonZeroUsize::MIN,
    };
    let threaded = jobs.get().min(pending.len()) > 1;
    let work = |job: usize| {
        if let Some(error) = interrupted() {
            return Err(error);
        }
        let index = pending[job];
        let fields = attach_fields(ctx, index, kinds, attaches, None)?;
        let (start, kernel) = (Instant::now(), seam::kernel_time());
        let loaded = load_one(ctx, index, &linked[index], with, fields)?;
        Ok((loaded, start, seam::kernel_time().saturating_sub(kernel)))
    };
    let report = |job: usize, (loaded, _, _): &(Done, Instant, Duration)| {
        program_loaded(observer, pending[job], &linked[pending[job]], loaded)
    };
    let independent = vec![Vec::new(); pending.len()];
    let done =
        pool::run(pending.len(), jobs, &independent, work, report).map_err(
            |stopped| match stopped {
                Stopped::Failed(_, error) => error,
                Stopped::Stuck(job) => {
                    let index = pending[job];
                    let program = &ctx.object.programs[index];
                    LoadError::Program {
                        file: ctx.file.to_string(),
                        index,
                        program: program.name().to_string(),
                        section: program.section.clone(),
                        error: SysError::new("BPF_PROG_LOAD", libc::EDEADLK).with_subject(
                            "the programs it must be loaded after lead back to it: none was loaded",
                        ),
                    }
                }
            },
        )?;
    let kernel = if threaded {
        busy_time(done.iter().map(|(_, start, kernel)| (*start, *kernel)))
    } else {
        Duration::ZERO
    };
    for (job, (program, _, _)) in done.into_iter().enumerate() {
        loaded[pending[job]] = Some(program.program);
    }
    for index in (0..count).filter(|&i| replaces(i)) {
        if let Some(error) = interrupted() {
            return Err(error);
        }
        let fields = attach_fields(ctx, index, kinds, attaches, Some((target, &loaded)))?;
        let program = load_one(ctx, index, &linked[index], with, fields)?;
        program_loaded(observer, index, &linked[index], &program);
        loaded[index] = Some(program.program);
    }
    Ok((loaded.into_iter().flatten().collect(), kernel))
}

/// Tells `observer` that `prog_fd[index]` is loaded.
fn program_loaded(observer: &mut dyn Observer, index: usize, linked: &LinkedProgram, done: &Done) {
    observer.event(&Event::ProgramLoaded {
        index,
        name: &done.program.name,
        prog_type: done.program.prog_type,
        fd: done.program.fd.as_raw_fd(),
        id: done.program.id,
        insns: linked.insns.len(),
        verified_insns: done.program.verified_insns,
        took: done.took,
    })
}

/// The attach fields of `prog_fd[index]`. An `freplace` program's target
/// (given with `replacing`: the `--attach-prog` program, or one of this
/// object's already `loaded`) gives its `attach_prog_fd` and the BTF id of
/// the function replaced.
fn attach_fields<'a>(
    ctx: &Context<'_>,
    index: usize,
    kinds: &[Kind],
    attaches: &'a [Attach],
    replacing: Option<(Option<&'a TargetProgram>, &'a [Option<LoadedProgram>])>,
) -> Result<AttachFields<'a>, LoadError> {
    let attach = &attaches[index];
    let mut attach_btf_id = attach.attach_btf_id;
    let mut attach_prog = None;
    if let (Some(func), Some((target, loaded))) = (&attach.replace, replacing) {
        let fd = match target {
            Some(TargetProgram::Loaded(fd)) => Some(fd.as_fd()),
            Some(TargetProgram::Own(own)) => loaded
                .get(*own)
                .and_then(Option::as_ref)
                .map(|p| p.fd.as_fd()),
            None => None,
        };
        let fail = |problem: String| {
            target_error(ctx.file, Stage::LoadPrograms, ctx.object, index, problem)
        };
        let fd = fd.ok_or_else(|| fail("no --attach-prog program to replace".into()))?;
        attach_btf_id = replaced_func(fd, func).map_err(fail)?;
        attach_prog = Some(fd);
    }
    Ok(AttachFields {
        kind: kinds[index],
        expected_attach_type: attach.expected_attach_type,
        attach_btf_id,
        attach_btf_obj_fd: attach.attach_btf_obj_fd.as_ref().map(AsFd::as_fd),
        attach_prog,
        target: attach.target.clone(),
    })
}

/// The wall time covered by the union of `[start, start + length)`.
fn busy_time(spans: impl Iterator<Item = (Instant, Duration)>) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = spans.map(|(s, d)| (s, s + d)).collect();
    spans.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in spans {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(Duration::ZERO, |(s, e)| e - s)
}

/// With the default `--jobs`, the time of the first `BPF_PROG_LOAD` from
/// which the other programs are verified on threads.
const AUTO_POOL_FROM: Duration = Duration::from_millis(2);

/// A program the kernel accepted, and how long `BPF_PROG_LOAD` took.
struct Done {
    program: LoadedProgram,
    took: Duration,
}

/// The attach fields of one `BPF_PROG_LOAD`.
struct AttachFields<'a> {
    kind: Kind,
    expected_attach_type: u32,
    attach_btf_id: u32,
    attach_btf_obj_fd: Option<BorrowedFd<'a>>,
    attach_prog: Option<BorrowedFd<'a>>,
    target: Option<String>,
}

/// What every program of the object is loaded with: the object's BTF
/// (`btf`), whether it has the FUNCs the func_info records name
/// (`func_info`), and the module BTF fds kfunc calls index (`fd_array`).
pub(crate) struct With<'a> {
    pub btf: Option<BorrowedFd<'a>>,
    pub func_info: bool,
    pub fd_array: &'a [i32],
}

fn load_one(
    ctx: &Context<'_>,
    index: usize,
    linked: &LinkedProgram,
    with: &With<'_>,
    attach: AttachFields<'_>,
) -> Result<Done, LoadError> {
    let program = &ctx.object.programs[index];
    let prog_type = attach.kind.prog_type;
    let btf = with.btf;
    let mut insns = linked.insns.clone();
    let hints = linked
        .patches
        .iter()
        .find(|p| matches!(p.patch, Patch::Kfunc { .. }) && is_xdp_metadata(&p.symbol));
    let mut stubbed_kfuncs = Vec::new();
    let mut dev_bound = None;
    if let (Some(hints), 0) = (hints, ctx.offload) {
        match (ctx.hints_ifindex, ctx.options.hints_stub) {
            (Some(ifindex), _) => dev_bound = Some(ifindex),
            (None, true) => stubbed_kfuncs = stub_xdp_metadata(&mut insns, &linked.patches),
            (None, false) => {
                return Err(LoadError::HintsNeedDevice {
                    file: ctx.file.to_string(),
                    index,
                    program: program.name().to_string(),
                    kfunc: hints.symbol.clone(),
                })
            }
        }
    }
    let insns = encode(&insns);
    // func_info/line_info refer to the object's BTF: only with it.
    let (func_info, line_info) = match btf {
        Some(_) if with.func_info => (linked.func_info_bytes(), linked.line_info_bytes()),
        _ => (Vec::new(), Vec::new()),
    };
    let mut request = ProgLoad::new(prog_type.0, &insns, &ctx.object.license);
    request.expected_attach_type = attach.expected_attach_type;
    request.attach_btf_id = attach.attach_btf_id;
    request.attach_btf_obj_fd = attach.attach_btf_obj_fd;
    request.attach_prog_fd = attach.attach_prog;
    request.kern_version = ctx.object.kernel_version;
    request.prog_flags = program.prog_flags;
    request.name = program.name();
    request.ifindex = ctx.offload;
    // XDP hints: the verifier resolves the metadata kfuncs to the driver's
    // own, so the program is bound to the device (not offloaded).
    if let Some(ifindex) = dev_bound {
        request.prog_flags |= BPF_F_XDP_DEV_BOUND_ONLY;
        request.ifindex = ifindex;
    }
    request.btf_fd = btf;
    request.func_info = &func_info;
    request.func_info_rec_size = FUNC_INFO_REC_SIZE;
    request.line_info = &line_info;
    request.line_info_rec_size = LINE_INFO_REC_SIZE;
    request.fd_array = with.fd_array;
    request.log_level = if ctx.options.verifier_log {
        BPF_LOG_LEVEL1
    } else {
        0
    };
    let done =
        prog_load(&request).map_err(|error| refused(ctx, index, linked, prog_type, error))?;
    let info = prog_info(done.fd.as_fd()).map_err(|error| LoadError::Program {
        file: ctx.file.to_string(),
        index,
        program: program.name().to_string(),
        section: program.section.clone(),
        error,
    })?;
    Ok(Done {
        program: LoadedProgram {
            name: program.name().to_string(),
            section: program.section.clone(),
            prog_type,
            expected_attach_type: attach.expected_attach_type,
            attach_btf_id: attach.attach_btf_id,
            attach_target: attach.target,
            fd: done.fd,
            id: info.id,
            tag: info.tag_hex(),
            verified_insns: info.verified_insns,
            log: done.log,
            dev_bound,
            stubbed_kfuncs,
        },
        took: done.load_time,
    })
}

/// The error for a program the kernel refused.
fn refused(
    ctx: &Context<'_>,
    index: usize,
    linked: &LinkedProgram,
    prog_type: ProgramType,
    error: SysError,
) -> LoadError {
    let program = &ctx.object.programs[index];
    let file = ctx.file.to_string();
    let name = program.name().to_string();
    let section = program.section.clone();
    let trampoline = matches!(program.attach_target, AttachTarget::Kernel { .. })
        && matches!(prog_type, ProgramType::TRACING | ProgramType::LSM)
        || prog_type == ProgramType::EXT;
    if error.errno == libc::EPERM && error.log.is_none() && trampoline {
        let problem = format!(
            "{}: as root, this means the kernel (or a sandbox) refuses {prog_type} programs \
             their BPF trampoline",
            crate::error::syscall(&error)
        );
        return target_error(ctx.file, Stage::LoadPrograms, ctx.object, index, problem);
    }
    if ctx.offload != 0 && is_offload_refusal(&error) {
        return LoadError::Offload {
            file,
            stage: Stage::LoadPrograms,
            dev: ctx.device_name().to_string(),
            what: format!("prog_fd[{index}] {name}"),
            error,
        };
    }
    // Out of fds is no rejection, whatever log came with it.
    let out_of_fds = matches!(error.errno, libc::EMFILE | libc::ENFILE);
    match error.log.as_deref().filter(|_| !out_of_fds) {
        Some(log) => {
            let report = report(log, linked, ctx.object);
            LoadError::Verifier {
                file,
                index,
                program: name,
                section,
                error,
                report,
            }
        }
        None => LoadError::Program {
            file,
            index,
            program: name,
            section,
            error,
        },
    }
}

/// `12: (69) r1 = *(u16 *)(r1 +12)` → 12.
fn insn_index(line: &str) -> Option<usize> {
    let (index, rest) = line.split_once(": (")?;
    rest.get(2..3).filter(|close| *close == ")")?;
    index.parse().ok()
}

/// What to show of a verifier log: the last instruction it walked,
/// rendered from the object with its symbols (`disasm`), that
/// instruction's source line (the function's line info and the object's
/// BTF strings), and the last lines.
pub(crate) fn report(log: &str, linked: &LinkedProgram, object: &Object) -> VerifierReport {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .collect();
    let last_insn = lines
        .iter()
        .rev()
        .find_map(|line| insn_index(line).map(|index| (index, *line)));
    let found = last_insn.and_then(|(index, _)| function_at(linked, object, index));
    let insn = match (found, last_insn) {
        (Some((function, local, own)), Some((index, _))) => {
            let text = disasm::render_insn(object, function, local);
            Some(if own {
                format!("{index}: {text}")
            } else {
                format!("{index}: {text}, insn {local} of {}", function.name)
            })
        }
        (_, last) => last.map(|(_, line)| line.to_string()),
    };
    let error = match (found, object.btf.as_ref()) {
        (Some((function, local, _)), Some(btf)) => disasm::source_line(function, local, btf),
        _ => None,
    };
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|line| line.to_string())
        .collect();
    VerifierReport {
        insn,
        location: error.as_ref().map(disasm::SourceLine::location),
        source_line: error.map(|s| s.text),
        tail,
        log_shown: false,
    }
}

/// The object's function that instruction `index` of the linked program
/// comes from, the index within it, and whether it is the program's own
/// body (the first function) rather than an appended subprogram.
fn function_at<'a>(
    linked: &LinkedProgram,
    object: &'a Object,
    index: usize,
) -> Option<(&'a Function, usize, bool)> {
    let position = linked
        .functions
        .iter()
        .rposition(|(_, start)| *start <= index)?;
    let (name, start) = &linked.functions[position];
    let own = position == 0;
    let function = if own {
        object
            .programs
            .iter()
            .map(|p| &p.function)
            .find(|f| f.name == *name)
    } else {
        object.subprograms.iter().find(|f| f.name == *name)
    }?;
    Some((function, index - start, own))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::program;

    #[test]
    fn busy_time_is_the_union_of_the_spans() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // [0, 10) and [5, 12) overlap: 12; [20, 25) apart: 5; [21, 22) inside it.
        let spans = [
            (t0 + ms(5), ms(7)),
            (t0, ms(10)),
            (t0 + ms(20), ms(5)),
            (t0 + ms(21), ms(1)),
        ];
        assert_eq!(busy_time(spans.into_iter()), ms(17));
        assert_eq!(busy_time(std::iter::empty()), Duration::ZERO);
    }

    #[test]
    fn instruction_lines_of_the_log() {
        assert_eq!(insn_index("12: (69) r1 = *(u16 *)(r1 +12)"), Some(12));
        assert_eq!(insn_index("0: (b7) r0 = 2"), Some(0));
        assert_eq!(insn_index("12: R1=ctx()"), None);
        assert_eq!(insn_index("invalid access to packet, off=12 size=2"), None);
        assert_eq!(insn_index("from 4 to 6: (95) exit"), None);
    }

    #[test]
    fn a_report_names_the_last_instruction_and_keeps_the_tail() {
        let log = "func#0 @0\n0: R1=ctx() R10=fp0\n; int x @ a.c:3\n0: (61) r2 = *(u32 *)(r1 +0)\n\
                   1: (69) r1 = *(u16 *)(r2 +12)\ninvalid access to packet, off=12 size=2\n\
                   processed 2 insns (limit 1000000) max_states_per_insn 0\n";
        let linked = LinkedProgram::default();
        let report = report(
            log,
            &linked,
            &Object::new(Vec::new(), vec![program("p", "xdp")]),
        );
        assert_eq!(
            report.insn.as_deref(),
            Some("1: (69) r1 = *(u16 *)(r2 +12)")
        );
        assert_eq!(report.location, None, "no line info, no location");
        assert_eq!(report.tail.len(), 7);
        assert_eq!(report.tail[5], "invalid access to packet, off=12 size=2");
    }

    #[test]
    fn a_report_renders_the_instruction_from_the_object() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../progs/obj/multi_prog.o"
        ))
        .expect("progs/obj/multi_prog.o (make progs)");
        let object = Object::parse(&data).unwrap();
        // xdp_first (4 insns) with count_hit appended, as relocate links it.
        let linked = LinkedProgram {
            insns: Vec::new(),
            functions: vec![("xdp_first".into(), 0), ("count_hit".into(), 4)],
            ..LinkedProgram::default()
        };
        let log = "0: R1=ctx() R10=fp0\n7: (18) r1 = map[id:12]\nsome complaint\n";
        let sub = report(log, &linked, &object);
        assert_eq!(
            sub.insn.as_deref(),
            Some("7: r1 = map[hits], insn 3 of count_hit")
        );
        assert_eq!(sub.location.as_deref(), Some("multi_prog.c:31"));
        assert!(
            sub.source_line
                .as_deref()
                .is_some_and(|l| l.contains("bpf_map_lookup_elem(&hits, &slot)")),
            "{sub:?}"
        );
        let own = report("1: (85) call pc+2\nR1 !read_ok\n", &linked, &object);
        assert_eq!(own.insn.as_deref(), Some("1: call count_hit"));
        assert_eq!(own.location.as_deref(), Some("multi_prog.c:42"));
    }
}
