//! What every kernel test checks first, the lock around the trace pipe, and
//! the binaries under test.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::fcntl::{Flock, FlockArg};
use nix::sys::statfs::{statfs, FsType, BPF_FS_MAGIC, TRACEFS_MAGIC};
use nix::unistd::geteuid;

use crate::cmd::try_run;

/// The precondition of every kernel test: root, `ip`, bpffs at `/sys/fs/bpf`
/// and tracefs (both mounted here when missing). Call it first:
///
/// ```no_run
/// # use rxdp_kernel_tests::require_kernel;
/// if !require_kernel() {
///     return;
/// }
/// ```
///
/// When the machine does not qualify it panics, saying why, unless
/// `RXDP_ALLOW_SKIP=1`: then it prints `RXDP-SKIPPED: <test>: <reason>` to
/// stderr and returns false. `.ci/run` fails on any such line, so a skipped
/// kernel test is never mistaken for a passed one.
pub fn require_kernel() -> bool {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    match CHECKED.get_or_init(check_kernel) {
        Ok(()) => true,
        Err(reason) if std::env::var("RXDP_ALLOW_SKIP").as_deref() == Ok("1") => {
            let thread = std::thread::current();
            let test = thread.name().unwrap_or("unnamed test");
            // Straight to the process's stderr: libtest captures `eprintln!`
            // and hides the output of tests that pass, and CI must see this.
            let _ = writeln!(std::io::stderr(), "RXDP-SKIPPED: {test}: {reason}");
            false
        }
        Err(reason) => panic!("{reason}"),
    }
}

fn check_kernel() -> Result<(), String> {
    if !geteuid().is_root() {
        return Err("kernel tests need root: run `make test` as root".into());
    }
    if try_run("ip", &["-V"]).is_err() {
        return Err("kernel tests need iproute2's `ip`: run `make deps`".into());
    }
    let bpffs = Path::new("/sys/fs/bpf");
    if !is_mounted(bpffs, BPF_FS_MAGIC) {
        mount("bpf", bpffs)?;
    }
    let tracing = Path::new("/sys/kernel/tracing");
    let legacy = Path::new("/sys/kernel/debug/tracing");
    if !is_mounted(tracing, TRACEFS_MAGIC) && !is_mounted(legacy, TRACEFS_MAGIC) {
        mount("tracefs", tracing)?;
    }
    Ok(())
}

fn is_mounted(path: &Path, magic: FsType) -> bool {
    statfs(path).is_ok_and(|fs| fs.filesystem_type() == magic)
}

fn mount(fs_type: &str, path: &Path) -> Result<(), String> {
    let target = path.to_string_lossy();
    try_run("mount", &["-t", fs_type, fs_type, &target])
        .map(drop)
        .map_err(|error| format!("kernel tests need {fs_type} at {target}: {error}"))
}

/// An exclusive `flock` on `/run/rxdp-trace.lock`, held while a test reads
/// the trace pipe: the pipe is one per machine and a reader consumes what
/// it reads, so two tests reading at once would steal each other's lines.
#[derive(Debug)]
pub struct TraceLock {
    _lock: Flock<File>,
}

impl TraceLock {
    /// Waits until no other test holds the trace pipe.
    pub fn acquire() -> TraceLock {
        TraceLock {
            _lock: lock_file(Path::new("/run/rxdp-trace.lock")),
        }
    }
}

/// Blocks until this process holds an exclusive `flock` on `path`.
pub(crate) fn lock_file(path: &Path) -> Flock<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    Flock::lock(file, FlockArg::LockExclusive)
        .unwrap_or_else(|(_, errno)| panic!("cannot lock {}: {errno}", path.display()))
}

/// The path of a binary of this workspace (`rxdp`, `rxdp-load`) built next to
/// the running test: `target/<profile>/NAME`, the test being
/// `target/<profile>/deps/TEST-HASH`. Panics when it is not built.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe()
        .unwrap_or_else(|error| panic!("cannot locate the test executable: {error}"));
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()));
    let path = profile_dir.join(name);
    if !path.is_file() {
        panic!(
            "{} is missing: run `cargo build --bins` first (make test does)",
            path.display()
        );
    }
    path
}

/// A kernel selftest object of the conformance subset
/// (`conformance/subset.tsv`): `target/corpus/<tree>/<name>.o`, compiled by
/// `make corpus` (which `make kernel-test` runs) from Debian's
/// `linux-source-<tree>`. `linked:X` objects are named `linked_X`. Panics
/// when it is missing: such a test must fail, not skip.
pub fn corpus_object(tree: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe()
        .unwrap_or_else(|error| panic!("cannot locate the test executable: {error}"));
    // target/<profile>/deps/TEST-HASH → target/corpus
    let target = exe
        .ancestors()
        .nth(3)
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()));
    let path = target
        .join("corpus")
        .join(tree)
        .join(format!("{}.o", name.replace(':', "_")));
    if !path.is_file() {
        panic!(
            "{} is missing: run `make corpus` first (make test does)",
            path.display()
        );
    }
    path
}
