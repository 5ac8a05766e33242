//! rtnetlink against the real kernel: attach, replace, detach and query XDP
//! programs in every mode on a veth pair, what the kernel says when it
//! refuses, interface lookups, and real packets dropped or passed.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rxdp_elf::ProgramType;
use rxdp_kernel_tests::{receive_udp, require_kernel, Ip, VethPair};
use rxdp_syscalls::bpf::{prog_info, prog_load, ProgLoad};
use rxdp_syscalls::netlink::{
    attach, detach, ifindex, ifname, link_by_index, link_by_name, query, query_all, XdpAttached,
    XdpFlags, XdpState,
};
use rxdp_syscalls::{seam, Error};

const XDP_DROP: i32 = 1;
const XDP_PASS: i32 = 2;

/// An XDP program `r0 = verdict; exit`, loaded through rxdp's bpf(2) layer.
fn xdp_program(verdict: i32) -> OwnedFd {
    let mut insns = Vec::new();
    // BPF_ALU64 | BPF_MOV | BPF_K: opcode 0xb7, dst r0, imm = verdict.
    insns.extend_from_slice(&[0xb7, 0x00, 0, 0]);
    insns.extend_from_slice(&verdict.to_le_bytes());
    // BPF_JMP | BPF_EXIT: opcode 0x95.
    insns.extend_from_slice(&[0x95, 0, 0, 0, 0, 0, 0, 0]);
    let load = {
        let mut spec = ProgLoad::new(ProgramType::XDP.0, &insns, "GPL");
        spec.name = "netlink_test";
        spec
    };
    prog_load(&load).unwrap().fd
}

/// The kernel's id of a loaded program (`BPF_OBJ_GET_INFO_BY_FD`).
fn prog_id(prog: &OwnedFd) -> u32 {
    prog_info(prog.as_fd()).unwrap().id
}

fn expect_refusal(result: rxdp_syscalls::Result<()>, errno: i32, message: &str) -> Error {
    let error = result.expect_err("the kernel should have refused");
    assert_eq!(error.op, "RTM_SETLINK");
    assert_eq!(error.errno, errno, "{error}");
    assert_eq!(error.kernel_message.as_deref(), Some(message), "{error}");
    error
}

/// Attaches and returns how long the kernel took.
fn timed_attach(ifindex: u32, prog: &OwnedFd, flags: XdpFlags) -> Duration {
    let start = Instant::now();
    attach(ifindex, prog.as_fd(), flags, None).unwrap();
    start.elapsed()
}

/// Attach, refuse, replace, refuse a wrong replace, detach: the life of one
/// slot, in generic and in native mode (veth has native XDP).
#[test]
fn attach_replace_detach_in_skb_and_drv_mode() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let index = pair.root_ifindex();
    let first = xdp_program(XDP_PASS);
    let second = xdp_program(XDP_PASS);
    let (first_id, second_id) = (prog_id(&first), prog_id(&second));

    for (mode, attached) in [
        (XdpFlags::SKB_MODE, XdpAttached::Skb),
        (XdpFlags::DRV_MODE, XdpAttached::Drv),
    ] {
        assert_eq!(query(index).unwrap(), XdpState::default());

        let calls = seam::syscall_count();
        let took = timed_attach(index, &first, mode);
        assert_eq!(
            seam::syscall_count() - calls,
            1,
            "one transaction, one seam pass"
        );
        eprintln!("attach in {mode:?}: {took:?}");

        let state = query(index).unwrap();
        assert_eq!(state.attached, attached);
        assert_eq!(state.prog_id, Some(first_id));
        assert_eq!(state.prog_id_in(mode), Some(first_id));
        assert_eq!(state.drv_prog_id.is_some(), mode == XdpFlags::DRV_MODE);
        assert_eq!(state.skb_prog_id.is_some(), mode == XdpFlags::SKB_MODE);
        assert_eq!(state.hw_prog_id, None);

        let error = expect_refusal(
            attach(
                index,
                second.as_fd(),
                mode | XdpFlags::UPDATE_IF_NOEXIST,
                None,
            ),
            libc::EBUSY,
            "XDP program already attached",
        );
        assert!(
            error.to_string().contains(&format!("ifindex {index}")),
            "{error}"
        );

        attach(index, second.as_fd(), mode, Some(first.as_fd())).unwrap();
        assert_eq!(query(index).unwrap().prog_id_in(mode), Some(second_id));

        // `first` is no longer the program attached: the replace must fail.
        let error = expect_refusal(
            attach(index, first.as_fd(), mode, Some(first.as_fd())),
            libc::EEXIST,
            "Active program does not match expected",
        );
        assert!(
            error
                .to_string()
                .contains("kernel says \"Active program does not match expected\""),
            "{error}"
        );
        assert_eq!(query(index).unwrap().prog_id_in(mode), Some(second_id));

        // REPLACE with no expected program means "only if the slot is empty".
        expect_refusal(
            attach(index, first.as_fd(), mode | XdpFlags::REPLACE, None),
            libc::EEXIST,
            "Active program does not match expected",
        );

        detach(index, mode).unwrap();
        assert_eq!(query(index).unwrap(), XdpState::default());
        // Detaching an empty slot is not an error.
        detach(index, mode).unwrap();
    }
}

/// Native and generic exclude each other, and the kernel says so.
#[test]
fn native_and_generic_exclude_each_other() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let index = pair.root_ifindex();
    let prog = xdp_program(XDP_PASS);
    let message = "Native and generic XDP can't be active at the same time";

    for (held, refused) in [
        (XdpFlags::DRV_MODE, XdpFlags::SKB_MODE),
        (XdpFlags::SKB_MODE, XdpFlags::DRV_MODE),
    ] {
        attach(index, prog.as_fd(), held, None).unwrap();
        let before = query(index).unwrap();
        expect_refusal(
            attach(index, prog.as_fd(), refused, None),
            libc::EEXIST,
            message,
        );
        // The advice is for this conflict: --force would not resolve it.
        let error = attach(index, prog.as_fd(), refused, None).unwrap_err();
        let hint = error.hint().unwrap_or_default();
        assert!(
            hint.contains("other of skb and drv") && !hint.contains("--force"),
            "{error}"
        );
        assert_eq!(query(index).unwrap(), before);
        // The other slot is empty; detaching it changes nothing.
        detach(index, refused).unwrap();
        assert_eq!(query(index).unwrap(), before);
        detach(index, held).unwrap();
    }
    assert_eq!(query(index).unwrap().attached, XdpAttached::None);
}

/// veth cannot offload: the kernel refuses without a reason, so the error
/// must name the mode and explain; nothing is left attached.
#[test]
fn offload_on_veth_fails_clearly() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let index = pair.root_ifindex();
    let prog = xdp_program(XDP_PASS);

    let error = attach(index, prog.as_fd(), XdpFlags::HW_MODE, None).unwrap_err();
    assert!(
        [libc::EINVAL, libc::EOPNOTSUPP].contains(&error.errno),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!("ifindex {index}, hw mode")),
        "{text}"
    );
    assert!(
        text.contains("veth cannot") || error.kernel_message.is_some(),
        "{text}"
    );
    eprintln!("hw mode on veth: {text}");
    assert_eq!(query(index).unwrap(), XdpState::default());

    // Two modes at once: refused before any driver is asked, also without a reason.
    let error = attach(
        index,
        prog.as_fd(),
        XdpFlags::SKB_MODE | XdpFlags::DRV_MODE,
        None,
    )
    .unwrap_err();
    assert_eq!(error.errno, libc::EINVAL, "{error}");
    assert!(error.to_string().contains("skb+drv mode"), "{error}");
    assert_eq!(query(index).unwrap(), XdpState::default());
}

/// The dump lists every interface of the namespace it runs in, by ifindex.
#[test]
fn query_all_lists_both_ends_of_a_pair() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let index = pair.root_ifindex();
    let prog = xdp_program(XDP_PASS);
    attach(index, prog.as_fd(), XdpFlags::SKB_MODE, None).unwrap();

    let all = query_all().unwrap();
    assert!(all.windows(2).all(|w| w[0].ifindex < w[1].ifindex));
    let root = all
        .iter()
        .find(|link| link.name == pair.root_name())
        .expect("the root end is listed");
    assert_eq!(root.ifindex, index);
    assert_eq!(root.state.skb_prog_id, Some(prog_id(&prog)));
    assert!(all.iter().all(|link| link.name != pair.peer_name()));

    // The peer end is listed in its own namespace, with nothing attached.
    let peer_name = pair.peer_name().to_string();
    let in_peer = pair.netns().run(query_all).unwrap();
    let peer = in_peer
        .iter()
        .find(|link| link.name == peer_name)
        .expect("the peer end is listed in its namespace");
    assert_eq!(peer.state.attached, XdpAttached::None);
    assert!(in_peer.iter().any(|link| link.name == "lo"));
    assert!(in_peer.iter().all(|link| link.name != pair.root_name()));

    detach(index, XdpFlags::SKB_MODE).unwrap();
}

#[test]
fn interfaces_by_name_and_index() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let index = pair.root_ifindex();
    assert_eq!(ifindex(pair.root_name()).unwrap(), index);
    assert_eq!(ifname(index).unwrap(), pair.root_name());
    let link = link_by_name(pair.root_name()).unwrap();
    assert_eq!(link, link_by_index(index).unwrap());
    assert_eq!(link.mtu, 1500);
    assert_eq!(link.link_type, 1); // ARPHRD_ETHER
    assert!(link.is_up());

    let missing = "rxdp-nope0";
    let error = ifindex(missing).unwrap_err();
    assert_eq!(error.errno, libc::ENODEV);
    assert_eq!(error.op, "RTM_GETLINK");
    let text = error.to_string();
    assert!(text.contains("no such interface \"rxdp-nope0\""), "{text}");

    // An index that was valid a moment ago.
    let prog = xdp_program(XDP_PASS);
    drop(pair);
    let error = attach(index, prog.as_fd(), XdpFlags::SKB_MODE, None).unwrap_err();
    assert_eq!(error.errno, libc::ENODEV, "{error}");
    assert!(error.to_string().contains("no such interface"), "{error}");
    assert_eq!(ifname(index).unwrap_err().errno, libc::ENODEV);
}

/// Real packets: XDP_DROP keeps UDP from the peer away from a socket on the
/// root end, XDP_PASS lets it through, in generic and native mode.
#[test]
fn drop_and_pass_decide_what_arrives() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let index = pair.root_ifindex();
    let drop_prog = xdp_program(XDP_DROP);
    let pass_prog = xdp_program(XDP_PASS);
    let quiet = Duration::from_millis(300);

    for mode in [XdpFlags::SKB_MODE, XdpFlags::DRV_MODE] {
        for ip in [Ip::V4, Ip::V6] {
            let socket = UdpSocket::bind(SocketAddr::new(pair.root_addr(ip), 0)).unwrap();
            let port = socket.local_addr().unwrap().port();

            attach(index, drop_prog.as_fd(), mode, None).unwrap();
            pair.send_udp(ip, port, 10, 64);
            assert_eq!(
                receive_udp(&socket, 10, quiet),
                0,
                "{mode:?} {ip:?} XDP_DROP"
            );

            attach(index, pass_prog.as_fd(), mode, Some(drop_prog.as_fd())).unwrap();
            pair.send_udp(ip, port, 10, 64);
            assert_eq!(
                receive_udp(&socket, 10, quiet),
                10,
                "{mode:?} {ip:?} XDP_PASS"
            );

            detach(index, mode).unwrap();
        }
    }
}
