//! The running kernel's BTF, for what needs it: kfuncs and `__ksym`
//! variables (their type ids in it), CO-RE relocations, and the attach
//! targets of tracing programs. `/sys/kernel/btf/vmlinux` is several MiB:
//! a load reads and parses it only for objects that need it
//! ([`rxdp_elf::ksyms::needs_kernel_btf`]); the others never pay for it.
//!
//! Kernel modules have BTF of their own, `/sys/kernel/btf/<module>`: split
//! BTF on top of vmlinux's. It is read only when vmlinux lacks something an
//! object asks for, and a module's BTF *fd* (which a kfunc call in a module
//! and a module variable need, through `fd_array` and the `ld_imm64`) is
//! found by walking the kernel's BTF objects (`BPF_BTF_GET_NEXT_ID`) to
//! the one whose name (`BPF_OBJ_GET_INFO_BY_FD`) is the module's — only
//! for the modules an object uses. What is done with the BTF is pure and
//! lives in `rxdp_elf` ([`rxdp_elf::ksyms`], [`rxdp_elf::core`]).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rxdp_elf::btf::{Btf, BtfError, BtfKind};
use rxdp_elf::ksyms::{KernelBtf, KernelType, KsymError, ModuleBtf};
use rxdp_syscalls::bpf::{btf_get_fd_by_id, btf_get_next_id, btf_info};
use rxdp_syscalls::Error as SysError;

use crate::observe::{Event, Observer};

/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";
/// The directory of vmlinux's and the modules' BTF.
pub const KERNEL_BTF_DIR: &str = "/sys/kernel/btf";

/// Why the kernel's BTF could not serve the object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelBtfError {
    /// A file could not be read.
    #[error("cannot read the kernel's BTF {}: {error}; kfuncs, __ksym variables, CO-RE and tracing programs need a kernel built with CONFIG_DEBUG_INFO_BTF", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        error: std::io::Error,
    },
    /// A file is not BTF rxdp can read.
    #[error("cannot parse the kernel's BTF {}: {error}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: BtfError,
    },
    /// A module's BTF object could not be found or opened.
    #[error("the BTF object of module {module}: {error}")]
    ModuleFd {
        /// The module.
        module: String,
        /// What failed.
        error: SysError,
    },
    /// An extern the kernel does not have (or not of the object's type).
    #[error("{error} (looked in {})", looked.join(", "))]
    Ksym {
        /// What is missing.
        error: KsymError,
        /// The BTF files searched.
        looked: Vec<String>,
    },
}

/// The kernel's BTF as a load uses it: vmlinux's, and the modules' once
/// something was not found in vmlinux.
#[derive(Debug)]
pub struct Kernel {
    /// vmlinux's and (after [`Kernel::read_modules`]) the modules' BTF.
    pub btf: KernelBtf,
    modules_read: bool,
}

impl Kernel {
    /// Reads and parses `/sys/kernel/btf/vmlinux`.
    pub fn read(observer: &mut dyn Observer) -> Result<Kernel, KernelBtfError> {
        let path = Path::new(VMLINUX_BTF);
        let btf = read(path, observer)?;
        Ok(Kernel {
            btf: KernelBtf::new(btf),
            modules_read: false,
        })
    }

    /// A kernel made of a given BTF (tests, other sources).
    pub fn from_btf(btf: KernelBtf) -> Kernel {
        Kernel {
            btf,
            modules_read: true,
        }
    }

    /// vmlinux's BTF, shared.
    pub fn vmlinux(&self) -> Arc<Btf> {
        Arc::clone(&self.btf.vmlinux)
    }

    /// Reads every module's BTF (`/sys/kernel/btf/*` but vmlinux, in name
    /// order), once.
    pub fn read_modules(&mut self, observer: &mut dyn Observer) -> Result<(), KernelBtfError> {
        if self.modules_read {
            return Ok(());
        }
        self.modules_read = true;
        let dir = Path::new(KERNEL_BTF_DIR);
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name != "vmlinux")
                .collect(),
            // No directory, no modules.
            Err(_) => Vec::new(),
        };
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(|error| KernelBtfError::Read {
                path: path.clone(),
                error,
            })?;
            observer.event(&Event::KernelBtfRead { bytes: bytes.len() });
            let btf = Btf::parse_split(&bytes, self.vmlinux())
                .map_err(|error| KernelBtfError::Parse { path, error })?;
            self.btf.modules.push(ModuleBtf { name, btf });
        }
        Ok(())
    }

    /// The BTF files searched so far, for messages.
    pub fn looked(&self) -> Vec<String> {
        std::iter::once(VMLINUX_BTF.to_string())
            .chain(
                self.btf
                    .modules
                    .iter()
                    .map(|m| format!("{KERNEL_BTF_DIR}/{}", m.name)),
            )
            .collect()
    }

    /// A type of `kind` named `name` in vmlinux, else in a module (whose
    /// BTF is read then), with the BTF fd of that module: what a tracing
    /// program's `attach_btf_id` and `attach_btf_obj_fd` are (libbpf's
    /// `find_kernel_btf_id`). `None` when no BTF has it.
    pub fn find(
        &mut self,
        kind: BtfKind,
        name: &str,
        observer: &mut dyn Observer,
    ) -> Result<Option<(KernelType, Option<OwnedFd>)>, KernelBtfError> {
        if self.btf.vmlinux.find(kind, name).is_none() {
            self.read_modules(observer)?;
        }
        let Some(found) = self.btf.find(kind, name) else {
            return Ok(None);
        };
        let fd = match found.module {
            Some(module) => Some(self.module_fd(module)?),
            None => None,
        };
        Ok(Some((found, fd)))
    }

    /// The BTF fd of module `module` (an index into `btf.modules`).
    pub fn module_fd(&self, module: usize) -> Result<OwnedFd, KernelBtfError> {
        let name = self
            .btf
            .modules
            .get(module)
            .map_or("?", |m| m.name.as_str());
        module_btf_fd(name).map_err(|error| KernelBtfError::ModuleFd {
            module: name.to_string(),
            error,
        })
    }
}

/// Reads and parses the kernel's BTF at `path`.
pub fn read(path: &Path, observer: &mut dyn Observer) -> Result<Btf, KernelBtfError> {
    let bytes = std::fs::read(path).map_err(|error| KernelBtfError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    observer.event(&Event::KernelBtfRead { bytes: bytes.len() });
    Btf::parse(&bytes).map_err(|error| KernelBtfError::Parse {
        path: path.to_path_buf(),
        error,
    })
}

/// The fd of the kernel's BTF object named `name` (`vmlinux` or a
/// module): the BTF objects are walked by id, each opened and asked its
/// name, as libbpf's `load_module_btfs` does. ENOENT when none has it.
pub fn module_btf_fd(name: &str) -> Result<OwnedFd, SysError> {
    let mut id = 0;
    while let Some(next) = btf_get_next_id(id)? {
        id = next;
        let fd = match btf_get_fd_by_id(id) {
            Ok(fd) => fd,
            // Freed between the two calls.
            Err(error) if error.errno == libc::ENOENT => continue,
            Err(error) => return Err(error),
        };
        let info = btf_info(fd.as_fd())?;
        if info.kernel_btf && info.name == name {
            return Ok(fd);
        }
    }
    Err(SysError::new("BPF_BTF_GET_NEXT_ID", libc::ENOENT)
        .with_subject(format!("no kernel BTF object named {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::NoObserver;

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let error = read(Path::new("/nonexistent"), &mut NoObserver).unwrap_err();
        assert!(matches!(error, KernelBtfError::Read { .. }), "{error}");
        assert!(error.to_string().contains("/nonexistent"), "{error}");
    }
}
