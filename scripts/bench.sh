#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: rxdp-load against `ip link ... obj`,
# `xdp-loader load` and a minimal Aya loader (bench/aya-loader), side by side,
# on a veth pair this script creates and removes. Prints one report (Markdown)
# and keeps it, with every raw sample, in bench/results/.
#
# What is measured and how:
# - load + attach wall time: bench/runner runs every tool once per round, in
#   an order shuffled every round, for ROUNDS rounds after WARMUP uncounted
#   ones, and reports medians. Each tool's detach/unload runs after the clock
#   stops, followed by a short settle time. Every tool does the same job: open the object,
#   create its maps, load its programs, attach one in generic (skb) or native
#   (drv) mode, exit with the program still attached.
# - rxdp's kernel share: `rxdp-load --timings` prints, per stage, wall time
#   and the time spent inside syscalls; their sum is the kernel's share, and
#   the process's wall time minus that is rxdp's overhead (startup, parsing,
#   allocation, exit).
# - peak memory: /usr/bin/time -v, maximum resident set size.
# - binary size: the executable plus every shared library ldd lists.
# - scale: objects with 1..1000 programs and maps made by scripts/bench-gen.sh;
#   parse + relocate time without the kernel (elf/examples/parse_bench.rs)
#   and rxdp-load's full load time without attaching.
#
# - parallel load: objects of 1, 8, 64 and 256 programs that each cost the
#   verifier about 20 ms (scripts/bench-verify-gen.sh), loaded without
#   attaching by rxdp-load with one job and with one per usable CPU,
#   `bpftool prog loadall` (libbpf; it pins every program, removed after the
#   clock) and Aya (bench/aya-loader --load-all), interleaved like the rest,
#   with each tool's peak memory.
#
# - a diagnostic second set of rounds with expedited RCU grace periods
#   (/sys/kernel/rcu_expedited, put back afterwards): the kernel's wait in the
#   attach shrinks and the loaders' own costs show.
#
# Environment: BENCH_ROUNDS (default 41), BENCH_WARMUP (3), BENCH_MEM_RUNS (5),
# BENCH_SCALE_ROUNDS (31), BENCH_EXPEDITED (1; 0 skips the diagnostic),
# BENCH_VERIFY_ROUNDS (7), BENCH_VERIFY_MEM_RUNS (3); BENCH_ONLY=verify runs
# the parallel-load table alone.
# Needs root (veth, XDP attach, bpffs). Attaches only to the veth it creates.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${BENCH_ROUNDS:-41}
WARMUP=${BENCH_WARMUP:-3}
MEM_RUNS=${BENCH_MEM_RUNS:-5}
SCALE_ROUNDS=${BENCH_SCALE_ROUNDS:-31}
VERIFY_ROUNDS=${BENCH_VERIFY_ROUNDS:-7}
VERIFY_MEM_RUNS=${BENCH_VERIFY_MEM_RUNS:-3}

BT=$ROOT/bench/target
OUT=$ROOT/bench/results
RUNNER=$BT/release/bench-runner
NOOP=$BT/$(uname -m)-unknown-linux-musl/release/noop
AYA=$BT/release/aya-bench-loader
PARSE_BENCH=$ROOT/target/release/examples/parse_bench
RXDP_LOAD=$ROOT/dist/rxdp-load
RXDP=$ROOT/dist/rxdp
TRIPLE=$(uname -m)-unknown-linux-musl
BPF_CFLAGS=(-O2 -g -target bpf -Wall -Werror -I"$ROOT/progs/include" -I"/usr/include/$(uname -m)-linux-gnu" -ffile-prefix-map="$ROOT"=.)

# Targets of issue 6.
TARGET_RATIO=0.85          # rxdp-load <= 0.85 x the faster of ip and xdp-loader
TARGET_OVERHEAD_US=1000    # overhead above the kernel's time, seed objects
TARGET_PARSE_US=10000      # parse + relocate of the 1000-program object
TARGET_RSS_KIB=2048        # peak memory while loading and attaching
TARGET_SIZE_LOAD=819200    # dist/rxdp-load: 800 KiB (budgets revised, README "Size budgets, revised")
TARGET_SIZE_RXDP=1015808   # dist/rxdp: 992 KiB (every subcommand, clap)
# Targets of issue 16.
TARGET_PARALLEL=1.6        # 64 programs of ~20 ms: bpftool loadall / rxdp-load (N jobs)
TARGET_RSS_1000_KIB=4096   # the 1000-program object, load only

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root: it creates a veth pair and attaches XDP programs to it"

# ---------------------------------------------------------------- tools

install_tools() {
	make -s deps >&2
	local pkgs=()
	[ -x /usr/bin/time ] || pkgs+=(time)
	command -v strace >/dev/null || pkgs+=(strace)
	if [ ${#pkgs[@]} -gt 0 ]; then
		log "installing ${pkgs[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
	fi
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	# make static fails when a binary is over its size budget; the report
	# shows that as a MISS, and the binaries are benchmarked all the same.
	make -s static >&2 || log "make static: a check failed (see above); going on with what it built"
	if [ ! -x "$RXDP_LOAD" ] || [ ! -x "$RXDP" ]; then
		die "make static wrote no dist/rxdp-load and dist/rxdp"
	fi
	log "building bench/runner, bench/aya-loader and the parse_bench example"
	cargo build -q --release --locked --manifest-path bench/runner/Cargo.toml --target-dir "$BT"
	rustup target list --installed | grep -qx "$TRIPLE" || rustup target add "$TRIPLE"
	RUSTFLAGS="-Crelocation-model=static" cargo build -q --release --locked \
		--manifest-path bench/runner/Cargo.toml --target-dir "$BT" --target "$TRIPLE" --bin noop
	cargo build -q --release --locked --manifest-path bench/aya-loader/Cargo.toml --target-dir "$BT"
	cargo build -q --profile small --locked --manifest-path bench/aya-loader/Cargo.toml --target-dir "$BT" \
		--target "$TRIPLE"
	cargo build -q --release -p rxdp-elf --example parse_bench
}

# ---------------------------------------------------------------- veth

NS=rxdp-bench-$$
IF=rxbench$$
PEER=rxbpeer$$
LINK_PIN=/sys/fs/bpf/rxdp-bench-aya-$$

RCU_KNOB=/sys/kernel/rcu_expedited
RCU_SAVED=

cleanup() {
	if [ -n "$RCU_SAVED" ]; then echo "$RCU_SAVED" >"$RCU_KNOB"; fi
	rm -f "$LINK_PIN"
	ip link del "$IF" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "/sys/fs/bpf/rxdp/$IF"
}

make_veth() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS"
	# The XDP end stays in the root namespace (bpffs is visible there), its
	# peer goes into the namespace; no addresses: attaching needs none.
	ip link add "$IF" type veth peer name "$PEER" netns "$NS"
	ip link set "$IF" up
	ip -n "$NS" link set "$PEER" up
}

# ---------------------------------------------------------------- helpers

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }

# median of the numbers on stdin (one a line)
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# The teardown that checks the tool really attached (the flag `ip link`
# shows for the mode), then detaches.
ip_mode() { [ "$1" = skb ] && echo xdpgeneric || echo xdpdrv; }
xl_mode() { [ "$1" = skb ] && echo skb || echo native; }
shown_flag() { [ "$1" = skb ] && echo ' xdpgeneric ' || echo ' xdp '; }
check_attached() { echo "ip link show dev $IF 2>/dev/null | grep -q '$(shown_flag "$1")' || { echo 'nothing attached in $1 mode on $IF' >&2; exit 1; }"; }
# Wait (at most 3 s) until nothing is attached: removing the pin of Aya's
# bpf_link detaches from a kernel work item, after `rm` has returned.
wait_detached() { echo "i=0; while ip link show dev $IF 2>/dev/null | grep -qE ' xdp(generic)? '; do i=\$((i + 1)); [ \$i -le 300 ] || { echo 'still attached to $IF after 3 s' >&2; exit 1; }; sleep 0.01; done"; }

# rxdp-load's --timings table ends each run with
#   total   <wall ms>   <kernel ms>
# → one line per run: kernel microseconds.
kernel_us_per_run() {
	awk '$1 == "total" && NF == 3 { printf "%d\n", $3 * 1000 + 0.5 }' "$1"
}

# Per stage, over all runs in a --timings log: median wall and kernel (ms),
# stages in the order they ran. Stage names may hold spaces: the two numbers
# are the last two fields.
stage_medians() {
	awk '
		$1 == "stage" { next }
		NF >= 3 && $NF ~ /^[0-9.]+$/ && $(NF - 1) ~ /^[0-9.]+$/ {
			name = $1; for (i = 2; i <= NF - 2; i++) name = name " " $i
			if (!(name in seen)) { seen[name] = 1; order[++n] = name }
			c = ++cnt[name]; w[name, c] = $(NF - 1); k[name, c] = $NF
		}
		function med(arr, name, m,   i, j, t, v) {
			for (i = 1; i <= m; i++) v[i] = arr[name, i]
			for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
			return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
		}
		END { for (i = 1; i <= n; i++) printf "%s\t%.3f\t%.3f\n", order[i], med(w, order[i], cnt[order[i]]), med(k, order[i], cnt[order[i]]) }' "$1"
}

# ---------------------------------------------------------------- load + attach

# One runner plan per (object, mode): the four tools, plus rxdp-load with
# --timings (same job; its log gives the kernel's share).
# args: object section function mode
btf_plan() {
	local obj=$ROOT/progs/obj/$1 sec=$2 fn=$3 mode=$4
	local check wait; check=$(check_attached "$mode"); wait=$(wait_detached)
	local ipoff
	ipoff="ip link set dev $IF $(ip_mode "$mode") off"
	printf '%s\t%s\t%s\t%s\n' \
		"rxdp-load" "" "$RXDP_LOAD $obj --entry $fn --dev $IF --mode $mode --no-pin" "$check && $ipoff && $wait" \
		"ip link" "" "ip link set dev $IF $(ip_mode "$mode") obj $obj sec $sec" "$check && $ipoff && $wait" \
		"xdp-loader" "" "xdp-loader load -m $(xl_mode "$mode") -s $sec $IF $obj" "$check && xdp-loader unload $IF --all && $wait" \
		"aya" "" "$AYA $obj $fn $IF $mode $LINK_PIN" "$check && rm $LINK_PIN && $wait" \
		"rxdp-load --timings" "" "$RXDP_LOAD $obj --entry $fn --dev $IF --mode $mode --no-pin --timings" "$check && $ipoff && $wait" \
		"exec floor" "" "$NOOP" ""
}

# result lookups in a runner summary: field 3 median, 5 p25, 6 p75
field() { awk -F'\t' -v l="$2" -v f="$3" '$1 == l { print $f }' "$1"; }

declare -a REPORT_TIMES=() REPORT_KERNEL=() TARGET_ROWS=()

run_btf() {
	local obj=$1 sec=$2 fn=$3 mode=$4 dir=$OUT/attach-${1%.o}-$4
	btf_plan "$obj" "$sec" "$fn" "$mode" >"$dir.plan"
	log "load + attach: $obj $mode ($ROUNDS rounds x 6 cases)"
	"$RUNNER" "$dir.plan" "$ROUNDS" "$WARMUP" "$dir" >"$dir.tsv"
	local s=$dir.tsv row="| \`$obj\` | $mode |" best ratio verdict
	for t in "rxdp-load" "ip link" "xdp-loader" "aya"; do
		row+=" $(ms "$(field "$s" "$t" 3)") ($(ms "$(field "$s" "$t" 5)")–$(ms "$(field "$s" "$t" 6)")) |"
	done
	best=$(awk -v a="$(field "$s" "ip link" 3)" -v b="$(field "$s" xdp-loader 3)" 'BEGIN { print (a < b ? a : b) }')
	ratio=$(awk -v r="$(field "$s" rxdp-load 3)" -v b="$best" 'BEGIN { printf "%.2f", r / b }')
	verdict=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t ? "PASS" : "MISS") }')
	REPORT_TIMES+=("$row ${ratio}x |")
	# The attach syscall alone (RTM_SETLINK, from --timings): the floor no
	# loader attaching this way goes under.
	local tcase attach_us floor_ratio
	tcase=$(awk -F'\t' '$1 == "rxdp-load --timings" { print NR - 1 }' "$dir.plan")
	attach_us=$(awk '$1 == "attach" && NF == 3 { printf "%d\n", $3 * 1000 + 0.5 }' "$dir/case-$tcase.log" | median)
	floor_ratio=$(awk -v a="$attach_us" -v b="$best" 'BEGIN { printf "%.2f", a / b }')
	TARGET_ROWS+=("| load + attach \`$obj\` $mode ≤ ${TARGET_RATIO}x faster of ip, xdp-loader | ${ratio}x ($(ms "$(field "$s" rxdp-load 3)") ms vs $(ms "$best") ms; the attach syscall alone: $(ms "$attach_us") ms = ${floor_ratio}x) | $verdict |")
	kernel_row "$obj" "$mode" "$dir" "$s" "" "rxdp-load --timings"
}

# The same rounds with expedited RCU grace periods: attaching waits for one
# grace period (synchronize_rcu() in bpf_dispatcher_change_prog()), ~10-15 ms
# at HZ=250, which hides every loader's own cost under the kernel's. With
# /sys/kernel/rcu_expedited=1 that wait drops well under a millisecond and the
# loaders' own costs show. A diagnostic, not the verdict: the targets are
# judged on the machine as it is. The knob is put back afterwards (also on
# failure, by cleanup). BENCH_EXPEDITED=0 skips this.
declare -a REPORT_EXPEDITED=()

run_expedited() {
	if [ "${BENCH_EXPEDITED:-1}" != 1 ] || [ ! -w "$RCU_KNOB" ]; then
		REPORT_EXPEDITED+=("| (skipped: BENCH_EXPEDITED=0 or no $RCU_KNOB) | | | | | | | |")
		return
	fi
	RCU_SAVED=$(cat "$RCU_KNOB")
	echo 1 >"$RCU_KNOB"
	local spec obj sec fn mode
	for spec in "multi_prog.o xdp xdp_first skb" "multi_prog.o xdp xdp_first drv" "global_data.o xdp xdp_global skb"; do
		read -r obj sec fn mode <<<"$spec"
		local dir=$OUT/expedited-${obj%.o}-$mode
		btf_plan "$obj" "$sec" "$fn" "$mode" >"$dir.plan"
		log "load + attach with expedited RCU: $obj $mode ($ROUNDS rounds x 6 cases)"
		"$RUNNER" "$dir.plan" "$ROUNDS" "$WARMUP" "$dir" >"$dir.tsv"
		local s=$dir.tsv row="| \`$obj\` | $mode |" t best tcase k
		for t in "rxdp-load" "ip link" "xdp-loader" "aya"; do
			row+=" $(ms "$(field "$s" "$t" 3)") |"
		done
		best=$(awk -v a="$(field "$s" "ip link" 3)" -v b="$(field "$s" xdp-loader 3)" 'BEGIN { print (a < b ? a : b) }')
		tcase=$(awk -F'\t' '$1 == "rxdp-load --timings" { print NR - 1 }' "$dir.plan")
		k=$(kernel_us_per_run "$dir/case-$tcase.log" | median)
		REPORT_EXPEDITED+=("$row $(awk -v r="$(field "$s" rxdp-load 3)" -v b="$best" 'BEGIN { printf "%.2f", r / b }')x | $(ms "$k") |")
	done
	echo "$RCU_SAVED" >"$RCU_KNOB"
	RCU_SAVED=
}

# args: object mode rundir summary seed? label
kernel_row() {
	local obj=$1 mode=$2 dir=$3 s=$4 seed=$5 label=$6 k case
	case=$(awk -F'\t' -v l="$label" '$1 == l { print NR - 1 }' "$dir.plan")
	local kus=$dir/case-$case.kernel-us wus=$dir/case-$case.wall-us
	kernel_us_per_run "$dir/case-$case.log" >"$kus"
	awk -F'\t' -v l="$label" '$1 == l { print $3 }' "$dir/samples.tsv" >"$wus"
	[ "$(wc -l <"$kus")" = "$(wc -l <"$wus")" ] ||
		die "$dir: cannot pair --timings output with the runs (format changed?)"
	k=$(median <"$kus")
	local wall over
	wall=$(median <"$wus")
	over=$(paste "$wus" "$kus" | awk '{ print $1 - $2 }' | median)
	local floor inproc outside verdict="—"
	floor=$(field "$s" "exec floor" 3)
	inproc=$(awk '$1 == "total" && NF == 3 { print int(($2 - $3) * 1000 + 0.5) }' "$dir/case-$case.log" | median)
	# Outside the pipeline: the process's wall minus the stages' wall, per
	# run (exec, std start, argument parsing, printing, exit).
	outside=$(paste "$wus" <(awk '$1 == "total" && NF == 3 { print int($2 * 1000 + 0.5) }' "$dir/case-$case.log") |
		awk '{ print $1 - $2 }' | median)
	if [ -n "$seed" ]; then
		verdict=$([ "$over" -lt "$TARGET_OVERHEAD_US" ] && echo PASS || echo MISS)
		TARGET_ROWS+=("| overhead above the kernel < 1 ms, \`$obj\` $mode | $(ms "$over") ms (exec floor $(ms "$floor") ms of it; inside the pipeline $(ms "$inproc") ms) | $verdict |")
	fi
	REPORT_KERNEL+=("| \`$obj\` | $mode | $(ms "$wall") | $(ms "$k") | $(ms "$over") | $(ms "$floor") | $(ms $((outside - floor))) | $(ms "$inproc") | $verdict |")
	STAGE_LOGS+=("$obj $mode|$dir/case-$case.log")
}

# The stage breakdown of some scenarios, side by side: rows are stages,
# cells "wall / kernel" (ms, medians over the runs).
declare -a STAGE_LOGS=()
STAGE_SHOWN=("multi_prog.o skb" "global_data.o skb" "tail_kern.o skb" "xdp_prog_kern.o skb" "xdp_prog_kern_off_tail.o drv")
stage_table() {
	local entry name path header="| stage |" rule="|---|" files=()
	for name in "${STAGE_SHOWN[@]}"; do
		for entry in "${STAGE_LOGS[@]}"; do
			[ "${entry%%|*}" = "$name" ] || continue
			path=${entry#*|}
			stage_medians "$path" >"$path.stages"
			files+=("$path.stages")
			header+=" \`${name% *}\` ${name##* } |"
			rule+="---|"
		done
	done
	echo "$header"
	echo "$rule"
	awk -F'\t' '
		FNR == 1 { f++ }
		{ if (!(($1) in seen)) { seen[$1] = 1; order[++n] = $1 } cell[$1, f] = $2 " / " $3 }
		END { for (i = 1; i <= n; i++) { line = "| " order[i] " |"; for (j = 1; j <= f; j++) line = line " " ((order[i], j) in cell ? cell[order[i], j] : "—") " |"; print line } }' "${files[@]}"
}

# Legacy objects: rxdp alone, with the seeds' own commands (pins included:
# without them the tail calls stop when the loader exits).
declare -a LEGACY=(
	"tail_kern.o|skb|--map 0 --key 78 --prog 1|xdp0|xdp_prog0"
	"tail_kern.o|drv|--map 0 --key 78 --prog 1|xdp0|xdp_prog0"
	"xdp_prog_kern.o|skb|--entry xdp_entry|xdp_entry|xdp_entry_prog"
	"xdp_prog_kern.o|drv|--entry xdp_entry|xdp_entry|xdp_entry_prog"
	"xdp_prog_kern_off_tail.o|drv||xdp_tail|xdp_tail_prog"
)
declare -a REPORT_LEGACY=()

run_legacy() {
	local dir=$OUT/attach-legacy i=0 entry obj mode args sec fn
	: >"$dir.plan"
	for entry in "${LEGACY[@]}"; do
		IFS='|' read -r obj mode args sec fn <<<"$entry"
		local cmd="$RXDP_LOAD $ROOT/progs/obj/$obj $args --dev $IF --mode $mode"
		local down; down="$(check_attached "$mode") && $RXDP unload --dev $IF && $(wait_detached)"
		printf '%s\t\t%s\t%s\n' "$obj $mode" "$cmd" "$down" "$obj $mode --timings" "$cmd --timings" "$down" >>"$dir.plan"
	done
	printf '%s\t\t%s\t\n' "exec floor" "$NOOP" >>"$dir.plan"
	log "load + attach: legacy objects, rxdp alone ($ROUNDS rounds x $((${#LEGACY[@]} * 2 + 1)) cases)"
	"$RUNNER" "$dir.plan" "$ROUNDS" "$WARMUP" "$dir" >"$dir.tsv"
	for entry in "${LEGACY[@]}"; do
		IFS='|' read -r obj mode args sec fn <<<"$entry"
		local s=$dir.tsv l="$obj $mode"
		REPORT_LEGACY+=("| \`$obj\` | $mode | \`rxdp-load $obj ${args:+$args }--dev IF --mode $mode\` | $(ms "$(field "$s" "$l" 3)") ($(ms "$(field "$s" "$l" 5)")–$(ms "$(field "$s" "$l" 6)")) | $(refusals "$obj" "$sec" "$fn" "$mode") |")
		kernel_row "$obj" "$mode" "$dir" "$s" seed "$l --timings"
	done
}

# What the others say about a legacy object: their own error, shortened.
refusals() {
	local obj=$ROOT/progs/obj/$1 sec=$2 fn=$3 mode=$4 out msgs=()
	if out=$(ip link set dev "$IF" "$(ip_mode "$mode")" obj "$obj" sec "$sec" 2>&1); then
		ip link set dev "$IF" "$(ip_mode "$mode")" off; msgs+=("ip: loaded it")
	else
		msgs+=("ip: $(grep -m1 -iE 'not supported|error|fail' <<<"$out" | cut -c1-90)")
	fi
	if out=$(xdp-loader load -m "$(xl_mode "$mode")" -s "$sec" "$IF" "$obj" 2>&1); then
		xdp-loader unload "$IF" --all; msgs+=("xdp-loader: loaded it")
	else
		msgs+=("xdp-loader: $(grep -m1 -iE 'not supported|error|fail' <<<"$out" | cut -c1-90)")
	fi
	if out=$("$AYA" "$obj" "$fn" "$IF" "$mode" "$LINK_PIN" 2>&1); then
		rm -f "$LINK_PIN"; sh -c "$(wait_detached)"; msgs+=("aya: loaded it")
	else
		msgs+=("aya: ${out#aya-bench-loader: }")
	fi
	local IFS=';' joined
	joined=${msgs[*]//|/\\|}
	echo "${joined//;/<br>}"
}

# ---------------------------------------------------------------- memory

# Median over MEM_RUNS of the maximum RSS (KiB), teardown after each run.
# args: teardown command...
peak_rss() {
	local down=$1; shift
	local i f=$OUT/time-v.txt
	for ((i = 0; i < MEM_RUNS; i++)); do
		/usr/bin/time -v -o "$f" "$@" >/dev/null 2>&1 || die "failed under /usr/bin/time: $*"
		sh -c "$down" >/dev/null
		awk -F': ' '/Maximum resident set size/ { print $2 }' "$f"
	done | median
}

declare -a REPORT_MEM=()
RXDP_RSS_MAX=0

run_memory() {
	local o=$ROOT/progs/obj/multi_prog.o down="ip link set dev $IF xdpgeneric off" r
	log "peak memory ($MEM_RUNS runs each)"
	r=$(peak_rss "$down" "$RXDP_LOAD" "$o" --entry xdp_first --dev "$IF" --mode skb --no-pin)
	REPORT_MEM+=("| rxdp-load (dist/, static) | \`multi_prog.o\` skb | $r |"); track_rss "$r"
	r=$(peak_rss "$down" ip link set dev "$IF" xdpgeneric obj "$o" sec xdp)
	REPORT_MEM+=("| ip link | \`multi_prog.o\` skb | $r |")
	r=$(peak_rss "xdp-loader unload $IF --all" xdp-loader load -m skb -s xdp "$IF" "$o")
	REPORT_MEM+=("| xdp-loader | \`multi_prog.o\` skb | $r |")
	r=$(peak_rss "rm $LINK_PIN && $(wait_detached)" "$AYA" "$o" xdp_first "$IF" skb "$LINK_PIN")
	REPORT_MEM+=("| aya | \`multi_prog.o\` skb | $r |")
	o=$ROOT/progs/obj/global_data.o
	r=$(peak_rss "$down" "$RXDP_LOAD" "$o" --entry xdp_global --dev "$IF" --mode skb --no-pin)
	REPORT_MEM+=("| rxdp-load | \`global_data.o\` skb | $r |"); track_rss "$r"
	r=$(peak_rss "$RXDP unload --dev $IF" "$RXDP_LOAD" "$ROOT/progs/obj/tail_kern.o" --map 0 --key 78 --prog 1 --dev "$IF" --mode skb)
	REPORT_MEM+=("| rxdp-load | \`tail_kern.o\` skb, pinned | $r |"); track_rss "$r"
	r=$(peak_rss "$RXDP unload --dev $IF" "$RXDP_LOAD" "$ROOT/progs/obj/xdp_prog_kern.o" --entry xdp_entry --dev "$IF" --mode skb)
	REPORT_MEM+=("| rxdp-load | \`xdp_prog_kern.o\` skb, pinned | $r |"); track_rss "$r"
	r=$(peak_rss true "$RXDP_LOAD" "$OBJS/p1000_m1.o")
	REPORT_MEM+=("| rxdp-load | \`p1000_m1.o\` (1000 programs), load only | $r |")
	TARGET_ROWS+=("| the 1000-program object, peak memory ≤ 4 MiB | $r KiB | $([ "$r" -le "$TARGET_RSS_1000_KIB" ] && echo PASS || echo MISS) |")
	r=$(peak_rss true "$RXDP_LOAD" "$OBJS/p1_m1000.o")
	REPORT_MEM+=("| rxdp-load | \`p1_m1000.o\` (1000 maps), load only | $r |")
	local verdict; verdict=$([ "$RXDP_RSS_MAX" -lt "$TARGET_RSS_KIB" ] && echo PASS || echo MISS)
	TARGET_ROWS+=("| peak memory while loading and attaching < 2 MiB | $RXDP_RSS_MAX KiB (largest of the attach jobs above) | $verdict |")
}
track_rss() { if [ "$1" -gt "$RXDP_RSS_MAX" ]; then RXDP_RSS_MAX=$1; fi; }

# ---------------------------------------------------------------- sizes

declare -a REPORT_SIZE=()

# args: tool binary → a table row: binary, libraries, total, total less libc
size_row() {
	local tool=$1 bin=$2 total libs=0 libc=0 names=() lib
	total=$(stat -L -c %s "$bin")
	if ldd "$bin" >/dev/null 2>&1; then
		while read -r lib; do
			local sz; sz=$(stat -L -c %s "$lib")
			libs=$((libs + sz))
			case $(basename "$lib") in
				libc.so.*|ld-linux*) libc=$((libc + sz)) ;;
				*) names+=("$(basename "$lib")") ;;
			esac
		done < <(ldd "$bin" | grep -o '/[^ ]*' | sort -u)
	fi
	local IFS=' ' list
	[ "$libc" -gt 0 ] && names+=(libc+ld.so)
	list=${names[*]:-none}
	REPORT_SIZE+=("| $tool | $(kib "$total") | $(kib "$libs") (${list// /, }) | $(kib $((total + libs))) | $(kib $((total + libs - libc))) |")
}

run_sizes() {
	size_row "rxdp-load (dist/, static musl)" "$RXDP_LOAD"
	size_row "rxdp (dist/, static musl)" "$RXDP"
	size_row "ip" "$(command -v ip)"
	size_row "xdp-loader" "$(command -v xdp-loader)"
	size_row "aya (glibc, as timed)" "$AYA"
	size_row "aya (static musl, opt-level z)" "$BT/$TRIPLE/small/aya-bench-loader"
	local b sz ok
	for b in rxdp-load rxdp; do
		sz=$(stat -c %s "dist/$b")
		max=$TARGET_SIZE_LOAD
		[ "$b" = rxdp ] && max=$TARGET_SIZE_RXDP
		ok=PASS
		file "dist/$b" | grep -q 'statically linked' || ok=MISS
		[ "$sz" -le "$max" ] || ok=MISS
		TARGET_ROWS+=("| \`dist/$b\` static, ≤ $((max / 1024)) KiB | $(kib "$sz") KiB, $(file -b "dist/$b" | grep -o 'statically linked\|dynamically linked\|static-pie linked') | $ok |")
	done
}

# ---------------------------------------------------------------- syscalls

declare -a REPORT_SYSCALLS=()

# args: tool label, teardown, command... → a row of syscall counts by kind
# (strace -f -c: every thread and child).
syscall_row() {
	local label=$1 down=$2 f=$OUT/strace-c.txt
	shift 2
	strace -f -c -o "$f" "$@" >/dev/null 2>&1 || die "failed under strace: $*"
	sh -c "$down" >/dev/null
	REPORT_SYSCALLS+=("| $label | $(awk '
		# % time, seconds, usecs/call, calls, [errors], syscall
		$1 ~ /^[0-9.]+$/ && NF >= 5 {
			name = $NF; calls = $4
			if (name == "total") { total = calls; next }
			if (name == "bpf") bpf += calls
			else if (name ~ /^(socket|bind|setsockopt|getsockopt|getsockname|sendto|recvfrom|sendmsg|recvmsg)$/) nl += calls
			else if (name ~ /^(mmap|munmap|mremap|brk|madvise|mprotect)$/) mem += calls
			else if (name ~ /^(open|openat|read|pread64|close|fstat|newfstatat|statx|stat|lstat|fcntl|mkdir|renameat2|readlink|access|faccessat2|getdents64|lseek|write|writev|ioctl|unlink|rmdir)$/) fs += calls
			else other += calls
		}
		END { printf "%d | %d | %d | %d | %d | %d", total, bpf, nl, mem, fs, other }' "$f") |")
}

run_syscalls() {
	local o=$ROOT/progs/obj/multi_prog.o off="ip link set dev $IF xdpgeneric off"
	log "syscall counts (strace -c)"
	syscall_row "rxdp-load \`multi_prog.o\` skb" "$off" "$RXDP_LOAD" "$o" --entry xdp_first --dev "$IF" --mode skb --no-pin
	syscall_row "ip link \`multi_prog.o\` skb" "$off" ip link set dev "$IF" xdpgeneric obj "$o" sec xdp
	syscall_row "xdp-loader \`multi_prog.o\` skb" "xdp-loader unload $IF --all" xdp-loader load -m skb -s xdp "$IF" "$o"
	syscall_row "aya \`multi_prog.o\` skb" "rm $LINK_PIN && $(wait_detached)" "$AYA" "$o" xdp_first "$IF" skb "$LINK_PIN"
	syscall_row "rxdp-load \`tail_kern.o\` skb, pinned" "$RXDP unload --dev $IF" \
		"$RXDP_LOAD" "$ROOT/progs/obj/tail_kern.o" --map 0 --key 78 --prog 1 --dev "$IF" --mode skb
	syscall_row "rxdp-load \`xdp_prog_kern.o\` skb, pinned" "$RXDP unload --dev $IF" \
		"$RXDP_LOAD" "$ROOT/progs/obj/xdp_prog_kern.o" --entry xdp_entry --dev "$IF" --mode skb
}

# ---------------------------------------------------------------- kernel BTF

run_btf_check() {
	local o f=$OUT/strace-openat.txt reads=()
	for o in multi_prog.o global_data.o tail_kern.o xdp_prog_kern.o; do
		strace -f -e trace=openat -o "$f" "$RXDP_LOAD" "progs/obj/$o" >/dev/null 2>&1 ||
			die "rxdp-load progs/obj/$o failed under strace"
		grep -q '/sys/kernel/btf/vmlinux' "$f" && reads+=("$o")
	done
	if [ ${#reads[@]} -eq 0 ]; then
		TARGET_ROWS+=("| kernel BTF never read unless needed | not opened for multi_prog.o, global_data.o, tail_kern.o, xdp_prog_kern.o (strace) | PASS |")
	else
		TARGET_ROWS+=("| kernel BTF never read unless needed | opened /sys/kernel/btf/vmlinux for ${reads[*]} | MISS |")
	fi
	# The library is a crate of its own (loader/), the CLI another (cli/).
	if cargo build -q -p rxdp 2>/dev/null && ! cargo tree -q -p rxdp -e normal | grep -q 'rxdp-cli\|clap'; then
		TARGET_ROWS+=("| library without the CLI | \`cargo build -p rxdp\`, no rxdp-cli or clap in \`cargo tree -p rxdp\` | PASS |")
	else
		TARGET_ROWS+=("| library without the CLI | \`cargo build -p rxdp\` failed or depends on the CLI | MISS |")
	fi
}

# ---------------------------------------------------------------- scale

OBJS=$BT/objs
SCALE=(1 10 100 1000)

gen_objects() {
	mkdir -p "$OBJS"
	local n
	for n in "${SCALE[@]}"; do
		for pm in "$n $n" "$n 1" "1 $n"; do
			local p=${pm% *} m=${pm#* }
			local base=$OBJS/p${p}_m${m}
			[ -f "$base.o" ] && [ "$base.o" -nt scripts/bench-gen.sh ] && continue
			scripts/bench-gen.sh "$p" "$m" >"$base.c"
			clang "${BPF_CFLAGS[@]}" -c "$base.c" -o "$base.o"
		done
	done
}

declare -a REPORT_SCALE=()

run_scale() {
	local objs=() n o
	for n in "${SCALE[@]}"; do objs+=("$OBJS/p${n}_m1.o"); done
	for n in 10 100 1000; do objs+=("$OBJS/p1_m${n}.o"); done
	for n in 10 100 1000; do objs+=("$OBJS/p${n}_m${n}.o"); done
	log "scale: parse + relocate (parse_bench)"
	"$PARSE_BENCH" "${objs[@]}" >"$OUT/parse-bench.tsv"
	log "scale: full load without attach ($SCALE_ROUNDS rounds x ${#objs[@]})"
	local plan=$OUT/scale.plan
	: >"$plan"
	for o in "${objs[@]}"; do printf '%s\t\t%s\t\n' "$(basename "$o")" "$RXDP_LOAD $o" >>"$plan"; done
	"$RUNNER" "$plan" "$SCALE_ROUNDS" 1 "$OUT/scale" >"$OUT/scale.tsv"
	local p100 p1000
	while IFS=$'\t' read -r path progs maps parse reloc; do
		local b; b=$(basename "$path")
		local load; load=$(field "$OUT/scale.tsv" "$b" 3)
		REPORT_SCALE+=("| \`$b\` | $progs | $maps | $(ms "$parse") | $(ms "$reloc") | $(ms $((parse + reloc))) | $(ms "$load") |")
		[ "$b" = p100_m1.o ] && p100=$((parse + reloc))
		[ "$b" = p1000_m1.o ] && p1000=$((parse + reloc))
	done <"$OUT/parse-bench.tsv"
	local growth verdict
	growth=$(awk -v a="$p1000" -v b="$p100" 'BEGIN { printf "%.1f", a / b }')
	# Linear: ten times the programs costs about ten times as much; allow
	# 1.5x for caches and noise before calling it worse than linear.
	verdict=$([ "$p1000" -lt "$TARGET_PARSE_US" ] && awk -v g="$growth" 'BEGIN { exit !(g <= 15) }' && echo PASS || echo MISS)
	TARGET_ROWS+=("| parse + relocate of 1000 programs < 10 ms, linear | $(ms "$p1000") ms; 100 → 1000 programs: ×$growth | $verdict |")
}

# ---------------------------------------------------------------- parallel load

VERIFY=(1 8 64 256)
declare -a REPORT_VERIFY=()

gen_verify_objects() {
	local n base
	for n in "${VERIFY[@]}"; do
		base=$OBJS/verify$n
		[ -f "$base.o" ] && [ "$base.o" -nt scripts/bench-verify-gen.sh ] && continue
		scripts/bench-verify-gen.sh "$n" >"$base.c"
		clang "${BPF_CFLAGS[@]}" -c "$base.c" -o "$base.o"
	done
}

run_verify() {
	local jobs n o plan=$OUT/verify.plan pins=/sys/fs/bpf/rxdp-bench-loadall-$$
	jobs=$(nproc)
	gen_verify_objects
	: >"$plan"
	for n in "${VERIFY[@]}"; do
		o=$OBJS/verify$n.o
		printf 'j1-%s\t\t%s\t\n' "$n" "$RXDP_LOAD $o --no-pin --jobs 1" >>"$plan"
		printf 'jn-%s\t\t%s\t\n' "$n" "$RXDP_LOAD $o --no-pin --jobs $jobs" >>"$plan"
		printf 'bpftool-%s\t\t%s\t%s\n' "$n" "bpftool prog loadall $o $pins" "rm -rf $pins" >>"$plan"
		printf 'aya-%s\t\t%s\t\n' "$n" "$AYA --load-all $o" >>"$plan"
	done
	log "parallel load: ${VERIFY[*]} programs ($VERIFY_ROUNDS rounds x $((${#VERIFY[@]} * 4)) cases; minutes)"
	"$RUNNER" "$plan" "$VERIFY_ROUNDS" 1 "$OUT/verify" >"$OUT/verify.tsv"
	local r64=
	for n in "${VERIFY[@]}"; do
		o=$OBJS/verify$n.o
		local j1 jn bt aya ratio m1 mn mb ma
		j1=$(field "$OUT/verify.tsv" "j1-$n" 3)
		jn=$(field "$OUT/verify.tsv" "jn-$n" 3)
		bt=$(field "$OUT/verify.tsv" "bpftool-$n" 3)
		aya=$(field "$OUT/verify.tsv" "aya-$n" 3)
		ratio=$(awk -v a="$bt" -v b="$jn" 'BEGIN { printf "%.2f", a / b }')
		[ "$n" = 64 ] && r64=$ratio
		m1=$(MEM_RUNS=$VERIFY_MEM_RUNS peak_rss true "$RXDP_LOAD" "$o" --no-pin --jobs 1)
		mn=$(MEM_RUNS=$VERIFY_MEM_RUNS peak_rss true "$RXDP_LOAD" "$o" --no-pin --jobs "$jobs")
		mb=$(MEM_RUNS=$VERIFY_MEM_RUNS peak_rss "rm -rf $pins" bpftool prog loadall "$o" "$pins")
		ma=$(MEM_RUNS=$VERIFY_MEM_RUNS peak_rss true "$AYA" --load-all "$o")
		REPORT_VERIFY+=("| $n | $(ms "$j1") | $(ms "$jn") | $(ms "$bt") | $(ms "$aya") | ${ratio}x | $m1 / $mn / $mb / $ma |")
	done
	local verdict
	verdict=$(awk -v r="$r64" -v t="$TARGET_PARALLEL" 'BEGIN { exit !(r >= t) }' && echo PASS || echo MISS)
	TARGET_ROWS+=("| 64 programs of ~20 ms: rxdp-load --jobs $jobs ≥ 1.6x faster than bpftool prog loadall | ${r64}x (load average $(cut -d' ' -f1-3 /proc/loadavg)) | $verdict |")
}

# ---------------------------------------------------------------- report

versions() {
	echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
	echo "- kernel: $(uname -r); date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- rxdp: $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($(rustc +nightly --version 2>/dev/null | cut -d' ' -f1-2) for dist/); $(ip -V)"
	echo "- xdp-tools $(dpkg-query -W -f '${Version}' xdp-tools 2>/dev/null) (libxdp, libbpf $(dpkg-query -W -f '${Version}' libbpf1 2>/dev/null | sed 's/^1://')); aya $(awk '/^name = "aya"$/ { getline; print $3 }' bench/aya-loader/Cargo.lock | tr -d '"') ($(rustc --version | cut -d' ' -f1-2), release, LTO)"
	[ "${BENCH_ONLY:-}" = verify ] ||
		echo "- $ROUNDS rounds after $WARMUP warm-up, tools interleaved (order shuffled every round); medians, (p25–p75) in brackets"
}

verify_report() {
	echo "### Parallel load: programs of ~20 ms verification each (ms; max RSS KiB)"
	echo
	echo "\`verifyP.o\`: P XDP programs in section \`xdp\`, each a bounded loop over 1800 packet bytes, about 20 ms of verification on this kernel (scripts/bench-verify-gen.sh). Load only, no attach: \`rxdp-load OBJ --no-pin --jobs 1\` and \`--jobs $(nproc)\` (one per CPU), \`bpftool prog loadall OBJ DIR\` (which must pin every program; the pins are removed after the clock), \`aya-bench-loader --load-all OBJ\` (every program, one after another). Medians of $VERIFY_ROUNDS rounds after 1 warm-up, interleaved; max RSS: median of $VERIFY_MEM_RUNS runs. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| programs | rxdp-load --jobs 1 | rxdp-load --jobs $(nproc) | bpftool prog loadall | aya | bpftool / rxdp --jobs $(nproc) | max RSS: rxdp 1 / rxdp $(nproc) / bpftool / aya |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${REPORT_VERIFY[@]}"
	echo
}

report() {
	echo "### Load + attach, BTF objects every tool loads (ms)"
	echo
	echo "Same job for all: open the object, create its maps, load its programs, attach one to a veth, exit leaving it attached."
	echo "\`multi_prog.o\`: 4 programs, 1 map, a global subprogram, attach \`xdp_first\`. \`global_data.o\`: 1 program, 5 maps (a BTF map, .data, .rodata, .bss, .rodata.str1.1)."
	echo
	echo "| object | mode | rxdp-load | ip link | xdp-loader | aya | rxdp / faster of ip, xdp-loader |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${REPORT_TIMES[@]}"
	echo
	echo "Most of every figure above is the kernel waiting for one RCU grace period: the attach blocks in \`synchronize_rcu()\` under \`bpf_dispatcher_change_prog()\` (\`perf record -e sched:sched_switch -g\`), whoever attaches; 10–15 ms at HZ=250, and it varies more than the loaders differ."
	echo "Diagnostic, the same rounds with expedited RCU grace periods (\`/sys/kernel/rcu_expedited=1\`, put back afterwards): the kernel's wait shrinks and each loader's own cost shows (medians, ms; last column: rxdp-load's time inside syscalls). The targets are judged on the figures above, not these."
	echo
	echo "| object | mode | rxdp-load | ip link | xdp-loader | aya | rxdp / faster of ip, xdp-loader | rxdp kernel |"
	echo "|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${REPORT_EXPEDITED[@]}"
	echo
	echo "### Load + attach, legacy objects (ms) — the others cannot load these"
	echo
	echo "| object | mode | command | rxdp-load | what the others say |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${REPORT_LEGACY[@]}"
	echo
	echo "### rxdp-load: the kernel's share (ms)"
	echo
	echo "wall: the process, spawn to reaped (runs with \`--timings\`). kernel: time inside rxdp's syscalls (\`--timings\`, summed over the stages). overhead: wall − kernel, per run, median: everything rxdp adds (exec, startup, parsing, allocation, printing, exit)."
	echo "The overhead, split: exec floor: an empty static binary (bench/runner/src/bin/noop.rs) in the same rounds, what any static program pays to be spawned and reaped; outside the pipeline: the process's wall − the stages' wall, less that floor (std start-up, argument parsing, printing, exit); in the pipeline: the stages' wall − their kernel time (\`--timings\` total: parsing, relocating, building requests, and the syscalls the seam does not time, such as reading the file)."
	echo
	echo "| object | mode | wall | kernel | overhead | exec floor | outside the pipeline | in the pipeline | overhead < 1 ms (seed objects) |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${REPORT_KERNEL[@]}"
	echo
	echo "Per stage (\`--timings\`, wall / kernel ms, medians; \"total\" is the sum of the stages, inside the process):"
	echo
	stage_table
	echo
	echo "### Syscalls per job (strace -f -c)"
	echo
	echo "| tool, job | total | bpf | netlink socket | memory (mmap, munmap, brk...) | files | other |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${REPORT_SYSCALLS[@]}"
	echo
	echo "### Peak memory (max RSS, KiB; /usr/bin/time -v, median of $MEM_RUNS)"
	echo
	echo "| tool | job | max RSS |"
	echo "|---|---|---|"
	printf '%s\n' "${REPORT_MEM[@]}"
	echo
	echo "### Binary size (KiB)"
	echo
	echo "| tool | binary | shared libraries (ldd) | total | total without libc |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${REPORT_SIZE[@]}"
	echo
	echo "### Scale: generated objects (ms)"
	echo
	echo "\`pP_mM.o\`: P programs, M one-slot ARRAY maps (BTF), each program in its own section, one map reference and one subprogram call each (scripts/bench-gen.sh)."
	echo "parse + relocate: \`Object::parse\` and the loader's relocate stage for every program, no kernel (elf/examples/parse_bench.rs, median). load: \`rxdp-load OBJ\` (maps, BTF, programs; no attach), median of $SCALE_ROUNDS."
	echo
	echo "| object | programs | maps | parse | relocate | parse + relocate | load |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${REPORT_SCALE[@]}"
	echo
	verify_report
	echo "### Targets (issues 6 and 16)"
	echo
	echo "| target | figure | result |"
	echo "|---|---|---|"
	printf '%s\n' "${TARGET_ROWS[@]}"
}

main() {
	install_tools
	mkdir -p "$OUT"
	if [ "${BENCH_ONLY:-}" = verify ]; then
		mkdir -p "$OBJS"
		run_verify
		{
			echo "## rxdp bench: parallel load"
			echo
			versions
			echo
			verify_report
			echo "| target | figure | result |"
			echo "|---|---|---|"
			printf '%s\n' "${TARGET_ROWS[@]}"
		} | tee "$OUT/report-verify.md"
		return
	fi
	gen_objects
	make_veth
	run_btf multi_prog.o xdp xdp_first skb
	run_btf multi_prog.o xdp xdp_first drv
	run_btf global_data.o xdp xdp_global skb
	run_btf global_data.o xdp xdp_global drv
	run_legacy
	run_expedited
	run_memory
	run_syscalls
	run_sizes
	run_btf_check
	run_scale
	run_verify
	{
		echo "## rxdp bench"
		echo
		versions
		echo
		report
	} | tee "$OUT/report.md"
	log "report and raw samples in bench/results/"
}

main "$@"
