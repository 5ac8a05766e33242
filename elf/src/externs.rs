//! Externs: what the object declares but leaves to the loader.
//!
//! libbpf's `bpf_helpers.h` marks two kinds of extern declaration, each by
//! the section clang records it in (a DATASEC of `.BTF`; the ELF symbol is
//! undefined, `STB_GLOBAL` or, with `__weak`, `STB_WEAK`):
//!
//! - `extern T NAME __kconfig` (`.kconfig`): a value of the running
//!   kernel's configuration (`CONFIG_*`) or one the loader knows itself
//!   (`LINUX_KERNEL_VERSION`, `LINUX_HAS_BPF_COOKIE`,
//!   `LINUX_HAS_SYSCALL_WRAPPER`). All of them together are one read-only
//!   map, `.kconfig`, which the loader fills and freezes; each extern is at
//!   its offset in it ([`Btf::kconfig_layout`]), and an `ld_imm64` of it
//!   becomes `BPF_PSEUDO_MAP_VALUE` of that map.
//! - `extern T NAME __ksym` (`.ksyms`): a kernel symbol. A variable of a
//!   type is found in the kernel's BTF (`BPF_PSEUDO_BTF_ID`); a `void` one
//!   is an address from `/proc/kallsyms`; a function is a kfunc (calls
//!   become `BPF_PSEUDO_KFUNC_CALL`, and an `ld_imm64` of its address, which
//!   `bpf_ksym_exists()` tests, `BPF_PSEUDO_BTF_ID`).
//!
//! A weak extern the kernel does not have is 0 (its calls are poisoned, so
//! the verifier only objects if they are reachable); a strong one is an
//! error. The parser lists them in [`crate::Object::externs`], in
//! libbpf's order (`cmp_externs`: kconfig first, then by name).

use crate::btf::{Btf, BtfKind, BtfTypeData, KCONFIG_SECTION, KSYMS_SECTION};
use crate::container::{Elf, SymbolKind};
use crate::error::ParseError;

/// One extern the object declares `__kconfig` or `__ksym` and uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extern {
    /// The symbol (`CONFIG_HZ`, `bpf_task_acquire___one`).
    pub name: String,
    /// Declared `__weak`: 0 when the kernel does not have it.
    pub weak: bool,
    /// Its VAR or FUNC in the object's BTF.
    pub btf_id: u32,
    /// What it is and how it is resolved.
    pub kind: ExternKind,
}

/// What an extern is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExternKind {
    /// A `__kconfig` value in the `.kconfig` map.
    Kconfig(KconfigVar),
    /// A `__ksym` variable; `type_id` is its type in the object's BTF
    /// after modifiers and typedefs, 0 (`void`) for an untyped one, whose
    /// address comes from `/proc/kallsyms`.
    Ksym {
        /// The variable's type (0: untyped).
        type_id: u32,
    },
    /// A `__ksym` function: a kfunc, `proto_id` its FUNC_PROTO in the
    /// object's BTF.
    Kfunc {
        /// Its prototype.
        proto_id: u32,
    },
}

/// A `__kconfig` extern: how its value is written, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KconfigVar {
    /// The C type, as libbpf tells them apart (`find_kcfg_type`).
    pub ty: KconfigType,
    /// Its size in bytes.
    pub size: u32,
    /// Whether an integer is signed (range checks).
    pub signed: bool,
    /// Its byte offset in the `.kconfig` map.
    pub offset: u32,
}

/// The types a `__kconfig` extern may have (libbpf's `enum kcfg_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KconfigType {
    /// `bool`: `y` is 1, `n` 0.
    Bool,
    /// `enum libbpf_tristate`: `y` 1, `n` 0, `m` 2.
    Tristate,
    /// `char`: the letter itself, or a number.
    Char,
    /// An integer of 1, 2, 4 or 8 bytes.
    Int,
    /// `char[N]`: a quoted string, cut to `N - 1` bytes.
    CharArray,
}

impl Extern {
    /// For listings: `kconfig`, `ksym`, `ksym (untyped)` or `kfunc`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ExternKind::Kconfig(_) => "kconfig",
            ExternKind::Ksym { type_id: 0 } => "ksym (untyped)",
            ExternKind::Ksym { .. } => "ksym",
            ExternKind::Kfunc { .. } => "kfunc",
        }
    }

    /// The name a kernel symbol is looked up by: without a `___flavour`
    /// suffix (`bpf_task_acquire___one` is `bpf_task_acquire`), as libbpf
    /// does for kfuncs (`essent_name`).
    pub fn essential_name(&self) -> &str {
        match self.kind {
            ExternKind::Kfunc { .. } => essential(&self.name),
            _ => &self.name,
        }
    }
}

/// A name without its `___flavour` suffix.
pub(crate) fn essential(name: &str) -> &str {
    name.find("___").map_or(name, |at| &name[..at])
}

/// Bytes of the `.kconfig` map: one past the last extern's end (0 when
/// there is none).
pub fn kconfig_size(externs: &[Extern]) -> u32 {
    externs
        .iter()
        .filter_map(|e| match e.kind {
            ExternKind::Kconfig(var) => Some(var.offset.saturating_add(var.size)),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// `enum kcfg_type` of a `.kconfig` VAR's type, with its signedness.
fn kconfig_type(btf: &Btf, type_id: u32) -> Option<(KconfigType, bool)> {
    /// `BTF_INT_SIGNED`, `BTF_INT_BOOL` in the INT encoding.
    const SIGNED: u8 = 1;
    const BOOL: u8 = 4;
    let id = btf.resolve(type_id).ok()?;
    let t = btf.type_by_id(id).ok()?;
    let name = btf.string(t.name_off).unwrap_or_default();
    match &t.data {
        BtfTypeData::Int(int) if int.encoding() & BOOL != 0 => {
            (t.size_or_type == 1).then_some((KconfigType::Bool, false))
        }
        BtfTypeData::Int(int) => {
            let signed = int.encoding() & SIGNED != 0;
            match t.size_or_type {
                1 => Some((KconfigType::Char, signed)),
                2 | 4 | 8 => Some((KconfigType::Int, signed)),
                _ => None,
            }
        }
        BtfTypeData::Enum(_) if t.size_or_type == 4 && name == "libbpf_tristate" => {
            Some((KconfigType::Tristate, false))
        }
        BtfTypeData::Enum64(_) if name == "libbpf_tristate" => Some((KconfigType::Tristate, false)),
        BtfTypeData::Array(array) if array.nelems > 0 => matches!(
            kconfig_type(btf, array.type_id),
            Some((KconfigType::Char, _))
        )
        .then_some((KconfigType::CharArray, false)),
        _ => None,
    }
}

/// The DATASEC (`.kconfig` or `.ksyms`) that lists VAR or FUNC `id`.
fn section_of(btf: &Btf, id: u32) -> Option<&str> {
    btf.datasecs()
        .ok()?
        .into_iter()
        .find_map(|(_, name, vars)| {
            vars.iter()
                .any(|v| v.type_id == id)
                .then_some(name)
                .filter(|name| *name == KCONFIG_SECTION || *name == KSYMS_SECTION)
        })
}

/// The extern VAR or FUNC named `name` (libbpf's `find_extern_btf_id`).
fn extern_btf_id(btf: &Btf, name: &str) -> Option<u32> {
    btf.types_with_ids().find_map(|(id, t)| {
        let is_extern = match t.data {
            BtfTypeData::Var { linkage } => linkage == crate::btf::BTF_VAR_GLOBAL_EXTERN,
            BtfTypeData::Func { linkage } => linkage == crate::btf::BTF_FUNC_EXTERN,
            _ => false,
        };
        (is_extern && btf.string(t.name_off).ok() == Some(name)).then_some(id)
    })
}

/// The externs of the object: every undefined global symbol without a type
/// (`STT_NOTYPE`, as clang leaves externs) whose VAR or FUNC a `.kconfig`
/// or `.ksyms` DATASEC lists. Other undefined symbols are left to the
/// relocations, which refuse what they cannot resolve. Sorted as libbpf
/// sorts them: kconfig before ksyms, each by name (the `.kconfig` map's
/// layout has its own order, [`Btf::kconfig_layout`]).
pub(crate) fn collect(elf: &Elf<'_>, btf: Option<&Btf>) -> Result<Vec<Extern>, ParseError> {
    let Some(btf) = btf else {
        return Ok(Vec::new());
    };
    let btf_error = |error| ParseError::Btf {
        section: ".BTF",
        error,
    };
    let mut layout = None;
    let mut externs = Vec::new();
    for symbol in &elf.symbols {
        let candidate = symbol.undefined
            && symbol.global
            && symbol.kind == SymbolKind::NoType
            && !symbol.name.is_empty();
        if !candidate || externs.iter().any(|e: &Extern| e.name == symbol.name) {
            continue;
        }
        let Some(btf_id) = extern_btf_id(btf, &symbol.name) else {
            continue;
        };
        let Some(section) = section_of(btf, btf_id) else {
            continue;
        };
        let t = btf.type_by_id(btf_id).map_err(btf_error)?;
        let kind = if section == KCONFIG_SECTION {
            if t.kind == BtfKind::Func {
                return Err(ParseError::KconfigFunction {
                    name: symbol.name.clone(),
                });
            }
            let (ty, signed) =
                kconfig_type(btf, t.size_or_type).ok_or_else(|| ParseError::KconfigType {
                    name: symbol.name.clone(),
                })?;
            let layout = match &mut layout {
                Some(layout) => layout,
                None => layout.insert(btf.kconfig_layout().map_err(btf_error)?),
            };
            let slot = layout
                .iter()
                .find(|s| s.var_id == btf_id)
                .copied()
                .ok_or_else(|| ParseError::KconfigType {
                    name: symbol.name.clone(),
                })?;
            ExternKind::Kconfig(KconfigVar {
                ty,
                size: slot.size,
                signed,
                offset: slot.offset,
            })
        } else if t.kind == BtfKind::Func {
            ExternKind::Kfunc {
                proto_id: t.size_or_type,
            }
        } else {
            ExternKind::Ksym {
                type_id: btf.resolve(t.size_or_type).map_err(btf_error)?,
            }
        };
        externs.push(Extern {
            name: symbol.name.clone(),
            weak: symbol.weak,
            btf_id,
            kind,
        });
    }
    externs.sort_by(|a, b| {
        let ksym = |e: &Extern| !matches!(e.kind, ExternKind::Kconfig(_));
        ksym(a).cmp(&ksym(b)).then_with(|| a.name.cmp(&b.name))
    });
    Ok(externs)
}

/// The `.kconfig` map's value for these externs, and what the user should
/// know about it (strings cut to fit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KconfigData {
    /// The map's value: every extern at its offset.
    pub bytes: Vec<u8>,
    /// Values that were adjusted to fit (a string cut to its array).
    pub warnings: Vec<String>,
}

/// A `__kconfig` extern that cannot be given a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KconfigError {
    /// A strong `CONFIG_*` extern the configuration does not set.
    #[error(
        "`{name}` is not set in the kernel configuration; declare it __weak to load with 0 instead"
    )]
    Unset {
        /// The extern.
        name: String,
    },
    /// A strong `CONFIG_*` extern, and no kernel configuration to read.
    #[error("`{name}` needs the kernel configuration, which could not be read")]
    NoConfig {
        /// The extern.
        name: String,
    },
    /// A strong `LINUX_*` extern (or a weak one of another prefix) rxdp
    /// does not know.
    #[error("`{name}` is not a configuration value (CONFIG_*) nor one rxdp provides (LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER); declare it __weak (and LINUX_*) to load with 0")]
    Unknown {
        /// The extern.
        name: String,
    },
    /// The value does not fit the extern's type.
    #[error("`{name}` = {value}: {reason}")]
    Value {
        /// The extern.
        name: String,
        /// The value as given.
        value: String,
        /// Why it does not fit.
        reason: &'static str,
    },
    /// A `CONFIG_` line without `=` or value.
    #[error("configuration line {line:?}: {reason}")]
    Line {
        /// The line.
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// One value for one extern, or why not.
fn set_number(
    ext: &Extern,
    var: &KconfigVar,
    value: u64,
    text: &str,
    out: &mut [u8],
) -> Result<(), KconfigError> {
    let bad = |reason| KconfigError::Value {
        name: ext.name.clone(),
        value: text.to_string(),
        reason,
    };
    match var.ty {
        KconfigType::Bool if value > 1 => return Err(bad("not 0 or 1, for a bool")),
        KconfigType::Bool | KconfigType::Int | KconfigType::Char => {}
        _ => {
            return Err(bad(
                "a number, for an extern that is no integer, char or bool",
            ))
        }
    }
    let bits = var.size * 8;
    let fits = match (bits, var.signed) {
        (64, _) => true,
        (_, true) => value.wrapping_add(1 << (bits - 1)) < 1 << bits,
        (_, false) => value >> bits == 0,
    };
    if !fits {
        return Err(bad("does not fit the extern's size"));
    }
    let start = var.offset as usize;
    let bytes = value.to_le_bytes();
    let slot = out
        .get_mut(start..start + var.size as usize)
        .ok_or_else(|| bad("lies outside the .kconfig map"))?;
    slot.copy_from_slice(&bytes[..var.size as usize]);
    Ok(())
}

/// `strtoull(text, &end, 0)` that must consume all of `text`: decimal,
/// `0x` hexadecimal or `0` octal, an optional sign (a minus wraps, as C's).
fn parse_number(text: &str) -> Option<u64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// One `CONFIG_NAME=value` for its extern (libbpf's
/// `bpf_object__process_kconfig_line`): `y`, `n`, `m` for bool (not `m`),
/// tristate and char; `"text"` for a char array (cut to fit, with a
/// warning); a number for integers and chars.
fn set_config(
    ext: &Extern,
    var: &KconfigVar,
    value: &str,
    out: &mut [u8],
    warnings: &mut Vec<String>,
) -> Result<(), KconfigError> {
    let bad = |reason| KconfigError::Value {
        name: ext.name.clone(),
        value: value.to_string(),
        reason,
    };
    let start = var.offset as usize;
    match value.as_bytes().first() {
        Some(&letter @ (b'y' | b'n' | b'm')) => {
            let byte = match var.ty {
                KconfigType::Bool if letter == b'm' => {
                    return Err(bad(
                        "a module (m), for a bool: declare it enum libbpf_tristate",
                    ))
                }
                KconfigType::Bool => u8::from(letter == b'y'),
                KconfigType::Tristate => match letter {
                    b'y' => 1,
                    b'm' => 2,
                    _ => 0,
                },
                KconfigType::Char => letter,
                _ => {
                    return Err(bad(
                        "y, n or m, for an extern that is no bool, tristate or char",
                    ))
                }
            };
            // A tristate is an enum of 4 bytes (or 8): the low byte is it.
            let slot = out
                .get_mut(start..start + var.size as usize)
                .ok_or_else(|| bad("lies outside the .kconfig map"))?;
            slot.fill(0);
            slot[0] = byte;
        }
        Some(b'"') => {
            if var.ty != KconfigType::CharArray {
                return Err(bad("a string, for an extern that is no char array"));
            }
            let text = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| bad("a string without its closing quote"))?
                .as_bytes();
            let room = var.size as usize - 1;
            if text.len() > room {
                warnings.push(format!(
                    "kconfig extern {}: {value} is {} bytes, cut to the {room} its array holds",
                    ext.name,
                    text.len()
                ));
            }
            let slot = out
                .get_mut(start..start + var.size as usize)
                .ok_or_else(|| bad("lies outside the .kconfig map"))?;
            slot.fill(0);
            let len = text.len().min(room);
            slot[..len].copy_from_slice(&text[..len]);
        }
        _ => {
            let number = parse_number(value).ok_or_else(|| bad("not a number"))?;
            if !matches!(var.ty, KconfigType::Int | KconfigType::Char) {
                return Err(bad("a number, for an extern that is no integer or char"));
            }
            set_number(ext, var, number, value, out)?;
        }
    }
    Ok(())
}

/// The `.kconfig` map's value: each extern's value at its offset, from the
/// kernel configuration `config` (the text of `/proc/config.gz` or
/// `/boot/config-$(uname -r)`; `None` when it could not be read) for the
/// `CONFIG_*` externs, and from `virtual_value` for `LINUX_KERNEL_VERSION`,
/// `LINUX_HAS_BPF_COOKIE` and `LINUX_HAS_SYSCALL_WRAPPER` (asked only for
/// the externs the object has). A weak extern the configuration does not
/// set, and a weak `LINUX_*` rxdp does not know, are 0; a strong one is an
/// error (libbpf's `bpf_object__resolve_externs`; libbpf also refuses weak
/// `CONFIG_*` externs when there is no configuration to read, rxdp gives
/// them 0).
pub fn kconfig_data(
    externs: &[Extern],
    config: Option<&str>,
    mut virtual_value: impl FnMut(&str) -> Option<u64>,
) -> Result<KconfigData, KconfigError> {
    let size = kconfig_size(externs) as usize;
    let mut bytes = vec![0u8; size.max(1)];
    let mut warnings = Vec::new();
    let kconfig = || {
        externs.iter().filter_map(|e| match e.kind {
            ExternKind::Kconfig(var) => Some((e, var)),
            _ => None,
        })
    };
    let mut set: Vec<&str> = Vec::new();
    for (ext, var) in kconfig().filter(|(e, _)| !e.name.starts_with("CONFIG_")) {
        match virtual_value(&ext.name) {
            Some(value) => {
                set_number(ext, &var, value, &value.to_string(), &mut bytes)?;
                set.push(&ext.name);
            }
            None if ext.weak && ext.name.starts_with("LINUX_") => {}
            None => {
                return Err(KconfigError::Unknown {
                    name: ext.name.clone(),
                })
            }
        }
    }
    if let Some(config) = config {
        for line in config.lines() {
            if !line.starts_with("CONFIG_") {
                continue;
            }
            let (name, value) = line.split_once('=').ok_or_else(|| KconfigError::Line {
                line: line.to_string(),
                reason: "no `=`",
            })?;
            if value.is_empty() {
                return Err(KconfigError::Line {
                    line: line.to_string(),
                    reason: "no value",
                });
            }
            let Some((ext, var)) = kconfig().find(|(e, _)| e.name == name) else {
                continue;
            };
            if set.contains(&name) {
                continue;
            }
            set_config(ext, &var, value, &mut bytes, &mut warnings)?;
            set.push(&ext.name);
        }
    }
    for (ext, _) in kconfig() {
        if !ext.weak && !set.contains(&ext.name.as_str()) {
            return Err(match config {
                Some(_) => KconfigError::Unset {
                    name: ext.name.clone(),
                },
                None => KconfigError::NoConfig {
                    name: ext.name.clone(),
                },
            });
        }
    }
    Ok(KconfigData { bytes, warnings })
}

/// Whether the object has `CONFIG_*` externs: whether a load must read the
/// kernel's configuration.
pub fn needs_config(externs: &[Extern]) -> bool {
    externs
        .iter()
        .any(|e| matches!(e.kind, ExternKind::Kconfig(_)) && e.name.starts_with("CONFIG_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kconfig(name: &str, weak: bool, ty: KconfigType, size: u32, offset: u32) -> Extern {
        Extern {
            name: name.to_string(),
            weak,
            btf_id: 1,
            kind: ExternKind::Kconfig(KconfigVar {
                ty,
                size,
                signed: ty == KconfigType::Int && name.ends_with("INT"),
                offset,
            }),
        }
    }

    /// The externs of libbpf's `test_core_extern`, laid out as its
    /// `.kconfig` map: ULONG 0, INT 8, USHORT 12, TRISTATE 16 (4 bytes),
    /// LINUX_KERNEL_VERSION 20, BOOL 24, CHAR 25, BPF_SYSCALL 26, STR 27..35.
    fn externs() -> Vec<Extern> {
        vec![
            kconfig("CONFIG_ULONG", true, KconfigType::Int, 8, 0),
            kconfig("CONFIG_INT", true, KconfigType::Int, 4, 8),
            kconfig("CONFIG_USHORT", true, KconfigType::Int, 2, 12),
            kconfig("CONFIG_TRISTATE", true, KconfigType::Tristate, 4, 16),
            kconfig("LINUX_KERNEL_VERSION", false, KconfigType::Int, 4, 20),
            kconfig("CONFIG_BOOL", true, KconfigType::Bool, 1, 24),
            kconfig("CONFIG_CHAR", true, KconfigType::Char, 1, 25),
            kconfig("CONFIG_BPF_SYSCALL", false, KconfigType::Bool, 1, 26),
            kconfig("CONFIG_STR", true, KconfigType::CharArray, 8, 27),
            kconfig(
                "LINUX_UNKNOWN_VIRTUAL_EXTERN",
                true,
                KconfigType::Int,
                4,
                36,
            ),
        ]
    }

    fn version(name: &str) -> Option<u64> {
        (name == "LINUX_KERNEL_VERSION").then_some(0x0601c0)
    }

    fn with(config: &str) -> Result<KconfigData, KconfigError> {
        kconfig_data(&externs(), Some(config), version)
    }

    #[test]
    fn every_type_takes_its_values() {
        let data = with(
            "# comment\nCONFIG_BPF_SYSCALL=n\nCONFIG_TRISTATE=m\nCONFIG_BOOL=y\n\
             CONFIG_CHAR=100\nCONFIG_USHORT=30000\nCONFIG_INT=123456\n\
             CONFIG_ULONG=0xDEADBEEFC0DE\nCONFIG_STR=\"abracad\"\nCONFIG_OTHER=y\n\
             # CONFIG_X is not set\n",
        )
        .unwrap();
        let b = &data.bytes;
        assert_eq!(b.len(), 40);
        assert_eq!(
            u64::from_le_bytes(b[0..8].try_into().unwrap()),
            0xDEAD_BEEF_C0DE
        );
        assert_eq!(u32::from_le_bytes(b[8..12].try_into().unwrap()), 123456);
        assert_eq!(u16::from_le_bytes(b[12..14].try_into().unwrap()), 30000);
        assert_eq!(
            u32::from_le_bytes(b[16..20].try_into().unwrap()),
            2,
            "TRI_MODULE"
        );
        assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 0x0601c0);
        assert_eq!((b[24], b[25], b[26]), (1, 100, 0));
        assert_eq!(&b[27..35], b"abracad\0");
        assert_eq!(&b[36..40], &[0; 4], "an unknown weak LINUX_ is 0");
        assert!(data.warnings.is_empty());
    }

    #[test]
    fn letters_strings_and_numbers_as_libbpf_takes_them() {
        let at = |config: &str, range: std::ops::Range<usize>| {
            with(config).unwrap().bytes[range].to_vec()
        };
        let base = "CONFIG_BPF_SYSCALL=y\n";
        assert_eq!(at(&format!("{base}CONFIG_TRISTATE=y"), 16..17), [1]);
        assert_eq!(at(&format!("{base}CONFIG_TRISTATE=n"), 16..17), [0]);
        assert_eq!(at(&format!("{base}CONFIG_BOOL=n"), 24..25), [0]);
        assert_eq!(at(&format!("{base}CONFIG_CHAR=m"), 25..26), [b'm']);
        assert_eq!(at(&format!("{base}CONFIG_STR=\"\""), 27..35), [0; 8]);
        assert_eq!(
            at(&format!("{base}CONFIG_STR=\"abra\""), 27..35),
            *b"abra\0\0\0\0"
        );
        assert_eq!(
            at(&format!("{base}CONFIG_INT=0x10"), 8..12),
            16u32.to_le_bytes()
        );
        assert_eq!(
            at(&format!("{base}CONFIG_INT=010"), 8..12),
            8u32.to_le_bytes()
        );
        assert_eq!(
            at(&format!("{base}CONFIG_INT=-1"), 8..12),
            [0xff; 4],
            "a signed int"
        );
        assert_eq!(at(&format!("{base}CONFIG_USHORT=65535"), 12..14), [0xff; 2]);
        // The first line for a name wins.
        assert_eq!(
            at(&format!("{base}CONFIG_INT=1\nCONFIG_INT=2"), 8..12),
            1u32.to_le_bytes()
        );
        // A string longer than its array is cut, with a warning.
        let long = with(&format!("{base}CONFIG_STR=\"abracada\"")).unwrap();
        assert_eq!(&long.bytes[27..35], b"abracad\0");
        assert_eq!(long.warnings.len(), 1);
        assert!(
            long.warnings[0].contains("CONFIG_STR"),
            "{:?}",
            long.warnings
        );
    }

    #[test]
    fn values_that_do_not_fit_are_refused_naming_the_extern() {
        let base = "CONFIG_BPF_SYSCALL=y\n";
        for (line, reason) in [
            (
                "CONFIG_TRISTATE=1",
                "a number, for an extern that is no integer or char",
            ),
            ("CONFIG_TRISTATE=M", "not a number"),
            (
                "CONFIG_BOOL=m",
                "a module (m), for a bool: declare it enum libbpf_tristate",
            ),
            (
                "CONFIG_BOOL=1",
                "a number, for an extern that is no integer or char",
            ),
            ("CONFIG_CHAR=q", "not a number"),
            (
                "CONFIG_CHAR=\"y\"",
                "a string, for an extern that is no char array",
            ),
            (
                "CONFIG_STR=y",
                "y, n or m, for an extern that is no bool, tristate or char",
            ),
            (
                "CONFIG_STR=123",
                "a number, for an extern that is no integer or char",
            ),
            ("CONFIG_STR=\"abra", "a string without its closing quote"),
            ("CONFIG_USHORT=65536", "does not fit the extern's size"),
            ("CONFIG_INT=2147483648", "does not fit the extern's size"),
            ("CONFIG_ULONG=0x1234zz", "not a number"),
        ] {
            let error = with(&format!("{base}{line}")).unwrap_err();
            let (name, value) = line.split_once('=').unwrap();
            assert_eq!(
                error,
                KconfigError::Value {
                    name: name.to_string(),
                    value: value.to_string(),
                    reason,
                },
                "{line}"
            );
        }
        // A CONFIG_ line without = or value breaks the whole file, as in libbpf.
        assert!(matches!(
            with("CONFIG_BPF_SYSCALL"),
            Err(KconfigError::Line { .. })
        ));
        assert!(matches!(
            with("CONFIG_BPF_SYSCALL="),
            Err(KconfigError::Line { .. })
        ));
    }

    #[test]
    fn weak_externs_are_zero_strong_ones_an_error() {
        // CONFIG_BPF_SYSCALL is strong and not set.
        assert_eq!(
            with("CONFIG_INT=1\n").unwrap_err(),
            KconfigError::Unset {
                name: "CONFIG_BPF_SYSCALL".into()
            }
        );
        assert_eq!(
            kconfig_data(&externs(), None, version).unwrap_err(),
            KconfigError::NoConfig {
                name: "CONFIG_BPF_SYSCALL".into()
            }
        );
        // Every weak one left unset is 0.
        let data = with("CONFIG_BPF_SYSCALL=y\n").unwrap();
        assert_eq!(data.bytes[26], 1);
        assert!(data.bytes[..20].iter().all(|&b| b == 0));
        // A strong LINUX_ rxdp does not know is an error; so is a weak
        // extern of another prefix.
        let mut strange = externs();
        strange[9].weak = false;
        assert_eq!(
            kconfig_data(&strange, Some("CONFIG_BPF_SYSCALL=y"), version).unwrap_err(),
            KconfigError::Unknown {
                name: "LINUX_UNKNOWN_VIRTUAL_EXTERN".into()
            }
        );
        strange[9] = kconfig("MY_VALUE", true, KconfigType::Int, 4, 36);
        assert!(matches!(
            kconfig_data(&strange, Some("CONFIG_BPF_SYSCALL=y"), version),
            Err(KconfigError::Unknown { .. })
        ));
        // LINUX_KERNEL_VERSION must fit its int.
        let big = |_: &str| Some(1u64 << 40);
        assert!(matches!(
            kconfig_data(&externs()[4..5], None, big),
            Err(KconfigError::Value { .. })
        ));
        assert!(!needs_config(&externs()[4..5]));
        assert!(needs_config(&externs()));
    }

    #[test]
    fn numbers_as_strtoull_reads_them() {
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number("0x2A"), Some(42));
        assert_eq!(parse_number("052"), Some(42));
        assert_eq!(parse_number("-1"), Some(u64::MAX));
        assert_eq!(parse_number("+7"), Some(7));
        assert_eq!(parse_number("18446744073709551616"), None);
        assert_eq!(parse_number("1 "), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("09"), None);
    }

    #[test]
    fn an_objects_externs_in_libbpfs_order() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../progs/obj/externs.o"
        ))
        .expect("progs/obj/externs.o (make progs)");
        let object = crate::Object::parse(&data).unwrap();
        let listed: Vec<(&str, &str, bool)> = object
            .externs
            .iter()
            .map(|e| (e.name.as_str(), e.kind_name(), e.weak))
            .collect();
        assert_eq!(
            listed,
            [
                ("CONFIG_BPF_JIT", "kconfig", true),
                ("CONFIG_BPF_SYSCALL", "kconfig", false),
                ("CONFIG_DEFAULT_HOSTNAME", "kconfig", true),
                ("CONFIG_HZ", "kconfig", true),
                ("CONFIG_RXDP_NO_SUCH_OPTION", "kconfig", true),
                ("LINUX_HAS_BPF_COOKIE", "kconfig", false),
                ("LINUX_HAS_SYSCALL_WRAPPER", "kconfig", false),
                ("LINUX_KERNEL_VERSION", "kconfig", false),
                ("LINUX_RXDP_UNKNOWN", "kconfig", true),
                ("bpf_task_acquire", "kfunc", true),
                ("rxdp_no_such_kfunc", "kfunc", true),
                ("rxdp_no_such_symbol", "ksym (untyped)", true),
                ("rxdp_no_such_variable", "ksym", true),
                ("schedule", "ksym (untyped)", false),
            ]
        );
        // The .kconfig map: the layout libbpf gives it (8-byte values
        // first, then by size and name), read-only to programs.
        let offsets: Vec<(&str, u32, u32)> = object
            .externs
            .iter()
            .filter_map(|e| match e.kind {
                ExternKind::Kconfig(var) => Some((e.name.as_str(), var.offset, var.size)),
                _ => None,
            })
            .collect();
        assert_eq!(
            offsets,
            [
                ("CONFIG_BPF_JIT", 8, 4),
                ("CONFIG_BPF_SYSCALL", 24, 1),
                ("CONFIG_DEFAULT_HOSTNAME", 27, 16),
                ("CONFIG_HZ", 12, 4),
                ("CONFIG_RXDP_NO_SUCH_OPTION", 0, 8),
                ("LINUX_HAS_BPF_COOKIE", 25, 1),
                ("LINUX_HAS_SYSCALL_WRAPPER", 26, 1),
                ("LINUX_KERNEL_VERSION", 16, 4),
                ("LINUX_RXDP_UNKNOWN", 20, 4),
            ]
        );
        let map = object.kconfig_map().map(|i| &object.maps[i]).unwrap();
        assert_eq!((map.name.as_str(), map.def.value_size), (".kconfig", 43));
        assert_eq!(map.def.flags, crate::maps::BPF_F_RDONLY_PROG);
        assert_eq!(kconfig_size(&object.externs), 43);
        // Every use of an extern is an Extern relocation; the call of the
        // weak kfunc a Kfunc one.
        let targets = &object.programs[0].function.relocs;
        let uses = targets
            .iter()
            .filter(|r| matches!(r.target, crate::RelocTarget::Extern(_)))
            .count();
        assert_eq!(
            uses, 14,
            "clang loads rxdp_no_such_kfunc once for both tests"
        );
        assert!(targets
            .iter()
            .any(|r| r.target == crate::RelocTarget::Kfunc("rxdp_no_such_kfunc".into())));
        assert_eq!(
            object.kfunc("rxdp_no_such_kfunc").map(|e| e.weak),
            Some(true)
        );
    }
}
