//! The ELF container: sections, symbols and relocation entries.
//!
//! A clang `-target bpf` object is a relocatable ELF64, little-endian file
//! with `e_machine` `EM_BPF` (247). This module reads it with the `object`
//! crate's low-level ELF API and hands the rest of the parser plain values:
//! every section with its name and bytes, every symbol with its section, and
//! every relocation table with the section it applies to. Nothing
//! BPF-specific happens here beyond refusing files that cannot be BPF
//! objects, each with an error that says what to rebuild.

use std::ops::Range;

use object::elf::{self, FileHeader64, SectionHeader64};
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, SectionTable, Sym, SymbolTable};
use object::{LittleEndian, SectionIndex};

use crate::error::ParseError;

/// `EM_BPF`.
pub(crate) const EM_BPF: u16 = 247;

type Header = FileHeader64<LittleEndian>;

/// The parts of an ELF object the BPF parser needs.
#[derive(Debug)]
pub(crate) struct Elf<'a> {
    /// All sections, `sections[i]` having ELF index `i` (0 is the null section).
    pub sections: Vec<Section<'a>>,
    /// All symbols, `symbols[i]` having symbol-table index `i` (0 is the null symbol).
    pub symbols: Vec<Symbol>,
    /// Every `SHT_REL`/`SHT_RELA` section, in section order.
    pub relocations: Vec<RelocTable>,
}

/// One section header and its bytes.
#[derive(Debug)]
pub(crate) struct Section<'a> {
    pub index: usize,
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    /// `sh_size`: for `SHT_NOBITS` (`.bss`) the size of the zeroed memory,
    /// which the file does not hold.
    pub size: u64,
    /// The section's bytes in the file: empty for `SHT_NOBITS`, `None` when
    /// the header points outside the file (reported only if a caller needs
    /// the bytes, so a damaged debug section does not stop a load).
    data: Option<&'a [u8]>,
    /// Where the header says the bytes are, for the error message.
    file_offset: u64,
}

impl<'a> Section<'a> {
    /// The section's file bytes, or an error naming it when its header
    /// points outside the file.
    pub fn bytes(&self) -> Result<&'a [u8], ParseError> {
        self.data.ok_or_else(|| ParseError::SectionOutOfFile {
            section: self.name.clone(),
            offset: self.file_offset,
            size: self.size,
        })
    }

    /// Executable code: `SHT_PROGBITS` with `SHF_EXECINSTR`.
    pub fn is_code(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS.0 && self.flags & elf::SHF_EXECINSTR.0 != 0
    }

    /// `SHT_NOBITS`: memory without file bytes (`.bss`).
    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS.0
    }
}

/// `st_info` type of a symbol, reduced to what the parser tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymbolKind {
    /// `STT_NOTYPE`: labels (`LBB0_2`) and undefined externs.
    NoType,
    /// `STT_OBJECT`: variables and map definitions.
    Object,
    /// `STT_FUNC`.
    Func,
    /// `STT_SECTION`: stands for its section; relocations against it carry
    /// the offset in the instruction.
    Section,
    /// `STT_FILE`: the source file name.
    File,
    Other,
}

/// One symbol-table entry.
#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    /// The symbol's name; for a section symbol, the section's name.
    pub name: String,
    pub kind: SymbolKind,
    /// `STB_GLOBAL` or `STB_WEAK`.
    pub global: bool,
    /// `STB_WEAK`: an extern that may stay unresolved (0), or a definition
    /// another object may override.
    pub weak: bool,
    /// `STV_HIDDEN` or `STV_INTERNAL` visibility: a global function the
    /// linker made private to the object (`__hidden`).
    pub hidden: bool,
    /// Index of the section defining it; `None` for undefined (`SHN_UNDEF`)
    /// and special (`SHN_ABS`, `SHN_COMMON`) symbols.
    pub section: Option<usize>,
    /// `SHN_UNDEF`: declared here, defined nowhere in this object.
    pub undefined: bool,
    /// `st_value`: the offset within its section in a relocatable object.
    pub value: u64,
    pub size: u64,
}

/// The entries of one relocation section.
#[derive(Debug)]
pub(crate) struct RelocTable {
    /// Index of the section the entries apply to (`sh_info`).
    pub target: usize,
    pub entries: Vec<RelocEntry>,
}

/// One `Elf64_Rel` or `Elf64_Rela`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RelocEntry {
    pub offset: u64,
    /// `R_BPF_*`.
    pub r_type: u32,
    /// Index into [`Elf::symbols`] (checked to be in range).
    pub symbol: usize,
    /// `r_addend` of a RELA entry, 0 for REL (clang keeps BPF addends in
    /// the instruction itself).
    pub addend: i64,
}

impl<'a> Elf<'a> {
    /// Reads and checks the container.
    pub fn parse(data: &'a [u8]) -> Result<Elf<'a>, ParseError> {
        let header = check_header(data)?;
        let endian = LittleEndian;
        let malformed = |detail: &str| ParseError::Malformed {
            detail: detail.to_owned(),
        };
        let table = header
            .sections(endian, data)
            .map_err(|e| malformed(&e.to_string()))?;
        if table.is_empty() {
            return Err(malformed("no section headers"));
        }
        let shstrndx = header
            .shstrndx(endian, data)
            .map_err(|e| malformed(&e.to_string()))?;
        let sections = read_sections(&table, data, shstrndx as usize)?;
        check_overlaps(&sections)?;
        let symtab = find_symbol_table(&table, data)?;
        let symbols = read_symbols(&symtab, &sections)?;
        let relocations = read_relocations(&table, data, &sections, &symtab, symbols.len())?;
        Ok(Elf {
            sections,
            symbols,
            relocations,
        })
    }

    /// Takes out the relocation tables of the sections `wanted` says
    /// (by ELF index), in section order; the others stay.
    pub fn take_relocations(&mut self, wanted: impl Fn(usize) -> bool) -> Vec<RelocTable> {
        let (taken, kept) = std::mem::take(&mut self.relocations)
            .into_iter()
            .partition(|table| wanted(table.target));
        self.relocations = kept;
        taken
    }

    /// The section with this ELF index.
    pub fn section(&self, index: usize) -> Option<&Section<'a>> {
        self.sections.get(index)
    }

    /// The first section with this name.
    pub fn section_by_name(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Name of section `index`, or a placeholder for messages.
    pub fn section_name(&self, index: usize) -> &str {
        self.sections
            .get(index)
            .map_or("<no section>", |s| s.name.as_str())
    }
}

/// Checks the identification bytes and machine before anything else, so a
/// wrong kind of file gets an error that says what it is.
fn check_header(data: &[u8]) -> Result<&Header, ParseError> {
    let ident = data.get(..16).ok_or(ParseError::NotElf)?;
    if ident.get(..4) != Some(&elf::ELFMAG[..]) {
        return Err(ParseError::NotElf);
    }
    match ident.get(4).copied() {
        Some(c) if c == elf::ELFCLASS64.0 => {}
        Some(c) if c == elf::ELFCLASS32.0 => return Err(ParseError::Elf32),
        other => {
            return Err(ParseError::Malformed {
                detail: format!("unknown ELF class {}", other.unwrap_or(0)),
            })
        }
    }
    match ident.get(5).copied() {
        Some(d) if d == elf::ELFDATA2LSB.0 => {}
        Some(d) if d == elf::ELFDATA2MSB.0 => return Err(ParseError::BigEndian),
        other => {
            return Err(ParseError::Malformed {
                detail: format!("unknown ELF data encoding {}", other.unwrap_or(0)),
            })
        }
    }
    let header = Header::parse(data).map_err(|e| ParseError::Malformed {
        detail: e.to_string(),
    })?;
    let machine = header.e_machine(LittleEndian).0;
    if machine != EM_BPF {
        return Err(ParseError::NotBpf { machine });
    }
    Ok(header)
}

fn read_sections<'a>(
    table: &SectionTable<'a, Header, &'a [u8]>,
    data: &'a [u8],
    shstrndx: usize,
) -> Result<Vec<Section<'a>>, ParseError> {
    let endian = LittleEndian;
    let names = table
        .iter()
        .nth(shstrndx)
        .and_then(|h| h.data(endian, data).ok())
        .ok_or_else(|| ParseError::Malformed {
            detail: format!(
                "section-name string table (section #{shstrndx}) is missing or outside the file"
            ),
        })?;
    let mut sections = Vec::with_capacity(table.len());
    for (index, header) in table.enumerate() {
        let name = name_at(names, header.sh_name(endian)).ok_or_else(|| ParseError::Malformed {
            detail: format!("section #{}: {BAD_NAME}", index.0),
        })?;
        sections.push(Section {
            index: index.0,
            name,
            sh_type: header.sh_type(endian).0,
            flags: header.sh_flags(endian).0,
            size: header.sh_size(endian),
            data: header.data(endian, data).ok(),
            file_offset: header.sh_offset(endian),
        });
    }
    Ok(sections)
}

/// Whether the parser reads structure from this section: the symbol and
/// string tables, relocations, code, loaded data and the sections named
/// for maps, BTF, license and version. Debug sections are not among them,
/// so that damaged debug information never stops a load.
fn is_structural(section: &Section<'_>) -> bool {
    let typed = [
        elf::SHT_SYMTAB,
        elf::SHT_STRTAB,
        elf::SHT_REL,
        elf::SHT_RELA,
    ]
    .iter()
    .any(|t| t.0 == section.sh_type);
    let loaded = section.sh_type == elf::SHT_PROGBITS.0
        && section.flags & (elf::SHF_ALLOC.0 | elf::SHF_EXECINSTR.0) != 0;
    let named = matches!(
        section.name.as_str(),
        "maps" | ".maps" | ".BTF" | ".BTF.ext" | "license" | "version"
    );
    typed || loaded || named
}

/// Refuses structural sections whose file bytes overlap: a compiler never
/// writes that, and one section's bytes read as another's (code as map
/// definitions) would load something nobody wrote.
fn check_overlaps(sections: &[Section<'_>]) -> Result<(), ParseError> {
    let mut ranges: Vec<(u64, u64, &str)> = sections
        .iter()
        .filter(|s| is_structural(s) && !s.is_nobits())
        .filter_map(|s| {
            let len = s.data.map(|d| d.len() as u64)?;
            (len > 0).then(|| (s.file_offset, s.file_offset + len, s.name.as_str()))
        })
        .collect();
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        if let [(start, end, first), (next_start, next_end, second)] = pair {
            if next_start < end {
                return Err(ParseError::Malformed {
                    detail: format!(
                        "sections `{first}` (file bytes {start:#x}..{end:#x}) and `{second}` \
                         ({next_start:#x}..{next_end:#x}) overlap"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Longest section or symbol name accepted: the kernel's `KSYM_NAME_LEN`.
/// Names are copied into the model (a relocation keeps its symbol's name),
/// so an unbounded name shared by many entries would multiply memory.
const MAX_NAME: usize = 512;

const BAD_NAME: &str =
    "name offset outside its string table, or name unterminated or longer than 512 bytes";

/// The NUL-terminated name at `offset` of a string table, looking at most
/// `MAX_NAME` bytes ahead. Invalid UTF-8 is replaced, not refused: names are
/// for matching and messages.
fn name_at(table: &[u8], offset: u32) -> Option<String> {
    let rest = table.get(usize::try_from(offset).ok()?..)?;
    let window = rest.get(..rest.len().min(MAX_NAME + 1))?;
    let end = window.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(window.get(..end)?).into_owned())
}

/// The one `SHT_SYMTAB`: a BPF object without it has been stripped.
fn find_symbol_table<'a>(
    table: &SectionTable<'a, Header, &'a [u8]>,
    data: &'a [u8],
) -> Result<SymbolTable<'a, Header, &'a [u8]>, ParseError> {
    let endian = LittleEndian;
    let (index, header) = table
        .enumerate()
        .find(|(_, s)| s.sh_type(endian) == elf::SHT_SYMTAB)
        .ok_or(ParseError::NoSymbolTable)?;
    SymbolTable::parse(endian, data, table, index, header).map_err(|e| ParseError::Malformed {
        detail: format!("symbol table (section #{}): {e}", index.0),
    })
}

fn read_symbols<'a>(
    symtab: &SymbolTable<'a, Header, &'a [u8]>,
    sections: &[Section<'_>],
) -> Result<Vec<Symbol>, ParseError> {
    let endian = LittleEndian;
    let strings = sections
        .get(symtab.string_section().0)
        .and_then(|s| s.data)
        .ok_or_else(|| ParseError::Malformed {
            detail: "the symbol table's string table is missing or outside the file".to_owned(),
        })?;
    let mut symbols = Vec::with_capacity(symtab.len());
    for (index, sym) in symtab.enumerate() {
        let malformed = |what: &str| ParseError::Malformed {
            detail: format!("symbol #{}: {what}", index.0),
        };
        let kind = match sym.st_type() {
            elf::STT_NOTYPE => SymbolKind::NoType,
            elf::STT_OBJECT => SymbolKind::Object,
            elf::STT_FUNC => SymbolKind::Func,
            elf::STT_SECTION => SymbolKind::Section,
            elf::STT_FILE => SymbolKind::File,
            _ => SymbolKind::Other,
        };
        let shndx = sym.st_shndx(endian);
        let undefined = shndx == elf::SHN_UNDEF;
        let section = symtab
            .symbol_section(endian, sym, index)
            .map_err(|_| malformed("extended section index missing"))?
            .map(|s| s.0);
        if let Some(s) = section {
            if s >= sections.len() {
                return Err(malformed(&format!(
                    "section index {s} beyond the {} sections",
                    sections.len()
                )));
            }
        }
        let name = match (kind, section) {
            (SymbolKind::Section, Some(s)) => {
                sections.get(s).map(|s| s.name.clone()).unwrap_or_default()
            }
            _ => name_at(strings, sym.st_name(endian)).ok_or_else(|| malformed(BAD_NAME))?,
        };
        symbols.push(Symbol {
            name,
            kind,
            global: matches!(sym.st_bind(), elf::STB_GLOBAL | elf::STB_WEAK),
            weak: sym.st_bind() == elf::STB_WEAK,
            hidden: matches!(sym.st_visibility(), elf::STV_HIDDEN | elf::STV_INTERNAL),
            section,
            undefined,
            value: sym.st_value(endian),
            size: sym.st_size(endian),
        });
    }
    Ok(symbols)
}

fn read_relocations<'a>(
    table: &SectionTable<'a, Header, &'a [u8]>,
    data: &'a [u8],
    sections: &[Section<'a>],
    symtab: &SymbolTable<'a, Header, &'a [u8]>,
    symbol_count: usize,
) -> Result<Vec<RelocTable>, ParseError> {
    let endian = LittleEndian;
    let mut out = Vec::new();
    for (index, header) in table.enumerate() {
        let sh_type = header.sh_type(endian);
        if sh_type != elf::SHT_REL && sh_type != elf::SHT_RELA {
            continue;
        }
        let name = sections
            .get(index.0)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let target = header.sh_info(endian) as usize;
        if target == 0 || target >= sections.len() {
            return Err(ParseError::Malformed {
                detail: format!(
                    "relocation section `{name}` applies to section #{target}, which does not exist"
                ),
            });
        }
        if header.link(endian) != symtab.section() {
            return Err(ParseError::Malformed {
                detail: format!(
                    "relocation section `{name}` links to section #{}, not to the symbol table",
                    header.sh_link(endian)
                ),
            });
        }
        // Only the relocations of code and loaded data (`.maps` and
        // `maps` among it) are applied by a loader. Those of `.BTF.ext`
        // and the DWARF sections, several per function, are never read:
        // a 1000-program object has 13000 of them.
        if !is_loaded(sections[target].flags) {
            continue;
        }
        let bad_table = |e: object::read::Error| ParseError::Malformed {
            detail: format!("relocation section `{name}`: {e}"),
        };
        let mut entries = Vec::new();
        if sh_type == elf::SHT_REL {
            if let Some((rels, _)) = header.rel(endian, data).map_err(bad_table)? {
                entries.reserve(rels.len());
                for r in rels {
                    entries.push(RelocEntry {
                        offset: r.r_offset(endian),
                        r_type: r.r_type(endian).0,
                        symbol: r.r_sym(endian) as usize,
                        addend: 0,
                    });
                }
            }
        } else if let Some((relas, _)) = header.rela(endian, data).map_err(bad_table)? {
            entries.reserve(relas.len());
            for r in relas {
                entries.push(RelocEntry {
                    offset: r.r_offset(endian),
                    r_type: r.r_type(endian, false).0,
                    symbol: r.r_sym(endian, false) as usize,
                    addend: r.r_addend(endian),
                });
            }
        }
        if let Some(bad) = entries.iter().find(|e| e.symbol >= symbol_count) {
            return Err(ParseError::Malformed {
                detail: format!(
                    "relocation section `{name}`: entry at offset {:#x} names symbol #{}, beyond the {symbol_count} symbols",
                    bad.offset, bad.symbol
                ),
            });
        }
        out.push(RelocTable { target, entries });
    }
    Ok(out)
}

/// Code or data a loader puts in the kernel (`SHF_ALLOC` or
/// `SHF_EXECINSTR`): only their relocations are applied.
fn is_loaded(flags: u64) -> bool {
    flags & (elf::SHF_ALLOC.0 | elf::SHF_EXECINSTR.0) != 0
}

/// Whether the parse never reads the bytes of a section: DWARF
/// (`.debug_*`, not loaded), and relocation tables of sections that are
/// not loaded (`.rel.BTF.ext`, `.rel.debug_*`; see `read_relocations`).
/// `target_flags` are the flags of the section a relocation table
/// applies to (`sh_info`), `None` when there is none.
fn never_read(name: &[u8], sh_type: u32, flags: u64, target_flags: Option<u64>) -> bool {
    let relocations = sh_type == elf::SHT_REL.0 || sh_type == elf::SHT_RELA.0;
    (name.starts_with(b".debug") && !is_loaded(flags))
        || (relocations && target_flags.is_some_and(|f| !is_loaded(f)))
}

/// Files up to this size are read whole: one read costs less than
/// finding out what to leave out.
pub const READ_WHOLE_UP_TO: usize = 256 << 10;

/// Holes of up to this many bytes between two ranges to read are read
/// too: one read instead of two.
const READ_GAP: usize = 4096;

/// The bytes of an object file of `size` bytes as [`crate::Object::parse`]
/// needs them, read with `read_at(offset, buffer)` (which fills `buffer`
/// with the file's bytes at `offset`): the ELF header, the section
/// headers, and every section but those the parse never reads — DWARF
/// (`.debug_*`) and the relocations of sections that are not loaded
/// (`.rel.BTF.ext`, `.rel.debug_*`), a third of a big `-g` object. Their
/// bytes stay zero in a buffer allocated zeroed: pages never written are
/// never backed, so they cost no memory.
///
/// Returns the buffer and whether every byte of the file is in it. Files
/// of at most [`READ_WHOLE_UP_TO`] bytes, and files whose headers do not
/// describe a plain layout (not an ELF64 little-endian BPF object,
/// section headers outside the file, extended section numbering), are
/// read whole: the parse then says what is wrong, as it would have.
/// The file is not interpreted beyond its headers here, and what is
/// read is what [`crate::Object::parse`] reads.
pub fn read_object<E>(
    size: usize,
    read_at: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
) -> Result<(Vec<u8>, bool), E> {
    read_parts(size, READ_WHOLE_UP_TO, READ_GAP, read_at)
}

/// [`read_object`], reading files of up to `whole_up_to` bytes whole and
/// holes of up to `gap` bytes between ranges.
fn read_parts<E>(
    size: usize,
    whole_up_to: usize,
    gap: usize,
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
) -> Result<(Vec<u8>, bool), E> {
    let mut data = vec![0u8; size];
    let mut read = |data: &mut [u8], range: Range<usize>| match data.get_mut(range.clone()) {
        Some(part) => read_at(range.start as u64, part),
        None => Ok(()),
    };
    if size <= whole_up_to {
        read(&mut data, 0..size)?;
        return Ok((data, true));
    }
    read(&mut data, 0..size.min(size_of::<Header>()))?;
    let Some(table) = section_table_range(&data) else {
        read(&mut data, 0..size)?;
        return Ok((data, true));
    };
    read(&mut data, table)?;
    let Some(names) = section_names_range(&data) else {
        read(&mut data, 0..size)?;
        return Ok((data, true));
    };
    read(&mut data, names)?;
    let Some(ranges) = ranges_to_read(&data, gap) else {
        read(&mut data, 0..size)?;
        return Ok((data, true));
    };
    let mut covered = 0;
    for range in &ranges {
        read(&mut data, range.clone())?;
        covered += range.len();
    }
    Ok((data, covered == size))
}

/// The ELF header, when it is one the parse accepts.
fn plain_header(data: &[u8]) -> Option<&Header> {
    check_header(data).ok()
}

/// Where the section headers are, when they are plain: 64-byte entries,
/// counted in the ELF header, inside the file.
fn section_table_range(data: &[u8]) -> Option<Range<usize>> {
    let endian = LittleEndian;
    let header = plain_header(data)?;
    let count = usize::from(header.e_shnum(endian));
    let entry = usize::from(header.e_shentsize(endian));
    let names = usize::from(header.e_shstrndx(endian).0);
    if count == 0 || entry != size_of::<SectionHeader64<LittleEndian>>() || names >= count {
        return None;
    }
    let start = usize::try_from(header.e_shoff(endian)).ok()?;
    let end = start.checked_add(count.checked_mul(entry)?)?;
    (end <= data.len()).then_some(start..end)
}

/// Where the section-name string table is, when inside the file.
fn section_names_range(data: &[u8]) -> Option<Range<usize>> {
    let endian = LittleEndian;
    let header = plain_header(data)?;
    let table = header.sections(endian, data).ok()?;
    let names = table
        .section(SectionIndex(usize::from(header.e_shstrndx(endian).0)))
        .ok()?;
    file_range(names, data.len())
}

/// The bytes of `section` in a file of `size` bytes; `None` for
/// `SHT_NOBITS`, an empty section or one outside the file.
fn file_range(section: &SectionHeader64<LittleEndian>, size: usize) -> Option<Range<usize>> {
    let endian = LittleEndian;
    if section.sh_type(endian) == elf::SHT_NOBITS {
        return None;
    }
    let start = usize::try_from(section.sh_offset(endian)).ok()?;
    let end = start.checked_add(usize::try_from(section.sh_size(endian)).ok()?)?;
    (end > start && end <= size).then_some(start..end)
}

/// What to read of a file whose ELF header, section headers and section
/// names are in `data`: those, and every section the parse may read
/// (see [`never_read`]), in file order, those less than `gap` bytes
/// apart merged.
fn ranges_to_read(data: &[u8], gap: usize) -> Option<Vec<Range<usize>>> {
    let endian = LittleEndian;
    let header = plain_header(data)?;
    let table = header.sections(endian, data).ok()?;
    let mut ranges = vec![0..size_of::<Header>(), section_table_range(data)?];
    ranges.extend(section_names_range(data));
    for section in table.iter() {
        let Some(range) = file_range(section, data.len()) else {
            continue;
        };
        let name = table.section_name(endian, section).unwrap_or_default();
        let target_flags = table
            .section(SectionIndex(section.sh_info(endian) as usize))
            .ok()
            .map(|target| target.sh_flags(endian).0);
        let (sh_type, flags) = (section.sh_type(endian).0, section.sh_flags(endian).0);
        if !never_read(name, sh_type, flags, target_flags) {
            ranges.push(range);
        }
    }
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(gap) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Object;
    use std::path::Path;

    /// `read_parts` of `bytes`, every object taking the path that leaves
    /// sections out, and no hole read; the number of reads.
    fn parts(bytes: &[u8]) -> (Vec<u8>, bool, usize) {
        let mut reads = 0;
        let read_at = |offset: u64, buffer: &mut [u8]| {
            reads += 1;
            let start = offset as usize;
            buffer.copy_from_slice(&bytes[start..start + buffer.len()]);
            Ok::<(), ()>(())
        };
        let (data, complete) = read_parts(bytes.len(), 0, 0, read_at).unwrap();
        (data, complete, reads)
    }

    /// What is left out is never read: every object of progs/obj parses
    /// the same from its parts as from all of its bytes, and leaves its
    /// DWARF out (they are built with `-g`).
    #[test]
    fn objects_parse_the_same_without_what_the_parse_never_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj");
        let mut objects: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "o"))
            .collect();
        objects.sort();
        assert!(objects.len() >= 12, "progs/obj holds {objects:?}");
        for path in objects {
            let bytes = std::fs::read(&path).unwrap();
            let (data, complete, reads) = parts(&bytes);
            assert_eq!(data.len(), bytes.len());
            assert!(!complete, "{}: its DWARF is left out", path.display());
            assert!(reads > 3, "{}: {reads} reads", path.display());
            let left_out = data.iter().zip(&bytes).filter(|(a, b)| a != b).count();
            assert!(left_out > 0, "{}", path.display());
            assert_eq!(
                Object::parse(&data),
                Object::parse(&bytes),
                "{}",
                path.display()
            );
        }
    }

    /// Files the parse refuses are read whole, so that it says why as
    /// before; so are small files, in one read.
    #[test]
    fn what_is_not_a_plain_object_is_read_whole() {
        let object =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj/multi_prog.o"))
                .unwrap();
        let mut no_table = object.clone();
        // e_shoff beyond the file.
        no_table[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
        let mut big_endian = object.clone();
        big_endian[5] = elf::ELFDATA2MSB.0;
        for bytes in [&no_table, &big_endian, &b"\x7fELF short"[..].to_vec()] {
            let (data, complete, _) = parts(bytes);
            assert!(complete);
            assert_eq!(&data, bytes);
        }
        let mut reads = 0;
        let (data, complete) = read_object(object.len(), |offset, buffer: &mut [u8]| {
            reads += 1;
            buffer.copy_from_slice(&object[offset as usize..][..buffer.len()]);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(complete && data == object && reads == 1);
    }
}
