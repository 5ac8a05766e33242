//! The programs' exit codes and streams for help, version and usage
//! mistakes (what the argument parser decides is tested in `cli::tests`).

use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .expect("run the binary")
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn help_and_version_go_to_stdout_with_success() {
    for (program, args) in [
        (env!("CARGO_BIN_EXE_rxdp"), &["--help"][..]),
        (env!("CARGO_BIN_EXE_rxdp"), &["load", "-h"]),
        (env!("CARGO_BIN_EXE_rxdp"), &["help", "run"]),
        (env!("CARGO_BIN_EXE_rxdp-load"), &["--help"]),
    ] {
        let output = run(program, args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        assert!(text(&output.stdout).contains("\nUsage: "), "{output:?}");
        assert!(output.stderr.is_empty(), "{output:?}");
    }
    let output = run(env!("CARGO_BIN_EXE_rxdp-load"), &["--version"]);
    assert_eq!(
        text(&output.stdout),
        format!("rxdp-load {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn mistakes_go_to_stderr_with_exit_code_2() {
    for (program, args) in [
        (env!("CARGO_BIN_EXE_rxdp"), &[][..]),
        (env!("CARGO_BIN_EXE_rxdp"), &["lod"]),
        (env!("CARGO_BIN_EXE_rxdp"), &["load"]),
        (env!("CARGO_BIN_EXE_rxdp"), &["run", "x.o", "--entry", "0"]),
        (env!("CARGO_BIN_EXE_rxdp-load"), &["x.o", "--forc"]),
        (env!("CARGO_BIN_EXE_rxdp-load"), &["x.o", "--map", "0"]),
    ] {
        let output = run(program, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.ends_with("\nFor more information, try '--help'.\n")
                || stderr.contains("\nUsage: rxdp <COMMAND>\n"),
            "{stderr}"
        );
    }
    let output = run(env!("CARGO_BIN_EXE_rxdp-load"), &["x.o", "--forc"]);
    assert!(text(&output.stderr).starts_with(
        "error: unexpected argument '--forc' found\n\n  tip: a similar argument exists: '--force'\n"
    ));
}
