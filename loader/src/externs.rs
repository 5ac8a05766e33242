//! The values a load gives an object's externs from the machine it runs
//! on: the `.kconfig` map (the kernel configuration and rxdp's own
//! `LINUX_*` values) and the addresses of untyped `__ksym` variables
//! (`/proc/kallsyms`). Files are read only for objects whose externs need
//! them. What the values mean is decided in `rxdp_elf::externs`; the
//! kernel's BTF, which typed `__ksym`s and kfuncs need, in
//! [`kernel_btf`](crate::kernel_btf).

use std::path::PathBuf;

use rxdp_elf::externs::{kconfig_data, needs_config, KconfigError};
use rxdp_elf::{ExternKind, Object};

use rxdp_syscalls::system::kernel_release as uname;

use crate::gunzip::gunzip;
use crate::probe;

/// Where the running kernel's configuration is, gzip-compressed
/// (`CONFIG_IKCONFIG_PROC`).
pub const PROC_CONFIG: &str = "/proc/config.gz";
/// Where the kernel's symbols and addresses are listed.
pub const KALLSYMS: &str = "/proc/kallsyms";
/// The most a kernel configuration may decompress to (they are ~200 KiB).
const CONFIG_LIMIT: usize = 64 << 20;

/// Why an extern could not be given its value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternError {
    /// A `__kconfig` extern.
    #[error("kconfig extern {error}{}", looked_in(looked))]
    Kconfig {
        /// What is wrong.
        error: KconfigError,
        /// The files read or tried, and what each said.
        looked: Vec<String>,
    },
    /// `/proc/kallsyms` could not be read.
    #[error("cannot read {}: {}; untyped __ksym variables take their addresses from it", path.display(), error)]
    Kallsyms {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        error: std::io::Error,
    },
    /// One name, two addresses in `/proc/kallsyms`.
    #[error("__ksym {name}: /proc/kallsyms lists it at {first:#x} and at {second:#x}; rxdp cannot tell which is meant")]
    KallsymsAmbiguous {
        /// The symbol.
        name: String,
        /// One address.
        first: u64,
        /// Another.
        second: u64,
    },
}

fn looked_in(looked: &[String]) -> String {
    if looked.is_empty() {
        String::new()
    } else {
        format!(" (looked in {})", looked.join("; "))
    }
}

/// `KERNEL_VERSION(a, b, c)` with `c` capped at 255, as the kernel's own
/// `LINUX_VERSION_CODE` is.
fn kernel_version_code(a: u32, b: u32, c: u32) -> u64 {
    (u64::from(a) << 16) + (u64::from(b) << 8) + u64::from(c.min(255))
}

/// The first `a.b.c` in `text`.
fn three_numbers(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.splitn(3, '.');
    let a = parts.next()?.trim().parse().ok()?;
    let b = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let c = rest[..end].parse().ok()?;
    Some((a, b, c))
}

/// `LINUX_KERNEL_VERSION` as libbpf computes it (`get_kernel_version`):
/// Ubuntu's `/proc/version_signature` (its third field), a Debian kernel's
/// `uname -v` (`Debian 6.1.192-3`), else `uname -r`.
pub fn linux_kernel_version() -> Option<u64> {
    if let Ok(signature) = std::fs::read_to_string("/proc/version_signature") {
        if let Some(v) = signature.split_whitespace().nth(2).and_then(three_numbers) {
            return Some(kernel_version_code(v.0, v.1, v.2));
        }
    }
    let (release, version) = uname();
    if let Some(at) = version.find("Debian ") {
        if let Some(v) = three_numbers(&version[at + "Debian ".len()..]) {
            return Some(kernel_version_code(v.0, v.1, v.2));
        }
    }
    three_numbers(&release).map(|v| kernel_version_code(v.0, v.1, v.2))
}

/// The kernel configuration's text: `/boot/config-$(uname -r)` (plain or
/// gzip), else `/proc/config.gz`. `None` when neither can be read; each
/// path tried goes into `looked` with what it said.
pub fn read_config(looked: &mut Vec<String>) -> Option<String> {
    let (release, _) = uname();
    for path in [format!("/boot/config-{release}"), PROC_CONFIG.to_string()] {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                let text = error.to_string();
                let text = text.split(" (os error").next().unwrap_or(&text);
                looked.push(format!("{path}: {text}"));
                continue;
            }
        };
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            match gunzip(&bytes, CONFIG_LIMIT) {
                Ok(text) => text,
                Err(error) => {
                    looked.push(format!("{path}: {error}"));
                    continue;
                }
            }
        } else {
            bytes
        };
        looked.push(path);
        return Some(String::from_utf8_lossy(&text).into_owned());
    }
    None
}

/// `LINUX_HAS_SYSCALL_WRAPPER`: whether syscalls enter through
/// `__<arch>_sys_*` wrappers. libbpf opens a kprobe on `__<arch>_sys_bpf`
/// and answers whether that worked; rxdp makes no kprobe, and checks what
/// that needs: kprobes in the kernel, and the wrapper in `/proc/kallsyms`.
fn has_syscall_wrapper() -> Result<bool, ExternError> {
    let Some(prefix) = probe::syscall_wrapper_prefix() else {
        return Ok(false);
    };
    if !probe::kprobes_available() {
        return Ok(false);
    }
    let name = format!("{prefix}sys_bpf");
    Ok(!kallsyms(&[name.as_str()])?.is_empty())
}

/// What filling the `.kconfig` map did.
#[derive(Debug, Default)]
pub struct Filled {
    /// A string cut to fit; no configuration to read for weak externs.
    pub warnings: Vec<String>,
    /// The configuration file read, if one was.
    pub config: Option<String>,
}

/// Fills the `.kconfig` map of the object, if it has one: its value from
/// the kernel configuration (read only for `CONFIG_*` externs) and rxdp's
/// `LINUX_*` values (each computed only when asked).
pub fn fill_kconfig(object: &mut Object) -> Result<Filled, ExternError> {
    let Some(map) = object.kconfig_map() else {
        return Ok(Filled::default());
    };
    let mut looked = Vec::new();
    let config = if needs_config(&object.externs) {
        read_config(&mut looked)
    } else {
        None
    };
    let config_path = config.as_ref().and_then(|_| looked.last().cloned());
    let mut probe_error = None;
    let data = kconfig_data(&object.externs, config.as_deref(), |name| match name {
        "LINUX_KERNEL_VERSION" => linux_kernel_version(),
        "LINUX_HAS_BPF_COOKIE" => Some(u64::from(probe::bpf_cookie())),
        "LINUX_HAS_SYSCALL_WRAPPER" => match has_syscall_wrapper() {
            Ok(has) => Some(u64::from(has)),
            Err(error) => {
                probe_error = Some(error);
                Some(0)
            }
        },
        _ => None,
    });
    if let Some(error) = probe_error {
        return Err(error);
    }
    let data = data.map_err(|error| ExternError::Kconfig {
        error,
        looked: looked.clone(),
    })?;
    let mut warnings = data.warnings;
    if config.is_none() && needs_config(&object.externs) {
        warnings.push(format!(
            "no kernel configuration could be read ({}): the weak CONFIG_* externs are 0",
            looked.join("; ")
        ));
    }
    if let Some(map) = object.maps.get_mut(map) {
        map.data = Some(data.bytes);
    }
    Ok(Filled {
        warnings,
        config: config_path,
    })
}

/// The addresses of `names` in `/proc/kallsyms` (a name found twice at
/// two addresses is an error, as in libbpf; a data symbol's `.llvm.<hash>`
/// suffix, which LTO kernels add, is ignored).
pub fn kallsyms(names: &[&str]) -> Result<Vec<(String, u64)>, ExternError> {
    let text = std::fs::read_to_string(KALLSYMS).map_err(|error| ExternError::Kallsyms {
        path: PathBuf::from(KALLSYMS),
        error,
    })?;
    kallsyms_in(&text, names)
}

/// [`kallsyms`] of a `/proc/kallsyms` text: `address type name [module]`
/// lines.
fn kallsyms_in(text: &str, names: &[&str]) -> Result<Vec<(String, u64)>, ExternError> {
    let mut found: Vec<(String, u64)> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split(' ');
        let (Some(address), Some(kind), Some(symbol)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let symbol = symbol.split('\t').next().unwrap_or(symbol);
        let symbol = match symbol.find(".llvm.") {
            Some(at) if kind == "d" => &symbol[..at],
            _ => symbol,
        };
        if !names.contains(&symbol) {
            continue;
        }
        let Ok(address) = u64::from_str_radix(address, 16) else {
            continue;
        };
        match found.iter().find(|(name, _)| name == symbol) {
            Some(&(_, first)) if first != address => {
                return Err(ExternError::KallsymsAmbiguous {
                    name: symbol.to_string(),
                    first,
                    second: address,
                })
            }
            Some(_) => {}
            None => found.push((symbol.to_string(), address)),
        }
    }
    Ok(found)
}

/// The addresses of the object's untyped `__ksym` variables (an empty map
/// without any: `/proc/kallsyms` is not read).
pub fn ksym_addresses(object: &Object) -> Result<Vec<(String, u64)>, ExternError> {
    let names: Vec<&str> = object
        .externs
        .iter()
        .filter(|e| matches!(e.kind, ExternKind::Ksym { type_id: 0 }))
        .map(|e| e.name.as_str())
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    kallsyms(&names)
}

/// What this machine has for one extern, as `rxdp inspect` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternReport {
    /// The extern.
    pub name: String,
    /// `kconfig`, `ksym`, `ksym (untyped)` or `kfunc`.
    pub kind: &'static str,
    /// Declared `__weak`.
    pub weak: bool,
    /// Whether this machine has a value for it.
    pub resolved: bool,
    /// The value (`250`, `y`, `BTF id 65740 (vmlinux)`), or why there is
    /// none and what a load then does.
    pub value: String,
}

/// What this machine has for each extern of the object, without loading
/// anything or needing privileges beyond reading: the kernel
/// configuration, vmlinux's and the modules' BTF, `/proc/kallsyms` (whose
/// addresses only root sees). The values rxdp probes at load
/// (`LINUX_HAS_BPF_COOKIE`, `LINUX_HAS_SYSCALL_WRAPPER`) are said to be so.
/// Files are read only for objects whose externs need them.
pub fn survey(object: &Object) -> Vec<ExternReport> {
    use rxdp_elf::ksyms::KernelBtf;
    let mut looked = Vec::new();
    let config = if needs_config(&object.externs) {
        read_config(&mut looked)
    } else {
        None
    };
    let config_value = |name: &str| {
        config.as_deref().and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_string)
            })
        })
    };
    let kernel: Option<KernelBtf> = if rxdp_elf::ksyms::needs_kernel_btf(object) {
        let mut kernel = crate::kernel_btf::Kernel::read(&mut crate::observe::NoObserver).ok();
        if let Some(kernel) = &mut kernel {
            if kernel.btf.vmlinux_lacks_ksyms(object) {
                let _ = kernel.read_modules(&mut crate::observe::NoObserver);
            }
        }
        kernel.map(|k| k.btf)
    } else {
        None
    };
    let addresses = ksym_addresses(object).ok();
    let missing = |weak: bool| {
        if weak {
            "absent: 0 (weak)".to_string()
        } else {
            "absent: a load fails (strong)".to_string()
        }
    };
    object
        .externs
        .iter()
        .map(|ext| {
            let found: Option<String> = match ext.kind {
                ExternKind::Kconfig(_) => match ext.name.as_str() {
                    "LINUX_KERNEL_VERSION" => linux_kernel_version().map(|v| format!("{v:#x}")),
                    "LINUX_HAS_BPF_COOKIE" | "LINUX_HAS_SYSCALL_WRAPPER" => {
                        Some("probed at load".to_string())
                    }
                    name if name.starts_with("CONFIG_") => config_value(name),
                    _ => None,
                },
                ExternKind::Ksym { type_id: 0 } => addresses.as_ref().and_then(|addresses| {
                    addresses
                        .iter()
                        .find(|(name, _)| *name == ext.name)
                        .map(|(_, a)| format!("{a:#x}"))
                }),
                ExternKind::Ksym { .. } | ExternKind::Kfunc { .. } => {
                    let kind = match ext.kind {
                        ExternKind::Kfunc { .. } => rxdp_elf::btf::BtfKind::Func,
                        _ => rxdp_elf::btf::BtfKind::Var,
                    };
                    kernel.as_ref().and_then(|k| {
                        k.find(kind, ext.essential_name())
                            .map(|t| format!("BTF id {} ({})", t.id, k.name(t.module)))
                    })
                }
                _ => None,
            };
            ExternReport {
                name: ext.name.clone(),
                kind: ext.kind_name(),
                weak: ext.weak,
                resolved: found.is_some(),
                value: found.unwrap_or_else(|| missing(ext.weak)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_as_libbpf_reads_them() {
        assert_eq!(three_numbers("6.18.44-fc-v1147"), Some((6, 18, 44)));
        assert_eq!(three_numbers("6.1.0-27-amd64"), Some((6, 1, 0)));
        assert_eq!(three_numbers("5.15.0"), Some((5, 15, 0)));
        assert_eq!(three_numbers("6.1"), None);
        assert_eq!(three_numbers("x.1.2"), None);
        // Debian: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-20)".
        let version = "#1 SMP Debian 6.1.192-3 (2026-11-20)";
        let at = version.find("Debian ").unwrap();
        assert_eq!(three_numbers(&version[at + 7..]), Some((6, 1, 192)));
        assert_eq!(kernel_version_code(6, 1, 192), 0x0601c0);
        assert_eq!(kernel_version_code(4, 19, 300), 0x0413ff, "c capped at 255");
    }

    #[test]
    fn kallsyms_lines_by_name() {
        let text = concat!(
            "ffffffff81000000 T _stext\n",
            "ffffffff82259350 T schedule\n",
            "ffffffff83000010 d bpf_prog_active.llvm.123456\n",
            "ffffffffc0001000 t helper\t[some_module]\n",
            "ffffffff81000100 t dup\n",
            "ffffffff81000100 t dup\n",
            "ffffffff81000200 t twice\n",
            "ffffffff81000300 t twice\n",
        );
        let found = kallsyms_in(text, &["schedule", "bpf_prog_active", "helper", "dup"]).unwrap();
        let owned = |name: &str, address: u64| (name.to_string(), address);
        assert_eq!(
            found,
            [
                owned("schedule", 0xffff_ffff_8225_9350),
                owned("bpf_prog_active", 0xffff_ffff_8300_0010),
                owned("helper", 0xffff_ffff_c000_1000),
                owned("dup", 0xffff_ffff_8100_0100),
            ],
            "the names asked for, once each (`dup` twice at one address)"
        );
        let error = kallsyms_in(text, &["twice"]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("0xffffffff81000200 and at 0xffffffff81000300"),
            "{error}"
        );
    }
}
