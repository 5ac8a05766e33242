//! `BPF_BTF_LOAD`: hands an object's BTF (type information) to the kernel,
//! with the same log strategy as programs.

use std::os::fd::OwnedFd;

use super::attr::{ptr, ptr_mut, BtfLoadAttr};
use super::log::{with_growing_log, with_log, BPF_LOG_LEVEL1};
use super::sys::{bpf_fd, Cmd};
use crate::error::{Error, Result};

/// Loads a BTF blob (header, type and string sections, as in the `.BTF`
/// section of an object) and returns its fd, to pass as `btf_fd` to maps
/// and programs. On refusal the load is repeated with a log, which travels
/// with the error (its last line as `kernel_message`).
pub fn btf_load(data: &[u8]) -> Result<OwnedFd> {
    let op = Cmd::BtfLoad.name();
    let btf_size = u32::try_from(data.len()).map_err(|_| {
        Error::new(op, libc::E2BIG).with_subject(format!("BTF of {} bytes", data.len()))
    })?;
    let base = BtfLoadAttr {
        btf: ptr(data),
        btf_size,
        ..BtfLoadAttr::default()
    };
    let mut attr = base;
    // SAFETY: `data` is borrowed for the call and `btf_size` is its length;
    // there is no log buffer. BPF_BTF_LOAD returns a new fd.
    let refusal = match unsafe { bpf_fd(Cmd::BtfLoad, &mut attr) } {
        Ok(fd) => return Ok(fd),
        Err(error) if error.is_injected() => return Err(error),
        Err(error) => error,
    };
    let (result, log) = with_growing_log(|buffer| {
        let mut attr = BtfLoadAttr {
            btf_log_buf: ptr_mut(buffer),
            btf_log_size: buffer.len() as u32,
            btf_log_level: BPF_LOG_LEVEL1,
            ..base
        };
        // SAFETY: as above, plus the log buffer of `btf_log_size` bytes,
        // exclusively borrowed for the call.
        let result = unsafe { bpf_fd(Cmd::BtfLoad, &mut attr) };
        (result, attr.btf_log_true_size)
    });
    match result {
        Ok(fd) => Ok(fd),
        Err(error) if error.errno == libc::ENOSPC => Err(with_log(refusal, log)),
        Err(error) => Err(with_log(error, log)),
    }
}
