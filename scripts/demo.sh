#!/usr/bin/env bash
# The article's tail-call scenario, end to end, on a veth pair made here:
#
#   1. a namespace `rxdemo` holding the peer end rxdemo1 (198.51.100.254/30),
#      the XDP end rxdemo0 (198.51.100.253/30) in the root namespace, where
#      bpffs is;
#   2. exactly the article's command, in generic (skb) mode:
#        rxdp-load progs/obj/tail_kern.o --map 0 --key 78 --prog 1 --dev rxdemo0 --mode skb
#   3. a few UDP datagrams from the peer (bash's /dev/udp, inside the
#      namespace), after rxdp-load has exited;
#   4. the trace lines the tail call printed ("tail call (xdp_1) id=1"),
#      read from the trace pipe with a timeout, and the `counters` map
#      through its pin: [0] xdp0 ran, [1] xdp1 reached, [2] fell through.
#
# Everything is removed on exit, also on failure. Run as root, from the
# repository root, after `make deps build mounts` (`make demo` does that).
set -euo pipefail

NS=rxdemo
DEV=rxdemo0
PEER=rxdemo1
ROOT_ADDR=198.51.100.253
PEER_ADDR=198.51.100.254
PACKETS=5
TRACING=/sys/kernel/tracing
PATH="$PWD/target/release:$PATH"
trace_out=$(mktemp)

cleanup() {
    set +e
    echo
    echo "== cleaning up"
    rxdp unload --dev "$DEV" 2>/dev/null
    ip link del "$DEV" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -f "$trace_out"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
    echo "make demo needs root (XDP, bpffs, namespaces)" >&2
    exit 1
fi
[ -d "$TRACING" ] && [ -e "$TRACING/trace_pipe" ] || TRACING=/sys/kernel/debug/tracing

echo "== a veth pair: $DEV ($ROOT_ADDR) here, $PEER ($PEER_ADDR) in namespace $NS"
ip netns add "$NS"
ip link add "$DEV" type veth peer name "$PEER" netns "$NS"
# IPv4 only: no IPv6 neighbour discovery among the frames XDP counts.
sysctl -qw "net.ipv6.conf.$DEV.disable_ipv6=1"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$PEER.disable_ipv6=1"
ip addr add "$ROOT_ADDR/30" dev "$DEV"
ip link set "$DEV" up
ip -n "$NS" addr add "$PEER_ADDR/30" dev "$PEER"
ip -n "$NS" link set "$PEER" up
ip -n "$NS" link set lo up

echo
echo "== rxdp-load progs/obj/tail_kern.o --map 0 --key 78 --prog 1 --dev $DEV --mode skb"
rxdp-load progs/obj/tail_kern.o --map 0 --key 78 --prog 1 --dev "$DEV" --mode skb
echo "(rxdp-load has exited; its maps live on in their pins)"

echo
echo "== $PACKETS UDP datagrams from $PEER to $ROOT_ADDR:7777"
# Read the trace pipe while the packets go through, for at most 3 seconds.
timeout 3 cat "$TRACING/trace_pipe" > "$trace_out" &
reader=$!
sleep 0.3
ip netns exec "$NS" bash -c "for i in \$(seq $PACKETS); do echo demo-\$i > /dev/udp/$ROOT_ADDR/7777; done"
wait "$reader" || true

echo
echo "== trace pipe: the tail call into xdp1 (one line per frame: the datagrams and the peer's ARP request)"
if ! grep -F "tail call (xdp_1) id=1" "$trace_out"; then
    echo "no tail-call line within 3 seconds" >&2
    exit 1
fi

echo
echo "== counters ([0] xdp0 ran, [1] xdp1 reached, [2] fell through)"
bpftool map dump pinned "/sys/fs/bpf/rxdp/$DEV/skb/counters"

echo
echo "== rxdp status --dev $DEV"
rxdp status --dev "$DEV"
