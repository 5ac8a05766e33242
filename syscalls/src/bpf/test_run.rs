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
use std::sync::OnceLock;

use super::attr::{ptr, ptr_mut, TestRunAttr};
use super::sys::{bpf, Cmd};
use crate::error::{Error, Result};
use crate::netlink;

/// `BPF_F_TEST_RUN_ON_CPU`: run on `cpu` rather than the current one.
pub const BPF_F_TEST_RUN_ON_CPU: u32 = 1 << 0;
/// `BPF_F_TEST_XDP_LIVE_FRAMES`: XDP verdicts take effect (frames are
/// really transmitted or redirected).
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// One test run. Start from [`TestRun::new`] and set what else it needs:
/// more fields may come.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TestRun<'a> {
    /// The program to run.
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

/// `XDP_PACKET_HEADROOM`: the room a test run leaves in front of an XDP
/// frame, into which `bpf_xdp_adjust_head` may grow it.
const XDP_PACKET_HEADROOM: usize = 256;
/// `NET_IP_ALIGN`, 2 on the architectures that have it (0 on x86): counted
/// everywhere, the bound only grows by it.
const NET_IP_ALIGN: usize = 2;
/// `ETH_HLEN`: the loopback device's `hard_header_len`.
const ETH_HLEN: usize = 14;

/// Whether the running kernel bounds what it copies to `data_out` by
/// `data_size_out` (5.0 and later; "bpf: respect size hint to
/// BPF_PROG_TEST_RUN if present"). Asked once per process (`uname`).
fn kernel_honours_data_size_out() -> bool {
    static HONOURS: OnceLock<bool> = OnceLock::new();
    *HONOURS.get_or_init(|| {
        nix::sys::utsname::uname()
            .ok()
            .and_then(|name| name.release().to_str().map(|r| release_at_least(r, 5, 0)))
            // A release this cannot read is a kernel newer than any it knows.
            .unwrap_or(true)
    })
}

/// Whether a kernel release (`4.19.0-27-amd64`) is `major.minor` or later.
fn release_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        (Some(a), None) => a > major,
        _ => true,
    }
}

/// The bytes to allocate for `data_out` when `requested` were asked for.
///
/// Kernels since 5.0 copy at most `data_size_out` bytes and answer ENOSPC
/// when the frame grew beyond: the request is the room. Older ones ignore
/// `data_size_out` and copy the whole frame as the program left it, so
/// the buffer must hold the largest frame they can leave (every program
/// type they test-run): an XDP frame is the input plus the headroom the
/// head may grow into (its tail cannot grow before 5.8); an skb is at most
/// what the helpers let it grow to, `__bpf_skb_max_len()` of the device
/// the test skb belongs to — the loopback device of the caller's network
/// namespace, its MTU plus its 14-byte header. `loopback_mtu` is asked
/// only then.
fn out_room(
    requested: usize,
    data_in: usize,
    honoured: bool,
    loopback_mtu: impl FnOnce() -> Result<u32>,
) -> Result<usize> {
    if requested == 0 || honoured {
        // Zero room is a null `data_out`: the kernel copies nothing.
        return Ok(requested);
    }
    let xdp = data_in.saturating_add(XDP_PACKET_HEADROOM + NET_IP_ALIGN);
    let skb = (loopback_mtu()? as usize).saturating_add(ETH_HLEN);
    Ok(requested.max(xdp).max(skb))
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
    let room = out_room(
        run.data_out_capacity,
        run.data_in.len(),
        kernel_honours_data_size_out(),
        || netlink::link_by_name("lo").map(|lo| lo.mtu),
    )?;
    let mut data_out = vec![0u8; room];
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
    // SAFETY: data_in/ctx_in are read for data_size_in/ctx_size_in bytes.
    // data_out is written for at most `room` bytes: data_size_out on
    // kernels 5.0 and later, which return ENOSPC rather than write more;
    // on older ones the whole frame, which `out_room` bounds (a null
    // data_out when the room is 0 is never written). ctx_out is written
    // for at most ctx_size_out bytes (kernels before 5.2, which do not
    // know the ctx fields, refuse them non-zero with EINVAL). All are
    // borrowed for the call.
    let result = unsafe { bpf(Cmd::ProgTestRun, &mut attr) };
    let overflow = |what: &str, needed: u32, capacity: u32| {
        format!("{what}: the program left {needed} bytes, room for {capacity}")
    };
    match result {
        Ok(_) => {}
        Err(error) if error.errno == libc::ENOSPC && !error.is_injected() => {
            let subject = if attr.data_size_out > data_size_out {
                overflow("data_out", attr.data_size_out, data_size_out)
            } else {
                overflow("ctx_out", attr.ctx_size_out, ctx_size_out)
            };
            return Err(error.with_subject(subject));
        }
        Err(error) => return Err(error),
    }
    // An old kernel copied more than was asked for: the ENOSPC a newer one
    // gives.
    if attr.data_size_out > data_size_out && !data_out.is_empty() {
        return Err(Error::new(op, libc::ENOSPC).with_subject(overflow(
            "data_out",
            attr.data_size_out,
            data_size_out,
        )));
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
    fn kernel_releases_compare_by_major_and_minor() {
        assert!(release_at_least("6.18.44", 5, 0));
        assert!(release_at_least("5.0.0-rc1", 5, 0));
        assert!(!release_at_least("4.19.0-27-amd64", 5, 0));
        assert!(!release_at_least("4.20", 5, 0));
        assert!(release_at_least("5", 4, 9));
        assert!(release_at_least("garbage", 5, 0), "unknown: assume new");
    }

    #[test]
    fn old_kernels_get_room_for_the_largest_frame_they_write() {
        let asked = |_: ()| -> Result<u32> { panic!("no need to ask") };
        // 5.0 and later bound the copy themselves.
        assert_eq!(out_room(4096, 60, true, || asked(())), Ok(4096));
        // Nothing asked for: a null data_out, nothing copied, on any kernel.
        assert_eq!(out_room(0, 60, false, || asked(())), Ok(0));
        // Before 5.0: the loopback MTU plus its header, or the XDP input
        // plus its headroom, or the request, whichever is largest.
        assert_eq!(out_room(4096, 60, false, || Ok(65536)), Ok(65536 + 14));
        assert_eq!(out_room(4096, 100_000, false, || Ok(1500)), Ok(100_258));
        assert_eq!(out_room(1 << 20, 60, false, || Ok(65536)), Ok(1 << 20));
        let failed = out_room(4096, 60, false, || {
            Err(Error::new("RTM_GETLINK", libc::EPERM))
        });
        assert_eq!(failed.unwrap_err().errno, libc::EPERM);
    }

    #[test]
    fn xdp_md_puts_metadata_before_the_packet() {
        let md = xdp_md(8, 60, 3);
        let field = |i: usize| u32::from_ne_bytes(md[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!((field(0), field(1), field(2), field(3)), (8, 68, 0, 3));
        assert_eq!((field(4), field(5)), (0, 0));
    }
}
