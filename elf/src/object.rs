//! `Object::parse`: the steps in the order a loader depends on them.

use std::collections::BTreeMap;

use crate::btf::{Btf, BtfExt};
use crate::btf_records::ExtIndex;
use crate::container::{Elf, SymbolKind};
use crate::error::ParseError;
use crate::functions::Code;
use crate::jump_entries;
use crate::maps::Binding;
use crate::maps::MapTable;
use crate::model::{AttachTarget, Function, JumpEntry, Map, Object, Program, RelocTarget};
use crate::programs;
use crate::relocations::Resolver;
use crate::section_types::{section_kind, Target};

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
        let mut maps = MapTable::read(&elf, btf.as_ref())?;
        let mut linked = {
            let resolver = Resolver::new(&elf, &code, &maps, btf.as_ref())?;
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
        })
    }
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
                if struct_name(*first) != struct_name(map) || *first_member != member {
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
    pub fn select_programs(&self, keep: impl Fn(usize, &Program) -> bool) -> Object {
        let kept: Vec<bool> = self
            .programs
            .iter()
            .enumerate()
            .map(|(i, p)| keep(i, p))
            .collect();
        if kept.iter().all(|&k| k) {
            return self.clone();
        }
        let mut new_index = Vec::with_capacity(kept.len());
        let mut next = 0;
        for &k in &kept {
            new_index.push(k.then_some(next));
            next += usize::from(k);
        }
        let program = |i: usize| new_index.get(i).copied().flatten();
        // Subprograms reached from kept programs, and from the others.
        let reach = |want: bool| {
            let roots = self
                .programs
                .iter()
                .zip(&kept)
                .filter(|(_, &k)| k == want)
                .map(|(p, _)| &p.function);
            self.reachable(roots)
        };
        let (from_kept, from_dropped) = (reach(true), reach(false));
        let gone: Vec<bool> = (0..self.subprograms.len())
            .map(|i| from_dropped[i] && !from_kept[i])
            .collect();
        let mut sub_index = Vec::with_capacity(gone.len());
        let mut next = 0;
        for &g in &gone {
            sub_index.push((!g).then_some(next));
            next += usize::from(!g);
        }
        let renumber = |function: &Function| {
            let mut function = function.clone();
            for reloc in &mut function.relocs {
                if let RelocTarget::Call(i) | RelocTarget::FuncAddr(i) = &mut reloc.target {
                    *i = sub_index.get(*i).copied().flatten().unwrap_or(*i);
                }
            }
            function
        };
        let mut maps = self.maps.clone();
        for ops in maps.iter_mut().filter_map(|m| m.struct_ops.as_mut()) {
            ops.programs = ops
                .programs
                .iter()
                .filter_map(|(member, p)| Some((member.clone(), program(*p)?)))
                .collect();
        }
        Object {
            license: self.license.clone(),
            kernel_version: self.kernel_version,
            maps,
            programs: self
                .programs
                .iter()
                .zip(&kept)
                .filter(|(_, &k)| k)
                .map(|(p, _)| Program {
                    function: renumber(&p.function),
                    ..p.clone()
                })
                .collect(),
            subprograms: self
                .subprograms
                .iter()
                .zip(&gone)
                .filter(|(_, &g)| !g)
                .map(|(f, _)| renumber(f))
                .collect(),
            jump_entries: self
                .jump_entries
                .iter()
                .filter_map(|e| {
                    Some(JumpEntry {
                        program: program(e.program)?,
                        ..*e
                    })
                })
                .collect(),
            btf: self.btf.clone(),
        }
    }

    /// Which subprograms the functions `roots` reach through calls and
    /// function addresses, directly or not.
    fn reachable<'a>(&self, roots: impl Iterator<Item = &'a Function>) -> Vec<bool> {
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
        for root in roots {
            visit(root, &mut seen, &mut stack);
        }
        while let Some(i) = stack.pop() {
            if let Some(function) = self.subprograms.get(i) {
                visit(function, &mut seen, &mut stack);
            }
        }
        seen
    }
}
