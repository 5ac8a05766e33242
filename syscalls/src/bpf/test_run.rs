//! `BPF_PROG_TEST_RUN`: runs a program on a buffer, in the kernel, without a
//! device, and returns its verdict and output.
//!
//! For XDP the context is `struct xdp_md` (24 bytes: `data`, `data_end`,
//! `data_meta`, `ingress_ifindex`, `rx_queue_index`, `egress_ifindex`). To
//! run with metadata in front of the packet, put the metadata and then the
//! packet in `data_in`, and pass a context with `data_meta` 0, `data` = the
//! metadata length (a multiple of 4, at most 32), `data_end` =
//! `data_in.len()`; `ingress_ifindex` (with `rx_queue_index`) may name a
//! real device, `egress_ifindex` must be 0. The kernel refuses anything else
//! with EINVAL. [`xdp_md`] builds such a context.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::attr::{ptr, ptr_mut, TestRunAttr};
use super::sys::{bpf, Cmd};
use crate::error::{Error, Result};

/// `BPF_F_TEST_RUN_ON_CPU`: run on `cpu` rather than the current one.
pub const BPF_F_TEST_RUN_ON_CPU: u32 = 1 << 0;
/// `BPF_F_TEST_XDP_LIVE_FRAMES`: XDP verdicts take effect (frames are
/// really transmitted or redirected).
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// One test run.
#[derive(Debug, Clone, Copy)]
pub struct TestRun<'a> {
    pub prog_fd: BorrowedFd<'a>,
    /// The packet (for XDP: at least an Ethernet header, 14 bytes).
    pub data_in: &'a [u8],
    /// Room for the packet as the program leaves it; ENOSPC if it grew
    /// beyond. 0: do not copy it back.
    pub data_out_capacity: usize,
    /// The context (`struct xdp_md` for XDP, see the module doc); empty for
    /// the kernel's default.
    pub ctx_in: &'a [u8],
    /// Room for the context as the program leaves it; 0: do not copy back.
    pub ctx_out_capacity: usize,
    /// Runs; 0 and 1 both mean once. The duration is the mean per run.
    pub repeat: u32,
    /// `BPF_F_TEST_*`.
    pub flags: u32,
    /// The CPU, with [`BPF_F_TEST_RUN_ON_CPU`].
    pub cpu: u32,
}

impl<'a> TestRun<'a> {
    /// One run of `prog_fd` on `data_in`, with room for an output of up to
    /// a page (or the input's size, if larger), default context.
    pub fn new(prog_fd: BorrowedFd<'a>, data_in: &'a [u8]) -> TestRun<'a> {
        TestRun {
            prog_fd,
            data_in,
            data_out_capacity: data_in.len().max(4096),
            ctx_in: &[],
            ctx_out_capacity: 0,
            repeat: 1,
            flags: 0,
            cpu: 0,
        }
    }
}

/// What the run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value (for XDP the verdict: 2 is `XDP_PASS`).
    pub retval: u32,
    /// The packet after the (last) run.
    pub data_out: Vec<u8>,
    /// The context after the (last) run.
    pub ctx_out: Vec<u8>,
    /// Mean nanoseconds per run, as the kernel measured it.
    pub duration_ns: u32,
}

/// Runs a program (`BPF_PROG_TEST_RUN`).
pub fn prog_test_run(run: &TestRun<'_>) -> Result<TestRunResult> {
    let op = Cmd::ProgTestRun.name();
    let too_big = |what: &str, len: usize| {
        Error::new(op, libc::E2BIG).with_subject(format!("{what} of {len} bytes"))
    };
    let data_size_in =
        u32::try_from(run.data_in.len()).map_err(|_| too_big("data_in", run.data_in.len()))?;
    let ctx_size_in =
        u32::try_from(run.ctx_in.len()).map_err(|_| too_big("ctx_in", run.ctx_in.len()))?;
    let data_size_out = u32::try_from(run.data_out_capacity)
        .map_err(|_| too_big("data_out", run.data_out_capacity))?;
    let ctx_size_out = u32::try_from(run.ctx_out_capacity)
        .map_err(|_| too_big("ctx_out", run.ctx_out_capacity))?;
    let mut data_out = vec![0u8; run.data_out_capacity];
    let mut ctx_out = vec![0u8; run.ctx_out_capacity];
    let mut attr = TestRunAttr {
        prog_fd: run.prog_fd.as_raw_fd() as u32,
        data_size_in,
        data_size_out,
        data_in: ptr(run.data_in),
        data_out: ptr_mut(&mut data_out),
        repeat: run.repeat,
        ctx_size_in,
        ctx_size_out,
        ctx_in: ptr(run.ctx_in),
        ctx_out: ptr_mut(&mut ctx_out),
        flags: run.flags,
        cpu: run.cpu,
        ..TestRunAttr::default()
    };
    // SAFETY: data_in/ctx_in are read for data_size_in/ctx_size_in bytes;
    // data_out/ctx_out are written for at most data_size_out/ctx_size_out
    // bytes (kernel 5.0 and later honour these sizes, returning ENOSPC
    // rather than writing more); all are borrowed for the call.
    let result = unsafe { bpf(Cmd::ProgTestRun, &mut attr) };
    match result {
        Ok(_) => {}
        Err(error) if error.errno == libc::ENOSPC && !error.is_injected() => {
            let (what, needed, capacity) = if attr.data_size_out > data_size_out {
                ("data_out", attr.data_size_out, data_size_out)
            } else {
                ("ctx_out", attr.ctx_size_out, ctx_size_out)
            };
            return Err(error.with_subject(format!(
                "{what}: the program left {needed} bytes, room for {capacity}"
            )));
        }
        Err(error) => return Err(error),
    }
    // The kernel reports the sizes it wrote (never more than the room).
    data_out.truncate((attr.data_size_out as usize).min(run.data_out_capacity));
    ctx_out.truncate((attr.ctx_size_out as usize).min(run.ctx_out_capacity));
    Ok(TestRunResult {
        retval: attr.retval,
        data_out,
        ctx_out,
        duration_ns: attr.duration,
    })
}

/// The bytes of a `struct xdp_md` test-run context for `data_in` made of
/// `meta_len` bytes of metadata followed by `packet_len` bytes of packet.
pub fn xdp_md(meta_len: u32, packet_len: u32, ingress_ifindex: u32) -> [u8; 24] {
    let fields = [meta_len, meta_len + packet_len, 0, ingress_ifindex, 0, 0];
    let mut bytes = [0u8; 24];
    for (chunk, field) in bytes.chunks_exact_mut(4).zip(fields) {
        chunk.copy_from_slice(&field.to_ne_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_md_puts_metadata_before_the_packet() {
        let md = xdp_md(8, 60, 3);
        let field = |i: usize| u32::from_ne_bytes(md[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!((field(0), field(1), field(2), field(3)), (8, 68, 0, 3));
        assert_eq!((field(4), field(5)), (0, 0));
    }
}
