//! Every ```console block of docs/ runs in the lessons' sandbox and prints
//! what the page shows (tests/harness/docs.rs says how).
//!
//! The pages show what the host's kernel printed, so on the host (`make
//! test`) the `console` blocks run; built with the `vm` feature, as `make
//! vm-test` builds for the guest kernels, the binary runs the
//! `console,vm` blocks instead (lesson 3: netdevsim, which the guests
//! have).
//!
//! `RXDP_DOCS_BLESS=1 cargo test -p rxdp-kernel-tests --test docs_commands`
//! (`make docs-bless`) rewrites the shown outputs after a change of rxdp's
//! output text.

use rxdp_kernel_tests::docs::{check_pages, Where};

/// At least this many commands: a page parser that found nothing must not
/// pass.
#[cfg(not(feature = "vm"))]
const AT_LEAST: usize = 40;
#[cfg(feature = "vm")]
const AT_LEAST: usize = 10;

#[cfg(not(feature = "vm"))]
const WHERE: Where = Where::Host;
#[cfg(feature = "vm")]
const WHERE: Where = Where::Vm;

#[test]
fn every_console_block_prints_what_the_page_shows() {
    let checked = check_pages(WHERE);
    if std::env::var_os("RXDP_DOCS_PAGE").is_none() {
        assert!(
            checked >= AT_LEAST,
            "only {checked} {WHERE:?} commands found in docs/"
        );
    }
}

/// Every page of docs/ is in the book, and every relative link of a page
/// (to another page, an exercise, a source file) leads to a file of the
/// repository: what a reader follows offline exists.
#[test]
fn the_summary_lists_every_page_and_every_relative_link_resolves() {
    let root = rxdp_kernel_tests::docs::repo_root();
    let docs = root.join("docs");
    let summary = std::fs::read_to_string(docs.join("SUMMARY.md")).expect("docs/SUMMARY.md");
    let mut problems = Vec::new();
    for page in rxdp_kernel_tests::docs::pages() {
        let relative = page.strip_prefix(&docs).expect("a page of docs/");
        let name = relative.to_string_lossy();
        if name != "SUMMARY.md" && !summary.contains(&format!("({name})")) {
            problems.push(format!("{name} is not in docs/SUMMARY.md"));
        }
        let text = std::fs::read_to_string(&page).expect("a page reads");
        for target in relative_links(&text) {
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() {
                continue;
            }
            let file = page.parent().expect("a page has a directory").join(path);
            if !file.exists() {
                problems.push(format!("{name}: the link ({target}) leads nowhere"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The targets of the Markdown links `[text](target)` of a page that are
/// not URLs.
fn relative_links(text: &str) -> Vec<&str> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = &rest[..end];
        if !target.contains("://") && !target.starts_with("mailto:") && !target.contains(' ') {
            links.push(target);
        }
        rest = &rest[end..];
    }
    links
}
