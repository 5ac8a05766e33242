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
