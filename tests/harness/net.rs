//! Network namespaces and veth pairs that tests create and always remove.
//!
//! A [`VethPair`] joins the root namespace, where the XDP end (`a`) stays, to
//! a fresh [`Netns`] holding the peer (`b`), from which test traffic is sent.
//! The XDP end stays in the root namespace because `ip netns exec` mounts a
//! fresh sysfs that hides `/sys/fs/bpf`, where rxdp pins.
//!
//! Addresses: each pair takes a free /30 of 198.51.100.0/24 (TEST-NET-2) and
//! the matching /64 of 2001:db8::/32, chosen under a machine-wide lock by
//! looking at the addresses the root namespace has, so pairs of tests running
//! in parallel, in any process, never share a subnet. The root namespace's
//! own uplink on this machine sits in 192.0.2.0/24 with its gateway at
//! 192.0.2.1, so tests must not put 192.0.2.0/24 addresses on root-side
//! interfaces: a more specific route there takes the machine off the network.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};

use crate::cmd::{ip, try_run, unique_name};
use crate::kernel::lock_file;

/// IPv4 or IPv6, for choosing addresses and traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip {
    V4,
    V6,
}

/// A network namespace `rxdp-<pid>-<n>`, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace (`ip netns add`) with IPv6 kept quiet on the
    /// interfaces that will appear in it: no router solicitations, no router
    /// advertisements accepted, no duplicate address detection, no link-local
    /// address (hence no MLD reports). Test traffic then is the only traffic.
    // No `Default`: creating one changes the machine.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Netns {
        let netns = Netns {
            name: unique_name("rxdp-"),
        };
        ip(&["netns", "add", &netns.name]);
        netns.run(|| {
            for (setting, value) in [
                ("accept_ra", "0"),
                ("router_solicitations", "0"),
                ("dad_transmits", "0"),
                ("addr_gen_mode", "1"), // IN6_ADDR_GEN_MODE_NONE
            ] {
                // /proc/sys/net shows the namespace of the thread reading it.
                let path = format!("/proc/sys/net/ipv6/conf/default/{setting}");
                std::fs::write(&path, value)
                    .unwrap_or_else(|error| panic!("cannot write {path}: {error}"));
            }
        });
        netns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/<name>`, the handle `setns` and `nsenter --net=` take.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Runs `f` on a thread that has entered this namespace: sockets it opens
    /// live there. Panics in `f` propagate to the caller.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = self.path();
        let handle = File::open(&path)
            .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
        std::thread::scope(|scope| {
            let thread = scope.spawn(move || {
                setns(&handle, CloneFlags::CLONE_NEWNET)
                    .unwrap_or_else(|errno| panic!("setns into {}: {errno}", path.display()));
                f()
            });
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(error) = try_run("ip", &["netns", "del", &self.name]) {
            eprintln!("cleanup: {error}");
        }
    }
}

/// Pairs that may exist at once: /30s in 198.51.100.0/24.
const SUBNETS: u8 = 64;

/// A veth pair: end `a` in the root namespace (attach XDP here), end `b` in
/// its own [`Netns`] (send traffic from here). Both are up, addressed, with
/// static neighbour entries both ways so no ARP or ND precedes test traffic.
/// Dropping it (also while a test panics) deletes both ends and the namespace.
#[derive(Debug)]
pub struct VethPair {
    root: String,
    peer: String,
    subnet: u8,
    // Dropped after `drop` below has deleted the link.
    netns: Netns,
}

impl VethPair {
    /// Creates the pair, its namespace, addresses and neighbour entries.
    // No `Default`: creating one changes the machine.
    #[allow(clippy::new_without_default)]
    pub fn new() -> VethPair {
        let netns = Netns::new();
        let base = unique_name("rx");
        let (root, peer) = (format!("{base}a"), format!("{base}b"));

        // Hold the address lock from choosing a subnet until it is assigned.
        let lock = lock_file(Path::new("/run/rxdp-net.lock"));
        let subnet = free_subnet();
        let pair_macs = [mac(subnet, 1), mac(subnet, 2)];
        ip(&[
            "link",
            "add",
            &root,
            "address",
            &pair_macs[0],
            "type",
            "veth",
            "peer",
            "name",
            &peer,
            "address",
            &pair_macs[1],
            "netns",
            &netns.name,
        ]);
        let pair = VethPair {
            root,
            peer,
            subnet,
            netns,
        };
        pair.configure();
        drop(lock);
        pair
    }

    fn configure(&self) {
        let ns = self.netns.name.as_str();
        let (root, peer) = (self.root.as_str(), self.peer.as_str());
        for ip_version in [Ip::V4, Ip::V6] {
            let family = match ip_version {
                Ip::V4 => "-4",
                Ip::V6 => "-6",
            };
            let prefix = match ip_version {
                Ip::V4 => "/30",
                Ip::V6 => "/64",
            };
            let root_addr = self.root_addr(ip_version).to_string();
            let peer_addr = self.peer_addr(ip_version).to_string();
            // nodad: without it an IPv6 address stays tentative for a second
            // and drops what is sent to it. Both namespaces' neighbour
            // entries are permanent: no resolution traffic, ever.
            ip(&[
                family,
                "addr",
                "add",
                &format!("{root_addr}{prefix}"),
                "dev",
                root,
                "nodad",
            ]);
            ip(&[
                "-n",
                ns,
                family,
                "addr",
                "add",
                &format!("{peer_addr}{prefix}"),
                "dev",
                peer,
                "nodad",
            ]);
            ip(&[
                family,
                "neigh",
                "replace",
                &peer_addr,
                "lladdr",
                &self.peer_mac(),
                "dev",
                root,
                "nud",
                "permanent",
            ]);
            ip(&[
                "-n",
                ns,
                family,
                "neigh",
                "replace",
                &root_addr,
                "lladdr",
                &self.root_mac(),
                "dev",
                peer,
                "nud",
                "permanent",
            ]);
        }
        ip(&["link", "set", root, "up"]);
        ip(&["-n", ns, "link", "set", peer, "up"]);
    }

    /// The root-namespace end, where XDP programs are attached.
    pub fn root_name(&self) -> &str {
        &self.root
    }

    /// The peer end's name, inside [`VethPair::netns`].
    pub fn peer_name(&self) -> &str {
        &self.peer
    }

    /// The ifindex of the root end.
    pub fn root_ifindex(&self) -> u32 {
        let path = format!("/sys/class/net/{}/ifindex", self.root);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
        text.trim()
            .parse()
            .unwrap_or_else(|error| panic!("{path}: {text:?}: {error}"))
    }

    /// The namespace holding the peer end.
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// The root end's address: 198.51.100.(4k+1) or 2001:db8:(k+1)::1.
    pub fn root_addr(&self, ip: Ip) -> IpAddr {
        self.addr(ip, 1)
    }

    /// The peer end's address: 198.51.100.(4k+2) or 2001:db8:(k+1)::2.
    pub fn peer_addr(&self, ip: Ip) -> IpAddr {
        self.addr(ip, 2)
    }

    fn addr(&self, ip: Ip, host: u8) -> IpAddr {
        match ip {
            Ip::V4 => Ipv4Addr::new(198, 51, 100, self.subnet * 4 + host).into(),
            Ip::V6 => Ipv6Addr::new(
                0x2001,
                0xdb8,
                u16::from(self.subnet) + 1,
                0,
                0,
                0,
                0,
                host.into(),
            )
            .into(),
        }
    }

    /// The root end's MAC address, `02:72:78:00:<k>:01`.
    pub fn root_mac(&self) -> String {
        mac(self.subnet, 1)
    }

    /// The peer end's MAC address, `02:72:78:00:<k>:02`.
    pub fn peer_mac(&self) -> String {
        mac(self.subnet, 2)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting one end deletes both; the namespace goes next (field drop).
        if let Err(error) = try_run("ip", &["link", "del", &self.root]) {
            eprintln!("cleanup: {error}");
        }
    }
}

/// A locally administered MAC ("rx" in the middle) unique among live pairs.
fn mac(subnet: u8, host: u8) -> String {
    format!("02:72:78:00:{subnet:02x}:{host:02x}")
}

/// The first subnet index whose /30 and /64 overlap no address of the root
/// namespace. Call with the address lock held.
fn free_subnet() -> u8 {
    let taken = root_networks();
    (0..SUBNETS)
        .find(|&subnet| {
            let v4 = (IpAddr::from(Ipv4Addr::new(198, 51, 100, subnet * 4)), 30);
            let v6 = Ipv6Addr::new(0x2001, 0xdb8, u16::from(subnet) + 1, 0, 0, 0, 0, 0);
            let v6 = (IpAddr::from(v6), 64);
            !taken
                .iter()
                .any(|&net| overlaps(net, v4) || overlaps(net, v6))
        })
        .unwrap_or_else(|| {
            panic!("no free /30 left in 198.51.100.0/24: {SUBNETS} veth pairs exist (leftovers? `ip -4 addr`)")
        })
}

/// Every address of the root namespace with its prefix length.
fn root_networks() -> Vec<(IpAddr, u8)> {
    // One line per address: "4: eth0    inet 192.0.2.2/24 brd ... scope global eth0\ ..."
    ip(&["-o", "addr", "show"])
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace().skip(2);
            let (_family, cidr) = (words.next()?, words.next()?);
            let (addr, prefix) = cidr.split_once('/')?;
            Some((addr.parse().ok()?, prefix.parse().ok()?))
        })
        .collect()
}

/// Whether two networks share an address.
fn overlaps((a, a_len): (IpAddr, u8), (b, b_len): (IpAddr, u8)) -> bool {
    let len = u32::from(a_len.min(b_len));
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - len.min(32)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - len.min(128)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> (IpAddr, u8) {
        let (addr, len) = text.split_once('/').unwrap();
        (addr.parse().unwrap(), len.parse().unwrap())
    }

    #[test]
    fn overlap_of_networks() {
        assert!(overlaps(net("198.51.100.5/30"), net("198.51.100.4/30")));
        assert!(!overlaps(net("198.51.100.8/30"), net("198.51.100.4/30")));
        assert!(overlaps(net("198.51.100.77/24"), net("198.51.100.4/30")));
        assert!(!overlaps(net("192.0.2.2/24"), net("198.51.100.4/30")));
        assert!(overlaps(net("0.0.0.0/0"), net("198.51.100.4/30")));
        assert!(overlaps(net("2001:db8::1/32"), net("2001:db8:5::/64")));
        assert!(!overlaps(net("2001:db8:4::1/64"), net("2001:db8:5::/64")));
        assert!(!overlaps(net("fd00::2/64"), net("2001:db8:5::/64")));
        assert!(!overlaps(net("198.51.100.4/30"), net("2001:db8:5::/64")));
    }
}
