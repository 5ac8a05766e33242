//! What the running system is: the kernel's release and version
//! (`uname(2)`) and the page size (`sysconf(3)`), which the loader needs
//! for `LINUX_KERNEL_VERSION`, `/boot/config-$(uname -r)` and ring buffer
//! sizes.

use std::sync::OnceLock;

/// `uname -r` and `uname -v`: the kernel's release (`6.1.0-27-amd64`) and
/// version (`#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 ...`); empty when
/// `uname(2)` fails.
pub fn kernel_release() -> (String, String) {
    nix::sys::utsname::uname()
        .map(|u| {
            (
                u.release().to_string_lossy().into_owned(),
                u.version().to_string_lossy().into_owned(),
            )
        })
        .unwrap_or_default()
}

/// The size of a memory page in bytes (4096 if `sysconf` cannot say).
pub fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|size| usize::try_from(size).ok())
            .filter(|&size| size > 0)
            .unwrap_or(4096)
    })
}
