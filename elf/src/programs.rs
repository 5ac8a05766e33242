//! Programs and subprograms.
//!
//! Programs take `prog_fd[]` slots in section-index order, then by offset:
//! every global (`STB_GLOBAL`/`STB_WEAK`) function of an executable section
//! other than `.text`, or the whole section when it has no function symbol
//! (bpf_load.c's one section, one program). Static functions of program
//! sections are not programs; they can be called.
//!
//! Subprograms are what programs call or take the address of: every
//! function of `.text` in offset order, then any other function the first
//! time a call or address names it, following programs in order and then
//! the subprograms themselves, so the numbering is the same on every parse.

use std::collections::BTreeMap;

use crate::btf_records::ExtIndex;
use crate::error::ParseError;
use crate::functions::{Code, FuncRef};
use crate::model::{AttachTarget, Function, Program};
use crate::relocations::{Resolver, SubprogramIndex};
use crate::section_types::{section_kind, target_name, Target};

/// The section of BPF-to-BPF callees.
const TEXT: &str = ".text";

/// The programs and subprograms of an object, relocations resolved.
#[derive(Debug)]
pub(crate) struct Linked {
    pub programs: Vec<Program>,
    pub subprograms: Vec<Function>,
    /// (section index, byte offset) of each program's first instruction.
    starts: BTreeMap<(usize, u64), usize>,
}

impl Linked {
    /// The program whose function starts at `offset` of section `section`.
    pub fn program_at(&self, section: usize, offset: u64) -> Option<usize> {
        self.starts.get(&(section, offset)).copied()
    }
}

/// Subprogram numbering: `.text` first, then each new target when first met.
#[derive(Debug, Default)]
struct Subprograms {
    order: Vec<FuncRef>,
    index: BTreeMap<FuncRef, usize>,
}

impl SubprogramIndex for Subprograms {
    fn index_of(&mut self, func: FuncRef) -> usize {
        *self.index.entry(func).or_insert_with(|| {
            self.order.push(func);
            self.order.len() - 1
        })
    }
}

/// Finds programs and subprograms and resolves their relocations.
pub(crate) fn link(
    code: &Code,
    resolver: &Resolver<'_, '_>,
    ext: Option<&ExtIndex>,
) -> Result<Linked, ParseError> {
    let mut subprograms = Subprograms::default();
    let mut program_funcs = Vec::new();
    for (&section, code_section) in &code.sections {
        for (index, span) in code_section.funcs.iter().enumerate() {
            let func = FuncRef { section, index };
            if code_section.name == TEXT {
                subprograms.index_of(func);
            } else if span.global {
                program_funcs.push(func);
            }
        }
    }
    let mut programs = Vec::with_capacity(program_funcs.len());
    let mut starts = BTreeMap::new();
    for &func in &program_funcs {
        let function = function(code, resolver, ext, func, &mut subprograms)?;
        starts
            .entry((func.section, function.offset))
            .or_insert(programs.len());
        let kind = section_kind(&function.section);
        programs.push(Program {
            section: function.section.clone(),
            prog_type: kind.prog_type,
            expected_attach_type: kind.expected_attach_type,
            prog_flags: kind.prog_flags,
            autoload: kind.autoload,
            attach_target: attach_target(kind.target, &function.section),
            function,
        });
    }
    // Resolving a subprogram may append more: walk until none are new.
    let mut functions = Vec::new();
    while let Some(&func) = subprograms.order.get(functions.len()) {
        functions.push(function(code, resolver, ext, func, &mut subprograms)?);
    }
    Ok(Linked {
        programs,
        subprograms: functions,
        starts,
    })
}

/// What the section name says the program attaches to. struct_ops
/// programs get theirs from the `.struct_ops` variables that point at them
/// (`Missing` until then).
fn attach_target(target: Target, section: &str) -> AttachTarget {
    let name = target_name(section);
    match (target, name) {
        (Target::None, _) => AttachTarget::None,
        (Target::StructOps, _) | (_, None) => AttachTarget::Missing,
        (Target::Program, Some(func)) => AttachTarget::Program {
            func: func.to_string(),
        },
        (target, Some(name)) => match target.kernel_type(name) {
            Some((kind, name)) => AttachTarget::Kernel { kind, name },
            None => AttachTarget::Missing,
        },
    }
}

/// One function of the model: code, relocations, BTF.ext records.
fn function(
    code: &Code,
    resolver: &Resolver<'_, '_>,
    ext: Option<&ExtIndex>,
    func: FuncRef,
    subprograms: &mut Subprograms,
) -> Result<Function, ParseError> {
    let relocs = resolver.relocs(func, subprograms)?;
    // `func` always comes from `code`; the error only keeps this panic-free.
    let (Some(section), Some(span)) = (code.section(func.section), code.func(func)) else {
        return Err(ParseError::Malformed {
            detail: format!(
                "function #{} of section #{} does not exist",
                func.index, func.section
            ),
        });
    };
    let records = ext
        .map(|ext| ext.for_function(&section.name, span))
        .unwrap_or_default();
    Ok(Function {
        name: span.name.clone(),
        section_index: func.section,
        section: section.name.clone(),
        offset: span.start,
        insns: section.func_insns(func.index).to_vec(),
        relocs,
        btf_func_type_id: records.func_type_id,
        line_info: records.line_info,
        core_relocs: records.core_relocs,
    })
}
