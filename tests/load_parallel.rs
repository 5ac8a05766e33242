//! The program-load stage with several jobs (`--jobs N`): the kernel
//! verifies programs at once, and the load must still be the one a load
//! one program at a time makes — same `prog_fd[]` and `map_fd[]`, types,
//! names, tags, jump tables, pins, observer events and messages; only the
//! kernel's ids may differ — and a failure in the middle must leave no
//! program of the object in the kernel, however many were loaded beside it.
//!
//! Objects: `progs/many_progs.c` (28 programs of three types, a prog array
//! with initialisers) and `progs/many_progs_fail.c` (24 programs, the 9th
//! refused after a long verification).

#[path = "load_common.rs"]
mod common;

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use rxdp::{
    load, Event, Jobs, JumpRequest, LoadError, LoadOptions, Loaded, Observer, PinPolicy, Ref, Stage,
};
use rxdp_kernel_tests::{require_kernel, unique_name};
use rxdp_syscalls::bpf::{prog_get_fd_by_id, prog_get_next_id, prog_info, MapHandle};
use rxdp_syscalls::fs::bpffs;

/// More jobs than the machine has CPUs: the pool must not depend on them.
const JOBS: usize = 4;

fn jobs(n: usize) -> Jobs {
    Jobs::Max(NonZeroUsize::new(n).unwrap())
}

/// Every event, with what only the kernel decides (fds, ids, times) left
/// out: what `--explain` shows of a load, in the order it came.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Observer for Recorder {
    fn event(&mut self, event: &Event<'_>) {
        let line = match event {
            Event::BtfLoaded { bytes, .. } => format!("btf {bytes}"),
            Event::MapCreated {
                index,
                name,
                map_type,
                without_btf,
                ..
            } => format!("map {index} {name} {map_type:?} {without_btf}"),
            Event::Relocated {
                program,
                insn,
                symbol,
                ..
            } => format!("relocated {program} {insn} {symbol}"),
            Event::ProgramLoaded {
                index,
                name,
                prog_type,
                insns,
                verified_insns,
                ..
            } => format!("program {index} {name} {prog_type:?} {insns} {verified_insns}"),
            Event::JumpEntry {
                map,
                key,
                program,
                origin,
            } => format!("jump {map} {key} {program} {origin:?}"),
            Event::Pinned { index, path } => format!(
                "pinned {index} {}",
                path.file_name().unwrap().to_string_lossy()
            ),
            Event::StageFinished { stage, .. } => format!("stage {stage}"),
            Event::Locked { .. } => "locked".to_string(),
            other => format!("{:?}", std::mem::discriminant(other)),
        };
        self.0.push(line);
    }
}

/// A program as the library and the kernel report it, without its id.
#[derive(Debug, PartialEq, Eq)]
struct ProgramView {
    name: String,
    section: String,
    prog_type: String,
    tag: String,
    verified_insns: u32,
    kernel_type: u32,
    kernel_name: String,
    kernel_tag: String,
    /// The maps it uses, by `map_fd[]` index.
    maps: Vec<usize>,
}

/// What a load of many_progs.o made, as the kernel and the library report
/// it, without the kernel's ids.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    programs: Vec<ProgramView>,
    /// Per map: name, type, pin name.
    maps: Vec<(String, String, Option<String>)>,
    jump_entries: Vec<String>,
    /// mp_jumps' 8 slots, as `prog_fd[]` indexes.
    jump_table: Vec<Option<usize>>,
    /// The pin directory's entries.
    pins: Vec<String>,
    events: Vec<String>,
    warnings: Vec<String>,
    stages: Vec<String>,
}

fn snapshot(loaded: &Loaded, events: Vec<String>) -> Snapshot {
    let map_index = |id: u32| loaded.maps.iter().position(|m| m.id == id).unwrap();
    let prog_index = |id: u32| loaded.programs.iter().position(|p| p.id == id);
    let programs = loaded
        .programs
        .iter()
        .map(|p| {
            let info = prog_info(p.fd.as_fd()).unwrap();
            assert_eq!(info.id, p.id);
            ProgramView {
                name: p.name.clone(),
                section: p.section.clone(),
                prog_type: format!("{:?}", p.prog_type),
                tag: p.tag.clone(),
                verified_insns: p.verified_insns,
                kernel_type: info.prog_type,
                kernel_name: info.name.clone(),
                kernel_tag: info.tag_hex(),
                maps: info.map_ids.iter().map(|&id| map_index(id)).collect(),
            }
        })
        .collect();
    let maps = loaded
        .maps
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                format!("{:?}", m.map_type),
                m.pin
                    .as_ref()
                    .map(|p| p.file_name().unwrap().to_string_lossy().into_owned()),
            )
        })
        .collect();
    let handle = MapHandle::new(loaded.map_fd(0).unwrap()).unwrap();
    let jump_table = (0u32..8)
        .map(|key| {
            let mut value = [0u8; 4];
            handle
                .lookup(&key.to_ne_bytes(), &mut value)
                .unwrap()
                .then(|| prog_index(u32::from_ne_bytes(value)).expect("a program of this load"))
        })
        .collect();
    Snapshot {
        programs,
        maps,
        jump_entries: loaded
            .jump_entries
            .iter()
            .map(|e| format!("{e:?}"))
            .collect(),
        jump_table,
        pins: loaded
            .pin_dir
            .as_deref()
            .map(entry_names)
            .unwrap_or_default(),
        events,
        warnings: loaded.warnings.clone(),
        stages: loaded.timings.iter().map(|t| t.stage.to_string()).collect(),
    }
}

fn many_progs(pin_dir: &Path, jobs: Jobs) -> LoadOptions {
    let mut options = LoadOptions::new(obj("many_progs"));
    options.pins = PinPolicy::Dir(pin_dir.to_path_buf());
    options.jobs = jobs;
    options.jumps.push(JumpRequest::new(
        Ref::Name("mp_jumps".into()),
        5,
        Ref::Name("mp_3".into()),
    ));
    options
        .jumps
        .push(JumpRequest::new(Ref::Index(0), 6, Ref::Index(9)));
    options
}

#[test]
fn one_job_and_many_jobs_load_the_same() {
    if !require_kernel() {
        return;
    }
    let mut snapshots = Vec::new();
    for jobs in [Jobs::ONE, jobs(JOBS), Jobs::Auto] {
        let dir = PathBuf::from(bpffs::DEFAULT_MOUNT).join(unique_name("rxdp-par-"));
        let _pins = RemovePins(dir.clone());
        let mut recorder = Recorder::default();
        let loaded = load(&many_progs(&dir, jobs), &mut recorder)
            .unwrap_or_else(|error| panic!("{jobs:?}: {error}"));
        assert_eq!(loaded.programs.len(), 28, "{jobs:?}");
        let ids: BTreeSet<u32> = loaded.programs.iter().map(|p| p.id).collect();
        assert_eq!(ids.len(), 28, "{jobs:?}: every program its own");
        // --timings: the stage's time in the kernel, also when other
        // threads made the syscalls, and never more than its wall time.
        let stage = loaded
            .timings
            .iter()
            .find(|t| t.stage == Stage::LoadPrograms)
            .expect("a load-programs timing");
        assert!(
            stage.kernel > Duration::ZERO && stage.kernel <= stage.wall,
            "{jobs:?}: {stage:?}"
        );
        snapshots.push((jobs, snapshot(&loaded, recorder.0)));
    }
    let (_, serial) = &snapshots[0];
    // What the serial load must have made, before comparing against it.
    assert_eq!(serial.programs[0].name, "mp_tail_0");
    assert_eq!(serial.programs[2].name, "mp_0");
    assert_eq!(serial.programs[25].name, "mp_23");
    assert_eq!(serial.programs[26].prog_type, "ProgramType(socket_filter)");
    assert_eq!(serial.programs[27].prog_type, "ProgramType(sched_cls)");
    assert_eq!(
        serial.programs[2].maps,
        [1, 0],
        "mp_0 uses mp_hits and mp_jumps"
    );
    assert_eq!(
        serial.jump_table,
        [Some(0), Some(1), None, None, None, Some(5), Some(9), None]
    );
    assert_eq!(serial.pins, ["mp_hits", "mp_jumps"]);
    let loaded_events: Vec<&String> = serial
        .events
        .iter()
        .filter(|e| e.starts_with("program "))
        .collect();
    assert_eq!(loaded_events.len(), 28);
    for (index, event) in loaded_events.iter().enumerate() {
        assert!(event.starts_with(&format!("program {index} ")), "{event}");
    }
    for (jobs, snapshot) in &snapshots[1..] {
        assert_eq!(snapshot, serial, "{jobs:?} against one job");
    }
}

#[test]
fn rxdp_load_prints_the_same_with_one_job_and_many() {
    if !require_kernel() {
        return;
    }
    let object = obj("many_progs");
    // The kernel's ids, and the times, are the only things that differ.
    let masked = |text: &str| -> String {
        let mut out = String::new();
        let mut words = text.split_inclusive([' ', ',', ')', '\n']).peekable();
        while let Some(word) = words.next() {
            out.push_str(word);
            if word == "id " || word == "fd " {
                if let Some(value) = words.next() {
                    out.push('N');
                    out.push_str(value.trim_start_matches(|c: char| c.is_ascii_digit()));
                }
            }
        }
        out
    };
    let outputs: Vec<(String, String)> = ["1", "4"]
        .iter()
        .map(|jobs| {
            let run = rxdp_load(&[&object, "--no-pin", "--jobs", jobs]).ok();
            let failed = rxdp_load(&[&obj("many_progs_fail"), "--no-pin", "--jobs", jobs]).failed();
            (masked(&run.stdout), failed.stderr)
        })
        .collect();
    assert!(outputs[0]
        .0
        .contains("prog_fd[27] = mp_tc (sched_cls, id N, section tc)"));
    assert!(
        outputs[0].1.contains("mf_bad"),
        "the error names the refused program: {}",
        outputs[0].1
    );
    assert_eq!(outputs[1], outputs[0], "--jobs 4 against --jobs 1");
}

/// Programs named `mf_*` (many_progs_fail.o's) with an id above `after`:
/// the kernel's own enumeration, limited to programs made after `after`
/// was read — other programs loaded meanwhile by others are not ours.
fn ours_after(after: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let mut id = after;
    while let Ok(Some(next)) = prog_get_next_id(id) {
        id = next;
        // Gone between the two calls: not there any more.
        let Ok(fd) = prog_get_fd_by_id(id) else {
            continue;
        };
        if let Ok(info) = prog_info(fd.as_fd()) {
            if info.name.starts_with("mf_") {
                found.push((id, info.name));
            }
        }
    }
    found
}

/// The highest program id in the kernel now.
fn last_prog_id() -> u32 {
    let mut id = 0;
    while let Ok(Some(next)) = prog_get_next_id(id) {
        id = next;
    }
    id
}

#[test]
fn a_program_refused_in_the_middle_leaves_none_loaded() {
    if !require_kernel() {
        return;
    }
    let options = |jobs| {
        let mut options = LoadOptions::new(obj("many_progs_fail"));
        options.jobs = jobs;
        options
    };
    let serial = load(&options(Jobs::ONE), &mut Recorder::default())
        .expect_err("mf_bad is refused")
        .to_string();
    assert!(serial.contains("prog_fd[8] mf_bad"), "{serial}");

    // While mf_bad is verified (tens of ms), the other jobs load the
    // programs after it; a watcher sees them come and go.
    let mut saw_beyond = false;
    for attempt in 1..=3 {
        let before = last_prog_id();
        let loading = AtomicBool::new(true);
        let (result, seen) = std::thread::scope(|scope| {
            let watcher = scope.spawn(|| {
                let mut seen = BTreeSet::new();
                while loading.load(Ordering::SeqCst) {
                    seen.extend(ours_after(before).into_iter().map(|(_, name)| name));
                }
                seen
            });
            let mut recorder = Recorder::default();
            let result = load(&options(jobs(JOBS)), &mut recorder);
            loading.store(false, Ordering::SeqCst);
            let loaded: Vec<&String> = recorder
                .0
                .iter()
                .filter(|e| e.starts_with("program "))
                .collect();
            // Events for the programs before mf_bad, in order, and no other.
            assert_eq!(loaded.len(), 8, "{loaded:?}");
            for (index, event) in loaded.iter().enumerate() {
                assert!(event.starts_with(&format!("program {index} mf_{index} ")));
            }
            (result, watcher.join().unwrap())
        });
        let error = match result {
            Err(error) => error,
            Ok(_) => panic!("loaded although mf_bad is refused"),
        };
        assert!(
            matches!(error, LoadError::Verifier { index: 8, .. }),
            "{error}"
        );
        assert_eq!(error.to_string(), serial, "the error of a serial load");
        // Closing a program's last fd frees its id at once; a moment's
        // grace for a kernel that defers it.
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut left = ours_after(before);
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            left = ours_after(before);
        }
        assert_eq!(left, [], "attempt {attempt}: programs left in the kernel");
        let beyond: Vec<&String> = seen
            .iter()
            .filter(|name| {
                name.strip_prefix("mf_")
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n > 8)
            })
            .collect();
        println!(
            "attempt {attempt}: the watcher saw {} programs loaded, {} after mf_bad",
            seen.len(),
            beyond.len()
        );
        if !beyond.is_empty() {
            saw_beyond = true;
            break;
        }
    }
    assert!(
        saw_beyond,
        "in 3 loads no program after mf_bad was seen loaded: the jobs did not run at once"
    );
}
