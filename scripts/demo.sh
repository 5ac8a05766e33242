#!/usr/bin/env bash
# The article's tail-call scenario, end to end, on the lessons' sandbox
# (scripts/lesson.sh, explained in docs/lessons/00-setup.md):
#
#   1. `scripts/lesson.sh up`: a namespace `rxlesson` holding the peer end
#      rxl1 (198.51.100.250/30), the XDP end rxl0 (198.51.100.249/30) in
#      the root namespace, where bpffs is;
#   2. exactly the article's command, in generic (skb) mode:
#        rxdp-load progs/obj/tail_kern.o --map 0 --key 78 --prog 1 --dev rxl0 --mode skb
#   3. a few UDP datagrams from the peer (`scripts/lesson.sh send`), after
#      rxdp-load has exited;
#   4. the trace lines the tail call printed ("tail call (xdp_1) id=1"),
#      read from the trace pipe with a timeout, and the `counters` map
#      through its pin: [0] xdp0 ran, [1] xdp1 reached, [2] fell through.
#
# Everything is removed on exit (`scripts/lesson.sh down`), also on
# failure. Run as root, from the repository root, after
# `make deps build mounts` (`make demo` does that).
set -euo pipefail

DEV=rxl0
PACKETS=5
TRACING=/sys/kernel/tracing
PATH="$PWD/target/release:$PATH"
trace_out=$(mktemp)

cleanup() {
    set +e
    echo
    echo "== cleaning up"
    scripts/lesson.sh down
    rm -f "$trace_out"
}

if [ "$(id -u)" != 0 ]; then
    echo "make demo needs root (XDP, bpffs, namespaces)" >&2
    exit 1
fi
[ -d "$TRACING" ] && [ -e "$TRACING/trace_pipe" ] || TRACING=/sys/kernel/debug/tracing

echo "== the sandbox: scripts/lesson.sh up"
scripts/lesson.sh up
trap cleanup EXIT

echo
echo "== rxdp-load progs/obj/tail_kern.o --map 0 --key 78 --prog 1 --dev $DEV --mode skb"
rxdp-load progs/obj/tail_kern.o --map 0 --key 78 --prog 1 --dev "$DEV" --mode skb
echo "(rxdp-load has exited; its maps live on in their pins)"

echo
echo "== $PACKETS UDP datagrams from the peer"
# Read the trace pipe while the packets go through, for at most 3 seconds.
timeout 3 cat "$TRACING/trace_pipe" > "$trace_out" &
reader=$!
sleep 0.3
scripts/lesson.sh send "$PACKETS"
wait "$reader" || true

echo
echo "== trace pipe: the tail call into xdp1 (one line per datagram)"
if ! grep -F "tail call (xdp_1) id=1" "$trace_out"; then
    echo "no tail-call line within 3 seconds" >&2
    exit 1
fi

echo
echo "== counters ([0] xdp0 ran, [1] xdp1 reached, [2] fell through)"
rxdp map dump "/sys/fs/bpf/rxdp/$DEV/skb/counters"

echo
echo "== rxdp status --dev $DEV"
rxdp status --dev "$DEV"
