//! Running a loaded XDP program on a frame, without a device:
//! `BPF_PROG_TEST_RUN`, what `rxdp run` does after loading.
//!
//! The kernel runs the program as if the frame had arrived, and follows
//! its tail calls through the prog arrays the load filled (a test run is a
//! real run: `bpf_tail_call` and the maps work as on a device). What it
//! gives back:
//!
//! - the return value, the XDP verdict ([`verdict_name`]);
//! - the frame as the program left it, **starting at the metadata area**:
//!   the kernel copies out from `data_meta`, so a program that reserved
//!   metadata with `bpf_xdp_adjust_meta` leaves it in front of the frame.
//!   The context it gives back (`struct xdp_md`, `data` now counted from
//!   `data_meta`) says how long that area is: [`Outcome::meta_len`];
//! - the mean time per run.
//!
//! A program's changes to the frame are not undone between the runs of
//! one `BPF_PROG_TEST_RUN` with `repeat` > 1 (the kernel reuses the
//! buffer: a program that grows the head by 8 bytes grows it by 8 more on
//! every run). So [`run`] takes the verdict and the frame from a single
//! run, and times the `repeat` runs separately.

use std::os::fd::BorrowedFd;

use rxdp_syscalls::bpf::{prog_test_run, xdp_md, TestRun};
use rxdp_syscalls::Error as SysError;

/// Size of `struct xdp_md`.
const XDP_MD_SIZE: usize = 24;

/// What a test run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The program's return value: the XDP verdict.
    pub retval: u32,
    /// What the kernel copied out: the metadata area (`meta_len` bytes),
    /// then the frame.
    pub data_out: Vec<u8>,
    /// Bytes of metadata at the start of `data_out`.
    pub meta_len: usize,
    /// Mean nanoseconds per run over `repeat` runs.
    pub duration_ns: u32,
    /// How many runs the time is the mean of.
    pub repeat: u32,
}

impl Outcome {
    /// The metadata the program left in front of the frame.
    pub fn metadata(&self) -> &[u8] {
        self.data_out.get(..self.meta_len).unwrap_or_default()
    }

    /// The frame after the program, without the metadata.
    pub fn frame(&self) -> &[u8] {
        self.data_out.get(self.meta_len..).unwrap_or_default()
    }
}

/// `XDP_ABORTED` .. `XDP_REDIRECT` (uapi `enum xdp_action`).
pub fn verdict_name(retval: u32) -> Option<&'static str> {
    Some(match retval {
        0 => "XDP_ABORTED",
        1 => "XDP_DROP",
        2 => "XDP_PASS",
        3 => "XDP_TX",
        4 => "XDP_REDIRECT",
        _ => return None,
    })
}

/// Runs the XDP program `prog` once on `frame` for the verdict and the
/// frame it leaves, then `repeat` times (when more than once) for the
/// mean time per run.
pub fn run(prog: BorrowedFd<'_>, frame: &[u8], repeat: u32) -> Result<Outcome, SysError> {
    let len = u32::try_from(frame.len()).map_err(|_| {
        SysError::new("BPF_PROG_TEST_RUN", libc::E2BIG)
            .with_subject(format!("a frame of {} bytes", frame.len()))
    })?;
    // A context of our own (no metadata, the whole frame) is what lets the
    // kernel copy the context back, and with it the metadata length.
    let ctx = xdp_md(0, len, 0);
    let mut once = TestRun::new(prog, frame);
    once.ctx_in = &ctx;
    once.ctx_out_capacity = XDP_MD_SIZE;
    let first = prog_test_run(&once)?;
    // `data` of the returned xdp_md: where the frame starts, counted from
    // data_meta.
    let meta_len = first
        .ctx_out
        .get(..4)
        .map_or(0, |d| u32::from_ne_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .min(first.data_out.len());
    let duration_ns = if repeat > 1 {
        let mut timed = once;
        timed.repeat = repeat;
        timed.data_out_capacity = 0;
        timed.ctx_out_capacity = 0;
        prog_test_run(&timed)?.duration_ns
    } else {
        first.duration_ns
    };
    Ok(Outcome {
        retval: first.retval,
        data_out: first.data_out,
        meta_len,
        duration_ns,
        repeat: repeat.max(1),
    })
}
