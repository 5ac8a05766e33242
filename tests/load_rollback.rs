//! Full rollback: a load that fails at any syscall leaves nothing behind —
//! no fd open in the process, no pin, nothing attached — and says at which
//! stage it stopped; a failed `--force` replace leaves the original program
//! attached with its pins; a failed unload says truthfully what it did.
//!
//! In-process, through the syscall seam: syscall N of a full load fails
//! with ENOMEM, EPERM, EINVAL and EBUSY in turn, for N = 1, 2, ... until a
//! load succeeds with no fault injected, for each scenario:
//!
//! - the article: tail_kern.o, an explicit jump entry, attached in skb mode;
//! - the tutorial: xdp_prog_kern.o, the implied `prog/0` entry, drv mode;
//! - btf_maps.o: BTF maps, `__array` initialisers, the pin by name
//!   `/sys/fs/bpf/pinned_counter` — removed by the rollback when this load
//!   created it, kept when it was there before;
//! - iproute2_maps.o: shared pins under `/sys/fs/bpf/tc/`;
//! - a `--force` replace of the article by the tutorial: after a failure
//!   the article is still attached, its pins and jump table intact.
//!
//! After each failure the fds of the process, a full listing of
//! `/sys/fs/bpf` (paths and the id of every pinned object) and the
//! device's XDP slots are what they were before. Then syscall N of
//! `unload` fails, and the error must say what was and was not undone.
//!
//! The test thread runs in a mount namespace of its own with a fresh bpffs
//! at `/sys/fs/bpf`: the listing then holds exactly what these loads made,
//! whatever other programs on the machine pin meanwhile, and whatever a
//! failing run leaves goes with the namespace. One test function only:
//! `/proc/self/fd` must not see other tests' fds.

#[path = "load_common.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use common::*;
use rxdp::unload::UnloadError;
use rxdp::{
    load, unload, AttachOptions, Jobs, LoadError, LoadOptions, Loaded, Mode, NoObserver, Ref, Stage,
};
use rxdp_kernel_tests::{require_kernel, VethPair};
use rxdp_syscalls::bpf::{map_info, prog_info};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink::XdpState;
use rxdp_syscalls::seam;

const ERRNOS: [i32; 4] = [libc::ENOMEM, libc::EPERM, libc::EINVAL, libc::EBUSY];
/// No load of these objects makes this many syscalls.
const MAX_SYSCALLS: u64 = 400;
const BY_NAME: &str = "/sys/fs/bpf/pinned_counter";

/// Every fd of this process and what it refers to.
fn open_fds() -> BTreeSet<(String, PathBuf)> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap_or_else(|error| panic!("/proc/self/fd: {error}"))
        .flatten()
        .map(|entry| {
            let target = std::fs::read_link(entry.path()).unwrap_or_default();
            (entry.file_name().to_string_lossy().into_owned(), target)
        })
        // The directory being read is itself an fd, a different one each time.
        .filter(|(_, target)| !target.starts_with("/proc"))
        .collect()
}

/// Everything under `/sys/fs/bpf`: each path, and for a pin the kernel id
/// of the map or program it holds (`None` for directories).
type Listing = BTreeMap<PathBuf, Option<u32>>;

fn bpffs_listing() -> Listing {
    let mut listing = Listing::new();
    let mut dirs = vec![PathBuf::from(bpffs::DEFAULT_MOUNT)];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(path.clone());
                listing.insert(path, None);
            } else {
                let id = bpffs::get(&path).ok().and_then(|fd| {
                    map_info(fd.as_fd())
                        .map(|info| info.id)
                        .or_else(|_| prog_info(fd.as_fd()).map(|info| info.id))
                        .ok()
                });
                listing.insert(path, id);
            }
        }
    }
    listing
}

/// Moves this thread into a mount namespace of its own (unshare(2) of
/// `CLONE_NEWNS` acts on the calling thread) where `/sys/fs/bpf` is a new,
/// empty bpffs. Threads and processes started from this thread share it.
fn private_bpffs() {
    mount_private_bpffs("mode=0700");
    // A new bpffs holds only the kernel's own iterators (maps.debug,
    // progs.debug): no directory, no pin.
    let listing = bpffs_listing();
    assert!(
        listing
            .iter()
            .all(|(path, id)| id.is_none() && !path.is_dir()),
        "the new bpffs is not new: {listing:?}"
    );
}

/// What changed between two listings, for failure messages.
fn difference(before: &Listing, after: &Listing) -> String {
    let gone = before
        .iter()
        .filter(|(path, id)| after.get(*path) != Some(id))
        .map(|(path, id)| format!("- {} {id:?}", path.display()));
    let new = after
        .iter()
        .filter(|(path, id)| before.get(*path) != Some(id))
        .map(|(path, id)| format!("+ {} {id:?}", path.display()));
    gone.chain(new).collect::<Vec<_>>().join("\n")
}

/// The three XDP slots of a device.
fn slots(state: &XdpState) -> [Option<u32>; 3] {
    [state.skb_prog_id, state.drv_prog_id, state.hw_prog_id]
}

/// What a device and bpffs look like, and what must hold of them after a
/// failed load.
struct Baseline {
    fds: BTreeSet<(String, PathBuf)>,
    listing: Listing,
    slots: [Option<u32>; 3],
}

impl Baseline {
    fn take(ifindex: u32) -> Baseline {
        Baseline {
            fds: open_fds(),
            listing: bpffs_listing(),
            slots: slots(&xdp(ifindex)),
        }
    }

    /// Panics with `what` unless nothing differs from the baseline.
    fn check(&self, ifindex: u32, what: &str) {
        assert_eq!(open_fds(), self.fds, "{what}: fds left open");
        let listing = bpffs_listing();
        assert!(
            listing == self.listing,
            "{what}: /sys/fs/bpf changed:\n{}",
            difference(&self.listing, &listing)
        );
        assert_eq!(
            slots(&xdp(ifindex)),
            self.slots,
            "{what}: the XDP slots (skb, drv, hw) changed"
        );
    }
}

/// Shared pins a test makes: removed with the directories above them that
/// are empty (up to bpffs' root) by [`SharedPins::remove`] and when
/// dropped, also on panic.
struct SharedPins(Vec<PathBuf>);

impl SharedPins {
    fn remove(&self) {
        let root = Path::new(bpffs::DEFAULT_MOUNT);
        for path in &self.0 {
            let _ = bpffs::unpin(path);
            for dir in path.ancestors().skip(1).take_while(|dir| *dir != root) {
                if bpffs::unpin(dir).is_err() {
                    break;
                }
            }
        }
    }
}

impl Drop for SharedPins {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The shared pins of iproute2_maps.o: `tc/globals/glob_counter` and
/// `tc/<sha1 of the file>/obj_counter`.
fn iproute2_shared_pins() -> Vec<PathBuf> {
    let line = rxdp_kernel_tests::run("sha1sum", &[&obj("iproute2_maps")]);
    let sha1 = line.split_whitespace().next().unwrap_or_default();
    assert_eq!(sha1.len(), 40, "{line}");
    vec![
        PathBuf::from("/sys/fs/bpf/tc/globals/glob_counter"),
        Path::new("/sys/fs/bpf/tc").join(sha1).join("obj_counter"),
    ]
}

fn attach(dev: &str, mode: Mode) -> Option<AttachOptions> {
    Some(AttachOptions::new(dev).with_mode(mode))
}

/// The tutorial: `rxdp-load xdp_prog_kern.o --dev DEV --mode drv`.
fn tutorial(dev: &str) -> LoadOptions {
    let mut options = LoadOptions::new(obj("xdp_prog_kern"));
    options.attach = attach(dev, Mode::Drv);
    options
}

/// `rxdp-load btf_maps.o --dev DEV --mode skb --entry xdp_btf_entry`.
fn btf_maps(dev: &str) -> LoadOptions {
    let mut options = LoadOptions::new(obj("btf_maps"));
    options.attach = attach(dev, Mode::Skb);
    if let Some(attach) = &mut options.attach {
        attach.entry = Some(Ref::Name("xdp_btf_entry".into()));
    }
    options
}

/// `rxdp-load iproute2_maps.o --dev DEV --mode skb`.
fn iproute2_maps(dev: &str) -> LoadOptions {
    let mut options = LoadOptions::new(obj("iproute2_maps"));
    options.attach = attach(dev, Mode::Skb);
    options
}

/// The same load, one program at a time on this thread: the fault plan
/// counts the syscalls of the thread that sets it, and the program-load
/// stage's worker threads have plans of their own (`load_parallel.rs`
/// fails a program under several jobs).
fn serial(options: &LoadOptions) -> LoadOptions {
    let mut options = options.clone();
    options.jobs = Jobs::ONE;
    options
}

/// What one scenario's failures covered.
#[derive(Debug, Default)]
struct Coverage {
    stages: BTreeSet<Stage>,
    failures: usize,
}

/// Fails syscall 1, 2, ... of `options`' load with `errno` until a load
/// succeeds untouched, checking after each failure that `baseline` holds.
/// `on_success_with_fault` handles a load that succeeded although its
/// fault fired (it may, when only the removal of old pins failed): it gets
/// the result and returns the new baseline. Returns what failed where and
/// the final, successful load.
fn fail_each_syscall(
    scenario: &str,
    options: &LoadOptions,
    errno: i32,
    ifindex: u32,
    mut baseline: Baseline,
    mut on_success_with_fault: impl FnMut(Loaded, u64) -> Baseline,
) -> (Coverage, Loaded) {
    let mut coverage = Coverage::default();
    let name = rxdp_syscalls::errno_name(errno);
    let options = &serial(options);
    for nth in 1..MAX_SYSCALLS {
        seam::fail_nth(nth, errno);
        let result = load(options, &mut NoObserver);
        let fired = seam::syscall_count() >= nth;
        seam::clear_fault();
        let what = format!("{scenario}, {name} at syscall {nth}");
        match result {
            Err(error) => {
                let message = error.to_string();
                assert!(fired, "{what}: failed without a fault: {message}");
                assert!(
                    !matches!(error, LoadError::Rollback { .. }),
                    "{what}: the rollback failed: {message}"
                );
                let stage = error.stage();
                assert!(
                    message.contains(&format!(": {}: ", stage.name())),
                    "{what}: the error does not name its stage: {message}"
                );
                assert!(
                    message.contains(&name),
                    "{what}: the error does not name the errno: {message}"
                );
                coverage.stages.insert(stage);
                coverage.failures += 1;
                baseline.check(ifindex, &format!("{what} ({message})"));
            }
            Ok(loaded) if fired => baseline = on_success_with_fault(loaded, nth),
            Ok(loaded) => return (coverage, loaded),
        }
    }
    panic!("{scenario}: the load never succeeded within {MAX_SYSCALLS} syscalls");
}

/// A scenario whose load starts from an empty device: every failure must
/// leave everything as it was, and a success must not have swallowed a
/// fault.
fn from_scratch(
    scenario: &str,
    options: &LoadOptions,
    pair: &VethPair,
    expected: &[Stage],
    after_success: impl Fn(&Loaded),
) {
    let ifindex = pair.root_ifindex();
    let dev = pair.root_name();
    for errno in ERRNOS {
        let baseline = Baseline::take(ifindex);
        assert_eq!(baseline.slots, [None; 3], "{scenario}: {dev} is not empty");
        let (coverage, loaded) = fail_each_syscall(
            scenario,
            options,
            errno,
            ifindex,
            baseline,
            |loaded, nth| panic!("{scenario}: the fault at syscall {nth} was ignored: {loaded:#?}"),
        );
        assert!(loaded.attach.is_some() && loaded.pin_dir.is_some());
        after_success(&loaded);
        drop(loaded);
        unload(dev, None).unwrap_or_else(|error| panic!("unload: {error}"));
        for stage in expected {
            assert!(
                coverage.stages.contains(stage),
                "{scenario}, {errno}: no failure in stage {stage}: {coverage:?}"
            );
        }
        println!(
            "{scenario}, {}: {} failures, stages {:?}",
            rxdp_syscalls::errno_name(errno),
            coverage.failures,
            coverage.stages
        );
    }
}

/// Every stage makes syscalls in these loads (open reads with std,
/// relocate makes none for these objects).
const ALL_STAGES: [Stage; 8] = [
    Stage::Resolve,
    Stage::LoadBtf,
    Stage::CreateMaps,
    Stage::LoadPrograms,
    Stage::FillJumpTables,
    Stage::Pin,
    Stage::Attach,
    Stage::PublishPins,
];

/// The article attached in skb mode, as the original a `--force` replace
/// must not lose: its program id, and the ids of its jump table and of the
/// program at key 78.
struct Original {
    prog_id: u32,
    table_id: u32,
    tail_id: u32,
}

fn load_original(dev: &str, ifindex: u32, link: bool) -> Original {
    let loaded = load(&linked(article_options(dev), link), &mut NoObserver)
        .unwrap_or_else(|error| panic!("the original load: {error}"));
    let original = Original {
        prog_id: loaded.programs[0].id,
        table_id: loaded.maps[0].id,
        tail_id: loaded.programs[1].id,
    };
    assert_eq!(xdp(ifindex).skb_prog_id, Some(original.prog_id));
    original
}

impl Original {
    /// Still attached, and its pinned jump table still sends key 78 to its
    /// second program.
    fn check(&self, dev: &str, ifindex: u32, what: &str) {
        assert_eq!(
            xdp(ifindex).skb_prog_id,
            Some(self.prog_id),
            "{what}: the original program is not attached"
        );
        let table = pinned(&device_pins(dev).join("skb/jmp_table1"));
        let info = map_info(table.as_fd()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            info.id, self.table_id,
            "{what}: another jmp_table1 is pinned"
        );
        assert_eq!(
            read_u32(&table, 78),
            Some(self.tail_id),
            "{what}: the original jump table lost its entry"
        );
    }
}

/// `options` attaching through a BPF link when `link` (`--link`).
fn linked(mut options: LoadOptions, link: bool) -> LoadOptions {
    if let Some(attach) = &mut options.attach {
        attach.link = link;
    }
    options
}

/// `--force` of the tutorial (skb mode) over the article: a failure leaves
/// the article attached with its pins. A fault in removing the replaced
/// pins, after the swap, cannot undo the load: it succeeds with a warning
/// naming what was left, which this test then removes before going on.
/// With `link`, both attach through a BPF link (`--link`): the replace is
/// a `BPF_LINK_UPDATE`, and a failure gives the link its program back
/// (the listing's pins, the link's among them, are checked by id).
fn forced_replace(pair: &VethPair, link: bool) {
    let ifindex = pair.root_ifindex();
    let dev = pair.root_name();
    let mut options = linked(tutorial(dev), link);
    if let Some(attach) = &mut options.attach {
        attach.mode = Mode::Skb;
        attach.force = true;
    }
    let scenario = if link {
        "--link --force replace"
    } else {
        "--force replace"
    };
    for errno in ERRNOS {
        let original = std::cell::RefCell::new(load_original(dev, ifindex, link));
        let mut warned = 0;
        let (coverage, loaded) = fail_each_syscall(
            scenario,
            &options,
            errno,
            ifindex,
            Baseline::take(ifindex),
            |loaded, nth| {
                assert_eq!(
                    loaded.attach.as_ref().and_then(|a| a.replaced),
                    Some(original.borrow().prog_id)
                );
                let warning = loaded.warnings.join("\n");
                // A fault while looking for the replaced program's pins of
                // the old layout (there are none) is said, and is all.
                if warning.starts_with("the pins of the replaced program (id ")
                    && warning.contains("in the old layout")
                    && loaded.warnings.len() == 1
                {
                    drop(loaded);
                    warned += 1;
                    unload(dev, None).unwrap_or_else(|error| panic!("unload: {error}"));
                    *original.borrow_mut() = load_original(dev, ifindex, link);
                    return Baseline::take(ifindex);
                }
                let staging = warning
                    .strip_prefix("the previous pins, moved to ")
                    .and_then(|rest| rest.split_once(", could not be removed: "))
                    .map(|(path, _)| PathBuf::from(path))
                    .unwrap_or_else(|| {
                        panic!("syscall {nth}: a fault was swallowed without a word: {warning:?}")
                    });
                let ours = format!("staging-{}-", std::process::id());
                assert!(
                    staging.parent() == Some(device_pins(dev).as_path())
                        && staging
                            .file_name()
                            .is_some_and(|name| name.to_string_lossy().starts_with(&ours)),
                    "syscall {nth}: {warning}"
                );
                drop(loaded);
                warned += 1;
                // What the warning said is left, is; then start over.
                assert!(staging.exists(), "syscall {nth}: {warning}");
                bpffs::remove_dir_all(&staging).unwrap_or_else(|error| panic!("{error}"));
                unload(dev, None).unwrap_or_else(|error| panic!("unload: {error}"));
                *original.borrow_mut() = load_original(dev, ifindex, link);
                Baseline::take(ifindex)
            },
        );
        let original = original.into_inner();
        // After every failure the checks above found the original's pins
        // unchanged; here also its jump table's content.
        assert_eq!(
            loaded.attach.as_ref().and_then(|a| a.replaced),
            Some(original.prog_id)
        );
        drop(loaded);
        assert!(warned > 0, "no fault hit the removal of the replaced pins");
        for stage in ALL_STAGES {
            assert!(
                coverage.stages.contains(&stage),
                "--force, {errno}: no failure in stage {stage}: {coverage:?}"
            );
        }
        unload(dev, None).unwrap_or_else(|error| panic!("unload: {error}"));
        println!(
            "{scenario}, {}: {} failures, {warned} warnings, stages {:?}",
            rxdp_syscalls::errno_name(errno),
            coverage.failures,
            coverage.stages
        );
    }
    // Each failure was checked against the baseline; the original's jump
    // table is checked once more on a failure at the attach itself.
    let original = load_original(dev, ifindex, link);
    let before = Baseline::take(ifindex);
    let options = serial(&options);
    let attach_nth = (1..MAX_SYSCALLS)
        .find(|&nth| {
            seam::fail_nth(nth, libc::EBUSY);
            let result = load(&options, &mut NoObserver);
            seam::clear_fault();
            matches!(&result, Err(error) if error.stage() == Stage::Attach)
        })
        .unwrap_or_else(|| panic!("no failure at the attach"));
    before.check(ifindex, &format!("EBUSY at syscall {attach_nth}"));
    original.check(dev, ifindex, "after a failed --force");
    unload(dev, None).unwrap_or_else(|error| panic!("unload: {error}"));
}

/// Syscall N of `rxdp unload` fails: the error must say what was done, and
/// the device must be as it says.
fn failing_unload(pair: &VethPair) {
    let ifindex = pair.root_ifindex();
    let dev = pair.root_name();
    let dir = device_pins(dev);
    for errno in ERRNOS {
        let name = rxdp_syscalls::errno_name(errno);
        let mut failures = 0;
        for nth in 1..MAX_SYSCALLS {
            let loaded = load(&article_options(dev), &mut NoObserver)
                .unwrap_or_else(|error| panic!("load: {error}"));
            let id = loaded.programs[0].id;
            drop(loaded);
            seam::fail_nth(nth, errno);
            let result = unload(dev, None);
            seam::clear_fault();
            let what = format!("unload, {name} at syscall {nth}");
            let error = match result {
                Ok(done) => {
                    assert_eq!(done.detached, [(Mode::Skb, id)], "{what}");
                    assert_eq!(done.removed, [dir.join("skb"), dir.clone()], "{what}");
                    assert!(failures > 0, "{what}: no syscall of unload failed");
                    break;
                }
                Err(error) => error,
            };
            failures += 1;
            let message = error.to_string();
            assert!(message.contains(&name), "{what}: {message}");
            let attached = xdp(ifindex).skb_prog_id;
            let unchanged = |message: &str| {
                assert!(message.contains("nothing was changed"), "{what}: {message}");
                assert_eq!(attached, Some(id), "{what}: {message}");
                assert!(dir.join("skb/jmp_table1").exists(), "{what}: {message}");
            };
            match &error {
                UnloadError::Device { .. }
                | UnloadError::Lock { .. }
                | UnloadError::Nothing { .. } => {
                    assert!(
                        message.ends_with("; nothing was changed"),
                        "{what}: {message}"
                    );
                    unchanged(&message);
                }
                UnloadError::Detach { done, .. } => {
                    assert!(done.detached.is_empty() && done.removed.is_empty());
                    assert!(
                        message.contains(&format!(
                            "nothing was changed; program id {id} is still attached and no \
                             pins were removed"
                        )),
                        "{what}: {message}"
                    );
                    unchanged(&message);
                }
                // Everything is opened before anything changes: a failure
                // there changed nothing.
                UnloadError::Bpffs { done, .. } | UnloadError::Pins { done, .. }
                    if done.detached.is_empty() =>
                {
                    assert!(done.removed.is_empty(), "{what}: {message}");
                    unchanged(&message);
                }
                UnloadError::Bpffs { .. } => panic!("{what}: bpffs looked up after a change"),
                UnloadError::Pins { done, .. } => {
                    assert_eq!(done.detached, [(Mode::Skb, id)], "{what}");
                    assert!(
                        message.contains(&format!(
                            "done before the failure: detached the skb program (id {id})"
                        )),
                        "{what}: {message}"
                    );
                    assert_eq!(attached, None, "{what}: said detached, is attached");
                    for removed in &done.removed {
                        assert!(
                            !removed.exists(),
                            "{what}: said removed: {}",
                            removed.display()
                        );
                        assert!(message.contains(&format!("removed {}", removed.display())));
                    }
                    assert!(
                        dir.exists(),
                        "{what}: failed, yet nothing is left: {message}"
                    );
                }
                other => panic!("{what}: an unload error this test does not know: {other}"),
            }
            // Clean up for the next round: what is left goes now.
            unload(dev, None).unwrap_or_else(|error| panic!("{what}: unload again: {error}"));
            assert!(
                !dir.exists(),
                "{what}: the second unload left {}",
                dir.display()
            );
        }
        println!("unload, {name}: {failures} failures");
    }
}

#[test]
fn a_failure_at_any_syscall_leaves_nothing_behind() {
    if !require_kernel() {
        return;
    }
    private_bpffs();
    let pair = VethPair::new();
    let dev = pair.root_name().to_string();
    let _pins = RemovePins(device_pins(&dev));
    let started = std::time::Instant::now();
    // rxdp's own directory, /sys/fs/bpf/rxdp, stays once made (another
    // device's load may be using it): made here, before any baseline.
    load(&article_options(&dev), &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
    unload(&dev, None).unwrap_or_else(|error| panic!("unload: {error}"));

    from_scratch(
        "article",
        &article_options(&dev),
        &pair,
        &ALL_STAGES,
        |_| {},
    );
    from_scratch("tutorial", &tutorial(&dev), &pair, &ALL_STAGES, |loaded| {
        assert_eq!(loaded.attach.as_ref().map(|a| a.mode), Some(Mode::Drv));
    });

    // btf_maps.o creating the pin by name: gone again after each failure.
    let by_name = Path::new(BY_NAME);
    assert!(
        !by_name.exists(),
        "{BY_NAME} exists already: not ours to remove"
    );
    let by_name_pin = SharedPins(vec![by_name.to_path_buf()]);
    from_scratch("btf_maps", &btf_maps(&dev), &pair, &ALL_STAGES, |_| {
        assert!(by_name.exists(), "the load did not pin {BY_NAME}");
        by_name_pin.remove();
    });
    // ... and reusing it when it was there: never removed, the same map.
    let keep = load(&btf_maps(&dev), &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
    drop(keep);
    unload(&dev, None).unwrap_or_else(|error| panic!("unload: {error}"));
    assert!(by_name.exists());
    from_scratch(
        "btf_maps, pin by name reused",
        &btf_maps(&dev),
        &pair,
        &ALL_STAGES,
        |_| {},
    );
    by_name_pin.remove();
    assert!(!by_name.exists());

    // iproute2_maps.o: its tc/ pins and directories come and go with it.
    let shared = iproute2_shared_pins();
    for path in &shared {
        assert!(
            !path.exists(),
            "{} exists already: not ours to remove",
            path.display()
        );
    }
    let shared = SharedPins(shared);
    from_scratch(
        "iproute2_maps",
        &iproute2_maps(&dev),
        &pair,
        &ALL_STAGES,
        |_| {
            for path in &shared.0 {
                assert!(path.exists(), "the load did not pin {}", path.display());
            }
            // The next round starts without the pins and their directories.
            shared.remove();
        },
    );
    drop(shared);

    from_scratch(
        "article through a BPF link",
        &linked(article_options(&dev), true),
        &pair,
        &ALL_STAGES,
        |loaded| assert!(loaded.attach.as_ref().is_some_and(|a| a.link.is_some())),
    );
    forced_replace(&pair, false);
    forced_replace(&pair, true);
    failing_unload(&pair);
    println!("all scenarios in {:?}", started.elapsed());
}
