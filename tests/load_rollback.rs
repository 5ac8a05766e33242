//! Full rollback: a load that fails at any syscall leaves nothing behind —
//! no fd open in the process, no pin, nothing attached — and says at which
//! stage it stopped.
//!
//! In-process, through the syscall seam: syscall N of the article's load
//! (jump entry and attach on a veth pair) fails with ENOMEM, then EPERM,
//! for N = 1, 2, ... until a load succeeds with no fault injected. One test
//! function only: `/proc/self/fd` must not see other tests' fds.

#[path = "load_common.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::*;
use rxdp::{load, AttachOptions, JumpRequest, LoadOptions, Mode, NoObserver, Ref, Stage};
use rxdp_kernel_tests::{require_kernel, VethPair};
use rxdp_syscalls::seam;

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

#[test]
fn a_failure_at_any_syscall_leaves_nothing_behind() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name().to_string();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(&dev));
    let mut options = LoadOptions::new(obj("tail_kern"));
    options.jumps.push(JumpRequest {
        map: Ref::Index(0),
        key: 78,
        prog: Ref::Index(1),
    });
    options.attach = Some(AttachOptions {
        mode: Mode::Skb,
        ..AttachOptions::new(&dev)
    });

    let before = open_fds();
    for errno in [libc::ENOMEM, libc::EPERM] {
        let mut stages = BTreeSet::new();
        let mut nth = 1;
        loop {
            assert!(nth < 500, "the load never succeeded");
            seam::fail_nth(nth, errno);
            let result = load(&options, &mut NoObserver);
            let fired = seam::syscall_count() >= nth;
            seam::clear_fault();
            match result {
                Err(error) => {
                    assert!(fired, "syscall {nth}: failed without a fault: {error}");
                    let message = error.to_string();
                    let stage = error.stage();
                    assert!(
                        message.contains(&format!(": {}: ", stage.name())),
                        "syscall {nth}: the error does not name its stage: {message}"
                    );
                    assert!(
                        !matches!(error, rxdp::LoadError::Rollback { .. }),
                        "syscall {nth}: the rollback failed: {message}"
                    );
                    stages.insert(stage);
                    assert_eq!(
                        open_fds(),
                        before,
                        "syscall {nth} ({message}): fds left open"
                    );
                    assert!(
                        !device_pins(&dev).exists(),
                        "syscall {nth} ({message}): pins left in {}",
                        device_pins(&dev).display()
                    );
                    let state = xdp(ifindex);
                    assert_eq!(
                        state.skb_prog_id.or(state.drv_prog_id),
                        None,
                        "syscall {nth} ({message}): a program stayed attached"
                    );
                }
                Ok(loaded) => {
                    assert!(!fired, "syscall {nth}: the injected {errno} was ignored");
                    assert!(loaded.attach.is_some() && loaded.pin_dir.is_some());
                    drop(loaded);
                    rxdp::unload(&dev, None).unwrap_or_else(|error| panic!("unload: {error}"));
                    break;
                }
            }
            nth += 1;
        }
        // Every stage that makes syscalls failed once (open reads with std,
        // relocate makes none for this object).
        let expected = [
            Stage::Resolve,
            Stage::LoadBtf,
            Stage::CreateMaps,
            Stage::LoadPrograms,
            Stage::FillJumpTables,
            Stage::Pin,
            Stage::Attach,
            Stage::PublishPins,
        ];
        for stage in expected {
            assert!(
                stages.contains(&stage),
                "{errno}: no failure in stage {stage}: {stages:?}"
            );
        }
        assert_eq!(open_fds(), before);
    }
}
