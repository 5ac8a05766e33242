//! `rxdp-cli-gen DIR`: the shell completions (bash, zsh, fish) and the
//! manual pages (section 1) of `rxdp` and `rxdp-load`, written from the
//! clap definitions the programs parse with, so that they cannot drift
//! apart. `make completions` runs it and installs what it writes; it is
//! not part of the programs themselves (clap_complete and clap_mangen
//! would only make them bigger).
//!
//! Writes `DIR/completions/`: `rxdp.bash`, `_rxdp`, `rxdp.fish` and the
//! same for `rxdp-load`; and `DIR/man/`: `rxdp.1`, `rxdp-load.1` (the
//! program, which is `rxdp load`), and `rxdp-inspect.1`, `rxdp-unload.1`,
//! `rxdp-status.1`, `rxdp-run.1`, `rxdp-trace.1`, `rxdp-map.1`, named as
//! git names the pages of its subcommands.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

fn generate(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let completions = dir.join("completions");
    let man = dir.join("man");
    std::fs::create_dir_all(&completions)?;
    std::fs::create_dir_all(&man)?;
    let mut written = Vec::new();
    for (name, command) in [
        ("rxdp", rxdp_cli::rxdp_command()),
        ("rxdp-load", rxdp_cli::rxdp_load_command()),
    ] {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut command = command.clone();
            written.push(clap_complete::generate_to(
                shell,
                &mut command,
                name,
                &completions,
            )?);
        }
        written.push(man_page(&command, &man.join(format!("{name}.1")))?);
    }
    // One page per subcommand; `load`'s is `rxdp-load.1` already.
    let mut rxdp = rxdp_cli::rxdp_command();
    rxdp.build();
    for sub in rxdp.get_subcommands() {
        let name = sub.get_name();
        if name == "load" || name == "help" {
            continue;
        }
        let page = sub
            .clone()
            .display_name(format!("rxdp-{name}"))
            .version(env!("CARGO_PKG_VERSION"));
        written.push(man_page(&page, &man.join(format!("rxdp-{name}.1")))?);
    }
    Ok(written)
}

fn man_page(command: &clap::Command, path: &Path) -> std::io::Result<PathBuf> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(path, page)?;
    Ok(path.to_path_buf())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: rxdp-cli-gen DIR");
        return ExitCode::from(2);
    };
    match generate(Path::new(dir)) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("rxdp-cli-gen: {dir}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_script_names_every_option() {
        let dir = std::env::temp_dir().join(format!("rxdp-cli-gen-{}", std::process::id()));
        let written = generate(&dir).unwrap();
        assert_eq!(written.len(), 6 + 8, "{written:?}");
        let read = |path: &str| std::fs::read_to_string(dir.join(path)).unwrap();
        let load_page = read("man/rxdp-load.1");
        for option in [
            "dev",
            "mode",
            "force",
            "entry",
            "map",
            "key",
            "prog",
            "pin\\-dir",
        ] {
            assert!(load_page.contains(&format!("\\-\\-{option}")), "--{option}");
        }
        assert!(read("man/rxdp-run.1").contains("\\-\\-packet\\-hex"));
        assert!(read("man/rxdp-map.1").contains("lookup"));
        for script in [
            "completions/rxdp.bash",
            "completions/_rxdp",
            "completions/rxdp.fish",
        ] {
            let text = read(script);
            for word in [
                "inspect",
                "unload",
                "status",
                "trace",
                "show-map",
                "packet-hex",
                "flags",
            ] {
                assert!(text.contains(word), "{script}: {word}");
            }
        }
        assert!(read("completions/rxdp-load.bash").contains("--no-pin"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
