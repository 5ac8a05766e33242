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
use crate::maps::{Binding, BPF_F_RDONLY_PROG};
use crate::model::{AttachTarget, Dialect, Function, Map, MapDef, Object, Program, RelocTarget};
use crate::programs;
use crate::relocations::Resolver;
use crate::section_types::{section_kind, Target};

impl Object {
    /// Parses a clang-built (`-target bpf`) BPF object.
    ///
    /// Never panics and never allocates more than a small multiple of
    /// `data.len()`, whatever the bytes.
    pub fn parse(data: &[u8]) -> Result<Object, ParseError> {
        let mut elf = Elf::parse(data)?;
        let license = license(&elf)?;
        let kernel_version = kernel_version(&elf)?;
        let btf = btf(&elf)?;
        let ext = btf_ext(&elf, btf.as_ref())?
            .map(ExtIndex::new)
            .transpose()?;
        let code = Code::read(&elf)?;
        let externs = externs::collect(&elf, btf.as_ref())?;
        let mut maps = MapTable::read(&elf, btf.as_ref())?;
        if let Some(map) = kconfig_map(&externs, btf.as_ref())? {
            maps.maps.push(map);
        }
        // The code's relocations move to the resolver: read once, held once
        // (the maps read them above, to see which data sections are used).
        let code_relocations = elf.take_relocations(|target| code.section(target).is_some());
        let mut linked = {
            let resolver = Resolver::new(&elf, code_relocations, &code, &maps, &externs)?;
            programs::link(&code, &resolver, ext.as_ref())?
        };
        let bindings = maps.bind_struct_ops(&elf, btf.as_ref(), |section, offset| {
            linked.program_at(section, offset)
        })?;
        struct_ops_targets(&mut linked.programs, &maps.maps, bindings)?;
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

/// Each struct_ops program's target: the member of the first variable that
/// points at it. A program can serve several variables only at the same
/// member of the same struct (libbpf's rule).
fn struct_ops_targets(
    programs: &mut [Program],
    maps: &[Map],
    bindings: Vec<Binding>,
) -> Result<(), ParseError> {
    let struct_name = |map: usize| {
        maps.get(map)
            .and_then(|m| m.struct_ops.as_ref())
            .map_or("", |ops| ops.type_name.as_str())
    };
    let map_name = |map: usize| maps.get(map).map_or("", |m| m.name.as_str());
    for (index, map, member) in bindings {
        let Some(program) = programs.get_mut(index) else {
            continue;
        };
        if section_kind(&program.section).target != Target::StructOps {
            return Err(ParseError::StructOpsNotStructOpsProgram {
                map: map_name(map).to_string(),
                program: program.name().to_string(),
                section: program.section.clone(),
            });
        }
        let use_of = |map: usize, member: &str| {
            format!("{}.{member} (struct {})", map_name(map), struct_name(map))
        };
        match &program.attach_target {
            AttachTarget::StructOps {
                map: first,
                member: first_member,
            } => {
                // Flavours of one kernel struct (`ops___v1`, `ops___v2`)
                // are the same struct to the kernel, as to libbpf.
                let kernel_struct = |map| crate::core::essential(struct_name(map));
                if kernel_struct(*first) != kernel_struct(map) || *first_member != member {
                    return Err(ParseError::StructOpsProgramShared {
                        program: program.name().to_string(),
                        first: use_of(*first, first_member),
                        second: use_of(map, &member),
                    });
                }
            }
            _ => program.attach_target = AttachTarget::StructOps { map, member },
        }
    }
    // A struct_ops program no variable points at has nothing to attach to:
    // like libbpf since 1.4, it is not loaded unless asked for.
    for program in programs.iter_mut() {
        if program.attach_target == AttachTarget::Missing
            && section_kind(&program.section).target == Target::StructOps
        {
            program.autoload = false;
        }
    }
    Ok(())
}

/// New indexes after leaving out the items whose `kept` is false: each
/// kept item's position among the kept ones, `None` for the others.
fn renumbering(kept: &[bool]) -> Vec<Option<usize>> {
    let mut next = 0;
    kept.iter()
        .map(|&k| {
            let index = k.then_some(next);
            next += usize::from(k);
            index
        })
        .collect()
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

impl Object {
    /// The object as a load sees it when only the programs `keep` accepts
    /// are loaded (`SEC("?...")` programs are left out unless asked for):
    /// those programs in the same order, so `prog_fd[]` counts only them;
    /// jump entries and struct_ops bindings renumbered, those of programs
    /// left out gone; and the subprograms that only programs left out
    /// reach gone too, so that nothing of theirs (kfuncs, CO-RE) is
    /// resolved. Maps do not change.
    pub fn select_programs(mut self, keep: impl Fn(usize, &Program) -> bool) -> Object {
        let kept: Vec<bool> = self
            .programs
            .iter()
            .enumerate()
            .map(|(i, p)| keep(i, p))
            .collect();
        if kept.iter().all(|&k| k) {
            return self;
        }
        let program_index = renumbering(&kept);
        // Subprograms that only the programs left out reach go too.
        let (from_kept, from_dropped) = (self.reachable(&kept, true), self.reachable(&kept, false));
        let gone: Vec<bool> = from_dropped
            .iter()
            .zip(&from_kept)
            .map(|(&dropped, &kept)| dropped && !kept)
            .collect();
        let sub_index = renumbering(&gone.iter().map(|&g| !g).collect::<Vec<_>>());
        let mut k = kept.iter();
        self.programs.retain(|_| *k.next().unwrap_or(&false));
        let mut g = gone.iter();
        self.subprograms.retain(|_| !*g.next().unwrap_or(&true));
        let functions = self
            .programs
            .iter_mut()
            .map(|p| &mut p.function)
            .chain(self.subprograms.iter_mut());
        for function in functions {
            for reloc in &mut function.relocs {
                if let RelocTarget::Call(i) | RelocTarget::FuncAddr(i) = &mut reloc.target {
                    *i = sub_index.get(*i).copied().flatten().unwrap_or(*i);
                }
            }
        }
        let program = |i: usize| program_index.get(i).copied().flatten();
        for ops in self.maps.iter_mut().filter_map(|m| m.struct_ops.as_mut()) {
            ops.programs.retain_mut(|(_, p)| match program(*p) {
                Some(new) => {
                    *p = new;
                    true
                }
                None => false,
            });
        }
        self.jump_entries.retain_mut(|e| match program(e.program) {
            Some(new) => {
                e.program = new;
                true
            }
            None => false,
        });
        self
    }

    /// Which subprograms the programs whose `kept` is `want` reach through
    /// calls and function addresses, directly or not.
    fn reachable(&self, kept: &[bool], want: bool) -> Vec<bool> {
        let mut seen = vec![false; self.subprograms.len()];
        let mut stack: Vec<usize> = Vec::new();
        let visit = |function: &Function, seen: &mut Vec<bool>, stack: &mut Vec<usize>| {
            for reloc in &function.relocs {
                if let RelocTarget::Call(i) | RelocTarget::FuncAddr(i) = reloc.target {
                    if let Some(false) = seen.get(i) {
                        seen[i] = true;
                        stack.push(i);
                    }
                }
            }
        };
        for (program, _) in self.programs.iter().zip(kept).filter(|(_, &k)| k == want) {
            visit(&program.function, &mut seen, &mut stack);
        }
        while let Some(i) = stack.pop() {
            if let Some(function) = self.subprograms.get(i) {
                visit(function, &mut seen, &mut stack);
            }
        }
        seen
    }
}
