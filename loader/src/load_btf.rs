//! Stage 2 (see `pipeline` for why before the maps): `BPF_BTF_LOAD` of the
//! object's `.BTF`, when it has one.
//!
//! The BTF describes map keys and values (so `bpftool map dump` can print
//! them, and so maps holding spin locks or timers can exist at all) and,
//! with `.BTF.ext`, lets the verifier name source lines. Maps need its fd at
//! creation, programs at load. clang writes extern declarations in forms
//! the kernel's checker refuses; `Btf::kernel_bytes` rewrites them first.

use std::os::fd::{AsRawFd, OwnedFd};

use rxdp_elf::Object;
use rxdp_syscalls::bpf::btf_load;

use crate::error::LoadError;
use crate::observe::{Event, Observer};

/// The object's BTF in the kernel, or `None` when the object has none.
pub fn load_btf(
    file: &str,
    object: &Object,
    observer: &mut dyn Observer,
) -> Result<Option<OwnedFd>, LoadError> {
    let Some(btf) = &object.btf else {
        return Ok(None);
    };
    let bytes = btf.kernel_bytes().map_err(|error| LoadError::BtfPrepare {
        file: file.to_string(),
        error,
    })?;
    let fd = btf_load(&bytes).map_err(|error| LoadError::Btf {
        file: file.to_string(),
        error,
    })?;
    observer.event(&Event::BtfLoaded {
        bytes: bytes.len(),
        fd: fd.as_raw_fd(),
    });
    Ok(Some(fd))
}
