//! Two loaders on one device at once.
//!
//! - Two `rxdp-load --force` (the article, skb mode) started together over
//!   an attached program, 20 times: both exit; exactly one program is
//!   attached at the end, and it is one a loader reported; a loader that
//!   lost the race says so (the program it was replacing "was replaced by
//!   someone else meanwhile": `XDP_FLAGS_REPLACE` with the expected fd got
//!   EEXIST) or succeeded and was replaced afterwards by the other, which
//!   reported replacing it. A thread queries the device as fast as it can
//!   all along: the slot is never seen empty.
//! - Two plain loads started together on an empty device, 20 times: one
//!   wins, the other is refused naming the winner's program.
//! - Either way the pins under `/sys/fs/bpf/IF/skb/` are the maps of the
//!   attached program (their ids are among its `map_ids`), and its jump
//!   table holds the tail program of the same load.
//!
//! - Deterministically: a loader paused between its attach and the
//!   publication of its pins while another `rxdp-load --force` runs; and
//!   two threads of one process loading with `--force` at once. The pins
//!   must still end up those of the program attached. And a program
//!   replaced by another tool between a `--force` load's query and its
//!   attach: the load fails with EEXIST, saying so, and leaves the other
//!   tool's program attached.
//!
//! One test function at a time (a mutex): the rounds are timing-sensitive.

#[path = "load_common.rs"]
mod common;

use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use rxdp::{load, Event, LoadOptions, NoObserver, Observer};
use rxdp_kernel_tests::{bin, require_kernel, VethPair};
use rxdp_syscalls::bpf::{map_info, prog_get_fd_by_id, prog_info};
use rxdp_syscalls::netlink::{self, XdpFlags};

const ROUNDS: usize = 20;
/// Longest a loader may take, racing or not.
const LOADER_LIMIT: Duration = Duration::from_secs(20);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// This test function's turn: the others wait (a failed one does not stop them).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `rxdp-load tail_kern.o --dev DEV --mode skb --map 0 --key 78 --prog 1 [EXTRA]`,
/// started, not waited for.
fn start_article(dev: &str, extra: &[&str]) -> Child {
    Command::new(bin("rxdp-load"))
        .arg(obj("tail_kern"))
        .args(["--dev", dev, "--mode", "skb"])
        .args(ARTICLE_JUMP)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start rxdp-load: {error}"))
}

/// Waits for a loader, killing it (and failing) past the limit.
fn finish(mut child: Child) -> Run {
    let deadline = Instant::now() + LOADER_LIMIT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("rxdp-load did not exit within {LOADER_LIMIT:?}");
            }
            Err(error) => panic!("wait: {error}"),
        }
    }
    child
        .wait_with_output()
        .unwrap_or_else(|error| panic!("output: {error}"))
        .into()
}

/// Runs two loaders started together while a thread queries the device's
/// skb slot without pause; returns both runs and how many queries saw the
/// slot empty (counted only from `watch_from_start`, or else from the
/// first query that saw a program).
fn race(dev: &str, ifindex: u32, extra: &[&str], watch_from_start: bool) -> (Run, Run, usize) {
    let done = AtomicBool::new(false);
    let empty = AtomicUsize::new(0);
    let queries = AtomicUsize::new(0);
    let (first, second) = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut armed = watch_from_start;
            while !done.load(Ordering::Relaxed) {
                let attached = xdp(ifindex).skb_prog_id.is_some();
                armed |= attached;
                if armed && !attached {
                    empty.fetch_add(1, Ordering::Relaxed);
                }
                queries.fetch_add(1, Ordering::Relaxed);
            }
        });
        let children = (start_article(dev, extra), start_article(dev, extra));
        let runs = (finish(children.0), finish(children.1));
        done.store(true, Ordering::Relaxed);
        runs
    });
    assert!(queries.into_inner() > 0, "the watcher never queried");
    (first, second, empty.into_inner())
}

/// `attached prog_fd[0] to DEV (ifindex N) in skb mode, replacing program id M`: M.
fn replaced_id(stdout: &str) -> Option<u32> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("attached prog_fd[0] to "))?;
    let (_, rest) = line.split_once(", replacing program id ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The id of the map pinned at `dir/name`.
fn pinned_map_id(dir: &Path, name: &str, what: &str) -> u32 {
    let map = pinned(&dir.join(name));
    map_info(map.as_fd())
        .unwrap_or_else(|error| panic!("{what}: {name}: {error}"))
        .id
}

/// The maps program `prog_id` uses (`counters`, `jmp_table1`) are the ones
/// pinned in the device's skb slot: never the pins of one load beside the
/// program of another.
fn assert_pins_are_maps_of(dev: &str, prog_id: u32, what: &str) {
    let prog = prog_get_fd_by_id(prog_id).unwrap_or_else(|error| panic!("{what}: {error}"));
    let info = prog_info(prog.as_fd()).unwrap_or_else(|error| panic!("{what}: {error}"));
    let dir = device_pins(dev).join("skb");
    for name in ["counters", "jmp_table1"] {
        let map_id = pinned_map_id(&dir, name, what);
        assert!(
            info.map_ids.contains(&map_id),
            "{what}: the pinned {name} (map id {map_id}) is not a map of the attached program \
             {prog_id} ({:?}): the pins of one load, the program of another",
            info.map_ids
        );
    }
}

/// No other directory (a staging one) is left beside the skb slot's.
fn assert_only_the_slot_is_left(dev: &str, what: &str) {
    assert_eq!(
        entry_names(&device_pins(dev)),
        ["skb"],
        "{what}: left in {}",
        device_pins(dev).display()
    );
}

/// The pins of the skb slot belong to the load that attached program
/// `id`, whose report is `won`: every pinned map is one of its `map_fd[]`,
/// the ones program `id` uses (`counters`, `jmp_table1`) are among the
/// attached program's `map_ids`, and the jump table sends key 78 to the
/// load's `prog_fd[1]`.
fn pins_match(dev: &str, id: u32, won: &Run, what: &str) {
    let dir = device_pins(dev).join("skb");
    let loaded: Vec<u32> = (0..3)
        .map(|index| printed_map_id(&won.stdout, index))
        .collect();
    let entries = entry_names(&dir);
    assert_eq!(
        entries,
        ["counters", "jmp_table1", "jmp_table2"],
        "{what}: in {}",
        dir.display()
    );
    for name in &entries {
        let map_id = pinned_map_id(&dir, name, what);
        assert!(
            loaded.contains(&map_id),
            "{what}: {name} (map id {map_id}) is not a map of the load that attached program \
             {id} ({loaded:?})"
        );
    }
    assert_pins_are_maps_of(dev, id, what);
    let tail_id = printed_prog_id(&won.stdout, 1);
    let table = pinned(&dir.join("jmp_table1"));
    assert_eq!(
        read_u32(&table, 78),
        Some(tail_id),
        "{what}: the jump table is not the attached program's"
    );
    assert_only_the_slot_is_left(dev, what);
}

#[test]
fn two_forced_loads_at_once_end_with_one_program_truthfully_reported() {
    if !require_kernel() {
        return;
    }
    let _turn = one_at_a_time();
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    let original = finish(start_article(dev, &[])).ok();
    let mut current = printed_prog_id(&original.stdout, 0);
    let (mut both_won, mut one_raced) = (0, 0);
    for round in 0..ROUNDS {
        let what = format!("round {round}");
        let (a, b, empty) = race(dev, ifindex, &["--force"], true);
        assert_eq!(empty, 0, "{what}: the slot was seen empty during --force");
        let attached = xdp(ifindex).skb_prog_id;
        let attached = attached.unwrap_or_else(|| panic!("{what}: nothing attached"));
        let winner = match (a.code, b.code) {
            (0, 0) => {
                // Both attached, one after the other: the last replaced the
                // first, and said so; the first replaced the program before.
                both_won += 1;
                let a_id = printed_prog_id(&a.stdout, 0);
                let (last, first) = if attached == a_id { (a, b) } else { (b, a) };
                assert_eq!(
                    replaced_id(&last.stdout),
                    Some(printed_prog_id(&first.stdout, 0)),
                    "{what}: the last loader did not report replacing the first: {last:#?} \
                     {first:#?}"
                );
                assert_eq!(
                    replaced_id(&first.stdout),
                    Some(current),
                    "{what}: {first:#?}"
                );
                last
            }
            (0, 1) | (1, 0) => {
                one_raced += 1;
                let (won, lost) = if a.code == 0 { (a, b) } else { (b, a) };
                assert!(!lost.stderr.contains("panicked"), "{what}: {}", lost.stderr);
                assert!(
                    lost.stderr.contains(&format!(
                        "attach: {dev} in skb mode: program id {current}, which --force was \
                         replacing, was replaced by someone else meanwhile (EEXIST); run again \
                         to replace the new one"
                    )),
                    "{what}: the loser does not say it lost the race: {}",
                    lost.stderr
                );
                assert_eq!(
                    replaced_id(&won.stdout),
                    Some(current),
                    "{what}: {}",
                    won.stdout
                );
                won
            }
            _ => panic!("{what}: {a:#?} {b:#?}"),
        };
        assert_eq!(printed_prog_id(&winner.stdout, 0), attached, "{what}");
        pins_match(dev, attached, &winner, &what);
        current = attached;
    }
    println!("{ROUNDS} rounds: both attached in turn {both_won} times, one lost the race {one_raced} times");
}

#[test]
fn two_plain_loads_at_once_one_wins_the_other_is_refused() {
    if !require_kernel() {
        return;
    }
    let _turn = one_at_a_time();
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    for round in 0..ROUNDS {
        let what = format!("round {round}");
        let (a, b, empty) = race(dev, ifindex, &[], false);
        assert_eq!(
            empty, 0,
            "{what}: the slot was seen empty after the first attach"
        );
        let (won, lost) = match (a.code, b.code) {
            (0, 1) => (a, b),
            (1, 0) => (b, a),
            _ => panic!("{what}: not one winner: {a:#?} {b:#?}"),
        };
        let id = printed_prog_id(&won.stdout, 0);
        assert_eq!(xdp(ifindex).skb_prog_id, Some(id), "{what}");
        assert!(
            lost.stderr.contains(&format!(
                "attach: {dev} already runs XDP program xdp_prog0 (id {id}, tag "
            )),
            "{what}: the refusal does not name the winner's program (id {id}): {}",
            lost.stderr
        );
        assert!(!lost.stderr.contains("panicked"), "{what}: {}", lost.stderr);
        pins_match(dev, id, &won, &what);
        rxdp(&["unload", "--dev", dev]).ok();
    }
}

/// The article with `--force` in skb mode, for loads in this process.
fn forced_article(dev: &str) -> LoadOptions {
    let mut options = article_options(dev);
    if let Some(attach) = &mut options.attach {
        attach.force = true;
    }
    options
}

/// Runs `pause` once, when the load has attached and not yet published its pins.
struct AfterAttach<F: FnMut()>(Option<F>);

impl<F: FnMut()> Observer for AfterAttach<F> {
    fn event(&mut self, event: &Event<'_>) {
        if let (Event::Attached { .. }, Some(pause)) = (event, &mut self.0) {
            pause();
            self.0 = None;
        }
    }
}

/// Something is attached in skb mode, and the slot's pins are its maps.
fn check_consistent(dev: &str, ifindex: u32, what: &str) {
    let attached = xdp(ifindex)
        .skb_prog_id
        .unwrap_or_else(|| panic!("{what}: nothing attached"));
    assert_pins_are_maps_of(dev, attached, what);
}

#[test]
fn a_replace_between_attach_and_publish_does_not_mix_pins() {
    if !require_kernel() {
        return;
    }
    let _turn = one_at_a_time();
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    finish(start_article(dev, &[])).ok();
    // Paused after its attach, this load lets another rxdp-load --force
    // run for a while: that one either waits for this load to publish its
    // pins, or finishes first, replacing the program this load attached.
    let mut other = None;
    let mut observer = AfterAttach(Some(|| {
        let child = start_article(dev, &["--force"]);
        std::thread::sleep(Duration::from_millis(500));
        other = Some(child);
    }));
    let loaded = load(&forced_article(dev), &mut observer)
        .unwrap_or_else(|error| panic!("the paused load: {error}"));
    let ours = loaded.programs[0].id;
    drop(loaded);
    let other = finish(other.unwrap_or_else(|| panic!("the observer never ran")));
    let other = other.ok();
    let theirs = printed_prog_id(&other.stdout, 0);
    // The other load came last: its program is attached, replacing ours.
    assert_eq!(xdp(ifindex).skb_prog_id, Some(theirs));
    assert_eq!(replaced_id(&other.stdout), Some(ours), "{other:#?}");
    check_consistent(dev, ifindex, "after the paused load");
    pins_match(dev, theirs, &other, "after the paused load");
}

#[test]
fn two_threads_loading_at_once_do_not_mix_pins() {
    if !require_kernel() {
        return;
    }
    let _turn = one_at_a_time();
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    let options = forced_article(dev);
    load(&options, &mut NoObserver).unwrap_or_else(|error| panic!("the first load: {error}"));
    for round in 0..ROUNDS {
        let what = format!("round {round}");
        let results: Vec<Result<u32, String>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        load(&options, &mut NoObserver)
                            .map(|loaded| loaded.programs[0].id)
                            .map_err(|error| error.to_string())
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().unwrap_or_else(|_| panic!("a load panicked")))
                .collect()
        });
        let attached = xdp(ifindex).skb_prog_id;
        for result in &results {
            match result {
                Ok(_) => {}
                Err(message) => assert!(
                    message.contains("was replaced by someone else meanwhile (EEXIST)"),
                    "{what}: {message}"
                ),
            }
        }
        let won: Vec<u32> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert!(
            attached.is_some_and(|id| won.contains(&id)),
            "{what}: attached {attached:?}, loads {results:?}"
        );
        check_consistent(dev, ifindex, &what);
        assert_only_the_slot_is_left(dev, &what);
    }
}

/// Runs `intrude` once, just before the load's `RTM_SETLINK`.
struct BeforeAttach<F: FnMut()>(Option<F>);

impl<F: FnMut()> Observer for BeforeAttach<F> {
    fn event(&mut self, event: &Event<'_>) {
        if let (Event::NetlinkRequest { .. }, Some(intrude)) = (event, &mut self.0) {
            intrude();
            self.0 = None;
        }
    }
}

#[test]
fn a_program_replaced_under_a_forced_load_is_reported() {
    if !require_kernel() {
        return;
    }
    let _turn = one_at_a_time();
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    let original = finish(start_article(dev, &[])).ok();
    let original_id = printed_prog_id(&original.stdout, 0);
    // Another tool's program: loaded here, attached without rxdp's lock.
    let mut other = forced_article(dev);
    other.attach = None;
    let other = load(&other, &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
    let other_id = other.programs[0].id;
    let mut observer = BeforeAttach(Some(|| {
        netlink::attach(
            ifindex,
            other.programs[0].fd.as_fd(),
            XdpFlags::SKB_MODE,
            None,
        )
        .unwrap_or_else(|error| panic!("the other tool's attach: {error}"));
    }));
    let error = load(&forced_article(dev), &mut observer)
        .map(|loaded| loaded.programs[0].id)
        .expect_err("the load replaced a program it did not expect");
    let message = error.to_string();
    assert!(
        message.ends_with(&format!(
            "attach: {dev} in skb mode: program id {original_id}, which --force was replacing, \
             was replaced by someone else meanwhile (EEXIST); run again to replace the new one"
        )),
        "{message}"
    );
    assert_eq!(xdp(ifindex).skb_prog_id, Some(other_id), "{message}");
    // The failed load removed what it staged; the pins are the original's.
    let table = pinned(&device_pins(dev).join("skb/jmp_table1"));
    assert_eq!(
        read_u32(&table, 78),
        Some(printed_prog_id(&original.stdout, 1))
    );
    assert_only_the_slot_is_left(dev, "after the failed load");
}
