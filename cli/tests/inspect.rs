//! `rxdp inspect` as a user runs it: the real binary, no privileges.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

const NOBODY: u32 = 65534;

fn object(name: &str) -> String {
    format!("{}/../progs/obj/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `rxdp args...`; as root, drops to `nobody` first, so the test
/// shows that inspecting needs no privileges.
fn rxdp(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rxdp"));
    command.args(args);
    let running_as_root = std::fs::metadata("/proc/self").map(|m| m.uid()).ok() == Some(0);
    if running_as_root {
        // std also clears the supplementary groups when root changes uid.
        command.uid(NOBODY).gid(NOBODY);
    }
    command.output().expect("run rxdp")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn json_of_tail_kern() {
    let output = rxdp(&["inspect", &object("tail_kern.o"), "--json"]);
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    let json = stdout(&output);
    assert_eq!(json.lines().count(), 1, "one JSON object on one line");
    for map in [
        r#"{"index":0,"name":"jmp_table1","type":"prog_array","key_size":4,"value_size":4,"max_entries":100,"flags":0,"dialect":"legacy20","#,
        r#"{"index":1,"name":"jmp_table2","type":"prog_array","key_size":4,"value_size":4,"max_entries":100,"flags":0,"dialect":"legacy20","#,
        r#"{"index":2,"name":"counters","type":"array","key_size":4,"value_size":8,"max_entries":4,"flags":0,"dialect":"legacy20","#,
    ] {
        assert!(json.contains(map), "{map} not in {json}");
    }
    for program in [
        r#"{"index":0,"section":"xdp0","name":"xdp_prog0","type":"xdp","#,
        r#"{"index":1,"section":"xdp1","name":"xdp_prog1","type":"xdp","#,
    ] {
        assert!(json.contains(program), "{program} not in {json}");
    }
    assert!(json.contains(r#""insns":64,"relocations":3"#), "{json}");
    assert!(json.contains(r#""jump_entries":[]"#), "{json}");
    // Maps come before programs, programs before jump entries.
    let at = |key: &str| json.find(key).unwrap();
    assert!(at("\"maps\"") < at("\"programs\"") && at("\"programs\"") < at("\"jump_entries\""));
}

#[test]
fn json_of_implied_jump_entries() {
    let output = rxdp(&["inspect", "--json", &object("xdp_prog_kern.o")]);
    assert!(output.status.success(), "{output:?}");
    let json = stdout(&output);
    assert!(
        json.contains(r#""jump_entries":[{"map":0,"map_name":"jmp_table","key":0,"program":1,"program_name":"xdp_prog0","origin":"prog_n"}]"#),
        "{json}"
    );
    assert!(
        json.contains(r#""section":"prog/0","name":"xdp_prog0","type":"unknown""#),
        "{json}"
    );
}

#[test]
fn text_tables() {
    let output = rxdp(&["inspect", &object("sections.o")]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("kernel version 0x61200"), "{text}");
    assert!(text.contains("socket/0"), "{text}");
    assert!(text.contains("section_number"), "{text}");
}

#[test]
fn undefined_call_fails_naming_the_symbol() {
    let path = object("undefined_call.o");
    let output = rxdp(&["inspect", &path]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("rxdp: {path}: open: ")),
        "{stderr}"
    );
    assert!(stderr.contains("not_defined_anywhere"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // With --json the error is JSON too, on stdout, as bpftool -j does.
    let output = rxdp(&["inspect", &path, "--json"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("{{\"error\":\"{path}: open: ")),
        "{stdout}"
    );
    assert!(stdout.contains("not_defined_anywhere"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[test]
fn unreadable_and_non_elf_files_fail_cleanly() {
    let output = rxdp(&["inspect", "/nonexistent/x.o"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("rxdp: /nonexistent/x.o: "), "{stderr}");

    let source = format!("{}/../progs/tail_kern.c", env!("CARGO_MANIFEST_DIR"));
    let output = rxdp(&["inspect", &source]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("not an ELF file"), "{stderr}");
}
