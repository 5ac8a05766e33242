//! bpffs and tracefs through rxdp-syscalls against the running kernel:
//! finding the mounts, pin directories and their atomic swap, unpinning,
//! errors that name paths, and `bpf_trace_printk` lines read back from
//! `trace_pipe`.

#[path = "syscalls_common.rs"]
mod common;

use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use rxdp_kernel_tests::{require_kernel, unique_name, TraceLock};
use rxdp_syscalls::bpf::{prog_test_run, TestRun};
use rxdp_syscalls::fs::{bpffs, tracefs};

#[test]
fn bpffs_is_found_and_recognised() {
    if !require_kernel() {
        return;
    }
    let mount = bpffs::find_mount()
        .unwrap()
        .expect("require_kernel mounts bpffs");
    assert_eq!(mount, Path::new(bpffs::DEFAULT_MOUNT));
    assert_eq!(bpffs::ensure_mounted().unwrap(), mount);
    assert!(bpffs::is_bpffs(&mount).unwrap());
    assert!(!bpffs::is_bpffs(Path::new("/proc")).unwrap());
    let error = bpffs::is_bpffs(Path::new("/nonexistent/rxdp")).unwrap_err();
    assert_eq!((error.op, error.errno), ("statfs", libc::ENOENT));
    assert_eq!(error.subject.as_deref(), Some("/nonexistent/rxdp"));
}

#[test]
fn pin_directories_swap_atomically() {
    if !require_kernel() {
        return;
    }
    let dir = PinDir::new();
    let (old, new) = (dir.path().join("eth9"), dir.path().join("eth9_new"));
    bpffs::create_dir_all(&old).unwrap();
    bpffs::create_dir_all(&new.join("nested")).unwrap();
    let old_map = u64_array("rxdp_old", 1);
    let new_map = u64_array("rxdp_new", 1);
    bpffs::pin(old_map.as_fd(), &old.join("jmp")).unwrap();
    bpffs::pin(new_map.as_fd(), &new.join("jmp")).unwrap();

    bpffs::rename_exchange(&new, &old).unwrap();
    assert_eq!(
        map_id(&bpffs::get(&old.join("jmp")).unwrap()),
        map_id(&new_map)
    );
    assert_eq!(
        map_id(&bpffs::get(&new.join("jmp")).unwrap()),
        map_id(&old_map)
    );
    assert!(old.join("nested").is_dir(), "the whole directory moved");

    // bpffs keeps names with dots for itself.
    let dotted = dir.path().join("eth9.new");
    let error = bpffs::create_dir_all(&dotted).unwrap_err();
    assert_eq!((error.op, error.errno), ("mkdir", libc::EPERM));
    assert!(
        error.to_string().contains("refuses names containing '.'"),
        "{error}"
    );
    let error = bpffs::pin(old_map.as_fd(), &dir.path().join("jmp.v2")).unwrap_err();
    assert_eq!((error.op, error.errno), ("BPF_OBJ_PIN", libc::EPERM));

    // Exchange needs both sides.
    let missing = dir.path().join("missing");
    let error = bpffs::rename_exchange(&missing, &old).unwrap_err();
    assert_eq!((error.op, error.errno), ("renameat2", libc::ENOENT));
    assert!(
        error.to_string().contains(&*missing.to_string_lossy()),
        "{error}"
    );

    // Plain rename of a pin.
    bpffs::rename(&new.join("jmp"), &new.join("jmp2")).unwrap();
    assert_eq!(
        map_id(&bpffs::get(&new.join("jmp2")).unwrap()),
        map_id(&old_map)
    );

    // Unpin: a pin, then an empty directory; a full one refuses.
    bpffs::unpin(&new.join("jmp2")).unwrap();
    let error = bpffs::get(&new.join("jmp2")).unwrap_err();
    assert_eq!((error.op, error.errno), ("BPF_OBJ_GET", libc::ENOENT));
    assert_eq!(error.subject, Some(new.join("jmp2").display().to_string()));
    bpffs::unpin(&new).unwrap();
    let error = bpffs::unpin(&old).unwrap_err();
    assert_eq!((error.op, error.errno), ("rmdir", libc::ENOTEMPTY));
    assert_eq!(error.subject, Some(old.display().to_string()));

    // The map outlives its pin while an fd remains.
    assert!(map_id(&old_map) > 0);

    bpffs::remove_dir_all(&old).unwrap();
    assert!(!old.exists());
}

#[test]
fn remove_dir_all_stays_on_bpffs() {
    if !require_kernel() {
        return;
    }
    let elsewhere = std::env::temp_dir().join(unique_name("rxdp-notbpf-"));
    std::fs::create_dir(&elsewhere).unwrap();
    let result = bpffs::remove_dir_all(&elsewhere);
    let exists = elsewhere.exists();
    std::fs::remove_dir(&elsewhere).unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.errno, libc::EINVAL);
    assert!(error.to_string().contains("not on a bpffs"), "{error}");
    assert!(exists, "nothing was removed");
}

/// Reads the trace pipe until a line whose printk message is `wanted`, or
/// the deadline; returns the messages seen.
fn read_until(pipe: &mut tracefs::TracePipe, wanted: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let lines = pipe.read_lines(deadline - Instant::now(), 64).unwrap();
        for line in lines {
            if let Some(message) = tracefs::printk_message(&line) {
                seen.push(message.to_string());
                if message == wanted {
                    return seen;
                }
            }
        }
    }
    seen
}

/// Every trace pipe test is here, under the machine-wide trace lock: the
/// pipe is one per machine and reading consumes it.
#[test]
fn trace_pipe_streams_printk_lines() {
    if !require_kernel() {
        return;
    }
    let tracing = tracefs::ensure_mounted().unwrap();
    assert_eq!(tracefs::find_mount().unwrap().as_deref(), Some(&*tracing));
    assert!(tracing.join("trace_pipe").exists());

    let tag = format!("{:x}", std::process::id());
    let first = format!("rxA{tag}");
    let second = format!("rxB{tag}");
    let print_first = load_xdp("rxdp_printk_a", &printk_program(&format!("{first}\n")));
    let print_second = load_xdp("rxdp_printk_b", &printk_program(&format!("{second}\n")));
    let frame = frame();

    let _lock = TraceLock::acquire();
    let mut pipe = tracefs::TracePipe::open().unwrap();

    // A line printed now is read back within the deadline.
    let run = prog_test_run(&TestRun::new(print_first.fd.as_fd(), &frame)).unwrap();
    assert_eq!(run.retval, XDP_PASS);
    let seen = read_until(&mut pipe, &first, Duration::from_secs(5));
    assert_eq!(seen.last(), Some(&first), "saw {seen:?}");

    // With nothing to read, the wait lasts the timeout and no longer.
    let start = Instant::now();
    let lines = pipe
        .read_lines(Duration::from_millis(200), usize::MAX)
        .unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(
        !lines.iter().any(|line| line.contains(&first)),
        "read twice: {lines:?}"
    );

    // Clearing the buffer drops what nobody read yet.
    prog_test_run(&TestRun::new(print_first.fd.as_fd(), &frame)).unwrap();
    tracefs::clear_trace(&tracing).unwrap();
    prog_test_run(&TestRun::new(print_second.fd.as_fd(), &frame)).unwrap();
    let seen = read_until(&mut pipe, &second, Duration::from_secs(5));
    assert_eq!(seen.last(), Some(&second), "saw {seen:?}");
    assert!(
        !seen.contains(&first),
        "cleared before it was read: {seen:?}"
    );
}
