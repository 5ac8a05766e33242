//! A cause is printed once. The rule, in every crate: an error's `Display`
//! is its whole message, the text of its causes included, so `source()`
//! returns none of them. A caller that prints the whole chain (as
//! `anyhow`'s `{:#}` does, joining each link's text with ": ") then prints
//! each cause once — as `rxdp` does, printing the error alone.
//!
//! Each case below nests a cause whose text is unmistakable, walks the
//! chain the way such a caller does, and counts that text: once.

use std::error::Error;
use std::io;
use std::path::PathBuf;

use rxdp::externs::ExternError;
use rxdp::kernel_btf::KernelBtfError;
use rxdp::observe::Stage;
use rxdp::options::Mode;
use rxdp::pin::PinError;
use rxdp::status::StatusError;
use rxdp::unload::{Progress, UnloadError};
use rxdp::LoadError;
use rxdp_cli::CliError;
use rxdp_elf::btf::{BtfError, MapProblem};
use rxdp_elf::core::CoreError;
use rxdp_elf::externs::KconfigError;
use rxdp_elf::ksyms::KsymError;
use rxdp_elf::relocate::{RelocProblem, RelocateError};
use rxdp_elf::ParseError;
use rxdp_syscalls::fs::lock::LockError;
use rxdp_syscalls::Error as SysError;

/// Every link of the chain, outermost first, as a chain printer sees it.
fn chain(error: &dyn Error) -> Vec<String> {
    let mut links = vec![error.to_string()];
    let mut next = error.source();
    while let Some(cause) = next {
        links.push(cause.to_string());
        next = cause.source();
    }
    links
}

/// `cause` appears exactly once in the whole printed chain of `error`.
fn printed_once(error: &dyn Error, cause: &str) {
    let whole = chain(error).join(": ");
    assert_eq!(
        whole.matches(cause).count(),
        1,
        "{cause:?} in the printed chain: {whole}"
    );
}

/// The kernel's words: text no other part of a message has.
fn kernel_error(op: &'static str) -> SysError {
    SysError::new(op, libc::EINVAL).with_kernel_message("the kernel's own words, once")
}

const KERNEL_WORDS: &str = "the kernel's own words, once";

fn btf_magic() -> BtfError {
    BtfError::BadMagic {
        what: "BTF",
        magic: 0x1234,
    }
}

/// An attach the kernel refused.
fn attach_error() -> LoadError {
    LoadError::Attach {
        file: "x.o".into(),
        dev: "veth0".into(),
        mode: Mode::Drv,
        error: kernel_error("RTM_SETLINK"),
    }
}

/// A kfunc the kernel does not have.
fn unknown_kfunc() -> KsymError {
    KsymError::MissingKfunc {
        name: "bpf_nothing".into(),
        caller: "p".into(),
    }
}

#[test]
fn object_errors_print_their_btf_cause_once() {
    let magic = btf_magic().to_string();
    printed_once(
        &ParseError::Btf {
            section: ".BTF",
            error: btf_magic(),
        },
        &magic,
    );
    let nested = BtfError::Map {
        map: "jmp".into(),
        problem: MapProblem::MemberType {
            member: "key".into(),
            error: Box::new(btf_magic()),
        },
    };
    printed_once(
        &ParseError::BtfMap {
            map: "jmp".into(),
            error: nested,
        },
        &magic,
    );
    let relocate = RelocateError {
        program: "p".into(),
        section: "xdp".into(),
        function: "p".into(),
        insn: 3,
        symbol: "task".into(),
        problem: RelocProblem::Core {
            kind: "byte_off",
            access: "0:1".into(),
            error: CoreError::Btf(btf_magic()),
        },
    };
    printed_once(&relocate, &magic);
    printed_once(&unknown_kfunc(), "bpf_nothing");
}

#[test]
fn load_errors_print_the_kernels_words_and_their_causes_once() {
    let map = LoadError::Map {
        file: "x.o".into(),
        index: 0,
        map: "jmp".into(),
        what: "create".into(),
        error: kernel_error("BPF_MAP_CREATE"),
    };
    printed_once(&map, KERNEL_WORDS);
    // Wrapped by a rollback that could not undo everything.
    let rolled_back = LoadError::Rollback {
        error: Box::new(map),
        left: vec!["pin /sys/fs/bpf/x".into()],
    };
    printed_once(&rolled_back, KERNEL_WORDS);
    printed_once(&rolled_back, "pin /sys/fs/bpf/x");
    let attach = attach_error();
    printed_once(&attach, KERNEL_WORDS);
    let pin = LoadError::Pin {
        file: "x.o".into(),
        stage: Stage::Pin,
        path: PathBuf::from("/sys/fs/bpf/x"),
        error: kernel_error("BPF_OBJ_PIN"),
    };
    printed_once(&pin, KERNEL_WORDS);
    let read = LoadError::Read {
        file: "x.o".into(),
        error: io::Error::other("a reading failure, once"),
    };
    printed_once(&read, "a reading failure, once");
    let parse = LoadError::Parse {
        file: "x.o".into(),
        error: ParseError::Btf {
            section: ".BTF",
            error: btf_magic(),
        },
    };
    printed_once(&parse, &btf_magic().to_string());
    let kfunc = LoadError::KernelBtf {
        file: "x.o".into(),
        error: KernelBtfError::Read {
            path: PathBuf::from("/sys/kernel/btf/vmlinux"),
            error: io::Error::other("no BTF here, once"),
        },
    };
    printed_once(&kfunc, "no BTF here, once");
    let missing = LoadError::KernelBtf {
        file: "x.o".into(),
        error: KernelBtfError::Ksym {
            error: unknown_kfunc(),
            looked: vec!["/sys/kernel/btf/vmlinux".into()],
        },
    };
    printed_once(&missing, "bpf_nothing (called by p)");
    let kconfig = LoadError::Extern {
        file: "x.o".into(),
        stage: Stage::Resolve,
        error: ExternError::Kconfig {
            error: KconfigError::Unset {
                name: "CONFIG_NOT_HERE_ONCE".into(),
            },
            looked: vec!["/proc/config.gz".into()],
        },
    };
    printed_once(&kconfig, "CONFIG_NOT_HERE_ONCE");
}

#[test]
fn unload_status_and_command_errors_print_their_causes_once() {
    let unload = UnloadError::Detach {
        dev: "veth0".into(),
        mode: Mode::Skb,
        id: 7,
        error: kernel_error("RTM_SETLINK"),
        done: Progress::default(),
    };
    printed_once(&unload, KERNEL_WORDS);
    let status = StatusError::Kernel {
        what: "list links".into(),
        error: kernel_error("RTM_GETLINK"),
    };
    printed_once(&status, KERNEL_WORDS);
    for error in [
        CliError::Unload(unload),
        CliError::Status(status),
        CliError::Kernel {
            what: "read the trace pipe".into(),
            error: kernel_error("read"),
        },
        CliError::Load(attach_error()),
    ] {
        printed_once(&error, KERNEL_WORDS);
    }
    let read = CliError::Read {
        path: "x.o".into(),
        error: io::Error::other("a reading failure, once"),
    };
    printed_once(&read, "a reading failure, once");
}

#[test]
fn pin_lock_and_attach_race_errors_print_their_causes_once() {
    let pins = LoadError::Pins {
        file: "x.o".into(),
        stage: Stage::Pin,
        error: PinError::Sys(kernel_error("mkdirat")),
    };
    printed_once(&pins, KERNEL_WORDS);
    let symlink = LoadError::Pins {
        file: "x.o".into(),
        stage: Stage::Resolve,
        error: PinError::Symlink {
            path: PathBuf::from("/sys/fs/bpf/rxdp/veth0"),
            target: Some("a planted target, once".into()),
        },
    };
    printed_once(&symlink, "a planted target, once");
    let shared = LoadError::SharedPin {
        file: "x.o".into(),
        index: 0,
        map: "jmp".into(),
        error: PinError::Sys(kernel_error("BPF_OBJ_GET")),
    };
    printed_once(&shared, KERNEL_WORDS);
    let lock = LoadError::Lock {
        file: "x.o".into(),
        stage: Stage::Pin,
        what: "device veth0".into(),
        error: LockError::Sys(kernel_error("flock")),
    };
    printed_once(&lock, KERNEL_WORDS);
    let meanwhile = LoadError::AttachedMeanwhile {
        file: "x.o".into(),
        dev: "veth0".into(),
        mode: Mode::Skb,
        id: 7,
        name: "other".into(),
        error: kernel_error("RTM_SETLINK"),
    };
    // Its message names the errno, not the kernel's words; no cause
    // comes back from source() to print them again.
    assert!(meanwhile.source().is_none());
    for error in [pins, symlink, shared, lock] {
        assert!(error.source().is_none(), "{error}");
    }
    let unload_lock = UnloadError::Lock {
        dev: "veth0".into(),
        error: LockError::Sys(kernel_error("flock")),
    };
    printed_once(&unload_lock, KERNEL_WORDS);
    let unload_pins = UnloadError::Pins {
        dev: "veth0".into(),
        error: PinError::Sys(kernel_error("unlinkat")),
        done: Progress::default(),
    };
    printed_once(&unload_pins, KERNEL_WORDS);
    printed_once(&CliError::Unload(unload_pins), KERNEL_WORDS);
}
