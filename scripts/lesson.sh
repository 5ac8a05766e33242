#!/usr/bin/env bash
# The lessons' sandbox (docs/lessons/00-setup.md explains every line):
#
#   scripts/lesson.sh up         a namespace `rxlesson` holding the peer end
#                                rxl1, the XDP end rxl0 in this namespace
#   scripts/lesson.sh send [N]   N UDP datagrams (default 5) from rxl1 to rxl0
#   scripts/lesson.sh down       unload what is attached to rxl0, remove both
#                                ends and the namespace
#
# Addresses: rxl0 198.51.100.249/30, rxl1 198.51.100.250/30 (TEST-NET-2, the
# range documentation owns), fixed MACs, static neighbours and no IPv6, so
# that the frames XDP sees are exactly the datagrams sent: no ARP, no
# neighbour discovery. Run as root from the repository root, after `make`.
set -euo pipefail

NS=rxlesson
DEV=rxl0
PEER=rxl1
DEV_ADDR=198.51.100.249
PEER_ADDR=198.51.100.250
DEV_MAC=02:00:00:00:00:f9
PEER_MAC=02:00:00:00:00:fa
PORT=7777

die() {
    echo "lesson.sh: $*" >&2
    exit 1
}

need_root() {
    [ "$(id -u)" = 0 ] || die "needs root (XDP, bpffs, namespaces): run it with sudo"
}

up() {
    need_root
    ip netns list | grep -qw "^$NS" && die "namespace $NS exists already: run \`scripts/lesson.sh down\` first"
    ip link show "$DEV" >/dev/null 2>&1 && die "interface $DEV exists already: run \`scripts/lesson.sh down\` first"
    # bpffs (for pins) and tracefs (for the trace pipe), mounted when absent.
    mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
    mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
    ip netns add "$NS"
    ip link add "$DEV" address "$DEV_MAC" type veth peer name "$PEER" address "$PEER_MAC" netns "$NS"
    sysctl -qw "net.ipv6.conf.$DEV.disable_ipv6=1"
    ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$PEER.disable_ipv6=1"
    ip addr add "$DEV_ADDR/30" dev "$DEV"
    ip neigh replace "$PEER_ADDR" lladdr "$PEER_MAC" dev "$DEV" nud permanent
    ip link set "$DEV" up
    ip -n "$NS" addr add "$PEER_ADDR/30" dev "$PEER"
    ip -n "$NS" neigh replace "$DEV_ADDR" lladdr "$DEV_MAC" dev "$PEER" nud permanent
    ip -n "$NS" link set "$PEER" up
    ip -n "$NS" link set lo up
    echo "$DEV ($DEV_ADDR) here, $PEER ($PEER_ADDR) in namespace $NS"
}

send() {
    need_root
    local count=${1:-5}
    [[ $count =~ ^[0-9]+$ ]] || die "send: COUNT must be a number, not '$count'"
    ip netns exec "$NS" bash -c \
        "for i in \$(seq $count); do echo lesson-\$i > /dev/udp/$DEV_ADDR/$PORT; done"
    echo "sent $count UDP datagrams from $PEER to $DEV_ADDR:$PORT"
}

down() {
    need_root
    # Detach and unpin what a lesson left on rxl0 (nothing if nothing is there).
    # rxdp from PATH, else this checkout's build: pins left under
    # /sys/fs/bpf/rxdp/rxl0/ would outlive the interface.
    local rxdp
    rxdp=$(command -v rxdp || true)
    for candidate in target/release/rxdp target/debug/rxdp; do
        [ -n "$rxdp" ] || { [ -x "$candidate" ] && rxdp=$candidate; }
    done
    if [ -n "$rxdp" ]; then
        "$rxdp" unload --dev "$DEV" >/dev/null 2>&1 || true
    elif [ -d /sys/fs/bpf/rxdp/$DEV ]; then
        echo "lesson.sh: no rxdp found (run make): /sys/fs/bpf/rxdp/$DEV/ is left" >&2
    fi
    if ip link show "$DEV" >/dev/null 2>&1; then
        ip link del "$DEV"
    fi
    if ip netns list | grep -qw "^$NS"; then
        ip netns del "$NS"
    fi
    echo "$DEV and namespace $NS removed"
}

case "${1:-}" in
up) up ;;
send) send "${2:-5}" ;;
down) down ;;
*) die "usage: scripts/lesson.sh up|send [COUNT]|down" ;;
esac
