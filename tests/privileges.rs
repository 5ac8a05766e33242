//! Without privileges: every kernel operation of `rxdp-load` and `rxdp`
//! run as nobody (uid and gid 65534, no supplementary groups, no
//! capabilities) fails with exit code 1 and a message naming what is
//! missing — the capability the kernel checked, or the file permissions of
//! bpffs — and changes nothing; `rxdp inspect` works.

#[path = "load_common.rs"]
mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;

use common::*;
use rxdp_kernel_tests::{bin, require_kernel, VethPair};
use rxdp_syscalls::netlink::{self, XdpFlags};

const NOBODY: u32 = 65534;

/// `NAME ARGS...` as nobody. std drops the supplementary groups when root
/// sets the uid, and the capabilities go with the uid.
fn as_nobody(name: &str, args: &[&str]) -> Run {
    Command::new(bin(name))
        .args(args)
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {name} as nobody: {error}"))
        .into()
}

/// Fails with exit code 1, one line on stderr starting `PREFIX: `, holding
/// each of `parts`.
fn refused(run: Run, prefix: &str, parts: &[&str]) -> String {
    let run = run.failed();
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.starts_with(&format!("{prefix}: ")), "{run:#?}");
    for part in parts {
        assert!(run.stderr.contains(part), "no {part:?} in:\n{}", run.stderr);
    }
    run.stderr
}

const LOAD_REFUSED: &str = "BPF_BTF_LOAD failed: Operation not permitted (EPERM); run as root \
                            or grant CAP_BPF and CAP_NET_ADMIN";

#[test]
fn unprivileged_operations_name_what_is_missing_and_inspect_works() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let dev = pair.root_name();
    let ifindex = pair.root_ifindex();
    let _pins = RemovePins(device_pins(dev));
    let object = obj("tail_kern");
    let article = with_article_jump(&[&object, "--dev", dev, "--mode", "skb"]);
    // Root's program, which nobody must not be able to touch.
    let run = rxdp_load(&article).ok();
    let id = printed_prog_id(&run.stdout, 0);

    // Loading, with or without a device, with or without --force: the
    // object's BTF is the first thing loaded, and CAP_BPF is what it needs.
    let load = format!("{object}: load BTF: the object's .BTF: {LOAD_REFUSED}");
    let message = refused(as_nobody("rxdp-load", &[&object]), "rxdp-load", &[&load]);
    assert!(
        !message.contains("rebuild"),
        "not the object's fault: {message}"
    );
    refused(as_nobody("rxdp-load", &article), "rxdp-load", &[&load]);
    let mut forced = article.clone();
    forced.push("--force");
    refused(as_nobody("rxdp-load", &forced), "rxdp-load", &[&load]);
    let mut load_args = vec!["load"];
    load_args.extend(&article);
    refused(as_nobody("rxdp", &load_args), "rxdp", &[&load]);

    // Unloading: the detach needs CAP_NET_ADMIN, and nothing is changed.
    refused(
        as_nobody("rxdp", &["unload", "--dev", dev]),
        "rxdp",
        &[&format!(
            "unload: {dev}: detach the skb program (id {id}): RTM_SETLINK failed: Operation not \
             permitted (EPERM); run as root or grant CAP_NET_ADMIN; nothing was changed; program \
             id {id} is still attached and no pins were removed"
        )],
    );
    // Status: the program's name needs CAP_SYS_ADMIN (opening it by id).
    let by_id = format!(
        "status: {dev}: the skb program (id {id}): BPF_PROG_GET_FD_BY_ID failed: Operation not \
         permitted (EPERM); run as root or grant CAP_SYS_ADMIN"
    );
    refused(
        as_nobody("rxdp", &["status", "--dev", dev]),
        "rxdp",
        &[&by_id],
    );
    refused(as_nobody("rxdp", &["status"]), "rxdp", &[&by_id]);
    assert_eq!(
        xdp(ifindex).skb_prog_id,
        Some(id),
        "nobody changed something"
    );
    assert!(device_pins(dev).join("skb/jmp_table1").exists());

    // With the program gone and its pins left, what stops nobody is the
    // pin directory's mode (0700, root's): not a capability.
    netlink::detach(ifindex, XdpFlags::SKB_MODE).unwrap_or_else(|error| panic!("{error}"));
    let skb = device_pins(dev).join("skb");
    let permissions = "Permission denied (EACCES); the path's permissions do not allow it";
    refused(
        as_nobody("rxdp", &["unload", "--dev", dev]),
        "rxdp",
        &[
            &format!(
                "unload: {dev}: remove {}: lstat failed: {permissions}",
                skb.display()
            ),
            "run as root; nothing was changed",
        ],
    );
    refused(
        as_nobody("rxdp", &["status", "--dev", dev]),
        "rxdp",
        &[&format!(
            "status: {}: readdir failed: {permissions}",
            device_pins(dev).display()
        )],
    );
    assert!(skb.join("jmp_table1").exists(), "nobody removed a pin");

    // Reading an object needs no privilege at all.
    let inspect = as_nobody("rxdp", &["inspect", &object]).ok();
    assert!(
        inspect.stdout.contains("maps (map_fd[]): 3"),
        "{}",
        inspect.stdout
    );
    assert!(inspect.stdout.contains("jmp_table1"), "{}", inspect.stdout);
    rxdp(&["unload", "--dev", dev]).ok();
}
