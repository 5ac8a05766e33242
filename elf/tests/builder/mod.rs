//! A small ELF64 writer for tests: builds relocatable BPF objects section by
//! section, so each test can make exactly the damage it is about.

#![allow(dead_code)]

pub const SHT_PROGBITS: u32 = 1;
pub const SHT_SYMTAB: u32 = 2;
pub const SHT_STRTAB: u32 = 3;
pub const SHT_RELA: u32 = 4;
pub const SHT_NOBITS: u32 = 8;
pub const SHT_REL: u32 = 9;
pub const SHF_WRITE: u64 = 1;
pub const SHF_ALLOC: u64 = 2;
pub const SHF_EXECINSTR: u64 = 4;
pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_SECTION: u8 = 3;
pub const R_BPF_64_64: u32 = 1;
pub const R_BPF_64_ABS64: u32 = 2;
pub const R_BPF_64_32: u32 = 10;
pub const EM_BPF: u16 = 247;

#[derive(Clone, Debug)]
pub struct Sec {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub data: Vec<u8>,
    /// `sh_size` for NOBITS sections (their `data` is empty).
    pub nobits_size: u64,
}

#[derive(Clone, Debug)]
pub struct Sym {
    pub name: String,
    /// Section name; `None` for an undefined symbol.
    pub section: Option<String>,
    pub value: u64,
    pub size: u64,
    pub kind: u8,
    pub global: bool,
}

#[derive(Clone, Debug)]
pub struct Rel {
    /// The section the relocation applies to.
    pub section: String,
    pub offset: u64,
    pub r_type: u32,
    /// Symbol name, or "" for the null symbol.
    pub symbol: String,
}

#[derive(Clone, Debug)]
pub struct Elf {
    pub sections: Vec<Sec>,
    pub symbols: Vec<Sym>,
    pub relocs: Vec<Rel>,
    pub machine: u16,
    pub with_symtab: bool,
}

impl Default for Elf {
    fn default() -> Self {
        Elf {
            sections: Vec::new(),
            symbols: Vec::new(),
            relocs: Vec::new(),
            machine: EM_BPF,
            with_symtab: true,
        }
    }
}

/// One instruction's 8 bytes.
pub fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Vec<u8> {
    let mut v = vec![code, (src << 4) | (dst & 0xf)];
    v.extend(off.to_le_bytes());
    v.extend(imm.to_le_bytes());
    v
}

/// `ld_imm64 dst, imm` (16 bytes).
pub fn ld_imm64(dst: u8, imm: i32) -> Vec<u8> {
    let mut v = insn(0x18, dst, 0, 0, imm);
    v.extend(insn(0, 0, 0, 0, 0));
    v
}

/// `mov64 dst, imm`.
pub fn mov(dst: u8, imm: i32) -> Vec<u8> {
    insn(0xb7, dst, 0, 0, imm)
}

/// `call imm` with `src_reg = BPF_PSEUDO_CALL`.
pub fn pseudo_call(imm: i32) -> Vec<u8> {
    insn(0x85, 0, 1, 0, imm)
}

pub fn exit() -> Vec<u8> {
    insn(0x95, 0, 0, 0, 0)
}

pub fn code(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A legacy map definition of little-endian u32 words.
pub fn words(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

impl Elf {
    pub fn section(mut self, name: &str, sh_type: u32, flags: u64, data: Vec<u8>) -> Self {
        self.sections.push(Sec {
            name: name.into(),
            sh_type,
            flags,
            data,
            nobits_size: 0,
        });
        self
    }

    pub fn code_section(self, name: &str, data: Vec<u8>) -> Self {
        self.section(name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, data)
    }

    pub fn data_section(self, name: &str, data: Vec<u8>) -> Self {
        self.section(name, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, data)
    }

    pub fn nobits(mut self, name: &str, size: u64) -> Self {
        self.sections.push(Sec {
            name: name.into(),
            sh_type: SHT_NOBITS,
            flags: SHF_ALLOC | SHF_WRITE,
            data: Vec::new(),
            nobits_size: size,
        });
        self
    }

    pub fn symbol(
        mut self,
        name: &str,
        section: Option<&str>,
        value: u64,
        size: u64,
        kind: u8,
        global: bool,
    ) -> Self {
        self.symbols.push(Sym {
            name: name.into(),
            section: section.map(Into::into),
            value,
            size,
            kind,
            global,
        });
        self
    }

    pub fn func(self, section: &str, name: &str, value: u64, size: u64) -> Self {
        self.symbol(name, Some(section), value, size, STT_FUNC, true)
    }

    pub fn object(self, section: &str, name: &str, value: u64, size: u64) -> Self {
        self.symbol(name, Some(section), value, size, STT_OBJECT, true)
    }

    pub fn section_symbol(self, section: &str) -> Self {
        self.symbol(section, Some(section), 0, 0, STT_SECTION, false)
    }

    pub fn undefined(self, name: &str) -> Self {
        self.symbol(name, None, 0, 0, STT_NOTYPE, true)
    }

    pub fn rel(mut self, section: &str, offset: u64, r_type: u32, symbol: &str) -> Self {
        self.relocs.push(Rel {
            section: section.into(),
            offset,
            r_type,
            symbol: symbol.into(),
        });
        self
    }

    /// The file bytes.
    pub fn build(&self) -> Vec<u8> {
        // Name lookups through maps: tests build objects of 20,000 symbols.
        let mut sections = std::collections::HashMap::new();
        for (i, s) in self.sections.iter().enumerate() {
            sections.entry(s.name.as_str()).or_insert(i as u16 + 1);
        }
        let mut symbols = std::collections::HashMap::new();
        for (i, s) in self.symbols.iter().enumerate() {
            symbols.entry(s.name.as_str()).or_insert(i as u64 + 1);
        }
        let section_index = |name: &str| -> u16 {
            *sections
                .get(name)
                .unwrap_or_else(|| panic!("no section {name}"))
        };
        let symbol_index = |name: &str| -> u64 {
            if name.is_empty() {
                return 0;
            }
            *symbols
                .get(name)
                .unwrap_or_else(|| panic!("no symbol {name}"))
        };
        // Section order: null, user sections, one REL per target, then
        // .symtab, .strtab, .shstrtab.
        let mut rel_targets: Vec<String> = Vec::new();
        for r in &self.relocs {
            if !rel_targets.contains(&r.section) {
                rel_targets.push(r.section.clone());
            }
        }
        let user = self.sections.len();
        let symtab_index = 1 + user + rel_targets.len();
        let (symtab_index, strtab_index, shstrtab_index) = if self.with_symtab {
            (symtab_index, symtab_index + 1, symtab_index + 2)
        } else {
            (0, symtab_index, symtab_index + 1)
        };

        let mut shstrtab = vec![0u8];
        let add_name = |table: &mut Vec<u8>, name: &str| -> u32 {
            let off = table.len() as u32;
            table.extend(name.as_bytes());
            table.push(0);
            off
        };
        let mut strtab = vec![0u8];
        let mut symtab = vec![0u8; 24];
        for s in &self.symbols {
            let name = add_name(&mut strtab, &s.name);
            let shndx = s.section.as_deref().map_or(0, &section_index);
            let bind = if s.global { 1 } else { 0 };
            symtab.extend(name.to_le_bytes());
            symtab.push((bind << 4) | s.kind);
            symtab.push(0);
            symtab.extend(shndx.to_le_bytes());
            symtab.extend(s.value.to_le_bytes());
            symtab.extend(s.size.to_le_bytes());
        }

        let mut headers: Vec<Header> = Vec::new();
        for s in &self.sections {
            let name = add_name(&mut shstrtab, &s.name);
            headers
                .push(Header::new(name, s.sh_type, s.flags, s.data.clone()).nobits(s.nobits_size));
        }
        for target in &rel_targets {
            let name = add_name(&mut shstrtab, &format!(".rel{target}"));
            let mut data = Vec::new();
            for r in self.relocs.iter().filter(|r| &r.section == target) {
                data.extend(r.offset.to_le_bytes());
                let info = (symbol_index(&r.symbol) << 32) | u64::from(r.r_type);
                data.extend(info.to_le_bytes());
            }
            let info = u32::from(section_index(target));
            headers.push(Header::new(name, SHT_REL, 0x40, data).links(
                symtab_index as u32,
                info,
                16,
            ));
        }
        if self.with_symtab {
            let name = add_name(&mut shstrtab, ".symtab");
            headers.push(Header::new(name, SHT_SYMTAB, 0, symtab).links(
                strtab_index as u32,
                1,
                24,
            ));
        }
        let name = add_name(&mut shstrtab, ".strtab");
        headers.push(Header::new(name, SHT_STRTAB, 0, strtab));
        let name = add_name(&mut shstrtab, ".shstrtab");
        headers.push(Header::new(name, SHT_STRTAB, 0, shstrtab.clone()));
        debug_assert_eq!(headers.len() + 1, shstrtab_index + 1);

        let mut out = vec![0u8; 64];
        let mut offsets = Vec::new();
        for h in &headers {
            while out.len() % 8 != 0 {
                out.push(0);
            }
            offsets.push(out.len() as u64);
            out.extend(&h.data);
        }
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let shoff = out.len() as u64;
        out.extend([0u8; 64]);
        for (h, off) in headers.iter().zip(&offsets) {
            let size = if h.sh_type == SHT_NOBITS {
                h.nobits_size
            } else {
                h.data.len() as u64
            };
            out.extend(h.name.to_le_bytes());
            out.extend(h.sh_type.to_le_bytes());
            out.extend(h.flags.to_le_bytes());
            out.extend(0u64.to_le_bytes());
            out.extend(off.to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend(h.link.to_le_bytes());
            out.extend(h.info.to_le_bytes());
            out.extend(8u64.to_le_bytes());
            out.extend(h.entsize.to_le_bytes());
        }
        let shnum = (headers.len() + 1) as u16;
        let header = &mut out[..64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2; // ELFCLASS64
        header[5] = 1; // ELFDATA2LSB
        header[6] = 1; // EV_CURRENT
        header[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
        header[18..20].copy_from_slice(&self.machine.to_le_bytes());
        header[20..24].copy_from_slice(&1u32.to_le_bytes());
        header[40..48].copy_from_slice(&shoff.to_le_bytes());
        header[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        header[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        header[60..62].copy_from_slice(&shnum.to_le_bytes());
        header[62..64].copy_from_slice(&(shstrtab_index as u16).to_le_bytes());
        out
    }
}

/// One section header being written, with its contents.
struct Header {
    name: u32,
    sh_type: u32,
    flags: u64,
    data: Vec<u8>,
    nobits_size: u64,
    link: u32,
    info: u32,
    entsize: u64,
}

impl Header {
    fn new(name: u32, sh_type: u32, flags: u64, data: Vec<u8>) -> Header {
        Header {
            name,
            sh_type,
            flags,
            data,
            nobits_size: 0,
            link: 0,
            info: 0,
            entsize: 0,
        }
    }

    fn nobits(mut self, size: u64) -> Header {
        self.nobits_size = size;
        self
    }

    fn links(mut self, link: u32, info: u32, entsize: u64) -> Header {
        self.link = link;
        self.info = info;
        self.entsize = entsize;
        self
    }
}

/// Reads a little-endian u64 field of the ELF header or a section header.
pub fn u64_at(data: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(data[off..off + 8].try_into().unwrap())
}

pub fn u32_at(data: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(data[off..off + 4].try_into().unwrap())
}

pub fn u16_at(data: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(data[off..off + 2].try_into().unwrap())
}

/// File offset of section header `index` of a real or built object.
pub fn section_header_offset(data: &[u8], index: usize) -> usize {
    u64_at(data, 40) as usize + 64 * index
}

/// Index of the section named `name` in an ELF64 file.
pub fn find_section(data: &[u8], name: &str) -> Option<usize> {
    let shnum = u16_at(data, 60) as usize;
    let shstrndx = u16_at(data, 62) as usize;
    let strtab_off = u64_at(data, section_header_offset(data, shstrndx) + 24) as usize;
    (0..shnum).find(|&i| {
        let h = section_header_offset(data, i);
        let name_off = strtab_off + u32_at(data, h) as usize;
        let end = data[name_off..].iter().position(|&b| b == 0).unwrap();
        &data[name_off..name_off + end] == name.as_bytes()
    })
}

/// File offset and size of the section named `name`.
pub fn section_range(data: &[u8], name: &str) -> (usize, usize) {
    let index = find_section(data, name).unwrap_or_else(|| panic!("no section {name}"));
    let h = section_header_offset(data, index);
    (u64_at(data, h + 24) as usize, u64_at(data, h + 32) as usize)
}

/// Map types (uapi `enum bpf_map_type`) the hand-built objects use.
pub const ARRAY: u32 = 2;
pub const PROG_ARRAY: u32 = 3;
pub const ARRAY_OF_MAPS: u32 = 12;

/// A valid object: two legacy maps and one program loading `counters`.
/// The error tests and the table of malformed inputs damage copies of it.
pub fn base() -> Elf {
    Elf::default()
        .code_section("xdp", code(&[ld_imm64(1, 0), mov(0, 2), exit()]))
        .data_section(
            "maps",
            [
                words(&[PROG_ARRAY, 4, 4, 8, 0]),
                words(&[ARRAY, 4, 8, 4, 0]),
            ]
            .concat(),
        )
        .data_section("license", b"GPL\0".to_vec())
        .func("xdp", "prog", 0, 32)
        .object("maps", "jmp", 0, 20)
        .object("maps", "counters", 20, 20)
        .rel("xdp", 0, R_BPF_64_64, "counters")
}

/// `base` with its `maps` section and map symbols replaced.
pub fn with_maps(maps: Vec<u8>, symbols: &[(&str, u64, u64)]) -> Elf {
    let mut elf = base();
    elf.sections[1].data = maps;
    elf.symbols.retain(|s| s.section.as_deref() != Some("maps"));
    elf.relocs.clear();
    for &(name, value, size) in symbols {
        elf = elf.object("maps", name, value, size);
    }
    elf
}

/// `base` with one program section of this name and content.
pub fn with_code(section: &str, insns: Vec<u8>) -> Elf {
    let mut elf = base();
    elf.sections[0].name = section.into();
    elf.sections[0].data = insns.clone();
    elf.symbols.retain(|s| s.name != "prog");
    elf.relocs.clear();
    elf.func(section, "prog", 0, insns.len() as u64)
}
