//! Without privileges: every kernel operation of `rxdp-load` and `rxdp`
//! run as nobody (uid and gid 65534, no supplementary groups, no
//! capabilities) fails with exit code 1 and a message naming what is
//! missing — the capability the kernel checked, or the file permissions of
//! bpffs and of rxdp's lock directory — and changes nothing; `rxdp status`
//! shows what nobody may see and says what not; `rxdp inspect` works.

#[path = "load_common.rs"]
mod common;

use common::*;
use rxdp_kernel_tests::{require_kernel, VethPair};
use rxdp_syscalls::netlink::{self, XdpFlags};

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

    // Unloading: the device's lock, in root's /run/rxdp, comes first; the
    // detach would need CAP_NET_ADMIN. Nothing is changed.
    let lock = format!(
        "unload: {dev}: lock: open (/run/rxdp) failed: Permission denied (EACCES); the \
         path's permissions do not allow it"
    );
    let message = refused(
        as_nobody("rxdp", &["unload", "--dev", dev]),
        "rxdp",
        &[&lock],
    );
    assert!(message.ends_with("; nothing was changed\n"), "{message}");
    // Status: what nobody may see is shown, what not is said.
    for args in [&["status", "--dev", dev][..], &["status"]] {
        let run = as_nobody("rxdp", args).ok();
        assert!(
            run.stdout.contains(&format!(
                "{dev} (ifindex {ifindex}):\n  skb mode: id {id}  tag  (attached by netlink or \
                 bpf_link: links cannot be listed)\n"
            )),
            "{run:#?}"
        );
        for note in [
            format!(
                "note: {dev}: the skb program (id {id}): its name and tag cannot be read: \
                 BPF_PROG_GET_FD_BY_ID failed: Operation not permitted (EPERM); run as root or \
                 grant CAP_SYS_ADMIN"
            ),
            "note: openat (/sys/fs/bpf/rxdp) failed: Permission denied (EACCES)".to_string(),
            "; rxdp's pins are not shown".to_string(),
        ] {
            assert!(run.stderr.contains(&note), "no {note:?} in {run:#?}");
        }
    }
    assert_eq!(
        xdp(ifindex).skb_prog_id,
        Some(id),
        "nobody changed something"
    );
    assert!(device_pins(dev).join("skb/jmp_table1").exists());

    // With the program gone and its pins left, still nothing for nobody.
    netlink::detach(ifindex, XdpFlags::SKB_MODE).unwrap_or_else(|error| panic!("{error}"));
    refused(
        as_nobody("rxdp", &["unload", "--dev", dev]),
        "rxdp",
        &[&lock, "; nothing was changed"],
    );
    assert!(
        device_pins(dev).join("skb/jmp_table1").exists(),
        "nobody removed a pin"
    );

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
