//! Rewriting an object's BTF for a kernel that does not know all its kinds.
//!
//! clang describes more than old kernels' BTF checkers accept: function
//! records (5.0), global functions (5.6), variables and sections (5.2),
//! floats (5.13), declaration tags (5.16), type tags (5.17), 64-bit enums
//! (6.0). A kernel that meets a kind it does not know refuses the whole
//! BTF. [`Btf::sanitized`] replaces each unknown kind by one the kernel
//! knows, of the same size, the way libbpf does (`bpf_object__sanitize_btf`),
//! so that map and program type information survive; what the rewrite
//! loses (a function's prototype, an enum64's values) the loader never
//! needed from the kernel. Type ids do not change (one INT may be appended).

use super::types::{BtfEnum, BtfInt, BtfKind, BtfMember, BtfType, BtfTypeData};
use super::Btf;

/// What a kernel's BTF checker accepts, probed once per process by the
/// loader (libbpf's `FEAT_BTF_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfFeatures {
    /// `BTF_KIND_FUNC` and `BTF_KIND_FUNC_PROTO` (5.0).
    pub func: bool,
    /// `BTF_FUNC_GLOBAL` linkage (5.6).
    pub func_global: bool,
    /// `BTF_KIND_VAR` and `BTF_KIND_DATASEC` (5.2).
    pub datasec: bool,
    /// `BTF_KIND_FLOAT` (5.13).
    pub float: bool,
    /// `BTF_KIND_DECL_TAG` (5.16).
    pub decl_tag: bool,
    /// `BTF_KIND_TYPE_TAG` (5.17).
    pub type_tag: bool,
    /// `BTF_KIND_ENUM64` and signed enums (6.0).
    pub enum64: bool,
}

impl BtfFeatures {
    /// A kernel that knows every kind.
    pub const ALL: BtfFeatures = BtfFeatures {
        func: true,
        func_global: true,
        datasec: true,
        float: true,
        decl_tag: true,
        type_tag: true,
        enum64: true,
    };

    /// The kinds missing, by name, for messages (`FLOAT, ENUM64`).
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.func, "FUNC"),
            (self.func_global, "global FUNC"),
            (self.datasec, "DATASEC"),
            (self.float, "FLOAT"),
            (self.decl_tag, "DECL_TAG"),
            (self.type_tag, "TYPE_TAG"),
            (self.enum64, "ENUM64"),
        ]
        .into_iter()
        .filter(|(known, _)| !known)
        .map(|(_, name)| name)
        .collect()
    }
}

/// `BTF_INT_ENC(0, 0, 8)`: an unsigned 8-bit integer's encoding word.
const INT_8_BITS: u32 = 8;

impl Btf {
    /// A copy in which every kind `features` lacks is replaced (libbpf's
    /// rules, in its order of precedence):
    ///
    /// - VAR, and DECL_TAG, → a 1-byte INT of the same name;
    /// - DATASEC → a STRUCT of the same size, one member per variable
    ///   (named after it, at its offset), its name's dots made `_`;
    /// - FUNC_PROTO → an ENUM (size 4) with one enumerator per parameter;
    ///   FUNC → a TYPEDEF of it; global FUNC → static;
    /// - FLOAT → an anonymous empty STRUCT of the same size;
    /// - TYPE_TAG → an anonymous CONST;
    /// - ENUM loses its sign flag; ENUM64 → a UNION of the same size whose
    ///   members, one per enumerator, are 1-byte INTs (`enum64_placeholder`).
    pub fn sanitized(&self, features: &BtfFeatures) -> Btf {
        let mut btf = self.clone();
        let mut placeholder: Option<u32> = None;
        for index in 0..btf.types.len() {
            let t = &btf.types[index];
            let replacement = match (t.kind, &t.data) {
                (BtfKind::Var, _) if !features.datasec => byte_int(t.name_off),
                (BtfKind::DeclTag, _) if !features.decl_tag => byte_int(t.name_off),
                (BtfKind::Datasec, BtfTypeData::Datasec(vars)) if !features.datasec => {
                    let members = vars
                        .iter()
                        .map(|v| BtfMember {
                            name_off: btf.type_by_id(v.type_id).map_or(0, |var| var.name_off),
                            type_id: v.type_id,
                            offset: v.offset.saturating_mul(8),
                        })
                        .collect();
                    Some((
                        t.name_off,
                        BtfKind::Struct,
                        t.size_or_type,
                        BtfTypeData::Members(members),
                    ))
                }
                (BtfKind::FuncProto, BtfTypeData::Params(params)) if !features.func => {
                    let values = params
                        .iter()
                        .map(|p| BtfEnum {
                            name_off: p.name_off,
                            val: p.type_id as i32,
                        })
                        .collect();
                    Some((t.name_off, BtfKind::Enum, 4, BtfTypeData::Enum(values)))
                }
                (BtfKind::Func, _) if !features.func => Some((
                    t.name_off,
                    BtfKind::Typedef,
                    t.size_or_type,
                    BtfTypeData::None,
                )),
                (BtfKind::Func, _) if !features.func_global => Some((
                    t.name_off,
                    BtfKind::Func,
                    t.size_or_type,
                    BtfTypeData::Func { linkage: 0 },
                )),
                (BtfKind::Float, _) if !features.float => Some((
                    0,
                    BtfKind::Struct,
                    t.size_or_type,
                    BtfTypeData::Members(Vec::new()),
                )),
                (BtfKind::TypeTag, _) if !features.type_tag => {
                    Some((0, BtfKind::Const, t.size_or_type, BtfTypeData::None))
                }
                (BtfKind::Enum, _) if !features.enum64 && t.kind_flag => {
                    Some((t.name_off, BtfKind::Enum, t.size_or_type, t.data.clone()))
                }
                (BtfKind::Enum64, BtfTypeData::Enum64(values)) if !features.enum64 => {
                    let names: Vec<u32> = values.iter().map(|v| v.name_off).collect();
                    let int = *placeholder.get_or_insert_with(|| {
                        let name_off = btf.add_string("enum64_placeholder");
                        btf.add_type(BtfType {
                            name_off,
                            kind: BtfKind::Int,
                            kind_flag: false,
                            size_or_type: 1,
                            data: BtfTypeData::Int(BtfInt(INT_8_BITS)),
                        })
                    });
                    let t = &btf.types[index];
                    let members = names
                        .into_iter()
                        .map(|name_off| BtfMember {
                            name_off,
                            type_id: int,
                            offset: 0,
                        })
                        .collect();
                    Some((
                        t.name_off,
                        BtfKind::Union,
                        t.size_or_type,
                        BtfTypeData::Members(members),
                    ))
                }
                _ => None,
            };
            let Some((name_off, kind, size_or_type, data)) = replacement else {
                continue;
            };
            // A DATASEC's name (`.data`) is no C identifier: a struct's must be.
            let name_off = if kind == BtfKind::Struct && btf.types[index].kind == BtfKind::Datasec {
                let name = btf
                    .string(name_off)
                    .unwrap_or_default()
                    .replace(['.', '?'], "_");
                btf.add_string(&name)
            } else {
                name_off
            };
            btf.types[index] = BtfType {
                name_off,
                kind,
                kind_flag: false,
                size_or_type,
                data,
            };
        }
        btf
    }
}

/// A VAR or DECL_TAG made a 1-byte INT: 4 bytes would be too big for a
/// variable that took less (libbpf's reasoning).
fn byte_int(name_off: u32) -> Option<(u32, BtfKind, u32, BtfTypeData)> {
    Some((
        name_off,
        BtfKind::Int,
        1,
        BtfTypeData::Int(BtfInt(INT_8_BITS)),
    ))
}
