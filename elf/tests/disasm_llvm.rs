//! The disassembler against LLVM's: every instruction of every
//! `progs/obj/*.o` rendered by `rxdp_elf::disasm` must equal what
//! `llvm-objdump -dr --no-show-raw-insn` prints for it, once LLVM's text is
//! brought to the kernel's syntax. Needs llvm-objdump (`make deps`);
//! `LLVM_OBJDUMP` names another binary.
//!
//! The normalisations, each a known difference between LLVM 14's BPF
//! syntax and the kernel's (`kernel/bpf/disasm.c`), applied to LLVM's line:
//!
//! 1. memory operands: LLVM `(r10 - 48)`, kernel `(r10 -48)` (`%+d`);
//! 2. jumps: LLVM `goto +2 <LBB0_2>`, kernel `goto pc+2`; a compared
//!    immediate is decimal in LLVM (`if r0 == 0`), hex of its 32 bits in the
//!    kernel (`if r0 == 0x0`, `-1` → `0xffffffff`);
//! 3. helper calls: LLVM `call 12`, kernel `call bpf_tail_call#12`. The
//!    names come from the uapi header on this machine
//!    (`/usr/include/linux/bpf.h`, `__BPF_FUNC_MAPPER`), not from rxdp's
//!    table, which this test checks against the same header;
//! 4. relocated instructions: LLVM prints the placeholder the compiler left
//!    (`r1 = 0 ll`, `call -1`) and the relocation on the next line; rxdp
//!    prints the symbol. The expected text is built from LLVM's relocation
//!    line and symbol table (`llvm-objdump -t`), independently of rxdp's
//!    parser: a symbol in `maps`/`.maps` → `map[NAME]`; a variable or
//!    section symbol in a data section → `map[SECTION]+OFFSET` (symbol
//!    value plus the addend clang left in `imm`); `R_BPF_64_32` → `call
//!    NAME` of the function at the target offset;
//! 5. 64-bit constants: LLVM `r1 = 2660 ll` (decimal), rxdp `r1 = 0xa64 ll`;
//! 6. atomics with a result: LLVM `r4 = atomic_fetch_add((u64 *)(r3 + 0), r4)`,
//!    `r1 = xchg_64(r3 + 0, r1)`, `r0 = cmpxchg_64(r3 + 0, r0, r4)`; the
//!    kernel `atomic64_fetch_add((u64 *)(r3 +0), r4)`, `atomic64_xchg((u64
//!    *)(r3 +0), r1)`, `atomic64_cmpxchg((u64 *)(r3 +0), r0, r4)`;
//! 7. numbering: LLVM numbers from the start of the section, rxdp from the
//!    start of each function (as the verifier does); the test adds the
//!    function's offset. Labels (`<LBB0_2>:`) and blank lines are structure.
//!
//! The progs are built for the default CPU (v1): no 32-bit ALU or jumps, no
//! atomics beyond `lock ... +=`. `tests/data/isa_v3.c`, compiled here with
//! clang's `-mcpu=v3`, adds those (`w` registers, `if w1 s< ...`, fetch,
//! xchg, cmpxchg, byte swaps) to the same comparison.
//!
//! `undefined_call.o` is the one object rxdp refuses to parse (its call
//! names a function defined nowhere), and the test asserts that instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rxdp_elf::{disasm, ExternKind, Function, Object};

fn objdump() -> String {
    std::env::var("LLVM_OBJDUMP").unwrap_or_else(|_| "llvm-objdump".to_owned())
}

fn run(args: &[&str], object: &Path) -> String {
    let output = Command::new(objdump())
        .args(args)
        .arg(object)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}); install it with `make deps`",
                objdump()
            )
        });
    assert!(
        output.status.success(),
        "{} {args:?} {}: {}",
        objdump(),
        object.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("llvm-objdump prints UTF-8")
}

fn objects() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj");
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (make progs)", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "o"))
        .collect();
    objects.sort();
    assert!(objects.len() >= 12, "progs/obj holds {objects:?}");
    objects
}

/// `__BPF_FUNC_MAPPER` of the installed uapi header: helper names by id.
fn uapi_helpers() -> Vec<String> {
    let header = std::fs::read_to_string("/usr/include/linux/bpf.h")
        .expect("/usr/include/linux/bpf.h (package linux-libc-dev, `make deps`)");
    let start = header
        .find("#define __BPF_FUNC_MAPPER(FN")
        .or_else(|| header.find("#define ___BPF_FUNC_MAPPER(FN"))
        .expect("the header defines __BPF_FUNC_MAPPER");
    let mut names = Vec::new();
    for line in header[start..].lines().skip(1) {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("FN(") else {
            break;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        names.push(format!("bpf_{name}"));
    }
    assert!(names.len() > 200, "read {} helper names", names.len());
    names
}

#[test]
fn helper_table_matches_the_uapi_header() {
    let uapi = uapi_helpers();
    // The installed header may predate the last helpers (6.1 stops at
    // user_ringbuf_drain, 209); every id it has must agree.
    for (id, name) in uapi.iter().enumerate() {
        assert_eq!(disasm::HELPERS.get(id), Some(&name.as_str()), "helper {id}");
    }
    assert_eq!(disasm::HELPER_COUNT, 212);
}

/// One symbol of `llvm-objdump -t`.
#[derive(Debug)]
struct Sym {
    value: u64,
    section: String,
    /// `F` function, `O` object, `d` section symbol (the flags column).
    kind: char,
    name: String,
}

fn symbols(object: &Path) -> Vec<Sym> {
    let text = run(&["-t"], object);
    text.lines()
        .filter_map(|line| {
            // "0000000000000004 g     O .rodata\t0000000000000010 weights"
            let (left, right) = line.split_once('\t')?;
            let value = u64::from_str_radix(left.get(..16)?, 16).ok()?;
            let flags = left.get(17..24)?;
            let section = left.get(25..)?.trim().to_owned();
            let name = right.split_once(' ')?.1.trim().to_owned();
            let kind = flags
                .chars()
                .last()
                .filter(|c| *c != ' ')
                .unwrap_or(if flags.contains('d') { 'd' } else { ' ' });
            Some(Sym {
                value,
                section,
                kind,
                name,
            })
        })
        .collect()
}

/// One instruction line of `llvm-objdump -dr`, with the relocation LLVM
/// printed under it.
#[derive(Debug)]
struct LlvmInsn {
    section: String,
    index: u64,
    text: String,
    reloc: Option<(String, String)>,
}

fn llvm_insns(object: &Path) -> Vec<LlvmInsn> {
    let text = run(&["-dr", "--no-show-raw-insn"], object);
    let mut section = String::new();
    let mut insns: Vec<LlvmInsn> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line
            .strip_prefix("Disassembly of section ")
            .and_then(|rest| rest.strip_suffix(':'))
        {
            section = name.to_owned();
        } else if let Some(reloc) = line.strip_prefix("\t\t") {
            // "\t\t0000000000000020:  R_BPF_64_64\tbump_calls"
            let (_, rest) = reloc.split_once(":  ").expect("relocation line");
            let (kind, symbol) = rest.split_once('\t').expect("relocation kind and symbol");
            insns
                .last_mut()
                .expect("relocation after an instruction")
                .reloc = Some((kind.to_owned(), symbol.to_owned()));
        } else if let Some((index, text)) = line.trim_start().split_once(":\t") {
            if let Ok(index) = index.parse() {
                insns.push(LlvmInsn {
                    section: section.clone(),
                    index,
                    text: text.trim().to_owned(),
                    reloc: None,
                });
            }
        }
    }
    insns
}

fn is_data_section(name: &str) -> bool {
    [".data", ".rodata", ".bss"]
        .iter()
        .any(|prefix| name == *prefix || name.starts_with(&format!("{prefix}.")))
}

/// LLVM's line in the kernel's syntax (normalisations 1-6 above).
fn normalise(insn: &LlvmInsn, syms: &[Sym], helpers: &[String], object: &Object) -> String {
    let text = memory_operands(&insn.text);
    if let Some((kind, symbol)) = &insn.reloc {
        return relocated(&text, kind, symbol, syms, object);
    }
    if let Some((dst, constant)) = text.strip_suffix(" ll").and_then(|t| t.split_once(" = ")) {
        let value = constant
            .parse::<u64>()
            .or_else(|_| constant.parse::<i64>().map(|v| v as u64))
            .unwrap_or_else(|_| panic!("constant in {text:?}"));
        return format!("{dst} = {value:#x} ll");
    }
    if let Some(id) = text.strip_prefix("call ") {
        let id: usize = id.parse().unwrap_or_else(|_| panic!("call in {text:?}"));
        let name = helpers.get(id).map_or("unknown", String::as_str);
        return format!("call {name}#{id}");
    }
    if text.starts_with("if ") || text.starts_with("goto ") {
        return jump(&text);
    }
    atomic_with_result(&text).unwrap_or(text)
}

/// `r1 = xchg_64(r3 +0, r1)` → `r1 = atomic64_xchg((u64 *)(r3 +0), r1)`,
/// and the same for `cmpxchg_64` and `atomic_fetch_OP` on 64 bits.
fn atomic_with_result(text: &str) -> Option<String> {
    let (dst, call) = text.split_once(" = ")?;
    if let Some(rest) = call.strip_prefix("atomic_fetch_") {
        return rest
            .contains("(u64 *)")
            .then(|| format!("{dst} = atomic64_fetch_{rest}"));
    }
    for (llvm, kernel) in [
        ("xchg_64(", "atomic64_xchg"),
        ("cmpxchg_64(", "atomic64_cmpxchg"),
    ] {
        if let Some(rest) = call.strip_prefix(llvm) {
            let (address, operands) = rest.split_once(", ")?;
            return Some(format!("{dst} = {kernel}((u64 *)({address}), {operands}"));
        }
    }
    None
}

/// `(r10 - 48)` → `(r10 -48)`, `(r0 + 0)` → `(r0 +0)`.
fn memory_operands(text: &str) -> String {
    text.replace(" - ", " -").replace(" + ", " +")
}

/// `if r0 == 0 goto +2 <LBB0_2>` → `if r0 == 0x0 goto pc+2`.
fn jump(text: &str) -> String {
    let (head, target) = match text.strip_prefix("goto ") {
        Some(target) => ("", target),
        None => text.rsplit_once(" goto ").expect("jump has a target"),
    };
    let distance = target.split_whitespace().next().expect("jump distance");
    let head = match head.strip_prefix("if ") {
        Some(condition) => {
            let mut parts: Vec<String> = condition.split(' ').map(str::to_owned).collect();
            if let Some(last) = parts.last_mut() {
                if let Ok(value) = last.parse::<i64>() {
                    *last = format!("{:#x}", value as u32);
                }
            }
            format!("if {}", parts.join(" "))
        }
        None => head.to_owned(),
    };
    let sep = if head.is_empty() { "" } else { " " };
    format!("{head}{sep}goto pc{distance}")
}

fn relocated(text: &str, kind: &str, symbol: &str, syms: &[Sym], object: &Object) -> String {
    let sym = syms
        .iter()
        .find(|s| s.name == symbol)
        .unwrap_or_else(|| panic!("{symbol} is not in the symbol table"));
    match kind {
        "R_BPF_64_64" => {
            // "r1 = 0 ll": the addend clang left in imm.
            let (dst, rest) = text.split_once(" = ").expect("ld_imm64");
            let addend: u64 = rest
                .strip_suffix(" ll")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("ld_imm64 addend in {text:?}"));
            if sym.section == "maps" || sym.section == ".maps" {
                format!("{dst} = map[{symbol}]")
            } else if is_data_section(&sym.section) {
                format!("{dst} = map[{}]+{}", sym.section, sym.value + addend)
            } else if sym.kind == 'F' {
                format!("{dst} = func[{symbol}]")
            } else if sym.section == "*UND*" {
                // An extern: which kind the object's BTF says.
                let kind = match object.externs.iter().find(|e| e.name == symbol) {
                    Some(e) if matches!(e.kind, ExternKind::Kconfig(_)) => "kconfig",
                    Some(e) if matches!(e.kind, ExternKind::Kfunc { .. }) => "kfunc",
                    Some(_) => "ksym",
                    None => panic!("{symbol}: an undefined symbol that is no extern"),
                };
                format!("{dst} = {kind}[{symbol}]")
            } else {
                panic!("{text:?} relocated against {symbol} in {}", sym.section)
            }
        }
        "R_BPF_64_32" => {
            let imm: i64 = text
                .strip_prefix("call ")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("call in {text:?}"));
            if sym.section == "*UND*" {
                return format!("call {symbol}#kfunc");
            }
            let name = if sym.kind == 'F' {
                symbol.to_owned()
            } else {
                // A section symbol: the callee starts (imm + 1)
                // instructions into the section.
                let offset = (imm + 1) as u64 * 8 + sym.value;
                syms.iter()
                    .find(|s| s.kind == 'F' && s.section == sym.section && s.value == offset)
                    .unwrap_or_else(|| panic!("no function at {offset:#x} of {}", sym.section))
                    .name
                    .clone()
            };
            format!("call {name}")
        }
        other => panic!("relocation {other} on {text:?}"),
    }
}

/// rxdp's rendering of every function of the object, keyed like LLVM's
/// lines: (section, index from the section's start).
fn rxdp_insns(object: &Object) -> BTreeMap<(String, u64), String> {
    let functions: Vec<&Function> = object
        .programs
        .iter()
        .map(|p| &p.function)
        .chain(&object.subprograms)
        .collect();
    let mut out = BTreeMap::new();
    for function in functions {
        let first = function.offset / 8;
        let mut i = 0;
        while let Some(insn) = function.insns.get(i) {
            let key = (function.section.clone(), first + i as u64);
            let text = disasm::render_insn(object, function, i);
            assert!(
                out.insert(key.clone(), text).is_none(),
                "{key:?} rendered twice"
            );
            i += if insn.is_ld_imm64() { 2 } else { 1 };
        }
    }
    out
}

/// Compares every instruction of `object` (parsed from `path`) with
/// llvm-objdump's; returns how many matched, panics listing mismatches.
fn compare(path: &Path, object: &Object, helpers: &[String]) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let syms = symbols(path);
    let ours = rxdp_insns(object);
    let llvm = llvm_insns(path);
    let mut mismatches = Vec::new();
    for insn in &llvm {
        let expected = normalise(insn, &syms, helpers, object);
        match ours.get(&(insn.section.clone(), insn.index)) {
            Some(got) if *got == expected => {}
            Some(got) => mismatches.push(format!(
                "{name} {}:{}: llvm {:?} → {expected:?}, rxdp {got:?}",
                insn.section, insn.index, insn.text
            )),
            None => mismatches.push(format!(
                "{name} {}:{}: llvm {:?}, rxdp has no instruction there",
                insn.section, insn.index, insn.text
            )),
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // Every instruction rxdp renders is one LLVM printed: no function is
    // missing from either side.
    assert_eq!(
        ours.len(),
        llvm.len(),
        "{name}: rxdp renders {} instructions, llvm-objdump {}",
        ours.len(),
        llvm.len()
    );
    llvm.len()
}

#[test]
fn every_instruction_of_the_progs_matches_llvm_objdump() {
    let helpers = uapi_helpers();
    let mut compared = 0;
    for path in objects() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        match Object::parse(&data) {
            Ok(object) => compared += compare(&path, &object, &helpers),
            Err(error) if name == "undefined_call.o" => assert!(
                error.to_string().contains("not_defined_anywhere"),
                "{name}: {error}"
            ),
            Err(error) => panic!("{name}: {error}"),
        }
    }
    // 11 objects, several hundred instructions: a parse that dropped
    // whole functions would show here.
    assert!(compared > 700, "compared {compared} instructions");
}

/// A directory removed when the test ends, passed or not.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn cpu_v3_instructions_match_llvm_objdump() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/isa_v3.c");
    let dir = TempDir::new("rxdp-disasm");
    let path = dir.0.join("isa_v3.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-mcpu=v3", "-c"])
        .arg(&source)
        .arg("-o")
        .arg(&path)
        .status()
        .unwrap_or_else(|e| panic!("{clang} cannot run ({e}); install it with `make deps`"));
    assert!(status.success(), "{clang} failed on {}", source.display());
    let object = Object::parse(&std::fs::read(&path).unwrap()).unwrap();
    let compared = compare(&path, &object, &uapi_helpers());
    let listing = disasm::program_listing(&object, 0);
    for form in [
        "w3 *= 7",
        "if w2 != w1 goto pc+",
        "if w3 s< 0xfffffffb goto pc+",
        "lock *(u32 *)(r1 +0) += r4",
        "= atomic64_fetch_add((u64 *)(r3 +0), r4)",
        "= atomic64_xchg((u64 *)(r3 +0), r1)",
        "r0 = atomic64_cmpxchg((u64 *)(r3 +0), r0, r4)",
        "r2 = be64 r2",
    ] {
        assert!(listing.contains(form), "{form} missing from\n{listing}");
    }
    assert!(compared > 50, "compared {compared} instructions");
}

#[test]
fn listings_show_source_lines_and_subprograms() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj/verifier_reject.o");
    let object = Object::parse(&std::fs::read(path).unwrap()).unwrap();
    let listing = disasm::program_listing(&object, 0);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines[0], "prog_fd[0] xdp_reject (section xdp, 9 insns):");
    // The line-info record of insn 1 comes right above it.
    let at = lines
        .iter()
        .position(|l| l.starts_with("   1: "))
        .expect("insn 1");
    assert!(
        lines[at - 1].starts_with("; if (eth->h_proto == bpf_htons(ETH_P_IP))")
            && lines[at - 1].ends_with(" @ verifier_reject.c:22"),
        "{listing}"
    );
    assert_eq!(lines[at], "   1: r2 = *(u8 *)(r1 +12)");
    let btf = object.btf.as_ref().unwrap();
    let function = &object.programs[0].function;
    let line = disasm::source_line(function, 2, btf).unwrap();
    assert_eq!(line.location(), "verifier_reject.c:22");
    assert!(line.text.contains("REJECTED"), "{line:?}");

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../progs/obj/global_data.o");
    let object = Object::parse(&std::fs::read(path).unwrap()).unwrap();
    let listing = disasm::program_listing(&object, 0);
    assert!(listing.contains("   1: call bump\n"), "{listing}");
    assert!(listing.contains("   2: r1 = map[.rodata]+0\n"), "{listing}");
    assert!(
        listing.contains("\nsubprogram bump (section .text, 32 insns), called by xdp_global:\n"),
        "{listing}"
    );
    assert!(listing.contains("  15: r2 = map[.rodata]+4\n"), "{listing}");
    assert!(
        listing.contains("  11: call bpf_map_lookup_elem#1\n"),
        "{listing}"
    );
}
