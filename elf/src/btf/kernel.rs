//! Making an object's BTF acceptable to `BPF_BTF_LOAD`.
//!
//! clang describes externs in BTF in ways the kernel's BTF checker refuses:
//! - a FUNC declared but not defined (a kfunc declared `__ksym`) has linkage
//!   `BTF_FUNC_EXTERN` ("Invalid func linkage"), and its prototype's
//!   parameters often have no names, which the kernel requires of a FUNC;
//! - the extern DATASECs (`.ksyms`, `.kconfig`) list FUNCs and extern VARs
//!   with size and offsets 0, while a DATASEC may hold only VARs that are
//!   static or allocated, each inside the section and in offset order.
//!
//! [`Btf::prepare_for_kernel`] rewrites those parts the way libbpf does before
//! loading: externs become globals and every extern DATASEC entry a VAR laid
//! out in order. Every DATASEC's entries are also put in offset order. Type
//! ids do not change (at most an INT and a placeholder VAR are appended),
//! so func_info, line_info and instruction references stay valid.

use super::error::BtfError;
use super::types::{
    BtfInt, BtfKind, BtfParam, BtfType, BtfTypeData, BTF_FUNC_EXTERN, BTF_VAR_GLOBAL_EXTERN,
};
use super::Btf;

/// `BTF_FUNC_GLOBAL`.
const BTF_FUNC_GLOBAL: u16 = 1;
/// `BTF_VAR_GLOBAL_ALLOCATED`.
const BTF_VAR_GLOBAL_ALLOCATED: u32 = 1;
/// `BTF_INT_SIGNED`, in the encoding bits of the INT word.
const BTF_INT_SIGNED: u32 = 1 << 24;
/// Name given to the placeholder VAR and to unnamed extern parameters.
const PLACEHOLDER_NAME: &str = "__rxdp_ksym";
/// The DATASEC of `__kconfig` externs (libbpf's `KCONFIG_SEC`).
pub const KCONFIG_SECTION: &str = ".kconfig";
/// The DATASEC of `__ksym` externs (libbpf's `KSYMS_SEC`).
pub const KSYMS_SECTION: &str = ".ksyms";

/// Where a `.kconfig` variable lives in the `.kconfig` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KconfigSlot {
    /// The VAR.
    pub var_id: u32,
    /// Its byte offset in the map's value.
    pub offset: u32,
    /// Its size in bytes.
    pub size: u32,
    /// Its alignment in bytes.
    pub align: u32,
}

impl Btf {
    /// The bytes to give `BPF_BTF_LOAD`: [`to_bytes`](Btf::to_bytes) of a
    /// copy on which [`prepare_for_kernel`](Btf::prepare_for_kernel) ran.
    /// `self` keeps its extern declarations for the loader to resolve.
    /// Run [`fix_datasecs`](Btf::fix_datasecs) first.
    pub fn kernel_bytes(&self) -> Result<Vec<u8>, BtfError> {
        let mut copy = self.clone();
        copy.prepare_for_kernel()?;
        Ok(copy.to_bytes())
    }

    /// Rewrites extern declarations into forms the kernel accepts (see the
    /// module documentation) and sorts every DATASEC's entries by offset.
    /// After this, [`is_extern_func`](Btf::is_extern_func) no longer finds
    /// the externs: ask it before.
    pub fn prepare_for_kernel(&mut self) -> Result<(), BtfError> {
        let mut placeholder = Placeholder::default();
        self.globalise_extern_funcs(&mut placeholder)?;
        self.lay_out_extern_datasecs(&mut placeholder)?;
        for t in &mut self.types {
            if let BtfTypeData::Datasec(vars) = &mut t.data {
                vars.sort_by_key(|v| v.offset);
            }
        }
        Ok(())
    }

    /// The global FUNC `name` becomes static (`BTF_FUNC_STATIC`): the
    /// verifier then checks it in its callers' context instead of on its
    /// own. Nothing happens when there is no such FUNC.
    pub fn make_func_static(&mut self, name: &str) {
        let Some(id) = self.find(BtfKind::Func, name) else {
            return;
        };
        let first = self.first_type_id();
        if let Some(BtfType {
            data: BtfTypeData::Func { linkage },
            ..
        }) = id
            .checked_sub(first)
            .and_then(|i| self.types.get_mut(i as usize))
        {
            if *linkage == BTF_FUNC_GLOBAL {
                *linkage = 0;
            }
        }
    }

    /// Appends `s` to the string table and returns its offset.
    pub fn add_string(&mut self, s: &str) -> u32 {
        let own = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        let offset = self.string_base().saturating_add(own);
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        offset
    }

    /// Appends a type and returns its id.
    pub fn add_type(&mut self, t: BtfType) -> u32 {
        self.types.push(t);
        self.max_type_id()
    }

    /// Extern FUNCs become global; their prototypes' unnamed parameters get a name.
    fn globalise_extern_funcs(&mut self, placeholder: &mut Placeholder) -> Result<(), BtfError> {
        let mut protos = Vec::new();
        for t in &mut self.types {
            if let BtfTypeData::Func { linkage } = &mut t.data {
                if *linkage == BTF_FUNC_EXTERN {
                    *linkage = BTF_FUNC_GLOBAL;
                    protos.push(t.size_or_type);
                }
            }
        }
        for proto in protos {
            let unnamed = self
                .type_by_id(proto)?
                .params()
                .iter()
                .any(|p| p.type_id != 0 && p.name_off == 0);
            if !unnamed {
                continue;
            }
            let name = placeholder.name(self);
            if let Some(BtfType {
                data: BtfTypeData::Params(params),
                ..
            }) = proto
                .checked_sub(1)
                .and_then(|i| self.types.get_mut(i as usize))
            {
                for p in params
                    .iter_mut()
                    .filter(|p| p.type_id != 0 && p.name_off == 0)
                {
                    *p = BtfParam {
                        name_off: name,
                        type_id: p.type_id,
                    };
                }
            }
        }
        Ok(())
    }

    /// Where each variable of the `.kconfig` DATASEC lives in the
    /// `.kconfig` map, as libbpf lays it out (`bpf_object__collect_externs`
    /// sorting by `cmp_externs`): by alignment, largest first, then by
    /// size, smallest first, then by name, each at the next offset its
    /// alignment allows. In DATASEC order; empty without a `.kconfig`.
    pub fn kconfig_layout(&self) -> Result<Vec<KconfigSlot>, BtfError> {
        let Some(id) = self.find(BtfKind::Datasec, KCONFIG_SECTION) else {
            return Ok(Vec::new());
        };
        let mut slots = Vec::new();
        for info in self.type_by_id(id)?.secinfos() {
            let var = self.type_by_id(info.type_id)?;
            if var.kind != BtfKind::Var {
                return Err(BtfError::UnexpectedKind {
                    id: info.type_id,
                    expected: "VAR",
                    found: var.kind.name(),
                });
            }
            slots.push(KconfigSlot {
                var_id: info.type_id,
                offset: 0,
                size: self.size_of(info.type_id)?,
                align: self.align_of(info.type_id)?,
            });
        }
        let mut order: Vec<usize> = (0..slots.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&slots[a], &slots[b]);
            b.align
                .cmp(&a.align)
                .then(a.size.cmp(&b.size))
                .then_with(|| {
                    let name = |slot: &KconfigSlot| self.type_name(slot.var_id).unwrap_or_default();
                    name(a).cmp(name(b))
                })
        });
        let mut end: u32 = 0;
        for index in order {
            let slot = &mut slots[index];
            slot.offset = end
                .checked_next_multiple_of(slot.align)
                .ok_or(BtfError::SizeOverflow { id: slot.var_id })?;
            end = slot
                .offset
                .checked_add(slot.size)
                .ok_or(BtfError::SizeOverflow { id: slot.var_id })?;
        }
        Ok(slots)
    }

    /// `.ksyms` and `.kconfig`: every entry becomes an allocated VAR.
    /// `.ksyms` entries (kernel functions and variables, resolved by the
    /// loader, never read through this section) become 4-byte ints laid out
    /// one after the other; `.kconfig` variables keep their types and sizes
    /// at their places in the `.kconfig` map ([`kconfig_layout`](Btf::kconfig_layout)).
    fn lay_out_extern_datasecs(&mut self, placeholder: &mut Placeholder) -> Result<(), BtfError> {
        let kconfig = self.kconfig_layout()?;
        for index in 0..self.types.len() {
            let Some(t) = self.types.get(index) else {
                continue;
            };
            if t.kind != BtfKind::Datasec {
                continue;
            }
            let ksyms = match self.string(t.name_off)? {
                KSYMS_SECTION => true,
                KCONFIG_SECTION => false,
                _ => continue,
            };
            let entries: Vec<u32> = t.secinfos().iter().map(|v| v.type_id).collect();
            let mut layout = Vec::with_capacity(entries.len());
            let mut end: u32 = 0;
            for (i, type_id) in entries.into_iter().enumerate() {
                let entry = self.type_by_id(type_id)?;
                let (var_id, offset, size) = match (entry.kind, ksyms) {
                    (BtfKind::Func, true) => (placeholder.var(self), end, 4),
                    (BtfKind::Var, true) => {
                        let int = placeholder.int(self);
                        self.make_allocated_var(type_id, Some(int));
                        (type_id, end, 4)
                    }
                    (_, false) => {
                        // `kconfig_layout` checked the kinds, in this order.
                        let slot = kconfig
                            .get(i)
                            .ok_or(BtfError::SizeOverflow { id: type_id })?;
                        self.make_allocated_var(type_id, None);
                        (type_id, slot.offset, slot.size)
                    }
                    (kind, _) => {
                        return Err(BtfError::UnexpectedKind {
                            id: type_id,
                            expected: "VAR or FUNC",
                            found: kind.name(),
                        })
                    }
                };
                end = end.max(
                    offset
                        .checked_add(size)
                        .ok_or(BtfError::SizeOverflow { id: type_id })?,
                );
                layout.push((var_id, offset, size));
            }
            if let Some(t) = self.types.get_mut(index) {
                t.size_or_type = end;
                if let BtfTypeData::Datasec(vars) = &mut t.data {
                    for (v, (type_id, offset, size)) in vars.iter_mut().zip(layout) {
                        v.type_id = type_id;
                        v.offset = offset;
                        v.size = size;
                    }
                }
            }
        }
        Ok(())
    }

    /// An extern VAR becomes allocated, optionally retyped.
    fn make_allocated_var(&mut self, var_id: u32, retype: Option<u32>) {
        let Some(var) = var_id
            .checked_sub(1)
            .and_then(|i| self.types.get_mut(i as usize))
        else {
            return;
        };
        if let BtfTypeData::Var { linkage } = &mut var.data {
            if *linkage == BTF_VAR_GLOBAL_EXTERN {
                *linkage = BTF_VAR_GLOBAL_ALLOCATED;
            }
        }
        if let Some(type_id) = retype {
            var.size_or_type = type_id;
        }
    }
}

/// The name, INT and VAR that stand in for externs, added at most once.
#[derive(Default)]
struct Placeholder {
    name: Option<u32>,
    int: Option<u32>,
    var: Option<u32>,
}

impl Placeholder {
    fn name(&mut self, btf: &mut Btf) -> u32 {
        *self
            .name
            .get_or_insert_with(|| btf.add_string(PLACEHOLDER_NAME))
    }

    /// A signed 4-byte INT: an existing one when the BTF has it.
    fn int(&mut self, btf: &mut Btf) -> u32 {
        if let Some(id) = self.int {
            return id;
        }
        let existing = btf.types_with_ids().find_map(|(id, t)| {
            let BtfTypeData::Int(int) = t.data else {
                return None;
            };
            (t.size_or_type == 4 && int.0 == (BTF_INT_SIGNED | 32)).then_some(id)
        });
        let id = existing.unwrap_or_else(|| {
            let name_off = btf.add_string("int");
            btf.add_type(BtfType {
                name_off,
                kind: BtfKind::Int,
                kind_flag: false,
                size_or_type: 4,
                data: BtfTypeData::Int(BtfInt(BTF_INT_SIGNED | 32)),
            })
        });
        *self.int.insert(id)
    }

    /// A global int VAR that DATASEC entries naming functions point to instead.
    fn var(&mut self, btf: &mut Btf) -> u32 {
        if let Some(id) = self.var {
            return id;
        }
        let int = self.int(btf);
        let name_off = self.name(btf);
        let id = btf.add_type(BtfType {
            name_off,
            kind: BtfKind::Var,
            kind_flag: false,
            size_or_type: int,
            data: BtfTypeData::Var {
                linkage: BTF_VAR_GLOBAL_ALLOCATED,
            },
        });
        *self.var.insert(id)
    }
}
