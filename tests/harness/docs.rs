//! The book's command checker: every ```console block of `docs/` runs, and
//! what it prints must match what the page shows.
//!
//! A checked block is fenced as `console` (the book highlights it as a
//! shell session). In it, a line starting with `# ` is a command (a line
//! ending in ` \` continues on the next), and the lines up to the next
//! command are the output the page shows. `console,vm` blocks need a guest
//! kernel (netdevsim): the VM suite runs them, the host does not. Blocks
//! fenced `sh` or `text` are shown, never run.
//!
//! All the blocks of one page (of one kind) run in order in one `bash`, in
//! a sandbox of their own: `unshare --mount --net`, sysfs mounted again for
//! the new network namespace, a fresh bpffs instance on /sys/fs/bpf and a
//! tmpfs on /run. Pages that read the trace pipe hold [`TraceLock`]. The lessons' fixed names (`rxl0`,
//! `rxlesson`, `/sys/fs/bpf/rxdp/rxl0/`) then meet nothing of the host's or
//! of another test's, and everything a page made goes with the sandbox.
//!
//! Outputs are compared after [`mask`]: ids, times, PIDs, tags, ifindexes
//! and trace-line prefixes vary from run to run; runs of spaces count as
//! one (tables pad columns to the widest id). `RXDP_DOCS_BLESS=1` writes
//! the outputs produced into the pages instead of failing;
//! `RXDP_DOCS_PAGE=SUBSTRING` checks only the pages whose path holds it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{bin, require_kernel, TraceLock};

/// Which blocks a run takes: the host's, or the ones needing a guest kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// `console` blocks: the host kernel.
    Host,
    /// `console,vm` blocks: the guests of `make vm-test` (netdevsim).
    Vm,
}

/// One command of a page and the output the page shows for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The command as bash reads it (continuation lines kept).
    pub command: String,
    /// The shown output, one entry per line.
    pub shown: Vec<String>,
    /// Line indexes (0-based) of the page where the shown output starts and
    /// ends (exclusive), for `--bless`.
    pub output_lines: (usize, usize),
}

/// The checked blocks of a page, in page order, for one [`Where`].
pub fn steps(page: &str, which: Where) -> Vec<Step> {
    let lines: Vec<&str> = page.lines().collect();
    let mut steps = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].trim_start();
        index += 1;
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let mut attrs = info.split(',').map(str::trim);
        let is_console = attrs.next() == Some("console");
        let is_vm = attrs.any(|attr| attr == "vm");
        let end = (index..lines.len())
            .find(|&i| lines[i].trim_start().starts_with("```"))
            .unwrap_or(lines.len());
        if is_console && is_vm == (which == Where::Vm) {
            parse_block(&lines, index, end, &mut steps);
        }
        index = end + 1;
    }
    steps
}

fn parse_block(lines: &[&str], start: usize, end: usize, steps: &mut Vec<Step>) {
    let mut index = start;
    while index < end {
        let Some(first) = lines[index].strip_prefix("# ") else {
            // Output before any command: shown, not checked.
            index += 1;
            continue;
        };
        let mut command = first.to_string();
        index += 1;
        while command.ends_with('\\') && index < end {
            command.push('\n');
            command.push_str(lines[index]);
            index += 1;
        }
        let output_start = index;
        while index < end && !lines[index].starts_with("# ") {
            index += 1;
        }
        steps.push(Step {
            command,
            shown: lines[output_start..index]
                .iter()
                .map(|line| line.to_string())
                .collect(),
            output_lines: (output_start, index),
        });
    }
}

/// The line with what varies between runs replaced by placeholders, and
/// runs of spaces made one.
pub fn mask(line: &str) -> String {
    let mut line = line.to_string();
    // A trace_pipe line: task-PID, CPU, flags and timestamp before the
    // event name.
    if let Some(at) = line.find("bpf_trace_printk:") {
        line = format!("<trace> {}", &line[at..]);
    }
    for prefix in [
        "id ",
        "ids ",
        // Programs are verified several at once (`--jobs`): which gets the
        // lower fd is the scheduler's choice, as ids are the kernel's.
        "fd ",
        "IFLA_XDP_FD ",
        "ifindex ",
        "ifindex=",
        "pid=",
        "start=",
        "prog=",
        "(program ",
        "\"id\":",
        "\"ifindex\":",
        "\"btf_id\":",
        "\"duration_ns\":",
        "staging-",
        "rxdp-",
    ] {
        line = mask_after(&line, prefix);
    }
    line = mask_durations(&line);
    line = mask_tags(&line);
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every run of digits (and `-`, for `staging-PID-START-N`) right after
/// `prefix` becomes `<n>`.
fn mask_after(line: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(prefix) {
        let after = at + prefix.len();
        out.push_str(&rest[..after]);
        // `id ` in `valid 3` is not an id.
        let inside_word = prefix.starts_with(|c: char| c.is_ascii_alphanumeric())
            && out[..out.len() - prefix.len()]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if inside_word {
            rest = &rest[after..];
            continue;
        }
        let digits = rest[after..]
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len() - after);
        if rest[after..].starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str("<n>");
        } else {
            out.push_str(&rest[after..after + digits]);
        }
        rest = &rest[after + digits..];
    }
    out.push_str(rest);
    out
}

/// A number followed by a unit of time (`0.393 ms`, `14607 ns`), or with
/// three decimals (`--timings` columns), becomes `<t>`.
fn mask_durations(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        let unit = next.trim_end_matches([',', ';', ')', ':']);
        let is_number = !word.is_empty()
            && word.chars().all(|c| c.is_ascii_digit() || c == '.')
            && word.chars().next().is_some_and(|c| c.is_ascii_digit());
        // rxdp prints milliseconds with three decimals, with a unit or in
        // the columns of `--timings`.
        let three_decimals = is_number
            && word
                .split_once('.')
                .is_some_and(|(_, fraction)| fraction.len() == 3 && !fraction.contains('.'));
        if is_number && (three_decimals || matches!(unit, "ms" | "ns" | "us" | "µs" | "s")) {
            out.push("<t>");
        } else {
            out.push(word);
        }
    }
    out.join(" ")
}

/// A program tag, 16 hex digits standing alone, becomes `<tag>`.
fn mask_tags(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            let core = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            if core.len() == 16 && core.chars().all(|c| c.is_ascii_hexdigit()) {
                word.replace(core, "<tag>")
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The repository root (the parent of `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every Markdown page of `docs/`, sorted.
pub fn pages() -> Vec<PathBuf> {
    let mut pages = Vec::new();
    let mut dirs = vec![repo_root().join("docs")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

const MARK: &str = "@@rxdp-docs-check@@";
/// A page's session longer than this is killed and fails.
const PAGE_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs the steps in one bash inside a fresh sandbox; returns each step's
/// output (stdout and stderr, interleaved as printed).
pub fn run_steps(steps: &[Step]) -> Vec<Vec<String>> {
    let root = repo_root();
    let bin_dir = bin("rxdp")
        .parent()
        .expect("a binary has a directory")
        .to_path_buf();
    let mut script = String::new();
    // The sandbox: a bpffs and a /run of its own (ip netns, rxdp's locks),
    // lo up, the programs of this build first on PATH.
    script.push_str("set -u\nexec 2>&1\n");
    // sysfs again, for this network namespace (/sys/class/net), then what
    // was mounted below it.
    script.push_str("mount -t sysfs sysfs /sys || exit 89\n");
    script.push_str("mount -t bpf bpf /sys/fs/bpf || exit 90\n");
    script.push_str("mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null\n");
    script.push_str("mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null\n");
    script.push_str("mount -t tmpfs -o mode=0755 tmpfs /run || exit 91\n");
    script.push_str("ip link set lo up || exit 92\n");
    let _ = writeln!(
        script,
        "cd '{}' || exit 93\nexport PATH='{}':\"$PATH\"",
        root.display(),
        bin_dir.display()
    );
    for step in steps {
        let _ = writeln!(script, "echo {MARK}\n{}\necho", step.command);
    }
    let _ = writeln!(script, "echo {MARK}");
    let output = Command::new("timeout")
        .args(["--kill-after=5", &PAGE_TIMEOUT.as_secs().to_string()])
        .args(["unshare", "--mount", "--net", "--propagation", "private"])
        .args(["bash", "-c", &script])
        .output()
        .unwrap_or_else(|error| panic!("cannot run unshare/bash: {error}"));
    let text = String::from_utf8_lossy(&output.stdout);
    let mut chunks: Vec<&str> = text.split(&format!("{MARK}\n")).collect();
    assert!(
        chunks.len() == steps.len() + 2,
        "the page's session stopped early ({}; {} of {} commands ran): {text}",
        output.status,
        chunks.len().saturating_sub(2),
        steps.len(),
    );
    chunks.remove(0);
    chunks.pop();
    chunks
        .iter()
        .map(|chunk| {
            let mut lines: Vec<String> = chunk.lines().map(str::to_string).collect();
            while lines.last().is_some_and(|line| line.trim().is_empty()) {
                lines.pop();
            }
            lines
        })
        .collect()
}

fn masked(lines: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = lines.iter().map(|line| mask(line)).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Checks (or with `RXDP_DOCS_BLESS=1`, rewrites) every page's blocks of
/// one kind; returns how many commands were checked. Panics listing every
/// mismatch.
pub fn check_pages(which: Where) -> usize {
    assert!(require_kernel(), "the command checker needs the kernel");
    let bless = std::env::var("RXDP_DOCS_BLESS").as_deref() == Ok("1");
    let only = std::env::var("RXDP_DOCS_PAGE").ok();
    let root = repo_root();
    let mut failures = String::new();
    let mut checked = 0;
    for page in pages() {
        let relative = page.strip_prefix(&root).unwrap_or(&page).to_path_buf();
        if only
            .as_deref()
            .is_some_and(|only| !relative.to_string_lossy().contains(only))
        {
            continue;
        }
        let text = std::fs::read_to_string(&page)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", page.display()));
        let page_steps = steps(&text, which);
        if page_steps.is_empty() {
            continue;
        }
        // The trace pipe is one per machine: hold it while a page reads it.
        let _trace = text.contains("rxdp trace").then(TraceLock::acquire);
        let produced = run_steps(&page_steps);
        checked += page_steps.len();
        if bless {
            bless_page(&page, &text, &page_steps, &produced);
            continue;
        }
        for (step, got) in page_steps.iter().zip(&produced) {
            if masked(&step.shown) != masked(got) {
                let _ = write!(
                    failures,
                    "\n{}:{}: `{}`\n  shown:\n    {}\n  produced:\n    {}\n",
                    relative.display(),
                    step.output_lines.0,
                    step.command,
                    step.shown.join("\n    "),
                    got.join("\n    "),
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "outputs differ from the pages (RXDP_DOCS_BLESS=1 rewrites them):{failures}"
    );
    checked
}

fn bless_page(page: &Path, text: &str, steps: &[Step], produced: &[Vec<String>]) {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut next = 0;
    for (step, got) in steps.iter().zip(produced) {
        let (start, end) = step.output_lines;
        out.extend(lines[next..start].iter().map(|line| line.to_string()));
        // A command's shown output keeps its blank separator line, if any.
        let keeps_blank = end > start && lines[end - 1].trim().is_empty();
        out.extend(got.iter().cloned());
        if keeps_blank && !got.is_empty() {
            out.push(String::new());
        }
        next = end;
    }
    out.extend(lines[next..].iter().map(|line| line.to_string()));
    let mut new_text = out.join("\n");
    new_text.push('\n');
    std::fs::write(page, new_text)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", page.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_what_varies() {
        assert_eq!(
            mask("prog_fd[0] = xdp_prog0 (xdp, id 2496, section xdp0)"),
            "prog_fd[0] = xdp_prog0 (xdp, id <n>, section xdp0)"
        );
        assert_eq!(
            mask("attached prog_fd[0] to rxl0 (ifindex 237) in skb mode"),
            "attached prog_fd[0] to rxl0 (ifindex <n>) in skb mode"
        );
        assert_eq!(
            mask("open done: 0.393 ms, 0.000 ms of it in syscalls"),
            "open done: <t> ms, <t> ms of it in syscalls"
        );
        assert_eq!(
            mask("  BPF_OBJ_PIN map_fd[0] at /sys/fs/bpf/rxdp/rxl0/staging-20797-470129-0/a"),
            "BPF_OBJ_PIN map_fd[0] at /sys/fs/bpf/rxdp/rxl0/staging-<n>/a"
        );
        assert_eq!(
            mask("   rxdp-23024   [000] b..11  8336.347692: bpf_trace_printk: returning 2"),
            "<trace> bpf_trace_printk: returning 2"
        );
        assert_eq!(mask("tag 0a1b2c3d4e5f6a7b,"), "tag <tag>,");
        assert_eq!(mask("attach   11.344   11.219"), "attach <t> <t>");
        // What a reader must see change is not masked.
        assert_eq!(mask("key 1: 5"), "key 1: 5");
        assert_eq!(mask("valid 3"), "valid 3");
        assert_eq!(mask("tail call (xdp_1) id=1"), "tail call (xdp_1) id=1");
    }

    #[test]
    fn reads_commands_and_outputs() {
        let page = "text\n```console\n# echo a \\\n  b\na b\n\n# true\n```\n\
                    ```console,vm\n# echo vm\nvm\n```\n```sh\n# not run\n```\n";
        let host = steps(page, Where::Host);
        assert_eq!(host.len(), 2);
        assert_eq!(host[0].command, "echo a \\\n  b");
        assert_eq!(host[0].shown, ["a b", ""]);
        assert_eq!(host[0].output_lines, (4, 6));
        assert_eq!(host[1].command, "true");
        assert!(host[1].shown.is_empty());
        let vm = steps(page, Where::Vm);
        assert_eq!(vm.len(), 1);
        assert_eq!(vm[0].shown, ["vm"]);
    }
}
