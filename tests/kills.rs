//! Issue 11's target for crash-consistent publishing: 500 `rxdp-load
//! --force` runs on one device, each killed at a random instant of its run
//! (SIGKILL or SIGTERM, half each), then one `rxdp status` and one `rxdp
//! unload`:
//!
//! - at every instant, the program attached has its jump table reachable
//!   through the pins rxdp recorded for it — in the slot's directory or in
//!   a staging directory whose record names it — with the entry the load
//!   put there (a thread checks without pause: the attached id from
//!   netlink, the records, the pinned prog array's id among the program's
//!   maps, key 78 filled);
//! - afterwards, no staging directory is left, and none of these loads'
//!   programs or maps is left in the kernel.
//!
//! The object is tail_kern.o with its map and program names made unique
//! to this run (same lengths, patched in the string tables), so that the
//! count of what is left is this test's alone, whatever other tests on the
//! machine load meanwhile. bpffs is the test's own (see trust.rs).

#[path = "load_common.rs"]
mod common;

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rxdp_kernel_tests::{bin, require_kernel, VethPair};
use rxdp_syscalls::bpf::{map_info, prog_get_fd_by_id, prog_info};
use rxdp_syscalls::fs::bpffs;

const LOADS: usize = 500;
/// How many loads the kill window is kept before it is adapted.
const ADAPT_EVERY: usize = 25;
/// How long the kernel may take to free what the last loads released.
const FREE_WAIT: Duration = Duration::from_secs(10);
/// How long before the first count (see where it is used).
const SETTLE: Duration = Duration::from_secs(1);

/// A tiny xorshift generator: random enough for kill instants, and the
/// seed is printed so a run can be repeated.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// tail_kern.o with every map and program name replaced by one of the same
/// length unique to this run; returns its path, the names the kernel will
/// show, and the name of the jump table `jmp_table1` became.
fn unique_object(dir: &Path) -> (PathBuf, BTreeSet<String>, String) {
    let tag = format!("{:06x}", (std::process::id() ^ 0x5a5a5a) & 0xff_ffff);
    let renames = [
        ("jmp_table1", format!("jt{tag}_1")),
        ("jmp_table2", format!("jt{tag}_2")),
        ("counters", format!("c_{tag}")),
        ("xdp_prog0", format!("x_{tag}0")),
        ("xdp_prog1", format!("x_{tag}1")),
    ];
    let mut bytes = std::fs::read(obj("tail_kern")).unwrap();
    for (old, new) in &renames {
        assert_eq!(old.len(), new.len());
        let (old, new) = (format!("\0{old}\0"), format!("\0{new}\0"));
        let mut at = 0;
        let mut found = 0;
        while let Some(i) = bytes[at..]
            .windows(old.len())
            .position(|w| w == old.as_bytes())
        {
            let i = at + i;
            bytes[i..i + new.len()].copy_from_slice(new.as_bytes());
            at = i + 1;
            found += 1;
        }
        assert!(found > 0, "{old:?} is not in tail_kern.o");
    }
    let object = rxdp_elf::Object::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let names: BTreeSet<String> = renames.iter().map(|(_, new)| new.clone()).collect();
    assert!(object.maps.iter().all(|m| names.contains(&m.name)));
    let path = dir.join("kills.o");
    std::fs::write(&path, &bytes).unwrap();
    (path, names, renames[0].1.clone())
}

/// The pin directories of `device` (slot and staging) whose record names
/// program `prog`.
fn dirs_recording(device: &Path, prog: u32) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(device) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|dir| {
            std::fs::read_link(dir.join(rxdp::record::RECORD))
                .ok()
                .and_then(|t| rxdp::record::Record::parse(&t.to_string_lossy()))
                .is_some_and(|r| matches!(r, rxdp::record::Record::Pins(p) if p.prog == Some(prog)))
        })
        .collect()
}

/// Whether program `prog`'s jump table (pinned as `table`) is reachable
/// through the pins its record names: the prog array pinned there is one
/// of its maps, with key 78 filled.
fn reachable(device: &Path, prog: u32, table: &str) -> bool {
    let Ok(fd) = prog_get_fd_by_id(prog) else {
        return false;
    };
    let Ok(info) = prog_info(fd.as_fd()) else {
        return false;
    };
    dirs_recording(device, prog).iter().any(|dir| {
        let Ok(table) = bpffs::get(&dir.join(table)) else {
            return false;
        };
        map_info(table.as_fd()).is_ok_and(|m| info.map_ids.contains(&m.id))
            && read_u32(&table, 78).is_some()
    })
}

/// How many maps named in `names` are prog arrays that nothing a user can
/// see holds: no pin of this bpffs, no fd of any process, no program.
/// Panics if a map of those names has a holder.
fn held_by_nothing(names: &BTreeSet<String>) -> usize {
    let ours: Vec<u32> = all_ids(rxdp_syscalls::bpf::map_get_next_id)
        .into_iter()
        .filter(|&id| map_name_of(id).is_some_and(|name| names.contains(&name)))
        .collect();
    if ours.is_empty() {
        return 0;
    }
    let mut holders = Vec::new();
    let pins = Command::new("find")
        .args([bpffs::DEFAULT_MOUNT, "-type", "f"])
        .output()
        .unwrap();
    for pin in String::from_utf8_lossy(&pins.stdout).lines() {
        if let Some(id) = bpffs::get(Path::new(pin))
            .ok()
            .and_then(|fd| map_info(fd.as_fd()).ok())
            .map(|info| info.id)
            .filter(|id| ours.contains(id))
        {
            holders.push(format!("map {id} pinned at {pin}"));
        }
    }
    for prog in all_ids(rxdp_syscalls::bpf::prog_get_next_id) {
        let Some(info) = prog_get_fd_by_id(prog)
            .ok()
            .and_then(|fd| prog_info(fd.as_fd()).ok())
        else {
            continue;
        };
        for id in info.map_ids.iter().filter(|id| ours.contains(id)) {
            holders.push(format!("map {id} used by program {prog}"));
        }
    }
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let fdinfo = entry.path().join("fdinfo");
        for fd in std::fs::read_dir(&fdinfo).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(fd.path()).unwrap_or_default();
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("map_id:"))
                .and_then(|v| v.trim().parse::<u32>().ok());
            if let Some(id) = id.filter(|id| ours.contains(id)) {
                holders.push(format!("map {id} open as {}", fd.path().display()));
            }
        }
    }
    assert!(
        holders.is_empty(),
        "maps of these loads are held: {holders:?}"
    );
    for &id in &ours {
        let info = rxdp_syscalls::bpf::map_get_fd_by_id(id)
            .ok()
            .and_then(|fd| map_info(fd.as_fd()).ok());
        assert!(
            info.is_none_or(|info| info.map_type == 3),
            "map {id}, left and held by nothing, is not a prog array"
        );
    }
    ours.len()
}

/// What the watcher saw.
#[derive(Debug, Default)]
struct Watch {
    polls: usize,
    /// Polls that found the attached program's jump table through its pins.
    reached: usize,
    /// Polls during which another program was attached before the check
    /// could conclude (it is made again at once).
    moved: usize,
    /// Polls where the program attached stayed the same and its jump
    /// table could not be reached through its pins, however often
    /// looked for: with details.
    violations: Vec<String>,
}

fn watch(ifindex: u32, device: &Path, table: &str, done: &AtomicBool) -> Watch {
    let mut watch = Watch::default();
    while !done.load(Ordering::Relaxed) {
        watch.polls += 1;
        let Some(first) = xdp(ifindex).skb_prog_id else {
            watch.violations.push("nothing attached".into());
            continue;
        };
        // Renames under way may hide the directory for an instant: look
        // again while the same program stays attached.
        let mut attempts = 0;
        loop {
            if reachable(device, first, table) {
                watch.reached += 1;
                break;
            }
            if xdp(ifindex).skb_prog_id != Some(first) {
                watch.moved += 1;
                break;
            }
            attempts += 1;
            if attempts == 50 {
                let detail: Vec<String> = dirs_recording(device, first)
                    .iter()
                    .map(|dir| {
                        let pinned = bpffs::get(&dir.join(table)).ok();
                        let id = pinned
                            .as_ref()
                            .and_then(|t| map_info(t.as_fd()).ok())
                            .map(|m| m.id);
                        let entry = pinned.as_ref().map(|t| read_u32(t, 78));
                        format!(
                            "{}: {table} id {id:?}, [78] = {entry:?}, holds {:?}",
                            dir.display(),
                            entry_names(dir)
                        )
                    })
                    .collect();
                let maps = prog_get_fd_by_id(first)
                    .ok()
                    .and_then(|fd| prog_info(fd.as_fd()).ok())
                    .map(|info| info.map_ids);
                watch.violations.push(format!(
                    "program {first} (maps {maps:?}) attached, its jump table not reachable \
                     through its pins: {detail:?}"
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    watch
}

/// How each of the loads ended.
#[derive(Debug, Default)]
struct Outcomes {
    completed: usize,
    rolled_back: usize,
    killed: usize,
    /// Staging directories of dead loaders the next loads resolved.
    published: usize,
    removed: usize,
}

#[test]
fn five_hundred_loads_killed_at_random_instants_leave_old_or_new_and_nothing_behind() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name().to_string();
    let ifindex = pair.root_ifindex();
    let scratch = std::env::temp_dir().join(rxdp_kernel_tests::unique_name("rxdp-kills-"));
    std::fs::create_dir(&scratch).unwrap();
    let (object, names, table) = unique_object(&scratch);
    let object = object.display().to_string();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    println!("seed {seed}, names {names:?}");

    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                mount_private_bpffs("mode=1777");
                let args = with_article_jump(&[&object, "--dev", &dev, "--mode", "skb", "--force"]);
                let device = device_pins(&dev);
                // How long a load takes here, uninterrupted.
                let mut took: Vec<Duration> = (0..5)
                    .map(|_| {
                        let start = Instant::now();
                        rxdp_load(&args).ok();
                        start.elapsed()
                    })
                    .collect();
                took.sort();
                let mut span = took[2] * 13 / 10;
                println!("an uninterrupted load takes {:?}; kills within {span:?} at first", took[2]);

                let done = AtomicBool::new(false);
                let outcomes = Mutex::new(Outcomes::default());
                let signals = [AtomicUsize::new(0), AtomicUsize::new(0)];
                let started = Instant::now();
                let watched = std::thread::scope(|inner| {
                    let watcher = inner.spawn(|| watch(ifindex, &device, &table, &done));
                    let mut random = Random(seed);
                    // The window is measured before the watcher runs; with it
                    // polling (and on a slow guest: TCG, 2 vCPUs) a load takes
                    // longer. The window follows what the kills hit: it widens
                    // while none of the last loads completed and narrows while
                    // none was killed, so every outcome keeps being reached.
                    let mut recent = Outcomes::default();
                    for load in 0..LOADS {
                        if load % ADAPT_EVERY == 0 && load > 0 {
                            if recent.completed == 0 {
                                span = span * 3 / 2;
                            } else if recent.killed + recent.rolled_back == 0 {
                                span = span * 2 / 3;
                            }
                            recent = Outcomes::default();
                        }
                        let child = Command::new(bin("rxdp-load"))
                            .args(&args)
                            .stdout(Stdio::piped())
                            .stderr(Stdio::piped())
                            .spawn()
                            .unwrap();
                        let delay = Duration::from_micros(random.below(span.as_micros() as u64));
                        std::thread::sleep(delay);
                        let (signal, count) = if random.below(2) == 0 {
                            (Signal::SIGKILL, &signals[0])
                        } else {
                            (Signal::SIGTERM, &signals[1])
                        };
                        count.fetch_add(1, Ordering::Relaxed);
                        let _ = kill(Pid::from_raw(child.id() as i32), signal);
                        let run: Run = child.wait_with_output().unwrap().into();
                        let mut outcomes = outcomes.lock().unwrap();
                        match run.code {
                            0 => recent.completed += 1,
                            1 => recent.rolled_back += 1,
                            _ => recent.killed += 1,
                        }
                        match run.code {
                            0 => outcomes.completed += 1,
                            1 => {
                                assert!(
                                    run.stderr.contains("interrupted by SIGTERM; everything the load had made was undone"),
                                    "a load failed for another reason: {run:#?}"
                                );
                                assert!(!run.stderr.contains("left behind"), "{run:#?}");
                                outcomes.rolled_back += 1;
                            }
                            _ => outcomes.killed += 1,
                        }
                        for line in run.stdout.lines().filter(|l| l.starts_with("recovered ")) {
                            if line.ends_with(": removed") {
                                outcomes.removed += 1;
                            } else {
                                outcomes.published += 1;
                            }
                        }
                    }
                    done.store(true, Ordering::Relaxed);
                    watcher.join().unwrap()
                });
                let elapsed = started.elapsed();

                // One status and one unload clean up what the last loads left.
                let status = rxdp(&["status", "--dev", &dev]).ok();
                let unload = rxdp(&["unload", "--dev", &dev]).ok();
                let staging: Vec<String> = std::fs::read_dir(&device)
                    .map(|e| {
                        e.flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .filter(|n| n.contains("staging-"))
                            .collect()
                    })
                    .unwrap_or_default();
                // Counting opens every map by id, which gives a map whose
                // last user reference just went a new one for a moment: a
                // prog array's deferred clear (prog_array_map_clear) then
                // runs twice and the kernel keeps the map for ever. The
                // first count waits for those clears to have run.
                let freed_in = Instant::now();
                std::thread::sleep(SETTLE);
                let mut left = count_named(&names);
                while left != (0, 0) && freed_in.elapsed() < FREE_WAIT {
                    std::thread::sleep(Duration::from_millis(100));
                    left = count_named(&names);
                }
                // Any process on the machine that opens maps by id while
                // these loads end theirs can trigger that race: what it
                // leaves is a prog array nothing holds — no pin, no fd, no
                // program. Those are the kernel's; anything else is ours.
                let kept_by_kernel = held_by_nothing(&names);
                let left = (left.0, left.1.saturating_sub(kept_by_kernel));
                let outcomes = outcomes.into_inner().unwrap();
                println!(
                    "{LOADS} loads in {elapsed:?} (kill window at the end {span:?}): {} SIGKILL, {} SIGTERM; {} completed, {} rolled \
                     back on SIGTERM, {} died; {} staging directories of dead loaders published and \
                     {} removed by the next load; the watcher made {} polls: {} found the attached \
                     program's jump table through its pins, {} saw it replaced meanwhile, {} \
                     violations; after one status and one unload: {} staging directories, {} \
                     programs and {} maps of these loads in the kernel (after {:?}), and {} prog \
                     arrays nothing holds (the kernel's clear race)",
                    signals[0].load(Ordering::Relaxed),
                    signals[1].load(Ordering::Relaxed),
                    outcomes.completed,
                    outcomes.rolled_back,
                    outcomes.killed,
                    outcomes.published,
                    outcomes.removed,
                    watched.polls,
                    watched.reached,
                    watched.moved,
                    watched.violations.len(),
                    staging.len(),
                    left.0,
                    left.1,
                    freed_in.elapsed(),
                    kept_by_kernel,
                );
                println!("status:\n{}unload:\n{}", status.stdout, unload.stdout);
                assert!(
                    watched.violations.is_empty(),
                    "{:#?}",
                    &watched.violations[..watched.violations.len().min(10)]
                );
                assert!(
                    watched.reached > LOADS,
                    "the watcher hardly concluded: {} of {} polls",
                    watched.reached,
                    watched.polls
                );
                assert!(staging.is_empty(), "{staging:?}");
                assert!(!device.exists(), "unload left {}", device.display());
                assert_eq!(left, (0, 0), "programs and maps of these loads left in the kernel");
                assert!(
                    outcomes.killed > 0 && outcomes.rolled_back > 0 && outcomes.completed > 0,
                    "the kills did not spread over the load: {outcomes:?}"
                );
                assert_eq!(xdp(ifindex).skb_prog_id, None);
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
    std::fs::remove_dir_all(&scratch).unwrap();
}
