//! Does nothing: built static (musl) like dist/rxdp-load, its run time is the
//! floor every static program pays to be spawned, exec'd, exit and be reaped.
//! `make bench` reports it beside rxdp-load's overhead.

fn main() {}
