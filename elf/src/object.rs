//! `Object::parse`: the steps in the order a loader depends on them.

use std::collections::BTreeMap;

use crate::btf::{Btf, BtfExt, BtfKind, KCONFIG_SECTION};
use crate::btf_records::ExtIndex;
use crate::container::{Elf, SymbolKind};
use crate::error::ParseError;
use crate::externs::{self, Extern, ExternKind};
use crate::functions::Code;
use crate::jump_entries;
use crate::kinds::MapType;
use crate::maps::MapTable;
use crate::maps::BPF_F_RDONLY_PROG;
use crate::model::{Dialect, Map, MapDef, Object};
use crate::programs;
use crate::relocations::Resolver;

impl Object {
    /// Parses a clang-built (`-target bpf`) BPF object.
    ///
    /// Never panics and never allocates more than a small multiple of
    /// `data.len()`, whatever the bytes.
    pub fn parse(data: &[u8]) -> Result<Object, ParseError> {
        let elf = Elf::parse(data)?;
        let license = license(&elf)?;
        let kernel_version = kernel_version(&elf)?;
        let btf = btf(&elf)?;
        let ext = btf_ext(&elf, btf.as_ref())?
            .map(|ext| ExtIndex::new(&ext))
            .transpose()?;
        let code = Code::read(&elf)?;
        let externs = externs::collect(&elf, btf.as_ref())?;
        let mut maps = MapTable::read(&elf, btf.as_ref())?;
        if let Some(map) = kconfig_map(&externs, btf.as_ref())? {
            maps.maps.push(map);
        }
        let linked = {
            let resolver = Resolver::new(&elf, &code, &maps, &externs)?;
            programs::link(&code, &resolver, ext.as_ref())?
        };
        let mut jump_entries = jump_entries::from_section_names(&linked.programs, &maps.maps)?;
        // `__array(values, ...)` of a prog array names a program's function.
        jump_entries.extend(
            maps.apply_initialisers(&elf, |section, offset| linked.program_at(section, offset))?,
        );
        jump_entries::sort(&mut jump_entries);
        Ok(Object {
            license,
            kernel_version,
            maps: maps.maps,
            programs: linked.programs,
            subprograms: linked.subprograms,
            jump_entries,
            btf,
            externs,
        })
    }
}

/// The `.kconfig` map: one read-only element holding every `__kconfig`
/// extern at its offset, filled by the loader (zeros until then: a weak
/// extern the kernel does not have stays 0).
fn kconfig_map(externs: &[Extern], btf: Option<&Btf>) -> Result<Option<Map>, ParseError> {
    if !externs
        .iter()
        .any(|e| matches!(e.kind, ExternKind::Kconfig(_)))
    {
        return Ok(None);
    }
    let size = externs::kconfig_size(externs);
    let mut def = MapDef::new(MapType::ARRAY, 4, size.max(1), 1);
    def.flags = BPF_F_RDONLY_PROG;
    let mut map = Map::new(KCONFIG_SECTION, def);
    map.section = KCONFIG_SECTION.to_string();
    map.dialect = Dialect::GlobalData;
    map.data = Some(vec![0; size.max(1) as usize]);
    map.btf_value_type_id = btf
        .and_then(|btf| btf.find(BtfKind::Datasec, KCONFIG_SECTION))
        .unwrap_or(0);
    Ok(Some(map))
}

/// The `license` section up to its NUL, empty when absent.
fn license(elf: &Elf<'_>) -> Result<String, ParseError> {
    let Some(section) = elf.section_by_name("license") else {
        return Ok(String::new());
    };
    let bytes = section.bytes()?;
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8(text.to_vec()).map_err(|_| ParseError::LicenseNotUtf8)
}

/// The `version` section: `LINUX_VERSION_CODE`, which kprobe programs had
/// to pass before kernel 5.0. 0 when absent.
fn kernel_version(elf: &Elf<'_>) -> Result<u32, ParseError> {
    let Some(section) = elf.section_by_name("version") else {
        return Ok(0);
    };
    let bytes: [u8; 4] = section
        .bytes()?
        .try_into()
        .map_err(|_| ParseError::VersionSize { size: section.size })?;
    Ok(u32::from_le_bytes(bytes))
}

/// `.BTF`, with DATASEC sizes and variable offsets filled in from the ELF
/// section sizes and symbols: clang leaves them 0 and the kernel refuses that.
fn btf(elf: &Elf<'_>) -> Result<Option<Btf>, ParseError> {
    let Some(section) = elf.section_by_name(".BTF") else {
        return Ok(None);
    };
    let btf_error = |error| ParseError::Btf {
        section: ".BTF",
        error,
    };
    let mut btf = Btf::parse(section.bytes()?).map_err(btf_error)?;
    let mut offsets: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for symbol in &elf.symbols {
        if matches!(symbol.kind, SymbolKind::Section | SymbolKind::File) {
            continue;
        }
        if let Some(s) = symbol.section.and_then(|s| elf.section(s)) {
            offsets
                .entry((s.name.as_str(), symbol.name.as_str()))
                .or_insert(symbol.value);
        }
    }
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &elf.sections {
        sizes.entry(s.name.as_str()).or_insert(s.size);
    }
    btf.fix_datasecs(
        |name| sizes.get(name).and_then(|&size| u32::try_from(size).ok()),
        |section, var| {
            offsets
                .get(&(section, var))
                .and_then(|&v| u32::try_from(v).ok())
        },
    )
    .map_err(btf_error)?;
    // A global subprogram the linker made hidden (`__hidden`, `bpftool gen
    // object`) is verified as a static one, in its callers' context: its
    // FUNC becomes static, as libbpf does (`mark_btf_static`).
    let hidden: Vec<&str> = elf
        .symbols
        .iter()
        .filter(|s| s.kind == SymbolKind::Func && s.global && s.hidden)
        .filter(|s| s.section.is_some_and(|i| elf.section_name(i) == ".text"))
        .map(|s| s.name.as_str())
        .collect();
    for name in hidden {
        btf.make_func_static(name);
    }
    Ok(Some(btf))
}

/// `.BTF.ext`, read only together with `.BTF` (its names live there).
fn btf_ext(elf: &Elf<'_>, btf: Option<&Btf>) -> Result<Option<BtfExt>, ParseError> {
    let (Some(section), Some(btf)) = (elf.section_by_name(".BTF.ext"), btf) else {
        return Ok(None);
    };
    BtfExt::parse(section.bytes()?, btf)
        .map(Some)
        .map_err(|error| ParseError::Btf {
            section: ".BTF.ext",
            error,
        })
}
