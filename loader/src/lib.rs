//! rxdp: the load pipeline.

#[cfg(feature = "cli")]
pub mod cli;
pub mod disasm;
