//! Pins you can trust (issue 11): one test per item of the issue, each
//! reproducing the attack or the accident and proving its bad outcome no
//! longer happens.
//!
//! Tests that touch bpffs run on a thread of their own, in a mount
//! namespace of its own, where `/sys/fs/bpf` is a fresh bpffs mounted with
//! mode 1777 — world-writable and sticky, as this machine mounts the real
//! one, so that `nobody` may plant names at its top. The binaries they
//! start inherit it; nothing outside the test sees it, and its pins go
//! with it. Attacks run as `nobody` (uid and gid 65534, no capabilities).
//!
//! Item 2's target (500 loads killed at random instants) is `kills.rs`.

#[path = "load_common.rs"]
mod common;

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rxdp::{load, Event, LoadError, NoObserver, Observer, PinPolicy, Stage};
use rxdp_elf::MapType;
use rxdp_kernel_tests::{bin, ip, require_kernel, try_run, unique_name, Netns, VethPair};
use rxdp_syscalls::bpf::{
    link_create_xdp, map_create, map_get_fd_by_id, map_info, prog_get_fd_by_id, prog_info,
    MapCreate,
};
use rxdp_syscalls::fs::bpffs;
use rxdp_syscalls::netlink::{self, XdpFlags};

const BPFFS: &str = "/sys/fs/bpf";
const RECORD: &str = rxdp::record::RECORD;

/// Runs `f` on a thread of its own whose `/sys/fs/bpf` is a fresh bpffs of
/// mode 1777 (see the module's doc); panics in `f` propagate.
fn in_private_bpffs<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                mount_private_bpffs("mode=1777");
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A veth pair, and `test` run on a thread with a bpffs of its own (see
/// [`in_private_bpffs`]) given the pair's root end: its name and ifindex.
fn on_a_pair(test: impl FnOnce(&str, u32) + Send) {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let (dev, ifindex) = (pair.root_name(), pair.root_ifindex());
    in_private_bpffs(|| test(dev, ifindex));
}

/// Everything under `dir`, never through a symlink: each path with what it
/// is (a directory, a pin and the id of its map, a symlink and its target).
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = path.symlink_metadata() else {
                continue;
            };
            let what = if meta.file_type().is_symlink() {
                format!(
                    "-> {}",
                    std::fs::read_link(&path).unwrap_or_default().display()
                )
            } else if meta.is_dir() {
                dirs.push(path.clone());
                "dir".to_string()
            } else {
                let id = bpffs::get(&path)
                    .ok()
                    .and_then(|fd| map_info(fd.as_fd()).ok())
                    .map_or(0, |info| info.id);
                format!("pin of map {id}")
            };
            out.insert(path, what);
        }
    }
    out
}

/// The staging directories anywhere under `dir`.
fn staging_dirs(dir: &Path) -> Vec<PathBuf> {
    tree(dir)
        .into_iter()
        .filter(|(path, what)| {
            what == "dir"
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("staging-"))
        })
        .map(|(path, _)| path)
        .collect()
}

/// An array map (u32 -> u64, one entry) of another program, as a foreign
/// pin would hold.
fn foreign_map(name: &str) -> OwnedFd {
    let mut spec = MapCreate::new(MapType::ARRAY.0, 4, 8, 1);
    spec.name = name;
    map_create(&spec).unwrap_or_else(|error| panic!("{error}"))
}

fn map_id(fd: &OwnedFd) -> u32 {
    map_info(fd.as_fd())
        .unwrap_or_else(|error| panic!("{error}"))
        .id
}

/// The program id a pin directory's record names.
fn recorded_prog(dir: &Path) -> Option<u32> {
    let target = std::fs::read_link(dir.join(RECORD)).ok()?;
    match rxdp::record::Record::parse(&target.to_string_lossy())? {
        rxdp::record::Record::Pins(pins) => pins.prog,
        _ => None,
    }
}

/// The ids of the maps program `id` uses.
fn maps_of(id: u32) -> Vec<u32> {
    let prog = prog_get_fd_by_id(id).unwrap_or_else(|error| panic!("{error}"));
    prog_info(prog.as_fd())
        .unwrap_or_else(|error| panic!("{error}"))
        .map_ids
}

/// A veth pair in the root namespace (no traffic needed), deleted on drop
/// by its ifindex — whatever it is named by then.
struct Veth {
    ifindex: u32,
}

impl Veth {
    fn new() -> Veth {
        let (name, peer) = (unique_name("rx"), unique_name("rx"));
        ip(&["link", "add", &name, "type", "veth", "peer", "name", &peer]);
        let ifindex = netlink::ifindex(&name).unwrap_or_else(|error| panic!("{error}"));
        Veth { ifindex }
    }

    fn name(&self) -> String {
        netlink::ifname(self.ifindex).unwrap_or_else(|error| panic!("{error}"))
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        if let Ok(name) = netlink::ifname(self.ifindex) {
            if let Err(error) = try_run("ip", &["link", "del", &name]) {
                eprintln!("cleanup: {error}");
            }
        }
    }
}

/// `rxdp-load tail_kern.o --dev DEV --mode skb --map 0 --key 78 --prog 1 EXTRA...`.
fn article(dev: &str, extra: &[&str]) -> Run {
    let object = obj("tail_kern");
    let mut args = with_article_jump(&[&object, "--dev", dev, "--mode", "skb"]);
    args.extend(extra);
    rxdp_load(&args)
}

/// Runs `action` once, at the first event `when` accepts.
struct OnEvent<F: FnMut()> {
    when: fn(&Event<'_>) -> bool,
    action: Option<F>,
}

impl<F: FnMut()> Observer for OnEvent<F> {
    fn event(&mut self, event: &Event<'_>) {
        if (self.when)(event) {
            if let Some(mut action) = self.action.take() {
                action();
            }
        }
    }
}

fn after_attach(event: &Event<'_>) -> bool {
    matches!(event, Event::Attached { .. })
}

#[test]
fn item01_a_pin_dir_holding_what_rxdp_did_not_make_is_refused_and_kept() {
    on_a_pair(|dev, ifindex| {
        // Another program's map, pinned in /sys/fs/bpf/f, alive only there.
        std::fs::create_dir("/sys/fs/bpf/f").unwrap();
        let foreign = foreign_map("foreign");
        let id = map_id(&foreign);
        bpffs::pin(foreign.as_fd(), Path::new("/sys/fs/bpf/f/foreign")).unwrap();
        drop(foreign);
        let before = tree(Path::new(BPFFS));
        let run = article(dev, &["--pin-dir", "/sys/fs/bpf/f"]).failed();
        assert!(
            run.stderr.contains(
                ": resolve options: /sys/fs/bpf/f holds an entry rxdp did not make (foreign): \
                 rxdp pins only into a directory it made or an empty one"
            ),
            "{run:#?}"
        );
        assert_eq!(tree(Path::new(BPFFS)), before, "something changed");
        assert_eq!(map_id(&pinned(Path::new("/sys/fs/bpf/f/foreign"))), id);
        assert!(map_get_fd_by_id(id).is_ok(), "the foreign map was freed");
        assert_eq!(xdp(ifindex).skb_prog_id, None);

        // iproute2's /sys/fs/bpf/tc, with its globals: refused too. (A load
        // without --dev pins only the shared maps; --no-pin pins nothing.)
        rxdp_load(&[&obj("iproute2_maps")]).ok();
        let globals = Path::new("/sys/fs/bpf/tc/globals/glob_counter");
        let glob_id = map_id(&pinned(globals));
        let before = tree(Path::new(BPFFS));
        let run = article(dev, &["--pin-dir", "/sys/fs/bpf/tc"]).failed();
        assert!(
            run.stderr
                .contains("/sys/fs/bpf/tc holds 2 entries rxdp did not make ("),
            "{run:#?}"
        );
        assert_eq!(tree(Path::new(BPFFS)), before, "something changed");
        assert_eq!(map_id(&pinned(globals)), glob_id);

        // An empty directory is adopted; the next load replaces its own pins.
        std::fs::create_dir("/sys/fs/bpf/mine").unwrap();
        article(dev, &["--pin-dir", "/sys/fs/bpf/mine"]).ok();
        let second = article(dev, &["--pin-dir", "/sys/fs/bpf/mine", "--force"]).ok();
        let mine = Path::new("/sys/fs/bpf/mine");
        assert_eq!(entry_names(mine), ["counters", "jmp_table1", "jmp_table2"]);
        assert_eq!(
            map_id(&pinned(&mine.join("jmp_table1"))),
            printed_map_id(&second.stdout, 0)
        );
        assert_eq!(
            recorded_prog(mine),
            Some(printed_prog_id(&second.stdout, 0))
        );
        assert!(staging_dirs(Path::new(BPFFS)).is_empty());
        rxdp(&["unload", "--dev", dev]).ok();
    });
}

/// `strace` makes the first call of `syscall` of `rxdp-load ARGS` receive
/// `signal` (the reproduction).
fn load_signalled_at(syscall: &str, signal: &str, args: &[&str]) -> Run {
    let inject = format!("inject={syscall}:signal={signal}:when=1");
    let trace = format!("trace={syscall}");
    let rxdp_load = bin("rxdp-load");
    let mut strace = vec![
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        &trace,
        "-e",
        &inject,
        "--",
        rxdp_load.to_str().unwrap_or_default(),
    ];
    strace.extend(args);
    Command::new("strace")
        .args(&strace)
        .output()
        .unwrap_or_else(|error| panic!("strace (make deps installs it): {error}"))
        .into()
}

#[test]
fn item02_an_interrupted_load_leaves_old_or_new_and_is_finished_by_the_next_one() {
    on_a_pair(|dev, ifindex| {
        let object = obj("tail_kern");
        let forced = with_article_jump(&[&object, "--dev", dev, "--mode", "skb", "--force"]);
        let device = device_pins(dev);
        let skb = device.join("skb");
        let original = printed_prog_id(&article(dev, &[]).ok().stdout, 0);

        // SIGKILL at the publication: the new program is attached, its
        // pins are in a staging directory whose record names it, and its
        // jump table is alive through them.
        let killed = load_signalled_at("renameat2", "SIGKILL", &forced);
        assert_eq!(killed.code, -1, "{killed:#?}");
        let attached = xdp(ifindex).skb_prog_id.expect("nothing attached");
        assert_ne!(attached, original);
        let staging = staging_dirs(&device);
        assert_eq!(staging.len(), 1, "{staging:?}");
        assert_eq!(recorded_prog(&staging[0]), Some(attached));
        assert_eq!(recorded_prog(&skb), Some(original));
        let table = pinned(&staging[0].join("jmp_table1"));
        assert!(maps_of(attached).contains(&map_id(&table)));
        assert!(read_u32(&table, 78).is_some(), "the jump table was emptied");

        // The next status finishes the publication.
        let status = rxdp(&["status", "--dev", dev]).ok();
        assert!(
            status.stdout.contains(&format!(
                "recovered {} (left by process ",
                staging[0].display()
            )) && status.stdout.contains(&format!(
                "its program (id {attached}) is the one attached: published as {}",
                skb.display()
            )),
            "{status:#?}"
        );
        assert!(staging_dirs(&device).is_empty());
        assert_eq!(recorded_prog(&skb), Some(attached));
        let table = pinned(&skb.join("jmp_table1"));
        assert!(maps_of(attached).contains(&map_id(&table)));
        assert!(read_u32(&table, 78).is_some());

        // SIGTERM before the attach rolls back: the program before stays,
        // with its pins.
        let stopped = load_signalled_at("symlinkat", "SIGTERM", &forced).failed();
        assert!(
            stopped
                .stderr
                .contains(": pin: interrupted by SIGTERM; everything the load had made was undone"),
            "{stopped:#?}"
        );
        assert_eq!(xdp(ifindex).skb_prog_id, Some(attached));
        assert_eq!(recorded_prog(&skb), Some(attached));
        assert!(staging_dirs(&device).is_empty());

        // SIGTERM at the publication: the load is complete, and says so.
        let late = load_signalled_at("renameat2", "SIGTERM", &forced).ok();
        assert!(
            late.stderr
                .contains("warning: SIGTERM came after the pins were published"),
            "{late:#?}"
        );
        let last = printed_prog_id(&late.stdout, 0);
        assert_eq!(xdp(ifindex).skb_prog_id, Some(last));
        assert_eq!(recorded_prog(&skb), Some(last));

        // Killed again; unload resolves, detaches and removes everything.
        load_signalled_at("renameat2", "SIGKILL", &forced);
        let unload = rxdp(&["unload", "--dev", dev]).ok();
        assert!(unload.stdout.contains("recovered "), "{unload:#?}");
        assert_eq!(xdp(ifindex).skb_prog_id, None);
        assert!(!device.exists(), "{:?}", tree(&device));
    });
}

#[test]
fn item03_paths_another_user_planted_are_refused_and_never_followed() {
    on_a_pair(|dev, ifindex| {
        // The victim: another program's pins, root's.
        std::fs::create_dir("/sys/fs/bpf/victim").unwrap();
        let victim = foreign_map("victim");
        bpffs::pin(victim.as_fd(), Path::new("/sys/fs/bpf/victim/counter")).unwrap();
        let victim_tree = tree(Path::new("/sys/fs/bpf/victim"));
        let check = |what: &str| {
            assert_eq!(
                tree(Path::new("/sys/fs/bpf/victim")),
                victim_tree,
                "{what}: the victim's pins changed"
            );
            assert_eq!(xdp(ifindex).skb_prog_id, None, "{what}: attached");
            assert!(staging_dirs(Path::new(BPFFS)).is_empty(), "{what}");
        };
        let refused = |run: Run, words: &str, what: &str| {
            let run = run.failed();
            assert!(run.stderr.contains(words), "{what}: {run:#?}");
            check(what);
        };

        // rxdp's own directory planted as a symlink, or made by nobody.
        run_as_nobody("ln", &["-s", "/sys/fs/bpf/victim", "/sys/fs/bpf/rxdp"]).ok();
        let symlink = "/sys/fs/bpf/rxdp is a symbolic link (to /sys/fs/bpf/victim): rxdp follows \
                       no symlink in bpffs";
        refused(article(dev, &[]), symlink, "load, rxdp/ a symlink");
        refused(
            rxdp(&["unload", "--dev", dev]),
            symlink,
            "unload, rxdp/ a symlink",
        );
        std::fs::remove_file("/sys/fs/bpf/rxdp").unwrap();
        run_as_nobody("mkdir", &["/sys/fs/bpf/rxdp"]).ok();
        refused(
            article(dev, &[]),
            "/sys/fs/bpf/rxdp belongs to uid 65534, not to root",
            "load, rxdp/ nobody's",
        );
        std::fs::remove_dir("/sys/fs/bpf/rxdp").unwrap();

        // --pin-dir below a directory others may write into, or nobody's,
        // or through a symlink.
        std::fs::create_dir("/sys/fs/bpf/open").unwrap();
        Command::new("chmod")
            .args(["0777", "/sys/fs/bpf/open"])
            .status()
            .unwrap();
        refused(
            article(dev, &["--pin-dir", "/sys/fs/bpf/open/mine"]),
            "/sys/fs/bpf/open has mode 0777: other users could swap what is in it",
            "--pin-dir below a 0777 directory",
        );
        run_as_nobody("mkdir", &["/sys/fs/bpf/theirs"]).ok();
        refused(
            article(dev, &["--pin-dir", "/sys/fs/bpf/theirs/mine"]),
            "/sys/fs/bpf/theirs belongs to uid 65534",
            "--pin-dir below nobody's directory",
        );
        run_as_nobody("ln", &["-s", "/sys/fs/bpf/victim", "/sys/fs/bpf/link"]).ok();
        for dir in ["/sys/fs/bpf/link", "/sys/fs/bpf/link/mine"] {
            refused(
                article(dev, &["--pin-dir", dir]),
                "/sys/fs/bpf/link is a symbolic link (to /sys/fs/bpf/victim)",
                dir,
            );
        }

        // A symlink named like a map pinned by name, to a compatible map
        // of another program: refused, not reused.
        run_as_nobody(
            "ln",
            &[
                "-s",
                "/sys/fs/bpf/victim/counter",
                "/sys/fs/bpf/pinned_counter",
            ],
        )
        .ok();
        refused(
            rxdp_load(&[
                &obj("btf_maps"),
                "--dev",
                dev,
                "--mode",
                "skb",
                "--entry",
                "xdp_btf_entry",
            ]),
            "map_fd[4] pinned_counter: /sys/fs/bpf/pinned_counter is a symbolic link, not a \
             pin: rxdp follows no symlink in bpffs",
            "pin by name planted",
        );

        // The issue's own attack: the device's old place made a symlink to
        // the victim. The pins go to rxdp/IF; unload touches neither.
        run_as_nobody(
            "ln",
            &["-s", "/sys/fs/bpf/victim", &format!("/sys/fs/bpf/{dev}")],
        )
        .ok();
        article(dev, &[]).ok();
        assert!(device_pins(dev).join("skb/jmp_table1").exists());
        rxdp(&["unload", "--dev", dev]).ok();
        check("load and unload beside a planted symlink");
        assert!(Path::new(&format!("/sys/fs/bpf/{dev}")).is_symlink());
    });
}

#[test]
fn item04_locks_are_per_device_with_a_timeout_and_name_their_holder() {
    if !require_kernel() {
        return;
    }
    let (a, b) = (VethPair::new(), VethPair::new());
    let (dev_a, dev_b) = (a.root_name(), b.root_name());
    in_private_bpffs(|| {
        // nobody holding a flock on bpffs blocks nothing, and cannot take
        // rxdp's locks.
        let mut holder = Command::new("flock")
            .args([BPFFS, "sleep", "60"])
            .uid(NOBODY)
            .gid(NOBODY)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        article(dev_a, &[]).ok();
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
        let lock = format!("/run/rxdp/device-{dev_a}");
        let taken = run_as_nobody("flock", &["-n", &lock, "true"]);
        assert_ne!(taken.code, 0, "nobody took root's lock: {taken:#?}");
        let _ = holder.kill();
        let _ = holder.wait();

        // A load paused between its attach and its publication holds its
        // device's lock, and only it.
        let mut other = None;
        let mut options = article_options(dev_a);
        if let Some(attach) = &mut options.attach {
            attach.force = true;
        }
        {
            let mut observer = OnEvent {
                when: after_attach,
                action: Some(|| {
                    let b = article(dev_b, &[]);
                    let start = Instant::now();
                    let a = article(dev_a, &["--force", "--lock-timeout", "1"]);
                    other = Some((b, a, start.elapsed()));
                }),
            };
            load(&options, &mut observer).unwrap_or_else(|error| panic!("{error}"));
        }
        let (b, a, waited) = other.expect("the observer did not run");
        b.ok();
        let a = a.failed();
        assert!(
            a.stderr.contains(&format!(
                ": pin: lock for device {dev_a}: {lock} is held by process {} (",
                std::process::id()
            )) && a.stderr.contains("; waited ")
                && a.stderr
                    .contains("wait for it to end, or give it longer (--lock-timeout"),
            "{a:#?}"
        );
        assert!(
            (Duration::from_millis(900)..Duration::from_secs(4)).contains(&waited),
            "{waited:?}"
        );
        rxdp(&["unload", "--dev", dev_a]).ok();
        rxdp(&["unload", "--dev", dev_b]).ok();
    });
}

#[test]
fn item05_unload_waits_for_a_load_that_is_publishing() {
    on_a_pair(|dev, ifindex| {
        let mut seen = None;
        let ours = {
            let mut observer = OnEvent {
                when: after_attach,
                action: Some(|| {
                    let impatient = rxdp(&["unload", "--dev", dev, "--lock-timeout", "100ms"]);
                    let child = Command::new(bin("rxdp"))
                        .args(["unload", "--dev", dev])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap();
                    std::thread::sleep(Duration::from_millis(300));
                    let mut child = child;
                    let waiting = child.try_wait().unwrap().is_none();
                    seen = Some((impatient, child, waiting));
                }),
            };
            let loaded = load(&article_options(dev), &mut observer)
                .unwrap_or_else(|error| panic!("the load: {error}"));
            loaded.programs[0].id
        };
        let (impatient, child, waiting) = seen.expect("the observer did not run");
        assert!(waiting, "the unload did not wait for the load to publish");
        let impatient = impatient.failed();
        assert!(
            impatient.stderr.contains(&format!(
                "unload: {dev}: lock: /run/rxdp/device-{dev} is held by process {}",
                std::process::id()
            )) && impatient.stderr.ends_with("; nothing was changed\n"),
            "{impatient:#?}"
        );
        let unload: Run = child.wait_with_output().unwrap().into();
        let unload = unload.ok();
        assert!(
            unload
                .stdout
                .contains(&format!("detached program id {ours} from {dev} (skb mode)")),
            "{unload:#?}"
        );
        assert_eq!(xdp(ifindex).skb_prog_id, None);
        assert!(!device_pins(dev).exists(), "{:?}", tree(&device_pins(dev)));
    });
}

#[test]
fn item06_a_device_gone_renamed_or_replaced_strands_nothing() {
    if !require_kernel() {
        return;
    }
    in_private_bpffs(|| {
        // Gone: unload by the pins' directory.
        let gone = Veth::new();
        let name = gone.name();
        let ifindex = gone.ifindex;
        article(&name, &[]).ok();
        ip(&["link", "del", &name]);
        let status = rxdp(&["status"]).ok();
        assert!(
            status.stdout.contains(&format!(
                "{name} (gone; its pins record ifindex {ifindex}): `rxdp unload --dev {name}` \
                 removes them"
            )),
            "{status:#?}"
        );
        let unload = rxdp(&["unload", "--dev", &name]).ok();
        assert!(
            unload.stdout.contains(&format!(
                "{name} is gone (its pins record ifindex {ifindex})"
            )) && unload.stdout.contains(&format!(
                "removed {}",
                device_pins(&name).join("skb").display()
            )),
            "{unload:#?}"
        );
        assert!(!device_pins(&name).exists());

        // Renamed: unload by the old name detaches from the renamed device.
        let renamed = Veth::new();
        let old = renamed.name();
        let id = printed_prog_id(&article(&old, &[]).ok().stdout, 0);
        let new = unique_name("rx");
        ip(&["link", "set", &old, "name", &new]);
        let unload = rxdp(&["unload", "--dev", &old]).ok();
        assert!(
            unload.stdout.contains(&format!(
                "{old} was renamed {new} (ifindex {})\ndetached program id {id} from {new} \
                 (skb mode)",
                renamed.ifindex
            )),
            "{unload:#?}"
        );
        assert_eq!(xdp(renamed.ifindex).skb_prog_id, None);
        assert!(!device_pins(&old).exists());

        // Renamed: unload by the new name removes the pins kept under the old.
        let id = printed_prog_id(&article(&new, &[]).ok().stdout, 0);
        let newer = unique_name("rx");
        ip(&["link", "set", &new, "name", &newer]);
        let unload = rxdp(&["unload", "--dev", &newer]).ok();
        assert!(
            unload
                .stdout
                .contains(&format!("detached program id {id} from {newer} (skb mode)"))
                && unload.stdout.contains(&format!(
                    "removed {}",
                    device_pins(&new).join("skb").display()
                )),
            "{unload:#?}"
        );
        assert!(!device_pins(&new).exists());

        // Replaced during the load: the ifindex given to another device
        // between the lookup and the attach.
        let first = Veth::new();
        let (name, ifindex) = (first.name(), first.ifindex);
        let (other, peer) = (unique_name("rx"), unique_name("rx"));
        let mut observer = OnEvent {
            when: |event| {
                matches!(
                    event,
                    Event::StageFinished {
                        stage: Stage::Resolve,
                        ..
                    }
                )
            },
            action: Some(|| {
                ip(&["link", "del", &name]);
                let index = ifindex.to_string();
                ip(&[
                    "link", "add", &other, "index", &index, "type", "veth", "peer", "name", &peer,
                ]);
            }),
        };
        let error = load(&article_options(&name), &mut observer)
            .map(|loaded| loaded.programs[0].id)
            .expect_err("attached to the device that took the ifindex");
        assert!(matches!(error, LoadError::DeviceChanged { .. }), "{error}");
        assert!(
            error.to_string().ends_with(&format!(
                "attach: interface {name} (ifindex {ifindex}) is now named {other}: it was \
                 renamed or replaced while rxdp loaded; nothing was left attached: run again"
            )),
            "{error}"
        );
        assert_eq!(xdp(ifindex).skb_prog_id, None, "left attached to {other}");
        assert!(!device_pins(&name).exists());
        assert!(staging_dirs(Path::new(BPFFS)).is_empty());
        drop(first);
    });
}

/// Runs `rxdp-load ARGS` and fails if it takes more than two seconds.
fn quick_load(args: &[&str]) -> Run {
    let mut child = Command::new(bin("rxdp-load"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rxdp-load {args:?} still runs after 2 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap().into()
}

#[test]
fn item07_only_regular_files_are_read_size_capped_magic_first() {
    let run = quick_load(&["/dev/zero"]).failed();
    assert!(
        run.stderr.contains(
            "rxdp-load: /dev/zero: open: it is a character device, not a regular file: give \
             the object file itself"
        ),
        "{run:#?}"
    );
    let dir = std::env::temp_dir().join(unique_name("rxdp-open-"));
    std::fs::create_dir(&dir).unwrap();
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let run = quick_load(&[fifo.to_str().unwrap()]).failed();
    assert!(
        run.stderr
            .contains("open: it is a FIFO, not a regular file"),
        "{run:#?}"
    );
    // 2 GiB that take no room: refused for the size (with the ELF magic)
    // or the magic, without being read.
    let sparse = dir.join("sparse.o");
    for (magic, words) in [
        (
            &b"\x7fELF"[..],
            "open: it is 2147483648 bytes, more than the 256 MiB rxdp reads",
        ),
        (b"", "open: not an ELF file"),
    ] {
        std::fs::write(&sparse, magic).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&sparse)
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
        let run = quick_load(&[sparse.to_str().unwrap()]).failed();
        assert!(run.stderr.contains(words), "{run:#?}");
    }
    let run = quick_load(&[&obj("tail_kern"), "--max-object-size", "100"]).failed();
    assert!(
        run.stderr
            .contains("bytes, more than the 100 bytes rxdp reads")
            && run.stderr.contains("--max-object-size BYTES"),
        "{run:#?}"
    );
    let inspect = rxdp(&["inspect", "/dev/zero"]).failed();
    assert!(
        inspect.stderr.contains("it is a character device"),
        "{inspect:#?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn item08_status_skips_what_it_cannot_read_and_says_so() {
    on_a_pair(|dev, _| {
        let id = printed_prog_id(&article(dev, &[]).ok().stdout, 0);
        // Directories of other tools nobody may not read, one named like
        // the device (where the old layout kept its pins).
        for dir in [
            format!("/sys/fs/bpf/{dev}"),
            "/sys/fs/bpf/closed".to_string(),
        ] {
            std::fs::create_dir(&dir).unwrap();
            Command::new("chmod").args(["0700", &dir]).status().unwrap();
        }
        for args in [&["status"][..], &["status", "--dev", dev]] {
            let run = as_nobody("rxdp", args).ok();
            assert!(
                run.stdout.contains(&format!("  skb mode: id {id} ")),
                "{run:#?}"
            );
            for words in [
                "note: openat (/sys/fs/bpf/rxdp) failed: Permission denied (EACCES)",
                &format!("note: openat (/sys/fs/bpf/{dev}) failed: Permission denied (EACCES)"),
            ] {
                assert!(run.stderr.contains(words), "no {words:?}: {run:#?}");
            }
        }
        let json = as_nobody("rxdp", &["status", "--json"]).ok();
        assert!(
            json.stdout
                .contains("\"notes\":[\"openat (/sys/fs/bpf/rxdp) failed: "),
            "{json:#?}"
        );
        // Root sees everything, the pins with the program they are for.
        let root = rxdp(&["status", "--dev", dev]).ok();
        assert!(
            root.stdout.contains(&format!(
                "(program {id}, attached): counters jmp_table1 jmp_table2"
            )),
            "{root:#?}"
        );
        rxdp(&["unload", "--dev", dev]).ok();
    });
}

#[test]
fn item09_a_tail_call_target_is_never_attached_silently() {
    on_a_pair(|dev, ifindex| {
        let object = obj("btf_maps");
        let before = tree(Path::new(BPFFS));
        let run = rxdp_load(&[&object, "--dev", dev, "--mode", "skb"]).failed();
        assert!(
            run.stderr.contains(
                ": resolve options: prog_fd[0] tail_a (section xdp) is a tail-call target: the \
                 object puts it at key 0 of jmp, and attached by itself it would run without \
                 what its caller prepares; name the program to attach with --entry (programs \
                 no jump table holds: prog_fd[2] xdp_btf_entry (section xdp))"
            ),
            "{run:#?}"
        );
        assert_eq!(xdp(ifindex).skb_prog_id, None);
        assert_eq!(tree(Path::new(BPFFS)), before, "something was made");
        // Named, either program goes: the user said which.
        let entry = rxdp_load(&[
            &object,
            "--dev",
            dev,
            "--mode",
            "skb",
            "--entry",
            "xdp_btf_entry",
        ])
        .ok();
        assert!(
            entry.stdout.contains("attached prog_fd[2] to "),
            "{entry:#?}"
        );
        assert!(!entry.stdout.contains("entry: "), "{entry:#?}");
        rxdp(&["unload", "--dev", dev]).ok();
        rxdp_load(&[&object, "--dev", dev, "--mode", "skb", "--entry", "0"]).ok();
        rxdp(&["unload", "--dev", dev]).ok();
        // The default entry is said, and why.
        let run = article(dev, &[]).ok();
        assert!(
            run.stdout.contains(
                "entry: prog_fd[0] xdp_prog0 (section xdp0), the first program: no --entry \
                 given, and the object puts it in no jump table\n"
            ),
            "{run:#?}"
        );
        let json = article(dev, &["--force", "--json"]).ok();
        assert!(json.stdout.contains("\"entry\":\"first\""), "{json:#?}");
        rxdp(&["unload", "--dev", dev]).ok();
    });
}

#[test]
fn item10_a_pin_dir_off_bpffs_or_empty_is_refused_before_anything_is_made() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let dir = std::env::temp_dir().join(unique_name("rxdp-pins-"));
    std::fs::create_dir(&dir).unwrap();
    let mine = dir.join("mine");
    let run = article(dev, &["--pin-dir", mine.to_str().unwrap()]).failed();
    std::fs::remove_dir(&dir).unwrap_or_else(|error| panic!("something was made there: {error}"));
    assert!(
        run.stderr.contains(&format!(
            ": resolve options: {} is not on a bpffs: maps are pinned on a bpffs",
            dir.display()
        )),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("run as root"), "{run:#?}");
    // The command line refuses an empty path itself (clap: a usage error,
    // exit code 2); the library refuses it too, for callers of its own.
    let run = article(dev, &["--pin-dir", ""]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("a value is required for '--pin-dir <DIR>' but none was supplied"),
        "{run:#?}"
    );
    let mut options = article_options(dev);
    options.pins = PinPolicy::Dir(PathBuf::new());
    let error = load(&options, &mut NoObserver).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(": resolve options: --pin-dir \"\": an empty path names no directory"),
        "{error}"
    );
    let staging_at_root = std::fs::read_dir("/")
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("staging-"));
    assert!(!staging_at_root);
    assert_eq!(xdp(pair.root_ifindex()).skb_prog_id, None);
}

#[test]
fn item10_out_of_fds_is_no_verifier_rejection_and_leaks_nothing() {
    on_a_pair(|dev, ifindex| {
        article(dev, &[]).ok();
        let object = obj("tail_kern");
        let load = bin("rxdp-load");
        let (mut emfile, mut passed) = (0, 0);
        for limit in 4..=24 {
            let script = format!(
                "ulimit -n {limit}; exec {} {object} --dev {dev} --mode skb --map 0 --key 78 \
                 --prog 1 --force",
                load.display()
            );
            let run: Run = Command::new("sh")
                .args(["-c", &script])
                .output()
                .unwrap()
                .into();
            let what = format!("ulimit -n {limit}");
            match run.code {
                0 => passed += 1,
                1 => {
                    assert!(
                        !run.stderr.contains("verifier rejected"),
                        "{what}: {run:#?}"
                    );
                    assert!(!run.stderr.contains("left behind"), "{what}: {run:#?}");
                    if run.stderr.contains("(EMFILE)") {
                        emfile += 1;
                        assert!(run.stderr.contains("ulimit -n"), "{what}: {run:#?}");
                    }
                }
                _ => panic!("{what}: {run:#?}"),
            }
            assert!(
                staging_dirs(Path::new(BPFFS)).is_empty(),
                "{what}: {run:#?}"
            );
            let attached = xdp(ifindex).skb_prog_id.expect("nothing attached");
            assert_eq!(
                recorded_prog(&device_pins(dev).join("skb")),
                Some(attached),
                "{what}"
            );
        }
        assert!(
            emfile > 0 && passed > 0,
            "EMFILE {emfile} times, passed {passed}"
        );
        rxdp(&["unload", "--dev", dev]).ok();
        println!("21 fd limits: {emfile} refused for EMFILE, {passed} loaded");
    });
}

#[test]
fn item10_unload_with_only_cap_net_admin_changes_nothing() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    let id = printed_prog_id(&article(dev, &[]).ok().stdout, 0);
    let rxdp_bin = bin("rxdp");
    let run: Run = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=+net_admin",
            "--ambient-caps=+net_admin",
            "--",
        ])
        .arg(&rxdp_bin)
        .args(["unload", "--dev", dev])
        .output()
        .unwrap()
        .into();
    let run = run.failed();
    assert!(run.stderr.ends_with("; nothing was changed\n"), "{run:#?}");
    assert_eq!(
        xdp(ifindex).skb_prog_id,
        Some(id),
        "detached without the pins"
    );
    assert!(device_pins(dev).join("skb/jmp_table1").exists());
    rxdp(&["unload", "--dev", dev]).ok();
}

#[test]
fn item10_devices_named_like_iproute2s_directories_do_not_collide() {
    if !require_kernel() {
        return;
    }
    let netns = Netns::new();
    let path = netns.path();
    in_private_bpffs(|| {
        let handle = std::fs::File::open(&path).unwrap();
        nix::sched::setns(handle, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        ip(&["link", "add", "tc", "type", "veth", "peer", "name", "xdp"]);
        ip(&[
            "link", "add", "ip", "type", "veth", "peer", "name", "ip-peer",
        ]);
        // iproute2's own: tc/globals, a map of another program.
        rxdp_load(&[&obj("iproute2_maps"), "--dev", "xdp", "--mode", "skb"]).ok();
        let globals = Path::new("/sys/fs/bpf/tc/globals/glob_counter");
        let glob_id = map_id(&pinned(globals));
        let before = tree(Path::new("/sys/fs/bpf/tc"));
        for dev in ["tc", "ip", "xdp"] {
            let extra: &[&str] = if dev == "xdp" { &["--force"] } else { &[] };
            article(dev, extra).ok();
            assert!(device_pins(dev).join("skb/jmp_table1").exists(), "{dev}");
        }
        assert_eq!(tree(Path::new("/sys/fs/bpf/tc")), before);
        for dev in ["tc", "ip", "xdp"] {
            rxdp(&["unload", "--dev", dev]).ok();
            assert!(!device_pins(dev).exists(), "{dev}");
        }
        assert_eq!(tree(Path::new("/sys/fs/bpf/tc")), before);
        assert_eq!(map_id(&pinned(globals)), glob_id);
    });
}

#[test]
fn item10_force_is_advised_only_where_it_helps() {
    on_a_pair(|dev, ifindex| {
        // A program in the other of skb and drv: --force cannot help.
        article(dev, &[]).ok();
        for extra in [&[][..], &["--force"]] {
            let object = obj("tail_kern");
            let mut args = with_article_jump(&[&object, "--dev", dev, "--mode", "drv"]);
            args.extend(extra);
            let run = rxdp_load(&args).failed();
            assert!(
                run.stderr
                    .contains("Native and generic XDP can't be active at the same time")
                    && run.stderr.contains("detach it first"),
                "{run:#?}"
            );
            assert!(!run.stderr.contains("use --force"), "{run:#?}");
        }
        rxdp(&["unload", "--dev", dev]).ok();
        // A bpf_link holds the slot: neither --force nor unload can move it.
        let mut options = article_options(dev);
        options.attach = None;
        let loaded = load(&options, &mut NoObserver).unwrap_or_else(|error| panic!("{error}"));
        let link = link_create_xdp(loaded.programs[0].fd.as_fd(), ifindex, XdpFlags::SKB_MODE)
            .unwrap_or_else(|error| panic!("{error}"));
        for run in [
            article(dev, &[]),
            article(dev, &["--force"]),
            rxdp(&["unload", "--dev", dev]),
        ] {
            let run = run.failed();
            assert!(
                run.stderr.contains("a BPF link holds this XDP slot")
                    && run.stderr.contains("--force included"),
                "{run:#?}"
            );
            assert!(!run.stderr.contains("use --force"), "{run:#?}");
        }
        assert_eq!(xdp(ifindex).skb_prog_id, Some(loaded.programs[0].id));
        drop(link);
        drop(loaded);
    });
}

#[test]
fn item10_json_errors_are_json_and_verbose_logs_print_once() {
    let run = rxdp_load(&["/nonexistent/x.o", "--json"]).failed();
    assert!(run.stderr.is_empty(), "{run:#?}");
    assert_eq!(
        run.stdout,
        "{\"error\":\"/nonexistent/x.o: open: cannot read it: No such file or directory (ENOENT)\"}\n"
    );
    let run = rxdp(&["unload", "--dev", "rxdp-no-such", "--json"]).failed();
    assert!(run.stdout.starts_with("{\"error\":\"unload: "), "{run:#?}");
    if !require_kernel() {
        return;
    }
    let run = rxdp_load(&[&obj("verifier_reject"), "-v"]).failed();
    assert_eq!(
        run.stderr.matches("the whole verifier log:").count(),
        1,
        "{run:#?}"
    );
    assert!(
        !run.stderr.contains("lines of the verifier log"),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .trim_end()
            .ends_with("; the whole verifier log is above"),
        "{run:#?}"
    );
    let plain = rxdp_load(&[&obj("verifier_reject")]).failed();
    assert!(
        plain.stderr.contains("; -v prints the whole log"),
        "{plain:#?}"
    );
}

#[test]
fn item10_the_old_layout_is_shown_and_cleaned_up_with_its_program() {
    on_a_pair(|dev, ifindex| {
        // As rxdp pinned before rxdp/: /sys/fs/bpf/IF/skb/, no record, the
        // attached program's maps, and a pin of someone else's beside them.
        let old = Path::new(BPFFS).join(dev).join("skb");
        let pin_old_layout = |id: u32| {
            bpffs::create_dir_all(&old).unwrap();
            for name in ["jmp_table1", "counters"] {
                bpffs::pin(map_of_program(id, name).as_fd(), &old.join(name)).unwrap();
            }
        };
        let first = printed_prog_id(&article(dev, &["--no-pin"]).ok().stdout, 0);
        pin_old_layout(first);
        let other = foreign_map("other");
        bpffs::pin(other.as_fd(), &old.join("other")).unwrap();
        let status = rxdp(&["status", "--dev", dev]).ok();
        assert!(
            status.stdout.contains(&format!(
                "  pins in {}/ (the layout of rxdp before /sys/fs/bpf/rxdp/): counters jmp_table1 \
                 other\n",
                old.display()
            )),
            "{status:#?}"
        );
        // Replaced by a load: its pins go, the other stays.
        let second = printed_prog_id(&article(dev, &["--force"]).ok().stdout, 0);
        assert_eq!(entry_names(&old), ["other"]);
        std::fs::remove_file(old.join("other")).unwrap();
        // Detached by unload: its pins go, and the directories, now empty.
        pin_old_layout(second);
        let unload = rxdp(&["unload", "--dev", dev]).ok();
        assert!(
            unload
                .stdout
                .contains(&format!("removed {}", old.join("jmp_table1").display())),
            "{unload:#?}"
        );
        assert!(
            !Path::new(BPFFS).join(dev).exists(),
            "{:?}",
            tree(Path::new(BPFFS))
        );
        assert_eq!(xdp(ifindex).skb_prog_id, None);
    });
}
