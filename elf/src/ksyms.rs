//! Kernel symbols: the `__ksym` externs of an object (kfuncs, typed and
//! untyped variables), resolved against the running kernel's BTF.
//!
//! Pure: the kernel's BTF comes in parsed ([`KernelBtf`]: vmlinux's, and
//! the modules' when vmlinux lacks something), the addresses of untyped
//! variables as read from `/proc/kallsyms`, and the BTF fds of the modules
//! as numbers; reading them is the loader's business, and only for objects
//! that need them ([`needs_kernel_btf`]): vmlinux's BTF is several MiB.
//!
//! The rules are libbpf's (`bpf_object__resolve_ksyms_btf_id`,
//! `find_ksym_btf_id`):
//!
//! - a kfunc is a FUNC of that name — without its `___flavour` suffix — in
//!   vmlinux, else in the first module that has one; its prototype must be
//!   compatible with the object's (else a weak one counts as absent);
//! - a typed variable is a VAR of that name, looked up the same way, of a
//!   compatible type;
//! - an untyped variable is an address from `/proc/kallsyms`;
//! - a weak extern the kernel does not have is [`KsymValue::Absent`]: its
//!   address is 0, and a call to it is poisoned so that the verifier only
//!   objects if the call is reachable (`bpf_ksym_exists()` guards it); a
//!   strong one is an error.

use std::os::fd::RawFd;
use std::sync::Arc;

use crate::btf::{Btf, BtfKind};
use crate::externs::{Extern, ExternKind};
use crate::{Object, RelocTarget};

/// The running kernel's BTF: vmlinux's, and the modules' (split BTF on
/// top of it) when they were read.
#[derive(Debug, Clone)]
pub struct KernelBtf {
    /// `/sys/kernel/btf/vmlinux`.
    pub vmlinux: Arc<Btf>,
    /// `/sys/kernel/btf/<module>`, in the order they were found.
    pub modules: Vec<ModuleBtf>,
}

/// One kernel module's BTF.
#[derive(Debug, Clone)]
pub struct ModuleBtf {
    /// The module (`bpf_testmod`).
    pub name: String,
    /// Its split BTF, on top of vmlinux's.
    pub btf: Btf,
}

/// Where a kernel type was found: vmlinux (`module: None`) or a module
/// (its index in [`KernelBtf::modules`]), and its id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelType {
    /// `None` for vmlinux.
    pub module: Option<usize>,
    /// The type id (ids of a module's own types follow vmlinux's).
    pub id: u32,
}

impl KernelBtf {
    /// vmlinux's BTF alone.
    pub fn new(vmlinux: Btf) -> KernelBtf {
        KernelBtf {
            vmlinux: Arc::new(vmlinux),
            modules: Vec::new(),
        }
    }

    /// The BTF a [`KernelType`] is in.
    pub fn btf(&self, module: Option<usize>) -> &Btf {
        module
            .and_then(|m| self.modules.get(m))
            .map_or(&self.vmlinux, |m| &m.btf)
    }

    /// The name of vmlinux or a module, for messages.
    pub fn name(&self, module: Option<usize>) -> &str {
        module
            .and_then(|m| self.modules.get(m))
            .map_or("vmlinux", |m| m.name.as_str())
    }

    /// A type of `kind` named `name`: in vmlinux, else in the first module
    /// that has one among its own types (libbpf's `find_ksym_btf_id`; also
    /// what attach targets of tracing programs are looked up with).
    pub fn find(&self, kind: BtfKind, name: &str) -> Option<KernelType> {
        if let Some(id) = self.vmlinux.find(kind, name) {
            return Some(KernelType { module: None, id });
        }
        self.modules.iter().enumerate().find_map(|(i, m)| {
            m.btf.find(kind, name).map(|id| KernelType {
                module: Some(i),
                id,
            })
        })
    }

    /// Whether vmlinux lacks a kfunc or typed variable the object declares:
    /// whether the modules' BTF is worth reading (CO-RE asks
    /// [`CoreTarget::vmlinux_lacks_candidates`](crate::core::CoreTarget::vmlinux_lacks_candidates)).
    pub fn vmlinux_lacks_ksyms(&self, object: &Object) -> bool {
        object.externs.iter().any(|ext| match ext.kind {
            ExternKind::Kfunc { .. } => self
                .vmlinux
                .find(BtfKind::Func, ext.essential_name())
                .is_none(),
            ExternKind::Ksym { type_id } if type_id != 0 => {
                self.vmlinux.find(BtfKind::Var, &ext.name).is_none()
            }
            _ => false,
        })
    }
}

/// What the kernel has for one extern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KsymValue {
    /// A weak extern the kernel does not have: address 0, calls poisoned.
    Absent,
    /// An untyped variable's address, from `/proc/kallsyms`.
    Address(u64),
    /// A typed variable's VAR or a kfunc's FUNC in the kernel's BTF.
    Btf(KernelType),
}

/// As `--explain` shows it: `BTF id 1234`, `address 0xffffffff81000000`,
/// `absent (weak): 0`.
impl std::fmt::Display for KsymValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KsymValue::Absent => f.write_str("absent (weak): 0"),
            KsymValue::Address(address) => write!(f, "address {address:#x}"),
            KsymValue::Btf(found) => write!(f, "BTF id {}", found.id),
        }
    }
}

/// The kernel's answer for each `__ksym` extern of an object, with the BTF
/// fds of the modules they are in: what [`relocate`](crate::relocate)
/// writes into the instructions. `__kconfig` externs are not here: they
/// live in the `.kconfig` map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelSymbols {
    /// By extern name, in the object's order.
    values: Vec<(String, KsymValue)>,
    /// The BTF fd of each module, by its index in [`KernelBtf::modules`].
    module_fds: Vec<RawFd>,
    /// The modules whose kfuncs are called, in `fd_array` order from index 1.
    fd_array_modules: Vec<usize>,
}

/// An extern the kernel cannot provide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KsymError {
    /// A strong kfunc the kernel's BTF does not have.
    #[error("kernel function {name} (called by {caller}) is not in the kernel's BTF nor in any module's; this kernel does not have it: check the name, or declare it __weak and test it with bpf_ksym_exists()")]
    MissingKfunc {
        /// The function's name.
        name: String,
        /// The first function of the object that calls it.
        caller: String,
    },
    /// A strong typed `__ksym` variable the kernel's BTF does not have.
    #[error("kernel variable {name} (extern __ksym) is not in the kernel's BTF nor in any module's; declare it __weak to load without it")]
    MissingVariable {
        /// The variable.
        name: String,
    },
    /// A strong untyped `__ksym` variable `/proc/kallsyms` does not list.
    #[error("kernel symbol {name} (extern __ksym, untyped) is not in /proc/kallsyms; declare it __weak to load without it")]
    MissingAddress {
        /// The symbol.
        name: String,
    },
    /// The object's declaration does not match the kernel's type.
    #[error("extern __ksym {name}: the object declares it {local}, {btf} has {kernel}; fix the declaration")]
    Incompatible {
        /// The extern.
        name: String,
        /// The object's type, described.
        local: String,
        /// The kernel's type, described.
        kernel: String,
        /// vmlinux or the module.
        btf: String,
    },
    /// More than `i16::MAX` modules hold called kfuncs: `insn.off` cannot
    /// index them.
    #[error(
        "kfuncs of more than {} kernel modules: a call's offset cannot index their BTF",
        i16::MAX
    )]
    TooManyModules,
}

/// A type for messages: `STRUCT rq`, `FUNC_PROTO [12]`, `void`.
fn describe(btf: &Btf, id: u32) -> String {
    let resolved = btf.resolve(id).unwrap_or(id);
    match btf.type_by_id(resolved) {
        Ok(t) => match btf.string(t.name_off).unwrap_or_default() {
            "" => format!("{} [{resolved}]", t.kind),
            name => format!("{} {name}", t.kind),
        },
        Err(_) => "void".to_string(),
    }
}

impl KernelSymbols {
    /// A table made by hand (tests, callers that resolved ids themselves):
    /// these externs with these values, vmlinux only.
    pub fn from_values(values: Vec<(String, KsymValue)>) -> KernelSymbols {
        KernelSymbols {
            values,
            ..KernelSymbols::default()
        }
    }

    /// Every kernel symbol the object names — its `__ksym` externs and the
    /// kfuncs its calls name — given a made-up vmlinux BTF id, counting
    /// from `first_id`: for relocating without a kernel (tests, fuzzing,
    /// benchmarks).
    pub fn stand_ins(object: &Object, first_id: u32) -> KernelSymbols {
        let mut names: Vec<&str> = object
            .externs
            .iter()
            .filter(|e| !matches!(e.kind, ExternKind::Kconfig(_)))
            .map(|e| e.name.as_str())
            .collect();
        let functions = object
            .programs
            .iter()
            .map(|p| &p.function)
            .chain(&object.subprograms);
        for reloc in functions.flat_map(|f| &f.relocs) {
            if let RelocTarget::Kfunc(name) = &reloc.target {
                names.push(name);
            }
        }
        let mut symbols = KernelSymbols::default();
        for (name, id) in names.into_iter().zip(first_id..) {
            if symbols.get(name).is_none() {
                let value = KsymValue::Btf(KernelType { module: None, id });
                symbols.values.push((name.to_string(), value));
            }
        }
        symbols
    }

    /// The value of extern `name`.
    pub fn get(&self, name: &str) -> Option<KsymValue> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, value)| value)
    }

    /// Each extern resolved, in the object's order.
    pub fn values(&self) -> impl Iterator<Item = (&str, KsymValue)> {
        self.values
            .iter()
            .map(|(name, value)| (name.as_str(), *value))
    }

    /// The modules whose BTF an instruction or the `fd_array` refers to,
    /// by index in [`KernelBtf::modules`], each once, in order: the
    /// loader opens their BTF fds and hands them to
    /// [`set_module_fds`](KernelSymbols::set_module_fds).
    pub fn modules_used(&self) -> Vec<usize> {
        let mut used: Vec<usize> = self
            .values
            .iter()
            .filter_map(|(_, value)| match value {
                KsymValue::Btf(KernelType {
                    module: Some(module),
                    ..
                }) => Some(*module),
                _ => None,
            })
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }

    /// The BTF fd of each module, by its index in [`KernelBtf::modules`]
    /// (modules not used may have any value).
    pub fn set_module_fds(&mut self, fds: Vec<RawFd>) {
        self.module_fds = fds;
    }

    /// The BTF fd of module `module` (0 for vmlinux, or an fd not given).
    pub fn module_fd(&self, module: Option<usize>) -> RawFd {
        module
            .and_then(|m| self.module_fds.get(m))
            .copied()
            .unwrap_or(0)
    }

    /// The `fd_array` of `BPF_PROG_LOAD`: empty when every kfunc is
    /// vmlinux's, else index 0 unused (0) and the BTF fds of the modules
    /// whose kfuncs are called, which each call's `off` indexes.
    pub fn fd_array(&self) -> Vec<RawFd> {
        if self.fd_array_modules.is_empty() {
            return Vec::new();
        }
        std::iter::once(0)
            .chain(
                self.fd_array_modules
                    .iter()
                    .map(|&m| self.module_fd(Some(m))),
            )
            .collect()
    }

    /// A kfunc call's `off`: 0 for vmlinux, else the module's index in
    /// [`fd_array`](KernelSymbols::fd_array).
    pub fn fd_array_index(&self, module: Option<usize>) -> i16 {
        let Some(module) = module else {
            return 0;
        };
        self.fd_array_modules
            .iter()
            .position(|&m| m == module)
            .and_then(|i| i16::try_from(i + 1).ok())
            .unwrap_or(0)
    }

    /// Resolves every `__ksym` extern of the object: typed variables and
    /// kfuncs against `kernel` (which must be given when the object has
    /// any), untyped variables from `addresses` (`/proc/kallsyms`: name and
    /// address). A weak extern not found is [`KsymValue::Absent`].
    pub fn resolve(
        object: &Object,
        kernel: Option<&KernelBtf>,
        addresses: &[(String, u64)],
    ) -> Result<KernelSymbols, KsymError> {
        let mut symbols = KernelSymbols::default();
        for ext in &object.externs {
            let value = match ext.kind {
                ExternKind::Kconfig(_) => continue,
                ExternKind::Ksym { type_id: 0 } => {
                    match addresses.iter().find(|(n, _)| *n == ext.name) {
                        Some(&(_, address)) => KsymValue::Address(address),
                        None if ext.weak => KsymValue::Absent,
                        None => {
                            return Err(KsymError::MissingAddress {
                                name: ext.name.clone(),
                            })
                        }
                    }
                }
                _ => resolve_typed(object, kernel, ext)?,
            };
            if let (
                ExternKind::Kfunc { .. },
                KsymValue::Btf(KernelType {
                    module: Some(module),
                    ..
                }),
            ) = (ext.kind, value)
            {
                if !symbols.fd_array_modules.contains(&module) {
                    if symbols.fd_array_modules.len() >= i16::MAX as usize - 1 {
                        return Err(KsymError::TooManyModules);
                    }
                    symbols.fd_array_modules.push(module);
                }
            }
            symbols.values.push((ext.name.clone(), value));
        }
        Ok(symbols)
    }
}

/// A typed `__ksym` variable (a VAR of a compatible type) or a kfunc (a
/// FUNC of a compatible prototype; a weak one of another prototype counts
/// as absent, as in libbpf).
fn resolve_typed(
    object: &Object,
    kernel: Option<&KernelBtf>,
    ext: &Extern,
) -> Result<KsymValue, KsymError> {
    let (kind, local_type, kfunc) = match ext.kind {
        ExternKind::Kfunc { proto_id } => (BtfKind::Func, proto_id, true),
        ExternKind::Ksym { type_id } => (BtfKind::Var, type_id, false),
        ExternKind::Kconfig(_) => return Ok(KsymValue::Absent),
    };
    let found = kernel.and_then(|k| k.find(kind, ext.essential_name()).map(|t| (k, t)));
    let Some((kernel, found)) = found else {
        return match (ext.weak, kfunc) {
            (true, _) => Ok(KsymValue::Absent),
            (false, true) => Err(KsymError::MissingKfunc {
                name: ext.name.clone(),
                caller: caller(object, &ext.name).to_string(),
            }),
            (false, false) => Err(KsymError::MissingVariable {
                name: ext.name.clone(),
            }),
        };
    };
    let kernel_btf = kernel.btf(found.module);
    // A VAR's type, a FUNC's prototype.
    let kernel_type = kernel_btf
        .type_by_id(found.id)
        .map(|t| t.size_or_type)
        .unwrap_or(0);
    let compatible = object.btf.as_ref().is_some_and(|local| {
        crate::core::types_compatible(local, local_type, kernel_btf, kernel_type).unwrap_or(false)
    });
    if compatible {
        return Ok(KsymValue::Btf(found));
    }
    if kfunc && ext.weak {
        return Ok(KsymValue::Absent);
    }
    Err(KsymError::Incompatible {
        name: ext.name.clone(),
        local: object
            .btf
            .as_ref()
            .map_or_else(|| "without BTF".to_string(), |b| describe(b, local_type)),
        kernel: describe(kernel_btf, kernel_type),
        btf: kernel.name(found.module).to_string(),
    })
}

/// The first function of the object that calls or takes the address of
/// extern `name`, for messages.
fn caller<'o>(object: &'o Object, name: &str) -> &'o str {
    let index = object.externs.iter().position(|e| e.name == name);
    object
        .programs
        .iter()
        .map(|p| &p.function)
        .chain(&object.subprograms)
        .find(|f| {
            f.relocs.iter().any(|r| match &r.target {
                RelocTarget::Kfunc(called) => called == name,
                RelocTarget::Extern(i) => Some(*i) == index,
                _ => false,
            })
        })
        .map_or("-", |f| f.name.as_str())
}

/// Whether a load of the object needs the kernel's BTF: it calls kfuncs,
/// declares typed `__ksym` variables, or has CO-RE relocations.
pub fn needs_kernel_btf(object: &Object) -> bool {
    let externs = object.externs.iter().any(|e| match e.kind {
        ExternKind::Kfunc { .. } => true,
        ExternKind::Ksym { type_id } => type_id != 0,
        _ => false,
    });
    let mut functions = object
        .programs
        .iter()
        .map(|p| &p.function)
        .chain(&object.subprograms);
    externs
        || functions.any(|f| {
            !f.core_relocs.is_empty()
                || f.relocs
                    .iter()
                    .any(|r| matches!(r.target, RelocTarget::Kfunc(_)))
        })
}

/// Whether the object declares untyped `__ksym` variables, whose addresses
/// come from `/proc/kallsyms`.
pub fn needs_kallsyms(object: &Object) -> bool {
    object
        .externs
        .iter()
        .any(|e| matches!(e.kind, ExternKind::Ksym { type_id: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{BtfInt, BtfParam, BtfType, BtfTypeData};
    use crate::insn::{Insn, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, CALL, EXIT, LD_IMM64};
    use crate::relocate::{relocate, POISON_KFUNC_BASE};
    use crate::{Extern, Function, Program, ProgramType, Reloc};

    fn add(btf: &mut Btf, name: &str, kind: BtfKind, size_or_type: u32, data: BtfTypeData) -> u32 {
        let name_off = if name.is_empty() {
            0
        } else {
            btf.add_string(name)
        };
        btf.add_type(BtfType {
            name_off,
            kind,
            kind_flag: false,
            size_or_type,
            data,
        })
    }

    /// `int` and `long` (ids 1, 2), a prototype `int (long)` (3), and FUNC
    /// `name` of it (4) with `linkage`; plus VAR `var` of int (5).
    fn btf_with(func: &str, linkage: u16, var: &str, var_type_long: bool) -> Btf {
        let mut btf = Btf::default();
        let int = add(
            &mut btf,
            "int",
            BtfKind::Int,
            4,
            BtfTypeData::Int(BtfInt((1 << 24) | 32)),
        );
        let long = add(
            &mut btf,
            "long",
            BtfKind::Int,
            8,
            BtfTypeData::Int(BtfInt((1 << 24) | 64)),
        );
        let proto = add(
            &mut btf,
            "",
            BtfKind::FuncProto,
            int,
            BtfTypeData::Params(vec![BtfParam {
                name_off: 0,
                type_id: long,
            }]),
        );
        add(
            &mut btf,
            func,
            BtfKind::Func,
            proto,
            BtfTypeData::Func { linkage },
        );
        let var_type = if var_type_long { long } else { int };
        add(
            &mut btf,
            var,
            BtfKind::Var,
            var_type,
            BtfTypeData::Var { linkage: 1 },
        );
        btf
    }

    fn ksym(name: &str, weak: bool, kind: ExternKind) -> Extern {
        Extern {
            name: name.to_string(),
            weak,
            btf_id: 4,
            kind,
        }
    }

    /// An object whose BTF is `btf_with("bpf_kfunc___v2", extern, "counter")`
    /// and whose program calls `calls` and loads the address of `loads`.
    fn object(externs: Vec<Extern>) -> Object {
        let insn = |code, regs, imm| Insn {
            code,
            regs,
            off: 0,
            imm,
        };
        let mut function = Function::new(
            "p",
            "xdp",
            vec![
                insn(CALL, 0x10, -1),
                insn(LD_IMM64, 0x01, 0),
                insn(0, 0, 0),
                insn(EXIT, 0, 0),
            ],
        );
        function.relocs = vec![
            Reloc {
                insn: 0,
                symbol: externs[0].name.clone(),
                target: RelocTarget::Kfunc(externs[0].name.clone()),
            },
            Reloc {
                insn: 1,
                symbol: externs[1].name.clone(),
                target: RelocTarget::Extern(1),
            },
        ];
        let mut object = Object::new(
            Vec::new(),
            vec![Program::new("xdp", Some(ProgramType::XDP), function)],
        );
        object.btf = Some(btf_with("bpf_kfunc___v2", 2, "counter", false));
        object.externs = externs;
        object
    }

    fn kernel() -> KernelBtf {
        // vmlinux has `bpf_kfunc` and VAR `counter`; a module has
        // `mod_kfunc` and VAR `mod_counter`.
        let vmlinux = Arc::new(btf_with("bpf_kfunc", 0, "counter", false));
        let mut module = Btf::parse_split(&Btf::default().to_bytes(), vmlinux.clone()).unwrap();
        let proto = 3;
        let name = module.add_string("mod_kfunc");
        module.add_type(BtfType {
            name_off: name,
            kind: BtfKind::Func,
            kind_flag: false,
            size_or_type: proto,
            data: BtfTypeData::Func { linkage: 0 },
        });
        let name = module.add_string("mod_counter");
        module.add_type(BtfType {
            name_off: name,
            kind: BtfKind::Var,
            kind_flag: false,
            size_or_type: 1,
            data: BtfTypeData::Var { linkage: 1 },
        });
        KernelBtf {
            vmlinux,
            modules: vec![ModuleBtf {
                name: "rxdp_mod".into(),
                btf: module,
            }],
        }
    }

    const KFUNC: ExternKind = ExternKind::Kfunc { proto_id: 3 };
    const INT_VAR: ExternKind = ExternKind::Ksym { type_id: 1 };

    #[test]
    fn vmlinux_first_flavours_cut_then_modules() {
        let kernel = kernel();
        let object = object(vec![
            ksym("bpf_kfunc___v2", false, KFUNC),
            ksym("counter", false, INT_VAR),
        ]);
        let mut symbols = KernelSymbols::resolve(&object, Some(&kernel), &[]).unwrap();
        assert_eq!(
            symbols.get("bpf_kfunc___v2"),
            Some(KsymValue::Btf(KernelType {
                module: None,
                id: 4
            }))
        );
        assert_eq!(
            symbols.get("counter"),
            Some(KsymValue::Btf(KernelType {
                module: None,
                id: 5
            }))
        );
        assert!(symbols.modules_used().is_empty() && symbols.fd_array().is_empty());
        symbols.set_module_fds(vec![9]);
        let linked = relocate(&object, 0, &[], &symbols).unwrap();
        assert_eq!(
            (
                linked.insns[0].src_reg(),
                linked.insns[0].imm,
                linked.insns[0].off
            ),
            (BPF_PSEUDO_KFUNC_CALL, 4, 0)
        );
        assert_eq!(
            (
                linked.insns[1].src_reg(),
                linked.insns[1].imm,
                linked.insns[2].imm
            ),
            (BPF_PSEUDO_BTF_ID, 5, 0)
        );

        // A module's kfunc and variable: ids past vmlinux's, the call's off
        // indexing fd_array, the variable's BTF fd in the second half.
        let object = crate::ksyms::tests::object(vec![
            ksym("mod_kfunc", false, KFUNC),
            ksym("mod_counter", false, INT_VAR),
        ]);
        let mut symbols = KernelSymbols::resolve(&object, Some(&kernel), &[]).unwrap();
        let first = kernel.vmlinux.max_type_id() + 1;
        assert_eq!(
            symbols.get("mod_kfunc"),
            Some(KsymValue::Btf(KernelType {
                module: Some(0),
                id: first
            }))
        );
        assert_eq!(symbols.modules_used(), [0]);
        symbols.set_module_fds(vec![42]);
        assert_eq!(symbols.fd_array(), [0, 42]);
        let linked = relocate(&object, 0, &[], &symbols).unwrap();
        assert_eq!(
            (linked.insns[0].imm as u32, linked.insns[0].off),
            (first, 1)
        );
        assert_eq!(
            (linked.insns[1].imm as u32, linked.insns[2].imm),
            (first + 1, 42)
        );
    }

    #[test]
    fn weak_absent_is_zero_and_a_poisoned_call() {
        let kernel = kernel();
        let object = object(vec![
            ksym("rxdp_none", true, KFUNC),
            ksym("rxdp_nothing", true, INT_VAR),
        ]);
        let symbols = KernelSymbols::resolve(&object, Some(&kernel), &[]).unwrap();
        assert_eq!(symbols.get("rxdp_none"), Some(KsymValue::Absent));
        let linked = relocate(&object, 0, &[], &symbols).unwrap();
        assert_eq!(
            (
                linked.insns[0].code,
                linked.insns[0].src_reg(),
                linked.insns[0].imm
            ),
            (CALL, 0, POISON_KFUNC_BASE)
        );
        assert_eq!(
            (
                linked.insns[1].src_reg(),
                linked.insns[1].imm,
                linked.insns[2].imm
            ),
            (0, 0, 0)
        );
        // Strong: an error naming the extern (and the caller of a kfunc).
        let object = crate::ksyms::tests::object(vec![
            ksym("rxdp_none", false, KFUNC),
            ksym("rxdp_nothing", true, INT_VAR),
        ]);
        let error = KernelSymbols::resolve(&object, Some(&kernel), &[]).unwrap_err();
        assert_eq!(
            error,
            KsymError::MissingKfunc {
                name: "rxdp_none".into(),
                caller: "p".into()
            }
        );
        let object = crate::ksyms::tests::object(vec![
            ksym("bpf_kfunc", true, KFUNC),
            ksym("rxdp_nothing", false, INT_VAR),
        ]);
        assert!(matches!(
            KernelSymbols::resolve(&object, Some(&kernel), &[]),
            Err(KsymError::MissingVariable { .. })
        ));
        // Untyped: from the addresses given, else weak 0 or an error.
        let untyped = ExternKind::Ksym { type_id: 0 };
        let object = crate::ksyms::tests::object(vec![
            ksym("bpf_kfunc", true, KFUNC),
            ksym("schedule", false, untyped),
        ]);
        let addresses = [("schedule".to_string(), 0xffff_ffff_8100_0000)];
        let symbols = KernelSymbols::resolve(&object, Some(&kernel), &addresses).unwrap();
        let linked = relocate(&object, 0, &[], &symbols).unwrap();
        assert_eq!(
            (
                linked.insns[1].src_reg(),
                linked.insns[1].imm as u32,
                linked.insns[2].imm as u32
            ),
            (0, 0x8100_0000, 0xffff_ffff)
        );
        assert!(matches!(
            KernelSymbols::resolve(&object, Some(&kernel), &[]),
            Err(KsymError::MissingAddress { .. })
        ));
    }

    #[test]
    fn incompatible_declarations() {
        let kernel = kernel();
        // Integers of any size are compatible (libbpf's rule)...
        let object = object(vec![
            ksym("bpf_kfunc", true, KFUNC),
            ksym("counter", true, ExternKind::Ksym { type_id: 2 }),
        ]);
        assert!(KernelSymbols::resolve(&object, Some(&kernel), &[]).is_ok());
        // ...a prototype and an int are not: refused, weak or not.
        let object = crate::ksyms::tests::object(vec![
            ksym("bpf_kfunc", true, KFUNC),
            ksym("counter", true, ExternKind::Ksym { type_id: 3 }),
        ]);
        let error = KernelSymbols::resolve(&object, Some(&kernel), &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "extern __ksym counter: the object declares it FUNC_PROTO [3], vmlinux has INT int; fix the declaration"
        );
        // A kfunc whose prototype differs (declared `int (long)`, here the
        // kernel's takes an `int *`): a weak one is absent, a strong one refused.
        let mut vmlinux = btf_with("bpf_kfunc", 0, "counter", false);
        let int_ptr = add(&mut vmlinux, "", BtfKind::Ptr, 1, BtfTypeData::None);
        let int_proto = add(
            &mut vmlinux,
            "",
            BtfKind::FuncProto,
            1,
            BtfTypeData::Params(vec![BtfParam {
                name_off: 0,
                type_id: int_ptr,
            }]),
        );
        add(
            &mut vmlinux,
            "other_kfunc",
            BtfKind::Func,
            int_proto,
            BtfTypeData::Func { linkage: 0 },
        );
        let kernel = KernelBtf::new(vmlinux);
        let object = crate::ksyms::tests::object(vec![
            ksym("other_kfunc", true, KFUNC),
            ksym("counter", true, INT_VAR),
        ]);
        let symbols = KernelSymbols::resolve(&object, Some(&kernel), &[]).unwrap();
        assert_eq!(symbols.get("other_kfunc"), Some(KsymValue::Absent));
        let object = crate::ksyms::tests::object(vec![
            ksym("other_kfunc", false, KFUNC),
            ksym("counter", true, INT_VAR),
        ]);
        assert!(matches!(
            KernelSymbols::resolve(&object, Some(&kernel), &[]),
            Err(KsymError::Incompatible { .. })
        ));
    }

    #[test]
    fn what_needs_the_kernel_btf_and_kallsyms() {
        let object = object(vec![
            ksym("bpf_kfunc", true, KFUNC),
            ksym("schedule", false, ExternKind::Ksym { type_id: 0 }),
        ]);
        assert!(needs_kernel_btf(&object) && needs_kallsyms(&object));
        let kernel = kernel();
        assert!(!kernel.vmlinux_lacks_ksyms(&object));
        let object = crate::ksyms::tests::object(vec![
            ksym("mod_kfunc", true, KFUNC),
            ksym("schedule", false, ExternKind::Ksym { type_id: 0 }),
        ]);
        assert!(kernel.vmlinux_lacks_ksyms(&object));
        assert_eq!(
            kernel.find(BtfKind::Func, "mod_kfunc").map(|t| t.module),
            Some(Some(0))
        );
        assert_eq!(kernel.name(Some(0)), "rxdp_mod");
        let stand_ins = KernelSymbols::stand_ins(&object, 100);
        assert_eq!(
            stand_ins.get("mod_kfunc"),
            Some(KsymValue::Btf(KernelType {
                module: None,
                id: 100
            }))
        );
    }
}
