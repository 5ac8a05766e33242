#!/bin/bash
# make conformance: the kernel's BPF selftest programs loaded by libbpf
# (bpftool prog loadall) and by rxdp-load side by side; see README.md here.
#
#   CONFORMANCE_TREES   kernel source packages to take the programs from
#                       (default "6.1 6.12": linux-source-6.1, linux-source-6.12)
#   CONFORMANCE_ONLY    a regex: only the objects whose name matches (the
#                       result then goes to the cache, not to results/)
#   RXDP_CONFORMANCE_CACHE  where sources and objects are kept
#                       (default /var/cache/rxdp-conformance)
#
# `run.sh subset OUT` compiles only the objects of subset.tsv into
# OUT/<tree>/<name>.o, for the kernel tests (`make corpus`); it loads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}
if [ "$mode" = subset ]; then
	out=${2:?usage: run.sh subset OUT}
	CONFORMANCE_TREES=$(awk -F'\t' '!/^#/ && NF { print $1 }' conformance/subset.tsv | sort -u | tr '\n' ' ')
elif [ "$(id -u)" != 0 ]; then
	echo "make conformance loads BPF programs: run it as root" >&2
	exit 1
fi

trees=${CONFORMANCE_TREES:-"6.1 6.12"}
need=()
for t in $trees; do
	dpkg-query -W -f '${Status}' "linux-source-$t" 2>/dev/null | grep -q 'ok installed' ||
		need+=("linux-source-$t")
done
command -v clang >/dev/null || need+=(clang)
command -v bpftool >/dev/null || need+=(bpftool)
[ -x /usr/bin/python3 ] || need+=(python3)
# libbpf's own view of each object (section, type, expected attach type,
# autoload) is read through libbpf.so.1, the library bpftool is built from.
dpkg-query -W -f '${Status}' libbpf1 2>/dev/null | grep -q 'ok installed' || need+=(libbpf1)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$mode" = subset ]; then
	exec nice -n 10 /usr/bin/python3 conformance/conformance.py subset --out "$out"
fi

args=()
for t in $trees; do args+=(--tree "$t"); done
if [ -n "${CONFORMANCE_ONLY:-}" ]; then args+=(--only "$CONFORMANCE_ONLY"); fi
start=$(date +%s)
status=0
nice -n 10 /usr/bin/python3 conformance/conformance.py all "${args[@]}" \
	--rxdp-load target/release/rxdp-load || status=$?
echo "make conformance: $(( $(date +%s) - start )) s"
exit $status
