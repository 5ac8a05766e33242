//! The one error type of rxdp-syscalls: which operation failed, the errno, what
//! the kernel said beyond the errno, and what the user can do about it.
//! It has no cause of its own to return from `source()`: the errno and the
//! kernel's words are its fields, and its `Display` says them once.

use std::fmt;

/// A failed kernel operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The operation, named as the uapi names it: `BPF_MAP_CREATE`,
    /// `RTM_SETLINK`, `BPF_OBJ_PIN`, `mount bpffs`.
    pub op: &'static str,
    /// The errno the kernel returned.
    pub errno: i32,
    /// What the operation was about: a pin path, an interface name, a map name.
    pub subject: Option<String>,
    /// The kernel's own words: the netlink extended-ack message
    /// (`NLMSGERR_ATTR_MSG`) or the tail of a verifier/BTF log.
    pub kernel_message: Option<String>,
    /// The full verifier or BTF log, when the kernel wrote one.
    pub log: Option<String>,
}

/// A result whose error is an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The hint for a path whose permissions refuse the operation.
const FILE_PERMISSIONS: &str = "the path's permissions do not allow it (bpffs and tracefs \
                                are root's; rxdp makes its pin directories with mode 0700): run \
                                as root";

/// The `kernel_message` of a failure the test seam injected
/// ([`crate::seam`], feature `fault-injection`).
pub(crate) const INJECTED: &str = "injected fault";

impl Error {
    /// `op` failed with `errno`; nothing else known yet.
    pub fn new(op: &'static str, errno: i32) -> Error {
        Error {
            op,
            errno,
            subject: None,
            kernel_message: None,
            log: None,
        }
    }

    /// The errno of the last failed libc call.
    pub fn last(op: &'static str) -> Error {
        Error::new(
            op,
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// The same error, about `subject` (a path, an interface, a map).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Error {
        self.subject = Some(subject.into());
        self
    }

    /// The same error, with the kernel's words (ignored when empty).
    pub fn with_kernel_message(mut self, message: impl Into<String>) -> Error {
        let message = message.into();
        if !message.is_empty() {
            self.kernel_message = Some(message);
        }
        self
    }

    /// The same error, with the whole verifier or BTF log (ignored when
    /// empty).
    pub fn with_log(mut self, log: impl Into<String>) -> Error {
        let log = log.into();
        if !log.is_empty() {
            self.log = Some(log);
        }
        self
    }

    /// Whether the test seam made this failure up (feature
    /// `fault-injection`). Retries that exist to *explain* a failure (a
    /// reload with a verifier log) are skipped for those, so an injected
    /// failure stays a failure.
    pub fn is_injected(&self) -> bool {
        self.kernel_message.as_deref() == Some(INJECTED)
    }

    /// Whether the subject is a path with a dot inside a name (`a/b.c`),
    /// which bpffs refuses with EPERM.
    fn names_dotted_path(&self) -> bool {
        let path_op = matches!(self.op, "mkdir" | "BPF_OBJ_PIN" | "renameat2");
        path_op
            && self.subject.as_deref().is_some_and(|subject| {
                subject
                    .split('/')
                    .any(|name| name.contains('.') && name != "." && name != "..")
            })
    }

    /// The symbolic errno name (`EPERM`), or its number.
    pub fn errno_name(&self) -> String {
        errno_name(self.errno)
    }

    /// Whether the kernel's extack message contains `words`.
    fn kernel_says(&self, words: &str) -> bool {
        self.kernel_message
            .as_deref()
            .is_some_and(|message| message.contains(words))
    }

    /// What to do next, from the operation and the errno.
    ///
    /// A missing capability is named for what needs it: `CAP_NET_ADMIN`
    /// for netlink changes, `CAP_SYS_ADMIN` for opening objects by id
    /// (`BPF_*_GET_FD_BY_ID`, `BPF_*_GET_NEXT_ID`) and for mounting,
    /// `CAP_BPF` with `CAP_NET_ADMIN` for loading. On a path (bpffs,
    /// tracefs) EACCES — and EPERM when removing or renaming, which the
    /// sticky bit of `/sys/fs/bpf` refuses — is the file's permissions, not
    /// a capability. Root is never told to run as root.
    pub fn hint(&self) -> Option<&'static str> {
        self.hint_for(nix::unistd::geteuid().is_root())
    }

    /// [`Error::hint`] for a process that runs as root (`root`) or not: a
    /// hint never tells root to run as root.
    pub fn hint_for(&self, root: bool) -> Option<&'static str> {
        let netlink = self.op.starts_with("RTM_");
        let by_id = self.op.ends_with("_GET_FD_BY_ID") || self.op.ends_with("_GET_NEXT_ID");
        let path_op = matches!(
            self.op,
            "mkdir"
                | "mkdirat"
                | "lstat"
                | "fstatat"
                | "readdir"
                | "getdents64"
                | "unlink"
                | "unlinkat"
                | "rmdir"
                | "open"
                | "openat"
                | "renameat2"
                | "symlinkat"
                | "readlinkat"
                | "statfs"
                | "flock"
                | "BPF_OBJ_PIN"
                | "BPF_OBJ_GET"
        );
        let removes = matches!(self.op, "unlink" | "unlinkat" | "rmdir" | "renameat2");
        match self.errno {
            libc::EMFILE | libc::ENFILE => Some(
                "too many open files: raise the limit (ulimit -n); a load holds one fd for each \
                 map and program of the object, and a few more",
            ),
            libc::EPERM if netlink && root => {
                Some("root lacks CAP_NET_ADMIN here (a container or user namespace?): grant it")
            }
            libc::EPERM if netlink => Some("run as root or grant CAP_NET_ADMIN"),
            libc::EPERM if self.names_dotted_path() => Some(
                "bpffs refuses names containing '.' (if the path is on bpffs; else run as root)",
            ),
            libc::EPERM if by_id && root => Some(
                "root lacks CAP_SYS_ADMIN here (a container or user namespace?): the kernel \
                 opens programs and maps by id only for it",
            ),
            libc::EPERM if by_id => Some(
                "run as root or grant CAP_SYS_ADMIN (the kernel opens programs and maps by id \
                 only for it)",
            ),
            libc::EPERM if self.op == "mount bpffs" => Some(
                "mounting bpffs needs CAP_SYS_ADMIN: run as root, or mount it first \
                 (mount -t bpf bpf /sys/fs/bpf)",
            ),
            libc::EPERM if self.op == "BPF_OBJ_PIN" && root => Some(
                "the kernel pins only on a bpffs (mount -t bpf bpf DIR) and refuses names \
                 containing '.' there",
            ),
            libc::EACCES | libc::EPERM if path_op && root => Some(
                "root was refused: a security module (SELinux, AppArmor) or a read-only mount \
                 forbids it",
            ),
            libc::EACCES if path_op => Some(FILE_PERMISSIONS),
            libc::EPERM if removes => Some(FILE_PERMISSIONS),
            libc::EPERM if root => Some(
                "root lacks CAP_BPF or CAP_NET_ADMIN here (a container or user namespace?), or \
                 lockdown forbids BPF: grant them",
            ),
            libc::EPERM => Some("run as root or grant CAP_BPF and CAP_NET_ADMIN"),
            libc::EACCES if self.op == "BPF_PROG_LOAD" => {
                Some("the verifier rejected the program; its log says why (-v shows all of it)")
            }
            libc::EACCES if root => Some(
                "root lacks CAP_BPF or CAP_NET_ADMIN here (a container or user namespace?): \
                 grant them",
            ),
            libc::EACCES => Some("run as root or grant CAP_BPF and CAP_NET_ADMIN"),
            libc::ENOSPC if self.op == "BPF_PROG_LOAD" || self.op == "BPF_BTF_LOAD" => {
                Some("the log did not fit in 16 MiB; ask for a lower log level")
            }
            libc::ENOENT if self.subject.is_some() => Some("check that the path or name exists"),
            libc::EOPNOTSUPP if netlink => {
                Some("the device or driver does not support this XDP mode; try --mode skb")
            }
            libc::EBUSY if netlink && self.kernel_says("XDP link") => Some(LINK_HOLDS_SLOT),
            libc::EBUSY if netlink => {
                Some("another XDP program is attached in this mode; use --force to replace it")
            }
            // dev_xdp_attach() answers EEXIST for two more conflicts than
            // the one --force settles; its extack text tells them apart.
            libc::EEXIST if netlink && self.kernel_says("Native and generic") => Some(
                "a program is attached in the other of skb and drv mode; detach it first \
                 (rxdp unload --dev IF --mode M) or load in that mode",
            ),
            libc::EEXIST if netlink && self.kernel_says("does not match expected") => Some(
                "the attached program changed while rxdp was loading (another loader?); \
                 check with rxdp status and run again",
            ),
            libc::EEXIST if netlink => {
                Some("an XDP program is already attached; use --force to replace it")
            }
            libc::ENODEV | libc::ENXIO if netlink => Some("check the interface name"),
            libc::EINVAL if self.op == "RTM_SETLINK" && self.kernel_message.is_none() => Some(
                "the kernel gave no reason; usual causes: more than one mode, a program that \
                 is not XDP, or a device that cannot run XDP in that mode (offload needs a NIC \
                 that runs BPF, such as nfp, or netdevsim; veth cannot)",
            ),
            _ => None,
        }
    }

    /// Whether a BPF link holds the XDP slot this netlink request was
    /// refused for (the kernel's words: "Can't replace active BPF XDP link").
    pub fn link_holds_slot(&self) -> bool {
        self.op.starts_with("RTM_") && self.errno == libc::EBUSY && self.kernel_says("XDP link")
    }
}

/// What to do about an XDP slot a BPF link holds.
pub const LINK_HOLDS_SLOT: &str = "a BPF link holds this XDP slot (BPF_LINK_CREATE, as \
                                   `rxdp-load --link`, xdp-loader and libbpf programs attach): \
                                   netlink can neither replace nor detach it, --force included; \
                                   `rxdp-load --link --force` replaces its program through the \
                                   link (BPF_LINK_UPDATE), `rxdp unload` removes a link rxdp \
                                   pinned, else the program that made the link must release it \
                                   (bpftool link show; bpftool link detach id N)";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(subject) = &self.subject {
            write!(f, " ({subject})")?;
        }
        let text = std::io::Error::from_raw_os_error(self.errno);
        let text = text.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text);
        write!(f, " failed: {} ({})", text, self.errno_name())?;
        if let Some(message) = &self.kernel_message {
            write!(f, ": kernel says \"{message}\"")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The kernel-internal `ENOTSUPP` (524), which `bpf(2)` lets through for
/// operations a device or program type does not support.
pub const ENOTSUPP: i32 = 524;

/// Symbolic names of the errnos rxdp's users meet.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::EPROTO => "EPROTO",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        ENOTSUPP => "ENOTSUPP",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOBUFS => "ENOBUFS",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EALREADY => "EALREADY",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_op_subject_errno_message_and_hint() {
        let error = Error::new("RTM_SETLINK", libc::EINVAL)
            .with_subject("veth0")
            .with_kernel_message("Native and generic XDP can't be active at the same time");
        assert_eq!(
            error.to_string(),
            "RTM_SETLINK (veth0) failed: Invalid argument (EINVAL): kernel says \
             \"Native and generic XDP can't be active at the same time\""
        );
        let error = Error::new("BPF_MAP_CREATE", libc::EPERM);
        assert_eq!(
            error.to_string(),
            format!(
                "BPF_MAP_CREATE failed: Operation not permitted (EPERM); {}",
                error.hint().unwrap()
            )
        );
        assert_eq!(errno_name(12345), "errno 12345");
    }

    #[test]
    fn hints_follow_the_operation_and_errno() {
        let hint = |error: &Error| error.hint_for(false).unwrap();
        let refused = Error::new("BPF_PROG_LOAD", libc::EACCES);
        assert!(hint(&refused).contains("verifier"));
        let denied = Error::new("BPF_MAP_CREATE", libc::EACCES);
        assert!(hint(&denied).contains("CAP_BPF"));
        let missing = Error::new("BPF_OBJ_GET", libc::ENOENT).with_subject("/sys/fs/bpf/x");
        assert!(missing.to_string().contains("(/sys/fs/bpf/x)"));
        assert!(missing.hint().is_some());
        let dotted = Error::new("mkdir", libc::EPERM).with_subject("/sys/fs/bpf/eth0.new/m");
        assert!(hint(&dotted).contains("'.'"));
        let plain = Error::new("mkdir", libc::EPERM).with_subject("/sys/fs/bpf/eth0");
        assert!(hint(&plain).starts_with("run as root"));
        let full = Error::new("BPF_PROG_LOAD", libc::ENOSPC);
        assert!(hint(&full).contains("16 MiB"));
    }

    #[test]
    fn attach_conflicts_are_told_apart_by_the_kernels_words() {
        let conflict = |message: Option<&str>| {
            let mut error = Error::new("RTM_SETLINK", libc::EEXIST);
            error.kernel_message = message.map(str::to_owned);
            error.hint().unwrap()
        };
        let modes = conflict(Some(
            "Native and generic XDP can't be active at the same time",
        ));
        assert!(modes.contains("other of skb and drv") && !modes.contains("--force"));
        let raced = conflict(Some("Active program does not match expected"));
        assert!(raced.contains("changed while rxdp was loading"));
        assert!(conflict(None).contains("--force"));
    }

    #[test]
    fn hints_name_the_capability_or_the_permissions_that_are_missing() {
        let hint = |op, errno| Error::new(op, errno).hint_for(false).unwrap();
        assert_eq!(
            hint("RTM_SETLINK", libc::EPERM),
            "run as root or grant CAP_NET_ADMIN"
        );
        assert!(hint("BPF_PROG_GET_FD_BY_ID", libc::EPERM).contains("CAP_SYS_ADMIN"));
        assert!(hint("BPF_MAP_GET_NEXT_ID", libc::EPERM).contains("CAP_SYS_ADMIN"));
        assert!(hint("mount bpffs", libc::EPERM).contains("CAP_SYS_ADMIN"));
        assert!(hint("BPF_BTF_LOAD", libc::EPERM).contains("CAP_BPF and CAP_NET_ADMIN"));
        for (op, errno) in [
            ("lstat", libc::EACCES),
            ("readdir", libc::EACCES),
            ("BPF_OBJ_GET", libc::EACCES),
            ("unlink", libc::EPERM),
            ("rmdir", libc::EPERM),
        ] {
            assert!(
                hint(op, errno).starts_with("the path's permissions do not allow it"),
                "{op} {errno}"
            );
        }
    }

    #[test]
    fn root_is_never_told_to_run_as_root() {
        for (op, errno) in [
            ("RTM_SETLINK", libc::EPERM),
            ("BPF_PROG_GET_FD_BY_ID", libc::EPERM),
            ("BPF_BTF_LOAD", libc::EPERM),
            ("BPF_MAP_CREATE", libc::EACCES),
            ("BPF_OBJ_PIN", libc::EPERM),
            ("mkdirat", libc::EACCES),
            ("unlinkat", libc::EPERM),
        ] {
            let hint = Error::new(op, errno).hint_for(true).unwrap();
            assert!(!hint.contains("run as root"), "{op} {errno}: {hint}");
            assert!(
                Error::new(op, errno)
                    .hint_for(false)
                    .unwrap()
                    .contains("root")
                    || op == "BPF_OBJ_PIN"
                    || op == "unlinkat",
                "{op} {errno}"
            );
        }
        let pin = Error::new("BPF_OBJ_PIN", libc::EPERM)
            .hint_for(true)
            .unwrap();
        assert!(pin.contains("only on a bpffs"), "{pin}");
    }

    #[test]
    fn too_many_open_files_and_held_links_are_named() {
        let fds = Error::new("BPF_PROG_LOAD", libc::EMFILE)
            .hint_for(true)
            .unwrap();
        assert!(fds.contains("ulimit -n"), "{fds}");
        let link = Error::new("RTM_SETLINK", libc::EBUSY)
            .with_kernel_message("Can't replace active BPF XDP link");
        assert!(link.link_holds_slot());
        let hint = link.hint_for(true).unwrap();
        assert!(
            hint.contains("BPF link") && hint.contains("--force included"),
            "{hint}"
        );
        assert!(!Error::new("RTM_SETLINK", libc::EBUSY).link_holds_slot());
    }

    #[test]
    fn injected_faults_are_recognisable() {
        assert!(Error::new("BPF_MAP_CREATE", libc::ENOMEM)
            .with_kernel_message(INJECTED)
            .is_injected());
        assert!(!Error::new("BPF_MAP_CREATE", libc::ENOMEM).is_injected());
    }
}
