//! The fixtures themselves, against the real kernel: pairs are set up as
//! documented, carry traffic both ways in IPv4 and IPv6, and leave nothing
//! behind, also when a test panics.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use rxdp_kernel_tests::{
    bin, ip, receive_udp, require_kernel, try_run, Ip, TcpOutcome, TraceLock, VethPair,
    ICMP_DATA_LEN,
};

fn link_exists(name: &str) -> bool {
    try_run("ip", &["link", "show", "dev", name]).is_ok()
}

fn netns_exists(name: &str) -> bool {
    ip(&["netns", "list"])
        .lines()
        .any(|line| line.split_whitespace().next() == Some(name))
}

#[test]
fn pair_is_configured_and_removed() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    let (root, peer, ns) = (
        pair.root_name().to_string(),
        pair.peer_name().to_string(),
        pair.netns().name().to_string(),
    );
    assert!(root.len() <= 15 && peer.len() <= 15, "{root} {peer}");
    let shown = ip(&["-o", "addr", "show", "dev", &root]);
    assert!(
        shown.contains(&format!("{}/30", pair.root_addr(Ip::V4))),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{}/64", pair.root_addr(Ip::V6))),
        "{shown}"
    );
    let global_v6 = shown
        .lines()
        .find(|line| line.contains("2001:db8"))
        .unwrap();
    assert!(!global_v6.contains("tentative"), "{shown}");
    let neigh = ip(&["neigh", "show", "dev", &root]);
    assert!(
        neigh.contains(&pair.peer_mac()) && neigh.contains("PERMANENT"),
        "{neigh}"
    );
    // The peer lives in the namespace, not in the root one.
    assert!(!link_exists(&peer));
    let shown = ip(&["-n", &ns, "-o", "addr", "show", "dev", &peer]);
    assert!(
        shown.contains(&format!("{}/30", pair.peer_addr(Ip::V4))),
        "{shown}"
    );
    assert!(
        !shown.contains("fe80"),
        "no link-local on the peer: {shown}"
    );
    let settings = pair.netns().run(|| {
        ["router_solicitations", "accept_ra", "addr_gen_mode"].map(|setting| {
            let path = format!("/proc/sys/net/ipv6/conf/{peer}/{setting}");
            std::fs::read_to_string(path).unwrap().trim().to_string()
        })
    });
    assert_eq!(settings, ["0", "0", "1"]);
    assert_eq!(
        std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{root}/addr_gen_mode"))
            .unwrap()
            .trim(),
        "0",
        "the root namespace's settings are untouched"
    );

    let other = VethPair::new();
    assert_ne!(other.root_addr(Ip::V4), pair.root_addr(Ip::V4));
    assert_ne!(other.root_mac(), pair.root_mac());

    drop(pair);
    assert!(!link_exists(&root));
    assert!(!netns_exists(&ns));
}

#[test]
fn pair_is_removed_when_a_test_panics() {
    if !require_kernel() {
        return;
    }
    let names = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let pair = VethPair::new();
        *names.lock().unwrap() = Some((
            pair.root_name().to_string(),
            pair.netns().name().to_string(),
        ));
        panic!("a failing test");
    });
    assert!(result.is_err());
    let (root, ns) = names.into_inner().unwrap().unwrap();
    assert!(!link_exists(&root));
    assert!(!netns_exists(&ns));
}

#[test]
fn traffic_reaches_the_root_end() {
    if !require_kernel() {
        return;
    }
    let pair = VethPair::new();
    for ip_version in [Ip::V4, Ip::V6] {
        let socket = UdpSocket::bind(SocketAddr::new(pair.root_addr(ip_version), 0)).unwrap();
        let port = socket.local_addr().unwrap().port();
        pair.send_udp(ip_version, port, 20, 100);
        let mut first = [0u8; 200];
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let (len, from) = socket.recv_from(&mut first).unwrap();
        assert_eq!((len, &first[..4]), (100, &[0, 0, 0, 0][..]));
        assert_eq!(from.ip(), pair.peer_addr(ip_version));
        assert_eq!(receive_udp(&socket, 100, Duration::from_millis(300)), 19);

        assert_eq!(pair.send_icmp_echo(ip_version, 3), 3, "{ip_version:?}");

        assert_eq!(pair.send_tcp_syn(ip_version, port), TcpOutcome::Refused);
        let listener = TcpListener::bind(SocketAddr::new(pair.root_addr(ip_version), 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(pair.send_tcp_syn(ip_version, port), TcpOutcome::Connected);
    }
    assert_eq!(ICMP_DATA_LEN, 56);
}

#[test]
fn trace_lock_is_exclusive() {
    if !require_kernel() {
        return;
    }
    let held = TraceLock::acquire();
    let file = std::fs::File::open("/run/rxdp-trace.lock").unwrap();
    let attempt = Flock::lock(file, FlockArg::LockExclusiveNonblock);
    assert!(attempt.is_err(), "a second holder got the trace lock");
    drop(held);
    let file = std::fs::File::open("/run/rxdp-trace.lock").unwrap();
    assert!(Flock::lock(file, FlockArg::LockExclusiveNonblock).is_ok());
}

#[test]
fn missing_binary_says_how_to_build_it() {
    let panic = std::panic::catch_unwind(|| bin("rxdp-no-such-binary")).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    // target/PROFILE/, PROFILE the test's own (debug on the host, release
    // in make vm-test's guests).
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let expected = profile_dir.join("rxdp-no-such-binary");
    assert!(
        message.contains(&format!("{} is missing", expected.display())),
        "{message}"
    );
    assert!(
        message.contains("run `cargo build --bins` first"),
        "{message}"
    );
}
